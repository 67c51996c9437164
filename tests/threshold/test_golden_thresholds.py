"""Thresholds from the staircase: exact on every input of the range, checked independently."""

from __future__ import annotations

import random

import numpy as np
import pytest
from exactbn.golden.reference import reference
from exactbn.golden.thresholds import channel_thresholds, count_output, threshold_problems

ROUNDINGS = ("floor", "half_up", "half_even", "half_away")


def _cases():
    rng = random.Random(7)
    cases = [
        (0.0, 2.5, "half_even", 0, 15, -20, 20),        # constant channel (a == 0)
        (-0.37, 1.25, "half_up", -8, 7, -40, 40),        # negative slope
        (5.0, -3.0, "floor", 0, 3, -10, 10),             # saturated: few distinct thresholds
        (1e-3, 0.2, "half_away", -1, 1, -50, 50),        # constant on the range (a != 0)
        (0.5, 0.25, "half_even", 0, 1, 0, 255),          # binary output
        (0.125, 0.0, "half_even", -128, 127, -300, 300),  # 8-bit, ties at every level
    ]
    for _ in range(60):
        a = rng.choice([-1, 1]) * rng.uniform(0.01, 3.0)
        b = rng.uniform(-10, 10)
        bits = rng.choice([1, 2, 4])
        signed = rng.random() < 0.5
        qmin, qmax = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        lo = rng.randint(-60, 10)
        cases.append((a, b, rng.choice(ROUNDINGS), qmin, qmax, lo, lo + rng.randint(0, 80)))
    return cases


@pytest.mark.parametrize("case", _cases())
def test_every_input_of_the_range(case):
    a, b, rounding, qmin, qmax, lo, hi = case
    d, t = channel_thresholds(a, b, rounding, qmin, qmax, lo, hi)
    assert len(t) == qmax - qmin and t == sorted(t)
    mlo, mhi = (lo, hi) if d > 0 else (-hi, -lo)
    assert all(mlo <= v <= mhi + 1 for v in t)  # only as wide as the range needs
    xs = np.arange(lo, hi + 1)
    want = reference(a, b, xs, rounding, qmin, qmax)
    got = [count_output(d, t, qmin, int(x)) for x in xs]
    assert got == want.tolist()
    assert threshold_problems(a, b, rounding, qmin, qmax, lo, hi, d, t) is None


@pytest.mark.parametrize("case", [c for c in _cases()[:24] if c[4] - c[3] <= 15])
def test_planted_off_by_one_is_caught(case):
    a, b, rounding, qmin, qmax, lo, hi = case
    d, t = channel_thresholds(a, b, rounding, qmin, qmax, lo, hi)
    mlo, mhi = (lo, hi) if d > 0 else (-hi, -lo)
    for k, v in enumerate(t):
        for delta in (-1, 1):
            bad = list(t)
            bad[k] = v + delta
            xs = np.arange(lo, hi + 1)
            differs = [count_output(d, bad, qmin, int(x)) for x in xs] != reference(
                a, b, xs, rounding, qmin, qmax).tolist()
            # a moved threshold matters exactly when it moves inside [lo', hi' + 1]
            inside = mlo <= min(v, v + delta) and max(v, v + delta) <= mhi + 1
            at_end = (v == mlo and delta < 0) or (v == mhi + 1 and delta > 0)
            assert differs == (inside and not at_end)
            found = threshold_problems(a, b, rounding, qmin, qmax, lo, hi, d, bad)
            assert (found is not None) == differs


def test_wrong_direction_and_length_refused():
    d, t = channel_thresholds(0.5, 0.0, "floor", 0, 3, -8, 8)
    assert threshold_problems(0.5, 0.0, "floor", 0, 3, -8, 8, -d, t) is not None
    assert threshold_problems(0.5, 0.0, "floor", 0, 3, -8, 8, d, t[:-1]) is not None
    assert threshold_problems(0.5, 0.0, "floor", 0, 3, -8, 8, 0, t) is not None
