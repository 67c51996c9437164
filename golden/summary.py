"""Per-layer figures for tables and reports: widths, bits saved, baseline mismatch rates.

Every figure is exact and covers every channel and every input of its range: the naive
baseline and the TFLite / float32 mismatch counts are computed at kernel speed by
golden/fast_summary.py (each model is monotone in x, so a count costs a few evaluations per
output level, not a sweep). The few channels the kernel does not settle (outside its
envelope, a TFLite accumulator that may wrap, a naive product beyond int64) are computed by
the straightforward code below (``baseline_mismatches``: an exhaustive sweep up to
``SWEEP_LIMIT`` inputs, else a seeded sample, and the summary says ``sampled``).

The cost is bounded: a channel whose staircase has more than ``SUMMARY_LEVEL_LIMIT``
output levels in its range (e.g. 32-bit outputs) is left out of the naive and baseline
comparisons, and the summary says so (``skipped_channels``), instead of searching for hours.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from exactbn.formats import Layer, SolvedLayer, twos_width

from .baselines import (
    NaiveResult,
    float32_affine,
    float32_bn,
    naive_channel,
    tflite_params,
    tflite_requantize,
)
from .recheck import reference_levels
from .reference import reference

__all__ = ["layer_summary", "layers_summary", "sweep_inputs", "baseline_mismatches",
           "level_estimate", "SWEEP_LIMIT", "SUMMARY_LEVEL_LIMIT"]

SWEEP_LIMIT = 1 << 16  # inputs per channel swept exhaustively for baseline rates
SUMMARY_LEVEL_LIMIT = 1 << 12  # output levels per channel beyond which baselines are skipped


def level_estimate(a: float, qmin: int, qmax: int, lo: int, hi: int) -> int:
    """An upper estimate of the output levels a channel takes on [lo, hi] (for cost only)."""
    return int(min(qmax - qmin + 1, hi - lo + 1, abs(a) * (hi - lo) + 2))


def sweep_inputs(lo: int, hi: int, limit: int = SWEEP_LIMIT, seed: int = 0
                 ) -> tuple[np.ndarray, bool]:
    """Every x in [lo, hi] if there are at most ``limit``, else a seeded sample (and True)."""
    if hi - lo + 1 <= limit:
        return np.arange(lo, hi + 1, dtype=np.int64), False
    rng = np.random.default_rng(seed)
    xs = rng.integers(lo, hi + 1, size=limit, dtype=np.int64)
    return np.unique(np.concatenate([xs, [lo, hi]])), True


def baseline_mismatches(solved: SolvedLayer, layer: Layer | None, channel: int,
                        limit: int = SWEEP_LIMIT) -> dict[str, Any]:
    """TFLite-style and framework-float32 mismatches against the exact reference."""
    out = solved.output
    a, b = solved.a[channel], solved.b[channel]
    lo, hi = solved.ranges()[channel]
    xs, sampled = sweep_inputs(lo, hi, limit, seed=channel)
    # On [lo, hi] the output stays within [t_min, t_max]: clipping there instead of at
    # [qmin, qmax] gives the same values at a cost of the levels present, not 2^bits.
    levels = reference_levels(a, b, out.rounding, out.qmin, out.qmax, lo, hi)[2]
    ref = reference(a, b, xs, out.rounding, int(levels.min()), int(levels.max()))
    bias, m_q31, shift = tflite_params(a, b, out.zero_point)
    tfl = tflite_requantize(xs, bias, m_q31, shift, out.zero_point, out.qmin, out.qmax)
    if layer is not None and layer.bn is not None:
        bn, c = layer.bn, layer.channels
        f32 = float32_bn(xs, bn["gamma"][channel], bn["beta"][channel], bn["mean"][channel],
                         bn["var"][channel], bn["eps"], layer.input.scales(c)[channel],
                         layer.input.zero_points(c)[channel], out.scale, out.zero_point,
                         out.rounding, out.qmin, out.qmax)
    else:
        f32 = float32_affine(xs, a, b, out.rounding, out.qmin, out.qmax)
    return {"inputs": int(xs.size), "sampled": sampled,
            "tflite": int((tfl != ref).sum()), "float32": int((f32 != ref).sum())}


FAST_MIN_CHANNELS = 64  # narrower layers: the straightforward code (no numba start-up)


def _naive_fallback(solved: SolvedLayer, i: int) -> NaiveResult:
    """The naive search for a channel the kernel left (a product beyond int64)."""
    from .fast import STATUS_NO_EXACT, solve_fast

    out = solved.output
    lo, hi = solved.ranges()[i]
    st = solve_fast(np.array([solved.a[i]]), np.array([solved.b[i]]), lo, hi, out.rounding,
                    out.qmin, out.qmax)
    if st["status"][0] == STATUS_NO_EXACT:  # no exact (M, B, N) at all: naive cannot be exact
        return NaiveResult(None, None, None, None, None)
    return naive_channel(solved.a[i], solved.b[i], out.rounding, out.qmin, out.qmax, lo, hi)


def twos_widths(v) -> np.ndarray:
    """``formats.twos_width`` of every entry of an int64 array (vectorised, exact)."""
    v = np.asarray(v, dtype=np.int64)
    u = np.where(v >= 0, v, -v - 1)  # 0 <= u < 2^63: its bit length, then the sign bit
    e = np.frexp(u.astype(np.float64))[1].astype(np.int64)  # bit length, or one more when
    e = np.minimum(e, 63)                                    # u rounded up to a power of 2
    e -= (e > 0) & ((np.int64(1) << np.maximum(e - 1, 0)) > u)
    return e + 1


def _widths(values: list[int]) -> np.ndarray:
    if values and max(max(values), -min(values)) < (1 << 62):
        return twos_widths(np.array(values, dtype=np.int64))
    return np.array([twos_width(v) for v in values], dtype=np.int64)


def _bounds(ranges: list[tuple[int, int]], idx: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """int64 (lo, hi) of the channels ``idx``; when any bound is at or beyond 2^40 in size,
    lo = 0 > hi = -1 for every channel (the kernel leaves them all to the fallback)."""
    pairs = [ranges[i] for i in idx]
    if pairs and -(1 << 40) < min(map(min, pairs)) and max(map(max, pairs)) < (1 << 40):
        both = np.array(pairs, np.int64).reshape(-1, 2)
        return both[:, 0].copy(), both[:, 1].copy()
    return np.zeros(len(idx), np.int64), np.full(len(idx), -1, np.int64)


def _naive_start(solved: SolvedLayer, sel: np.ndarray) -> np.ndarray | None:
    """Per channel of ``sel`` where the naive search may start: the solver's minimal exact
    N of the folded form (the naive triple is one; below that N no triple is exact), 0 where
    the layer is not in the folded form or the channel is not exact in it."""
    n_min = solved.extra.get("n_min")
    if (solved.hw_rounding != "floor" or not isinstance(n_min, list)
            or len(n_min) != len(solved.exact)):
        return None
    if set(map(type, n_min)) == {int}:  # the usual case, vectorised
        start = (np.asarray(n_min, np.int64) if -(1 << 62) < min(n_min) and max(n_min) < (1 << 62)
                 else None)
        if start is not None:
            start = np.where((start >= 0) & (start <= 64), start, 0)
    else:
        start = None
    if start is None:
        start = np.array([v if type(v) is int and 0 <= v <= 64 else 0 for v in n_min],
                         np.int64)
    return np.where(np.asarray(solved.exact, bool)[sel], start[sel], 0)


def _channel_figures(solved: SolvedLayer, layer: Layer | None, idx: list[int],
                     sweep_limit: int, fast: bool | None = None) -> dict[str, np.ndarray]:
    """Naive N and widths (N = -1: never exact up to 64) and baseline counts of the
    channels ``idx``, as arrays (kernel first, then the fallbacks; ``fast``: use the kernel,
    by default for ``FAST_MIN_CHANNELS`` channels or more)."""
    if not (len(idx) >= FAST_MIN_CHANNELS if fast is None else fast):
        return _slow_figures(solved, layer, idx, sweep_limit)
    from .fast_summary import (  # numba: imported only where it pays
        ST_NAIVE,
        ST_SEGMENTS,
        ST_TFLITE,
        f32_params,
        summary_kernel_run,
        tflite_params_array,
    )

    out = solved.output
    ranges = solved.ranges()
    sel = np.asarray(idx, dtype=np.int64)
    a = np.asarray(solved.a, np.float64)[sel]
    b = np.asarray(solved.b, np.float64)[sel]
    lo_i, hi_i = _bounds(ranges, idx)
    tfl = tflite_params_array(a, b, out.zero_point)
    if layer is not None and layer.bn is not None:
        bn, c = layer.bn, layer.channels
        kind, f32p = f32_params(a, b, {k: np.asarray(bn[k])[sel] for k in
                                       ("gamma", "beta", "mean", "var")} | {"eps": bn["eps"]},
                                np.asarray(layer.input.scales(c))[sel],
                                np.asarray(layer.input.zero_points(c))[sel],
                                out.scale, out.zero_point)
    else:
        kind, f32p = f32_params(a, b)
    res = summary_kernel_run(a, b, lo_i, hi_i, out.rounding, out.qmin, out.qmax, tfl, kind,
                             f32p, SUMMARY_LEVEL_LIMIT + 4, n_start=_naive_start(solved, sel))
    fig = {"naive_N": res["naive"][:, 0].copy(), "naive_W_M": twos_widths(res["naive"][:, 1]),
           "naive_W_B": twos_widths(res["naive"][:, 2]), "inputs": hi_i - lo_i + 1,
           "sampled": np.zeros(len(idx), bool), "tflite": res["tflite"],
           "float32": res["float32"]}
    return _fill(solved, layer, idx, sweep_limit, fig, res["status"],
                 (ST_SEGMENTS, ST_TFLITE, ST_NAIVE))


def _slow_figures(solved, layer, idx, sweep_limit, st_all: int = 1) -> dict[str, np.ndarray]:
    """Every channel by the straightforward code (sweeps, ``naive_channel``)."""
    k = len(idx)
    fig = {"naive_N": np.zeros(k, np.int64), "naive_W_M": np.zeros(k, np.int64),
           "naive_W_B": np.zeros(k, np.int64), "inputs": np.zeros(k, np.int64),
           "sampled": np.zeros(k, bool), "tflite": np.zeros(k, np.int64),
           "float32": np.zeros(k, np.int64)}
    return _fill(solved, layer, idx, sweep_limit, fig, np.full(k, st_all, np.int64),
                 (st_all, 0, 0))


def _fill(solved, layer, idx, sweep_limit, fig, status, bits) -> dict[str, np.ndarray]:
    """The channels the kernel left (status bits), by the straightforward code."""
    ST_SEGMENTS, ST_TFLITE, ST_NAIVE = bits
    out = solved.output
    ranges = solved.ranges()
    naive_n = fig["naive_N"]
    for k in np.flatnonzero(status != 0).tolist():
        i, s = idx[k], int(status[k])
        if s & (ST_SEGMENTS | ST_TFLITE):  # not settled here, or TFLite may wrap: sweep
            r = baseline_mismatches(solved, layer, i, sweep_limit)
            fig["inputs"][k], fig["sampled"][k] = r["inputs"], r["sampled"]
            fig["tflite"][k], fig["float32"][k] = r["tflite"], r["float32"]
        if s & ST_SEGMENTS:
            nv = naive_channel(solved.a[i], solved.b[i], out.rounding, out.qmin, out.qmax,
                               *ranges[i])
        elif s & ST_NAIVE:
            nv = _naive_fallback(solved, i)
        else:
            continue
        naive_n[k] = -1 if nv.N is None else nv.N
        if nv.N is not None:
            fig["naive_W_M"][k], fig["naive_W_B"][k] = nv.w_m, nv.w_b
    return fig


def _selection(solved: SolvedLayer, naive_limit: int | None) -> tuple[list[int], list[int]]:
    """(channels compared, channels skipped: more than SUMMARY_LEVEL_LIMIT levels)."""
    c = solved.channels
    out = solved.output
    n = c if naive_limit is None else min(c, naive_limit)
    rng = solved.input.range
    if rng and not isinstance(rng[0], list):  # one range for every channel
        lo = np.full(n, float(rng[0]))
        hi = np.full(n, float(rng[1]))
    else:
        both = np.array(solved.ranges()[:n], np.float64).reshape(-1, 2)  # each int rounded once
        lo, hi = both[:, 0], both[:, 1]
    est = np.minimum(np.minimum(float(out.qmax - out.qmin + 1), hi - lo + 1),
                     np.abs(np.asarray(solved.a[:n], np.float64)) * (hi - lo) + 2)
    skip = np.floor(est) > SUMMARY_LEVEL_LIMIT  # level_estimate(...) > SUMMARY_LEVEL_LIMIT
    return np.flatnonzero(~skip).tolist(), np.flatnonzero(skip).tolist()


def layer_summary(solved: SolvedLayer, layer: Layer | None = None,
                  naive_limit: int | None = None, sweep_limit: int = SWEEP_LIMIT
                  ) -> dict[str, Any]:
    """Figures for one solved layer, on every channel (the first ``naive_limit`` if given).

    Counts are exact over each channel's whole range except where ``baselines.sampled``
    says otherwise (only channels the kernel leaves to :func:`baseline_mismatches`)."""
    idx, skipped = _selection(solved, naive_limit)
    fig = _channel_figures(solved, layer, idx, sweep_limit) if idx else None
    return _assemble(solved, idx, skipped, fig)


def layers_summary(solved: list[SolvedLayer], layers: list[Layer | None],
                   sweep_limit: int = SWEEP_LIMIT) -> list[dict[str, Any]]:
    """``layer_summary`` of every layer, with one kernel call per output spec for all the
    layers wide enough for the kernel (its threads stay busy across layer boundaries); the
    same figures, layer by layer."""
    from .fast_summary import (
        KIND_F32_BN,
        ST_NAIVE,
        ST_SEGMENTS,
        ST_TFLITE,
        f32_params,
        summary_kernel_run,
        tflite_params_array,
    )

    sels = [_selection(sl, None) for sl in solved]
    figs: list = [None] * len(solved)
    groups: dict = {}
    for k, (sl, lay) in enumerate(zip(solved, layers, strict=True)):
        idx = sels[k][0]
        if len(idx) < FAST_MIN_CHANNELS:
            if idx:
                figs[k] = _channel_figures(sl, lay, idx, sweep_limit)
            continue
        out = sl.output
        bn = lay is not None and lay.bn is not None
        groups.setdefault((out.rounding, out.qmin, out.qmax, out.zero_point, bn), []).append(k)
    for (rounding, qmin, qmax, zp, bn), ks in groups.items():
        parts = []
        for k in ks:
            sl, lay, idx = solved[k], layers[k], sels[k][0]
            sel = np.asarray(idx, dtype=np.int64)
            full = len(idx) == sl.channels
            a = np.asarray(sl.a, np.float64)
            b = np.asarray(sl.b, np.float64)
            if not full:
                a, b = a[sel], b[sel]
            rng = sl.input.range
            if full and not isinstance(rng[0], list):  # one range: _bounds without the list
                lo_i, hi_i = _bounds([(rng[0], rng[1])], [0])
                lo_i, hi_i = np.full(len(idx), lo_i[0]), np.full(len(idx), hi_i[0])
            else:
                lo_i, hi_i = _bounds(sl.ranges(), idx)
            ns = _naive_start(sl, sel)
            f32p = None
            if bn:
                c = lay.channels
                f32p = f32_params(a, b, {key: np.asarray(lay.bn[key])[sel] for key in
                                         ("gamma", "beta", "mean", "var")} | {"eps": lay.bn["eps"]},
                                  np.asarray(lay.input.scales(c))[sel],
                                  np.asarray(lay.input.zero_points(c))[sel],
                                  sl.output.scale, sl.output.zero_point)[1]
            parts.append((a, b, lo_i, hi_i, np.zeros(len(idx), np.int64) if ns is None else ns,
                          f32p))
        a, b, lo_i, hi_i, ns = (np.concatenate([p[j] for p in parts]) for j in range(5))
        if bn:
            kind, f32p = KIND_F32_BN, np.concatenate([p[5] for p in parts])
        else:
            kind, f32p = f32_params(a, b)
        res = summary_kernel_run(a, b, lo_i, hi_i, rounding, qmin, qmax,
                                 tflite_params_array(a, b, zp), kind, f32p,
                                 SUMMARY_LEVEL_LIMIT + 4, n_start=ns)
        start = 0
        for k, p in zip(ks, parts, strict=True):
            n = p[0].shape[0]
            sl_ = slice(start, start + n)
            start += n
            nv = res["naive"][sl_]
            fig = {"naive_N": nv[:, 0].copy(), "naive_W_M": twos_widths(nv[:, 1]),
                   "naive_W_B": twos_widths(nv[:, 2]), "inputs": p[3] - p[2] + 1,
                   "sampled": np.zeros(n, bool), "tflite": res["tflite"][sl_].copy(),
                   "float32": res["float32"][sl_].copy()}
            figs[k] = _fill(solved[k], layers[k], sels[k][0], sweep_limit, fig,
                            res["status"][sl_], (ST_SEGMENTS, ST_TFLITE, ST_NAIVE))
    return [_assemble(sl, sels[k][0], sels[k][1], figs[k]) for k, sl in enumerate(solved)]


def _assemble(solved: SolvedLayer, idx: list[int], skipped: list[int], fig) -> dict[str, Any]:
    """The summary dict of a layer from its channels' figures (``_channel_figures``)."""
    c = solved.channels
    sel = np.asarray(idx, dtype=np.int64)
    full = len(idx) == c
    w_m = _widths(solved.M if full else [solved.M[i] for i in idx])
    w_b = _widths(solved.B if full else [solved.B[i] for i in idx])
    n_ex = np.asarray(solved.N, dtype=np.int64)
    if not full:
        n_ex = n_ex[sel]
    ok = fig["naive_N"] >= 0 if idx else np.zeros(0, bool)
    naive_none = int((~ok).sum())
    if idx:
        saved_n = fig["naive_N"][ok] - n_ex[ok]
        saved_m = fig["naive_W_M"][ok] - w_m[ok]
        saved_b = fig["naive_W_B"][ok] - w_b[ok]
        saved_total = saved_m + saved_b  # the shift field's width is the same on both sides
        naive_ns = fig["naive_N"][ok]
        inputs = int(fig["inputs"].sum())
        tfl, f32 = int(fig["tflite"].sum()), int(fig["float32"].sum())
    else:
        saved_n = saved_m = saved_b = saved_total = naive_ns = np.zeros(0, np.int64)
        inputs = tfl = f32 = 0

    def stats(v):
        v = np.sort(np.asarray(v), kind="stable")
        if v.size == 0:
            return None
        h = v.size // 2  # np.median's value (the mean of the two middle ones), without its cost
        med = float(v[h]) if v.size % 2 else (float(v[h - 1]) + float(v[h])) / 2
        return {"min": int(v[0]), "median": int(med) if med.is_integer() else med,
                "max": int(v[-1])}

    return {
        "layer": solved.name,
        "channels": c,
        "hw_rounding": solved.hw_rounding,
        "shift_mode": solved.shift_mode,
        "exact_channels": sum(solved.exact),
        "inexact_outputs": sum(solved.mismatches),
        "N": stats(solved.N),
        "widths": solved.widths.to_json(),
        "param_bits_per_channel": solved.widths.M + solved.widths.B + solved.widths.N,
        "skipped_channels": skipped,
        "skip_reason": (f"more than {SUMMARY_LEVEL_LIMIT} levels"
                        if skipped else None),
        "naive": {
            "channels_compared": len(idx),
            "no_exact_n_up_to_64": naive_none,
            "N": stats(naive_ns),
            "saved_N": stats(saved_n),
            "saved_W_M": stats(saved_m),
            "saved_W_B": stats(saved_b),
            "saved_param_bits": stats(saved_total),
        },
        "baselines": {
            "inputs_checked": inputs,
            "sampled": bool(idx) and bool(fig["sampled"].any()),
            "sampled_channels": int(fig["sampled"].sum()) if idx else 0,
            "tflite_mismatches": tfl,
            "float32_mismatches": f32,
            "tflite_rate": tfl / max(inputs, 1),
            "float32_rate": f32 / max(inputs, 1),
            "tflite_channels_with_mismatch": int((fig["tflite"] > 0).sum()) if idx else 0,
        },
    }
