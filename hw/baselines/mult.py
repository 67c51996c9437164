"""Multiplier built from DSP-sized partial products, for the baselines.

The open flow maps ``a*b`` onto DSP blocks with their internal registers off and does not
retime plain registers into them (measured with Yosys 0.70 / nextpnr 0.11 on ECP5): the
path register -> DSP -> register caps Fmax. Splitting the product by hand into partial
products that each fit one hard multiplier, registering them right at the DSP outputs and
summing them in a registered adder tree is what reaches the flow's best Fmax.
"""

from __future__ import annotations

from amaranth import Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["PartialProductMultiplier", "multiplier_shape", "split_operand"]


def split_operand(width: int, port: int) -> list[tuple[int, int, bool]]:
    """Chunks ``(offset, bits, signed)`` of a signed ``width``-bit operand for a signed
    ``port``-bit multiplier input: low chunks unsigned (``port - 1`` bits, so that they fit a
    signed port), the top chunk keeps the sign."""
    if port < 2:
        raise ValueError(f"port must be >= 2 bits, got {port}")
    chunks, off = [], 0
    while width - off > port:
        chunks.append((off, port - 1, False))
        off += port - 1
    chunks.append((off, width - off, True))
    return chunks


def multiplier_shape(w_a: int, w_b: int, stages: int, dsp_a: int = 18,
                     dsp_b: int = 18) -> tuple[int, int]:
    """``(partial products, latency)`` of a :class:`PartialProductMultiplier`."""
    n_terms = len(split_operand(w_a, dsp_a)) * len(split_operand(w_b, dsp_b))
    return n_terms, (0, 1, 1 + (n_terms - 1).bit_length())[stages]


class PartialProductMultiplier(wiring.Component):
    """``p = a*b + addend`` (signed, exact in ``w_p`` bits), loading registers when ``en``.

    ``stages``: 0 = combinational; 1 = one register after the product (the flow infers the
    DSPs); 2 = partial products registered at the DSP outputs, then every level of the
    adder tree registered (the last one is the output register). :attr:`latency` gives the
    number of registers from ``a``/``b`` to ``p``.
    """

    def __init__(self, w_a: int, w_b: int, stages: int, dsp_a: int = 18, dsp_b: int = 18,
                 addend: int = 0, w_p: int | None = None):
        if stages not in (0, 1, 2):
            raise ValueError(f"stages must be 0, 1 or 2, got {stages!r}")
        for nm, v in (("w_a", w_a), ("w_b", w_b)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{nm} must be a positive int, got {v!r}")
        self.w_a, self.w_b, self.stages = w_a, w_b, stages
        self.dsp_a, self.dsp_b, self.addend = dsp_a, dsp_b, int(addend)
        self.w_p = w_p if w_p is not None else w_a + w_b + (1 if addend else 0)
        self.a_chunks = split_operand(w_a, dsp_a)
        self.b_chunks = split_operand(w_b, dsp_b)
        n_terms = len(self.a_chunks) * len(self.b_chunks)
        self.tree_levels = (n_terms - 1).bit_length()
        self.latency = (0, 1, 1 + self.tree_levels)[stages]
        super().__init__({
            "en": In(1),
            "a": In(signed(w_a)),
            "b": In(signed(w_b)),
            "p": Out(signed(self.w_p)),
        })

    @property
    def partial_products(self) -> int:
        return len(self.a_chunks) * len(self.b_chunks)

    def elaborate(self, platform):
        m = Module()
        if self.stages < 2:
            expr = self.a * self.b + self.addend
            if self.stages == 0:
                m.d.comb += self.p.eq(expr)
            else:
                with m.If(self.en):
                    m.d.sync += self.p.eq(expr)
            return m
        terms = []
        for ao, aw, a_signed in self.a_chunks:
            a = self.a[ao:ao + aw]
            a = a.as_signed() if a_signed else a
            for bo, bw, b_signed in self.b_chunks:
                b = self.b[bo:bo + bw]
                b = b.as_signed() if b_signed else b
                pp = Signal(signed(aw + bw + (0 if a_signed and b_signed else 1)),
                            name=f"pp_{ao}_{bo}")
                with m.If(self.en):
                    m.d.sync += pp.eq(a * b)
                terms.append((pp, ao + bo))
        if len(terms) == 1:
            pp, off = terms[0]
            m.d.comb += self.p.eq((pp << off) + self.addend)
            return m
        level = 0
        addend = self.addend
        while len(terms) > 1:
            nxt = []
            for k in range(0, len(terms), 2):
                if k + 1 == len(terms):
                    (t, o), = terms[k:k + 1]
                    r = Signal(signed(len(t) + 1), name=f"tree{level}_{k}")
                    with m.If(self.en):
                        m.d.sync += r.eq(t)
                    nxt.append((r, o))
                    continue
                (t1, o1), (t2, o2) = terms[k], terms[k + 1]
                o = min(o1, o2)
                expr = (t1 << (o1 - o)) + (t2 << (o2 - o))
                if addend and k == 0:  # the constant rides on the first adder (its low bits
                    expr = expr + (addend >> o)  # are zero when o > 0: offsets are chunk sums)
                    assert (addend >> o) << o == addend
                    addend = 0
                r = Signal(signed(min(len(expr), self.w_p + 1 - o) + 1), name=f"tree{level}_{k}")
                with m.If(self.en):
                    m.d.sync += r.eq(expr)
                nxt.append((r, o))
            terms = nxt
            level += 1
        t, o = terms[0]
        m.d.comb += self.p.eq(t << o)
        return m
