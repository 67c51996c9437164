"""Issue 22's slow paths without a budget: the fast answers equal the straightforward solver.

- Agreement: a fixed-seed 64-channel layer with exact tie channels, solved in the modes
  auto, ``--hw-rounding floor`` (ties: the candidate search), ``--shift shared`` (with and
  without a rounding stage), once through the numba paths and once with everything in
  Python (``EXACTBN_FAST_MIN_CHANNELS`` huge, ``EXACTBN_FAST_INEXACT=0``,
  ``EXACTBN_FAST_ROUNDING=0``): every field of every channel equal.
- The candidate search's sweep (golden/fast_inexact.py ``_agree_sweep``) equals the direct
  per-candidate agreement sums of ``solver._agreements`` / ``_agreements_nonpos``.
- Channels with more than 4,096 levels (they used to fall back to the Python search and did
  not finish): the fast search answers, and its count is the brute-force count over every
  input. Time is never asserted.
"""

from __future__ import annotations

import numpy as np
import pytest
from exactbn.golden import solver
from exactbn.golden.model import integer_model
from exactbn.golden.reference import reference
from exactbn.golden.solver import channel_constraints, solve_channel, solve_layer

from exactbn.formats import Layer

_SLOW = {"EXACTBN_FAST_MIN_CHANNELS": "1000000000", "EXACTBN_FAST_INEXACT": "0",
         "EXACTBN_FAST_ROUNDING": "0"}


def _layer(seed: int, rounding: str) -> Layer:
    rng = np.random.default_rng(seed)
    c = 64
    a = np.sign(rng.random(c) - 0.5) * 2.0 ** rng.uniform(-9, -3, c)
    b = rng.uniform(-40, 40, c)
    tie = rng.random(c) < 0.1
    a = np.where(tie, np.sign(a) * 2.0 ** rng.integers(-9, -4, c), a)
    b = np.where(tie, rng.integers(-40, 40, c) + 0.5, b)
    return Layer.from_json({"name": "t", "input": {"bits": 12, "signed": True},
                            "output": {"bits": 8, "signed": True, "rounding": rounding},
                            "affine": {"a": a.tolist(), "b": b.tolist()}})


def _rows(s):
    lb = s.extra.get("mismatches_lower_bound") or [None] * len(s.M)
    return [(s.M[i], s.B[i], s.N[i], s.exact[i], s.mismatches[i], s.certificate[i], lb[i],
             s.extra["n_min"][i], s.extra["exact_possible"][i], s.extra["max_abs_error"][i])
            for i in range(len(s.M))] + [s.hw_rounding, s.shift_mode]


@pytest.mark.parametrize("kw", [{}, {"hw_rounding": "floor"}, {"shift_mode": "shared"},
                                {"shift_mode": "shared", "hw_rounding": "floor"},
                                {"shift_mode": "shared", "hw_rounding": "half_even"}],
                         ids=["auto", "floor", "shared", "shared-floor", "shared-half_even"])
def test_layer_modes_equal_the_straightforward_solver(kw, monkeypatch):
    layer = _layer(7, "half_even")
    fast = solve_layer(layer, **kw)
    for k, v in _SLOW.items():
        monkeypatch.setenv(k, v)
    slow = solve_layer(layer, **kw)
    assert _rows(fast) == _rows(slow)
    assert not all(fast.exact) or kw.get("hw_rounding") != "floor"


def test_sweep_equals_direct_agreements():
    from exactbn.golden.fast_inexact import _agree_sweep
    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(40):
        a = float(rng.choice((-1, 1)) * 2.0 ** rng.uniform(-6, 1))
        b = float(rng.integers(-20, 20) + rng.choice((0.5, 0.25, rng.random())))
        hw = str(rng.choice(("floor", "half_even", "half_up")))
        lo = int(rng.integers(-300, 0))
        hi = lo + int(rng.integers(0, 400))
        st, _, _ = channel_constraints(a, b, "half_even", -8, 7, lo, hi)
        n = int(rng.integers(0, 6))
        lev = np.array(st.levels, np.int64)
        fst = np.array(st.first, np.int64)
        lst = np.array(st.last, np.int64)
        bl = solver.bound_lower
        bu = solver.bound_upper
        Lb = np.array([bl(t, n, hw) for t in st.levels], np.int64)
        Lb1 = np.array([bl(t + 1, n, hw) for t in st.levels], np.int64)
        Ub = np.array([bu(t + 1, n, hw) for t in st.levels], np.int64)
        for m in (-3, -1, 0, 1, 2, 5, int(round(abs(a) * 2**n)) + 1):
            bs = np.unique(rng.integers(-60 << n, 60 << n, 50)).astype(np.int64)
            out = np.empty(bs.size, np.int64)
            assert _agree_sweep(m, lev.size, lev, fst, lst, Lb, Lb1, Ub, -8, 7, bs, bs.size, out)
            if m > 0:
                want = solver._agreements(st, m, bs, n, hw, -8, 7).tolist()
            else:
                want = solver._agreements_nonpos(st, m, bs.tolist(), n, hw, -8, 7)
            assert out.tolist() == want, (a, b, hw, n, m)
            checked += 1
    assert checked == 280


def _brute_count(s, a, b, rounding, qmin, qmax, lo, hi, hw):
    xs = np.arange(lo, hi + 1, dtype=np.int64)
    ref = reference(a, b, xs, rounding, qmin, qmax)
    return int((ref != integer_model(s.M, s.B, s.N, xs, qmin, qmax, hw)).sum())


def test_more_than_4096_levels_fast_search_and_brute_force_count():
    """a = 1/2, b = 1/2 (ties), half_even, int16 output, 4,701 levels, hw floor."""
    args = (0.5, 0.5, "half_even", -32768, 32767, -4700, 4700)
    st, _, _ = channel_constraints(*args)
    assert len(st.levels) > 4096
    from exactbn.golden.fast_inexact import best_inexact_fast
    assert best_inexact_fast(st, *args[:5], "floor", range(0, 10)) is not None
    s = solve_channel(*args, hw_rounding="floor")
    assert not s.exact and s.mismatches == _brute_count(s, *args, "floor")


@pytest.mark.slow
def test_issue_int16_20_bit_tie_channel_hw_floor():
    """The issue's a = 2^-4, b = 0.5 int16 20-bit tie channel under hw floor (65,536 levels):
    it finishes (12.5 CPU s in bench_rounding at load 11; it fell back to Python before, over
    60 s) with the brute-force count over all 2^20 inputs."""
    args = (2.0**-4, 0.5, "half_even", -32768, 32767, -(1 << 19), (1 << 19) - 1)
    s = solve_channel(*args, hw_rounding="floor")
    assert not s.exact and s.mismatches == _brute_count(s, *args, "floor")
