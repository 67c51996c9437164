"""The summary's baselines at kernel speed: exact counts over whole ranges, in numba.

Every model the summary compares with the exact reference is a monotone function of x:

- the naive rule clip(floor((M*x + B) / 2^N)) (monotone in x for fixed M, B, N);
- TFLite's requantizer, while ``x + bias`` and its left shift stay inside int32 (no
  wrap-around; each gemmlowp step is monotone), else the channel is swept as before;
- the framework's float32 path (every IEEE operation with one varying operand is monotone,
  and so are rounding and clipping).

The reference is an exact staircase (segments [s, e] of one level t, from golden/fast.py's
exact transitions). For a monotone model g the inputs of a segment where g equals t form one
interval; its ends are found by evaluating g at s and e (the usual case: both equal t) and,
only where they differ, by galloping and bisection. So a count is exact over the whole range
at a cost of about two model evaluations per output level, never a sweep of the inputs.

Channels outside the proven-safe envelope (|x| > 2^31, |a| or |b| beyond 2^+-500, outputs
wider than 32 bits, more segments than the buffer, an overflowing naive product, a TFLite
wrap) come back flagged; golden/summary.py computes those with the straightforward Python
code. Nothing is guessed.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .fast import ROUNDING_CODES, _const_level, _first_exact, _level_at
from .fast_common import _mirror

__all__ = ["KIND_TFLITE", "KIND_F32_AFFINE", "KIND_F32_BN", "KIND_NAIVE", "tflite_params_array",
           "f32_params", "summary_kernel_run", "model_values", "model_values_vec"]

KIND_TFLITE = 0
KIND_F32_AFFINE = 1
KIND_F32_BN = 2
KIND_NAIVE = 3

_X_LIMIT = 1 << 31
_A_MIN = 2.0**-500
_A_MAX = 2.0**500
_Q_LIMIT = 1 << 32
_SAFE = np.int64(1) << np.int64(62)
_I32_MIN = -(1 << 31)
_I32_MAX = (1 << 31) - 1
_CHUNK = 32

# status bits per channel
ST_SEGMENTS = 1  # reference not built here (envelope or too many segments): whole channel
ST_TFLITE = 2  # TFLite may wrap: sweep it in Python
ST_NAIVE = 4  # naive search overflowed int64 before an exact N: Python


# ---------------------------------------------------------------------------------------------
# the exact reference as segments
# ---------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _segment_buffers(cap):
    """Per-chunk workspace of ``_ref_segments``: starts, ends, levels (cap each), float scratch."""
    return (np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int64),
            np.empty(8, np.float64))


@njit(cache=True)
def _ref_segments(a, b, lo, hi, rcode, qmin, qmax, buf, st, en, lv):
    """Exact segments of clip(R(a*x + b)) on [lo, hi] in increasing x; -1 if they do not
    fit in the buffers (st, en, lv)."""
    cap = st.shape[0]
    if a == 0.0:
        st[0] = lo
        en[0] = hi
        lv[0] = _const_level(b, rcode, qmin, qmax)
        return 1
    sgn, A, mlo, mhi = _mirror(a, lo, hi)
    t_lo = _level_at(A, b, mlo, rcode, qmin, qmax, buf)
    t_hi = _level_at(A, b, mhi, rcode, qmin, qmax, buf)
    n = 1
    st[0] = mlo
    lv[0] = t_lo
    if t_hi - t_lo > mhi - mlo:  # steep: most levels empty, evaluate every input
        if mhi - mlo + 1 > cap:
            return -1
        for x in range(mlo + 1, mhi + 1):
            t = _level_at(A, b, x, rcode, qmin, qmax, buf)
            if t != lv[n - 1]:
                st[n] = x
                lv[n] = t
                n += 1
    else:
        if t_hi - t_lo + 1 > cap:
            return -1
        # |A| < 1: z = (t - off - b) / A steps by more than 1 and lies in (mlo, mhi] for
        # every level here, so the reciprocal's estimate (error < 2^-51 |z|, far below the
        # margin) is the transition unless it falls near an integer: then the exact rule
        # (golden/fast.py's dense solver does the same).
        dense = A < 1.0
        inv = 1.0 / A
        off = 0.0 if rcode == 0 else 0.5
        margin = (max(abs(float(mlo)), abs(float(mhi))) + 2.0) * 2.0**-48
        for t in range(t_lo + 1, t_hi + 1):
            f = np.int64(0)
            near = True
            if dense:
                z = ((float(t) - off) - b) * inv
                fz = np.floor(z)
                fr = z - fz
                near = (fr <= margin) | (fr >= 1.0 - margin)
                f = np.int64(fz) + 1
            if near:
                f = _first_exact(A, b, t, rcode, buf)
            if f <= st[n - 1]:
                lv[n - 1] = t  # the previous level is empty
            else:
                st[n] = f
                lv[n] = t
                n += 1
    for k in range(n - 1):
        en[k] = st[k + 1] - 1
    en[n - 1] = mhi
    if sgn < 0:  # back to the original x: reverse and negate
        for k in range(n // 2):
            j = n - 1 - k
            s0, e0, l0 = st[k], en[k], lv[k]
            st[k], en[k], lv[k] = -en[j], -st[j], lv[j]
            st[j], en[j], lv[j] = -e0, -s0, l0
        if n % 2 == 1:
            k = n // 2
            s0 = st[k]
            st[k] = -en[k]
            en[k] = -s0
    return n


# ---------------------------------------------------------------------------------------------
# the models (scalar; the same operations, in the same order, as golden/baselines.py)
# ---------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _round_f32(v, rcode):
    half = np.float32(0.5)
    if rcode == 0:
        return np.floor(v)
    if rcode == 1:
        return np.floor(v + half)
    if rcode == 2:
        return np.rint(v)
    av = np.floor(np.abs(v) + half)
    return av if v > 0 else (-av if v < 0 else np.float32(0.0) * av)


@njit(cache=True, inline="always")
def _clip_f32(v, qmin, qmax):
    lo = np.float32(qmin)
    hi = np.float32(qmax)
    if v < lo:
        v = lo
    if v > hi:
        v = hi
    return np.int64(v)


@njit(cache=True, inline="always")
def _tflite_value(bias, m, left, right, zp, qmin, qmax, x):
    """TFLite's requantizer at x (no wrap: checked before), without branches (so that a
    loop over many x vectorises): gemmlowp's SaturatingRoundingDoublingHighMul (the nudge,
    then num / 2^31 truncated toward 0) and RoundingDivideByPOT, as baselines.py."""
    xs = (x + bias) << left
    ab = xs * m
    num = ab + (np.int64(1 << 30) - ((ab >> 63) & np.int64((1 << 31) - 1)))  # nudge by sign
    q = (num + ((num >> 63) & np.int64((1 << 31) - 1))) >> 31  # truncated toward 0
    mask = (np.int64(1) << right) - 1
    rem = q & mask
    thr = (mask >> 1) + ((q >> 63) & 1)
    r = (q >> right) + np.int64(rem > thr)
    return min(max(r + zp, qmin), qmax)


@njit(cache=True, inline="always")
def _model(kind, pf, pi, rcode, qmin, qmax, x):
    """One model's output at x (pf: tuple of 8 float32 parameters, pi: tuple of 4 int64;
    tuples, not arrays: passed by value, no reference counting per call)."""
    if kind == KIND_NAIVE:
        s = pi[0] * x + pi[1]
        q = s >> pi[2]
        return min(max(q, qmin), qmax)
    if kind == KIND_TFLITE:
        shift = pi[2]
        return _tflite_value(pi[0], pi[1], shift if shift > 0 else 0,
                             -shift if shift < 0 else 0, pi[3], qmin, qmax, x)
    xf = np.float32(x)
    if kind == KIND_F32_AFFINE:
        v = pf[0] * xf + pf[1]
        return _clip_f32(_round_f32(v, rcode), qmin, qmax)
    # KIND_F32_BN: s_in, z_in, mean, invstd, gamma, beta, s_out, z_out
    x_real = pf[0] * (xf - pf[1])
    y = (x_real - pf[2]) * pf[3] * pf[4] + pf[5]
    q = _round_f32(y / pf[6], rcode) + pf[7]
    return _clip_f32(q, qmin, qmax)


@njit(cache=True)
def _first_where(kind, pf, pi, rcode, qmin, qmax, s, e, t, le):
    """Smallest x in (s, e] where the predicate holds (g(x) <= t if le, else g(x) >= t),
    given that it fails at s and holds at e (it is monotone on [s, e])."""
    lo_x = s  # fails
    step = np.int64(1)
    hi_x = e  # holds
    while lo_x + step < e:  # gallop away from s: mismatches sit next to a transition
        x = lo_x + step
        g = _model(kind, pf, pi, rcode, qmin, qmax, x)
        if (g <= t) if le else (g >= t):
            hi_x = x
            break
        lo_x = x
        step *= 2
    while hi_x - lo_x > 1:
        mid = lo_x + (hi_x - lo_x) // 2
        g = _model(kind, pf, pi, rcode, qmin, qmax, mid)
        if (g <= t) if le else (g >= t):
            hi_x = mid
        else:
            lo_x = mid
    return hi_x


@njit(cache=True)
def _last_where(kind, pf, pi, rcode, qmin, qmax, s, e, t, le):
    """Largest x in [s, e) where the predicate holds, given that it holds at s and fails
    at e (monotone on [s, e])."""
    hi_x = e  # fails
    step = np.int64(1)
    lo_x = s  # holds
    while hi_x - step > s:
        x = hi_x - step
        g = _model(kind, pf, pi, rcode, qmin, qmax, x)
        if (g <= t) if le else (g >= t):
            lo_x = x
            break
        hi_x = x
        step *= 2
    while hi_x - lo_x > 1:
        mid = lo_x + (hi_x - lo_x) // 2
        g = _model(kind, pf, pi, rcode, qmin, qmax, mid)
        if (g <= t) if le else (g >= t):
            lo_x = mid
        else:
            hi_x = mid
    return lo_x


@njit(cache=True, inline="always")
def _value_buffers(cap):
    """Per-chunk workspace of ``_mismatches``: the model at each segment's start, end, second
    and last-but-one input, and a list of segments left to the scalar search."""
    return (np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int64),
            np.empty(cap, np.int64), np.empty(cap, np.int64))


@njit(cache=True)
def _values(kind, pf, pi, rcode, qmin, qmax, xs, off, out, n):
    """out[k] = g(xs[k] + off) for k < n: one loop per model, without branches inside (they
    vectorise); the same operations as ``_model``."""
    if kind == KIND_TFLITE:
        bias, m, shift, zp = pi[0], pi[1], pi[2], pi[3]
        left = shift if shift > 0 else 0
        right = -shift if shift < 0 else 0
        for k in range(n):
            out[k] = _tflite_value(bias, m, left, right, zp, qmin, qmax, xs[k] + off)
    elif kind == KIND_NAIVE:
        m, bb, nn = pi[0], pi[1], pi[2]
        for k in range(n):
            out[k] = min(max((m * (xs[k] + off) + bb) >> nn, qmin), qmax)
    elif kind == KIND_F32_AFFINE:
        _values_f32(KIND_F32_AFFINE, pf, pi, rcode, qmin, qmax, xs, off, out, n)
    else:
        _values_f32(KIND_F32_BN, pf, pi, rcode, qmin, qmax, xs, off, out, n)


@njit(cache=True, inline="always")
def _values_f32(kind, pf, pi, rcode, qmin, qmax, xs, off, out, n):
    """``_values`` of a float32 model: one loop per rounding (constants inside)."""
    if rcode == 0:
        for k in range(n):
            out[k] = _model(kind, pf, pi, 0, qmin, qmax, xs[k] + off)
    elif rcode == 1:
        for k in range(n):
            out[k] = _model(kind, pf, pi, 1, qmin, qmax, xs[k] + off)
    elif rcode == 2:
        for k in range(n):
            out[k] = _model(kind, pf, pi, 2, qmin, qmax, xs[k] + off)
    else:
        for k in range(n):
            out[k] = _model(kind, pf, pi, 3, qmin, qmax, xs[k] + off)


@njit(cache=True)
def _mismatches(kind, pf, pi, rcode, qmin, qmax, st, en, lv, n, vb):
    """Exact #{x : g(x) != reference(x)} over the segments, for a monotone model g (vb:
    ``_value_buffers`` of at least n entries).

    g at each segment's two ends first, in vectorised passes: a segment with g = t at both
    ends is t on all of it (monotone), and a segment of one or two inputs is read off its
    ends, without a branch. Only the others (a mismatch at an end of a longer segment) need
    g at the inputs next to the ends: in two more vectorised passes when they are many, one
    by one when few (the usual case of a model that is nearly exact); a segment with g = t
    at both inner inputs is t on its interior, the rest go to the galloping search."""
    gsa, gea, g1a, g2a, todo = vb
    _values(kind, pf, pi, rcode, qmin, qmax, st, 0, gsa, n)
    _values(kind, pf, pi, rcode, qmin, qmax, en, 0, gea, n)
    inc = gsa[0] <= gea[n - 1]  # monotone: equal ends mean constant (either direction holds)
    total = en[n - 1] - st[0] + 1  # the segments tile the range
    agree = np.int64(0)
    nf = np.int64(0)
    for k in range(n):  # branch-free: vectorises
        t = lv[k]
        ln = en[k] - st[k] + 1
        es = np.int64(gsa[k] == t)
        ee = np.int64(gea[k] == t)
        full = (es & ee) == 1
        small = ln <= 2
        agree += np.int64(full) * ln + np.int64(small and not full) * (
            es + np.int64(ln == 2) * ee)
        nf += np.int64(not (full or small))
    if nf == 0:
        return total - agree
    nt = 0
    if 8 * nf >= n:  # many: the inner inputs of every segment, vectorised
        _values(kind, pf, pi, rcode, qmin, qmax, st, 1, g1a, n)
        _values(kind, pf, pi, rcode, qmin, qmax, en, -1, g2a, n)
        for k in range(n):
            t = lv[k]
            ln = en[k] - st[k] + 1
            rest = (ln > 2) & ((gsa[k] != t) | (gea[k] != t))
            inner = (g1a[k] == t) & (g2a[k] == t)
            agree += np.int64(rest & inner) * (np.int64(gsa[k] == t) + np.int64(gea[k] == t)
                                               + ln - 2)
            todo[nt] = k
            nt += np.int64(rest & (not inner))
    else:  # few: one by one
        for k in range(n):
            t = lv[k]
            s, e = st[k], en[k]
            if e - s + 1 <= 2 or (gsa[k] == t and gea[k] == t):
                continue
            if (_model(kind, pf, pi, rcode, qmin, qmax, s + 1) == t
                    and _model(kind, pf, pi, rcode, qmin, qmax, e - 1) == t):
                agree += np.int64(gsa[k] == t) + np.int64(gea[k] == t) + e - s - 1
            else:
                todo[nt] = k
                nt += 1
    for q in range(nt):
        k = todo[q]
        s, e, t = st[k], en[k], lv[k]
        gs = gsa[k]
        ge = gea[k]
        if inc:  # {g == t} = [first g >= t, last g <= t]
            if ge < t or gs > t:
                continue
            x0 = s if gs >= t else _first_where(kind, pf, pi, rcode, qmin, qmax, s, e, t, False)
            x1 = e if ge <= t else _last_where(kind, pf, pi, rcode, qmin, qmax, s, e, t, True)
        else:  # non-increasing: [first g <= t, last g >= t]
            if ge > t or gs < t:
                continue
            x0 = s if gs <= t else _first_where(kind, pf, pi, rcode, qmin, qmax, s, e, t, True)
            x1 = e if ge >= t else _last_where(kind, pf, pi, rcode, qmin, qmax, s, e, t, False)
        if x1 >= x0:
            agree += x1 - x0 + 1
    return total - agree


@njit(cache=True, inline="always")
def _round_half_up(v):
    """floor(v + 1/2) of a float64 v, exactly (|v| < 2^62)."""
    fl = np.floor(v)
    return np.int64(fl) + (1 if v - fl >= 0.5 else 0)


@njit(cache=True)
def _naive(a, b, rcode, qmin, qmax, xmax, st, en, lv, n, pf, out, n_start):
    """Smallest N <= 64 at which the naive rule is exact: out = (N, M, B); N = -1 none,
    N = -2 the search left int64 (a Python fallback decides). The search starts at
    ``n_start``: a lower bound of the answer (the naive triple is a folded-form triple, so
    it is never exact below the channel's minimal exact folded N; 0 when unknown)."""
    for nn in range(max(n_start, 0), 65):
        if nn > 61:
            out[0] = -2
            return
        scale = float(np.int64(1) << np.int64(nn))
        v = a * scale  # exact: a power-of-two scaling
        vb = b * scale
        if not (abs(v) < 2.0**61 and abs(vb) < 2.0**61):
            out[0] = -2
            return
        m = _round_half_up(v)
        if rcode == 0:
            bb = _round_half_up(vb)
        elif nn == 0:
            bb = np.int64(np.floor(b)) + 1
        else:
            bb = _round_half_up(vb) + (np.int64(1) << np.int64(nn - 1))
        if abs(bb) >= _SAFE or (m != 0 and xmax >= (_SAFE - abs(bb)) // abs(m)):
            out[0] = -2  # |M*x + B| might reach 2^62
            return
        pi = (m, bb, np.int64(nn), np.int64(0))
        ok = True
        # the ends of the range first: a wrong slope shows there
        for k in (0, n - 1):
            if (_model(KIND_NAIVE, pf, pi, 0, qmin, qmax, st[k]) != lv[k]
                    or _model(KIND_NAIVE, pf, pi, 0, qmin, qmax, en[k]) != lv[k]):
                ok = False
                break
        if ok:
            for k in range(n):  # monotone: both ends of a segment right = all of it right
                if (_model(KIND_NAIVE, pf, pi, 0, qmin, qmax, st[k]) != lv[k]
                        or _model(KIND_NAIVE, pf, pi, 0, qmin, qmax, en[k]) != lv[k]):
                    ok = False
                    break
        if ok:
            out[0] = nn
            out[1] = m
            out[2] = bb
            return
    out[0] = -1


@njit(cache=True, parallel=True)
def _kernel(a, b, lo, hi, rcode, qmin, qmax, tfl, f32kind, f32p, cap, do_naive, n_start,
            status, n_seg, tfl_m, f32_m, naive_out):
    c = a.shape[0]
    nchunks = (c + _CHUNK - 1) // _CHUNK
    for ch in prange(nchunks):
        st, en, lv, buf = _segment_buffers(cap)
        vb = _value_buffers(cap)
        nout = np.empty(3, np.int64)
        z = np.float32(0.0)
        zf = (z, z, z, z, z, z, z, z)
        zi = (np.int64(0), np.int64(0), np.int64(0), np.int64(0))
        for i in range(ch * _CHUNK, min(c, (ch + 1) * _CHUNK)):
            ai, bi, li, hi_ = a[i], b[i], lo[i], hi[i]
            ok = (abs(li) <= _X_LIMIT and abs(hi_) <= _X_LIMIT and li <= hi_
                  and abs(bi) <= _A_MAX and (ai == 0.0 or _A_MIN <= abs(ai) <= _A_MAX))
            n = _ref_segments(ai, bi, li, hi_, rcode, qmin, qmax, buf, st, en, lv) if ok else -1
            n_seg[i] = n
            if n < 0:
                status[i] = ST_SEGMENTS
                continue
            flags = 0
            pf = zf
            # TFLite: monotone when x + bias and its shift stay inside int32
            bias, m, shift = tfl[i, 0], tfl[i, 1], tfl[i, 2]
            left = shift if shift > 0 else 0
            t0 = li + bias
            t1 = hi_ + bias
            if (left <= 31 and -shift <= 62 and _I32_MIN <= t0 and t1 <= _I32_MAX
                    and _I32_MIN <= (t0 << left) and (t1 << left) <= _I32_MAX):
                pi = (bias, m, shift, tfl[i, 3])
                tfl_m[i] = _mismatches(KIND_TFLITE, pf, pi, rcode, qmin, qmax,
                                       st, en, lv, n, vb)
            else:
                flags |= ST_TFLITE
            pf = (f32p[i, 0], f32p[i, 1], f32p[i, 2], f32p[i, 3], f32p[i, 4], f32p[i, 5],
                  f32p[i, 6], f32p[i, 7])
            f32_m[i] = _mismatches(f32kind, pf, zi, rcode, qmin, qmax, st, en, lv, n, vb)
            if do_naive:
                xmax = max(abs(li), abs(hi_))
                _naive(ai, bi, rcode, qmin, qmax, xmax, st, en, lv, n, pf, nout, n_start[i])
                naive_out[i, 0] = nout[0]
                naive_out[i, 1] = nout[1]
                naive_out[i, 2] = nout[2]
                if nout[0] == -2:
                    flags |= ST_NAIVE
            status[i] = flags


@njit(cache=True)
def _model_values(kind, pfa, pia, rcode, qmin, qmax, xs, out):
    pf = (pfa[0], pfa[1], pfa[2], pfa[3], pfa[4], pfa[5], pfa[6], pfa[7])
    pi = (pia[0], pia[1], pia[2], pia[3])
    for k in range(xs.shape[0]):
        out[k] = _model(kind, pf, pi, rcode, qmin, qmax, xs[k])


@njit(cache=True)
def _model_values_vec(kind, pfa, pia, rcode, qmin, qmax, xs, out):
    pf = (pfa[0], pfa[1], pfa[2], pfa[3], pfa[4], pfa[5], pfa[6], pfa[7])
    pi = (pia[0], pia[1], pia[2], pia[3])
    _values(kind, pf, pi, rcode, qmin, qmax, xs, 0, out, xs.shape[0])


# ---------------------------------------------------------------------------------------------
# Python API
# ---------------------------------------------------------------------------------------------


def tflite_params_array(a: np.ndarray, b: np.ndarray, zero_point_out: int) -> np.ndarray:
    """``baselines.tflite_params`` for every channel at once: (C, 4) int64 rows
    [bias, m_q31, shift, zero_point] (the same float64 operations, vectorised)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    out = np.zeros((a.size, 4), np.int64)
    out[:, 3] = zero_point_out
    q, shift = np.frexp(a)
    scaled = q * float(1 << 31)
    q_fixed = np.copysign(np.floor(np.abs(scaled) + 0.5), scaled)
    full = np.abs(q_fixed) == float(1 << 31)
    q_fixed = np.where(full, q_fixed / 2, q_fixed)
    shift = np.where(full, shift + 1, shift).astype(np.int64)
    small = (shift < -31) | (a == 0.0)
    with np.errstate(all="ignore"):
        bias = (b - zero_point_out) / np.where(a == 0.0, 1.0, a)
        bias = np.clip(np.round(bias), _I32_MIN, _I32_MAX)
    out[:, 0] = np.where(a == 0.0, 0, bias.astype(np.int64))
    out[:, 1] = np.where(small, 0, q_fixed.astype(np.int64))
    out[:, 2] = np.where(small, 0, shift)
    return out


def f32_params(a, b, bn: dict | None = None, s_in=None, z_in=None, s_out=1.0, z_out=0
               ) -> tuple[int, np.ndarray]:
    """(kind, (C, 8) float32 parameters) of the framework float32 path, cast exactly as
    ``baselines.float32_affine`` / ``float32_bn`` cast them."""
    f = np.float32
    c = np.asarray(a).size
    p = np.zeros((c, 8), f)
    if bn is None:
        p[:, 0] = np.asarray(a, dtype=f)
        p[:, 1] = np.asarray(b, dtype=f)
        return KIND_F32_AFFINE, p
    p[:, 0] = np.asarray(s_in, f)
    p[:, 1] = np.asarray(z_in, f)
    p[:, 2] = np.asarray(bn["mean"], f)
    p[:, 3] = f(1.0) / np.sqrt(np.asarray(bn["var"], f) + f(bn["eps"]))
    p[:, 4] = np.asarray(bn["gamma"], f)
    p[:, 5] = np.asarray(bn["beta"], f)
    p[:, 6] = np.asarray(s_out, f)
    p[:, 7] = np.asarray(z_out, f)
    return KIND_F32_BN, p


def summary_kernel_run(a, b, lo, hi, rounding: str, qmin: int, qmax: int, tfl: np.ndarray,
                       f32kind: int, f32p: np.ndarray, cap: int, naive: bool = True,
                       n_start=None) -> dict:
    """Exact per-channel counts (arrays of length C): ``status`` (bits ST_*), ``tflite``,
    ``float32`` (mismatching inputs), ``naive`` ((C, 3): N, M, B; N = -1 never exact up to
    64, -2 not settled here). Entries under a status bit are not computed. ``n_start``:
    per channel a proven lower bound of the naive N (the minimal exact folded-form N), or
    None (search from 0)."""
    a = np.ascontiguousarray(a, np.float64)
    c = a.size
    b = np.ascontiguousarray(b, np.float64)
    lo = np.ascontiguousarray(np.broadcast_to(np.asarray(lo, np.int64), (c,)))
    hi = np.ascontiguousarray(np.broadcast_to(np.asarray(hi, np.int64), (c,)))
    out = {"status": np.zeros(c, np.int64), "segments": np.zeros(c, np.int64),
           "tflite": np.zeros(c, np.int64), "float32": np.zeros(c, np.int64),
           "naive": np.zeros((c, 3), np.int64)}
    ns = (np.zeros(c, np.int64) if n_start is None
          else np.ascontiguousarray(np.broadcast_to(np.asarray(n_start, np.int64), (c,))))
    if max(abs(int(qmin)), abs(int(qmax))) > _Q_LIMIT or qmin > qmax:
        out["status"][:] = ST_SEGMENTS
        return out
    _kernel(a, b, lo, hi, ROUNDING_CODES[rounding], np.int64(qmin), np.int64(qmax),
            np.ascontiguousarray(tfl, np.int64), f32kind, np.ascontiguousarray(f32p, np.float32),
            int(cap), bool(naive), ns, out["status"], out["segments"], out["tflite"],
            out["float32"], out["naive"])
    return out


def model_values(kind: int, pf, pi, rounding: str, qmin: int, qmax: int, xs) -> np.ndarray:
    """A model evaluated on xs by the kernel's own code (for tests against baselines.py)."""
    xs = np.ascontiguousarray(xs, np.int64)
    out = np.empty(xs.size, np.int64)
    _model_values(kind, np.asarray(pf, np.float32), np.asarray(pi, np.int64),
                  ROUNDING_CODES[rounding], np.int64(qmin), np.int64(qmax), xs, out)
    return out


def model_values_vec(kind: int, pf, pi, rounding: str, qmin: int, qmax: int, xs) -> np.ndarray:
    """``model_values`` by the kernel's vectorised loops (``_values``: what the counts use)."""
    xs = np.ascontiguousarray(xs, np.int64)
    out = np.empty(xs.size, np.int64)
    _model_values_vec(kind, np.asarray(pf, np.float32), np.asarray(pi, np.int64),
                      ROUNDING_CODES[rounding], np.int64(qmin), np.int64(qmax), xs, out)
    return out
