"""The stall proof: the unit under every stall pattern against a clock-enabled copy of itself
that never stalls (a miter).

``ce_copy`` turns the unit's flattened netlist (``runner.list_state``: memories mapped to
flip-flops, every flip-flop a ``$dff``) into a second module ``<name>_ce`` whose every
flip-flop takes the new input ``exactbn_ce`` as its enable: the same unit, clocked only
when ``exactbn_ce`` is high. ``render_stall`` writes the harness:

- ``dut`` (A): the unit, every input free (``m_axis_tready`` too: stalls of any length);
- ``dutb`` (B): the copy, clocked when A's pipeline moves (``adv = !m_axis_tvalid |
  m_axis_tready``) or resets, fed the beat a reference skid buffer (the documented protocol)
  passes on in that cycle, with ``m_axis_tready = 1`` and no cfg traffic. B's memory words
  (every ``$memory`` flip-flop, found by structure) are A's (``connect -set``), so cfg
  writes reach B as they reach A, whenever A takes them.

Asserted: A's ``s_axis_tready`` is the reference's; B never refuses a beat; A's outputs
(valid, data, tuser, tlast, range_error) equal B's in every cycle; RAM: every memory word of
A equals a harness shadow of the cfg writes (from the solved file's image). Helper
invariants (asserted, so a wrong choice can only fail): A's skid buffer equals the
reference's, B's skid is empty, and every other flip-flop of A equals B's (chosen by label;
the skid's and the cfg error flags are left out). B starts in A's power-up state (an
assumption on B alone: the datapath task covers B from any power-up state). B's products
(every ``$mul`` cell) are A's: the operands of each are asserted equal in every cycle, so
the copy is exact and the solver sees one multiplier. With every flip-flop tied, the
induction step is local and stalls of any length are covered; the arithmetic is the datapath task's
(the unit with ``m_axis_tready = 1``), which B's clocked trace is an instance of.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .harness import (
    _W,
    Harness,
    ModelParams,
    StateReg,
    _block,
    _common,
    _has_table_port,
    _lit,
    _ports,
)

__all__ = ["ce_copy", "credit_copy", "shared_state", "SAME_INPUTS", "free_memories",
           "render_stall", "render_credit", "is_fifo_word", "CE_PORT", "StallPart",
           "stall_parts", "unchecked_words"]

CE_PORT = "exactbn_ce"
# Helper invariants left out (a choice by name: it can only make the proof fail, never pass
# a wrong unit): the skid buffer (tied to the reference instead) and the cfg/table write
# error flags (B sees no cfg traffic; they reach none of the compared outputs).
_SKIP_HELPER = re.compile(r"^core\.skid\.|(^|[._])(cfg_|tbl_)?err(or)?$")


# Cells whose output B takes from A: products (operands asserted equal: one product, not
# two) and free values (``$anyseq``: the undefined bits of a read past a memory's end, from
# ``setundef -anyseq``; B gets A's, one admissible choice of B's own).
TAPPED = ("$mul", "$anyseq")


def _tap_widths(ctype: str, params: dict) -> tuple[int, int, int]:
    if ctype == "$anyseq":
        return 0, 0, int(params["\\WIDTH"])
    return tuple(int(params[f"\\{p}_WIDTH"]) for p in "ABY")


def _cells(body: list[str]):
    """``(start, end, type, params, ports)`` of every cell in a module body."""
    i = 0
    while i < len(body):
        if not body[i].startswith("  cell "):
            i += 1
            continue
        j = i + 1
        params, ports = {}, {}
        while body[j] != "  end":
            f = body[j].split(None, 2)
            if f[0] == "parameter":
                params[f[1]] = f[2]
            elif f[0] == "connect":
                ports[f[1]] = f[2]
            j += 1
        yield i, j, body[i].split()[1], params, ports
        i = j + 1


def _memory_ports(body: list[str], copy: list[str], first: int, memory: set[str],
                  prefix: str = "mem", d_wires: list[str] | None = None):
    """In ``copy`` (a copy of ``body``), cut the Q of every memory word flip-flop (``memory``:
    their hold wires, see ``StateReg.memory``) and drive its net from a new input port
    ``exactbn_memK_in`` (port number ``first + K``). Returns (wire lines, connection lines,
    [(the hold wire on the word in ``body``, width)]). ``prefix``: ``sh`` names the ports
    ``exactbn_shK_in`` (the credit miter's shared flip-flops); ``d_wires``: a list that gets,
    per cut flip-flop, the lines of a wire ``exactbn_<prefix>K_d`` on its D input (the next
    value the copy computes for it; the same lines fit ``body``, where it is A's)."""
    hold = {m.group(2): m.group(1) for ln in body
            if (m := re.match(r"^  connect \\(exactbn_hold_q\w*\d+) (.+)$", ln))}
    extra, tail, mems = [], [], []
    for i, j, _, params, ports in _cells(body):
        if "\\Q" not in ports or hold.get(ports["\\Q"]) not in memory:
            continue
        k, wd, qsig = len(mems), int(params["\\WIDTH"]), ports["\\Q"]
        for n in range(i, j):
            if copy[n].startswith("    connect \\Q "):
                copy[n] = f"    connect \\Q \\exactbn_{prefix}{k}_dead"
        extra += [f"  wire width {wd} \\exactbn_{prefix}{k}_dead",
                  f"  wire width {wd} input {first + k} \\exactbn_{prefix}{k}_in"]
        tail.append(f"  connect {qsig} \\exactbn_{prefix}{k}_in")
        if d_wires is not None:
            dsig = ports["\\D"]
            d_wires += [f"  wire width {wd} \\exactbn_{prefix}{k}_d",
                        f"  connect \\exactbn_{prefix}{k}_d {dsig}"]
        if qsig not in hold:
            raise ValueError("a memory word without its structural register wire")
        mems.append((hold[qsig], wd))
    return extra, tail, mems


def free_products(lines: list[str]) -> list[str]:
    """``lines`` (a module body) with every ``$mul`` cell replaced by a ``$anyseq`` cell of
    its result width: each product becomes a free value, new in every cycle. Used where
    the claim holds for every value a product can take (hold; the stall task's A, whose
    products B takes): the real product is one of those values, so the proof covers the
    real unit, and the solver never bit-blasts a multiplier there."""
    spans = {i: (j, params, ports) for i, j, ctype, params, ports in _cells(lines)
             if ctype == "$mul"}
    out, i = [], 0
    while i < len(lines):
        if i not in spans:
            out.append(lines[i])
            i += 1
            continue
        j, params, ports = spans[i]
        wy, y = params["\\Y_WIDTH"], ports["\\Y"]
        out += [f"  cell $anyseq {lines[i].split()[2]}", f"    parameter \\WIDTH {wy}",
                f"    connect \\Y {y}", "  end"]
        i = j + 1
    return out


def free_netlist_products(netlist: str, top: str) -> str:
    """``netlist`` with every product of ``top`` a free value (:func:`free_products`)."""
    lines = netlist.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == f"module \\{top}")
    end = next(i for i in range(start + 1, len(lines)) if lines[i] == "end")
    body = free_products(lines[start + 1:end])
    return "\n".join(lines[:start + 1] + body + lines[end:]) + "\n"


def free_memories(netlist: str, top: str, memory: set[str]
                  ) -> tuple[str, list[tuple[str, int]]]:
    """``netlist`` with every memory word of ``top`` read from a new input port
    ``exactbn_memK_in`` (the datapath task drives them with free values)."""
    lines = netlist.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == f"module \\{top}")
    end = next(i for i in range(start + 1, len(lines)) if lines[i] == "end")
    body = lines[start + 1:end]
    ports_n = [int(m.group(1)) for ln in body
               if (m := re.match(r"^  wire .*\b(?:input|output|inout) (\d+) ", ln))]
    copy = list(body)
    extra, tail, mems = _memory_ports(body, copy, max(ports_n) + 1, memory)
    out = lines[:start + 1] + extra + copy + tail + lines[end:]
    return "\n".join(out) + "\n", mems


def ce_copy(netlist: str, top: str, memory: set[str]
            ) -> tuple[str, list[tuple[int, int, int]], list[tuple[str, int]]]:
    """``netlist`` plus a module ``<top>_ce``: the same unit with ``exactbn_ce`` as the enable
    of every flip-flop (refuses flip-flop kinds other than ``$dff``: ValueError). Both
    modules get wires ``exactbn_tapK_{a,b,y}`` on the ports of every ``$mul`` cell (K in
    netlist order, the same cell in both). B's memory words (every ``$memory`` flip-flop)
    come in on ports ``exactbn_memK_in``. Returns the text, the products' (A, B, Y) widths
    and per memory word (A's register wire, width)."""
    text, widths, mems, _ = _copy(netlist, top, memory, set())
    return text, widths, mems


def credit_copy(netlist: str, top: str, memory: set[str], shared: set[str]
                ) -> tuple[str, list[tuple[int, int, int]], list[tuple[str, int]],
                           list[tuple[str, int]]]:
    """:func:`ce_copy` for the credit miter, where B also reads A's value of every flip-flop
    in ``shared`` (hold wires, from :func:`shared_state`): B's flip-flop is cut from its net,
    which comes in on a port ``exactbn_shK_in``, and both modules get a wire
    ``exactbn_shK_d`` on its D input (A's next value, and the one B computes from what it
    reads). The harness asserts the two equal in every cycle, so B with A's values is B
    with its own (see :func:`render_credit`). Returns ce_copy's three and per shared
    flip-flop (A's register wire, width)."""
    return _copy(netlist, top, memory, shared)


def _copy(netlist: str, top: str, memory: set[str], shared: set[str]):
    lines = netlist.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == f"module \\{top}")
    end = next(i for i in range(start + 1, len(lines)) if lines[i] == "end")
    body = lines[start + 1:end]
    taps: list[str] = []
    widths: list[tuple[int, int, int]] = []
    dffs: list[tuple[int, int]] = []
    for i, j, ctype, params, ports in _cells(body):
        if "\\Q" in ports:
            if ctype != "$dff":
                raise ValueError(f"the stall proof handles $dff flip-flops only, found {ctype}")
            dffs.append((i, j))
        if ctype in TAPPED:
            k = len(widths)
            wds = _tap_widths(ctype, params)
            for port, wd in zip("ABY", wds, strict=True):
                if not wd:
                    continue
                sig = ports["\\" + port]
                taps += [f"  wire width {wd} \\exactbn_tap{k}_{port.lower()}",
                         f"  connect \\exactbn_tap{k}_{port.lower()} {sig}"]
            widths.append(wds)
    ports_n = [int(m.group(1)) for ln in body
               if (m := re.match(r"^  wire .*\b(?:input|output|inout) (\d+) ", ln))]
    copy = list(body)
    extra = [f"  wire input {max(ports_n) + 1} \\{CE_PORT}"]
    tail: list[str] = []  # connections go after every wire
    for i, j, ctype, params, ports in _cells(body):
        if ctype in TAPPED:  # B's product comes in on a port: A's product
            k = len(tail)
            for n in range(i, j):
                if copy[n].startswith("    connect \\Y "):
                    copy[n] = f"    connect \\Y \\exactbn_tap{k}_ydead"
            wd = _tap_widths(ctype, params)[2]
            extra += [f"  wire width {wd} \\exactbn_tap{k}_ydead",
                      f"  wire width {wd} input {max(ports_n) + 2 + k} \\exactbn_tap{k}_yin"]
            ysig = ports["\\Y"]
            tail.append(f"  connect {ysig} \\exactbn_tap{k}_yin")
    first = max(ports_n) + 2 + len(tail)
    m_extra, mem_tail, mems = _memory_ports(body, copy, first, memory)
    d_wires: list[str] = []
    s_extra, sh_tail, shs = _memory_ports(body, copy, first + len(mems), shared, "sh",
                                          d_wires)
    extra += m_extra + s_extra
    for i, j in reversed(dffs):
        copy[i] = copy[i].replace("cell $dff ", "cell $dffe ", 1)
        copy[j:j] = [f"    connect \\EN \\{CE_PORT}"]
        copy[i + 1:i + 1] = ["    parameter \\EN_POLARITY 1'1"]
    # A's products: free
    a_mod = lines[:start + 1] + free_products(body) + taps + d_wires + ["end"]
    b_taps = [t for t in taps if "_y " not in t and not t.endswith("_y")]
    b_mod = ([f"module \\{top}_ce"] + extra + copy + b_taps + d_wires + tail + mem_tail
             + sh_tail + ["end"])
    return "\n".join(a_mod + lines[end + 1:] + b_mod) + "\n", widths, mems, shs


# Inputs the credit miter gives A and B alike; every other input differs (B's s_axis_tvalid
# is A's handshake, its m_axis_tready is 1, it sees no cfg or table traffic).
SAME_INPUTS = ("clk", "rst", "s_axis_tdata", "s_axis_tuser", "s_axis_tlast")


def shared_state(netlist: str, top: str, regs: list[StateReg], memory: set[str],
                 same: tuple[str, ...] = SAME_INPUTS) -> set[str]:
    """The flip-flops B of the credit miter can read from A (hold wires): those whose every
    bit's transitive fan-in (bit-level: through combinational cells, products and other
    flip-flops, stopping at the shared memory words ``memory``) holds no bit of an input A
    and B see differently (the inputs not in ``same``). Found by structure alone: the
    pipeline's datapath, not the valid chain, FIFO, credit counter or output skid (each
    depends on ``s_axis_tvalid`` or ``m_axis_tready``). The choice is only about speed: the
    harness asserts every shared flip-flop's next value in B equal to A's in every cycle, so
    a wrong choice fails the proof, it cannot pass a wrong unit."""
    from .cones import _BITWISE, _OUT_PORTS, _bits

    lines = netlist.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == f"module \\{top}")
    end = next(i for i in range(start + 1, len(lines)) if lines[i] == "end")
    body = lines[start + 1:end]
    widths: dict[str, int] = {}
    differ: list[tuple[str, int]] = []
    for ln in body:
        if ln.startswith("  wire "):
            f = ln.split()
            wd = int(f[f.index("width") + 1]) if "width" in f else 1
            widths[f[-1]] = wd
            if "input" in f and f[-1][1:] not in same:
                differ += [(f[-1], b) for b in range(wd)]
    hold = {m.group(2): m.group(1) for ln in body
            if (m := re.match(r"^  connect \\(exactbn_hold_q\w*\d+) (.+)$", ln))}
    fanout: dict[tuple[str, int], list[tuple[str, int]]] = {}

    def edge(src, dst) -> None:
        if src is not None and dst is not None:
            fanout.setdefault(src, []).append(dst)

    for ln in body:
        m = re.match(r"^  connect (\S+(?: \[\d+(?::\d+)?\])?|\{[^}]*\}) (.+)$", ln)
        if m:
            for a, b in zip(_bits(m.group(1), widths), _bits(m.group(2), widths),
                            strict=False):
                edge(b, a)
    q_bits: dict[str, list] = {}  # hold wire -> its flip-flop's Q bits
    for _, _, ctype, _, ports in _cells(body):
        outs = {p: _bits(sig, widths) for p, sig in ports.items() if p in _OUT_PORTS}
        ins = {p: _bits(sig, widths) for p, sig in ports.items()
               if p not in _OUT_PORTS and p != "\\CLK"}
        if "\\Q" in ports and (wire := hold.get(ports["\\Q"])) is not None:
            q_bits[wire] = outs["\\Q"]
            if wire in memory:
                continue  # B reads A's word: the same value, whatever writes it
        wide = {p: bs for p, bs in ins.items() if p in ("\\A", "\\B", "\\D")}
        every = [b for bs in ins.values() for b in bs]
        for obits in outs.values():
            bitwise = ctype in _BITWISE and all(len(bs) == len(obits) for bs in wide.values())
            ctrl = [b for p, bs in ins.items() if p not in wide for b in bs]
            for k, ob in enumerate(obits):
                for src in ([bs[k] for bs in wide.values()] + ctrl if bitwise else every):
                    edge(src, ob)
    tainted, todo = set(differ), list(differ)
    while todo:
        for nxt in fanout.get(todo.pop(), ()):
            if nxt not in tainted:
                tainted.add(nxt)
                todo.append(nxt)
    return {r.wire for r in regs if not r.memory and r.wire in q_bits
            and not any(b in tainted for b in q_bits[r.wire] if b is not None)}


def _wire_of(regs: list[StateReg], label: str) -> str:
    for r in regs:
        if r.label == label:
            return r.wire
    raise ValueError(f"the unit has no register {label!r} (the stall proof's probe): an "
                     "edited unit must keep the generated unit's structure")


@dataclass
class StallPart:
    """What one part of a split stall task asserts (the cone of one lane's output data, or
    of everything the lane parts leave; ``sim/formal/cones.py``): the ties of these
    flip-flop bits (per hold wire), these products' operands (tap indices), these memory
    words (hold wires), these lanes of ``m_axis_tdata``, and (``rest``) ``range_error``.
    Every part asserts the control (ready, valid, tuser, tlast, the skid buffer)."""

    name: str
    ff_bits: dict[str, set[int]]
    taps: set[int]
    words: set[str]
    lanes: tuple[int, ...]
    rest: bool = False


def _runs(bits: set[int]) -> list[tuple[int, int]]:
    """Contiguous runs ``(lo, hi)`` of a set of bit indices."""
    out: list[tuple[int, int]] = []
    for b in sorted(bits):
        if out and b == out[-1][1] + 1:
            out[-1] = (out[-1][0], b)
        else:
            out.append((b, b))
    return out


def stall_parts(netlist: str, cfg, regs: list[StateReg],
                groups: list[tuple[int, ...]] | None = None) -> list[StallPart]:
    """One part per lane: the bit-level cone (``cones.py``) of that lane's ``m_axis_tdata``
    and of the control every part asserts (tvalid, tuser, tlast, s_axis_tready), with the
    ties, products and memory words in it; and a last part for what the claim asserts
    outside every lane's cone (``range_error``, memory words no lane reads), if anything.
    The ties are helper invariants: a flip-flop bit in no asserted output's cone cannot
    change one, so it needs none. Together the parts assert every claimed property."""
    from .cones import cones

    wq = cfg.w_q
    outs = {n: wd for n, d, wd in _ports(cfg) if d == "output"}
    control = [(f"\\{n}", b) for n in ("m_axis_tvalid", "m_axis_tuser", "m_axis_tlast",
                                        "s_axis_tready") for b in range(outs[n])]
    groups = [(lane,) for lane in range(cfg.lanes)] if groups is None else groups
    seeds = [[("\\m_axis_tdata", lane * wq + b) for lane in g for b in range(wq)] + control
             for g in groups]
    lane_cones = cones(netlist, cfg.name, seeds)
    words = {r.wire for r in regs if r.memory}
    parts = [StallPart("stall lane " + ",".join(str(v) for v in g), c.ff_bits, c.cells,
                       words & set(c.ff_bits), tuple(g))
             for g, c in zip(groups, lane_cones, strict=True)]
    in_lanes = set().union(*(p.words for p in parts))
    left = [(f"\\{r.wire}", b) for r in regs if r.wire in words - in_lanes
            for b in range(r.width)]
    if cfg.range_check:
        left += [("\\range_error", b) for b in range(outs["range_error"])]
    if left:
        rest = cones(netlist, cfg.name, [left + control])[0]
        parts.append(StallPart("stall rest", rest.ff_bits, rest.cells,
                               words & set(rest.ff_bits), (), rest=True))
    return parts


def unchecked_words(harnesses: list[Harness], regs: list[StateReg],
                    mems: list[tuple[str, int]]) -> str | None:
    """B takes every shared memory word from A, so each one must be checked against the
    shadow of the cfg writes (in some part): the label of one that is not, else None."""
    checked = {v.removeprefix("dut.") for h in harnesses for k, v in h.probes.items()
               if k.startswith("memw")}
    for wire, _ in mems or []:
        if wire not in checked:
            return next((r.label for r in regs if r.wire == wire), wire)
    return None


def render_stall(cfg, model: ModelParams, top: str, regs: list[StateReg],
                 taps: list[tuple[int, int, int]] | None = None,
                 mems: list[tuple[str, int]] | None = None,
                 part: StallPart | None = None) -> Harness:
    """The miter harness (see module docstring); ``regs`` from ``runner.list_state``,
    ``taps`` and ``mems`` from :func:`ce_copy`; ``part``: assert only that part's ties,
    products, words and lanes (:func:`stall_parts`; the caller checks the parts' words
    with :func:`unchecked_words`)."""
    w = _W()
    L = cfg.lanes
    wx, wu = cfg.w_x, cfg.w_user
    wp = L * wx + wu + 1  # skid payload: {last, user, data}
    _common(w, cfg, top)
    ports = _ports(cfg)
    outs = [(n, wd) for n, d, wd in ports if d == "output"]
    stream_in = {"clk", "rst", "s_axis_tvalid", "s_axis_tdata", "s_axis_tuser", "s_axis_tlast",
                 "m_axis_tready"}
    w("  wire adv = !m_axis_tvalid | m_axis_tready;", "  wire ce = adv | rst;",
      "  (* keep *) wire stall = m_axis_tvalid & !m_axis_tready;",
      f"  wire block = {_block(cfg)};",
      "  reg r_ready = 1'b1, r_bv = 1'b0;", f"  reg [{wp - 1}:0] r_buf;",
      "  wire take = s_axis_tvalid & s_axis_tready;",
      "  wire so_valid = r_bv | take;",
      f"  wire [{wp - 1}:0] s_pay = {{s_axis_tlast, s_axis_tuser, s_axis_tdata}};",
      f"  wire [{wp - 1}:0] so_pay = r_bv ? r_buf : s_pay;",
      "  wire buf_next = r_bv ? !adv : (take & !adv);",
      "  always @(posedge clk) begin",
      "    r_bv <= buf_next; r_ready <= !buf_next & !block;",
      "    if (take & !adv) r_buf <= s_pay;",
      "    if (rst) begin r_bv <= 1'b0; r_ready <= 1'b1; end",
      "  end")
    for n, wd in outs:
        w(f"  wire [{wd - 1}:0] b_{n};")
    conns = []
    for n, d, wd in ports:
        if d == "output":
            conns.append(f".{n}(b_{n})")
        elif n == "s_axis_tvalid":
            conns.append(".s_axis_tvalid(so_valid & adv & !rst)")
        elif n == "s_axis_tdata":
            conns.append(f".s_axis_tdata(so_pay[{L * wx - 1}:0])")
        elif n == "s_axis_tuser":
            conns.append(f".s_axis_tuser(so_pay[{L * wx + wu - 1}:{L * wx}])")
        elif n == "s_axis_tlast":
            conns.append(f".s_axis_tlast(so_pay[{wp - 1}])")
        elif n == "m_axis_tready":
            conns.append(".m_axis_tready(adv)")  # 1 whenever B moves, except in reset
        elif n in stream_in:
            conns.append(f".{n}({n})")
        else:
            conns.append(f".{n}({wd}'d0)")  # no cfg traffic into B: its words are A's
    conns.append(f".{CE_PORT}(ce)")
    for k, (_, wd) in enumerate(mems or []):  # B reads A's memory words
        w(f"  (* keep *) wire [{wd - 1}:0] mw{k};")
        conns.append(f".exactbn_mem{k}_in(mw{k})")
    for k, (_, _, wy) in enumerate(taps or []):
        w(f"  (* keep *) wire [{wy - 1}:0] ty{k};")
        conns.append(f".exactbn_tap{k}_yin(ty{k})")
    w(f"  {cfg.name}_ce dutb({', '.join(conns)});")
    probes: dict[str, str] = {f"ty{k}": f"dut.exactbn_tap{k}_y" for k in range(len(taps or []))}
    probes.update({f"mw{k}": f"dut.{wire}" for k, (wire, _) in enumerate(mems or [])})
    # Helper invariants: A's skid is the reference's, B's skid never holds a beat.
    skid = {"ready": "core.skid.i__ready", "bv": "core.skid.buf_valid", "buf": "core.skid.buf"}
    for k, label in skid.items():
        wd = wp if k == "buf" else 1
        w(f"  (* keep *) wire [{wd - 1}:0] pa_{k}, pb_{k};")
        probes[f"pa_{k}"] = f"dut.{_wire_of(regs, label)}"
        probes[f"pb_{k}"] = f"dutb.{_wire_of(regs, label)}"
    w("  always @* if (!init) begin",
      "    assert(s_axis_tready == r_ready);  // @ready",
      "    assert(b_s_axis_tready);  // B takes every beat",
      "    assert(pa_ready == r_ready); assert(pa_bv == r_bv);",
      "    if (r_bv) assert(pa_buf == r_buf);",
      "    assert(!pb_bv);",
      "  end")
    for k, r in enumerate(regs):
        if r.memory or (_SKIP_HELPER.search(r.label) and "range" not in r.label):
            continue
        bits = None if part is None else part.ff_bits.get(r.wire, set())
        if bits is not None and not bits:
            continue  # another part's flip-flop
        w(f"  (* keep *) wire [{r.width - 1}:0] fa{k}, fb{k};  // {r.label}",
          f"  always @* if (init) assume(fa{k} == fb{k});  // B starts as A")
        if bits is None or len(bits) == r.width:
            w(f"  always @* if (!init) assert(fa{k} == fb{k});  // @ff {k}")
        else:
            for lo, hi in _runs(bits):
                w(f"  always @* if (!init) assert(fa{k}[{hi}:{lo}] == fb{k}[{hi}:{lo}]);"
                  f"  // @ff {k}")
        probes[f"fa{k}"] = f"dut.{r.wire}"
        probes[f"fb{k}"] = f"dutb.{r.wire}"
    # The ports: A's outputs are B's in every cycle.
    w("  always @* if (!init) begin",
      "    assert(m_axis_tvalid == b_m_axis_tvalid);  // @valid",
      "    if (m_axis_tvalid) begin")
    if part is None:
        w("      assert(m_axis_tdata == b_m_axis_tdata);  // @data")
    for lane in part.lanes if part is not None else ():
        sl = f"[{(lane + 1) * cfg.w_q - 1}:{lane * cfg.w_q}]"
        w(f"      assert(m_axis_tdata{sl} == b_m_axis_tdata{sl});  // @data")
    w("      assert(m_axis_tuser == b_m_axis_tuser);  // @user",
      "      assert(m_axis_tlast == b_m_axis_tlast);  // @last",
      "    end")
    if cfg.range_check and (part is None or part.rest):
        w("    assert(range_error == b_range_error);  // @range_error")
    w("  end")
    for k, (wa, wb, _) in enumerate(taps or []):  # B's product is A's, on equal operands
        if not wa or (part is not None and k not in part.taps):
            continue
        w(f"  (* keep *) wire [{wa - 1}:0] ta{k}_a, tb{k}_a;",
          f"  (* keep *) wire [{wb - 1}:0] ta{k}_b, tb{k}_b;")
        for side, inst in (("ta", "dut"), ("tb", "dutb")):
            for port in ("a", "b"):
                probes[f"{side}{k}_{port}"] = f"{inst}.exactbn_tap{k}_{port}"
        w(f"  always @* assert(ta{k}_a == tb{k}_a && ta{k}_b == tb{k}_b);  // @tap {k}")
    if cfg.store == "ram":
        _shadow_words(w, cfg, model, regs, probes, None if part is None else part.words)
    # B takes every shared memory word from A, so each one must be checked against the
    # shadow of the cfg writes: a register that only carries a memory word's name (a renamed
    # pipeline register, an index past the image) would otherwise escape the comparison.
    h = Harness("stall", top, "", probes, {})
    if part is None and (label := unchecked_words([h], regs, mems or [])):
        raise ValueError(f"memory word {label!r} is not one the stall proof checks against "
                         "the cfg writes: an edited unit must keep the generated store")
    w("endmodule", "")
    h.verilog = "\n".join(w.lines)
    return h


def _shadow_words(w: _W, cfg, model: ModelParams, regs: list[StateReg], probes: dict,
                  words: set[str] | None = None) -> None:
    """A's memory words equal a shadow of every cfg write (from the solved file's image)."""
    from exactbn.hw.store import store_images

    C = cfg.channels
    wn = max(cfg.w_n, 1) if cfg.shift_mode == "per-channel" else 1
    for k, vals, wd in (("M", model.M, cfg.w_m), ("B", model.B, cfg.w_b), ("N", model.N, wn)):
        for ch in range(C):
            v = vals[ch] - (cfg.n_min if k == "N" else 0)  # the word holds d = N - n_min
            w(f"  reg [{wd - 1}:0] sh{k}{ch} = {_lit(wd, v)};")
    w("  always @(posedge clk) if (cfg_hs) case (cfg_addr)")
    for ch in range(C):
        n_upd = f" shN{ch} <= cfg_n;" if cfg.shift_mode == "per-channel" else ""
        w(f"    {_lit(cfg.w_addr, ch)}: begin shM{ch} <= cfg_m; shB{ch} <= cfg_b;{n_upd} end")
    w("    default: ;", "  endcase")
    w_word = cfg.w_m + cfg.w_b + cfg.w_d
    for k, img in enumerate(store_images(cfg)):
        for g in range(len(img)):
            ch = g if cfg.lane_mode == "pixels" else g * cfg.lanes + k
            name = f"memw{k}_{g}"
            wire = _wire_of(regs, f"core.store.mem{k}[{g}]")
            if words is not None and wire not in words:
                continue  # another part's word
            w(f"  (* keep *) wire [{w_word - 1}:0] {name};")
            probes[name] = f"dut.{wire}"
            if ch >= C:
                w(f"  always @* if (!init) assert({name} == {_lit(w_word, 0)});  // @word")
                continue
            parts = [f"shM{ch}", f"shB{ch}"] + ([f"shN{ch}"] if cfg.w_d else [])
            w(f"  always @* if (!init) assert({name} == {{" + ", ".join(reversed(parts))
              + "});  // @word")
    if _has_table_port(cfg):
        _shadow_table(w, cfg, regs, probes, words)


def _shadow_table(w: _W, cfg, regs: list[StateReg], probes: dict,
                  words: set[str] | None = None) -> None:
    """A shared unit's table words equal a shadow of every accepted tbl write (from the
    generated rows; a write with an index past the table or qmin > qmax changes nothing)."""
    wq, wl = cfg.w_q, cfg.w_layer
    mask = (1 << wq) - 1
    sx = "$signed" if cfg.q_signed else ""
    w(f"  wire tbl_ok = (tbl_addr < {_lit(wl + 1, len(cfg.layer_table))}) && "
      f"({sx}(tbl_qmin) <= {sx}(tbl_qmax));")
    for i, e in enumerate(cfg.layer_table):
        name = f"memw_t{i}"  # a memw* probe: counted as checked below
        wire = _wire_of(regs, f"core.table.mem[{i}]")
        if words is not None and wire not in words:
            continue  # another part's word
        row = (e.qmin & mask) | ((e.qmax & mask) << wq)
        w(f"  reg [{2 * wq - 1}:0] shT{i} = {_lit(2 * wq, row)};",
          f"  always @(posedge clk) if (tbl_hs && tbl_ok && tbl_addr == {_lit(wl, i)}) "
          f"shT{i} <= {{tbl_qmax, tbl_qmin}};",
          f"  (* keep *) wire [{2 * wq - 1}:0] {name};",
          f"  always @* if (!init) assert({name} == shT{i});  // @word")
        probes[name] = f"dut.{wire}"


# Registers of the credit flow that legitimately differ between A and B (A's FIFO and
# credit counter see A's stalls; tied to the harness's queue model instead).
_SKIP_CREDIT = re.compile(r"^core\.(fifo|credit|oskid)\.|range_err")


def is_fifo_word(r: StateReg) -> bool:
    """A word of the credit flow's output FIFO memory (not a parameter word)."""
    return r.memory and r.label.startswith("core.fifo.mem[")


def render_credit(cfg, model: ModelParams, top: str, regs: list[StateReg],
                  taps: list[tuple[int, int, int]] | None = None,
                  mems: list[tuple[str, int]] | None = None,
                  shared: list[tuple[str, int]] | None = None) -> Harness:
    """The stall proof of a ``flow=credit`` unit (free-running pipeline, output FIFO,
    credits; hw/fifo.py). A: the unit, every input free. B: the copy (always clocked) fed
    A's accepted beats in their accept cycles with ``m_axis_tready = 1``; B's memory words
    are A's, and B reads A's value of every flip-flop :func:`shared_state` finds (the
    datapath: one copy for the solver; B's next value of each is asserted equal to A's in
    every cycle). A harness queue (a ring of 2 * depth entries) holds, in order, every beat
    B put out and A has not yet taken. Asserted: A's output is the queue's oldest beat (or
    B's beat of this cycle when it is empty), so nothing is lost, duplicated, reordered or
    changed, and it is stable while stalled; beats accepted and not yet taken never exceed
    the FIFO (depth + 1); ``s_axis_tready`` is the credit rule as a register; B takes every
    beat. Helper invariants: every other flip-flop of A equals B's, A's output skid, FIFO
    head and FIFO words (count, pointers; each word against one of two ring entries: the
    ring's base is A's read address after a reset, when the queue is empty) hold the
    queue's beats in order, B's skid and FIFO memory are empty, the credit counters count
    the beats in the pipelines plus the FIFOs."""
    from exactbn.hw.fifo import fifo_depth

    w = _W()
    L, lat = cfg.lanes, cfg.latency
    depth = fifo_depth(lat)
    lim = depth + 1
    ab = (depth - 1).bit_length()
    wq = L * cfg.w_q + cfg.w_user_out + 1  # a FIFO word: {last, user, data}
    nb = (lim + 1).bit_length() + 1
    _common(w, cfg, top)
    ports = _ports(cfg)
    outs = [(n, wd) for n, d, wd in ports if d == "output"]
    stream_in = {"clk", "rst", "s_axis_tdata", "s_axis_tuser", "s_axis_tlast"}
    w("  (* keep *) wire stall = m_axis_tvalid & !m_axis_tready;",
      f"  wire block = {_block(cfg)};",
      "  reg pblock = 1'b0;", "  always @(posedge clk) pblock <= block & !rst;",
      # the credit counters see a pop one cycle late
      "  reg a_ppop = 1'b0, b_ppop = 1'b0;",
      "  always @(posedge clk) begin a_ppop <= out_hs & !rst; "
      "b_ppop <= b_m_axis_tvalid & !rst; end")
    for n, wd in outs:
        w(f"  wire [{wd - 1}:0] b_{n};")
    conns = []
    for n, d, wd in ports:
        if d == "output":
            conns.append(f".{n}(b_{n})")
        elif n == "s_axis_tvalid":
            conns.append(".s_axis_tvalid(in_hs)")
        elif n == "m_axis_tready":
            conns.append(".m_axis_tready(1'b1)")
        elif n in stream_in:
            conns.append(f".{n}({n})")
        else:
            conns.append(f".{n}({wd}'d0)")  # no cfg traffic into B: its words are A's
    conns.append(f".{CE_PORT}(1'b1)")
    for k, (_, wd) in enumerate(mems or []):
        w(f"  (* keep *) wire [{wd - 1}:0] mw{k};")
        conns.append(f".exactbn_mem{k}_in(mw{k})")
    for k, (_, _, wy) in enumerate(taps or []):
        w(f"  (* keep *) wire [{wy - 1}:0] ty{k};")
        conns.append(f".exactbn_tap{k}_yin(ty{k})")
    for k, (_, wd) in enumerate(shared or []):  # B reads A's value of a shared flip-flop
        w(f"  (* keep *) wire [{wd - 1}:0] sq{k}, sda{k}, sdb{k};")
        conns.append(f".exactbn_sh{k}_in(sq{k})")
    w(f"  {cfg.name}_ce dutb({', '.join(conns)});")
    probes: dict[str, str] = {f"ty{k}": f"dut.exactbn_tap{k}_y" for k in range(len(taps or []))}
    probes.update({f"mw{k}": f"dut.{wire}" for k, (wire, _) in enumerate(mems or [])})
    # B with A's value of a shared flip-flop is B with its own (B starts as A, and in every
    # cycle the next value B computes for it is A's), so these ties are proven, not assumed.
    for k, (wire, _) in enumerate(shared or []):
        probes.update({f"sq{k}": f"dut.{wire}", f"sda{k}": f"dut.exactbn_sh{k}_d",
                       f"sdb{k}": f"dutb.exactbn_sh{k}_d"})
        w(f"  always @* assert(sda{k} == sdb{k});  // @shared {k}")
    # Beats in each pipeline (valid chain: stage P, then the delayed valid bits).
    chain = ["core.valid_p"] + [f"core.valid_d{k}" for k in range(lat - 2)]
    for side, inst in (("a", "dut"), ("b", "dutb")):
        for k, nm in enumerate(chain):
            w(f"  (* keep *) wire p{side}_v{k};")
            probes[f"p{side}_v{k}"] = f"{inst}.{nm}"
        w(f"  wire [{nb - 1}:0] pipe_{side} = " + " + ".join(
            f"p{side}_v{k}" for k in range(len(chain))) + f" + {nb}'d0;")
        for nm, wd in (("occ", lim + 1), ("cnt", depth + 1), ("head_valid", 1), ("rp", ab),
                       ("wp", ab)):
            pre = "core.credit." if nm == "occ" else "core.fifo."
            w(f"  (* keep *) wire [{wd - 1}:0] {side}_{nm};")
            probes[f"{side}_{nm}"] = f"{inst}.{pre}{nm}"
    w(f"  (* keep *) wire [{wq - 1}:0] a_head, a_sbuf;",
      "  (* keep *) wire a_sbv, a_sready, b_sbv;")
    probes.update({"a_head": "dut.core.fifo.head", "a_sbuf": "dut.core.oskid.buf",
                   "a_sbv": "dut.core.oskid.buf_valid", "a_sready": "dut.core.oskid.i__ready",
                   "b_sbv": "dutb.core.oskid.buf_valid"})
    # The queue model: a ring of R = 2 * depth >= depth + 1 entries (sr0..), its read index
    # rq and n beats: in order, every beat B put out (qb, valid bv) and A has not taken;
    # B's beat of this cycle is written at rq + n. Its base is free: after a reset (n = 0,
    # an empty queue, whatever the base) it is A's FIFO read address, so that a ring index
    # and the FIFO address of the same beat agree in their low bits (asserted below) and
    # each FIFO word is compared with one of two ring entries (no search over positions).
    ring = 2 * depth
    rb = ab + 1
    w(f"  wire [{wq - 1}:0] qb = {{b_m_axis_tlast, b_m_axis_tuser, b_m_axis_tdata}};",
      "  wire bv = b_m_axis_tvalid;",
      f"  reg [{nb - 1}:0] n = 0;",
      f"  reg [{rb - 1}:0] rq_r;",
      "  reg prst = 1'b0;", "  always @(posedge clk) prst <= rst;",
      f"  wire [{rb - 1}:0] rq = prst ? {{1'b0, a_rp}} : rq_r;  // the oldest beat's index",
      f"  wire [{rb - 1}:0] rw = rq + n[{rb - 1}:0];  // where B's beat goes",
      f"  wire [{nb - 1}:0] held = n + bv;  // beats in A's FIFO")
    for i in range(ring):
        w(f"  reg [{wq - 1}:0] sr{i};",
          f"  always @(posedge clk) if (bv && rw == {rb}'d{i}) sr{i} <= qb;")
    w(f"  wire [{wq - 1}:0] srw [0:{ring - 1}];")
    for i in range(ring):
        w(f"  assign srw[{i}] = sr{i};")
    w("  always @(posedge clk) begin",
      "    n <= held - out_hs; rq_r <= rq + out_hs;",
      "    if (rst) n <= 0;", "  end",
      # qq0, qq1: the oldest beats of A (the ring, then B's beat of this cycle)
      f"  wire [{wq - 1}:0] qq0 = (n > 0) ? srw[rq] : qb;",
      f"  wire [{wq - 1}:0] qq1 = (n > 1) ? srw[rq + {rb}'d1] : qb;",
      f"  wire [{wq - 1}:0] qh = qq0;  // the oldest beat")
    for i in range(depth):
        w(f"  (* keep *) wire [{wq - 1}:0] am{i};")
        probes[f"am{i}"] = f"dut.{_wire_of(regs, f'core.fifo.mem[{i}]')}"
    w(f"  wire [{nb - 1}:0] words = held - a_sbv - a_head_valid;  // beats in A's FIFO memory",
      f"  wire [{nb - 1}:0] first = a_sbv + a_head_valid;  // the oldest beat in memory")
    # Port properties.
    w("  reg p_stall = 1'b0;", f"  reg [{wq - 1}:0] p_out;",
      f"  wire [{wq - 1}:0] a_out = {{m_axis_tlast, m_axis_tuser, m_axis_tdata}};",
      "  always @(posedge clk) begin p_stall <= stall & !rst; p_out <= a_out; end",
      "  always @* if (!init) begin",
      "    assert(m_axis_tvalid == (n != 0 || bv));  // @cvalid",
      "    if (m_axis_tvalid) assert(a_out == qh);  // @cdata",
      f"    assert(pipe_a + held <= {lim}); assert(n <= {lim});  // @credit",
      f"    assert(s_axis_tready == (pipe_a + held + a_ppop < {lim} && !pblock));  // @ready",
      "    assert(b_s_axis_tready);  // B takes every beat",
      "  end",
      "  always @* if (!init && p_stall && !rst) begin",
      "    assert(m_axis_tvalid); assert(a_out == p_out);  // @stable",
      "  end")
    if cfg.range_check:
        top_bit = cfg.w_user_out - 1
        w("  reg r_err = 1'b0;",
          f"  always @(posedge clk) if (rst) r_err <= 1'b0; else if (out_hs && "
          f"m_axis_tuser[{top_bit}]) r_err <= 1'b1;",
          "  always @* if (!init) assert(range_error == r_err);  // @range_error")
    # Helper invariants: the FIFOs and counters as the model says.
    w("  always @* if (!init) begin",
      f"    assert(a_occ == {lim + 1}'d1 << (pipe_a + held + a_ppop));  // one-hot count",
      f"    assert(b_occ == {lim + 1}'d1 << (pipe_b + bv + b_ppop));",
      "    assert(a_head_valid == (held > a_sbv)); assert(a_sready == !a_sbv);",
      "    if (a_sbv) assert(a_sbuf == qq0);  // the output skid holds the oldest",
      "    if (a_head_valid) assert(a_head == (a_sbv ? qq1 : qq0));",
      "    assert(!b_sbv);",
      f"    assert(a_cnt == {depth + 1}'d1 << words);  // one-hot count of memory words",
      f"    assert(a_wp == a_rp + words[{ab - 1}:0]);",
      f"    assert(a_rp == rq[{ab - 1}:0] + first[{ab - 1}:0]);  // FIFO address = ring index",
      "    assert(b_cnt == 1); assert(b_head_valid == bv);",
      "  end")
    for i in range(depth):  # memory word i, if live: the beat at queue position pos_i
        w(f"  wire [{ab - 1}:0] off{i} = {ab}'d{i} - a_rp;",
          f"  wire [{nb - 1}:0] pos{i} = first + off{i};",
          f"  wire [{rb - 1}:0] ix{i} = rq + pos{i}[{rb - 1}:0];  // low bits: {i}",
          f"  always @* if (!init && off{i} < words) assert(am{i} == ((pos{i} == n) ? qb : "
          f"(ix{i}[{ab}] ? sr{i + depth} : sr{i})));  // @fifo")
    by_b = {wire for wire, _ in shared or []}
    for k, r in enumerate(regs):
        if r.memory or r.wire in by_b or _SKIP_CREDIT.search(r.label) or (
                _SKIP_HELPER.search(r.label) and "range" not in r.label):
            continue
        w(f"  (* keep *) wire [{r.width - 1}:0] fa{k}, fb{k};  // {r.label}",
          f"  always @* if (init) assume(fa{k} == fb{k});  // B starts as A",
          f"  always @* if (!init) assert(fa{k} == fb{k});  // @ff {k}")
        probes[f"fa{k}"] = f"dut.{r.wire}"
        probes[f"fb{k}"] = f"dutb.{r.wire}"
    for k, (wa, wb, _) in enumerate(taps or []):
        if not wa:
            continue
        w(f"  (* keep *) wire [{wa - 1}:0] ta{k}_a, tb{k}_a;",
          f"  (* keep *) wire [{wb - 1}:0] ta{k}_b, tb{k}_b;")
        for side, inst in (("ta", "dut"), ("tb", "dutb")):
            for port in ("a", "b"):
                probes[f"{side}{k}_{port}"] = f"{inst}.exactbn_tap{k}_{port}"
        w(f"  always @* assert(ta{k}_a == tb{k}_a && ta{k}_b == tb{k}_b);  // @tap {k}")
    if cfg.store == "ram":
        _shadow_words(w, cfg, model, regs, probes)
    checked = {v.removeprefix("dut.") for k, v in probes.items() if k.startswith("memw")}
    for wire, _ in mems or []:
        if wire not in checked:
            label = next((r.label for r in regs if r.wire == wire), wire)
            raise ValueError(f"memory word {label!r} is not one the stall proof checks against "
                             "the cfg writes: an edited unit must keep the generated store")
    w("endmodule", "")
    return Harness("stall", top, "\n".join(w.lines), probes, {})
