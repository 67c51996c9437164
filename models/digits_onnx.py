"""The digits model as an ONNX QDQ graph, built with onnx.helper from the exported parameters.

QuantizeLinear/DequantizeLinear to uint4 activations (opset 21), int8 weights dequantized per
output channel, Conv/Gemm -> BatchNormalization -> Relu -> QuantizeLinear: shape (a) of the
ONNX importer. The last Gemm leaves float logits (not a requantization).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def build_digits_onnx(spec: dict):
    """An ``onnx.ModelProto`` computing the digits network of ``spec`` (digits_model.json)."""
    from onnx import TensorProto, helper, numpy_helper

    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    u4 = TensorProto.UINT4
    z_u4 = helper.make_tensor("z_act", u4, [], [0])
    inits.append(z_u4)
    const("s_in", np.float32(spec["input"]["scale"]))
    nodes += [helper.make_node("QuantizeLinear", ["image", "s_in", "z_act"], ["x_q"],
                               name="quant_input"),
              helper.make_node("DequantizeLinear", ["x_q", "s_in", "z_act"], ["x0"],
                               name="dequant_input")]
    t = "x0"
    for spec_l in spec["layers"]:
        n = spec_l["name"]
        w = np.asarray(spec_l["weights"], dtype=np.int8)
        s_w = np.asarray(spec_l["weight_scale"], dtype=np.float32)
        const(f"{n}_w", w)
        const(f"{n}_sw", s_w)
        const(f"{n}_zw", np.zeros(s_w.shape, dtype=np.int8))
        nodes.append(helper.make_node("DequantizeLinear", [f"{n}_w", f"{n}_sw", f"{n}_zw"],
                                      [f"{n}_wd"], name=f"{n}_dequant_w", axis=0))
        if spec_l["op"] == "conv":
            p = int(spec_l["pads"])
            nodes.append(helper.make_node("Conv", [t, f"{n}_wd"], [f"{n}_acc"], name=f"{n}_conv",
                                          kernel_shape=list(w.shape[2:]), pads=[p] * 4))
        else:
            if spec_l is not spec["layers"][0] and t.endswith("_pool"):
                nodes.append(helper.make_node("Flatten", [t], [f"{n}_flat"], name=f"{n}_flat",
                                              axis=1))
                t = f"{n}_flat"
            nodes.append(helper.make_node("Gemm", [t, f"{n}_wd"], [f"{n}_acc"], name=f"{n}_gemm",
                                          transB=1))
        t = f"{n}_acc"
        if "bn" not in spec_l:
            nodes.append(helper.make_node("Identity", [t], ["logits"], name="logits"))
            t = "logits"
            break
        bn = spec_l["bn"]
        for k in ("gamma", "beta", "mean", "var"):
            const(f"{n}_{k}", np.asarray(bn[k], dtype=np.float32))
        nodes.append(helper.make_node(
            "BatchNormalization", [t, f"{n}_gamma", f"{n}_beta", f"{n}_mean", f"{n}_var"],
            [f"{n}_y"], name=n, epsilon=float(bn["eps"])))
        nodes.append(helper.make_node("Relu", [f"{n}_y"], [f"{n}_r"], name=f"{n}_relu"))
        const(f"{n}_so", np.float32(spec_l["output"]["scale"]))
        nodes += [helper.make_node("QuantizeLinear", [f"{n}_r", f"{n}_so", "z_act"], [f"{n}_q"],
                                   name=f"{n}_quant"),
                  helper.make_node("DequantizeLinear", [f"{n}_q", f"{n}_so", "z_act"],
                                   [f"{n}_dq"], name=f"{n}_dequant")]
        t = f"{n}_dq"
        if spec_l.get("pool"):
            k = int(spec_l["pool"])
            nodes.append(helper.make_node("MaxPool", [t], [f"{n}_pool"], name=f"{n}_maxpool",
                                          kernel_shape=[k, k], strides=[k, k]))
            t = f"{n}_pool"
    graph = helper.make_graph(
        nodes, "exactbn_digits",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)],
                              producer_name="exactbn models/digits_onnx.py")
    model.ir_version = 10
    return model


def write_digits_onnx(spec: dict, path: str | Path) -> None:
    """Build, check and write the ONNX file atomically (temp file + rename)."""
    import onnx

    model = build_digits_onnx(spec)
    onnx.checker.check_model(model)
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp")
    onnx.save(model, str(tmp))
    tmp.replace(p)
