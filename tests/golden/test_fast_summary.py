"""The summary's kernel (golden/fast_summary.py) against the straightforward code it replaces:
the same model outputs on every input, the same TFLite parameters, and per channel the same
exact counts as an exhaustive sweep and the same naive N, M, B as ``naive_channel``."""

from __future__ import annotations

import numpy as np
import pytest
from exactbn.golden import baselines as bl
from exactbn.golden import fast_summary as fs
from exactbn.golden.solver import solve_layer
from exactbn.golden.summary import baseline_mismatches, layer_summary

from exactbn.formats import parse_layers

ROUNDINGS = ("floor", "half_up", "half_even", "half_away")


def _channels(seed: int, c: int):
    rng = np.random.default_rng(seed)
    a = np.exp(rng.normal(np.log(2.0**-6), 1.5, c)) * np.where(rng.random(c) < 0.3, -1, 1)
    b = rng.normal(0.0, 20.0, c)
    # ties and specials: dyadic a and b, a == 0, steep a, a at TFLite's edges
    a[:8] = [0.25, -0.375, 0.0625, 1.5, 0.0, 3.0, 2.0**-40, -7.25]
    b[:8] = [0.5, 0.25, -3.5, 0.5, 2.5, -0.5, 1e6, 3.0]
    return a, b


def test_tflite_params_array_equals_the_scalar_rule():
    a, b = _channels(1, 300)
    a = np.concatenate([a, [1.0, -1.0, 2.0**-31, 2.0**-32, 0.9999999999, 1e-12, 5e4]])
    b = np.concatenate([b, [0.0, 1.0, 3e9, -3e9, 0.5, 1.0, 2.5]])
    got = fs.tflite_params_array(a, b, 3)
    for i in range(a.size):
        assert tuple(got[i, :3]) == bl.tflite_params(float(a[i]), float(b[i]), 3), i


@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_kernel_models_equal_baselines_on_every_input(rounding):
    a, b = _channels(2, 24)
    xs = np.arange(-3000, 3001, dtype=np.int64)
    tfl = fs.tflite_params_array(a, b, 0)
    kind, p = fs.f32_params(a, b)
    bn = {"gamma": np.linspace(-1.5, 1.5, 24), "beta": np.linspace(-2, 2, 24),
          "mean": np.linspace(-3, 3, 24), "var": np.linspace(0.1, 4, 24), "eps": 1e-5}
    s_in, z_in = np.full(24, 2.0**-9), np.arange(24) - 12
    kind_bn, p_bn = fs.f32_params(a, b, bn, s_in, z_in, 0.05, 2)
    for i in range(24):
        want = bl.tflite_requantize(xs, *tfl[i, :3], 0, -128, 127)
        got = fs.model_values(fs.KIND_TFLITE, p[i], tfl[i], rounding, -128, 127, xs)
        assert (got == want).all(), i
        want = bl.float32_affine(xs, a[i], b[i], rounding, -128, 127)
        assert (fs.model_values(kind, p[i], tfl[i], rounding, -128, 127, xs) == want).all(), i
        want = bl.float32_bn(xs, bn["gamma"][i], bn["beta"][i], bn["mean"][i], bn["var"][i],
                             bn["eps"], s_in[i], z_in[i], 0.05, 2, rounding, -128, 127)
        got = fs.model_values(kind_bn, p_bn[i], tfl[i], rounding, -128, 127, xs)
        assert (got == want).all(), i


def _layer(a, b, rounding, bits_out=8, signed=True, clip=None, bits_in=12, bn=False):
    out = {"bits": bits_out, "signed": signed, "rounding": rounding, "scale": 0.05}
    if clip:
        out["clip"] = clip
    lay = {"name": "l", "input": {"bits": bits_in, "signed": True, "scale": 2.0**-9},
           "output": out}
    c = len(a)
    if bn:
        rng = np.random.default_rng(5)
        lay["bn"] = {"gamma": rng.normal(1, 0.5, c).tolist(), "beta": rng.normal(0, 1, c).tolist(),
                     "mean": rng.normal(0, 2, c).tolist(), "var": rng.uniform(0.1, 3, c).tolist(),
                     "eps": 1e-5}
    else:
        lay["affine"] = {"a": [float(v) for v in a], "b": [float(v) for v in b]}
    return parse_layers(lay)[0]


@pytest.mark.parametrize("rounding,bn,clip", [
    ("half_up", False, None),
    pytest.param("half_even", False, None, marks=pytest.mark.slow),
    pytest.param("floor", True, None, marks=pytest.mark.slow),
    ("half_away", True, [0, 15])])
def test_summary_counts_equal_an_exhaustive_sweep_and_the_naive_search(rounding, bn, clip):
    a, b = _channels(3, 20)
    layer = _layer(a, b, rounding, bn=bn, clip=clip, bits_out=4 if clip else 8,
                   signed=not clip)
    sl = solve_layer(layer, hw_rounding="floor" if not bn else "auto")
    s = layer_summary(sl, layer)
    idx = [i for i in range(sl.channels) if i not in s["skipped_channels"]]
    from exactbn.golden.summary import _channel_figures

    fig = _channel_figures(sl, layer, idx, 1 << 16, fast=True)
    out = sl.output
    for k, i in enumerate(idx):
        want = baseline_mismatches(sl, layer, i)  # exhaustive: 4096 inputs
        assert not want["sampled"]
        got = {"inputs": int(fig["inputs"][k]), "sampled": bool(fig["sampled"][k]),
               "tflite": int(fig["tflite"][k]), "float32": int(fig["float32"][k])}
        assert got == want, i
        nv = bl.naive_channel(sl.a[i], sl.b[i], out.rounding, out.qmin, out.qmax,
                              *sl.ranges()[i])
        n_ = int(fig["naive_N"][k])
        assert (None if n_ < 0 else n_) == nv.N, i
        if nv.N is not None:
            assert (fig["naive_W_M"][k], fig["naive_W_B"][k]) == (nv.w_m, nv.w_b), i
    assert s["naive"]["channels_compared"] == len(idx)
    assert s["baselines"]["inputs_checked"] == 4096 * len(idx)
    assert s["naive"]["no_exact_n_up_to_64"] == int((fig["naive_N"] < 0).sum())


def test_twos_widths_equals_twos_width():
    from exactbn.golden.summary import twos_widths

    from exactbn.formats import twos_width

    rng = np.random.default_rng(9)
    v = [0, 1, -1, 2, -2, 127, 128, -128, -129, 2**53 - 1, 2**53, 2**53 + 1, -(2**53) - 1,
         2**62, 2**63 - 1, -(2**63)]
    v += [int(x) >> int(k) for x, k in zip(rng.integers(-2**62, 2**62, 500),
                                          rng.integers(0, 62, 500), strict=True)]
    assert twos_widths(np.array(v, dtype=np.int64)).tolist() == [twos_width(x) for x in v]


def test_small_layer_summary_needs_no_kernel_and_agrees_with_it():
    a, b = _channels(4, 12)
    layer = _layer(a, b, "half_even")
    sl = solve_layer(layer, hw_rounding="floor")
    from exactbn.golden.summary import _channel_figures

    idx = list(range(12))
    slow, quick = (_channel_figures(sl, layer, idx, 1 << 16, fast=f) for f in (False, True))
    for k in slow:
        assert slow[k].tolist() == quick[k].tolist() or k.startswith("naive_W"), k
    ok = slow["naive_N"] >= 0
    assert slow["naive_W_M"][ok].tolist() == quick["naive_W_M"][ok].tolist()


@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_vectorised_model_loops_equal_the_scalar_model(rounding):
    """The counts evaluate models in branch-free loops (``_values``): the same outputs as
    ``_model`` for every kind, on every input."""
    a, b = _channels(6, 12)
    xs = np.arange(-2500, 2501, dtype=np.int64)
    tfl = fs.tflite_params_array(a, b, -3)
    kind, p = fs.f32_params(a, b)
    bn = {"gamma": np.linspace(-1.5, 1.5, 12), "beta": np.linspace(-2, 2, 12),
          "mean": np.linspace(-3, 3, 12), "var": np.linspace(0.1, 4, 12), "eps": 1e-5}
    kind_bn, p_bn = fs.f32_params(a, b, bn, np.full(12, 2.0**-9), np.arange(12) - 6, 0.05, 2)
    for i in range(12):
        naive = np.array([int(round(a[i] * 2**12)), int(round(b[i] * 2**12)), 12, 0])
        for k, pf, pi in ((fs.KIND_TFLITE, p[i], tfl[i]), (kind, p[i], tfl[i]),
                          (kind_bn, p_bn[i], tfl[i]), (fs.KIND_NAIVE, p[i], naive)):
            want = fs.model_values(k, pf, pi, rounding, -128, 127, xs)
            got = fs.model_values_vec(k, pf, pi, rounding, -128, 127, xs)
            assert (got == want).all(), (i, k)


@pytest.mark.parametrize("bits_out,rounding", [(8, "half_even"), (12, "half_up"),
                                                (12, "floor")])
def test_kernel_summary_equals_the_straightforward_summary(bits_out, rounding):
    """Seeded channels with ties (dyadic a and b), a == 0, steep a, and wide outputs: the
    kernel's figures (vectorised counts, the naive search started at the solver's minimal
    N) equal the straightforward code's (sweeps, ``naive_channel``) on every channel."""
    from exactbn.golden.summary import _channel_figures, _naive_start

    a, b = _channels(7, 10)
    layer = _layer(a, b, rounding, bits_out=bits_out, bits_in=10)
    sl = solve_layer(layer, hw_rounding="floor")
    idx = list(range(10))
    slow, quick = (_channel_figures(sl, layer, idx, 1 << 16, fast=f) for f in (False, True))
    for k in slow:
        assert slow[k].tolist() == quick[k].tolist() or k.startswith("naive_W"), k
    ok = slow["naive_N"] >= 0
    for k in ("naive_W_M", "naive_W_B"):
        assert slow[k][ok].tolist() == quick[k][ok].tolist(), k
    start = _naive_start(sl, np.arange(10))
    assert start is not None and (start > 0).any()  # the bound is in use here
    assert (start <= np.where(ok, slow["naive_N"], 64)).all()


def test_naive_start_above_the_answer_changes_it():
    """The start is a real input of the search (a bound above the answer gives another N)."""
    a, b = _channels(8, 16)
    lay = _layer(a, b, "half_up")
    sl = solve_layer(lay, hw_rounding="floor")
    kind, p = fs.f32_params(sl.a, sl.b)
    tfl = fs.tflite_params_array(sl.a, sl.b, 0)
    lo, hi = sl.ranges()[0]
    run = [fs.summary_kernel_run(sl.a, sl.b, lo, hi, "half_up", -128, 127, tfl, kind, p, 4100,
                                 n_start=ns) for ns in (None, np.asarray(sl.N) + 5)]
    ok = run[0]["naive"][:, 0] >= 0
    assert (run[1]["naive"][ok, 0] != run[0]["naive"][ok, 0]).any()
