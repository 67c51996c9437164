"""End-to-end benchmark (`make bench-solve`, part of `make bench`): `exactbn solve` and
`exactbn verify` as a user runs them, on a ResNet-50-sized layer file.

52 layers x 500 channels (16-bit signed inputs, int8 half_up outputs, affine form, a and b as
in golden/synthetic.random_affine) against 2 layers x 500: each command is run as a separate
process on both, and the marginal rate (channels of the difference / seconds of the
difference) excludes process start-up and compile-cache loading. Solve runs with the summary
table ON (naive baseline, TFLite and float32 mismatch counts) and with --no-summary; verify
re-derives everything. Each on all cores and on one core (NUMBA_NUM_THREADS=1, pinned to one
CPU with taskset when available), `repeats` runs each, interleaved; the fastest run of each
size is used (on a shared machine the load only ever adds time). Also: the solved file's
size (and what the same content costs as indent=1 stdlib JSON), start-up (`exactbn --help`, a
one-channel solve), and the agreement of a sample of channels with the straightforward
solver and of the summary's counts with exhaustive sweeps.

Writes bench/results/solve.json and bench/results/solve.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from exactbn.golden.synthetic import random_affine

from exactbn import formats

RESULTS = Path(__file__).resolve().parent / "results"
EXACTBN = [sys.executable, "-m", "exactbn"]


def _layers(n_layers: int, channels: int, seed: int = 0) -> dict:
    layers = []
    for i in range(n_layers):
        a, b = random_affine(channels, seed=seed + i)
        layers.append({"name": f"bn{i}", "input": {"bits": 16, "signed": True},
                       "output": {"bits": 8, "signed": True, "rounding": "half_up"},
                       "affine": {"a": a.tolist(), "b": b.tolist()}})
    return {"format": "exactbn-layers", "layers": layers}


def _loadavg() -> list[float]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def _run(cmd: list[str], one_core: bool) -> tuple[float, float]:
    """(wall s, CPU s of the child) of one command; raises if it fails."""
    env = dict(os.environ)
    if one_core:
        env["NUMBA_NUM_THREADS"] = "1"
        if shutil.which("taskset"):
            cmd = ["taskset", "-c", "0", *cmd]
    r0 = os.times()
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    wall = time.perf_counter() - t0
    r1 = os.times()
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr[-500:]}")
    return wall, (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)


def _timed(cmd_small, cmd_large, c_small, c_large, one_core, repeats) -> dict:
    ws, cs, wl, cl = [], [], [], []
    for _ in range(repeats):  # interleaved: both see the same moments of the machine's load
        w, c = _run(cmd_small, one_core)
        ws.append(w)
        cs.append(c)
        w, c = _run(cmd_large, one_core)
        wl.append(w)
        cl.append(c)
    # the fastest run of each: on a shared machine the load only ever adds time
    d_wall = min(wl) - min(ws)
    d_cpu = min(cl) - min(cs)
    dc = c_large - c_small
    return {"small_wall_s": [round(v, 3) for v in ws], "large_wall_s": [round(v, 3) for v in wl],
            "small_cpu_s": [round(v, 3) for v in cs], "large_cpu_s": [round(v, 3) for v in cl],
            "marginal_wall_s": round(d_wall, 4), "marginal_cpu_s": round(d_cpu, 4),
            "channels_per_s": round(dc / d_wall) if d_wall > 0 else None,
            "channels_per_cpu_s": round(dc / d_cpu) if d_cpu > 0 else None}


def _agreement(solved_path: Path, layers_path: Path, sample: int, summary_sample: int) -> dict:
    """A sample of channels against the straightforward solver, and the summary's counts
    against exhaustive sweeps and the naive search."""
    from exactbn.golden.baselines import naive_channel
    from exactbn.golden.solver import solve_channel
    from exactbn.golden.summary import _channel_figures, baseline_mismatches

    solved = formats.load_solved(solved_path)
    layers = {lay.name: lay for lay in formats.load_layers(layers_path)}
    rng = np.random.default_rng(5)
    picks = [(int(rng.integers(len(solved))), int(rng.integers(solved[0].channels)))
             for _ in range(sample)]
    bad = []
    for li, c in picks:
        sl = solved[li]
        out = sl.output
        s = solve_channel(sl.a[c], sl.b[c], out.rounding, out.qmin, out.qmax, *sl.ranges()[c],
                          hw_rounding=sl.hw_rounding)
        if (s.M, s.B, s.N, s.exact, s.certificate) != (sl.M[c], sl.B[c], sl.N[c], sl.exact[c],
                                                        sl.certificate[c]):
            bad.append([sl.name, c])
    sbad = []
    for li, c in picks[:summary_sample]:
        sl = solved[li]
        out = sl.output
        fig = _channel_figures(sl, layers[sl.name], [c], 1 << 16, fast=True)
        want = baseline_mismatches(sl, layers[sl.name], c)
        nv = naive_channel(sl.a[c], sl.b[c], out.rounding, out.qmin, out.qmax, *sl.ranges()[c])
        got = (int(fig["tflite"][0]), int(fig["float32"][0]), int(fig["naive_N"][0]))
        if got != (want["tflite"], want["float32"], -1 if nv.N is None else nv.N):
            sbad.append([sl.name, c])
    return {"solver_channels_compared": sample, "solver_disagreements": bad,
            "summary_channels_compared": min(summary_sample, sample),
            "summary_disagreements": sbad}


def _stages(layers_path: Path, solved_path: Path, repeats: int = 2) -> dict:
    """In-process wall and CPU seconds of each stage of solve and verify on the large set
    (numba compiled and threads started before; the fastest of ``repeats``): where the time
    goes between the kernels and the targets."""
    import gc

    from exactbn.golden import fast
    from exactbn.golden.fast_summary import f32_params, summary_kernel_run, tflite_params_array
    from exactbn.golden.solver import layer_affine, solve_layer
    from exactbn.golden.summary import SUMMARY_LEVEL_LIMIT, layer_summary, layers_summary
    from exactbn.golden.verify import verify_layer, verify_layers

    def timed(fn):
        best = None
        for _ in range(repeats):
            gc.disable()
            w, c = time.perf_counter(), time.process_time()
            out = fn()
            w, c = time.perf_counter() - w, time.process_time() - c
            gc.enable()
            best = (w, c, out) if best is None or w < best[0] else best
        return best

    rows, keep = {}, {}

    def stage(name, fn):
        w, c, out = timed(fn)
        rows[name] = {"wall_s": round(w, 4), "cpu_s": round(c, 4)}
        keep[name] = out

    stage("read + validate layer file", lambda: formats.load_layers(layers_path))
    layers = keep["read + validate layer file"]
    stage("affine (a, b)", lambda: [layer_affine(lay) for lay in layers])
    ab = keep["affine (a, b)"]

    def kernel():
        res = []
        for lay, (a, b) in zip(layers, ab, strict=True):
            lo, hi = lay.input.ranges(1)[0]
            res.append(fast.solve_fast(a, b, lo, hi, lay.output.rounding, lay.output.qmin,
                                       lay.output.qmax))
        return res

    stage("solver kernel (fast.solve_fast)", kernel)
    res = keep["solver kernel (fast.solve_fast)"]
    stage("certificates (dicts)", lambda: [fast.certificates_of(r, np.arange(len(r["M"])))
                                           for r in res])
    stage("solve_layer (kernel + certificates + lists)",
          lambda: [solve_layer(lay) for lay in layers])
    stage("solve_layers_fast (CLI: one kernel call, certificates kept as arrays)",
          lambda: fast.solve_layers_fast(layers, "per-channel", "auto", None))
    solved = keep["solve_layers_fast (CLI: one kernel call, certificates kept as arrays)"]

    def skernel():
        for sl in solved:
            a, b = np.asarray(sl.a), np.asarray(sl.b)
            lo, hi = sl.ranges()[0]
            kind, f32p = f32_params(a, b)
            summary_kernel_run(a, b, lo, hi, sl.output.rounding, sl.qmin, sl.qmax,
                               tflite_params_array(a, b, sl.output.zero_point), kind, f32p,
                               SUMMARY_LEVEL_LIMIT + 4)

    stage("summary kernel (fast_summary)", skernel)
    stage("layer_summary (kernel + figures)",
          lambda: [layer_summary(sl, lay) for sl, lay in zip(solved, layers, strict=True)])
    stage("layers_summary (CLI: one kernel call + figures)",
          lambda: layers_summary(solved, layers))
    stage("dump + encode (dumps_solved)", lambda: formats.dumps_solved(
        formats.dump_solved(solved)))
    data = keep["dump + encode (dumps_solved)"]
    stage("write (atomic)", lambda: formats.write_text_atomic(solved_path, data))
    scans: dict = {}  # as `exactbn verify` reads: the reader's certificate scans kept
    stage("read + validate solved file", lambda: formats.load_solved(solved_path, scans=scans))
    back = keep["read + validate solved file"]
    stage("verify_layer (fresh solve + checks)",
          lambda: [verify_layer(sl, lay) for sl, lay in zip(back, layers, strict=True)])
    stage("verify_layers (CLI: one fresh solve + one check kernel call)",
          lambda: verify_layers(back, layers, scans))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--layers", type=int, default=52)
    ap.add_argument("--channels", type=int, default=500)
    ap.add_argument("--sample", type=int, default=300, help="channels checked against "
                    "the straightforward solver")
    ap.add_argument("--summary-sample", type=int, default=12)
    args = ap.parse_args()
    load_before = _loadavg()
    tmp = Path(tempfile.mkdtemp(prefix="exactbn-bench-solve-"))
    try:
        small, large, one = tmp / "small.json", tmp / "large.json", tmp / "one.json"
        formats.write_json_atomic(small, _layers(2, args.channels))
        formats.write_json_atomic(large, _layers(args.layers, args.channels))
        formats.write_json_atomic(one, _layers(1, 1))
        c_small, c_large = 2 * args.channels, args.layers * args.channels
        s_small, s_large = tmp / "s_small.json", tmp / "s_large.json"
        solve = [*EXACTBN, "solve"]
        _run([*solve, str(large), "-o", str(s_large)], False)  # fill numba's cache: not timed
        _run([*EXACTBN, "verify", str(large), str(s_large)], False)
        runs = {}
        for cores, one_core in (("all_cores", False), ("one_core", True)):
            runs[cores] = {
                "solve": _timed([*solve, str(small), "-o", str(s_small)],
                                [*solve, str(large), "-o", str(s_large)], c_small, c_large,
                                one_core, args.repeats),
                "solve_no_summary": _timed(
                    [*solve, str(small), "-o", str(s_small), "--no-summary"],
                    [*solve, str(large), "-o", str(s_large), "--no-summary"], c_small, c_large,
                    one_core, args.repeats),
                "verify": _timed([*EXACTBN, "verify", str(small), str(s_small)],
                                 [*EXACTBN, "verify", str(large), str(s_large)], c_small, c_large,
                                 one_core, args.repeats),
            }
        _run([*solve, str(large), "-o", str(s_large)], False)
        size = s_large.stat().st_size
        obj = json.loads(s_large.read_text())
        old_size = len(json.dumps(obj, indent=1, allow_nan=False)) + 1
        t_read = time.perf_counter()
        formats.load_solved(s_large)
        t_read = time.perf_counter() - t_read
        startup = {
            "help_s": round(statistics.median(_run([*EXACTBN, "--help"], False)[0]
                                              for _ in range(5)), 3),
            "one_channel_solve_s": round(statistics.median(
                _run([*solve, str(one), "-o", str(tmp / "s_one.json")], False)[0]
                for _ in range(5)), 3),
        }
        agree = _agreement(s_large, large, args.sample, args.summary_sample)
        stages = _stages(large, tmp / "s_stage.json")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res = {
        "command": "python -m bench.bench_solve",
        "set": {"layers": args.layers, "channels_per_layer": args.channels,
                "small_set_layers": 2, "input": "int16", "output": "int8 half_up",
                "form": "affine (random_affine seeds 0..)"},
        "machine": {"cores": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
                    "python": platform.python_version(), "load_before": load_before,
                    "load_after": _loadavg()},
        "runs": runs,
        "solved_file": {"channels": c_large, "bytes": size, "bytes_per_channel":
                        round(size / c_large, 1), "same_content_stdlib_indent1_bytes": old_size,
                        "read_s_in_process": round(t_read, 3)},
        "startup": startup,
        "agreement": agree,
        "stages_in_process": stages,
    }
    RESULTS.mkdir(exist_ok=True)
    formats.write_json_atomic(RESULTS / "solve.json", res)
    formats.write_text_atomic(RESULTS / "solve.md", _markdown(res))
    print(_markdown(res))


def _markdown(r: dict) -> str:
    s = r["set"]
    m = r["machine"]
    lines = [
        "## exactbn solve / verify end to end (`make bench-solve`)",
        "",
        f"{s['layers']} layers x {s['channels_per_layer']} channels ({s['input']} in, "
        f"{s['output']}, {s['form']}), against {s['small_set_layers']} layers: marginal rate = "
        "channels of the difference / seconds of the difference (process start-up and "
        "numba cache loading excluded), fastest of the runs (the load only adds time). Machine: "
        f"{m['cores']} cores, load {m['load_before']} before, {m['load_after']} after "
        "(a shared machine: wall rates under load understate a quiet machine; CPU rates "
        "less so).",
        "",
        "| command | cores | marginal wall s | channels/s (wall) | channels/CPU-s |",
        "|---|---|---:|---:|---:|",
    ]
    names = {"solve": "solve (summary ON)", "solve_no_summary": "solve --no-summary",
             "verify": "verify"}
    for cores, runs in r["runs"].items():
        for k, v in runs.items():
            lines.append(f"| {names[k]} | {cores.replace('_', ' ')} | {v['marginal_wall_s']} | "
                         f"{v['channels_per_s']} | {v['channels_per_cpu_s']} |")
    f = r["solved_file"]
    st = r["startup"]
    ag = r["agreement"]
    lines += [
        "",
        f"Solved file, {f['channels']} channels: {f['bytes'] / 1e6:.2f} MB "
        f"({f['bytes_per_channel']} bytes/channel; the same content as indent=1 stdlib JSON: "
        f"{f['same_content_stdlib_indent1_bytes'] / 1e6:.2f} MB); read back and validated "
        f"in {f['read_s_in_process']} s in process.",
        f"Start-up: `exactbn --help` {st['help_s']} s, one-channel solve "
        f"{st['one_channel_solve_s']} s (wall, median of 5).",
        f"Agreement: {ag['solver_channels_compared']} channels against the straightforward "
        f"solver, {len(ag['solver_disagreements'])} differ; {ag['summary_channels_compared']} "
        "channels' summary counts against exhaustive sweeps and the naive search, "
        f"{len(ag['summary_disagreements'])} differ.",
        "",
    ]
    st = r.get("stages_in_process")
    if st:
        c = s["layers"] * s["channels_per_layer"]
        lines += [
            f"Where the time goes: each stage in process on the {c} channels (all cores, "
            "compiled, fastest of 2; stages in parentheses include the ones above them; the "
            "CLI runs the read, solve_layers_fast, layers_summary, dump, write stages for solve "
            "and the two reads and verify_layers for verify):",
            "",
            "| stage | wall s | CPU s | channels/s (wall) | CPU us/channel |",
            "|---|---:|---:|---:|---:|",
        ]
        for k, v in st.items():
            rate = round(c / v["wall_s"]) if v["wall_s"] > 0 else None
            lines.append(f"| {k} | {v['wall_s']} | {v['cpu_s']} | {rate} | "
                         f"{v['cpu_s'] / c * 1e6:.2f} |")
        lines += ["", "Budget: 300,000 channels/s end to end is 3.33 us per channel for all "
                  "the solve stages together on one core (100,000 for verify: 10 us)."]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
