"""Mutants of a JSON input (layer or solved file), field by field and as text."""

from __future__ import annotations

import copy
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from fuzz.jsontext import Dup, Raw, dumps
from fuzz.values import EXTREMES, TOKENS, TYPE_SWAPS, odd_names

__all__ = ["Mutant", "json_mutants", "leaf_paths"]


@dataclass
class Mutant:
    """One mutated input: ``kind`` (mutation class), ``path`` (field), bytes, and the edit."""

    kind: str
    path: str
    desc: str
    data: bytes
    old: object = None
    new: object = None


def leaf_paths(tree, path=()) -> Iterator[tuple[tuple, object]]:
    """(path, value) of every node; long lists contribute their first two and last items."""
    yield path, tree
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from leaf_paths(v, (*path, k))
    elif isinstance(tree, list):
        idx = range(len(tree)) if len(tree) <= 3 else (0, 1, len(tree) - 1)
        for i in idx:
            yield from leaf_paths(tree[i], (*path, i))


def _set(tree, path, value):
    t = copy.deepcopy(tree)
    node = t
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return t


def _typo(key: str, rng: random.Random) -> str:
    ops = [lambda k: k[:-1], lambda k: k + k[-1], lambda k: k + " ", lambda k: " " + k,
           lambda k: k.swapcase(), lambda k: k[:1] + k[2:] if len(k) > 2 else k + "s",
           lambda k: k.capitalize() if k != k.capitalize() else k.lower() + "_"]
    for _ in range(10):
        t = rng.choice(ops)(key)
        if t != key:
            return t
    return key + "x"


def _pstr(path) -> str:
    return "/".join(str(p) for p in path) or "<root>"


def json_mutants(text: str, rng: random.Random, sandbox_abs: str) -> list[Mutant]:
    """Every mutant of one JSON text, in a fixed order (the campaign samples from them)."""
    tree = json.loads(text)
    out: list[Mutant] = []

    def add(kind, path, desc, new_tree=None, raw=None, old=None, new=None):
        data = raw if raw is not None else dumps(new_tree).encode("utf-8", "surrogatepass")
        out.append(Mutant(kind, _pstr(path), desc, data, old, new))

    for path, val in leaf_paths(tree):
        if not path:
            continue
        if isinstance(val, (dict, list)):
            kinds = [("type", v) for v in (7, "x", None, True)] + [("empty", type(val)())]
        else:
            kinds = [("type", v) for v in TYPE_SWAPS if v != val or type(v) is not type(val)]
            if not isinstance(val, (bool, str)):
                kinds += [("extreme", v) for v in EXTREMES
                          if v != val or type(v) is not type(val)]
            kinds += [("token", v) for v in TOKENS if not isinstance(val, (bool, str))]
            if isinstance(val, float) and val != 0.0:
                kinds += [("ulp", math.nextafter(val, math.inf)), ("scale", val * 2),
                          ("negate", -val)]
            if isinstance(val, int) and not isinstance(val, bool):
                kinds += [("plus1", val + 1), ("minus1", val - 1), ("negate", -val),
                          ("double", 2 * val + 1)]
            if isinstance(val, bool):
                kinds += [("flip", not val), ("type", int(val))]
        if path[-1] == "name":
            kinds += [(f"name:{lab}", v) for lab, v in odd_names(sandbox_abs)]
        for kind, new in kinds:
            if type(new) is type(val) and new == val and not isinstance(new, float):
                continue  # -0 == 0: not a mutation
            add(kind, path, f"{_pstr(path)}: {_short(val)} -> {_short(new)}",
                _set(tree, path, new), old=val, new=new)
        # deep nesting in place of the value
        for depth in (100, 1100, 100_000):
            add("nesting", path, f"{_pstr(path)}: nested {depth} levels",
                _set(tree, path, Raw("[" * depth + "1" + "]" * depth)), old=val,
                new=f"nest{depth}")
        if isinstance(path[-1], str):
            parent = tree
            for p in path[:-1]:
                parent = parent[p]
            key = path[-1]
            pp = path[:-1]
            # missing key
            t = _set(tree, pp, {k: v for k, v in parent.items() if k != key}) if pp else \
                {k: v for k, v in parent.items() if k != key}
            add("missing-key", path, f"{_pstr(path)} removed", t, old=val)
            # typo'd key (value kept)
            typo = _typo(key, rng)
            renamed = {(typo if k == key else k): v for k, v in parent.items()}
            t = _set(tree, pp, renamed) if pp else renamed
            add("typo-key", path, f"key {key!r} -> {typo!r}", t, old=key, new=typo)
            # duplicate key, same value and a different value
            for dv, lab in ((val, "same"), (_other(val), "other")):
                d = Dup()
                for k, v in parent.items():
                    d.append((k, v))
                    if k == key:
                        d.append((k, dv))
                t = _set(tree, pp, d) if pp else d
                add("dup-key", path, f"key {key!r} twice ({lab} value)", t, old=val, new=dv)
        if isinstance(val, dict):
            t = _set(tree, path, {**val, "unknown_key": 1})
            add("unknown-key", (*path, "unknown_key"), f"{_pstr(path)}: unknown key added", t)
    # whole-file mutations
    t = dict(tree) if isinstance(tree, dict) else tree
    if isinstance(t, dict):
        add("unknown-key", ("unknown_top",), "unknown top-level key", {**t, "unknown_top": 1})
    raw = text.encode()
    for frac in (0.0, 0.1, 0.5, 0.9, 0.999):
        n = int(len(raw) * frac)
        if _parses(raw[:n]):
            continue
        add("truncate", (), f"truncated to {n} of {len(raw)} bytes", raw=raw[:n])
    for lab, data in (("array", b"[]"), ("null", b"null"), ("number", b"7"), ("string", b'"x"'),
                      ("bom", b"\xef\xbb\xbf" + raw), ("latin1", raw.replace(b'"', b'"\xe9', 1)),
                      ("nest", b"[" * 200_000 + b"]" * 200_000), ("trailing", raw + b"x")):
        add(f"file:{lab}", (), f"whole file: {lab}", raw=data)
    return out


def _other(v):
    if isinstance(v, bool):
        return not v
    if isinstance(v, (int, float)):
        return v + 1
    if isinstance(v, str):
        return v + "_other"
    return None


def _parses(b: bytes) -> bool:
    try:
        json.loads(b)
        return True
    except ValueError:
        return False


def _short(v) -> str:
    if isinstance(v, Raw):
        s = v.text
    else:
        try:
            s = json.dumps(v)
        except (TypeError, ValueError):
            s = repr(v)
    return s if len(s) <= 40 else s[:37] + "..."
