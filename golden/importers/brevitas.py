"""Brevitas front end: its exports import through the ONNX importer; this runs the module.

Brevitas (``brevitas.export.export_qonnx`` / ``export_onnx_qcdq``) writes QONNX ``Quant``
nodes or QuantizeLinear-Clip-DequantizeLinear; both are read by :mod:`.onnx_import`.
:func:`brevitas_layer_data` executes the Brevitas module itself in PyTorch and returns, per
layer, the integer accumulator (the quantized input times the integer weights, exact) and
the integer activation Brevitas produces after the BN, for :func:`.agreement.compare_layer`.
"""

from __future__ import annotations

import numpy as np

from .agreement import int_conv

__all__ = ["brevitas_layer_data", "quant_ints"]


def quant_ints(t) -> np.ndarray:
    """The integers of a Brevitas QuantTensor (``return_quant_tensor=True``)."""
    if not hasattr(t, "int"):
        raise TypeError("expected a Brevitas QuantTensor: build the quantizer with "
                        "return_quant_tensor=True")
    return t.int().detach().cpu().numpy().astype(np.int64)


def _zero_point(t) -> np.ndarray:
    return np.rint(t.zero_point.detach().cpu().numpy()).astype(np.int64)


def _int_weights(layer) -> np.ndarray:
    return layer.quant_weight().int().detach().cpu().numpy().astype(np.int64)


def brevitas_layer_data(module, layers, inputs) -> list[tuple[np.ndarray, np.ndarray]]:
    """(accumulator, Brevitas output integers) per layer on ``inputs`` (a tensor batch).

    ``layers`` lists ``(input_quant, conv_or_linear, output_quant)`` modules of ``module``:
    the quantizer whose QuantTensor enters the QuantConv/QuantLinear, the layer itself, and
    the QuantReLU/QuantIdentity after its BN (both with ``return_quant_tensor=True``). A
    quantized bias (``bias_quant=Int32Bias``) is in the accumulator, as the importer puts
    it; a float bias joins the BN (or the affine b) as a real value.
    """
    import torch

    seen: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    hooks = []
    for mod in {id(m): m for trio in layers for m in (trio[0], trio[2])}.values():
        hooks.append(mod.register_forward_hook(
            lambda m, _i, out: seen.__setitem__(id(m), (quant_ints(out), _zero_point(out)))))
    for _, lay, _ in layers:  # a quantized bias (e.g. Int32Bias) is part of the accumulator
        proxy = getattr(lay, "bias_quant", None)
        if lay.bias is not None and proxy is not None and proxy.is_quant_enabled:
            hooks.append(proxy.register_forward_hook(
                lambda m, _i, out: seen.__setitem__(id(m), (quant_ints(out), _zero_point(out)))))
    try:
        module.eval()
        with torch.no_grad():
            module(inputs)
    finally:
        for h in hooks:
            h.remove()
    out = []
    for q_in, lay, q_out in layers:
        w = _int_weights(lay)
        x, z_x = seen[id(q_in)]
        if z_x.size != 1:
            raise ValueError("per-channel input zero point: not a per-tensor activation")
        x = x - int(z_x.reshape(-1)[0])
        if w.ndim == 2:
            acc = int_conv(x.reshape(x.shape[0], -1), w)
        else:
            acc = int_conv(x, w, stride=lay.stride, padding=lay.padding,
                           dilation=lay.dilation, groups=lay.groups)
        bias = seen.get(id(getattr(lay, "bias_quant", None)))
        if bias is not None:
            b = (bias[0] - bias[1]).reshape(-1)
            acc = acc + b.reshape((1, -1) + (1,) * (acc.ndim - 2))
        out.append((acc, seen[id(q_out)][0]))
    return out
