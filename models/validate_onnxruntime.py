"""Check the ONNX importer on graphs written by a real quantizer (onnxruntime), not by us.

    pip install onnxruntime            # only this script needs it
    python -m models.validate_onnxruntime

A float Conv -> BN -> Relu -> Conv model (onnx.helper, seed 0) is quantized by onnxruntime's
``quantize_static`` (QDQ, per-channel int8 weights, uint8 activations) twice: as is (the conv
output is quantized before BN, BN's gamma stored dequantized: a requantization layer and a
BN-on-a-quantized-tensor layer) and after ``quant_pre_process`` (BN folded into the conv:
shape (b), "beyond BN"). ``exactbn import`` turns each into layers; every layer's exact
reference, fed the integers the engine itself produced at its input, is compared with the
engine's output integers under onnx.reference and onnxruntime. Prints one row per layer.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import numpy as np


def _float_model():
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)

    def init(n, a):
        return numpy_helper.from_array(np.asarray(a, dtype=np.float32), n)

    inits = [init("w", rng.normal(0, 0.3, (4, 2, 3, 3))), init("b", rng.normal(0, 0.1, 4)),
             init("g", rng.normal(1, 0.2, 4)), init("be", rng.normal(0, 0.3, 4)),
             init("m", rng.normal(0, 0.5, 4)), init("v", rng.uniform(0.5, 2, 4)),
             init("w2", rng.normal(0, 0.3, (3, 4, 3, 3)))]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1] * 4, kernel_shape=[3, 3],
                              name="conv1"),
             helper.make_node("BatchNormalization", ["c", "g", "be", "m", "v"], ["bn"],
                              name="bn1"),
             helper.make_node("Relu", ["bn"], ["r"], name="relu1"),
             helper.make_node("Conv", ["r", "w2"], ["y"], pads=[1] * 4, kernel_shape=[3, 3],
                              name="conv2")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, ["N", 2, 6, 6])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, ["N", 3, 6, 6])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def _quantize(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    rng = np.random.default_rng(0)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": rng.uniform(0, 1, (1, 2, 6, 6)).astype(np.float32)}
                            for _ in range(16)])

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(src), str(dst), Reader(), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8)


def _engines(model, outs: list[str], x: np.ndarray) -> dict[str, list[np.ndarray]]:
    import onnxruntime as ort
    from onnx import helper
    from onnx.reference import ReferenceEvaluator

    m = copy.deepcopy(model)
    for o in outs:
        m.graph.output.append(helper.make_empty_tensor_value_info(o))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    m19 = copy.deepcopy(m)  # onnx.reference implements DequantizeLinear from opset 19
    for op in m19.opset_import:
        if op.domain in ("", "ai.onnx"):
            op.version = max(op.version, 19)
    return {"onnxruntime": sess.run(outs, {"x": x}),
            "onnx.reference": ReferenceEvaluator(m19).run(outs, {"x": x})}


def validate(workdir: Path) -> list[dict]:
    import onnx
    from exactbn.golden.experiment import classify_disagreement, exact_outputs
    from exactbn.golden.importers import import_model
    from exactbn.golden.importers.digits import _conv2d_int
    from exactbn.golden.solver import layer_affine
    from onnx import numpy_helper

    onnx.save(_float_model(), workdir / "float.onnx")
    from onnxruntime.quantization.shape_inference import quant_pre_process

    quant_pre_process(str(workdir / "float.onnx"), str(workdir / "pre.onnx"))
    rows = []
    x = np.random.default_rng(1).uniform(-0.1, 1.1, (500, 2, 6, 6)).astype(np.float32)
    for variant, src in (("as is", "float.onnx"), ("quant_pre_process", "pre.onnx")):
        qpath = workdir / f"q_{src}"
        _quantize(workdir / src, qpath)
        model = onnx.load(str(qpath))
        res = import_model(qpath)
        cst = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
        # Each layer: (input tensor, output tensor, integer weights/bias or None).
        quant_out = {n.input[0]: n.output[0] for n in model.graph.node
                     if n.op_type == "QuantizeLinear"}
        outs = [n.output[0] for n in model.graph.node if n.op_type == "QuantizeLinear"]
        got = _engines(model, outs, x)
        for engine, vals in got.items():
            ints = {name: v.astype(np.int64) for name, v in zip(outs, vals, strict=True)}
            for layer, imp in zip(res.layers, res.imported, strict=True):
                node = next(n for n in model.graph.node if n.name == layer.name)
                if node.op_type == "Conv":
                    dq_x = next(n for n in model.graph.node if n.output[0] == node.input[0])
                    dq_w = next(n for n in model.graph.node if n.output[0] == node.input[1])
                    xq = ints[dq_x.input[0]] - int(cst[dq_x.input[2]])
                    acc = _conv2d_int(xq, cst[dq_w.input[0]].astype(np.int64), 1)
                    if len(node.input) > 2:
                        dq_b = next(n for n in model.graph.node if n.output[0] == node.input[2])
                        acc = acc + cst[dq_b.input[0]].astype(np.int64).reshape(1, -1, 1, 1)
                    out_t = node.output[0]
                else:  # BN on a quantized tensor
                    dq_x = next(n for n in model.graph.node if n.output[0] == node.input[0])
                    acc = ints[dq_x.input[0]]
                    out_t = node.output[0]
                q_engine = ints[quant_out[out_t]]
                ex = exact_outputs(layer, acc)
                a, b = layer_affine(layer)
                diff = np.argwhere(ex != q_engine)
                cls: dict[str, int] = {}
                for p in diff[:5000]:
                    k = classify_disagreement(float(a[p[1]]), float(b[p[1]]), int(acc[tuple(p)]),
                                              layer.output.rounding, int(ex[tuple(p)]),
                                              int(q_engine[tuple(p)]))
                    cls[k] = cls.get(k, 0) + 1
                rows.append({"variant": variant, "engine": engine, "layer": layer.name,
                             "pattern": imp.pattern, "outputs": int(ex.size),
                             "differ": int(len(diff)), "classified": cls})
    return rows


def main() -> int:
    with tempfile.TemporaryDirectory() as d:
        rows = validate(Path(d))
    print("| quantizer input | engine | layer | pattern | outputs | differ from exact |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['engine']} | {r['layer']} | {r['pattern']} | "
              f"{r['outputs']} | {r['differ']} {r['classified'] or ''} |")
    return 0 if all(r["classified"].get("other", 0) == 0 for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
