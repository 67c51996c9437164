"""Test helper: small solved layers (hand-made integer parameters) for fast proofs."""

from __future__ import annotations

from exactbn.formats import SolvedLayer, parse_solved


def small_layer(hw_rounding: str = "floor", shift_mode: str = "per-channel",
                M=(3, -45, 100), B=(1, -200, 3), N=(2, 6, 7)) -> SolvedLayer:
    """3 channels, int8 input, int4 output; exact ties occur (B with half bits)."""
    if shift_mode == "shared":
        N = (N[0],) * len(M)
    c = len(M)
    obj = {"layers": [{
        "name": "small", "input": {"bits": 8, "signed": True},
        "output": {"bits": 4, "signed": True, "rounding": "half_even"},
        "hw_rounding": hw_rounding, "shift_mode": shift_mode,
        "a": [m / (1 << n) for m, n in zip(M, N, strict=True)],
        "b": [b / (1 << n) for b, n in zip(B, N, strict=True)],
        "M": list(M), "B": list(B), "N": list(N),
        "widths": {"M": 8, "B": 10, "N": 0 if shift_mode == "shared" else 3, "n_max": max(N)},
        "exact": [True] * c,
    }]}
    return parse_solved(obj)[0]
