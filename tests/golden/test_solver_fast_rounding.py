"""The rounding-stage kernel (golden/fast_rounding.py) gives the straightforward answers.

Every channel is compared with ``solve_channel`` on M, B, N, n_min and the certificate;
channels the kernel does not settle must be flagged (no exact parameters, or outside its
envelope), never guessed.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from exactbn.golden import fast_rounding
from exactbn.golden.fast import certificate_of
from exactbn.golden.fast_rounding import solve_rounding_fast
from exactbn.golden.solver import solve_channel, solve_layer

from exactbn import formats

HW = ("half_up", "half_even", "half_away")
REF = ("floor", "half_up", "half_even", "half_away")


def _cases(seed: int, count: int, span: int = 3000):
    rng = random.Random(seed)
    for _ in range(count):
        u = rng.random()
        if u < 0.4:  # exact ties: many channels only a rounding stage makes exact
            a = rng.choice((-1, 1)) * 2.0 ** rng.randint(-9, 1) * rng.choice((1, 3))
            b = rng.randint(-40, 40) + rng.choice((0.5, 0.25, 0.0))
        elif u < 0.43:
            a, b = 0.0, rng.choice((rng.uniform(-200, 200), rng.randint(-9, 9) + 0.5))
        else:
            a = rng.choice((-1, 1)) * 2.0 ** rng.uniform(-10, 3)
            b = rng.uniform(-50, 50)
        lo = rng.randint(-span, span // 4)
        yield a, b, rng.choice(REF), lo, lo + rng.randint(0, span), rng.choice(HW)


def _check(cases, qmin, qmax, n_fixed=None) -> dict:
    counts = {0: 0, 1: 0, 2: 0}
    for a, b, r, lo, hi, hw in cases:
        res = solve_rounding_fast(np.array([a]), np.array([b]), lo, hi, r, hw, qmin, qmax,
                                  n_fixed=n_fixed)
        st = int(res["status"][0])
        counts[st] += 1
        want = solve_channel(a, b, r, qmin, qmax, lo, hi, hw_rounding=hw, n_fixed=n_fixed,
                             approximate=False)
        case = (a, b, r, qmin, qmax, lo, hi, hw, n_fixed)
        if st == fast_rounding.STATUS_OK:
            got = tuple(int(res[k][0]) for k in ("M", "B", "N", "n_min"))
            assert want.exact and got == (want.M, want.B, want.N, want.n_min), (case, got, want)
            assert certificate_of(res, 0, hw) == want.certificate, case
        elif st == fast_rounding.STATUS_NO_EXACT:
            assert not want.exact, case
            if n_fixed is None:  # exact at no N: what the layer path builds without a search
                assert (want.M, want.B, want.N, want.mismatches, want.certificate,
                        want.exact_possible, want.n_min) == (0, 0, 0, -1, None, False, None)
    return counts


@pytest.mark.parametrize("clip", [(-128, 127), (0, 15), (-2, 1)])
def test_every_channel_equals_the_straightforward_solver(clip):
    counts = _check(list(_cases(sum(clip) + 7, 220)), *clip)
    assert counts[1] == 0
    assert counts[0] > 100 and counts[2] > 0, counts


def test_forced_shift_equals_the_straightforward_solver():
    rng = random.Random(3)
    for case in _cases(4, 30):
        n = rng.randint(0, 14)
        _check([case], -128, 127, n_fixed=n)


def test_single_dyadic_slope_is_reached_or_refused_as_the_solver_does():
    """alpha_lo == alpha_hi: exact only at a dyadic point, from N = k + 1 at the latest."""
    cases = [(s * 0.5 ** k, j + 0.5, r, -(1 << (k + 3)), 1 << (k + 3), hw)
             for k in (1, 3, 6) for s in (1, -1) for j in (-3, 0, 2)
             for r in ("half_up", "half_even") for hw in HW]
    counts = _check(cases, -128, 127)
    assert counts[0] > 0 and counts[2] > 0, counts


def test_exact_turn_sign_of_scaled_points():
    """The hull turn 2^n*K + k is decided exactly (Python integers as the reference)."""
    rng = random.Random(8)
    turn = fast_rounding._turn.py_func
    for _ in range(20000):
        n = rng.randint(0, 40)
        dx1, dx2 = rng.randint(-(1 << 32), 1 << 32), rng.randint(-(1 << 32), 1 << 32)
        dl1, dl2 = rng.randint(-(1 << 21), 1 << 21), rng.randint(-(1 << 21), 1 << 21)
        if rng.random() < 0.5:  # nearly collinear: the offsets decide
            dl2 = (dl1 * dx2) // dx1 if dx1 else dl2
        dc1, dc2 = rng.randint(-1, 1), rng.randint(-1, 1)
        v = dx1 * ((dl2 << n) + dc2) - ((dl1 << n) + dc1) * dx2
        assert fast_rounding._turn(n, dx1, dl1, dc1, dx2, dl2, dc2) == (v > 0) - (v < 0)
        assert turn(n, dx1, dl1, dc1, dx2, dl2, dc2) == (v > 0) - (v < 0)


def _layer(a, b, rounding, bits=16):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return formats.Layer(
        "L", formats.InputSpec(bits, True, range=[lo, hi]),
        formats.OutputSpec(8, True, rounding=rounding, clip=[-128, 127]),
        affine={"a": [float(v) for v in a], "b": [float(v) for v in b]})


@pytest.mark.parametrize("mode", [dict(hw_rounding="half_even"), dict(),
                                  dict(shift_mode="shared"),
                                  dict(shift_mode="shared", hw_rounding="half_away")])
def test_solve_layer_hook_identical(mode, monkeypatch):
    rng = np.random.default_rng(12)
    a = rng.choice([-1, 1], 70) * 2.0 ** rng.uniform(-9, -1, 70)
    b = rng.normal(0, 30, 70)
    a[:4], b[:4] = [2.0**-6, -2.0**-8, 0.25, 2.0**-7], [0.5, 3.5, -7.5, 0.25]  # ties
    a[4], b[4] = 2.5, 0.5  # no exact parameters for half_even at any N
    layer = _layer(a, b, "half_even", bits=12)
    got = solve_layer(layer, **mode)
    monkeypatch.setenv("EXACTBN_FAST_MIN_CHANNELS", str(10**9))
    want = solve_layer(layer, **mode)
    for k in ("hw_rounding", "M", "B", "N", "exact", "mismatches", "certificate", "widths",
              "extra"):
        assert getattr(got, k) == getattr(want, k), k


def test_issue_channel_tiny_slope_full_32_bit_range_half_even():
    """a = 2^-24, b = 0.5, half_even, full 32-bit range, int8 (a channel of the issue)."""
    lo, hi = -(1 << 31), (1 << 31) - 1
    res = solve_rounding_fast(np.array([2.0**-24]), np.array([0.5]), lo, hi, "half_even",
                              "half_even", -128, 127)
    want = solve_channel(2.0**-24, 0.5, "half_even", -128, 127, lo, hi, hw_rounding="half_even")
    assert int(res["status"][0]) == 0 and want.exact
    assert tuple(int(res[k][0]) for k in ("M", "B", "N")) == (want.M, want.B, want.N)
    assert certificate_of(res, 0, "half_even") == want.certificate
