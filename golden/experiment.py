"""Layer-level experiment and network-level check on the bundled digits CNN (reproducible).

    python -m exactbn.golden.experiment -o DIR     # writes DIR/experiment.json and .md

Layer level, for every BN layer: minimal N and the widths of M and B (per-channel and shared
shift), with the accumulator's full int32 range and with the range derived from the integer
weights, against the naive baseline; the exact integer model checked on every input of the
derived range and on the real test-image activations; mismatch counts of the TFLite-style and
framework-float32 baselines; agreement with ONNX's reference evaluator (``onnx.reference``,
where installed), every disagreement classified.

Network level: the network whose BN+quantize steps are computed exactly and the one that uses
the integer model give identical activations and predictions on the whole test split (counted);
the float32 and TFLite-style networks' accuracy and disagreements are reported beside them.
"""

from __future__ import annotations

import argparse
import time
from fractions import Fraction
from typing import Any

import numpy as np

from exactbn.formats import Layer, SolvedLayer, twos_width, unsigned_width

from .baselines import float32_affine, float32_bn, naive_channel, tflite_params, tflite_requantize
from .importers.digits import DigitsNetwork, digits_layers, load_digits_model
from .model import integer_model
from .reference import reference
from .segments import compare_segments, model_segments, reference_segments
from .solver import layer_affine, solve_layer

__all__ = ["FULL_BITS", "full_range_layer", "per_channel", "classify_disagreement",
           "layer_experiment", "network_check", "run_experiment", "render_markdown"]

FULL_BITS = 32  # the accumulator as ONNX/TFLite deploy it (int32)


def full_range_layer(layer: Layer, bits: int = FULL_BITS) -> Layer:
    """The same layer with the accumulator's full ``bits``-bit signed range on every channel."""
    d = layer.to_json()
    d["input"]["bits"] = bits
    d["input"]["range"] = [-(1 << (bits - 1)), (1 << (bits - 1)) - 1]
    return Layer.from_json(d)


def per_channel(values: np.ndarray, layer: Layer) -> np.ndarray:
    """Per-channel values shaped to broadcast against activations with the channel on axis 1."""
    return np.asarray(values).reshape((1, layer.channels))


def _bcast(v, acc: np.ndarray) -> np.ndarray:
    v = np.asarray(v)
    return v.reshape((1, -1) + (1,) * (acc.ndim - 2)) if v.ndim else v


def exact_outputs(layer: Layer, acc: np.ndarray) -> np.ndarray:
    """The exact reference on accumulators ``acc`` (channel on axis 1)."""
    a, b = layer_affine(layer)
    o = layer.output
    return reference(_bcast(a, acc), _bcast(b, acc), acc, o.rounding, o.qmin, o.qmax)


def model_outputs(solved: SolvedLayer, acc: np.ndarray) -> np.ndarray:
    """The integer model (golden's one definition) with the solved M, B, N."""
    return integer_model(_bcast(solved.M, acc), _bcast(solved.B, acc), _bcast(solved.N, acc),
                         acc, solved.qmin, solved.qmax, solved.hw_rounding)


def tflite_outputs(layer: Layer, acc: np.ndarray) -> np.ndarray:
    """The TFLite-style requantizer (int32 bias, Q31 multiplier, gemmlowp rounding)."""
    a, b = layer_affine(layer)
    params = np.array([tflite_params(float(ai), float(bi), layer.output.zero_point)
                       for ai, bi in zip(a, b, strict=True)], dtype=np.int64)
    return tflite_requantize(acc, _bcast(params[:, 0], acc), _bcast(params[:, 1], acc),
                             _bcast(params[:, 2], acc), layer.output.zero_point,
                             layer.output.qmin, layer.output.qmax)


def float32_outputs(layer: Layer, acc: np.ndarray) -> np.ndarray:
    """A framework's float32 evaluation of the same BN (or affine map) and quantization."""
    o = layer.output
    c = layer.channels
    if layer.bn is not None:
        bn = layer.bn
        return float32_bn(acc, *(_bcast(bn[k], acc) for k in ("gamma", "beta", "mean", "var")),
                          bn["eps"], _bcast(layer.input.scales(c), acc),
                          _bcast(layer.input.zero_points(c), acc), o.scale, o.zero_point,
                          o.rounding, o.qmin, o.qmax)
    a, b = layer_affine(layer)
    return float32_affine(acc, _bcast(a, acc), _bcast(b, acc), o.rounding, o.qmin, o.qmax)


def classify_disagreement(a: float, b: float, x: int, rounding: str, q_exact: int,
                          q_other: int) -> str:
    """Why a float evaluation gave ``q_other`` where the exact value gives ``q_exact``.

    "exact tie": a*x + b lies exactly on a rounding boundary (float rounding decided it);
    "float32 near-tie": within 2^-16 of a level of the boundary between the two levels;
    "other": anything else (a real error, reported as such).
    """
    v = Fraction(a) * x + Fraction(b)
    if abs(q_exact - q_other) != 1:
        return "other"
    top = max(q_exact, q_other)
    boundary = Fraction(top) if rounding == "floor" else Fraction(2 * top - 1, 2)
    d = abs(v - boundary)
    if d == 0:
        return "exact tie"
    if d <= Fraction(1, 1 << 16) * max(1, abs(boundary)):
        return "float32 near-tie"
    return "other"


def _classify_all(layer: Layer, acc: np.ndarray, q_exact: np.ndarray, q_other: np.ndarray,
                  limit: int = 2000) -> dict[str, int]:
    a, b = layer_affine(layer)
    idx = np.argwhere(q_exact != q_other)
    counts: dict[str, int] = {}
    for pos in idx[:limit]:
        ch = int(pos[1])
        cls = classify_disagreement(float(a[ch]), float(b[ch]), int(acc[tuple(pos)]),
                                    layer.output.rounding, int(q_exact[tuple(pos)]),
                                    int(q_other[tuple(pos)]))
        counts[cls] = counts.get(cls, 0) + 1
    if len(idx) > limit:
        counts["not classified (beyond limit)"] = int(len(idx) - limit)
    return counts


def _onnx_layer_outputs(layer: Layer, acc: np.ndarray) -> tuple[np.ndarray | None, str]:
    """``onnx.reference`` on DequantizeLinear -> BatchNormalization [-> Relu] -> QuantizeLinear.

    Returns (outputs, note); outputs None when onnx is missing or the layer has no ONNX form.
    """
    try:
        from onnx import TensorProto, helper, numpy_helper
        from onnx.reference import ReferenceEvaluator
    except ImportError:
        return None, "onnx not installed"
    if layer.bn is None:
        return None, "affine layer: compared through the whole-model check only"
    o = layer.output
    types = {(4, True): "INT4", (4, False): "UINT4", (8, True): "INT8", (8, False): "UINT8",
             (16, True): "INT16", (16, False): "UINT16"}
    tname = types.get((o.bits, o.signed))
    if tname is None or not hasattr(TensorProto, tname):
        return None, f"no ONNX type for {o.bits}-bit outputs"
    full = (-(1 << (o.bits - 1)), (1 << (o.bits - 1)) - 1) if o.signed else (0, (1 << o.bits) - 1)
    relu = False
    if [o.qmin, o.qmax] != list(full):
        if o.qmax == full[1] and o.qmin == max(o.zero_point, full[0]):
            relu = True
        else:
            return None, f"clip {o.clip} has no Relu form"
    c = layer.channels
    f32 = np.float32
    bn = layer.bn
    inits = [numpy_helper.from_array(np.asarray(layer.input.scales(c), f32), "s_in"),
             numpy_helper.from_array(np.asarray(layer.input.zero_points(c), np.int32), "z_in"),
             numpy_helper.from_array(f32(o.scale), "s_out"),
             helper.make_tensor("z_out", getattr(TensorProto, tname), [], [o.zero_point])]
    for k in ("gamma", "beta", "mean", "var"):
        inits.append(numpy_helper.from_array(np.asarray(bn[k], f32), k))
    nodes = [helper.make_node("DequantizeLinear", ["acc", "s_in", "z_in"], ["x"], axis=1),
             helper.make_node("BatchNormalization", ["x", "gamma", "beta", "mean", "var"],
                              ["y"], epsilon=float(bn["eps"]))]
    t = "y"
    if relu:
        nodes.append(helper.make_node("Relu", ["y"], ["r"]))
        t = "r"
    nodes.append(helper.make_node("QuantizeLinear", [t, "s_out", "z_out"], ["q"]))
    shape = ["N", c]
    g = helper.make_graph(nodes, "bn", [helper.make_tensor_value_info(
        "acc", TensorProto.INT32, shape)], [helper.make_tensor_value_info(
            "q", getattr(TensorProto, tname), shape)], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)])
    flat = np.moveaxis(acc, 1, -1).reshape(-1, c).astype(np.int32)
    out = ReferenceEvaluator(model).run(None, {"acc": flat})[0].astype(np.int64)
    out = np.moveaxis(out.reshape(np.moveaxis(acc, 1, -1).shape), -1, 1)
    return out, "onnx.reference: DequantizeLinear -> BatchNormalization" + (
        " -> Relu" if relu else "") + " -> QuantizeLinear (float32)"


def _torch_layer_outputs(layer: Layer, acc: np.ndarray) -> tuple[np.ndarray | None, str]:
    """``torch.quantized_batch_norm`` on the accumulators (qint32 in, qint32 out, then the
    layer's clip), one channel at a time because its input scale is per tensor."""
    try:
        import warnings

        import torch
    except ImportError:
        return None, "torch not installed"
    if layer.bn is None:
        return None, "affine layer: not a BN"
    bn, o, c = layer.bn, layer.output, layer.channels
    scales, zps = layer.input.scales(c), layer.input.zero_points(c)
    out = np.empty_like(acc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quantized tensors are deprecated in torch 2.x
        for ch in range(c):
            x = torch.from_numpy(np.ascontiguousarray(acc[:, ch]).reshape(1, 1, -1).astype(
                np.int32))
            xq = torch._make_per_tensor_quantized_tensor(x, float(scales[ch]), int(zps[ch]))
            one = [torch.tensor([float(bn[k][ch])], dtype=torch.float32)
                   for k in ("gamma", "beta", "mean", "var")]
            y = torch.quantized_batch_norm(xq, *one, float(bn["eps"]), float(o.scale),
                                           int(o.zero_point))
            out[:, ch] = np.clip(y.int_repr().numpy().astype(np.int64).reshape(
                acc[:, ch].shape), o.qmin, o.qmax)
    return out, f"torch {torch.__version__} quantized_batch_norm (qint32 accumulators, " \
        "per channel), then the layer's clip"


def _range_sweep(layer: Layer) -> np.ndarray:
    """Every input of every channel's derived range, as a (count, C) array padded with lo."""
    rngs = layer.input.ranges(layer.channels)
    n = max(hi - lo + 1 for lo, hi in rngs)
    cols = [np.minimum(np.arange(lo, lo + n, dtype=np.int64), hi) for lo, hi in rngs]
    return np.stack(cols, axis=1)


def _solve_summary(solved: SolvedLayer) -> dict:
    return {"hw_rounding": solved.hw_rounding, "N": list(solved.N), "M": list(solved.M),
            "B": list(solved.B), "widths": solved.widths.to_json(),
            "exact_channels": int(sum(solved.exact)),
            "param_bits_per_channel": solved.widths.M + solved.widths.B + solved.widths.N}


def _naive(layer: Layer) -> dict:
    a, b = layer_affine(layer)
    o = layer.output
    rngs = layer.input.ranges(layer.channels)
    res = [naive_channel(float(a[c]), float(b[c]), o.rounding, o.qmin, o.qmax, *rngs[c])
           for c in range(layer.channels)]
    ns = [r.N for r in res]
    out: dict[str, Any] = {"N": ns, "exact_channels": sum(n is not None for n in ns)}
    if all(n is not None for n in ns):
        w_m = twos_width(*[r.M for r in res])
        w_b = twos_width(*[r.B for r in res])
        w_n = unsigned_width(max(ns))
        out.update(widths={"M": w_m, "B": w_b, "N": w_n, "n_max": max(ns)},
                   param_bits_per_channel=w_m + w_b + w_n)
    # Shared shift: the smallest N at which the naive rule is exact on every channel.
    refs = [reference_segments(float(a[c]), float(b[c]), o.rounding, o.qmin, o.qmax, *rngs[c])
            for c in range(layer.channels)]
    from .baselines import naive_params

    for n in range(0, 65):
        ok = True
        mb = []
        for c in range(layer.channels):
            m, bb = naive_params(float(a[c]), float(b[c]), o.rounding, n)
            cnt, _ = compare_segments(refs[c], model_segments(m, bb, n, "floor", o.qmin, o.qmax,
                                                              *rngs[c]))
            if cnt:
                ok = False
                break
            mb.append((m, bb))
        if ok:
            out["shared"] = {"N": n, "widths": {"M": twos_width(*[m for m, _ in mb]),
                                                 "B": twos_width(*[bb for _, bb in mb])}}
            break
    else:
        out["shared"] = None
    return out


def layer_experiment(layer: Layer, acc: np.ndarray | None = None) -> dict:
    """Everything the paper reports for one layer (see the module docstring)."""
    res: dict[str, Any] = {"name": layer.name, "channels": layer.channels,
                           "input_bits": layer.input.bits, "ranges": layer.input.ranges(
                               layer.channels), "output": layer.output.to_json()}
    variants = {"derived": layer, "full": full_range_layer(layer)}
    solved_pc = None
    for key, lay in variants.items():
        entry = {}
        for mode in ("per-channel", "shared"):
            s = solve_layer(lay, shift_mode=mode, hw_rounding="auto")
            entry[mode] = _solve_summary(s)
            if key == "derived" and mode == "per-channel":
                solved_pc = s
        entry["naive"] = _naive(lay)
        res[key] = entry
    d, nv = res["derived"]["per-channel"], res["derived"]["naive"]
    if "widths" in nv:
        res["bits_saved"] = {
            "N": nv["widths"]["n_max"] - d["widths"]["n_max"],
            "M": nv["widths"]["M"] - d["widths"]["M"],
            "B": nv["widths"]["B"] - d["widths"]["B"],
            "param_bits_per_channel": nv["param_bits_per_channel"] - d["param_bits_per_channel"],
            "N_per_channel": [n0 - n1 for n0, n1 in zip(nv["N"], d["N"], strict=True)],
        }
    # Exhaustive over the derived range: integer model vs exact, and the baselines.
    assert solved_pc is not None
    sweep = _range_sweep(layer)
    ex = exact_outputs(layer, sweep)
    res["sweep"] = {
        "inputs": int(sum(hi - lo + 1 for lo, hi in layer.input.ranges(layer.channels))),
        "integer_model_mismatches": int((model_outputs(solved_pc, sweep) != ex).sum()),
        "tflite_mismatches": int((tflite_outputs(layer, sweep) != ex).sum()),
        "float32_mismatches": int((float32_outputs(layer, sweep) != ex).sum()),
    }
    for key, fn in (("onnx_reference", _onnx_layer_outputs),
                    ("torch_quantized_batch_norm", _torch_layer_outputs)):
        got, note = fn(layer, sweep)
        res["sweep"][key] = {"note": note}
        if got is not None:
            res["sweep"][key].update(mismatches=int((got != ex).sum()),
                                     classified=_classify_all(layer, sweep, ex, got))
    if acc is not None:
        rngs = np.asarray(layer.input.ranges(layer.channels))
        lo, hi = _bcast(rngs[:, 0], acc), _bcast(rngs[:, 1], acc)
        ex = exact_outputs(layer, acc)
        tfl, f32 = tflite_outputs(layer, acc), float32_outputs(layer, acc)
        real = {"activations": int(acc.size),
                "outside_derived_range": int(((acc < lo) | (acc > hi)).sum()),
                "integer_model_mismatches": int((model_outputs(solved_pc, acc) != ex).sum()),
                "tflite_mismatches": int((tfl != ex).sum()),
                "float32_mismatches": int((f32 != ex).sum()),
                "float32_classified": _classify_all(layer, acc, ex, f32)}
        onnx_out, note = _onnx_layer_outputs(layer, acc)
        real["onnx_reference"] = {"note": note}
        if onnx_out is not None:
            real["onnx_reference"].update(
                mismatches=int((onnx_out != ex).sum()),
                classified=_classify_all(layer, acc, ex, onnx_out))
        t_out, note = _torch_layer_outputs(layer, acc)
        real["torch_quantized_batch_norm"] = {"note": note}
        if t_out is not None:
            real["torch_quantized_batch_norm"].update(
                mismatches=int((t_out != ex).sum()),
                classified=_classify_all(layer, acc, ex, t_out))
        res["real"] = real
    return res


def _accuracy(pred: np.ndarray, labels: np.ndarray) -> float:
    return float((pred == labels).mean())


def network_check(model: dict, layers: list[Layer], solved: list[SolvedLayer]) -> dict:
    """Exact network vs integer-model network (must be identical) and the float baselines."""
    net = DigitsNetwork(model)
    images = np.asarray(model["test"]["images"], dtype=np.int64).reshape(
        (-1, *model["test"]["shape"]))
    labels = np.asarray(model["test"]["labels"], dtype=np.int64)
    runs = {
        "exact": lambda k, acc: exact_outputs(layers[k], acc),
        "integer_model": lambda k, acc: model_outputs(solved[k], acc),
        "float32": lambda k, acc: float32_outputs(layers[k], acc),
        "tflite": lambda k, acc: tflite_outputs(layers[k], acc),
    }
    traces, preds = {}, {}
    for name, fn in runs.items():
        traces[name], logits = net.forward(images, fn)
        preds[name] = logits.argmax(axis=1)
    ex_tr = traces["exact"]
    out: dict[str, Any] = {"test_images": int(len(images)),
                           "activations": int(sum(q.size for _, q in ex_tr))}
    for name in runs:
        tr = traces[name]
        out[name] = {
            "accuracy": _accuracy(preds[name], labels),
            "activation_mismatches": int(sum((q != qe).sum() for (_, q), (_, qe) in
                                             zip(tr, ex_tr, strict=True))),
            "prediction_disagreements": int((preds[name] != preds["exact"]).sum()),
        }
    tref = model.get("torch_reference")
    if tref:
        tp = np.asarray(tref["float32_predictions"])
        out["torch_float32"] = {
            "accuracy": _accuracy(tp, labels),
            "prediction_disagreements": int((tp != preds["exact"]).sum()),
            "layer_mismatches": tref.get("float32_layer_mismatches"),
            "note": f"recorded by {model.get('generated_by')} with torch {model.get('torch')}",
        }
    out["onnx_reference"] = _onnx_network(model, images, preds["exact"], labels)
    out["_traces"] = ex_tr
    return out


def _onnx_network(model: dict, images: np.ndarray, exact_pred: np.ndarray,
                  labels: np.ndarray) -> dict:
    """The bundled QDQ ONNX model run by onnx.reference on the same test split."""
    try:
        from importlib import resources

        import onnx
        from onnx.reference import ReferenceEvaluator
    except ImportError:
        return {"note": "onnx not installed"}
    data = resources.files("exactbn.data").joinpath("digits_qdq.onnx").read_bytes()
    sess = ReferenceEvaluator(onnx.load_from_string(data))
    x = images.astype(np.float32) * np.float32(model["input"]["scale"])
    logits = sess.run(None, {"image": x})[0]
    pred = logits.argmax(axis=1)
    return {"accuracy": _accuracy(pred, labels),
            "prediction_disagreements": int((pred != exact_pred).sum()),
            "note": "exactbn/data/digits_qdq.onnx under onnx.reference (float32)"}


def _versions() -> dict:
    from importlib import metadata

    out = {}
    for pkg in ("exactbn", "numpy", "onnx", "torch"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def run_experiment(model: dict | None = None, progress=None,
                   layers: list[Layer] | None = None) -> dict:
    """The whole experiment on the bundled digits model; returns a JSON-able dict.

    ``layers`` (e.g. the ones ``exactbn import`` made from the ONNX file) replace the layers
    derived from the model JSON; they must describe the same BN steps in the same order.
    """
    t0 = time.time()
    model = model if model is not None else load_digits_model()
    if layers is None:
        layers = digits_layers(model).layers
    if len(layers) != len([s for s in model["layers"] if "bn" in s]):
        raise ValueError(f"{len(layers)} layers given for the model's BN steps")
    solved = [solve_layer(lay, shift_mode="per-channel", hw_rounding="auto") for lay in layers]
    if progress:
        progress("network check (exact, integer model, float32, TFLite)")
    net = network_check(model, layers, solved)
    traces = net.pop("_traces")
    per_layer = []
    for lay, (acc, _) in zip(layers, traces, strict=True):
        if progress:
            progress(f"layer {lay.name}")
        per_layer.append(layer_experiment(lay, acc))
    return {"environment": _versions(),
            "model": {"source": "exactbn/data/digits_model.json",
                      "generated_by": model.get("generated_by"), "torch": model.get("torch"),
                      "seed": model.get("seed")},
            "layers": per_layer, "network": net, "seconds": round(time.time() - t0, 2)}


def all_exact(result: dict) -> bool:
    """True when every exactness check of the experiment holds (the demo's exit status)."""
    net = result["network"]
    ok = (net["integer_model"]["activation_mismatches"] == 0
          and net["integer_model"]["prediction_disagreements"] == 0)
    for lay in result["layers"]:
        ok &= lay["sweep"]["integer_model_mismatches"] == 0
        ok &= lay["derived"]["per-channel"]["exact_channels"] == lay["channels"]
        if "real" in lay:
            ok &= lay["real"]["integer_model_mismatches"] == 0
            ok &= lay["real"]["outside_derived_range"] == 0
    return bool(ok)


def _fmt_ns(ns) -> str:
    vals = [n for n in ns if n is not None]
    miss = len(ns) - len(vals)
    s = f"{min(vals)}-{max(vals)} (median {float(np.median(vals)):g})" if vals else "none"
    return s + (f", {miss} none" if miss else "")


def render_markdown(result: dict) -> str:
    """The experiment's tables as Markdown (the numbers of ``run_experiment``)."""
    lines = ["## Layer-level experiment (digits CNN)", "",
             "Command: `python -m exactbn.golden.experiment -o DIR` (also part of `make demo`).",
             "", "### Minimal N and widths: exact solver vs naive rounding", "",
             "| layer | ch | range | mode | N per channel | W_M | W_B | W_N | n_max "
             "| param bits/ch | naive N per channel | naive W_M | naive W_B | naive bits/ch |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for lay in result["layers"]:
        for key in ("derived", "full"):
            e = lay[key]
            nv = e["naive"]
            for mode in ("per-channel", "shared"):
                s = e[mode]
                w = s["widths"]
                if mode == "per-channel":
                    nw = nv.get("widths", {})
                    naive_cols = (f"{_fmt_ns(nv['N'])} | {nw.get('M', '-')} | {nw.get('B', '-')} "
                                  f"| {nv.get('param_bits_per_channel', '-')}")
                else:
                    sh = nv.get("shared")
                    naive_cols = ("none | - | - | -" if sh is None else
                                  f"{sh['N']} | {sh['widths']['M']} | {sh['widths']['B']} | "
                                  f"{sh['widths']['M'] + sh['widths']['B']}")
                rng = "derived" if key == "derived" else f"full int{FULL_BITS}"
                lines.append(f"| {lay['name']} | {lay['channels']} | {rng} | {mode} | "
                             f"{_fmt_ns(s['N'])} | {w['M']} | {w['B']} | {w['N']} | "
                             f"{w['n_max']} | {s['param_bits_per_channel']} | {naive_cols} |")
    lines += ["", "### Bits saved against the naive rule (derived range, per-channel shift)", "",
              "| layer | N (n_max) | W_M | W_B | parameter bits per channel |",
              "|---|---|---|---|---|"]
    for lay in result["layers"]:
        bs = lay.get("bits_saved")
        if bs:
            lines.append(f"| {lay['name']} | {bs['N']} | {bs['M']} | {bs['B']} | "
                         f"{bs['param_bits_per_channel']} |")
    def cls_col(d: dict) -> str:
        if "mismatches" not in d:
            return d.get("note", "-")
        cls = d.get("classified") or {}
        return f"{d['mismatches']}" + (" (" + ", ".join(f"{k}: {v}" for k, v in cls.items())
                                       + ")" if cls else "")

    for title, key, count in (("every input of every channel's derived range", "sweep",
                               "inputs"),
                              ("the real test-image activations", "real", "activations")):
        lines += ["", f"### Mismatches against the exact reference: {title}", "",
                  f"| layer | {count} | integer model (exactbn) | TFLite-style | float32 "
                  "(golden baseline) | onnx.reference | torch.quantized_batch_norm |",
                  "|---|---|---|---|---|---|---|"]
        for lay in result["layers"]:
            r = lay.get(key)
            if not r:
                continue
            f32 = r["float32_mismatches"]
            if key == "real" and r.get("float32_classified"):
                f32 = cls_col({"mismatches": f32, "classified": r["float32_classified"]})
            lines.append(
                f"| {lay['name']} | {r[count]} | {r['integer_model_mismatches']} | "
                f"{r['tflite_mismatches']} | {f32} | {cls_col(r.get('onnx_reference', {}))} | "
                f"{cls_col(r.get('torch_quantized_batch_norm', {}))} |")
    lines += ["", "Test activations outside the derived range: "
              + ", ".join(f"{lay['name']} {lay['real']['outside_derived_range']}"
                          for lay in result["layers"] if "real" in lay) + ".",
              "Disagreements are classified exactly: 'exact tie' = a*x + b on a rounding "
              "boundary; 'float32 near-tie' = within 2^-16 of one; 'other' = a real error."]
    net = result["network"]
    lines += ["", "### Network level (whole test split)", "",
              f"{net['test_images']} test images, {net['activations']} BN activations per "
              "network.", "",
              "| network | accuracy | activations differing from exact | predictions differing "
              "from exact |", "|---|---|---|---|"]
    for name in ("exact", "integer_model", "float32", "tflite"):
        n = net[name]
        lines.append(f"| {name} | {n['accuracy']:.4f} | {n['activation_mismatches']} | "
                     f"{n['prediction_disagreements']} |")
    if "torch_float32" in net:
        t = net["torch_float32"]
        lines.append(f"| torch float32 ({t['note']}) | {t['accuracy']:.4f} | - | "
                     f"{t['prediction_disagreements']} |")
    ox = net.get("onnx_reference", {})
    if "accuracy" in ox:
        lines.append(f"| onnx.reference QDQ model | {ox['accuracy']:.4f} | - | "
                     f"{ox['prediction_disagreements']} |")
    env = result.get("environment", {})
    lines += ["", f"All exactness checks hold: **{'yes' if all_exact(result) else 'NO'}**", "",
              "Versions: " + ", ".join(f"{k} {v or 'not installed'}" for k, v in env.items())
              + f"; {result.get('seconds')} s.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from pathlib import Path

    from exactbn.formats import write_json_atomic, write_text_atomic

    ap = argparse.ArgumentParser(description="Layer-level experiment on the digits CNN")
    ap.add_argument("-o", "--out", default="bench/results", help="output directory")
    args = ap.parse_args(argv)
    res = run_experiment(progress=lambda s: print(s, flush=True))
    out = Path(args.out)
    write_json_atomic(out / "experiment.json", res)
    write_text_atomic(out / "experiment.md", render_markdown(res))
    print(render_markdown(res))
    return 0 if all_exact(res) else 1


if __name__ == "__main__":
    raise SystemExit(main())
