"""Multiply-add for standard cells: ``s = x*m + b`` through a registered carry-save tree.

Without DSP blocks the product is built from gates, so the registers go where the gates are:

1. partial products: radix-4 Booth rows (one per digit ``-2..2`` of ``m``: ``x`` or ``2x``,
   inverted when the digit is negative, the +1 of each negation gathered in one row), or one
   row per bit of ``m`` (``x`` AND that bit; the sign row of ``m``, weight ``-2^(w_m-1)``, is
   ``~x`` AND ``m``'s top bit plus that bit once). Signs are folded in with the
   inverted-sign-bit rule (a signed row ``v`` is its bits with the top one inverted, minus
   ``2^(top)``: every row becomes a plain bit vector and all the ``-2^k`` terms are one
   constant row), ``b`` too. :class:`CsaForm` picks Booth or bits, the operand recoded,
   the tree registers and the final adder; :data:`FORM` is what the unit and the
   ceiling get (Booth: smaller at every width measured, 9x4 to 17x23, by 11-15 %; its
   period 2.08 vs 2.19 ns at 17x15, 2.44 vs 2.39 at 17x23, 1.94 vs 1.53 at 9x4: all far
   inside the flow's 5 ns; ``python -m bench.bench_asic --mul-forms``, asic_levers.md);
2. 3:2 carry-save levels (full adders, no carry chain) reduce the rows and ``b`` to two; the
   levels are cut into ``tree`` groups, each ending in a register (2: a register stage inside
   the tree, and one before the final add; 1: only the one before the final add; 0: none);
3. one carry-propagate add of the two rows (a parallel-prefix adder, or Yosys's ripple
   adder with ``final="ripple"``), registered (or, with
   ``chunk`` > 0, the carry-chunked add of :func:`.regs.chunked_add`: one register per
   ``chunk`` bits).

Every sum is taken modulo ``2^w_s``: exact because the true ``x*m + b`` fits ``w_s`` signed
bits. Rows are ``w_s`` bits wide but only their live bits cost anything: constant bits and the
registers that would hold them are removed by synthesis.
"""

from __future__ import annotations

import dataclasses

from amaranth import Cat, Const, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .regs import chunked_add

__all__ = ["ASIC_TREE", "DEFAULT_FORM", "FORM", "CsaForm", "CsaMulAdd", "booth_rows", "csa_levels",
           "csa_stages", "prefix_add"]

# Register groups of the tree in the unit and the ceiling (family ``asic``): one register
# inside the tree and one before the final add (bench/results/asic.md measures the choice).
ASIC_TREE = 2


@dataclasses.dataclass(frozen=True)
class CsaForm:
    """How :class:`CsaMulAdd` builds the product when its caller does not say.

    ``booth``: radix-4 Booth rows (``True``), one row per bit (``False``), or ``None``: Booth
    when it has fewer rows. ``recode``: the operand the rows are taken over (``"m"``: one row
    per bit / Booth digit of ``m``; ``"x"``; ``"narrow"``: the narrower one). ``tree``: when
    set, replaces the caller's register groups (0: no register in the tree, the final add
    follows the last 3:2 level in the same cycle). ``final``: ``"prefix"`` (the kept Sklansky
    network) or ``"ripple"`` (Yosys's ``+``: a ripple adder, smaller, slower)."""
    booth: bool | None = None
    recode: str = "m"
    tree: int | None = None
    final: str = "prefix"


# The form the unit and the ceiling use (family ``asic``); bench_asic --csa-form overrides it.
# Rows over the narrower operand: x at int8 widths (17x23: Booth over x is 5 % smaller in the
# asic-small unit, bench/results/asic_small_preset.md), m at uint4 widths (17x15: unchanged).
DEFAULT_FORM = CsaForm(booth=None, recode="narrow")
FORM = DEFAULT_FORM


def csa_levels(n_rows: int) -> int:
    """3:2 levels that reduce ``n_rows`` rows to two."""
    levels = 0
    while n_rows > 2:
        n_rows -= n_rows // 3
        levels += 1
    return levels


def booth_rows(w: int) -> int:
    """Radix-4 Booth digits of a signed ``w``-bit operand."""
    return (w + 1) // 2


def _resolve(w_x: int, w_m: int, form: CsaForm) -> tuple[bool, bool]:
    """(swap: the rows are taken over x, booth) for ``form`` at these widths."""
    swap = form.recode == "x" or (form.recode == "narrow" and w_x < w_m)
    w_r = w_x if swap else w_m
    booth = form.booth if form.booth is not None else booth_rows(w_r) + 1 < w_r + 1
    return swap, booth


def _rows(w_x: int, w_m: int, form: CsaForm) -> int:
    """Rows into the tree: one per bit (or Booth digit) of the recoded operand, the constant
    row, b, and the sign row (per-bit form) or the negation bits (Booth)."""
    swap, booth = _resolve(w_x, w_m, form)
    w_r = w_x if swap else w_m
    return (booth_rows(w_r) if booth else w_r) + 3


def _groups(n_rows: int, tree: int) -> int:
    return min(tree, max(1, csa_levels(n_rows))) if tree else 0


def csa_stages(w_x: int, w_m: int, w_s: int, tree: int = 2, chunk: int = 0,
               form: CsaForm | None = None) -> int:
    """Register stages of :class:`CsaMulAdd` (its latency in enabled cycles)."""
    form = form or FORM
    tree = tree if form.tree is None else form.tree
    return _groups(_rows(w_x, w_m, form), tree) + (-(-w_s // chunk) if chunk else 1)


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
    the two rows before the final add; :attr:`CsaForm.tree` replaces it when set);
    ``chunk``: 0 = one registered final add, k = the carry-chunked add of k-bit chunks;
    ``form``: :class:`CsaForm` (default :data:`FORM`, read when the component is built)."""

    def __init__(self, w_x: int, w_m: int, w_b: int, w_s: int, tree: int = 2, chunk: int = 0,
                 form: CsaForm | None = None):
        for nm, v in (("w_x", w_x), ("w_m", w_m), ("w_b", w_b), ("w_s", w_s), ("tree", tree)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{nm} must be a positive int, got {v!r}")
        if w_m < 2:
            raise ValueError(f"w_m must be >= 2 (a signed multiplier), got {w_m}")
        self.form = form = form or FORM
        if form.recode not in ("m", "x", "narrow") or form.final not in ("prefix", "ripple"):
            raise ValueError(f"bad CsaForm {form!r}")
        self.w_x, self.w_m, self.w_b, self.w_s = w_x, w_m, w_b, w_s
        self.tree = tree if form.tree is None else form.tree
        self.chunk = chunk
        self.swap, self.booth = _resolve(w_x, w_m, form)
        self.latency = csa_stages(w_x, w_m, w_s, tree, chunk, form)
        self.plant: tuple[int, int] | None = None  # tests: (row, bit) of a flipped pp bit
        super().__init__({
            "en": In(1),
            "x": In(signed(w_x)),
            "m": In(signed(w_m)),
            "b": In(signed(w_b)),
            "s": Out(signed(w_s)),
        })

    def _partial_products(self, m: Module) -> tuple[list, int]:
        """The rows (``w_s``-bit vectors) and the constant whose sum is ``x*m + b`` modulo
        ``2^w_s``. ``b`` enters with its sign bit inverted too (its ``-2^(w_b-1)`` in the
        constant), so its sign extension costs no adders."""
        w, mask = self.w_s, (1 << self.w_s) - 1
        xv, mv = (self.m, self.x) if self.swap else (self.x, self.m)
        rows, const = (self._booth_rows(m, xv, mv) if self.booth
                       else self._bit_rows(m, xv, mv))
        wb = self.w_b
        b = Signal(w, name="pp_b")
        if wb < w:
            m.d.comb += b.eq(Cat(self.b[:wb - 1], ~self.b[wb - 1]))
            const -= 1 << (wb - 1)
        else:
            m.d.comb += b.eq(self.b)
        rows.append(b)
        return rows, const & mask

    def _place(self, m: Module, name: str, bits, shift: int):
        """A ``w_s``-bit row holding ``bits`` from bit ``shift`` up (cut at ``w_s``)."""
        r = Signal(self.w_s, name=name)
        m.d.comb += r.eq(Cat(*bits) << shift if shift < self.w_s else 0)
        return r

    def _bit_rows(self, m: Module, xv, mv) -> tuple[list, int]:
        """One row per bit of ``mv`` (``x`` AND that bit), the sign row folded in."""
        wx, wm = len(xv), len(mv)
        rows, const = [], 0
        for j in range(wm):
            bit = mv[j]
            xs = ~xv if j == wm - 1 else xv  # the sign row: -(x*bit) = ~x*bit + bit
            bits = [xs[i] & bit for i in range(wx - 1)]
            bits.append(~(xs[wx - 1] & bit))  # the row's sign bit inverted ...
            const -= 1 << (wx - 1 + j)  # ... and its -2^(top) in the constant
            rows.append(self._place(m, f"pp{j}", self._planted(j, bits), j))
        rows.append(self._place(m, "pp_sign", [mv[wm - 1]], wm - 1))
        return rows, const

    def _booth_rows(self, m: Module, xv, mv) -> tuple[list, int]:
        """Radix-4 Booth: digit ``k`` of ``mv`` is ``d = -2 m[2k+1] + m[2k] + m[2k-1]`` in
        -2..2, its row ``d * x * 4^k`` = (``x`` or ``2x``, every bit XOR ``neg``) + ``neg``:
        ``wx + 1`` bits, sign inverted as above, the ``neg`` bits gathered in one row."""
        wx, wm = len(xv), len(mv)
        rows, negs, const = [], [], 0
        xb = [xv[i] for i in range(wx)]
        for k in range(booth_rows(wm)):
            lo = mv[2 * k - 1] if k else Const(0, 1)
            mid = mv[2 * k]
            hi = mv[min(2 * k + 1, wm - 1)]  # past the top: m's sign extended
            one = Signal(name=f"bo_one{k}")
            two = Signal(name=f"bo_two{k}")
            m.d.comb += [one.eq(mid ^ lo), two.eq((hi & ~mid & ~lo) | (~hi & mid & lo))]
            bits = []
            for i in range(wx + 1):
                xi = xb[min(i, wx - 1)]  # x sign-extended to wx + 1 bits
                xl = xb[i - 1] if i else Const(0, 1)  # 2x: x one bit up
                bits.append(((one & xi) | (two & xl)) ^ hi)
            bits[wx] = ~bits[wx]  # the row's sign bit inverted ...
            const -= 1 << (wx + 2 * k)  # ... and its -2^(top) in the constant
            rows.append(self._place(m, f"pp{k}", self._planted(k, bits), 2 * k))
            negs.append((2 * k, hi))
        neg = Signal(self.w_s, name="pp_neg")
        parts = {p: b for p, b in negs if p < self.w_s}
        m.d.comb += neg.eq(Cat(*(parts.get(i, Const(0, 1)) for i in range(self.w_s))))
        rows.append(neg)
        return rows, const

    def _planted(self, row: int, bits: list) -> list:
        if self.plant and self.plant[0] == row and self.plant[1] < len(bits):
            bits = list(bits)
            bits[self.plant[1]] = ~bits[self.plant[1]]
        return bits

    def elaborate(self, platform):
        m = Module()
        w = self.w_s
        rows, const = self._partial_products(m)
        rows.append(Const(const, w))
        n_levels = csa_levels(len(rows))
        groups = _groups(len(rows), self.tree)
        # cut the levels into `groups` nearly equal groups, a register after each
        cuts = {round(n_levels * (g + 1) / groups) for g in range(groups)} if groups else set()
        level = 0
        if n_levels == 0 and groups:
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
            if self.form.final == "ripple":
                total = Signal(w, name="cpa_sum")
                m.d.comb += total.eq(rows[0] + rows[1])
            else:
                total = prefix_add(m, rows[0], rows[1], w, "cpa")
            with m.If(self.en):
                m.d.sync += self.s.eq(total)
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
