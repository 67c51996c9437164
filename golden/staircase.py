"""Exact level transitions of q(x) = clip(R(a*x + b), qmin, qmax).

``a`` and ``b`` are float64 values taken as the exact binary rationals they are. Because
R is monotone, q is a staircase in x; everything exact in golden/ (the reference, the
solver, verify) is computed from the transition points found here with Python integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

__all__ = ["Staircase", "tie_goes_up", "first_at_least", "staircase"]


def tie_goes_up(rounding: str, t: int) -> bool:
    """Whether ``R(t - 1/2) == t`` (for floor: whether ``R(t) >= t``, always)."""
    if rounding in ("floor", "half_up"):
        return True
    if rounding == "half_even":
        return t % 2 == 0
    if rounding == "half_away":
        return t >= 1
    raise ValueError(f"unknown rounding {rounding!r}")


def _ceil_div(n: int, d: int) -> int:
    return -((-n) // d)


def first_at_least(a: Fraction, b: Fraction, rounding: str, levels) -> list[int]:
    """For ``a > 0``: the smallest integer x with ``R(a*x + b) >= t``, for each t in levels."""
    if a <= 0:
        raise ValueError("first_at_least needs a > 0")
    d = a.denominator * b.denominator * 2
    ai = a.numerator * (d // a.denominator)
    bi = b.numerator * (d // b.denominator)
    half = 0 if rounding == "floor" else d // 2
    out = []
    for t in levels:
        c = t * d - half - bi  # a*x + b >= v0  <=>  ai*x >= c
        if tie_goes_up(rounding, t):
            out.append(_ceil_div(c, ai))
        else:
            out.append(c // ai + 1)
    return out


@dataclass(frozen=True)
class Staircase:
    """q(x) on [lo, hi] for one channel, with x already mirrored when a < 0.

    ``sign`` is +1 or -1 (x' = sign*x), ``lo``/``hi`` the mirrored range, ``levels`` the
    present output levels in increasing order, ``first``/``last`` their x' intervals.
    """

    sign: int
    lo: int
    hi: int
    levels: list[int]
    first: list[int]
    last: list[int]

    def lower_points(self, qmin: int) -> list[tuple[int, int]]:
        """Constraints ``out(x) >= t`` at the first x' of every present level above qmin."""
        return [(f, t) for t, f in zip(self.levels, self.first, strict=True) if t > qmin]

    def upper_points(self, qmax: int) -> list[tuple[int, int]]:
        """Constraints ``out(x) < t + 1`` at the last x' of every present level below qmax."""
        return [(e, t + 1) for t, e in zip(self.levels, self.last, strict=True) if t < qmax]


def _round_exact(v: Fraction, rounding: str) -> int:
    fl = v.numerator // v.denominator
    if rounding == "floor":
        return fl
    rem = v - fl
    if rem > Fraction(1, 2):
        return fl + 1
    if rem < Fraction(1, 2):
        return fl
    return fl + 1 if tie_goes_up(rounding, fl + 1) else fl


def staircase(a: float, b: float, rounding: str, qmin: int, qmax: int, lo: int, hi: int
              ) -> Staircase:
    """The exact staircase of one channel on [lo, hi]."""
    fa, fb = Fraction(a), Fraction(b)
    if fa == 0:
        t = min(max(_round_exact(fb, rounding), qmin), qmax)
        return Staircase(1, lo, hi, [t], [lo], [hi])
    sign = 1 if fa > 0 else -1
    fa = fa * sign
    mlo, mhi = (lo, hi) if sign > 0 else (-hi, -lo)

    def level_at(x: int) -> int:
        return min(max(_round_exact(fa * x + fb, rounding), qmin), qmax)

    t_lo, t_hi = level_at(mlo), level_at(mhi)
    if t_hi - t_lo > 2 * (mhi - mlo + 1):  # steep: most levels are empty, walk the inputs
        return _walk_inputs(fa, fb, rounding, qmin, qmax, sign, mlo, mhi)
    firsts = first_at_least(fa, fb, rounding, range(t_lo + 1, t_hi + 1))
    levels, first, last = [t_lo], [mlo], []
    for t, f in zip(range(t_lo + 1, t_hi + 1), firsts, strict=True):
        if f == first[-1]:  # the previous level is empty: no x maps to it
            levels.pop()
            first.pop()
        levels.append(t)
        first.append(f)
    last = [f - 1 for f in first[1:]] + [mhi]
    return Staircase(sign, mlo, mhi, levels, first, last)


def _walk_inputs(fa: Fraction, fb: Fraction, rounding: str, qmin: int, qmax: int, sign: int,
                 mlo: int, mhi: int) -> Staircase:
    """The staircase from every input's level (exact integers): O(inputs), not O(levels)."""
    d = fa.denominator * fb.denominator
    ai = fa.numerator * (d // fa.denominator)
    bi = fb.numerator * (d // fb.denominator)
    levels: list[int] = []
    first: list[int] = []
    for x in range(mlo, mhi + 1):
        num = ai * x + bi
        t = num // d
        if rounding != "floor":
            twice = 2 * (num - t * d)
            if twice > d or (twice == d and tie_goes_up(rounding, t + 1)):
                t += 1
        t = min(max(t, qmin), qmax)
        if not levels or t != levels[-1]:
            levels.append(t)
            first.append(x)
    last = [f - 1 for f in first[1:]] + [mhi]
    return Staircase(sign, mlo, mhi, levels, first, last)
