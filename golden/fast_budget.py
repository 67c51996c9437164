"""Budget mode's fewest-mismatches branch-and-bound (``budget.fewest_mismatches``) in numba.

The same search, step for step: the same per-input B intervals (union over an M range, with
and without B's limits), the same stabbing maximum as the bound, the same deepest B at a
leaf (closest to 0 on ties), the same incumbents (the rounded slope and its neighbours at
every N), the same best-first heap order (keys are unique, so the pop order is fixed) and
the same node limit, so the answer, the certified lower bound and the node count are
identical to the Python search (checked channel by channel in
tests/golden/test_fast_budget.py).

The Python search switches to Python integers when a value could leave int64; the kernel
instead gives up on such a channel (status 1) and the Python search runs: unbounded M (no
M width), scaled levels or products at or above 2^59.
"""

from __future__ import annotations

import heapq

import numba
import numpy as np
from numba import njit

from .fast_common import _narrow_m, _tie_up
from .fast_inexact import _hull

__all__ = ["fewest_mismatches_fast", "exact_in_budget_fast"]

_SAFE4 = np.int64(1) << 59  # budget._SAFE // 4: below it the Python search uses int64
_SENT = np.int64(1) << 60  # its int64 sentinel
_HW = {"floor": 0, "half_up": 1, "half_even": 2, "half_away": 3}


@njit(cache=True, inline="always")
def _bound(t, n, hcode, upper):
    """constraints.bound_lower(t, n) (upper False) or bound_upper(t, n) (upper True)."""
    if hcode == 0 or n == 0:
        return (t << n) - (1 if upper else 0)
    up = _tie_up(hcode, t)
    half = np.int64(1) << (n - 1)
    if upper:
        return (t << n) - half - (1 if up else 0)
    return (t << n) - half + (0 if up else 1)


@njit(cache=True, inline="always")
def _closest(has_lo, lo, has_hi, hi):
    """budget._closest_to_zero (the interval is non-empty)."""
    if (not has_lo or lo <= 0) and (not has_hi or hi >= 0):
        return np.int64(0)
    if has_lo and lo > 0:
        return lo
    return hi


@njit(cache=True)
def _intervals(x, idx, lo_t, hi_t, open_lo, open_hi, m1, m2, centre, b_lim, starts, ends):
    """budget._interval_arrays (int64 branch): per input the agreeing B (union over M)."""
    for i in range(x.shape[0]):
        xv = x[i] - centre
        j = idx[i]
        if xv >= 0:
            s = lo_t[j] - xv * m2
            e = hi_t[j] - xv * m1
        else:
            s = lo_t[j] - xv * m1
            e = hi_t[j] - xv * m2
        if open_lo[j]:
            s = -_SENT
        if open_hi[j]:
            e = _SENT
        if b_lim[0]:
            s = max(s, b_lim[1])
        if b_lim[2]:
            e = min(e, b_lim[3])
        starts[i] = s
        ends[i] = e


@njit(cache=True)
def _sorted_ok(starts, ends):
    k = 0
    for i in range(starts.shape[0]):
        if starts[i] <= ends[i]:
            k += 1
    s = np.empty(k, np.int64)
    e = np.empty(k, np.int64)
    k = 0
    for i in range(starts.shape[0]):
        if starts[i] <= ends[i]:
            s[k] = starts[i]
            e[k] = ends[i]
            k += 1
    _sort_pair(s, e)
    return s, e


@njit(cache=True)
def _sort_pair(s, e):
    """Both arrays sorted in place by numpy's sort (about 3x numba's on these sizes)."""
    with numba.objmode():
        s.sort()
        e.sort()


@njit(cache=True)
def _stab(s, e):
    """Largest number of the closed intervals sharing one point (budget._stab_max)."""
    best = 0
    i = 0
    j = 0
    k = s.shape[0]
    while i < k:
        v = s[i]
        while i < k and s[i] == v:
            i += 1
        while j < k and e[j] < v:
            j += 1
        if i - j > best:
            best = i - j
    return best


@njit(cache=True)
def _reach_ok(big, mm, span, centred, b_lim):
    """Whether budget._interval_arrays would take its int64 branch."""
    w = 2 * span + 1
    if mm > (_SAFE4 - 3 - big) // w:
        return False
    if not centred:
        if b_lim[0] and abs(b_lim[1]) >= _SAFE4:
            return False
        if b_lim[2] and abs(b_lim[3]) >= _SAFE4:
            return False
    return True


@njit(cache=True)
def _search(x, idx, levels, qmin, qmax, hcode, n_values, m_lo, m_hi, b_lim, m0s, centre,
            span, node_limit):
    nlev = levels.shape[0]
    nn = n_values.shape[0]
    total = x.shape[0]
    lo_t = np.zeros((nn, nlev), np.int64)
    hi_t = np.zeros((nn, nlev), np.int64)
    big = np.zeros(nn, np.int64)
    open_lo = levels <= qmin
    open_hi = levels >= qmax
    fail = (0, np.int64(0), np.int64(0), np.int64(0), 0, 0, 0)
    for k in range(nn):
        n = n_values[k]
        for j in range(nlev):
            t = levels[j]
            if not open_lo[j]:
                lo_t[k, j] = _bound(t, n, hcode, False)
                big[k] = max(big[k], abs(lo_t[k, j]))
            if not open_hi[j]:
                hi_t[k, j] = _bound(t + 1, n, hcode, True)
                big[k] = max(big[k], abs(hi_t[k, j]))
    starts = np.empty(total, np.int64)
    ends = np.empty(total, np.int64)
    no_lim = np.zeros(4, np.int64)

    # leaf: (agree, B) for one (N, M), budget._exact_best_b
    def leaf(k, m):
        if not _reach_ok(big[k], abs(m), span, False, b_lim):
            return False, 0, np.int64(0)
        _intervals(x, idx, lo_t[k], hi_t[k], open_lo, open_hi, m, m, 0, b_lim, starts, ends)
        s, e = _sorted_ok(starts, ends)
        ks = s.shape[0]
        if ks == 0:
            return True, 0, _closest(b_lim[0], b_lim[1], b_lim[2], b_lim[3])
        top = _stab(s, e)
        have = False
        bb = np.int64(0)
        i = 0
        j = 0
        while i < ks:
            a = s[i]
            while i < ks and s[i] == a:
                i += 1
            while j < ks and e[j] < a:
                j += 1
            if i - j != top:
                continue
            has_end = j < ks
            end = e[j] if has_end else np.int64(0)
            if i < ks:
                nxt = s[i] - 1
                end = min(nxt, end) if has_end else nxt
                has_end = True
            has_a = a > -_SENT
            if has_end and end >= _SENT:
                has_end = False
            b = _closest(has_a, a, has_end, end)
            if not have or abs(b) < abs(bb) or (abs(b) == abs(bb) and b >= 0 > bb):
                bb = b
                have = True
        return True, top, bb

    def bound(k, m1, m2):
        best = total
        for centred in (False, True):
            mm = max(abs(m1), abs(m2))
            if not _reach_ok(big[k], mm, span, centred, b_lim):
                return False, 0
            _intervals(x, idx, lo_t[k], hi_t[k], open_lo, open_hi, m1, m2,
                       centre if centred else 0, no_lim if centred else b_lim, starts, ends)
            s, e = _sorted_ok(starts, ends)
            best = min(best, _stab(s, e))
        return True, best

    # best key: (mismatches, N, |M|, |B|, M < 0, B < 0, M, B)
    have_best = False
    bc = 0
    bn = np.int64(0)
    bm = np.int64(0)
    bb_ = np.int64(0)
    done = {(np.int64(0), np.int64(0)): True}
    done.clear()

    def better(c, n, m, b, bc, bn, bm, bb_):
        if c != bc:
            return c < bc
        if n != bn:
            return n < bn
        if abs(m) != abs(bm):
            return abs(m) < abs(bm)
        if abs(b) != abs(bb_):
            return abs(b) < abs(bb_)
        if (m < 0) != (bm < 0):
            return m >= 0
        if (b < 0) != (bb_ < 0):
            return b >= 0
        if m != bm:
            return m < bm
        return b < bb_

    for k in range(nn):
        m0 = m0s[k]
        for m in (m0, min(m0 + 1, m_hi), max(m0 - 1, m_lo)):
            if (np.int64(k), m) in done:
                continue
            done[(np.int64(k), m)] = True
            ok, agree, b = leaf(k, m)
            if not ok:
                return fail
            c = total - agree
            if not have_best or better(c, n_values[k], m, b, bc, bn, bm, bb_):
                have_best = True
                bc, bn, bm, bb_ = c, n_values[k], m, b
    heap = [(np.int64(0), np.int64(0), np.int64(0), np.int64(0), np.int64(0))]
    heap.pop()

    # A one-M node's bound is its leaf's agreement: the uncentred intervals are the leaf's,
    # and the centred ones (one M: the same intervals shifted alike, without B's limits)
    # never stab fewer, so the minimum of the two is the leaf's count. The leaf is taken at
    # the push (one interval sort instead of three) and kept for its pop, where it is
    # applied as before, so the search order, answer and node count are unchanged.
    leaves = {(np.int64(0), np.int64(0)): (np.int64(0), np.int64(0))}
    leaves.clear()

    def push(heap, k, m1, m2):
        if m1 > m2:
            return True
        if m1 == m2:
            ok, agree, b = leaf(k, m1)
            if not ok:
                return False
            ub = agree
            leaves[(np.int64(k), m1)] = (np.int64(agree), b)
        elif m1 > 0 or m2 < 0:
            ok, ub = bound(k, m1, m2)
            if not ok:
                return False
        else:
            ub = total
        mabs = 0 if m1 <= 0 <= m2 else min(abs(m1), abs(m2))
        heapq.heappush(heap, (np.int64(-ub), np.int64(k), np.int64(mabs), m1, m2))
        return True

    for k in range(nn):
        ok = push(heap, k, m_lo, min(np.int64(-1), m_hi))
        if ok and m_lo <= 0 <= m_hi:
            ok = push(heap, k, np.int64(0), np.int64(0))
        if ok:
            ok = push(heap, k, max(np.int64(1), m_lo), m_hi)
        if not ok:
            return fail
    nodes = 0
    has_open = False
    open_ub = 0
    while len(heap) > 0:
        neg_ub, k, mabs, m1, m2 = heap[0]
        ub = -neg_ub
        n = n_values[k]
        best_agree = total - bc
        if ub < best_agree or (ub == best_agree and (n > bn or (n == bn and mabs > abs(bm)))):
            heapq.heappop(heap)
            continue
        if nodes >= node_limit:
            has_open = True
            open_ub = ub
            break
        heapq.heappop(heap)
        nodes += 1
        if m1 == m2:
            if (k, m1) not in done:
                done[(k, m1)] = True
                if (k, m1) in leaves:
                    agree, b = leaves[(k, m1)]
                else:
                    ok, agree, b = leaf(k, m1)
                    if not ok:
                        return fail
                c = total - agree
                if better(c, n, m1, b, bc, bn, bm, bb_):
                    bc, bn, bm, bb_ = c, n, m1, b
            continue
        if m1 <= 0 <= m2:
            ok = push(heap, k, m1, np.int64(-1)) and push(heap, k, np.int64(0), np.int64(0)) \
                and push(heap, k, np.int64(1), m2)
        else:
            mid = (m1 + m2) // 2
            ok = push(heap, k, m1, mid) and push(heap, k, mid + 1, m2)
        if not ok:
            return fail
    lower = bc if not has_open else max(0, total - max(open_ub, total - bc))
    return 1, bm, bb_, bn, bc, lower, nodes


def fewest_mismatches_fast(ch, lim, m0s: list[int], node_limit: int):
    """(M', B, N, mismatches, lower_bound, nodes) of ``budget.fewest_mismatches``, or None.

    ``ch`` is the search's ``budget._Channel``; ``m0s`` the clamped rounded slopes per N.
    None: a value could leave int64 (the Python search then runs).
    """
    big = 1 << 58
    qbig = max(abs(ch.qmin), abs(ch.qmax)) + 2
    if (lim.m_lo is None or lim.m_hi is None or abs(lim.m_lo) >= big or abs(lim.m_hi) >= big
            or not lim.n_values or max(lim.n_values) > 62
            or qbig.bit_length() + max(lim.n_values) >= 58
            or ch.span >= big or any(abs(v) >= big for v in m0s)
            or any(v is not None and abs(v) >= big for v in (lim.b_lo, lim.b_hi))
            or ch.hw not in _HW):
        return None
    b_lim = np.array([lim.b_lo is not None, lim.b_lo or 0, lim.b_hi is not None,
                      lim.b_hi or 0], np.int64)
    r = _search(np.ascontiguousarray(ch.x, np.int64),
                np.ascontiguousarray(ch.level_idx, np.int64),
                np.asarray(ch.st.levels, np.int64), np.int64(ch.qmin), np.int64(ch.qmax),
                _HW[ch.hw], np.asarray(lim.n_values, np.int64), np.int64(lim.m_lo),
                np.int64(lim.m_hi), b_lim, np.asarray(m0s, np.int64), np.int64(ch.centre),
                np.int64(ch.span), np.int64(node_limit))
    if r[0] != 1:
        return None
    return tuple(int(v) for v in r[1:])


@njit(cache=True)
def _exact_search(levels, first, last, lo, hi, qmin, qmax, hcode, n_values, n_start, mlim,
                  blim):
    """budget.exact_in_budget: (1, M', B, N) at the smallest N, (0, ...) none, (2, ...) give
    up (a product could leave int64). ``mlim``/``blim``: (has_lo, lo, has_hi, hi)."""
    nlev = levels.shape[0]
    multi = nlev > 1
    size = max(nlev, 2)
    lx = np.empty(size, np.int64)
    ll = np.empty(size, np.int64)
    lc = np.empty(size, np.int64)
    ux = np.empty(size, np.int64)
    ul = np.empty(size, np.int64)
    uc = np.empty(size, np.int64)
    hl = np.empty(size, np.int64)
    hu = np.empty(size, np.int64)
    xmax = max(abs(lo), abs(hi), 1)
    none = (0, np.int64(0), np.int64(0), np.int64(0))
    if blim[0] and blim[2] and blim[1] > blim[3]:
        return none
    for k in range(n_values.shape[0]):
        n = n_values[k]
        if n < n_start:
            continue
        rnd = hcode != 0 and n > 0
        half = (np.int64(1) << (n - 1)) if rnd else np.int64(0)
        nl = 0
        nu = 0
        for j in range(nlev):
            t = levels[j]
            if t > qmin:
                c = 0 if (not rnd or _tie_up(hcode, t)) else 1
                for x in ((first[j], first[j]) if multi else (lo, hi)):
                    if nl == 0 or lx[nl - 1] != x:
                        lx[nl] = x
                        ll[nl] = t
                        lc[nl] = c
                        nl += 1
            if t < qmax:
                c = -1 if (not rnd or _tie_up(hcode, t + 1)) else 0
                for x in ((last[j], last[j]) if multi else (lo, hi)):
                    if nu == 0 or ux[nu - 1] != x:
                        ux[nu] = x
                        ul[nu] = t + 1
                        uc[nu] = c
                        nu += 1
        nhl = _hull(lx, ll, lc, nl, n, True, hl)
        nhu = _hull(ux, ul, uc, nu, n, False, hu)
        has_lo, m_lo, has_hi, m_hi = mlim[0] != 0, mlim[1], mlim[2] != 0, mlim[3]
        if multi and (not has_lo or m_lo < 1):
            has_lo, m_lo = True, np.int64(1)
        ok = True
        for a_ in range(nhl):
            p = hl[a_]
            li = (ll[p] << n) + lc[p] - half
            for b_ in range(nhu):
                q = hu[b_]
                d = li - ((ul[q] << n) + uc[q] - half)
                m_lo, has_lo, m_hi, has_hi, good = _narrow_m(d, lx[p] - ux[q], m_lo, has_lo,
                                                             m_hi, has_hi)
                ok &= good
        if blim[2]:  # L - M*x <= b_hi
            for a_ in range(nhl):
                p = hl[a_]
                x = lx[p]
                c = (ll[p] << n) + lc[p] - half - blim[3]
                if x > 0:
                    v = -((-c) // x)
                    if not has_lo or v > m_lo:
                        has_lo, m_lo = True, v
                elif x < 0:
                    v = c // x
                    if not has_hi or v < m_hi:
                        has_hi, m_hi = True, v
                elif c > 0:
                    ok = False
        if blim[0]:  # U - M*x >= b_lo
            for b_ in range(nhu):
                q = hu[b_]
                x = ux[q]
                c = (ul[q] << n) + uc[q] - half - blim[1]
                if x > 0:
                    v = c // x
                    if not has_hi or v < m_hi:
                        has_hi, m_hi = True, v
                elif x < 0:
                    v = -((-c) // x)
                    if not has_lo or v > m_lo:
                        has_lo, m_lo = True, v
                elif c < 0:
                    ok = False
        if not ok or (has_lo and has_hi and m_lo > m_hi):
            continue
        m = _closest(has_lo, m_lo, has_hi, m_hi)
        if abs(m) >= (np.int64(1) << 61) // xmax:
            return (2, np.int64(0), np.int64(0), np.int64(0))
        has_b_lo = nhl > 0
        has_b_hi = nhu > 0
        b_lo = b_hi = np.int64(0)
        for a_ in range(nhl):
            p = hl[a_]
            v = (ll[p] << n) + lc[p] - half - m * lx[p]
            b_lo = v if a_ == 0 else max(b_lo, v)
        for b_ in range(nhu):
            q = hu[b_]
            v = (ul[q] << n) + uc[q] - half - m * ux[q]
            b_hi = v if b_ == 0 else min(b_hi, v)
        if blim[0] and (not has_b_lo or blim[1] > b_lo):
            has_b_lo, b_lo = True, blim[1]
        if blim[2] and (not has_b_hi or blim[3] < b_hi):
            has_b_hi, b_hi = True, blim[3]
        return (1, m, _closest(has_b_lo, b_lo, has_b_hi, b_hi), n)
    return none


def exact_in_budget_fast(st, hw: str, qmin: int, qmax: int, lim, n_start: int):
    """(M', B, N) of ``budget.exact_in_budget``, False when none exists, None: not decided
    here (values beyond the kernel's int64 envelope; the Python search runs)."""
    big = 1 << 60
    n_values = [n for n in lim.n_values if n >= n_start]
    if not n_values:
        return False
    qbig = max(abs(qmin), abs(qmax)) + 2
    if (hw not in _HW or qbig >= 1 << 21 or qbig.bit_length() + max(n_values) >= 60
            or max(abs(st.lo), abs(st.hi)) > 1 << 31
            or any(v is not None and abs(v) >= big
                   for v in (lim.m_lo, lim.m_hi, lim.b_lo, lim.b_hi))):
        return None
    mlim = np.array([lim.m_lo is not None, lim.m_lo or 0, lim.m_hi is not None,
                     lim.m_hi or 0], np.int64)
    blim = np.array([lim.b_lo is not None, lim.b_lo or 0, lim.b_hi is not None,
                     lim.b_hi or 0], np.int64)
    r = _exact_search(np.asarray(st.levels, np.int64), np.asarray(st.first, np.int64),
                      np.asarray(st.last, np.int64), np.int64(st.lo), np.int64(st.hi),
                      np.int64(qmin), np.int64(qmax), _HW[hw],
                      np.asarray(n_values, np.int64), np.int64(n_start), mlim, blim)
    if r[0] == 2:
        return None
    if r[0] == 0:
        return False
    return int(r[1]), int(r[2]), int(r[3])
