"""The demo's report: ``report.md`` and its plots (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["write_plots", "render_report"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    tmp.replace(path)
    return path


def write_plots(d: Path, exp: dict | None, stages) -> list[Path]:
    """N and width distributions, bits saved, baseline mismatches, resources/Fmax."""
    plt = _plt()
    paths: list[Path] = []
    if exp:
        layers = exp["layers"]
        # 1. Distribution of per-channel N: exact vs naive (derived range).
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ex = [n for lay in layers for n in lay["derived"]["per-channel"]["N"]]
        nv = [n for lay in layers for n in lay["derived"]["naive"]["N"] if n is not None]
        lo, hi = min(ex + nv), max(ex + nv)
        bins = [b - 0.5 for b in range(lo, hi + 2)]
        ax.hist([ex, nv], bins=bins, label=["exact (minimal)", "naive rounding"])
        ax.set_xlabel("shift N per channel")
        ax.set_ylabel("channels")
        ax.set_title(f"Minimal N per channel, digits CNN ({len(ex)} BN channels)")
        ax.legend()
        paths.append(_save(fig, d / "n_distribution.png"))
        plt.close(fig)
        # 2. Widths per layer: W_M, W_B, n_max exact vs naive.
        fig, ax = plt.subplots(figsize=(7, 3.5))
        names = [lay["name"] for lay in layers]
        keys = [("M", "W_M"), ("B", "W_B"), ("n_max", "n_max")]
        width = 0.13
        for i, (k, label) in enumerate(keys):
            e = [lay["derived"]["per-channel"]["widths"][k] for lay in layers]
            n = [lay["derived"]["naive"].get("widths", {}).get(k, 0) for lay in layers]
            xs = [j + (2 * i) * width for j in range(len(layers))]
            ax.bar(xs, e, width, label=f"{label} exact")
            ax.bar([x + width for x in xs], n, width, label=f"{label} naive", alpha=0.6)
        ax.set_xticks([j + 2.5 * width for j in range(len(layers))], names)
        ax.set_ylabel("bits")
        ax.set_title("Register widths per layer (per-channel shift, derived range)")
        ax.legend(ncol=3, fontsize=7)
        paths.append(_save(fig, d / "widths.png"))
        plt.close(fig)
        # 3. Bits saved.
        fig, ax = plt.subplots(figsize=(6, 3.2))
        cats = ["N", "M", "B", "param_bits_per_channel"]
        for i, lay in enumerate(layers):
            bs = lay.get("bits_saved") or {}
            ax.bar([j + i * 0.25 for j in range(len(cats))], [bs.get(c, 0) for c in cats], 0.25,
                   label=lay["name"])
        ax.set_xticks([j + 0.25 for j in range(len(cats))],
                      ["N (n_max)", "W_M", "W_B", "bits/channel"])
        ax.set_ylabel("bits saved vs naive")
        ax.legend(fontsize=8)
        paths.append(_save(fig, d / "bits_saved.png"))
        plt.close(fig)
        # 4. Baseline mismatches (every input of the derived range, and test activations).
        fig, ax = plt.subplots(figsize=(7, 3.5))
        series = [("integer model (exactbn)", "integer_model_mismatches"),
                  ("TFLite-style", "tflite_mismatches"), ("float32", "float32_mismatches")]
        for i, (label, key) in enumerate(series):
            vals = [lay["sweep"][key] for lay in layers]
            real = [lay.get("real", {}).get(key, 0) for lay in layers]
            ax.bar([j + i * 0.13 for j in range(len(layers))], [v + 1 for v in vals], 0.13,
                   label=f"{label}: whole derived range")
            ax.bar([j + (i + 3) * 0.13 for j in range(len(layers))], [v + 1 for v in real],
                   0.13, label=f"{label}: test activations", hatch="//")
        ax.set_yscale("log")
        ax.set_ylim(bottom=0.8)
        ax.set_xticks([j + 0.33 for j in range(len(layers))], [lay["name"] for lay in layers])
        ax.set_ylabel("outputs differing from exact + 1 (log)")
        ax.set_title("Baselines against the exact reference (exactbn: 0 everywhere)")
        ax.legend(fontsize=6, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.12))
        paths.append(_save(fig, d / "baseline_mismatches.png"))
        plt.close(fig)
    synth = next((s for s in stages if s.name == "synth" and s.data.get("rows")), None)
    if synth:
        rows = synth.data["rows"]
        layers = list(dict.fromkeys(r["layer"] for r in rows))
        kinds = list(dict.fromkeys(r["kind"] for r in rows))
        fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
        w = 0.8 / max(1, len(kinds))
        for ax, key, title in zip(axes, ("lut", "ff", "fmax_mhz"),
                                  ("LUT (nextpnr COMB)", "FF", "Fmax (MHz, post-route)"),
                                  strict=True):
            for i, k in enumerate(kinds):
                vals = [next((r.get(key) or 0 for r in rows if r["layer"] == lay
                              and r["kind"] == k), 0) for lay in layers]
                ax.bar([j + i * w for j in range(len(layers))], vals, w, label=k)
            ax.set_xticks([j + 0.4 - w / 2 for j in range(len(layers))], layers, fontsize=8)
            ax.set_title(title, fontsize=9)
        axes[0].legend(fontsize=7)
        fig.suptitle(f"ECP5 LFE5U-25F, out of context, seed(s) {synth.data.get('seeds', '1')}",
                     fontsize=9, y=1.04)
        paths.append(_save(fig, d / "resources_fmax.png"))
        plt.close(fig)
    return paths


def _table(rows: list[dict], cols: list[tuple[str, str]]) -> list[str]:
    out = ["| " + " | ".join(h for h, _ in cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        out.append("| " + " | ".join("-" if r.get(k) is None else str(r.get(k))
                                     for _, k in cols) + " |")
    return out


def _synth_ratios(rows: list[dict]) -> list[dict]:
    def ratio(a, b):
        return None if a is None or not b else round(a / b, 3)

    out = []
    for layer in dict.fromkeys(r["layer"] for r in rows):
        by = {r["kind"]: r for r in rows if r["layer"] == layer}
        e = by.get("exactbn")
        if not e:
            continue
        t, c, th = by.get("tflite", {}), by.get("ceiling", {}), by.get("threshold", {})
        out.append({"layer": layer, "lut_tflite": ratio(e.get("lut"), t.get("lut")),
                    "dsp_tflite": ratio(e.get("dsp"), t.get("dsp")),
                    "fmax_tflite": ratio(e.get("fmax_mhz"), t.get("fmax_mhz")),
                    "fmax_ceiling": ratio(e.get("fmax_mhz"), c.get("fmax_mhz")),
                    "bits_threshold": ratio(e.get("param_bits_per_channel"),
                                            th.get("param_bits_per_channel"))})
    return out


def render_report(ctx: dict[str, Any], stages, plots: list[Path]) -> str:
    """``demo/report.md``: stage table, missing stages said plainly, experiment, sim, synth."""
    from exactbn.golden.experiment import render_markdown

    out: Path = ctx["out"]
    bad = [s for s in stages if s.status == "failed"]
    missing = [s for s in stages if s.status == "missing"]
    lines = ["# exactbn demo: digits CNN -> exact BN hardware", "",
             "Rerun: `make demo` (= `exactbn demo -o demo`). Model: "
             "`exactbn/data/digits_qdq.onnx` (trained by `models/train_digits.py`, seed 0).", ""]
    verdict = "**All stages that ran are bit-exact.**" if not bad else (
        "**NOT bit-exact / failed: " + ", ".join(s.name for s in bad) + "**")
    lines += [verdict, ""]
    for s in missing:
        lines.append(f"> **Stage `{s.name}` is missing**: {s.summary}. Its results are absent "
                     "from this report.")
    if missing:
        lines.append("")
    lines += ["## Stages", "", "| stage | status | time (s) | summary |", "|---|---|---|---|"]
    for s in stages:
        lines.append(f"| {s.name} | {s.status} | {s.seconds:.1f} | {s.summary} |")
    lines += ["", "Commands (each stage alone):", ""]
    for s in stages:
        for c in s.commands:
            lines.append(f"    {c}")
    imp = next((s for s in stages if s.name == "import" and s.data), None)
    if imp:
        lines += ["", "## Imported layers", ""]
        lines += _table(imp.data["rows"], [("layer", "name"), ("pattern", "pattern"),
                                           ("channels", "channels"), ("acc bits", "acc_bits"),
                                           ("derived range", "range"),
                                           ("output", "output")])
        for sk in imp.data.get("skipped", []):
            lines.append(f"\nSkipped: {sk}")
    sol = next((s for s in stages if s.name == "solve" and s.data), None)
    if sol:
        lines += ["", "## Solved layers (per-channel shift)", ""]
        lines += _table(sol.data["rows"], [("layer", "layer"), ("channels", "channels"),
                                           ("hw rounding", "hw_rounding"), ("n_max", "n_max"),
                                           ("W_M", "W_M"), ("W_B", "W_B"), ("W_N", "W_N"),
                                           ("exact channels", "exact"),
                                           ("re-check", "verified")])
    if ctx.get("experiment"):
        lines += ["", render_markdown(ctx["experiment"]).replace("## Layer-level", "## Layer-level"
                                                                 )]
    gen = next((s for s in stages if s.name == "generate" and s.data), None)
    if gen:
        lines += ["## Generated Verilog", ""]
        lines += _table([{**r, "files": ", ".join(r["files"][:8])} for r in gen.data["rows"]],
                        [("layer", "layer"), ("exit", "rc"), ("latency", "latency"),
                         ("files", "files")])
    sim = next((s for s in stages if s.name == "sim" and s.data), None)
    if sim:
        lines += ["", "## Simulation (cocotb on Verilator, against golden's integer model)", ""]
        lines += _table(sim.data["rows"], [("layer", "layer"), ("passed", "passed"),
                                           ("lane results", "lane_results"),
                                           ("also vs exact reference", "reference_checked"),
                                           ("mismatches", "mismatches"),
                                           ("time (s)", "seconds"), ("summary", "last")])
    syn = next((s for s in stages if s.name == "synth" and s.data.get("rows")), None)
    if syn:
        seeds = syn.data.get("seeds", "1")
        lines += ["", "## ECP5 synthesis (Yosys + nextpnr out of context; LUT = nextpnr COMB)",
                  "", f"Placer seed(s) {seeds}" + (" only, to keep the demo short; "
                  "`exactbn synth ... --seeds 1,2,3` reports the median over three seeds."
                  if "," not in str(seeds) else "; Fmax is their median."), ""]
        lines += _table(syn.data["rows"], [("layer", "layer"), ("design", "design"),
                                           ("kind", "kind"), ("LUT", "lut"),
                                           ("LUT4 (yosys)", "lut4_yosys"), ("FF", "ff"),
                                           ("DSP", "dsp"), ("BRAM", "bram"),
                                           ("Fmax MHz", "fmax_mhz"),
                                           ("param bits/ch", "param_bits_per_channel")])
        ratios = _synth_ratios(syn.data["rows"])
        if ratios:
            lines += ["", "Ratios (exactbn / baseline, same layer, same widths):", ""]
            lines += _table(ratios, [("layer", "layer"), ("LUT / TFLite", "lut_tflite"),
                                     ("DSP / TFLite", "dsp_tflite"),
                                     ("Fmax / TFLite", "fmax_tflite"),
                                     ("Fmax / ceiling", "fmax_ceiling"),
                                     ("param bits / threshold", "bits_threshold")])
    if plots:
        lines += ["", "## Plots", ""]
        for p in plots:
            lines.append(f"![{p.stem}]({p.relative_to(out)})")
    lines.append("")
    return "\n".join(lines)
