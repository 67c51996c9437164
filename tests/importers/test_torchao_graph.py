"""torch.ao (eager and FX) importer on torchvision's own models: the traced data flow."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from exactbn.golden.importers.torch_import import import_torch_module  # noqa: E402
from exactbn.golden.importers.torch_observers import observer_quant  # noqa: E402
from exactbn.golden.importers.torchvision_compat import import_torchvision  # noqa: E402

from exactbn.formats import FormatError  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", message=".*reduce_range.*")


def _tvq():
    tv = import_torchvision()
    import torchvision.models.quantization as tvq  # noqa: F401

    return tv.models.quantization


def _run(m, shape=(2, 3, 32, 32), n=2):
    torch.manual_seed(0)
    with torch.no_grad():
        for _ in range(n):
            m(torch.randn(*shape))
    return m


def _qat(model):
    import torch.ao.quantization as tq

    torch.manual_seed(0)
    model.train()
    model.fuse_model(is_qat=True)
    model.qconfig = tq.get_default_qat_qconfig("fbgemm")
    tq.prepare_qat(model, inplace=True)
    _run(model)
    model.eval()
    model.apply(tq.disable_observer)
    return model


def _in_scale(layer, s_w):
    s = np.asarray(layer.input.scales(layer.channels)) / np.asarray(s_w, dtype=np.float64)
    return float(np.median(s))


def test_quantizable_resnet18_qat_downsample_reads_the_block_input():
    m = _qat(_tvq().resnet18(weights=None, quantize=False))
    res = import_torch_module(m)
    names = [lay.name for lay in res.layers]
    assert len(names) == 21 and names[0] == "conv1" and names[-1] == "fc"
    by = dict(zip(names, res.layers, strict=True))
    for stage in (2, 3, 4):
        ds = f"layer{stage}.0.downsample.0"
        block_in = observer_quant(
            m.get_submodule(f"layer{stage - 1}.1.add_relu").activation_post_process, "")
        conv2_out = observer_quant(
            m.get_submodule(f"layer{stage}.0.conv2").activation_post_process, "")
        s_w = m.get_submodule(ds).weight_fake_quant.calculate_qparams()[0].double().numpy()
        got = _in_scale(by[ds], s_w)
        # The block input, not the previous conv in registration order (the old bug).
        assert got == pytest.approx(block_in.scale, rel=1e-12)
        assert got != pytest.approx(conv2_out.scale, rel=1e-6)
        c1 = f"layer{stage}.0.conv1"
        s_w1 = m.get_submodule(c1).weight_fake_quant.calculate_qparams()[0].double().numpy()
        assert _in_scale(by[c1], s_w1) == pytest.approx(block_in.scale, rel=1e-12)
    # conv1's input is the QuantStub, registered last.
    s_w = m.conv1.weight_fake_quant.calculate_qparams()[0].double().numpy()
    assert _in_scale(by["conv1"], s_w) == pytest.approx(
        observer_quant(m.quant.activation_post_process, "").scale, rel=1e-12)


def test_quantizable_mobilenet_v2_qat_ignores_the_unused_skip_add():
    m = _qat(_tvq().mobilenet_v2(weights=None, quantize=False))
    res = import_torch_module(m)
    assert len(res.layers) == 53  # 52 conv+BN and the classifier
    assert all(lay.affine is not None for lay in res.layers)


def test_quantizable_resnet18_fused_ptq_imports_each_requantization():
    import torch.ao.quantization as tq

    m = _tvq().resnet18(weights=None, quantize=False)
    _run(m.train())  # BN statistics
    m.eval()
    m.fuse_model()
    assert not any(isinstance(x, torch.nn.BatchNorm2d) for x in m.modules())
    m.qconfig = tq.get_default_qconfig("fbgemm")
    tq.prepare(m, inplace=True)
    _run(m)
    res = import_torch_module(m)
    assert len(res.layers) == 21
    assert all("requantization (no BN left)" in imp.pattern for imp in res.imported)
    assert res.layers[0].output.clip[0] == res.layers[0].output.zero_point  # ConvReLU2d


def test_fx_prepare_qat_fx_resnet18():
    from torch.ao.quantization import get_default_qat_qconfig_mapping
    from torch.ao.quantization.quantize_fx import prepare_qat_fx

    tv = import_torchvision()
    torch.manual_seed(0)
    m = tv.models.resnet18(weights=None).train()
    x = torch.randn(2, 3, 32, 32)
    p = prepare_qat_fx(m, get_default_qat_qconfig_mapping("fbgemm"), (x,))
    _run(p)
    p.eval()
    res = import_torch_module(p)
    names = [lay.name for lay in res.layers]
    assert len(names) == 21 and "layer3.0.downsample.0" in names


def test_fx_prepare_fx_ptq_resnet18():
    """FX PTQ (prepare_fx folds BN): each conv's requantization, weights by qconfig.weight()."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import prepare_fx

    tv = import_torchvision()
    x = torch.randn(2, 3, 32, 32)
    p = prepare_fx(tv.models.resnet18(weights=None).eval(),
                   get_default_qconfig_mapping("fbgemm"), (x,))
    _run(p)
    res = import_torch_module(p)
    assert len(res.layers) == 21 and not res.skipped
    assert all("requantization (no BN left)" in imp.pattern for imp in res.imported)


def test_untraceable_model_is_refused_naming_it():
    import torch.ao.quantization as tq

    class Dyn(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.quant, self.conv, self.bn = tq.QuantStub(), torch.nn.Conv2d(2, 3, 3), \
                torch.nn.BatchNorm2d(3)

        def forward(self, x):
            x = self.quant(x)
            if x.sum() > 0:  # data-dependent control flow: no single graph
                x = x * 2
            return self.bn(self.conv(x))

    m = Dyn().eval()
    m.qconfig = tq.get_default_qconfig("fbgemm")
    tq.prepare(m, inplace=True)
    m(torch.randn(2, 2, 6, 6))
    with pytest.raises(FormatError, match="could not trace") as e:
        import_torch_module(m)
    assert e.value.layer == "Dyn"


def test_eager_qat_converted_model_agrees_with_the_imported_layers():
    """torch.ao's own integer execution (tq.convert, fbgemm kernels) vs the imported layers."""
    import copy

    import torch.ao.quantization as tq
    from exactbn.golden.importers.agreement import compare_layer, int_conv
    from exactbn.golden.solver import solve_layer

    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.b1, self.r1 = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), \
                nn.ReLU()
            self.c2, self.b2 = nn.Conv2d(8, 6, 3, stride=2, bias=False), nn.BatchNorm2d(6)
            self.dequant = tq.DeQuantStub()
            self.quant = tq.QuantStub()  # registered last, as torchvision does

        def forward(self, x):
            return self.dequant(self.b2(self.c2(self.r1(self.b1(self.c1(self.quant(x)))))))

    torch.manual_seed(0)
    m = Net().train()
    tq.fuse_modules_qat(m, [["c1", "b1", "r1"], ["c2", "b2"]], inplace=True)
    # Full uint8 activations: with reduce_range (the fbgemm/x86 defaults) training clamps to
    # [0, 127] but the converted kernels clamp to the dtype's [0, 255].
    act = tq.FusedMovingAvgObsFakeQuantize.with_args(
        observer=tq.MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
        reduce_range=False)
    m.qconfig = tq.QConfig(activation=act, weight=tq.default_fused_per_channel_wt_fake_quant)
    tq.prepare_qat(m, inplace=True)
    _run(m, (8, 3, 12, 12), n=4)
    m.eval()
    m.apply(tq.disable_observer)
    res = import_torch_module(m)
    assert [lay.name for lay in res.layers] == ["c1", "c2"]
    q = tq.convert(copy.deepcopy(m))
    seen = {}
    for name in ("c1", "c2"):
        q.get_submodule(name).register_forward_hook(
            lambda mod, i, o, name=name: seen.__setitem__(name, (i[0], o)))
    rows = []
    for k in range(6):
        seen.clear()
        with torch.no_grad():
            q(torch.randn(8, 3, 12, 12, generator=torch.Generator().manual_seed(50 + k)) * 1.5)
        for lay in res.layers:
            conv = q.get_submodule(lay.name)
            xi, yo = seen[lay.name]
            wq = conv.weight()
            w_int = (wq.int_repr().long() - wq.q_per_channel_zero_points().view(-1, 1, 1, 1)
                     ).numpy()
            s_acc = xi.q_scale() * wq.q_per_channel_scales().double().numpy()
            np.testing.assert_allclose(lay.input.scales(lay.channels), s_acc, rtol=1e-15)
            # fbgemm adds the float bias after scaling: it is in the layer's b, not in acc.
            acc = int_conv(xi.int_repr().long().numpy() - xi.q_zero_point(), w_int,
                           stride=conv.stride, padding=conv.padding)
            rows.append(compare_layer(lay, acc, yo.int_repr().long().numpy(), solve_layer(lay)))
    from fbgemm_cpu import fbgemm_pair_sums_saturate

    for r in rows:
        assert r["acc_outside_range"] == 0 and r["model_vs_exact"] == 0, r
        if fbgemm_pair_sums_saturate() and r["classified"]:
            pytest.xfail("fbgemm's AVX2 kernel saturates 16-bit pair sums on uint8 inputs "
                         "above 127: its outputs are not the integer convolution on this CPU "
                         "(needs a CPU with AVX512-VNNI)")
        assert set(r["classified"]) <= {"float32 near-tie", "exact tie"}, r
    assert sum(r["outputs"] for r in rows) > 10000
