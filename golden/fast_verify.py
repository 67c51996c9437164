"""``verify`` at kernel speed for folded-form layers (hw_rounding floor, no budget).

The checks are those of golden/verify.py, decided here in numba with exact int64
arithmetic (every product bounded before it is formed), re-derived from a, b and the output
spec, never from the file's flags:

- the mismatch count of clip(floor((M*x + B) / 2^N)) against the exact reference on every
  input (golden/fast_summary.py: exact segments, a monotone model, no sweep);
- for a channel with no mismatch: every certificate point is a real lower/upper transition
  of its level, the certificate's slope interval equals the one recomputed by the fast
  solver's exact hulls (golden/fast.py), the certificate's points alone prove it, M/2^N lies
  strictly inside it, (N, |M|, |B|) is not above the fresh minimal answer and no shift below
  N fits in the interval;
- for a channel with mismatches: the fresh solve finds no exact parameters.

The kernel only ever says "every check passes"; a channel it cannot clear (a failed check,
or anything outside its envelope) is handed to golden/verify.py's own ``_check_channel``,
which writes the messages. So a pass here is exactly a pass there.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .fast import ROUNDING_CODES, STATUS_NO_EXACT, STATUS_OK, _const_level, _level_at, solve_fast
from .fast_certs import VERIFY_POINTS, scan_certificates
from .fast_summary import (
    KIND_NAIVE,
    _mismatches,
    _ref_segments,
    _segment_buffers,
    _value_buffers,
)

__all__ = ["verify_arrays", "MAX_POINTS"]

MAX_POINTS = VERIFY_POINTS
_X_LIMIT = 1 << 31
_A_MIN = 2.0**-500
_A_MAX = 2.0**500
_SAFE = np.int64(1) << np.int64(62)
_P31 = np.int64(1) << np.int64(31)
_CHUNK = 32


@njit(cache=True, inline="always")
def _lev(A, b, x, rcode, qmin, qmax, buf, const):
    if const:
        return _const_level(b, rcode, qmin, qmax)
    return _level_at(A, b, x, rcode, qmin, qmax, buf)


@njit(cache=True, inline="always")
def _eq(p1, q1, p2, q2):
    """Fractions p1/q1 == p2/q2 (q = 0: unbounded); |p|, |q| < 2^31 checked by the caller."""
    if q1 == 0 or q2 == 0:
        return q1 == 0 and q2 == 0
    return p1 * q2 == p2 * q1


@njit(cache=True)
def _channel_ok(a, b, lo, hi, rcode, qmin, qmax, M, B, N, shared, pts, npts, fal, tal,
                fstat, fM, fB, fN, buf, st, en, lv, pf, vb):
    """(count, ok): the exact mismatch count (-1: not decided here) and whether every check
    passes (False: golden/verify.py decides)."""
    if not (abs(lo) <= _X_LIMIT and abs(hi) <= _X_LIMIT and lo <= hi and abs(b) <= _A_MAX
            and (a == 0.0 or _A_MIN <= abs(a) <= _A_MAX)):
        return -1, False
    n = _ref_segments(a, b, lo, hi, rcode, qmin, qmax, buf, st, en, lv)
    if n < 0 or N < 0 or N > 61:
        return -1, False
    xmax = max(abs(lo), abs(hi))
    if abs(B) >= _SAFE or (M != 0 and xmax >= (_SAFE - abs(B)) // abs(M)):
        return -1, False
    count = _mismatches(KIND_NAIVE, pf, (M, B, N, np.int64(0)), 0, qmin, qmax, st, en, lv, n,
                        vb)
    if count > 0:  # inexact: fine only if no exact parameters exist with these settings
        return count, fstat == STATUS_NO_EXACT
    if fstat != STATUS_OK or npts < 0:
        return count, False
    for k in range(4):  # every fraction of this check stays below 2^31 (else: verify.py)
        if abs(fal[k]) >= _P31 or abs(tal[k]) >= _P31:
            return count, False
    sgn = 1 if a >= 0.0 else -1
    A = abs(a)
    const = a == 0.0
    mlo, mhi = (lo, hi) if sgn > 0 else (-hi, -lo)
    # each certificate point is a real transition (mirrored x' = sgn*x, rising levels)
    for k in range(npts):
        xm = pts[k, 0] * sgn
        lvl = pts[k, 1]
        if not (mlo <= xm <= mhi) or abs(lvl) >= _P31:
            return count, False
        if _lev(A, b, xm, rcode, qmin, qmax, buf, const) != lvl:
            return count, False
        if pts[k, 2] == 0:  # lower: first x' of a present level above qmin
            if lvl <= qmin or (xm > mlo and _lev(A, b, xm - 1, rcode, qmin, qmax, buf,
                                                 const) == lvl):
                return count, False
        else:  # upper: last x' of a present level below qmax
            if lvl >= qmax or (xm < mhi and _lev(A, b, xm + 1, rcode, qmin, qmax, buf,
                                                 const) == lvl):
                return count, False
    # the file's interval is the recomputed one
    if not (_eq(fal[0], fal[1], tal[0], tal[1]) and _eq(fal[2], fal[3], tal[2], tal[3])):
        return count, False
    # the points alone prove it: the same bounds over all their pairs (mirrored)
    lp = np.int64(0)
    lq = np.int64(0)
    hp = np.int64(0)
    hq = np.int64(0)
    for i in range(npts):
        if pts[i, 2] != 0:
            continue
        xi = pts[i, 0] * sgn
        li = pts[i, 1]
        for j in range(npts):
            if pts[j, 2] != 1:
                continue
            xj = pts[j, 0] * sgn
            uj = pts[j, 1] + 1
            dx = xi - xj
            if dx > 0:
                if lq == 0 or (li - uj) * lq > lp * dx:
                    lp = li - uj
                    lq = dx
            elif dx < 0:
                if hq == 0 or (uj - li) * hq < hp * (-dx):
                    hp = uj - li
                    hq = -dx
    if sgn < 0:  # back to the original x: (lo, hi) -> (-hi, -lo)
        lp, lq, hp, hq = -hp, hq, -lp, lq
    if not (_eq(lp, lq, tal[0], tal[1]) and _eq(hp, hq, tal[2], tal[3])):
        return count, False
    # M/2^N strictly inside (floor), when the staircase has more than one level
    if n > 1:
        if N > 31 or abs(M) >= _P31:  # |M|, |tal|, 2^N <= 2^31: products below 2^62
            return count, False
        s = np.int64(1) << np.int64(N)
        if tal[1] != 0 and not (M * tal[1] > tal[0] * s):
            return count, False
        if tal[3] != 0 and not (M * tal[3] < tal[2] * s):
            return count, False
    if not shared:
        # minimal: (N, |M|, |B|) not above the fresh answer
        if N != fN:
            worse = N > fN
        elif abs(M) != abs(fM):
            worse = abs(M) > abs(fM)
        else:
            worse = abs(B) > abs(fB)
        if worse:
            return count, False
        # no shift below N fits strictly inside the interval
        if n > 1 and N > 0:
            if fal[1] == 0 or fal[3] == 0 or N > 31:
                return count, False
            s = np.int64(1) << np.int64(N - 1)
            m = (fal[0] * s) // fal[1] + 1
            if abs(m) >= _P31 or m * fal[3] < fal[2] * s:
                return count, False
    return count, True


@njit(cache=True, parallel=True)
def _kernel(a, b, lo, hi, rcode, qmin, qmax, M, B, N, shared, pts, npts, fal, tal, fstat,
            fM, fB, fN, cap, count, ok):
    c = a.shape[0]
    nchunks = (c + _CHUNK - 1) // _CHUNK
    for ch in prange(nchunks):
        st, en, lv, buf = _segment_buffers(cap)
        vb = _value_buffers(cap)
        z = np.float32(0.0)
        pf = (z, z, z, z, z, z, z, z)
        for i in range(ch * _CHUNK, min(c, (ch + 1) * _CHUNK)):
            cnt, good = _channel_ok(a[i], b[i], lo[i], hi[i], rcode, qmin, qmax, M[i], B[i],
                                    N[i], shared, pts[i], npts[i], fal[i], tal[i], fstat[i],
                                    fM[i], fB[i], fN[i], buf, st, en, lv, pf, vb)
            count[i] = cnt
            ok[i] = good


def _int64_or_none(values: list) -> np.ndarray | None:
    if values and max(max(values), -min(values)) >= (1 << 62):
        return None
    return np.array(values, dtype=np.int64)


def _certificate_arrays(certs: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points (C, MAX_POINTS, 3), count (-1: none or unusable), alpha (C, 4) [num, den] x 2)
    from the file's certificates; anything odd (too many points, huge numbers) is -1."""
    c = len(certs)
    pts = np.zeros((c, MAX_POINTS, 3), np.int64)
    npts = np.full(c, -1, np.int64)
    fal = np.zeros((c, 4), np.int64)
    big = 1 << 40
    for i, cert in enumerate(certs):
        if not cert or cert.get("hw_rounding") != "floor":
            continue
        p = cert["points"]
        if len(p) > MAX_POINTS:
            continue
        try:
            for k, (x, lvl, kind) in enumerate(p):
                if abs(x) >= big or abs(lvl) >= big:
                    raise OverflowError
                pts[i, k] = (x, lvl, 0 if kind == "lower" else 1)
            for j, key in ((0, "alpha_lo"), (2, "alpha_hi")):
                v = cert[key]
                if v is not None:
                    if abs(v[0]) >= big or abs(v[1]) >= big:
                        raise OverflowError
                    fal[i, j], fal[i, j + 1] = v[0], v[1]
        except OverflowError:
            continue
        npts[i] = len(p)
    return pts, npts, fal


def verify_arrays(solved) -> tuple[np.ndarray, np.ndarray] | None:
    """(count, ok) per channel of a folded-form solved layer without a budget, or None when
    the layer is not for this path (then golden/verify.py checks it whole). ``count`` is the
    exact number of mismatching inputs (-1: not decided here), ``ok`` whether every check of
    the channel passes."""
    if solved.hw_rounding != "floor" or solved.extra.get("budget"):
        return None
    out = solved.output
    c = solved.channels
    ranges = solved.ranges()
    lo = _int64_or_none([r[0] for r in ranges])
    hi = _int64_or_none([r[1] for r in ranges])
    M, B, N = (_int64_or_none(list(v)) for v in (solved.M, solved.B, solved.N))
    if any(v is None for v in (lo, hi, M, B, N)) or max(abs(out.qmin), abs(out.qmax)) >= (1 << 31):
        return None
    if max(int(np.abs(lo).max()), int(np.abs(hi).max())) > _X_LIMIT or (lo > hi).any():
        return None
    a = np.asarray(solved.a, np.float64)
    b = np.asarray(solved.b, np.float64)
    shared = solved.shift_mode == "shared"
    fresh = solve_fast(a, b, lo, hi, out.rounding, out.qmin, out.qmax,
                       n_fixed=N if shared else None)
    scanned = scan_certificates(solved.certificate, MAX_POINTS)  # bulk; else per entry
    pts, npts, fal = scanned if scanned is not None else _certificate_arrays(
        solved.certificate)
    tal = fresh["alpha"]
    count = np.zeros(c, np.int64)
    ok = np.zeros(c, np.bool_)
    _kernel(a, b, lo, hi, ROUNDING_CODES[out.rounding], np.int64(out.qmin), np.int64(out.qmax),
            M, B, N, shared, pts, npts, fal, tal, fresh["status"].astype(np.int64),
            fresh["M"], fresh["B"], fresh["N"], 1 << 17, count, ok)
    # the file's own flags against the count (verify.py words the problem)
    mism = np.array(solved.mismatches, dtype=object)
    exact = np.array(solved.exact, dtype=bool)
    decided = count >= 0
    ok &= decided & (mism == count).astype(bool) & (exact == (count == 0))
    return count, ok
