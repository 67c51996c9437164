"""Hardware rounding stage: ``r = R_hw(s / 2^N)`` from ``t = floor(s / 2^N)``, the top
shifted-out bit ``half`` and the ``sticky`` OR of the bits below it.

- ``floor``: r = t (no logic; the solver folded the rounding into B).
- ``half_up``: up when the remainder is >= 1/2: ``half``.
- ``half_even``: up above 1/2, and at exactly 1/2 when t is odd: ``half & (sticky | t[0])``.
- ``half_away``: up above 1/2, and at exactly 1/2 when s > 0 (i.e. t >= 0):
  ``half & (sticky | ~neg)``.
``r`` is one bit wider than ``t``; ``ov``/``neg`` pass through (an overflowed t stays out of
range after +1, see saturate.py). ``stages`` (0 or 1) registers the outputs (without reset:
they are the beat's data, its valid bit is reset elsewhere).
"""

from __future__ import annotations

from amaranth import Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .config import HW_ROUNDINGS

__all__ = ["RoundingStage"]


class RoundingStage(wiring.Component):
    """``t, half, sticky, ov, neg -> r = t + up, ov, neg``."""

    def __init__(self, w_t: int, hw_rounding: str, stages: int):
        if hw_rounding not in HW_ROUNDINGS:
            raise ValueError(f"hw_rounding must be one of {HW_ROUNDINGS}, got {hw_rounding!r}")
        if stages not in (0, 1):
            raise ValueError(f"stages must be 0 or 1, got {stages!r}")
        self.w_t, self.hw_rounding, self.stages = w_t, hw_rounding, stages
        super().__init__({
            "en": In(1),
            "t": In(signed(w_t)),
            "half": In(1),
            "sticky": In(1),
            "ov": In(1),
            "neg": In(1),
            "r": Out(signed(w_t + 1)),
            "ov_o": Out(1),
            "neg_o": Out(1),
        })
        if stages:  # the registered outputs are data (the beat's valid bit has the reset)
            self.r = Signal(signed(w_t + 1), name="r", reset_less=True)
            self.ov_o = Signal(name="ov_o", reset_less=True)
            self.neg_o = Signal(name="neg_o", reset_less=True)

    def elaborate(self, platform):
        m = Module()
        up = Signal()
        if self.hw_rounding == "half_up":
            m.d.comb += up.eq(self.half)
        elif self.hw_rounding == "half_even":
            m.d.comb += up.eq(self.half & (self.sticky | self.t[0]))
        elif self.hw_rounding == "half_away":
            m.d.comb += up.eq(self.half & (self.sticky | ~self.neg))
        dom = m.d.sync if self.stages else m.d.comb
        outs = [self.r.eq(self.t + up), self.ov_o.eq(self.ov), self.neg_o.eq(self.neg)]
        if self.stages:
            with m.If(self.en):
                dom += outs
        else:
            dom += outs
        return m
