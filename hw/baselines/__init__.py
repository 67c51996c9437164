"""exactbn.hw.baselines: the designs the unit is compared with in synthesis reports.

- :class:`CeilingMultiplier`: a bare pipelined multiplier of the unit's widths (Fmax ceiling).
- :class:`TfliteRequantizer`: the TFLite-style requantizer as deployed (int32, gemmlowp).
- :class:`ThresholdUnit`: the FINN way (2^W - 1 thresholds per channel, binary search).

Built from plain parameters like the unit (plain parameters only); the synthesis flow
(``exactbn.synth.designs``) derives those parameters from a solved layer.
"""

from .ceiling import CeilingMultiplier
from .common import BASELINE_PRESETS, BaselinePipeline
from .mult import PartialProductMultiplier, split_operand
from .tflite import INT32_MAX, INT32_MIN, TfliteRequantizer
from .threshold import ThresholdUnit

__all__ = [
    "BASELINE_PRESETS", "BaselinePipeline", "CeilingMultiplier", "INT32_MAX", "INT32_MIN",
    "PartialProductMultiplier", "ThresholdUnit", "TfliteRequantizer", "split_operand",
]
