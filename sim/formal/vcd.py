"""A small VCD reader for counterexamples: the value of named signals at each step."""

from __future__ import annotations

from pathlib import Path

__all__ = ["read_vcd"]


def read_vcd(path: str | Path, names: set[str] | None = None) -> dict[str, list[int | None]]:
    """``{signal: [value at step 0, 1, ...]}`` for top-level-or-nested signals.

    Signal keys are the dotted scope path below the top scope (``dut.core.x_p``) and the
    bare name for signals of the top scope. ``x``/``z`` bits read as None.
    """
    ids: dict[str, list[str]] = {}
    scope: list[str] = []
    times: list[int] = []
    changes: dict[str, list[tuple[int, int | None]]] = {}
    cur_t = 0
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line:
                continue
            if line.startswith("$scope"):
                scope.append(line.split()[2])
            elif line.startswith("$upscope"):
                scope.pop()
            elif line.startswith("$var"):
                parts = line.split()
                code, name = parts[3], parts[4]
                full = ".".join(scope[1:] + [name])
                if names is None or full in names:
                    ids.setdefault(code, []).append(full)
            elif line[0] == "#":
                cur_t = int(line[1:])
                if not times or times[-1] != cur_t:
                    times.append(cur_t)
            elif line[0] in "01xz" and len(line) > 1 and line[1:] in ids:
                changes.setdefault(line[1:], []).append((cur_t, None if line[0] in "xz"
                                                         else int(line[0])))
            elif line[0] == "b":
                val, code = line[1:].split()
                if code in ids:
                    v = None if any(c in "xz" for c in val) else int(val, 2)
                    changes.setdefault(code, []).append((cur_t, v))
    out: dict[str, list[int | None]] = {}
    for code, full_names in ids.items():
        seq: list[int | None] = []
        ch = changes.get(code, [])
        k, v = 0, None
        for t in times:
            while k < len(ch) and ch[k][0] <= t:
                v = ch[k][1]
                k += 1
            seq.append(v)
        for n in full_names:
            out[n] = seq
    return out
