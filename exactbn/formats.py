"""Layer and solved files: dataclasses, validation and JSON I/O.

This is the neutral module that golden/, hw/, sim/ and the CLI all import. It knows the
file shapes and checks every field, but none of the math: no reference, no integer model,
no solver.

Errors are :class:`FormatError`, which names the file, layer, channel and field, so that
the CLI can print one clear line and exit with status 2.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ROUNDINGS",
    "HW_ROUNDINGS",
    "SHIFT_MODES",
    "FormatError",
    "InputSpec",
    "OutputSpec",
    "Layer",
    "SolvedLayer",
    "Widths",
    "load_layers",
    "parse_layers",
    "load_solved",
    "parse_solved",
    "dump_solved",
    "write_json_atomic",
    "write_text_atomic",
    "file_sha256",
    "check_input_file",
    "check_output_path",
    "check_writable",
    "check_replaceable_dir",
    "OUTPUT_MARKER",
    "safe_name",
    "select_layer",
    "twos_width",
    "unsigned_width",
]

ROUNDINGS = ("floor", "half_up", "half_even", "half_away")
HW_ROUNDINGS = ROUNDINGS
SHIFT_MODES = ("per-channel", "shared")


class FormatError(ValueError):
    """Bad input, located: file, layer, channel and field (any may be None)."""

    def __init__(
        self,
        message: str,
        *,
        file: str | os.PathLike | None = None,
        layer: str | None = None,
        channel: int | None = None,
        field: str | None = None,
    ):
        self.message = message
        self.file = str(file) if file is not None else None
        self.layer = layer
        self.channel = channel
        self.field = field
        super().__init__(str(self))

    def located(self, **where: Any) -> FormatError:
        """Return a copy with missing location parts filled in."""
        return FormatError(
            self.message,
            file=self.file if self.file is not None else where.get("file"),
            layer=self.layer if self.layer is not None else where.get("layer"),
            channel=self.channel if self.channel is not None else where.get("channel"),
            field=self.field if self.field is not None else where.get("field"),
        )

    def __str__(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(f"file {self.file}")
        if self.layer is not None:
            parts.append(f"layer {self.layer!r}")
        if self.channel is not None:
            parts.append(f"channel {self.channel}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        where = ", ".join(parts)
        return f"{where}: {self.message}" if where else self.message


def twos_width(*values: int) -> int:
    """Bits of the smallest two's-complement register holding every value (sign included)."""
    w = 1
    for v in values:
        v = int(v)
        w = max(w, (v.bit_length() if v >= 0 else (-v - 1).bit_length()) + 1)
    return w


def unsigned_width(*values: int) -> int:
    """Bits of the smallest unsigned register holding every (non-negative) value; 0 for all 0."""
    return max((int(v).bit_length() for v in values), default=0)


def _int_range(bits: int, signed: bool) -> tuple[int, int]:
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


# ----------------------------------------------------------------------------- checks


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return (isinstance(v, (int, float))) and not isinstance(v, bool)


def _need_int(v: Any, fld: str, channel: int | None = None) -> int:
    if not _is_int(v):
        raise FormatError(f"expected an integer, got {v!r}", field=fld, channel=channel)
    return v


def _need_float(v: Any, fld: str, channel: int | None = None) -> float:
    if not _is_num(v):
        raise FormatError(f"expected a number, got {v!r}", field=fld, channel=channel)
    try:
        f = float(v)
    except OverflowError:
        raise FormatError(f"integer {str(v)[:20]}... is too large for a float", field=fld,
                          channel=channel) from None
    if not math.isfinite(f):
        raise FormatError(f"value {v!r} is not finite", field=fld, channel=channel)
    return f


MAX_LAYER_CHANNELS = 1 << 20
ZP_LIMIT = 1 << 53  # zero points enter the float64 formula for a, b: keep them exact there


def _need_zp(v: Any, fld: str, channel: int | None = None) -> int:
    v = _need_int(v, fld, channel)
    if abs(v) > ZP_LIMIT:
        raise FormatError(f"zero point {v} is beyond +-2^53 (not exact in float64)", field=fld,
                          channel=channel)
    return v


def _need_bool(v: Any, fld: str) -> bool:
    if not isinstance(v, bool):
        raise FormatError(f"expected true or false, got {v!r}", field=fld)
    return v


def _need_obj(v: Any, fld: str) -> dict:
    if not isinstance(v, dict):
        raise FormatError(f"expected an object, got {type(v).__name__}", field=fld)
    return v


def _float_list(v: Any, fld: str, n: int | None = None) -> list[float]:
    if not isinstance(v, list):
        raise FormatError(f"expected a list of numbers, got {type(v).__name__}", field=fld)
    if set(map(type, v)) <= {float} and all(map(math.isfinite, v)):  # the usual case, fast
        out = list(v)
    else:
        out = [_need_float(x, fld, i) for i, x in enumerate(v)]
    if n is not None and len(out) != n:
        raise FormatError(f"has {len(out)} entries, expected {n} (one per channel)", field=fld)
    return out


def _int_list(v: Any, fld: str, n: int | None = None) -> list[int]:
    if not isinstance(v, list):
        raise FormatError(f"expected a list of integers, got {type(v).__name__}", field=fld)
    if set(map(type, v)) <= {int}:  # the usual case, fast (bool is not int here)
        out = list(v)
    else:
        out = [_need_int(x, fld, i) for i, x in enumerate(v)]
    if n is not None and len(out) != n:
        raise FormatError(f"has {len(out)} entries, expected {n} (one per channel)", field=fld)
    return out


def _check_keys(obj: dict, allowed: set[str], where: str) -> None:
    extra = sorted(set(obj) - allowed)
    if extra:
        raise FormatError(f"unknown key(s) {extra} in {where}", field=f"{where}.{extra[0]}")


# ----------------------------------------------------------------------------- specs


@dataclass
class InputSpec:
    """The BN input: an integer x (e.g. a conv accumulator) with real value s_in*(x - z_in).

    ``scale``/``zero_point`` are scalars or per-channel lists; ``range`` is ``[lo, hi]`` for
    every channel or a per-channel list of ``[lo, hi]`` pairs.
    """

    bits: int
    signed: bool
    scale: float | list[float] = 1.0
    zero_point: int | list[int] = 0
    range: list[int] | list[list[int]] = field(default_factory=list)

    def ranges(self, channels: int) -> list[tuple[int, int]]:
        """Per-channel ``(lo, hi)``."""
        if self.range and isinstance(self.range[0], list):
            return [(int(lo), int(hi)) for lo, hi in self.range]  # type: ignore[misc]
        lo, hi = self.range  # type: ignore[misc]
        return [(int(lo), int(hi))] * channels

    def scales(self, channels: int) -> list[float]:
        return list(self.scale) if isinstance(self.scale, list) else [self.scale] * channels

    def zero_points(self, channels: int) -> list[int]:
        zp = self.zero_point
        return list(zp) if isinstance(zp, list) else [zp] * channels

    def to_json(self) -> dict:
        return {
            "bits": self.bits,
            "signed": self.signed,
            "scale": self.scale,
            "zero_point": self.zero_point,
            "range": self.range,
        }

    @classmethod
    def from_json(cls, obj: Any) -> InputSpec:
        obj = _need_obj(obj, "input")
        _check_keys(obj, {"bits", "signed", "scale", "zero_point", "range"}, "input")
        if "bits" not in obj:
            raise FormatError("missing", field="input.bits")
        bits = _need_int(obj["bits"], "input.bits")
        if not 1 <= bits <= 62:
            raise FormatError(f"must be between 1 and 62, got {bits}", field="input.bits")
        signed = _need_bool(obj.get("signed", True), "input.signed")
        full_lo, full_hi = _int_range(bits, signed)
        scale = obj.get("scale", 1.0)
        if isinstance(scale, list):
            scale = _float_list(scale, "input.scale")
            for c, s in enumerate(scale):
                if s <= 0:
                    raise FormatError(f"must be > 0, got {s}", field="input.scale", channel=c)
        else:
            scale = _need_float(scale, "input.scale")
            if scale <= 0:
                raise FormatError(f"must be > 0, got {scale}", field="input.scale")
        zp = obj.get("zero_point", 0)
        if isinstance(zp, list):
            zp = _int_list(zp, "input.zero_point")
            for c, z in enumerate(zp):
                _need_zp(z, "input.zero_point", c)
        else:
            zp = _need_zp(zp, "input.zero_point")
        rng = obj.get("range", [full_lo, full_hi])
        if not isinstance(rng, list) or not rng:
            raise FormatError("expected [lo, hi] or a list of [lo, hi]", field="input.range")
        pairs = rng if isinstance(rng[0], list) else [rng]
        for c, pair in enumerate(pairs):
            ch = c if isinstance(rng[0], list) else None
            if not isinstance(pair, list) or len(pair) != 2:
                raise FormatError("expected a [lo, hi] pair", field="input.range", channel=ch)
            lo = _need_int(pair[0], "input.range", ch)
            hi = _need_int(pair[1], "input.range", ch)
            if lo > hi:
                raise FormatError(f"lo {lo} > hi {hi}", field="input.range", channel=ch)
            if lo < full_lo or hi > full_hi:
                raise FormatError(
                    f"[{lo}, {hi}] lies outside the {bits}-bit "
                    f"{'signed' if signed else 'unsigned'} input [{full_lo}, {full_hi}]",
                    field="input.range",
                    channel=ch,
                )
        return cls(bits=bits, signed=signed, scale=scale, zero_point=zp, range=rng)


@dataclass
class OutputSpec:
    """The quantized output: q = clip(R(y / s_out) + z_out, qmin, qmax)."""

    bits: int
    signed: bool
    scale: float = 1.0
    zero_point: int = 0
    rounding: str = "half_even"
    clip: list[int] = field(default_factory=list)

    @property
    def qmin(self) -> int:
        return self.clip[0]

    @property
    def qmax(self) -> int:
        return self.clip[1]

    def to_json(self) -> dict:
        return {
            "bits": self.bits,
            "signed": self.signed,
            "scale": self.scale,
            "zero_point": self.zero_point,
            "rounding": self.rounding,
            "clip": self.clip,
        }

    @classmethod
    def from_json(cls, obj: Any) -> OutputSpec:
        obj = _need_obj(obj, "output")
        _check_keys(
            obj, {"bits", "signed", "scale", "zero_point", "rounding", "clip"}, "output"
        )
        if "bits" not in obj:
            raise FormatError("missing", field="output.bits")
        bits = _need_int(obj["bits"], "output.bits")
        if not 1 <= bits <= 32:
            raise FormatError(f"must be between 1 and 32, got {bits}", field="output.bits")
        signed = _need_bool(obj.get("signed", True), "output.signed")
        scale = _need_float(obj.get("scale", 1.0), "output.scale")
        if scale <= 0:
            raise FormatError(f"must be > 0, got {scale}", field="output.scale")
        zp = _need_zp(obj.get("zero_point", 0), "output.zero_point")
        rounding = obj.get("rounding", "half_even")
        if rounding not in ROUNDINGS:
            raise FormatError(
                f"unknown rounding {rounding!r}; expected one of {', '.join(ROUNDINGS)}",
                field="output.rounding",
            )
        full_lo, full_hi = _int_range(bits, signed)
        clip = obj.get("clip", [full_lo, full_hi])
        if not isinstance(clip, list) or len(clip) != 2:
            raise FormatError("expected [qmin, qmax]", field="output.clip")
        qmin = _need_int(clip[0], "output.clip")
        qmax = _need_int(clip[1], "output.clip")
        if qmin > qmax:
            raise FormatError(f"qmin {qmin} > qmax {qmax}", field="output.clip")
        if qmin < full_lo or qmax > full_hi:
            raise FormatError(
                f"[{qmin}, {qmax}] lies outside the {bits}-bit "
                f"{'signed' if signed else 'unsigned'} output [{full_lo}, {full_hi}]",
                field="output.clip",
            )
        return cls(bits, signed, scale, zp, rounding, [qmin, qmax])


@dataclass
class Layer:
    """One BN layer (or any per-channel affine requantization), as read from a layer file."""

    name: str
    input: InputSpec
    output: OutputSpec
    bn: dict[str, Any] | None = None  # gamma, beta, mean, var: lists; eps: float
    affine: dict[str, list[float]] | None = None  # a, b: lists

    @property
    def channels(self) -> int:
        src = self.bn if self.bn is not None else self.affine
        assert src is not None
        return len(src["gamma"] if self.bn is not None else src["a"])

    def to_json(self) -> dict:
        d: dict[str, Any] = {
            "name": self.name,
            "input": self.input.to_json(),
            "output": self.output.to_json(),
        }
        if self.bn is not None:
            d["bn"] = self.bn
        if self.affine is not None:
            d["affine"] = self.affine
        return d

    @classmethod
    def from_json(cls, obj: Any, index: int = 0) -> Layer:
        if not isinstance(obj, dict):
            raise FormatError(f"layer {index} is not an object")
        name = obj.get("name", f"layer{index}")
        if not isinstance(name, str) or not name:
            raise FormatError("expected a non-empty string", field="name")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):  # NUL, newline, escapes ...
            raise FormatError(f"layer name {name[:40]!r} holds control characters",
                              field="name")
        try:
            _check_keys(obj, {"name", "input", "output", "bn", "affine"}, "layer")
            if "input" not in obj:
                raise FormatError("missing", field="input")
            if "output" not in obj:
                raise FormatError("missing", field="output")
            inp = InputSpec.from_json(obj["input"])
            out = OutputSpec.from_json(obj["output"])
            has_bn, has_aff = "bn" in obj, "affine" in obj
            if has_bn == has_aff:
                raise FormatError("give exactly one of 'bn' or 'affine'", field="bn")
            bn = aff = None
            if has_bn:
                src = _need_obj(obj["bn"], "bn")
                _check_keys(src, {"gamma", "beta", "mean", "var", "eps"}, "bn")
                for k in ("gamma", "beta", "mean", "var"):
                    if k not in src:
                        raise FormatError("missing", field=f"bn.{k}")
                c = len(_float_list(src["gamma"], "bn.gamma"))
                if c == 0:
                    raise FormatError("no channels", field="bn.gamma")
                bn = {k: _float_list(src[k], f"bn.{k}", c)
                      for k in ("gamma", "beta", "mean", "var")}
                bn["eps"] = _need_float(src.get("eps", 1e-5), "bn.eps")
                for ch, v in enumerate(bn["var"]):
                    if v + bn["eps"] <= 0:
                        raise FormatError(
                            f"var + eps = {v + bn['eps']} must be > 0", field="bn.var", channel=ch
                        )
            else:
                src = _need_obj(obj["affine"], "affine")
                _check_keys(src, {"a", "b"}, "affine")
                for k in ("a", "b"):
                    if k not in src:
                        raise FormatError("missing", field=f"affine.{k}")
                c = len(_float_list(src["a"], "affine.a"))
                if c == 0:
                    raise FormatError("no channels", field="affine.a")
                aff = {k: _float_list(src[k], f"affine.{k}", c) for k in ("a", "b")}
            if c > MAX_LAYER_CHANNELS:  # refused before any solving, not after hours
                raise FormatError(f"{c} channels; at most {MAX_LAYER_CHANNELS}", field="bn"
                                  if has_bn else "affine.a")
            for fld, v in (("input.scale", inp.scale), ("input.zero_point", inp.zero_point)):
                if isinstance(v, list) and len(v) != c:
                    raise FormatError(f"has {len(v)} entries, expected {c}", field=fld)
            if inp.range and isinstance(inp.range[0], list) and len(inp.range) != c:
                raise FormatError(
                    f"has {len(inp.range)} [lo, hi] pairs, expected {c}", field="input.range"
                )
        except FormatError as e:
            raise e.located(layer=name) from None
        return cls(name=name, input=inp, output=out, bn=bn, affine=aff)


CERTIFICATE_KEYS = ("points", "alpha_lo", "alpha_hi", "hw_rounding")


_CERT_KEYSET = frozenset(CERTIFICATE_KEYS)
_KINDS = ("lower", "upper")


def _plain_certificate(e: Any) -> bool:
    """A well-formed certificate, checked fast (False: let the full check word the problem)."""
    if type(e) is not dict or e.keys() != _CERT_KEYSET or e["hw_rounding"] not in HW_ROUNDINGS:
        return False
    pts = e["points"]
    if type(pts) is not list:
        return False
    for p in pts:
        if not (type(p) is list and len(p) == 3 and type(p[0]) is int and type(p[1]) is int
                and p[2] in _KINDS):
            return False
    for key in ("alpha_lo", "alpha_hi"):
        v = e[key]
        if v is not None and not (type(v) is list and len(v) == 2 and type(v[0]) is int
                                  and type(v[1]) is int and v[1] > 0):
            return False
    return True


def _check_certificate(entry: Any, ch: int) -> None:
    """A certificate is None or {"points": [[x, level, "lower"|"upper"], ...],
    "alpha_lo": [num, den] | None, "alpha_hi": [num, den] | None, "hw_rounding": R}:
    every key present, no other key (what the points prove is checked by verify)."""
    if entry is None or _plain_certificate(entry):
        return
    if not isinstance(entry, dict):
        raise FormatError(f"expected an object or null, got {entry!r}", field="certificate",
                          channel=ch)
    try:
        _check_keys(entry, set(CERTIFICATE_KEYS), "certificate")
        _need_keys(entry, CERTIFICATE_KEYS, "certificate")
    except FormatError as e:
        raise e.located(channel=ch) from None
    points = entry["points"]
    if not isinstance(points, list):
        raise FormatError("points must be a list", field="certificate.points", channel=ch)
    for p in points:
        if not (isinstance(p, list) and len(p) == 3 and _is_int(p[0]) and _is_int(p[1])
                and p[2] in ("lower", "upper")):
            raise FormatError(f"expected [x, level, \"lower\"|\"upper\"], got {p!r}",
                              field="certificate.points", channel=ch)
    for key in ("alpha_lo", "alpha_hi"):
        v = entry[key]
        if v is not None and not (isinstance(v, list) and len(v) == 2 and _is_int(v[0])
                                  and _is_int(v[1]) and v[1] > 0):
            raise FormatError(f"expected [num, den] with den > 0 or null, got {v!r}",
                              field=f"certificate.{key}", channel=ch)
    if entry["hw_rounding"] not in HW_ROUNDINGS:
        raise FormatError(f"unknown hw_rounding {entry['hw_rounding']!r}",
                          field="certificate.hw_rounding", channel=ch)


def _certificates_scan(certs: list, keep: bool = False):
    """The bulk scan's arrays (truthy) when every entry of a file's certificate list has the
    canonical shape, checked in bulk (golden/fast_certs.py: what ``_plain_certificate``
    accepts, entry by entry); None: let the per-entry checks decide (and word the problem).
    ``keep``: with the points verify's kernel reads (else none are kept). Only for parsed
    JSON (plain types), lists long enough to pay for the scanner, and processes that already
    loaded numba (its start-up would cost more than the per-entry checks save)."""
    if len(certs) < 64 or "numba" not in sys.modules:
        return None
    from exactbn.golden.fast_certs import ROUNDING_NAMES, VERIFY_POINTS, scan_certificates

    if not (tuple(HW_ROUNDINGS) == ROUNDING_NAMES and set(CERTIFICATE_KEYS) == _CERT_KEYSET):
        return None
    return scan_certificates(certs, VERIFY_POINTS if keep else 0)


def _need_keys(obj: dict, keys, where: str | None) -> None:
    for k in keys:
        if k not in obj:
            raise FormatError("missing (required)", field=f"{where}.{k}" if where else k)


def _check_per_channel(v: Any, fld: str, c: int, kind: str, *, nullable: bool = False) -> list:
    """A list of ``c`` entries of ``kind`` ("bool" or "count": an integer >= 0)."""
    if not isinstance(v, list) or len(v) != c:
        raise FormatError(f"expected a list of {c} entries (one per channel)", field=fld)
    types = set(map(type, v))
    if kind == "bool" and types <= {bool}:  # the usual cases, fast
        return list(v)
    if kind == "count" and types <= {int} and (not v or min(v) >= 0):
        return list(v)
    for ch, e in enumerate(v):
        if e is None and nullable:
            continue
        ok = isinstance(e, bool) if kind == "bool" else (_is_int(e) and e >= 0)
        if not ok:
            want = "true or false" if kind == "bool" else "an integer >= 0"
            raise FormatError(f"expected {want}{' or null' if nullable else ''}, got {e!r}",
                              field=fld, channel=ch)
    return list(v)


def _check_budget(v: Any) -> dict:
    v = _need_obj(v, "budget")
    _check_keys(v, {"M", "B", "N"}, "budget")
    _need_keys(v, ("M", "B", "N"), "budget")
    for k in ("M", "B", "N"):
        e = v[k]
        if e is not None and not (_is_int(e) and e >= (0 if k == "N" else 1)):
            raise FormatError(f"expected null or an integer >= {0 if k == 'N' else 1}, got {e!r}",
                              field=f"budget.{k}")
    return v


# Solver outputs a solved layer may carry besides the required keys (SolvedLayer.extra):
# name -> (kind, nullable entries). Anything else in a layer is refused as unknown.
SOLVED_EXTRA_KEYS = {
    "max_abs_error": ("count", False),
    "n_min": ("count", True),
    "exact_possible": ("bool", False),
    "mismatches_lower_bound": ("count", True),
    "budget": ("budget", False),
}
SPEC_KEYS = (("bits", "signed", "scale", "zero_point", "range"),
             ("bits", "signed", "scale", "zero_point", "rounding", "clip"))
SOLVED_KEYS = ("name", "input", "output", "hw_rounding", "shift_mode", "a", "b", "M", "B", "N",
               "widths", "exact", "mismatches", "certificate")


@dataclass
class Widths:
    """Register widths in bits: M and B two's complement (sign included), N unsigned."""

    M: int
    B: int
    N: int
    n_max: int

    def to_json(self) -> dict:
        return {"M": self.M, "B": self.B, "N": self.N, "n_max": self.n_max}

    @classmethod
    def from_json(cls, obj: Any) -> Widths:
        obj = _need_obj(obj, "widths")
        _check_keys(obj, {"M", "B", "N", "n_max"}, "widths")
        for k in ("M", "B", "N", "n_max"):
            if k not in obj:
                raise FormatError("missing", field=f"widths.{k}")
            if _need_int(obj[k], f"widths.{k}") < 0:
                raise FormatError("must be >= 0", field=f"widths.{k}")
        return cls(obj["M"], obj["B"], obj["N"], obj["n_max"])


@dataclass
class SolvedLayer:
    """A layer after solving: integer parameters per channel plus what proves them.

    ``certificate[c]`` is ``{"points": [[x, level, "lower"|"upper"], ...],
    "alpha_lo": [num, den] | None, "alpha_hi": [num, den] | None}`` (None = unbounded).
    """

    name: str
    input: InputSpec
    output: OutputSpec
    hw_rounding: str
    shift_mode: str
    a: list[float]
    b: list[float]
    M: list[int]
    B: list[int]
    N: list[int]
    widths: Widths
    exact: list[bool]
    mismatches: list[int]
    certificate: list[dict | None]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def channels(self) -> int:
        return len(self.M)

    @property
    def qmin(self) -> int:
        return self.output.qmin

    @property
    def qmax(self) -> int:
        return self.output.qmax

    def ranges(self) -> list[tuple[int, int]]:
        return self.input.ranges(self.channels)

    @staticmethod
    def widths_for(M: list[int], B: list[int], N: list[int], shift_mode: str) -> Widths:
        n_max = max(N) if N else 0
        return Widths(
            M=twos_width(*M),
            B=twos_width(*B),
            N=0 if shift_mode == "shared" else unsigned_width(n_max),
            n_max=n_max,
        )

    def to_json(self) -> dict:
        d = {
            "name": self.name,
            "input": self.input.to_json(),
            "output": self.output.to_json(),
            "hw_rounding": self.hw_rounding,
            "shift_mode": self.shift_mode,
            "a": list(map(float, self.a)),  # plain Python numbers (numpy scalars too)
            "b": list(map(float, self.b)),
            "M": list(map(int, self.M)),
            "B": list(map(int, self.B)),
            "N": list(map(int, self.N)),
            "widths": self.widths.to_json(),
            "exact": list(map(bool, self.exact)),
            "mismatches": list(map(int, self.mismatches)),
            "certificate": self.certificate,
        }
        d.update(self.extra)
        return d

    @classmethod
    def from_json(cls, obj: Any, index: int = 0, complete: bool = False,
                  scans: dict | None = None) -> SolvedLayer:
        """``complete``: the input and output specs must be given in full (files on disk).
        ``scans``: where the certificate list's bulk scan (golden/fast_certs.py) is kept, by
        layer name, when it has the canonical shape (verify reads it instead of scanning the
        same list again)."""
        if not isinstance(obj, dict):
            raise FormatError(f"layer {index} is not an object")
        name = obj.get("name")
        if not isinstance(name, str) or not name:
            raise FormatError(f"layer {index}: expected a non-empty string, got {name!r}",
                              field="name")
        try:
            _check_keys(obj, set(SOLVED_KEYS) | set(SOLVED_EXTRA_KEYS), "layer")
            _need_keys(obj, SOLVED_KEYS, None)
            for sect, keys in (("input", SPEC_KEYS[0]), ("output", SPEC_KEYS[1])):
                if complete and isinstance(obj[sect], dict):
                    _need_keys(obj[sect], keys, sect)
            inp = InputSpec.from_json(obj["input"])
            out = OutputSpec.from_json(obj["output"])
            M = _int_list(obj["M"], "M")
            c = len(M)
            if c == 0:
                raise FormatError("no channels", field="M")
            B = _int_list(obj["B"], "B", c)
            N = _int_list(obj["N"], "N", c)
            for ch, n in enumerate(N):
                if n < 0:
                    raise FormatError(f"shift must be >= 0, got {n}", field="N", channel=ch)
            a = _float_list(obj["a"], "a", c)
            b = _float_list(obj["b"], "b", c)
            hw_rounding = obj["hw_rounding"]
            if hw_rounding not in HW_ROUNDINGS:
                raise FormatError(f"unknown hw_rounding {hw_rounding!r}", field="hw_rounding")
            shift_mode = obj["shift_mode"]
            if shift_mode not in SHIFT_MODES:
                raise FormatError(f"unknown shift_mode {shift_mode!r}", field="shift_mode")
            if shift_mode == "shared" and len(set(N)) > 1:
                raise FormatError("shared shift mode needs one N for every channel", field="N")
            widths = Widths.from_json(obj["widths"])
            exact = _check_per_channel(obj["exact"], "exact", c, "bool")
            mism = _check_per_channel(obj["mismatches"], "mismatches", c, "count")
            for ch in range(c):
                if exact[ch] != (mism[ch] == 0):
                    raise FormatError(f"exact is {str(exact[ch]).lower()} but mismatches is "
                                      f"{mism[ch]}", field="exact", channel=ch)
            cert = obj["certificate"]
            if not isinstance(cert, list) or len(cert) != c:
                raise FormatError(f"expected {c} entries", field="certificate")
            scan = _certificates_scan(cert, scans is not None) if complete else None
            if scan is None:
                for ch, entry in enumerate(cert):
                    _check_certificate(entry, ch)
            if inp.range and isinstance(inp.range[0], list) and len(inp.range) != c:
                raise FormatError(f"expected {c} [lo, hi] pairs", field="input.range")
            extra = {k: v for k, v in obj.items() if k in SOLVED_EXTRA_KEYS}
            for k, v in extra.items():
                kind, nullable = SOLVED_EXTRA_KEYS[k]
                if kind == "budget":
                    _check_budget(v)
                else:
                    _check_per_channel(v, k, c, kind, nullable=nullable)
            lower = extra.get("mismatches_lower_bound")
            if lower is not None and any(v is not None and v > m
                                         for v, m in zip(lower, mism, strict=True)):
                ch = next(ch for ch, (v, m) in enumerate(zip(lower, mism, strict=True))
                          if v is not None and v > m)
                raise FormatError(f"certified lower bound {lower[ch]} is above the channel's "
                                  f"{mism[ch]} mismatches", field="mismatches_lower_bound",
                                  channel=ch)
            layer = cls(
                name, inp, out, hw_rounding, shift_mode, a, b, M, B, N, widths, exact,
                mism, cert, extra,
            )
            if scan is not None and scans is not None:
                scans[name] = scan
            need = cls.widths_for([min(M), max(M)], [min(B), max(B)], [max(N)], shift_mode)
            fits = twos_width(min(M), max(M)) <= widths.M and twos_width(min(B), max(B)) <= widths.B
            for ch in range(0 if fits else c):
                if twos_width(M[ch]) > widths.M:
                    raise FormatError(
                        f"M = {M[ch]} needs {twos_width(M[ch])} bits, widths.M is {widths.M}",
                        field="M", channel=ch,
                    )
                if twos_width(B[ch]) > widths.B:
                    raise FormatError(
                        f"B = {B[ch]} needs {twos_width(B[ch])} bits, widths.B is {widths.B}",
                        field="B", channel=ch,
                    )
            if widths.n_max < need.n_max or (
                shift_mode == "per-channel" and widths.N < need.N
            ):
                raise FormatError(
                    f"N up to {need.n_max} does not fit widths N={widths.N}, n_max={widths.n_max}",
                    field="widths.N",
                )
        except FormatError as e:
            raise e.located(layer=name) from None
        return layer


# ----------------------------------------------------------------------------- files


MAX_INPUT_BYTES: int | None = None  # None: $EXACTBN_MAX_INPUT_MB MiB, default 64
MAX_MODEL_BYTES: int | None = None  # None: $EXACTBN_MAX_MODEL_MB MiB, default 2048


def _limit(fixed: int | None, env: str, default_mb: int) -> int:
    if fixed is not None:
        return fixed
    text = os.environ.get(env, str(default_mb))
    try:
        mb = int(text)
    except ValueError:
        mb = 0
    if mb <= 0:
        raise FormatError(f"{env}={text!r}: expected a positive number of MiB")
    return mb << 20
MAX_NESTING = 64
MAX_INT_DIGITS = 1000  # above any field (2^62: 19 digits; float64 ratios < 700); below int()


def check_input_file(path: str | os.PathLike, *, model: bool = False) -> int:
    """Refuse what cannot be a sane input before reading it: a missing path, a directory, a
    FIFO or device (reading would hang or never end) or a file above the size limit
    (``model``: the larger limit for model files). Returns the size in bytes."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FormatError("no such file", file=path) from None
    except (OSError, ValueError) as e:
        raise FormatError(f"cannot read: {e}", file=path) from None
    if stat.S_ISDIR(st.st_mode):
        raise FormatError("is a directory, expected a file", file=path)
    if not stat.S_ISREG(st.st_mode):
        raise FormatError("is not a regular file (a FIFO, socket or device?)", file=path)
    env = "EXACTBN_MAX_MODEL_MB" if model else "EXACTBN_MAX_INPUT_MB"
    max_bytes = (_limit(MAX_MODEL_BYTES, env, 2048) if model
                 else _limit(MAX_INPUT_BYTES, env, 64))
    if st.st_size > max_bytes:
        raise FormatError(f"is {st.st_size} bytes, above the {max_bytes / 2**20:g} MiB input "
                          f"limit ({env})", file=path)
    return st.st_size


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise FormatError(f"an integer with {len(text.lstrip('-'))} digits (at most "
                          f"{MAX_INT_DIGITS})")
    return int(text)


def _check_tree(obj: Any) -> None:
    """Nesting depth and strings of parsed JSON: every string must be valid Unicode (a lone
    surrogate such as \\udc80 cannot be printed or written as UTF-8) without NUL."""
    stack = [(obj, 1)]
    while stack:
        v, depth = stack.pop()
        if depth > MAX_NESTING:
            raise FormatError(f"nested more than {MAX_NESTING} levels deep")
        if isinstance(v, dict):
            stack.extend((k, depth) for k in v)
            stack.extend((x, depth + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, depth + 1) for x in v)
        elif isinstance(v, str):
            if "\0" in v:
                raise FormatError(f"a string holds a NUL character: {v[:40]!r}")
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                raise FormatError(f"a string holds a lone surrogate: "
                                  f"{v.encode('utf-8', 'backslashreplace').decode()[:40]!r}"
                                  ) from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    """json object_pairs_hook: a key given twice is refused (JSON keeps the last silently)."""
    d: dict = {}
    for k, v in pairs:
        if k in d:
            raise FormatError(f"duplicate key {k!r} in one JSON object", field=k)
        d[k] = v
    return d


def _fast_loads(text: str) -> Any:
    """The parsed JSON via orjson, or None to let the stdlib path decide.

    Only plain text takes this path: no backslash at all (no escapes: no NUL, no lone
    surrogate, and every string comes back byte for byte), no NUL, nesting within
    MAX_NESTING. Duplicate keys are
    refused by counting colons: orjson keeps only the last of a duplicate, so a file with one
    has more colons than the parsed object written back. Callers validate the object and fall
    back to the stdlib path on any error (:func:`_load`), which also reads what orjson would
    change (integers beyond 64 bits become floats there) and words every refusal."""
    try:
        import orjson
    except ImportError:  # pragma: no cover
        return None
    if "\\" in text or "\0" in text:
        return None
    raw = text.encode("utf-8")
    try:
        obj = orjson.loads(raw)
        again = orjson.dumps(obj)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, TypeError):
        return None
    if raw.count(b":") != again.count(b":"):
        return None  # a duplicate key: the stdlib path names it
    if _max_depth(raw) >= MAX_NESTING:  # near the limit: the stdlib path decides exactly
        return None
    return obj


_STRUCTURE = bytes(range(256)).translate(None, b'[]{}"')  # every byte but these five


def _max_depth(raw: bytes) -> int:
    """Deepest nesting of JSON text without escapes (brackets inside strings not counted)."""
    import numpy as np

    b = np.frombuffer(raw.translate(None, _STRUCTURE), dtype=np.uint8)
    q = b == ord('"')
    outside = ~((np.cumsum(q) & 1).astype(bool) | q)
    step = np.where(outside & ((b == ord("[")) | (b == ord("{"))), 1, 0) - np.where(
        outside & ((b == ord("]")) | (b == ord("}"))), 1, 0)
    return int(np.cumsum(step).max(initial=0))


def _read_text(path: str | os.PathLike) -> str:
    check_input_file(path)
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FormatError("no such file", file=path) from None
    except IsADirectoryError:
        raise FormatError("is a directory, expected a JSON file", file=path) from None
    except (OSError, UnicodeDecodeError) as e:
        raise FormatError(f"cannot read: {e}", file=path) from None


def _load(path: str | os.PathLike, parse):
    """``parse(json)`` of a file: orjson first (fast), the stdlib reader when orjson is not
    sure or ``parse`` refuses (so every refusal is the stdlib path's own, located)."""
    import gc

    text = _read_text(path)
    enabled = gc.isenabled()
    gc.disable()  # a solved file is a million small acyclic objects: no collector passes
    try:
        obj = _fast_loads(text)
        if obj is not None:
            try:
                return parse(obj)
            except FormatError:
                pass
        return parse(_parse_text(text, path))
    finally:
        if enabled:
            gc.enable()


def _read_json(path: str | os.PathLike) -> Any:
    return _parse_text(_read_text(path), path)


def _parse_text(text: str, path: str | os.PathLike) -> Any:
    """The strict stdlib reader: duplicate keys, huge integers, NUL and lone surrogates,
    nesting beyond MAX_NESTING are refused with a located message."""
    try:
        obj = json.loads(text, parse_int=_parse_int, object_pairs_hook=_unique_keys)
        _check_tree(obj)
        return obj
    except json.JSONDecodeError as e:
        raise FormatError(f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}",
                          file=path) from None
    except RecursionError:
        raise FormatError(f"nested more than {MAX_NESTING} levels deep", file=path) from None
    except FormatError as e:
        raise e.located(file=path) from None


def _layer_list(obj: Any) -> list:
    if isinstance(obj, dict) and "layers" in obj:
        obj = obj["layers"]
    elif isinstance(obj, dict):
        obj = [obj]
    if not isinstance(obj, list) or not obj:
        raise FormatError("expected a layer object, a list of layers or {\"layers\": [...]}")
    return obj


LAYER_FORMAT = "exactbn-layers"
LAYER_FILE_KEYS = {"format", "source", "layers"}


def parse_layers(obj: Any, file: str | None = None) -> list[Layer]:
    """Layers from parsed JSON (a layer, a list of layers or ``{"layers": [...]}``)."""
    try:
        if isinstance(obj, dict) and "layers" in obj:  # a layer file: nothing unknown in it
            _check_keys(obj, LAYER_FILE_KEYS, "file")
            fmt = obj.get("format", LAYER_FORMAT)
            if fmt != LAYER_FORMAT:
                raise FormatError(f"format {fmt!r} is not a layer file ({LAYER_FORMAT!r})",
                                  field="format")
            if not isinstance(obj.get("source", ""), str):
                raise FormatError("expected a string", field="source")
        layers = [Layer.from_json(o, i) for i, o in enumerate(_layer_list(obj))]
        names = [lay.name for lay in layers]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise FormatError(f"duplicate layer name(s) {sorted(dup)}", field="name")
    except FormatError as e:
        raise e.located(file=file) from None
    return layers


def load_layers(path: str | os.PathLike) -> list[Layer]:
    return _load(path, lambda obj: parse_layers(obj, str(path)))


SOLVED_FORMAT = "exactbn-solved"
SOLVED_VERSION = 1
SOLVED_FILE_KEYS = {"format", "version", "layers", "source"}


def parse_solved(obj: Any, file: str | None = None, *, header: bool = False,
                 scans: dict | None = None) -> list[SolvedLayer]:
    """Solved layers from parsed JSON ``{"format": ..., "version": 1, "layers": [...]}``.

    Every key is checked (unknown or missing keys are refused, located); ``header=True``
    (files on disk) also requires ``format``, ``version`` and the full input/output specs.
    ``scans``: filled with each layer's certificate scan (``SolvedLayer.from_json``)."""
    if scans is not None:
        scans.clear()  # a second parse of the same text (the stdlib path) starts afresh
    try:
        if not (isinstance(obj, dict) and "layers" in obj):
            raise FormatError('expected a solved file {"format": "exactbn-solved", '
                              '"version": 1, "layers": [...]}')
        _check_keys(obj, SOLVED_FILE_KEYS, "file")
        if header:
            _need_keys(obj, ("format", "version"), None)
        if "format" in obj and obj["format"] != SOLVED_FORMAT:
            raise FormatError(f"expected {SOLVED_FORMAT!r}, got {obj['format']!r}",
                              field="format")
        if "version" in obj and (not _is_int(obj["version"])
                                 or obj["version"] != SOLVED_VERSION):
            raise FormatError(f"unsupported version {obj['version']!r}; this exactbn reads "
                              f"version {SOLVED_VERSION} (re-run exactbn solve)", field="version")
        if "source" in obj and not isinstance(obj["source"], str):
            raise FormatError(f"expected a string, got {obj['source']!r}", field="source")
        layers = [SolvedLayer.from_json(o, i, complete=header, scans=scans)
                  for i, o in enumerate(_layer_list(obj))]
        names = [lay.name for lay in layers]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise FormatError(f"duplicate layer name(s) {dup}", field="name")
        return layers
    except FormatError as e:
        raise e.located(file=file) from None


def load_solved(path: str | os.PathLike, scans: dict | None = None) -> list[SolvedLayer]:
    """The solved file's layers; ``scans`` (optional): filled with each layer's certificate
    scan, by layer name (``parse_solved``)."""
    return _load(path, lambda obj: parse_solved(obj, str(path), header=True, scans=scans))


def select_layer(layers: list, name: str | None, file: str | None = None):
    """The layer called ``name``; ``name`` may be omitted when there is just one layer."""
    if name is None:
        if len(layers) != 1:
            raise FormatError(
                f"holds {len(layers)} layers ({', '.join(lay.name for lay in layers)}); "
                "choose one with --layer",
                file=file,
            )
        return layers[0]
    for lay in layers:
        if lay.name == name:
            return lay
    raise FormatError(
        f"no layer named {name!r} (have: {', '.join(lay.name for lay in layers)})", file=file
    )


def dump_solved(layers: list[SolvedLayer], extra: dict | None = None) -> dict:
    d: dict[str, Any] = {"format": SOLVED_FORMAT, "version": SOLVED_VERSION}
    if extra:
        d.update(extra)
    d["layers"] = [lay.to_json() for lay in layers]
    return d


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike, text: str | bytes) -> None:
    """Write a file so that readers see the old file or the whole new one, never a part.

    The file gets mode ``0666 & ~umask`` like any file the user creates (``mkstemp`` alone
    would give 0600). A target that cannot be written is a :class:`FormatError`."""
    p = Path(path)
    if str(path) == "" or p.name in ("", ".", ".."):
        raise FormatError("expected a file name", file=str(path))
    if p.is_dir():
        raise FormatError("is a directory, expected a file to write", file=path)
    if p.exists() and not p.is_file():
        raise FormatError("exists and is not a regular file", file=path)
    tmp = None
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name[:64]}.", suffix=".tmp", dir=p.parent)
        os.fchmod(fd, 0o666 & ~_umask())
        if isinstance(text, bytes):
            with os.fdopen(fd, "wb") as f:
                f.write(text)
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
        os.replace(tmp, p)
        tmp = None
    except OSError as e:
        raise FormatError(f"cannot write: {e.strerror or e}", file=path) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


OUTPUT_MARKER = ".exactbn-output"  # written into every directory exactbn replaces whole


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except (OSError, RuntimeError):
        return False


def check_output_path(output: str | os.PathLike, inputs: list, *, is_dir: bool,
                      replaced: bool = False) -> None:
    """Refuse an output (-o) that would overwrite or delete an input, or that is not a path.

    ``is_dir``: the output is a directory; ``replaced``: the command replaces that directory
    whole, so no input may lie inside it."""
    if str(output).strip() == "":
        raise FormatError("-o needs a path, got an empty string")
    out = Path(output)
    for src in inputs:
        if src is None:
            continue
        s = Path(src)
        if _same_file(out, s):
            raise FormatError(f"-o {output} is the input file itself: refusing to overwrite it",
                              file=src)
        if is_dir and replaced:
            try:
                inside = s.resolve().is_relative_to(out.resolve())
            except (OSError, RuntimeError):
                inside = False
            if inside:
                raise FormatError(f"lies inside -o {output}, which is replaced whole: refusing "
                                  "to delete an input", file=src)


def check_writable(path: str | os.PathLike, *, is_dir: bool) -> None:
    """Refuse, before any work, an output that cannot be written: a file where a directory
    is wanted (or the reverse), a parent that is a file, a read-only directory."""
    p = Path(path)
    if p.exists():
        if is_dir != p.is_dir():
            raise FormatError("exists and is not a directory" if is_dir else
                              "is a directory, expected a file to write", file=str(path))
    probe = p if is_dir and p.exists() else p.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise FormatError(f"cannot write: {probe} is a file, not a directory", file=str(path))
    if not os.access(probe, os.W_OK | os.X_OK):
        raise FormatError(f"cannot write: {probe} is not writable", file=str(path))


def check_replaceable_dir(path: str | os.PathLike) -> Path:
    """The absolute path of an output directory that may be replaced whole.

    Refuses the current directory (or one holding it), the file system root, a non-directory
    and an existing non-empty directory exactbn did not write (it has no
    :data:`OUTPUT_MARKER` file): a user's files there are never deleted."""
    if str(path).strip() == "":
        raise FormatError("-o needs a path, got an empty string")
    p = Path(path)
    res = p.resolve()
    cwd = Path.cwd().resolve()
    if res == cwd or res in cwd.parents or res.parent == res:
        raise FormatError("is the current directory, one holding it or the root: refusing to "
                          "replace it; choose a new directory", file=str(path))
    if res.exists() or res.is_symlink():
        if not res.is_dir():
            raise FormatError("exists and is not a directory", file=str(path))
        try:
            empty = not any(res.iterdir())
        except OSError as e:
            raise FormatError(f"cannot read: {e.strerror or e}", file=str(path)) from None
        if not empty and not (res / OUTPUT_MARKER).is_file():
            raise FormatError(
                f"exists and was not written by exactbn (no {OUTPUT_MARKER} file): refusing "
                "to replace what it holds; choose a new or empty directory", file=str(path))
    return res


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=1, allow_nan=False) + "\n")


def _encoder():
    """orjson.dumps when installed (bytes), else a compact stdlib equivalent."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency; stdlib still works
        orjson = None

    def std(v: Any) -> bytes:
        return json.dumps(v, allow_nan=False, separators=(",", ":")).encode()

    if orjson is None:
        return std

    def enc(v: Any) -> bytes:
        try:
            return orjson.dumps(v)
        except TypeError:  # an integer beyond 64 bits (exact fractions): stdlib writes it
            return std(v)

    return enc


def _check_finite(layer: dict) -> None:
    """Solved layers hold floats only in a, b and the specs: refuse NaN/infinity in the specs
    here (orjson would write null); a and b are checked on their encoding (``_finite``)."""
    json.dumps([layer.get("input"), layer.get("output")], allow_nan=False)  # small


def _finite(layer: dict, key: str, text: bytes) -> bytes:
    """``text``, the encoding of a or b: orjson writes NaN and infinity as null, and a list
    of numbers holds no other null (the stdlib fallback refuses them itself)."""
    if b"null" in text:
        raise ValueError(f"layer {layer.get('name')!r}: {key} holds NaN or infinity")
    return text


def _lines(enc, certs: list) -> bytes:
    """Certificates (objects without nested objects, or null) one per line."""
    whole = enc(certs)[1:-1]
    if not certs or b"\n" in whole:  # the stdlib fallback; never happens with orjson
        return b",\n    ".join(enc(e) for e in certs)
    # ",{" and ",null" only ever stand between two entries: an entry holds no object, and
    # its nulls follow a colon
    return whole.replace(b",{", b",\n    {").replace(b",null", b",\n    null")


def dumps_solved(obj: dict) -> bytes:
    """A solved file's JSON text, compact and still readable: one key per line, one
    certificate per line, every value compact (orjson: about 10x faster than ``json``)."""
    enc = _encoder()
    out = [b"{"]
    top = list(obj.items())
    for n, (k, v) in enumerate(top):
        sep = b"," if n + 1 < len(top) else b""
        if k != "layers":
            out.append(b"\n " + enc(k) + b": " + enc(v) + sep)
            continue
        out.append(b"\n " + enc(k) + b": [")
        for j, lay in enumerate(v):
            _check_finite(lay)
            out.append(b"\n  {")
            items = list(lay.items())
            for i, (key, val) in enumerate(items):
                tail = b"," if i + 1 < len(items) else b""
                entries = getattr(val, "json_entries", None) if key == "certificate" else None
                if entries is not None and len(val):  # already encoded (golden/fast_certs.py)
                    out.append(b"\n   " + enc(key) + b": [\n    " + entries() + b"\n   ]" + tail)
                elif key == "certificate" and isinstance(val, list) and val:
                    body = _lines(enc, val)
                    out.append(b"\n   " + enc(key) + b": [\n    " + body + b"\n   ]" + tail)
                elif key in ("a", "b"):
                    out.append(b"\n   " + enc(key) + b": " + _finite(lay, key, enc(val)) + tail)
                else:
                    out.append(b"\n   " + enc(key) + b": " + enc(val) + tail)
            out.append(b"\n  }" + (b"," if j + 1 < len(v) else b""))
        out.append(b"\n ]" + sep)
    out.append(b"\n}\n")
    return b"".join(out)


def write_solved(path: str | os.PathLike, obj: dict) -> None:
    """Write a solved file (``dump_solved``'s object) atomically, via :func:`dumps_solved`."""
    write_text_atomic(path, dumps_solved(obj))


SAFE_NAME_MAX = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def safe_name(name: str, max_len: int = SAFE_NAME_MAX) -> str:
    """A file-name component made from a layer (or module) name.

    Keeps ``[A-Za-z0-9_.-]``, replaces anything else with ``_``, never starts with a dot and is
    never empty; at most ``max_len`` characters. When the result differs from ``name`` a short
    hash of the original is appended, so that distinct names give distinct paths. Refuses NUL.
    """
    if not isinstance(name, str):
        raise FormatError(f"expected a string name, got {type(name).__name__}", field="name")
    if "\0" in name:
        raise FormatError("name contains a NUL character", field="name")
    out = _UNSAFE.sub("_", name).lstrip(".") or "_"
    if out == name and len(out) <= max_len:
        return out
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{out[: max(1, max_len - 9)]}-{digest}"


def file_sha256(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_threshold_manifest(path: str | os.PathLike) -> tuple[str, list[int], list[list[int]]]:
    """``(layer, directions, thresholds)`` of a threshold unit's manifest (``NAME.json`` of
    ``generate --unit threshold``); FormatError naming the file, channel and field."""
    obj = _read_json(path)
    if not isinstance(obj, dict) or obj.get("format") != "exactbn-unit":
        raise FormatError("not an exactbn unit manifest (format 'exactbn-unit')", file=path,
                          field="format")
    if obj.get("unit") != "threshold":
        raise FormatError("not a threshold unit's manifest (its thresholds are what is "
                          "checked)", file=path, field="unit")
    layer, dirs, ts = obj.get("layer"), obj.get("directions"), obj.get("thresholds")
    if not isinstance(layer, str):
        raise FormatError("expected the layer's name", file=path, field="layer")
    if not isinstance(dirs, list) or not isinstance(ts, list):
        raise FormatError("expected lists 'directions' and 'thresholds'", file=path,
                          layer=layer, field="thresholds")
    for c, d in enumerate(dirs):
        if d not in (1, -1) or isinstance(d, bool):
            raise FormatError(f"direction must be 1 or -1, got {d!r}", file=path, layer=layer,
                              channel=c, field="directions")
    for c, t in enumerate(ts):
        if not isinstance(t, list) or any(isinstance(v, bool) or not isinstance(v, int)
                                          for v in t):
            raise FormatError("expected a list of integers", file=path, layer=layer,
                              channel=c, field="thresholds")
    return layer, list(dirs), [list(t) for t in ts]
