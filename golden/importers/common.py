"""What every importer shares: override flags, accumulator ranges, layer dicts, the summary.

Every importer (ONNX QDQ, QONNX, PyTorch) ends in the same list of layer-file dicts, validated
by :func:`exactbn.formats.parse_layers`; nothing downstream knows which importer made them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from exactbn.formats import FormatError, Layer, parse_layers, twos_width, unsigned_width

from ..affine import affine_from_bn

__all__ = [
    "Overrides",
    "ImportedLayer",
    "ImportResult",
    "int_range",
    "accumulator_range",
    "clip_from_real",
    "integer_weights",
    "affine_layer_ab",
    "acc_input_spec",
    "finish",
]


@dataclass
class Overrides:
    """User-given values for what a model does not carry (None = not given).

    ``input_*`` describe the quantized activation entering the Conv/Linear (not the
    accumulator); ``acc_bits`` fixes the accumulator (BN input) register width, which is
    otherwise the smallest width that holds every channel's derived range.
    """

    input_bits: int | None = None
    input_signed: bool | None = None
    input_scale: float | None = None
    input_zero_point: int | None = None
    output_bits: int | None = None
    output_signed: bool | None = None
    output_scale: float | None = None
    output_zero_point: int | None = None
    rounding: str | None = None
    acc_bits: int | None = None
    eps: float | None = None
    used: set[str] = field(default_factory=set)

    def take(self, name: str) -> Any:
        """The value of override ``name``, recorded as used when it is given."""
        v = getattr(self, name)
        if v is not None:
            self.used.add(name)
        return v


@dataclass
class ImportedLayer:
    """One imported layer: its layer-file dict plus what the summary says about it."""

    layer: dict
    pattern: str
    notes: list[str] = field(default_factory=list)
    nodes: tuple[str, ...] = ()  # graph nodes it came from (PT2E: the conv and the quantize)


@dataclass
class ImportResult:
    """All layers found in a model, validated, plus skipped ops and the source format."""

    source: str
    layers: list[Layer]
    imported: list[ImportedLayer]
    skipped: list[str]
    overrides_used: list[str]

    def to_json(self) -> dict:
        """The layer file: ``{"layers": [...]}`` plus where it came from."""
        return {
            "format": "exactbn-layers",
            "source": self.source,
            "layers": [lay.to_json() for lay in self.layers],
        }

    def summary_rows(self) -> list[dict]:
        """One row per layer for the CLI summary."""
        rows = []
        for imp, lay in zip(self.imported, self.layers, strict=True):
            rngs = lay.input.ranges(lay.channels)
            lo = min(r[0] for r in rngs)
            hi = max(r[1] for r in rngs)
            widest = max(unsigned_width(r[1]) if r[0] >= 0 else twos_width(r[0], r[1])
                         for r in rngs)
            rows.append({
                "name": lay.name,
                "pattern": imp.pattern,
                "channels": lay.channels,
                "acc_bits": lay.input.bits,
                "range": [lo, hi],
                "widest_channel_bits": widest,
                "output": f"{'int' if lay.output.signed else 'uint'}{lay.output.bits} "
                f"clip [{lay.output.qmin}, {lay.output.qmax}] {lay.output.rounding}",
                "notes": imp.notes,
            })
        return rows


def int_range(bits: int, signed: bool, narrow: bool = False) -> tuple[int, int]:
    """Integer range of a ``bits``-bit tensor (narrow: the most negative / top value dropped)."""
    if signed:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        return (lo + 1 if narrow else lo), hi
    return 0, (1 << bits) - 1 - (1 if narrow else 0)


def integer_weights(w: np.ndarray, what: str, layer: str) -> np.ndarray:
    """``w`` as int64, refusing non-integer values (FormatError naming the layer)."""
    w = np.asarray(w)
    if w.dtype.kind in "iub":
        return w.astype(np.int64)
    if w.dtype.kind != "f":
        raise FormatError(f"{what} has dtype {w.dtype}, expected integers", layer=layer,
                          field=what)
    if not np.all(np.isfinite(w)) or not np.array_equal(w, np.round(w)):
        bad = int(np.flatnonzero(~(np.isfinite(w) & (w == np.round(w))).ravel())[0])
        raise FormatError(
            f"{what} holds non-integer value {float(w.ravel()[bad])!r} (flat index {bad}); "
            "integer (quantized) weights are required", layer=layer, field=what)
    if np.max(np.abs(w), initial=0) >= 2.0**53:
        raise FormatError(f"{what} has values beyond 2^53", layer=layer, field=what)
    return w.astype(np.int64)


def accumulator_range(w_int: np.ndarray, x_lo: int, x_hi: int, bias_int=None,
                      include_zero: bool = False) -> list[list[int]]:
    """Per-output-channel ``[lo, hi]`` of ``sum_k w[c,k]*x_k + bias[c]`` for x_k in [x_lo, x_hi].

    ``w_int`` is (C, K) integers (the zero-point-corrected weights), ``x_lo``/``x_hi`` the
    range of the zero-point-corrected input; ``include_zero`` adds 0 to every term's range
    (padded positions contribute 0). Exact (Python integers); the range is attained.
    """
    wi = np.asarray(w_int)
    if wi.dtype.kind in "iu" and wi.size:
        wi = wi.astype(np.int64).reshape(len(wi), -1)
        bound = (int(np.abs(wi).max()) * max(abs(int(x_lo)), abs(int(x_hi))) * wi.shape[1]
                 + (max(abs(int(v)) for v in bias_int) if bias_int is not None else 0))
        if bound < (1 << 62):  # every partial sum fits int64: exact
            a, b = wi * int(x_lo), wi * int(x_hi)
            t_lo, t_hi = np.minimum(a, b), np.maximum(a, b)
            if include_zero:
                t_lo, t_hi = np.minimum(t_lo, 0), np.maximum(t_hi, 0)
            lo, hi = t_lo.sum(axis=1), t_hi.sum(axis=1)
            if bias_int is not None:
                bi = np.asarray([int(v) for v in bias_int], dtype=np.int64)
                lo, hi = lo + bi, hi + bi
            return [[int(p), int(q)] for p, q in zip(lo, hi, strict=True)]
    w = np.asarray(w_int, dtype=object).reshape(len(w_int), -1)
    out = []
    for c in range(w.shape[0]):
        lo = hi = 0
        for wk in w[c]:
            wk = int(wk)
            a, b = wk * x_lo, wk * x_hi
            t_lo, t_hi = min(a, b), max(a, b)
            if include_zero:
                t_lo, t_hi = min(t_lo, 0), max(t_hi, 0)
            lo += t_lo
            hi += t_hi
        if bias_int is not None:
            lo += int(bias_int[c])
            hi += int(bias_int[c])
        out.append([lo, hi])
    return out


def _round_fraction(v: Fraction, rounding: str) -> int:
    fl = v.numerator // v.denominator
    rem = v - fl
    if rounding == "floor":
        return fl
    half = Fraction(1, 2)
    if rem > half:
        return fl + 1
    if rem < half:
        return fl
    if rounding == "half_up":
        return fl + 1
    if rounding == "half_even":
        return fl + (fl % 2)
    if rounding == "half_away":
        return fl + 1 if v > 0 else fl
    raise ValueError(f"unknown rounding {rounding!r}")


def clip_from_real(lo: float | None, hi: float | None, s_out: float, z_out: int,
                   rounding: str, qmin: int, qmax: int) -> tuple[int, int]:
    """The integer clip equal to clipping the real value to [lo, hi] before quantizing.

    Exact because R is monotone: R(clip(y, lo, hi)/s) + z = clip(R(y/s) + z, R(lo/s) + z,
    R(hi/s) + z); lo/s is taken in exact rational arithmetic.
    """
    if lo is not None:
        qmin = max(qmin, _round_fraction(Fraction(lo) / Fraction(s_out), rounding) + z_out)
    if hi is not None:
        qmax = min(qmax, _round_fraction(Fraction(hi) / Fraction(s_out), rounding) + z_out)
    if qmin > qmax:
        raise FormatError(f"clip [{lo}, {hi}] leaves no output level in [{qmin}, {qmax}]")
    return qmin, qmax


def affine_layer_ab(s_acc: list[float], bias_real: list[float], s_out: float,
                    z_out: int) -> tuple[list[float], list[float]]:
    """``a, b`` of a requantization without BN (BN folded, "beyond BN"), via affine_from_bn.

    The identity BN (gamma 1, beta = the real bias, mean 0, var 1, eps 0) keeps one
    definition of the float64 order: a = s_acc/s_out, b = bias/s_out + z_out.
    """
    c = len(s_acc)
    a, b = affine_from_bn(np.ones(c), np.asarray(bias_real, dtype=np.float64), np.zeros(c),
                          np.ones(c), 0.0, np.asarray(s_acc, dtype=np.float64), 0,
                          s_out, z_out)
    return [float(v) for v in np.atleast_1d(a)], [float(v) for v in np.atleast_1d(b)]


def acc_input_spec(name: str, ranges: list[list[int]], s_acc: list[float],
                   overrides: Overrides) -> dict:
    """The layer's ``input`` object: accumulator width, per-channel scale and range."""
    lo = min(r[0] for r in ranges)
    hi = max(r[1] for r in ranges)
    need = twos_width(lo, hi)
    bits = overrides.take("acc_bits")
    if bits is None:
        bits = need
    elif bits < need:
        raise FormatError(
            f"--acc-bits {bits} cannot hold the derived accumulator range [{lo}, {hi}] "
            f"(needs {need} bits)", layer=name, field="input.bits")
    if bits > 62:
        raise FormatError(f"accumulator range [{lo}, {hi}] needs {bits} bits (> 62)",
                          layer=name, field="input.bits")
    scale: float | list[float] = s_acc[0] if len(set(s_acc)) == 1 else list(s_acc)
    return {"bits": int(bits), "signed": True, "scale": scale, "zero_point": 0,
            "range": [[int(a), int(b)] for a, b in ranges]}


def finish(source: str, imported: list[ImportedLayer], skipped: list[str],
           overrides: Overrides, file: str | None = None) -> ImportResult:
    """Validate the layer dicts with ``parse_layers`` and wrap them with the summary data."""
    if not imported:
        why = "; ".join(skipped) if skipped else "no Conv/Gemm/BatchNormalization found"
        raise FormatError(f"no importable layer (BN or requantization) in the model ({why})",
                          file=file)
    names: dict[str, int] = {}
    for imp in imported:
        base = imp.layer["name"]
        if base in names:
            names[base] += 1
            imp.layer["name"] = f"{base}_{names[base]}"
        else:
            names[base] = 0
    layers = parse_layers({"layers": [imp.layer for imp in imported]}, file)
    return ImportResult(source, layers, imported, skipped, sorted(overrides.used))
