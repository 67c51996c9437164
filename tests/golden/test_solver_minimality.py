"""The solver's N is minimal, then |M|, then |B|: checked by brute force on small ranges."""

from __future__ import annotations

import numpy as np
import pytest
from brute import exact_params_at, first_exact, smallest_b
from exactbn.golden import integer_model, reference
from exactbn.golden.solver import solve_channel

ROUNDINGS = ["floor", "half_up", "half_even", "half_away"]


def _cases(seed: int, count: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        den = float(rng.choice([2.0, 3.0, 4.0, 8.0, 16.0]))
        a = float(rng.choice([-1, 1]) * rng.integers(1, 30) / den)
        b = float(rng.integers(-30, 30) / rng.choice([1.0, 2.0, 4.0, 3.0]))
        rounding = str(rng.choice(ROUNDINGS))
        qmin, qmax = [(-4, 3), (0, 7), (-8, 7), (-2, 5), (0, 0)][rng.integers(0, 5)]
        lo = int(rng.integers(-10, 1))
        hi = lo + int(rng.integers(0, 12))
        yield a, b, rounding, qmin, qmax, lo, hi


@pytest.mark.parametrize(
    "hw,count",
    [("floor", 25), ("same", 25),
     pytest.param("floor", 200, marks=pytest.mark.slow),
     pytest.param("same", 200, marks=pytest.mark.slow)],
)
def test_minimal_n_then_m_then_b(hw, count):
    checked = 0
    for a, b, rounding, qmin, qmax, lo, hi in _cases(7 if hw == "floor" else 8, count):
        hw_rounding = rounding if hw == "same" else "floor"
        s = solve_channel(a, b, rounding, qmin, qmax, lo, hi, hw_rounding=hw_rounding)
        xs = np.arange(lo, hi + 1)
        ref = reference(a, b, xs, rounding, qmin, qmax)
        got = integer_model(s.M, s.B, s.N, xs, qmin, qmax, hw_rounding)
        case = (a, b, rounding, hw_rounding, qmin, qmax, lo, hi)
        if not s.exact:
            assert s.mismatches == int((got != ref).sum()), case
            for n in range(0, 4):
                assert not first_exact(a, b, rounding, qmin, qmax, lo, hi, hw_rounding, n), case
            checked += 1
            continue
        assert np.array_equal(got, ref), case
        if s.N > 4:  # brute force grows as 4^N: larger N are covered by the slow variant
            continue
        checked += 1
        if s.N > 0:
            assert not first_exact(a, b, rounding, qmin, qmax, lo, hi, hw_rounding, s.N - 1), case
        if s.N <= 3:
            params = [(m, smallest_b(*r)) for m, r in
                      exact_params_at(a, b, rounding, qmin, qmax, lo, hi, hw_rounding, s.N)]
            best = min(params, key=lambda mb: (abs(mb[0]), abs(mb[1])))
            assert (abs(s.M), abs(s.B)) == (abs(best[0]), abs(best[1])), (case, s, best)
    assert checked >= count // 2
