"""``make bench-synth``: the standard synthesis comparison (issue 10).

Extends the bundled layers conv1_bn (16-bit signed in, int8 out) and conv2_bn_relu (16-bit
signed in, uint4 ReLU out) to C = 64 channels (their channels repeated with gamma and beta
jittered a few percent, so that no two channels share parameters), solves them in
per-channel and shared shift mode, and synthesizes the exactbn unit beside the
ceiling multiplier, the TFLite-style requantizer and the threshold unit for L in {1, 4} and
pipeline settings shallow, default, deep: on ECP5 (LFE5U-25F, out of context) the whole
matrix, on iCE40 UP5K what a small part can hold (L = 1, per-channel, default and deep;
designs that do not fit are reported so). Baselines that do not depend on the shift mode
(TFLite-style, threshold) or on the pipeline (ceiling) are synthesized once and shown in
every group they belong to.

Writes bench/results/synth_<target>.json/.md/.png (report structure of ``exactbn synth``)
and bench/results/synth.md (ratio tables). Rerun: ``python -m bench.bench_synth``
(``--targets``, ``--seeds``, ``--jobs``, ``--quick`` for a 2-group smoke run).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import random
import sys
import tempfile
import time
from importlib.resources import files
from pathlib import Path

from exactbn.golden.solver import solve_layer

from exactbn.formats import Layer, SolvedLayer, load_layers, select_layer, write_text_atomic
from exactbn.synth.designs import build_designs
from exactbn.synth.flow import run_designs
from exactbn.synth.report import write_report
from exactbn.synth.targets import resolve_target

RESULTS = Path(__file__).resolve().parent / "results"
CHANNELS = 64
LAYERS = (("int8", "conv1_bn"), ("uint4", "conv2_bn_relu"))
PIPELINES = ("shallow", "default", "deep")


def _channel(layer: Layer, src: int, gamma_f: float, beta_d: float) -> Layer:
    """A one-channel layer: channel ``src`` of ``layer`` with gamma scaled and beta shifted."""
    def pick(v):
        return [v[src]] if isinstance(v, list) else v

    bn = {k: [layer.bn[k][src]] for k in ("gamma", "beta", "mean", "var")}
    bn["eps"] = layer.bn["eps"]
    bn["gamma"] = [bn["gamma"][0] * gamma_f]
    bn["beta"] = [bn["beta"][0] + beta_d]
    inp = layer.input
    rng_in = inp.range if not (inp.range and isinstance(inp.range[0], list)) else pick(inp.range)
    inp2 = dataclasses.replace(inp, scale=pick(inp.scale), zero_point=pick(inp.zero_point),
                               range=rng_in)
    return dataclasses.replace(layer, input=inp2, bn=bn)


def _concat(parts: list[Layer]) -> Layer:
    first = parts[0]
    bn = {k: [p.bn[k][0] for p in parts] for k in ("gamma", "beta", "mean", "var")}
    bn["eps"] = first.bn["eps"]
    inp = first.input

    def cat(attr):
        vals = [getattr(p.input, attr) for p in parts]
        return [v[0] for v in vals] if isinstance(vals[0], list) else vals[0]

    rng_in = ([p.input.range[0] for p in parts] if inp.range and isinstance(inp.range[0], list)
              else inp.range)
    inp2 = dataclasses.replace(inp, scale=cat("scale"), zero_point=cat("zero_point"),
                               range=rng_in)
    return dataclasses.replace(first, input=inp2, bn=bn)


def extended(layer: Layer, channels: int, seed: int = 0) -> Layer:
    """The layer grown to ``channels`` BN channels: the originals, then channel c mod C0 with
    gamma and beta jittered by a few percent, a jitter kept only when its exact solution fits
    the widths the solver chose for the original layer (so the widths stay those of the
    bundled layer and no two channels share parameters: identical repeats would let Yosys
    shrink the ROMs)."""
    c0 = layer.channels
    w = solve_layer(layer, shift_mode="per-channel", hw_rounding="auto").widths
    rng = random.Random(seed)
    parts = [_channel(layer, i, 1.0, 0.0) for i in range(c0)]
    while len(parts) < channels:
        src = len(parts) % c0
        for _ in range(200):
            cand = _channel(layer, src, rng.uniform(0.95, 1.05), rng.uniform(-0.05, 0.05))
            s = solve_layer(cand, shift_mode="per-channel", hw_rounding="auto")
            if (s.exact[0] and s.widths.M <= w.M and s.widths.B <= w.B
                    and s.widths.n_max <= w.n_max):
                parts.append(cand)
                break
        else:
            parts.append(_channel(layer, src, 1.0, 0.0))
    return _concat(parts)


def standard_layers() -> dict[tuple[str, str], SolvedLayer]:
    """{(label, shift mode): the bundled layer extended to C = 64 channels, solved}."""
    layers = load_layers(files("exactbn.data") / "example_layers.json")
    out = {}
    for label, name in LAYERS:
        layer = extended(select_layer(layers, name), CHANNELS)
        for mode in ("per-channel", "shared"):
            out[(label, mode)] = solve_layer(layer, shift_mode=mode, hw_rounding="auto")
    return out


def bundled_widths() -> dict[tuple[str, str], object]:
    """The solver's widths for the bundled layers themselves (for comparison)."""
    layers = load_layers(files("exactbn.data") / "example_layers.json")
    return {(label, mode): solve_layer(select_layer(layers, name), shift_mode=mode,
                                       hw_rounding="auto").widths
            for label, name in LAYERS for mode in ("per-channel", "shared")}


def matrix(target: str, quick: bool) -> list[tuple[str, str, int, str]]:
    """(layer label, shift mode, lanes, pipeline) of every group for a target."""
    if quick:
        return [("int8", "per-channel", 1, "deep"), ("uint4", "per-channel", 1, "default")]
    if target == "ice40":
        return [(lab, "per-channel", 1, p) for lab, _ in LAYERS for p in ("default", "deep")]
    return [(lab, mode, lanes, p) for lab, _ in LAYERS for mode in ("per-channel", "shared")
            for lanes in (1, 4) for p in PIPELINES]


def _short(mode: str) -> str:
    return "pc" if mode == "per-channel" else "sh"


def run_target(target_name: str, layers, seeds, jobs, quick, workroot: Path, say) -> dict:
    target = resolve_target(target_name)
    groups = matrix(target_name, quick)
    designs, unique = [], {}
    members: dict[str, list[tuple[str, str]]] = {}  # group -> [(kind, design name)]
    for label, mode, lanes, pipe in groups:
        group = f"{label}-L{lanes}-{pipe}-{_short(mode)}"
        layer = layers[(label, mode)]
        members[group] = []
        keys = {
            "exactbn": group,
            "ceiling": f"{label}-L{lanes}-{_short(mode)}",  # W_M differs by shift mode
            "tflite": f"{label}-L{lanes}-{pipe}",
            "threshold": f"{label}-L{lanes}-{pipe}",
        }
        for kind, key in keys.items():
            name = f"{kind}_{key}"
            if name not in unique:
                (d,) = build_designs(layer, target, workroot / "src", kinds=(kind,), tag=key,
                                     group=group, lanes=lanes, pipeline=pipe,
                                     name="exactbn_bn")
                unique[name] = d
                designs.append(d)
            members[group].append((kind, name))
    say(f"{target_name}: {len(groups)} groups, {len(designs)} distinct designs, seeds {seeds}")
    t0 = time.monotonic()
    results = {e["name"]: e for e in run_designs(designs, target, workroot / "work", seeds,
                                                 None, jobs, say)}
    entries = []
    for group, items in members.items():
        for kind, name in items:
            e = copy.deepcopy(results[name])
            cfg = dict(e.get("config") or {})
            if cfg.get("group") != group:
                e["shared_run"] = name
                cfg["group"] = group
                e["config"] = cfg
            e["name"] = f"{kind}_{group}"
            entries.append(e)
    meta = {"command": "python -m bench.bench_synth " + " ".join(sys.argv[1:]),
            "target": target.name, "device": target.device, "seeds": list(seeds),
            "freq_mhz": target.default_freq_mhz, "channels": CHANNELS,
            "layers": {lab: name for lab, name in LAYERS},
            "elapsed_s": round(time.monotonic() - t0, 1)}
    return write_report(RESULTS, entries, meta, stem=f"synth_{target_name}")


def summary_md(reports: dict[str, dict], widths: dict) -> str:
    lines = ["# Synthesis benchmark: exactbn unit vs baselines", "",
             "Command: `make bench-synth` (= `python -m bench.bench_synth`). C = 64 channels: "
             "the bundled layers' channels, repeated with gamma and beta jittered by a few "
             "percent so that every channel's parameters differ; 16-bit signed inputs. Widths "
             "chosen by the solver (for the 64-channel layers; in brackets for the bundled "
             "layers themselves):", "",
             "| layer | output | shift mode | W_M | W_B | W_N | n_max |",
             "|---|---|---|---|---|---|---|"]
    for (label, mode), (w, wb) in widths.items():
        lines.append(f"| {dict(LAYERS)[label]} | {label} | {mode} | {w.M} ({wb.M}) | "
                     f"{w.B} ({wb.B}) | {w.N} ({wb.N}) | {w.n_max} ({wb.n_max}) |")
    lines += ["", "Targets: LUT (nextpnr COMB) and DSP of exactbn / TFLite-style <= 0.5 each "
              "at equal or better Fmax; Fmax(exactbn) / Fmax(ceiling) >= 1.0 with the deepest "
              "pipeline; parameter bits per channel vs the threshold unit. Fmax = median over "
              "the seeds. Full tables: synth_<target>.md.", ""]
    for tname, rep in reports.items():
        lines += [f"## {tname} ({rep['meta']['device']})", "",
                  "| group | LUT exactbn | LUT TFLite | LUT/TFLite | DSP/TFLite | Fmax exactbn "
                  "| Fmax TFLite | Fmax ceiling | Fmax/ceiling | param bits exactbn/threshold |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        by = {(e["config"].get("group"), e["kind"]): e for e in rep["designs"]}
        for r in rep["ratios"]:
            g = r["group"]
            u, t, c = by.get((g, "exactbn")), by.get((g, "tflite")), by.get((g, "ceiling"))

            def fm(e):
                if e is None:
                    return "-"
                if e.get("fits") is False:
                    return "no fit"
                return "-" if e.get("fmax_mhz") is None else f"{e['fmax_mhz']:.1f}"

            def lut(e):
                if e is None or e.get("fits") is False:
                    return "no fit" if e is not None else "-"
                return str(e.get("lut4_yosys_net") if e.get("harness") else e.get("lut"))

            def rv(k, r=r):
                v = r.get(k)
                return "-" if v is None else f"{v:.3f}"
            th = by.get((g, "threshold"))
            pb = (f"{u['param_bits_per_channel']}/{th['param_bits_per_channel']} = "
                  f"{rv('param_bits_vs_threshold')}") if u and th else "-"
            lines.append(f"| {g} | {lut(u)} | {lut(t)} | {rv('lut_vs_tflite')} | "
                         f"{rv('dsp_vs_tflite')} | {fm(u)} | {fm(t)} | {fm(c)} | "
                         f"{rv('fmax_vs_ceiling')} | {pb} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_synth", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--targets", default="ecp5,ice40")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="two groups per target only")
    ap.add_argument("--matrix", choices=("all", "standard", "device"), default="all",
                    help="standard: the unit vs baselines matrix; device: the family "
                    "primitives per preset (bench/bench_device.py); all: both")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    layers = standard_layers()
    bw = bundled_widths()
    widths = {k: (v.widths, bw[k]) for k, v in layers.items()}
    reports = {}
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench_synth_") as tmp:
        if args.matrix in ("all", "device"):
            from bench.bench_device import main_device

            main_device(args.targets.split(","), seeds, args.jobs, layers, Path(tmp), say)
            if args.matrix == "device":
                return 0
        for t in args.targets.split(","):
            reports[t] = run_target(t, layers, seeds, args.jobs, args.quick, Path(tmp) / t, say)
            write_text_atomic(RESULTS / "synth.md", summary_md(reports, widths))
    print(summary_md(reports, widths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
