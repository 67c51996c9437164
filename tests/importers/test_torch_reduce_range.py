"""fbgemm's ``reduce_range``: the layer takes the range the converted kernels clamp to."""

from __future__ import annotations

import warnings

import pytest

torch = pytest.importorskip("torch")

from exactbn.golden.importers.torch_import import import_torch_module  # noqa: E402

warnings.filterwarnings("ignore", message=".*reduce_range.*")


def test_reduce_range_layer_covers_what_convert_outputs():
    import torch.ao.quantization as tq
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = tq.QuantStub()
            self.c, self.b = nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4)
            self.dequant = tq.DeQuantStub()

        def forward(self, x):
            return self.dequant(self.b(self.c(self.quant(x))))

    torch.manual_seed(0)
    torch.backends.quantized.engine = "fbgemm"
    m = Net().train()
    with torch.no_grad():  # non-trivial BN statistics
        for _ in range(3):
            m(torch.randn(4, 3, 8, 8))
    m.eval()
    tq.fuse_modules(m, [["c", "b"]], inplace=True)
    m.qconfig = tq.get_default_qconfig("fbgemm")  # reduce_range=True: observers say [0, 127]
    tq.prepare(m, inplace=True)
    with torch.no_grad():
        m(torch.randn(4, 3, 8, 8))
    assert m.c.activation_post_process.quant_max == 127
    res = import_torch_module(m)
    lay = res.layers[0]
    q = tq.convert(m)
    seen = {}
    q.c.register_forward_hook(lambda mod, i, o: seen.update(x=i[0], y=o))
    with torch.no_grad():
        q(torch.randn(4, 3, 8, 8) * 4)  # beyond the calibration range
    y = seen["y"].int_repr()
    assert int(y.max()) > 127  # the deployed model does output above the 7-bit range
    assert lay.output.clip == [0, 255] and lay.output.bits == 8
    # The accumulator ranges come from the whole quint8 input range, which convert feeds:
    # the deployed model's accumulators, and its outputs, agree with the layer.
    from exactbn.golden.importers.agreement import compare_layer, int_conv
    from exactbn.golden.solver import solve_layer

    xi = seen["x"]
    assert int(xi.int_repr().max()) > 127
    wq = q.c.weight()
    w_int = (wq.int_repr().long() - wq.q_per_channel_zero_points().view(-1, 1, 1, 1)).numpy()
    acc = int_conv(xi.int_repr().long().numpy() - xi.q_zero_point(), w_int,
                   stride=q.c.stride, padding=q.c.padding)
    row = compare_layer(lay, acc, y.long().numpy(), solve_layer(lay))
    assert row["acc_outside_range"] == 0 and row["model_vs_exact"] == 0, row
    from fbgemm_cpu import fbgemm_pair_sums_saturate

    if fbgemm_pair_sums_saturate() and row["classified"]:
        pytest.xfail("fbgemm's AVX2 kernel saturates 16-bit pair sums on inputs above 127: "
                     "its outputs are not the integer convolution on this CPU (the comparison "
                     "needs a CPU with AVX512-VNNI, where fbgemm sums in 32 bits)")
    assert set(row["classified"]) <= {"float32 near-tie", "exact tie"}, row
