"""The bundled digits CNN (``exactbn/data/digits_model.json``): its layers and its integer network.

The file is written by ``models/train_digits.py`` (PyTorch, fixed seed) and holds everything
the experiment and the demo need without torch: integer weights and weight scales, BN
parameters, activation quantization, and the integer test split of scikit-learn's digits.

The network: uint4 input -> [Conv3x3 -> BN -> ReLU-quantize(uint4) -> MaxPool2] x2 ->
Linear -> BN1d -> ReLU-quantize(uint4) -> Linear (integer logits, argmax). Every BN step is
one exactbn layer whose input is the integer accumulator of the layer before it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources

import numpy as np

from exactbn.formats import FormatError

from .common import (
    ImportedLayer,
    ImportResult,
    Overrides,
    acc_input_spec,
    accumulator_range,
    finish,
    int_range,
)

__all__ = ["DIGITS_MODEL", "load_digits_model", "digits_layers", "DigitsNetwork"]

DIGITS_MODEL = "digits_model.json"


def load_digits_model(path: str | None = None) -> dict:
    """The digits model dict (the bundled one when ``path`` is None)."""
    try:
        if path is None:
            text = resources.files("exactbn.data").joinpath(DIGITS_MODEL).read_text()
        else:
            with open(path) as f:
                text = f.read()
        model = json.loads(text)
    except (OSError, json.JSONDecodeError) as e:
        raise FormatError(f"cannot read the digits model: {e}", file=path or DIGITS_MODEL) \
            from None
    if model.get("format") != "exactbn-digits-model":
        raise FormatError("not an exactbn digits model", file=path or DIGITS_MODEL)
    return model


def _conv2d_int(x: np.ndarray, w: np.ndarray, pad: int) -> np.ndarray:
    """Exact integer cross-correlation (like torch Conv2d), int64; x (N,C,H,W), w (O,C,k,k)."""
    k = w.shape[-1]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))
    return np.einsum("nchwij,ocij->nohw", win, w, optimize=True).astype(np.int64)


def _maxpool(x: np.ndarray, p: int) -> np.ndarray:
    n, c, h, w = x.shape
    return x.reshape(n, c, h // p, p, w // p, p).max(axis=(3, 5))


class DigitsNetwork:
    """The digits CNN on integers; each BN step is a callback ``requant(index, acc) -> q``.

    ``acc`` has the channel on axis 1 (shape (N, C, H, W) or (N, C)). Accumulators are exact
    int64 (bounded by the derived ranges, far below 2^62).
    """

    def __init__(self, model: dict):
        self.model = model
        self.specs = model["layers"]
        self.weights = [np.asarray(s["weights"], dtype=np.int64) for s in self.specs]

    @property
    def bn_layers(self) -> list[dict]:
        return [s for s in self.specs if "bn" in s]

    def forward(self, images: np.ndarray,
                requant: Callable[[int, np.ndarray], np.ndarray]) -> tuple[list, np.ndarray]:
        """Run ``images`` (N, 1, 8, 8) ints; returns (per-BN-layer (acc, q) list, logits)."""
        x = np.asarray(images, dtype=np.int64)
        trace = []
        k = 0
        for spec, w in zip(self.specs, self.weights, strict=True):
            if spec["op"] == "conv":
                acc = _conv2d_int(x, w, int(spec["pads"]))
            else:
                x = x.reshape(len(x), -1)
                acc = x @ w.T
            if "bn" not in spec:
                return trace, acc
            q = np.asarray(requant(k, acc), dtype=np.int64)
            trace.append((acc, q))
            k += 1
            x = _maxpool(q, int(spec["pool"])) if spec.get("pool") else q
        raise FormatError("the digits model has no final (logit) layer", file=DIGITS_MODEL)


def digits_layers(model: dict | None = None, overrides: Overrides | None = None) -> ImportResult:
    """The digits model's BN layers as a layer file (ranges derived from the integer weights)."""
    model = model if model is not None else load_digits_model()
    ov = overrides or Overrides()
    inp = model["input"]
    s_x = float(inp["scale"])
    lo, hi = int_range(int(inp["bits"]), bool(inp["signed"]))
    imported = []
    for spec in model["layers"]:
        if "bn" not in spec:
            continue
        w = np.asarray(spec["weights"], dtype=np.int64).reshape(len(spec["weights"]), -1)
        s_w = np.broadcast_to(np.asarray(spec["weight_scale"], dtype=np.float64), (len(w),))
        s_acc = [float(v) for v in s_x * s_w]
        ranges = accumulator_range(w, lo, hi, None, include_zero=bool(spec.get("pads")))
        out = dict(spec["output"])
        imported.append(ImportedLayer(
            {"name": spec["name"], "input": acc_input_spec(spec["name"], ranges, s_acc, ov),
             "output": out, "bn": dict(spec["bn"])},
            f"digits: {spec['op']}+BN+ReLU-quantize", [f"weights {w.shape[1]} per channel"]))
        s_x = float(out["scale"])
        lo, hi = out["clip"]
    return finish("digits:" + DIGITS_MODEL, imported, [], ov)
