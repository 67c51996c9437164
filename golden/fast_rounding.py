"""The fast exact solver for a hardware rounding stage (half_up, half_even, half_away), in numba.

Same answers as :func:`exactbn.golden.solver.solve_channel` with ``hw_rounding`` a rounding
stage and no budget (M, B, N, exact, n_min, certificate), by the same route:

1. The staircase (levels and their first inputs, mirrored so it rises) from golden/fast.py's
   exact transitions (float estimate, error-free settling of the near cases).
2. The slope interval over hull pairs of the unscaled points, exactly as
   ``constraints.slope_interval``; from it whether any N can work (an empty interval, a
   single non-dyadic point or an equal-x conflict: no), the closed-interval lower bound on N
   and, for a single dyadic point, the last N worth trying.
3. From that bound upward, per N: the scaled points L(l, N), U(u, N) (``constraints``), the
   exact upper hull of the lower points and lower hull of the upper points, the integer M
   interval from hull-vertex pairs, the M closest to 0, and the B closest to 0 from every
   point; the first N with a B is the answer. A scaled point is l*2^N plus an offset in
   {-2^(N-1) - 1, ..., -2^(N-1) + 1}, so a hull turn is decided exactly as
   2^N*K + k with K the unscaled turn and k the offsets' turn (no 128-bit product). Only
   points whose float slack l - a*x is within 2^-N (plus a tolerance far above the float
   error) of a running prefix or suffix record can be hull vertices at N; the exact hulls
   are built from those.
4. The answer is re-checked against every constraint.

Channels outside the safe envelope (that of golden/fast.py, N above 40, products that could
overflow int64) get ``STATUS_FALLBACK``; channels with no exact parameters at any N (or at a
forced N) get ``STATUS_NO_EXACT``. Both are solved by the exact Python solver: nothing here
is guessed, and the best inexact parameters always come from it.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from .fast import _A_MAX, _A_MIN, _X_LIMIT, _first_exact, _staircase_ends
from .fast_common import _narrow_m, _next_digit, _tie_up, channel_arrays, result_arrays

__all__ = ["HW_CODES", "solve_rounding_fast", "solve_all_rounding"]

STATUS_OK = 0
STATUS_FALLBACK = 1
STATUS_NO_EXACT = 2

HW_CODES = {"half_up": 1, "half_even": 2, "half_away": 3}
_RCODES = {"floor": 0, "half_up": 1, "half_even": 2, "half_away": 3}
_N_MAX = 40  # scaled levels stay below 2^61
_Q_LIMIT = 1 << 20  # output levels, as golden/fast.py
_CHUNK = 64


@njit(cache=True, inline="always")
def _sgn(v):
    return (v > 0) - (v < 0)


@njit(cache=True, inline="always")
def _turn(n, dx1, dl1, dc1, dx2, dl2, dc2):
    """Exact sign of the cross product of (dx1, dl1*2^n + dc1) and (dx2, dl2*2^n + dc2).

    It equals 2^n*K + k with K = dx1*dl2 - dl1*dx2 (|K| < 2^55) and k = dx1*dc2 - dc1*dx2
    (|k| <= |dx1| + |dx2| < 2^34 for offsets in {-1, 0, 1}): formed only when 2^n*|K| < 2^62,
    otherwise its sign is K's.
    """
    K = dx1 * dl2 - dl1 * dx2
    k = dx1 * dc2 - dc1 * dx2
    if K == 0:
        return _sgn(k)
    if abs(K) >> (62 - n) != 0:
        return _sgn(K)
    return _sgn((K << n) + k)


@njit(cache=True)
def _scaled(lv, c, n, half):
    """lv*2^n + c - half."""
    return (lv << n) + c - half


@njit(cache=True)
def _solve_one(a, b, lo, hi, rcode, hcode, qmin, qmax, n_fixed, i, lev, fst,
               lx, ll, lc, ux, ul, uc, hl, hu, Fl, Fu, cl, cu, buf,
               status, M_out, B_out, N_out, nmin_out, alpha, cert, cflag):
    if not (abs(lo) <= _X_LIMIT and abs(hi) <= _X_LIMIT and lo <= hi and abs(b) <= _A_MAX):
        status[i] = 1
        return
    # ---- the staircase, mirrored so it rises --------------------------------------------------
    if a != 0.0 and not (_A_MIN <= abs(a) <= _A_MAX):
        status[i] = 1
        return
    sgn, A, mlo, mhi, t_lo, t_hi = _staircase_ends(a, b, lo, hi, rcode, qmin, qmax, buf)
    lev[0] = t_lo
    fst[0] = mlo
    nlev = 1
    if a != 0.0:
        if A < 1.0:  # dense: every level in (t_lo, t_hi] is present (as golden/fast.py)
            inv = 1.0 / A
            off = 0.0 if rcode == 0 else 0.5
            margin = (max(abs(float(mlo)), abs(float(mhi))) + 2.0) * 2.0**-48
            for t in range(t_lo + 1, t_hi + 1):
                z = ((float(t) - off) - b) * inv
                fz = np.floor(z)
                fr = z - fz
                if (fr <= margin) | (fr >= 1.0 - margin):
                    fst[nlev] = _first_exact(A, b, t, rcode, buf)
                else:
                    fst[nlev] = np.int64(fz) + 1
                lev[nlev] = t
                nlev += 1
        for t in range(t_lo + 1, t_hi + 1 if A >= 1.0 else t_lo + 1):
            f = _first_exact(A, b, t, rcode, buf)
            if f == fst[nlev - 1]:
                nlev -= 1  # the previous level is empty
            lev[nlev] = t
            fst[nlev] = f
            nlev += 1
    # lower points (first of every level above qmin), upper points (last of every level
    # below qmax, level + 1); offsets cs: +1 where the rounding's tie does not go up (lower),
    # -1 where it does (upper); the common -2^(N-1) is added when scaling.
    nl = 0
    for j in range(nlev):
        if lev[j] > qmin:
            lx[nl] = fst[j]
            ll[nl] = lev[j]
            nl += 1
    nu = 0
    for j in range(nlev):
        if lev[j] < qmax:
            ux[nu] = fst[j + 1] - 1 if j + 1 < nlev else mhi
            ul[nu] = lev[j] + 1
            nu += 1
    # ---- slope interval over hull pairs of the unscaled points --------------------------------
    # Only points near a running record of their slack can be hull vertices (see _deficits).
    tol = 2.0**-30 * (A * (abs(float(mlo)) + abs(float(mhi))) + abs(float(qmin))
                      + abs(float(qmax)) + 1.0)
    _deficits(lx, ll, nl, A, True, Fl)
    _deficits(ux, ul, nu, A, False, Fu)
    nhl, nhu = _hulls(lx, ll, lc, nl, Fl, ux, ul, uc, nu, Fu, 0, tol, cl, cu, hl, hu)
    lo_p = np.int64(0)
    lo_q = np.int64(0)  # 0: unbounded
    hi_p = np.int64(0)
    hi_q = np.int64(0)
    lo_i = lo_j = hi_i = hi_j = -1
    ok = True
    for u in range(nhl):
        xi = lx[hl[u]]
        li = ll[hl[u]]
        for v in range(nhu):
            dx = xi - ux[hu[v]]
            dl = li - ul[hu[v]]
            if dx > 0:
                if lo_q == 0 or dl * lo_q > lo_p * dx:
                    lo_p, lo_q, lo_i, lo_j = dl, dx, hl[u], hu[v]
            elif dx < 0:
                if hi_q == 0 or (-dl) * hi_q < hi_p * (-dx):
                    hi_p, hi_q, hi_i, hi_j = -dl, -dx, hl[u], hu[v]
            elif dl >= 0:
                ok = False
    if not ok:
        status[i] = 2
        return
    n_cap = _N_MAX + 1  # no cap: the search ends by itself (past the envelope: fallback)
    n0 = 0
    if lo_q != 0 and hi_q != 0:
        c = lo_p * hi_q - hi_p * lo_q
        if c > 0:
            status[i] = 2
            return
        if c == 0:  # a single point: only a dyadic one can be reached, up to N = k + 1
            g = np.int64(1)
            x0 = abs(lo_p)
            y0 = lo_q
            while y0 != 0:
                x0, y0 = y0, x0 % y0
            g = x0
            den = lo_q // g
            if den & (den - 1):
                status[i] = 2
                return
            k = 0
            while (np.int64(1) << k) < den:
                k += 1
            n_cap = max(k + 1, 1)
        # smallest N with ceil(lo*2^N) <= floor(hi*2^N): a lower bound on the exact N
        k1 = lo_p // lo_q
        r1 = lo_p - k1 * lo_q
        k2 = hi_p // hi_q
        r2 = hi_p - k2 * hi_q
        while k1 + (1 if r1 > 0 else 0) > k2:
            n0 += 1
            if n0 > _N_MAX:
                status[i] = 1
                return
            k1, r1 = _next_digit(k1, r1, lo_q)
            k2, r2 = _next_digit(k2, r2, hi_q)
    # tie offsets of the rounding stage (used from N >= 1)
    for p in range(nl):
        lc[p] = 0 if _tie_up(hcode, ll[p]) else 1
    for p in range(nu):
        uc[p] = -1 if _tie_up(hcode, ul[p]) else 0
    xmax = max(abs(mlo), abs(mhi), 1)
    n_min = -1
    n = n0
    r = _at_n(n, lx, ll, lc, nl, Fl, ux, ul, uc, nu, Fu, tol, cl, cu, hl, hu, xmax)
    while True:
        if r[0] == 1:
            status[i] = 1  # past the envelope
            return
        if r[0] == 0:
            n_min = n
            break
        n += 1
        if n > n_cap:
            break
        r = _at_n(n, lx, ll, lc, nl, Fl, ux, ul, uc, nu, Fu, tol, cl, cu, hl, hu, xmax)
    if n_min < 0:
        status[i] = 2  # a single dyadic point that no N up to its cap reaches
        return
    if n_fixed >= 0 and n_fixed != n_min:
        n = n_fixed
        r = _at_n(n, lx, ll, lc, nl, Fl, ux, ul, uc, nu, Fu, tol, cl, cu, hl, hu, xmax)
        if r[0] == 1:
            status[i] = 1
            return
        if r[0] == 2:
            status[i] = 2  # nothing exact at the forced shift
            return
    found_n = n
    mm, bb, bl_k, bh_k = r[1], r[2], r[3], r[4]
    n = found_n
    # ---- re-check every constraint --------------------------------------------------------
    if nlev > 1 and mm <= 0:
        status[i] = 1
        return
    half = 0 if n == 0 else np.int64(1) << (n - 1)
    bad = False
    for p in range(nl):
        c0 = lc[p] if n > 0 else 0
        bad |= mm * lx[p] + bb < _scaled(ll[p], c0, n, half)
    for p in range(nu):
        c0 = uc[p] if n > 0 else -1
        bad |= mm * ux[p] + bb > _scaled(ul[p], c0, n, half)
    if bad:
        status[i] = 1
        return
    status[i] = 0
    M_out[i] = mm * sgn
    B_out[i] = bb
    N_out[i] = n
    nmin_out[i] = n_min
    if sgn > 0:
        alpha[i, 0], alpha[i, 1], alpha[i, 2], alpha[i, 3] = lo_p, lo_q, hi_p, hi_q
    else:
        alpha[i, 0], alpha[i, 1], alpha[i, 2], alpha[i, 3] = -hi_p, hi_q, -lo_p, lo_q
    flags = 0
    if lo_q != 0:
        cert[i, 0] = sgn * lx[lo_i]
        cert[i, 1] = ll[lo_i]
        cert[i, 2] = sgn * ux[lo_j]
        cert[i, 3] = ul[lo_j] - 1
        flags |= 1
    if hi_q != 0:
        cert[i, 4] = sgn * lx[hi_i]
        cert[i, 5] = ll[hi_i]
        cert[i, 6] = sgn * ux[hi_j]
        cert[i, 7] = ul[hi_j] - 1
        flags |= 2
    if bl_k >= 0:
        cert[i, 8] = sgn * lx[bl_k]
        cert[i, 9] = ll[bl_k]
        flags |= 4
    if bh_k >= 0:
        cert[i, 10] = sgn * ux[bh_k]
        cert[i, 11] = ul[bh_k] - 1
        flags |= 8
    cflag[i] = flags


@njit(cache=True)
def _deficits(xs, ls, npts, A, upper, F):
    """Per point: how far (in levels) its slack l - A*x lies behind the running records.

    A vertex of the upper hull of (x, l*2^N + c) with offsets c in a range of width 1 is a
    prefix or suffix maximum of l*2^N + c - A*2^N*x (its supporting slope is at least or at
    most A*2^N), so its slack is at most 2^-N below the best slack before or after it; for
    the lower hull the same with minima. ``F`` is that distance (negative for a record).
    """
    run = -np.inf
    for p in range(npts):
        v = float(ls[p]) - A * float(xs[p])
        if not upper:
            v = -v
        F[p] = run - v
        run = v if v > run else run
    run = -np.inf
    for p in range(npts - 1, -1, -1):
        v = float(ls[p]) - A * float(xs[p])
        if not upper:
            v = -v
        d = run - v
        F[p] = d if d < F[p] else F[p]
        run = v if v > run else run


@njit(cache=True)
def _hulls(lx, ll, lc, nl, Fl, ux, ul, uc, nu, Fu, n, tol, cl, cu, hl, hu):
    """Exact hulls at N of the points whose deficit allows a vertex (a superset of them)."""
    lim = tol if n == 0 else 2.0**-n + tol  # N == 0: constant offsets, the plain hull
    ncl = 0
    for p in range(nl):
        cl[ncl] = p
        ncl += np.int64(Fl[p] <= lim)
    ncu = 0
    for p in range(nu):
        cu[ncu] = p
        ncu += np.int64(Fu[p] <= lim)
    # N == 0: no rounding stage (ties go up: L = l, U = u - 1): offsets 0 and -1
    nhl = _hull_n(lx, ll, lc, cl, ncl, n, True, hl, 0)
    nhu = _hull_n(ux, ul, uc, cu, ncu, n, False, hu, -1)
    return nhl, nhu


@njit(cache=True)
def _at_n(n, lx, ll, lc, nl, Fl, ux, ul, uc, nu, Fu, tol, cl, cu, hl, hu, xmax):
    """``solver._solve_at_n``: (0 found / 2 none / 1 overflow, M, B, bind_lo, bind_hi).

    The M interval comes from the exact scaled hulls (built from the points that can be
    vertices at this N); B from the hull vertices (the first extreme point in x order is a
    vertex, so it is the one ``constraints.b_interval`` finds over every point).
    """
    if n > _N_MAX:
        return 1, np.int64(0), np.int64(0), -1, -1
    half = 0 if n == 0 else np.int64(1) << (n - 1)
    nhl, nhu = _hulls(lx, ll, lc, nl, Fl, ux, ul, uc, nu, Fu, n, tol, cl, cu, hl, hu)
    has_lo = False
    has_hi = False
    m_lo = np.int64(0)
    m_hi = np.int64(0)
    for a_ in range(nhl):
        p = hl[a_]
        Li = _scaled(ll[p], lc[p] if n > 0 else 0, n, half)
        for b_ in range(nhu):
            q = hu[b_]
            Uj = _scaled(ul[q], uc[q] if n > 0 else -1, n, half)
            m_lo, has_lo, m_hi, has_hi, ok = _narrow_m(Li - Uj, lx[p] - ux[q], m_lo, has_lo,
                                                       m_hi, has_hi)
            if not ok:
                return 2, np.int64(0), np.int64(0), -1, -1
    if has_lo and has_hi and m_lo > m_hi:
        return 2, np.int64(0), np.int64(0), -1, -1
    if (not has_lo or m_lo <= 0) and (not has_hi or m_hi >= 0):
        m = np.int64(0)
    elif has_lo and m_lo > 0:
        m = m_lo
    else:
        m = m_hi
    if abs(m) > (np.int64(1) << 60) // xmax:
        return 1, np.int64(0), np.int64(0), -1, -1
    bl_k = -1
    bh_k = -1
    b_lo = np.int64(0)
    b_hi = np.int64(0)
    for a_ in range(nhl):
        p = hl[a_]
        v = _scaled(ll[p], lc[p] if n > 0 else 0, n, half) - m * lx[p]
        if bl_k < 0 or v > b_lo:
            b_lo = v
            bl_k = p
    for a_ in range(nhu):
        p = hu[a_]
        v = _scaled(ul[p], uc[p] if n > 0 else -1, n, half) - m * ux[p]
        if bh_k < 0 or v < b_hi:
            b_hi = v
            bh_k = p
    if bl_k >= 0 and bh_k >= 0 and b_lo > b_hi:
        return 2, np.int64(0), np.int64(0), -1, -1
    if (bl_k < 0 or b_lo <= 0) and (bh_k < 0 or b_hi >= 0):
        bb = np.int64(0)
    elif bl_k >= 0 and b_lo > 0:
        bb = b_lo
    else:
        bb = b_hi
    return 0, m, bb, bl_k, bh_k


@njit(cache=True)
def _hull_n(xs, ls, cs, idx, npts, n, upper, out, c_at_0):
    """Hull of the points idx[:npts] scaled to N (offsets cs from N >= 1, c_at_0 at N = 0)."""
    nh = 0
    for q in range(npts):
        p = idx[q]
        cp = cs[p] if n > 0 else c_at_0
        while nh >= 2:
            i0 = out[nh - 2]
            i1 = out[nh - 1]
            c0 = cs[i0] if n > 0 else c_at_0
            c1 = cs[i1] if n > 0 else c_at_0
            t = _turn(n, xs[i1] - xs[i0], ls[i1] - ls[i0], c1 - c0,
                      xs[p] - xs[i0], ls[p] - ls[i0], cp - c0)
            if (upper and t >= 0) or ((not upper) and t <= 0):
                nh -= 1
            else:
                break
        out[nh] = p
        nh += 1
    return nh


@njit(cache=True, parallel=True)
def _kernel(a, b, lo, hi, rcode, hcode, qmin, qmax, n_fixed,
            status, M_out, B_out, N_out, nmin_out, alpha, cert, cflag):
    c = a.shape[0]
    nlv = qmax - qmin + 2
    nchunks = (c + _CHUNK - 1) // _CHUNK
    for ch in prange(nchunks):
        lev = np.empty(nlv, np.int64)
        fst = np.empty(nlv, np.int64)
        lx = np.empty(nlv, np.int64)
        ll = np.empty(nlv, np.int64)
        lc = np.empty(nlv, np.int64)
        ux = np.empty(nlv, np.int64)
        ul = np.empty(nlv, np.int64)
        uc = np.empty(nlv, np.int64)
        hl = np.empty(nlv, np.int64)
        hu = np.empty(nlv, np.int64)
        Fl = np.empty(nlv, np.float64)
        Fu = np.empty(nlv, np.float64)
        cl = np.empty(nlv, np.int64)
        cu = np.empty(nlv, np.int64)
        buf = np.empty(8, np.float64)
        for i in range(ch * _CHUNK, min(c, (ch + 1) * _CHUNK)):
            _solve_one(a[i], b[i], lo[i], hi[i], rcode, hcode, qmin, qmax, n_fixed[i], i,
                       lev, fst, lx, ll, lc, ux, ul, uc, hl, hu, Fl, Fu, cl, cu, buf,
                       status, M_out, B_out, N_out, nmin_out, alpha, cert, cflag)


def solve_rounding_fast(a, b, lo, hi, rounding: str, hw_rounding: str, qmin: int, qmax: int,
                        n_fixed=None) -> dict:
    """Exact parameters of many channels with a hardware rounding stage (no budget).

    Arrays as :func:`golden.fast.solve_fast` (``status`` 0 solved, 1 outside the envelope,
    2 no exact parameters at any N / at the forced N); ``n_fixed`` None or a shift per
    channel (int or array).
    """
    if hw_rounding not in HW_CODES:
        raise ValueError(f"not a rounding stage: {hw_rounding!r}")
    a, b, lo_a, hi_a, nf = channel_arrays(a, b, lo, hi, n_fixed)
    c = a.shape[0]
    out = result_arrays(c, 12, sign=False)
    if int(qmax) < int(qmin) or max(abs(int(qmin)), abs(int(qmax))) >= _Q_LIMIT:
        out["status"][:] = STATUS_FALLBACK
    elif c:
        prev = numba.set_parallel_chunksize(1)
        try:
            _kernel(a, b, lo_a, hi_a, _RCODES[rounding], HW_CODES[hw_rounding], np.int64(qmin),
                    np.int64(qmax), nf, out["status"], out["M"], out["B"], out["N"],
                    out["n_min"], out["alpha"], out["cert"], out["cert_flags"])
        finally:
            numba.set_parallel_chunksize(prev)
    return out


def _solutions(res, a, b, out, ranges, hw_rounding, n_fixed=None, approximate=True) -> list:
    from . import fast
    from .solver import ChannelSolution, solve_channel

    status = res["status"]
    ok = np.flatnonzero(status == STATUS_OK)
    certs = dict(zip(ok.tolist(), fast.certificates_of(res, ok, hw_rounding), strict=True))
    M, B, N, n_min = (res[k].tolist() for k in ("M", "B", "N", "n_min"))
    sols = []
    for i, st in enumerate(status.tolist()):
        if st == STATUS_OK:
            sols.append(ChannelSolution(M[i], B[i], N[i], True, 0, 0, certs[i], True, n_min[i]))
        elif st == STATUS_NO_EXACT and not approximate and n_fixed is None:
            # what solve_channel returns for a channel exact at no N, without the search
            sols.append(ChannelSolution(0, 0, 0, False, -1, -1, None, False, None))
        else:
            lo, hi = ranges[i]
            sols.append(solve_channel(float(a[i]), float(b[i]), out.rounding, out.qmin,
                                      out.qmax, int(lo), int(hi), hw_rounding=hw_rounding,
                                      n_fixed=n_fixed, approximate=approximate))
    return sols


def solve_all_rounding(a, b, out, ranges, hw_rounding: str, shift_mode: str,
                       approximate: bool = True) -> list:
    """``solver._solve_all`` for a rounding stage without a budget: identical results."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    lim = _X_LIMIT + 1
    lo_i = np.array([int(r[0]) if abs(int(r[0])) <= _X_LIMIT else lim for r in ranges],
                    np.int64)
    hi_i = np.array([int(r[1]) if abs(int(r[1])) <= _X_LIMIT else lim for r in ranges],
                    np.int64)
    res = solve_rounding_fast(a, b, lo_i, hi_i, out.rounding, hw_rounding, out.qmin, out.qmax)
    first_approx = approximate and shift_mode != "shared"
    sols = _solutions(res, a, b, out, ranges, hw_rounding, approximate=first_approx)
    if shift_mode == "shared":
        if not any(s.exact for s in sols):
            sols = _solutions(res, a, b, out, ranges, hw_rounding)
        n_shared = max((s.N for s in sols if s.exact), default=max(s.N for s in sols))
        res = solve_rounding_fast(a, b, lo_i, hi_i, out.rounding, hw_rounding, out.qmin,
                                  out.qmax, n_fixed=n_shared)
        sols = _solutions(res, a, b, out, ranges, hw_rounding, n_fixed=n_shared)
    return sols
