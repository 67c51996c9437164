"""Device-speed matrix (part of ``make bench-synth``): the unit with the target family's DSP
primitives at each pipeline preset against the registered-DSP multiplier (the ceiling), the
multiplier Yosys infers (DSP registers off), the TFLite-style requantizer and the unit
without its stall enable (``m_axis_tready`` tied high: what the global stall enable costs).

ECP5 LFE5U-25F: the bench's int8 layer (conv1_bn extended to C = 64, per-channel shift),
L in {1, 4}. iCE40 UP5K: C = 16 (the bundled conv1_bn), L = 1. Fmax = median of the seeds.
Writes bench/results/synth_device_<target>.json/.md (report structure of ``exactbn synth``)
and bench/results/synth_device.md (latency, FF, COMB against Fmax per preset).
"""

from __future__ import annotations

import copy
import os
import sys
import time
from importlib.resources import files
from pathlib import Path

from exactbn.golden.solver import solve_layer

from exactbn.formats import load_layers, select_layer, write_text_atomic
from exactbn.synth.designs import build_designs
from exactbn.synth.flow import run_designs
from exactbn.synth.report import write_report
from exactbn.synth.targets import resolve_target

RESULTS = Path(__file__).resolve().parent / "results"
MATRIX = {  # target: (lanes, presets, nostall presets)
    "ecp5": ((1, 4), ("default", "ecp5"), ("ecp5",)),
    "ice40": ((1,), ("default", "ice40"), ("ice40",)),
}
# The TFLite-style requantizer's pipeline where the preset's own does not fit the device: on
# the UP5K its 64-bit sums in the ice40 preset's 4-bit chunks need more than the 5280 logic
# cells (nextpnr: 5359), so it runs with 8-bit chunks there (the rest of the preset kept).
TFLITE_PIPELINE = {("ice40", "ice40"): "ice40,chunk=8"}


def device_layer(target: str, layers: dict | None):
    """The int8 layer of the matrix: C = 64 (bench layers) on ECP5, the bundled 16 on iCE40."""
    if target == "ecp5" and layers is not None:
        return layers[("int8", "per-channel")]
    bundled = select_layer(load_layers(files("exactbn.data") / "example_layers.json"),
                           "conv1_bn")
    return solve_layer(bundled, shift_mode="per-channel", hw_rounding="auto")


def run_device(target_name: str, layer, seeds, jobs: int, workroot: Path, say) -> dict:
    target = resolve_target(target_name)
    lanes_set, presets, nostall = MATRIX[target_name]
    designs, members = [], {}
    for lanes in lanes_set:
        for pipe in presets:
            group = f"L{lanes}-{pipe}"
            kinds = ["exactbn", "ceiling", "tflite"] + (["exactbn_nostall"] if pipe in nostall
                                                        else [])
            if pipe == presets[0]:
                kinds.append("ceiling_inferred")
            tfl = TFLITE_PIPELINE.get((target_name, pipe))
            if tfl:
                kinds.remove("tflite")
            ds = build_designs(layer, target, workroot / "src", kinds=tuple(kinds), tag=group,
                               group=group, lanes=lanes, pipeline=pipe, name="exactbn_bn")
            if tfl:
                ds += build_designs(layer, target, workroot / "src", kinds=("tflite",),
                                    tag=group, group=group, lanes=lanes, pipeline=tfl,
                                    name="exactbn_bn")
            designs += ds
            members[group] = [d.name for d in ds]
    say(f"{target_name}: {len(designs)} designs, seeds {seeds}")
    t0, load0 = time.monotonic(), os.getloadavg()
    entries = run_designs(designs, target, workroot / "work", seeds, None, jobs, say)
    # the inferred multiplier of a lane count serves every preset of it
    for lanes in lanes_set:
        inf = next((e for e in entries if e["kind"] == "ceiling_inferred"
                    and e["config"].get("lanes") == lanes), None)
        for pipe in presets[1:] if inf is not None else ():  # (no primitive: ceiling is it)
            e = copy.deepcopy(inf)
            e["config"] = dict(e["config"], group=f"L{lanes}-{pipe}")
            e["name"] = f"ceiling_inferred_L{lanes}-{pipe}"
            e["shared_run"] = inf["name"]
            entries.append(e)
    meta = {"command": "python -m bench.bench_synth --matrix device --targets " + target_name,
            "target": target.name, "device": target.device, "seeds": list(seeds),
            "freq_mhz": target.default_freq_mhz, "channels": layer.channels,
            "layer": layer.name, "elapsed_s": round(time.monotonic() - t0, 1),
            "cores": os.cpu_count(), "load_start": [round(x, 2) for x in load0],
            "load_end": [round(x, 2) for x in os.getloadavg()]}
    rep = write_report(RESULTS, entries, meta, stem=f"synth_device_{target_name}")
    md = RESULTS / f"synth_device_{target_name}.md"
    write_text_atomic(md, md.read_text() + (
        f"\nMachine: {meta['cores']} cores; load average (1, 5, 15 min) "
        f"{' '.join(map(str, meta['load_start']))} at the start, "
        f"{' '.join(map(str, meta['load_end']))} at the end ({meta['elapsed_s']} s).\n"))
    return rep


def _fm(e) -> str:
    if e is None:
        return "-"
    if e.get("error"):
        return "error"
    return "-" if e.get("fmax_mhz") is None else f"{e['fmax_mhz']:.1f}"


def device_md(reports: dict[str, dict], load: str) -> str:
    """Latency, FF and COMB against Fmax per preset; ratios to the multipliers."""
    lines = ["# Device speed: the unit with the family's DSP primitives", "",
             "Command: `python -m bench.bench_synth --matrix device` (part of `make "
             f"bench-synth`). Machine load while measuring: {load}. Fmax = median over the "
             "seeds, nextpnr post-route (out of context on ECP5: every port in a register "
             "ring); COMB = nextpnr's COMB (ECP5) or logic cells (iCE40, serial harness "
             "included). `nostall` = the unit with m_axis_tready tied high (no stall "
             "enable; not a usable unit, it measures what the global enable costs). "
             "Mapping: Yosys's flat `synth_ecp5` / `synth_ice40` (no -dsp where SB_MAC16 is "
             "instantiated: Yosys's ice40_dsp pass rewrites an instantiated SB_MAC16's "
             "registers); `synth_ecp5 -noflatten` gave more COMB on the unit (ECP5 preset, "
             "L = 1, seed 1: 863 vs 782 flat) and about the same on the TFLite-style baseline "
             "(1104 vs 1101), so the flat mapping is the lowest-COMB one here. TFLite-style "
             "at the FPGA presets: pipelined as the unit (registered DSP primitives, carry "
             "chunks, the unit's back-pressure flow).", ""]
    for tname, rep in reports.items():
        by = {(e["config"].get("group"), e["kind"]): e for e in rep["designs"]}
        groups = list(dict.fromkeys(e["config"].get("group") for e in rep["designs"]))
        lines += [f"## {tname} ({rep['meta']['device']}, C = {rep['meta']['channels']}, seeds "
                  f"{rep['meta']['seeds']})", "",
                  "| group | pipeline | latency | FF | COMB | DSP | Fmax exactbn | nostall | "
                  "ceiling (registered DSP) | inferred DSP mult | TFLite-style | "
                  "exactbn/inferred | exactbn/ceiling | COMB/TFLite | DSP-internal paths |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for g in groups:
            u = by.get((g, "exactbn"))
            if u is None:
                continue
            c, i = by.get((g, "ceiling")), by.get((g, "ceiling_inferred"))
            t, n = by.get((g, "tflite")), by.get((g, "exactbn_nostall"))

            def r(a, b, key="fmax_mhz"):
                if not a or not b or a.get(key) is None or not b.get(key):
                    return "-"
                return f"{a[key] / b[key]:.2f}"
            dt = (u.get("dsp_timing") or {}).get("internal_paths", "-")
            lines.append(
                f"| {g} | {u['config'].get('pipeline')} | {u['config'].get('latency')} | "
                f"{u.get('ff')} | {u.get('lut')} | {u.get('dsp')} | {_fm(u)} | {_fm(n)} | "
                f"{_fm(c)} | {_fm(i)} | {_fm(t)} | {r(u, i)} | {r(u, c)} | "
                f"{r(u, t, 'lut')} | {dt} |")
        lines.append("")
    return "\n".join(lines)


def main_device(targets: list[str], seeds, jobs: int, layers, tmp: Path, say) -> dict:
    load = open("/proc/loadavg").read().split()[:3] if Path("/proc/loadavg").exists() else "?"
    reports = {}
    for t in targets:
        if t not in MATRIX:
            continue
        reports[t] = run_device(t, device_layer(t, layers), seeds, jobs, tmp / f"device_{t}",
                                say)
        write_text_atomic(RESULTS / "synth_device.md",
                          device_md(reports, f"load average {' '.join(load)} (2 cores)"))
    return reports


def refresh_device_md(extra: list[str] | None = None) -> Path:
    """Rewrite bench/results/synth_device.md from the committed per-target reports
    (synth_device_<target>.json), then ``extra`` lines (later partial runs)."""
    import json

    reports, loads = {}, []
    for t in MATRIX:
        f = RESULTS / f"synth_device_{t}.json"
        if f.exists():
            reports[t] = json.loads(f.read_text())
            m = reports[t]["meta"]
            if m.get("load_start"):
                loads.append(f"{t}: load average {m['load_start'][0]}-{m['load_end'][0]} "
                             f"({m.get('cores')} cores)")
    text = device_md(reports, "; ".join(loads) or "see each report")
    out = RESULTS / "synth_device.md"
    write_text_atomic(out, text + ("\n" + "\n".join(extra) + "\n" if extra else ""))
    return out


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (the synthesis tools)."""
    import resource

    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main_subset(argv: list[str]) -> int:
    """A few designs of the ECP5 matrix in one run (the int8 C = 64 layer), each given as
    ``KIND:LANES:PIPELINE[:PARAM_MEMORY]``; writes bench/results/<stem>.json/.md."""
    import argparse
    import tempfile

    from bench.bench_synth import standard_layers

    ap = argparse.ArgumentParser(prog="python -m bench.bench_device")
    ap.add_argument("--spec", action="append", required=True,
                    help="KIND:LANES:PIPELINE[:PARAM_MEMORY], e.g. exactbn:1:ecp5:block")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--stem", default="synth_device_ecp5_subset")
    a = ap.parse_args(argv)
    seeds = [int(x) for x in a.seeds.split(",")]
    layer = standard_layers()[("int8", "per-channel")]
    target = resolve_target("ecp5")
    with tempfile.TemporaryDirectory(prefix="bench_device_") as tmp:
        root = Path(tmp)
        designs = []
        for sp in a.spec:
            kind, lanes, pipe, *rest = sp.split(":")
            pm = rest[0] if rest else "auto"
            tag = f"L{lanes}-{pipe.replace(',', '_').replace('=', '')}-{pm}"
            designs += build_designs(layer, target, root / "src", kinds=(kind,), tag=tag,
                                     group=tag, lanes=int(lanes), pipeline=pipe,
                                     param_memory=pm, name="exactbn_bn")
        t0, load0 = time.monotonic(), os.getloadavg()
        cpu0 = _cpu_s()
        entries = run_designs(designs, target, root / "work", seeds, None, a.jobs, print)
    meta = {"cpu_s": round(_cpu_s() - cpu0, 1),  # this process and its tools (Yosys, nextpnr)
            "command": "python -m bench.bench_device " + " ".join(
                f"--spec '{s}'" for s in a.spec) + f" --seeds {a.seeds} --jobs {a.jobs}",
            "target": target.name, "device": target.device, "seeds": seeds,
            "freq_mhz": target.default_freq_mhz, "channels": layer.channels,
            "layer": layer.name, "elapsed_s": round(time.monotonic() - t0, 1),
            "cores": os.cpu_count(), "load_start": [round(x, 2) for x in load0],
            "load_end": [round(x, 2) for x in os.getloadavg()]}
    write_report(RESULTS, entries, meta, stem=a.stem)
    md = RESULTS / f"{a.stem}.md"
    write_text_atomic(md, md.read_text() + (
        f"\nCommand: `{meta['command']}`. Machine: {meta['cores']} cores; load average "
        f"(1, 5, 15 min) {' '.join(map(str, meta['load_start']))} at the start, "
        f"{' '.join(map(str, meta['load_end']))} at the end ({meta['elapsed_s']} s wall, "
        f"{meta['cpu_s']} CPU s).\n"))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main_subset(sys.argv[1:]))
    sys.exit("run it as: python -m bench.bench_synth --matrix device (or --spec ..., see "
             "--help)")
