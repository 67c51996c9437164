"""What a mutant must not be accepted as: its verdict.

- ``refuse``: no command may exit 0 on it (malformed, wrong type, typo'd/unknown/duplicate
  key, missing required key, NaN/Infinity token, truncation, over-deep nesting, NUL name);
- ``inexact``: the parameters no longer give the exact output for some channel that the
  file calls exact (re-counted here on every input of the channel's range): ``verify`` and
  ``prove`` must not exit 0, and ``generate`` must not write a manifest saying exact;
- ``verify``: the file no longer agrees with its layer file or with its own claims
  (mismatch counts, certificates, minimality, the whole input/output spec): ``verify`` must
  not exit 0;
- ``any``: a still-valid value; accepting it is fine (it must still not crash or hang).
"""

from __future__ import annotations

import json

from fuzz.jsontext import Raw
from fuzz.mutate_json import Mutant
from fuzz.values import NAME_MUST_REFUSE

__all__ = ["verdict_json", "VERDICTS"]

VERDICTS = ("refuse", "inexact", "verify", "any")

_ALWAYS_REFUSE = ("token", "nesting", "typo-key", "dup-key", "unknown-key", "truncate")
# Keys a layer file may leave out (documented defaults).
_LAYER_OPTIONAL = {"name", "input/signed", "input/scale", "input/zero_point", "input/range",
                   "output/signed", "output/scale", "output/zero_point", "output/rounding",
                   "output/clip", "bn/eps"}
_SOLVED_EXTRAS = {"max_abs_error", "n_min", "exact_possible", "budget", "source"}
_SPEC_DEFAULTS = {"input/signed": True, "input/scale": 1.0, "input/zero_point": 0,
                  "output/signed": True, "output/scale": 1.0, "output/zero_point": 0,
                  "output/rounding": "half_even"}
_MODEL_FIELDS = ("M", "B", "N", "a", "b", "hw_rounding", "input", "output", "exact")


def _cat(v) -> str:
    if isinstance(v, Raw):
        return "int" if v.text.lstrip("-").isdigit() else "token"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if v is None:
        return "null"
    return type(v).__name__


def _field(path: str) -> str:
    """'layers/0/input/range/1' -> 'input/range/1' (the part below the layer)."""
    parts = path.split("/")
    return "/".join(parts[2:]) if parts[:1] == ["layers"] and len(parts) > 1 else path


def _same_type(old, new) -> bool:
    co, cn = _cat(old), _cat(new)
    return co == cn or (co == "float" and cn == "int")


def verdict_json(file_kind: str, m: Mutant, tree_text: bytes) -> str:
    """Verdict of a layer-file (``layers``) or solved-file (``solved``) mutant."""
    k = m.kind
    f = _field(m.path)
    top = f.split("/")[0]
    if k in _ALWAYS_REFUSE or k in ("file:array", "file:null", "file:number", "file:string",
                                    "file:latin1", "file:nest", "file:trailing"):
        if k == "unknown-key" and file_kind == "solved" and top in _SOLVED_EXTRAS:
            return "any"
        return "refuse"
    if k.startswith("file:"):
        return "any"
    if k.startswith("name:"):
        lab = k.split(":", 1)[1]
        return "refuse" if lab in NAME_MUST_REFUSE or lab == "empty" else "any"
    if m.path.split("/")[0] in ("format", "version"):
        return "refuse" if k != "missing-key" or file_kind == "solved" else "any"
    if file_kind == "layers":
        return _layer_verdict(m, f)
    return _solved_verdict(m, f, tree_text)


def _layer_verdict(m: Mutant, f: str) -> str:
    if m.kind == "missing-key":
        return "any" if f in _LAYER_OPTIONAL or f == "" else "refuse"
    if m.kind in ("type", "empty", "nesting") and not _scalar_for_list(m, f):
        if not _same_type(m.old, m.new) or m.kind == "empty":
            return "refuse"
    if _cat(m.new) == "token":
        return "refuse"
    # a changed spec can never match a solved file made from the original
    if f.split("/")[0] in ("input", "output") and f.split("/")[1] not in ("scale",):
        return "verify"
    return "any"


def _scalar_for_list(m: Mutant, f: str) -> bool:
    """input.scale / input.zero_point may be one value for every channel instead of a list."""
    return (isinstance(m.old, list) and f in ("input/scale", "input/zero_point")
            and _cat(m.new) in ("int", "float"))


def _solved_verdict(m: Mutant, f: str, data: bytes) -> str:
    top = f.split("/")[0]
    if top in _SOLVED_EXTRAS:
        return "any"
    if m.kind == "missing-key":
        if f.startswith("certificate/"):
            return "verify"
        if f in _SPEC_DEFAULTS:
            return "any" if m.old == _SPEC_DEFAULTS[f] else "verify"
        if f in ("input/range", "output/clip"):
            return "any" if m.old == _full_range(data, f.split("/")[0]) else "verify"
        return "refuse"
    if top == "certificate":
        if m.kind in ("type", "empty") and not _same_type(m.old, m.new) and m.new is not None:
            if f.count("/") >= 2:  # inside a certificate: points, alpha_lo, ...
                return "refuse" if not isinstance(m.old, list) or m.kind != "empty" \
                    else "verify"
            return "refuse"
        return "verify"
    if m.kind in ("type", "empty") and not _same_type(m.old, m.new):
        return "refuse"
    if _cat(m.new) == "token":
        return "refuse"
    if top == "mismatches":
        return "refuse" if isinstance(m.new, int) and m.new < 0 else "verify"
    if top == "name":
        return "any"
    if top in ("widths", "shift_mode"):
        return "any"
    if top in _MODEL_FIELDS:
        return "inexact" if _claims_wrongly(data) else "verify"
    return "any"


def _full_range(data: bytes, which: str) -> list[int] | None:
    """The default input range / output clip (the whole integer type) of the mutated file."""
    try:
        spec = json.loads(data)["layers"][0][which]
        bits, signed = spec["bits"], spec.get("signed", True)
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return [-(1 << (bits - 1)), (1 << (bits - 1)) - 1] if signed else [0, (1 << bits) - 1]


def _claims_wrongly(data: bytes) -> bool:
    """True when some channel the mutated file calls exact differs from the exact reference
    on at least one input of its range (counted exhaustively, ranges up to 2^20)."""
    from exactbn import formats

    try:
        from exactbn.golden.verify import exhaustive_check
        obj = json.loads(data)
        layers = formats.parse_solved(obj)
    except Exception:  # noqa: BLE001 - a file the loader refuses is judged by the tool
        return False
    for sl in layers:
        for c in range(sl.channels):
            lo, hi = sl.ranges()[c]
            if not sl.exact[c] or hi - lo + 1 > 1 << 20:
                continue
            try:
                if exhaustive_check(sl, c) > 0:
                    return True
            except Exception:  # noqa: BLE001 - overflowing tampered values: surely wrong
                return True
    return False
