"""Brute-force searches used only by tests: the plain, slow definition of 'minimal'.

For each M of a generous box, the admissible B are found per input by bisection on B (the
model is monotone in B, nothing else is assumed), then intersected over every input.
"""

from __future__ import annotations

import numpy as np
from exactbn.golden import integer_model, reference

_BIG = 1 << 40


def _box(qmin, qmax, lo, hi, n):
    return (abs(qmax) + abs(qmin) + 2) << (n + 1)


def _first_b(m, n, xs, qmin, qmax, hw, target, at_least: bool):
    """Per x: smallest B with model >= target (at_least) or with model > target."""
    lo = np.full(xs.shape, -_BIG, dtype=np.int64)
    hi = np.full(xs.shape, _BIG, dtype=np.int64)
    while (hi - lo > 1).any():
        mid = (lo + hi) // 2
        out = integer_model(m, mid, n, xs, qmin, qmax, hw)
        ok = out >= target if at_least else out > target
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    return hi


def b_range(a, b, rounding, qmin, qmax, lo, hi, hw_rounding, n, m):
    """(b_lo, b_hi) of every B making (m, B, n) exact on [lo, hi], or None."""
    xs = np.arange(lo, hi + 1, dtype=np.int64)
    ref = reference(a, b, xs, rounding, qmin, qmax)
    b_lo = _first_b(m, n, xs, qmin, qmax, hw_rounding, ref, True).max()
    b_hi = (_first_b(m, n, xs, qmin, qmax, hw_rounding, ref, False) - 1).min()
    if b_lo > b_hi:
        return None
    assert np.array_equal(integer_model(m, int(b_lo), n, xs, qmin, qmax, hw_rounding), ref)
    return int(b_lo), int(b_hi)


def exact_params_at(a, b, rounding, qmin, qmax, lo, hi, hw_rounding, n):
    """Every M of the box with its admissible B interval at shift n."""
    box = _box(qmin, qmax, lo, hi, n)
    out = []
    for m in range(-box, box + 1):
        r = b_range(a, b, rounding, qmin, qmax, lo, hi, hw_rounding, n, m)
        if r is not None:
            out.append((m, r))
    return out


def first_exact(a, b, rounding, qmin, qmax, lo, hi, hw_rounding, n) -> bool:
    """Whether any exact (M, B) exists at shift n."""
    box = _box(qmin, qmax, lo, hi, n)
    return any(b_range(a, b, rounding, qmin, qmax, lo, hi, hw_rounding, n, m) is not None
               for m in range(-box, box + 1))


def smallest_b(b_lo: int, b_hi: int) -> int:
    if b_lo <= 0 <= b_hi:
        return 0
    return b_lo if b_lo > 0 else b_hi
