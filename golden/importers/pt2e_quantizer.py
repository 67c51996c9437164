"""A static int8 PT2E quantizer that quantizes every conv/linear output (torchao public API).

torchao's ``X86InductorQuantizer`` fuses ``conv -> add [-> relu]`` (the conv's output is
added in float and only the sum is quantized), so the BN folded into such a conv has no
requantization of its own, and with torch 2.13 / torchao 0.18 it fails on ResNet-18
("Input partition has more than one output node"). ``PerLayerInt8Quantizer`` is written with
torchao's public ``Quantizer`` API and the X86 default specs (uint8 per-tensor activations,
HistogramObserver for PTQ / FusedMovingAvgObsFakeQuantize for QAT, int8 symmetric per-channel
weights, float bias) but annotates each ``conv/linear [-> batch_norm] [-> relu|hardtanh]``
output, and each ``add [-> relu]``'s inputs and output: every BN then ends in its own
``quantize_per_tensor``, which is what an integer BN unit implements.
"""

from __future__ import annotations

__all__ = ["PerLayerInt8Quantizer"]


class _Lazy(type):
    """Build the real class (a torchao ``Quantizer`` subclass) on first use."""

    def __call__(cls, *args, **kwargs):
        return _make()(*args, **kwargs)


def _make():
    import operator

    import torch
    from torchao.quantization.pt2e.quantizer import QuantizationAnnotation, Quantizer
    from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
        get_default_x86_inductor_quantization_config,
    )

    a = torch.ops.aten
    lin = {a.conv1d.default, a.conv2d.default, a.conv3d.default, a.linear.default}
    bns = {a.batch_norm.default, a._native_batch_norm_legit_no_training.default,
           a._native_batch_norm_legit.default, a.cudnn_batch_norm.default}
    acts = {a.relu.default, a.relu_.default, a.hardtanh.default, a.hardtanh_.default}
    adds = {a.add.Tensor, a.add_.Tensor}

    def only_user(n):
        users = list(n.users)
        if len(users) != 1:
            return None
        u = users[0]
        if u.op == "call_function" and u.target is operator.getitem and u.args[1] == 0:
            return only_user(u) if n.target in bns else u
        return u

    def is_float(x):
        v = getattr(x, "meta", {}).get("val")
        return isinstance(x, torch.fx.Node) and v is not None and v.dtype.is_floating_point

    def mark(node, inputs=None, output=None):
        node.meta["quantization_annotation"] = QuantizationAnnotation(
            input_qspec_map=inputs or {}, output_qspec=output, _annotated=True)

    class PerLayerInt8Quantizer(Quantizer):
        """Quantize every conv/linear (+BN, +ReLU) and add output; see the module docstring."""

        def __init__(self, is_qat: bool = False):
            super().__init__()
            self.config = get_default_x86_inductor_quantization_config(is_qat=is_qat)

        def annotate(self, model):
            act, wq = self.config.input_activation, self.config.weight
            for n in list(model.graph.nodes):
                if n.op != "call_function" or "quantization_annotation" in n.meta:
                    continue
                if n.target in adds and not all(is_float(x) for x in n.args[:2]):
                    continue  # e.g. BN's num_batches_tracked += 1
                if n.target in lin or n.target in adds:
                    ins = ({n.args[0]: act, n.args[1]: wq} if n.target in lin else
                           {x: act for x in n.args[:2] if isinstance(x, torch.fx.Node)})
                    chain, last = [], n
                    u = only_user(last)
                    if n.target in lin and u is not None and u.target in bns:
                        chain.append(u)
                        last = u
                        u = only_user(last)
                    if u is not None and u.target in acts:
                        chain.append(u)
                        last = u
                    mark(n, ins, act if last is n else None)
                    for c in chain:
                        if c is last:
                            mark(c, None, act)
                        else:
                            mark(c)
                    if last is not n and last.target in bns:
                        for g in last.users:  # _native_batch_norm's getitem
                            if g.target is operator.getitem:
                                mark(g, None, act)
                                last.meta["quantization_annotation"].output_qspec = None
            return model

        def validate(self, model) -> None:
            return None

    return PerLayerInt8Quantizer


class PerLayerInt8Quantizer(metaclass=_Lazy):
    """Lazy stand-in: ``PerLayerInt8Quantizer(is_qat=False)`` builds the torchao quantizer."""
