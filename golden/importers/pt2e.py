"""PyTorch 2 export (PT2E) importer: a graph converted by ``torchao``'s ``convert_pt2e``.

The converted graph carries everything: ``dequantize_per_tensor`` of the activation entering
each conv/linear (scale, zero point, quant_min/max), ``dequantize_per_channel`` (or per
tensor) of its integer weights, the float bias, and after the conv the ops up to the
``quantize_per_tensor`` of its output. Walked in data-flow order (each node's real users,
never module order):

* ``conv/linear [-> relu|hardtanh|clamp] -> quantize_per_tensor`` (BN folded, as
  ``convert_pt2e`` leaves PTQ and QAT models): the requantization is the layer (``affine``:
  ``a = s_x*s_w[c]/s_y``, ``b = bias[c]/s_y + z_y``);
* ``conv/linear -> batch_norm [-> relu...] -> quantize_per_tensor`` (BN kept in the graph):
  a BN layer on the accumulator (a float conv bias is folded into the BN mean).

The accumulator (the layer's input) is ``sum_k w_int[c,k]*(x_k - z_x)``; each channel's range
is derived from the integer weights and ``[quant_min - z_x, quant_max - z_x]`` as the other
importers do. ReLU, hardtanh and clamp fold into the output clip; PyTorch quantizes half to
even. Dynamic quantization (``choose_qparams``), per-channel activations, weights quantized
on another axis and a BN whose output is never quantized are refused, naming the node.

``load_pt2`` reads a ``torch.export.save`` file without running code from it: the archive is
checked first (every pickle it holds must load with ``weights_only=True``; pickled tensors,
custom/opaque objects, compiled AOTInductor payloads and legacy pickled formats are refused).
"""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np

from exactbn.formats import FormatError, check_input_file, twos_width, unsigned_width

from .common import (
    ImportedLayer,
    ImportResult,
    Overrides,
    acc_input_spec,
    accumulator_range,
    affine_layer_ab,
    clip_from_real,
    finish,
)

__all__ = ["from_pt2e", "import_pt2", "load_pt2"]


def _ops():
    import torch

    qd = torch.ops.quantized_decomposed
    a = torch.ops.aten
    return {
        "conv": {a.conv1d.default, a.conv2d.default, a.conv3d.default, a.convolution.default,
                 a.conv1d.padding, a.conv2d.padding, a.conv3d.padding},
        "linear": {a.linear.default},
        "bn": {a.batch_norm.default, a._native_batch_norm_legit_no_training.default},
        "relu": {a.relu.default, a.relu_.default},
        "hardtanh": {a.hardtanh.default, a.hardtanh_.default, a.clamp.default},
        "q": {qd.quantize_per_tensor.default, qd.quantize_per_tensor.tensor,
              qd.quantize_per_tensor.tensor2},
        "dq": {qd.dequantize_per_tensor.default, qd.dequantize_per_tensor.tensor,
               qd.dequantize_per_tensor.tensor2},
        "dq_ch": {qd.dequantize_per_channel.default},
        "q_ch": {qd.quantize_per_channel.default},
    }


def _module_path(n) -> str:
    """The module path PyTorch recorded for a node (``layer1.0.conv1``), else its name."""
    stack = n.meta.get("nn_module_stack") or {}
    if stack:
        path = list(stack.values())[-1][0]
        if path:
            return str(path).replace("L['self'].", "").replace("L__self___", "")
    return n.name


def _where(n) -> str:
    p = _module_path(n)
    return f"node {n.name}" if p == n.name else f"{p} (node {n.name})"


def _const(gm, v, what: str, node) -> np.ndarray:
    """A constant argument (number, or a get_attr tensor) as a numpy array."""
    import torch

    if isinstance(v, (int, float)):
        return np.asarray(v)
    if isinstance(v, torch.Tensor):
        t = v
    elif getattr(v, "op", None) == "get_attr":
        t = gm
        for part in str(v.target).split("."):
            t = getattr(t, part)
    else:
        raise FormatError(f"{what} is computed at run time ({getattr(v, 'name', v)}), not a "
                          "constant; dynamic quantization is not supported (exactbn needs "
                          "static scales)", layer=_where(node), field=what)
    t = t.detach().cpu()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return t.numpy()


class _QParams:
    """scale, zero point and [quant_min, quant_max] of a (de)quantize_per_tensor node."""

    def __init__(self, gm, n):
        self.scale = float(_const(gm, n.args[1], "scale", n).reshape(-1)[0])
        self.zero_point = int(_const(gm, n.args[2], "zero_point", n).reshape(-1)[0])
        self.qmin, self.qmax = int(n.args[3]), int(n.args[4])
        self.node = n
        if not (self.scale > 0 and np.isfinite(self.scale)):
            raise FormatError(f"scale {self.scale} is not a positive finite number",
                              layer=_where(n), field="scale")
        if not self.qmin <= self.zero_point <= self.qmax:
            raise FormatError(f"zero point {self.zero_point} outside [{self.qmin}, "
                              f"{self.qmax}]", layer=_where(n), field="zero_point")

    @property
    def signed(self) -> bool:
        return self.qmin < 0


def _int_weights(gm, w, ops, node) -> tuple[np.ndarray, np.ndarray]:
    """(C, K) zero-point-corrected integer weights and per-channel scales."""
    where = _where(node)
    if getattr(w, "op", None) != "call_function" or w.target not in ops["dq_ch"] | ops["dq"]:
        raise FormatError("weights are not quantized (no dequantize_per_channel/per_tensor of "
                          "an integer tensor feeds this op)", layer=where, field="weight")
    q = _const(gm, w.args[0], "weight", node)
    if q.dtype.kind not in "iu":
        raise FormatError(f"quantized weight has dtype {q.dtype}, expected integers",
                          layer=where, field="weight")
    c = q.shape[0]
    if w.target in ops["dq_ch"]:
        axis = int(w.args[3])
        if axis != 0:
            raise FormatError(f"weights quantized per channel on axis {axis}; only the output "
                              "channel axis 0 is supported", layer=where, field="weight.axis")
        s = _const(gm, w.args[1], "weight scale", node).astype(np.float64).reshape(-1)
        z = _const(gm, w.args[2], "weight zero point", node).astype(np.int64).reshape(-1)
    else:
        s = np.full(c, float(_const(gm, w.args[1], "weight scale", node).reshape(-1)[0]))
        z = np.full(c, int(_const(gm, w.args[2], "weight zero point", node).reshape(-1)[0]))
    if s.size != c or z.size != c:
        raise FormatError(f"{s.size} weight scales for {c} output channels", layer=where,
                          field="weight.scale")
    if not np.all((s > 0) & np.isfinite(s)):
        raise FormatError("weight scales must be positive and finite", layer=where,
                          field="weight.scale")
    return q.reshape(c, -1).astype(np.int64) - z[:, None], s


def _bn_params(gm, n, bias: np.ndarray | None) -> dict:
    """gamma, beta, mean (minus a float conv bias), var, eps of a batch_norm node."""
    import torch

    a = n.args
    if n.target == torch.ops.aten.batch_norm.default and bool(a[5]):
        raise FormatError("BatchNorm in training mode in the graph (batch statistics); "
                          "export the model in eval mode", layer=_where(n), field="training")
    eps = float(a[7] if n.target == torch.ops.aten.batch_norm.default else a[6])
    vals = []
    for i, what in ((1, "weight"), (2, "bias"), (3, "running_mean"), (4, "running_var")):
        if a[i] is None:
            c = len(vals[0]) if vals else None
            if c is None:
                raise FormatError("BatchNorm without weight", layer=_where(n), field=what)
            vals.append(np.ones(c) if what == "weight" else np.zeros(c))
        else:
            vals.append(_const(gm, a[i], what, n).astype(np.float64).reshape(-1))
    gamma, beta, mean, var = vals
    if bias is not None:
        mean = mean - bias
    return {"gamma": gamma.tolist(), "beta": beta.tolist(), "mean": mean.tolist(),
            "var": var.tolist(), "eps": eps}


def _only_user(n, ops):
    import operator

    users = list(n.users)
    if len(users) != 1:
        return None
    u = users[0]
    if u.op == "call_function" and u.target is operator.getitem and u.args[1] == 0:
        return _only_user(u, ops) if n.target in ops["bn"] else u
    return u


def _desc(n) -> str:
    if n is None:
        return "several ops (the output is used more than once) or none"
    return f"{getattr(n.target, '__name__', n.target)} ({n.name})"


def _layer(gm, n, ops, ov: Overrides):
    """One conv/linear node -> (ImportedLayer or None, skip reason or None)."""
    import torch

    where = _where(n)
    x = n.args[0]
    if getattr(x, "op", None) != "call_function" or x.target not in ops["dq"]:
        return None, f"{where}: input is not a quantized activation (no dequantize_per_tensor)"
    xq = _QParams(gm, x)
    if n.target == torch.ops.aten.convolution.default and bool(n.args[6]):
        raise FormatError("transposed convolution is not supported", layer=where)
    w_int, s_w = _int_weights(gm, n.args[1], ops, n)
    bias = n.args[2] if len(n.args) > 2 else n.kwargs.get("bias")
    b = None if bias is None else _const(gm, bias, "bias", n).astype(np.float64).reshape(-1)
    z_x = xq.zero_point
    cur, bn, lo, hi, acts = n, None, None, None, []
    while True:
        u = _only_user(cur, ops)
        if u is None or u.op != "call_function":
            break
        if u.target in ops["bn"] and bn is None and not acts:
            bn = u
        elif u.target in ops["relu"]:
            lo = 0.0 if lo is None else max(lo, 0.0)
            acts.append("relu")
        elif u.target in ops["hardtanh"]:
            a_lo = u.args[1] if len(u.args) > 1 else u.kwargs.get("min", -1.0 if
                                                              "hardtanh" in str(u.target) else None)
            a_hi = u.args[2] if len(u.args) > 2 else u.kwargs.get("max", 1.0 if
                                                              "hardtanh" in str(u.target) else None)
            if a_lo is not None:
                lo = float(a_lo) if lo is None else max(lo, float(a_lo))
            if a_hi is not None:
                hi = float(a_hi) if hi is None else min(hi, float(a_hi))
            acts.append(getattr(u.target, "__name__", "hardtanh").split(".")[0])
        elif u.target in ops["q_ch"]:
            raise FormatError("per-channel activation quantization (quantize_per_channel) is "
                              "not supported", layer=_where(u), field="output.scale")
        else:
            break
        cur = u
    q = _only_user(cur, ops)
    if q is None or q.op != "call_function" or q.target not in ops["q"]:
        if bn is not None:
            raise FormatError(f"no quantize_per_tensor after this BatchNorm (next: {_desc(q)}); "
                              "its output is not a quantized activation", layer=_where(bn),
                              field="output")
        return None, f"{where}: no quantize_per_tensor follows (next: {_desc(q)})"
    yq = _QParams(gm, q)
    rounding = ov.take("rounding") or "half_even"
    qmin, qmax = yq.qmin, yq.qmax
    name = _module_path(bn if bn is not None else n)
    try:
        qmin, qmax = clip_from_real(lo, hi, yq.scale, yq.zero_point, rounding, qmin, qmax)
    except FormatError as e:
        raise e.located(layer=name) from None
    k = w_int.shape[1]
    ranges = accumulator_range(w_int, xq.qmin - z_x, xq.qmax - z_x, None,
                               include_zero=n.target in ops["conv"])
    s_acc = [float(v) for v in xq.scale * s_w]
    bits = twos_width(yq.qmin, yq.qmax) if yq.signed else unsigned_width(yq.qmax)
    out = {"bits": int(bits), "signed": yq.signed, "scale": yq.scale,
           "zero_point": yq.zero_point, "rounding": rounding, "clip": [int(qmin), int(qmax)]}
    layer = {"name": name, "input": acc_input_spec(name, ranges, s_acc, ov), "output": out}
    kind = "conv" if n.target in ops["conv"] else "linear"
    notes = [f"{k} int weights per channel; input {'int' if xq.signed else 'uint'} "
             f"[{xq.qmin}, {xq.qmax}] zp {z_x} from {x.name}"]
    if acts:
        notes.append(f"{'+'.join(acts)} folded into clip [{qmin}, {qmax}]")
    if bn is not None:
        layer["bn"] = _bn_params(gm, bn, b)
        if b is not None and np.any(b != 0):
            notes.append("conv bias folded into the BN mean")
        pattern = f"pt2e: {kind}+batch_norm{''.join('+' + a for a in acts)}"
    else:
        a, bb = affine_layer_ab(s_acc, [0.0] * len(s_acc) if b is None else b.tolist(),
                                yq.scale, yq.zero_point)
        layer["affine"] = {"a": a, "b": bb}
        pattern = f"pt2e: {kind} (BN folded){''.join('+' + a for a in acts)} requantization"
    return ImportedLayer(layer, pattern, notes, (n.name, q.name)), None


def _check_static(gm) -> None:
    for n in gm.graph.nodes:
        t = str(getattr(n, "target", ""))
        if n.op == "call_function" and "choose_qparams" in t:
            raise FormatError("dynamic quantization: activation scales are chosen at run time "
                              f"({t}); exactbn needs static (calibrated) scales",
                              layer=_where(n), field="quantization")


def from_pt2e(obj, overrides: Overrides | None = None, *, source: str | None = None,
              file: str | None = None) -> ImportResult:
    """Import every conv/linear requantization or BN of a ``convert_pt2e`` result.

    ``obj``: the converted ``torch.fx.GraphModule`` or an ``ExportedProgram`` of it.
    """
    ov = overrides or Overrides()
    gm = obj.module() if hasattr(obj, "graph_signature") else obj
    if not hasattr(gm, "graph"):
        raise FormatError(f"expected a torch.fx.GraphModule or ExportedProgram, got "
                          f"{type(obj).__name__}", file=file)
    ops = _ops()
    try:
        _check_static(gm)
        imported, skipped = [], []
        for n in gm.graph.nodes:
            if n.op == "call_function" and n.target in ops["conv"] | ops["linear"]:
                imp, why = _layer(gm, n, ops, ov)
                if imp is not None:
                    imported.append(imp)
                else:
                    skipped.append(why)
        for n in gm.graph.nodes:  # a BN that follows no conv/linear is not an integer layer
            if n.op == "call_function" and n.target in ops["bn"]:
                p = n.args[0]
                if getattr(p, "target", None) not in ops["conv"] | ops["linear"]:
                    skipped.append(f"{_where(n)}: BatchNorm after {_desc(p)}, not after a "
                                   "quantized conv/linear")
        return finish(source or "pt2e", imported, skipped, ov, file)
    except FormatError as e:
        raise e.located(file=file) from None


# -- loading a .pt2 file without running code from it ---------------------------------------

_SAFE_SUFFIXES = ("archive_format", "archive_version", ".data/version",
                  ".data/serialization_id", "byteorder")


def _check_archive(data: bytes, path: str) -> None:
    """Refuse a damaged archive or one whose loading would unpickle arbitrary objects."""
    import json

    import torch

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        bad = zf.testzip()
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as e:
        raise FormatError(f"not a readable .pt2 archive (truncated or damaged): {e}",
                          file=path) from None
    if bad is not None:
        raise FormatError(f"damaged archive member {bad!r} (CRC mismatch)", file=path)
    names = zf.namelist()
    prefixes = {n.split("/", 1)[0] for n in names}
    if len(prefixes) != 1 or not any(n.endswith("/archive_format") for n in names):
        raise FormatError("not a torch.export.save archive (no archive_format entry; files "
                          "from torch < 2.7 are not read)", file=path)
    root = prefixes.pop() + "/"
    for n in names:
        rel = n[len(root):]
        if rel in _SAFE_SUFFIXES or rel.endswith("/") or (rel.startswith("models/")
                                                          and rel.endswith(".json")):
            continue
        if rel.startswith(("data/weights/", "data/constants/")):
            base = rel.rsplit("/", 1)[1]
            if base.endswith("_config.json") or base.startswith(("weight_", "tensor_")):
                continue
            raise FormatError(f"archive member {rel!r} would be unpickled by torch.export."
                              "load (custom/opaque objects or a legacy pickled format); "
                              "refused", file=path, field=rel)
        if rel.startswith("data/sample_inputs/") or rel.startswith("extra/"):
            continue
        raise FormatError(f"unexpected archive member {rel!r} (compiled code or another "
                          "format); refused", file=path, field=rel)
    for n in names:
        rel = n[len(root):]
        if rel.endswith("_config.json"):
            try:
                cfg = json.loads(zf.read(n)).get("config", {})
            except (ValueError, AttributeError) as e:
                raise FormatError(f"unreadable {rel}: {e}", file=path, field=rel) from None
            for fqn, meta in cfg.items():
                if not isinstance(meta, dict) or meta.get("use_pickle"):
                    raise FormatError(f"{fqn!r} is stored as a pickle (tensor subclass); "
                                      "refused", file=path, field=rel)
        elif rel.startswith("data/sample_inputs/"):
            try:
                torch.load(io.BytesIO(zf.read(n)), weights_only=True)
            except Exception as e:  # the unpickler refused a global: torch.export.load would
                raise FormatError(  # retry it with weights_only=False
                    f"sample inputs are not weights-only data ({type(e).__name__}); refused",
                    file=path, field=rel) from None


def load_pt2(path: str | os.PathLike):
    """``torch.export.load`` of a checked archive (read once; no code from the file runs)."""
    p = os.fspath(path)
    try:
        import torch
    except ImportError:
        raise FormatError("reading .pt2 files needs torch (pip install exactbn[torch])",
                          file=p) from None
    check_input_file(p, model=True)
    with open(p, "rb") as f:
        data = f.read()
    _check_archive(data, p)
    import torch.ao.quantization.fx._decomposed  # noqa: F401  (the quantized_decomposed ops)

    try:
        return torch.export.load(io.BytesIO(data))
    except Exception as e:
        msg = str(e).splitlines()[0][:160] if str(e) else ""
        raise FormatError(f"torch.export.load failed: {type(e).__name__}: {msg}",
                          file=p) from None


def import_pt2(path: str | os.PathLike, overrides: Overrides | None = None) -> ImportResult:
    """Import a ``torch.export.save`` file of a PT2E-converted model."""
    p = os.fspath(path)
    ep = load_pt2(p)
    return from_pt2e(ep, overrides, source=f"pt2e:{os.path.basename(p)}", file=p)
