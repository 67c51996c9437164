"""The one exactness re-check that every command runs before it calls a unit exact.

``layer_exactness(solved)`` counts, per channel, the inputs x in [lo, hi] where the integer
model clip(R_hw((M*x + B) / 2^N)) differs from the exact reference clip(R(a*x + b)). It is
re-derived from a, b, the output spec, M, B, N and hw_rounding only: the file's ``exact``
and ``mismatches`` flags are never read. The count is exact, and costs O(levels) per
channel (not O(inputs)):

- the reference's level transitions first(t) are estimated in float64 and every estimate
  closer to an integer than its proven error bound is settled with Python integers
  (golden/staircase.first_at_least, the one definition);
- for each reference level t on its segment [s, e], the inputs where the model also gives t
  form one interval (the model is monotone), read off the integer bounds of
  golden/constraints (bound_lower / bound_upper, vectorised here and tested against them).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

from exactbn.formats import SolvedLayer

from .staircase import _round_exact, first_at_least

__all__ = ["LEVEL_LIMIT", "TooManyLevels", "Exactness", "reference_levels",
           "level_bounds", "channel_mismatches", "layer_exactness"]

LEVEL_LIMIT = 1 << 24  # output levels per channel that the re-check handles
_SAFE = 1 << 62
_UNBOUNDED = 1 << 62  # an unbounded end (every input |x| < 2^62)
_U = 2.0**-53


class TooManyLevels(ValueError):
    """The channel's staircase has more levels than :data:`LEVEL_LIMIT`."""


def _level_at(fa: Fraction, fb: Fraction, rounding: str, qmin: int, qmax: int, x: int) -> int:
    return min(max(_round_exact(fa * x + fb, rounding), qmin), qmax)


def reference_levels(a: float, b: float, rounding: str, qmin: int, qmax: int, lo: int, hi: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reference on [lo, hi] as segments ``(start, end, level)`` in increasing x (int64
    arrays; empty levels are left out). Exact."""
    fa, fb = Fraction(a), Fraction(b)
    if fa == 0:
        t = _level_at(fa, fb, rounding, qmin, qmax, lo)
        return np.array([lo]), np.array([hi]), np.array([t])
    sign = 1 if fa > 0 else -1
    fa_m = fa * sign
    mlo, mhi = (lo, hi) if sign > 0 else (-hi, -lo)
    t_lo = _level_at(fa_m, fb, rounding, qmin, qmax, mlo)
    t_hi = _level_at(fa_m, fb, rounding, qmin, qmax, mhi)
    k = t_hi - t_lo
    if k > mhi - mlo:  # steep: fewer inputs than levels, most levels empty
        return _per_input(fa, fb, a, b, rounding, qmin, qmax, lo, hi)
    if k > LEVEL_LIMIT:
        raise TooManyLevels(f"{k + 1} output levels, more than {LEVEL_LIMIT} to re-check")
    ts = np.arange(t_lo + 1, t_hi + 1, dtype=np.int64)
    off = 0.0 if rounding == "floor" else 0.5
    am, bf = abs(float(a)), float(b)
    with np.errstate(over="ignore", invalid="ignore"):
        est = (ts.astype(np.float64) - off - bf) / am
    # |est - exact| <= 3u|exact| (two roundings); settle anything that close to an integer.
    near = ~np.isfinite(est) | (np.abs(est - np.rint(est)) <= 4 * _U * np.abs(est) + 1e-300)
    near |= np.abs(est) >= 2.0**52
    with np.errstate(invalid="ignore"):
        first = np.ceil(np.where(near, 0.0, est)).astype(np.int64)
    idx = np.flatnonzero(near)
    if idx.size:
        exact = first_at_least(fa_m, fb, rounding, ts[idx].tolist())
        first[idx] = [min(max(f, mlo), mhi + 1) for f in exact]
    first = np.clip(first, mlo + 1, mhi)  # t in (t_lo, t_hi]: first(t) lies in (mlo, mhi]
    starts = np.concatenate([[mlo], first])
    levels = np.concatenate([[t_lo], ts])
    keep = np.append(starts[1:] != starts[:-1], True)  # drop empty levels
    starts, levels = starts[keep], levels[keep]
    ends = np.append(starts[1:] - 1, mhi)
    if sign < 0:
        return -ends[::-1], -starts[::-1], levels[::-1]
    return starts, ends, levels


def _per_input(fa: Fraction, fb: Fraction, a: float, b: float, rounding: str, qmin: int,
               qmax: int, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``reference_levels`` for a channel with fewer inputs than levels: every x evaluated.

    a*x + b is estimated in float64; every estimate closer to a rounding boundary (an integer
    for floor, a half otherwise) than its proven error bound is settled with Fractions."""
    if hi - lo + 1 > LEVEL_LIMIT:
        raise TooManyLevels(f"{hi - lo + 1} inputs with a distinct output each, more than "
                            f"{LEVEL_LIMIT} to re-check")
    xs = np.arange(lo, hi + 1, dtype=np.int64)
    xf = xs.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        ax = a * xf
        v = ax + b
    off = 0.0 if rounding == "floor" else 0.5
    w = v + off  # the output is floor(w) away from boundaries (w an integer: a tie)
    err = 4 * _U * (np.abs(ax) + abs(b) + np.abs(w)) + 1e-300  # |x| < 2^53: xf is exact
    near = ~np.isfinite(w) | (np.abs(w - np.rint(w)) <= err) | (np.abs(xf) >= 2.0**53)
    with np.errstate(invalid="ignore"):
        q = np.floor(np.where(near, 0.0, w)).astype(np.int64)
    for i in np.flatnonzero(near).tolist():
        q[i] = _round_exact(fa * int(xs[i]) + fb, rounding)
    q = np.clip(q, qmin, qmax)
    change = np.flatnonzero(q[1:] != q[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.append(change - 1, xs.size - 1)
    return xs[starts], xs[ends], q[starts]


def level_bounds(ts, n: int, hw_rounding: str, *, upper: bool) -> np.ndarray:
    """golden/constraints.bound_lower (or bound_upper) of every level in ``ts`` (vectorised)."""
    ts = np.asarray(ts)
    one = 1 if ts.dtype == object else np.int64(1)
    base = ts * (one << n) if ts.dtype == object else ts << n
    if hw_rounding == "floor" or n == 0:
        return base - 1 if upper else base
    if hw_rounding == "half_up":
        up = np.ones(ts.shape, dtype=bool)
    elif hw_rounding == "half_even":
        up = (ts % 2) == 0
    elif hw_rounding == "half_away":
        up = ts >= 1
    else:
        raise ValueError(f"unknown hw_rounding {hw_rounding!r}")
    half = one << (n - 1)
    step = np.where(up, 0, 1).astype(ts.dtype) if not upper else np.where(up, 1, 0).astype(
        ts.dtype)
    return base - half - step if upper else base - half + step


def _ceil_div(p, d):
    return -((-p) // d)


def channel_mismatches(a: float, b: float, rounding: str, qmin: int, qmax: int, lo: int,
                       hi: int, M: int, B: int, N: int, hw_rounding: str) -> int:
    """Exact number of x in [lo, hi] where the integer model differs from the reference."""
    s, e, t = reference_levels(a, b, rounding, qmin, qmax, lo, hi)
    M, B, N = int(M), int(B), int(N)
    span = max(abs(lo), abs(hi), 1)
    tmax = max(abs(qmin), abs(qmax)) + 2
    big = abs(M) * span + abs(B) + (tmax << N) + (1 << N) >= _SAFE or N > 61
    dt = object if big else np.int64
    ts = t.astype(dt)
    lowb = level_bounds(ts, N, hw_rounding, upper=False) - B
    upb = level_bounds(ts + 1, N, hw_rounding, upper=True) - B
    lo_open, hi_open = t <= qmin, t >= qmax  # clipped levels: no bound on that side
    if M == 0:  # a constant model: level t holds on its whole segment or nowhere
        ok = (lo_open | (lowb <= 0)) & (hi_open | (upb >= 0))
        return (hi - lo + 1) - int((e - s + 1)[ok].sum())
    if M > 0:
        x0 = np.where(lo_open, -_UNBOUNDED, _ceil_div(lowb, M))
        x1 = np.where(hi_open, _UNBOUNDED, upb // M)
    else:
        x0 = np.where(hi_open, -_UNBOUNDED, _ceil_div(upb, M))
        x1 = np.where(lo_open, _UNBOUNDED, lowb // M)
    width = np.minimum(x1, e) - np.maximum(x0, s) + 1
    agree = int(np.maximum(width, 0).sum())
    return (hi - lo + 1) - agree


@dataclass(frozen=True)
class Exactness:
    """Re-derived exactness of one solved layer: differing inputs per channel."""

    layer: str
    mismatches: tuple[int, ...]

    @property
    def exact(self) -> bool:
        return not any(self.mismatches)

    @property
    def inexact_channels(self) -> list[int]:
        return [c for c, n in enumerate(self.mismatches) if n]

    @property
    def differing_inputs(self) -> int:
        return sum(self.mismatches)

    def disagreements(self, solved: SolvedLayer) -> list[tuple[int, str]]:
        """Channels whose file flags (exact, mismatches) differ from the re-check."""
        out = []
        for c, n in enumerate(self.mismatches):
            if bool(solved.exact[c]) != (n == 0) or solved.mismatches[c] != n:
                out.append((c, f"the file says exact={str(solved.exact[c]).lower()}, "
                               f"mismatches={solved.mismatches[c]}; re-derived from a, b and the "
                               f"output spec: {n} input value(s) differ"))
        return out


@lru_cache(maxsize=32)
def _cached(key) -> tuple[int, ...]:
    a, b, rounding, qmin, qmax, ranges, M, B, N, hw = key
    return tuple(channel_mismatches(a[c], b[c], rounding, qmin, qmax, *ranges[c], M[c], B[c],
                                    N[c], hw) for c in range(len(M)))


def layer_exactness(solved: SolvedLayer) -> Exactness:
    """Exact mismatch counts of every channel of ``solved`` (see the module docstring).

    Raises :class:`TooManyLevels` for a channel beyond :data:`LEVEL_LIMIT` levels."""
    out = solved.output
    key = (tuple(float(v) for v in solved.a), tuple(float(v) for v in solved.b), out.rounding,
           out.qmin, out.qmax, tuple(solved.ranges()), tuple(int(v) for v in solved.M),
           tuple(int(v) for v in solved.B), tuple(int(v) for v in solved.N), solved.hw_rounding)
    return Exactness(solved.name, _cached(key))
