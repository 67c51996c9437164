"""Budget mode's fewest-mismatches branch-and-bound (``budget.fewest_mismatches``) in numba.

The same search, step for step: the same per-input B intervals (union over an M range, with
and without B's limits), the same stabbing maximum as the bound, the same deepest B at a
leaf (closest to 0 on ties), the same incumbents (the rounded slope and its neighbours at
every N), the same best-first heap order (keys are unique, so the pop order is fixed) and
the same node limit, so the answer, the certified lower bound and the node count are
identical to the Python search (checked channel by channel in
tests/golden/test_fast_budget.py). Per node it works per level (a run of inputs), never per
input: the surely-wrong inputs of a level are a prefix and a suffix whose sizes step at B =
offset -/+ k*M, and one sorted sweep over those steps (k up to the cap, inside the B range
where the prefix or the suffix sizes alone stay within it) gives the minimum over B.

The Python search switches to Python integers when a value could leave int64; the kernel
instead gives up on such a channel (status 1) and the Python search runs: unbounded M (no
M width), scaled levels or products at or above 2^59.
"""

from __future__ import annotations

import heapq

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


@njit(cache=True, inline="always")
def _cdiv(n, d):
    return -((-n) // d)


@njit(cache=True)
def _split(seg_f, seg_e, seg_j, c, sf, se, sj):
    """Segments in coordinates x - c, each entirely < 0 or >= 0; returns their number."""
    k = 0
    for i in range(seg_f.shape[0]):
        f = seg_f[i] - c
        e = seg_e[i] - c
        if f < 0 <= e:
            sf[k], se[k], sj[k] = f, -1, seg_j[i]
            k += 1
            f = 0
        sf[k], se[k], sj[k] = f, e, seg_j[i]
        k += 1
    return k


@njit(cache=True)
def _prep(ns, sf, se, sj, lo_t, hi_t, open_lo, open_hi, m1, m2, al, ast, hl, be, bst, hr, sz):
    """Per segment the surely-wrong counts' parameters over M in [m1, m2] (one sign):

    left(B) = min(s, max(0, ceil((al - B) / ast))), right(B) = min(s, max(0, ceil((B - be) /
    bst))) (step 0: all or nothing), the inputs that no M of the range maps to their level
    for this B because M*x + B is below (left) or above (right) the level's scaled bounds.
    M < 0 is handled by mirroring x (M*x = (-M)*(-x))."""
    mir = m2 < 0
    if mir:
        m1, m2 = -m2, -m1
    for i in range(ns):
        if mir:
            f, e = -se[i], -sf[i]
        else:
            f, e = sf[i], se[i]
        j = sj[i]
        sz[i] = e - f + 1
        if f >= 0:
            la, rb = m2, m1
        else:
            la, rb = m1, m2
        hl[i] = not open_lo[j]
        hr[i] = not open_hi[j]
        al[i] = lo_t[j] - la * f
        ast[i] = la
        be[i] = hi_t[j] - rb * e
        bst[i] = rb


@njit(cache=True)
def _eval(ns, B, cap, al, ast, hl, be, bst, hr, sz):
    """Surely-wrong inputs at B (exact for one M), or cap + 1 once the sum exceeds cap."""
    tot = 0
    for i in range(ns):
        s = sz[i]
        l_ = 0
        if hl[i]:
            v = al[i] - B
            if v > 0:
                l_ = s if ast[i] == 0 else min(s, _cdiv(v, ast[i]))
        r_ = 0
        if hr[i]:
            v = B - be[i]
            if v > 0:
                r_ = s if bst[i] == 0 else min(s, _cdiv(v, bst[i]))
        tot += min(s, l_ + r_)
        if tot > cap:
            return cap + 1
    return tot


@njit(cache=True)
def _kth(vals, flags, ns, q, largest, buf):
    """(True, q-th largest (or smallest) flagged value), (False, 0) if fewer than q."""
    cnt = 0
    for i in range(ns):
        if not flags[i]:
            continue
        v = vals[i] if largest else -vals[i]
        if cnt < q:
            p = cnt
            cnt += 1
        elif v > buf[q - 1]:
            p = q - 1
        else:
            continue
        while p > 0 and buf[p - 1] < v:
            buf[p] = buf[p - 1]
            p -= 1
        buf[p] = v
    if cnt < q:
        return False, np.int64(0)
    return True, (buf[q - 1] if largest else -buf[q - 1])


_FAR = np.int64(1) << 61
_SWEEP_E = 32  # caps from which _minimize sweeps (below: the candidates)
@njit(cache=True, inline="always")
def _gval(i, B, e1, al, ast, hl, be, bst, hr, sz):
    """Segment i's surely-wrong count at B (as in _eval), clamped to e1."""
    s = sz[i]
    l_ = 0
    if hl[i]:
        v = al[i] - B
        if v > 0:
            l_ = s if ast[i] == 0 else min(s, _cdiv(v, ast[i]))
    r_ = 0
    if hr[i]:
        v = B - be[i]
        if v > 0:
            r_ = s if bst[i] == 0 else min(s, _cdiv(v, bst[i]))
    return min(e1, s, l_ + r_)


@njit(cache=True)
def _side_sum(ns, B, e1, right, al, ast, hl, be, bst, hr, sz):
    """The left (or right) counts' sum at B, stopping at e1: monotone in B, and <= _eval."""
    tot = 0
    for i in range(ns):
        s = sz[i]
        if right:
            if hr[i] and B > be[i]:
                tot += s if bst[i] == 0 else min(s, _cdiv(B - be[i], bst[i]))
        elif hl[i] and al[i] > B:
            tot += s if ast[i] == 0 else min(s, _cdiv(al[i] - B, ast[i]))
        if tot >= e1:
            return e1
    return tot


@njit(cache=True)
def _window(ns, e, lo_, hi_, al, ast, hl, be, bst, hr, sz):
    """[lo_, hi_] narrowed to the B whose left and right counts each sum to <= e (bisection;
    both sums are monotone and at most _eval): every B with _eval <= e stays inside, and
    inside it the segments' left (right) counts sum to <= e, so _sweep meets at most
    2e + 3 ns breakpoints."""
    e1 = e + 1
    if _side_sum(ns, lo_, e1, False, al, ast, hl, be, bst, hr, sz) > e:
        a, b = lo_, hi_ + 1  # sum(a) > e, sum(b) <= e (b = hi_ + 1 stands for "none")
        while b - a > 1:
            c = a + (b - a) // 2
            if _side_sum(ns, c, e1, False, al, ast, hl, be, bst, hr, sz) > e:
                a = c
            else:
                b = c
        lo_ = b
    if lo_ <= hi_ and _side_sum(ns, hi_, e1, True, al, ast, hl, be, bst, hr, sz) > e:
        a, b = lo_ - 1, hi_  # sum(a) <= e, sum(b) > e
        while b - a > 1:
            c = a + (b - a) // 2
            if _side_sum(ns, c, e1, True, al, ast, hl, be, bst, hr, sz) > e:
                b = c
            else:
                a = c
        hi_ = a
    return lo_, hi_


@njit(cache=True)
def _sweep(ns, e, lo_, hi_, al, ast, hl, be, bst, hr, sz):
    """min over B in [lo_, hi_] of _eval (B: the minimiser closest to 0, non-negative on
    ties), by one sweep over the breakpoints in sorted order: (value, B), value > e when
    every B has more than e wrong inputs.

    Each segment's count clamped to e + 1 has the same minimum and minimisers as _eval
    wherever that is <= e, and it only changes where the left count steps between k + 1 and
    k <= e (B = al - k*ast) or the right count between k - 1 and k <= e + 1 (B = be +
    (k-1)*bst + 1): at most 2e + 3 breakpoints per segment, fewer inside the window."""
    e1 = e + 1
    # the breakpoints' k ranges inside (lo_, hi_]
    kl0 = np.empty(ns, np.int64)
    kl1 = np.empty(ns, np.int64)
    kr0 = np.empty(ns, np.int64)
    kr1 = np.empty(ns, np.int64)
    cnt = 0
    cur = 0
    for i in range(ns):
        s = sz[i]
        cur += _gval(i, lo_, e1, al, ast, hl, be, bst, hr, sz)
        kl0[i], kl1[i] = 0, -1
        if hl[i]:
            if ast[i] == 0:
                if lo_ < al[i] <= hi_:
                    kl1[i] = 0
            else:
                kl0[i] = max(0, _cdiv(al[i] - hi_, ast[i]))
                kl1[i] = min(e, s - 1, (al[i] - lo_ - 1) // ast[i])
        kr0[i], kr1[i] = 1, 0
        if hr[i]:
            if bst[i] == 0:
                if lo_ < be[i] + 1 <= hi_:
                    kr1[i] = 1
            else:
                kr0[i] = max(1, (lo_ - be[i] - 1) // bst[i] + 2)
                kr1[i] = min(e1, s, (hi_ - be[i] - 1) // bst[i] + 1)
        cnt += max(0, kl1[i] - kl0[i] + 1) + max(0, kr1[i] - kr0[i] + 1)
    pos = np.empty(cnt, np.int64)
    dlt = np.empty(cnt, np.int64)
    m = 0
    for i in range(ns):
        for k in range(kl0[i], kl1[i] + 1):
            p = al[i] - k * ast[i]
            d = _gval(i, p, e1, al, ast, hl, be, bst, hr, sz) - \
                _gval(i, p - 1, e1, al, ast, hl, be, bst, hr, sz)
            if d != 0:
                pos[m], dlt[m] = p, d
                m += 1
        for k in range(kr0[i], kr1[i] + 1):
            p = be[i] + (k - 1) * bst[i] + 1
            if kl1[i] >= kl0[i]:  # already a left breakpoint of this segment
                q = al[i] - p
                if ast[i] == 0:
                    if q == 0:
                        continue
                elif q >= 0 and q % ast[i] == 0 and kl0[i] <= q // ast[i] <= kl1[i]:
                    continue
            d = _gval(i, p, e1, al, ast, hl, be, bst, hr, sz) - \
                _gval(i, p - 1, e1, al, ast, hl, be, bst, hr, sz)
            if d != 0:
                pos[m], dlt[m] = p, d
                m += 1
    order = np.argsort(pos[:m])
    best = cur
    a = lo_  # the current run [a, next breakpoint - 1] has count cur
    bb = np.int64(0)
    has_b = False
    j = 0
    while True:
        if j < m:
            nxt = pos[order[j]]
            b = nxt - 1
        else:
            b = hi_
        if cur <= best:
            c = np.int64(0) if a <= 0 <= b else (a if a > 0 else b)
            if cur < best or not has_b or abs(c) < abs(bb) or (abs(c) == abs(bb) and c > bb):
                best, bb, has_b = cur, c, True
        if j >= m:
            break
        while j < m and pos[order[j]] == nxt:
            cur += dlt[order[j]]
            j += 1
        a = nxt
    return best, bb


@njit(cache=True)
def _minimize(ns, cap, blim, want_b, al, ast, hl, be, bst, hr, sz, buf):
    """min over B (within blim when set) of _eval: (True, value, B) when it is <= cap (B: the
    minimiser closest to 0, non-negative on ties, when want_b), else (False, cap + 1, 0).

    B below the (e+1)-th largest al or above the (e+1)-th smallest be has more than e wrong
    inputs (e: the cap, tightened by a first guess). From e = _SWEEP_E on, _window narrows
    that further and _sweep takes the minimum inside, in O((segments + e) log) instead of
    candidates x segments (cheaper below it: fewer, early-exiting counts)."""
    e = cap
    if e > 64:  # a first guess tightens the cap: the B with the fewest plateaus missed
        bg = np.int64(0)
        bestlb = ns + 1
        for i in range(ns):
            if not hl[i]:
                continue
            b = al[i]
            if blim[0] and b < blim[1]:
                b = blim[1]
            if blim[2] and b > blim[3]:
                b = blim[3]
            lb = 0
            for t in range(ns):
                lb += (hl[t] and al[t] > b) + (hr[t] and be[t] < b)
            if lb < bestlb:
                bestlb, bg = lb, b
        if bestlb <= ns:
            e = min(e, _eval(ns, bg, e, al, ast, hl, be, bst, hr, sz))
    has_rl = has_rh = False
    rl = rh = np.int64(0)
    if e + 1 <= ns:
        has_rl, rl = _kth(al, hl, ns, e + 1, True, buf)
        has_rh, rh = _kth(be, hr, ns, e + 1, False, buf)
    if blim[0] and (not has_rl or blim[1] > rl):
        has_rl, rl = True, blim[1]
    if blim[2] and (not has_rh or blim[3] < rh):
        has_rh, rh = True, blim[3]
    lo_ = rl if has_rl else -_FAR
    hi_ = rh if has_rh else _FAR
    if lo_ > hi_:
        return False, cap + 1, np.int64(0)
    if e >= _SWEEP_E:
        lo_, hi_ = _window(ns, e, lo_, hi_, al, ast, hl, be, bst, hr, sz)
        if lo_ > hi_:
            return False, cap + 1, np.int64(0)
        v, b = _sweep(ns, e, lo_, hi_, al, ast, hl, be, bst, hr, sz)
        if v > e:
            return False, cap + 1, np.int64(0)
        return True, v, b
    # Small caps: only candidates can be the left end of a minimising run, B = al - k*ast
    # (k <= value, the run's left count) or the domain's start, each counted by _eval.
    best = e + 1
    bb = np.int64(0)
    v = _eval(ns, lo_, e, al, ast, hl, be, bst, hr, sz)
    if v < best:
        best, bb = v, lo_
    for i in range(ns):
        if not hl[i] or al[i] < lo_:
            continue
        kmax = 0 if ast[i] == 0 else min(e, sz[i] - 1)
        for k in range(kmax + 1):
            b = al[i] - k * ast[i]
            if b < lo_:
                break
            if b > hi_:
                continue
            v = _eval(ns, b, best, al, ast, hl, be, bst, hr, sz)
            if v < best:
                best, bb = v, b
    if best > cap:
        return False, cap + 1, np.int64(0)
    if not want_b:
        return True, best, bb
    # The minimiser closest to 0: 0 itself, else the smallest positive left end or the
    # largest negative right end of a minimising run.
    in0 = (not blim[0] or blim[1] <= 0) and (not blim[2] or blim[3] >= 0)
    if in0 and _eval(ns, np.int64(0), best, al, ast, hl, be, bst, hr, sz) == best:
        return True, best, np.int64(0)
    has_p = has_n = False
    bp = bn = np.int64(0)
    e = best
    for side in range(2):
        cand_end = hi_ if side else lo_
        ok_end = has_rh if side else has_rl
        if ok_end and (cand_end > 0 if side == 0 else cand_end < 0):
            if _eval(ns, cand_end, e, al, ast, hl, be, bst, hr, sz) == e:
                if side == 0 and (not has_p or cand_end < bp):
                    has_p, bp = True, cand_end
                if side == 1 and (not has_n or cand_end > bn):
                    has_n, bn = True, cand_end
        for i in range(ns):
            if side == 0:
                if not hl[i] or al[i] < lo_:
                    continue
                step = ast[i]
                base = al[i]
            else:
                if not hr[i] or be[i] > hi_:
                    continue
                step = bst[i]
                base = be[i]
            kmax = 0 if step == 0 else min(e, sz[i] - 1)
            for k in range(kmax + 1):
                b = base - k * step if side == 0 else base + k * step
                if side == 0:
                    if b < lo_:
                        break
                    if b > hi_:
                        continue
                else:
                    if b > hi_:
                        break
                    if b < lo_:
                        continue
                if side == 0:
                    if b <= 0 or (has_p and b >= bp):
                        continue
                elif b >= 0 or (has_n and b <= bn):
                    continue
                if _eval(ns, b, e, al, ast, hl, be, bst, hr, sz) == e:
                    if side == 0:
                        has_p, bp = True, b
                    else:
                        has_n, bn = True, b
    if has_p and (not has_n or bp <= -bn):
        return True, best, bp
    return True, best, bn


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
def _search(seg_f, seg_e, seg_j, total, levels, qmin, qmax, hcode, n_values, m_lo, m_hi,
            b_lim, m0s, centre, span, node_limit):
    nlev = levels.shape[0]
    nn = n_values.shape[0]
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
    nseg = seg_f.shape[0]
    cap2 = 2 * nseg + 2
    sf = np.empty((2, cap2), np.int64)
    se = np.empty((2, cap2), np.int64)
    sj = np.empty((2, cap2), np.int64)
    nsys = np.zeros(2, np.int64)
    nsys[0] = _split(seg_f, seg_e, seg_j, np.int64(0), sf[0], se[0], sj[0])
    nsys[1] = _split(seg_f, seg_e, seg_j, centre, sf[1], se[1], sj[1])
    al = np.empty(cap2, np.int64)
    ast = np.empty(cap2, np.int64)
    hl = np.empty(cap2, np.bool_)
    be = np.empty(cap2, np.int64)
    bst = np.empty(cap2, np.int64)
    hr = np.empty(cap2, np.bool_)
    sz = np.empty(cap2, np.int64)
    buf = np.empty(cap2 + 1, np.int64)
    no_lim = np.zeros(4, np.int64)

    # leaf: (agree, B) for one (N, M), budget._exact_best_b; exact when its mismatches are
    # <= cap, else (total - cap - 1, 0): such a leaf can neither win nor survive a pop.
    def leaf(k, m, cap):
        if not _reach_ok(big[k], abs(m), span, False, b_lim):
            return False, 0, np.int64(0)
        ns = nsys[0]
        _prep(ns, sf[0], se[0], sj[0], lo_t[k], hi_t[k], open_lo, open_hi, m, m, al, ast, hl,
              be, bst, hr, sz)
        found, v, b = _minimize(ns, cap, b_lim, True, al, ast, hl, be, bst, hr, sz, buf)
        return True, total - v, b

    # bound: budget._upper_bound (the smaller stabbing maximum, uncentred with B's limits and
    # centred without), exact when total minus it is <= cap, else total - cap - 1.
    def bound(k, m1, m2, cap):
        worst = 0  # the larger of the two certified lower bounds on the mismatches
        for c in range(2):
            mm = max(abs(m1), abs(m2))
            if not _reach_ok(big[k], mm, span, c == 1, b_lim):
                return False, 0
            ns = nsys[c]
            _prep(ns, sf[c], se[c], sj[c], lo_t[k], hi_t[k], open_lo, open_hi, m1, m2, al,
                  ast, hl, be, bst, hr, sz)
            found, v, b = _minimize(ns, cap, no_lim if c == 1 else b_lim, False, al, ast, hl,
                                    be, bst, hr, sz, buf)
            if not found:
                return True, total - cap - 1
            worst = max(worst, v)
        return True, total - worst

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

    # First incumbents: the best key among the rounded slopes and their neighbours at every
    # N. It does not depend on the order, so they are taken with a cap doubled from 0 until
    # one fits (a leaf over the cap cannot be the best; small caps are cheap).
    first = {(np.int64(0), np.int64(0)): True}
    first.clear()
    cap = 0
    while not have_best:
        for k in range(nn):
            m0 = m0s[k]
            for m in (m0, min(m0 + 1, m_hi), max(m0 - 1, m_lo)):
                if (np.int64(k), m) in first:
                    continue
                first[(np.int64(k), m)] = True
                ok, agree, b = leaf(k, m, bc if have_best else cap)
                if not ok:
                    return fail
                c = total - agree
                if c > cap:
                    continue
                if not have_best or better(c, n_values[k], m, b, bc, bn, bm, bb_):
                    have_best = True
                    bc, bn, bm, bb_ = c, n_values[k], m, b
        if not have_best:
            first.clear()
            cap = min(2 * cap + 1, total)
    for key in first:
        done[key] = True
    heap = [(np.int64(0), np.int64(0), np.int64(0), np.int64(0), np.int64(0))]
    heap.pop()
    leaves = {(np.int64(0), np.int64(0)): (np.int64(0), np.int64(0))}
    leaves.clear()

    def push(heap, k, m1, m2, bc):
        if m1 > m2:
            return True
        if m1 == m2:
            ok, agree, b = leaf(k, m1, bc)
            if not ok:
                return False
            ub = agree
            leaves[(np.int64(k), m1)] = (np.int64(agree), b)
        elif m1 > 0 or m2 < 0:
            ok, ub = bound(k, m1, m2, bc)
            if not ok:
                return False
        else:
            ub = total
        mabs = 0 if m1 <= 0 <= m2 else min(abs(m1), abs(m2))
        heapq.heappush(heap, (np.int64(-ub), np.int64(k), np.int64(mabs), m1, m2))
        return True

    for k in range(nn):
        ok = push(heap, k, m_lo, min(np.int64(-1), m_hi), bc)
        if ok and m_lo <= 0 <= m_hi:
            ok = push(heap, k, np.int64(0), np.int64(0), bc)
        if ok:
            ok = push(heap, k, max(np.int64(1), m_lo), m_hi, bc)
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
                    ok, agree, b = leaf(k, m1, bc)
                    if not ok:
                        return fail
                c = total - agree
                if better(c, n, m1, b, bc, bn, bm, bb_):
                    bc, bn, bm, bb_ = c, n, m1, b
            continue
        if m1 <= 0 <= m2:
            ok = push(heap, k, m1, np.int64(-1), bc) and \
                push(heap, k, np.int64(0), np.int64(0), bc) and \
                push(heap, k, np.int64(1), m2, bc)
        else:
            mid = (m1 + m2) // 2
            ok = push(heap, k, m1, mid, bc) and push(heap, k, mid + 1, m2, bc)
        if not ok:
            return fail
    lower = bc if not has_open else max(0, total - max(open_ub, total - bc))
    return 1, bm, bb_, bn, bc, lower, nodes


def _segments_of(x, level_idx):
    """Runs of consecutive inputs in one level: (first, last, level index) arrays."""
    x = np.asarray(x, np.int64)
    idx = np.asarray(level_idx, np.int64)
    if x.size == 0:
        z = np.zeros(0, np.int64)
        return z, z, z
    brk = np.nonzero((np.diff(x) != 1) | (np.diff(idx) != 0))[0]
    starts = np.concatenate(([0], brk + 1))
    ends = np.concatenate((brk, [x.size - 1]))
    return x[starts], x[ends], idx[starts]


def segments_for(st, xs=None):
    """Segments of the full mirrored range (one per level) or of a sorted input subset."""
    if xs is None:
        return (np.asarray(st.first, np.int64), np.asarray(st.last, np.int64),
                np.arange(len(st.levels), dtype=np.int64)), st.hi - st.lo + 1
    x = np.asarray(xs, np.int64)
    idx = np.searchsorted(np.asarray(st.first, np.int64), x, side="right") - 1
    return _segments_of(x, idx), int(x.size)


def fewest_mismatches_fast(ch, lim, m0s: list[int], node_limit: int, segs=None):
    """(M', B, N, mismatches, lower_bound, nodes) of ``budget.fewest_mismatches``, or None.

    ``ch`` is the search's ``budget._Channel`` (or any object with ``st``, ``hw``, ``qmin``,
    ``qmax``, ``centre``, ``span``, ``total``); ``segs`` the input segments (default: the
    runs of ``ch.x``); ``m0s`` the clamped rounded slopes per N. None: a value could leave
    int64 (the Python search then runs).
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
    if segs is None:
        segs = _segments_of(ch.x, ch.level_idx)
    b_lim = np.array([lim.b_lo is not None, lim.b_lo or 0, lim.b_hi is not None,
                      lim.b_hi or 0], np.int64)
    r = _search(segs[0], segs[1], segs[2], np.int64(ch.total),
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
