"""Static timing of a mapped netlist with OpenSTA (``sta``): slack, minimum period, path.

One clock ``clk`` at the requested period, ideal clock network and wires (no placement),
every other input arriving and every output required at the clock edge (input and output
delay 0): each register-to-register, input-to-register and register-to-output path must fit
one cycle. The minimum period is the period minus the worst setup slack (all paths are
single-cycle paths of one clock, so it does not depend on the period asked for).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .targets import TargetError

__all__ = ["STA", "StaError", "find_sta", "sta_script", "parse_report_checks", "run_sta"]

STA = "sta"
STA_HINT = ("OpenSTA (`sta`) not found: install the Debian package opensta "
            "(`apt-get install opensta`; `make setup` does)")


class StaError(TargetError):
    """OpenSTA is missing or failed: one clear message."""


def find_sta() -> str:
    """The ``sta`` executable, or :class:`StaError` naming the package to install."""
    exe = shutil.which(STA)
    if exe is None:
        raise StaError(STA_HINT)
    return exe


def sta_script(liberty: Path, netlist: Path, top: str, period_ns: float,
               clock: str = "clk") -> str:
    """The OpenSTA commands (Tcl) timing ``top`` at ``period_ns``."""
    others = f"[delete_from_list [all_inputs] [get_ports {clock}]]"
    return "\n".join([
        f"read_liberty {liberty}",
        f"read_verilog {netlist}",
        f"link_design {top}",
        f"create_clock -name {clock} -period {period_ns:g} [get_ports {clock}]",
        f"set_input_delay 0 -clock {clock} {others}",
        f"set_output_delay 0 -clock {clock} [all_outputs]",
        "report_checks -path_delay max -digits 3",
        "report_tns -digits 3",
        "exit",
        "",
    ])


_STEP = re.compile(r"^\s*(-?[0-9.]+)\s+(-?[0-9.]+)\s+[\^v]\s+(\S+)\s+\((\w+)\)")


def parse_report_checks(text: str, period_ns: float) -> dict[str, Any]:
    """Slack, minimum period and the worst path from ``report_checks`` (and ``report_tns``)."""
    start = re.search(r"^Startpoint:\s*(\S+)(.*)$", text, re.MULTILINE)
    end = re.search(r"^Endpoint:\s*(\S+)(.*)$", text, re.MULTILINE)
    slack = re.search(r"^\s*(-?[0-9.]+)\s+slack\s+\((MET|VIOLATED)\)", text, re.MULTILINE)
    arrival = re.search(r"^\s*(-?[0-9.]+)\s+data arrival time", text, re.MULTILINE)
    tns = re.search(r"^tns\s+(-?[0-9.]+)", text, re.MULTILINE)
    if slack is None or start is None or end is None:
        return {"slack_ns": None, "min_period_ns": None, "critical_path": None}
    cells: list[str] = []
    for line in text.splitlines():
        m = _STEP.match(line)
        if m:
            cells.append(m.group(4))
    s = float(slack.group(1))
    return {
        "slack_ns": s,
        "met": slack.group(2) == "MET",
        "tns_ns": float(tns.group(1)) if tns else None,
        "min_period_ns": round(period_ns - s, 3),
        "critical_path": {
            "from": start.group(1), "from_kind": start.group(2).strip(" ()"),
            "to": end.group(1), "to_kind": end.group(2).strip(" ()"),
            "delay_ns": round(period_ns - s, 3),
            "arrival_ns": float(arrival.group(1)) if arrival else None,
            "logic_cells": max(0, len(cells) - 1),
            "through": cells[:80],
        },
    }


def run_sta(liberty: Path, netlist: Path, top: str, period_ns: float, work: Path,
            timeout_s: float = 1800.0) -> tuple[dict[str, Any], str]:
    """Run OpenSTA in ``work``; return the parsed timing and the command line."""
    exe = find_sta()
    script = work / "sta.tcl"
    script.write_text(sta_script(liberty, netlist, top, period_ns))
    cmd = [exe, "-no_init", "-exit", script.name]
    try:
        r = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise StaError(f"OpenSTA timed out after {timeout_s:.0f} s on {netlist}") from None
    text = r.stdout + r.stderr
    (work / "sta.log").write_text(text)
    errors = [t.strip() for t in text.splitlines() if t.startswith("Error")]
    if r.returncode != 0 or errors:
        raise StaError(f"OpenSTA failed on {netlist}: "
                       f"{errors[0] if errors else text.strip().splitlines()[-1:]}")
    return parse_report_checks(text, period_ns), f"sta -no_init -exit {script.name}"
