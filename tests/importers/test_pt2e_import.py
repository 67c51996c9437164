"""PT2E importer: small conv-BN-ReLU networks quantized by torchao, .pt2 files, bad input."""

from __future__ import annotations

import json
import os
import pickle
import zipfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchao")

from exactbn.golden.importers import from_pt2e, import_model  # noqa: E402
from exactbn.golden.importers.agreement import compare_layer, pt2e_layer_data  # noqa: E402
from exactbn.golden.importers.pt2e_quantizer import PerLayerInt8Quantizer  # noqa: E402
from exactbn.golden.solver import solve_layer  # noqa: E402

from exactbn.cli.main import main  # noqa: E402
from exactbn.formats import FormatError  # noqa: E402

nn = torch.nn


class ConvBnRelu(nn.Module):
    """conv-BN-ReLU, conv-BN, then a pooled linear (the last conv has no ReLU)."""

    def __init__(self):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6)
        self.c2, self.b2 = nn.Conv2d(6, 5, 3, stride=2, bias=False), nn.BatchNorm2d(5)
        self.fc = nn.Linear(5, 4)

    def forward(self, x):
        y = torch.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return self.fc(y.mean((2, 3)))


class LinearBn(nn.Module):
    """Linear -> BatchNorm1d -> ReLU: PT2E keeps this BN in the graph."""

    def __init__(self):
        super().__init__()
        self.fc, self.bn = nn.Linear(8, 6), nn.BatchNorm1d(6)

    def forward(self, x):
        return torch.relu(self.bn(self.fc(x)))


def _calibrated(model, shape, seed=0):
    torch.manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(*shape) * 1.5 + 0.2)
    return model


def _x86(qat):
    from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
        X86InductorQuantizer,
        get_default_x86_inductor_quantization_config,
    )

    return X86InductorQuantizer().set_global(get_default_x86_inductor_quantization_config(
        is_qat=qat))


def quantize(model, shape, quantizer, qat=False, steps=3):
    """export -> prepare(_qat)_pt2e -> calibrate/train steps -> convert_pt2e."""
    from torchao.quantization.pt2e.quantize_pt2e import (
        convert_pt2e,
        prepare_pt2e,
        prepare_qat_pt2e,
    )

    if not qat:
        model.eval()
    x = torch.randn(*shape)
    gm = torch.export.export(model, (x,)).module()
    prepared = (prepare_qat_pt2e if qat else prepare_pt2e)(gm, quantizer)
    with torch.no_grad():
        for i in range(steps):
            prepared(torch.randn(*shape, generator=torch.Generator().manual_seed(i)))
    return convert_pt2e(prepared), x


def _agree(gm, res, shape, n_batches=4):
    rows = []
    for i in range(n_batches):
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(100 + i)) * 1.3
        for layer, (acc, q) in zip(res.layers, pt2e_layer_data(gm, res, (x,)), strict=True):
            rows.append(compare_layer(layer, acc, q, solve_layer(layer)))
    return rows


def _assert_agree(rows):
    for r in rows:
        assert r["acc_outside_range"] == 0, r
        assert r["model_vs_exact"] == 0, r
        assert set(r["classified"]) <= {"float32 near-tie", "exact tie"}, r
    assert sum(r["outputs"] for r in rows) > 1000


# QAT: prepare_qat_pt2e spends ~2 min tracing its conv-BN patterns, hence slow.
@pytest.mark.parametrize("qat", [False, pytest.param(True, marks=pytest.mark.slow)],
                         ids=["ptq", "qat"])
def test_x86_quantizer_conv_bn_relu_imports_and_agrees(qat):
    shape = (2, 3, 10, 10)
    gm, _ = quantize(_calibrated(ConvBnRelu(), shape), shape, _x86(qat), qat)
    res = from_pt2e(gm)
    names = [lay.name for lay in res.layers]
    # X86: c1 (+ReLU) is quantized; c2's output too in QAT, not in PTQ (mean follows).
    assert names[0] == "c1" and res.layers[0].affine is not None
    assert res.layers[0].output.qmin == 0 and res.layers[0].output.rounding == "half_even"
    assert ("c2" in names) == qat
    assert any("fc" in s for s in res.skipped)
    _assert_agree(_agree(gm, res, shape))


@pytest.mark.parametrize("qat", [False, pytest.param(True, marks=pytest.mark.slow)],
                         ids=["ptq", "qat"])
def test_per_layer_quantizer_every_bn_is_a_layer(qat):
    shape = (2, 3, 10, 10)
    gm, _ = quantize(_calibrated(ConvBnRelu(), shape), shape, PerLayerInt8Quantizer(qat), qat)
    res = from_pt2e(gm)
    assert [lay.name for lay in res.layers] == ["c1", "c2", "fc"]
    c1 = res.layers[0]
    assert all(lo < 0 < hi for lo, hi in c1.input.ranges(c1.channels))
    assert res.layers[1].output.qmin == 0 and res.layers[1].output.qmax == 255
    _assert_agree(_agree(gm, res, shape))


class HandQdq(nn.Module):
    """conv -> batch_norm [-> relu -> quantize] written with the ops convert_pt2e emits
    (no torchao flow leaves a BN in a converted graph: PTQ prepare and QAT convert fold it)."""

    def __init__(self, quantize_out=True, out=(0, 0, 255, torch.uint8), scheme="ok"):
        super().__init__()
        self.out, self.scheme = out, scheme
        g = torch.Generator().manual_seed(3)
        self.register_buffer("wq", torch.randint(-128, 128, (5, 3, 3, 3), generator=g,
                                                 dtype=torch.int8))
        self.register_buffer("ws", torch.rand(5, generator=g) * 0.01 + 0.002)
        self.register_buffer("wz", torch.zeros(5, dtype=torch.int64))
        self.register_buffer("b", torch.randn(5, generator=g) * 0.1)
        self.bn = nn.BatchNorm2d(5).eval()
        with torch.no_grad():
            self.bn.running_mean.uniform_(-0.5, 0.5, generator=g)
            self.bn.running_var.uniform_(0.5, 2.0, generator=g)
            self.bn.weight.uniform_(0.5, 1.5, generator=g)
            self.bn.bias.uniform_(-0.2, 0.2, generator=g)
        self.quantize_out = quantize_out

    def forward(self, x):
        qd = torch.ops.quantized_decomposed
        xq = qd.quantize_per_tensor(x, 0.02, 128, 0, 255, torch.uint8)
        xd = qd.dequantize_per_tensor(xq, 0.02, 128, 0, 255, torch.uint8)
        if self.scheme == "weight_axis1":  # scales along the input channels
            w = qd.dequantize_per_channel(self.wq, self.ws[:3], self.wz[:3], 1, -128, 127,
                                          torch.int8)
        else:
            w = qd.dequantize_per_channel(self.wq, self.ws, self.wz, 0, -128, 127, torch.int8)
        y = torch.relu(self.bn(torch.nn.functional.conv2d(xd, w, self.b, 1, 1)))
        if not self.quantize_out:
            return y
        if self.scheme == "act_per_channel":
            yq = qd.quantize_per_channel(y, self.ws * 3, self.wz, 1, 0, 255, torch.uint8)
            return qd.dequantize_per_channel(yq, self.ws * 3, self.wz, 1, 0, 255, torch.uint8)
        yq = qd.quantize_per_tensor(y, 0.03, *self.out)
        return qd.dequantize_per_tensor(yq, 0.03, *self.out)


def _hand(quantize_out=True, **kw):
    import torch.ao.quantization.fx._decomposed  # noqa: F401  (quantized_decomposed ops)

    x = torch.rand(2, 3, 8, 8) * 5 - 2.5
    return torch.export.export(HandQdq(quantize_out, **kw).eval(), (x,)).module()


def test_bn_kept_in_the_graph_is_a_bn_layer():
    gm = _hand()
    res = from_pt2e(gm)
    (layer,) = res.layers
    assert layer.bn is not None and "batch_norm+relu" in res.imported[0].pattern
    assert layer.output.qmin == 0 and layer.output.scale == 0.03
    assert "conv bias folded into the BN mean" in res.imported[0].notes
    rows = []
    for i in range(40):
        x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(i)) * 5 - 2.5
        for lay, (acc, q) in zip(res.layers, pt2e_layer_data(gm, res, (x,)), strict=True):
            rows.append(compare_layer(lay, acc, q, solve_layer(lay)))
    _assert_agree(rows)


@pytest.mark.parametrize("scheme,msg", [
    ("act_per_channel", "per-channel activation quantization"),
    ("weight_axis1", "per channel on axis 1")])
def test_unsupported_quantizer_schemes_are_refused_naming_the_node(scheme, msg):
    with pytest.raises(FormatError, match=msg) as e:
        from_pt2e(_hand(scheme=scheme))
    assert "node " in str(e.value)


def test_output_width_holds_an_asymmetric_signed_range():
    (layer,) = from_pt2e(_hand(out=(-20, -100, 27, torch.int8))).layers
    assert (layer.output.bits, layer.output.signed) == (8, True)  # [-100, 27] needs 8 bits
    assert layer.output.clip == [-20, 27]  # ReLU: real 0 is level -20


def test_bn_output_not_quantized_is_refused_naming_the_node():
    with pytest.raises(FormatError, match="no quantize_per_tensor after this BatchNorm") as e:
        from_pt2e(_hand(quantize_out=False))
    assert "bn (node" in str(e.value)


def test_accumulator_range_matches_integer_weights():
    """The derived range of channel c is sum_k min/max(w*x_lo, w*x_hi), attained."""
    shape = (2, 3, 10, 10)
    gm, _ = quantize(_calibrated(ConvBnRelu(), shape), shape, PerLayerInt8Quantizer())
    res = from_pt2e(gm)
    conv = next(n for n in gm.graph.nodes if n.name == res.imported[0].nodes[0])
    dq_x, dq_w = conv.args[0], conv.args[1]
    q_w = getattr(gm, dq_w.args[0].target).numpy().astype(np.int64).reshape(6, -1)
    z_x = int(dq_x.args[2])
    lo, hi = 0 - z_x, 255 - z_x
    want = [[int(np.minimum(r * lo, r * hi).sum()), int(np.maximum(r * lo, r * hi).sum())]
            for r in q_w]
    assert [list(v) for v in res.layers[0].input.ranges(6)] == want


def _save(tmp_path, shape=(2, 3, 10, 10)):
    gm, x = quantize(_calibrated(ConvBnRelu(), shape), shape, PerLayerInt8Quantizer())
    path = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(gm, (x,)), str(path))
    return gm, path


def test_cli_imports_a_pt2_file(tmp_path, capsys):
    gm, path = _save(tmp_path)
    out = tmp_path / "layers.json"
    assert main(["import", str(path), "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert [lay["name"] for lay in doc["layers"]] == ["c1", "c2", "fc"]
    assert doc["layers"] == from_pt2e(gm).to_json()["layers"]
    assert "pt2e: conv (BN folded)+relu" in capsys.readouterr().out


def _rewrite(src, dst, replace=None, add=None):
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w") as zo:
        for info in zi.infolist():
            data = zi.read(info)
            for suffix, new in (replace or {}).items():
                if info.filename.endswith(suffix):
                    data = new
            zo.writestr(info, data)
        root = zi.namelist()[0].split("/")[0]
        for rel, data in (add or {}).items():
            zo.writestr(f"{root}/{rel}", data)


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _refused(capsys, path, out, *words):
    assert main(["import", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err
    assert not out.exists()


def test_truncated_and_malicious_pt2_are_refused(tmp_path, capsys):
    _, path = _save(tmp_path)
    out = tmp_path / "layers.json"
    data = path.read_bytes()
    cut = tmp_path / "cut.pt2"
    cut.write_bytes(data[: len(data) // 2])
    _refused(capsys, cut, out, "cut.pt2", "truncated")
    marker = tmp_path / "pwned"
    evil = pickle.dumps(_Payload(str(marker)))
    # The sample inputs: torch.export.load retries them with weights_only=False.
    bad = tmp_path / "evil_inputs.pt2"
    _rewrite(path, bad, replace={"data/sample_inputs/model.pt": evil})
    _refused(capsys, bad, out, "sample inputs are not weights-only")
    # A custom object (torch.export.load unpickles it) and a legacy pickled weights file.
    for rel in ("data/constants/custom_obj_0", "data/weights/model.pt"):
        bad = tmp_path / "evil_obj.pt2"
        _rewrite(path, bad, add={rel: evil})
        _refused(capsys, bad, out, rel)
    # A weight flagged use_pickle in the config.
    cfg_name = next(n for n in zipfile.ZipFile(path).namelist()
                    if n.endswith("model_weights_config.json"))
    cfg = json.loads(zipfile.ZipFile(path).read(cfg_name))
    first = next(iter(cfg["config"]))
    cfg["config"][first]["use_pickle"] = True
    bad = tmp_path / "evil_cfg.pt2"
    _rewrite(path, bad, replace={"model_weights_config.json": json.dumps(cfg).encode()})
    _refused(capsys, bad, out, "stored as a pickle")
    assert not marker.exists()
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["m.pt2", "cut.pt2", "evil_inputs.pt2", "evil_obj.pt2", "evil_cfg.pt2"])


def test_dynamic_quantization_is_refused_naming_the_node():
    from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
        X86InductorQuantizer,
        get_default_x86_inductor_quantization_config,
    )

    q = X86InductorQuantizer().set_global(get_default_x86_inductor_quantization_config(
        is_dynamic=True))
    shape = (4, 8)
    gm, _ = quantize(nn.Sequential(nn.Linear(8, 6), nn.ReLU()), shape, q)
    with pytest.raises(FormatError, match="dynamic quantization") as e:
        from_pt2e(gm)
    assert "node choose_qparams" in str(e.value)


def test_float_weights_and_unquantized_conv_output_are_refused_naming_the_node():
    import dataclasses

    shape = (2, 3, 10, 10)
    q = PerLayerInt8Quantizer()
    q.config = dataclasses.replace(q.config, weight=None)  # activations only
    gm, _ = quantize(_calibrated(ConvBnRelu(), shape), shape, q)
    with pytest.raises(FormatError, match="weights are not quantized") as e:
        from_pt2e(gm)
    assert "c1 (node conv2d" in str(e.value)
    # Inputs and weights quantized, no conv output quantized: nothing to import, each named.
    q = PerLayerInt8Quantizer()
    orig = q.annotate

    def inputs_only(model):  # only c1's input and weights are quantized
        orig(model)
        first = True
        for n in model.graph.nodes:
            ann = n.meta.get("quantization_annotation")
            if ann is not None:
                if first and n.target == torch.ops.aten.conv2d.default:
                    ann.output_qspec, first = None, False
                else:
                    del n.meta["quantization_annotation"]
        return model

    q.annotate = inputs_only
    gm, _ = quantize(_calibrated(ConvBnRelu(), shape), shape, q)
    with pytest.raises(FormatError, match="no importable layer") as e:
        from_pt2e(gm)
    assert "c1 (node conv2d" in str(e.value) and "no quantize_per_tensor follows" in str(e.value)


def test_pt2_import_model_routes_by_extension(tmp_path):
    gm, path = _save(tmp_path)
    assert import_model(path).to_json()["layers"] == from_pt2e(gm).to_json()["layers"]


def test_accumulator_range_int64_path_equals_python_integers():
    from exactbn.golden.importers.common import accumulator_range

    rng = np.random.default_rng(5)
    w = rng.integers(-128, 128, (7, 50))
    bias = rng.integers(-5000, 5000, 7)
    for lo, hi, zero in ((0, 255, True), (-128, 127, False), (-3, 200, True)):
        fast = accumulator_range(w, lo, hi, bias, include_zero=zero)
        slow = accumulator_range(w.astype(object), lo, hi, list(bias), include_zero=zero)
        assert fast == slow
    big = accumulator_range(np.array([[1 << 40]]), 0, 1 << 30)  # beyond int64: exact too
    assert big == [[0, 1 << 70]]
