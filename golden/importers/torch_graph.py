"""torch.ao prepared models (eager or FX, QAT or PTQ) read along their traced data flow.

The model is traced with ``torch.fx`` (an FX-prepared ``GraphModule`` already is a graph):
the layers are found from the real users of each tensor, never from the order in which
modules were registered (torchvision's quantizable models register their QuantStub last, and
a downsample conv reads the block input, not the previous conv's output). A tensor's
quantization is the observer / fake quantizer applied to it: an observer node in the graph
(FX), or the ``activation_post_process`` eager mode hooks onto the module that produced it;
max/avg pooling, ReLU, flatten/reshape and dropout keep the quantization of their input.

Layers:

* fused QAT ``ConvBn*``/``ConvBnReLU*``/``LinearBn1d``: BN folded into the weights, an affine
  requantization (see :func:`.torch_observers._fused_layer`);
* ``Conv/Linear -> (observed) -> BatchNorm [-> ReLU]``: a BN layer on the quantized tensor;
* a conv/linear with nothing to fold (``fuse_model()`` for PTQ already folded BN, QAT
  ``Conv2d``/``ConvReLU2d``): the requantization after it is the layer (``affine``), its
  weights quantized by its weight fake quantizer or, in PTQ, by ``qconfig.weight()`` exactly
  as ``convert`` will.

A module whose input quantization cannot be determined is refused, naming it (never
guessed); modules the data flow never reaches (e.g. an unused ``skip_add``) are ignored.
"""

from __future__ import annotations

import numpy as np

from exactbn.formats import FormatError

from .common import ImportedLayer, ImportResult, Overrides, finish
from .torch_observers import (
    ActQuant,
    _bn_dict,
    _fused_layer,
    _fused_types,
    _input_override,
    _is_observer,
    _output,
    observer_quant,
)

__all__ = ["import_prepared_module", "traced_graph"]

_KEEP_MODULES = ("MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d",
                 "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "ReLU", "ReLU6", "Identity",
                 "Dropout", "Flatten")
_KEEP_FUNCS = ("flatten", "reshape", "view", "relu", "relu_", "max_pool2d",
               "adaptive_avg_pool2d", "avg_pool2d", "dropout", "contiguous", "squeeze")


def traced_graph(module):
    """``(graph, modules)``: the FX graph of ``module`` (observers, stubs, fused modules as
    leaves; eager hooks are not traced, their observers are found on the modules)."""
    import torch

    if isinstance(module, torch.fx.GraphModule):
        return module.graph, dict(module.named_modules(remove_duplicate=False))

    class _Tracer(torch.fx.Tracer):
        def is_leaf_module(self, m, qualname):
            if _is_observer(m) or type(m).__name__ in ("QuantStub", "DeQuantStub"):
                return True
            if type(m) in (torch.nn.Sequential, torch.nn.ModuleList, torch.nn.ModuleDict):
                return False
            return type(m).__module__.startswith(("torch.nn.", "torch.ao.nn."))

    try:
        graph = _Tracer().trace(module)
    except Exception as e:
        raise FormatError(f"cannot follow the model's data flow: torch.fx could not trace it "
                          f"({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''})"
                          "; only traceable models are read (never module order)",
                          layer=type(module).__name__) from None
    return graph, dict(module.named_modules(remove_duplicate=False))


class _Flow:
    """Quantization of every value of the graph, found along the data flow."""

    def __init__(self, graph, modules):
        self.graph, self.mods = graph, modules
        self.memo: dict = {}

    def mod(self, n):
        return self.mods.get(n.target) if n.op == "call_module" else None

    def is_obs(self, n) -> bool:
        m = self.mod(n)
        return m is not None and _is_observer(m)

    def own(self, n) -> ActQuant | None:
        """The quantization applied to ``n``'s output right where it is produced."""
        m = self.mod(n)
        if m is None:
            return None
        if _is_observer(m):
            return observer_quant(m, str(n.target))
        app = getattr(m, "activation_post_process", None)
        if app is not None and _is_observer(app):  # eager mode: a hook applies it
            return observer_quant(app, f"{n.target}.activation_post_process")
        return None

    def keeps(self, n) -> bool:
        m = self.mod(n)
        if m is not None:
            return type(m).__name__ in _KEEP_MODULES
        name = getattr(n.target, "__name__", str(n.target))
        return n.op in ("call_function", "call_method") and name in _KEEP_FUNCS

    def quant(self, n) -> ActQuant | None:
        """The quantization of value ``n`` (None: not a quantized tensor)."""
        if n in self.memo:
            return self.memo[n]
        q = self.own(n)
        if q is None and self.keeps(n) and n.args and hasattr(n.args[0], "op"):
            q = self.quant(n.args[0])
        self.memo[n] = q
        return q

    def user(self, n):
        """The single user of ``n`` (observer nodes skipped), or None."""
        users = list(n.users)
        while len(users) == 1 and (self.is_obs(users[0]) or
                                   type(self.mod(users[0])).__name__ == "Identity"):
            users = list(users[0].users)  # what fusion leaves in place of BN/ReLU: skipped
        return users[0] if len(users) == 1 else None

    def output(self, n):
        """(quantization of n's output, a ReLU/ReLU6 that folds into the clip, or None)."""
        q = self.own(n)
        if q is None:
            users = list(n.users)
            if len(users) == 1 and self.is_obs(users[0]):
                q = self.own(users[0])
        u = self.user(n)  # a ReLU right after keeps the quantization: folds into the clip
        m = self.mod(u) if u is not None else None
        relu = None
        if m is not None and type(m).__name__ in ("ReLU", "ReLU6"):
            relu = m
        elif u is not None and getattr(u.target, "__name__", "") in ("relu", "relu_"):
            relu = _relu_stub()
        if q is None and relu is not None:
            q = self.output(u)[0]
        return q, relu


def _relu_stub():
    from .torch_observers import _ReLU

    return _ReLU()


def _ptq_weight(m, where: str):
    """Weight observer of a PTQ-prepared conv/linear: ``qconfig.weight()`` run on it."""
    qc = getattr(m, "qconfig", None)
    if qc is None:
        raise FormatError("no weight_fake_quant and no qconfig: the weights' quantization is "
                          "unknown", layer=where, field="qconfig")
    obs = qc.weight()
    obs(m.weight.detach())
    return obs


def _affine_conv(name, m, xq, yq, relu, ov) -> ImportedLayer:
    """A conv/linear with BN already folded (or none): its requantization, affine."""
    import torch

    from . import torch_observers as to

    inner = m[0] if isinstance(m, torch.nn.Sequential) else m  # nni.ConvReLU2d
    if relu is None and (isinstance(m, torch.nn.Sequential) or "ReLU" in type(m).__name__):
        relu = _relu_stub()  # nni.ConvReLU2d / nniqat.ConvReLU2d / LinearReLU
    if getattr(inner, "weight_fake_quant", None) is None:
        inner = _WithObserver(inner, _ptq_weight(inner, name))
    w = inner.weight.detach().cpu().numpy().astype(np.float32)
    w_int, s_w = to._weight_int(inner, w, name)
    bias = inner.bias.detach().cpu().numpy().astype(np.float64) if inner.bias is not None \
        else np.zeros(len(s_w))
    s_acc = xq.scale * s_w
    from .common import acc_input_spec, accumulator_range, affine_layer_ab

    ranges = accumulator_range(w_int, xq.qmin - xq.zero_point, xq.qmax - xq.zero_point, None,
                               include_zero=w.ndim > 2)
    notes = [f"{w_int.shape[1]} int weights per channel; float bias (fbgemm adds it in "
             f"float); input {'int' if xq.signed else 'uint'}{xq.bits} from {xq.where}"]
    out = _output(yq, relu, name, ov, notes)
    a, b = affine_layer_ab([float(v) for v in s_acc], bias.tolist(), out["scale"],
                           out["zero_point"])
    layer = {"name": name, "input": acc_input_spec(name, ranges, [float(v) for v in s_acc], ov),
             "output": out, "affine": {"a": a, "b": b}}
    return ImportedLayer(layer, f"torch.ao: {type(m).__name__} requantization (no BN left)",
                         notes)


class _WithObserver:
    """A conv/linear seen with the weight observer ``convert`` would create for it."""

    def __init__(self, m, obs):
        self.weight, self.bias, self.weight_fake_quant = m.weight, m.bias, obs


def import_prepared_module(module, overrides: Overrides | None = None) -> ImportResult:
    """Import every BN / requantization of a torch.ao-prepared model along its data flow."""
    import torch
    import torch.ao.nn.intrinsic as nni
    import torch.ao.nn.intrinsic.qat as nniqat

    ov = overrides or Overrides()
    graph, mods = traced_graph(module)
    flow = _Flow(graph, mods)
    fused = _fused_types(nniqat)
    convs = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.Linear,
             nni.ConvReLU1d, nni.ConvReLU2d, nni.ConvReLU3d, nni.LinearReLU)
    bns = torch.nn.modules.batchnorm._BatchNorm
    imported: list[ImportedLayer] = []
    skipped: list[str] = []

    def input_of(n, name):
        x = n.args[0]
        xq = _input_override(flow.quant(x), ov, not imported)
        if xq is None:
            raise FormatError(f"missing scales: the input of this module ({x.name}) is not a "
                              "quantized tensor (no QuantStub/observer on the path to it); give "
                              "--input-scale and --input-bits", layer=name, field="input.scale")
        return xq

    for n in graph.nodes:
        m = flow.mod(n)
        if m is None or _is_observer(m):
            continue
        name = str(n.target)
        if isinstance(m, fused):
            yq, relu = flow.output(n)
            imported.append(_fused_layer(name, m, input_of(n, name), yq, ov, relu))
        elif isinstance(m, bns):
            src = n.args[0]
            conv = src.args[0] if flow.is_obs(src) else src
            if flow.mod(conv) is None or not isinstance(flow.mod(conv), convs):
                raise FormatError("unsupported layer: BatchNorm with no Conv/Linear right "
                                  "before it", layer=name)
            xq = _input_override(flow.quant(src), ov, not imported)
            if xq is None:
                raise FormatError(f"missing scales: {conv.target!r} has no activation_post_"
                                  "process (its output, the BN input, is not quantized); give "
                                  "--input-scale and --input-bits", layer=name,
                                  field="input.scale")
            yq, relu = flow.output(n)
            notes = [f"input {'int' if xq.signed else 'uint'}{xq.bits} [{xq.qmin}, {xq.qmax}] "
                     f"zp {xq.zero_point} from {xq.where}"]
            out = _output(yq, relu, name, ov, notes)
            layer = {"name": name, "input": {"bits": xq.bits, "signed": xq.signed,
                                             "scale": xq.scale, "zero_point": xq.zero_point,
                                             "range": [xq.qmin, xq.qmax]},
                     "output": out, "bn": _bn_dict(m)}
            imported.append(ImportedLayer(layer, f"torch.ao: {conv.target} (quantized output)"
                                          f"+BatchNorm{'+' + type(relu).__name__ if relu else ''}",
                                          notes))
        elif isinstance(m, convs):
            u = flow.user(n)
            if u is not None and isinstance(flow.mod(u), bns):
                continue  # the BN is the layer
            yq, relu = flow.output(n)
            if yq is None:
                skipped.append(f"{name!r}: its output is not quantized (no observer follows)")
                continue
            if flow.quant(n.args[0]) is None and ov.input_scale is None:
                skipped.append(f"{name!r}: its input is not quantized")
                continue
            imported.append(_affine_conv(name, m, input_of(n, name), yq, relu, ov))
    src = f"pytorch:{type(module).__name__} (torch.ao prepared, traced data flow)"
    return finish(src, imported, skipped, ov)
