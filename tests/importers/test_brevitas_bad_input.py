"""Brevitas exports `exactbn import` must refuse: one line naming the file and the node,
exit 2, nothing written (truncated files, quantizer schemes it does not implement, no
quantized activation after the BN)."""

from __future__ import annotations

import os
import warnings

import pytest

brevitas = pytest.importorskip("brevitas")
torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
import brevitas.nn as qnn  # noqa: E402
from brevitas.export import export_onnx_qcdq, export_qonnx  # noqa: E402
from brevitas.quant.binary import SignedBinaryActPerTensorConst  # noqa: E402

from exactbn.cli.main import main  # noqa: E402


def _export(tmp_path, last, fmt: str) -> onnx.ModelProto:
    """QuantIdentity(8) -> QuantConv2d(4-bit) -> BatchNorm2d -> ``last``, exported by Brevitas."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(qnn.QuantIdentity(bit_width=8, return_quant_tensor=True),
                              qnn.QuantConv2d(3, 4, 3, weight_bit_width=4),
                              torch.nn.BatchNorm2d(4), last).eval()
    path = tmp_path / f"export_{fmt}.onnx"
    fn = export_qonnx if fmt == "qonnx" else export_onnx_qcdq
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn(net, torch.randn(1, 3, 6, 6), export_path=str(path), dynamo=False)
    model = onnx.load(str(path))
    path.unlink()
    return model


def _refused(tmp_path, capsys, data: bytes, *words) -> str:
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    out = tmp_path / "layers.json"
    rc = main(["import", str(path), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and "m.onnx" in lines[0], err
    for w in words:
        assert w in lines[0], lines[0]
    assert sorted(os.listdir(tmp_path)) == ["m.onnx"]
    return lines[0]


def _relu4():
    return qnn.QuantReLU(bit_width=4, return_quant_tensor=True)


@pytest.mark.parametrize("fmt", ["qonnx", "qcdq"])
def test_truncated_export(tmp_path, capsys, fmt):
    data = _export(tmp_path, _relu4(), fmt).SerializeToString()
    _refused(tmp_path, capsys, data[: len(data) // 2], "truncated")


@pytest.mark.parametrize("fmt", ["qonnx", "qcdq"])
def test_no_quantized_activation_after_the_bn(tmp_path, capsys, fmt):
    model = _export(tmp_path, torch.nn.Identity(), fmt)
    bn = next(n for n in model.graph.node if n.op_type == "BatchNormalization")
    _refused(tmp_path, capsys, model.SerializeToString(), bn.name, "not followed by a quantizer")


@pytest.mark.parametrize("mode", ["CEIL", "ROUND_TO_ZERO", "HALF_UP"])
def test_unsupported_rounding_mode(tmp_path, capsys, mode):
    model = _export(tmp_path, _relu4(), "qonnx")
    quant = [n for n in model.graph.node if n.op_type == "Quant"][-1]  # the ReLU's quantizer
    for att in quant.attribute:
        if att.name == "rounding_mode":
            att.s = mode.encode()
    _refused(tmp_path, capsys, model.SerializeToString(), quant.name, "rounding_mode", mode)


def test_binary_activation_is_refused(tmp_path, capsys):
    last = qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=True)
    model = _export(tmp_path, last, "qonnx")
    bq = next(n for n in model.graph.node if n.op_type == "BipolarQuant")
    _refused(tmp_path, capsys, model.SerializeToString(), bq.name, "binary")


def test_float_quantizer_is_refused(tmp_path, capsys):
    """A minifloat output quantizer (QONNX FloatQuant) is not an integer output."""
    model = _export(tmp_path, _relu4(), "qonnx")
    quant = [n for n in model.graph.node if n.op_type == "Quant"][-1]
    quant.op_type = "FloatQuant"
    del quant.attribute[:]
    _refused(tmp_path, capsys, model.SerializeToString(), quant.name, "floating-point")


def test_qcdq_clip_with_inverted_bounds(tmp_path, capsys):
    """The output Clip of QuantizeLinear-Clip-DequantizeLinear must leave an integer range."""
    model = _export(tmp_path, _relu4(), "qcdq")
    clip = [n for n in model.graph.node if n.op_type == "Clip"][-1]
    init = {i.name: i for i in model.graph.initializer}
    lo, hi = (onnx.numpy_helper.to_array(init[clip.input[i]]) for i in (1, 2))
    new = onnx.numpy_helper.from_array((hi + 1).astype(lo.dtype), "inverted_min")
    model.graph.initializer.append(new)
    clip.input[1] = "inverted_min"
    _refused(tmp_path, capsys, model.SerializeToString(), clip.name, "clip.min")
