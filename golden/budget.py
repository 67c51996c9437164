"""Budget mode, decided exactly: an in-budget exact (M, B, N), else the fewest mismatches.

A budget limits M and B to two's-complement widths and N to ``n_max``. Everything here runs
in the mirrored domain of the staircase (x' = sign*x, levels rising); the M limits are
mirrored with it, so for a < 0 the asymmetric range of M is respected.

Exact triple (``exact_in_budget``). At one N, with the scaled constraint points (x, L) and
(x, U), an integer pair (M, B) is exact iff max(L - M*x) <= B <= min(U - M*x) (over every
point; only hull vertices bind) and B lies in its width. With two or more levels M >= 1 is
forced; with one level both ends of the range carry both constraints, so any sign of M is
covered. Every such condition is linear in M, so the exact M form one integer interval,
found from hull-vertex pairs and the B limits with integer division. The smallest N (then
|M|, then |B|) is returned; the N searched are 0..n_max, or, without n_max but with both
widths, 0..N_cap where 2^(N_cap-1) exceeds every reachable |M*x + B|: from there on the set
of representable maps no longer changes with N (floor gives the sign of M*x + B, a rounding
stage gives 0), so the search is complete.

Fewest mismatches (``fewest_mismatches``). For given (N, M), input x agrees with the
reference iff B lies in one integer interval I_x (the model level equals the reference
level); the best B is the deepest point of those intervals (an exact sweep). Over a range of
M, [M1, M2], the union of each I_x over the range is again an interval, so the same sweep
gives an upper bound on the agreement of every (M, B) in the range; a best-first
branch-and-bound over (N, [M1, M2]) with that bound visits single M only where they could
beat the best found. The bound is taken both with B's limits and, centred on the range's
middle, without them (whichever is tighter). When the node limit is reached the count is
the best found and ``lower_bound`` is certified: no in-budget triple has fewer mismatches.
The Python search enumerates inputs, so it is for ranges up to ``X_ENUM_LIMIT`` inputs.
Beyond, it runs on the inputs next to the level transitions only: its count there is a
certified lower bound for the whole range (a subset never has more mismatches), and its
best triple, re-counted on the whole range, competes with the caller's candidate search.

Both searches run in numba (golden/fast_budget.py) whenever every value fits int64 (the
mismatch search: and M has a width); ``EXACTBN_FAST_BUDGET=0`` keeps them in Python. The
numba mismatch search computes the same bounds, leaves, answers and node counts without
enumerating inputs: per level (a run of inputs), the inputs no M of the node maps right for
a given B are a prefix (M*x + B below the level) and a suffix (above it) whose sizes are
ceilings of (offset - B) / M, and the best B is found by one sweep over the B where a count
steps (offset - k*M, k up to the incumbent's mismatches) in sorted order with a running
total, inside the B range where the prefix (suffix) counts alone stay within the incumbent.
It therefore takes wide ranges whole (``fast_only``): the count and its lower bound are then
proven on every input.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .constraints import bound_lower, bound_upper, lower_hull, upper_hull
from .staircase import Staircase

__all__ = ["BudgetLimits", "limits_for", "exact_in_budget", "fewest_mismatches", "n_cap",
           "BestInexact", "X_ENUM_LIMIT", "NODE_LIMIT", "NODE_LIMIT_SUBSET",
           "transition_inputs"]

X_ENUM_LIMIT = 1 << 12  # inputs per channel the mismatch search enumerates
NODE_LIMIT = 4000  # branch-and-bound nodes per channel before a lower bound is reported
NODE_LIMIT_SUBSET = 400  # the same, on the transition inputs of a wider range

Point = tuple[int, int]


@dataclass(frozen=True)
class BudgetLimits:
    """Mirrored, inclusive limits (None = unbounded) of M, B and the N values to search."""

    m_lo: int | None
    m_hi: int | None
    b_lo: int | None
    b_hi: int | None
    n_values: list[int]
    complete: bool  # True: the N values cover every N that can matter


def _cdiv(n: int, d: int) -> int:
    return -((-n) // d)


def n_cap(w_m: int, w_b: int, span: int) -> int:
    """N from which the representable maps repeat: 2^(N-1) > 2^(w_m-1)*span + 2^(w_b-1)."""
    s = (1 << (w_m - 1)) * span + (1 << (w_b - 1))
    return s.bit_length() + 1


def limits_for(st: Staircase, budget, n_min: int | None, n_default: int) -> BudgetLimits:
    """The mirrored limits of a Budget (see the module docstring for the N range)."""
    m_lo, m_hi = budget.m_range()
    if st.sign < 0 and m_lo is not None:
        m_lo, m_hi = -m_hi, -m_lo
    b_lo, b_hi = budget.b_range()
    span = max(abs(st.lo), abs(st.hi), 1)
    if budget.n_max is not None:
        top, complete = budget.n_max, True
    elif budget.w_m is not None and budget.w_b is not None:
        top, complete = n_cap(budget.w_m, budget.w_b, span), True
    else:
        top, complete = max(n_default, (n_min or 0) + 2), False
    return BudgetLimits(m_lo, m_hi, b_lo, b_hi, list(range(0, top + 1)), complete)


def _points(st: Staircase, n: int, hw: str, qmin: int, qmax: int
            ) -> tuple[list[Point], list[Point]]:
    """Scaled (x, L) and (x, U) points; one level: at both ends of the range."""
    lows = [(f, bound_lower(t, n, hw)) for f, t in zip(st.first, st.levels, strict=True)
            if t > qmin]
    ups = [(e, bound_upper(t + 1, n, hw)) for e, t in zip(st.last, st.levels, strict=True)
           if t < qmax]
    if len(st.levels) == 1:
        lows = sorted({(x, L) for _, L in lows for x in (st.lo, st.hi)})
        ups = sorted({(x, U) for _, U in ups for x in (st.lo, st.hi)})
    return lows, ups


def _tighten(lo: int | None, hi: int | None, *, at_least: int | None = None,
             at_most: int | None = None) -> tuple[int | None, int | None]:
    if at_least is not None and (lo is None or at_least > lo):
        lo = at_least
    if at_most is not None and (hi is None or at_most < hi):
        hi = at_most
    return lo, hi


def _m_range_at(hl: list[Point], hu: list[Point], lim: BudgetLimits, multi: bool):
    """Integer M (mirrored) with a B inside the limits, or None: (m_lo, m_hi) (None = open)."""
    lo, hi = lim.m_lo, lim.m_hi
    if multi:
        lo, hi = _tighten(lo, hi, at_least=1)
    if lim.b_lo is not None and lim.b_hi is not None and lim.b_lo > lim.b_hi:
        return None
    for xi, li in hl:
        for xj, uj in hu:
            dx = xi - xj
            if dx > 0:
                lo, hi = _tighten(lo, hi, at_least=_cdiv(li - uj, dx))
            elif dx < 0:
                lo, hi = _tighten(lo, hi, at_most=(uj - li) // (-dx))
            elif li > uj:
                return None
    if lim.b_hi is not None:  # L - M*x <= b_hi
        for x, L in hl:
            c = L - lim.b_hi
            if x > 0:
                lo, hi = _tighten(lo, hi, at_least=_cdiv(c, x))
            elif x < 0:
                lo, hi = _tighten(lo, hi, at_most=c // x)
            elif c > 0:
                return None
    if lim.b_lo is not None:  # U - M*x >= b_lo
        for x, U in hu:
            c = U - lim.b_lo
            if x > 0:
                lo, hi = _tighten(lo, hi, at_most=c // x)
            elif x < 0:
                lo, hi = _tighten(lo, hi, at_least=_cdiv(c, x))
            elif c < 0:
                return None
    if lo is not None and hi is not None and lo > hi:
        return None
    return lo, hi


def _closest_to_zero(lo: int | None, hi: int | None) -> int:
    """The integer of [lo, hi] closest to 0 (ties: the non-negative one); non-empty."""
    if (lo is None or lo <= 0) and (hi is None or hi >= 0):
        return 0
    if lo is not None and lo > 0:
        return lo
    assert hi is not None
    return hi


def exact_in_budget(st: Staircase, hw: str, qmin: int, qmax: int, lim: BudgetLimits,
                    n_start: int = 0):
    """Smallest N, then |M|, then |B| exact within the limits: (M', B, N, lows, ups) or None.

    M' is mirrored; ``lows``/``ups`` are the scaled points at that N, for re-checking.
    """
    if _fast_budget_on():
        from .fast_budget import exact_in_budget_fast  # the same decision in numba
        r = exact_in_budget_fast(st, hw, qmin, qmax, lim, n_start)
        if r is False:
            return None
        if r is not None:
            return (*r, *_points(st, r[2], hw, qmin, qmax))
    multi = len(st.levels) > 1
    for n in lim.n_values:
        if n < n_start:
            continue
        lows, ups = _points(st, n, hw, qmin, qmax)
        hl, hu = upper_hull(lows), lower_hull(ups)
        r = _m_range_at(hl, hu, lim, multi)
        if r is None:
            continue
        m = _closest_to_zero(*r)
        b_lo = max((L - m * x for x, L in hl), default=None)
        b_hi = min((U - m * x for x, U in hu), default=None)
        b_lo, b_hi = _tighten(b_lo, b_hi, at_least=lim.b_lo, at_most=lim.b_hi)
        assert b_lo is None or b_hi is None or b_lo <= b_hi, "M interval promised a B"
        return m, _closest_to_zero(b_lo, b_hi), n, lows, ups
    return None


# ---------------------------------------------------------------------------------------------
# fewest mismatches
# ---------------------------------------------------------------------------------------------


@dataclass
class BestInexact:
    M: int  # mirrored
    B: int
    N: int
    mismatches: int
    lower_bound: int  # certified: no in-budget (M, B, N) has fewer mismatches
    nodes: int


class _Channel:
    """Per-input reference levels (all inputs, or a subset) and the scaled level bounds."""

    def __init__(self, st: Staircase, hw: str, qmin: int, qmax: int, lim: BudgetLimits,
                 xs: np.ndarray | None = None):
        counts = [e - f + 1 for f, e in zip(st.first, st.last, strict=True)]
        if xs is None:
            self.x = np.arange(st.lo, st.hi + 1, dtype=np.int64)
            self.level_idx = np.repeat(np.arange(len(st.levels)), counts)
        else:
            self.x = np.asarray(xs, dtype=np.int64)
            self.level_idx = np.searchsorted(np.asarray(st.first, dtype=np.int64), self.x,
                                             side="right") - 1
        self.total = int(self.x.size)
        self.st, self.hw, self.qmin, self.qmax, self.lim = st, hw, qmin, qmax, lim
        self.centre = (st.lo + st.hi) // 2
        self.span = max(abs(st.lo), abs(st.hi), 1)
        self._cache: dict[int, tuple[list, list, int]] = {}

    def bounds(self, n: int) -> tuple[list, list, int]:
        """Per level: smallest / largest M*x + B giving it (None = unbounded), and max |.|."""
        if n not in self._cache:
            lo_t = [bound_lower(t, n, self.hw) if t > self.qmin else None for t in self.st.levels]
            hi_t = [bound_upper(t + 1, n, self.hw) if t < self.qmax else None
                    for t in self.st.levels]
            big = max((abs(v) for v in lo_t + hi_t if v is not None), default=0)
            self._cache[n] = (lo_t, hi_t, big)
        return self._cache[n]


@dataclass(frozen=True)
class _Head:
    """What the numba search needs of a channel (no per-input arrays)."""

    st: Staircase
    hw: str
    qmin: int
    qmax: int
    centre: int
    span: int
    total: int


_SAFE = 1 << 61


def _interval_arrays(ch: _Channel, n: int, m1: int, m2: int, centred: bool):
    """Per input: [start, end] of the B values (union over M in [m1, m2]) that agree.

    int64 when every value provably fits, Python ints otherwise; unbounded ends become
    sentinels beyond every reachable value (clipped to B's limits unless ``centred``).
    """
    lo_t, hi_t, big = ch.bounds(n)
    x = ch.x - ch.centre if centred else ch.x
    mm = max(abs(m1), abs(m2))
    reach = big + mm * (2 * ch.span + 1) + 2
    lim = ch.lim
    if not centred:
        reach = max(reach, abs(lim.b_lo or 0), abs(lim.b_hi or 0))
    dt = np.int64 if reach < _SAFE // 4 else object
    sentinel = _SAFE // 2 if dt is np.int64 else 1 << (reach.bit_length() + 2)
    lvl_lo = np.array([-sentinel if v is None else v for v in lo_t], dtype=dt)
    lvl_hi = np.array([sentinel if v is None else v for v in hi_t], dtype=dt)
    open_lo = np.array([v is None for v in lo_t])[ch.level_idx]
    open_hi = np.array([v is None for v in hi_t])[ch.level_idx]
    xd = x.astype(dt)
    pos = x >= 0
    starts = lvl_lo[ch.level_idx] - np.where(pos, xd * m2, xd * m1)
    ends = lvl_hi[ch.level_idx] - np.where(pos, xd * m1, xd * m2)
    starts = np.where(open_lo, -sentinel, starts)
    ends = np.where(open_hi, sentinel, ends)
    if not centred:
        if lim.b_lo is not None:
            starts = np.maximum(starts, lim.b_lo)
        if lim.b_hi is not None:
            ends = np.minimum(ends, lim.b_hi)
    return starts, ends, sentinel


def _stab_max(starts, ends) -> int:
    """Largest number of the closed integer intervals [s, e] sharing one point."""
    ok = starts <= ends
    s = np.sort(starts[ok])
    e = np.sort(ends[ok])
    if s.size == 0:
        return 0
    active = np.searchsorted(s, s, side="right") - np.searchsorted(e, s, side="left")
    return int(active.max())


def _upper_bound(ch: _Channel, n: int, m1: int, m2: int) -> int:
    """Most agreeing inputs of any M in [m1, m2] and any in-budget B."""
    best = ch.total
    for centred in (False, True):
        starts, ends, _ = _interval_arrays(ch, n, m1, m2, centred)
        best = min(best, _stab_max(starts, ends))
    return best


def _exact_best_b(ch: _Channel, n: int, m: int) -> tuple[int, int]:
    """(agreeing inputs, B) for this (N, M): the deepest B, the one closest to 0 on ties."""
    starts, ends, sentinel = _interval_arrays(ch, n, m, m, False)
    ok = starts <= ends
    s, e = np.sort(starts[ok]), np.sort(ends[ok])
    lim = ch.lim
    if s.size == 0:
        return 0, _closest_to_zero(lim.b_lo, lim.b_hi)
    # The count is constant on [s_k, t_k]: up to the next start or the first end at/after s_k.
    us = np.unique(s)
    active = np.searchsorted(s, us, side="right") - np.searchsorted(e, us, side="left")
    top = int(active.max())
    best_b = None
    for k in np.nonzero(active == top)[0]:
        a = int(us[k])
        nxt = int(us[k + 1]) - 1 if k + 1 < us.size else None
        j = int(np.searchsorted(e, a, side="left"))
        t = int(e[j]) if j < e.size else None
        end = t if nxt is None else (nxt if t is None else min(nxt, t))
        a_ = None if a <= -sentinel else a
        end_ = None if end is None or end >= sentinel else end
        b = _closest_to_zero(a_, end_)
        if best_b is None or (abs(b), b < 0) < (abs(best_b), best_b < 0):
            best_b = b
    assert best_b is not None
    return top, best_b


def transition_inputs(st: Staircase, reach: int = 2) -> np.ndarray:
    """Mirrored inputs within ``reach`` of a level transition (and the range ends)."""
    pts: set[int] = {st.lo, st.hi}
    for f, e in zip(st.first, st.last, strict=True):
        for v in (f, e):
            pts.update(range(v - reach, v + reach + 1))
    return np.array(sorted(p for p in pts if st.lo <= p <= st.hi), dtype=np.int64)


def fewest_mismatches(st: Staircase, hw: str, qmin: int, qmax: int, lim: BudgetLimits,
                      slope: Fraction, node_limit: int = NODE_LIMIT,
                      xs: np.ndarray | None = None, fast_only: bool = False
                      ) -> BestInexact | None:
    """Branch-and-bound over (N, M) for the fewest mismatches (see the module docstring).

    ``slope`` is the mirrored a (a first incumbent per N is M = round(slope * 2^N)).
    With ``xs`` only those (mirrored) inputs count: the result's lower bound is then a
    lower bound for the whole range too (fewer inputs never have more mismatches).
    ``fast_only``: None unless the numba search ran (it works per level, not per input, so
    it takes any range whole).
    """
    m_lo = lim.m_lo if lim.m_lo is not None else -(1 << 64)
    m_hi = lim.m_hi if lim.m_hi is not None else (1 << 64)
    m0s = [min(max(round(slope * (1 << n)), m_lo), m_hi) for n in lim.n_values]
    if _fast_budget_on():
        from .fast_budget import fewest_mismatches_fast, segments_for  # the same search
        segs, total = segments_for(st, xs)
        head = _Head(st, hw, qmin, qmax, (st.lo + st.hi) // 2, max(abs(st.lo), abs(st.hi), 1),
                     total)
        r = fewest_mismatches_fast(head, lim, m0s, node_limit, segs)
        if r is not None:
            return BestInexact(*r)
    if fast_only:  # the caller has another way (a wide range: the transition subset)
        return None
    ch = _Channel(st, hw, qmin, qmax, lim, xs)
    total = ch.total
    best: tuple | None = None  # (mismatches, N, |M|, |B|, M < 0, B < 0, M, B)
    heap: list = []
    done: set[tuple[int, int]] = set()

    def leaf(n: int, m: int) -> None:
        nonlocal best
        done.add((n, m))
        agree, b = _exact_best_b(ch, n, m)
        key = (total - agree, n, abs(m), abs(b), m < 0, b < 0, m, b)
        if best is None or key < best:
            best = key

    def push(n: int, m1: int, m2: int) -> None:
        if m1 > m2:
            return
        ub = _upper_bound(ch, n, m1, m2) if (m1 > 0 or m2 < 0 or m1 == m2) else total
        mabs = 0 if m1 <= 0 <= m2 else min(abs(m1), abs(m2))
        heapq.heappush(heap, (-ub, n, mabs, m1, m2))

    for n, m0 in zip(lim.n_values, m0s, strict=True):  # first incumbents: the rounded slope
        for m in {m0, min(m0 + 1, m_hi), max(m0 - 1, m_lo)}:
            leaf(n, m)
    for n in lim.n_values:
        push(n, m_lo, min(-1, m_hi))
        if m_lo <= 0 <= m_hi:
            push(n, 0, 0)
        push(n, max(1, m_lo), m_hi)
    nodes = 0
    open_ub = None
    while heap:
        neg_ub, n, mabs, m1, m2 = heap[0]
        ub = -neg_ub
        if best is not None:
            best_agree = total - best[0]
            if ub < best_agree or (ub == best_agree and (n, mabs) > (best[1], best[2])):
                heapq.heappop(heap)
                continue
        if nodes >= node_limit:
            open_ub = ub
            break
        heapq.heappop(heap)
        nodes += 1
        if m1 == m2:
            if (n, m1) not in done:
                leaf(n, m1)
            continue
        if m1 <= 0 <= m2:  # split off the signs first (the bound needs one sign)
            push(n, m1, -1)
            push(n, 0, 0)
            push(n, 1, m2)
            continue
        mid = (m1 + m2) // 2
        push(n, m1, mid)
        push(n, mid + 1, m2)
    assert best is not None
    lower = best[0] if open_ub is None else max(0, total - max(open_ub, total - best[0]))
    return BestInexact(best[6], best[7], best[1], best[0], lower, nodes)


def _fast_budget_on() -> bool:  # EXACTBN_FAST_BUDGET=0: the search in Python
    import os
    return os.environ.get("EXACTBN_FAST_BUDGET", "1") != "0"
