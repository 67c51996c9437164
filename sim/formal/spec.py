"""The integer model rendered as a Verilog module, for formal harnesses.

``render_spec_module`` writes ``clip(R_hw((M*x + B) / 2^N), qmin, qmax)`` (golden's
``integer_model``, the one definition) as combinational Verilog whose product has the same
structure as the unit's multiplier: the same DSP-sized partial products (see
``exactbn.hw.multiplier.split_operand``) when the unit splits its product, one ``x*m``
otherwise. A proof harness feeds it the unit's own multiplier operands, so the solver sees
one product (bit-blasted once) instead of two multipliers to be proven equal.

The rendering is checked against ``exactbn.golden.integer_model`` by simulation
(tests/formal/test_spec_module.py): that is what keeps one definition.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SpecShape", "render_spec_module", "render_spec_parts", "product_chunks"]


@dataclass(frozen=True)
class SpecShape:
    """Widths and constants of one spec instance.

    ``w_xs``: bits of x as a signed operand (w_x + 1 for unsigned x, zero-extended by the
    caller); ``w_m``/``w_b``: two's complement widths; ``w_n``: bits of the ``n`` input
    (any value 0..2^w_n - 1 is handled exactly); ``w_q``: output bits; ``split``: partial
    products as in the unit (mult=2), else one product; ``dsp_width``: the split's port width.
    """

    w_xs: int
    w_m: int
    w_b: int
    w_n: int
    w_q: int
    qmin: int
    qmax: int
    hw_rounding: str = "floor"
    split: bool = False
    dsp_width: int = 18

    @property
    def w_p(self) -> int:
        """Bits of the exact product x*m."""
        return self.w_xs + self.w_m

    @property
    def w_s(self) -> int:
        """Bits that hold x*m + b exactly."""
        return max(self.w_p, self.w_b) + 1

    @property
    def w_e(self) -> int:
        """Width of the sign-extended sum used for the shift: every shift 0..2^w_n-1 exact."""
        return max(self.w_s, (1 << self.w_n)) + 2


def product_chunks(w_xs: int, w_m: int, split: bool, dsp_width: int):
    """``[(x_off, x_bits, x_signed, m_off, m_bits, m_signed)]``: the unit's partial products."""
    if not split:
        return [(0, w_xs, True, 0, w_m, True)]
    from exactbn.hw.multiplier import split_operand

    out = []
    for xo, xw, xs in split_operand(w_xs, dsp_width):
        for mo, mw, ms in split_operand(w_m, dsp_width):
            out.append((xo, xw, xs, mo, mw, ms))
    return out


def _operand(name: str, off: int, bits: int, signed: bool) -> str:
    sl = f"{name}[{off + bits - 1}:{off}]"
    return f"$signed({sl})" if signed else f"$signed({{1'b0, {sl}}})"


def _const(width: int, v: int) -> str:
    return f"-{width}'sd{-v}" if v < 0 else f"{width}'sd{v}"


def render_spec_module(name: str, shape: SpecShape) -> str:
    """Verilog ``module name(x, m, b, n, q)``: q = integer model, low ``w_q`` bits (the two
    halves of :func:`render_spec_parts` in one module)."""
    sh = shape
    return render_spec_parts(name, shape) + "\n".join([
        f"module {name}(",
        f"  input  wire signed [{sh.w_xs - 1}:0] x,",
        f"  input  wire signed [{sh.w_m - 1}:0] m,",
        f"  input  wire signed [{sh.w_b - 1}:0] b,",
        f"  input  wire [{max(sh.w_n, 1) - 1}:0] n,",
        f"  output wire [{sh.w_q - 1}:0] q",
        ");",
        f"  wire signed [{sh.w_s - 1}:0] s;",
        f"  {name}_sum sum(.x(x), .m(m), .b(b), .s(s));",
        f"  {name}_tail tail(.s(s), .n(n), .q(q));",
        "endmodule",
        "",
    ])


def render_spec_parts(name: str, shape: SpecShape) -> str:
    """Two Verilog modules: ``name_sum(x, m, b, s)`` with ``s = x*m + b`` (``w_s`` bits,
    with the unit's product structure) and ``name_tail(s, n, q)`` with
    ``q = clip(R_hw(s / 2^n))`` (low ``w_q`` bits). A harness can feed the tail the unit's
    own shift amount (asserted equal to the model's N) where the unit's shifter takes it."""
    sh = shape
    if sh.hw_rounding not in ("floor", "half_up", "half_even", "half_away"):
        raise ValueError(f"unknown hw_rounding {sh.hw_rounding!r}")
    w_s, w_e = sh.w_s, sh.w_e
    lines = [
        f"module {name}_sum(",
        f"  input  wire signed [{sh.w_xs - 1}:0] x,",
        f"  input  wire signed [{sh.w_m - 1}:0] m,",
        f"  input  wire signed [{sh.w_b - 1}:0] b,",
        f"  output wire signed [{w_s - 1}:0] s",
        ");",
        "  // One product, with the unit's partial-product structure.",
    ]
    terms = []
    for k, (xo, xw, xs, mo, mw, ms) in enumerate(
        product_chunks(sh.w_xs, sh.w_m, sh.split, sh.dsp_width)
    ):
        w_pp = xw + mw + (0 if xs and ms else 1)
        lines.append(
            f"  wire signed [{w_pp - 1}:0] pp{k} = "
            f"{_operand('x', xo, xw, xs)} * {_operand('m', mo, mw, ms)};"
        )
        terms.append(f"(pp{k} <<< {xo + mo})")
    # Signed operands in a w_s-bit signed context: each is sign-extended before the shift.
    lines += ["  assign s = b + " + " + ".join(terms) + ";", "endmodule", ""]
    lines += [
        f"module {name}_tail(",
        f"  input  wire signed [{w_s - 1}:0] s,",
        f"  input  wire [{max(sh.w_n, 1) - 1}:0] n,",
        f"  output wire [{sh.w_q - 1}:0] q",
        ");",
        "  // floor(s / 2^n) with the rounding bits (half = bit n-1 of s, sticky = OR below it)",
        "  // as a log shifter, largest shift first like the unit's: v holds the value with one",
        "  // guard bit below it (the next bit to shift out); bits shifted past it go to sticky.",
        f"  wire signed [{w_e - 1}:0] se = s;",
        f"  wire signed [{w_e}:0] v0 = {{se, 1'b0}};",
        "  wire st0 = 1'b0;",
    ]
    levels = list(reversed(range(sh.w_n)))
    for i, k in enumerate(levels):
        amt = 1 << k
        mask = (1 << min(amt, w_e + 1)) - 1
        lines += [
            f"  wire signed [{w_e}:0] v{i + 1} = n[{k}] ? (v{i} >>> {amt}) : v{i};",
            f"  wire st{i + 1} = st{i} | (n[{k}] & |(v{i} & {w_e + 1}'h{mask:x}));",
        ]
    last = len(levels)
    lines += [
        f"  wire signed [{w_e - 1}:0] t = v{last} >>> 1;",
        f"  wire half = v{last}[0];",
        f"  wire sticky = st{last};",
    ]
    up = {
        "floor": "1'b0",
        "half_up": "half",
        "half_even": "half & (sticky | t[0])",
        "half_away": "half & (sticky | ~se[" + str(w_e - 1) + "])",
    }[sh.hw_rounding]
    w_r = w_e + 1
    lo, hi = _const(w_r, sh.qmin), _const(w_r, sh.qmax)
    lines += [
        f"  wire up = {up};",
        f"  wire signed [{w_r - 1}:0] r = t + $signed({{1'b0, up}});",
        f"  wire signed [{w_r - 1}:0] c = (r < {lo}) ? {lo} : (r > {hi}) ? {hi} : r;",
        f"  assign q = c[{sh.w_q - 1}:0];",
        "endmodule",
        "",
    ]
    return "\n".join(lines)
