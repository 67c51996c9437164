"""A tiny JSON writer for mutants: raw tokens, duplicate keys and deep nesting as text."""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ["Raw", "Dup", "dumps"]


@dataclass(frozen=True)
class Raw:
    """Text written verbatim (NaN, Infinity, '[[[...]]]', an escaped lone surrogate)."""

    text: str


class Dup(list):
    """An object written from (key, value) pairs, so a key may appear twice."""


def dumps(v, indent: int = 1, _level: int = 0) -> str:
    """JSON text of ``v``; ints of any size are written in full."""
    pad = "\n" + " " * (indent * (_level + 1))
    end = "\n" + " " * (indent * _level)
    if isinstance(v, Raw):
        return v.text
    if isinstance(v, Dup):
        items = [f"{json.dumps(k)}: {dumps(x, indent, _level + 1)}" for k, x in v]
        return "{" + ",".join(pad + i for i in items) + end + "}" if items else "{}"
    if isinstance(v, dict):
        return dumps(Dup(v.items()), indent, _level)
    if isinstance(v, list):
        items = [dumps(x, indent, _level + 1) for x in v]
        return "[" + ",".join(pad + i for i in items) + end + "]" if items else "[]"
    if isinstance(v, bool) or v is None:
        return json.dumps(v)
    if isinstance(v, int):
        return str(v)  # no int-to-str digit limit: 4,301-digit ints are the point
    if isinstance(v, float):
        return repr(v)
    return json.dumps(v)
