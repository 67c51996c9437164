"""Test helpers: small solved layers (hand-made integer parameters) for fast proofs, and
edits of a generated unit's Verilog text the way a user (or an attacker) makes them."""

from __future__ import annotations

import re

from exactbn.formats import SolvedLayer, parse_solved


def small_layer(hw_rounding: str = "floor", shift_mode: str = "per-channel",
                M=(3, -45, 100), B=(1, -200, 3), N=(2, 6, 7), rng=None) -> SolvedLayer:
    """3 channels, int8 input, int4 output; exact ties occur (B with half bits).

    a = M/2^N, b = B/2^N and the output rounding is hw_rounding, so the parameters are
    exact by construction (generate re-derives exactness and would refuse anything else).
    ``rng``: per-channel input ranges ``[(lo, hi), ...]`` (default: the whole int8 range)."""
    if shift_mode == "shared":
        N = (N[0],) * len(M)
    c = len(M)
    obj = {"layers": [{
        "name": "small", "input": {"bits": 8, "signed": True,
                                   **({"range": [list(r) for r in rng]} if rng else {})},
        "output": {"bits": 4, "signed": True, "rounding": hw_rounding},
        "hw_rounding": hw_rounding, "shift_mode": shift_mode,
        "a": [m / (1 << n) for m, n in zip(M, N, strict=True)],
        "b": [b / (1 << n) for b, n in zip(B, N, strict=True)],
        "M": list(M), "B": list(B), "N": list(N),
        "widths": {"M": 8, "B": 10, "N": 0 if shift_mode == "shared" else 3, "n_max": max(N)},
        "exact": [True] * c, "mismatches": [0] * c, "certificate": [None] * c,
    }]}
    return parse_solved(obj)[0]


def _module_span(verilog: str, name: str) -> tuple[int, int]:
    start = verilog.index(f"module \\exactbn_bn.{name} ")
    return start, verilog.index("endmodule", start)


def edit_module(verilog: str, module: str, pattern: str, repl: str) -> str:
    start, end = _module_span(verilog, module)
    body = verilog[start:end]
    new = re.sub(pattern, repl, body, count=1)
    assert new != body, f"pattern {pattern!r} not found in {module}"
    return verilog[:start] + new + verilog[end:]


def rename_core_wire(verilog: str, old: str, new: str) -> str:
    """Rename a wire of the core module everywhere it is used (ports of instances stay)."""
    start, end = _module_span(verilog, "core")
    body = verilog[start:end]
    out = re.sub(rf"(?<![\w$.\\]){re.escape(old)}(?![\w$])", lambda m: new, body)
    assert out != body
    return verilog[:start] + out + verilog[end:]


def ignore_stall(verilog: str, module: str, reg: str) -> str:
    """Make register ``reg`` of ``module`` load every cycle (its enable ignored). Handles
    both Verilog forms of the enable: an ``if (en)`` in a process, or a mux whose
    else-branch feeds the register back."""
    r = re.escape(reg)
    start, end = _module_span(verilog, module)
    body = verilog[start:end]
    for pat, repl in ((rf"(\\\$\d+\s*= {r};\n\s*)if \(en\) begin", r"\1if (1'h1) begin"),
                      (rf"= \\\$procmux\$\d+_CMP\s+\?(\s*\S+\s*): {r};", rf"= 1'h1 ?\1: {reg};")):
        new = re.sub(pat, repl, body, count=1)
        if new != body:
            return verilog[:start] + new + verilog[end:]
    raise AssertionError(f"the enable of {reg} not found in {module}")
