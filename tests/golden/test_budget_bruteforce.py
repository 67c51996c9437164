"""Budget mode against brute force over every in-budget (N, M, B), on every input x.

The brute force uses only the integer model and the exact reference: for each budget it
finds whether an exact triple exists, the smallest (N, |M|, |B|) among them, and otherwise
the fewest mismatching inputs. The solver must agree exactly (and prove its count).
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from exactbn.golden.model import integer_model
from exactbn.golden.reference import reference
from exactbn.golden.solver import Budget, solve_channel

ROUNDINGS = ("floor", "half_up", "half_even", "half_away")


def brute(a, b, rounding, qmin, qmax, lo, hi, hw, budget: Budget):
    """(best exact key (N, |M|, |B|) or None, fewest mismatches) over the whole budget."""
    x = np.arange(lo, hi + 1, dtype=np.int64)
    ref = reference(a, b, x, rounding, qmin, qmax)
    ms = np.arange(-(1 << (budget.w_m - 1)), 1 << (budget.w_m - 1), dtype=np.int64)
    bs = np.arange(-(1 << (budget.w_b - 1)), 1 << (budget.w_b - 1), dtype=np.int64)
    best_exact = None
    fewest = x.size
    for n in range(budget.n_max + 1):
        got = integer_model(ms[:, None, None], bs[None, :, None], n, x[None, None, :],
                            qmin, qmax, hw)
        wrong = (got != ref[None, None, :]).sum(axis=2)
        fewest = min(fewest, int(wrong.min()))
        if best_exact is None:
            im, ib = np.nonzero(wrong == 0)
            if im.size:
                best_exact = min((n, abs(int(ms[i])), abs(int(bs[j])))
                                 for i, j in zip(im, ib, strict=True))
    return best_exact, fewest


def check(a, b, rounding, qmin, qmax, lo, hi, hw, budget):
    want_exact, fewest = brute(a, b, rounding, qmin, qmax, lo, hi, hw, budget)
    sol = solve_channel(a, b, rounding, qmin, qmax, lo, hi, hw_rounding=hw, budget=budget)
    case = (a.hex(), b.hex(), rounding, qmin, qmax, lo, hi, hw, budget)
    assert budget.fits(sol.M, sol.B, sol.N), case
    x = np.arange(lo, hi + 1, dtype=np.int64)
    wrong = int((integer_model(sol.M, sol.B, sol.N, x, qmin, qmax, hw)
                 != reference(a, b, x, rounding, qmin, qmax)).sum())
    assert wrong == sol.mismatches, case
    if want_exact is not None:
        assert sol.exact and (sol.N, abs(sol.M), abs(sol.B)) == want_exact, (case, sol)
    else:
        assert not sol.exact and sol.mismatches == fewest, (case, sol, fewest)
        assert sol.mismatches_lower_bound == fewest, (case, sol)
    return sol


def test_issue_counterexample_floor_tie_channel_has_in_budget_exact_triple():
    a, b = float.fromhex("0x1.c000000000000p-1"), float.fromhex("0x1.2611800000000p+14")
    sol = check(a, b, "floor", -128, 127, -21660, -21654, "floor", Budget(8, 12, 10))
    assert sol.exact and sol.N == 9 and sol.M == 3  # (3, -62, 9) is exact too; |B| 60 < 62


def test_issue_counterexample_single_input_needs_negative_m():
    a, b = float.fromhex("0x1.8000000000000p-6"), float.fromhex("0x1.5f00000000000p+7")
    sol = check(a, b, "half_up", 0, 255, -4, -4, "floor", Budget(6, 8, 6))
    assert sol.exact and sol.M < 0  # 175 = -4*M + B with B < 128 needs M < 0


def test_issue_worst_channel_fewest_mismatches_is_proven():
    a, b = float.fromhex("0x1.2000000000000p+6"), float.fromhex("-0x1.4c6c000000000p+16")
    sol = solve_channel(a, b, "floor", 0, 6, 1119, 1246, hw_rounding="floor",
                        budget=Budget(8, 12, 10))
    assert (sol.M, sol.B, sol.N, sol.mismatches) == (1, -1178, 0, 4)
    assert sol.mismatches_lower_bound == 4


def _channels(seed: int, count: int):
    rng = random.Random(seed)
    for _ in range(count):
        kind = rng.choice(("tie", "tie", "random", "steep", "const"))
        if kind == "tie":  # dyadic a and b: exact ties everywhere
            a = rng.choice((-1, 1)) * rng.choice((1, 3, 5, 7)) / rng.choice((2, 4, 8, 16))
            b = rng.randint(-24, 24) / rng.choice((2, 4, 8))
        elif kind == "random":
            a = rng.choice((-1, 1)) * rng.uniform(0.05, 1.5)
            b = rng.uniform(-6, 6)
        elif kind == "steep":
            a = rng.choice((-1, 1)) * rng.uniform(1.5, 9)
            b = rng.uniform(-20, 20)
        else:
            a, b = 0.0, rng.uniform(-5, 5)
        qmin, qmax = rng.choice(((-4, 3), (0, 6), (-8, 7), (0, 3)))
        lo = rng.randint(-20, 12)
        hi = lo + rng.randint(0, 20)
        yield a, b, rng.choice(ROUNDINGS), qmin, qmax, lo, hi


BUDGETS = (Budget(3, 4, 2), Budget(4, 6, 3), Budget(5, 5, 4), Budget(2, 7, 1), Budget(4, 3, 4))


@pytest.mark.parametrize("hw", ("floor", "half_even", "half_up", "half_away"))
def test_budget_matches_brute_force(hw):
    seed = ROUNDINGS.index(hw) + 11
    for k, ch in enumerate(_channels(seed, 120)):
        check(*ch, hw, BUDGETS[k % len(BUDGETS)])


def test_budget_without_n_max_searches_up_to_the_proven_cap():
    """Both widths and no N limit: N beyond the cap adds nothing (checked 4 N further)."""
    from exactbn.golden.budget import n_cap
    for k, (a, b, rounding, qmin, qmax, lo, hi) in enumerate(_channels(5, 40)):
        hw = ROUNDINGS[k % 4]
        cap = n_cap(3, 4, max(abs(lo), abs(hi), 1))
        want_exact, fewest = brute(a, b, rounding, qmin, qmax, lo, hi, hw, Budget(3, 4, cap + 4))
        sol = solve_channel(a, b, rounding, qmin, qmax, lo, hi, hw_rounding=hw,
                            budget=Budget(3, 4, None))
        if want_exact is not None:
            assert sol.exact and (sol.N, abs(sol.M), abs(sol.B)) == want_exact
        else:
            assert sol.mismatches == fewest == sol.mismatches_lower_bound


def test_wide_range_lower_bound_is_certified_against_brute_force():
    """Beyond the enumeration limit the numba search still takes every input (it works per
    level), so the fewest mismatches are found and proven on the whole range."""
    from exactbn.golden.budget import X_ENUM_LIMIT
    rng = random.Random(3)
    for k in range(12):
        a = rng.choice((-1, 1)) * rng.uniform(0.002, 0.02)
        b = rng.uniform(-3, 3)
        lo = -rng.randint(X_ENUM_LIMIT // 2, X_ENUM_LIMIT)
        hi = lo + X_ENUM_LIMIT + rng.randint(1, 500)
        rounding, hw = ROUNDINGS[k % 4], ROUNDINGS[(k + 1) % 4]
        budget = BUDGETS[k % len(BUDGETS)]
        want_exact, fewest = brute(a, b, rounding, -8, 7, lo, hi, hw, budget)
        sol = solve_channel(a, b, rounding, -8, 7, lo, hi, hw_rounding=hw, budget=budget)
        x = np.arange(lo, hi + 1, dtype=np.int64)
        wrong = int((integer_model(sol.M, sol.B, sol.N, x, -8, 7, hw)
                     != reference(a, b, x, rounding, -8, 7)).sum())
        assert wrong == sol.mismatches and budget.fits(sol.M, sol.B, sol.N)
        if want_exact is not None:
            assert sol.exact and (sol.N, abs(sol.M), abs(sol.B)) == want_exact
        else:
            assert sol.mismatches_lower_bound == fewest == sol.mismatches, (k, sol, fewest)


def test_solved_layer_records_the_certified_lower_bound():
    from exactbn.golden.solver import solve_layer

    from exactbn import formats
    layer = formats.Layer(
        "L", formats.InputSpec(16, True, range=[-300, 300]),
        formats.OutputSpec(8, True, rounding="half_even", clip=[-128, 127]),
        affine={"a": [0.0123456, 0.25], "b": [5.4321, 0.5]})
    solved = solve_layer(layer, hw_rounding="floor", budget=Budget(4, 6, 6))
    lower = solved.extra["mismatches_lower_bound"]
    assert lower == solved.mismatches and all(m > 0 for m in solved.mismatches)
    again = formats.SolvedLayer.from_json(solved.to_json())
    assert again.extra["mismatches_lower_bound"] == lower
