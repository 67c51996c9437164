"""``make bench-asic``: the standard comparison mapped to a standard-cell library (OSU018).

The layers of ``make bench-synth`` (conv1_bn: int8 out, conv2_bn_relu: uint4 out, both grown
to C = 64 channels, 16-bit signed inputs, per-channel and shared shift), the exactbn unit
beside the ceiling multiplier, the TFLite-style requantizer and the threshold unit, for
L in {1, 4} and the pipeline presets, each through ``exactbn synth --target asic``'s flow:
Yosys/ABC onto the library, area from the Liberty areas, minimum period from OpenSTA.
Baselines that do not depend on the shift mode or the pipeline are mapped once and shown in
every group they belong to. One design at a time (``--jobs``).

Writes bench/results/asic.json/.md/.png (``--stem``) (report structure of ``exactbn synth``). Rerun:
``python -m bench.bench_asic`` (``--lanes``, ``--pipelines``, ``--layers``, ``--modes`` pick
a subset of the matrix; ``--library``, ``--freq``).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_synth import CHANNELS, LAYERS, PIPELINES, standard_layers
from exactbn.synth.designs import build_designs
from exactbn.synth.flow import run_designs
from exactbn.synth.report import write_report
from exactbn.synth.targets import resolve_target

RESULTS = Path(__file__).resolve().parent / "results"


def _short(mode: str) -> str:
    return "pc" if mode == "per-channel" else "sh"


def run(groups, library: str, freq: float, jobs: int, workroot: Path, say,
        stem: str = "asic", baseline_pipeline: str | None = None,
        kinds: tuple[str, ...] = ("exactbn", "ceiling", "tflite", "threshold")) -> dict:
    """Map every group's designs; write asic.{json,md,png} after each design (``meta``
    says how many are done), return the report. ``baseline_pipeline`` maps the TFLite-style
    and threshold baselines at that one preset for every group (they are the slow ones)."""
    target = resolve_target("asic", library)
    layers = standard_layers()
    designs, unique = [], {}
    members: dict[str, list[tuple[str, str]]] = {}
    for label, mode, lanes, pipe in groups:
        group = f"{label}-L{lanes}-{pipe}-{_short(mode)}"
        members[group] = []
        bpipe = baseline_pipeline or pipe
        keys = {"exactbn": group, "ceiling": f"{label}-L{lanes}-{_short(mode)}",
                "tflite": f"{label}-L{lanes}-{bpipe}",
                "threshold": f"{label}-L{lanes}-{bpipe}"}
        for kind, key in keys.items():
            if kind not in kinds:
                continue
            name = f"{kind}_{key}"
            if name not in unique:
                (d,) = build_designs(layers[(label, mode)], target, workroot / "src",
                                     kinds=(kind,), tag=key, group=group, lanes=lanes,
                                     pipeline=pipe if kind == "exactbn" else bpipe,
                                     name="exactbn_bn")
                unique[name] = d
                designs.append(d)
            members[group].append((kind, name))
    # the slow baselines last: a partial run still holds every unit and the ceiling
    designs.sort(key=lambda d: ("exactbn", "ceiling", "threshold", "tflite").index(d.kind))
    say(f"asic {target.device}: {len(groups)} groups, {len(designs)} distinct designs")
    t0 = time.monotonic()
    results: dict[str, dict] = {}
    rep: dict = {}
    for k in range(0, len(designs), jobs):
        for e in run_designs(designs[k:k + jobs], target, workroot / "work", (), freq, jobs,
                             say):
            results[e["name"]] = e
        rep = _write(results, members, target, groups, freq, stem, t0, len(designs),
                     baseline_pipeline)
    return rep


def _write(results, members, target, groups, freq, stem, t0, n_designs, bpipe) -> dict:
    entries = []
    for group, items in members.items():
        for kind, name in items:
            if name not in results:
                continue
            e = copy.deepcopy(results[name])
            cfg = dict(e.get("config") or {})
            if cfg.get("group") != group:
                e["shared_run"] = name
                cfg["group"] = group
                e["config"] = cfg
            e["name"] = f"{kind}_{group}"
            e.pop("netlist", None)  # lives in a temporary directory
            entries.append(e)
    meta = {"command": "python -m bench.bench_asic " + " ".join(sys.argv[1:]),
            "target": "asic", "device": target.device,
            "library": str(target.library.liberty), "freq_mhz": freq, "channels": CHANNELS,
            "layers": {lab: name for lab, name in LAYERS},
            "groups": [list(g) for g in groups], "baseline_pipeline": bpipe,
            "designs_done": f"{len(results)} of {n_designs}",
            "elapsed_s": round(time.monotonic() - t0, 1)}
    return write_report(RESULTS, entries, meta, stem=stem)


def merge(stems: list[str], stem: str) -> dict:
    """One report from several partial runs (their designs, commands and groups)."""
    reps = [json.loads((RESULTS / f"{s}.json").read_text()) for s in stems]
    meta = dict(reps[0]["meta"])
    meta["command"] = " ; ".join(r["meta"]["command"] for r in reps)
    meta["groups"] = [g for r in reps for g in r["meta"].get("groups", [])]
    meta["designs_done"] = ", ".join(str(r["meta"].get("designs_done")) for r in reps)
    meta["elapsed_s"] = round(sum(r["meta"].get("elapsed_s", 0) for r in reps), 1)
    meta["merged_from"] = [f"{s}.json" for s in stems]
    return write_report(RESULTS, [e for r in reps for e in r["designs"]], meta, stem=stem)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_asic", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--library", default="osu018")
    ap.add_argument("--freq", type=float, default=200.0, help="MHz (ABC -D, OpenSTA slack)")
    ap.add_argument("--lanes", default="1,4")
    ap.add_argument("--pipelines", default=",".join(PIPELINES))
    ap.add_argument("--layers", default=",".join(lab for lab, _ in LAYERS))
    ap.add_argument("--modes", default="per-channel,shared")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--stem", default="asic", help="results file name (default asic)")
    ap.add_argument("--kinds", default="exactbn,ceiling,tflite,threshold")
    ap.add_argument("--merge", metavar="STEM,STEM",
                    help="only merge earlier results/STEM.json files into --stem")
    ap.add_argument("--baseline-pipeline", default=None,
                    help="map the TFLite-style and threshold baselines at this preset only")
    args = ap.parse_args(argv)
    groups = [(lab, mode, int(lanes), pipe) for lab in args.layers.split(",")
              for mode in args.modes.split(",") for lanes in args.lanes.split(",")
              for pipe in args.pipelines.split(",")]

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.merge:
        merge(args.merge.split(","), args.stem)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench_asic_") as tmp:
        rep = run(groups, args.library, args.freq, args.jobs, Path(tmp), say, args.stem,
                  args.baseline_pipeline, tuple(args.kinds.split(",")))
    for r in rep["ratios"]:
        print(f"{r['group']}: area/TFLite {r.get('area_vs_tflite')}, period/ceiling "
              f"{r.get('period_vs_ceiling')}, area/threshold {r.get('area_vs_threshold')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
