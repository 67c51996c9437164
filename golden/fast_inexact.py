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

_LEVELS_MAX = 4096
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


@njit(cache=True)
def _agree_pos(m, bb, nlev, lev, fst, lst, Lb, Lb1, qmin, qmax, far_lo, far_hi, w, worst):
    """``solver._agreements`` for one (M > 0, B): inputs where model and reference agree.

    Levels are taken from both ends inward; once more than ``worst`` inputs disagree the
    candidate is strictly worse than the best found and -1 is returned.
    """
    acc = 0
    miss = 0
    for r in range(nlev):
        j = (r >> 1) if (r & 1) == 0 else nlev - 1 - (r >> 1)
        t = lev[j]
        if t <= qmin:
            fm = far_lo
        else:
            fm = min(max(_cdiv(Lb[j] - bb, m), far_lo), far_hi)
        if t + 1 > qmax:
            em = far_hi - 1
        else:
            em = min(max(_cdiv(Lb1[j] - bb, m), far_lo), far_hi) - 1
        ov = min(lst[j], em) - max(fst[j], fm) + 1
        ov = ov if ov > 0 else 0
        acc += ov
        miss += w[j] - ov
        if miss > worst:
            return -1
    return acc


@njit(cache=True)
def _agree_nonpos(m, bb, nlev, lev, fst, lst, Lb, Ub, qmin, qmax):
    """``solver._agreements_nonpos`` for one (M <= 0, B)."""
    k = -m
    acc = 0
    for j in range(nlev):
        t = lev[j]
        has_lb = t > qmin
        has_ub = t < qmax
        f = fst[j]
        e = lst[j]
        if k == 0:
            if (not has_lb or bb >= Lb[j]) and (not has_ub or bb <= Ub[j]):
                acc += e - f + 1
            continue
        x_lo = f if not has_ub else max(f, _cdiv(bb - Ub[j], k))
        x_hi = e if not has_lb else min(e, (bb - Lb[j]) // k)
        if x_hi >= x_lo:
            acc += x_hi - x_lo + 1
    return acc


@njit(cache=True)
def _search(lev, fst, lst, lo, hi, qmin, qmax, hcode, sgn, n_values, base, bcand, lim):
    nlev = lev.shape[0]
    total = hi - lo + 1
    far_lo = lo - 1
    far_hi = hi + 1
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
    s_lo = np.empty(nlev, np.int64)
    s_hi = np.empty(nlev, np.int64)
    w = np.empty(nlev, np.int64)
    ev_s = np.empty(nlev, np.int64)
    ev_e = np.empty(nlev, np.int64)
    cw_s = np.empty(nlev + 1, np.int64)
    cw_e = np.empty(nlev + 1, np.int64)
    ms = np.empty(8, np.int64)
    cands = np.empty(4 * nlev + 1, np.int64)
    for j in range(nlev):
        w[j] = lst[j] - fst[j] + 1
    found = False
    bc = bn = bm = bb_ = np.int64(0)
    # Order only speeds the pruning (the best key does not depend on it): the finest N, the
    # rounded slope and the rounded b first give a good incumbent early.
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
            # support of every level (M > 0): the B where it can agree at all
            ncand = 2 * nl + 2 * nu + 1
            if m > 0:
                for j in range(nlev):
                    t = lev[j]
                    s_lo[j] = -(np.int64(1) << 62) if t <= qmin else Lb[j] - m * lst[j]
                    s_hi[j] = (np.int64(1) << 62) if t + 1 > qmax else Lb1[j] - m * fst[j] - 1
                    if s_lo[j] > s_hi[j]:  # it agrees nowhere: counted in neither sum
                        s_lo[j] = np.int64(1) << 62
                        s_hi[j] = np.int64(1) << 62
                order_s = np.argsort(s_lo)
                order_e = np.argsort(s_hi)
                cw_s[0] = 0
                cw_e[0] = 0
                for j in range(nlev):
                    ev_s[j] = s_lo[order_s[j]]
                    cw_s[j + 1] = cw_s[j] + w[order_s[j]]
                    ev_e[j] = s_hi[order_e[j]]
                    cw_e[j + 1] = cw_e[j] + w[order_e[j]]
            # the candidate B, clamped; duplicates (regular staircases give many) counted once
            cands[0] = _clamp(bcand[ni], lim, 4)  # the rounded b first
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
            cands[1:ncand].sort()
            for cr in range(ncand):
                cb = cands[cr]
                if cr >= 1 and (cb == cands[0] or (cr >= 2 and cb == cands[cr - 1])):
                    continue
                if m > 0:
                    if found:
                        # agreement bound: widths of the levels whose support holds cb
                        k1 = np.searchsorted(ev_s, cb, side="right")
                        k2 = np.searchsorted(ev_e, cb, side="left")
                        if cw_s[k1] - cw_e[k2] < total - bc:
                            continue
                    agree = _agree_pos(m, cb, nlev, lev, fst, lst, Lb, Lb1, qmin, qmax,
                                       far_lo, far_hi, w, bc if found else total)
                    if agree < 0:
                        continue
                else:
                    agree = _agree_nonpos(m, cb, nlev, lev, fst, lst, Lb, Ub, qmin, qmax)
                cnt = total - agree
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
