"""PyTorch importer (optional extra ``exactbn[torch]``; torch is imported lazily).

Walks a state dict (loaded with ``weights_only=True``; pickled modules are never executed) or
an ``nn.Module`` in registration order, pairs every BatchNorm1d/2d with the Conv/Linear right
before it, and derives each channel's accumulator range from that layer's integer weights.

Integer weights come from, in this order: a ``<layer>.weight_scale`` buffer (optional
``<layer>.weight_zero_point``), a torch.ao fake-quant observer (``<layer>.weight_fake_quant.
scale`` / ``.zero_point``), or weights that already hold integers (scale 1). Anything else is
refused as non-integer weights. A state dict carries no activation quantization: the input of
the first layer comes from ``--input-scale/--input-bits`` (or a root ``input_scale`` /
``input_bits`` buffer), each BN's output from ``--output-*`` (or ``<bn>.output_scale``,
``<bn>.output_bits`` buffers); layer k+1's input is layer k's output. PyTorch quantizes half to
even. The padding of a convolution is not in a state dict, so every weight term's range
includes 0 (padded positions); this never narrows the range below the true one.
"""

from __future__ import annotations

import os

import numpy as np

from exactbn.formats import FormatError, check_input_file

from .common import (
    ImportedLayer,
    ImportResult,
    Overrides,
    acc_input_spec,
    accumulator_range,
    finish,
    int_range,
    integer_weights,
)

__all__ = ["import_torch", "import_torch_module", "import_state_dict"]

_BN_KEYS = ("weight", "bias", "running_mean", "running_var")
_WEIGHT_RTOL = 1e-3  # w / scale must be within this of an integer (float32 storage)


def _np(t) -> np.ndarray:
    if not hasattr(t, "detach"):
        return np.asarray(t)
    t = t.detach().cpu()
    if getattr(t.dtype, "is_floating_point", False) and t.element_size() < 4:
        t = t.float()  # float16 / bfloat16: exact in float32 (numpy has no bfloat16)
    return t.numpy()


def _prefixes(sd: dict) -> list[str]:
    """Module prefixes in state-dict order (the order modules were registered)."""
    seen: list[str] = []
    for k in sd:
        p = k.rsplit(".", 1)[0] if "." in k else ""
        if p not in seen:
            seen.append(p)
    return seen


def _is_bn(sd: dict, p: str) -> bool:
    return all(f"{p}.{k}" in sd for k in _BN_KEYS)


def _int_weights(sd: dict, p: str, layer: str) -> tuple[np.ndarray, np.ndarray]:
    """(C_out, K) integer weights (zero point removed) and per-channel scales."""
    w = _np(sd[f"{p}.weight"]).astype(np.float64)
    c = w.shape[0]
    scale = zp = None
    for s_key, z_key in ((f"{p}.weight_scale", f"{p}.weight_zero_point"),
                         (f"{p}.weight_fake_quant.scale", f"{p}.weight_fake_quant.zero_point")):
        if s_key in sd:
            scale = _np(sd[s_key]).astype(np.float64).reshape(-1)
            zp = _np(sd[z_key]).astype(np.int64).reshape(-1) if z_key in sd else np.zeros(1,
                                                                                      np.int64)
            break
    if scale is None:
        return integer_weights(w, "weights", layer).reshape(c, -1), np.ones(c)
    if scale.size not in (1, c) or zp.size not in (1, c):
        raise FormatError(f"weight scale has {scale.size} entries for {c} output channels",
                          layer=layer, field="weight_scale")
    scale = np.broadcast_to(scale, (c,))
    zp = np.broadcast_to(zp, (c,))
    v = w.reshape(c, -1) / scale[:, None] + zp[:, None]
    r = np.rint(v)
    bad = np.abs(v - r) > _WEIGHT_RTOL
    if bad.any():
        i = np.argwhere(bad)[0]
        raise FormatError(f"weight {w.reshape(c, -1)[tuple(i)]!r} of output channel {i[0]} is "
                          f"not an integer multiple of its scale {scale[i[0]]!r} "
                          f"(w/scale = {v[tuple(i)]:.6f}); integer weights are required",
                          layer=layer, field="weights")
    return r.astype(np.int64) - zp[:, None], scale.astype(np.float64)


def _check_entries(sd: dict) -> None:
    """Every entry must be a real-valued (bool, integer or float) tensor, array or number:
    strings, complex values, containers or other objects are refused, naming the key."""
    for k, v in sd.items():
        if not isinstance(k, str):
            raise FormatError(f"state dict key {k!r} is not a string", field=str(k)[:80])
        if isinstance(v, (bool, int, float)):
            continue
        if not (isinstance(v, np.ndarray) or hasattr(v, "detach")):
            raise FormatError(f"expected a tensor, got {type(v).__name__}", field=k)
        try:
            dtype = _np(v).dtype
        except (TypeError, RuntimeError) as e:  # quantized or sparse tensors, ...
            raise FormatError(f"unsupported tensor: {str(e).splitlines()[0][:100]}",
                              field=k) from None
        if dtype.kind not in "biuf":
            what = "complex" if dtype.kind == "c" else "not real numbers"
            raise FormatError(f"tensor of dtype {dtype} ({what}); expected real numbers",
                              field=k)


def _buffer(sd: dict, key: str):
    if key not in sd:
        return None
    v = _np(sd[key]).reshape(-1)
    if v.size != 1:
        raise FormatError(f"expected one value, got {v.size}", field=key)
    f = float(v[0])
    if not np.isfinite(f):
        raise FormatError(f"value {f} is not finite", field=key)
    return f


def _bits_buffer(sd: dict, key: str, hi: int):
    v = _buffer(sd, key)
    if v is not None and (v != int(v) or not 1 <= v <= hi):
        raise FormatError(f"bit width must be an integer in 1..{hi}, got {v:g}", field=key)
    return None if v is None else int(v)


def _scale_buffer(sd: dict, key: str):
    v = _buffer(sd, key)
    if v is not None and not v > 0:
        raise FormatError(f"scale must be > 0, got {v:g}", field=key)
    return v


def import_state_dict(sd: dict, overrides: Overrides | None = None, *,
                      eps: dict[str, float] | None = None, file: str | None = None,
                      source: str = "pytorch") -> ImportResult:
    """Import every BN of a state dict (tensors or arrays by key); ``eps`` per BN prefix."""
    ov = overrides or Overrides()
    try:
        return _import(sd, ov, eps or {}, file, source)
    except FormatError as e:
        raise e.located(file=file) from None


def _import(sd, ov: Overrides, eps: dict, file, source) -> ImportResult:
    obs = next((k for k in sd if ".activation_post_process." in f".{k}"), None)
    if obs is not None:
        raise FormatError("state dict of a torch.ao-prepared model: observers' quant_min/"
                          "quant_max (and a PTQ observer's scale) are not saved in a state "
                          "dict; import the prepared nn.Module (import_torch_module), or save "
                          "the converted integer weights with weight_scale buffers",
                          field=obs)
    _check_entries(sd)
    prefixes = _prefixes(sd)
    # The first layer's input quantization.
    s_x = _scale_buffer(sd, "input_scale")
    bits = _bits_buffer(sd, "input_bits", 62)
    if s_x is None:
        s_x = ov.take("input_scale")
    if bits is None:
        bits = ov.take("input_bits")
    signed = ov.take("input_signed")
    z_x = ov.take("input_zero_point") or 0
    last_weight = None
    imported, skipped = [], []
    for p in prefixes:
        if _is_bn(sd, p):
            name = p or "bn"
            if last_weight is None:
                raise FormatError("unsupported layer: BatchNorm with no Conv/Linear before it",
                                  layer=name)
            if s_x is None or bits is None:
                raise FormatError("missing scales: a state dict does not carry the input "
                                  "quantization; give --input-scale and --input-bits",
                                  layer=name, field="input.scale")
            if f"{last_weight}.bias" in sd and np.any(_np(sd[f"{last_weight}.bias"]) != 0):
                raise FormatError(f"{last_weight!r} has a bias: fold it into the BN mean "
                                  "(mean - bias) before import", layer=name, field="bias")
            gamma, beta, mean, var = (_np(sd[f"{p}.{k}"]).astype(np.float64) for k in _BN_KEYS)
            w_int, s_w = _int_weights(sd, last_weight, name)
            if w_int.shape[0] != gamma.size:
                raise FormatError(f"BatchNorm has {gamma.size} channels but {last_weight!r} has "
                                  f"{w_int.shape[0]} outputs", layer=name, field="bn")
            lo, hi = int_range(int(bits), bool(signed) if signed is not None else False)
            ranges = accumulator_range(w_int, lo - z_x, hi - z_x, None, include_zero=True)
            s_out = _scale_buffer(sd, f"{p}.output_scale")
            o_bits = _bits_buffer(sd, f"{p}.output_bits", 32)
            s_out = s_out if s_out is not None else ov.take("output_scale")
            o_bits = o_bits if o_bits is not None else ov.take("output_bits")
            if s_out is None or o_bits is None:
                raise FormatError("missing scales: no output quantization for this BN; give "
                                  "--output-scale and --output-bits", layer=name,
                                  field="output.scale")
            o_signed = ov.take("output_signed")
            o_signed = True if o_signed is None else o_signed
            z_out = ov.take("output_zero_point") or 0
            qmin, qmax = int_range(int(o_bits), o_signed)
            e = eps.get(p)
            if e is None:
                e = ov.take("eps")
            e = 1e-5 if e is None else e
            layer = {
                "name": name,
                "input": acc_input_spec(name, ranges, [float(v) for v in s_x * s_w], ov),
                "output": {"bits": int(o_bits), "signed": o_signed, "scale": s_out,
                           "zero_point": z_out, "rounding": ov.take("rounding") or "half_even",
                           "clip": [qmin, qmax]},
                "bn": {"gamma": gamma.tolist(), "beta": beta.tolist(), "mean": mean.tolist(),
                       "var": var.tolist(), "eps": float(e)},
            }
            kind = "Conv" if _np(sd[f"{last_weight}.weight"]).ndim > 2 else "Linear"
            imported.append(ImportedLayer(layer, f"pytorch: {kind} {last_weight}+BatchNorm",
                                          [f"weights {w_int.shape[1]} per channel"]))
            last_weight = None
            s_x, bits, signed, z_x = s_out, o_bits, o_signed, z_out
        elif f"{p}.weight" in sd and _np(sd[f"{p}.weight"]).ndim >= 2:
            if last_weight is not None:
                skipped.append(f"{last_weight!r}: no BatchNorm follows")
            last_weight = p
    if last_weight is not None:
        skipped.append(f"{last_weight!r}: no BatchNorm follows")
    return finish(source, imported, skipped, ov, file)


def import_torch_module(module, overrides: Overrides | None = None) -> ImportResult:
    """Import an ``nn.Module`` (its state dict, with each BatchNorm's own eps).

    A module prepared with torch.ao quantization (eager or FX; observers / fake quantizers)
    is read along its traced data flow by :mod:`.torch_graph`: scales come from its
    observers.
    """
    import torch

    from .torch_graph import import_prepared_module
    from .torch_observers import is_prepared

    if is_prepared(module):
        return import_prepared_module(module, overrides)
    eps = {name: float(m.eps) for name, m in module.named_modules()
           if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)}
    return import_state_dict(module.state_dict(), overrides, eps=eps,
                             source=f"pytorch:{type(module).__name__}")


def import_torch(path: str | os.PathLike, overrides: Overrides | None = None) -> ImportResult:
    """Load a state dict with ``torch.load(weights_only=True)`` and import it."""
    p = os.fspath(path)
    try:
        import torch
    except ImportError:
        raise FormatError("reading PyTorch files needs torch (pip install exactbn[torch])",
                          file=p) from None
    check_input_file(p, model=True)  # a FIFO or device would hang torch.load
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, pickled module (refused by weights_only), ...
        raise FormatError(f"not a readable weights-only PyTorch file (truncated, damaged or a "
                          f"pickled module; save model.state_dict()): {type(e).__name__}: "
                          f"{str(e).splitlines()[0] if str(e) else ''}", file=p) from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not obj:
        raise FormatError("expected a state dict (a mapping of names to tensors)", file=p)
    return import_state_dict(obj, overrides, file=p,
                             source=f"pytorch:{os.path.basename(p)}")
