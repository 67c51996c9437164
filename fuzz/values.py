"""Replacement values and odd names the mutators draw from."""

from __future__ import annotations

from fuzz.jsontext import Raw

__all__ = ["EXTREMES", "TYPE_SWAPS", "TOKENS", "odd_names", "NAME_MUST_REFUSE"]

# Same-type extremes: numbers a field may or may not accept.
EXTREMES: list = [
    0, -1, 1, 2, 62, 63, 64, 2**31, 2**62, 2**63, -(2**63), 2**64,
    Raw("1" + "0" * 4300),  # a 4,301-digit integer (above Python's int-str limit)
    1e308, -1e308, 5e-324, -5e-324, 0.0, -0.0, 0.5, 1.5, 1e-300, 3.4e38,
]

# Values of another JSON type.
TYPE_SWAPS: list = ["", "x", "7", None, True, False, [], {}, [1, 2], {"k": 1}, [[1, 2]]]

# Tokens Python's json accepts but JSON forbids.
TOKENS: list = [Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e999"), Raw("-1e999")]

# Names that must be refused however they are used (NUL, a lone surrogate).
NAME_MUST_REFUSE = ("nul", "surrogate")


def odd_names(sandbox_abs: str) -> list[tuple[str, object]]:
    """(label, JSON value) of odd layer or module names; absolute ones point into the sandbox."""
    return [
        ("dotdot", "../x"), ("dotdot4", "../../../../x"), ("abs", f"{sandbox_abs}/abs/x"),
        ("rich", "[/]"), ("rich2", "[bold red]x[/]"), ("surrogate", Raw('"a\\udc80b"')),
        ("long", "n" * 5000), ("nul", "a\u0000b"), ("module", "module"), ("wire", "wire"),
        ("begin", "begin"), ("endmodule", "endmodule"), ("reg", "reg"), ("dot", "."),
        ("dotdot0", ".."), ("slash", "a/b"), ("space", "a b"), ("newline", "a\nb"),
        ("dash", "-o"), ("unicode", "층"), ("digit", "9lives"), ("empty", ""),
    ]
