"""Bit-level cones of influence in a flattened RTLIL netlist (the stall task's lane parts).

:func:`cones` parses one module of ``runner.list_state``'s netlist and, for sets of seed
bits (e.g. one lane of ``m_axis_tdata``), returns every flip-flop bit, every memory word
and every product cell in their transitive fan-in (through combinational cells and across
flip-flops to their inputs). Bitwise cells (``$and``, ``$mux``, ``$dff``, ...) of equal
widths are followed bit by bit, every other cell as a whole (each output bit depends on
every input bit), so a cone can only be too large, never too small.

Only speed depends on it: a part of the stall task asserts the ties of its cone; the parts
together assert every tie (the last part is the cone of everything the lane parts leave),
and each part is a complete k-induction proof of what it asserts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Cone", "cones"]

Bit = tuple[str, int]
_TOKEN = re.compile(r"\{|\}|\d+'[01xzm-]*|[\\$]\S+|\[\d+(?::\d+)?\]")
_OUT_PORTS = {"\\Y", "\\Q", "\\X", "\\CO"}
_BITWISE = {"$and", "$or", "$xor", "$xnor", "$not", "$pos", "$buf", "$mux", "$bwmux", "$dff"}


@dataclass
class Cone:
    """What one set of seed bits depends on: flip-flop bits per hold wire (``regs``' wires),
    and the indices (netlist order) of the ``$mul``/``$anyseq`` cells in it."""

    ff_bits: dict[str, set[int]] = field(default_factory=dict)
    cells: set[int] = field(default_factory=set)


def _bits(sig: str, widths: dict[str, int]) -> list[Bit | None]:
    """The bits of an RTLIL signal spec, LSB first (None: a constant bit)."""
    toks = _TOKEN.findall(sig)
    parts: list[list[Bit | None]] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t in "{}":
            i += 1
            continue
        if t[0].isdigit():
            n = int(t.split("'")[0])
            parts.append([None] * n)
            i += 1
            continue
        sl = toks[i + 1] if i + 1 < len(toks) and toks[i + 1].startswith("[") else None
        if sl:
            hi, _, lo = sl[1:-1].partition(":")
            lo_i = int(lo) if lo else int(hi)
            parts.append([(t, b) for b in range(lo_i, int(hi) + 1)])
            i += 2
        else:
            parts.append([(t, b) for b in range(widths.get(t, 1))])
            i += 1
    out: list[Bit | None] = []
    for p in reversed(parts):  # a concatenation lists its MSB part first
        out += p
    return out


def cones(netlist: str, top: str, seeds: list[Iterable[Bit]],
          hold_prefix: str = "exactbn_hold_q") -> list[Cone]:
    """One :class:`Cone` per seed set; seeds are ``(wire, bit)`` pairs of ``top``'s wires
    (e.g. ``("\\\\m_axis_tdata", 3)``)."""
    lines = netlist.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == f"module \\{top}")
    end = next(i for i in range(start + 1, len(lines)) if lines[i] == "end")
    body = lines[start + 1:end]
    widths: dict[str, int] = {}
    for ln in body:
        if ln.startswith("  wire "):
            f = ln.split()
            widths[f[-1]] = int(f[f.index("width") + 1]) if "width" in f else 1
    deps: dict[Bit, list[Bit | None]] = {}
    ff_of: dict[Bit, tuple[int, int]] = {}  # Q bit -> (cell index, bit)
    cell_of: dict[Bit, int] = {}  # output bit of a tapped cell -> its index
    q_sig: dict[int, str] = {}
    tapped = 0
    for ln in body:
        m = re.match(r"^  connect (\S+(?: \[\d+(?::\d+)?\])?|\{[^}]*\}) (.+)$", ln)
        if m:
            lhs, rhs = _bits(m.group(1), widths), _bits(m.group(2), widths)
            for a, b in zip(lhs, rhs, strict=False):
                if a is not None:
                    deps.setdefault(a, []).append(b)
    n_cell = 0
    i = 0
    while i < len(body):
        if not body[i].startswith("  cell "):
            i += 1
            continue
        ctype = body[i].split()[1]
        params, ports = {}, {}
        j = i + 1
        while body[j] != "  end":
            f = body[j].split(None, 2)
            if f[0] == "parameter":
                params[f[1]] = f[2]
            elif f[0] == "connect":
                ports[f[1]] = f[2]
            j += 1
        outs = {p: _bits(s, widths) for p, s in ports.items() if p in _OUT_PORTS}
        ins = {p: _bits(s, widths) for p, s in ports.items()
               if p not in _OUT_PORTS and p != "\\CLK"}
        every = [b for bs in ins.values() for b in bs]
        wide = {p: bs for p, bs in ins.items() if p in ("\\A", "\\B", "\\D")}
        for p, obits in outs.items():
            bitwise = ctype in _BITWISE and all(len(bs) == len(obits) for bs in wide.values())
            ctrl = [b for q, bs in ins.items() if q not in wide for b in bs]
            for k, ob in enumerate(obits):
                if ob is None:
                    continue
                deps.setdefault(ob, []).extend(
                    [bs[k] for bs in wide.values()] + ctrl if bitwise else every)
                if p == "\\Q":
                    ff_of[ob] = (n_cell, k)
                if ctype in ("$mul", "$anyseq"):
                    cell_of[ob] = tapped
        if "\\Q" in ports:
            q_sig[n_cell] = ports["\\Q"]
        if ctype in ("$mul", "$anyseq"):
            tapped += 1
        n_cell += 1
        i = j + 1
    hold = {m.group(2): m.group(1) for ln in body
            if (m := re.match(rf"^  connect \\({hold_prefix}\w*\d+) (.+)$", ln))}
    wire_of = {c: hold.get(s) for c, s in q_sig.items()}
    out = []
    for seed in seeds:
        cone, seen = Cone(), set()
        todo = [b for b in seed if b is not None]
        while todo:
            b = todo.pop()
            if b in seen:
                continue
            seen.add(b)
            if b in ff_of:
                c, k = ff_of[b]
                if wire_of.get(c):
                    cone.ff_bits.setdefault(wire_of[c], set()).add(k)
            if b in cell_of:
                cone.cells.add(cell_of[b])
            todo.extend(d for d in deps.get(b, ()) if d is not None and d not in seen)
        out.append(cone)
    return out
