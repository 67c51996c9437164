"""The ceiling baseline on a family with a DSP primitive: the best registered-DSP multiplier
the device offers at the unit's widths.

Per lane: registered inputs, then the unit's own multiplier (:class:`~exactbn.hw.MulAdd`
with ``B`` = 0): the instantiated primitive with every internal register on, the partial
products combined by the same carry-save levels and carry chunks as the unit. No stream
interface, no parameter memory, no stall enable: the Fmax of the multiply alone.
"""

from __future__ import annotations

from amaranth import Cat, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..multiplier import MulAdd, mult_stages

__all__ = ["RegisteredDspMultiplier"]


class RegisteredDspMultiplier(wiring.Component):
    """Per lane i: ``p[i] = x[i] * m[i]`` (signed; ``x`` unsigned when ``x_signed`` False);
    ports as :class:`~exactbn.hw.baselines.CeilingMultiplier`. Latency 1 + the multiplier's
    stages."""

    def __init__(self, w_x: int, w_m: int, lanes: int, x_signed: bool, family: str,
                 chunk: int = 0, dsp_width: int = 18):
        self.w_x, self.w_m, self.lanes, self.x_signed = w_x, w_m, lanes, bool(x_signed)
        self.w_xs = w_x + (0 if x_signed else 1)
        self.w_p = self.w_xs + w_m
        self.family, self.chunk, self.dsp_width = family, chunk, dsp_width
        self.latency = 1 + mult_stages(self.w_xs, w_m, self.w_p, 2, dsp_width, family, chunk)
        super().__init__({"x": In(lanes * w_x), "m": In(lanes * w_m), "p": Out(lanes * self.w_p)})

    def elaborate(self, platform):
        m = Module()
        outs = []
        for lane in range(self.lanes):
            x_r = Signal(self.w_x, name=f"x_r{lane}")
            m_r = Signal(signed(self.w_m), name=f"m_r{lane}")
            m.d.sync += [x_r.eq(self.x[lane * self.w_x:(lane + 1) * self.w_x]),
                         m_r.eq(self.m[lane * self.w_m:(lane + 1) * self.w_m])]
            mul = MulAdd(self.w_xs, self.w_m, 1, self.w_p, 2, self.dsp_width,
                         family=self.family, chunk=self.chunk)
            m.submodules[f"mul{lane}"] = mul
            m.d.comb += [mul.en.eq(1), mul.x.eq(x_r.as_signed() if self.x_signed else x_r),
                         mul.m.eq(m_r), mul.b.eq(0)]
            outs.append(mul.s)
        m.d.comb += self.p.eq(Cat(*outs))
        return m
