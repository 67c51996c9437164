"""ONNX importer: QDQ graphs (QuantizeLinear/DequantizeLinear) and QONNX ``Quant`` nodes.

A layer is a chain ``Conv|Gemm|MatMul [-> BatchNormalization] [-> Relu|Clip] -> quantize``
whose weights are integers (DequantizeLinear of an integer initializer, a QONNX Quant of a
constant, or a float initializer holding integers):

- with BatchNormalization (shape a): a ``bn`` layer whose input is the conv accumulator;
- without (shape b, BN already folded into the conv by the exporter, "beyond BN"): the conv's
  requantization ``a = s_x*s_w[c]/s_y``, ``b = bias/s_y + z_y`` becomes an ``affine`` layer.

The accumulator of channel c is ``sum_k (w[c,k] - z_w[c]) * (x_k - z_x) (+ bias[c])`` and its
range is derived exactly from the integer weights, the input's integer range and the bias. A
Relu/Clip before the quantizer folds into the output clip (exact, R is monotone). ONNX's
QuantizeLinear rounds half to even; QONNX's ``rounding_mode`` ROUND is half to even, FLOOR is
floor. The onnx package is imported lazily.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from exactbn.formats import FormatError, check_input_file

from .common import (
    ImportedLayer,
    ImportResult,
    Overrides,
    acc_input_spec,
    accumulator_range,
    affine_layer_ab,
    clip_from_real,
    finish,
    int_range,
    integer_weights,
)

__all__ = ["import_onnx", "import_onnx_model"]

# Ops that move integers around without changing them (an activation's range passes through).
_TRANSPARENT = {"MaxPool", "Flatten", "Reshape", "Transpose", "Identity", "Squeeze",
                "Unsqueeze", "Dropout"}
_ANCHORS = {"Conv", "Gemm", "MatMul"}
_QOPERATOR = {"QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger"}
# Bias whose scale equals s_x*s_w[c] to float32 precision joins the accumulator as an integer.
_BIAS_SCALE_RTOL = 2.0**-20
# (required inputs, required outputs) of every op the importer reads.
_ARITY = {"Conv": (2, 1), "Gemm": (2, 1), "MatMul": (2, 1), "BatchNormalization": (5, 1),
          "QuantizeLinear": (2, 1), "DequantizeLinear": (2, 1), "Quant": (4, 1),
          "Relu": (1, 1), "Clip": (1, 1), "Add": (2, 1), "Constant": (0, 1),
          **{op: (1, 1) for op in _TRANSPARENT}}


@dataclass
class _Quant:
    """An integer tensor's quantization: real = scale * (q - zero_point), q in [lo, hi]."""

    scale: np.ndarray  # float64, scalar or per-channel
    zero_point: np.ndarray  # int64, same shape as scale (or scalar)
    lo: int
    hi: int
    bits: int
    signed: bool
    rounding: str = "half_even"


def _dtype_bits(elem_type: int) -> tuple[int, bool] | None:
    from onnx import TensorProto as T

    table = {T.INT8: (8, True), T.UINT8: (8, False), T.INT16: (16, True),
             T.UINT16: (16, False), T.INT32: (32, True), T.UINT32: (32, False)}
    for name, bits_signed in (("INT4", (4, True)), ("UINT4", (4, False)), ("INT2", (2, True)),
                              ("UINT2", (2, False))):
        if hasattr(T, name):
            table[getattr(T, name)] = bits_signed
    return table.get(elem_type)


class _Graph:
    """Producers, consumers, constants and element types of an ONNX graph."""

    def __init__(self, graph, file: str | None):
        from onnx import numpy_helper

        self.file = file
        self.nodes = list(graph.node)
        self.consts: dict[str, np.ndarray] = {}
        self.const_types: dict[str, int] = {}
        for init in graph.initializer:
            self.consts[init.name] = _tensor(numpy_helper, init, f"initializer {init.name!r}")
            self.const_types[init.name] = init.data_type
        self.producer: dict[str, object] = {}
        self.consumers: dict[str, list] = {}
        for node in self.nodes:
            _check_arity(node)
            if node.op_type == "Constant" and node.output:
                for att in node.attribute:
                    if att.name == "value":
                        self.consts[node.output[0]] = _tensor(
                            numpy_helper, att.t, f"Constant {_label(node)!r}")
                        self.const_types[node.output[0]] = att.t.data_type
            for out in node.output:
                if out in self.producer:
                    raise FormatError(f"tensor {out!r} is written by two nodes "
                                      f"({_label(self.producer[out])!r}, {_label(node)!r})",
                                      layer=_label(node), field="output")
                if out:
                    self.producer[out] = node
            for inp in node.input:
                if inp:
                    self.consumers.setdefault(inp, []).append(node)
        self._check_acyclic()
        for node in self.nodes:  # every quantizer, also those of layers not imported
            if node.op_type in ("QuantizeLinear", "DequantizeLinear", "Quant"):
                scale = self.const(node.input[1])
                if scale is not None:
                    _check_scale(scale, node, _label(node))
        self.outputs = {o.name for o in graph.output}
        self.types: dict[str, int] = {}
        for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
            if vi.type.HasField("tensor_type"):
                self.types[vi.name] = vi.type.tensor_type.elem_type

    def _check_acyclic(self) -> None:
        """An ONNX graph is a DAG; a cycle (e.g. Identity -> Transpose -> Identity) would make
        every backward walk endless, so it is refused here, naming a node on it."""
        index = {id(n): i for i, n in enumerate(self.nodes)}
        users: list[list[int]] = [[] for _ in self.nodes]
        indeg = [0] * len(self.nodes)
        for i, node in enumerate(self.nodes):
            for j in {index[id(self.producer[t])] for t in node.input if t in self.producer}:
                users[j].append(i)
                indeg[i] += 1
        ready = [i for i, d in enumerate(indeg) if d == 0]
        done = 0
        while ready:
            i = ready.pop()
            done += 1
            for u in users[i]:
                indeg[u] -= 1
                if indeg[u] == 0:
                    ready.append(u)
        if done < len(self.nodes):
            node = self.nodes[next(i for i, d in enumerate(indeg) if d > 0)]
            raise FormatError(f"the graph has a cycle through {node.op_type} "
                              f"{_label(node)!r} (ONNX graphs must be acyclic)",
                              layer=_label(node))

    def const(self, name: str) -> np.ndarray | None:
        """The constant value of tensor ``name`` (initializer or Constant), else None."""
        return self.consts.get(name) if name else None

    def optional_const(self, node, i: int, what: str, layer: str) -> np.ndarray | None:
        """Optional input ``i`` of ``node``: None when absent (ONNX defaults apply), its
        constant when given; a name that is given but defined nowhere is an error (never
        silently the default)."""
        if len(node.input) <= i or not node.input[i]:
            return None
        v = self.const(node.input[i])
        if v is None:
            raise FormatError(f"{node.op_type} {_label(node)!r}: {what} {node.input[i]!r} is "
                              "not an initializer or Constant (missing from the graph?)",
                              layer=layer, field=what)
        return v

    def value(self, name: str) -> np.ndarray | None:
        """A constant real value: an initializer, or DequantizeLinear of constants (as some
        quantizers store BN's gamma/beta), evaluated like ONNX in float32; else None."""
        v = self.const(name)
        if v is not None or not name:
            return v
        node = self.producer.get(name)
        if node is None or node.op_type != "DequantizeLinear":
            return None
        q, sc = self.const(node.input[0]), self.const(node.input[1])
        zp = self.optional_const(node, 2, "zero_point", _label(node))
        if q is None or sc is None:
            return None
        axis = _attr(node, "axis", 1)
        shape = [1] * q.ndim
        if sc.size > 1:
            shape[axis] = sc.size
        zp = np.zeros(1) if zp is None else zp
        f32 = np.float32
        return ((q.astype(f32) - zp.astype(f32).reshape(shape if zp.size > 1 else [1] * q.ndim))
                * sc.astype(f32).reshape(shape if sc.size > 1 else [1] * q.ndim)).astype(f32)

    def walk_back(self, name: str) -> tuple[str, object | None]:
        """Follow ``name`` back through range-preserving ops; return (tensor, its producer)."""
        node = self.producer.get(name)
        seen: set[int] = set()
        while node is not None and node.op_type in _TRANSPARENT:
            if id(node) in seen:  # unreachable after _check_acyclic; never loop regardless
                raise FormatError(f"cycle through {node.op_type} {_label(node)!r}",
                                  layer=_label(node))
            seen.add(id(node))
            name = node.input[0]
            node = self.producer.get(name)
        return name, node


def _tensor(numpy_helper, proto, what: str) -> np.ndarray:
    """``numpy_helper.to_array`` with damaged data (raw data shorter than the dims say, dims
    that disagree with the values, unknown types) as a located FormatError."""
    try:
        return numpy_helper.to_array(proto)
    except Exception as e:  # noqa: BLE001 - onnx raises ValueError, TypeError, KeyError ...
        raise FormatError(f"{what}: data does not match its dims {list(proto.dims)} and type "
                          f"({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''})",
                          field="initializer") from None


def _check_arity(node) -> None:
    """Refuse a node of a kind the importer reads with required inputs/outputs missing."""
    need = _ARITY.get(node.op_type)
    if need is None:
        return
    n_in, n_out = need
    ins, outs = list(node.input), list(node.output)
    if len(ins) < n_in or any(not t for t in ins[:n_in]):
        raise FormatError(f"{node.op_type} {_label(node)!r} has {sum(1 for t in ins if t)} "
                          f"input(s); it needs {n_in}", layer=_label(node), field="input")
    if len(outs) < n_out or any(not t for t in outs[:n_out]):
        raise FormatError(f"{node.op_type} {_label(node)!r} has no output", layer=_label(node),
                          field="output")


def _attr(node, name: str, default=None):
    from onnx import helper

    for att in node.attribute:
        if att.name == name:
            return helper.get_attribute_value(att)
    return default


def _label(node) -> str:
    return node.name or (node.output[0] if node.output and node.output[0] else node.op_type)


def _check_scale(scale: np.ndarray, node, layer: str) -> np.ndarray:
    """A quantizer's scale: real, finite and > 0 in every entry (0, NaN, inf refused)."""
    s = np.asarray(scale)
    if s.dtype.kind not in "iuf" or s.size == 0:
        raise FormatError(f"{node.op_type} {_label(node)!r}: scale has dtype {s.dtype} and "
                          f"{s.size} entries", layer=layer, field="scale")
    s = s.astype(np.float64)
    bad = ~(np.isfinite(s) & (s > 0))
    if bad.any():
        raise FormatError(f"{node.op_type} {_label(node)!r}: scale {s.ravel()[bad.ravel()][0]!r} "
                          "must be finite and > 0", layer=layer, field="scale")
    return s


def _scalar(arr: np.ndarray | None, what: str, layer: str) -> float | None:
    if arr is None:
        return None
    if arr.size != 1:
        raise FormatError(f"{what} must be a single value (per-tensor), got shape "
                          f"{list(arr.shape)}; per-channel {what} is not supported here",
                          layer=layer, field=what)
    return float(arr.reshape(-1)[0])


def _clip_bounds(node, lo, hi, layer: str) -> tuple[float | None, float | None]:
    """Clip's min/max as reals: NaN refused, -inf/+inf mean no bound on that side."""
    out = []
    for what, v, unbounded in (("clip.min", lo, -np.inf), ("clip.max", hi, np.inf)):
        if v is not None:
            v = float(v)
            if np.isnan(v):
                raise FormatError(f"Clip {_label(node)!r}: {what} is NaN", layer=layer,
                                  field=what)
            if np.isinf(v):
                if v != unbounded:
                    raise FormatError(f"Clip {_label(node)!r}: {what} = {v} leaves no output "
                                      "value", layer=layer, field=what)
                v = None
        out.append(v)
    return out[0], out[1]


def _zero_point_int(z, what: str, layer: str) -> np.ndarray:
    z = np.asarray(z)
    if z.dtype.kind in "OSUc":  # strings, objects, complex (int4/uint4 are ml_dtypes "V")
        raise FormatError(f"{what} has dtype {z.dtype}, expected integers", layer=layer,
                          field=what)
    if z.dtype.kind == "f":
        if not np.all(np.isfinite(z)) or np.any(np.abs(z) >= 2.0**53):
            raise FormatError(f"{what} must be a finite integer, got {z.ravel()[:4].tolist()}",
                              layer=layer, field=what)
        if not np.array_equal(z, np.round(z)):
            raise FormatError(f"{what} must be an integer, got {z.ravel()[:4].tolist()}",
                              layer=layer, field=what)
    return z.astype(np.int64)


# ----------------------------------------------------------------------------- quantizers


def _qdq_quant(g: _Graph, node, layer: str, known: dict) -> _Quant:
    """A DequantizeLinear's or QuantizeLinear's quantization (scale, zero point, dtype)."""
    scale = g.const(node.input[1])
    if scale is None:
        raise FormatError(f"{node.op_type} {_label(node)!r} has a non-constant scale",
                          layer=layer, field="scale")
    scale = _check_scale(scale, node, layer)
    zp = g.optional_const(node, 2, "zero_point", layer)
    elem = None
    if zp is not None:
        elem = g.const_types.get(node.input[2])
    clip = None
    if node.op_type == "QuantizeLinear":
        elem = _attr(node, "output_dtype", 0) or elem
        tensor = node.output[0]
    else:
        tensor = node.input[0]
        src = g.producer.get(tensor)
        if src is not None and src.op_type == "Clip":  # QCDQ: Q -> Clip -> DQ
            clip = _int_clip(g, src, layer)
            src = g.producer.get(src.input[0])
            if elem is None and src is None:
                elem = g.const_types.get(g.producer[tensor].input[0])
        if elem is None and src is not None and src.op_type == "QuantizeLinear":
            src_zp = g.optional_const(src, 2, "zero_point", layer)
            elem = _attr(src, "output_dtype", 0) or (
                None if src_zp is None else g.const_types.get(src.input[2]))
        if elem is None:
            elem = g.const_types.get(tensor) or g.types.get(tensor)
    if elem is None:
        from onnx import TensorProto

        elem = TensorProto.UINT8  # ONNX: without a zero point, QuantizeLinear writes uint8
    bs = _dtype_bits(elem)
    if bs is None:
        raise FormatError(f"{node.op_type} {_label(node)!r} uses an unsupported integer type "
                          f"(ONNX elem_type {elem})", layer=layer, field="zero_point")
    bits, signed = bs
    lo, hi = known.get(tensor, int_range(bits, signed))
    if clip is not None:
        lo, hi = max(lo, clip[0]), min(hi, clip[1])
        bits = _clip_bits(clip[0], clip[1], signed, bits)
    z = np.zeros_like(scale, dtype=np.int64) if zp is None else _zero_point_int(
        zp, "zero_point", layer)
    t_lo, t_hi = int_range(bits, signed)
    if z.size and (z.min() < t_lo or z.max() > t_hi):
        raise FormatError(f"{node.op_type} {_label(node)!r}: zero point outside the "
                          f"{'int' if signed else 'uint'}{bits} range", layer=layer,
                          field="zero_point")
    return _Quant(np.asarray(scale, dtype=np.float64), z, lo, hi, bits, signed)


def _int_clip(g: _Graph, clip, layer: str) -> tuple[int, int]:
    """Integer bounds of a QCDQ Clip (QuantizeLinear -> Clip -> DequantizeLinear: Brevitas
    narrows the integer range, e.g. int8 to [-8, 7] for 4 bits); both must be integer
    constants."""
    bounds = []
    for i, what, default in ((1, "clip.min", -(1 << 62)), (2, "clip.max", 1 << 62)):
        v = g.optional_const(clip, i, what, layer)
        if v is None:
            bounds.append(default)
            continue
        v = _zero_point_int(np.asarray(v).reshape(-1), f"Clip {_label(clip)!r} {what}", layer)
        if v.size != 1:
            raise FormatError(f"Clip {_label(clip)!r}: {what} must be a single value",
                              layer=layer, field=what)
        bounds.append(int(v[0]))
    if bounds[0] > bounds[1]:
        raise FormatError(f"Clip {_label(clip)!r}: min {bounds[0]} > max {bounds[1]} leaves no "
                          "integer", layer=layer, field="clip.min")
    return bounds[0], bounds[1]


def _clip_bits(lo: int, hi: int, signed: bool, bits: int) -> int:
    """The integer width a QCDQ Clip leaves (4 for int8 clipped to [-8, 7]), at most ``bits``."""
    b = 1
    while b < bits and not (int_range(b, signed)[0] <= lo and hi <= int_range(b, signed)[1]):
        b += 1
    return b


def _quantize_const(g: _Graph, ql, layer: str) -> np.ndarray | None:
    """QuantizeLinear of a constant float tensor, as ONNX computes it in float32:
    saturate(round_half_even(x / scale) + zero_point); None if the input is not constant."""
    x = g.const(ql.input[0])
    if x is None:
        return None
    q = _qdq_quant(g, ql, layer, {})
    f32 = np.float32
    shape = [1] * x.ndim
    if q.scale.size > 1:
        shape[_attr(ql, "axis", 1)] = q.scale.size
    s = q.scale.astype(f32).reshape(shape if q.scale.size > 1 else [1] * x.ndim)
    z = q.zero_point.reshape(shape if q.zero_point.size > 1 else [1] * x.ndim)
    v = np.rint(x.astype(f32) / s).astype(np.float64) + z
    t_lo, t_hi = int_range(q.bits, q.signed)
    return np.clip(v, t_lo, t_hi).astype(np.int64)


def _qcdq_weights(g: _Graph, tensor: str, layer: str) -> np.ndarray | None:
    """Integer weights entering a DequantizeLinear through QuantizeLinear and/or a Clip
    (QCDQ): the constant quantized in float32 and clipped; None if not of that shape."""
    src = g.producer.get(tensor)
    bounds = None
    if src is not None and src.op_type == "Clip":
        bounds = _int_clip(g, src, layer)
        inner = src.input[0]
        src = g.producer.get(inner)
        if src is None:
            c = g.const(inner)
            return None if c is None else np.clip(integer_weights(c, "weights", layer),
                                                  *bounds)
    if src is None or src.op_type != "QuantizeLinear":
        return None
    w = _quantize_const(g, src, layer)
    if w is None:
        return None
    return w if bounds is None else np.clip(w, *bounds)


def _qonnx_quant(g: _Graph, node, layer: str, known: dict) -> _Quant:
    """A QONNX ``Quant`` node's quantization (scale, zero point, bit width, sign, narrow)."""
    scale, zp, bw = (g.const(node.input[i]) if len(node.input) > i else None for i in (1, 2, 3))
    if scale is None or zp is None or bw is None:
        raise FormatError(f"Quant {_label(node)!r} needs constant scale, zero point and bit "
                          "width", layer=layer, field="scale")
    scale = _check_scale(scale, node, layer)
    bw = np.asarray(bw).reshape(-1)
    bits_f = float(bw[0]) if bw.size == 1 and bw.dtype.kind in "iuf" else float("nan")
    if not np.isfinite(bits_f) or bits_f != int(bits_f) or not 1 <= bits_f <= 32:
        raise FormatError(f"Quant {_label(node)!r} bit width {bits_f} is not an integer in "
                          "[1, 32]", layer=layer, field="bitwidth")
    bits = int(bits_f)
    signed = bool(_attr(node, "signed", 1))
    narrow = bool(_attr(node, "narrow", 0))
    mode = _attr(node, "rounding_mode", b"ROUND")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    rounding = {"ROUND": "half_even", "FLOOR": "floor"}.get(mode.upper())
    if rounding is None:
        raise FormatError(f"Quant {_label(node)!r} rounding_mode {mode!r} is not supported "
                          "(ROUND or FLOOR)", layer=layer, field="rounding_mode")
    lo, hi = known.get(node.output[0], int_range(bits, signed, narrow))
    return _Quant(np.asarray(scale, dtype=np.float64),
                  _zero_point_int(zp, "zero_point", layer), lo, hi, bits, signed, rounding)


def _activation_quant(g: _Graph, tensor: str, layer: str, known: dict,
                      ov: Overrides) -> _Quant:
    """The quantization of the activation entering a layer, or the user's override flags."""
    _, node = g.walk_back(tensor)
    q = None
    if node is not None and node.op_type == "DequantizeLinear":
        q = _qdq_quant(g, node, layer, known)
    elif node is not None and node.op_type == "Quant":
        q = _qonnx_quant(g, node, layer, known)
    if q is not None:
        if q.scale.size != 1 or q.zero_point.size > 1:
            raise FormatError("per-channel activation quantization is not supported",
                              layer=layer, field="input.scale")
        return q
    s, bits = ov.take("input_scale"), ov.take("input_bits")
    if s is None or bits is None:
        src = ("a graph input" if node is None
               else f"op {node.op_type} {_label(node)!r}{_why(node)}")
        raise FormatError(f"missing scales: the input comes from {src}, not from a quantizer; "
                          "give --input-scale and --input-bits", layer=layer,
                          field="input.scale")
    signed = ov.take("input_signed")
    signed = False if signed is None else signed
    z = ov.take("input_zero_point") or 0
    lo, hi = int_range(bits, signed)
    return _Quant(np.asarray(s, dtype=np.float64), np.asarray(z, dtype=np.int64), lo, hi,
                  bits, signed)


# ----------------------------------------------------------------------------- weights


def _weights(g: _Graph, node, layer: str, known: dict):
    """Integer weights (C_out, K), their per-channel scale and zero point, or None if float."""
    name = node.input[1]
    _, prod = g.walk_back(name) if g.const(name) is None else (name, None)
    if prod is not None and prod.op_type == "DequantizeLinear":
        w = g.const(prod.input[0])
        if w is None:
            w = _qcdq_weights(g, prod.input[0], layer)
        if w is None:
            raise FormatError(f"weights of {node.op_type} {_label(node)!r} are not constant",
                              layer=layer, field="weights")
        w = integer_weights(w, "weights", layer)
        q = _qdq_quant(g, prod, layer, {})
        axis = _attr(prod, "axis", 1)
    elif prod is not None and prod.op_type == "Quant":
        wf = g.const(prod.input[0])
        if wf is None:
            raise FormatError(f"weights of {node.op_type} {_label(node)!r} are not constant",
                              layer=layer, field="weights")
        q = _qonnx_quant(g, prod, layer, {})
        # float32 as QONNX's executor and Brevitas compute it (float64 rounds 0.35/0.1 to 3,
        # float32 to 4)
        s = (np.broadcast_to(q.scale, wf.shape) if q.scale.size == 1 else q.scale)
        v = (wf.astype(np.float32) / s.astype(np.float32)).astype(np.float64) + q.zero_point
        w = np.rint(v) if q.rounding == "half_even" else np.floor(v)
        w = np.clip(w, q.lo, q.hi).astype(np.int64)
        axis = 0 if q.scale.size == 1 else int(np.argmax(q.scale.shape))
    else:
        w = g.const(name)
        if w is None:
            return None
        w = integer_weights(w, "weights", layer)  # float initializer: must hold integers
        q = _Quant(np.asarray(1.0), np.asarray(0, dtype=np.int64), 0, 0, 0, True)
        axis = 0
    # Output-channel axis: Conv 0; Gemm 0 if transB else 1; MatMul 1.
    if node.op_type == "Conv":
        out_axis = 0
    elif node.op_type == "Gemm":
        out_axis = 0 if _attr(node, "transB", 0) else 1
    else:
        out_axis = 1
    if w.ndim < 2:
        raise FormatError(f"weights of {_label(node)!r} have shape {list(w.shape)}",
                          layer=layer, field="weights")
    w = np.moveaxis(w, out_axis, 0)
    c = w.shape[0]
    s_w = q.scale.reshape(-1)
    z_w = np.asarray(q.zero_point).reshape(-1)
    if s_w.size not in (1, c) or (s_w.size == c and c > 1 and axis not in (out_axis,
                                                                              out_axis - w.ndim)):
        raise FormatError(f"weight scale of {_label(node)!r} has {s_w.size} entries for {c} "
                          "output channels (per-channel scales must run along the output axis)",
                          layer=layer, field="weight_scale")
    s_w = np.broadcast_to(s_w, (c,)).astype(np.float64)
    z_w = np.broadcast_to(z_w, (c,)).astype(np.int64)
    return w.reshape(c, -1) - z_w[:, None], s_w


def _bias(g: _Graph, name: str, s_acc: np.ndarray, layer: str):
    """``(bias_int, bias_real)``: integer bias joining the accumulator, or a real one."""
    if not name:
        return None, None
    _, prod = g.walk_back(name) if g.const(name) is None else (name, None)
    c = s_acc.size
    if prod is not None and prod.op_type == "DequantizeLinear":
        bi = g.const(prod.input[0])
        sb = g.const(prod.input[1])
        if bi is None or sb is None:
            raise FormatError("bias is not constant", layer=layer, field="bias")
        bi = integer_weights(bi, "bias", layer).reshape(-1)
        zb = g.optional_const(prod, 2, "bias zero point", layer)
        if zb is not None and np.any(np.asarray(zb) != 0):
            bi = bi - _zero_point_int(zb, "bias zero point", layer).reshape(-1)
        sb = np.broadcast_to(np.asarray(sb, dtype=np.float64).reshape(-1), (c,))
        if np.all(np.abs(sb / s_acc - 1.0) <= _BIAS_SCALE_RTOL):
            return np.broadcast_to(bi, (c,)).astype(np.int64), None
        return None, np.broadcast_to(bi, (c,)) * sb
    if prod is not None and prod.op_type == "Quant":
        q = _qonnx_quant(g, prod, layer, {})
        bf = g.const(prod.input[0])
        if bf is None:
            raise FormatError("bias is not constant", layer=layer, field="bias")
        sb = np.broadcast_to(q.scale.reshape(-1), (c,))
        v = (np.asarray(bf, dtype=np.float32).reshape(-1) / sb.astype(np.float32)).astype(
            np.float64) + q.zero_point.reshape(-1)  # float32, as the weights above
        bi = np.clip(np.rint(v) if q.rounding == "half_even" else np.floor(v), q.lo, q.hi)
        bi = (bi - q.zero_point.reshape(-1)).astype(np.int64)
        if np.all(np.abs(sb / s_acc - 1.0) <= _BIAS_SCALE_RTOL):
            return np.broadcast_to(bi, (c,)).astype(np.int64), None
        return None, np.broadcast_to(bi * sb, (c,))
    val = g.const(name)
    if val is None:
        raise FormatError("bias is neither constant nor dequantized", layer=layer, field="bias")
    return None, np.broadcast_to(np.asarray(val, dtype=np.float64).reshape(-1), (c,))


def _const_value(g: _Graph, name: str, layer: str) -> np.ndarray | None:
    """A constant real tensor as the graph computes it (float32): an initializer, or one
    reached through Reshape/Identity from DequantizeLinear of constant integers (also through
    a QCDQ Clip or QuantizeLinear) or a QONNX Quant of a constant; else None."""
    v = g.const(name)
    if v is not None:
        return np.asarray(v)
    node = g.producer.get(name)
    if node is None:
        return None
    f32 = np.float32
    if node.op_type in ("Identity", "Reshape"):
        v = _const_value(g, node.input[0], layer)
        if v is None or node.op_type == "Identity":
            return v
        shape = g.const(node.input[1])
        if shape is None:
            return None
        shape = [int(d) if int(d) != 0 else v.shape[i] for i, d in enumerate(shape.reshape(-1))]
        return v.reshape(shape)
    if node.op_type == "DequantizeLinear":
        q = g.const(node.input[0])
        if q is None:
            q = _qcdq_weights(g, node.input[0], layer)
        if q is None:
            return None
        qq = _qdq_quant(g, node, layer, {})
        shape = [1] * q.ndim
        if qq.scale.size > 1:
            shape[_attr(node, "axis", 1)] = qq.scale.size
        sh = shape if qq.scale.size > 1 else [1] * q.ndim
        return ((np.asarray(q).astype(f32) - qq.zero_point.astype(f32).reshape(
            sh if qq.zero_point.size > 1 else [1] * q.ndim)) * qq.scale.astype(f32).reshape(sh))
    if node.op_type == "Quant":
        x = g.const(node.input[0])
        if x is None:
            return None
        qq = _qonnx_quant(g, node, layer, {})
        s, z = qq.scale.astype(f32), qq.zero_point.astype(f32)
        v = x.astype(f32) / s + z
        v = np.rint(v) if qq.rounding == "half_even" else np.floor(v)
        return ((np.clip(v, qq.lo, qq.hi) - z) * s).astype(f32)
    return None


def _conv_weight_shape(g: _Graph, conv) -> tuple[int, ...]:
    v = _const_value(g, conv.input[1], _label(conv))
    if v is None:
        _, prod = g.walk_back(conv.input[1])
        v = g.const(prod.input[0]) if prod is not None and prod.input else None
    return () if v is None else tuple(v.shape)


def _per_channel(v: np.ndarray, rank: int, what: str, node, layer: str) -> np.ndarray:
    """A constant broadcast along the channel axis (1) only: size 1 or C, other dims 1."""
    v = np.asarray(v, dtype=np.float64)
    shape = (1,) * (rank - v.ndim) + tuple(v.shape)
    if v.ndim > rank or any(d != 1 for i, d in enumerate(shape) if i != 1):
        raise FormatError(f"{node.op_type} {_label(node)!r}: {what} of shape {list(v.shape)} "
                          "is not per channel", layer=layer, field=what)
    if not np.all(np.isfinite(v)):
        raise FormatError(f"{node.op_type} {_label(node)!r}: {what} is not finite",
                          layer=layer, field=what)
    return v.reshape(-1)


def _scale_bias(g: _Graph, mul, t: str, rank: int, layer: str):
    """BN merged into ``Mul(x, scale) [-> Add(., bias)]`` (Brevitas' BatchNorm*ToQuantScaleBias
    and exporters that fold BN this way): ((scale, bias), tensor after the Add), or None when
    the Mul does not multiply by a constant."""
    other = [i for i in mul.input if i != t]
    val = _const_value(g, other[0], layer) if len(other) == 1 else None
    if val is None:
        return None  # not a scale-bias: the chain goes on as without BN
    scale = _per_channel(val, rank, "scale", mul, layer)
    t = mul.output[0]
    bias = np.zeros(1)
    nxt = _single_consumer(g, t, layer)
    if nxt is not None and nxt.op_type == "Add":
        other = [i for i in nxt.input if i != t]
        val = _const_value(g, other[0], layer) if len(other) == 1 else None
        if val is not None:  # else (e.g. a residual Add) the tail check names the Add
            bias = _per_channel(val, rank, "bias", nxt, layer)
            t = nxt.output[0]
    return (scale, bias), t


def _has_padding(node) -> bool:
    if node.op_type != "Conv":
        return False
    auto = _attr(node, "auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    return auto not in ("NOTSET", "VALID") or any(int(p) != 0 for p in _attr(node, "pads", []))


# ----------------------------------------------------------------------------- chains


def _single_consumer(g: _Graph, tensor: str, layer: str):
    cons = g.consumers.get(tensor, [])
    if tensor in g.outputs and not cons:
        return None
    if len(cons) != 1 or tensor in g.outputs:
        raise FormatError(f"tensor {tensor!r} feeds {len(cons)} ops; a layer's intermediate "
                          "values must feed only the next op", layer=layer)
    return cons[0]


def _output_spec(g: _Graph, quant, relu, label: str, ov: Overrides, known: dict,
                 notes: list[str]) -> dict:
    """The layer's ``output`` object from the quantizer (or flags), Relu/Clip folded in."""
    if quant is not None:
        qo = (_qdq_quant(g, quant, label, {}) if quant.op_type == "QuantizeLinear"
              else _qonnx_quant(g, quant, label, {}))
        s_y = _scalar(qo.scale, "output.scale", label)
        if np.asarray(qo.zero_point).size > 1:
            raise FormatError("per-channel output zero point is not supported", layer=label,
                              field="output.zero_point")
        z_y = int(np.asarray(qo.zero_point).reshape(-1)[0])
        bits, signed, qmin, qmax, rounding = qo.bits, qo.signed, qo.lo, qo.hi, qo.rounding
    else:
        s_y, bits = ov.take("output_scale"), ov.take("output_bits")
        if s_y is None or bits is None:
            raise FormatError("missing scales: BatchNormalization is not followed by a "
                              "quantizer; give --output-scale and --output-bits", layer=label,
                              field="output.scale")
        signed = ov.take("output_signed")
        signed = True if signed is None else signed
        z_y = ov.take("output_zero_point") or 0
        qmin, qmax = int_range(bits, signed)
        rounding = "half_even"
        notes.append("output quantization from flags")
    rounding = ov.take("rounding") or rounding
    if relu is not None:
        if relu.op_type == "Relu":
            lo_r, hi_r = 0.0, None
        else:
            lo_r = _attr(relu, "min")
            hi_r = _attr(relu, "max")
            if len(relu.input) > 1 and relu.input[1]:
                lo_r = _scalar(g.value(relu.input[1]), "clip.min", label)
            if len(relu.input) > 2 and relu.input[2]:
                hi_r = _scalar(g.value(relu.input[2]), "clip.max", label)
            lo_r, hi_r = _clip_bounds(relu, lo_r, hi_r, label)
        try:
            qmin, qmax = clip_from_real(lo_r, hi_r, s_y, z_y, rounding, qmin, qmax)
        except FormatError as e:
            raise e.located(layer=label) from None
        notes.append(f"{relu.op_type} folded into clip [{qmin}, {qmax}]")
    if quant is not None:
        cons = g.consumers.get(quant.output[0], [])
        if quant.op_type == "QuantizeLinear" and len(cons) == 1 and cons[0].op_type == "Clip":
            c_lo, c_hi = _int_clip(g, cons[0], label)  # QCDQ: the Clip narrows the output
            qmin, qmax = max(qmin, c_lo), min(qmax, c_hi)
            if qmin > qmax:
                raise FormatError(f"Clip {_label(cons[0])!r} leaves no output value",
                                  layer=label, field="output.clip")
            bits = _clip_bits(c_lo, c_hi, signed, bits)
            notes.append(f"QCDQ Clip {_label(cons[0])!r}: clip [{qmin}, {qmax}]")
            known[cons[0].output[0]] = (qmin, qmax)
        known[quant.output[0]] = (qmin, qmax)
    return {"bits": bits, "signed": signed, "scale": s_y, "zero_point": z_y,
            "rounding": rounding, "clip": [qmin, qmax]}


def _bn_params(g: _Graph, bn, label: str, bias_real, notes: list[str]) -> dict:
    """The layer's ``bn`` object (a real conv bias folded into the mean)."""
    cst = [g.value(n) for n in bn.input[1:5]]
    if any(v is None for v in cst):
        raise FormatError("BatchNormalization parameters must be constants", layer=label,
                          field="bn")
    if _attr(bn, "training_mode", 0):
        raise FormatError("BatchNormalization in training mode", layer=label, field="bn")
    gamma, beta, mean, var = (np.asarray(v, dtype=np.float64).reshape(-1) for v in cst)
    if bias_real is not None:
        mean = mean - bias_real  # BN(acc*s + bias) == BN'(acc*s) with mean' = mean - bias
        notes.append("real-valued conv bias folded into the BN mean")
    return {"gamma": gamma.tolist(), "beta": beta.tolist(), "mean": mean.tolist(),
            "var": var.tolist(), "eps": float(_attr(bn, "epsilon", 1e-5))}


# QONNX quantizers that are not integer fixed-point outputs (what a refusal says about them).
_UNSUPPORTED_QUANT = {
    "BipolarQuant": "a binary +1/-1 quantizer, not an integer fixed-point output",
    "FloatQuant": "a floating-point (minifloat) quantizer; only integer quantizers are read",
    "MultiThreshold": "already a threshold staircase, not a scale and rounding",
    "Trunc": "a truncation of an already quantized tensor, not a BN output quantizer",
}


def _why(node) -> str:
    reason = _UNSUPPORTED_QUANT.get(node.op_type)
    return f" ({reason})" if reason else ""


def _tail(g: _Graph, t: str, label: str):
    """From tensor ``t``: optional Relu/Clip, then the quantizer. Returns (relu, quant, nxt)."""
    relu = None
    nxt = _single_consumer(g, t, label)
    if nxt is not None and nxt.op_type in ("Relu", "Clip"):
        relu = nxt
        nxt = _single_consumer(g, nxt.output[0], label)
    quant = nxt if nxt is not None and nxt.op_type in ("QuantizeLinear", "Quant") else None
    return relu, quant, nxt


def _import_bn_on_quantized(g: _Graph, bn, known: dict, ov: Overrides) -> ImportedLayer:
    """A BatchNormalization whose input is itself a quantized tensor (DequantizeLinear or
    Quant before it, e.g. a conv output quantized before BN): the BN input is that integer."""
    label = _label(bn)
    _, src = g.walk_back(bn.input[0])
    if src is None or src.op_type not in ("DequantizeLinear", "Quant"):
        what = "a graph input" if src is None else f"op {src.op_type}"
        raise FormatError(f"unsupported layer: BatchNormalization follows {what}, expected "
                          "Conv, Gemm or MatMul with quantized weights, or a quantized tensor",
                          layer=label)
    xq = _activation_quant(g, bn.input[0], label, known, ov)
    relu, quant, nxt = _tail(g, bn.output[0], label)
    if quant is None and nxt is not None:
        raise FormatError(f"unsupported layer: after BatchNormalization comes op "
                          f"{nxt.op_type} {_label(nxt)!r}{_why(nxt)}; expected Relu/Clip then "
                          "QuantizeLinear or Quant", layer=label)
    notes = [f"input {'int' if xq.signed else 'uint'}{xq.bits} [{xq.lo}, {xq.hi}] "
             f"zp {int(xq.zero_point.reshape(-1)[0])}"]
    out = _output_spec(g, quant, relu, label, ov, known, notes)
    inp = {"bits": xq.bits, "signed": xq.signed, "scale": float(xq.scale.reshape(-1)[0]),
           "zero_point": int(xq.zero_point.reshape(-1)[0]), "range": [xq.lo, xq.hi]}
    layer = {"name": label, "input": inp, "output": out, "bn": _bn_params(g, bn, label, None,
                                                                          notes)}
    kind = "qonnx" if src.op_type == "Quant" else "qdq"
    pattern = f"{kind}: quantized tensor+BatchNormalization" + (
        f"+{relu.op_type}" if relu is not None else "")
    return ImportedLayer(layer, pattern, notes)


def _import_chain(g: _Graph, anchor, known: dict, ov: Overrides, skipped: list[str],
                  used_bn: set) -> ImportedLayer | None:
    """Import the chain that starts at ``anchor`` (Conv/Gemm/MatMul), or None if skipped."""
    label = _label(anchor)
    if anchor.op_type == "Gemm":
        if (_attr(anchor, "transA", 0) or float(_attr(anchor, "alpha", 1.0)) != 1.0
                or float(_attr(anchor, "beta", 1.0)) != 1.0):
            raise FormatError("Gemm with transA, alpha != 1 or beta != 1 is not supported",
                              layer=label)
    # Walk forward: [Add bias (MatMul)] [BatchNormalization] [Relu | Clip] quantizer.
    chain = []
    t = anchor.output[0]
    nxt = _single_consumer(g, t, label)
    bias_name = anchor.input[2] if len(anchor.input) > 2 else ""
    if nxt is not None and anchor.op_type == "MatMul" and nxt.op_type == "Add":
        other = [i for i in nxt.input if i != t]
        bias_name = other[0]
        chain.append(nxt)
        t = nxt.output[0]
        nxt = _single_consumer(g, t, label)
    bn = None
    scale_bias = None
    if nxt is not None and nxt.op_type == "BatchNormalization":
        bn = nxt
        used_bn.add(id(bn))
        label = _label(bn)
        t = bn.output[0]
    elif nxt is not None and nxt.op_type == "Mul":
        rank = 2 if anchor.op_type != "Conv" else max(2, len(_conv_weight_shape(g, anchor)))
        found = _scale_bias(g, nxt, t, rank, label)
        if found is not None:
            scale_bias, t = found
            bn = nxt
            label = _label(nxt)
    relu, quant, nxt = _tail(g, t, label) if bn is not None or nxt is not None else (
        None, None, None)
    if quant is None:
        where = ("a graph output" if nxt is None
                 else f"op {nxt.op_type} {_label(nxt)!r}{_why(nxt)}")
        if bn is not None and nxt is not None:
            raise FormatError(f"unsupported layer: after BatchNormalization comes {where}; "
                              "expected Relu/Clip then QuantizeLinear or Quant", layer=label)
        if bn is None:
            skipped.append(f"{anchor.op_type} {label!r}: output not requantized (goes to "
                           f"{where})")
            return None
    weights = _weights(g, anchor, label, known)
    if weights is None:
        if bn is None and quant is None:
            skipped.append(f"{anchor.op_type} {label!r}: float weights, not requantized")
            return None
        raise FormatError(f"weights of {anchor.op_type} {_label(anchor)!r} are not quantized "
                          "(no DequantizeLinear/Quant): integer weights are required",
                          layer=label, field="weights")
    w_int, s_w = weights
    xq = _activation_quant(g, anchor.input[0], label, known, ov)
    s_x = float(xq.scale.reshape(-1)[0])
    z_x = int(xq.zero_point.reshape(-1)[0])
    s_acc = s_x * s_w
    bias_int, bias_real = _bias(g, bias_name, s_acc, label)
    ranges = accumulator_range(w_int, xq.lo - z_x, xq.hi - z_x, bias_int,
                               include_zero=_has_padding(anchor))
    notes = [f"input {'int' if xq.signed else 'uint'}{xq.bits} [{xq.lo}, {xq.hi}] "
             f"zp {z_x}", f"weights {w_int.shape[1]} per channel"]
    out = _output_spec(g, quant, relu, label, ov, known, notes)
    inp = acc_input_spec(label, ranges, [float(v) for v in s_acc], ov)
    s_y, z_y = out["scale"], out["zero_point"]
    layer = {"name": label, "input": inp, "output": out}
    kind = "qonnx" if quant is not None and quant.op_type == "Quant" else "qdq"
    if scale_bias is not None:
        mul, add = (np.broadcast_to(v, (s_acc.size,)).astype(np.float64) for v in scale_bias)
        mean = np.zeros(s_acc.size) if bias_real is None else -np.asarray(bias_real)
        # y = (acc*s_acc + bias)*mul + add: a BN with gamma = mul, beta = add, var 1, eps 0.
        layer["bn"] = {"gamma": mul.tolist(), "beta": add.tolist(), "mean": mean.tolist(),
                       "var": [1.0] * s_acc.size, "eps": 0.0}
        notes.append("BN merged into a per-channel scale and bias (Mul, Add)")
        pattern = f"{kind}: {anchor.op_type}+Mul+Add (BN as scale-bias)"
    elif bn is not None:
        layer["bn"] = _bn_params(g, bn, label, bias_real, notes)
        pattern = f"{kind}: {anchor.op_type}+BatchNormalization"
    else:
        a, b = affine_layer_ab([float(v) for v in s_acc],
                               [0.0] * s_acc.size if bias_real is None else list(bias_real),
                               s_y, z_y)
        layer["affine"] = {"a": a, "b": b}
        pattern = f"{kind}: {anchor.op_type} requantization (no BN node: beyond BN)"
    if relu is not None:
        pattern += f"+{relu.op_type}"
    return ImportedLayer(layer, pattern, notes)


def check_onnx(model, file: str | None = None) -> None:
    """``onnx.checker`` with full type and shape inference: required inputs, element types
    (a string tensor where numbers go, a Q/DQ pair whose zero points disagree in type),
    topological order. Custom domains (QONNX ``Quant``) get an opset import if they lack one,
    so the rest of the graph is still checked."""
    import onnx

    domains = {n.domain for n in model.graph.node} - {o.domain for o in model.opset_import}
    domains -= {"", "ai.onnx"}
    if domains:
        copy = onnx.ModelProto()
        copy.CopyFrom(model)
        for dom in sorted(domains):
            copy.opset_import.add(domain=dom, version=1)
        model = copy
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # noqa: BLE001 - ValidationError, InferenceError, ...
        text = " ".join(str(e).split())
        raise FormatError(f"not a valid ONNX model: {text[:300]}", file=file) from None


def import_onnx_model(model, overrides: Overrides | None = None,
                      file: str | None = None) -> ImportResult:
    """Import every BN/requantization layer of an ``onnx.ModelProto``."""
    ov = overrides or Overrides()
    known: dict[str, tuple[int, int]] = {}
    imported: list[ImportedLayer] = []
    skipped: list[str] = []
    used_bn: set[int] = set()
    try:
        g = _Graph(model.graph, file)
        for node in g.nodes:
            if node.op_type in _QOPERATOR:
                raise FormatError(f"unsupported layer: {node.op_type} (ONNX QOperator format); "
                                  "export the model in QDQ format (QuantizeLinear/"
                                  "DequantizeLinear around float ops)", layer=_label(node))
        check_onnx(model, file)
        for node in g.nodes:
            if node.op_type in _ANCHORS:
                imp = _import_chain(g, node, known, ov, skipped, used_bn)
                if imp is not None:
                    imported.append(imp)
            elif node.op_type == "BatchNormalization" and id(node) not in used_bn:
                imported.append(_import_bn_on_quantized(g, node, known, ov))
    except FormatError as e:
        raise e.located(file=file) from None
    fmt = "qonnx" if any(n.op_type == "Quant" for n in g.nodes) else "onnx-qdq"
    return finish(f"{fmt}:{os.path.basename(file) if file else 'model'}", imported, skipped,
                  ov, file)


def import_onnx(path: str | os.PathLike, overrides: Overrides | None = None) -> ImportResult:
    """Read an ONNX file and import it; unreadable or truncated files raise FormatError."""
    try:
        import onnx
    except ImportError:  # pragma: no cover - onnx is a dev dependency
        raise FormatError("reading ONNX needs the onnx package (pip install exactbn[onnx])",
                          file=str(path)) from None
    p = os.fspath(path)
    check_input_file(p, model=True)  # a FIFO or device would hang the read
    try:
        with open(p, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise FormatError("no such file", file=p) from None
    except IsADirectoryError:
        raise FormatError("is a directory, expected a model file", file=p) from None
    except OSError as e:
        raise FormatError(f"cannot read: {e}", file=p) from None
    try:
        model = onnx.load_from_string(data)
    except Exception as e:  # protobuf raises DecodeError and friends on damaged files
        raise FormatError(f"not a readable ONNX model (truncated or damaged): "
                          f"{type(e).__name__}: {e}", file=p) from None
    if not model.graph.node:
        raise FormatError("not a readable ONNX model (empty graph; truncated or not ONNX)",
                          file=p)
    return import_onnx_model(model, overrides, p)
