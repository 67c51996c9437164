"""Per-layer figures for tables and reports: widths, bits saved, baseline mismatch rates.

The cost is bounded: a channel whose staircase has more than ``SUMMARY_LEVEL_LIMIT``
output levels in its range (e.g. 32-bit outputs) is left out of the naive and baseline
comparisons, and the summary says so (``skipped_channels``), instead of searching for hours.
"""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np

from exactbn.formats import Layer, SolvedLayer

from .baselines import float32_affine, float32_bn, naive_channel, tflite_params, tflite_requantize
from .recheck import reference_levels
from .reference import reference

__all__ = ["layer_summary", "sweep_inputs", "baseline_mismatches", "level_estimate",
           "SWEEP_LIMIT", "SUMMARY_LEVEL_LIMIT"]

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


def layer_summary(solved: SolvedLayer, layer: Layer | None = None, naive_limit: int = 256,
                  sweep_limit: int = SWEEP_LIMIT) -> dict[str, Any]:
    """Figures for one solved layer. The naive baseline and the baseline rates are computed
    on the first ``naive_limit`` channels (all of them for ordinary layers)."""
    c = solved.channels
    out = solved.output
    first = list(range(min(c, naive_limit)))
    ranges = solved.ranges()
    skipped = [i for i in first if level_estimate(solved.a[i], out.qmin, out.qmax, *ranges[i])
               > SUMMARY_LEVEL_LIMIT]
    idx = [i for i in first if i not in set(skipped)]
    naive = [naive_channel(solved.a[i], solved.b[i], out.rounding, out.qmin, out.qmax,
                           *solved.ranges()[i]) for i in idx]
    from exactbn.formats import twos_width

    w_m = [twos_width(solved.M[i]) for i in idx]
    w_b = [twos_width(solved.B[i]) for i in idx]
    n_ex = [solved.N[i] for i in idx]
    saved_n, saved_m, saved_b, saved_total = [], [], [], []
    naive_none = 0
    for i, nv in enumerate(naive):
        if nv.N is None:
            naive_none += 1
            continue
        saved_n.append(nv.N - n_ex[i])
        saved_m.append(nv.w_m - w_m[i])
        saved_b.append(nv.w_b - w_b[i])
        wn = max(solved.widths.N, 0)
        saved_total.append((nv.w_m + nv.w_b + wn) - (w_m[i] + w_b[i] + wn))
    base = [baseline_mismatches(solved, layer, i, sweep_limit) for i in idx]
    inputs = sum(r["inputs"] for r in base)

    def stats(v):
        return None if not v else {"min": min(v), "median": statistics.median(v), "max": max(v)}

    return {
        "layer": solved.name,
        "channels": c,
        "hw_rounding": solved.hw_rounding,
        "shift_mode": solved.shift_mode,
        "exact_channels": sum(solved.exact),
        "inexact_outputs": sum(solved.mismatches),
        "N": stats(list(solved.N)),
        "widths": solved.widths.to_json(),
        "param_bits_per_channel": solved.widths.M + solved.widths.B + solved.widths.N,
        "skipped_channels": skipped,
        "skip_reason": (f"more than {SUMMARY_LEVEL_LIMIT} levels"
                        if skipped else None),
        "naive": {
            "channels_compared": len(idx),
            "no_exact_n_up_to_64": naive_none,
            "N": stats([nv.N for nv in naive if nv.N is not None]),
            "saved_N": stats(saved_n),
            "saved_W_M": stats(saved_m),
            "saved_W_B": stats(saved_b),
            "saved_param_bits": stats(saved_total),
        },
        "baselines": {
            "inputs_checked": inputs,
            "sampled": any(r["sampled"] for r in base),
            "tflite_mismatches": sum(r["tflite"] for r in base),
            "float32_mismatches": sum(r["float32"] for r in base),
            "tflite_rate": sum(r["tflite"] for r in base) / max(inputs, 1),
            "float32_rate": sum(r["float32"] for r in base) / max(inputs, 1),
            "tflite_channels_with_mismatch": sum(1 for r in base if r["tflite"]),
        },
    }
