"""The non-budget solver modes of issue 22 on the slow-path set: rates, CPU time, agreement.

``python -m bench.bench_rounding [--compare K] [--skip-singles]`` solves the set of
``bench_solver --paths-set`` (4 layers x 500 channels, 16-bit inputs, int8 outputs, about 2%
exact tie channels) with ``solve_layer`` in-process in the modes auto, ``--hw-rounding
half_even``, ``--hw-rounding floor`` (tie channels: no folded solution, the candidate search
runs), ``--shift shared`` and ``--shift shared --hw-rounding floor``, JIT caches warm. Per
row: wall and process CPU seconds, channels per CPU-s, the slowest layer, the load average.
``--compare K`` re-solves every tie channel plus the first K other channels per layer with
the straightforward solver (``EXACTBN_FAST_MIN_CHANNELS`` huge, ``EXACTBN_FAST_INEXACT=0``,
``EXACTBN_FAST_ROUNDING=0``: Python throughout) and counts channels whose answer differs
in any field. The single channels of the issue run in a subprocess each, with a timeout.
Writes bench/results/budget_rounding.json and .md. Speed is never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from exactbn.formats import write_json_atomic, write_text_atomic

from .bench_budget import SINGLES, _single
from .bench_solver import _cpu_model, _loadavg, paths_set

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = 100_000
MODES = [("auto", {}), ("hw half_even", {"hw_rounding": "half_even"}),
         ("hw floor (ties: no folded solution)", {"hw_rounding": "floor"}),
         ("shift shared", {"shift_mode": "shared"}),
         ("shift shared, hw floor", {"shift_mode": "shared", "hw_rounding": "floor"})]
_SLOW_ENV = {"EXACTBN_FAST_MIN_CHANNELS": "1000000000", "EXACTBN_FAST_INEXACT": "0",
             "EXACTBN_FAST_ROUNDING": "0"}


def _timed(layers, kw):
    from exactbn.golden.solver import solve_layer
    per_layer, sols = [], []
    w0, c0 = time.perf_counter(), time.process_time()
    for layer in layers:
        t = time.process_time()
        sols.append(solve_layer(layer, **kw))
        per_layer.append((time.process_time() - t) * 1000.0 / layer.channels)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    n = sum(layer.channels for layer in layers)
    return {"channels": n, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "ch_per_s_wall": round(n / wall, 1), "ch_per_cpu_s": round(n / cpu, 1),
            "worst_layer_cpu_s_per_1000": round(max(per_layer), 3), "load": _loadavg()}, sols


def _key(s, i):
    return (s.M[i], s.B[i], s.N[i], s.exact[i], s.mismatches[i], s.certificate[i],
            (s.extra.get("mismatches_lower_bound") or [None] * len(s.M))[i],
            s.extra["n_min"][i], s.extra["exact_possible"][i], s.extra["max_abs_error"][i],
            s.hw_rounding)


def compare_subset(layers, k: int):
    """Per layer: its tie channels (b = j + 1/2) and its first k other channels."""
    out = []
    for layer in layers:
        a = np.asarray(layer.affine["a"])
        b = np.asarray(layer.affine["b"])
        tie = np.flatnonzero(np.mod(b, 1.0) == 0.5)
        rest = np.setdiff1d(np.arange(a.size), tie)[:k]
        idx = np.concatenate([tie, rest])
        out.append(replace(layer, affine={"a": a[idx].tolist(), "b": b[idx].tolist()}))
    return out


def _compare(layers, kw) -> dict:
    fast_row, fast = _timed(layers, kw)
    old = {k: os.environ.get(k) for k in _SLOW_ENV}
    os.environ.update(_SLOW_ENV)
    try:
        slow_row, slow = _timed(layers, kw)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    differ = sum(_key(x, i) != _key(y, i) for x, y in zip(fast, slow, strict=True)
                 for i in range(len(x.M)))
    return {"channels": fast_row["channels"], "differing_channels": differ,
            "fast_cpu_s": fast_row["cpu_s"], "straightforward_cpu_s": slow_row["cpu_s"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--compare", type=int, default=0, metavar="K")
    p.add_argument("--single-timeout", type=float, default=120.0)
    p.add_argument("--skip-singles", action="store_true")
    args = p.parse_args(argv)
    from exactbn.formats import load_layers
    tmp = Path(tempfile.mkdtemp(prefix="exactbn-rounding-"))
    paths_set(tmp / "paths.json")
    layers = load_layers(tmp / "paths.json")
    report: dict = {"layer_set": "python -m bench.bench_solver --paths-set paths.json",
                    "command": "python -m bench.bench_rounding "
                               + " ".join(sys.argv[1:] if argv is None else argv),
                    "cpu": _cpu_model(), "cores": os.cpu_count(), "load_before": _loadavg(),
                    "target_ch_per_s": TARGET, "modes": [], "singles": []}
    sub = compare_subset(layers, args.compare) if args.compare else None
    for label, kw in MODES:
        _timed(layers, kw)  # JIT caches loaded
        row, _ = _timed(layers, kw)
        row["mode"] = label
        if sub is not None:
            row["compare"] = _compare(sub, kw)
        report["modes"].append(row)
        print(json.dumps(row), flush=True)
    if not args.skip_singles:
        for label, call in SINGLES:
            r = _single(label, call, args.single_timeout)
            report["singles"].append(r)
            print(json.dumps(r), flush=True)
    report["load_after"] = _loadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.out / "budget_rounding.json", report)
    write_text_atomic(args.out / "budget_rounding.md", render(report))
    return 0


def render(r: dict) -> str:
    t = r["target_ch_per_s"]
    lines = ["# Non-budget solver modes on the slow-path set (issue 22): rates, CPU, agreement",
             "", f"Layer set: `{r['layer_set']}` (4 layers x 500 channels, 16-bit inputs, int8 "
             "outputs, about 2% exact tie channels). `" + r["command"].strip() + "`: "
             "`solve_layer` in-process, JIT caches warm.", "",
             f"Machine: {r['cpu']}, {r['cores']} cores shared with other jobs; load average "
             f"{r['load_before']} at the start, {r['load_after']} at the end.", "",
             f"| mode | channels | wall s | CPU s | ch per CPU-s | slowest layer, CPU s per "
             f"1,000 ch | >= {t:,} ch per CPU-s | vs straightforward | load |",
             "|---|---|---|---|---|---|---|---|---|"]
    for m in r["modes"]:
        c = m.get("compare")
        cmp_ = ("not run" if c is None else f"{c['differing_channels']} of {c['channels']} "
                f"differ ({c['fast_cpu_s']} vs {c['straightforward_cpu_s']} CPU s)")
        lines.append(f"| {m['mode']} | {m['channels']} | {m['wall_s']} | {m['cpu_s']} | "
                     f"{m['ch_per_cpu_s']:,} | {m['worst_layer_cpu_s_per_1000']} | "
                     f"{'yes' if m['ch_per_cpu_s'] >= t else 'no'} | {cmp_} | {m['load']} |")
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
