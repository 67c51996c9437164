"""The candidate search for channels with no exact parameters, in numba.

Same answer as ``solver._best_inexact`` (with or without a budget's M and B limits, to
which every candidate is clamped as there): over every N searched, M = the
rounded slope and its neighbours (+-2) and the ends of the exact M interval, and for each M
both ends of every B range that puts one level's transition where the reference has it, plus
the rounded b; the fewest mismatching inputs, then the smallest N, |M|, |B|, M, B. Counts are
exact integer sums over the levels (the formulas of ``solver._agreements`` and
``_agreements_nonpos``).

What makes it fast besides numba: for M > 0 a level can agree only while B lies in one
interval (its support), so the sum of the level widths whose support holds B bounds the
agreement at B from above; a candidate whose bound is below the best agreement found so far
(strictly more mismatches) is skipped without its exact count, and a count stops as soon as
more inputs disagree than for the best found. Skipping never changes the answer: only
strictly worse candidates are skipped.

Channels outside the envelope (more than 4096 levels, N above 40, |x| above 2^31, products
that could overflow int64) return None: the Python search runs instead.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from numba import njit

from .fast_common import _narrow_m, _tie_up
from .fast_rounding import HW_CODES, _turn

__all__ = ["best_inexact_fast"]

_LEVELS_MAX = 1 << 17
_N_MAX = 40
_X_MAX = 1 << 31
_V_MAX = 1 << 60


@njit(cache=True, inline="always")
def _cdiv(p, q):
    return -((-p) // q)


@njit(cache=True)
def _hull(xs, ls, cs, npts, n, upper, out):
    """Exact upper (lower) hull of (x, l*2^n + c), x strictly increasing: vertex indices."""
    nh = 0
    for p in range(npts):
        while nh >= 2:
            i0 = out[nh - 2]
            i1 = out[nh - 1]
            t = _turn(n, xs[i1] - xs[i0], ls[i1] - ls[i0], cs[i1] - cs[i0],
                      xs[p] - xs[i0], ls[p] - ls[i0], cs[p] - cs[i0])
            if (upper and t >= 0) or ((not upper) and t <= 0):
                nh -= 1
            else:
                break
        out[nh] = p
        nh += 1
    return nh


@njit(cache=True, inline="always")
def _clamp(v, lim, k):
    """v clamped to the limits lim[k:k+4] = (has_lo, lo, has_hi, hi) of M (k 0) or B (4)."""
    if lim[k] and v < lim[k + 1]:
        v = lim[k + 1]
    if lim[k + 2] and v > lim[k + 3]:
        v = lim[k + 3]
    return v


@njit(cache=True)
def _better(c1, n1, m1, b1, c2, n2, m2, b2, sgn):
    """Key (count, N, |M|, |B|, M*sign, B) of candidate 1 below that of candidate 2."""
    if c1 != c2:
        return c1 < c2
    if n1 != n2:
        return n1 < n2
    if abs(m1) != abs(m2):
        return abs(m1) < abs(m2)
    if abs(b1) != abs(b2):
        return abs(b1) < abs(b2)
    if m1 * sgn != m2 * sgn:
        return m1 * sgn < m2 * sgn
    return b1 < b2


_NEG = -(np.int64(1) << 62)  # below every candidate B and breakpoint
_POS = np.int64(1) << 62  # above every one


@njit(cache=True, inline="always")
def _bit_add(tree, i, v):
    i += 1
    while i < tree.shape[0]:
        tree[i] += v
        i += i & -i


@njit(cache=True, inline="always")
def _bit_sum(tree, i):
    """Sum of the first i slots."""
    s = np.int64(0)
    while i > 0:
        s += tree[i]
        i -= i & -i
    return s


@njit(cache=True)
def _floor_family(fc, fs, fe, nf, d, sc, nc, sgn, out):
    """out[k] += sgn * sum of floor((sc[k] - fc[j]) / d) over the members j with
    fs[j] <= sc[k] < fe[j], for sorted sc: one sweep, O((nf + nc) log nf).

    floor((B - c)/d) = qB - qc - [rc > rB] with B = qB*d + rB, c = qc*d + rc (0 <= r < d),
    so a running count, the running sum of qc and a Fenwick tree over the ranks of rc give
    every sum exactly (the caller bounds |qB|, |qc| times the count below 2^62).
    """
    if nf == 0:
        return
    rc = np.empty(nf, np.int64)
    qc = np.empty(nf, np.int64)
    for j in range(nf):
        qc[j] = fc[j] // d
        rc[j] = fc[j] - qc[j] * d
    by_r = np.argsort(rc, kind="mergesort")
    slot = np.empty(nf, np.int64)
    rs = np.empty(nf, np.int64)
    for k in range(nf):
        slot[by_r[k]] = k
        rs[k] = rc[by_r[k]]
    by_s = np.argsort(fs[:nf], kind="mergesort")
    by_e = np.argsort(fe[:nf], kind="mergesort")
    tree = np.zeros(nf + 1, np.int64)
    cnt = np.int64(0)
    sumq = np.int64(0)
    ia = 0
    ir = 0
    for k in range(nc):
        bv = sc[k]
        while ia < nf and fs[by_s[ia]] <= bv:
            j = by_s[ia]
            cnt += 1
            sumq += qc[j]
            _bit_add(tree, slot[j], 1)
            ia += 1
        while ir < nf and fe[by_e[ir]] <= bv:
            j = by_e[ir]
            cnt -= 1
            sumq -= qc[j]
            _bit_add(tree, slot[j], -1)
            ir += 1
        if cnt == 0:
            continue
        qb = bv // d
        rb = bv - qb * d
        le = np.searchsorted(rs, rb, side="right")  # members (all) with rc <= rB
        out[k] += sgn * (cnt * qb - sumq - (cnt - _bit_sum(tree, le)))


@njit(cache=True)
def _agree_sweep(m, nlev, lev, fst, lst, Lb, Lb1, Ub, qmin, qmax, sc, nc, out):
    """``solver._agreements`` (m > 0) / ``_agreements_nonpos`` (m <= 0) for every sorted
    candidate B in sc[:nc] at once, exactly; False when a bound on the sums' terms fails.

    Level j of the reference on [f, e] agrees on max(0, min(e, E(B)) - max(f, F(B)) + 1)
    inputs. For m > 0, F(B) = ceil((Lb - B)/m), E(B) = ceil((Lb1 - B)/m) - 1 and the count is
    0 outside [P0, P3), else  1 + (e or E(B)) - (f or F(B))  with E(B) from B >= P2 and F(B)
    below P1 (P0 = Lb - m*e, P1 = Lb - m*f, P2 = Lb1 - m*e, P3 = Lb1 - m*f; a missing
    bound at qmin / qmax is a breakpoint at -inf / +inf). For m < 0 (k = -m) the model's
    level is [ceil((B - Ub)/k), floor((B - Lb)/k)]: the same with Q0 = Lb + k*f,
    Q1 = Ub + k*f + 1, Q2 = Lb + k*e, Q3 = Ub + k*e + 1. For m == 0 the level counts whole
    where Lb <= B <= Ub. Sums of the constant parts by difference events, of the floor parts
    by ``_floor_family``: O(levels + candidates) log per (N, M), no level-by-candidate loop.
    """
    cpos = np.empty(8 * nlev, np.int64)
    cdel = np.empty(8 * nlev, np.int64)
    pc = np.empty(nlev, np.int64)
    ps = np.empty(nlev, np.int64)
    pe = np.empty(nlev, np.int64)
    mc = np.empty(nlev, np.int64)
    ms_ = np.empty(nlev, np.int64)
    me = np.empty(nlev, np.int64)
    ne = 0
    npl = 0
    nmi = 0
    k = -m if m < 0 else m
    for j in range(nlev):
        t = lev[j]
        f = fst[j]
        e = lst[j]
        has_lb = t > qmin
        has_ub = t < qmax
        if m == 0:
            cpos[ne] = Lb[j] if has_lb else _NEG
            cdel[ne] = e - f + 1
            cpos[ne + 1] = Ub[j] + 1 if has_ub else _POS
            cdel[ne + 1] = -(e - f + 1)
            ne += 2
            continue
        if m > 0:
            p0 = Lb[j] - m * e if has_lb else _NEG
            p1 = Lb[j] - m * f if has_lb else _NEG
            p2 = Lb1[j] - m * e if has_ub else _POS
            p3 = Lb1[j] - m * f if has_ub else _POS
            # +1 on [p0, p3), +e on [p0, p2), -f on [p1, p3), -1 on [p2, p3)
            cpos[ne], cdel[ne], cpos[ne + 1], cdel[ne + 1] = p0, 1 + e, p3, -1
            cpos[ne + 2], cdel[ne + 2], cpos[ne + 3], cdel[ne + 3] = p2, -e - 1, p1, -f
            cpos[ne + 4], cdel[ne + 4] = p3, f + 1
            ne += 5
            pc[npl], ps[npl], pe[npl] = Lb[j], p0, p1  # -F(B) = floor((B - Lb)/m)
            npl += np.int64(p0 < p1)
            mc[nmi], ms_[nmi], me[nmi] = Lb1[j], p2, p3  # E(B) + 1 = -floor((B - Lb1)/m)
            nmi += np.int64(p2 < p3)
        else:
            q0 = Lb[j] + k * f if has_lb else _NEG
            q2 = Lb[j] + k * e if has_lb else _NEG
            q1 = Ub[j] + k * f + 1 if has_ub else _POS
            q3 = Ub[j] + k * e + 1 if has_ub else _POS
            # +1 on [q0, q3), +e on [q2, q3), -f on [q0, q1)
            cpos[ne], cdel[ne], cpos[ne + 1], cdel[ne + 1] = q0, 1 - f, q3, -1 - e
            cpos[ne + 2], cdel[ne + 2], cpos[ne + 3], cdel[ne + 3] = q2, e, q1, f
            ne += 4
            pc[npl], ps[npl], pe[npl] = Lb[j], q0, q2  # H(B) = floor((B - Lb)/k)
            npl += np.int64(q0 < q2)
            mc[nmi], ms_[nmi], me[nmi] = Ub[j] - k + 1, q1, q3  # G(B) = ceil((B - Ub)/k)
            nmi += np.int64(q1 < q3)
    if m != 0:  # |qB|, |qc| times the count must stay below 2^62 (exact int64 sums)
        big = np.int64(0)
        for r in range(nc):
            big = max(big, abs(sc[r] // k))
        for r in range(npl):
            big = max(big, abs(pc[r] // k))
        for r in range(nmi):
            big = max(big, abs(mc[r] // k))
        if big + 1 > (np.int64(1) << 61) // (nlev + 1):
            return False
    order = np.argsort(cpos[:ne], kind="mergesort")
    acc = np.int64(0)
    ie = 0
    for r in range(nc):
        bv = sc[r]
        while ie < ne and cpos[order[ie]] <= bv:
            acc += cdel[order[ie]]
            ie += 1
        out[r] = acc
    if m != 0:
        _floor_family(pc, ps, pe, npl, k, sc, nc, 1, out)
        _floor_family(mc, ms_, me, nmi, k, sc, nc, -1, out)
    return True


@njit(cache=True)
def _search(lev, fst, lst, lo, hi, qmin, qmax, hcode, sgn, n_values, base, bcand, lim):
    nlev = lev.shape[0]
    total = hi - lo + 1
    xmax = max(abs(lo), abs(hi), 1)
    # constraint points (unscaled level, offset from the common -half) and their x
    lx = np.empty(nlev, np.int64)
    ll = np.empty(nlev, np.int64)
    lc = np.empty(nlev, np.int64)
    ux = np.empty(nlev, np.int64)
    ul = np.empty(nlev, np.int64)
    uc = np.empty(nlev, np.int64)
    hl = np.empty(nlev, np.int64)
    hu = np.empty(nlev, np.int64)
    Lb = np.empty(nlev, np.int64)  # bound_lower(t), per present level
    Lb1 = np.empty(nlev, np.int64)  # bound_lower(t + 1)
    Ub = np.empty(nlev, np.int64)  # bound_upper(t + 1)
    ms = np.empty(8, np.int64)
    cands = np.empty(4 * nlev + 1, np.int64)
    agree = np.empty(4 * nlev + 1, np.int64)
    found = False
    bc = bn = bm = bb_ = np.int64(0)
    # The best key is a total order: the order of evaluation does not change the answer.
    for nr in range(n_values.shape[0]):
        ni = n_values.shape[0] - 1 - nr
        n = n_values[ni]
        if n > _N_MAX:
            return False, 0, 0, 0, 0
        rnd = hcode != 0 and n > 0
        half = (np.int64(1) << (n - 1)) if rnd else np.int64(0)
        nl = 0
        nu = 0
        for j in range(nlev):
            t = lev[j]
            up_t = True if not rnd else _tie_up(hcode, t)
            up_t1 = True if not rnd else _tie_up(hcode, t + 1)
            Lb[j] = (t << n) - half + (0 if up_t else 1)
            Lb1[j] = ((t + 1) << n) - half + (0 if up_t1 else 1)
            Ub[j] = ((t + 1) << n) - half - (1 if up_t1 else 0)
            if t > qmin:
                lx[nl] = fst[j]
                ll[nl] = t
                lc[nl] = 0 if up_t else 1
                nl += 1
            if t < qmax:
                ux[nu] = lst[j]
                ul[nu] = t + 1
                uc[nu] = -1 if up_t1 else 0
                nu += 1
        # the exact M interval (constraints.m_interval) from the scaled hulls
        nhl = _hull(lx, ll, lc, nl, n, True, hl)
        nhu = _hull(ux, ul, uc, nu, n, False, hu)
        has_lo = has_hi = False
        m_lo = m_hi = np.int64(0)
        empty = False
        for a_ in range(nhl):
            p = hl[a_]
            Li = (ll[p] << n) + lc[p] - half
            for b_ in range(nhu):
                q = hu[b_]
                d = Li - ((ul[q] << n) + uc[q] - half)
                m_lo, has_lo, m_hi, has_hi, ok = _narrow_m(d, lx[p] - ux[q], m_lo, has_lo, m_hi,
                                                           has_hi)
                if not ok:
                    empty = True
        if has_lo and has_hi and m_lo > m_hi:
            empty = True
        nm = 0
        for d in (0, -1, 1, -2, 2):
            ms[nm] = _clamp(base[ni] + d, lim, 0)
            nm += 1
        if not empty:
            if has_lo:
                ms[nm] = _clamp(m_lo, lim, 0)
                nm += 1
            if has_hi:
                ms[nm] = _clamp(m_hi, lim, 0)
                nm += 1
        for mi in range(nm):
            m = ms[mi]
            dup = False
            for mj in range(mi):
                dup |= ms[mj] == m
            if dup:
                continue
            if abs(m) >= _V_MAX // xmax:
                return False, 0, 0, 0, 0
            step = max(m, 1) - 1
            ncand = 2 * nl + 2 * nu + 1
            # the candidate B, clamped, sorted; duplicates (regular staircases give many)
            # counted once; every exact agreement from one sweep
            cands[0] = _clamp(bcand[ni], lim, 4)  # the rounded b
            for ci in range(ncand - 1):
                if ci < 2 * nl:
                    p = ci >> 1
                    v = (ll[p] << n) + lc[p] - half - m * lx[p]
                    cb = v if (ci & 1) == 0 else v + step
                else:
                    p = (ci - 2 * nl) >> 1
                    v = (ul[p] << n) + uc[p] - half - m * ux[p]
                    cb = v if (ci & 1) == 0 else v - step
                cands[ci + 1] = _clamp(cb, lim, 4)
            cands[:ncand].sort()
            nc = 0
            for cr in range(ncand):
                if cr == 0 or cands[cr] != cands[cr - 1]:
                    cands[nc] = cands[cr]
                    nc += 1
            if not _agree_sweep(m, nlev, lev, fst, lst, Lb, Lb1, Ub, qmin, qmax, cands, nc,
                                agree):
                return False, 0, 0, 0, 0
            for cr in range(nc):
                cb = cands[cr]
                cnt = total - agree[cr]
                if not found or _better(cnt, n, m, cb, bc, bn, bm, bb_, sgn):
                    found = True
                    bc, bn, bm, bb_ = cnt, n, m, cb
    return found, bm, bb_, bn, bc


def best_inexact_fast(st, a: float, b: float, rounding: str, qmin: int, qmax: int,
                      hw_rounding: str, n_values, m_lim=(None, None), b_lim=(None, None)
                      ) -> tuple[int, int, int, int] | None:
    """(M mirrored, B, N, mismatches) as ``solver._best_inexact`` finds them, or None.

    ``st`` is the channel's staircase (mirrored so it rises); ``m_lim`` (mirrored) and
    ``b_lim`` are a budget's inclusive limits (None = open): candidates are clamped to them.
    """
    nlev = len(st.levels)
    n_values = list(n_values)
    if (nlev > _LEVELS_MAX or not n_values or max(n_values) > _N_MAX or min(n_values) < 0
            or max(abs(st.lo), abs(st.hi)) > _X_MAX or max(abs(qmin), abs(qmax)) >= 1 << 20):
        return None
    fa = Fraction(a) * st.sign
    off = Fraction(0) if rounding == "floor" else Fraction(1, 2)
    base = [round(fa * (1 << n)) for n in n_values]
    bcand = [round((Fraction(b) + off) * (1 << n)) for n in n_values]
    if any(abs(v) >= 1 << 40 for v in base) or any(abs(v) >= _V_MAX for v in bcand):
        return None
    lims = [v for pair in (m_lim, b_lim) for v in pair]
    if any(v is not None and abs(v) >= 1 << 40 for v in lims):
        return None
    lim = np.array([x for v in lims for x in (v is not None, v or 0)], np.int64)
    hcode = 0 if hw_rounding == "floor" else HW_CODES[hw_rounding]
    found, m, bb, n, cnt = _search(
        np.asarray(st.levels, np.int64), np.asarray(st.first, np.int64),
        np.asarray(st.last, np.int64), np.int64(st.lo), np.int64(st.hi), np.int64(qmin),
        np.int64(qmax), hcode, np.int64(st.sign), np.asarray(n_values, np.int64),
        np.asarray(base, np.int64), np.asarray(bcand, np.int64), lim)
    if not found:
        return None
    return int(m), int(bb), int(n), int(cnt)
