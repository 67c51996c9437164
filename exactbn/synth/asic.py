"""The ASIC flow: YoWASP Yosys + ABC mapped to a Liberty library, then OpenSTA.

:func:`map_netlist` maps one design (RTLIL or Verilog) onto the library's cells
(``synth; dfflibmap; abc -liberty -D period``) and writes a plain structural Verilog netlist
that OpenSTA and Icarus both read (buses kept on the ports, internal names made private).
:func:`run_asic_design` returns one ``report.json`` entry: area in um^2 from the Liberty
areas, cell counts (flip-flops, combinational, by cell name), the minimum period and the
slack at the requested frequency from OpenSTA, and the parameter storage.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .flow import YOSYS, DesignSource, SynthError, _first_error, _read_cmds, _run, tool_versions
from .libraries import Library
from .sta import StaError, run_sta
from .targets import Target

__all__ = ["area_by_module", "map_script", "map_netlist", "run_asic_design", "storage_of"]

Progress = Callable[[str], None]


def map_script(reads: Sequence[str], top: str, liberty: Path, period_ps: int | None,
               constr: str | None = None, netlist: str = "netlist.v",
               stat: str = "stat.json", synth: str = "synth -flatten") -> str:
    """The Yosys script mapping ``top`` onto the cells of ``liberty``. With a period and a
    constraint file (driving cell, load), ABC also buffers and sizes the mapped gates: without
    them a stall enable fanning out to every register is left unbuffered."""
    abc = f"abc -liberty {liberty}" + (f" -D {period_ps}" if period_ps else "")
    if period_ps and constr:
        abc += f" -constr {constr}"
    return "\n".join([
        *reads,
        f"hierarchy -top {top}",
        f"{synth} -top {top}",
        "delete t:$scopeinfo",
        f"dfflibmap -liberty {liberty}",
        abc,
        "setundef -zero",
        "splitnets",
        # internal names private: OpenSTA's Verilog reader takes no signed or concatenated
        # internal wires; ports keep their names and buses
        "rename -hide w:* i:* %d o:* %d",
        "opt_clean -purge",
        f"tee -q -o {stat} stat -json -liberty {liberty}",
        f"write_verilog -noattr -noexpr -nohex -nodec {netlist}",
        "",
    ])


def map_netlist(files: Sequence[Path], top: str, lib: Library, work: Path,
                period_ps: int | None = None, synth: str = "synth -flatten"
                ) -> tuple[Path, dict[str, Any], str]:
    """Map the design onto ``lib`` in ``work``; return (netlist, Yosys stat, command line).

    The sources are copied into ``work`` (YoWASP Yosys sees only its working directory).
    Raises :class:`SynthError` when Yosys fails.
    """
    work.mkdir(parents=True, exist_ok=True)
    local = []
    for f in files:
        f = Path(f)
        if f.resolve() != (work / f.name).resolve():
            shutil.copyfile(f, work / f.name)
        local.append(Path(f.name))
    shutil.copyfile(lib.liberty, work / "cells.lib")
    constr = None
    if period_ps and lib.inverter:
        constr = "abc.constr"
        load = f"set_load {4 * lib.inverter_cap:.4g}\n" if lib.inverter_cap else ""
        (work / constr).write_text(f"set_driving_cell {lib.inverter}\n{load}")
    script = work / "map.ys"
    script.write_text(map_script(_read_cmds(local), top, Path("cells.lib"), period_ps, constr,
                                 synth=synth))
    r = _run([YOSYS, "-q", "-l", "yosys.log", "-s", script.name], work, work / "yosys.out")
    cmd = (f"{YOSYS} -q -l yosys.log -s {script.name}  # "
           + "; ".join(t for t in script.read_text().splitlines() if t))
    if r.returncode != 0 or not (work / "netlist.v").exists():
        raise SynthError(f"yosys failed mapping {top} to {lib.name}: "
                         f"{_first_error(r.stdout + r.stderr)}")
    return work / "netlist.v", json.loads((work / "stat.json").read_text()), cmd


def area_by_module(src: DesignSource, lib: Library, work: Path,
                   synth: str = "synth -flatten") -> dict[str, dict[str, float]]:
    """Where the area goes: the design mapped again with its hierarchy kept (no ``-D``),
    each module's own cells priced from the Liberty areas; lane modules (``mul0``,
    ``mul1``, ...) summed under one name (``mul*``), a block's submodules (``mul0.csa``)
    counted in the block. Mapping across module boundaries is
    lost, so the total differs a little from the flat run."""
    script = work / "breakdown.ys"
    hier = synth.replace("-flatten", "").strip()
    script.write_text("\n".join([
        *_read_cmds([Path(f.name) for f in src.files]), f"hierarchy -top {src.top}",
        f"{hier} -top {src.top}", "delete t:$scopeinfo", "dfflibmap -liberty cells.lib",
        "abc -liberty cells.lib", "opt_clean",
        "tee -q -o breakdown.json stat -json -liberty cells.lib", ""]))
    r = _run([YOSYS, "-q", "-s", script.name], work, work / "breakdown.log")
    if r.returncode != 0:
        raise SynthError(f"yosys (breakdown) failed on {src.name}: "
                         f"{_first_error(r.stdout + r.stderr)}")
    out: dict[str, dict[str, float]] = {}
    for mod, info in json.loads((work / "breakdown.json").read_text())["modules"].items():
        name = mod.lstrip("\\")
        if name == src.top:
            name = "(top)"
        elif name.startswith(src.top + "."):
            name = name[len(src.top) + 1:]
        name = ".".join(name.split(".")[:2])  # a block's own submodules (mul0.csa) in it
        name = re.sub(r"(?<=[a-z_])\d+$", "*", name)
        cells = {k.lstrip("\\"): int(v) for k, v in info.get("num_cells_by_type", {}).items()}
        own = {c: n for c, n in cells.items() if c in lib.areas}
        if not own:
            continue
        row = out.setdefault(name, {"area_um2": 0.0, "ff_area_um2": 0.0, "cells": 0, "ff": 0})
        row["area_um2"] += sum(lib.areas[c] * n for c, n in own.items())
        row["ff_area_um2"] += sum(lib.areas[c] * n for c, n in own.items()
                                  if c in lib.sequential)
        row["cells"] += sum(own.values())
        row["ff"] += sum(n for c, n in own.items() if c in lib.sequential)
    total = sum(r["area_um2"] for r in out.values()) or 1.0
    for r in out.values():
        r["area_um2"], r["ff_area_um2"] = round(r["area_um2"], 1), round(r["ff_area_um2"], 1)
        r["share"] = round(r["area_um2"] / total, 3)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["area_um2"]))


def storage_of(src: DesignSource) -> dict[str, Any] | None:
    """The parameter storage of a design: bits and how the netlist holds them."""
    per = src.param_bits_per_channel
    if not per:
        return None
    cfg = src.config or {}
    ch = int(cfg.get("channels") or 0)
    store = cfg.get("store", "rom")
    return {"bits_per_channel": per, "channels": ch, "bits": per * ch, "store": store,
            "as": "flip-flops (RAM store, writable)" if store == "ram"
            else "logic (ROM folded into the netlist)",
            "note": "a tape-out would hold these bits in an SRAM/ROM macro: price one with "
                    "`bits`"}


def run_asic_design(src: DesignSource, target: Target, lib: Library, workdir: Path,
                    freq_mhz: float | None = None, progress: Progress | None = None,
                    breakdown: bool = False) -> dict[str, Any]:
    """Map and time one design; return its report entry (``breakdown``: plus the area per
    module, :func:`area_by_module`). Raises SynthError on tool failure."""
    say = progress or (lambda _m: None)
    t0 = time.monotonic()
    freq = float(freq_mhz or target.default_freq_mhz)
    period_ns = 1000.0 / freq
    work = Path(workdir) / src.name
    say(f"{src.name}: yosys + abc -liberty {lib.name} -D {round(period_ns * 1000)}")
    netlist, stat, ycmd = map_netlist(src.files, src.top, lib, work, round(period_ns * 1000),
                                      target.yosys_synth)
    design = stat.get("design") or next(iter(stat["modules"].values()))
    cells = {k.lstrip("\\"): int(v) for k, v in design.get("num_cells_by_type", {}).items()}
    cls = lib.classify(cells)
    area = sum(lib.areas.get(c, 0.0) * n for c, n in cells.items())
    seq_area = sum(lib.areas.get(c, 0.0) * n for c, n in cells.items() if c in lib.sequential)
    say(f"{src.name}: OpenSTA at {period_ns:g} ns")
    try:
        timing, scmd = run_sta(Path("cells.lib"), Path(netlist.name), src.top, period_ns, work)
    except StaError as e:
        raise SynthError(str(e)) from None
    minp = timing["min_period_ns"]
    entry: dict[str, Any] = {
        "name": src.name, "kind": src.kind, "target": "asic", "device": lib.name,
        "library": str(lib.liberty), "config": src.config,
        "area_um2": round(area, 1), "sequential_area_um2": round(seq_area, 1),
        "cells": sum(cells.values()), "ff": cls["ff"], "comb": cls["comb"],
        "cells_by_name": dict(sorted(cells.items())),
        "min_period_ns": minp,
        "fmax_mhz": round(1000.0 / minp, 2) if minp else None,
        "slack_ns": timing["slack_ns"], "freq_target_mhz": freq,
        "timing_met": timing.get("met"),
        "critical_path": timing["critical_path"],
        "param_bits_per_channel": src.param_bits_per_channel,
        "param_storage": storage_of(src),
        "fits": True, "fit_reason": None,
        "notes": [*src.notes,
                  "ideal clock and wires (no placement): OpenSTA on the Yosys/ABC netlist"],
        "commands": [ycmd, scmd], "tool_versions": {**tool_versions(target),
                                                      "sta": _sta_version()},
        "netlist": f"work/{src.name}/{netlist.name}",
        "elapsed_s": round(time.monotonic() - t0, 1),
    }
    if breakdown:
        say(f"{src.name}: area per module (hierarchy kept)")
        entry["area_by_module"] = area_by_module(src, lib, work, target.yosys_synth)
    if cls["other"]:
        entry["notes"].append(f"{cls['other']} cell(s) not in the library's area table")
    return entry


def _sta_version() -> str:
    import subprocess

    from .sta import find_sta

    try:
        r = subprocess.run([find_sta(), "-version"], capture_output=True, text=True, timeout=60)
        return f"OpenSTA {r.stdout.strip() or r.stderr.strip()}"
    except (OSError, subprocess.SubprocessError, StaError) as e:
        return f"unavailable ({e})"
