"""Multiply-add stage: ``s = x*M + B`` with 0, 1 or 2 register stages (plus ``dspin``).

With 2 stages the product is split by hand into DSP-sized partial products, each registered
right at its multiplier's output, and combined with B in the next stage(s): the open flow
maps ``a*b`` onto DSP blocks with their internal registers off and does not retime plain
registers into them, so only this split reaches the DSP's speed.

``family`` picks how each partial product is built (with ``stages`` = 2 only):

- ``generic`` (and every family without a primitive here): plain Amaranth ``*``, one
  register after it (Yosys infers the DSP).
- ``xilinx``: inferred, cut for the DSP48's 25 x 18 ports (one DSP up to 25 x 18), with the
  operand, product and sum registers Yosys packs as AREG/BREG, MREG and PREG.
- ``asic``: no DSPs: a carry-save tree of gates with registers inside it
  (:mod:`.asic_multiplier`); ``dsp_width`` is unused, ``chunk`` cuts its final add.
- ``ecp5``: an instantiated MULT18X18D with REG_INPUTA/B, REG_PIPELINE and REG_OUTPUT on
  (:mod:`.primitives.ecp5`), 3 enabled cycles; ``sim`` swaps in its Amaranth equivalent.
- ``ice40``: an instantiated SB_MAC16 (16 x 16 signed) with its input, 8 x 8 product,
  16 x 16 pipeline and output registers on (:mod:`.primitives.ice40`), 4 enabled cycles.

``chunk`` (bits, 0 = off) combines the products and B through 3:2 carry-save levels and a
carry-chunked adder (:func:`.regs.chunked_add`), every level registered; with 0 the combine
is one registered stage. When the lowest ``chunk`` bits hold at most two terms (B and the
low product: every other product's offset is >= chunk), that chunk is added from the terms
in the first carry-save cycle and only the bits above it go through the 3:2 levels (one
stage less for the same chunk width). :func:`mult_stages` gives the register count after
``dspin``.

With ``dspin=1`` the operands (x, m, and b alongside) are registered first, as ``x_r``,
``m_r``, ``b_i``: the multipliers then start from registers of their own instead of the
parameter-memory read and the input stage, which sit farther away (or are a block RAM).
With ``mb_registered`` that register of m and b is the parameter memory's second read
stage (``UnitConfig.param_read_split``): ``m_r``/``b_i`` are then its outputs.
"""

from __future__ import annotations

from amaranth import Cat, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .asic_multiplier import ASIC_TREE, CsaMulAdd, csa_stages
from .regs import add_carry_in, add_stages, chunked_add, csa_reduce, delay

__all__ = ["MulAdd", "split_operand", "mult_stages", "uses_primitive", "operand_ports",
           "term_offsets"]

_PRIMITIVE_WIDTH = {"ecp5": 18, "ice40": 16}
_PRIMITIVE_LATENCY = {"ecp5": 3, "ice40": 4}
# Inferred families with asymmetric multipliers: (x port, m port) signed widths. Xilinx
# DSP48E1/E2: 25 x 18, so products up to 25 x 18 take one DSP (no 18-bit split).
_INFER_PORTS = {"xilinx": (18, 25)}


def operand_ports(w_x: int, w_m: int, dsp_width: int, family: str) -> tuple[int, int]:
    """Signed port widths (for x, for m) that the partial products are cut for."""
    if family in _PRIMITIVE_WIDTH:
        return _PRIMITIVE_WIDTH[family], _PRIMITIVE_WIDTH[family]
    if family in _INFER_PORTS:
        px, pm = _INFER_PORTS[family]
        # the wider operand on the wider port
        return (px, pm) if w_m >= w_x else (pm, px)
    return dsp_width, dsp_width


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


def uses_primitive(family: str, stages: int) -> bool:
    """The products are instantiated primitives (not inferred ``*``)."""
    return stages == 2 and family in _PRIMITIVE_WIDTH


def mult_stages(w_x: int, w_m: int, w_s: int, stages: int, dsp_width: int = 18,
                family: str = "generic", chunk: int = 0, preg: int = 0, form=None) -> int:
    """Register stages of :class:`MulAdd` after its ``dspin`` register (``preg``: one fabric
    register after each instantiated DSP product, primitive families only; ``form``: the
    carry-save multiplier's CsaForm, family asic, None = its default)."""
    if stages < 2:
        return stages
    if family == "asic":  # gates, not DSPs: the registered carry-save tree
        return csa_stages(w_x, w_m, w_s, ASIC_TREE, chunk, form)
    offs = term_offsets(w_x, w_m, dsp_width, family)
    prod = _PRIMITIVE_LATENCY.get(family, 1) + (1 if preg and family in _PRIMITIVE_WIDTH else 0)
    if _low_chunk_first(offs, w_s, chunk):  # the low chunk is added beside the CSA levels
        return prod + add_stages(len(offs), w_s, chunk) - 1
    return prod + add_stages(len(offs), w_s, chunk)


def term_offsets(w_x: int, w_m: int, dsp_width: int = 18, family: str = "generic") -> list[int]:
    """Bit offsets of the combine's terms: B (0), then each partial product's."""
    px, pm = operand_ports(w_x, w_m, dsp_width, family)
    return [0] + [xo + mo for xo, _, _ in split_operand(w_x, px)
                  for mo, _, _ in split_operand(w_m, pm)]


def _low_chunk_first(offs: list[int], w_s: int, chunk: int) -> bool:
    """With ``chunk``: the carry-save levels are needed (3+ terms) but the lowest ``chunk``
    bits hold at most two terms (every other term's offset is >= chunk), so that chunk is
    added from the terms themselves in the first carry-save cycle (one stage less)."""
    return bool(chunk) and len(offs) > 2 and sorted(offs)[2] >= chunk and w_s > chunk


class MulAdd(wiring.Component):
    """``s = x*m + b`` (exact in ``w_s`` bits), registered ``dspin`` + :func:`mult_stages`
    times when ``en`` (``dspin`` registers at the operands, the rest after the multipliers)."""

    def __init__(self, w_x: int, w_m: int, w_b: int, w_s: int, stages: int, dsp_width: int = 18,
                 dspin: int = 0, *, family: str = "generic", chunk: int = 0, sim: bool = False,
                 mb_registered: bool = False, preg: int = 0, form=None):
        if stages not in (0, 1, 2):
            raise ValueError(f"stages must be 0, 1 or 2, got {stages!r}")
        if dspin not in (0, 1):
            raise ValueError(f"dspin must be 0 or 1, got {dspin!r}")
        self.w_x, self.w_m, self.w_b, self.w_s = w_x, w_m, w_b, w_s
        self.stages, self.dsp_width, self.dspin = stages, dsp_width, dspin
        self.family, self.chunk, self.sim = family, chunk, sim
        self.mb_registered = mb_registered  # dspin: m and b arrive registered (the store's)
        self.primitive = uses_primitive(family, stages)
        self.preg = int(bool(preg) and self.primitive)  # fabric register after each product
        self.form = form  # family asic: the CsaForm (None = hw/asic_multiplier.FORM)
        self.latency = dspin + mult_stages(w_x, w_m, w_s, stages, dsp_width, family, chunk,
                                           self.preg, form)
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
            x_op = Signal(signed(self.w_x), name="x_r", reset_less=True)
            m_op = Signal(signed(self.w_m), name="m_r", reset_less=True)
            b_op = Signal(signed(self.w_b), name="b_i", reset_less=True)
            if self.mb_registered:  # the parameter read already ends in this stage
                m.d.comb += [m_op.eq(self.m), b_op.eq(self.b)]
                with m.If(self.en):
                    m.d.sync += x_op.eq(self.x)
            else:
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
        if self.family == "asic":  # hw/asic_multiplier.py: the standard-cell form
            m.submodules.csa = csa = CsaMulAdd(self.w_x, self.w_m, self.w_b, self.w_s,
                                               ASIC_TREE, self.chunk, self.form)
            m.d.comb += [csa.en.eq(self.en), csa.x.eq(x_op), csa.m.eq(m_op), csa.b.eq(b_op),
                         self.s.eq(csa.s)]
            return m
        terms, b_r = self._products(m, x_op, m_op, b_op)
        if self.chunk:
            self._combine_chunked(m, terms, b_r)
        else:
            self._combine(m, terms, b_r)
        return m

    def _products(self, m: Module, x_op, m_op, b_op):
        """Stage 1: partial products at the DSP outputs, and B delayed alongside them."""
        px, pm = operand_ports(self.w_x, self.w_m, self.dsp_width, self.family)
        terms = []
        for xo, xw, xs in split_operand(self.w_x, px):
            xa = x_op[xo:xo + xw]
            xa = xa.as_signed() if xs else xa
            for mo, mw, ms in split_operand(self.w_m, pm):
                ma = m_op[mo:mo + mw]
                ma = ma.as_signed() if ms else ma
                pw = xw + mw + (0 if xs and ms else 1)
                pp = Signal(signed(pw), name=f"pp_{xo}_{mo}", reset_less=True)
                if self.primitive:
                    p = self._primitive_product(m, xa, ma, pp, f"{xo}_{mo}")
                    if self.preg:  # a fabric register right at the DSP's P output
                        p = delay(m, self.en, p, 1, f"pp_r_{xo}_{mo}")
                    terms.append((p, xo + mo))
                    continue
                with m.If(self.en):
                    m.d.sync += pp.eq(xa * ma)
                terms.append((pp, xo + mo))
        n = _PRIMITIVE_LATENCY.get(self.family, 1) + self.preg if self.primitive else 1
        b_r = delay(m, self.en, b_op, n - 1, "b_p")
        b_last = Signal(signed(self.w_b), name="b_r", reset_less=True)
        with m.If(self.en):
            m.d.sync += b_last.eq(b_r)
        return terms, b_last

    def _primitive_product(self, m: Module, xa, ma, pp, tag: str):
        from .primitives.ecp5 import mult18x18d
        from .primitives.ice40 import sb_mac16

        w = _PRIMITIVE_WIDTH[self.family]
        make = {"ecp5": mult18x18d, "ice40": sb_mac16}[self.family]
        a_op = Signal(signed(w), name=f"dsp_a_{tag}")
        b_op = Signal(signed(w), name=f"dsp_b_{tag}")
        p = Signal(signed(2 * w), name=f"dsp_p_{tag}")
        m.d.comb += [a_op.eq(xa), b_op.eq(ma), pp.eq(p[:len(pp)])]
        m.submodules[f"dsp_{tag}"] = make(a_op, b_op, p, self.en, sim=self.sim)
        return pp

    def _combine(self, m: Module, terms, b_r) -> None:
        """One registered stage. Each partial product is added only to the bits at and above
        its offset (the bits below are final), so no adder spans columns with 2 operands."""
        terms.sort(key=lambda t: t[1])
        total = Signal(signed(self.w_s), name="sum0")
        m.d.comb += total.eq(b_r + terms[0][0])  # the lowest product has offset 0
        for k, (pp, off) in enumerate(terms[1:], 1):
            nxt = Signal(signed(self.w_s), name=f"sum{k}")
            hi = total[off:].as_signed() + pp
            m.d.comb += nxt.eq(Cat(total[:off], hi))
            total = nxt
        with m.If(self.en):
            m.d.sync += self.s.eq(total)

    def _combine_chunked(self, m: Module, terms, b_r) -> None:
        """3:2 carry-save levels down to two terms, then a carry-chunked add (all registered);
        sums modulo 2^w_s, exact because s fits w_s bits."""
        w = self.w_s
        vals = []
        for k, (pp, off) in enumerate([(b_r, 0), *terms]):
            v = Signal(signed(w), name=f"term{k}")
            m.d.comb += v.eq(pp.shift_left(off) if off else pp)
            vals.append(v)
        offs = [0, *(off for _, off in terms)]
        if not _low_chunk_first(offs, w, self.chunk):
            two = csa_reduce(m, self.en, vals, w, "csa")
            if len(two) == 1:
                two.append(Signal(w, name="zero"))
            m.d.comb += self.s.eq(chunked_add(m, self.en, two[0], two[1], w, self.chunk,
                                              "cadd"))
            return
        self._combine_low_first(m, vals, offs)

    def _combine_low_first(self, m: Module, vals, offs) -> None:
        """Chunk 0 (bits below ``chunk``: at most two non-zero terms) is added in the first
        cycle, beside the carry-save levels that reduce the bits above it; its carry waits
        for those levels and enters the carry chunks of the upper bits (skewed in, de-skewed
        out). Sum modulo 2^w_s; latency one less than carry-save levels + chunks."""
        w, k, en = self.w_s, self.chunk, self.en
        low = [v[:k] for v, off in zip(vals, offs, strict=True) if off < k]
        lo = Signal(k + 1, name="cadd_k0", reset_less=True)
        with m.If(en):
            m.d.sync += lo.eq(low[0] + low[1] if len(low) > 1 else low[0])
        two = csa_reduce(m, en, [v[k:] for v in vals], w - k, "csa")
        levels = add_stages(len(vals), 1, 1) - 1  # carry-save levels (1 bit: 1 chunk)
        carry = delay(m, en, lo[-1], levels - 1, "cadd_c0")  # meets the reduced terms
        n_hi = -(-(w - k) // k)
        outs = [delay(m, en, lo[:k], levels + n_hi - 1, "cadd_o0")]
        for j in range(n_hi):
            a0, a1 = j * k, min(w - k, (j + 1) * k)
            aj = delay(m, en, two[0][a0:a1], j, f"cadd_a{j + 1}")
            bj = delay(m, en, two[1][a0:a1], j, f"cadd_b{j + 1}")
            sj = Signal(a1 - a0 + 1, name=f"cadd_k{j + 1}", reset_less=True)
            with m.If(en):
                m.d.sync += sj.eq(add_carry_in(aj, bj, carry))
            carry = sj[-1]
            outs.append(delay(m, en, sj[:a1 - a0], n_hi - 1 - j, f"cadd_o{j + 1}"))
        m.d.comb += self.s.eq(Cat(*outs).as_signed())
