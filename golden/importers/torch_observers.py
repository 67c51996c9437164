"""Observers and fake quantizers of a torch.ao-prepared model (eager or FX, QAT or PTQ).

:mod:`.torch_graph` walks the model's traced data flow and uses these helpers. Each
``activation_post_process`` (a FakeQuantize, or an observer whose ``calculate_qparams`` is
called) gives a quantized activation: scale, zero point and the range ``[quant_min,
quant_max]`` (what the fake quantizer clamps to; the bit width is the smallest holding it;
with ``reduce_range`` the dtype's full range, which the converted kernels clamp to).

Two patterns:

* **Unfused** (``Conv/Linear -> BatchNorm -> [ReLU]``): eager mode quantizes the conv's output
  (its own ``activation_post_process``), so the BN's input is that quantized tensor and its
  output is the BN's ``activation_post_process``. A ``ReLU``/``ReLU6`` module right after the
  BN folds into the clip.
* **Fused** QAT modules (``torch.ao.nn.intrinsic.qat`` ConvBn*/ConvBnReLU*/LinearBn1d): BN is
  folded into the weights, so the layer is the requantization of the accumulator ("beyond
  BN", an ``affine`` layer): integer weights ``clamp(round(w*g/s_w) + z_w) - z_w`` with
  ``g = gamma/sqrt(var+eps)`` from the weight fake quantizer, the input quantization from the
  module before it, the folded bias ``beta - g*mean (+ g*bias)`` as an int32 in units of
  ``s_x*s_w[c]`` (rounded half to even, as a converter does), the output from the module's
  own ``activation_post_process``; the ReLU of ConvBnReLU (or a ReLU module right after)
  folds into the clip. (Eager mode does not observe an unfused BatchNorm1d: fuse Linear+BN
  into LinearBn1d, or give the output flags.)

Rounding is half to even (PyTorch's quantize). Flags override: ``--output-*``/``--rounding``
every layer's output, ``--input-*`` the first layer's input. Uncalibrated observers (min/max
still +-inf) and unsupported structures raise FormatError naming the layer and field.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from exactbn.formats import FormatError, twos_width, unsigned_width

from .common import (
    ImportedLayer,
    Overrides,
    acc_input_spec,
    accumulator_range,
    affine_layer_ab,
    clip_from_real,
    int_range,
)

__all__ = ["is_prepared", "ActQuant", "observer_quant"]


@dataclass
class ActQuant:
    """A quantized activation as the fake quantizer defines it."""

    scale: float
    zero_point: int
    qmin: int
    qmax: int
    where: str

    @property
    def signed(self) -> bool:
        return self.qmin < 0

    @property
    def bits(self) -> int:
        return twos_width(self.qmin, self.qmax) if self.signed else unsigned_width(self.qmax)


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def _is_observer(m) -> bool:
    from torch.ao.quantization.fake_quantize import FakeQuantizeBase
    from torch.ao.quantization.observer import ObserverBase

    return isinstance(m, (FakeQuantizeBase, ObserverBase))


def is_prepared(module) -> bool:
    """True when the module carries torch.ao observers or fake quantizers."""
    return any(_is_observer(m) for m in module.modules())


def _check_calibrated(obs, where: str) -> None:
    inner = getattr(obs, "activation_post_process", obs)
    lo = getattr(inner, "min_val", None)
    if lo is not None and (lo.numel() == 0 or not bool(_isfinite(lo).all())):
        raise FormatError("observer was never calibrated (min_val/max_val still +-inf, scale "
                          "the default); run calibration batches (PTQ) or training (QAT) "
                          "before importing", layer=where, field="activation_post_process")


def _isfinite(t):
    import torch

    return torch.isfinite(t)


def _qparams(obs, where: str) -> tuple[np.ndarray, np.ndarray]:
    _check_calibrated(obs, where)
    # What torch.ao's convert uses (get_qconv, _quantize_weight): a FakeQuantize's own
    # ``scale`` buffer can lag its observer by one update (0.4 % off on QAT weights).
    s, z = obs.calculate_qparams()
    return (_np(s).astype(np.float64).reshape(-1), _np(z).astype(np.int64).reshape(-1))


def observer_quant(obs, where: str) -> ActQuant:
    """The per-tensor quantization an activation observer / FakeQuantize applies."""
    s, z = _qparams(obs, where)
    if s.size != 1:
        raise FormatError("per-channel activation quantization is not supported", layer=where,
                          field="activation_post_process.scale")
    qmin, qmax = _deployed_range(obs)
    return ActQuant(float(s[0]), int(z[0]), qmin, qmax, where)


_DTYPE_RANGES = {"torch.quint8": (0, 255), "torch.qint8": (-128, 127)}


def _deployed_range(obs) -> tuple[int, int]:
    """The range the converted model's kernels clamp to.

    With ``reduce_range`` (the fbgemm/x86 defaults) the observer picks its scale for a 7-bit
    range and fake-quantizes to it, but ``convert`` quantizes into the full dtype: its
    kernels clamp to [0, 255] (quint8) or [-128, 127] (qint8), and do output values above
    the 7-bit range. The deployed model is what the hardware replaces, so its range is the
    layer's output clip and the next layer's input range."""
    inner = getattr(obs, "activation_post_process", None)
    reduced = bool(getattr(obs, "reduce_range", False) or getattr(inner, "reduce_range", False))
    if reduced:
        rng = _DTYPE_RANGES.get(str(getattr(obs, "dtype", "")))
        if rng is not None:
            return rng
    return int(obs.quant_min), int(obs.quant_max)


def _weight_int(mod, w: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(C, K) zero-point-corrected integer weights and per-channel scales of ``w``."""
    wfq = getattr(mod, "weight_fake_quant", None)
    if wfq is None:
        raise FormatError("no weight_fake_quant: the weights' quantization is unknown",
                          layer=where, field="weight_fake_quant")
    s, z = _qparams(wfq, where + ".weight_fake_quant")
    c = w.shape[0]
    if s.size not in (1, c):
        raise FormatError(f"weight scale has {s.size} entries for {c} output channels",
                          layer=where, field="weight_fake_quant.scale")
    s, z = np.broadcast_to(s, (c,)), np.broadcast_to(z, (c,))
    w2 = w.reshape(c, -1).astype(np.float32)
    # torch's fake quantizer: round(w * (1/s)) in float32, half to even, then clamp.
    inv = (np.float32(1) / s.astype(np.float32))[:, None]
    q = np.clip(np.rint(w2 * inv) + z[:, None], wfq.quant_min, wfq.quant_max)
    return q.astype(np.int64) - z[:, None], s.astype(np.float64)


def _fused_types(nniqat):
    return (nniqat.ConvBn1d, nniqat.ConvBn2d, nniqat.ConvBn3d, nniqat.ConvBnReLU1d,
            nniqat.ConvBnReLU2d, nniqat.ConvBnReLU3d, nniqat.LinearBn1d)


def _output(q: ActQuant | None, relu, name: str, ov: Overrides, notes: list[str]) -> dict:
    s_y, z_y, qmin, qmax = (q.scale, q.zero_point, q.qmin, q.qmax) if q else (None, 0, 0, 0)
    bits, signed = (q.bits, q.signed) if q else (None, None)
    if ov.output_scale is not None or q is None:
        s_y = ov.take("output_scale")
        bits = ov.take("output_bits") if ov.output_bits is not None else bits
        sg = ov.take("output_signed")
        signed = (True if signed is None else signed) if sg is None else sg
        z_y = ov.take("output_zero_point") if ov.output_zero_point is not None else z_y
        if s_y is None or bits is None:
            raise FormatError("missing scales: no activation_post_process after this BN; give "
                              "--output-scale and --output-bits", layer=name,
                              field="output.scale")
        qmin, qmax = int_range(int(bits), bool(signed))
        notes.append("output quantization from flags")
    rounding = ov.take("rounding") or "half_even"
    if relu is not None:
        hi = 6.0 if type(relu).__name__ == "ReLU6" else None
        try:
            qmin, qmax = clip_from_real(0.0, hi, s_y, z_y, rounding, qmin, qmax)
        except FormatError as e:
            raise e.located(layer=name) from None
        notes.append(f"{type(relu).__name__} folded into clip [{qmin}, {qmax}]")
    return {"bits": int(bits), "signed": bool(signed), "scale": float(s_y),
            "zero_point": int(z_y), "rounding": rounding, "clip": [int(qmin), int(qmax)]}


def _input_override(q: ActQuant | None, ov: Overrides, first: bool) -> ActQuant | None:
    if not first or ov.input_scale is None:
        return q
    bits = ov.take("input_bits") if ov.input_bits is not None else (q.bits if q else None)
    if bits is None:
        raise FormatError("--input-scale needs --input-bits here", field="input.bits")
    sg = ov.take("input_signed")
    signed = sg if sg is not None else (q.signed if q else False)
    lo, hi = int_range(int(bits), signed)
    z = ov.take("input_zero_point")
    z = z if z is not None else (q.zero_point if q else 0)
    return ActQuant(float(ov.take("input_scale")), int(z), lo, hi, "flags")


def _bn_dict(bn) -> dict:
    return {k: _np(t).astype(np.float64).tolist() for k, t in
            (("gamma", bn.weight), ("beta", bn.bias), ("mean", bn.running_mean),
             ("var", bn.running_var))} | {"eps": float(bn.eps)}


def _fused_layer(name: str, m, xq: ActQuant | None, yq: ActQuant | None,
                 ov: Overrides, relu_after=None) -> ImportedLayer:
    """A QAT ConvBn*/LinearBn1d: BN folded into the weights, an affine requantization."""
    if xq is None:
        raise FormatError("missing scales: nothing quantizes this module's input (no "
                          "QuantStub/activation_post_process before it); give --input-scale "
                          "and --input-bits", layer=name, field="input.scale")
    bn = m.bn
    from torch.nn.utils.fusion import fuse_conv_bn_weights, fuse_linear_bn_weights

    # Fold exactly as torch.ao's convert does (float32, its own order of operations).
    if m.weight.dim() > 2:
        w_f, b_f = fuse_conv_bn_weights(m.weight, m.bias, bn.running_mean, bn.running_var,
                                        bn.eps, bn.weight, bn.bias)
    else:
        bias0 = m.bias if m.bias is not None else bn.running_mean.new_zeros(bn.num_features)
        w_f, b_f = fuse_linear_bn_weights(m.weight, bias0, bn.running_mean, bn.running_var,
                                          bn.eps, bn.weight, bn.bias)
    w_int, s_w = _weight_int(m, _np(w_f).astype(np.float32), name)
    b_fold = _np(b_f).astype(np.float64)
    s_acc = xq.scale * s_w
    ranges = accumulator_range(w_int, xq.qmin - xq.zero_point, xq.qmax - xq.zero_point,
                               None, include_zero=m.weight.dim() > 2)
    relu = _ReLU() if type(m).__name__.startswith("ConvBnReLU") else relu_after
    notes = [f"BN folded into {w_int.shape[1]} weights per channel (as convert folds it); "
             f"float bias (fbgemm adds it in float); input {'int' if xq.signed else 'uint'}"
             f"{xq.bits} from {xq.where}"]
    out = _output(yq, relu, name, ov, notes)
    a, b = affine_layer_ab([float(v) for v in s_acc], b_fold.tolist(), out["scale"],
                           out["zero_point"])
    layer = {"name": name, "input": acc_input_spec(name, ranges, [float(v) for v in s_acc], ov),
             "output": out, "affine": {"a": a, "b": b}}
    return ImportedLayer(layer, f"torch.ao: fused {type(m).__name__} (BN folded)", notes)


class _ReLU:
    """Stands for the ReLU inside a fused ConvBnReLU module."""


_ReLU.__name__ = "ReLU"
