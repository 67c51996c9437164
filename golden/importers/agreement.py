"""Framework agreement: each imported layer against the framework's own quantized execution.

For a layer, the framework's integer input (the activation entering the conv/linear, minus
its zero point) gives the accumulator exactly (integer convolution, float64 arithmetic below
2^53); the exact reference (``golden/reference.py``) and the integer model
(``golden/model.py``, the solved M, B, N) on that accumulator are compared with the
framework's integer output. Every difference is classified (``classify_disagreement``:
"exact tie", "float32 near-tie" or "other", a real error).
"""

from __future__ import annotations

import numpy as np

from exactbn.formats import Layer, SolvedLayer

from ..experiment import classify_disagreement, exact_outputs, model_outputs
from ..solver import layer_affine

__all__ = ["compare_layer", "pt2e_layer_data", "int_conv"]


def _classify(layer: Layer, acc: np.ndarray, q_ref: np.ndarray, q_other: np.ndarray,
              limit: int = 20000) -> dict[str, int]:
    a, b = layer_affine(layer)
    idx = np.argwhere(q_ref != q_other)
    out: dict[str, int] = {}
    for p in idx[:limit]:
        k = classify_disagreement(float(a[p[1]]), float(b[p[1]]), int(acc[tuple(p)]),
                                  layer.output.rounding, int(q_ref[tuple(p)]),
                                  int(q_other[tuple(p)]))
        out[k] = out.get(k, 0) + 1
    if len(idx) > limit:
        out["other"] = out.get("other", 0) + int(len(idx) - limit)  # unclassified counts as bad
    return out


def compare_layer(layer: Layer, acc: np.ndarray, q_framework: np.ndarray,
                  solved: SolvedLayer | None = None) -> dict:
    """Counts of framework outputs differing from the exact reference (and integer model)."""
    acc = np.asarray(acc, dtype=np.int64)
    q_framework = np.asarray(q_framework, dtype=np.int64)
    ex = exact_outputs(layer, acc)
    row = {"layer": layer.name, "outputs": int(ex.size),
           "differ_exact": int(np.count_nonzero(ex != q_framework)),
           "classified": _classify(layer, acc, ex, q_framework)}
    if solved is not None:
        mo = model_outputs(solved, acc)
        row["model_vs_exact"] = int(np.count_nonzero(mo != ex))
        row["differ_model"] = int(np.count_nonzero(mo != q_framework))
    lo, hi = np.asarray(layer.input.ranges(layer.channels)).T
    ch = acc.reshape(acc.shape[0], acc.shape[1], -1)
    row["acc_outside_range"] = int(np.count_nonzero((ch < lo[None, :, None]) |
                                                    (ch > hi[None, :, None])))
    return row


def int_conv(x: np.ndarray, w: np.ndarray, *, stride=1, padding=0, dilation=1,
             groups: int = 1) -> np.ndarray:
    """Exact integer conv (or linear for 2-D x) of int arrays, via float64 below 2^53."""
    import torch

    bound = int(np.abs(x).max(initial=0)) * int(np.abs(w).max(initial=0)) * max(
        1, int(np.prod(w.shape[1:])))
    if bound >= 1 << 53:
        raise ValueError("accumulator beyond 2^53: not exact in float64")
    xt, wt = torch.from_numpy(x.astype(np.float64)), torch.from_numpy(w.astype(np.float64))
    if x.ndim == 2:
        y = xt @ wt.T
    else:
        f = {3: torch.nn.functional.conv1d, 4: torch.nn.functional.conv2d,
             5: torch.nn.functional.conv3d}[x.ndim]
        y = f(xt, wt, None, stride, padding, dilation, groups)
    return y.numpy().astype(np.int64)


def _conv_kwargs(n) -> dict:
    import torch

    a = list(n.args) + [None] * 9
    if n.target == torch.ops.aten.linear.default:
        return {}
    if n.target == torch.ops.aten.convolution.default:
        return {"stride": a[3], "padding": a[4], "dilation": a[5], "groups": a[8]}
    return {"stride": a[3] if a[3] is not None else 1, "padding": a[4] if a[4] is not None
            else 0, "dilation": a[5] if a[5] is not None else 1,
            "groups": a[6] if a[6] is not None else 1}


def pt2e_layer_data(gm, result, inputs) -> list[tuple[np.ndarray, np.ndarray]]:
    """(accumulator, framework output integers) per imported layer of a converted graph.

    Runs ``gm`` on ``inputs`` (a tuple of tensors) with ``torch.fx.Interpreter`` and keeps
    the integer tensors entering each layer's conv/linear and leaving its quantize node.
    """
    import torch

    from .pt2e import _const

    gm = gm.module() if hasattr(gm, "graph_signature") else gm
    by_name = {n.name: n for n in gm.graph.nodes}
    want: dict[str, str] = {}
    for imp in result.imported:
        conv = by_name[imp.nodes[0]]
        want[conv.args[0].args[0].name] = "x"  # the integer tensor the dequantize reads
        want[imp.nodes[1]] = "q"
    seen: dict[str, np.ndarray] = {}

    class Rec(torch.fx.Interpreter):
        def run_node(self, n):
            v = super().run_node(n)
            if n.name in want:
                seen[n.name] = v.detach().cpu().numpy().astype(np.int64)
            return v

    with torch.no_grad():
        Rec(gm).run(*inputs)
    out = []
    for imp in result.imported:
        conv = by_name[imp.nodes[0]]
        dq = conv.args[0]
        z_x = int(_const(gm, dq.args[2], "zero_point", dq).reshape(-1)[0])
        wdq = conv.args[1]
        q_w = _const(gm, wdq.args[0], "weight", conv).astype(np.int64)
        c = q_w.shape[0]
        z_w = np.broadcast_to(_const(gm, wdq.args[2], "zp", conv).astype(np.int64).reshape(-1),
                              (c,))
        w_int = q_w - z_w.reshape((c,) + (1,) * (q_w.ndim - 1))
        acc = int_conv(seen[dq.args[0].name] - z_x, w_int, **_conv_kwargs(conv))
        out.append((acc, seen[imp.nodes[1]]))
    return out
