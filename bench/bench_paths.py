"""Solver paths beyond the folded fast path (`make bench-paths`): before / after, per mode.

The layer set of ``bench_solver --paths-set`` (4 layers x 500 channels, 16-bit inputs, int8
outputs half_up / half_even / half_even / half_away, about 2% exact tie channels) is solved by
the CLI, ``exactbn solve LAYERS -o OUT --no-summary [MODE]``, once per mode:

- "before": ``EXACTBN_FAST_ROUNDING=0 EXACTBN_FAST_INEXACT=0`` (the rounding stage and the
  inexact channels' candidate search in Python, as before golden/fast_rounding.py and
  golden/fast_inexact.py), "after": the current tree; both wall clock for
  the whole command, and the two solved files compared layer by layer, every field;
- the rate: ``solve_layer`` on the four layers in-process (start-up and JIT loading
  excluded), best of several runs, on both cores and on one core (numba threads 1), wall
  clock and process CPU time.

Budget modes run on a sample (first channels of each layer; channel by channel): after, and
before with ``EXACTBN_FAST_BUDGET=0 EXACTBN_FAST_INEXACT=0`` (the branch-and-bound and the
candidate search in Python), both solved files compared; rate, and how often the count of a
channel with no in-budget exact triple meets its certified lower bound. Writes
bench/results/solver.paths.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from exactbn.formats import write_json_atomic, write_text_atomic

from .bench_solver import _cpu_model, _loadavg, paths_set

RESULTS = Path(__file__).resolve().parent / "results"
MODES = [("auto (2 layers switch to a rounding stage)", []),
         ("`--hw-rounding half_even`", ["--hw-rounding", "half_even"]),
         ("`--shift shared`", ["--shift", "shared"]),
         ("`--hw-rounding floor` (tie channels: no folded solution)", ["--hw-rounding", "floor"])]
BUDGETS = ["24,40,32", "20,32,28", "16,24,24"]
TARGET = 100_000


def _exe() -> str:
    return str(Path(sys.executable).with_name("exactbn"))


def _run(layers: Path, out: Path, args: list[str], env: dict, one_core: bool,
         timeout: float) -> dict:
    cmd = [_exe(), "solve", str(layers), "-o", str(out), "--no-summary", *args]
    if one_core:
        cmd = ["taskset", "-c", "0", *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr[-400:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3)}


def _kwargs(margs: list[str]) -> dict:
    kw = {}
    for flag, key in (("--hw-rounding", "hw_rounding"), ("--shift", "shift_mode")):
        if flag in margs:
            kw[key] = margs[margs.index(flag) + 1]
    return kw


def _in_process(layers: Path, margs: list[str], repeats: int) -> dict:
    """Best-of-``repeats`` wall and CPU seconds of solve_layer on every layer, per core count."""
    import numba
    from exactbn.golden.solver import solve_layer

    from exactbn.formats import load_layers

    ls = load_layers(layers)
    kw = _kwargs(margs)
    n = sum(layer.channels for layer in ls)
    out = {}
    full = numba.get_num_threads()
    for label, threads in (("both_cores", full), ("one_core", 1)):
        numba.set_num_threads(threads)
        for layer in ls:  # JIT and caches warm
            solve_layer(layer, **kw)
        walls, cpus = [], []
        for _ in range(repeats):
            t, c = time.perf_counter(), time.process_time()
            for layer in ls:
                solve_layer(layer, **kw)
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
            if walls[-1] > 5.0:  # a slow mode: one run says enough
                break
        w, c = min(walls), min(cpus)
        out[label] = {"threads": threads, "wall_s": round(w, 4), "cpu_s": round(c, 4),
                      "ch_per_s_wall": round(n / w), "ch_per_cpu_s": round(n / c),
                      "load": _loadavg()}
    numba.set_num_threads(full)
    return out


def _kernel_rate(layers: Path, repeats: int) -> dict:
    """The rounding-stage kernel alone (hw half_even) on the four layers: arrays in and out."""
    import numba
    from exactbn.golden.fast_rounding import solve_rounding_fast
    from exactbn.golden.solver import layer_affine

    from exactbn.formats import load_layers

    args = []
    for layer in load_layers(layers):
        a, b = layer_affine(layer)
        lo, hi = zip(*layer.input.ranges(layer.channels), strict=True)
        args.append((a, b, np.array(lo), np.array(hi), layer.output.rounding, "half_even",
                     layer.output.qmin, layer.output.qmax))
    n = sum(len(x[0]) for x in args)
    out = {}
    full = numba.get_num_threads()
    for label, threads in (("both_cores", full), ("one_core", 1)):
        numba.set_num_threads(threads)
        for x in args:
            solve_rounding_fast(*x)
        walls, cpus = [], []
        for _ in range(repeats * 4):
            t, c = time.perf_counter(), time.process_time()
            for x in args:
                solve_rounding_fast(*x)
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
        out[label] = {"threads": threads, "ch_per_s_wall": round(n / min(walls)),
                      "ch_per_cpu_s": round(n / min(cpus)), "load": _loadavg()}
    numba.set_num_threads(full)
    return out


def _subset(src: Path, dst: Path, count: int) -> int:
    data = json.loads(src.read_text())
    for layer in data["layers"]:
        for k in ("a", "b"):
            layer["affine"][k] = layer["affine"][k][:count]
    dst.write_text(json.dumps(data))
    return sum(len(layer["affine"]["a"]) for layer in data["layers"])


def _differences(x: Path, y: Path) -> dict:
    """Channels whose solved fields differ between two solved files (every field)."""
    lx, ly = json.loads(x.read_text())["layers"], json.loads(y.read_text())["layers"]
    diff = total = 0
    keys = set()
    for a, b in zip(lx, ly, strict=True):
        c = len(a["M"])
        total += c
        for k in set(a) | set(b):
            va, vb = a.get(k), b.get(k)
            if va == vb:
                continue
            keys.add(k)
            if isinstance(va, list) and isinstance(vb, list) and len(va) == len(vb) == c:
                diff += sum(u != v for u, v in zip(va, vb, strict=True))
            else:
                diff += c
    return {"channels": total, "differing_channel_fields": diff, "fields": sorted(keys)}


def _budget_row(layers: Path, tmp: Path, budget: str, per_layer: int, env: dict,
                old: dict | None, timeout: float) -> dict:
    sub = tmp / f"budget_{per_layer}.json"
    n = _subset(layers, sub, per_layer)
    out = tmp / f"budget_{budget.replace(',', '_')}.json"
    _run(sub, out, ["--budget", budget], env, False, timeout)  # numba caches written
    r = _run(sub, out, ["--budget", budget], env, False, timeout)
    extra: dict = {}
    if old is not None:
        before = tmp / f"budget_before_{budget.replace(',', '_')}.json"
        extra["before"] = _run(sub, before, ["--budget", budget], old, False, timeout)
        extra["identity"] = _differences(out, before)
    inexact = proven = 0
    for layer in json.loads(out.read_text())["layers"]:
        lb = layer.get("mismatches_lower_bound")
        for i, ex in enumerate(layer["exact"]):
            if not ex:
                inexact += 1
                proven += int(lb is not None and lb[i] == layer["mismatches"][i])
    return {"budget": budget, "channels": n, **r, "ch_per_s": round(n / r["wall_s"], 2),
            **extra, "inexact": inexact, "count_meets_lower_bound": proven,
            "command": f"exactbn solve SUBSET.json -o OUT.json --no-summary --budget {budget}"}


def _singles() -> list[dict]:
    import numpy as np
    from exactbn.golden.fast_rounding import solve_rounding_fast
    from exactbn.golden.solver import solve_channel

    rows = []
    full = (-(1 << 31), (1 << 31) - 1)
    solve_rounding_fast(np.array([0.5]), np.array([0.5]), 0, 9, "half_even", "half_even",
                        -128, 127)  # compile outside the timing
    for name, fn in [
        ("a = 2^-24, b = 0.5, half_even, 32-bit range, int8, hw floor (no folded solution: "
         "the candidate search)",
         lambda: solve_channel(2.0**-24, 0.5, "half_even", -128, 127, *full,
                               hw_rounding="floor")),
        ("the same channel, hw half_even, solve_channel",
         lambda: solve_channel(2.0**-24, 0.5, "half_even", -128, 127, *full,
                               hw_rounding="half_even")),
        ("the same channel, hw half_even, fast_rounding kernel",
         lambda: solve_rounding_fast(np.array([2.0**-24]), np.array([0.5]), *full,
                                     "half_even", "half_even", -128, 127)),
        ("a = 2^10, b = 0.3, int32 output, 16-bit range, half_even (Python: outside the "
         "kernel's 2^20-level envelope)",
         lambda: solve_channel(1024.0, 0.3, "half_even", -(1 << 31), (1 << 31) - 1,
                               -32768, 32767, hw_rounding="half_even")),
    ]:
        t = time.perf_counter()
        fn()
        rows.append({"channel": name, "seconds": round(time.perf_counter() - t, 4)})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--budget-sample", type=int, default=64, help="channels per layer")
    p.add_argument("--timeout", type=float, default=1800.0)
    p.add_argument("--skip-before", action="store_true")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="exactbn-paths-"))
    layers = tmp / "paths.json"
    paths_set(layers)
    n_large = 2000
    base = dict(os.environ)
    base.pop("EXACTBN_FAST_ROUNDING", None)
    base.pop("EXACTBN_FAST_INEXACT", None)
    old = {**base, "EXACTBN_FAST_ROUNDING": "0", "EXACTBN_FAST_INEXACT": "0"}
    load0 = _loadavg()
    rows = []
    for name, margs in MODES:
        row: dict = {"mode": name, "args": margs,
                     "command": "exactbn solve paths.json -o out.json --no-summary "
                                + " ".join(margs)}
        after = tmp / "after.json"
        _run(layers, after, margs, base, False, args.timeout)  # numba caches written
        row["cli_after"] = _run(layers, after, margs, base, False, args.timeout)
        row["in_process"] = _in_process(layers, margs, args.repeats)
        if not args.skip_before:
            before = tmp / "before.json"
            row["cli_before"] = _run(layers, before, margs, old, False, args.timeout)
            row["identity"] = _differences(after, before)
        row["load"] = _loadavg()
        rows.append(row)
        print(json.dumps(row), flush=True)
    old_budget = {**old, "EXACTBN_FAST_BUDGET": "0"}
    budgets = [_budget_row(layers, tmp, bud, args.budget_sample, base,
                           None if args.skip_before else old_budget, args.timeout)
               for bud in BUDGETS]
    for r in budgets:
        print(json.dumps(r), flush=True)
    report = {
        "layer_set": "python -m bench.bench_solver --paths-set paths.json",
        "channels": n_large, "target_ch_per_s": TARGET,
        "cpu": _cpu_model(), "cores": os.cpu_count(), "load_before": load0,
        "load_after": _loadavg(), "modes": rows, "budget": budgets, "singles": _singles(),
        "kernel_half_even": _kernel_rate(layers, args.repeats),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.out / "solver.paths.json", report)
    write_text_atomic(args.out / "solver.paths.md", render(report))
    return 0


def _rate(v) -> str:
    return "n/a" if v is None else f"{v:,}"


def render(r: dict) -> str:
    lines = ["# Solver paths beyond the folded fast path: before / after", "",
             f"Layer set: `{r['layer_set']}` ({r['channels']:,} channels: 4 layers x 500, "
             "16-bit signed inputs, int8 outputs half_up / half_even / half_even / half_away, "
             "about 2% exact tie channels). Written by `make bench-paths` "
             "(`python -m bench.bench_paths`).", "",
             f"Machine: {r['cpu']}, {r['cores']} cores shared with other jobs; load average "
             f"{r['load_before']} at the start, {r['load_after']} at the end (wall-clock rates "
             "under load are pessimistic; 'per CPU-s' is what an unshared core does).", "",
             "Command per row: `exactbn solve paths.json -o out.json --no-summary [MODE]` "
             "(wall clock, start-up included, run twice and the second timed so that numba's "
             "compile caches exist). Before: `EXACTBN_FAST_ROUNDING=0 "
             "EXACTBN_FAST_INEXACT=0` (the rounding stage and the inexact channels' candidate "
             "search in Python, as before this change). Rate: `solve_layer` on the four layers "
             "in-process, best of several runs, both cores and one core (numba threads 1).", "",
             "| mode | CLI before | CLI after | rate, 2 cores: ch/s wall, per CPU-s | rate, 1 "
             f"core: ch/s wall, per CPU-s | >= {r['target_ch_per_s']:,} ch/s | answers |",
             "|---|---|---|---|---|---|---|"]
    for m in r["modes"]:
        b = m.get("cli_before")
        bs = f"{b['wall_s']} s" if b else "not run"
        two, one = m["in_process"]["both_cores"], m["in_process"]["one_core"]
        meets = "yes" if two["ch_per_s_wall"] >= r["target_ch_per_s"] else (
            "per CPU-s only" if max(two["ch_per_cpu_s"], one["ch_per_cpu_s"])
            >= r["target_ch_per_s"] else "no")
        ident = m.get("identity")
        ans = "not compared" if ident is None else (
            f"identical on {ident['channels']:,} channels (every field)"
            if ident["differing_channel_fields"] == 0
            else f"DIFFER: {ident['differing_channel_fields']} channel fields in "
                 f"{ident['fields']}")
        lines.append(f"| {m['mode']} | {bs} | {m['cli_after']['wall_s']} s | "
                     f"{_rate(two['ch_per_s_wall'])}, {_rate(two['ch_per_cpu_s'])} | "
                     f"{_rate(one['ch_per_s_wall'])}, {_rate(one['ch_per_cpu_s'])} | {meets} "
                     f"| {ans} |")
    k = r.get("kernel_half_even")
    if k:
        lines += ["", "The rounding-stage kernel alone (`fast_rounding.solve_rounding_fast`, hw "
                  "half_even, arrays in and out, the same 2,000 channels): "
                  f"{_rate(k['both_cores']['ch_per_s_wall'])} ch/s wall on 2 cores "
                  f"({_rate(k['both_cores']['ch_per_cpu_s'])} per CPU-s), "
                  f"{_rate(k['one_core']['ch_per_s_wall'])} on one "
                  f"({_rate(k['one_core']['ch_per_cpu_s'])} per CPU-s). The rest of a "
                  "`solve_layer` call is Python: per-channel solution objects and certificate "
                  "dicts."]
    lines += ["", "Budget modes (sample: the first channels of each layer, solved channel by "
              "channel; `exactbn solve SUBSET.json -o OUT.json --no-summary --budget M,B,N`, "
              "wall clock with start-up; before: `EXACTBN_FAST_BUDGET=0 "
              "EXACTBN_FAST_INEXACT=0`, the branch-and-bound and candidate search in Python):",
              "", "| budget | channels | before | after | ch/s after (wall) | answers | "
              "no in-budget exact triple | count = certified lower bound |",
              "|---|---|---|---|---|---|---|---|"]
    for b in r["budget"]:
        bf = b.get("before")
        ident = b.get("identity")
        ans = "not compared" if ident is None else (
            "identical (every field)" if ident["differing_channel_fields"] == 0
            else f"DIFFER: {ident['differing_channel_fields']} in {ident['fields']}")
        before = f"{bf['wall_s']} s ({bf['cpu_s']} s CPU)" if bf else "not run"
        lines.append(f"| `{b['budget']}` | {b['channels']} | {before} | {b['wall_s']} s "
                     f"({b['cpu_s']} s CPU) | "
                     f"{b['ch_per_s']} | {ans} | {b['inexact']} | "
                     f"{b['count_meets_lower_bound']} of {b['inexact']} |")
    lines += ["", "Single channels of the issue (in-process, seconds):", ""]
    lines += [f"- {s['channel']}: {s['seconds']} s" for s in r["singles"]]
    lines += ["", NOTES]
    return "\n".join(lines) + "\n"


NOTES = """What the rows mean:
- The rounding-stage solve (auto's switched layers, `--hw-rounding half_*`, shared shift with
  a rounding stage) runs in golden/fast_rounding.py (numba): staircase from exact transitions,
  slope interval from hull pairs, N search from the closed-interval bound with exact scaled
  hulls (built from the points whose slack is within 2^-N of a running record), M and B
  closest to 0, every constraint re-checked. Same answers as `solve_channel`, checked channel by
  channel (tests/golden/test_solver_fast_rounding.py) and here on every channel of the set.
- Channels with no exact parameters (tie channels under `--hw-rounding floor`, or at a shared
  shift) get their best approximation from the candidate search of `solver._best_inexact`,
  in numba (golden/fast_inexact.py, same answers; strictly worse candidates skipped, each
  distinct B candidate of an (N, M) counted once): still about 0.1 s per 16-bit tie channel
  (about 200 candidate (N, M) pairs, each with hundreds of distinct B values counted over
  256 levels, and tie channels leave little to prune), so these channels, not the kernels,
  set the floor row's rate.
- Figures for the code before the previous round of speed-ups (commit fd646d5) are in this
  file's git history.
- Budget mode: the exact in-budget decision (hull pairs per N) and the fewest-mismatches
  branch-and-bound run in numba (golden/fast_budget.py: the same steps, answers, certified
  lower bounds and node counts as the Python search of golden/budget.py) and the candidate
  search beside it in golden/fast_inexact.py with the budget's limits; the channel's
  staircase, slope interval and segment re-count are still Python, channel by channel. Work per
  node is a sort of the per-input B intervals (16-bit ranges: the inputs next to the level
  transitions, about 6 per level), so the rate stays orders of magnitude below the target.
- In a budget layer, a channel whose unbudgeted exact answer fits the budget keeps it (then
  it is the in-budget minimum as well) from the fast kernels; only the others go through the
  channel-by-channel budget search. With every channel fitting (`24,40,32`), the command's
  time is start-up and loading the kernels' compile caches.
- Output levels of 2^20 and more (int32 outputs) stay outside the kernels' envelope and go
  to the Python solver (walks the inputs: steep staircases cost O(inputs), not O(levels))."""


if __name__ == "__main__":
    raise SystemExit(main())
