"""The exact solver: per channel the smallest N, then |M|, then |B|.

Everything here is integer/rational arithmetic on Python ints. For the folded form
(``hw_rounding="floor"``) the minimal N comes straight from the open slope interval
(alpha_lo, alpha_hi), which does not depend on N. For a hardware rounding stage the
constraints change with N (ties become admissible), so N is searched upward with the exact
integer M-interval at each N; whether any N works is decided exactly from the slope interval
(an empty interval, or a single non-dyadic point, or a tie that the rule sends the wrong way).
Every answer is checked against every constraint before it is returned.

Budget mode (widths of M and B, largest N) is decided exactly in golden/budget.py: an
in-budget exact triple whenever one exists, else the fewest mismatches with a certified
lower bound (``ChannelSolution.mismatches_lower_bound``; in a solved layer the list
``mismatches_lower_bound`` beside ``mismatches``, present when a channel is inexact).
In a layer, a channel whose unbudgeted exact answer fits the budget keeps it (it is the
in-budget minimum as well); only the others are searched.
Without a budget, a channel with no exact parameters gets the best of a candidate search
(its count is exact, its optimality is not claimed: the lower bound is 1).

Layers of 64 channels or more take numba paths with the same answers: golden/fast.py for the
folded form, golden/fast_rounding.py for a rounding stage (``EXACTBN_FAST_ROUNDING=0`` turns
the latter off, for comparisons); channels they do not settle come back here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np

from exactbn.formats import FormatError, Layer, SolvedLayer, twos_width, unsigned_width

from .affine import affine_from_bn
from .budget import (
    NODE_LIMIT_SUBSET,
    X_ENUM_LIMIT,
    exact_in_budget,
    fewest_mismatches,
    limits_for,
    transition_inputs,
)
from .constraints import (
    b_interval,
    bound_lower,
    bound_upper,
    m_interval,
    slope_interval,
)
from .segments import compare_segments, model_segments, reference_segments
from .staircase import Staircase, staircase

__all__ = [
    "Budget",
    "ChannelSolution",
    "NoExactSolution",
    "layer_affine",
    "channel_constraints",
    "solve_channel",
    "solve_layer",
    "solve_layers",
    "min_n_direct",
]

_N_SEARCH_LIMIT = 4096  # never reached: the slope interval proves termination much earlier


class NoExactSolution(Exception):
    """No integer (M, B, N) is exact for this channel at any N."""


@dataclass(frozen=True)
class Budget:
    """Hardware limits: widths of M and B in bits (two's complement), largest N."""

    w_m: int | None = None
    w_b: int | None = None
    n_max: int | None = None

    def m_range(self) -> tuple[int | None, int | None]:
        if self.w_m is None:
            return None, None
        return -(1 << (self.w_m - 1)), (1 << (self.w_m - 1)) - 1

    def b_range(self) -> tuple[int | None, int | None]:
        if self.w_b is None:
            return None, None
        return -(1 << (self.w_b - 1)), (1 << (self.w_b - 1)) - 1

    def fits(self, m: int, b: int, n: int) -> bool:
        return (
            (self.w_m is None or twos_width(m) <= self.w_m)
            and (self.w_b is None or twos_width(b) <= self.w_b)
            and (self.n_max is None or n <= self.n_max)
        )


@dataclass
class ChannelSolution:
    M: int
    B: int
    N: int
    exact: bool
    mismatches: int = 0
    max_abs_error: int = 0
    certificate: dict | None = None
    exact_possible: bool = True  # False: no exact (M, B, N) at any N for this R_hw
    n_min: int | None = None  # minimal exact N (None when none exists)
    # Certified: no allowed (M, B, N) has fewer mismatching inputs. Equal to ``mismatches``
    # when the count is proven minimal; 0 for exact channels.
    mismatches_lower_bound: int = 0


def layer_affine(layer: Layer) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel float64 (a, b) of a layer, in the one documented order."""
    c = layer.channels
    if layer.affine is not None:
        return (np.asarray(layer.affine["a"], dtype=np.float64),
                np.asarray(layer.affine["b"], dtype=np.float64))
    bn = layer.bn
    assert bn is not None
    with np.errstate(all="ignore"):
        a, b = affine_from_bn(
            bn["gamma"], bn["beta"], bn["mean"], bn["var"], bn["eps"],
            layer.input.scales(c), layer.input.zero_points(c),
            layer.output.scale, layer.output.zero_point,
        )
    for ch in range(c):  # finite inputs can still overflow float64 (e.g. scales 1e308, 5e-324)
        if not (np.isfinite(a[ch]) and np.isfinite(b[ch])):
            raise FormatError(f"a = {a[ch]}, b = {b[ch]} is not finite in float64 (check the "
                              "scales and BN values)", layer=layer.name, channel=ch, field="bn")
    return a, b


def channel_constraints(a: float, b: float, rounding: str, qmin: int, qmax: int, lo: int, hi: int
                        ) -> tuple[Staircase, list[tuple[int, int]], list[tuple[int, int]]]:
    """The staircase (mirrored so it rises) and its lower/upper constraint points (x', level)."""
    st = staircase(a, b, rounding, qmin, qmax, lo, hi)
    return st, st.lower_points(qmin), st.upper_points(qmax)


def _scaled(points, n: int, hw_rounding: str, upper: bool):
    f = bound_upper if upper else bound_lower
    return [(x, f(t, n, hw_rounding)) for x, t in points]


def min_n_direct(alpha_lo: Fraction | None, alpha_hi: Fraction | None) -> int:
    """Smallest N with a multiple of 2^-N strictly inside (alpha_lo, alpha_hi) (folded form)."""
    if alpha_lo is None or alpha_hi is None:
        return 0
    if alpha_lo >= alpha_hi:
        raise NoExactSolution("empty slope interval")
    n = 0
    while True:
        scale = 1 << n
        m = (alpha_lo.numerator * scale) // alpha_lo.denominator + 1
        if m * alpha_hi.denominator < alpha_hi.numerator * scale:
            return n
        n += 1


def _n_lower_closed(alpha_lo: Fraction | None, alpha_hi: Fraction | None) -> int:
    """Smallest N with a multiple of 2^-N in [alpha_lo, alpha_hi]: a lower bound on N.

    Every exact (M, B, N), with or without a rounding stage, has alpha_lo <= M/2^N <=
    alpha_hi: L_i - U_j >= (l_i - u_j)*2^N for every lower/upper pair, and the interval's
    ends are the extreme pair slopes. Used to skip the N that cannot work.
    """
    if alpha_lo is None or alpha_hi is None or alpha_lo > alpha_hi:
        return 0
    n = 0
    while True:
        scale = 1 << n
        m = -((-alpha_lo.numerator * scale) // alpha_lo.denominator)  # ceil(lo * 2^N)
        if m * alpha_hi.denominator <= alpha_hi.numerator * scale:
            return n
        n += 1


def _pick_m(m_lo: int | None, m_hi: int | None, limit: tuple[int | None, int | None] = (None, None)
            ) -> list[int]:
    """Admissible M in order of increasing |M| (then positive first), within limits."""
    lo, hi = m_lo, m_hi
    if limit[0] is not None:
        lo = limit[0] if lo is None else max(lo, limit[0])
    if limit[1] is not None:
        hi = limit[1] if hi is None else min(hi, limit[1])
    if lo is not None and hi is not None and lo > hi:
        return []
    if (lo is None or lo <= 0) and (hi is None or hi >= 0):
        return [0]
    if lo is not None and lo > 0:
        return [lo]
    assert hi is not None
    return [hi]


def _pick_b(b_lo: int | None, b_hi: int | None) -> int | None:
    """Admissible B closest to 0 (ties: the non-negative one)."""
    if b_lo is not None and b_hi is not None and b_lo > b_hi:
        return None
    if (b_lo is None or b_lo <= 0) and (b_hi is None or b_hi >= 0):
        return 0
    if b_lo is not None and b_lo > 0:
        return b_lo
    return b_hi


def _solve_at_n(lows, ups, n: int, hw_rounding: str):
    """Smallest-|M|, then smallest-|B| exact parameters at this N, or None."""
    sl, su = _scaled(lows, n, hw_rounding, False), _scaled(ups, n, hw_rounding, True)
    r = m_interval(sl, su)
    if r is None:
        return None
    m_lo, m_hi, witnesses = r
    for m in _pick_m(m_lo, m_hi):
        b_lo, b_hi, bind_lo, bind_hi = b_interval(sl, su, m)
        b = _pick_b(b_lo, b_hi)
        if b is not None:
            return m, b, witnesses, (bind_lo, bind_hi)
    return None


def _exact_possible(lows, ups, hw_rounding: str):
    """Decide exactly whether some N works; returns (possible, n_cap, alpha_lo, alpha_hi, pairs).

    n_cap bounds the N search when the interval is a single dyadic point (beyond it the
    constraints no longer change); None when the search is guaranteed to end by itself.
    """
    lo, hi, p_lo, p_hi, ok = slope_interval(lows, ups)
    if not ok:
        return False, None, lo, hi, (p_lo, p_hi)
    if lo is None or hi is None or lo < hi:
        return True, None, lo, hi, (p_lo, p_hi)
    if lo > hi or hw_rounding == "floor":
        return False, None, lo, hi, (p_lo, p_hi)
    den = lo.denominator
    if den & (den - 1):  # a single non-dyadic point: no M / 2^N equals it
        return False, None, lo, hi, (p_lo, p_hi)
    k = den.bit_length() - 1
    return True, max(k + 1, 1), lo, hi, (p_lo, p_hi)


def _frac(v: Fraction | None, sign: int, ) -> list[int] | None:
    if v is None:
        return None
    v = v * sign
    return [v.numerator, v.denominator]


def _certificate(st: Staircase, hw_rounding: str, n: int, alpha, pairs, binds) -> dict:
    """Binding constraint points in the original x, plus the slope interval's exact ends."""
    sign = st.sign
    pts: dict[tuple[int, str], int] = {}

    def add_lower(x: int):
        lvl = st.levels[st.first.index(x)]
        pts[(sign * x, "lower")] = lvl

    def add_upper(x: int):
        lvl = st.levels[st.last.index(x)]
        pts[(sign * x, "upper")] = lvl

    for pair in pairs:
        if pair is not None:
            (xi, _), (xj, _) = pair
            add_lower(xi)
            add_upper(xj)
    bind_lo, bind_hi = binds
    if bind_lo is not None:
        add_lower(bind_lo[0])
    if bind_hi is not None:
        add_upper(bind_hi[0])
    lo, hi = alpha
    if sign < 0:
        lo, hi = hi, lo
    return {
        "points": [[x, lvl, kind] for (x, kind), lvl in sorted(pts.items())],
        "alpha_lo": _frac(lo, sign),
        "alpha_hi": _frac(hi, sign),
        "hw_rounding": hw_rounding,
    }


def _mismatch(a, b, rounding, qmin, qmax, lo, hi, m, bb, n, hw_rounding) -> tuple[int, int]:
    ref = reference_segments(a, b, rounding, qmin, qmax, lo, hi)
    mod = model_segments(m, bb, n, hw_rounding, qmin, qmax, lo, hi)
    return compare_segments(ref, mod)


def _agreements(st: Staircase, m: int, bs: np.ndarray, n: int, hw_rounding: str,
                qmin: int, qmax: int) -> np.ndarray:
    """For m > 0 in the mirrored domain: inputs where the model equals the reference, per B.

    Exact: the model's level intervals are ceil((L_t - B)/m) boundaries, compared with the
    reference's [first_t, last_t] for every present level t. Uses Python ints when int64
    could overflow.
    """
    levels = st.levels
    span = max(abs(st.lo), abs(st.hi), 1)
    big = (abs(qmax) + abs(qmin) + 2) << (n + 1)
    safe = big + int(np.abs(bs).max()) + m * span < (1 << 62)
    dt = np.int64 if safe else object
    far_lo, far_hi = st.lo - 1, st.hi + 1
    b = bs.astype(dt)[:, None]

    def first_at(ts):  # first x' where the model reaches each level (clamped to the range)
        lbs = np.array([bound_lower(t, n, hw_rounding) for t in ts], dtype=dt)[None, :]
        f = -((b - lbs) // m)  # ceil((L - B) / m)
        f = np.where(np.array([t <= qmin for t in ts])[None, :], far_lo, f)
        f = np.where(np.array([t > qmax for t in ts])[None, :], far_hi, f)
        return np.clip(f, far_lo, far_hi)

    fm = first_at(levels)
    em = first_at([t + 1 for t in levels]) - 1
    f = np.array(st.first, dtype=dt)[None, :]
    e = np.array(st.last, dtype=dt)[None, :]
    ov = np.minimum(e, em) - np.maximum(f, fm) + 1
    return np.maximum(ov, 0).sum(axis=1).astype(np.int64)


def _agreements_nonpos(st: Staircase, m: int, bs: list[int], n: int, hw_rounding: str,
                       qmin: int, qmax: int) -> list[int]:
    """For m <= 0 in the mirrored domain: inputs where the model equals the reference, per B.

    Exact, Python ints: level t of the reference on [first_t, last_t] agrees where
    L_t <= m*x + B <= U_t, i.e. x in [ceil((B - U_t)/|m|), floor((B - L_t)/|m|)] (m < 0),
    or everywhere / nowhere (m == 0).
    """
    k = -m
    lbs = [bound_lower(t, n, hw_rounding) if t > qmin else None for t in st.levels]
    ubs = [bound_upper(t + 1, n, hw_rounding) if t < qmax else None for t in st.levels]
    mag = max([abs(int(v)) for v in bs] + [abs(v) for v in lbs + ubs if v is not None]
              + [abs(st.lo), abs(st.hi)])
    if mag < (1 << 60):  # int64 throughout: every value and difference below 2^61
        bv = np.array([int(v) for v in bs], dtype=np.int64)
        acc = np.zeros(bv.size, dtype=np.int64)
        for lb, ub, f, e in zip(lbs, ubs, st.first, st.last, strict=True):
            if k == 0:
                ok = np.ones(bv.size, dtype=bool)
                if lb is not None:
                    ok &= bv >= lb
                if ub is not None:
                    ok &= bv <= ub
                acc += np.where(ok, e - f + 1, 0)
                continue
            x_lo = np.full(bv.size, f, dtype=np.int64) if ub is None else np.maximum(
                f, -((ub - bv) // k))
            x_hi = np.full(bv.size, e, dtype=np.int64) if lb is None else np.minimum(
                e, (bv - lb) // k)
            acc += np.maximum(x_hi - x_lo + 1, 0)
        return [int(v) for v in acc]
    out = [0] * len(bs)
    for t, f, e in zip(st.levels, st.first, st.last, strict=True):
        lb = bound_lower(t, n, hw_rounding) if t > qmin else None
        ub = bound_upper(t + 1, n, hw_rounding) if t < qmax else None
        for i, bb in enumerate(bs):
            if k == 0:
                if (lb is None or bb >= lb) and (ub is None or bb <= ub):
                    out[i] += e - f + 1
                continue
            x_lo = f if ub is None else max(f, -((ub - bb) // k))
            x_hi = e if lb is None else min(e, (bb - lb) // k)
            if x_hi >= x_lo:
                out[i] += x_hi - x_lo + 1
    return out


def _best_inexact(a, b, rounding, qmin, qmax, lo, hi, st, lows, ups, hw_rounding, budget: Budget,
                  n_values) -> ChannelSolution:
    """Fewest mismatching inputs among candidates (exact counts; used without a budget).

    Candidates: every N in ``n_values``; M = the rounded slope and its neighbours, and the
    ends of the exact M interval, clamped to the width; for each M, both ends of every
    B range that puts one level's transition exactly where the reference has it, clamped
    to the width. The count is exact for every candidate; the search is not exhaustive
    over all in-budget (M, B, N).
    """
    m_lim = budget.m_range()
    if st.sign < 0 and m_lim[0] is not None:  # limits of the mirrored M
        m_lim = (-m_lim[1], -m_lim[0])
    b_lim = budget.b_range()
    fa = Fraction(a) * st.sign
    total = st.hi - st.lo + 1

    def clamp(v: int, lim) -> int:
        if lim[0] is not None:
            v = max(v, lim[0])
        if lim[1] is not None:
            v = min(v, lim[1])
        return v

    fast = None
    if _fast_inexact_on():
        from .fast_inexact import best_inexact_fast  # the same search in numba
        fast = best_inexact_fast(st, a, b, rounding, qmin, qmax, hw_rounding, n_values,
                                 m_lim, b_lim)
    if fast is not None:
        mm, bb, n = fast[0] * st.sign, fast[1], fast[2]
    else:
        best: tuple[int, int, int, int, int, int] | None = None  # (count, n, |M|, |B|, M, B)
        for n in n_values:
            sl, su = _scaled(lows, n, hw_rounding, False), _scaled(ups, n, hw_rounding, True)
            base = round(fa * (1 << n))
            ms = {clamp(base + d, m_lim) for d in (-2, -1, 0, 1, 2)}
            r = m_interval(sl, su)
            if r is not None:
                for v in r[:2]:
                    if v is not None:
                        ms.add(clamp(v, m_lim))
            for m in sorted(ms):
                bs: set[int] = set()
                for x, L in sl:
                    bs.update((L - m * x, L - m * x + max(m, 1) - 1))
                for x, U in su:
                    bs.update((U - m * x, U - m * x - max(m, 1) + 1))
                bs.add(clamp(round((Fraction(b) + (0 if rounding == "floor" else Fraction(1, 2)))
                                   * (1 << n)), b_lim))
                cands = sorted({clamp(v, b_lim) for v in bs})
                if m > 0:
                    agree = _agreements(st, m, np.array(cands, dtype=object), n, hw_rounding,
                                        qmin, qmax)
                    counts = [(int(total - g), bb) for g, bb in zip(agree, cands, strict=True)]
                else:  # flat or reversed model (a near 0 or small N)
                    agree = _agreements_nonpos(st, m, cands, n, hw_rounding, qmin, qmax)
                    counts = [(int(total - g), bb) for g, bb in zip(agree, cands, strict=True)]
                for cnt, bb in counts:
                    key = (cnt, n, abs(m), abs(bb), m * st.sign, bb)
                    if best is None or key < best:
                        best = key
        assert best is not None
        _, n, _, _, mm, bb = best
    cnt, worst = _mismatch(a, b, rounding, qmin, qmax, lo, hi, mm, bb, n, hw_rounding)
    assert fast is None or cnt == fast[3], "segment count disagrees with the numba search"
    return ChannelSolution(mm, bb, n, exact=cnt == 0, mismatches=cnt, max_abs_error=worst)


def solve_channel(a: float, b: float, rounding: str, qmin: int, qmax: int, lo: int, hi: int,
                  hw_rounding: str = "floor", n_fixed: int | None = None,
                  budget: Budget | None = None, approximate: bool = True) -> ChannelSolution:
    """Exact minimal parameters of one channel, or the in-budget best with its exact error.

    ``n_fixed`` forces one shift (shared-shift layers). ``budget`` limits widths and N.
    With ``approximate=False`` a channel without exact parameters comes back with
    ``exact=False`` and M = B = N = 0 instead of the (slower) best approximation.
    """
    st, lows, ups = channel_constraints(a, b, rounding, qmin, qmax, lo, hi)
    possible, n_cap, alpha_lo, alpha_hi, pairs = _exact_possible(lows, ups, hw_rounding)

    def finish(m, bb, n, witnesses, binds) -> ChannelSolution:
        cert = _certificate(st, hw_rounding, n, (alpha_lo, alpha_hi), pairs, binds)
        m_signed = m * st.sign
        _assert_exact(st, lows, ups, m, bb, n, hw_rounding)
        return ChannelSolution(m_signed, bb, n, True, 0, 0, cert, True, n_min)

    n_min = None
    if possible:
        if hw_rounding == "floor":
            n_min = min_n_direct(alpha_lo, alpha_hi)
        else:
            n = _n_lower_closed(alpha_lo, alpha_hi)  # no N below it can work
            while n_cap is None or n <= n_cap:
                if _solve_at_n(lows, ups, n, hw_rounding) is not None:
                    n_min = n
                    break
                n += 1
                assert n < _N_SEARCH_LIMIT, "slope interval promised termination"
            if n_min is None:
                possible = False
    if budget is not None and budget != Budget():
        return _solve_budget(a, b, rounding, qmin, qmax, lo, hi, st, lows, ups, hw_rounding,
                             n_fixed, budget, approximate, possible, n_min,
                             (alpha_lo, alpha_hi), pairs)
    budget = Budget()
    if possible and n_min is not None:
        n = n_min if n_fixed is None else n_fixed
        sl, su = _scaled(lows, n, hw_rounding, False), _scaled(ups, n, hw_rounding, True)
        r = m_interval(sl, su)
        if r is not None:
            m_lo, m_hi, witnesses = r
            for m in _pick_m(m_lo, m_hi):
                b_lo, b_hi, bind_lo, bind_hi = b_interval(sl, su, m)
                bb = _pick_b(b_lo, b_hi)
                if bb is not None:
                    return finish(m, bb, n, witnesses, (bind_lo, bind_hi))
    # No exact parameters (at this N, or at all): the best approximation found.
    if not approximate:
        return ChannelSolution(0, 0, 0, False, -1, -1, None, possible, n_min)
    if n_fixed is not None:
        n_values: list[int] = [n_fixed]
    else:
        top = max((n_min or 0) + 2, _default_inexact_n(a))
        n_values = list(range(0, top + 1))
    sol = _best_inexact(a, b, rounding, qmin, qmax, lo, hi, st, lows, ups, hw_rounding, budget,
                        n_values)
    sol.exact_possible = possible
    sol.n_min = n_min
    if sol.exact:  # the candidate search hit an exact point after all: certify it
        sol.certificate = _certificate(st, hw_rounding, sol.N, (alpha_lo, alpha_hi), pairs,
                                       (None, None))
    else:  # no exact parameters at any N (or at the forced N): at least one input differs
        sol.mismatches_lower_bound = 1 if (not possible or n_fixed is not None) else 0
    return sol


def _solve_budget(a, b, rounding, qmin, qmax, lo, hi, st, lows, ups, hw_rounding, n_fixed,
                  budget: Budget, approximate, possible, n_min, alpha, pairs) -> ChannelSolution:
    """Budget mode, decided exactly (golden/budget.py): in-budget exact, else fewest wrong."""
    lim = limits_for(st, budget, n_min, _default_inexact_n(a))
    if n_fixed is not None:
        lim = replace(lim, n_values=[n_fixed], complete=True)
    if possible and n_min is not None:
        r = exact_in_budget(st, hw_rounding, qmin, qmax, lim, n_start=n_min)
        if r is not None:
            m, bb, n, pl, pu = r
            _assert_exact_points(st, pl, pu, m, bb)
            sl, su = _scaled(lows, n, hw_rounding, False), _scaled(ups, n, hw_rounding, True)
            _, _, bind_lo, bind_hi = b_interval(sl, su, m)
            cert = _certificate(st, hw_rounding, n, alpha, pairs, (bind_lo, bind_hi))
            assert budget.fits(m * st.sign, bb, n)
            return ChannelSolution(m * st.sign, bb, n, True, 0, 0, cert, True, n_min)
    if not approximate:
        return ChannelSolution(0, 0, 0, False, -1, -1, None, possible, n_min)
    best = None
    if st.hi - st.lo + 1 > X_ENUM_LIMIT:  # the whole range when the numba search takes it
        best = fewest_mismatches(st, hw_rounding, qmin, qmax, lim, Fraction(a) * st.sign,
                                 fast_only=True)
    if best is not None or st.hi - st.lo + 1 <= X_ENUM_LIMIT:
        if best is None:
            best = fewest_mismatches(st, hw_rounding, qmin, qmax, lim, Fraction(a) * st.sign)
        mm, bb, n = best.M * st.sign, best.B, best.N
        cnt, worst = _mismatch(a, b, rounding, qmin, qmax, lo, hi, mm, bb, n, hw_rounding)
        assert cnt == best.mismatches, "segment count disagrees with the search"
        lower = best.lower_bound
        if cnt > lower:  # node limit reached: the candidate search may still do better
            sol = _best_inexact(a, b, rounding, qmin, qmax, lo, hi, st, lows, ups, hw_rounding,
                                budget, lim.n_values)
            if (sol.mismatches, sol.N, abs(sol.M), abs(sol.B)) < (cnt, n, abs(mm), abs(bb)):
                mm, bb, n, cnt, worst = sol.M, sol.B, sol.N, sol.mismatches, sol.max_abs_error
    else:  # too many inputs to enumerate: search on the inputs next to the transitions
        best = fewest_mismatches(st, hw_rounding, qmin, qmax, lim, Fraction(a) * st.sign,
                                 node_limit=NODE_LIMIT_SUBSET, xs=transition_inputs(st))
        mm, bb, n = best.M * st.sign, best.B, best.N
        cnt, worst = _mismatch(a, b, rounding, qmin, qmax, lo, hi, mm, bb, n, hw_rounding)
        if cnt > best.lower_bound:  # not proven optimal: the candidate search may do better
            sol = _best_inexact(a, b, rounding, qmin, qmax, lo, hi, st, lows, ups, hw_rounding,
                                budget, lim.n_values)
            if (sol.mismatches, sol.N, abs(sol.M), abs(sol.B)) < (cnt, n, abs(mm), abs(bb)):
                mm, bb, n, cnt, worst = sol.M, sol.B, sol.N, sol.mismatches, sol.max_abs_error
        lower = min(best.lower_bound, cnt)  # certified for the whole range too
    assert budget.fits(mm, bb, n)
    if not lim.complete:
        lower = 0
    sol = ChannelSolution(mm, bb, n, exact=cnt == 0, mismatches=cnt, max_abs_error=worst,
                          exact_possible=possible, n_min=n_min, mismatches_lower_bound=lower)
    if sol.exact:
        sol.certificate = _certificate(st, hw_rounding, n, alpha, pairs, (None, None))
    return sol


def _assert_exact_points(st: Staircase, lows, ups, m: int, bb: int) -> None:
    """Re-check a budget answer against every scaled point (mirrored M)."""
    if len(st.levels) > 1 and m <= 0:
        raise AssertionError("a rising staircase needs M > 0")
    for x, L in lows:
        if m * x + bb < L:
            raise AssertionError(f"lower constraint violated at x'={x}")
    for x, U in ups:
        if m * x + bb > U:
            raise AssertionError(f"upper constraint violated at x'={x}")


def _default_inexact_n(a: float) -> int:
    """Search depth for channels with no exact solution: enough bits to resolve a well."""
    fa = abs(Fraction(a))
    if fa == 0:
        return 8
    return max(8, min(62, 24 - (fa.numerator.bit_length() - fa.denominator.bit_length())))


def _assert_exact(st: Staircase, lows, ups, m: int, bb: int, n: int, hw_rounding: str) -> None:
    """Re-check an answer against every constraint (the solver never returns unchecked)."""
    if len(st.levels) > 1 and m <= 0:
        raise AssertionError("a rising staircase needs M > 0")
    for x, t in lows:
        if m * x + bb < bound_lower(t, n, hw_rounding):
            raise AssertionError(f"lower constraint violated at x'={x}")
    for x, t in ups:
        if m * x + bb > bound_upper(t, n, hw_rounding):
            raise AssertionError(f"upper constraint violated at x'={x}")


@dataclass
class LayerResult:
    solved: SolvedLayer
    solutions: list[ChannelSolution] = field(default_factory=list)


def solve_layer(layer: Layer, shift_mode: str = "per-channel", hw_rounding: str = "auto",
                budget: Budget | None = None) -> SolvedLayer:
    """Solve every channel of a layer; see the module docstring for the guarantees.

    ``hw_rounding="auto"`` keeps the folded form (floor) when every channel is exact with
    it, and otherwise gives the whole layer the layer's own rounding in hardware.
    """
    if shift_mode not in ("per-channel", "shared"):
        raise ValueError(f"shift_mode must be 'per-channel' or 'shared', got {shift_mode!r}")
    if budget is None and layer.channels >= _fast_min_channels():  # fast-path hook (fast.py)
        from .fast import solve_layer_fast  # a whole exact layer from arrays: same answers
        fast = solve_layer_fast(layer, shift_mode, hw_rounding, budget)
        if fast is not None:
            return fast
    a, b = layer_affine(layer)
    c = layer.channels
    ranges = layer.input.ranges(c)
    out = layer.output
    if hw_rounding == "auto":
        chosen = "floor"
        probe = _solve_all(a, b, out, ranges, "floor", "per-channel", budget, approximate=False)
        kept = probe
        if not all(s.exact for s in probe) and out.rounding != "floor":
            alt = _solve_all(a, b, out, ranges, out.rounding, "per-channel", budget,
                             approximate=False)
            if sum(s.exact for s in alt) > sum(s.exact for s in probe):
                chosen, kept = out.rounding, alt
        if shift_mode == "per-channel":  # exact probe answers are final: solve only the rest
            sols = _complete(kept, a, b, out, ranges, chosen, budget)
        else:
            sols = _solve_all(a, b, out, ranges, chosen, shift_mode, budget)
    else:
        chosen = hw_rounding
        sols = _solve_all(a, b, out, ranges, hw_rounding, shift_mode, budget)
    M = [s.M for s in sols]
    B = [s.B for s in sols]
    N = [s.N for s in sols]
    widths = SolvedLayer.widths_for(M, B, N, shift_mode)
    extra: dict[str, Any] = {
        "max_abs_error": [s.max_abs_error for s in sols],
        "n_min": [s.n_min for s in sols],
        "exact_possible": [s.exact_possible for s in sols],
    }
    if budget is not None:
        extra["budget"] = {"M": budget.w_m, "B": budget.w_b, "N": budget.n_max}
    if not all(s.exact for s in sols):
        extra["mismatches_lower_bound"] = [s.mismatches_lower_bound for s in sols]
    return SolvedLayer(
        name=layer.name, input=layer.input, output=layer.output, hw_rounding=chosen,
        shift_mode=shift_mode, a=[float(v) for v in a], b=[float(v) for v in b],
        M=M, B=B, N=N, widths=widths, exact=[s.exact for s in sols],
        mismatches=[s.mismatches for s in sols], certificate=[s.certificate for s in sols],
        extra=extra,
    )


def _solve_all(a, b, out, ranges, hw_rounding, shift_mode, budget, approximate=True
               ) -> list[ChannelSolution]:
    # --- fast-path hook (golden/fast.py, performance engineer): same results, numba ---------
    if hw_rounding == "floor" and budget is None and len(a) >= _fast_min_channels():
        from .fast import solve_all_fast
        return solve_all_fast(a, b, out, ranges, shift_mode, approximate)
    # --- end of hook -------------------------------------------------------------------------
    if (hw_rounding != "floor" and budget is None and len(a) >= _fast_min_channels()
            and _fast_rounding_on()):
        from .fast_rounding import solve_all_rounding  # same results, numba
        return solve_all_rounding(a, b, out, ranges, hw_rounding, shift_mode, approximate)
    args = [(float(a[i]), float(b[i]), out.rounding, out.qmin, out.qmax, *ranges[i])
            for i in range(len(a))]
    if (budget is not None and budget != Budget() and shift_mode == "per-channel"
            and _budget_shortcut_on() and (hw_rounding == "floor" or _fast_rounding_on())):
        # An exact minimal (M, B, N) that fits the budget is also the in-budget minimum
        # (smallest N, then |M|, then |B| over a subset containing it), with the same
        # certificate: take it from the unbudgeted (fast) solve; only the rest search.
        free = _solve_all(a, b, out, ranges, hw_rounding, shift_mode, None, approximate=False)
        return [s if s.exact and budget.fits(s.M, s.B, s.N) else
                solve_channel(*arg, hw_rounding=hw_rounding, budget=budget,
                              approximate=approximate)
                for s, arg in zip(free, args, strict=True)]
    # Shared shift: the first pass only needs the exact channels' N (an inexact channel's N
    # matters only when no channel is exact), so it skips the approximation search.
    first_approx = approximate and shift_mode != "shared"
    sols = [solve_channel(*arg, hw_rounding=hw_rounding, budget=budget,
                          approximate=first_approx) for arg in args]
    if shift_mode == "shared":
        if not any(s.exact for s in sols):
            sols = [solve_channel(*arg, hw_rounding=hw_rounding, budget=budget) for arg in args]
        n_shared = max((s.N for s in sols if s.exact), default=max(s.N for s in sols))
        if budget is not None and budget.n_max is not None:
            n_shared = min(n_shared, budget.n_max)
        sols = [solve_channel(*arg, hw_rounding=hw_rounding, n_fixed=n_shared, budget=budget)
                for arg in args]
    return sols


def _complete(sols, a, b, out, ranges, hw_rounding, budget) -> list[ChannelSolution]:
    """Per-channel answers from a probe (approximate=False): re-solve only inexact channels.

    An exact answer does not depend on ``approximate``, so this equals a fresh solve.
    """
    return [s if s.exact else solve_channel(float(a[i]), float(b[i]), out.rounding, out.qmin,
                                            out.qmax, *ranges[i], hw_rounding=hw_rounding,
                                            budget=budget)
            for i, s in enumerate(sols)]


def _budget_shortcut_on() -> bool:  # EXACTBN_FAST_BUDGET=0: every budget channel searched
    import os
    return os.environ.get("EXACTBN_FAST_BUDGET", "1") != "0"


def _fast_inexact_on() -> bool:  # EXACTBN_FAST_INEXACT=0: the candidate search in Python
    import os
    return os.environ.get("EXACTBN_FAST_INEXACT", "1") != "0"


def _fast_rounding_on() -> bool:  # EXACTBN_FAST_ROUNDING=0: the rounding stage in Python
    import os
    return os.environ.get("EXACTBN_FAST_ROUNDING", "1") != "0"


def _fast_min_channels() -> int:  # fast-path hook: layers this wide use golden/fast.py
    import os
    return int(os.environ.get("EXACTBN_FAST_MIN_CHANNELS", "64"))


def solve_layers(layers: list[Layer], **kwargs) -> list[SolvedLayer]:
    return [solve_layer(layer, **kwargs) for layer in layers]


def unsigned_bits(v: int) -> int:  # re-exported convenience for reports
    return unsigned_width(v)
