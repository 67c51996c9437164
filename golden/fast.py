"""The fast exact solver for the folded form (hw_rounding="floor"), many channels at once.

Same answers as :func:`exactbn.golden.solver.solve_channel` (M, B, N, exact, certificate),
computed by the direct route (the open slope interval from hull pairs, no search over M or
N) in numba:

1. Level transitions ``first(t) = ceil((t - off - b) / a)`` in float64 (off = 0 for floor,
   1/2 otherwise). An estimate farther than a proven error bound from an integer is exact
   as it is; the rare ones within the bound (and every exact tie) are settled exactly with
   error-free float arithmetic (Dekker's product, Shewchuk's expansion sum: the exact sign of
   ``a*k + b - (t - off)``), then the tie rule of the rounding (parity for half_even, sign for
   half_away) decides.
2. Pruning: a vertex of the upper hull of the lower points (x, level) is a running record
   (prefix or suffix maximum) of its slack ``level - a*x``; likewise (minimum) for the lower
   hull of the upper points. With |a| < 1 every level is present and the upper slack is the
   lower one shifted by a, so one slack array serves both. Per block of 16 levels, the best
   slack of all earlier / later blocks bounds the running records; a level below both bounds
   (by more than a tolerance far above the float error) is no record. The first and last
   blocks are scanned exactly. Only the survivors (a superset of the hull vertices) go to
   the exact hulls. (|a| >= 1, where levels can be empty, and a == 0 keep every point.)
3. Exact hulls and the open slope interval (alpha_lo, alpha_hi) in int64 arithmetic (every
   product is bounded before it is formed), the smallest N with a multiple of 2^-N strictly
   inside, the smallest |M|, then the admissible B closest to 0.
4. The answer is re-checked against every constraint (all levels, not only hull vertices).

Channels outside the proven-safe envelope (|x| > 2^31, |a| or |b| beyond 2^+-500, products
that could overflow int64, a forced shift below the minimum) are flagged ``STATUS_FALLBACK``
and solved by the exact Python solver; channels with no exact folded solution are flagged
``STATUS_NO_EXACT`` (the exact solver then finds the best inexact parameters). Nothing is
ever guessed.
"""

from __future__ import annotations

import math
import os

# numba's OpenMP threads otherwise spin after every parallel loop: on a shared 2-core machine a
# layer-by-layer solve (many short loops) then ran slower on 2 threads than on 1 (measured:
# 52 layers x 500 channels, 0.29 s CPU / 0.89 s wall spinning, 0.08 s / 0.24 s passive).
# Read when the OpenMP runtime starts; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402
import numpy as np
from numba import njit, prange  # noqa: E402

from .fast_common import _mirror, _next_digit, _tie_up, channel_arrays, result_arrays  # noqa: E402

__all__ = [
    "STATUS_OK",
    "STATUS_FALLBACK",
    "STATUS_NO_EXACT",
    "ROUNDING_CODES",
    "solve_fast",
    "certificate_of",
    "solve_all_fast",
]

STATUS_OK = 0
STATUS_FALLBACK = 1  # outside the safe envelope: use solve_channel
STATUS_NO_EXACT = 2  # no exact folded solution at any N: use solve_channel for the best

ROUNDING_CODES = {"floor": 0, "half_up": 1, "half_even": 2, "half_away": 3}


_X_LIMIT = 1 << 31  # |x| bound of the safe envelope
_Z_LIMIT = float(1 << 41)  # transition estimates beyond this are "far outside the range"
_A_MIN = 2.0**-500
_A_MAX = 2.0**500
_BIG = np.int64(1) << np.int64(61)
_CHUNK = 128
_BLK = 16  # block size of the record pruning

# Columns of the certificate array (mirrored x' = sign*x is undone before output).
# 0..3 pair_lo (x_lower, level_lower, x_upper, level_upper), 4..7 pair_hi, 8..9 bind_lo
# (x, level), 10..11 bind_hi (x, level); levels of upper points are the level t whose last x
# it is (the constraint is "< t + 1"), as in the solver's certificate.
_CERT_COLS = 12


# ---------------------------------------------------------------------------------------------
# error-free float arithmetic
# ---------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _two_sum(a, b):
    s = a + b
    bb = s - a
    err = (a - (s - bb)) + (b - bb)
    return s, err


@njit(cache=True, inline="always")
def _split(a):
    c = 134217729.0 * a
    hi = c - (c - a)
    return hi, a - hi


@njit(cache=True, inline="always")
def _two_prod(a, b):
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    err = al * bl - (((p - ah * bh) - al * bh) - ah * bl)
    return p, err


@njit(cache=True)
def _exact_sign(t0, t1, t2, t3, buf):
    """Exact sign of t0 + t1 + t2 + t3 (Shewchuk's grow-expansion; no overflow assumed)."""
    buf[0] = t0
    n = 1
    for k in range(3):
        q = t1 if k == 0 else (t2 if k == 1 else t3)
        for i in range(n):
            q, h = _two_sum(q, buf[i])
            buf[i] = h
        buf[n] = q
        n += 1
    for i in range(n - 1, -1, -1):
        if buf[i] > 0.0:
            return 1
        if buf[i] < 0.0:
            return -1
    return 0


# ---------------------------------------------------------------------------------------------
# exact transitions
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def _first_exact(A, b, t, rcode, buf):
    """Smallest integer x with R(A*x + b) >= t (A > 0), clamped to +-2^41 when far out."""
    off = 0.0 if rcode == 0 else 0.5
    c = float(t) - off  # exact: |t| < 2^20
    z = (c - b) / A  # relative error < 2^-52
    if z > _Z_LIMIT:
        return np.int64(1) << np.int64(41)
    if z < -_Z_LIMIT:
        return -(np.int64(1) << np.int64(41))
    fz = np.floor(z)
    fr = z - fz
    margin = abs(z) * 2.0**-48 + 2.0**-1000
    if fr > margin and 1.0 - fr > margin:
        return np.int64(fz) + 1
    k = fz if fr <= margin else fz + 1.0
    p, e = _two_prod(A, k)
    s = _exact_sign(p, e, b, -c, buf)
    ki = np.int64(k)
    if s > 0:
        return ki
    if s < 0:
        return ki + 1
    return ki if _tie_up(rcode, t) else ki + 1


@njit(cache=True)
def _level_at(A, b, x, rcode, qmin, qmax, buf):
    """Exact clip(R(A*x + b)) for A > 0: qmin + #{t in (qmin, qmax] : first(t) <= x}."""
    off = 0.0 if rcode == 0 else 0.5
    v = A * float(x) + b + off
    if v != v:
        v = 0.0
    v = min(max(v, float(qmin)), float(qmax))
    te = np.int64(np.floor(v))
    te = min(max(te, qmin), qmax)
    while te < qmax and _first_exact(A, b, te + 1, rcode, buf) <= x:
        te += 1
    while te > qmin and _first_exact(A, b, te, rcode, buf) > x:
        te -= 1
    return te


@njit(cache=True)
def _const_level(b, rcode, qmin, qmax):
    """Exact clip(R(b)) (the a == 0 channel)."""
    v = min(max(b, float(qmin) - 1.0), float(qmax) + 1.0)
    fl = np.floor(v)
    t = np.int64(fl)
    if rcode != 0:
        rem = v - fl  # exact
        if rem > 0.5:
            t += 1
        elif rem == 0.5 and _tie_up(rcode, t + 1):
            t += 1
    return min(max(t, qmin), qmax)


# ---------------------------------------------------------------------------------------------
# exact integer helpers
# ---------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _staircase_ends(a, b, lo, hi, rcode, qmin, qmax, buf):
    """(sign, |a|, lo', hi', level at lo', level at hi') of the staircase mirrored so that it
    rises; a == 0: sign 1, one level."""
    if a == 0.0:
        t = _const_level(b, rcode, qmin, qmax)
        return 1, 0.0, lo, hi, t, t
    sgn, A, mlo, mhi = _mirror(a, lo, hi)
    return (sgn, A, mlo, mhi, _level_at(A, b, mlo, rcode, qmin, qmax, buf),
            _level_at(A, b, mhi, rcode, qmin, qmax, buf))


@njit(cache=True, inline="always")
def _cross(ox, oy, ax, ay, bx, by):
    return (ax - ox) * (by - oy) - (ay - oy) * (bx - ox)


@njit(cache=True)
def _floor_scaled(p, q, n):
    """(floor(p*2^n/q), remainder, ok) for q > 0, by doubling; ok False if it grows past 2^61."""
    k = p // q
    r = p - k * q
    for _ in range(n):
        c = np.int64(2 * r >= q)
        k = 2 * k + c
        r = 2 * r - c * q
        if k > _BIG or k < -_BIG:
            return k, r, False
    return k, r, True


# ---------------------------------------------------------------------------------------------
# one channel
# ---------------------------------------------------------------------------------------------


@njit(cache=True, fastmath=True)
def _block_extremes(SL, NS, nlev, nblk, bmax, bmin):
    """NS = -SL; per block of SL[1:nlev]: bmax = max SL, bmin = max NS (finite values;
    fastmath only lets these reductions vectorise, they are exact anyway)."""
    for k in range(1, nlev):
        NS[k] = -SL[k]
    for q in range(nblk):
        k0 = 1 + q * _BLK
        k1 = min(k0 + _BLK, nlev)
        mx = SL[k0]
        mn = NS[k0]
        for k in range(k0 + 1, k1):
            mx = max(SL[k], mx)
            mn = max(NS[k], mn)
        bmax[q] = mx
        bmin[q] = mn


@njit(cache=True, inline="always")
def _above(S, k0, k1, thr, cand, nc, shift):
    """Append k - shift for every k in [k0, k1) with S[k] >= thr (no branches)."""
    for k in range(k0, k1):
        cand[nc] = k - shift
        nc += np.int64(S[k] >= thr)
    return nc


@njit(cache=True)
def _edge_first(SL, NS, k0, k1, thr_l, thr_u, tol, candL, ncl, candU, ncu):
    """First block: exact prefix records of SL (lower points) and NS (upper points, k - 1),
    or values at least the given bounds; the two chains run interleaved."""
    rl = -np.inf
    ru = -np.inf
    for k in range(k0, k1):
        v = SL[k]
        w = NS[k]
        fl = (v >= rl - tol) | (v >= thr_l)
        fu = (w >= ru - tol) | (w >= thr_u)
        rl = v if v > rl else rl
        ru = w if w > ru else ru
        candL[ncl] = k
        ncl += np.int64(fl)
        candU[ncu] = k - 1
        ncu += np.int64(fu)
    return ncl, ncu


@njit(cache=True)
def _edge_last(SL, NS, k0, k1, thr_l, thr_u, first, tol, flg, flgu, candL, ncl, candU, ncu):
    """Last block: exact suffix records, or values at least the given bounds; when it is
    also the first block, exact prefix records as well."""
    rl = -np.inf
    ru = -np.inf
    for k in range(k1 - 1, k0 - 1, -1):
        v = SL[k]
        w = NS[k]
        flg[k] = (v >= rl - tol) | (v >= thr_l)
        flgu[k] = (w >= ru - tol) | (w >= thr_u)
        rl = v if v > rl else rl
        ru = w if w > ru else ru
    rl = -np.inf
    ru = -np.inf
    for k in range(k0, k1):
        fl = flg[k]
        fu = flgu[k]
        if first:
            v = SL[k]
            w = NS[k]
            fl = fl | (v >= rl - tol)
            fu = fu | (w >= ru - tol)
            rl = v if v > rl else rl
            ru = w if w > ru else ru
        candL[ncl] = k
        ncl += np.int64(fl)
        candU[ncu] = k - 1
        ncu += np.int64(fu)
    return ncl, ncu


@njit(cache=True)
def _solve_one(a, b, lo, hi, rcode, qmin, qmax, n_fixed, i, ws_lev, ws_fst, SL,
               NS, candL, candU, bmax, bmin, pre_l, pre_u, suf_l, suf_u, flg, flgu,
               hx, hy, gx, gy, buf,
               status, M_out, B_out, N_out, nmin_out, sign_out, alpha, cert, cflag):
    if not (abs(lo) <= _X_LIMIT and abs(hi) <= _X_LIMIT and lo <= hi):
        status[i] = 1
        return
    if not (abs(b) <= _A_MAX):
        status[i] = 1
        return
    # ---- the staircase, mirrored so it rises: levels ws_lev, first x ws_fst -----------------
    # SL[j] = level - A*first (lower-point slack, up to the constant b); computed with the
    # transitions in the dense case, after them otherwise.
    dense = False
    if a != 0.0 and not (_A_MIN <= abs(a) <= _A_MAX):
        status[i] = 1
        return
    sgn, A, mlo, mhi, t_lo, t_hi = _staircase_ends(a, b, lo, hi, rcode, qmin, qmax, buf)
    ws_lev[0] = t_lo
    ws_fst[0] = mlo
    if a == 0.0:
        nlev = 1
        SL[0] = float(ws_lev[0])
    else:
        SL[0] = float(t_lo) - A * float(mlo)
        if A < 1.0:
            # Dense: z steps by 1/A > 1, so every level in (t_lo, t_hi] is present.
            nlev = t_hi - t_lo + 1
            dense = True
            inv = 1.0 / A
            off = 0.0 if rcode == 0 else 0.5
            # |z - z*| <= 3 ulp-relative (sub, reciprocal, product); margin far above it.
            margin = (max(abs(float(mlo)), abs(float(mhi))) + 2.0) * 2.0**-48
            nnear = 0
            for k in range(1, nlev):
                t = float(t_lo + k)
                z = ((t - off) - b) * inv
                fz = np.floor(z)
                fr = z - fz
                nnear += (fr <= margin) | (fr >= 1.0 - margin)
                f = fz + 1.0
                ws_fst[k] = np.int64(f)
                ws_lev[k] = t_lo + k
                SL[k] = t - A * f
            if nnear > 0:
                for k in range(1, nlev):
                    t = float(t_lo + k)
                    z = ((t - off) - b) * inv
                    fr = z - np.floor(z)
                    if (fr <= margin) | (fr >= 1.0 - margin):
                        f = _first_exact(A, b, t_lo + k, rcode, buf)
                        ws_fst[k] = f
                        SL[k] = t - A * float(f)
        else:
            nlev = 1
            for t in range(t_lo + 1, t_hi + 1):
                f = _first_exact(A, b, t, rcode, buf)
                if f == ws_fst[nlev - 1]:
                    nlev -= 1  # the previous level is empty
                ws_lev[nlev] = t
                ws_fst[nlev] = f
                nlev += 1
    sign_out[i] = sgn
    jl0 = 0 if ws_lev[0] > qmin else 1  # lower points: j in [jl0, nlev), at first[j]
    ju1 = nlev if ws_lev[nlev - 1] < qmax else nlev - 1  # upper points: j in [0, ju1)
    # Candidates: every vertex of the upper hull of the lower points is a prefix or suffix
    # maximum of its slack SL; every vertex of the lower hull of the upper points a prefix or
    # suffix minimum of its slack, which is SL[j + 1] + A when all levels are present.
    # Maxima over whole earlier/later blocks bound the running records, so testing against
    # them (with a tolerance above the float error) keeps a superset of the hull vertices.
    ncl = 0
    ncu = 0
    if dense and nlev > 1:
        tol = 2.0**-30 * (A * (abs(float(mlo)) + abs(float(mhi))) + abs(float(qmin))
                          + abs(float(qmax)) + 1.0)
        nblk = (nlev - 1 + _BLK - 1) // _BLK
        _block_extremes(SL, NS, nlev, nblk, bmax, bmin)
        # bounds of the running records from whole blocks: best before / after block q
        run_l = -np.inf
        run_u = -np.inf
        for q in range(nblk):
            pre_l[q] = run_l
            pre_u[q] = run_u
            run_l = bmax[q] if bmax[q] > run_l else run_l
            run_u = bmin[q] if bmin[q] > run_u else run_u
        run_l = -np.inf
        run_u = -np.inf
        for q in range(nblk - 1, -1, -1):
            suf_l[q] = run_l
            suf_u[q] = run_u
            run_l = bmax[q] if bmax[q] > run_l else run_l
            run_u = bmin[q] if bmin[q] > run_u else run_u
        if jl0 == 0:  # the first lower point (at mlo) goes first
            candL[0] = 0
            ncl = 1
        last = nblk - 1
        for q in range(nblk):
            k0 = 1 + q * _BLK
            k1 = min(k0 + _BLK, nlev)
            if q == last:
                # exact in-block suffix records (and prefix ones if it is also the first
                # block), or at least the best of the earlier blocks
                thr_l = pre_l[q] - tol if q > 0 else np.inf
                thr_u = pre_u[q] - tol if q > 0 else np.inf
                ncl, ncu = _edge_last(SL, NS, k0, k1, thr_l, thr_u, q == 0, tol, flg, flgu,
                                      candL, ncl, candU, ncu)
            elif q == 0:
                # exact in-block prefix records, or at least the best of the later blocks
                ncl, ncu = _edge_first(SL, NS, k0, k1, suf_l[q] - tol, suf_u[q] - tol, tol,
                                       candL, ncl, candU, ncu)
            else:
                thr = (pre_l[q] if pre_l[q] < suf_l[q] else suf_l[q]) - tol
                if bmax[q] >= thr:
                    ncl = _above(SL, k0, k1, thr, candL, ncl, 0)
                thr = (pre_u[q] if pre_u[q] < suf_u[q] else suf_u[q]) - tol
                if bmin[q] >= thr:
                    ncu = _above(NS, k0, k1, thr, candU, ncu, 1)
    else:
        for k in range(jl0, nlev):
            candL[ncl] = k
            ncl += 1
        for k in range(nlev - 1):
            candU[ncu] = k
            ncu += 1
    if ju1 == nlev:
        candU[ncu] = nlev - 1
        ncu += 1
    # Upper hull of the lower points (x = first, y = level).
    nhl = 0
    for c in range(ncl):
        j = candL[c]
        x0 = ws_fst[j]
        y0 = ws_lev[j]
        while nhl >= 2 and _cross(hx[nhl - 2], hy[nhl - 2], hx[nhl - 1], hy[nhl - 1],
                                  x0, y0) >= 0:
            nhl -= 1
        hx[nhl] = x0
        hy[nhl] = y0
        nhl += 1
    # Lower hull of the upper points (x = last, y = level + 1).
    nhu = 0
    for c in range(ncu):
        j = candU[c]
        x0 = ws_fst[j + 1] - 1 if j + 1 < nlev else mhi
        y0 = ws_lev[j] + 1
        while nhu >= 2 and _cross(gx[nhu - 2], gy[nhu - 2], gx[nhu - 1], gy[nhu - 1],
                                  x0, y0) <= 0:
            nhu -= 1
        gx[nhu] = x0
        gy[nhu] = y0
        nhu += 1
    # ---- the open slope interval over hull pairs (first strict extreme, as the solver) -------
    lo_p = np.int64(0)
    lo_q = np.int64(0)  # q == 0: unbounded
    hi_p = np.int64(0)
    hi_q = np.int64(0)
    lo_i = lo_j = hi_i = hi_j = -1
    for u in range(nhl):
        xi = hx[u]
        li = hy[u]
        for v in range(nhu):
            dx = xi - gx[v]
            dl = li - gy[v]
            if dx > 0:
                if lo_q == 0 or dl * lo_q > lo_p * dx:
                    lo_p = dl
                    lo_q = dx
                    lo_i = u
                    lo_j = v
            elif dx < 0:
                if hi_q == 0 or (-dl) * hi_q < hi_p * (-dx):
                    hi_p = -dl
                    hi_q = -dx
                    hi_i = u
                    hi_j = v
            elif dl >= 0:
                status[i] = 2
                return
    if lo_q != 0 and hi_q != 0 and lo_p * hi_q >= hi_p * lo_q:
        status[i] = 2
        return
    # ---- minimal N, then M ------------------------------------------------------------------
    k1 = r1 = k2 = r2 = np.int64(0)
    if lo_q == 0 or hi_q == 0:
        nmin = 0
    else:
        k1 = lo_p // lo_q
        r1 = lo_p - k1 * lo_q
        k2 = hi_p // hi_q
        r2 = hi_p - k2 * hi_q
        nmin = 0
        while True:
            m = k1 + 1
            if m < k2 or (m == k2 and r2 > 0):
                break
            nmin += 1
            if nmin > 60:
                status[i] = 1
                return
            k1, r1 = _next_digit(k1, r1, lo_q)
            k2, r2 = _next_digit(k2, r2, hi_q)
            if k2 > _BIG or k1 > _BIG or k1 < -_BIG or k2 < -_BIG:
                status[i] = 1
                return
    n = nmin if n_fixed < 0 else n_fixed
    if n < nmin or n > 60:
        status[i] = 1
        return
    has_lo = lo_q != 0
    has_hi = hi_q != 0
    m_lo = np.int64(0)
    m_hi = np.int64(0)
    if has_lo and has_hi and n == nmin:
        m_lo = k1 + 1  # the search above ended at n
        m_hi = k2 - 1 if r2 == 0 else k2
    else:
        if has_lo:
            k, r, ok = _floor_scaled(lo_p, lo_q, n)
            if not ok:
                status[i] = 1
                return
            m_lo = k + 1
        if has_hi:
            k, r, ok = _floor_scaled(hi_p, hi_q, n)
            if not ok:
                status[i] = 1
                return
            m_hi = k - 1 if r == 0 else k  # ceil(alpha_hi*2^n) - 1
    if (not has_lo or m_lo <= 0) and (not has_hi or m_hi >= 0):
        mm = np.int64(0)
    elif has_lo and m_lo > 0:
        mm = m_lo
    else:
        mm = m_hi
    # ---- B closest to 0 (bounds of every product checked first) ------------------------------
    lmax = max(abs(qmin), abs(qmax)) + 1
    if abs(mm) >= (np.int64(1) << np.int64(28)) or lmax >= (np.int64(1) << np.int64(60 - n)):
        status[i] = 1
        return
    has_blo = nhl > 0
    has_bhi = nhu > 0
    b_lo = np.int64(0)
    b_hi = np.int64(0)
    bl_k = bh_k = -1
    for u in range(nhl):
        val = (hy[u] << n) - mm * hx[u]
        if bl_k < 0 or val > b_lo:
            b_lo = val
            bl_k = u
    for v in range(nhu):
        val = (gy[v] << n) - 1 - mm * gx[v]
        if bh_k < 0 or val < b_hi:
            b_hi = val
            bh_k = v
    if has_blo and has_bhi and b_lo > b_hi:
        status[i] = 1  # cannot happen for an M inside the interval; never guess
        return
    if (not has_blo or b_lo <= 0) and (not has_bhi or b_hi >= 0):
        bb = np.int64(0)
    elif has_blo and b_lo > 0:
        bb = b_lo
    else:
        bb = b_hi
    # ---- re-check every constraint -----------------------------------------------------------
    if nlev > 1 and mm <= 0:
        status[i] = 1
        return
    bad = False
    for j in range(jl0, nlev):
        bad |= mm * ws_fst[j] + bb < (ws_lev[j] << n)
    for j in range(nlev - 1):
        bad |= mm * (ws_fst[j + 1] - 1) + bb > ((ws_lev[j] + 1) << n) - 1
    if ju1 == nlev:
        bad |= mm * mhi + bb > ((ws_lev[nlev - 1] + 1) << n) - 1
    if bad:
        status[i] = 1
        return
    # ---- outputs, in the original orientation ------------------------------------------------
    status[i] = 0
    M_out[i] = mm * sgn
    B_out[i] = bb
    N_out[i] = n
    nmin_out[i] = nmin
    # alpha ends as found (not reduced: certificate_of reduces); mirrored: (lo, hi) -> (-hi, -lo)
    lp = lo_p
    lq = lo_q
    hp = hi_p
    hq = hi_q
    if sgn > 0:
        alpha[i, 0] = lp
        alpha[i, 1] = lq
        alpha[i, 2] = hp
        alpha[i, 3] = hq
    else:
        alpha[i, 0] = -hp
        alpha[i, 1] = hq
        alpha[i, 2] = -lp
        alpha[i, 3] = lq
    flags = 0
    if has_lo:
        cert[i, 0] = sgn * hx[lo_i]
        cert[i, 1] = hy[lo_i]
        cert[i, 2] = sgn * gx[lo_j]
        cert[i, 3] = gy[lo_j] - 1
        flags |= 1
    if has_hi:
        cert[i, 4] = sgn * hx[hi_i]
        cert[i, 5] = hy[hi_i]
        cert[i, 6] = sgn * gx[hi_j]
        cert[i, 7] = gy[hi_j] - 1
        flags |= 2
    if has_blo:
        cert[i, 8] = sgn * hx[bl_k]
        cert[i, 9] = hy[bl_k]
        flags |= 4
    if has_bhi:
        cert[i, 10] = sgn * gx[bh_k]
        cert[i, 11] = gy[bh_k] - 1
        flags |= 8
    cflag[i] = flags


@njit(cache=True, parallel=True)
def _kernel(a, b, lo, hi, rcode, qmin, qmax, n_fixed,
            status, M_out, B_out, N_out, nmin_out, sign_out, alpha, cert, cflag):
    c = a.shape[0]
    nlv = qmax - qmin + 2
    nchunks = (c + _CHUNK - 1) // _CHUNK
    for ch in prange(nchunks):
        ws_lev = np.empty(nlv, np.int64)
        ws_fst = np.empty(nlv, np.int64)
        SL = np.empty(nlv, np.float64)
        candL = np.empty(nlv, np.int64)
        candU = np.empty(nlv, np.int64)
        nb = nlv // _BLK + 2
        bmax = np.empty(nb, np.float64)
        bmin = np.empty(nb, np.float64)
        NS = np.empty(nlv, np.float64)
        pre_l = np.empty(nb, np.float64)
        pre_u = np.empty(nb, np.float64)
        suf_l = np.empty(nb, np.float64)
        suf_u = np.empty(nb, np.float64)
        flg = np.empty(nlv, np.bool_)
        flgu = np.empty(nlv, np.bool_)
        hx = np.empty(nlv, np.int64)
        hy = np.empty(nlv, np.int64)
        gx = np.empty(nlv, np.int64)
        gy = np.empty(nlv, np.int64)
        buf = np.empty(8, np.float64)
        for i in range(ch * _CHUNK, min(c, (ch + 1) * _CHUNK)):
            _solve_one(a[i], b[i], lo[i], hi[i], rcode, qmin, qmax, n_fixed[i], i, ws_lev,
                       ws_fst, SL, NS, candL, candU, bmax, bmin, pre_l, pre_u, suf_l, suf_u,
                       flg, flgu,
                       hx, hy, gx, gy, buf, status, M_out, B_out, N_out, nmin_out, sign_out,
                       alpha, cert, cflag)


# ---------------------------------------------------------------------------------------------
# Python API
# ---------------------------------------------------------------------------------------------


def solve_fast(a, b, lo, hi, rounding: str, qmin: int, qmax: int, n_fixed=None) -> dict:
    """Exact folded-form parameters of many channels at once (hw_rounding="floor").

    ``a``, ``b``: float64 arrays (C,); ``lo``, ``hi``: input range, scalars or (C,) arrays;
    ``rounding``: the reference rounding; ``n_fixed``: None (minimal N per channel) or a
    shared shift (int or (C,) array). Returns a dict of arrays of length C:

    - ``status``: 0 solved here, 1 outside the safe envelope (use ``solve_channel``), 2 no
      exact folded solution at any N (``solve_channel`` finds the best inexact parameters);
    - ``M``, ``B``, ``N``, ``n_min`` (int64), ``exact`` (bool: status == 0);
    - ``alpha``: (C, 4) int64 ``[lo_num, lo_den, hi_num, hi_den]`` of the open slope
      interval in the original x (den > 0, not reduced; den 0 = unbounded);
    - ``cert``: (C, 12) int64 binding points (see ``certificate_of``), ``cert_flags`` (bit 0
      pair_lo, 1 pair_hi, 2 bind_lo, 3 bind_hi present), ``sign`` (+1/-1 mirror of x).

    Entries of channels with status != 0 are meaningless except ``status``.
    """
    if rounding not in ROUNDING_CODES:
        raise ValueError(f"unknown rounding {rounding!r}")
    a, b, lo_a, hi_a, nf = channel_arrays(a, b, lo, hi, n_fixed)
    c = a.shape[0]
    out = result_arrays(c, _CERT_COLS, sign=True)
    span = int(qmax) - int(qmin)
    if span < 0 or max(abs(int(qmin)), abs(int(qmax))) >= (1 << 20):
        out["status"][:] = STATUS_FALLBACK
    else:
        prev = numba.set_parallel_chunksize(1)  # dynamic: the machine may be shared
        try:
            _kernel(a, b, lo_a, hi_a, ROUNDING_CODES[rounding], np.int64(qmin), np.int64(qmax),
                    nf, out["status"], out["M"], out["B"], out["N"], out["n_min"], out["sign"],
                    out["alpha"], out["cert"], out["cert_flags"])
        finally:
            numba.set_parallel_chunksize(prev)
    out["exact"] = out["status"] == STATUS_OK
    return out


def _reduced(num: int, den: int) -> list[int] | None:
    if den == 0:
        return None
    g = math.gcd(num, den)
    return [num // g, den // g]


def certificate_of(res: dict, i: int, hw_rounding: str = "floor") -> dict:
    """The channel's certificate dict, exactly as ``solve_channel`` writes it."""
    return _certificate(res["cert"][i].tolist(), int(res["cert_flags"][i]),
                        res["alpha"][i].tolist(), hw_rounding)


def _certificate(cert: list, flags: int, al: list, hw_rounding: str) -> dict:
    pts: dict[tuple[int, str], int] = {}
    if flags & 1:
        pts[(cert[0], "lower")] = cert[1]
        pts[(cert[2], "upper")] = cert[3]
    if flags & 2:
        pts[(cert[4], "lower")] = cert[5]
        pts[(cert[6], "upper")] = cert[7]
    if flags & 4:
        pts[(cert[8], "lower")] = cert[9]
    if flags & 8:
        pts[(cert[10], "upper")] = cert[11]
    return {
        "points": [[x, lvl, kind] for (x, kind), lvl in sorted(pts.items())],
        "alpha_lo": _reduced(al[0], al[1]),
        "alpha_hi": _reduced(al[2], al[3]),
        "hw_rounding": hw_rounding,
    }


def _channel_solutions(res, a, b, rounding, qmin, qmax, ranges, n_fixed=None,
                       approximate=True):
    from .solver import ChannelSolution, solve_channel

    sols = []
    status = res["status"].tolist()
    M, B, N, n_min = (res[k].tolist() for k in ("M", "B", "N", "n_min"))
    ok = np.flatnonzero(res["status"] == STATUS_OK)  # certificates at once (vectorised)
    certs = dict(zip(ok.tolist(), certificates_of(res, ok), strict=True))
    for i in range(len(a)):
        if status[i] == STATUS_OK:
            sols.append(ChannelSolution(M[i], B[i], N[i], True, 0, 0, certs[i], True, n_min[i]))
        elif status[i] == STATUS_NO_EXACT and not approximate:
            # what solve_channel returns for a channel exact at no N (an empty slope
            # interval: status 2 does not depend on the shift), without the Python re-solve
            sols.append(ChannelSolution(0, 0, 0, False, -1, -1, None, False, None))
        else:
            lo, hi = ranges[i]
            nf = None if n_fixed is None else int(n_fixed)
            sols.append(solve_channel(float(a[i]), float(b[i]), rounding, qmin, qmax, int(lo),
                                      int(hi), hw_rounding="floor", n_fixed=nf,
                                      approximate=approximate))
    return sols


def solve_all_fast(a, b, out, ranges, shift_mode: str, approximate: bool = True) -> list:
    """``solver._solve_all`` for hw_rounding="floor" without a budget, via ``solve_fast``.

    Identical results (M, B, N, exact, mismatches, certificate, n_min); channels the fast
    path does not settle are solved by ``solve_channel``.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    lo = np.array([int(r[0]) for r in ranges], dtype=object)
    hi = np.array([int(r[1]) for r in ranges], dtype=object)
    if any(abs(v) > _X_LIMIT for v in lo) or any(abs(v) > _X_LIMIT for v in hi):
        lo_i = np.array([v if abs(v) <= _X_LIMIT else _X_LIMIT + 1 for v in lo], np.int64)
        hi_i = np.array([v if abs(v) <= _X_LIMIT else _X_LIMIT + 1 for v in hi], np.int64)
    else:
        lo_i, hi_i = lo.astype(np.int64), hi.astype(np.int64)
    res = solve_fast(a, b, lo_i, hi_i, out.rounding, out.qmin, out.qmax)
    sols = _channel_solutions(res, a, b, out.rounding, out.qmin, out.qmax, ranges,
                              approximate=approximate and shift_mode != "shared")
    if shift_mode == "shared":
        if not any(s.exact for s in sols):  # only then do the inexact channels' N matter
            sols = _channel_solutions(res, a, b, out.rounding, out.qmin, out.qmax, ranges)
        n_shared = max((s.N for s in sols if s.exact), default=max(s.N for s in sols))
        res = solve_fast(a, b, lo_i, hi_i, out.rounding, out.qmin, out.qmax, n_fixed=n_shared)
        sols = _channel_solutions(res, a, b, out.rounding, out.qmin, out.qmax, ranges, n_shared)
    return sols



_KINDS = np.array(["lower", "upper"], dtype=object)


def _fractions(num: np.ndarray, den: np.ndarray) -> list:
    """[num, den] reduced (as ``_reduced``), None where den == 0, for arrays at once."""
    g = np.gcd(num, den)
    g[g == 0] = 1
    pairs = np.stack([num // g, den // g], axis=1).astype(object).tolist()
    return [p if d else None for p, d in zip(pairs, den.tolist(), strict=True)]


def certificates_of(res: dict, idx: np.ndarray, hw_rounding: str = "floor") -> list[dict]:
    """``certificate_of(res, i)`` for every i in ``idx`` at once (vectorised; identical)."""
    import gc

    enabled = gc.isenabled()
    gc.disable()  # many small acyclic objects: the collector would scan them again and again
    try:
        return _certificates(res, idx, hw_rounding)
    finally:
        if enabled:
            gc.enable()


def _certificates(res: dict, idx, hw_rounding: str) -> list[dict]:
    from itertools import islice

    idx = np.asarray(idx, dtype=np.int64)
    cert = res["cert"][idx]
    flags = res["cert_flags"][idx].astype(np.int64)
    xs = cert[:, [0, 2, 4, 6, 8, 10]]
    lv = cert[:, [1, 3, 5, 7, 9, 11]]
    kind = np.array([0, 1, 0, 1, 0, 1], dtype=np.int64)
    bit = np.array([1, 1, 2, 2, 4, 8], dtype=np.int64)
    valid = (flags[:, None] & bit[None, :]) != 0
    # the dict of _certificate: key (x, kind), the last assignment wins, sorted by key
    key = np.where(valid, xs * 2 + kind[None, :], np.iinfo(np.int64).max)
    order = np.argsort(key, axis=1, kind="stable")
    key = np.take_along_axis(key, order, axis=1)
    xs = np.take_along_axis(xs, order, axis=1)
    lv = np.take_along_axis(lv, order, axis=1)
    kd = kind[order]
    vs = np.take_along_axis(valid, order, axis=1)
    last = np.ones_like(vs)
    last[:, :-1] = key[:, :-1] != key[:, 1:]
    keep = vs & last
    counts = keep.sum(axis=1).tolist()
    trip = np.empty((int(keep.sum()), 3), dtype=object)
    trip[:, 0] = xs[keep].astype(object)
    trip[:, 1] = lv[keep].astype(object)
    trip[:, 2] = _KINDS[kd[keep]]
    it = iter(trip.tolist())
    points = [list(islice(it, n)) for n in counts]
    al = res["alpha"][idx]
    a_lo = _fractions(al[:, 0], al[:, 1])
    a_hi = _fractions(al[:, 2], al[:, 3])
    return [{"points": p, "alpha_lo": lo, "alpha_hi": hi, "hw_rounding": hw_rounding}
            for p, lo, hi in zip(points, a_lo, a_hi, strict=True)]


def solve_layer_fast(layer, shift_mode: str, hw_rounding: str, budget):
    """``solver.solve_layer`` for a layer the fast path settles whole, built from arrays
    (no per-channel objects); None when it does not apply (then the general path runs).

    Applies to per-channel shift, no budget, hw_rounding floor or auto, and a layer whose
    every channel the kernel solves exactly (status 0): then the general path would return
    exactly these answers (auto keeps floor when every channel is exact with it)."""
    from exactbn.formats import SolvedLayer

    from .solver import _fast_min_channels, layer_affine

    if (budget is not None or shift_mode != "per-channel" or hw_rounding not in ("floor", "auto")
            or layer.channels < _fast_min_channels()):
        return None
    a, b = layer_affine(layer)
    c = layer.channels
    ranges = layer.input.ranges(c)
    lo = [r[0] for r in ranges]
    hi = [r[1] for r in ranges]
    if max(max(lo), -min(lo), max(hi), -min(hi)) > _X_LIMIT:
        return None
    out = layer.output
    res = solve_fast(a, b, np.array(lo, np.int64), np.array(hi, np.int64), out.rounding,
                     out.qmin, out.qmax)
    if not (res["status"] == STATUS_OK).all():
        return None
    M, B, N = res["M"].tolist(), res["B"].tolist(), res["N"].tolist()
    widths = SolvedLayer.widths_for([min(M), max(M)], [min(B), max(B)], [max(N)], shift_mode)
    zeros = [0] * c
    trues = [True] * c
    return SolvedLayer(
        name=layer.name, input=layer.input, output=out, hw_rounding="floor",
        shift_mode=shift_mode, a=a.tolist(), b=b.tolist(), M=M, B=B, N=N, widths=widths,
        exact=trues, mismatches=zeros, certificate=certificates_of(res, np.arange(c)),
        extra={"max_abs_error": list(zeros), "n_min": res["n_min"].tolist(),
               "exact_possible": list(trues)},
    )


def _range_arrays(inp, c: int) -> tuple[np.ndarray, np.ndarray] | None:
    """int64 (lo, hi) per channel of an input spec, or None beyond the kernel's envelope."""
    rng = inp.range
    if rng and isinstance(rng[0], list):
        lo = [r[0] for r in rng]
        hi = [r[1] for r in rng]
    else:
        lo, hi = [rng[0]], [rng[1]]
    if max(max(lo), -min(lo), max(hi), -min(hi)) > _X_LIMIT:
        return None
    if len(lo) == 1:
        return np.full(c, lo[0], np.int64), np.full(c, hi[0], np.int64)
    return np.array(lo, np.int64), np.array(hi, np.int64)


def solve_layers_fast(layers: list, shift_mode: str, hw_rounding: str, budget,
                      lazy_certificates: bool = True) -> list:
    """``solve_layer_fast`` for many layers with one kernel call per output spec (rounding,
    clip): the same SolvedLayer (or None: the general path decides) per layer, with the
    kernel's threads busy across layer boundaries. ``lazy_certificates``: certificates as a
    ``fast_certs.CertificateTable`` (encoded straight from the arrays when written, dicts
    built only when read) instead of a list of dicts."""
    from exactbn.formats import SolvedLayer

    from .fast_certs import CertificateTable
    from .solver import _fast_min_channels, layer_affine

    done: list = [None] * len(layers)
    if budget is not None or shift_mode != "per-channel" or hw_rounding not in ("floor", "auto"):
        return done
    groups: dict = {}
    for k, layer in enumerate(layers):
        c = layer.channels
        if c < _fast_min_channels():
            continue
        rr = _range_arrays(layer.input, c)
        if rr is None:
            continue
        out = layer.output
        groups.setdefault((out.rounding, out.qmin, out.qmax), []).append(
            (k, *layer_affine(layer), *rr))
    for (rounding, qmin, qmax), items in groups.items():
        cat = [np.concatenate([it[j] for it in items]) for j in range(1, 5)]
        res = solve_fast(*cat, rounding, qmin, qmax)
        ok = res["status"] == STATUS_OK
        start = 0
        for k, a, b, _lo, _hi in items:
            c = a.shape[0]
            sl = slice(start, start + c)
            start += c
            if not ok[sl].all():
                continue
            layer = layers[k]
            M, B, N = res["M"][sl].tolist(), res["B"][sl].tolist(), res["N"][sl].tolist()
            widths = SolvedLayer.widths_for([min(M), max(M)], [min(B), max(B)], [max(N)],
                                            shift_mode)
            if lazy_certificates:
                certs = CertificateTable(res["cert"][sl], res["cert_flags"][sl],
                                         res["alpha"][sl])
            else:
                certs = certificates_of(res, np.arange(sl.start, sl.stop))
            zeros = [0] * c
            trues = [True] * c
            done[k] = SolvedLayer(
                name=layer.name, input=layer.input, output=layer.output, hw_rounding="floor",
                shift_mode=shift_mode, a=a.tolist(), b=b.tolist(), M=M, B=B, N=N,
                widths=widths, exact=trues, mismatches=zeros, certificate=certs,
                extra={"max_abs_error": list(zeros), "n_min": res["n_min"][sl].tolist(),
                       "exact_possible": list(trues)})
    return done
