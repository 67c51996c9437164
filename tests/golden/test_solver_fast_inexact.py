"""The numba candidate search (golden/fast_inexact.py) returns the Python search's answer.

Channels with no exact parameters (exact ties the folded form cannot honour, forced shifts,
flat maps) are solved with the numba search and with ``EXACTBN_FAST_INEXACT=0``; every
field of the answer must be equal.
"""

from __future__ import annotations

import random

import pytest
from exactbn.golden.solver import solve_channel


def _key(s):
    return (s.M, s.B, s.N, s.exact, s.mismatches, s.max_abs_error, s.certificate, s.n_min,
            s.exact_possible, s.mismatches_lower_bound)


def _cases(seed: int, count: int):
    rng = random.Random(seed)
    for _ in range(count):
        if rng.random() < 0.7:  # exact ties: no folded solution for half_even / half_away
            a = rng.choice((-1, 1)) * 2.0 ** rng.randint(-8, 1) * rng.choice((1, 3, 5))
            b = rng.randint(-40, 40) + rng.choice((0.5, 0.25))
        else:
            a = rng.choice((-1, 1)) * 2.0 ** rng.uniform(-10, 3)
            b = rng.uniform(-50, 50)
        lo = rng.randint(-600, 100)
        yield (a, b, rng.choice(("half_even", "half_away", "half_up")),
               *rng.choice(((-128, 127), (0, 15), (-8, 7))), lo, lo + rng.randint(0, 700),
               rng.choice(("floor", "floor", "half_even", "half_up")))


@pytest.mark.parametrize("n_fixed", [None, 3])
def test_numba_search_equals_the_python_search(n_fixed, monkeypatch):
    cases = list(_cases(21 if n_fixed is None else 22, 160))
    fast = [solve_channel(*c[:7], hw_rounding=c[7], n_fixed=n_fixed) for c in cases]
    monkeypatch.setenv("EXACTBN_FAST_INEXACT", "0")
    slow = [solve_channel(*c[:7], hw_rounding=c[7], n_fixed=n_fixed) for c in cases]
    for c, f, s in zip(cases, fast, slow, strict=True):
        assert _key(f) == _key(s), c
    assert sum(not s.exact for s in slow) >= 10


def test_issue_tie_channel_floor_full_16_bit_range(monkeypatch):
    """a = 2^-5, b = -0.5, half_even reference, --hw-rounding floor (a channel of the set)."""
    args = (0.03125, -0.5, "half_even", -128, 127, -32768, 32767)
    fast = solve_channel(*args, hw_rounding="floor")
    monkeypatch.setenv("EXACTBN_FAST_INEXACT", "0")
    assert _key(fast) == _key(solve_channel(*args, hw_rounding="floor"))
    assert not fast.exact and fast.mismatches == 127
