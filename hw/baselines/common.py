"""Shared pieces of the baseline designs: pipeline knobs, delays, ROM images, stream ports.

The baselines use the unit's stream conventions (hw/README.md, Ports) so that the
comparison includes the same interface cost: flat ``s_axis_*``/``m_axis_*`` ports, a skid
buffer in front (registered ``s_axis_tready``), one synchronous parameter read per beat
addressed by ``s_axis_tuser`` (the channel group g; lane i is channel g*L + i), and a
pipeline that advances as a whole when its last stage is empty or the consumer is ready.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from amaranth.lib import data
from amaranth.lib.wiring import In, Out

from ..regs import delay

__all__ = [
    "BASELINE_PRESETS",
    "BaselinePipeline",
    "delay",
    "lane_images",
    "stream_ports",
    "in_layout",
    "pow2_at_least",
]


@dataclass(frozen=True)
class BaselinePipeline:
    """Register stages of a baseline, with the unit's knob names so one spec drives both.

    - ``mult``: 0 = the multiply (and what feeds it) combinational; 1 = one register after
      it; 2 = split into DSP-sized partial products registered at the DSP outputs, every
      adder-tree level registered, and (TFLite) the bias add registered before the DSPs.
    - ``shift``: registers spread over the variable shifter's levels (capped at the levels).
    - ``out``: a register after the saturation / output stage.
    - ``chunk``: 0 = as above; k (with ``mult`` = 2) = the unit's FPGA-preset structure
      (TFLite-style): every wide add (bias, the 32 x 32 product + nudge, rounding nudge,
      zero point and clamp tests) as 3:2 levels and k-bit registered carry chunks, the
      products on the ``family``'s DSP primitive with its registers on.
    - ``flow``: ``stall`` = the pipeline advances as a whole (one clock enable); ``credit``
      (TFLite-style only) = free-running into the unit's output FIFO with a credit-counted
      registered ``s_axis_tready`` (hw/fifo.py), as the unit's FPGA presets do.

    The unit's ``round`` knob has no counterpart here and is ignored.
    """

    mult: int = 2
    shift: int = 1
    out: int = 1
    chunk: int = 0
    flow: str = "stall"

    def __post_init__(self) -> None:
        if self.flow not in ("stall", "credit"):
            raise ValueError(f"pipeline flow must be stall or credit, got {self.flow!r}")
        for name, hi in (("mult", 2), ("shift", 8), ("out", 1), ("chunk", 64)):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= hi:
                raise ValueError(f"pipeline {name} must be an integer in 0..{hi}, got {v!r}")

    @classmethod
    def of(cls, spec) -> BaselinePipeline:
        """From a preset name, a ``mult=2,shift=1,out=1`` string, or any object with
        ``mult``/``shift``/``out`` attributes (such as the unit's ``Pipeline``)."""
        if isinstance(spec, BaselinePipeline):
            return spec
        if isinstance(spec, str):
            text = spec.strip()
            if text in BASELINE_PRESETS:
                return BASELINE_PRESETS[text]
            kw: dict = {}
            for part in text.split(","):
                if f := re.fullmatch(r"\s*flow\s*=\s*(stall|credit)\s*", part):
                    kw["flow"] = f.group(1)
                    continue
                m = re.fullmatch(r"\s*(mult|shift|round|out|chunk)\s*=\s*(\d+)\s*", part)
                if not m:
                    raise ValueError(f"bad pipeline spec {spec!r}")
                if m.group(1) != "round":
                    kw[m.group(1)] = int(m.group(2))
            return cls(**kw)
        chunk = int(getattr(spec, "chunk", 0)) if int(spec.mult) == 2 else 0
        return cls(mult=int(spec.mult), shift=int(spec.shift),
                   out=min(int(spec.out), 1), chunk=chunk,  # out=2: the unit only
                   flow=str(getattr(spec, "flow", "stall")))

    def spec(self) -> str:
        text = f"mult={self.mult},shift={self.shift},out={self.out}"
        text += f",chunk={self.chunk}" if self.chunk else ""
        return text + (f",flow={self.flow}" if self.flow != "stall" else "")


BASELINE_PRESETS = {
    "shallow": BaselinePipeline(mult=0, shift=0, out=0),
    "default": BaselinePipeline(mult=2, shift=1, out=1),
    "deep": BaselinePipeline(mult=2, shift=8, out=1),
}


def pow2_at_least(n: int) -> int:
    """Smallest power of two >= n (1 for n <= 1)."""
    return 1 << max(0, (n - 1).bit_length())


def spread(levels: int, stages: int) -> list[bool]:
    """Which of ``levels`` consecutive levels get a register after them, for ``stages``
    registers spread evenly (the last one after the final level)."""
    stages = min(stages, levels)
    return [(j + 1) * stages // levels > j * stages // levels if levels else False
            for j in range(levels)]


def lane_images(words: list[int], lanes: int, depth: int) -> list[list[int]]:
    """Per-lane memory images: lane i, word g holds channel g*L + i (0 past the channels).

    ``depth`` words per lane (a power of two, so every tuser value addresses a word).
    """
    c = len(words)
    return [[words[g * lanes + lane] if g * lanes + lane < c else 0 for g in range(depth)]
            for lane in range(lanes)]


def in_layout(lanes: int, w_x: int, w_user: int) -> data.StructLayout:
    return data.StructLayout({"data": lanes * w_x, "user": w_user, "last": 1})


def stream_ports(lanes: int, w_x: int, w_q: int, w_user: int) -> dict:
    """The flat stream ports of every baseline with a stream interface (clk/rst implicit)."""
    return {
        "s_axis_tvalid": In(1), "s_axis_tready": Out(1),
        "s_axis_tdata": In(lanes * w_x), "s_axis_tuser": In(w_user), "s_axis_tlast": In(1),
        "m_axis_tvalid": Out(1), "m_axis_tready": In(1),
        "m_axis_tdata": Out(lanes * w_q), "m_axis_tuser": Out(w_user), "m_axis_tlast": Out(1),
    }
