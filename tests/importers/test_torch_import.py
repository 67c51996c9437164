"""PyTorch importer (torch optional: these tests need it, the others do not)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from exactbn.golden.importers import Overrides, import_model  # noqa: E402
from exactbn.golden.importers.digits import digits_layers, load_digits_model  # noqa: E402
from exactbn.golden.importers.torch_import import import_torch_module  # noqa: E402

from exactbn.formats import FormatError  # noqa: E402

FLAGS = dict(input_scale=1 / 16, input_bits=4, input_signed=False, output_scale=0.25,
             output_bits=4, output_signed=False)


def _digits_module():
    """The bundled digits network as a torch module: float weights = w_int * scale."""
    nn = torch.nn
    spec = load_digits_model()
    m = nn.Sequential()
    m.add_module("conv1", nn.Conv2d(1, 8, 3, padding=1, bias=False))
    m.add_module("bn1", nn.BatchNorm2d(8))
    m.add_module("conv2", nn.Conv2d(8, 16, 3, padding=1, bias=False))
    m.add_module("bn2", nn.BatchNorm2d(16))
    m.add_module("fc1", nn.Linear(64, 32, bias=False))
    m.add_module("bn3", nn.BatchNorm1d(32))
    m.add_module("fc2", nn.Linear(32, 10, bias=False))
    mods = [("conv1", "bn1"), ("conv2", "bn2"), ("fc1", "bn3"), ("fc2", None)]
    for (wn, bn), s in zip(mods, spec["layers"], strict=True):
        lin = getattr(m, wn)
        scale = torch.tensor(s["weight_scale"], dtype=torch.float32)
        w = torch.tensor(s["weights"], dtype=torch.float32)
        sb = scale.view(-1, *([1] * (w.dim() - 1))) if scale.dim() else scale
        lin.weight.data = w * sb
        lin.register_buffer("weight_scale", scale)
        if bn:
            b = getattr(m, bn)
            for attr, key in (("weight", "gamma"), ("bias", "beta")):
                getattr(b, attr).data = torch.tensor(s["bn"][key], dtype=torch.float32)
            b.running_mean = torch.tensor(s["bn"]["mean"], dtype=torch.float32)
            b.running_var = torch.tensor(s["bn"]["var"], dtype=torch.float32)
    return m


def test_torch_module_imports_like_the_digits_json():
    res = import_torch_module(_digits_module(), Overrides(**FLAGS))
    want = [lay.to_json() for lay in digits_layers().layers]
    got = [lay.to_json() for lay in res.layers]
    for g, w in zip(got, want, strict=True):
        assert g["input"] == w["input"] and g["output"] == w["output"]
        np.testing.assert_array_equal(g["bn"]["gamma"], w["bn"]["gamma"])
        np.testing.assert_array_equal(g["bn"]["var"], w["bn"]["var"])
    assert any("fc2" in s for s in res.skipped)


def test_state_dict_file_round_trip_and_cli(tmp_path, capsys):
    from exactbn.cli.main import main

    path = tmp_path / "digits.pt"
    torch.save(_digits_module().state_dict(), path)
    res = import_model(path, Overrides(**FLAGS))
    assert [lay.name for lay in res.layers] == ["bn1", "bn2", "bn3"]
    out = tmp_path / "layers.json"
    args = ["import", str(path), "-o", str(out), "--input-scale", "0.0625", "--input-bits", "4",
            "--input-signedness", "unsigned", "--output-scale", "0.25", "--output-bits", "4",
            "--output-signedness", "unsigned"]
    assert main(args) == 0 and out.exists()
    assert main(["import", str(path), "-o", str(tmp_path / "x.json")]) == 2
    assert "missing scales" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_non_integer_weights_and_bad_files(tmp_path):
    m = _digits_module()
    del m.conv1.weight_scale
    with pytest.raises(FormatError, match="non-integer"):
        import_torch_module(m, Overrides(**FLAGS))
    m = _digits_module()
    m.conv1.weight_scale *= 1.37
    with pytest.raises(FormatError, match="not an integer multiple"):
        import_torch_module(m, Overrides(**FLAGS))
    good = tmp_path / "m.pt"
    torch.save(_digits_module().state_dict(), good)
    bad = tmp_path / "t.pt"
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(FormatError, match="truncated"):
        import_model(bad, Overrides(**FLAGS))
    pickled = tmp_path / "module.pt"
    torch.save(_digits_module(), pickled)  # a pickled module: refused by weights_only=True
    with pytest.raises(FormatError, match="weights-only"):
        import_model(pickled, Overrides(**FLAGS))


def test_bn_without_conv_is_unsupported():
    m = torch.nn.Sequential(torch.nn.BatchNorm1d(4))
    with pytest.raises(FormatError, match="unsupported layer"):
        import_torch_module(m, Overrides(**FLAGS))


# --- models prepared with torch.ao eager-mode quantization (observers carry the scales) ---

def _tq():
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*reduce_range.*")
    import torch.ao.quantization as tq

    return tq


class _Net(torch.nn.Module):
    """QuantStub -> Conv2d/Linear -> BatchNorm -> ReLU -> DeQuantStub (eager mode)."""

    def __init__(self, kind: str):
        super().__init__()
        tq = _tq()
        nn = torch.nn
        self.quant = tq.QuantStub()
        if kind == "conv":
            self.conv, self.bn = nn.Conv2d(2, 4, 3, bias=False), nn.BatchNorm2d(4)
        else:
            self.conv, self.bn = nn.Linear(6, 5, bias=False), nn.BatchNorm1d(5)
        self.relu = nn.ReLU()
        self.dequant = tq.DeQuantStub()
        c = self.bn.num_features
        with torch.no_grad():
            self.bn.weight.uniform_(0.5, 2.0)
            self.bn.bias.uniform_(-0.5, 0.5)
            self.bn.running_mean.uniform_(-0.3, 0.3)
            self.bn.running_var.uniform_(0.2, 2.0)
        self.shape = (8, 2, 6, 6) if kind == "conv" else (32, 6)
        assert c > 0

    def forward(self, x):
        return self.dequant(self.relu(self.bn(self.conv(self.quant(x)))))


def _prepared(kind: str, mode: str, fuse: bool = False, calibrate: bool = True):
    tq = _tq()
    torch.manual_seed(0)
    m = _Net(kind)
    if mode == "ptq":
        m.eval()
        m.qconfig = tq.get_default_qconfig("fbgemm")
        tq.prepare(m, inplace=True)
    else:
        m.train()
        if fuse:
            group = ["conv", "bn", "relu"] if kind == "conv" else ["conv", "bn"]
            tq.fuse_modules_qat(m, [group], inplace=True)
        m.qconfig = tq.get_default_qat_qconfig("fbgemm")
        tq.prepare_qat(m, inplace=True)
    if calibrate:
        with torch.no_grad():
            for _ in range(4):
                m(torch.randn(*m.shape))
    m.eval()
    m.apply(tq.disable_observer)
    return m


def _fq_int(x, q):
    """torch's own fake quantizer, as integers."""
    y = torch.fake_quantize_per_tensor_affine(x, q.scale, q.zero_point, q.qmin, q.qmax)
    return torch.round(y / q.scale).to(torch.int64) + q.zero_point


@pytest.mark.parametrize("kind,mode", [("conv", "qat"), ("conv", "ptq")])
def test_prepared_model_observers_give_the_layer(kind, mode):
    from exactbn.golden import integer_model
    from exactbn.golden.importers.torch_observers import observer_quant
    from exactbn.golden.solver import layer_affine, solve_layer

    m = _prepared(kind, mode)
    res = import_torch_module(m)
    assert [lay.name for lay in res.layers] == ["bn"] and not res.overrides_used
    lay = res.layers[0]
    xq = observer_quant(m.conv.activation_post_process, "conv")
    yq = observer_quant(m.bn.activation_post_process, "bn")
    if mode == "qat":  # FakeQuantize: the applied values
        assert xq.scale == float(m.conv.activation_post_process.scale)
        assert yq.zero_point == int(m.bn.activation_post_process.zero_point)
    assert (lay.input.scale, lay.input.zero_point, lay.input.range) == (
        xq.scale, xq.zero_point, [xq.qmin, xq.qmax])
    assert (lay.output.scale, lay.output.zero_point, lay.output.rounding) == (
        yq.scale, yq.zero_point, "half_even")
    assert lay.output.clip == [max(yq.qmin, yq.zero_point), yq.qmax]  # ReLU folded
    # fbgemm's reduce_range: the observer's scale is for [0, 127], but the converted kernels
    # clamp to quint8's [0, 255], and so does the layer (output clip and next input range).
    assert lay.input.bits == 8 and not lay.input.signed and lay.input.range == [0, 255]
    # The prepared model's own float32 computation on sample inputs.
    got = {}
    m.conv.activation_post_process.register_forward_hook(
        lambda mod, i, o: got.__setitem__("x", i[0]))
    with torch.no_grad():
        m(torch.randn(*m.shape) * 2)
        q_in = _fq_int(got["x"], xq)
        deq = (q_in - xq.zero_point).to(torch.float32) * xq.scale
        bn = m.bn  # its math without its fake quantizer (reduce_range clamps that to 127)
        y = torch.nn.functional.batch_norm(deq, bn.running_mean, bn.running_var, bn.weight,
                                           bn.bias, False, 0.0, bn.eps)
        q_out = torch.clamp(_fq_int(y, yq), min=yq.zero_point)
    ch_axis = 1
    x = np.moveaxis(q_in.numpy(), ch_axis, -1).reshape(-1, lay.channels)
    want = np.moveaxis(q_out.numpy(), ch_axis, -1).reshape(-1, lay.channels)
    sol = solve_layer(lay)
    assert sol.exact
    mine = integer_model(np.array(sol.M), np.array(sol.B), np.array(sol.N), x,
                         lay.output.qmin, lay.output.qmax, sol.hw_rounding)
    a, b = (np.asarray(v) for v in layer_affine(lay))
    bad = mine != want
    # Every disagreement must be a float32 near-tie of torch's computation.
    frac = np.abs((a * x + b) % 1 - 0.5)
    assert np.all(frac[bad] < 1e-4) and bad.sum() <= 2, (bad.sum(), x[bad], want[bad])
    assert x.size >= 100


@pytest.mark.parametrize("kind", ["conv", "linear"])
def test_fused_qat_conv_bn_relu_is_an_affine_requantization(kind):
    from exactbn.golden.importers.torch_observers import observer_quant

    m = _prepared(kind, "qat", fuse=True)
    res = import_torch_module(m)
    lay = res.layers[0]
    assert lay.name == "conv" and lay.affine is not None and lay.bn is None
    xq = observer_quant(m.quant.activation_post_process, "quant")
    yq = observer_quant(m.conv.activation_post_process, "conv")
    s_w_t = m.conv.weight_fake_quant.calculate_qparams()[0]  # what convert uses
    s_w = s_w_t.double().numpy()
    c = len(s_w)
    assert "ReLU" in res.imported[0].notes[-1]
    np.testing.assert_allclose(lay.input.scales(c), xq.scale * s_w, rtol=0, atol=0)
    np.testing.assert_allclose(lay.affine["a"], xq.scale * s_w / yq.scale, rtol=1e-15)
    bn = m.conv.bn
    g = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    b_real = (bn.bias.double() - g.double() * bn.running_mean.double()).detach().numpy()
    np.testing.assert_allclose(lay.affine["b"], b_real / yq.scale + yq.zero_point, rtol=1e-5,
                               atol=1e-5)  # the folded float bias (fbgemm adds it in float)
    assert lay.output.clip == [max(yq.qmin, yq.zero_point), yq.qmax]
    # The accumulators of the fake-quantized conv (integers) lie in the derived ranges.
    with torch.no_grad():
        x = torch.randn(64, *m.shape[1:]) * 3
        q_in = _fq_int(x, xq)
        g = m.conv.bn.weight / torch.sqrt(m.conv.bn.running_var + m.conv.bn.eps)
        view = (-1,) + (1,) * (m.conv.weight.dim() - 1)
        w_int = torch.clamp(torch.round(m.conv.weight * g.view(view) / s_w_t.view(view)),
                            -128, 127)
        op = torch.nn.functional.conv2d if kind == "conv" else torch.nn.functional.linear
        acc = op((q_in - xq.zero_point).double(), w_int.double())
        b_int = np.zeros(c, np.int64)  # the bias is not in the accumulator
    hi_x, lo_x = xq.qmax - xq.zero_point, xq.qmin - xq.zero_point
    for ch, (lo, hi) in enumerate(lay.input.ranges(c)):
        w = w_int[ch].numpy()
        assert lo == int(np.minimum(w * lo_x, w * hi_x).sum()) + b_int[ch]
        assert hi == int(np.maximum(w * lo_x, w * hi_x).sum()) + b_int[ch]
    accs = np.moveaxis(acc.numpy(), 1, -1).reshape(-1, c)
    assert np.array_equal(accs, np.round(accs))
    accs = accs.astype(np.int64) + b_int
    rng = np.array(lay.input.ranges(c))
    assert np.all(accs >= rng[:, 0]) and np.all(accs <= rng[:, 1])
    # Against torch.ao's own integer execution (the converted model, not the fake-quantized
    # one, whose weight scale buffer lags its observer): test_torchao_graph.py.
    from exactbn.golden.solver import solve_layer

    assert all(solve_layer(lay).exact)


def test_prepared_model_errors_and_flags(tmp_path, capsys):
    from exactbn.cli.main import main

    with pytest.raises(FormatError, match="never calibrated") as e:
        import_torch_module(_prepared("conv", "ptq", calibrate=False))
    assert e.value.layer is not None
    m = _prepared("linear", "qat")  # eager mode does not observe an unfused BatchNorm1d
    with pytest.raises(FormatError, match="missing scales"):
        import_torch_module(m)
    res = import_torch_module(m, Overrides(output_scale=0.5, output_bits=8,
                                           output_signed=True))
    out = res.layers[0].output
    assert (out.scale, out.bits, out.clip) == (0.5, 8, [0, 127])
    assert "output_scale" in res.overrides_used
    path = tmp_path / "prepared.pt"
    torch.save(m.state_dict(), path)
    dest = tmp_path / "l.json"
    assert main(["import", str(path), "-o", str(dest)]) == 2
    assert "torch.ao-prepared" in capsys.readouterr().err and not dest.exists()
    tq = _tq()
    bad = torch.nn.Sequential(tq.QuantStub(), torch.nn.BatchNorm1d(3))
    bad.qconfig = tq.get_default_qat_qconfig("fbgemm")
    bad.train()
    tq.prepare_qat(bad, inplace=True)
    bad(torch.randn(4, 3))
    with pytest.raises(FormatError, match="unsupported layer"):
        import_torch_module(bad)
