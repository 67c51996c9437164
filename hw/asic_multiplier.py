"""Multiply-add for standard cells: ``s = x*m + b`` through a registered carry-save tree.

Without DSP blocks the product is built from gates, so the registers go where the gates are:

1. partial products: one row per bit of ``m`` (``x`` AND that bit), signs folded in with the
   inverted-sign-bit rule (a signed row ``v`` is its bits with the top one inverted, minus
   ``2^(top)``: every row becomes a plain bit vector and all the ``-2^k`` terms are one
   constant row); the sign row of ``m`` (weight ``-2^(w_m-1)``) is ``~x`` AND ``m``'s top bit
   plus that bit once;
2. 3:2 carry-save levels (full adders, no carry chain) reduce the rows and ``b`` to two; the
   levels are cut into ``tree`` groups, each ending in a register (a register stage inside the
   tree, and one before the final add);
3. one carry-propagate add of the two rows (a parallel-prefix adder), registered (or, with
   ``chunk`` > 0, the carry-chunked add of :func:`.regs.chunked_add`: one register per
   ``chunk`` bits).

Every sum is taken modulo ``2^w_s``: exact because the true ``x*m + b`` fits ``w_s`` signed
bits. Rows are ``w_s`` bits wide but only their live bits cost anything: constant bits and the
registers that would hold them are removed by synthesis.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .regs import chunked_add

__all__ = ["ASIC_TREE", "CsaMulAdd", "csa_levels", "csa_stages", "prefix_add"]

# Register groups of the tree in the unit and the ceiling (family ``asic``): one register
# inside the tree and one before the final add (bench/results/asic.md measures the choice).
ASIC_TREE = 2


def csa_levels(n_rows: int) -> int:
    """3:2 levels that reduce ``n_rows`` rows to two."""
    levels = 0
    while n_rows > 2:
        n_rows -= n_rows // 3
        levels += 1
    return levels


def _rows(w_x: int, w_m: int) -> int:
    """Rows into the tree: one per bit of m, the constant row, m's sign bit, b."""
    return w_m + 3


def csa_stages(w_x: int, w_m: int, w_s: int, tree: int = 2, chunk: int = 0) -> int:
    """Register stages of :class:`CsaMulAdd` (its latency in enabled cycles)."""
    groups = min(tree, max(1, csa_levels(_rows(w_x, w_m))))
    return groups + (-(-w_s // chunk) if chunk else 1)


def prefix_add(m: Module, a, b, width: int, name: str):
    """``(a + b) mod 2^width`` through a Sklansky parallel-prefix carry network: log2(width)
    AND-OR levels instead of a ``width``-long ripple chain. Yosys maps ``+`` to a ripple
    adder, and ABC (which has no usable delay model of these libraries: ``-D`` changes
    nothing) collapses an unmarked prefix network back into one: the span nodes are kept
    (``keep``), so every node stays one AND-OR gate."""
    g = [a[i] & b[i] for i in range(width)]  # (generate, propagate) of each bit ...
    p = [a[i] ^ b[i] for i in range(width)]
    gg, pp = list(g), list(p)  # ... then of the span ending at each bit
    d = 1
    while d < width:
        ng, np_ = list(gg), list(pp)
        for i in range(width):
            if (i // d) % 2:  # the upper half of a 2d-block takes the lower half's last span
                j = (i // d) * d - 1
                gi = Signal(name=f"{name}_g{d}_{i}", attrs={"keep": 1})
                m.d.comb += gi.eq(gg[i] | (pp[i] & gg[j]))
                ng[i] = gi
                if i >= 2 * d:  # spans that do not reach bit 0 still need their propagate
                    pi = Signal(name=f"{name}_p{d}_{i}", attrs={"keep": 1})
                    m.d.comb += pi.eq(pp[i] & pp[j])
                    np_[i] = pi
        gg, pp = ng, np_
        d *= 2
    out = Signal(width, name=f"{name}_sum")
    m.d.comb += out.eq(Cat(p[0], *(p[i] ^ gg[i - 1] for i in range(1, width))))
    return out


class CsaMulAdd(wiring.Component):
    """``s = x*m + b`` (signed, exact in ``w_s`` bits), latency :func:`csa_stages` cycles of
    ``en``. ``tree``: register groups the 3:2 levels are cut into (>= 1; the last one holds
    the two rows before the final add); ``chunk``: 0 = one registered final add, k = the
    carry-chunked add of k-bit chunks."""

    def __init__(self, w_x: int, w_m: int, w_b: int, w_s: int, tree: int = 2, chunk: int = 0):
        for nm, v in (("w_x", w_x), ("w_m", w_m), ("w_b", w_b), ("w_s", w_s), ("tree", tree)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{nm} must be a positive int, got {v!r}")
        if w_m < 2:
            raise ValueError(f"w_m must be >= 2 (a signed multiplier), got {w_m}")
        self.w_x, self.w_m, self.w_b, self.w_s = w_x, w_m, w_b, w_s
        self.tree, self.chunk = tree, chunk
        self.latency = csa_stages(w_x, w_m, w_s, tree, chunk)
        super().__init__({
            "en": In(1),
            "x": In(signed(w_x)),
            "m": In(signed(w_m)),
            "b": In(signed(w_b)),
            "s": Out(signed(w_s)),
        })

    def _partial_products(self, m: Module) -> list:
        """The rows (``w_s``-bit vectors) whose sum is ``x*m + b`` modulo ``2^w_s``."""
        w, wx, wm = self.w_s, self.w_x, self.w_m
        mask = (1 << w) - 1
        rows, const = [], 0
        for j in range(wm):
            bit = self.m[j]
            xs = ~self.x if j == wm - 1 else self.x  # the sign row: -(x*bit) = ~x*bit + bit
            low = Cat(*(xs[i] & bit for i in range(wx - 1)))
            top = ~(xs[wx - 1] & bit)  # the row's sign bit inverted ...
            const -= 1 << (wx - 1 + j)  # ... and its -2^(top) in the constant row
            r = Signal(w, name=f"pp{j}")
            m.d.comb += r.eq(Cat(low, top) << j if j < w else 0)
            rows.append(r)
        if wm - 1 < w:
            fix = Signal(w, name="pp_sign")
            m.d.comb += fix.eq(self.m[wm - 1] << (wm - 1))
            rows.append(fix)
        rows.append(Const(const & mask, w))
        b = Signal(w, name="pp_b")
        m.d.comb += b.eq(self.b.as_signed())  # sign-extended to w_s bits
        rows.append(b)
        return rows

    def elaborate(self, platform):
        m = Module()
        w = self.w_s
        rows = self._partial_products(m)
        n_levels = csa_levels(len(rows))
        groups = min(self.tree, max(1, n_levels))
        # cut the levels into `groups` nearly equal groups, a register after each
        cuts = {round(n_levels * (g + 1) / groups) for g in range(groups)}
        level = 0
        if n_levels == 0:
            rows = self._register(m, rows, "csa_r0")
        while len(rows) > 2:
            nxt = []
            full = len(rows) - len(rows) % 3
            for k in range(0, full, 3):
                a, b, c = rows[k:k + 3]
                s = Signal(w, name=f"csa_s{level}_{k // 3}")
                cy = Signal(w, name=f"csa_c{level}_{k // 3}")
                maj = (a & b) | (a & c) | (b & c)
                m.d.comb += [s.eq(a ^ b ^ c), cy.eq(Cat(Const(0, 1), maj[:w - 1]))]
                nxt += [s, cy]
            nxt += rows[full:]
            rows = nxt
            level += 1
            if level in cuts:
                rows = self._register(m, rows, f"csa_r{level}")
        if len(rows) == 1:
            rows.append(Const(0, w))
        if self.chunk:
            m.d.comb += self.s.eq(chunked_add(m, self.en, rows[0], rows[1], w, self.chunk,
                                              "cpa"))
        else:
            with m.If(self.en):
                m.d.sync += self.s.eq(prefix_add(m, rows[0], rows[1], w, "cpa"))
        return m

    def _register(self, m: Module, rows: list, name: str) -> list:
        out = []
        for k, r in enumerate(rows):
            if isinstance(r, Const):  # a constant row needs no register
                out.append(r)
                continue
            q = Signal(len(r), name=f"{name}_{k}", reset_less=True)
            with m.If(self.en):
                m.d.sync += q.eq(r)
            out.append(q)
        return out

