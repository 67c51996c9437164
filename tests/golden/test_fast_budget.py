"""Budget mode's numba paths give exactly the Python answers.

- golden/fast_budget.py: ``budget.fewest_mismatches`` with the kernel equals the Python
  branch-and-bound (``EXACTBN_FAST_BUDGET=0``): triple, count, certified lower bound and
  node count, on enumerated and transition-subset inputs, with and without the node limit
  cutting the search short;
- golden/fast_inexact.py with a budget's limits: ``solver._best_inexact`` equals the Python
  candidate search (``EXACTBN_FAST_INEXACT=0``);
- whole budget solves (``solve_channel`` with a budget) agree field by field.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from exactbn.golden import budget as budget_mod
from exactbn.golden import solver
from exactbn.golden.budget import fewest_mismatches, limits_for, transition_inputs
from exactbn.golden.fast_budget import exact_in_budget_fast, fewest_mismatches_fast
from exactbn.golden.fast_inexact import best_inexact_fast
from exactbn.golden.solver import Budget, channel_constraints, solve_channel

ROUNDINGS = ("floor", "half_up", "half_even", "half_away")
BUDGETS = (Budget(3, 4, 2), Budget(4, 6, 3), Budget(5, 5, 4), Budget(2, 7, 1),
           Budget(4, 3, 4), Budget(8, 12, 10), Budget(6, 10, None))


def _channels(seed: int, count: int, wide: bool):
    rng = random.Random(seed)
    for _ in range(count):
        kind = rng.choice(("tie", "tie", "random", "steep", "const"))
        if kind == "tie":
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
        qmin, qmax = rng.choice(((-4, 3), (0, 6), (-8, 7), (0, 3), (-128, 127)))
        lo = rng.randint(-200, 120) if wide else rng.randint(-20, 12)
        hi = lo + (rng.randint(0, 400) if wide else rng.randint(0, 20))
        yield (a / 8 if wide else a), b, rng.choice(ROUNDINGS), qmin, qmax, lo, hi, \
            rng.choice(ROUNDINGS)


@pytest.mark.parametrize("wide", [False, True])
def test_kernel_branch_and_bound_equals_the_python_search(wide, monkeypatch):
    ran = cut = proven = 0
    for k, (a, b, r, qmin, qmax, lo, hi, hw) in enumerate(_channels(7 + wide, 90, wide)):
        st, _, _ = channel_constraints(a, b, r, qmin, qmax, lo, hi)
        lim = limits_for(st, BUDGETS[k % len(BUDGETS)], None, 8)
        xs = transition_inputs(st) if k % 3 == 0 else None
        limit = 4 if k % 4 == 0 else 4000
        args = (st, hw, qmin, qmax, lim, Fraction(a) * st.sign)
        monkeypatch.setattr(budget_mod, "_fast_budget_on", lambda: True)
        fast = fewest_mismatches(*args, node_limit=limit, xs=xs)
        monkeypatch.setattr(budget_mod, "_fast_budget_on", lambda: False)
        slow = fewest_mismatches(*args, node_limit=limit, xs=xs)
        assert fast == slow, (a, b, r, qmin, qmax, lo, hi, hw, lim, limit)
        ch = budget_mod._Channel(st, hw, qmin, qmax, lim, xs)
        ran += fewest_mismatches_fast(ch, lim, [0] * len(lim.n_values), limit) is not None
        cut += slow.lower_bound < slow.mismatches
        proven += slow.lower_bound == slow.mismatches > 0
    assert ran >= 80 and cut >= 3 and proven >= 10, (ran, cut, proven)


def test_kernel_declines_unbounded_m():
    st, _, _ = channel_constraints(0.3, 1.2, "half_even", -8, 7, -20, 20)
    lim = limits_for(st, Budget(None, 6, 5), None, 8)
    ch = budget_mod._Channel(st, "floor", -8, 7, lim)
    assert fewest_mismatches_fast(ch, lim, [0] * len(lim.n_values), 100) is None


def _key(s):
    return (s.M, s.B, s.N, s.exact, s.mismatches, s.max_abs_error, s.certificate, s.n_min,
            s.exact_possible, s.mismatches_lower_bound)


def test_budgeted_candidate_search_equals_python(monkeypatch):
    """solver._best_inexact with a budget's limits: numba (clamped candidates) == Python."""
    rng = random.Random(5)
    seen = ran = 0
    for k in range(40):
        a = rng.choice((-1, 1)) * 2.0 ** rng.uniform(-9, 0)
        b = rng.uniform(-30, 30)
        lo = rng.randint(-900, 0)
        args = (a, b, ROUNDINGS[k % 4], -128, 127, lo, lo + rng.randint(50, 900))
        hw = ROUNDINGS[(k + 1) % 4]
        bud = (Budget(6, 9, 8), Budget(10, 14, 12), Budget(4, 20, 9))[k % 3]
        st, lows, ups = channel_constraints(*args)
        n_values = list(range(0, (bud.n_max or 8) + 1))
        monkeypatch.setenv("EXACTBN_FAST_INEXACT", "1")
        fast = solver._best_inexact(*args, st, lows, ups, hw, bud, n_values)
        monkeypatch.setenv("EXACTBN_FAST_INEXACT", "0")
        slow = solver._best_inexact(*args, st, lows, ups, hw, bud, n_values)
        assert _key(fast) == _key(slow), (args, hw, bud)
        assert bud.fits(fast.M, fast.B, fast.N)
        seen += slow.mismatches > 0
        m_lim = bud.m_range() if st.sign > 0 else (-bud.m_range()[1], -bud.m_range()[0])
        ran += best_inexact_fast(st, a, b, args[2], -128, 127, hw, n_values, m_lim,
                                 bud.b_range()) is not None
    assert seen >= 20 and ran == 40


@pytest.mark.parametrize("bud", [Budget(10, 16, 14), Budget(14, 20, 18)])
def test_budget_solve_wide_range_searches_the_whole_range(bud, monkeypatch):
    """Ranges beyond the enumeration limit: the kernel searches every input (per level), so
    its count is proven on the whole range where the Python path (transition subset, then
    the candidate search) only bounds it; it is never worse, and its search equals the
    Python branch-and-bound over every input (EXACTBN_FAST_BUDGET=0, xs=None)."""
    rng = random.Random(bud.w_m)
    cases = []
    for _ in range(5):
        a = rng.choice((-1, 1)) * 2.0 ** rng.uniform(-9, -5)
        lo = -rng.randint(2500, 3500)
        cases.append((a, rng.uniform(-20, 20), rng.choice(ROUNDINGS[1:]), -128, 127, lo,
                      lo + 5000 + rng.randint(0, 1000)))
    hws = ["floor", "half_even", "half_up", "floor", "half_away"]
    fast = [solve_channel(*c, hw_rounding=hw, budget=bud) for c, hw in zip(cases, hws, strict=True)]
    monkeypatch.setenv("EXACTBN_FAST_BUDGET", "0")
    monkeypatch.setenv("EXACTBN_FAST_INEXACT", "0")
    slow = [solve_channel(*c, hw_rounding=hw, budget=bud) for c, hw in zip(cases, hws, strict=True)]
    searched = 0
    for c, hw, f, s in zip(cases, hws, fast, slow, strict=True):
        assert bud.fits(f.M, f.B, f.N)
        if s.exact:
            assert _key(f) == _key(s)
            continue
        assert f.mismatches <= s.mismatches and f.mismatches_lower_bound >= \
            s.mismatches_lower_bound, (c, hw)
        st, _, _ = channel_constraints(*c)
        lim = limits_for(st, bud, f.n_min, solver._default_inexact_n(c[0]))
        args = (st, hw, c[3], c[4], lim, Fraction(c[0]) * st.sign)
        monkeypatch.setattr(budget_mod, "_fast_budget_on", lambda: True)
        k = fewest_mismatches(*args)
        monkeypatch.setattr(budget_mod, "_fast_budget_on", lambda: False)
        assert k == fewest_mismatches(*args), (c, hw)  # every input enumerated in Python
        assert (k.M * st.sign, k.B, k.N, k.mismatches) == (f.M, f.B, f.N, f.mismatches)
        searched += 1
    assert searched >= 2 and any(f.mismatches == f.mismatches_lower_bound >
                                 s.mismatches_lower_bound for f, s in zip(fast, slow,
                                                                            strict=True))


@pytest.mark.parametrize("hw", ["floor", "half_even", "auto"])
def test_budget_layer_keeps_free_answers_that_fit(hw, monkeypatch):
    """A layer in budget mode takes the unbudgeted fast answer of every channel whose exact
    minimal (M, B, N) fits the budget (it is then the in-budget minimum too): every field
    equals solving each channel with the budget."""
    from exactbn import formats
    rng = random.Random(len(hw))
    c = 24
    a = [rng.choice((-1, 1)) * 2.0 ** rng.uniform(-8, -1) for _ in range(c - 4)]
    a += [0.25, -0.375, 0.0, 2.0 ** -6]  # exact ties and a flat channel
    b = [rng.uniform(-20, 20) for _ in range(c - 4)] + [0.5, -1.5, 3.0, 0.25]
    layer = formats.Layer(
        "L", formats.InputSpec(10, True, range=[-512, 511]),
        formats.OutputSpec(8, True, rounding="half_even", clip=[-128, 127]),
        affine={"a": a, "b": b})
    bud = Budget(14, 20, 16)
    fast = solver.solve_layer(layer, hw_rounding=hw, budget=bud)
    monkeypatch.setattr(solver, "_budget_shortcut_on", lambda: False)
    slow = solver.solve_layer(layer, hw_rounding=hw, budget=bud)
    assert fast.to_json() == slow.to_json()
    free = solver.solve_layer(layer, hw_rounding=hw)
    kept = sum(e and bud.fits(m, bb, n)
               for e, m, bb, n in zip(free.exact, free.M, free.B, free.N, strict=True))
    assert 0 < kept <= sum(slow.exact) < c  # some kept, some searched


@pytest.mark.slow
@pytest.mark.parametrize("wide", [False, True])
def test_sweep_kernel_branch_and_bound_equals_the_python_search(wide, monkeypatch):
    """make sweep: the kernel-vs-Python check on 600 channels per setting."""
    for k, (a, b, r, qmin, qmax, lo, hi, hw) in enumerate(_channels(101 + wide, 600, wide)):
        st, _, _ = channel_constraints(a, b, r, qmin, qmax, lo, hi)
        lim = limits_for(st, BUDGETS[k % len(BUDGETS)], None, 8)
        xs = transition_inputs(st) if k % 3 == 0 else None
        limit = (4, 60, 4000)[k % 3]
        args = (st, hw, qmin, qmax, lim, Fraction(a) * st.sign)
        monkeypatch.setattr(budget_mod, "_fast_budget_on", lambda: True)
        fast = fewest_mismatches(*args, node_limit=limit, xs=xs)
        monkeypatch.setattr(budget_mod, "_fast_budget_on", lambda: False)
        assert fast == fewest_mismatches(*args, node_limit=limit, xs=xs), (a, b, r, lo, hi, hw)


@pytest.mark.parametrize("wide", [False, True])
def test_kernel_exact_in_budget_equals_the_python_decision(wide, monkeypatch):
    """budget.exact_in_budget: the numba decision gives the Python triple (or none)."""
    from exactbn.golden.budget import exact_in_budget
    found = missing = ran = 0
    budgets = BUDGETS + (Budget(None, 8, 6), Budget(6, None, 9), Budget(None, None, 7))
    for k, (a, b, r, qmin, qmax, lo, hi, hw) in enumerate(_channels(31 + wide, 150, wide)):
        st, _, _ = channel_constraints(a, b, r, qmin, qmax, lo, hi)
        lim = limits_for(st, budgets[k % len(budgets)], None, 8)
        start = k % 3
        monkeypatch.setattr(budget_mod, "_fast_budget_on", lambda: True)
        fast = exact_in_budget(st, hw, qmin, qmax, lim, n_start=start)
        monkeypatch.setattr(budget_mod, "_fast_budget_on", lambda: False)
        slow = exact_in_budget(st, hw, qmin, qmax, lim, n_start=start)
        assert fast == slow, (a, b, r, qmin, qmax, lo, hi, hw, lim, start)
        found += slow is not None
        missing += slow is None
        ran += exact_in_budget_fast(st, hw, qmin, qmax, lim, start) is not None
    assert found >= 20 and missing >= 20 and ran == 150, (found, missing, ran)


def test_kernel_minimum_over_b_equals_brute_force():
    """fast_budget._minimize (first guess, window, sorted sweep) against every B of a range
    holding all the steps: random segments (steps 0-3, sizes 1-6, overlapping left and right
    counts, coinciding steps), caps 0-80 (the candidates below 32, the sweep from it; the
    sweep alone at every cap too), with and without B's limits."""
    import numpy as np
    from exactbn.golden.fast_budget import _minimize, _sweep

    def count(B, al, ast, hl, be, bst, hr, sz):
        tot = 0
        for i in range(len(sz)):
            s, l_, r_ = int(sz[i]), 0, 0
            if hl[i] and al[i] > B:
                l_ = s if ast[i] == 0 else min(s, -((B - int(al[i])) // int(ast[i])))
            if hr[i] and B > be[i]:
                r_ = s if bst[i] == 0 else min(s, -((int(be[i]) - B) // int(bst[i])))
            tot += min(s, l_ + r_)
        return tot

    rng = random.Random(3)
    found = 0
    for k in range(1500):
        ns = rng.randint(1, 7)
        al = np.array([rng.randint(-20, 20) for _ in range(ns)], np.int64)
        be = np.array([int(a) + rng.randint(-8, 12) for a in al], np.int64)
        ast = np.array([rng.randint(0, 3) for _ in range(ns)], np.int64)
        bst = np.array([rng.choice((int(a), rng.randint(0, 3))) for a in ast], np.int64)
        sz = np.array([rng.randint(1, 6) for _ in range(ns)], np.int64)
        hl = np.array([rng.random() < 0.85 for _ in range(ns)], np.bool_)
        hr = np.array([rng.random() < 0.85 for _ in range(ns)], np.bool_)
        cap = rng.choice((0, 1, 2, 3, 5, 8, 32, 40, 50, 70, 80))  # >= 32: the sweep
        if k % 3:
            lo = rng.randint(-50, 30)
            blim = np.array([1, lo, 1, lo + rng.randint(0, 40)], np.int64)
            dom = range(int(blim[1]), int(blim[3]) + 1)
        else:
            blim = np.zeros(4, np.int64)
            dom = range(-60, 61)  # every step lies in [-35, 48]
        arrs = (al, ast, hl, be, bst, hr, sz)
        vals = {B: count(B, *arrs) for B in dom}
        best = min(vals.values())
        ok, v, b = _minimize(ns, cap, blim, True, *arrs, np.empty(ns + 1, np.int64))
        sv, sb = _sweep(ns, cap, dom.start, dom.stop - 1, *arrs)  # the sweep at every cap
        if best > cap:
            assert not ok and sv > cap, (k, arrs, blim, cap)
            continue
        found += 1
        want = min((B for B in dom if vals[B] == best), key=lambda B: (abs(B), B < 0))
        assert (ok, v, b) == (True, best, want), (k, arrs, blim, cap)
        assert (sv, sb) == (best, want), (k, arrs, blim, cap)
    assert found >= 600, found
