"""Whole network: per-layer bundle vs one shared unit, on ECP5, for the bundled digits CNN.

``python -m bench.bench_network [--seeds 1,2,3] [--lanes 4] [--jobs 1]`` imports and solves
exactbn/data/digits_qdq.onnx, then runs the commands a user would run (each recorded in the
results) and writes bench/results/network.json and network.md:

- ``exactbn generate/sim/prove SOLVED --all-layers`` (wall time of each: the "whole bundle in
  <= 10 minutes" figure);
- ``exactbn synth SOLVED --all-layers --designs exactbn`` (one unit per layer, L lanes) and
  ``exactbn synth SOLVED --shared-unit --designs exactbn`` (one unit, L lanes), median Fmax
  over the seeds, LUT = nextpnr COMB;
- the ratios the issue targets: shared COMB and DSP vs the largest single-layer unit (<= 1.3x)
  and shared Fmax vs the slowest single-layer unit (within 5 %).
Measured, never asserted.

``--network resnet18 --solved FILE`` (the PT2E file ``python -m bench.bench_resnet18 --keep
DIR`` solves, DIR/resnet18_solved.json) runs the same synthesis comparison on ResNet-18's
21 units, each command as ``nice -n 5 timeout T /usr/bin/time -v`` (CPU seconds and the load
average before and after recorded); ``--bundle-seeds`` (the per-layer units' seeds, default
``--seeds``), ``--bundle-chunk N`` (the bundle in commands of N layers, so one timeout loses
only its chunk), ``--work DIR`` (a step whose report is already there is read, not rerun).
The rows go to the ``resnet18`` entry of network.json and its section of network.md; the
digits rows stay as they were (and a digits run keeps the ``resnet18`` entry).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

from exactbn.formats import write_json_atomic, write_text_atomic

RESULTS = Path(__file__).parent / "results"


def _run(args: list[str], log: Path) -> tuple[int, float]:
    t0 = time.monotonic()
    with open(log, "w") as fh:
        rc = subprocess.call([sys.executable, "-m", "exactbn", *args], stdout=fh,
                             stderr=subprocess.STDOUT)
    return rc, round(time.monotonic() - t0, 1)


def _cmd(args: list[str]) -> str:
    return "exactbn " + " ".join(args)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_network")
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--lanes", type=int, default=4)
    p.add_argument("--pipeline", default="deep",
                   help="the units' --pipeline (e.g. ecp5: the ECP5 preset, flow=credit)")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--skip-flows", action="store_true", help="only synthesis")
    p.add_argument("--out", default=str(RESULTS))
    p.add_argument("--network", choices=("digits", "resnet18", "resnet18-synthetic"),
                   default="digits",
                   help="resnet18-synthetic: 20 BN layers with ResNet-18's channel counts and "
                        "random int8 affines (no ResNet-18 layer file on this machine)")
    p.add_argument("--skip-synth", action="store_true", help="only the generate/sim/prove flows")
    p.add_argument("--solved", help="--network resnet18: the solved PT2E file")
    p.add_argument("--bundle-seeds", help="seeds of the per-layer units (default --seeds)")
    p.add_argument("--bundle-chunk", type=int, default=0,
                   help="resnet18: the bundle in synth commands of this many layers")
    p.add_argument("--bundle-chunks", help="resnet18: only these chunks of the bundle "
                   "(0 = the first --bundle-chunk layers, largest first), comma-separated")
    p.add_argument("--work", help="resnet18: the run directory (steps already done are read)")
    p.add_argument("--timeout", type=int, default=900, help="resnet18: each command's timeout")
    p.add_argument("--shared-memories", default="block",
                   help="resnet18: the shared unit's --param-memory values, comma-separated")
    a = p.parse_args(argv)
    if a.network == "resnet18":
        return resnet18_main(a, argv)
    work = Path(tempfile.mkdtemp(prefix="exactbn-bench-network-"))
    onnx = str(resources.files("exactbn.data").joinpath("digits_qdq.onnx"))
    stem = "network" if a.network == "digits" else "network_resnet18_synthetic"
    layers, solved = work / "layers.json", work / "solved.json"
    steps: list[dict] = []

    def step(name: str, args: list[str]) -> int:
        rc, secs = _run(args, work / f"{name}.log")
        steps.append({"step": name, "command": _cmd(args), "exit": rc, "seconds": secs})
        print(f"{name}: exit {rc}, {secs} s", file=sys.stderr, flush=True)
        return rc

    if a.network == "digits":
        step("import", ["import", onnx, "-o", str(layers)])
    else:
        write_json_atomic(layers, resnet18_synthetic())
    step("solve", ["solve", str(layers), "-o", str(solved), "--no-summary"])
    if not a.skip_flows:
        step("generate --all-layers", ["generate", str(solved), "--all-layers", "-q",
                                       "-o", str(work / "bundle")])
        step("sim --all-layers", ["sim", str(solved), "--all-layers", "-o", str(work / "sim"),
                                  "--jobs", str(a.jobs)])
        step("prove --all-layers", ["prove", str(solved), "--all-layers",
                                    "-o", str(work / "prove"), "--jobs", str(a.jobs)])
        step("generate --shared-unit", ["generate", str(solved), "--shared-unit", "-q",
                                        "--lanes", str(a.lanes), "-o", str(work / "shared")])
        step("sim --shared-unit", ["sim", str(solved), "--shared-unit", "--lanes",
                                   str(a.lanes), "-o", str(work / "sim-shared")])
        step("prove --shared-unit", ["prove", str(solved), "--shared-unit", "--lanes",
                                     str(a.lanes), "-o", str(work / "prove-shared")])
    if a.skip_synth:
        res = {"command": "python -m bench.bench_network " + " ".join(argv if argv is not None
                                                                  else sys.argv[1:]),
               "network": a.network, "lanes": a.lanes, "steps": steps}
        Path(a.out).mkdir(parents=True, exist_ok=True)
        write_json_atomic(Path(a.out) / f"{stem}.json", res)
        return 0
    common = ["--target", "ecp5", "--designs", "exactbn", "--seeds", a.seeds,
              "--lanes", str(a.lanes), "--pipeline", a.pipeline]
    step("synth --all-layers", ["synth", str(solved), "--all-layers", *common,
                                "--jobs", str(a.jobs), "-o", str(work / "synth-bundle")])
    step("synth --shared-unit", ["synth", str(solved), "--shared-unit", *common,
                                 "-o", str(work / "synth-shared")])
    # The shared unit holds every layer's words: in LUTs ("auto" maps small ROMs to logic)
    # they are most of its extra cost over the largest unit; in block RAM they cost DP16KDs.
    step("synth --shared-unit --param-memory block",
         ["synth", str(solved), "--shared-unit", *common, "--param-memory", "block",
          "-o", str(work / "synth-shared-block")])
    per_layer = []
    try:
        per_layer = json.loads((work / "synth-bundle/network_synth.json").read_text())["layers"]
    except (OSError, ValueError, KeyError):
        pass
    shared, shared_block = (_shared_row(work / d) for d in ("synth-shared", "synth-shared-block"))
    res = {"command": "python -m bench.bench_network " + " ".join(argv if argv is not None
                                                              else sys.argv[1:]),
           "machine": platform.machine(), "python": platform.python_version(),
           "network": "digits CNN (exactbn/data/digits_qdq.onnx, 3 BN layers)",
           "lanes": a.lanes, "pipeline": a.pipeline, "seeds": a.seeds, "steps": steps,
           "per_layer": per_layer,
           "shared": shared, "shared_block": shared_block}
    res["comparison"] = _compare(per_layer, res["shared"])
    res["comparison_block"] = _compare(per_layer, res["shared_block"])
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    res.update(_carried(out / "network.json"))
    write_json_atomic(out / "network.json", res)
    write_text_atomic(out / "network.md", _markdown(res))
    print(f"wrote {out / 'network.json'} and network.md (work dir {work})")
    return 0


# ResNet-18's BN layers: bn1, 4 x 64 (layer1), 5 x 128 / 256 / 512 (layer2-4, one downsample each)
RESNET18_CHANNELS = [64] * 5 + [128] * 5 + [256] * 5 + [512] * 5


def resnet18_synthetic(seed: int = 18) -> dict:
    """A layers file shaped like ResNet-18's 20 BN layers: int8 in and out, random affines."""
    import random

    rng = random.Random(seed)
    return {"layers": [
        {"name": f"bn{i}", "input": {"bits": 8, "signed": True, "scale": 0.05},
         "output": {"bits": 8, "signed": True, "scale": 0.05},
         "affine": {"a": [round(rng.uniform(0.2, 1.5), 6) for _ in range(c)],
                    "b": [round(rng.uniform(-20.0, 20.0), 6) for _ in range(c)]}}
        for i, c in enumerate(RESNET18_CHANNELS)]}


def _shared_row(d: Path) -> dict | None:
    try:
        rep = json.loads((d / "report.json").read_text())
        e = next(e for e in rep["designs"] if e.get("kind") == "exactbn")
    except (OSError, ValueError, KeyError, StopIteration):
        return None
    return {k: e.get(k) for k in ("lut", "lut4_yosys", "ff", "dsp", "bram", "fmax_mhz",
                                  "fmax_by_seed", "config")}


def _compare(rows: list[dict], shared: dict | None) -> dict:
    ok = [r for r in rows if isinstance(r.get("lut"), int)]
    if not ok or not shared or shared.get("lut") is None:
        return {}
    big_lut = max(r["lut"] for r in ok)
    big_dsp = max(r["dsp"] for r in ok)
    slow = min((r["fmax_mhz"] for r in ok if r.get("fmax_mhz")), default=None)
    tot = {k: sum(r[k] for r in ok) for k in ("lut", "ff", "dsp", "bram")}

    def ratio(x, y):
        return round(x / y, 3) if x is not None and y else None

    return {"bundle_totals": tot, "bundle_fmax_min": slow,
            "largest_unit_lut": big_lut, "largest_unit_dsp": big_dsp,
            "shared_lut_vs_largest": ratio(shared["lut"], big_lut),
            "shared_dsp_vs_largest": ratio(shared["dsp"], big_dsp),
            "shared_fmax_vs_bundle_min": ratio(shared.get("fmax_mhz"), slow),
            "shared_lut_vs_bundle_total": ratio(shared["lut"], tot["lut"]),
            "shared_ff_vs_bundle_total": ratio(shared["ff"], tot["ff"]),
            "shared_dsp_vs_bundle_total": ratio(shared["dsp"], tot["dsp"])}


# Measured elsewhere (by hand, with the commands recorded): kept when the digits rows are rerun.
CARRIED = ("notes", "resnet18_flows", "resnet18")


def _carried(path: Path) -> dict:
    try:
        prev = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: prev[k] for k in CARRIED if k in prev}


def _flows_md(fl: dict) -> list[str]:
    """The ResNet-18 bundle's generate/sim/prove timing (``resnet18_flows``)."""
    lines = ["", f"## {fl['title']}", "", fl["text"], "",
             "| step | exit | seconds | load average (start -> end) | command | result |",
             "|---|---|---|---|---|---|"]
    for st in fl["steps"]:
        lines.append(f"| {st['step']} | {st['exit']} | {st['seconds']} | {st['load']} | "
                     f"`{st['command']}` | {st.get('note', '')} |")
    return lines


def _markdown(res: dict) -> str:
    lines = [f"# Whole network on ECP5: per-layer bundle vs shared unit ({res['network']})", "",
             f"L = {res['lanes']}, pipeline {res['pipeline']}, seeds {res['seeds']} (Fmax = "
             f"median), LUT = nextpnr COMB, ECP5-25k out of context. Command: "
             f"`{res.get('command', 'python -m bench.bench_network')}` (2-core machine shared "
             "with other jobs).", "",
             "| unit | LUT (COMB) | FF | DSP | BRAM | Fmax MHz |", "|---|---|---|---|---|---|"]
    for r in res["per_layer"]:
        lines.append(f"| {r['layer']} | {r.get('lut')} | {r.get('ff')} | {r.get('dsp')} | "
                     f"{r.get('bram')} | {r.get('fmax_mhz')} |")
    c = res["comparison"]
    if c:
        t = c["bundle_totals"]
        lines.append(f"| **bundle total** | {t['lut']} | {t['ff']} | {t['dsp']} | {t['bram']} | "
                     f"{c['bundle_fmax_min']} (slowest) |")
    variants = (("shared unit", "shared", "comparison"),
                ("shared unit, params in block RAM", "shared_block", "comparison_block"))
    for label, key, _ in variants:
        s = res.get(key)
        if s:
            lines.append(f"| **{label}** | {s['lut']} | {s['ff']} | {s['dsp']} | {s['bram']} | "
                         f"{s['fmax_mhz']} |")
    for label, _, ckey in variants:
        c = res.get(ckey)
        if c:
            lines += ["", f"{label.capitalize()} vs the largest single-layer unit: LUT "
                      f"{c['shared_lut_vs_largest']}x, DSP {c['shared_dsp_vs_largest']}x "
                      f"(target <= 1.3x); Fmax vs the slowest single-layer unit "
                      f"{c['shared_fmax_vs_bundle_min']}x (target >= 0.95). Against the whole "
                      f"bundle: LUT {c['shared_lut_vs_bundle_total']}x, FF "
                      f"{c['shared_ff_vs_bundle_total']}x, DSP {c['shared_dsp_vs_bundle_total']}x."]
    lines += ["", "What the shared unit holds beyond the largest unit: every layer's (M, B, N) "
              "words (the sum of the layers' channels). The default `--param-memory auto` "
              "maps that ROM to LUTs, stored packed on the FPGA presets (each distinct word "
              "row once, the layer blocks' padding one zero row, the address mapped to its "
              "row before the read's address register; hw/store.py); with `--param-memory "
              "block` the words sit in DP16KD block RAM. Shifts below the union's largest "
              "free floor are raised ((M, B, N) -> (M 2^k, B 2^k, N + k), the same value, "
              "within the union's widths; exactbn/shared.py), so the shifter spans fewer "
              "shifts than the union of the layers' ranges. A layer table (layers whose "
              "output clip differs) adds one clamp per lane; the digits layers share one "
              "output spec, so it has none here."]
    lines += ["", "| step | exit | seconds | command |", "|---|---|---|---|"]
    for st in res["steps"]:
        lines.append(f"| {st['step']} | {st['exit']} | {st['seconds']} | `{st['command']}` |")
    for note in res.get("notes", []):
        lines += ["", note]
    if res.get("resnet18"):
        lines += _resnet18_md(res["resnet18"])
    if res.get("resnet18_flows"):
        lines += _flows_md(res["resnet18_flows"])
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------- ResNet-18 synthesis


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def _timed(args: list[str], log: Path, timeout: int) -> dict:
    """``nice -n 5 timeout T /usr/bin/time -v python -m exactbn ARGS``: exit, wall and CPU
    seconds (user + sys of the command and its children), load average before and after."""
    from bench.bench_resnet18 import _time_v

    load0, t0 = _loadavg(), time.monotonic()
    tv = log.with_suffix(".time")
    with open(log, "w") as fh:
        # time outside timeout: a command its timeout stops still has its CPU seconds
        rc = subprocess.call(["/usr/bin/time", "-v", "-o", str(tv), "nice", "-n", "5",
                              "timeout", str(timeout), sys.executable, "-m", "exactbn", *args],
                             stdout=fh, stderr=subprocess.STDOUT)
    t = _time_v(tv) if tv.exists() else {}
    return {"command": _cmd(args), "exit": rc, "seconds": round(time.monotonic() - t0, 1),
            "cpu_seconds": round(t.get("user", 0.0) + t.get("sys", 0.0), 1),
            "load": f"{load0} -> {_loadavg()}",
            "start_utc": time.strftime("%H:%M", time.gmtime(time.time() - (time.monotonic()
                                                                             - t0)))}


def _bundle_rows(d: Path, solved: str) -> list[dict]:
    """The chunk's rows: its network_synth.json, or (a chunk stopped before its end) each
    finished layer's own report.json (``partial``: True)."""
    try:
        return json.loads((d / "network_synth.json").read_text())["layers"]
    except (OSError, ValueError, KeyError):
        pass
    from exactbn.formats import load_solved
    from exactbn.network import _layer_dirs

    layers = load_solved(solved)
    rows = []
    for lay, sub in zip(layers, _layer_dirs(layers, solved), strict=True):
        row = _shared_row(d / sub)
        if row:
            rows.append({"layer": lay.name, "channels": lay.channels, "partial": True, **row})
    return rows


def resnet18_main(a: argparse.Namespace, argv: list[str] | None) -> int:
    from exactbn.formats import load_solved

    if not a.solved:
        print("bench_network: --network resnet18 needs --solved FILE "
              "(python -m bench.bench_resnet18 --keep DIR writes DIR/resnet18_solved.json)",
              file=sys.stderr)
        return 2
    try:
        names = [lay.name for lay in load_solved(a.solved)]
    except Exception as e:  # noqa: BLE001 - one line, exit 2
        print(f"bench_network: {a.solved}: {e}", file=sys.stderr)
        return 2
    work = Path(a.work or tempfile.mkdtemp(prefix="exactbn-bench-resnet18-"))
    work.mkdir(parents=True, exist_ok=True)
    common = ["--target", "ecp5", "--designs", "exactbn", "--lanes", str(a.lanes),
              "--pipeline", a.pipeline]
    steps: list[dict] = []

    def step(name: str, args: list[str], done: Path) -> None:
        if done.exists():
            print(f"{name}: already done ({done})", file=sys.stderr)
            prev = work / f"{name.replace(' ', '_')}.step.json"
            if prev.exists():
                steps.append(json.loads(prev.read_text()))
            return
        st = {"step": name, **_timed(args, work / f"{name.replace(' ', '_')}.log", a.timeout)}
        write_json_atomic(work / f"{name.replace(' ', '_')}.step.json", st)
        steps.append(st)
        print(f"{name}: exit {st['exit']}, {st['seconds']} s, {st['cpu_seconds']} CPU s, "
              f"load {st['load']}", file=sys.stderr, flush=True)

    shared = {}
    for mem in a.shared_memories.split(","):
        d = work / f"synth-shared-{mem}"
        step(f"synth shared {mem}", ["synth", a.solved, "--shared-unit", *common,
                                     "--seeds", a.seeds, "--param-memory", mem,
                                     "-o", str(d)], d / "report.json")
        shared[mem] = _shared_row(d)
    chunk = a.bundle_chunk or len(names)
    per_layer: list[dict] = []
    # the largest layers first (ResNet-18's file lists them last)
    order = sorted(range(len(names)), key=lambda i: -i)
    only = None if not a.bundle_chunks else {int(x) for x in a.bundle_chunks.split(",")
                                             if x.strip().isdigit()}
    for j in range(0, len(order), chunk):
        part = [names[i] for i in order[j:j + chunk]]
        d = work / f"synth-bundle-{j // chunk}"
        if only is not None and j // chunk not in only:  # not run: what it has, if any
            per_layer += _bundle_rows(d, a.solved)
            continue
        step(f"synth bundle {j // chunk}", ["synth", a.solved, "--layers", ",".join(part),
                                            *common, "--seeds", a.bundle_seeds or a.seeds,
                                            "--jobs", str(a.jobs), "-o", str(d)],
             d / "network_synth.json")
        per_layer += _bundle_rows(d, a.solved)
    per_layer.sort(key=lambda r: names.index(r["layer"]) if r.get("layer") in names else 99)
    missing = [n for n in names if n not in {r.get("layer") for r in per_layer}]
    res = {"command": "python -m bench.bench_network " + " ".join(argv if argv is not None
                                                              else sys.argv[1:]),
           "network": f"ResNet-18 (PT2E, {len(names)} units: 20 BN layers + fc)",
           "solved": a.solved, "lanes": a.lanes, "pipeline": a.pipeline, "seeds": a.seeds,
           "bundle_seeds": a.bundle_seeds or a.seeds, "steps": steps, "per_layer": per_layer,
           "bundle_missing": missing, "shared": shared,
           "comparison": {mem: _compare(per_layer, row) for mem, row in shared.items()}}
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        doc = json.loads((out / "network.json").read_text())
    except (OSError, ValueError):
        doc = {}
    doc["resnet18"] = {**res, **{k: doc.get("resnet18", {}).get(k)
                                 for k in ("notes",) if doc.get("resnet18", {}).get(k)}}
    if doc.get("per_layer") is not None:
        write_json_atomic(out / "network.json", doc)
        write_text_atomic(out / "network.md", _markdown(doc))
    else:
        write_json_atomic(out / "network.json", doc)
    print(f"wrote {out / 'network.json'} (work dir {work})")
    return 0


def _resnet18_md(r: dict) -> list[str]:
    lines = ["", f"## {r['network']}: per-layer bundle vs shared unit, ECP5 synthesis", "",
             f"L = {r['lanes']}, pipeline {r['pipeline']}; shared unit seeds {r['seeds']}, "
             f"per-layer units seeds {r['bundle_seeds']} (Fmax = median over the seeds), LUT "
             f"= nextpnr COMB, ECP5-25k out of context. Command: `{r['command']}`.", "",
             "| unit | LUT (COMB) | FF | DSP | BRAM | Fmax MHz |", "|---|---|---|---|---|---|"]
    for x in r["per_layer"]:
        lines.append(f"| {x['layer']} | {x.get('lut')} | {x.get('ff')} | {x.get('dsp')} | "
                     f"{x.get('bram')} | {x.get('fmax_mhz') or 'not measured'} |")
    for c in r["comparison"].values():
        if c and not r.get("bundle_missing"):
            t = c["bundle_totals"]
            label = "bundle total" if not r.get("bundle_missing") else "total of the units above"
            lines.append(f"| **{label}** | {t['lut']} | {t['ff']} | {t['dsp']} | "
                         f"{t['bram']} | {c['bundle_fmax_min']} (slowest) |")
            break
    for mem, s in r["shared"].items():
        if s:
            lines.append(f"| **shared unit, --param-memory {mem}** | {s['lut']} | {s['ff']} | "
                         f"{s['dsp']} | {s['bram']} | {s['fmax_mhz']} |")
        else:
            lines.append(f"| **shared unit, --param-memory {mem}** | no result | | | | |")
    if r.get("bundle_missing"):
        lines += ["", f"Per-layer units without a synthesis result (timeout or not run): "
                  f"{', '.join(r['bundle_missing'])}; the bundle totals are over the others."]
    for mem, c in r["comparison"].items():
        if c:
            lines += ["", f"Shared unit (--param-memory {mem}) vs the largest single-layer "
                      f"unit (the per-layer units' largest COMB, {c['largest_unit_lut']}, and "
                      f"largest DSP count, {c['largest_unit_dsp']}, each over every unit "
                      f"synthesized): LUT {c['shared_lut_vs_largest']}x, DSP "
                      f"{c['shared_dsp_vs_largest']}x (target <= 1.3x); Fmax vs the slowest "
                      + (f"single-layer unit ({c['bundle_fmax_min']} MHz) "
                         f"{c['shared_fmax_vs_bundle_min']}x (target >= 0.95)."
                         if c["bundle_fmax_min"] else "single-layer unit: not measured.")
                      + ("" if r.get("bundle_missing") else
                         f" Against the whole bundle: LUT {c['shared_lut_vs_bundle_total']}x, "
                         f"FF {c['shared_ff_vs_bundle_total']}x, DSP "
                         f"{c['shared_dsp_vs_bundle_total']}x.")]
    lines += ["", "| step | exit | wall s | CPU s | load (start -> end) | start UTC | command |",
              "|---|---|---|---|---|---|---|"]
    for st in r["steps"]:
        lines.append(f"| {st['step']} | {st['exit']} | {st['seconds']} | "
                     f"{st.get('cpu_seconds')} | {st.get('load')} | {st.get('start_utc')} | "
                     f"`{st['command']}` |")
    for note in r.get("notes", []):
        lines += ["", note]
    return lines


if __name__ == "__main__":
    sys.exit(main())
