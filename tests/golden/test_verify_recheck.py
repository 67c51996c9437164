"""The exactness re-check (golden/recheck.py) and verify's certificate and spec checks.

Each test tampers one thing a solved file could carry wrongly and checks that the tools
re-derive the truth from a, b and the output spec instead of trusting the file.
"""

from __future__ import annotations

import copy
import random
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from exactbn.golden.constraints import bound_lower, bound_upper
from exactbn.golden.model import integer_model
from exactbn.golden.recheck import channel_mismatches, layer_exactness, level_bounds
from exactbn.golden.reference import reference
from exactbn.golden.solver import solve_channel, solve_layer
from exactbn.golden.staircase import _round_exact
from exactbn.golden.summary import layer_summary
from exactbn.golden.verify import verify_layer

from exactbn.formats import load_layers, parse_solved, select_layer

EXAMPLE = Path(__file__).resolve().parents[2] / "exactbn" / "data" / "example_layers.json"
ROUNDINGS = ("floor", "half_up", "half_even", "half_away")


def _layer(name: str):
    return select_layer(load_layers(EXAMPLE), name)


_SOLVED: dict = {}


def _solved(name: str):
    if name not in _SOLVED:
        _SOLVED[name] = solve_layer(_layer(name))
    return copy.deepcopy(_SOLVED[name])


def _brute(a, b, rounding, qmin, qmax, lo, hi, M, B, N, hw) -> int:
    xs = np.arange(lo, hi + 1, dtype=np.int64)
    # the reference is monotone: clip at its end levels (the same values, no 2^32 thresholds)
    ends = [min(max(_round_exact(Fraction(a) * x + Fraction(b), rounding), qmin), qmax)
            for x in (lo, hi)]
    ref = reference(a, b, xs, rounding, min(ends), max(ends))
    return int((ref != integer_model(M, B, N, xs, qmin, qmax, hw)).sum())


@pytest.mark.parametrize("hw", ROUNDINGS)
def test_vectorised_level_bounds_are_the_constraints(hw):
    ts = np.arange(-9, 10)
    for n in (0, 1, 2, 7):
        assert level_bounds(ts, n, hw, upper=False).tolist() == [
            bound_lower(int(t), n, hw) for t in ts]
        assert level_bounds(ts, n, hw, upper=True).tolist() == [
            bound_upper(int(t), n, hw) for t in ts]
    big = level_bounds(ts.astype(object), 70, hw, upper=True)
    assert [int(v) for v in big] == [bound_upper(int(t), 70, hw) for t in ts]


def test_recheck_counts_equal_a_brute_force_sweep():
    """Exact ties, flat and negative slopes, clipping, tampered M/B/N and a 64-bit model."""
    rng = random.Random(7)
    for _ in range(400):
        rounding, hw = rng.choice(ROUNDINGS), rng.choice(ROUNDINGS)
        qmin, qmax = rng.choice([(-8, 7), (0, 15), (-128, 127), (-3, 5)])
        lo = rng.randint(-400, 0)
        hi = rng.randint(lo, 400)
        kind = rng.random()
        if kind < 0.35:  # dyadic a, b: exact ties everywhere
            n0 = rng.randint(0, 5)
            a, b = rng.randint(-40, 40) / (1 << n0), rng.randint(-200, 200) / (2 << n0)
        elif kind < 0.45:
            a, b = 0.0, rng.uniform(-20, 20)
        else:
            a, b = rng.choice((-1, 1)) * 2 ** rng.uniform(-6, 2), rng.uniform(-30, 30)
        if rng.random() < 0.2:  # steep, 32-bit outputs: more levels than inputs
            qmin, qmax = -(1 << 31), (1 << 31) - 1
            lo, hi = rng.randint(-60, 0), rng.randint(0, 60)
            a = rng.choice((-1, 1)) * (2 ** rng.uniform(3, 7) if rng.random() < 0.7
                                        else rng.randint(8, 400) / 4)
            N = rng.randint(0, 12)
            M, B = round(a * (1 << N)), round((b + 0.5) * (1 << N))
        else:
            sol = solve_channel(a, b, rounding, qmin, qmax, lo, hi, hw_rounding=hw)
            M, B, N = sol.M, sol.B, sol.N
        if rng.random() < 0.6:
            M += rng.choice((-1, 0, 1))
            B += rng.randint(-3, 3)
        if rng.random() < 0.1:
            M, B, N = -M, B << 40, N + 40
        got = channel_mismatches(a, b, rounding, qmin, qmax, lo, hi, M, B, N, hw)
        assert got == _brute(a, b, rounding, qmin, qmax, lo, hi, M, B, N, hw), (a, b, M, B, N)


def test_recheck_ignores_the_files_flags():
    sl = _solved("conv2_bn_relu")
    sl.B[3] += 1 << (sl.N[3] - 2)  # tampered: the file still says exact
    ex = layer_exactness(sl)
    lo, hi = sl.ranges()[3]
    out = sl.output
    want = _brute(sl.a[3], sl.b[3], out.rounding, out.qmin, out.qmax, lo, hi, sl.M[3], sl.B[3],
                  sl.N[3], sl.hw_rounding)
    assert want > 0 and ex.mismatches[3] == want and ex.inexact_channels == [3]
    assert [c for c, _ in ex.disagreements(sl)] == [3]


def _check(sl, layer=None):
    chk = verify_layer(sl, layer)
    layer_problems = getattr(chk, "problems", [])
    return chk, " | ".join(layer_problems + [p for f in chk.failures() for p in f.problems])


def test_verify_passes_what_solve_writes():
    for name in ("conv2_bn_relu", "tie_affine"):
        chk, text = _check(_solved(name), _layer(name))
        assert chk.ok, text


@pytest.mark.parametrize("edit,needle", [
    (lambda c: c.__setitem__("points", c["points"][:1]), "prove only"),
    (lambda c: c.__setitem__("points", []), "prove only"),
    (lambda c: c.__setitem__("alpha_hi", [c["alpha_hi"][0] + 1, c["alpha_hi"][1]]),
     "is not the recomputed"),
    (lambda c: c["points"].append([0, 99, "lower"]), "is not a lower transition"),
], ids=["cut-to-one-point", "emptied", "false-interval", "false-point"])
def test_certificates_are_checked_against_the_channel(edit, needle):
    sl = _solved("conv2_bn_relu")
    edit(sl.certificate[2])
    chk, text = _check(sl, _layer("conv2_bn_relu"))
    assert not chk.ok and [f.channel for f in chk.failures()] == [2] and needle in text


def test_inexact_flag_fails_when_an_exact_solution_exists():
    sl = _solved("conv2_bn_relu")
    sl.B[1] += 1 << (sl.N[1] - 1)
    lo, hi = sl.ranges()[1]
    out = sl.output
    sl.mismatches[1] = _brute(sl.a[1], sl.b[1], out.rounding, out.qmin, out.qmax, lo, hi,
                              sl.M[1], sl.B[1], sl.N[1], sl.hw_rounding)
    sl.exact[1], sl.certificate[1] = False, None  # a truthful count, a false "inexact"
    chk, text = _check(sl, _layer("conv2_bn_relu"))
    assert not chk.ok and "exact parameters exist" in text
    assert [f.channel for f in chk.failures()] == [1]


@pytest.mark.parametrize("path,value,field", [
    ("output.rounding", "half_even", "output.rounding"),
    ("output.clip", [0, 7], "output.clip"),
    ("output.bits", 5, "output.bits"),
    ("input.range", [[-5000, 5000]] * 8, "input.range"),
])
def test_verify_compares_the_whole_spec_with_the_layer_file(path, value, field):
    original = _layer("conv2_bn_relu")
    obj = original.to_json()
    sect, key = path.split(".")
    obj[sect][key] = value
    other = load_layers_from(obj)
    sl = solve_layer(other)  # made from another layer, same a and b
    assert sl.a == _solved("conv2_bn_relu").a
    chk, text = _check(sl, original)
    assert not chk.ok and f"{field}" in text and "not made from this layer file" in text


def load_layers_from(obj):
    from exactbn.formats import parse_layers

    return parse_layers(obj)[0]


def test_summary_of_a_32_bit_output_layer_says_what_it_skipped():
    c = 2
    obj = {"layers": [{
        "name": "wide_out", "input": {"bits": 14, "signed": True},
        "output": {"bits": 32, "signed": True, "rounding": "floor"},
        "hw_rounding": "floor", "shift_mode": "per-channel",
        "a": [3.0, 0.001], "b": [0.5, 2.0], "M": [3, 0], "B": [0, 2], "N": [0, 0],
        "widths": {"M": 3, "B": 3, "N": 0, "n_max": 0},
        "exact": [True, False], "mismatches": [0, 5], "certificate": [None] * c,
    }]}
    sl = parse_solved(obj)[0]
    s = layer_summary(sl)
    assert s["skipped_channels"] == [0] and "levels" in s["skip_reason"]
    assert s["naive"]["channels_compared"] == 1
