"""Pieces shared by the numba solvers (golden/fast*.py): tie rule, mirroring, array set-up."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _tie_up(rcode, t):
    """Whether a tie below level t rounds up to t (code 0/1 floor/half_up, 2 half_even,
    3 half_away)."""
    if rcode <= 1:
        return True
    if rcode == 2:
        return (t & 1) == 0
    return t >= 1


@njit(cache=True, inline="always")
def _mirror(a, lo, hi):
    """(sign, |a|, lo', hi') of the input range mirrored so that the staircase rises (a != 0)."""
    if a > 0.0:
        return 1, a, lo, hi
    return -1, -a, -hi, -lo


def channel_arrays(a, b, lo, hi, n_fixed) -> tuple:
    """Contiguous per-channel arrays (a, b float64; lo, hi, n_fixed int64, -1 = free shift),
    scalars broadcast to the length of ``a``."""
    a = np.ascontiguousarray(a, dtype=np.float64).reshape(-1)
    c = a.shape[0]

    def per_channel(v, dtype):
        return np.ascontiguousarray(np.broadcast_to(np.asarray(v, dtype=dtype), (c,)))

    nf = np.full(c, -1, np.int64) if n_fixed is None else per_channel(n_fixed, np.int64)
    return (a, per_channel(b, np.float64), per_channel(lo, np.int64),
            per_channel(hi, np.int64), nf)


def result_arrays(c: int, cert_cols: int, sign: bool) -> dict:
    """Zeroed output arrays of a solver kernel for c channels (``sign`` all +1 if asked)."""
    out = {
        "status": np.zeros(c, np.int8),
        "M": np.zeros(c, np.int64),
        "B": np.zeros(c, np.int64),
        "N": np.zeros(c, np.int64),
        "n_min": np.zeros(c, np.int64),
    }
    if sign:
        out["sign"] = np.ones(c, np.int8)
    out["alpha"] = np.zeros((c, 4), np.int64)
    out["cert"] = np.zeros((c, cert_cols), np.int64)
    out["cert_flags"] = np.zeros(c, np.int8)
    return out


@njit(cache=True, inline="always")
def _next_digit(k, r, q):
    """One more binary digit of the quotient k + r/q (0 <= r < q): (2k + d, 2r - d*q)."""
    d = np.int64(2 * r >= q)
    return 2 * k + d, 2 * r - d * q


@njit(cache=True, inline="always")
def _narrow_m(d, dx, m_lo, has_lo, m_hi, has_hi):
    """The integer M interval narrowed by one (lower, upper) point pair: M*dx > d, with
    d = scaled lower level - scaled upper level and dx = x_lower - x_upper. Returns
    (m_lo, has_lo, m_hi, has_hi, ok); ok False: no M (dx == 0 < d)."""
    if dx > 0:
        v = -((-d) // dx)
        if not has_lo or v > m_lo:
            return v, True, m_hi, has_hi, True
    elif dx < 0:
        v = (-d) // (-dx)
        if not has_hi or v < m_hi:
            return m_lo, has_lo, v, True, True
    elif d > 0:
        return m_lo, has_lo, m_hi, has_hi, False
    return m_lo, has_lo, m_hi, has_hi, True
