"""Shortcuts in the solver's slower paths give exactly the straightforward answers.

- the rounding-stage N search starts at the closed slope interval's bound, not at 0;
- auto mode keeps the probe's exact answers instead of solving every channel again;
- shared shift skips the approximation search in its first pass.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from exactbn.golden import solver
from exactbn.golden.solver import solve_channel, solve_layer

from exactbn import formats

ROUNDINGS = ("half_up", "half_even", "half_away")


def _channels(seed: int, count: int):
    rng = random.Random(seed)
    for _ in range(count):
        if rng.random() < 0.4:  # exact ties
            a = rng.choice((-1, 1)) * 2.0 ** rng.randint(-9, -1) * rng.choice((1, 3))
            b = rng.randint(-40, 40) + rng.choice((0.5, 0.25, 0.0))
        else:
            a = rng.choice((-1, 1)) * 2.0 ** rng.uniform(-10, 1)
            b = rng.uniform(-50, 50)
        lo = rng.randint(-3000, 0)
        yield a, b, rng.choice(ROUNDINGS), lo, lo + rng.randint(0, 3000)


def _key(s):
    return (s.M, s.B, s.N, s.exact, s.mismatches, s.certificate, s.n_min)


def test_rounding_stage_n_search_from_the_bound_equals_search_from_zero(monkeypatch):
    cases = list(_channels(1, 150))
    fast = [solve_channel(a, b, r, -128, 127, lo, hi, hw_rounding=hw)
            for a, b, r, lo, hi in cases for hw in (r, "half_even")]
    monkeypatch.setattr(solver, "_n_lower_closed", lambda lo, hi: 0)
    slow = [solve_channel(a, b, r, -128, 127, lo, hi, hw_rounding=hw)
            for a, b, r, lo, hi in cases for hw in (r, "half_even")]
    assert [_key(s) for s in fast] == [_key(s) for s in slow]
    assert any(s.N > 0 for s in fast)


def _layer(a, b, rounding):
    return formats.Layer(
        "L", formats.InputSpec(12, True, range=[-2048, 2047]),
        formats.OutputSpec(8, True, rounding=rounding, clip=[-128, 127]),
        affine={"a": list(a), "b": list(b)})


@pytest.mark.parametrize("shift", ["per-channel", "shared"])
def test_auto_and_shared_shortcuts_equal_solving_every_channel(shift, monkeypatch):
    rng = np.random.default_rng(7)
    a = list(rng.choice([-1, 1], 12) * 2.0 ** rng.uniform(-9, -2, 12)) + [0.25, -0.375]
    b = list(rng.normal(0, 20, 12)) + [0.5, 0.25]
    layer = _layer(a, b, "half_even")
    got = solve_layer(layer, shift_mode=shift)
    assert got.hw_rounding == "half_even"

    def every_channel(a_, b_, out, ranges, hw, shift_mode, budget, approximate=True):
        args = [(float(a_[i]), float(b_[i]), out.rounding, out.qmin, out.qmax, *ranges[i])
                for i in range(len(a_))]
        sols = [solve_channel(*arg, hw_rounding=hw, budget=budget,
                              approximate=approximate or shift_mode == "shared")
                for arg in args]
        if shift_mode == "shared":
            n = max((s.N for s in sols if s.exact), default=max(s.N for s in sols))
            sols = [solve_channel(*arg, hw_rounding=hw, n_fixed=n, budget=budget)
                    for arg in args]
        return sols

    monkeypatch.setattr(solver, "_solve_all", every_channel)
    monkeypatch.setattr(solver, "_complete",
                        lambda sols, a_, b_, out, ranges, hw, budget:
                        every_channel(a_, b_, out, ranges, hw, "per-channel", budget))
    want = solve_layer(layer, shift_mode=shift)
    for k in ("M", "B", "N", "exact", "mismatches", "certificate", "hw_rounding"):
        assert getattr(got, k) == getattr(want, k), k


def test_flat_and_reversed_model_counts_equal_the_segment_count():
    """The vectorised count for M <= 0 (mirrored) equals the exact segment comparison."""
    rng = random.Random(5)
    for a, b, r, lo, hi in _channels(9, 40):
        hi = lo + (hi - lo) % 400
        for hw in ("floor", r):
            st, _, _ = solver.channel_constraints(a, b, r, -8, 7, lo, hi)
            n = rng.randint(0, 6)
            for m in (0, -1, -rng.randint(2, 40)):
                bs = [rng.randint(-300, 300) for _ in range(12)]
                huge = [1 << 62, -(1 << 62), 5]  # Python-int route
                got = (solver._agreements_nonpos(st, m, bs, n, hw, -8, 7)
                       + solver._agreements_nonpos(st, m, huge, n, hw, -8, 7))
                for g, bb in zip(got, bs + huge, strict=True):
                    cnt, _ = solver._mismatch(a, b, r, -8, 7, lo, hi, m * st.sign, bb, n, hw)
                    assert hi - lo + 1 - g == cnt, (a, b, r, hw, lo, hi, m, bb, n)


def test_steep_staircase_walks_inputs_with_the_same_result():
    """|a| >> 1 (wide outputs): the staircase from the inputs equals the one from the levels."""
    from fractions import Fraction

    from exactbn.golden import staircase as sc
    rng = random.Random(11)
    for _ in range(300):
        a = rng.choice((-1, 1)) * rng.choice((2.0 ** rng.randint(1, 12), rng.uniform(2, 900)))
        b = rng.choice((rng.uniform(-5000, 5000), rng.randint(-99, 99) + 0.5))
        r = rng.choice(("floor", "half_up", "half_even", "half_away"))
        qmin, qmax = rng.choice(((-(1 << 31), (1 << 31) - 1), (-128, 127), (0, 20000)))
        lo = rng.randint(-300, 300)
        hi = lo + rng.randint(0, 200)
        got = sc.staircase(a, b, r, qmin, qmax, lo, hi)
        sign = 1 if a > 0 else -1
        mlo, mhi = (lo, hi) if sign > 0 else (-hi, -lo)
        fa = Fraction(a) * sign
        levels = [min(max(sc._round_exact(fa * x + Fraction(b), r), qmin), qmax)
                  for x in range(mlo, mhi + 1)]
        want_levels = [t for i, t in enumerate(levels) if i == 0 or t != levels[i - 1]]
        assert got.levels == want_levels and got.sign == sign
        assert got.first == [mlo + i for i, t in enumerate(levels) if i == 0 or t != levels[i - 1]]
