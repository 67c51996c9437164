"""Mutants of an ONNX model: bad scales, truncated or mis-shaped initializers, missing
inputs, Identity cycles, truncated files. Each comes with its verdict (``refuse``/``any``)."""

from __future__ import annotations

import random

from fuzz.mutate_json import Mutant

__all__ = ["onnx_mutants"]


def _scale_inits(model) -> list[str]:
    q = {"QuantizeLinear", "DequantizeLinear"}
    names = [n.input[1] for n in model.graph.node if n.op_type in q and len(n.input) > 1]
    return list(dict.fromkeys(names))


def _bn_ancestors(model) -> set[str]:
    """Names of the nodes a BatchNormalization or the quantizer right after it depends on."""
    producer = {o: n for n in model.graph.node for o in n.output}
    todo = [n for n in model.graph.node if n.op_type == "BatchNormalization"]
    # the output quantizer (through Relu/Clip) defines the output format
    consumers = {i: [n for n in model.graph.node if i in n.input] for n in model.graph.node
                 for i in n.output}
    for bn in list(todo):
        t = bn
        for _ in range(3):
            nxt = consumers.get(t.output[0], []) if t.output else []
            if not nxt:
                break
            t = nxt[0]
            todo.append(t)
            if t.op_type == "QuantizeLinear":
                break
    seen: set[str] = set()
    while todo:
        n = todo.pop()
        if n.name in seen:
            continue
        seen.add(n.name)
        todo += [producer[i] for i in n.input if i in producer]
    return seen


def onnx_mutants(data: bytes, rng: random.Random) -> list[tuple[Mutant, str]]:
    """(mutant, verdict) pairs, in a fixed order."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    base = onnx.load_from_string(data)
    out: list[tuple[Mutant, str]] = []

    def add(kind, path, desc, model, verdict):
        out.append((Mutant(kind, path, desc, model.SerializeToString()), verdict))

    def copy():
        m = onnx.ModelProto()
        m.CopyFrom(base)
        return m

    def init(m, name):
        return next(i for i in m.graph.initializer if i.name == name)

    def set_value(m, name, values):
        t = init(m, name)
        arr = numpy_helper.to_array(t)
        new = numpy_helper.from_array(np.full(arr.shape, values, dtype=arr.dtype), name)
        t.CopyFrom(new)

    bn_inits = {i for n in base.graph.node if n.name in _bn_ancestors(base) for i in n.input}
    for name in _scale_inits(base):
        for lab, v, verdict in (("zero", 0.0, "refuse"), ("nan", np.nan, "refuse"),
                                ("inf", np.inf, "refuse"), ("neg", -0.5, "refuse"),
                                ("huge", 3e38, "any"), ("tiny", 1e-45, "any")):
            m = copy()
            set_value(m, name, v)
            add(f"onnx:scale-{lab}", name, f"scale {name} = {v}", m,
                verdict if name in bn_inits else "any")
    for stat in ("gamma", "beta", "mean", "var"):
        for layer in ("conv1_bn", "fc1_bn"):
            name = f"{layer}_{stat}"
            for lab, v, verdict in (("nan", np.nan, "refuse"), ("inf", np.inf, "refuse"),
                                    ("big", 1e30, "any")):
                m = copy()
                set_value(m, name, v)
                add(f"onnx:bn-{lab}", name, f"{name} = {v}", m, verdict)
            if stat == "var":
                m = copy()
                set_value(m, name, -4.0)
                add("onnx:bn-negvar", name, f"{name} = -4", m, "refuse")
    for t in list(base.graph.initializer):
        if not t.raw_data:
            continue
        m = copy()
        init(m, t.name).raw_data = t.raw_data[: len(t.raw_data) // 2]
        need = "refuse" if t.name in bn_inits else "any"
        add("onnx:truncated-raw", t.name, f"{t.name}: raw data cut to half", m, need)
        if t.dims:
            m = copy()
            init(m, t.name).dims[0] += 1
            add("onnx:wrong-dims", t.name, f"{t.name}: dims[0] + 1", m, need)
        m = copy()
        tt = init(m, t.name)
        tt.data_type = TensorProto.STRING
        tt.ClearField("raw_data")
        tt.string_data.extend([b"x"] * max(1, int(np.prod(list(tt.dims) or [1]))))
        add("onnx:string-tensor", t.name, f"{t.name}: a string tensor", m, need)
    bn_deps = _bn_ancestors(base)
    for idx, node in enumerate(base.graph.node):
        feeds_bn = node.name in bn_deps
        if len(node.input) > 1:
            m = copy()
            del m.graph.node[idx].input[-1]
            # a Q/DQ zero point is optional in ONNX (default 0, 8 bits)
            optional = node.op_type in ("QuantizeLinear", "DequantizeLinear")
            add("onnx:missing-input", node.name, f"{node.name}: last input removed", m,
                "refuse" if node.op_type in ("BatchNormalization", "Conv", "Gemm")
                else "any" if optional or not feeds_bn else "refuse")
        m = copy()
        m.graph.node[idx].input[0] = "nowhere"
        add("onnx:dangling-input", node.name, f"{node.name}: input 0 from nowhere", m,
            "refuse" if feeds_bn else "any")
        m = copy()
        del m.graph.node[idx].output[:]
        add("onnx:no-output", node.name, f"{node.name}: outputs removed", m,
            "refuse" if feeds_bn else "any")
        if node.op_type == "BatchNormalization":
            for op in ("Identity", "Transpose"):
                m = copy()
                src = m.graph.node[idx].input[0]
                m.graph.node.extend([
                    helper.make_node(op, ["cyc_b"], ["cyc_a"], name="cyc1"),
                    helper.make_node(op, ["cyc_a"], ["cyc_b"], name="cyc2")])
                m.graph.node[idx].input[0] = "cyc_a"
                add(f"onnx:{op.lower()}-cycle", node.name,
                    f"{node.name}: input from a {op} cycle (was {src})", m, "refuse")
            for lab, v in (("nan", float("nan")), ("neg", -1.0), ("huge", 1e300)):
                m = copy()
                for a in m.graph.node[idx].attribute:
                    if a.name == "epsilon":
                        a.f = v
                add(f"onnx:eps-{lab}", node.name, f"{node.name}: epsilon {v}", m,
                    "refuse" if lab != "huge" else "any")
            m = copy()
            m.graph.node[idx].name = "../../x"
            add("onnx:name-dotdot", node.name, f"{node.name}: node named ../../x", m, "any")
            m = copy()
            m.graph.node[idx].name = "[/]"
            add("onnx:name-rich", node.name, f"{node.name}: node named [/]", m, "any")
    m = copy()
    m.graph.initializer.remove(init(m, "z_act"))
    add("onnx:no-zero-point", "z_act", "activation zero point initializer removed", m, "refuse")
    raw = data
    for frac in (0.05, 0.3, 0.7, 0.98):
        n = int(len(raw) * frac)
        out.append((Mutant("onnx:truncated-file", "", f"file cut to {n} of {len(raw)} bytes",
                           raw[:n]), "refuse"))
    for i in range(8):
        b = bytearray(raw)
        for _ in range(4):
            b[rng.randrange(len(b))] = rng.randrange(256)
        out.append((Mutant("onnx:byte-flip", "", f"4 random bytes changed (#{i})", bytes(b)),
                    "any"))
    out.append((Mutant("onnx:empty", "", "empty file", b""), "refuse"))
    return out
