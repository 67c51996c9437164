"""The ceiling baseline: a bare pipelined ``W_X x W_M`` multiplier per lane.

Registered inputs, the product split into DSP-sized partial products registered at the DSP
outputs, a registered adder tree, registered outputs (the open flow's DSP rule, see
mult.py). No stream interface, no parameter memory: the fastest a multiply of these widths
runs in the flow, against which the unit's Fmax is measured.
"""

from __future__ import annotations

from amaranth import Cat, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..asic_multiplier import CsaMulAdd, csa_stages
from .mult import PartialProductMultiplier, multiplier_shape

__all__ = ["CeilingMultiplier"]


class CeilingMultiplier(wiring.Component):
    """Per lane i: ``p[i] = x[i] * m[i]`` (signed; ``x`` unsigned when ``x_signed`` is False).

    Ports: ``x`` (L*w_x), ``m`` (L*w_m), ``p`` (L*(w_xs + w_m)) where w_xs = w_x + (0 if
    signed else 1). ``stages`` as in :class:`PartialProductMultiplier` (2 = the fast form).
    Latency: 1 (input registers) + the multiplier's latency.
    """

    def __init__(self, w_x: int, w_m: int, lanes: int = 1, x_signed: bool = True,
                 dsp_a: int = 18, dsp_b: int = 18, stages: int = 2, csa_tree: int = 0):
        for nm, v in (("w_x", w_x), ("w_m", w_m), ("lanes", lanes)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{nm} must be a positive int, got {v!r}")
        self.w_x, self.w_m, self.lanes, self.x_signed = w_x, w_m, lanes, bool(x_signed)
        self.w_xs = w_x + (0 if x_signed else 1)
        self.w_p = self.w_xs + w_m
        self.dsp_a, self.dsp_b, self.stages = dsp_a, dsp_b, stages
        n_terms, mul_latency = multiplier_shape(self.w_xs, w_m, stages, dsp_a, dsp_b)
        self.csa_tree = csa_tree  # > 0: the standard-cell carry-save tree (family asic)
        if csa_tree:
            n_terms, mul_latency = 0, csa_stages(self.w_xs, w_m, self.w_p, csa_tree)
        self.latency = 1 + mul_latency + (1 if stages == 0 else 0)
        self.dsp_per_lane = n_terms
        super().__init__({
            "x": In(lanes * w_x),
            "m": In(lanes * w_m),
            "p": Out(lanes * self.w_p),
        })

    def elaborate(self, platform):
        m = Module()
        outs = []
        for lane in range(self.lanes):
            x_r = Signal(self.w_x, name=f"x_r{lane}")
            m_r = Signal(signed(self.w_m), name=f"m_r{lane}")
            m.d.sync += [x_r.eq(self.x[lane * self.w_x:(lane + 1) * self.w_x]),
                         m_r.eq(self.m[lane * self.w_m:(lane + 1) * self.w_m])]
            xs = Signal(signed(self.w_xs), name=f"xs{lane}")
            m.d.comb += xs.eq(x_r.as_signed() if self.x_signed else x_r)
            if self.csa_tree:  # the unit's own multiplier form (hw/asic_multiplier.py)
                mul = CsaMulAdd(self.w_xs, self.w_m, 1, self.w_p, self.csa_tree)
                m.submodules[f"mul{lane}"] = mul
                m.d.comb += [mul.en.eq(1), mul.x.eq(xs), mul.m.eq(m_r), mul.b.eq(0)]
                outs.append(mul.s)
                continue
            mul = PartialProductMultiplier(self.w_xs, self.w_m, self.stages, self.dsp_a,
                                           self.dsp_b, w_p=self.w_p)
            m.submodules[f"mul{lane}"] = mul
            m.d.comb += [mul.en.eq(1), mul.a.eq(xs), mul.b.eq(m_r)]
            if self.stages == 0:  # still a registered output
                p_r = Signal(signed(self.w_p), name=f"p_r{lane}")
                m.d.sync += p_r.eq(mul.p)
                outs.append(p_r)
            else:
                outs.append(mul.p)
        m.d.comb += self.p.eq(Cat(*outs))
        return m
