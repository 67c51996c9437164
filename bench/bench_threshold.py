"""Threshold unit vs multiply-shift unit vs the FINN-style threshold baseline (issue 21).

For W_Q in {1, 2, 4, 8}, C = 64 channels (10-bit signed inputs, mixed slopes, unsigned
outputs, half_even) on ECP5 (LFE5U-25F) and iCE40 (UP5K): LUT/FF/DSP/BRAM/Fmax of
``exact_threshold`` (exactbn's threshold unit), ``exactbn`` (multiply-shift) and
``threshold`` (FINN-style baseline), L = 1, the target's pipeline preset, ROM, placer seeds
1-3 (median Fmax). Writes bench/results/threshold.json (every entry) and threshold.md (table,
crossover, what the cost model says). Rerun: ``python -m bench.bench_threshold [--targets
ecp5,ice40] [--bits 1,2,4,8] [--seeds 1,2,3] [--merge]`` (``--merge``: replace only the rows
measured now in OUT.json, keep the others; every row records its run's time and load;
``--auto-only``: recompute what ``--unit auto`` picks from Yosys counts; ``--auto-placed``: what
it measures with ``--cost fmax=W``, nextpnr seed 1, for the model's Fmax error).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from exactbn.golden.solver import solve_layer

from exactbn.formats import parse_layers, write_text_atomic
from exactbn.synth.designs import build_designs
from exactbn.synth.flow import run_designs
from exactbn.synth.targets import resolve_target

RESULTS = Path(__file__).resolve().parent / "results"
CHANNELS = 64
KINDS = ("exact_threshold", "exactbn", "threshold")
ORDER = ("exactbn", "threshold", "exact_threshold")  # rows as build_designs writes them


def bench_layer(bits: int, seed: int = 21):
    """A 64-channel layer whose outputs span every level over the 10-bit input range."""
    rng = random.Random(seed + bits)
    levels = 1 << bits
    a = [rng.choice([1, 1, 1, -1]) * levels / 1024 * rng.uniform(0.6, 1.4)
         for _ in range(CHANNELS)]
    b = [levels / 2 + rng.uniform(-0.3, 0.3) * levels for _ in range(CHANNELS)]
    spec = {"name": f"thr_w{bits}", "input": {"bits": 10, "signed": True},
            "output": {"bits": bits, "signed": False, "rounding": "half_even"},
            "affine": {"a": a, "b": b}}
    (layer,) = parse_layers({"layers": [spec]})
    return solve_layer(layer)


def _load() -> str:
    try:
        return " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def run(targets: list[str], bits_list: list[int], seeds=(1,), kinds=KINDS,
        pairs: list[tuple[str, int]] | None = None) -> list[dict]:
    rows = []
    for tname in targets:
        target = resolve_target(tname)
        for bits in bits_list:
            if pairs is not None and (tname, bits) not in pairs:
                continue
            layer = bench_layer(bits)
            load0, started = _load(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            with tempfile.TemporaryDirectory(prefix="bench-thr-") as tmp:
                designs = build_designs(layer, target, Path(tmp) / "src", kinds=kinds,
                                        allow_inexact=True)
                t0 = time.monotonic()
                entries = run_designs(designs, target, Path(tmp) / "work", seeds, None, 1,
                                      lambda m: print(m, file=sys.stderr, flush=True))
            for e in entries:
                rows.append({"target": tname, "device": target.device, "w_q": bits,
                             "kind": e["kind"], "fits": e.get("fits"), "error": e.get("error"),
                             **{k: e.get(k) for k in ("lut", "ff", "dsp", "bram", "fmax_mhz",
                                                      "lut4_yosys")},
                             "param_bits_per_channel": e.get("param_bits_per_channel"),
                             "config": {k: e["config"].get(k) for k in
                                        ("mode", "levels", "w_t", "w_m", "w_b", "w_n",
                                         "latency", "stages", "x_clamp")
                                        if k in e.get("config", {})},
                             "seeds": list(seeds), "started": started,
                             "load": f"{load0} -> {_load()}", "cores": os.cpu_count(),
                             "elapsed_s": round(time.monotonic() - t0, 1)})
    return rows


def auto_picks(targets: list[str], bits_list: list[int], place: bool = False) -> list[dict]:
    """What ``--unit auto`` (Yosys counts, no place and route, default weights) picks; with
    ``place`` what it measures with an Fmax weight (nextpnr seed 1, every figure placed) and
    picks with ``--cost fmax=1`` at the target's default clock."""
    from exactbn.cost import DEFAULT_WEIGHTS, measure_units, parse_cost, pick_unit

    out = []
    for tname in targets:
        for bits in bits_list:
            layer = bench_layer(bits)
            load0, started = _load(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            m = measure_units(layer, tname, place=place)
            weights = parse_cost("fmax=1") if place else DEFAULT_WEIGHTS
            unit, reason, fig = pick_unit(layer.name, tname, weights, m)
            out.append({"target": tname, "w_q": bits, "unit": unit, "reason": reason,
                        "figures": fig, "started": started, "load": f"{load0} -> {_load()}"})
    return out


RES = ("lut", "ff", "dsp", "bram")


def _err(model, measured) -> str:
    """Relative error of a model figure (absolute where the measured one is 0)."""
    if model is None or measured is None:
        return "n/a"
    if measured == 0:
        return "0" if model == 0 else f"{model - measured:+g} (abs)"
    return f"{(model - measured) / measured:+.0%}"


def _model_section(rows: list[dict], autos: list[dict],
                   placed: list[dict] | None = None) -> list[str]:
    """Auto's pick (Yosys counts) against the pick by placed counts, and the model's error per
    resource (LUT, FF, DSP, BRAM from Yosys; Fmax from nextpnr seed 1, what ``--cost fmax=W``
    measures) against the placed table (median of the seeds)."""
    from exactbn.cost import measured_cost

    by = {}
    for r in rows:
        by.setdefault((r["target"], r["w_q"]), {})[r["kind"]] = r
    pl = {(a["target"], a["w_q"]): a for a in placed or []}
    lines = ["", "## `--unit auto` (Yosys counts, no place and route) vs placed counts", "",
             "| target | W_Q | auto picks | placed counts pick | unit | LUT error | FF error | "
             "DSP error | BRAM error | Fmax error (seed 1) |", "|---|---|---|---|---|---|---|---|"
             "---|---|"]
    agree = 0
    errs: dict[str, list[float]] = {r: [] for r in (*RES, "fmax")}
    kinds = (("threshold", "exact_threshold"), ("multiply-shift", "exactbn"))
    for a in autos:
        d = by.get((a["target"], a["w_q"]), {})
        th, ms = d.get("exact_threshold"), d.get("exactbn")
        if not (th and ms and th.get("lut") and ms.get("lut")):
            lines.append(f"| {a['target']} | {a['w_q']} | {a['unit']} | (no placed figures) "
                         "| | | | | | |")
            continue
        placed_pick = ("threshold" if measured_cost(th, a["target"])
                       <= measured_cost(ms, a["target"]) else "multiply-shift")
        agree += placed_pick == a["unit"]
        for unit, kind in kinds:
            f, e = a["figures"].get(unit), d.get(kind)
            if not f or not e:
                continue
            p = (pl.get((a["target"], a["w_q"])) or {}).get("figures", {}).get(unit, {})
            cells = [_err(f.get(r), e.get(r)) for r in RES]
            cells.append(_err(p.get("fmax_mhz"), e.get("fmax_mhz")) if p else "not run")
            for r in RES:
                if f.get(r) is not None and e.get(r):
                    errs[r].append(abs(f[r] - e[r]) / e[r])
            if p.get("fmax_mhz") and e.get("fmax_mhz"):
                errs["fmax"].append(abs(p["fmax_mhz"] - e["fmax_mhz"]) / e["fmax_mhz"])
            lines.append(f"| {a['target']} | {a['w_q']} | {a['unit']} | {placed_pick} | {unit} | "
                         + " | ".join(cells) + " |")
    summary = "; ".join(
        f"{r.upper() if r != 'fmax' else 'Fmax'} mean {sum(v) / len(v):.0%}, max {max(v):.0%} "
        f"({len(v)} figures)" for r, v in errs.items() if v)
    lines += ["", f"auto agrees with the placed counts in {agree} of {len(autos)} rows. Model "
              f"error (|model - placed| / placed, where the placed figure is not 0): {summary}. "
              "LUT/FF/DSP/BRAM are auto's Yosys figures (default weights, no place and route): on "
              "ECP5 Yosys LUT4s vs TRELLIS_COMB; on iCE40 the logic cells auto estimates from "
              "the Yosys netlist (exactbn.cost.ice40_cells) for the unit alone vs ICESTORM_LC, "
              "which also counts the serial harness (about 40 cells). Fmax is what auto measures "
              "when `--cost fmax=W` weighs it (nextpnr, seed 1) vs the table's median of the "
              "seeds. DSP/BRAM: `0` = both 0, `(abs)` = a count where the placed one is 0.", ""]
    lines += [f"- {a['target']} W_Q={a['w_q']}: {a['reason']}" for a in autos]
    if placed:
        pts = sorted({(a["target"], a["w_q"]) for a in placed})
        cmd = (f"nice -n 5 python -m bench.bench_threshold --auto-placed --targets "
               f"{','.join(sorted({t for t, _ in pts}))} --bits "
               f"{','.join(str(w) for w in sorted({w for _, w in pts}))}")
        lines += ["", f"With `--cost fmax=1` (placed, seed 1, the target's default clock: ECP5 "
                  f"200, iCE40 100 MHz); `{cmd}`:", ""]
        runs = sorted({(a["target"], a.get("started"), a.get("load")) for a in placed})
        lines += [f"- run {t}: started {st}, load {ld}" for t, st, ld in runs]
        lines += [f"- {a['target']} W_Q={a['w_q']}: {a['reason']}" for a in placed]
    return lines


def _parity_section(parity: list[dict]) -> list[str]:
    """Exact threshold vs FINN-style with several placer seeds (median Fmax)."""
    by: dict = {}
    for r in parity:
        by.setdefault((r["target"], r["w_q"]), {})[r["kind"]] = r
    seeds = sorted({s for r in parity for s in r.get("seeds", [])})
    lines = ["", f"## FINN-style parity with placer seeds {seeds} (median Fmax)", "",
             "Rerun: `python -m bench.bench_threshold --parity` (the rows whose single-seed Fmax "
             "missed the target).", "",
             "| target | W_Q | exact LUT | FINN-style LUT | exact Fmax | FINN-style Fmax | met |",
             "|---|---|---|---|---|---|---|"]
    for (t, w), d in sorted(by.items()):
        th, fi = d.get("exact_threshold"), d.get("threshold")
        if not (th and fi):
            continue
        met = (th.get("lut") or 0) <= (fi.get("lut") or 0) and \
            (th.get("fmax_mhz") or 0) >= (fi.get("fmax_mhz") or 0)
        lines.append(f"| {t} | {w} | {th.get('lut')} | {fi.get('lut')} | {th.get('fmax_mhz')} | "
                     f"{fi.get('fmax_mhz')} | {'yes' if met else 'no'} |")
    return lines


def markdown(rows: list[dict], autos: list[dict] | None = None,
             parity: list[dict] | None = None, placed_autos: list[dict] | None = None) -> str:
    from exactbn.cost import DEFAULT_WEIGHTS, measured_cost

    seeds = sorted({s for r in rows for s in r.get("seeds", [1])})
    lines = ["# Threshold unit vs multiply-shift vs FINN-style thresholds (C = 64, L = 1)", "",
             f"Command: `nice -n 5 python -m bench.bench_threshold --seeds "
             f"{','.join(map(str, seeds))}` (or one target at a time: `--targets T --merge`; "
             f"placer seeds {seeds}, median Fmax; the target's "
             "pipeline preset; ROM; 10-bit signed inputs). Cost = sum of weight x fraction of "
             f"the device (weights {DEFAULT_WEIGHTS}). `exact_threshold` = exactbn's threshold "
             "unit, `exactbn` = its multiply-shift unit, `threshold` = the FINN-style baseline. "
             "LUT is nextpnr's TRELLIS_COMB on ECP5 and ICESTORM_LC (LUT4, flip-flop and carry "
             "per cell) on iCE40. The threshold unit's stages: `fast` on ECP5, `compact` on "
             "iCE40 (hw/threshold_config.py: block-RAM levels addressed from the previous "
             "comparison, LUT4-table ROMs, narrow words).", "", "Runs (Fmax and counts do not "
             "depend on the load; wall time does):", ""]
    runs: dict = {}
    for r in rows:
        runs.setdefault((r["target"], r.get("started", "?"), r.get("load", "?"),
                         r.get("cores", "?")), []).append(r["w_q"])
    lines += [f"- {t}: W_Q {sorted(set(w))}, started {st}, load (1/5/15 min) {ld}, {c} cores"
              for (t, st, ld, c), w in runs.items()]
    lines += ["", "| target | W_Q | design | LUT | FF | DSP | BRAM | Fmax MHz | latency | cost |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        c = measured_cost(r, r["target"]) if r.get("lut") is not None else None
        lines.append(f"| {r['target']} | {r['w_q']} | {r['kind']} | {r.get('lut')} | "
                     f"{r.get('ff')} | {r.get('dsp')} | {r.get('bram')} | {r.get('fmax_mhz')} | "
                     f"{r.get('config', {}).get('latency', '')} | "
                     f"{'' if c is None else f'{c:.4f}'} |")
    lines += ["", "## Cheaper exact unit per row (measured) and the ratio to FINN-style", ""]
    by = {}
    for r in rows:
        by.setdefault((r["target"], r["w_q"]), {})[r["kind"]] = r
    for (t, w), d in sorted(by.items()):
        th, ms, finn = d.get("exact_threshold"), d.get("exactbn"), d.get("threshold")
        if not (th and ms and th.get("lut") is not None and ms.get("lut") is not None):
            lines.append(f"- {t} W_Q={w}: incomplete (a design failed or did not fit)")
            continue
        ct, cm = measured_cost(th, t), measured_cost(ms, t)
        pick = "threshold" if ct <= cm else "multiply-shift"
        vs = (f"; exact threshold / FINN-style LUT {th['lut'] / finn['lut']:.2f}, "
              f"Fmax {th['fmax_mhz']} vs {finn['fmax_mhz']} MHz"
              if finn and finn.get("lut") else "")
        lines.append(f"- {t} W_Q={w}: {pick} (cost: threshold {ct:.4f}, multiply-shift "
                     f"{cm:.4f}){vs}")
    placed = {k: d for k, d in by.items()  # both placed (a design that does not fit: n/a)
              if all((d.get(x) or {}).get("fmax_mhz") for x in ("exact_threshold", "threshold"))}
    met = [(t, w) for (t, w), d in sorted(placed.items())
           if (th := d.get("exact_threshold")) and (fi := d.get("threshold"))
           and th.get("lut") is not None and fi.get("lut") is not None
           and th["lut"] <= fi["lut"] and (th.get("bram") or 0) <= (fi.get("bram") or 0)
           and (th.get("fmax_mhz") or 0) >= (fi.get("fmax_mhz") or 0)]
    def rows_text(keys) -> str:
        return ", ".join(f"{t} W_Q={w}" for t, w in sorted(keys))

    lines += ["", "Target 'exact threshold no larger than FINN-style at equal Fmax' (LUT <=, "
              f"BRAM <= and Fmax >=, median of seeds {seeds}): met in {len(met)} of "
              f"{len(placed)} rows where both fit"
              + (f"; not met in {rows_text(set(placed) - set(met))}" if len(met) < len(placed)
                 else "")
              + (f"; neither fits in {rows_text(set(by) - set(placed))}" if len(placed) < len(by)
                 else "") + "."]
    if parity:
        lines += _parity_section(parity)
    lines += _crossover_section(by)
    if autos:
        lines += _model_section(rows, autos, placed_autos)
    return "\n".join(lines) + "\n"


def crossover(by: dict, target: str) -> str:
    """Where the cheaper exact unit changes with W_Q on ``target`` (measured costs)."""
    from exactbn.cost import measured_cost

    picks = []
    for (t, w), d in sorted(by.items()):
        th, ms = d.get("exact_threshold"), d.get("exactbn")
        if t == target and th and ms and th.get("lut") is not None and ms.get("lut") is not None:
            picks.append((w, "threshold" if measured_cost(th, t) <= measured_cost(ms, t)
                          else "multiply-shift"))
    if not picks:
        return f"{target}: no complete rows"
    text = ", ".join(f"W_Q={w} {u}" for w, u in picks)
    flips = [(a, b) for (a, ua), (b, ub) in zip(picks, picks[1:], strict=False) if ua != ub]
    if not flips:
        return f"{target}: {picks[0][1]} in every measured row ({text})"
    where = "; ".join(f"between W_Q={a} and W_Q={b}" for a, b in flips)
    return f"{target}: the cheaper unit changes {where} ({text})"


def _crossover_section(by: dict) -> list[str]:
    targets = sorted({t for t, _ in by})
    return ["", "## Crossover (measured, placed counts)", ""] + [
        f"- {crossover(by, t)}" for t in targets]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", default="ecp5,ice40")
    ap.add_argument("--bits", default="1,2,4,8")
    ap.add_argument("--out", default=str(RESULTS / "threshold"))
    ap.add_argument("--render", action="store_true",
                    help="only rewrite OUT.md from OUT.json")
    ap.add_argument("--auto-only", action="store_true",
                    help="keep the placed rows of OUT.json, (re)compute what --unit auto picks")
    ap.add_argument("--parity", action="store_true",
                    help="keep OUT.json's rows; rerun exact threshold and FINN-style with "
                    "--seeds on the rows whose Fmax missed the FINN-parity target")
    ap.add_argument("--seeds", default="1,2,3", help="placer seeds (median Fmax)")
    ap.add_argument("--merge", action="store_true",
                    help="replace only the (target, W_Q, design) rows measured now in OUT.json")
    ap.add_argument("--kinds", default=",".join(KINDS), help="designs to measure")
    ap.add_argument("--auto-placed", action="store_true",
                    help="keep OUT.json's rows and auto picks; measure what --unit auto "
                    "measures with an Fmax weight (nextpnr seed 1) for the Fmax error")
    ap.add_argument("--keep-auto", action="store_true",
                    help="with --merge: keep OUT.json's auto picks (no Yosys reruns)")
    args = ap.parse_args(argv)
    targets, bits = args.targets.split(","), [int(b) for b in args.bits.split(",")]
    out = Path(args.out)
    if args.render or args.auto_placed:
        d = json.loads(out.with_suffix(".json").read_text())
        if args.auto_placed:
            d["auto_placed"] = auto_picks(targets, bits, place=True)
            write_text_atomic(out.with_suffix(".json"), json.dumps(d, indent=1) + "\n")
        write_text_atomic(out.with_suffix(".md"), markdown(d["rows"], d.get("auto"),
                                                           d.get("parity"),
                                                           d.get("auto_placed")))
        return 0
    if args.parity:
        d = json.loads(out.with_suffix(".json").read_text())
        by: dict = {}
        for r in d["rows"]:
            by.setdefault((r["target"], r["w_q"]), {})[r["kind"]] = r
        missed = [k for k, v in by.items() if (k[0] in targets and k[1] in bits
                  and "exact_threshold" in v and "threshold" in v
                  and (v["exact_threshold"].get("fmax_mhz") or 0)
                  < (v["threshold"].get("fmax_mhz") or 0))]
        seeds = tuple(int(s) for s in args.seeds.split(","))
        d["parity"] = run(targets, bits, seeds, ("exact_threshold", "threshold"), missed)
        write_text_atomic(out.with_suffix(".json"), json.dumps(d, indent=1) + "\n")
        write_text_atomic(out.with_suffix(".md"), markdown(d["rows"], d.get("auto"),
                                                           d["parity"], d.get("auto_placed")))
        return 0
    if args.auto_only:
        rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    else:
        rows = run(targets, bits, tuple(int(v) for v in args.seeds.split(",")),
                   tuple(args.kinds.split(",")))
    old_auto = None
    if args.merge and out.with_suffix(".json").exists():
        new = {(r["target"], r["w_q"], r["kind"]) for r in rows}
        saved = json.loads(out.with_suffix(".json").read_text())
        old, old_auto = saved["rows"], saved.get("auto")
        rows = sorted([r for r in old if (r["target"], r["w_q"], r["kind"]) not in new] + rows,
                      key=lambda r: (r["target"], r["w_q"], ORDER.index(r["kind"])
                                     if r["kind"] in ORDER else 9))
        targets = sorted({r["target"] for r in rows})
        bits = sorted({r["w_q"] for r in rows})
    autos = old_auto if args.keep_auto and old_auto else auto_picks(targets, bits)
    write_text_atomic(out.with_suffix(".json"), json.dumps({"rows": rows, "auto": autos},
                                                           indent=1) + "\n")
    write_text_atomic(out.with_suffix(".md"), markdown(rows, autos))
    print(out.with_suffix(".md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
