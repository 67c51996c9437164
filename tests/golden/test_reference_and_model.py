"""The exact reference and the integer model against direct Fraction arithmetic."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from exactbn.golden import integer_model, reference
from exactbn.golden.staircase import tie_goes_up
from hypothesis import given, settings
from hypothesis import strategies as st

ROUNDINGS = ["floor", "half_up", "half_even", "half_away"]


def round_fraction(v: Fraction, rounding: str) -> int:
    fl = v.numerator // v.denominator
    frac = v - fl
    if rounding == "floor":
        return fl
    if frac != Fraction(1, 2):
        return fl + (1 if frac > Fraction(1, 2) else 0)
    if rounding == "half_up":
        return fl + 1
    if rounding == "half_even":
        return fl + (fl % 2)
    return fl + 1 if v > 0 else fl  # half_away


def test_tie_rule_matches_direct_rounding():
    for r in ROUNDINGS[1:]:
        for t in range(-6, 7):
            assert (round_fraction(Fraction(2 * t - 1, 2), r) == t) == tie_goes_up(r, t)


@settings(max_examples=150, deadline=None)
@given(
    a=st.one_of(st.fractions(min_value=-4, max_value=4, max_denominator=64),
                st.sampled_from([Fraction(1, 4), Fraction(-3, 8), Fraction(0)])),
    b=st.fractions(min_value=-20, max_value=20, max_denominator=16),
    rounding=st.sampled_from(ROUNDINGS),
    clip=st.sampled_from([(-8, 7), (0, 15), (-128, 127), (0, 0), (3, 5)]),
)
def test_reference_is_exact_rational_rounding(a, b, rounding, clip):
    af, bf = float(a), float(b)
    fa, fb = Fraction(af), Fraction(bf)  # the exact values of the float64 numbers
    xs = np.arange(-40, 41)
    got = reference(af, bf, xs, rounding, *clip)
    want = [min(max(round_fraction(fa * int(x) + fb, rounding), clip[0]), clip[1]) for x in xs]
    assert got.tolist() == want


def test_reference_broadcasts_per_channel():
    a = np.array([0.25, -0.5, 0.0])
    b = np.array([0.5, 1.0, 2.5])
    xs = np.arange(-5, 6)
    got = reference(a[:, None], b[:, None], xs[None, :], "half_even", -8, 7)
    for c in range(3):
        assert got[c].tolist() == reference(a[c], b[c], xs, "half_even", -8, 7).tolist()


def test_reference_sweeps_2_to_the_20_inputs():
    xs = np.arange(-(1 << 19), 1 << 19)
    q = reference(0.00123, 3.7, xs, "half_even", -128, 127)
    assert q.shape == xs.shape and q.min() == -128 and q.max() == 127


@settings(max_examples=200, deadline=None)
@given(
    m=st.integers(-(1 << 20), 1 << 20), b=st.integers(-(1 << 24), 1 << 24),
    n=st.integers(0, 30), hw=st.sampled_from(ROUNDINGS),
)
def test_integer_model_rounds_the_exact_quotient(m, b, n, hw):
    xs = np.array([-(1 << 15), -7, -1, 0, 1, 5, (1 << 15) - 1], dtype=np.int64)
    got = integer_model(m, b, n, xs, -(1 << 40), 1 << 40, hw)
    want = [round_fraction(Fraction(m * int(x) + b, 1 << n), hw) for x in xs]
    assert got.tolist() == want


def test_integer_model_never_overflows():
    m, b, n = (1 << 40) + 3, -(1 << 50) + 1, 45
    xs = np.array([-(1 << 31), (1 << 31) - 1, 12345])
    got = integer_model(m, b, n, xs, -(1 << 45), 1 << 45, "half_even")
    want = [round_fraction(Fraction(m * int(x) + b, 1 << n), "half_even") for x in xs]
    assert got.tolist() == want


@pytest.mark.parametrize("hw", ROUNDINGS)
def test_integer_model_ties_on_negative_values(hw):
    # (M*x + B) / 4 = -2.5, -1.5, -0.5, 0.5, 1.5, 2.5: the four rules differ here
    xs = np.array([-10, -6, -2, 2, 6, 10])
    got = integer_model(1, 0, 2, xs, -100, 100, hw).tolist()
    want = {"floor": [-3, -2, -1, 0, 1, 2], "half_up": [-2, -1, 0, 1, 2, 3],
            "half_even": [-2, -2, 0, 0, 2, 2], "half_away": [-3, -2, -1, 1, 2, 3]}[hw]
    assert got == want


@settings(max_examples=120, deadline=None)
@given(m=st.integers(-40, 40), b=st.integers(-300, 300), n=st.integers(0, 5),
       hw=st.sampled_from(ROUNDINGS), lo=st.integers(-60, 0), width=st.integers(0, 90),
       clip=st.sampled_from([(-8, 7), (0, 15), (-3, 3)]))
def test_model_segments_equal_the_integer_model_everywhere(m, b, n, hw, lo, width, clip):
    """Mismatch counting uses the model's level boundaries: they must be the model's own."""
    from exactbn.golden.segments import model_segments

    hi = lo + width
    xs = np.arange(lo, hi + 1)
    want = integer_model(m, b, n, xs, *clip, hw)
    got = np.empty_like(want)
    for s, e, level in model_segments(m, b, n, hw, *clip, lo, hi):
        got[s - lo:e - lo + 1] = level
    assert np.array_equal(got, want)
