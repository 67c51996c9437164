"""Solved layers for benches and tests: exact-tie layers by construction, solved examples.

``dyadic_layer`` builds a layer whose affine map is exactly ``a = M/2^N``, ``b = B/2^N``
with the output rounding equal to the hardware rounding: the integer model is then the exact
reference by construction, exact ties included (e.g. a = 1/4, b = 1/2 with half_even), so
tie channels need no solver run. ``example_layer`` solves a bundled example layer.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from exactbn.golden.solver import solve_layer

from exactbn.formats import SolvedLayer, load_layers, parse_solved

__all__ = ["dyadic_layer", "tie_layer", "example_layer"]

EXAMPLES = Path(__file__).resolve().parents[1] / "exactbn" / "data" / "example_layers.json"


def dyadic_layer(name: str, M: list[int], B: list[int], N: list[int], *, w_x: int,
                 x_signed: bool, w_q: int, q_signed: bool, clip: list[int] | None = None,
                 rounding: str = "half_even", shift_mode: str = "per-channel",
                 ranges: list[list[int]] | None = None) -> SolvedLayer:
    c = len(M)
    lo = -(1 << (w_x - 1)) if x_signed else 0
    hi = (1 << (w_x - 1)) - 1 if x_signed else (1 << w_x) - 1
    q_lo = -(1 << (w_q - 1)) if q_signed else 0
    q_hi = (1 << (w_q - 1)) - 1 if q_signed else (1 << w_q) - 1
    widths = SolvedLayer.widths_for(M, B, N, shift_mode)
    obj = {
        "name": name,
        "input": {"bits": w_x, "signed": x_signed, "scale": 1.0, "zero_point": 0,
                  "range": ranges or [lo, hi]},
        "output": {"bits": w_q, "signed": q_signed, "scale": 1.0, "zero_point": 0,
                   "rounding": rounding, "clip": clip or [q_lo, q_hi]},
        "hw_rounding": rounding, "shift_mode": shift_mode,
        "a": [m / (1 << n) for m, n in zip(M, N, strict=True)],
        "b": [b / (1 << n) for b, n in zip(B, N, strict=True)],
        "M": M, "B": B, "N": N, "widths": widths.to_json(),
        "exact": [True] * c, "mismatches": [0] * c, "certificate": [None] * c,
    }
    return parse_solved({"layers": [obj]})[0]


def tie_layer(rounding: str, *, w_x: int = 8, x_signed: bool = True,
              shift_mode: str = "per-channel") -> SolvedLayer:
    """Channels full of exact ties: positive, negative and zero slopes, N = 0 included."""
    if shift_mode == "shared":
        M, B, N = [1, -3, 5, 0, 7, -1], [2, 1, -6, 3, -2, -5], [2] * 6
    else:
        M, B, N = [1, -3, 5, 0, 6, 3], [2, 1, -6, 3, -9, 1], [2, 1, 3, 1, 4, 0]
    return dyadic_layer(f"ties_{rounding}", M, B, N, w_x=w_x, x_signed=x_signed, w_q=4,
                        q_signed=True, rounding=rounding, shift_mode=shift_mode,
                        clip=[-7, 6])


@cache
def example_layer(name: str, shift_mode: str = "per-channel", hw_rounding: str = "auto"
                  ) -> SolvedLayer:
    """A bundled example layer, solved (``auto``: a rounding stage only where ties need it)."""
    layers = {lay.name: lay for lay in load_layers(EXAMPLES)}
    return solve_layer(layers[name], shift_mode=shift_mode, hw_rounding=hw_rounding)
