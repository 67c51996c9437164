"""In-process A/B of `exactbn solve` (summary ON) and `exactbn verify`'s work on the bench set:
the layer-by-layer path the CLI took before (solve_layer, layer_summary, certificate dicts
encoded entry by entry; verify_layer per layer) against the batched one it takes now
(solve_layers_fast with certificates as arrays, layers_summary, verify_layers), interleaved
in one process so both see the same load; compiled first, CPU and wall seconds, fastest of
the repeats. Writes bench/results/solve_ab.json and .md (both with the load).

    NUMBA_NUM_THREADS=1 python -m bench.bench_solve_ab   # one core
    python -m bench.bench_solve_ab                       # all cores
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from pathlib import Path

from bench.bench_solve import _layers, _loadavg
from exactbn import formats

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tag", default=None, help="results file suffix (default: threads)")
    args = ap.parse_args()
    from exactbn.golden.fast import solve_layers_fast
    from exactbn.golden.solver import solve_layer
    from exactbn.golden.summary import layer_summary, layers_summary
    from exactbn.golden.verify import verify_layer, verify_layers

    tmp = Path(tempfile.mkdtemp(prefix="exactbn-bench-ab-"))
    src, dst = tmp / "large.json", tmp / "solved.json"
    formats.write_json_atomic(src, _layers(52, 500))
    c = 52 * 500

    def old_solve():
        layers = formats.load_layers(src)
        solved = [solve_layer(lay) for lay in layers]
        [layer_summary(s, lay) for s, lay in zip(solved, layers, strict=True)]
        formats.write_solved(dst, formats.dump_solved(solved))

    def new_solve():
        layers = formats.load_layers(src)
        solved = solve_layers_fast(layers, "per-channel", "auto", None)
        layers_summary(solved, layers)
        formats.write_solved(dst, formats.dump_solved(solved))

    def old_verify():
        layers = {lay.name: lay for lay in formats.load_layers(src)}
        assert all(verify_layer(s, layers[s.name]).ok for s in formats.load_solved(dst))

    def new_verify():
        layers = {lay.name: lay for lay in formats.load_layers(src)}
        solved = formats.load_solved(dst)
        assert all(v.ok for v in verify_layers(solved, [layers[s.name] for s in solved]))

    fns = {"solve_old": old_solve, "solve_new": new_solve, "verify_old": old_verify,
           "verify_new": new_verify}
    load_before = _loadavg()
    for f in fns.values():  # compile, fill caches
        f()
    old_bytes = None
    best = {k: [1e9, 1e9] for k in fns}
    for _ in range(args.repeats):
        for k, f in fns.items():
            gc.collect()
            gc.disable()  # as the CLI runs (cli.common.without_gc)
            w, cpu = time.perf_counter(), time.process_time()
            f()
            w, cpu = time.perf_counter() - w, time.process_time() - cpu
            gc.enable()
            best[k] = [min(best[k][0], w), min(best[k][1], cpu)]
            if k == "solve_old":
                old_bytes = dst.read_bytes()
            elif k == "solve_new":
                assert dst.read_bytes() == old_bytes  # byte-identical files
    threads = os.environ.get("NUMBA_NUM_THREADS", str(os.cpu_count()))
    res = {"command": "python -m bench.bench_solve_ab", "channels": c, "threads": threads,
           "repeats": args.repeats, "load_before": load_before, "load_after": _loadavg(),
           "cores": os.cpu_count(),
           "rows": {k: {"wall_s": round(v[0], 4), "cpu_s": round(v[1], 4),
                        "channels_per_s": round(c / v[0]), "channels_per_cpu_s": round(c / v[1])}
                    for k, v in best.items()}}
    lines = [f"## solve / verify in process, old (layer by layer) vs new (batched): {c} channels, "
             f"NUMBA threads {threads}, {os.cpu_count()} cores, load {res['load_before']} before, "
             f"{res['load_after']} after; fastest of {args.repeats}, files byte-identical", "",
             "| path | wall s | CPU s | channels/s (wall) | channels/CPU-s |",
             "|---|---:|---:|---:|---:|"]
    for k, v in res["rows"].items():
        lines.append(f"| {k} | {v['wall_s']} | {v['cpu_s']} | {v['channels_per_s']} | "
                     f"{v['channels_per_cpu_s']} |")
    for op in ("solve", "verify"):
        o, n = res["rows"][f"{op}_old"], res["rows"][f"{op}_new"]
        lines.append(f"\n{op}: {o['wall_s'] / n['wall_s']:.2f}x wall, "
                     f"{o['cpu_s'] / n['cpu_s']:.2f}x CPU")
    tag = args.tag or f"t{threads}"
    RESULTS.mkdir(exist_ok=True)
    formats.write_json_atomic(RESULTS / f"solve_ab_{tag}.json", res)
    formats.write_text_atomic(RESULTS / f"solve_ab_{tag}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
