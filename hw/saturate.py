"""Saturator: ``q = clip(r, qmin, qmax)`` in ``w_q`` bits, narrow.

``r`` holds t or t + 1 where t is the shifted value kept in ``w_t`` bits, wide enough that
``qmin - 1`` and ``qmax`` fit; ``ov`` says t did not fit, ``neg`` gives its sign. An
overflowed t is >= 2^(w_t-1) > qmax or <= -2^(w_t-1) - 1, and t + 1 <= -2^(w_t-1) <= qmin - 1,
so ``ov`` alone decides the clip. ``stages`` 0: combinational; 1: the output registered;
2: staged, the clip decision (below / above / pass) and the low ``w_q`` bits of r registered
first, then the selected value registered (no compare and mux in one cycle).
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Saturator"]


class Saturator(wiring.Component):
    """``r, ov, neg -> q`` (the low ``w_q`` bits of the clipped value)."""

    def __init__(self, w_r: int, w_q: int, qmin: int, qmax: int, stages: int):
        if qmin > qmax:
            raise ValueError(f"qmin {qmin} > qmax {qmax}")
        if stages not in (0, 1, 2):
            raise ValueError(f"stages must be 0, 1 or 2, got {stages!r}")
        self.w_r, self.w_q, self.qmin, self.qmax, self.stages = w_r, w_q, qmin, qmax, stages
        super().__init__({
            "en": In(1),
            "r": In(signed(w_r)),
            "ov": In(1),
            "neg": In(1),
            "q": Out(unsigned(w_q)),
        })

    def elaborate(self, platform):
        m = Module()
        lo, hi = self.qmin, self.qmax
        if self.stages == 2:
            # data registers: no reset (the beat's valid bit has one)
            below = Signal(name="below", reset_less=True)
            above = Signal(name="above", reset_less=True)
            r_q = Signal(self.w_q, name="r_q", reset_less=True)
            q_r = Signal(self.w_q, name="q_r", reset_less=True)
            with m.If(self.en):
                m.d.sync += [below.eq(Mux(self.ov, self.neg, self.r < lo)),
                             above.eq(Mux(self.ov, ~self.neg, self.r > hi)),
                             r_q.eq(self.r[:self.w_q])]
            lo_q, hi_q = lo & ((1 << self.w_q) - 1), hi & ((1 << self.w_q) - 1)
            with m.If(self.en):
                m.d.sync += q_r.eq(Mux(below, lo_q, Mux(above, hi_q, r_q)))
            m.d.comb += self.q.eq(q_r)
            return m
        q = Signal(signed(max(self.w_r, self.w_q + 1)))
        m.d.comb += q.eq(Mux(self.ov, Mux(self.neg, lo, hi),
                             Mux(self.r < lo, lo, Mux(self.r > hi, hi, self.r))))
        if self.stages:
            q_r = Signal(self.w_q, name="q_r", reset_less=True)
            with m.If(self.en):
                m.d.sync += q_r.eq(q[:self.w_q])
            m.d.comb += self.q.eq(q_r)
        else:
            m.d.comb += self.q.eq(q[:self.w_q])
        return m
