"""Every solver mode on the slow-path layer set, in-process, with CPU time and load.

``python -m bench.bench_budget [--sample K] [--compare]`` solves the set of
``bench_solver --paths-set`` (4 layers x 500 channels, 16-bit inputs, int8 outputs, about 2%
exact tie channels) with ``solve_layer`` in every mode of issue 22: auto, ``--hw-rounding
half_even``, ``--hw-rounding floor``, ``--shift shared`` on all 2,000 channels, and the
budgets 24,40,32 / 20,32,28 / 16,24,24 on the first K channels of each layer. Per row: wall
and process CPU seconds, the slowest layer (seconds per 1,000 channels), the load average;
budget rows also say how many channels went through the mismatch search, where the time went
(branch-and-bound, candidate search, the rest) and how often the count meets its certified
lower bound. ``--compare K`` re-solves the first K channels per layer with the
straightforward solver (``EXACTBN_FAST_BUDGET=0 EXACTBN_FAST_INEXACT=0``, Python) and counts
differing channels.
Single channels of the issue run in a subprocess each, with a timeout. Writes
bench/results/budget.json and budget.md. Speed is never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from exactbn.formats import write_json_atomic, write_text_atomic

from .bench_solver import _cpu_model, _loadavg, paths_set

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = 100_000
MODES = [("auto", {}), ("hw half_even", {"hw_rounding": "half_even"}),
         ("hw floor (ties: no folded solution)", {"hw_rounding": "floor"}),
         ("shift shared", {"shift_mode": "shared"})]
BUDGETS = [(24, 40, 32), (20, 32, 28), (16, 24, 24)]

SINGLES = [
    ("a = 2^-24, b = 0.5, half_even, 32-bit range, int8, hw floor",
     "solve_channel(2.0**-24, 0.5, 'half_even', -128, 127, -(1 << 31), (1 << 31) - 1, "
     "hw_rounding='floor')"),
    ("the same channel, hw half_even",
     "solve_channel(2.0**-24, 0.5, 'half_even', -128, 127, -(1 << 31), (1 << 31) - 1, "
     "hw_rounding='half_even')"),
    ("a = 2^10, b = 0.3, int32 output, 16-bit range, half_even, hw half_even",
     "solve_channel(1024.0, 0.3, 'half_even', -(1 << 31), (1 << 31) - 1, -32768, 32767, "
     "hw_rounding='half_even')"),
    ("a = 2^-4, b = 0.5 (tie), int16 output, 20-bit range, half_even, hw half_even",
     "solve_channel(2.0**-4, 0.5, 'half_even', -32768, 32767, -(1 << 19), (1 << 19) - 1, "
     "hw_rounding='half_even')"),
    ("the same channel, hw floor (no folded solution)",
     "solve_channel(2.0**-4, 0.5, 'half_even', -32768, 32767, -(1 << 19), (1 << 19) - 1, "
     "hw_rounding='floor')"),
]


def _subset(layers, k: int):
    from dataclasses import replace
    out = []
    for layer in layers:
        aff = {key: list(v)[:k] for key, v in layer.affine.items()}
        out.append(replace(layer, affine=aff))
    return out


def _timed(layers, kw) -> dict:
    from exactbn.golden.solver import solve_layer
    per_layer = []
    sols = []
    w0, c0 = time.perf_counter(), time.process_time()
    for layer in layers:
        t = time.perf_counter()
        sols.append(solve_layer(layer, **kw))
        per_layer.append((time.perf_counter() - t) * 1000.0 / layer.channels)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    n = sum(layer.channels for layer in layers)
    return {"channels": n, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "ch_per_s_wall": round(n / wall, 1), "ch_per_cpu_s": round(n / cpu, 1),
            "worst_layer_s_per_1000": round(max(per_layer), 3), "load": _loadavg()}, sols


class _Clock:
    """Seconds spent inside a few functions (wrapped in place for one run)."""

    def __init__(self):
        self.s: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._undo = []

    def wrap(self, mod, name, label):
        fn = getattr(mod, name)

        def timed(*a, **k):
            t = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                self.s[label] = self.s.get(label, 0.0) + time.process_time() - t
                self.calls[label] = self.calls.get(label, 0) + 1
        setattr(mod, name, timed)
        self._undo.append((mod, name, fn))

    def undo(self):
        for mod, name, fn in reversed(self._undo):
            setattr(mod, name, fn)


def _budget_row(layers, bud, compare: int) -> dict:
    from exactbn.golden import solver
    from exactbn.golden.solver import Budget
    budget = Budget(*bud)
    kw = {"budget": budget}
    _timed(layers[:1], kw)  # JIT caches loaded
    clock = _Clock()
    clock.wrap(solver, "fewest_mismatches", "branch_and_bound")
    clock.wrap(solver, "_best_inexact", "candidate_search")
    clock.wrap(solver, "_solve_budget", "budget_channel")
    try:
        row, sols = _timed(layers, kw)
    finally:
        clock.undo()
    inexact = proven = 0
    for s in sols:
        lb = s.extra.get("mismatches_lower_bound")
        for i, ex in enumerate(s.exact):
            if not ex:
                inexact += 1
                proven += int(lb is not None and lb[i] == s.mismatches[i])
    row.update({"budget": ",".join(map(str, bud)),
                "seconds_cpu": {k: round(v, 3) for k, v in clock.s.items()},
                "calls": dict(clock.calls), "inexact": inexact,
                "count_meets_lower_bound": proven})
    if compare:
        small = _subset(layers, compare)
        fast_row, fast_sols = _timed(small, kw)
        env = {k: os.environ.get(k) for k in ("EXACTBN_FAST_BUDGET", "EXACTBN_FAST_INEXACT")}
        os.environ["EXACTBN_FAST_BUDGET"] = "0"
        os.environ["EXACTBN_FAST_INEXACT"] = "0"
        try:
            ref, ref_sols = _timed(small, kw)
        finally:
            for k, v in env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        row["straightforward"] = ref
        row["compared_channels"] = ref["channels"]
        _diff.better = 0
        row["differing_channels"] = _diff(fast_sols, ref_sols)
        row["fast_proven_better_channels"] = _diff.better
    return row


def _diff(xs, ys) -> int:
    """Differing channels; those where the fast answer is provably no worse (fewer or as
    many mismatches, a higher certified lower bound: the kernel searches a wide range whole
    where the straightforward solver searches a transition subset) are counted apart."""
    d = 0
    for x, y in zip(xs, ys, strict=True):
        for i in range(len(x.M)):
            lx = (x.extra.get("mismatches_lower_bound") or [None] * len(x.M))[i]
            ly = (y.extra.get("mismatches_lower_bound") or [None] * len(y.M))[i]
            fx = (x.M[i], x.B[i], x.N[i], x.exact[i], x.mismatches[i], x.certificate[i], lx)
            fy = (y.M[i], y.B[i], y.N[i], y.exact[i], y.mismatches[i], y.certificate[i], ly)
            if fx != fy:
                better = (lx is not None and ly is not None and lx > ly
                          and x.mismatches[i] <= y.mismatches[i])
                _diff.better += better
                d += not better
    return d


_diff.better = 0


def _single(label: str, call: str, timeout: float) -> dict:
    code = ("import time, resource\nfrom exactbn.golden.solver import solve_channel\n"
            f"t = time.perf_counter(); c = time.process_time(); s = {call}\n"
            "print(round(time.perf_counter() - t, 3), round(time.process_time() - c, 3), "
            "s.N, s.exact, s.mismatches, "
            "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)")
    try:
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"channel": label, "status": f"TIMEOUT {timeout:.0f} s", "load": _loadavg()}
    if p.returncode != 0:
        return {"channel": label, "status": "error: " + p.stderr.strip()[-200:]}
    w, c, n, ex, mis, rss = p.stdout.split()
    return {"channel": label, "status": "ok", "wall_s": float(w), "cpu_s": float(c),
            "N": int(n), "exact": ex == "True", "mismatches": int(mis), "max_rss_mb": int(rss),
            "load": _loadavg()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--sample", type=int, default=64, help="budget channels per layer")
    p.add_argument("--compare", type=int, default=0, metavar="K",
                   help="also solve the first K channels per layer with the straightforward "
                        "solver and count differing channels")
    p.add_argument("--single-timeout", type=float, default=120.0)
    p.add_argument("--skip-singles", action="store_true")
    args = p.parse_args(argv)
    from exactbn.formats import load_layers
    tmp = Path(tempfile.mkdtemp(prefix="exactbn-budget-"))
    paths_set(tmp / "paths.json")
    layers = load_layers(tmp / "paths.json")
    report: dict = {"layer_set": "python -m bench.bench_solver --paths-set paths.json",
                    "cpu": _cpu_model(), "cores": os.cpu_count(), "load_before": _loadavg(),
                    "target_ch_per_s": TARGET, "modes": [], "budget": [], "singles": []}
    for label, kw in MODES:
        _timed(layers, kw)  # JIT caches loaded
        row, _ = _timed(layers, kw)
        row["mode"] = label
        report["modes"].append(row)
        print(json.dumps(row), flush=True)
    sub = _subset(layers, args.sample)
    for bud in BUDGETS:
        row = _budget_row(sub, bud, args.compare)
        report["budget"].append(row)
        print(json.dumps(row), flush=True)
    if not args.skip_singles:
        for label, call in SINGLES:
            r = _single(label, call, args.single_timeout)
            report["singles"].append(r)
            print(json.dumps(r), flush=True)
    report["load_after"] = _loadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.out / "budget.json", report)
    write_text_atomic(args.out / "budget.md", render(report))
    return 0


def render(r: dict) -> str:
    t = r["target_ch_per_s"]
    lines = ["# Every solver mode on the slow-path set (issue 22): rates, CPU time, load", "",
             f"Layer set: `{r['layer_set']}` (4 layers x 500 channels, 16-bit inputs, int8 "
             "outputs, about 2% exact tie channels). `python -m bench.bench_budget`: "
             "`solve_layer` in-process, JIT caches warm, wall and process CPU time.", "",
             f"Machine: {r['cpu']}, {r['cores']} cores shared with other jobs; load average "
             f"{r['load_before']} at the start, {r['load_after']} at the end.", "",
             f"| mode | channels | wall s | CPU s | ch/s wall | ch per CPU-s | slowest layer, "
             f"s per 1,000 ch | >= {t:,} ch/s | load |", "|---|---|---|---|---|---|---|---|---|"]
    for m in r["modes"]:
        lines.append(f"| {m['mode']} | {m['channels']} | {m['wall_s']} | {m['cpu_s']} | "
                     f"{m['ch_per_s_wall']:,} | {m['ch_per_cpu_s']:,} | "
                     f"{m['worst_layer_s_per_1000']} | "
                     f"{'yes' if m['ch_per_s_wall'] >= t else 'no'} | {m['load']} |")
    lines += ["", "Budget modes (the first channels of each layer; a channel whose free exact "
              "answer fits keeps it, the others run the exact in-budget decision and, with no "
              "in-budget exact triple, the mismatch branch-and-bound):", "",
              "| budget | channels | wall s | CPU s | ch/s wall | B&B calls, CPU s | candidate "
              "search calls, CPU s | no exact in budget | count = lower bound | vs "
              "straightforward | load |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for b in r["budget"]:
        sc, ca = b["seconds_cpu"], b["calls"]
        cmp_ = ("not run" if "differing_channels" not in b else
                f"{b['differing_channels']} of {b['compared_channels']} differ, "
                f"{b.get('fast_proven_better_channels', 0)} with a higher certified bound "
                f"({b['straightforward']['cpu_s']} s CPU)")
        lines.append(f"| `{b['budget']}` | {b['channels']} | {b['wall_s']} | {b['cpu_s']} | "
                     f"{b['ch_per_s_wall']} | {ca.get('branch_and_bound', 0)}, "
                     f"{sc.get('branch_and_bound', 0.0)} | {ca.get('candidate_search', 0)}, "
                     f"{sc.get('candidate_search', 0.0)} | {b['inexact']} | "
                     f"{b['count_meets_lower_bound']} of {b['inexact']} | {cmp_} | "
                     f"{b['load']} |")
    if r["singles"]:
        lines += ["", "Single channels of the issue (a subprocess each, with a timeout):", ""]
        for s in r["singles"]:
            if s["status"] != "ok":
                lines.append(f"- {s['channel']}: {s['status']} (load {s.get('load')})")
            else:
                lines.append(f"- {s['channel']}: {s['wall_s']} s wall, {s['cpu_s']} s CPU, "
                             f"max RSS {s['max_rss_mb']} MB; N = {s['N']}, exact "
                             f"{s['exact']}, {s['mismatches']} mismatches (load {s['load']})")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
