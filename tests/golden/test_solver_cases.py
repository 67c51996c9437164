"""Solver behaviour on the cases users meet: signs, constants, saturation, ties, modes."""

from __future__ import annotations

import numpy as np
import pytest
from exactbn.golden import integer_model, reference
from exactbn.golden.solver import Budget, solve_channel, solve_layer
from exactbn.golden.verify import exhaustive_check, transition_points, verify_layer
from hypothesis import given, settings
from hypothesis import strategies as st

from exactbn import formats

ROUNDINGS = ["floor", "half_up", "half_even", "half_away"]


def _exact_on_range(a, b, rounding, qmin, qmax, lo, hi, sol, hw="floor"):
    xs = np.arange(lo, hi + 1)
    return np.array_equal(integer_model(sol.M, sol.B, sol.N, xs, qmin, qmax, hw),
                          reference(a, b, xs, rounding, qmin, qmax))


@pytest.mark.parametrize("a,b,qmin,qmax,lo,hi,expect", [
    (0.0, 3.2, -128, 127, -1000, 1000, (0, 3, 0)),          # a == 0: constant
    (1e-9, 3.2, -128, 127, -1000, 1000, (0, 3, 0)),         # constant output over the range
    (5.0, 1000.0, -128, 127, 0, 1000, (0, 127, 0)),         # all saturated high
    (5.0, -1000.0, -128, 127, -1000, 0, (0, -128, 0)),      # all saturated low
    (-2.0, -1000.0, 0, 15, 0, 100, (0, 0, 0)),              # ReLU clip, all at 0
])
def test_constant_channels_use_m_zero(a, b, qmin, qmax, lo, hi, expect):
    sol = solve_channel(a, b, "half_even", qmin, qmax, lo, hi)
    assert sol.exact and (sol.M, sol.B, sol.N) == expect
    assert _exact_on_range(a, b, "half_even", qmin, qmax, lo, hi, sol)


def test_negative_slope_mirrors():
    a, b = -0.013671875, 4.25
    pos = solve_channel(-a, b, "half_up", -128, 127, -2000, 2000)
    neg = solve_channel(a, b, "half_up", -128, 127, -2000, 2000)
    assert neg.exact and neg.M < 0 and neg.N == pos.N and abs(neg.M) == pos.M
    assert _exact_on_range(a, b, "half_up", -128, 127, -2000, 2000, neg)


def test_one_sided_relu_clip():
    sol = solve_channel(0.0123, -3.3, "half_even", 0, 255, -30000, 30000)
    assert sol.exact and _exact_on_range(0.0123, -3.3, "half_even", 0, 255, -30000, 30000, sol)


def test_tie_channel_needs_rounding_stage():
    # a = 1/4, b = 1/2 with half_even: level widths 3, 5, 3, 5, ...: no floor form exists
    folded = solve_channel(0.25, 0.5, "half_even", -128, 127, -512, 511, hw_rounding="floor")
    assert not folded.exact and not folded.exact_possible and folded.mismatches > 0
    staged = solve_channel(0.25, 0.5, "half_even", -128, 127, -512, 511,
                           hw_rounding="half_even")
    assert staged.exact and (staged.M, staged.B, staged.N) == (1, 2, 2)
    assert _exact_on_range(0.25, 0.5, "half_even", -128, 127, -512, 511, staged, "half_even")


def test_half_away_tie_channel_on_negative_values():
    staged = solve_channel(0.5, 0.0, "half_away", -128, 127, -300, 300, hw_rounding="half_away")
    assert staged.exact
    assert _exact_on_range(0.5, 0.0, "half_away", -128, 127, -300, 300, staged, "half_away")
    # Level 0 is one input wide, every other level two: on a bounded range a slope just
    # above 1/2 still fits, so the folded form is exact too, only with a larger N.
    folded = solve_channel(0.5, 0.0, "half_away", -128, 127, -300, 300)
    assert folded.exact and folded.N > staged.N


@settings(max_examples=60, deadline=None)
@given(
    log2a=st.floats(-14, 2), sign=st.sampled_from([-1, 1]), b=st.floats(-300, 300),
    rounding=st.sampled_from(ROUNDINGS), lo=st.integers(-40000, 0), width=st.integers(0, 60000),
    clip=st.sampled_from([(-128, 127), (0, 255), (0, 15), (-8, 7), (0, 127)]),
)
def test_solutions_are_exact_at_every_transition(log2a, sign, b, rounding, lo, width, clip):
    a = sign * 2.0 ** log2a
    hi = lo + width
    for hw in ("floor", rounding):
        sol = solve_channel(a, b, rounding, *clip, lo, hi, hw_rounding=hw)
        layer = formats.SolvedLayer(
            "t", formats.InputSpec(17, True, range=[lo, hi]),
            formats.OutputSpec(9, True, rounding=rounding, clip=list(clip)), hw, "per-channel",
            [a], [b], [sol.M], [sol.B], [sol.N],
            formats.SolvedLayer.widths_for([sol.M], [sol.B], [sol.N], "per-channel"),
            [sol.exact], [sol.mismatches], [sol.certificate])
        assert exhaustive_check(layer, 0) == sol.mismatches
        xs = np.array(transition_points(layer, 0))
        got = integer_model(sol.M, sol.B, sol.N, xs, *clip, hw)
        ref = reference(a, b, xs, rounding, *clip)
        assert int((got != ref).sum()) <= sol.mismatches
        if hw == rounding:
            assert sol.exact  # with the layer's own rounding in hardware, always exact


def _layer(a, b, rounding="half_even", rng=(-32768, 32767)):
    return formats.Layer(
        "L", formats.InputSpec(16, True, range=list(rng)),
        formats.OutputSpec(8, True, rounding=rounding, clip=[-128, 127]),
        affine={"a": list(a), "b": list(b)})


def test_shared_shift_is_max_of_minima_with_minimal_m_each():
    a = [0.01171875 * 1.37, -0.0031, 0.2]
    b = [3.3, -7.25, 0.4]
    per = solve_layer(_layer(a, b), shift_mode="per-channel")
    shared = solve_layer(_layer(a, b), shift_mode="shared")
    assert set(shared.N) == {max(per.N)} and shared.widths.N == 0
    for c in range(3):
        sol = solve_channel(a[c], b[c], "half_even", -128, 127, -32768, 32767,
                            n_fixed=max(per.N))
        assert (sol.M, sol.B) == (shared.M[c], shared.B[c])
    assert verify_layer(shared, _layer(a, b)).ok


def test_budget_keeps_exact_solutions_that_fit_and_counts_the_rest():
    a, b = [0.0123456], [5.4321]
    exact = solve_layer(_layer(a, b, rng=(-4096, 4095)))
    roomy = solve_layer(_layer(a, b, rng=(-4096, 4095)),
                        budget=Budget(exact.widths.M, exact.widths.B, exact.N[0]))
    assert roomy.exact == [True] and roomy.M == exact.M
    tight = solve_layer(_layer(a, b, rng=(-4096, 4095)), budget=Budget(6, 10, 8))
    assert tight.exact == [False] and tight.mismatches[0] > 0
    assert formats.twos_width(tight.M[0]) <= 6 and formats.twos_width(tight.B[0]) <= 10
    assert tight.N[0] <= 8
    assert exhaustive_check(tight, 0) == tight.mismatches[0]
    assert tight.extra["max_abs_error"][0] >= 1


def test_auto_hw_rounding_picks_stage_only_when_needed():
    normal = solve_layer(_layer([0.0123], [1.3]))
    assert normal.hw_rounding == "floor" and all(normal.exact)
    tie = solve_layer(_layer([0.25, 0.0123], [0.5, 1.3], rng=(-2048, 2047)))
    assert tie.hw_rounding == "half_even" and all(tie.exact)
    forced = solve_layer(_layer([0.25, 0.0123], [0.5, 1.3], rng=(-2048, 2047)),
                         hw_rounding="floor")
    assert forced.exact == [False, True] and forced.mismatches[0] > 0
    assert verify_layer(forced).ok and verify_layer(tie).ok


def test_verify_catches_tampering():
    layer = _layer([0.0123, -0.02], [1.3, 4.4])
    sl = solve_layer(layer)
    assert verify_layer(sl, layer).ok
    sl.M[0] += 1
    assert not verify_layer(sl, layer).ok
    sl.M[0] -= 1
    sl.M[1], sl.B[1], sl.N[1] = 2 * sl.M[1], 2 * sl.B[1], sl.N[1] + 1  # same map, larger N
    check = verify_layer(sl, layer)
    assert not check.ok and "not minimal" in " ".join(check.channels[1].problems)
