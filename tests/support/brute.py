"""Brute-force searches used only by tests: the obvious, slow definition of 'minimal'."""

from __future__ import annotations

import numpy as np
from exactbn.golden import integer_model, reference


def exact_params_at(a, b, rounding, qmin, qmax, lo, hi, hw_rounding, n):
    """Every exact (M, B) at shift n, searched over a generous box (small ranges only)."""
    xs = np.arange(lo, hi + 1)
    ref = reference(a, b, xs, rounding, qmin, qmax)
    span = max(abs(lo), abs(hi), 1)
    m_box = (abs(qmax) + abs(qmin) + 2) << (n + 1)
    b_box = (abs(qmax) + abs(qmin) + 2) * (1 << n) * 2 + m_box * span
    found = []
    for m in range(-m_box, m_box + 1):
        base = m * xs
        for bb in range(-b_box, b_box + 1):
            if np.array_equal(integer_model(m, bb, n, xs, qmin, qmax, hw_rounding), ref):
                found.append((m, bb))
        del base
    return found


def first_exact(a, b, rounding, qmin, qmax, lo, hi, hw_rounding, n):
    """Whether any exact (M, B) exists at shift n (stops at the first)."""
    xs = np.arange(lo, hi + 1)
    ref = reference(a, b, xs, rounding, qmin, qmax)
    span = max(abs(lo), abs(hi), 1)
    m_box = (abs(qmax) + abs(qmin) + 2) << (n + 1)
    b_box = (abs(qmax) + abs(qmin) + 2) * (1 << n) * 2 + m_box * span
    for m in range(-m_box, m_box + 1):
        s = m * xs
        lo_b, hi_b = -b_box, b_box
        # vectorised over B: the model is monotone in B, so test all B of the box at once
        bs = np.arange(lo_b, hi_b + 1)
        out = integer_model(m, bs[:, None], n, s[None, :] * 0 + xs[None, :], qmin, qmax,
                            hw_rounding)
        if (out == ref[None, :]).all(axis=1).any():
            return True
    return False
