"""Simulation throughput: checked lane-results per second, per simulator and lane count.

``python -m bench.bench_sim`` (``make bench-sim``) builds the conv1_bn unit (16 channels,
int16 in, int8 out, ROM, default pipeline) for L in {1, 4} on Verilator and Icarus, streams
back to back (full_rate scenario) and splits the time: stimulus generation, the clocked loop
(simulator + cocotb + the bench's source/sink/monitor), the scoreboard (golden's integer
model + exact reference, NumPy), and a clock-only run of the same length (simulator + cocotb
scheduling alone). Writes bench/results/sim.json and sim.md. Target: >= 100,000 checked
lane-results/s on Verilator with 4 lanes.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from exactbn.sim.layers import example_layer
from exactbn.sim.regress import unit_config
from exactbn.sim.runner import run_bench
from exactbn.sim.spec import BenchSpec, UnitPorts

from exactbn.formats import write_json_atomic, write_text_atomic

RESULTS = Path(__file__).parent / "results"
TARGET = 100_000


def measure(simulator: str, lanes: int, vectors: int, work: Path) -> dict:
    """One configuration: full_rate scenario, then clock_only for the same cycle count."""
    from exactbn.hw import to_verilog

    layer = example_layer("conv1_bn")
    cfg = unit_config(layer, lanes=lanes, store="rom")
    verilog = to_verilog(cfg)
    spec = BenchSpec(layer=layer.to_json(), unit=UnitPorts.from_config(cfg), seed=7,
                     vectors=vectors, scenarios=["full_rate"])
    t0 = time.perf_counter()
    res = run_bench(spec, verilog, simulator, work / f"{simulator}-L{lanes}",
                    keep_waves_on_failure=False)
    wall = time.perf_counter() - t0
    if not res.passed:
        raise SystemExit(f"bench run failed: {res.summary()} {res.failures}")
    sc = res.scenarios["full_rate"]
    spec.idle_cycles = sc["cycles"]
    idle = run_bench(spec, verilog, simulator, work / f"{simulator}-L{lanes}-idle",
                     testcase=["clock_only"], keep_waves_on_failure=False)
    idle_s = idle.scenarios["clock_only"]["loop_s"]
    in_sim = sc["stim_s"] + sc["loop_s"] + sc["check_s"]
    return {
        "simulator": simulator,
        "lanes": lanes,
        "channels": layer.channels,
        "beats": sc["beats"],
        "lane_results": sc["lane_results"],
        "reference_checked": sc["reference_checked"],
        "cycles": sc["cycles"],
        "build_s": round(res.build_s, 2),
        "process_s": round(res.run_s, 3),
        "stimulus_s": sc["stim_s"],
        "loop_s": sc["loop_s"],
        "scoreboard_s": sc["check_s"],
        "clock_only_s": idle_s,
        "bench_python_s": round(max(sc["loop_s"] - idle_s, 0.0), 4),
        "lane_results_per_s": round(sc["lane_results"] / in_sim),
        "lane_results_per_s_streaming": round(sc["lane_results"] / sc["loop_s"]),
        "lane_results_per_s_process": round(sc["lane_results"] / res.run_s),
        "cycles_per_s": round(sc["cycles"] / sc["loop_s"]),
        "clock_only_cycles_per_s": round(sc["cycles"] / idle_s) if idle_s else None,
        "wall_s": round(wall, 2),
    }


def render(rows: list[dict], meta: dict) -> str:
    lines = [
        "# Simulation throughput (cocotb on the generated Verilog)",
        "",
        f"Command: `make bench-sim` (`python -m bench.bench_sim`). Machine: {meta['cpus']} CPUs "
        f"(`os.cpu_count()`), {meta['platform']}, shared with other jobs (1-minute load "
        f"average {meta['load_average_1min'][0]} before, {meta['load_average_1min'][1]} after: "
        "figures vary by 2-3x with the load). Unit: conv1_bn "
        "(16 channels, int16 in, int8 out), ROM store, default pipeline, back-to-back stream.",
        "",
        "*checked/s* = lane results compared with golden's integer model (and, inside the "
        "certified range, the exact reference) per second of the bench inside the simulator "
        "(stimulus + clocked loop + scoreboard); *streaming/s* counts the clocked loop only; "
        "*process/s* includes simulator start-up.",
        "",
        "| simulator | L | lane results | checked/s | streaming/s | process/s | cycles/s "
        "| stimulus s | loop s | of which clock only s | scoreboard s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['simulator']} | {r['lanes']} | {r['lane_results']} | "
            f"{r['lane_results_per_s']:,} | {r['lane_results_per_s_streaming']:,} | "
            f"{r['lane_results_per_s_process']:,} | {r['cycles_per_s']:,} | "
            f"{r['stimulus_s']:.3f} | {r['loop_s']:.3f} | {r['clock_only_s']:.3f} | "
            f"{r['scoreboard_s']:.3f} |")
    v4 = [r for r in rows if r["simulator"] == "verilator" and r["lanes"] == 4]
    if v4:
        r = v4[0]
        ok = "meets" if r["lane_results_per_s"] >= TARGET else "misses"
        lines += [
            "",
            f"Verilator, 4 lanes: {r['lane_results_per_s']:,} checked lane-results/s, which "
            f"{ok} the {TARGET:,}/s target.",
            "",
            "Where the time goes (Verilator, 4 lanes): of the clocked loop, "
            f"{r['clock_only_s']:.3f} s is the simulator plus cocotb's per-cycle trigger "
            f"(clock-only run of the same {r['cycles']} cycles) and {r['bench_python_s']:.3f} s "
            "the bench's Python source/sink/monitor (signal reads and writes through VPI); "
            f"the NumPy scoreboard takes {r['scoreboard_s']:.3f} s and stimulus generation "
            f"{r['stimulus_s']:.3f} s.",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--simulators", default="verilator,icarus")
    ap.add_argument("--lanes", default="1,4")
    ap.add_argument("--vectors", type=int, default=12000,
                    help="random inputs per channel on Verilator (Icarus gets a sixth)")
    ap.add_argument("-o", "--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    load_before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="exactbn-bench-sim-") as tmp:
        for sim in args.simulators.split(","):
            for lanes in (int(v) for v in args.lanes.split(",")):
                vec = args.vectors if sim == "verilator" else max(args.vectors // 6, 100)
                row = measure(sim, lanes, vec, Path(tmp))
                print(f"{sim} L={lanes}: {row['lane_results_per_s']:,} checked lane-results/s "
                      f"({row['lane_results']} in {row['loop_s']:.2f} s loop)")
                rows.append(row)
    meta = {"cpus": os.cpu_count(), "platform": platform.platform(), "target": TARGET,
            "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    out = Path(args.out)
    write_json_atomic(out / "sim.json", {"meta": meta, "results": rows})
    write_text_atomic(out / "sim.md", render(rows, meta))
    print(f"wrote {out / 'sim.json'} and {out / 'sim.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
