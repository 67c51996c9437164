"""ONNX QDQ and QONNX import: layer fields, derived ranges, and the graph's own semantics."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from exactbn.golden.experiment import classify_disagreement, exact_outputs  # noqa: E402
from exactbn.golden.importers import Overrides, accumulator_range, import_model  # noqa: E402
from exactbn.golden.importers.digits import _conv2d_int, digits_layers  # noqa: E402
from exactbn.golden.importers.onnx_import import import_onnx_model  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402
from onnx.reference.op_run import OpRun  # noqa: E402

from exactbn.formats import FormatError, load_layers  # noqa: E402


class Quant(OpRun):
    """QONNX Quant for onnx.reference: round(x/s + z), clip to the bit width, dequantize."""

    op_domain = "qonnx.custom_op.general"

    def _run(self, x, scale, zeropt, bitwidth, signed=1, narrow=0, rounding_mode="ROUND"):
        bits = int(bitwidth)
        lo, hi = ((-(1 << (bits - 1)) + narrow, (1 << (bits - 1)) - 1) if signed
                  else (0, (1 << bits) - 1 - narrow))
        q = np.clip(np.rint(x / scale + zeropt), lo, hi)
        return ((q - zeropt) * scale).astype(np.float32),


def test_accumulator_range_is_exact_by_enumeration():
    rng = np.random.default_rng(3)
    w = rng.integers(-5, 6, (3, 3))
    bias = [7, -2, 0]
    for include_zero, (x_lo, x_hi) in itertools.product((False, True), ((-2, 3), (1, 4))):
        got = accumulator_range(w, x_lo, x_hi, bias, include_zero=include_zero)
        vals = list(range(x_lo, x_hi + 1)) + ([0] if include_zero else [])
        for c in range(3):
            accs = [int(np.dot(w[c], xs)) + bias[c] for xs in itertools.product(vals, repeat=3)]
            assert got[c] == [min(accs), max(accs)]


def _evaluate_against_graph(model, params, layer, *, gemm=False, n=64, seed=5):
    """Run the ONNX graph with onnx.reference and compare with the imported layer's exact
    reference on the same integer accumulators; only float32 ties may differ."""
    from exactbn.golden.solver import layer_affine

    rng = np.random.default_rng(seed)
    shape = (n, 2) if gemm else (n, 2, 5, 5)
    x = rng.uniform(-0.5, 5.6, shape).astype(np.float32)
    got = ReferenceEvaluator(model).run(None, {"x": x})[0].astype(np.int64)
    s_x, z_x = params["s_x"], params["z_x"]
    xq = np.clip(np.rint(x / s_x) + z_x, 0, 255).astype(np.int64) - z_x
    w = params["w"].astype(np.int64)
    acc = xq @ w.T if gemm else _conv2d_int(xq, w, 1)
    chan = (1, -1) + (1,) * (acc.ndim - 2)
    if params["bias_in_acc"]:  # an integer bias joins the accumulator
        acc = acc + params["bias"].astype(np.int64).reshape(chan)
    rngs = np.asarray(layer.input.ranges(layer.channels))
    assert np.all(acc >= rngs[:, 0].reshape(chan)) and np.all(acc <= rngs[:, 1].reshape(chan))
    ex = exact_outputs(layer, acc)
    a, b = layer_affine(layer)
    diff = np.argwhere(ex != got)
    for pos in diff:
        c = int(pos[1])
        cls = classify_disagreement(float(a[c]), float(b[c]), int(acc[tuple(pos)]),
                                    layer.output.rounding, int(ex[tuple(pos)]),
                                    int(got[tuple(pos)]))
        assert cls in ("exact tie", "float32 near-tie"), (pos, cls)
    assert len(diff) <= ex.size // 100  # ties are rare; a wrong scale would differ widely
    return ex.size


@pytest.mark.parametrize("kw", [
    dict(bn=True, act=None),
    dict(bn=True, act="Relu", out_dtype=np.uint8, z_y=3),
    dict(bn=False, act="Clip"),
    dict(bn=False, act=None, per_channel=False, z_x=7),
    dict(bn=True, act="Relu", gemm=True),
    dict(bn=True, act=None, bias="float"),
])
def test_qdq_layer_reproduces_the_graph(qdq_conv, kw):
    model, params = qdq_conv(**kw)
    res = import_onnx_model(model)
    assert len(res.layers) == 1
    layer = res.layers[0]
    params["bias_in_acc"] = kw.get("bias", True) is True
    assert _evaluate_against_graph(model, params, layer, gemm=kw.get("gemm", False)) > 0
    assert ("BatchNormalization" in res.imported[0].pattern) == kw["bn"]


def test_qdq_bn_fields_and_scales(qdq_conv):
    model, p = qdq_conv(bn=True)
    layer = import_onnx_model(model).layers[0]
    np.testing.assert_array_equal(layer.bn["gamma"], p["gamma"].astype(np.float64))
    np.testing.assert_array_equal(layer.bn["var"], p["var"].astype(np.float64))
    assert layer.bn["eps"] == pytest.approx(1e-5)
    assert layer.input.scale == [float(p["s_x"]) * float(s) for s in p["s_w"]]
    assert layer.output.rounding == "half_even"
    assert layer.output.clip == [-128, 127]


def test_gemm_range_is_attained_and_includes_bias(qdq_conv):
    model, p = qdq_conv(bn=True, gemm=True, c_in=6)
    layer = import_onnx_model(model).layers[0]
    w = p["w"].astype(np.int64)
    for c, (lo, hi) in enumerate(layer.input.ranges(layer.channels)):
        x_hi = np.where(w[c] > 0, 255, 0)
        x_lo = np.where(w[c] > 0, 0, 255)
        assert int(w[c] @ x_hi) + int(p["bias"][c]) == hi
        assert int(w[c] @ x_lo) + int(p["bias"][c]) == lo
    assert layer.input.bits == max(max(abs(lo), abs(hi) + 1) for lo, hi in
                                   layer.input.ranges(layer.channels)).bit_length() + 1


def test_relu_and_clip_fold_into_the_output_clip(qdq_conv):
    relu = import_onnx_model(qdq_conv(act="Relu", out_dtype=np.uint8, z_y=3)[0]).layers[0]
    assert relu.output.clip == [3, 255]
    clip = import_onnx_model(qdq_conv(bn=False, act="Clip", clip_range=(-1.0, 2.0))[0])
    # s_y = 0.05: -1/0.05 = -20, 2/0.05 = 40 (float32 0.05 makes both exact ties-free)
    assert clip.layers[0].output.clip == [-20, 40]


def test_folded_bn_becomes_an_affine_layer(qdq_conv):
    model, p = qdq_conv(bn=False)
    res = import_onnx_model(model)
    layer = res.layers[0]
    assert layer.bn is None and "beyond BN" in res.imported[0].pattern
    s_y = float(p["s_y"])
    assert layer.affine["a"] == [float(p["s_x"]) * float(s) / s_y for s in p["s_w"]]
    assert layer.affine["b"] == [float(p["z_y"])] * 4  # integer bias is in the accumulator


@pytest.mark.parametrize("bias", [False, True])
def test_qonnx_quant_nodes(qonnx_conv, bias):
    model, p = qonnx_conv(bias=bias)
    res = import_onnx_model(model)
    layer = res.layers[0]
    assert res.source.startswith("qonnx")
    assert layer.output.clip == [0, 15] and not layer.output.signed and layer.output.bits == 4
    w_int = np.clip(np.rint(p["wf"] / p["s_w"]), -8, 7).astype(np.int64)
    assert layer.input.ranges(layer.channels) == [tuple(r) for r in accumulator_range(
        w_int.reshape(3, -1), 0, 15, p["bias_int"], include_zero=True)]
    assert layer.input.scale == float(p["s_x"]) * float(p["s_w"])
    # The graph's own semantics (Quant implemented for onnx.reference above).
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.2, 4.0, (32, 2, 4, 4)).astype(np.float32)
    got = ReferenceEvaluator(model, new_ops=[Quant]).run(None, {"x": x})[0]
    got = np.rint(got / p["s_y"]).astype(np.int64)
    xq = np.clip(np.rint(x / p["s_x"]), 0, 15).astype(np.int64)
    acc = _conv2d_int(xq, w_int, 1) + p["bias_int"].reshape(1, -1, 1, 1)
    ex = exact_outputs(layer, acc)
    assert (ex != got).sum() <= 2


def test_qonnx_narrow_weights_are_clipped_symmetrically(qonnx_conv):
    model, p = qonnx_conv(narrow=True, w_bits=2)
    layer = import_onnx_model(model).layers[0]
    w_int = np.clip(np.rint(p["wf"] / p["s_w"]), -1, 1).astype(np.int64)
    assert layer.input.ranges(layer.channels) == [tuple(r) for r in accumulator_range(
        w_int.reshape(3, -1), 0, 15, include_zero=True)]


def test_bundled_onnx_model_imports_like_the_digits_json():
    from importlib import resources

    path = resources.files("exactbn.data").joinpath("digits_qdq.onnx")
    res = import_model(str(path))
    assert [lay.to_json() for lay in res.layers] == [
        lay.to_json() for lay in digits_layers().layers]
    assert any("fc2" in s for s in res.skipped)


# ----------------------------------------------------------------------------- errors


def test_bn_after_unsupported_op_is_rejected(qdq_conv):
    with pytest.raises(FormatError, match="unsupported layer.*BatchNormalization follows"):
        import_onnx_model(qdq_conv(bn_input_from="add")[0])


def test_unsupported_op_between_bn_and_quantizer(qdq_conv):
    with pytest.raises(FormatError, match="unsupported layer.*Sigmoid"):
        import_onnx_model(qdq_conv(after_bn="Sigmoid")[0])


def test_missing_input_scale_needs_flags(qdq_conv):
    model, p = qdq_conv(input_quantized=False)
    with pytest.raises(FormatError, match="missing scales.*--input-scale"):
        import_onnx_model(model)
    ov = Overrides(input_scale=0.02, input_bits=8)
    res = import_onnx_model(model, ov)
    assert res.overrides_used == ["input_bits", "input_scale"]
    assert res.layers[0].input.scale == [0.02 * float(s) for s in p["s_w"]]
    with_q = import_onnx_model(qdq_conv()[0]).layers[0]
    assert res.layers[0].input.ranges(4) == with_q.input.ranges(4)


def test_non_integer_weights_are_rejected(qdq_conv):
    wf = np.full((4, 2, 3, 3), 0.5)
    with pytest.raises(FormatError, match="non-integer value 0.5"):
        import_onnx_model(qdq_conv(float_weights=wf)[0])
    # Integer-valued float weights are accepted (scale 1); the int32 bias, whose scale then
    # differs from s_x * 1, is a real offset folded into the BN mean, not into the range.
    ok = import_onnx_model(qdq_conv(float_weights=np.full((4, 2, 3, 3), 3.0))[0])
    assert ok.layers[0].input.ranges(4) == [(0, 255 * 3 * 18)] * 4
    assert "folded into the BN mean" in " ".join(ok.imported[0].notes)


def test_unreadable_and_truncated_files(tmp_path, qdq_conv):
    good = tmp_path / "m.onnx"
    onnx.save(qdq_conv()[0], str(good))
    bad = tmp_path / "t.onnx"
    bad.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(FormatError, match="truncated"):
        import_model(bad)
    with pytest.raises(FormatError, match="no such file"):
        import_model(tmp_path / "missing.onnx")
    (tmp_path / "d.onnx").mkdir()
    with pytest.raises(FormatError, match="directory"):
        import_model(tmp_path / "d.onnx")
    with pytest.raises(FormatError, match="unknown model type"):
        import_model(tmp_path / "m.txt")


def test_cli_import_writes_a_valid_layer_file(tmp_path, qdq_conv, capsys):
    from exactbn.cli.main import main

    src = tmp_path / "m.onnx"
    onnx.save(qdq_conv(act="Relu")[0], str(src))
    out = tmp_path / "layers.json"
    assert main(["import", str(src), "-o", str(out)]) == 0
    assert load_layers(out)[0].output.clip == [0, 127]
    text = capsys.readouterr().out
    assert "Conv+BatchNormalization+Relu" in text and "wrote" in text


def test_cli_errors_exit_2_and_write_nothing(tmp_path, qdq_conv, capsys):
    from exactbn.cli.main import main

    out = tmp_path / "layers.json"
    src = tmp_path / "nq.onnx"
    onnx.save(qdq_conv(input_quantized=False)[0], str(src))
    assert main(["import", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "missing scales" in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == [src]
    assert main(["import", str(src), "-o", str(out), "--input-scale", "0.02",
                 "--input-bits", "8"]) == 0
    assert out.exists()


def test_qoperator_models_are_refused_with_a_hint():
    from onnx import TensorProto, helper

    node = helper.make_node("QLinearConv", ["x", "sx", "zx", "w", "sw", "zw", "sy", "zy"],
                            ["y"], name="qconv")
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.UINT8,
                                                                      [1, 1, 3, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.UINT8, [1, 1, 1, 1])])
    with pytest.raises(FormatError, match="QOperator.*QDQ"):
        import_onnx_model(helper.make_model(g))


@pytest.mark.parametrize("gamma_dequantized", [False, True])
def test_bn_on_a_quantized_tensor(gamma_dequantized):
    """Q -> DQ -> BatchNormalization -> Relu -> Q: the BN input is the int8 tensor itself.
    onnxruntime's quantizer writes this shape, with gamma stored as DequantizeLinear(int8)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(11)
    c = 3
    inits = [numpy_helper.from_array(np.float32(0.04), "s_x"),
             numpy_helper.from_array(np.int8(-5), "z_x"),
             numpy_helper.from_array(np.float32(0.1), "s_y"),
             numpy_helper.from_array(np.int8(-128), "z_y")]
    for k, v in (("g", rng.normal(1, 0.3, c)), ("b", rng.normal(0, 0.5, c)),
                 ("m", rng.normal(0, 1, c)), ("v", rng.uniform(0.3, 2, c))):
        inits.append(numpy_helper.from_array(v.astype(np.float32), k))
    pre = []
    if gamma_dequantized:
        inits[4] = numpy_helper.from_array(np.array([90, 127, 61], np.int8), "g_q")
        inits.append(numpy_helper.from_array(np.float32(0.0123), "g_s"))
        pre = [helper.make_node("DequantizeLinear", ["g_q", "g_s"], ["g"])]
    nodes = pre + [helper.make_node("QuantizeLinear", ["x", "s_x", "z_x"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "s_x", "z_x"], ["xd"]),
             helper.make_node("BatchNormalization", ["xd", "g", "b", "m", "v"], ["y"],
                              name="bn0"),
             helper.make_node("Relu", ["y"], ["r"]),
             helper.make_node("QuantizeLinear", ["r", "s_y", "z_y"], ["q"])]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [256, c])], [helper.make_tensor_value_info(
            "q", TensorProto.INT8, [256, c])], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 19)])
    res = import_onnx_model(model)
    layer = res.layers[0]
    assert "quantized tensor+BatchNormalization+Relu" in res.imported[0].pattern
    assert (layer.input.bits, layer.input.signed, layer.input.zero_point) == (8, True, -5)
    assert layer.output.clip == [-128, 127]  # Relu: R(0/s) + z = -128, already the bottom
    if gamma_dequantized:
        assert layer.bn["gamma"] == [float(np.float32(q) * np.float32(0.0123))
                                     for q in (90, 127, 61)]
    xi = np.tile(np.arange(-128, 128, dtype=np.int64)[:, None], (1, c))
    x = ((xi + 5) * np.float32(0.04)).astype(np.float32)
    got = ReferenceEvaluator(model).run(None, {"x": x})[0].astype(np.int64)
    ex = exact_outputs(layer, xi)
    assert (ex != got).sum() <= 2
