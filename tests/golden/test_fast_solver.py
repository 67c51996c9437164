"""The fast folded-form solver (golden/fast.py) agrees with the straightforward one everywhere.

Every channel of every set is compared on M, B, N, exact, n_min and the certificate (same
binding points, same slope interval). Channels the fast path refuses (outside its safe
envelope, or with no exact folded solution) must be flagged, never guessed.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from exactbn.golden import fast
from exactbn.golden.fast import (
    STATUS_FALLBACK,
    STATUS_NO_EXACT,
    STATUS_OK,
    certificate_of,
    solve_all_fast,
    solve_fast,
)
from exactbn.golden.solver import solve_channel, solve_layer
from exactbn.golden.staircase import first_at_least
from exactbn.golden.synthetic import random_affine

from exactbn.formats import InputSpec, Layer, OutputSpec

ROUNDINGS = ["floor", "half_up", "half_even", "half_away"]
I16 = (-32768, 32767)


def _expected(a, b, rounding, qmin, qmax, los, his):
    return [solve_channel(float(a[i]), float(b[i]), rounding, qmin, qmax, int(los[i]),
                          int(his[i]), hw_rounding="floor", approximate=False)
            for i in range(len(a))]


def _compare(a, b, rounding, qmin, qmax, lo, hi) -> dict:
    """Solve with both paths; assert agreement on every channel; return status counts."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    los = np.broadcast_to(np.asarray(lo, dtype=np.int64), a.shape)
    his = np.broadcast_to(np.asarray(hi, dtype=np.int64), a.shape)
    res = solve_fast(a, b, los, his, rounding, qmin, qmax)
    exp = _expected(a, b, rounding, qmin, qmax, los, his)
    for i, s in enumerate(exp):
        case = (float(a[i]), float(b[i]), rounding, qmin, qmax, int(los[i]), int(his[i]))
        st = int(res["status"][i])
        if st == STATUS_OK:
            assert s.exact, case
            got = (int(res["M"][i]), int(res["B"][i]), int(res["N"][i]), int(res["n_min"][i]))
            assert got == (s.M, s.B, s.N, s.n_min), (case, got, s)
            assert certificate_of(res, i) == s.certificate, case
        elif st == STATUS_NO_EXACT:
            assert not s.exact and not s.exact_possible, case
        else:
            assert st == STATUS_FALLBACK, case
    return {k: int((res["status"] == k).sum()) for k in (0, 1, 2)}


@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_random_bn_channels_int16_int8(rounding):
    a, b = random_affine(300, seed=11 + ROUNDINGS.index(rounding))
    counts = _compare(a, b, rounding, -128, 127, *I16)
    assert counts[STATUS_OK] == 300


@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_per_channel_ranges_and_clips(rounding):
    rng = np.random.default_rng(5 + ROUNDINGS.index(rounding))
    c = 150
    a, b = random_affine(c, seed=23 + ROUNDINGS.index(rounding), log2_scale=-6.0, b_sigma=10.0)
    lo = -rng.integers(0, 40000, c)
    hi = lo + rng.integers(0, 70000, c)
    # int8, uint8 ReLU-style (one-sided), uint4 ReLU with a tight top clip, and a 3-level output
    for qmin, qmax in [(-128, 127), (0, 255), (0, 15), (-1, 1)]:
        counts = _compare(a, b, rounding, qmin, qmax, lo, hi)
        assert counts[STATUS_OK] == c


def test_negative_and_zero_slopes():
    rng = np.random.default_rng(3)
    a, b = random_affine(200, seed=31)
    a = -np.abs(a)
    for rounding in ROUNDINGS:
        assert _compare(a, b, rounding, -128, 127, *I16)[STATUS_OK] == 200
    # a == 0: constant channels, b on and off the rounding ties
    b0 = np.concatenate([rng.normal(0, 100, 40), np.arange(-6, 6) + 0.5, [-300.0, 300.0, 0.0]])
    a0 = np.zeros_like(b0)
    for rounding in ROUNDINGS:
        counts = _compare(a0, b0, rounding, -128, 127, -1000, 1000)
        assert counts[STATUS_OK] == len(b0)
    # one-point ranges
    assert _compare(a[:30], b[:30], "half_up", -128, 127, 7, 7)[STATUS_OK] == 30


def test_huge_and_tiny_slopes():
    rng = np.random.default_rng(4)
    c = 200
    mag = 2.0 ** rng.uniform(-45, 14, c)
    a = np.where(rng.random(c) < 0.3, -mag, mag)
    b = rng.normal(0, 50, c)
    for rounding in ROUNDINGS:
        counts = _compare(a, b, rounding, -128, 127, *I16)
        assert counts[STATUS_OK] + counts[STATUS_FALLBACK] == c
        assert counts[STATUS_OK] >= c - 5
    # outside the safe envelope: flagged for the exact solver, never guessed
    a_out = np.array([1e-300, -5e-324, 1e200, 0.01, 0.01])
    b_out = np.array([0.5, 0.0, 1.0, 1e300, 0.0])
    res = solve_fast(a_out, b_out, -100, 100, "half_even", -128, 127)
    assert list(res["status"][:4]) == [STATUS_FALLBACK] * 4
    wide = solve_fast(np.array([2.0**-20]), np.array([0.3]), -(2**33), 2**33, "half_up", -128,
                      127)
    assert wide["status"][0] == STATUS_FALLBACK
    # int16 outputs from 32-bit accumulators: N near 50, l*2^N would overflow int64
    counts = _compare([1.37 * 2.0**-12, -0.91 * 2.0**-11], [123.4, -56.7], "half_even", -32768,
                      32767, -(2**31), 2**31 - 1)
    assert counts[STATUS_FALLBACK] == 2


def test_exact_tie_channels():
    """Dyadic a and b: many transitions are exact ties; half_even/half_away may have none."""
    rng = np.random.default_rng(6)
    c = 250
    den = 2.0 ** rng.integers(0, 9, c)
    a = rng.choice([-1, 1], c) * rng.integers(1, 64, c) / den
    b = rng.integers(-600, 600, c) / (2.0 ** rng.integers(0, 5, c))
    lo = -rng.integers(0, 3000, c)
    hi = lo + rng.integers(0, 6000, c)
    seen_no_exact = 0
    for rounding in ROUNDINGS:
        counts = _compare(a, b, rounding, -128, 127, lo, hi)
        assert counts[STATUS_FALLBACK] == 0
        if rounding in ("floor", "half_up"):
            assert counts[STATUS_NO_EXACT] == 0
        seen_no_exact += counts[STATUS_NO_EXACT]
    assert seen_no_exact > 0  # the set really exercises the tie rules


def test_near_integer_transitions_settled_exactly():
    """a = 1/k style slopes put (t - off - b)/a within float error of an integer."""
    ks = np.array([3.0, 5.0, 7.0, 10.0, 100.0, 1000.0, 12345.0])
    a = np.concatenate([1.0 / ks, -1.0 / ks, 0.1 * np.ones(3), 0.3 * np.ones(3)])
    b = np.concatenate([np.zeros(7), np.full(7, 0.5), [0.1, 0.2, 0.7], [0.1, -0.4, 0.9]])
    for rounding in ROUNDINGS:
        counts = _compare(a, b, rounding, -128, 127, *I16)
        assert counts[STATUS_FALLBACK] == 0
    buf = np.empty(8)
    for av, bv in zip(a, b, strict=True):
        av = abs(float(av))
        for rounding in ROUNDINGS:
            code = fast.ROUNDING_CODES[rounding]
            levels = list(range(-128, 128))
            want = first_at_least(Fraction(av), Fraction(float(bv)), rounding, levels)
            got = [fast._first_exact(av, float(bv), t, code, buf) for t in levels]
            assert got == want, (av, bv, rounding)


def test_exact_sign_of_float_sums():
    rng = np.random.default_rng(8)
    buf = np.empty(8)
    for _ in range(3000):
        e = rng.integers(-60, 60, 4)
        t = rng.normal(size=4) * 2.0 ** e
        if rng.random() < 0.5:  # force heavy cancellation
            t[3] = -(t[0] + t[1] + t[2])
        want = (sum(Fraction(float(v)) for v in t) > 0) - (sum(Fraction(float(v)) for v in t) < 0)
        assert fast._exact_sign(*[float(v) for v in t], buf) == want


def _layer(a, b, rounding, qmin, qmax, lo, hi) -> Layer:
    return Layer(
        name="fast_vs_exact",
        input=InputSpec(bits=16, signed=True, range=[lo, hi]),
        output=OutputSpec(bits=8, signed=qmin < 0, rounding=rounding, clip=[qmin, qmax]),
        affine={"a": [float(v) for v in a], "b": [float(v) for v in b]},
    )


@pytest.mark.parametrize("shift_mode", ["per-channel", "shared"])
def test_solve_layer_hook_identical(shift_mode, monkeypatch):
    a, b = random_affine(96, seed=41)
    # a few exact-tie channels with no folded solution (half_even): the fallback path
    a[:3] = [2.5, 0.5, -2.5]
    b[:3] = [0.5, 0.25, 0.5]
    a[3], b[3] = 1e-300, 0.3  # outside the fast path's envelope: handed to solve_channel
    layer = _layer(a, b, "half_even", -128, 127, *I16)
    fast_solved = solve_layer(layer, shift_mode=shift_mode, hw_rounding="floor")
    monkeypatch.setenv("EXACTBN_FAST_MIN_CHANNELS", str(10**9))
    slow_solved = solve_layer(layer, shift_mode=shift_mode, hw_rounding="floor")
    for name in ("M", "B", "N", "exact", "mismatches", "certificate"):
        assert getattr(fast_solved, name) == getattr(slow_solved, name), name
    assert fast_solved.widths == slow_solved.widths
    assert fast_solved.extra == slow_solved.extra
    assert not all(fast_solved.exact)


def test_solve_all_fast_shared_shift_uses_the_largest_minimum():
    a, b = random_affine(80, seed=43)
    out = OutputSpec(bits=8, signed=True, rounding="half_up", clip=[-128, 127])
    sols = solve_all_fast(a, b, out, [I16] * 80, "shared")
    n = {s.N for s in sols}
    assert len(n) == 1 and n.pop() == max(s.n_min for s in sols)
    assert all(s.exact for s in sols)


@pytest.mark.parametrize("hw_rounding", ["floor", "auto"])
def test_solve_layer_fast_whole_layer_identical(hw_rounding, monkeypatch):
    """An all-exact layer is built from arrays (solve_layer_fast): every field equal to the
    straightforward solver's, certificates included (vectorised certificates_of)."""
    a, b = random_affine(130, seed=44)
    a[:4] = [-0.75, 0.0, 3.0, -1e-3]  # negative, zero, steep slopes
    layer = _layer(a, b, "half_up", -128, 127, *I16)
    got = fast.solve_layer_fast(layer, "per-channel", hw_rounding, None)
    assert got is not None
    monkeypatch.setenv("EXACTBN_FAST_MIN_CHANNELS", str(10**9))
    want = solve_layer(layer, shift_mode="per-channel", hw_rounding=hw_rounding)
    assert got.to_json() == want.to_json()
    assert got.widths == want.widths and got.extra == want.extra


def test_certificates_of_equals_certificate_of():
    a, b = random_affine(300, seed=45)
    res = solve_fast(a, b, *I16, "half_even", -128, 127)
    idx = np.flatnonzero(res["status"] == STATUS_OK)
    assert fast.certificates_of(res, idx) == [certificate_of(res, int(i)) for i in idx]
