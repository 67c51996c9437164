"""Small ONNX models built with onnx.helper (no downloads) for the importer tests."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

F32 = TensorProto.FLOAT


def _init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def build_qdq_conv(*, c_in=2, c_out=4, k=3, bn=True, act=None, per_channel=True, bias=True,
                   pads=1, in_dtype=np.uint8, z_x=0, out_dtype=np.int8, z_y=0, seed=0,
                   gemm=False, float_weights=None, input_quantized=True, bn_input_from=None,
                   after_bn=None, clip_range=(-1.0, 2.0)):
    """Conv/Gemm [+BN] [+Relu|Clip] + QuantizeLinear in QDQ form; returns (model, params)."""
    rng = np.random.default_rng(seed)
    s_x = np.float32(0.02)
    if gemm:
        w = rng.integers(-127, 128, (c_out, c_in)).astype(np.int8)
    else:
        w = rng.integers(-127, 128, (c_out, c_in, k, k)).astype(np.int8)
    s_w = (rng.uniform(0.002, 0.01, c_out) if per_channel else np.array(0.005)).astype(
        np.float32)
    bias_i = rng.integers(-2000, 2000, c_out).astype(np.int32)
    s_b = (s_x * s_w).astype(np.float32)
    s_y = np.float32(0.05)
    inits, nodes = [], []
    x_name = "x"
    if input_quantized:
        inits += [_init("s_x", s_x), _init("z_x", np.array(z_x, dtype=in_dtype))]
        nodes += [helper.make_node("QuantizeLinear", ["x", "s_x", "z_x"], ["xq"], name="qx"),
                  helper.make_node("DequantizeLinear", ["xq", "s_x", "z_x"], ["xd"], name="dqx")]
        x_name = "xd"
    if float_weights is not None:
        inits.append(_init("wf", float_weights.astype(np.float32)))
        w_name = "wf"
    else:
        inits += [_init("w", w), _init("s_w", s_w),
                  _init("z_w", np.zeros(s_w.shape, dtype=np.int8))]
        nodes.append(helper.make_node("DequantizeLinear", ["w", "s_w", "z_w"], ["wd"],
                                      name="dqw", axis=0))
        w_name = "wd"
    conv_in = [x_name, w_name]
    if bias == "float":
        inits.append(_init("bf", (bias_i * s_b).astype(np.float32)))
        conv_in.append("bf")
    elif bias:
        inits += [_init("b", bias_i), _init("s_b", s_b if per_channel else s_b.reshape(()))]
        nodes.append(helper.make_node("DequantizeLinear", ["b", "s_b"], ["bd"], name="dqb",
                                      axis=0))
        conv_in.append("bd")
    if gemm:
        nodes.append(helper.make_node("Gemm", conv_in, ["acc"], name="fc", transB=1))
    else:
        nodes.append(helper.make_node("Conv", conv_in, ["acc"], name="conv",
                                      kernel_shape=[k, k], pads=[pads] * 4))
    t = "acc"
    gamma = rng.normal(1.0, 0.3, c_out).astype(np.float32)
    beta = rng.normal(0.0, 0.5, c_out).astype(np.float32)
    mean = rng.normal(0.0, 1.0, c_out).astype(np.float32)
    var = rng.uniform(0.3, 3.0, c_out).astype(np.float32)
    if bn:
        inits += [_init("g", gamma), _init("be", beta), _init("m", mean), _init("v", var)]
        src = t if bn_input_from is None else bn_input_from
        if bn_input_from == "add":
            inits.append(_init("addc", np.float32(1.0)))
            nodes.append(helper.make_node("Add", [t, "addc"], ["added"], name="add"))
            src = "added"
        nodes.append(helper.make_node("BatchNormalization", [src, "g", "be", "m", "v"],
                                      ["bnout"], name="bn", epsilon=1e-5))
        t = "bnout"
    if after_bn is not None:
        nodes.append(helper.make_node(after_bn, [t], ["odd"], name="odd"))
        t = "odd"
    if act == "Relu":
        nodes.append(helper.make_node("Relu", [t], ["r"], name="relu"))
        t = "r"
    elif act == "Clip":
        inits += [_init("cmin", np.float32(clip_range[0])),
                  _init("cmax", np.float32(clip_range[1]))]
        nodes.append(helper.make_node("Clip", [t, "cmin", "cmax"], ["r"], name="clip"))
        t = "r"
    inits += [_init("s_y", s_y), _init("z_y", np.array(z_y, dtype=out_dtype))]
    nodes += [helper.make_node("QuantizeLinear", [t, "s_y", "z_y"], ["yq"], name="qy")]
    shape = [1, c_in] if gemm else [1, c_in, 5, 5]
    out_shape = [1, c_out] if gemm else [1, c_out, 5 + 2 * pads - k + 1, 5 + 2 * pads - k + 1]
    y_elem = helper.np_dtype_to_tensor_dtype(np.dtype(out_dtype))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", F32, shape)],
                              [helper.make_tensor_value_info("yq", y_elem, out_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    params = dict(w=w, s_w=s_w, s_x=s_x, bias=bias_i, s_y=s_y, gamma=gamma, beta=beta,
                  mean=mean, var=var, z_x=z_x, z_y=z_y)
    return model, params


def build_qonnx_conv(*, c_in=2, c_out=3, in_bits=4, w_bits=4, out_bits=4, act="Relu",
                     narrow=False, seed=1, bn=True, bias=False):
    """Quant(input) -> Conv(Quant(weights)) [-> BN] [-> Relu] -> Quant(output), QONNX style."""
    rng = np.random.default_rng(seed)
    wf = rng.normal(0, 0.3, (c_out, c_in, 3, 3)).astype(np.float32)
    s_w = np.float32(0.125)
    s_x = np.float32(0.25)
    s_y = np.float32(0.5)
    inits = [_init("wf", wf), _init("s_w", s_w), _init("z0", np.float32(0)),
             _init("bw_w", np.float32(w_bits)), _init("s_x", s_x), _init("bw_x",
             np.float32(in_bits)), _init("s_y", s_y), _init("bw_y", np.float32(out_bits))]
    dom = "qonnx.custom_op.general"
    nodes = [
        helper.make_node("Quant", ["x", "s_x", "z0", "bw_x"], ["xq"], name="qin", domain=dom,
                         signed=0, narrow=0, rounding_mode="ROUND"),
        helper.make_node("Quant", ["wf", "s_w", "z0", "bw_w"], ["wq"], name="qw", domain=dom,
                         signed=1, narrow=int(narrow), rounding_mode="ROUND"),
    ]
    conv_in = ["xq", "wq"]
    bias_f = (rng.integers(-40, 40, c_out) * s_x * s_w).astype(np.float32)
    if bias:
        inits += [_init("bf", bias_f), _init("s_b", np.float32(s_x * s_w)),
                  _init("bw_b", np.float32(16))]
        nodes.append(helper.make_node("Quant", ["bf", "s_b", "z0", "bw_b"], ["bq"], name="qb",
                                      domain=dom, signed=1, narrow=0, rounding_mode="ROUND"))
        conv_in.append("bq")
    nodes.append(helper.make_node("Conv", conv_in, ["acc"], name="conv", kernel_shape=[3, 3],
                                  pads=[1, 1, 1, 1]))
    t = "acc"
    gamma = rng.normal(1.0, 0.2, c_out).astype(np.float32)
    beta = rng.normal(0.0, 0.3, c_out).astype(np.float32)
    mean = rng.normal(0.0, 1.0, c_out).astype(np.float32)
    var = rng.uniform(0.5, 2.0, c_out).astype(np.float32)
    if bn:
        inits += [_init("g", gamma), _init("be", beta), _init("m", mean), _init("v", var)]
        nodes.append(helper.make_node("BatchNormalization", [t, "g", "be", "m", "v"], ["bno"],
                                      name="bn1", epsilon=1e-3))
        t = "bno"
    if act == "Relu":
        nodes.append(helper.make_node("Relu", [t], ["r"], name="relu"))
        t = "r"
    nodes.append(helper.make_node("Quant", [t, "s_y", "z0", "bw_y"], ["y"], name="qout",
                                  domain=dom, signed=0, narrow=0, rounding_mode="ROUND"))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", F32,
                              [1, c_in, 4, 4])],
                              [helper.make_tensor_value_info("y", F32, [1, c_out, 4, 4])],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19),
                                                    helper.make_opsetid(dom, 1)])
    return model, dict(wf=wf, s_w=s_w, s_x=s_x, s_y=s_y, gamma=gamma, beta=beta, mean=mean,
                       var=var, bias_int=np.rint(bias_f / (s_x * s_w)).astype(np.int64)
                       if bias else np.zeros(c_out, np.int64))


@pytest.fixture
def qdq_conv():
    return build_qdq_conv


@pytest.fixture
def qonnx_conv():
    return build_qonnx_conv
