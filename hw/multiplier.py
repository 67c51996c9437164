"""Multiply-add stage: ``s = x*M + B`` with 0, 1 or 2 register stages (plus ``dspin``).

With 2 stages the product is split by hand into DSP-sized partial products, each registered
right at its multiplier's output, and combined with B in the next stage: the open flow maps
``a*b`` onto DSP blocks with their internal registers off and does not retime plain
registers into them, so only this split reaches the DSP's speed.

With ``dspin=1`` the operands (x, m, and b alongside) are registered first, as ``x_r``,
``m_r``, ``b_i``: the multipliers then start from registers of their own instead of the
parameter-memory read and the input stage, which sit farther away (or are a block RAM).
"""

from __future__ import annotations

from amaranth import Cat, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["MulAdd", "split_operand"]


def split_operand(width: int, dsp_width: int) -> list[tuple[int, int, bool]]:
    """Chunks ``(offset, bits, signed)`` of a signed ``width``-bit operand for ``dsp_width``-bit
    signed multiplier ports: low chunks are unsigned (``dsp_width - 1`` bits, so they fit a
    signed port), the top chunk keeps the sign."""
    if width <= dsp_width:
        return [(0, width, True)]
    chunks, off = [], 0
    while width - off > dsp_width:
        chunks.append((off, dsp_width - 1, False))
        off += dsp_width - 1
    chunks.append((off, width - off, True))
    return chunks


class MulAdd(wiring.Component):
    """``s = x*m + b`` (exact in ``w_s`` bits), registered ``dspin + stages`` times when
    ``en`` (``dspin`` registers at the operands, ``stages`` after the multipliers)."""

    def __init__(self, w_x: int, w_m: int, w_b: int, w_s: int, stages: int, dsp_width: int = 18,
                 dspin: int = 0):
        if stages not in (0, 1, 2):
            raise ValueError(f"stages must be 0, 1 or 2, got {stages!r}")
        if dspin not in (0, 1):
            raise ValueError(f"dspin must be 0 or 1, got {dspin!r}")
        self.w_x, self.w_m, self.w_b, self.w_s = w_x, w_m, w_b, w_s
        self.stages, self.dsp_width, self.dspin = stages, dsp_width, dspin
        super().__init__({
            "en": In(1),
            "x": In(signed(w_x)),
            "m": In(signed(w_m)),
            "b": In(signed(w_b)),
            "s": Out(signed(w_s)),
        })

    def elaborate(self, platform):
        m = Module()
        s = Signal(signed(self.w_s))
        x_op, m_op, b_op = self.x, self.m, self.b
        if self.dspin:  # operand registers right at the multipliers' inputs
            x_op = Signal(signed(self.w_x), name="x_r")
            m_op = Signal(signed(self.w_m), name="m_r")
            b_op = Signal(signed(self.w_b), name="b_i")
            with m.If(self.en):
                m.d.sync += [x_op.eq(self.x), m_op.eq(self.m), b_op.eq(self.b)]
        if self.stages < 2:
            m.d.comb += s.eq(x_op * m_op + b_op)
            if self.stages == 0:
                m.d.comb += self.s.eq(s)
            else:
                with m.If(self.en):
                    m.d.sync += self.s.eq(s)
            return m
        # Stage 1: partial products at the DSP outputs (and B alongside).
        terms = []
        for xo, xw, xs in split_operand(self.w_x, self.dsp_width):
            xa = x_op[xo:xo + xw]
            xa = xa.as_signed() if xs else xa
            for mo, mw, ms in split_operand(self.w_m, self.dsp_width):
                ma = m_op[mo:mo + mw]
                ma = ma.as_signed() if ms else ma
                pp = Signal(signed(xw + mw + (0 if xs and ms else 1)), name=f"pp_{xo}_{mo}")
                with m.If(self.en):
                    m.d.sync += pp.eq(xa * ma)
                terms.append((pp, xo + mo))
        b_r = Signal(signed(self.w_b))
        with m.If(self.en):
            m.d.sync += b_r.eq(b_op)
        # Stage 2: combine. Each partial product is added only to the bits at and above its
        # offset (the bits below are final), so no adder spans columns that hold 2 operands.
        terms.sort(key=lambda t: t[1])
        total = Signal(signed(self.w_s), name="sum0")
        m.d.comb += total.eq(b_r + terms[0][0])  # the lowest product has offset 0
        for k, (pp, off) in enumerate(terms[1:], 1):
            nxt = Signal(signed(self.w_s), name=f"sum{k}")
            hi = total[off:].as_signed() + pp
            m.d.comb += nxt.eq(Cat(total[:off], hi))
            total = nxt
        m.d.comb += s.eq(total)
        with m.If(self.en):
            m.d.sync += self.s.eq(s)
        return m
