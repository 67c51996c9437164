"""The usual alternatives, bit-exact, for the reports.

* Naive: round a and b independently to the 2^-N grid (rounding offset folded as the exact
  solver folds it), smallest exact N up to 64 (exactness is not monotone in N: search all).
* TFLite-style requantizer as deployed: bias folded into the int32 accumulator, a Q31
  multiplier and a shift, gemmlowp's ``SaturatingRoundingDoublingHighMul`` and
  ``RoundingDivideByPOT`` (names and semantics as in gemmlowp's fixedpoint.h).
* Framework float32: dequantize, BN in float32, quantize with the layer's rounding in float32.
* Threshold unit (FINN's way of absorbing BN): qmax - qmin thresholds per channel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from exactbn.formats import twos_width

from .reference import thresholds
from .segments import compare_segments, model_segments, reference_segments

__all__ = [
    "NaiveResult",
    "naive_channel",
    "INT32_MIN",
    "INT32_MAX",
    "quantize_multiplier",
    "saturating_rounding_doubling_high_mul",
    "rounding_divide_by_pot",
    "multiply_by_quantized_multiplier",
    "tflite_params",
    "tflite_requantize",
    "float32_affine",
    "float32_bn",
    "thresholds_for_channel",
    "threshold_model",
]

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


# ----------------------------------------------------------------------------- naive


@dataclass
class NaiveResult:
    """Smallest exact N of the naive rule (None: not exact for any N <= 64) and its widths."""

    N: int | None
    M: int | None
    B: int | None
    w_m: int | None
    w_b: int | None
    mismatches_at_n: dict[int, int] | None = None


def _round_half_up(v: Fraction) -> int:
    return math.floor(v + Fraction(1, 2))


def naive_params(a: float, b: float, rounding: str, n: int) -> tuple[int, int]:
    """M = round(a*2^N), B = round((b + off)*2^N), off = 1/2 unless the rounding is floor."""
    off = Fraction(0) if rounding == "floor" else Fraction(1, 2)
    return _round_half_up(Fraction(a) * (1 << n)), _round_half_up((Fraction(b) + off) * (1 << n))


def naive_channel(a: float, b: float, rounding: str, qmin: int, qmax: int, lo: int, hi: int,
                  n_limit: int = 64) -> NaiveResult:
    """The naive baseline for one channel (exact mismatch counts, no sampling)."""
    ref = reference_segments(a, b, rounding, qmin, qmax, lo, hi)
    for n in range(0, n_limit + 1):
        m, bb = naive_params(a, b, rounding, n)
        cnt, _ = compare_segments(ref, model_segments(m, bb, n, "floor", qmin, qmax, lo, hi))
        if cnt == 0:
            return NaiveResult(n, m, bb, twos_width(m), twos_width(bb))
    return NaiveResult(None, None, None, None, None)


# ----------------------------------------------------------------------------- TFLite-style


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier: real = m_q31 * 2^(shift - 31), |m_q31| in [2^30, 2^31)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    scaled = q * (1 << 31)
    q_fixed = int(math.copysign(math.floor(abs(scaled) + 0.5), scaled))  # std::round
    if abs(q_fixed) == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return int(q_fixed), int(shift)


def saturating_rounding_doubling_high_mul(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul on int32 values (vectorised, exact)."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    ab = a.astype(object) * b.astype(object) if a.dtype == object else a * b  # |ab| <= 2^62
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    num = ab + nudge
    # C++ integer division truncates toward zero.
    q = np.where(num >= 0, num // (1 << 31), -((-num) // (1 << 31)))
    return np.where(overflow, INT32_MAX, q).astype(np.int64)


def rounding_divide_by_pot(x, exponent):
    """gemmlowp RoundingDivideByPOT: x / 2^exponent, rounding half away from zero."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0).astype(np.int64)
    return (x >> exponent) + (remainder > threshold).astype(np.int64)


def _wrap32(v):
    v = np.asarray(v, dtype=np.int64)
    return ((v + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def multiply_by_quantized_multiplier(x, m_q31, shift):
    """TFLite's MultiplyByQuantizedMultiplier (gemmlowp double rounding)."""
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    xs = _wrap32(np.asarray(x, dtype=np.int64) << left)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(xs, m_q31), right)


def tflite_params(a: float, b: float, zero_point_out: int = 0) -> tuple[int, int, int]:
    """(bias_int32, m_q31, shift) for q = zp + MBQM(x + bias): the bias in accumulator units.

    ``a*x + b = a*(x + (b - zp)/a) + zp``: the converter rounds (b - zp)/a in float64 to an
    int32 bias, as TFLite's converter quantizes a bias to the accumulator scale.
    """
    m_q31, shift = quantize_multiplier(a)
    if a == 0.0:
        return 0, 0, 0
    bias = (b - zero_point_out) / a
    bias_int = int(np.clip(np.round(bias), INT32_MIN, INT32_MAX))
    return bias_int, m_q31, shift


def tflite_requantize(acc, bias, m_q31, shift, zero_point, qmin, qmax):
    """q = clamp(zp + MultiplyByQuantizedMultiplier(acc + bias, m_q31, shift), qmin, qmax).

    ``acc + bias`` wraps as an int32 accumulator does; all arguments broadcast.
    """
    total = _wrap32(np.asarray(acc, dtype=np.int64) + np.asarray(bias, dtype=np.int64))
    q = multiply_by_quantized_multiplier(total, m_q31, shift) + np.asarray(zero_point, np.int64)
    return np.clip(q, qmin, qmax).astype(np.int64)


# ----------------------------------------------------------------------------- float32


def _round_f32(v: np.ndarray, rounding: str) -> np.ndarray:
    half = np.float32(0.5)
    if rounding == "floor":
        return np.floor(v)
    if rounding == "half_up":
        return np.floor(v + half)
    if rounding == "half_even":
        return np.rint(v)
    if rounding == "half_away":
        return np.sign(v) * np.floor(np.abs(v) + half)
    raise ValueError(f"unknown rounding {rounding!r}")


def _clip_to_int(v: np.ndarray, qmin: int, qmax: int) -> np.ndarray:
    return np.clip(v, qmin, qmax).astype(np.int64)


def float32_affine(x, a, b, rounding: str, qmin: int, qmax: int) -> np.ndarray:
    """clip(R(float32(a)*float32(x) + float32(b))) evaluated in float32."""
    f = np.float32
    v = np.asarray(a, dtype=f) * np.asarray(x).astype(f) + np.asarray(b, dtype=f)
    return _clip_to_int(_round_f32(v.astype(f), rounding), qmin, qmax)


def float32_bn(x, gamma, beta, mean, var, eps, s_in, z_in, s_out, z_out, rounding: str,
               qmin: int, qmax: int) -> np.ndarray:
    """A framework's float32 path: dequantize, BN as (x - mean) * invstd * gamma + beta,
    then q = R(y / s_out) + z_out in float32 (PyTorch/ONNX order)."""
    f = np.float32
    x_real = np.asarray(s_in, f) * (np.asarray(x).astype(f) - np.asarray(z_in, f))
    invstd = f(1.0) / np.sqrt(np.asarray(var, f) + f(eps))
    y = (x_real - np.asarray(mean, f)) * invstd * np.asarray(gamma, f) + np.asarray(beta, f)
    q = _round_f32((y / np.asarray(s_out, f)).astype(f), rounding) + np.asarray(z_out, f)
    return _clip_to_int(q, qmin, qmax)


# ----------------------------------------------------------------------------- thresholds


def thresholds_for_channel(a: float, b: float, rounding: str, qmin: int, qmax: int,
                           lo: int, hi: int) -> tuple[int, list[int]]:
    """(direction, T): FINN-style thresholds, exact. out = qmin + #{k : dir*x >= T_k}.

    T has qmax - qmin entries, non-decreasing, clamped to [dir-range lo, dir-range hi + 1]
    (a threshold that is never crossed in the range sits one past its end).
    """
    sign, t = thresholds(a, b, rounding, qmin, qmax)
    direction = sign if sign != 0 else 1
    mlo, mhi = (lo, hi) if direction > 0 else (-hi, -lo)
    if sign == 0:  # constant: thresholds at -inf (reached) or +inf (never)
        t = np.where(t < 0, mlo, mhi + 1)
    return direction, [int(min(max(v, mlo), mhi + 1)) for v in t]


def threshold_model(thresholds_, x, qmin: int, direction: int = 1) -> np.ndarray:
    """out = qmin + #{k : direction*x >= T_k}, the threshold unit's arithmetic."""
    t = np.asarray(thresholds_, dtype=np.int64)
    xs = np.asarray(x, dtype=np.int64) * direction
    return qmin + np.searchsorted(t, xs, side="right").astype(np.int64)
