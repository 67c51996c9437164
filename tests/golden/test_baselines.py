"""Baselines: gemmlowp primitives, the TFLite-style requantizer, naive rule, thresholds."""

from __future__ import annotations

import numpy as np
import pytest
from exactbn.golden import reference
from exactbn.golden.baselines import (
    INT32_MAX,
    INT32_MIN,
    float32_affine,
    naive_channel,
    naive_params,
    quantize_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    tflite_params,
    tflite_requantize,
    threshold_model,
    thresholds_for_channel,
)
from exactbn.golden.segments import compare_segments, model_segments, reference_segments
from hypothesis import given, settings
from hypothesis import strategies as st


def srdhm_scalar(a: int, b: int) -> int:
    """gemmlowp's definition, statement by statement, on Python ints."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    num = ab + nudge
    return int(num / (1 << 31)) if abs(num) < (1 << 52) else (
        num // (1 << 31) if num >= 0 else -((-num) // (1 << 31)))


def rdbpot_scalar(x: int, e: int) -> int:
    mask = (1 << e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if remainder > threshold else 0)


@settings(max_examples=300, deadline=None)
@given(st.integers(INT32_MIN, INT32_MAX), st.integers(INT32_MIN, INT32_MAX),
       st.integers(0, 31))
def test_gemmlowp_primitives(a, b, e):
    assert int(saturating_rounding_doubling_high_mul(a, b)) == srdhm_scalar(a, b)
    assert int(rounding_divide_by_pot(a, e)) == rdbpot_scalar(a, e)


def test_gemmlowp_known_values():
    assert int(saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN)) == INT32_MAX
    assert int(saturating_rounding_doubling_high_mul(1 << 30, 1 << 30)) == 1 << 29
    assert [int(rounding_divide_by_pot(v, 1)) for v in (-5, -3, 3, 5)] == [-3, -2, 2, 3]


@pytest.mark.parametrize("real", [0.75, 0.5, 1e-3, 2.5, 0.0123, -0.3])
def test_quantize_multiplier_represents_the_real(real):
    m, shift = quantize_multiplier(real)
    assert (1 << 30) <= abs(m) < (1 << 31)
    assert abs(m * 2.0 ** (shift - 31) - real) <= abs(real) * 2.0**-30


def test_tflite_style_is_close_but_not_exact():
    a, b = 0.0123456, 3.21
    xs = np.arange(-32768, 32768)
    ref = reference(a, b, xs, "half_away", -128, 127)
    q = tflite_requantize(xs, *tflite_params(a, b), 0, -128, 127)
    diff = np.abs(q - ref)
    assert diff.max() <= 1 and 0 < (diff > 0).sum() < xs.size // 50


def test_naive_rule_is_searched_over_all_n():
    a, b = 0.0123456, 3.21
    nv = naive_channel(a, b, "half_even", -128, 127, -32768, 32767)
    assert nv.N is not None
    m, bb = naive_params(a, b, "half_even", nv.N)
    assert (m, bb) == (nv.M, nv.B)
    ref = reference_segments(a, b, "half_even", -128, 127, -32768, 32767)
    assert compare_segments(ref, model_segments(m, bb, nv.N, "floor", -128, 127, -32768,
                                                32767))[0] == 0


@pytest.mark.parametrize("a,b,rounding", [(0.013, 2.2, "half_even"), (-0.25, 0.5, "half_even"),
                                          (0.0, 1.5, "half_away"), (3.5, -1.0, "floor")])
def test_threshold_unit_equals_reference(a, b, rounding):
    lo, hi = -2000, 2000
    direction, t = thresholds_for_channel(a, b, rounding, -8, 7, lo, hi)
    assert len(t) == 15
    xs = np.arange(lo, hi + 1)
    assert np.array_equal(threshold_model(t, xs, -8, direction),
                          reference(a, b, xs, rounding, -8, 7))


def test_float32_disagrees_only_near_ties():
    xs = np.arange(-32768, 32768)
    a, b = 0.1, 0.05  # 0.1 is not binary: float32 rounding moves some ties
    ref = reference(a, b, xs, "half_even", -(1 << 20), 1 << 20)
    f32 = float32_affine(xs, a, b, "half_even", -(1 << 20), 1 << 20)
    assert np.abs(ref - f32).max() <= 1
