"""The integer model: the one definition that hardware, simulation, proof and reports obey.

    q = clip(R_hw((M*x + B) / 2^N), qmin, qmax)

with R_hw = floor (the usual unit: multiply, add, arithmetic shift, saturate) or a
hardware rounding stage (half_up, half_even, half_away) that rounds the exact quotient.
"""

from __future__ import annotations

import numpy as np

__all__ = ["integer_model", "round_shift"]

_SAFE = 1 << 62


def _bound(v) -> int:
    v = np.asarray(v)
    if v.size == 0:
        return 0
    if v.dtype == object:
        return max(abs(int(e)) for e in v.ravel())
    return max(abs(int(v.max())), abs(int(v.min())))


def round_shift(s, n, hw_rounding: str):
    """``R_hw(s / 2^n)`` for integer arrays s (int64 or object) and shifts n >= 0."""
    q0 = s >> n
    if hw_rounding == "floor":
        return q0
    rem = s - (q0 << n)
    nz = n > 0
    # half = 2^(n-1), compared without building it where n == 0 (no rounding then).
    twice = rem << 1
    full = np.ones_like(s) << n if s.dtype != object else np.array(
        [1 << int(k) for k in np.broadcast_to(n, s.shape).ravel()], dtype=object
    ).reshape(s.shape)
    above = (twice > full) & nz
    tie = (twice == full) & nz
    if hw_rounding == "half_up":
        up = above | tie
    elif hw_rounding == "half_even":
        up = above | (tie & ((q0 & 1) == 1))
    elif hw_rounding == "half_away":
        up = above | (tie & (s > 0))
    else:
        raise ValueError(f"unknown hw_rounding {hw_rounding!r}")
    return q0 + up.astype(s.dtype) if s.dtype != object else q0 + up.astype(int)


def integer_model(M, B, N, x, qmin: int, qmax: int, hw_rounding: str = "floor") -> np.ndarray:
    """Exact ``clip(R_hw((M*x + B) / 2^N), qmin, qmax)``, broadcasting M, B, N and x.

    Uses int64 when every intermediate provably fits (|M*x + B| and the shifted-out part
    below 2^62, N <= 62), Python integers otherwise; never overflows.
    """
    N_arr = np.asarray(N)
    if N_arr.size and (np.asarray(N_arr) < 0).any():
        raise ValueError("N must be >= 0")
    bound = _bound(M) * _bound(x) + _bound(B)
    if bound < _SAFE and _bound(N_arr) <= 61:
        M_, B_, x_ = (np.asarray(v, dtype=np.int64) for v in (M, B, x))
        N_ = N_arr.astype(np.int64)
        s = M_ * x_ + B_
        r = round_shift(s, N_, hw_rounding)
        return np.clip(r, qmin, qmax).astype(np.int64)
    M_, B_, x_, N_ = (np.asarray(v).astype(object) for v in (M, B, x, N_arr))
    M_, B_, x_, N_ = np.broadcast_arrays(M_, B_, x_, N_)
    s = M_ * x_ + B_
    r = round_shift(np.asarray(s, dtype=object), N_, hw_rounding)
    r = np.asarray(r, dtype=object)
    return np.array([min(max(int(v), qmin), qmax) for v in r.ravel()],
                    dtype=np.int64).reshape(r.shape)
