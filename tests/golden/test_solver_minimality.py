"""The solver's N is minimal, then |M|, then |B|: checked by brute force on small ranges."""

from __future__ import annotations

import numpy as np
import pytest
from brute import exact_params_at, first_exact
from exactbn.golden import integer_model, reference
from exactbn.golden.solver import solve_channel

ROUNDINGS = ["floor", "half_up", "half_even", "half_away"]


def _cases(seed: int, count: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        den = float(rng.choice([3.0, 4.0, 7.0, 8.0, 16.0, 32.0]))
        a = float(rng.choice([-1, 1]) * rng.integers(1, 30) / den)
        b = float(rng.integers(-30, 30) / rng.choice([2.0, 3.0, 4.0, 8.0]))
        rounding = str(rng.choice(ROUNDINGS))
        qmin, qmax = [(-4, 3), (0, 7), (-8, 7), (-2, 5), (0, 0)][rng.integers(0, 5)]
        lo = int(rng.integers(-10, 1))
        hi = lo + int(rng.integers(0, 12))
        yield a, b, rounding, qmin, qmax, lo, hi


@pytest.mark.parametrize(
    "hw,count",
    [("floor", 15), ("same", 15),
     pytest.param("floor", 200, marks=pytest.mark.slow),
     pytest.param("same", 200, marks=pytest.mark.slow)],
)
def test_minimal_n_then_m_then_b(hw, count):
    for a, b, rounding, qmin, qmax, lo, hi in _cases(7 if hw == "floor" else 8, count):
        hw_rounding = rounding if hw == "same" else "floor"
        s = solve_channel(a, b, rounding, qmin, qmax, lo, hi, hw_rounding=hw_rounding)
        xs = np.arange(lo, hi + 1)
        ref = reference(a, b, xs, rounding, qmin, qmax)
        got = integer_model(s.M, s.B, s.N, xs, qmin, qmax, hw_rounding)
        case = (a, b, rounding, hw_rounding, qmin, qmax, lo, hi)
        if not s.exact:
            assert s.mismatches == int((got != ref).sum()), case
            for n in range(0, 6):
                assert not first_exact(a, b, rounding, qmin, qmax, lo, hi, hw_rounding, n), case
            continue
        assert np.array_equal(got, ref), case
        if s.N > 0:
            assert not first_exact(a, b, rounding, qmin, qmax, lo, hi, hw_rounding, s.N - 1), case
        if s.N <= 3:
            best = min(exact_params_at(a, b, rounding, qmin, qmax, lo, hi, hw_rounding, s.N),
                       key=lambda mb: (abs(mb[0]), abs(mb[1]), -mb[0], -mb[1]))
            assert (abs(s.M), abs(s.B)) == (abs(best[0]), abs(best[1])), (case, s, best)
