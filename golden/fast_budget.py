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

from .fast_common import _tie_up

__all__ = ["fewest_mismatches_fast"]

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

    def push(heap, k, m1, m2):
        if m1 > m2:
            return True
        if m1 > 0 or m2 < 0 or m1 == m2:
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
