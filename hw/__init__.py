"""exactbn.hw: the Amaranth BN unit, built from plain parameters (widths and M, B, N lists).

Public API: :class:`UnitConfig` (+ :class:`Pipeline`), :class:`BatchNormUnit` (flat
Verilog-named ports), :class:`BatchNormCore` (stream ports), :func:`to_verilog`, and the
building blocks (SkidBuffer, ParamStore, MulAdd, Shifter, RoundingStage, Saturator).
See hw/README.md for ports, latency and how to build Verilog from a solved layer.
"""

from .config import PIPELINE_PRESETS, Pipeline, UnitConfig
from .core import BatchNormCore
from .multiplier import MulAdd
from .rounding import RoundingStage
from .saturate import Saturator
from .shifter import Shifter
from .skid import SkidBuffer
from .store import ParamStore, pack_word, store_images
from .unit import BatchNormUnit, port_list, to_verilog

__all__ = [
    "PIPELINE_PRESETS", "Pipeline", "UnitConfig", "BatchNormCore", "BatchNormUnit", "MulAdd",
    "ParamStore", "RoundingStage", "Saturator", "Shifter", "SkidBuffer", "pack_word",
    "port_list", "store_images", "to_verilog",
]
