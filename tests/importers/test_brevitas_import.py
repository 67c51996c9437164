"""Brevitas front end: small QuantConv2d/QuantLinear -> BN -> QuantReLU/QuantIdentity networks
exported with Brevitas' own export_qonnx and export_onnx_qcdq, imported with `exactbn import`,
and checked against Brevitas' PyTorch execution and onnxruntime (integer outputs after each BN
against the exact reference and the integer model; differences only at float32 near-ties)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

brevitas = pytest.importorskip("brevitas")
torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
import brevitas.nn as qnn  # noqa: E402
from brevitas.export import export_onnx_qcdq, export_qonnx  # noqa: E402
from brevitas.quant import Int32Bias, ShiftedUint8ActPerTensorFloat  # noqa: E402
from exactbn.golden.importers import import_model  # noqa: E402
from exactbn.golden.importers.agreement import compare_layer, int_conv  # noqa: E402
from exactbn.golden.importers.brevitas import brevitas_layer_data  # noqa: E402
from exactbn.golden.solver import solve_layer  # noqa: E402

from exactbn.formats import load_layers  # noqa: E402

# (kind, weight bits, activation bits, per-channel weight scales, output quantizer)
NETS = {
    "conv_w4_a4_pc_relu": ("conv", 4, 4, True, "relu"),
    "conv_w8_a8_pt_ident": ("conv", 8, 8, False, "ident"),
    "linear_w8_a4_pc_ident": ("linear", 8, 4, True, "ident"),
    "linear_w4_a8_pt_relu": ("linear", 4, 8, False, "relu"),
    "stack_w4_a4_pc": ("stack", 4, 4, True, "relu"),
    "scalebias_w8_a4_pc_relu": ("scalebias", 8, 4, True, "relu"),
    "int32bias_w8_a8_pc_ident": ("int32bias", 8, 8, True, "ident"),
    "conv_w4_a8_pt_zeropoint": ("conv", 4, 8, False, "shifted"),
}


def _out_quant(kind: str, bits: int):
    if kind == "shifted":  # uint8 with a learned zero point
        return qnn.QuantIdentity(act_quant=ShiftedUint8ActPerTensorFloat,
                                 return_quant_tensor=True)
    if kind == "relu":
        return qnn.QuantReLU(bit_width=bits, return_quant_tensor=True)
    return qnn.QuantIdentity(bit_width=bits, return_quant_tensor=True)


class _Net(torch.nn.Module):
    """QuantIdentity(8) -> Quant{Conv2d,Linear} -> BatchNorm{2d,1d} -> Quant{ReLU,Identity}
    (twice for "stack": the second layer's input is the first one's 4-bit activation)."""

    def __init__(self, kind, wb, ab, pc, act):
        super().__init__()
        self.inp = (qnn.QuantIdentity(bit_width=8, return_quant_tensor=True) if act != "shifted"
                    else _out_quant(act, 8))  # asymmetric: zero points on both sides
        kw = {"weight_bit_width": wb, "weight_scaling_per_output_channel": pc, "bias": True}
        if kind == "int32bias":  # bias quantized at scale s_x*s_w[c]: in the accumulator
            kw["bias_quant"] = Int32Bias
        if kind == "linear":
            self.l1 = qnn.QuantLinear(12, 6, **kw)
            self.bn1 = torch.nn.BatchNorm1d(6)
        elif kind == "scalebias":  # BN merged into a quantized scale and a bias (Mul, Add)
            self.l1 = qnn.QuantConv2d(3, 6, 3, padding=1, **kw)
            self.bn1 = qnn.BatchNorm2dToQuantScaleBias(6)
        else:
            self.l1 = qnn.QuantConv2d(3, 6, 3, padding=1, **kw)
            self.bn1 = torch.nn.BatchNorm2d(6)
        self.q1 = _out_quant(act, ab)
        self.trios = [(self.inp, self.l1, self.q1)]
        self.stack = kind == "stack"
        if self.stack:
            self.l2 = qnn.QuantConv2d(6, 5, 3, **kw)
            self.bn2 = torch.nn.BatchNorm2d(5)
            self.q2 = _out_quant("ident", 8)
            self.trios.append((self.q1, self.l2, self.q2))

    def forward(self, x):
        y = self.q1(self.bn1(self.l1(self.inp(x))))
        if self.stack:
            y = self.q2(self.bn2(self.l2(y)))
        return y


def _inputs(kind: str, n: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    shape = (n, 12) if kind == "linear" else (n, 3, 6, 6)
    return torch.randn(shape, generator=g) * 1.5


def _build(name: str):
    kind, wb, ab, pc, act = NETS[name]
    torch.manual_seed(sum(map(ord, name)))
    net = _Net(kind, wb, ab, pc, act)
    for m in net.modules():  # non-trivial BN: random affine, statistics from train-mode passes
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.weight.data.uniform_(0.5, 2.0)
            m.bias.data.uniform_(-0.5, 0.5)
            m.momentum = 0.5
        if isinstance(m, qnn.BatchNorm2dToQuantScaleBias):
            m.weight.data.uniform_(0.5, 2.0)
            m.bias.data.uniform_(-0.5, 0.5)
    net.train()
    with torch.no_grad():
        for i in range(6):
            net(_inputs(kind, 32, 100 + i))
    return net.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """name -> (net, qonnx path, qcdq path); each network built and exported once."""
    cache = {}

    def get(name, dynamo=False):
        if (name, dynamo) not in cache:
            net = _build(name)
            d = tmp_path_factory.mktemp(name)
            x = _inputs(NETS[name][0], 1, 0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                export_qonnx(net, x, export_path=str(d / "qonnx.onnx"), dynamo=dynamo)
                export_onnx_qcdq(net, x, export_path=str(d / "qcdq.onnx"), dynamo=dynamo)
            cache[name, dynamo] = (net, d / "qonnx.onnx", d / "qcdq.onnx")
        return cache[name, dynamo]

    return get


def _cli_import(model, out) -> dict:
    from exactbn.cli.main import main

    assert main(["import", str(model), "-o", str(out), "-q"]) == 0
    return json.loads(out.read_text())


def _check_agreement(net, layers, data) -> list[dict]:
    rows = []
    for layer, (acc, q) in zip(layers, data, strict=True):
        row = compare_layer(layer, acc, q, solve_layer(layer))
        assert row["acc_outside_range"] == 0, row
        assert row["model_vs_exact"] == 0, row
        bad = {k: v for k, v in row["classified"].items() if k != "float32 near-tie"}
        assert not bad and row["differ_model"] == row["differ_exact"], row
        rows.append(row)
    return rows


@pytest.mark.parametrize("name,dynamo", [(n, False) for n in sorted(NETS)]
                         + [pytest.param("conv_w4_a4_pc_relu", True, marks=pytest.mark.slow)])
def test_qonnx_and_qcdq_import_to_the_same_layers(exported, tmp_path, name, dynamo):
    """TorchScript export (dynamo=False, 1 s) for the matrix; Brevitas' default on torch
    2.13 (the dynamo exporter, ~15 s) once."""
    net, q_path, c_path = exported(name, dynamo)
    q = _cli_import(q_path, tmp_path / "q.json")
    c = _cli_import(c_path, tmp_path / "c.json")
    assert q["source"].startswith("qonnx:") and c["source"].startswith("onnx-qdq:")
    assert q["layers"] == c["layers"]
    assert len(q["layers"]) == len(net.trios)
    for lay, (q_in, mod, q_out) in zip(q["layers"], net.trios, strict=True):
        assert "bn" in lay
        bits = NETS[name][2] if q_out is net.q1 else 8
        out = lay["output"]
        assert out["bits"] == bits and out["scale"] == float(q_out.act_quant.scale())
        signed = bool(q_out.act_quant.is_signed)
        assert out["signed"] == signed
        assert out["zero_point"] == int(q_out.act_quant.zero_point())
        assert (out["zero_point"] != 0) == (NETS[name][4] == "shifted")
        lo = -(1 << (bits - 1)) if signed else 0
        hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
        assert out["clip"] == [lo, hi]
        s_acc = (float(q_in.act_quant.scale()) * mod.quant_weight().scale.detach().double()
                 .numpy().reshape(-1)).astype(np.float64)
        assert np.allclose(np.broadcast_to(lay["input"]["scale"], s_acc.shape), s_acc,
                           rtol=1e-6, atol=0)


@pytest.mark.parametrize("name", sorted(NETS))
def test_imported_layers_match_brevitas_execution(exported, tmp_path, name):
    net, q_path, _ = exported(name)
    layers = import_model(q_path).layers
    data = brevitas_layer_data(net, net.trios, _inputs(NETS[name][0], 256, 7))
    rows = _check_agreement(net, layers, data)
    assert sum(r["outputs"] for r in rows) >= 256 * 6


def _ort_runner(path, tensors):
    """An onnxruntime session of the ONNX file with ``tensors`` added as graph outputs."""
    ort = pytest.importorskip("onnxruntime")
    from onnx import shape_inference

    model = shape_inference.infer_shapes(onnx.load(str(path)))
    have = {o.name for o in model.graph.output}
    vi = {v.name: v for v in list(model.graph.value_info) + list(model.graph.output)}
    for t in tensors:
        if t not in have:
            model.graph.output.append(vi[t])
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name

    def run(x):
        got = sess.run(list(tensors), {name: x.numpy()})
        return {t: np.asarray(v).astype(np.int64) for t, v in zip(tensors, got, strict=True)}

    return run


def _qcdq_layer_tensors(model):
    """(integer input tensor, integer output tensor, input zero point) per Conv/Gemm/MatMul of
    a QCDQ graph: the tensor entering the input DequantizeLinear, and the Clip after the
    output QuantizeLinear."""
    from onnx import numpy_helper

    init = {i.name: i for i in model.graph.initializer}
    prod = {o: n for n in model.graph.node for o in n.output}
    cons = {}
    for n in model.graph.node:
        for i in n.input:
            cons.setdefault(i, []).append(n)
    out = []
    for n in model.graph.node:
        if n.op_type not in ("Conv", "Gemm", "MatMul"):
            continue
        t = n.input[0]
        while prod[t].op_type != "DequantizeLinear":
            t = prod[t].input[0]
        x_int = prod[t].input[0]
        z_x = int(numpy_helper.to_array(init[prod[t].input[2]])) if len(prod[t].input) > 2 else 0
        t = n.output[0]
        while cons[t][0].op_type != "QuantizeLinear":
            t = cons[t][0].output[0]
        t = cons[t][0].output[0]
        if t in cons and cons[t][0].op_type == "Clip":
            t = cons[t][0].output[0]
        out.append((x_int, t, z_x))
    return out


@pytest.mark.parametrize("name", ["conv_w4_a4_pc_relu", "linear_w8_a4_pc_ident",
                                  "stack_w4_a4_pc", "scalebias_w8_a4_pc_relu",
                                  "conv_w4_a8_pt_zeropoint"])
def test_qcdq_matches_onnxruntime_execution(exported, tmp_path, name):
    net, _, c_path = exported(name)
    _cli_import(c_path, tmp_path / "c.json")
    layers = load_layers(str(tmp_path / "c.json"))
    pairs = _qcdq_layer_tensors(onnx.load(str(c_path)))
    run = _ort_runner(c_path, [t for p in pairs for t in p[:2]])
    x = _inputs(NETS[name][0], 64, 21)
    accs, outs = [[] for _ in pairs], [[] for _ in pairs]
    for i in range(x.shape[0]):  # the export has batch 1
        got = run(x[i:i + 1])
        for j, ((x_t, y_t, z_x), (_, lay, _)) in enumerate(zip(pairs, net.trios, strict=True)):
            w = lay.quant_weight().int().detach().numpy().astype(np.int64)
            xi = got[x_t] - z_x
            acc = (int_conv(xi.reshape(1, -1), w) if w.ndim == 2 else
                   int_conv(xi, w, stride=lay.stride, padding=lay.padding))
            accs[j].append(acc)
            outs[j].append(got[y_t])
    rows = _check_agreement(net, layers, [(np.concatenate(a), np.concatenate(o))
                                          for a, o in zip(accs, outs, strict=True)])
    assert sum(r["outputs"] for r in rows) >= 64 * 5


def test_agreement_check_catches_a_wrong_layer(exported):
    """The same check on a layer whose BN gamma is 1 % off reports real ("other") errors."""
    from exactbn.formats import parse_layers

    net, q_path, _ = exported("conv_w4_a4_pc_relu")
    res = import_model(q_path)
    doc = res.to_json()
    doc["layers"][0]["bn"]["gamma"] = [g * 1.01 for g in doc["layers"][0]["bn"]["gamma"]]
    wrong = parse_layers(doc)[0]
    acc, q = brevitas_layer_data(net, net.trios, _inputs("conv", 64, 7))[0]
    row = compare_layer(wrong, acc, q)
    assert row["differ_exact"] > 0 and row["classified"].get("other", 0) > 0, row


def test_qonnx_weights_are_quantized_in_float32(qonnx_conv):
    """QONNX's executor and Brevitas divide in float32: 0.35f / 0.1f is 3.5 there (rounds to
    4), 3.4999999 in float64 (rounds to 3); the range must come from the weight 4."""
    from exactbn.golden.importers import accumulator_range
    from exactbn.golden.importers.onnx_import import import_onnx_model
    from onnx import numpy_helper

    model = qonnx_conv(bn=True)[0]
    init = {i.name: i for i in model.graph.initializer}
    wf = numpy_helper.to_array(init["wf"])
    init["wf"].CopyFrom(numpy_helper.from_array(np.full(wf.shape, 0.35, np.float32), "wf"))
    init["s_w"].CopyFrom(numpy_helper.from_array(np.float32(0.1), "s_w"))
    assert torch.round(torch.tensor(0.35) / torch.tensor(0.1)).item() == 4.0
    layer = import_onnx_model(model).layers[0]
    k = int(np.prod(wf.shape[1:]))
    want = accumulator_range(np.full((wf.shape[0], k), 4), 0, 15, include_zero=True)
    assert [list(r) for r in layer.input.ranges(layer.channels)] == want


def _qonnx_layer_ints(model, ctx):
    """(integer input, integer weights, integer output) per Conv/Gemm/MatMul of a QONNX graph
    executed by QONNX's executor: each Quant's dequantized tensor divided by its scale."""
    from onnx import numpy_helper

    init = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    prod = {o: n for n in model.graph.node for o in n.output}
    cons = {}
    for n in model.graph.node:
        for i in n.input:
            cons.setdefault(i, []).append(n)

    def ints(quant):
        s, z = init[quant.input[1]], init[quant.input[2]]
        return np.rint(ctx[quant.output[0]] / s + z).astype(np.int64), int(np.rint(z).max())

    out = []
    for n in model.graph.node:
        if n.op_type not in ("Conv", "Gemm", "MatMul"):
            continue
        t = n.input[0]
        while prod[t].op_type != "Quant":
            t = prod[t].input[0]
        x, z_x = ints(prod[t])
        w, _ = ints(prod[n.input[1]])
        t = n.output[0]
        while cons[t][0].op_type != "Quant":
            t = cons[t][0].output[0]
        y, _ = ints(cons[t][0])
        out.append((x - z_x, w, y))
    return out


@pytest.mark.parametrize("name", ["conv_w8_a8_pt_ident", "stack_w4_a4_pc",
                                  "scalebias_w8_a4_pc_relu"])
def test_qonnx_matches_qonnx_executor(exported, name):
    pytest.importorskip("qonnx")
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    net, q_path, _ = exported(name)
    layers = import_model(q_path).layers
    mw = ModelWrapper(str(q_path)).transform(InferShapes())
    x = _inputs(NETS[name][0], 48, 33).numpy()
    per_layer = [[] for _ in layers]
    for i in range(x.shape[0]):  # the export has batch 1
        ctx = execute_onnx(mw, {mw.graph.input[0].name: x[i:i + 1]},
                           return_full_exec_context=True)
        for j, (xi, w, y) in enumerate(_qonnx_layer_ints(mw.model, ctx)):
            lay = net.trios[j][1]
            acc = (int_conv(xi.reshape(1, -1), w) if w.ndim == 2 else
                   int_conv(xi, w, stride=lay.stride, padding=lay.padding))
            per_layer[j].append((acc, y))
    rows = _check_agreement(net, layers, [(np.concatenate([a for a, _ in p]),
                                           np.concatenate([y for _, y in p]))
                                          for p in per_layer])
    assert sum(r["outputs"] for r in rows) >= 48 * 6


class _Cnn(torch.nn.Module):
    """Three layers: conv 3->16 (w4, a4 ReLU), conv 16->32 stride 2 (w8 per-tensor, a4 ReLU),
    flatten, linear 512->10 with BatchNorm1d and an 8-bit signed QuantIdentity."""

    def __init__(self):
        super().__init__()
        self.inp = qnn.QuantIdentity(bit_width=8, return_quant_tensor=True)
        self.c1 = qnn.QuantConv2d(3, 16, 3, padding=1, weight_bit_width=4,
                                  weight_scaling_per_output_channel=True)
        self.b1 = torch.nn.BatchNorm2d(16)
        self.r1 = qnn.QuantReLU(bit_width=4, return_quant_tensor=True)
        self.c2 = qnn.QuantConv2d(16, 32, 3, stride=2, padding=1, weight_bit_width=8)
        self.b2 = torch.nn.BatchNorm2d(32)
        self.r2 = qnn.QuantReLU(bit_width=4, return_quant_tensor=True)
        self.fc = qnn.QuantLinear(32 * 4 * 4, 10, weight_bit_width=8,
                                  weight_scaling_per_output_channel=True)
        self.b3 = torch.nn.BatchNorm1d(10)
        self.out = qnn.QuantIdentity(bit_width=8, return_quant_tensor=True)
        self.trios = [(self.inp, self.c1, self.r1), (self.r1, self.c2, self.r2),
                      (self.r2, self.fc, self.out)]

    def forward(self, x):
        y = self.r2(self.b2(self.c2(self.r1(self.b1(self.c1(self.inp(x)))))))
        return self.out(self.b3(self.fc(torch.flatten(y, 1))))


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["qonnx", "qcdq"])
def test_three_layer_cnn_matches_brevitas(tmp_path, fmt):
    torch.manual_seed(3)
    net = _Cnn()
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.weight.data.uniform_(0.5, 2.0)
            m.bias.data.uniform_(-0.5, 0.5)
    net.train()
    with torch.no_grad():
        for i in range(10):
            net(torch.randn(64, 3, 8, 8, generator=torch.Generator().manual_seed(i)))
    net.eval()
    path = tmp_path / f"{fmt}.onnx"
    fn = export_qonnx if fmt == "qonnx" else export_onnx_qcdq
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn(net, torch.randn(1, 3, 8, 8), export_path=str(path))  # Brevitas' default exporter
    layers = load_layers(str(_cli_import(path, tmp_path / "l.json") and tmp_path / "l.json"))
    assert len(layers) == 3
    x = torch.randn(2048, 3, 8, 8, generator=torch.Generator().manual_seed(99)) * 1.5
    rows = _check_agreement(net, layers, brevitas_layer_data(net, net.trios, x))
    assert sum(r["outputs"] for r in rows) == 2048 * (16 * 64 + 32 * 16 + 10)
