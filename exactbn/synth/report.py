"""Render synthesis results: ``report.json``, ``report.md`` (tables, ratios) and plots.

Input is the list of report entries from :func:`exactbn.synth.flow.run_designs` plus a
``meta`` dict (command line, target, seeds, ...). Ratios pair each exactbn entry with the
baselines of the same target and ``config.group``:

- LUT and DSP of exactbn / TFLite-style requantizer (target <= 0.5 each, at equal or better
  Fmax); LUT = nextpnr's COMB figure, or on harness targets the Yosys LUT4 count of the
  design alone (harness subtracted), as the table says;
- Fmax of exactbn / ceiling multiplier (target >= 1.0 with the deepest pipeline);
- parameter bits per channel of exactbn / threshold unit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from exactbn.formats import write_json_atomic, write_text_atomic

__all__ = ["ratios", "render_markdown", "write_report", "plot_entries", "REPORT_VERSION"]

REPORT_VERSION = 1


def _ratio(a, b) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 3)


def _lut_for_ratio(e: dict) -> tuple[int | None, str]:
    if e.get("harness"):
        return e.get("lut4_yosys_net"), "Yosys LUT4, design alone (harness subtracted)"
    if e.get("target") in ("xilinx", "generic"):
        return e.get("lut"), "Yosys LUT count (no place and route)"
    return e.get("lut"), "nextpnr COMB"


def ratios(entries: list[dict]) -> list[dict[str, Any]]:
    """One row per exactbn entry: its ratios against the baselines of its group."""
    groups: dict[tuple, dict[str, dict]] = {}
    for e in entries:
        key = (e.get("target"), (e.get("config") or {}).get("group"))
        groups.setdefault(key, {})[e.get("kind")] = e
    rows = []
    for (target, group), kinds in groups.items():
        u = kinds.get("exactbn")
        if u is None or u.get("error"):
            continue
        t, c, th = kinds.get("tflite"), kinds.get("ceiling"), kinds.get("threshold")
        lut_u, fig = _lut_for_ratio(u)
        row: dict[str, Any] = {
            "target": target, "group": group, "design": u["name"], "lut_figure": fig,
            "pipeline": u["config"].get("pipeline"), "lanes": u["config"].get("lanes"),
            "shift_mode": u["config"].get("shift_mode"), "w_q": u["config"].get("w_q"),
        }
        if "area_um2" in u:  # asic: area and period ratios (exactbn.synth.asic_report)
            from .asic_report import asic_ratios

            rows.append({**row, **asic_ratios(u, t, c, th)})
            continue
        if t and not t.get("error") and t.get("fits") is not False:
            lut_t, _ = _lut_for_ratio(t)
            row["lut_vs_tflite"] = _ratio(lut_u, lut_t)
            row["dsp_vs_tflite"] = _ratio(u.get("dsp"), t.get("dsp"))
            row["fmax_vs_tflite"] = _ratio(u.get("fmax_mhz"), t.get("fmax_mhz"))
            fm_ok = row["fmax_vs_tflite"] is None or row["fmax_vs_tflite"] >= 1.0
            row["lut_target_met"] = (row["lut_vs_tflite"] is not None
                                     and row["lut_vs_tflite"] <= 0.5 and fm_ok)
            row["dsp_target_met"] = (row["dsp_vs_tflite"] is not None
                                     and row["dsp_vs_tflite"] <= 0.5 and fm_ok)
        if c and not c.get("error") and c.get("fits") is not False:
            row["fmax_vs_ceiling"] = _ratio(u.get("fmax_mhz"), c.get("fmax_mhz"))
        if th and th.get("param_bits_per_channel"):
            row["param_bits_vs_threshold"] = _ratio(u.get("param_bits_per_channel"),
                                                    th.get("param_bits_per_channel"))
        rows.append(row)
    return rows


def _fmt(v, nd: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}" if nd else f"{v:.0f}"
    return str(v)


def _fits(e: dict) -> str:
    if e.get("error"):
        return "ERROR"
    if e.get("fits") is False:
        return "NO"
    return "yes" if e.get("fits") else "n/a"


def render_markdown(report: dict) -> str:
    """The human-readable report: designs table, ratios, critical paths, notes, commands."""
    meta = report.get("meta", {})
    entries = report["designs"]
    if meta.get("target") == "asic":
        from .asic_report import render_asic_markdown

        return render_asic_markdown(report)
    lines = ["# exactbn synthesis report", ""]
    if meta.get("command"):
        lines += ["Reproduce with:", "", "```", meta["command"], "```", ""]
    for k in ("target", "device", "seeds", "freq_mhz", "solved", "layer", "unit_choice"):
        if meta.get(k) is not None:
            lines.append(f"- {k}: `{meta[k]}`")
    tv = next((e.get("tool_versions") for e in entries if e.get("tool_versions")), None)
    if tv:
        for k, v in tv.items():
            lines.append(f"- {k}: {v}")
    lines += [
        "",
        "`LUT` is nextpnr's COMB figure (every LUT4 slot, carry included) where the target has "
        "place and route (on iCE40: logic cells), else Yosys's LUT count; `LUT4 (Yosys)` is "
        "Yosys's LUT4 cells; `Fmax` is the post-route median over the seeds (per seed in "
        "report.json); `param bits/ch` is the parameter memory one channel needs.",
        "",
        "| design | kind | L | pipeline | shift | LUT | LUT4 (Yosys) | FF | CARRY | DSP | BRAM "
        "| Fmax MHz | seeds | param bits/ch | fits |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        c = dict(e.get("config") or {})
        c["pipeline"] = c.get("pipeline_baseline", c.get("pipeline", "-"))
        seeds = ", ".join(f"{v:.1f}" for v in (e.get("fmax_by_seed") or {}).values())
        lines.append(
            f"| {e['name']} | {e['kind']} | {c.get('lanes', '-')} | {c.get('pipeline', '-')} | "
            f"{c.get('shift_mode', '-')} | {_fmt(e.get('lut'))} | {_fmt(e.get('lut4_yosys'))} | "
            f"{_fmt(e.get('ff'))} | {_fmt(e.get('carry'))} | {_fmt(e.get('dsp'))} | "
            f"{_fmt(e.get('bram'))} | {_fmt(e.get('fmax_mhz'))} | {seeds or '-'} | "
            f"{_fmt(e.get('param_bits_per_channel'))} | {_fits(e)} |")
    no_fit = [e for e in entries if e.get("fits") is False or e.get("error")]
    if no_fit:
        lines += ["", "## Not fitting / failed", ""]
        for e in no_fit:
            lines.append(f"- **{e['name']}** on {e.get('device')}: "
                         f"{e.get('error') or e.get('fit_reason')}")
    harnessed = [e for e in entries if e.get("harness")]
    if harnessed:
        lines += ["", "## Serial harness", "",
                  "Pin-limited targets place each design inside a serial-in/serial-out harness "
                  "that keeps every datapath bit live. Its own cost (Yosys, design as a black "
                  "box) is listed here; `LUT`/`FF` in the table include it.", "",
                  "| design | harness LUT4 | harness FF | in bits | out bits | design LUT4 "
                  "(net) | design FF (net) |", "|---|---|---|---|---|---|---|"]
        for e in harnessed:
            h = e["harness"]
            lines.append(f"| {e['name']} | {h['lut4_yosys']} | {h['ff']} | {h['in_bits']} | "
                         f"{h['out_bits']} | {e.get('lut4_yosys_net')} | {e.get('ff_net')} |")
    rows = report.get("ratios") or []
    if rows:
        lines += ["", "## Ratios (exactbn / baseline)", "",
                  "Targets: LUT and DSP vs TFLite-style <= 0.5 each at equal or better Fmax; "
                  "Fmax vs ceiling >= 1.0 with the deepest pipeline.", "",
                  "| target | group | pipeline | L | shift | LUT/TFLite | DSP/TFLite | "
                  "Fmax/TFLite | Fmax/ceiling | param bits/threshold | LUT figure |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            def mark(v, ok):
                return "-" if v is None else (f"{v:.3f}" + ("" if ok is None else
                                                            (" ok" if ok else " MISS")))
            fm_c = r.get("fmax_vs_ceiling")
            lines.append(
                f"| {r['target']} | {r['group']} | {r['pipeline']} | {r['lanes']} | "
                f"{r['shift_mode']} | {mark(r.get('lut_vs_tflite'), r.get('lut_target_met'))} | "
                f"{mark(r.get('dsp_vs_tflite'), r.get('dsp_target_met'))} | "
                f"{mark(r.get('fmax_vs_tflite'), None)} | "
                f"{mark(fm_c, None if fm_c is None else fm_c >= 1.0)} | "
                f"{mark(r.get('param_bits_vs_threshold'), None)} | {r['lut_figure']} |")
    crit = [e for e in entries if e.get("critical_path")]
    if crit:
        lines += ["", "## Critical paths (median seed)", "",
                  "| design | delay ns | logic ns | routing ns | from | to | source lines |",
                  "|---|---|---|---|---|---|---|"]
        for e in crit:
            cp = e["critical_path"]
            lines.append(f"| {e['name']} | {_fmt(cp.get('delay_ns'), 2)} | "
                         f"{_fmt(cp.get('logic_ns'), 2)} | {_fmt(cp.get('routing_ns'), 2)} | "
                         f"`{cp.get('from')}` | `{cp.get('to')}` | "
                         f"{', '.join(cp.get('sources') or []) or '-'} |")
    lines += _dsp_section(entries)
    staged = [e for e in entries if e.get("rounding_stage")]
    if staged:
        lines += ["", "## Hardware rounding stage", "",
                  "Layers whose ties need R_hw in hardware (the solved file's `hw_rounding`); "
                  "the stage's own cells, all lanes:", "",
                  "| design | hw_rounding | lanes | LUT4 | CARRY | FF |",
                  "|---|---|---|---|---|---|"]
        for e in staged:
            r = e["rounding_stage"]
            lines.append(f"| {e['name']} | {r['hw_rounding']} | {r['lanes']} | {r['lut']} | "
                         f"{r['carry']} | {r['ff']} |")
    floor_units = [e for e in entries if e.get("kind") == "exactbn"
                   and (e.get("config") or {}).get("hw_rounding", "floor") == "floor"]
    if floor_units and not staged:
        lines += ["", "Hardware rounding: floor (rounding folded into B; no rounding stage)."]
    broken = [e for e in entries if e.get("cells_by_module")]
    if broken:
        lines += ["", "## Where the logic goes (Yosys, per module, hierarchy kept)", ""]
        for e in broken:
            lines += [f"**{e['name']}**", "", "| module | LUT4 | CARRY | FF | DSP | BRAM |",
                      "|---|---|---|---|---|---|"]
            mods = sorted(e["cells_by_module"].items(),
                          key=lambda kv: -(kv[1].get("lut", 0) + 2 * kv[1].get("carry", 0)))
            for mod, c in mods:
                lines.append(f"| `{mod}` | {c.get('lut', 0)} | {c.get('carry', 0)} | "
                             f"{c.get('ff', 0)} | {c.get('dsp', 0)} | {c.get('bram', 0)} |")
            lines.append("")
    notes = [(e["name"], n) for e in entries for n in (e.get("notes") or [])]
    if notes:
        lines += ["", "## Notes", ""]
        seen = set()
        for name, n in notes:
            if (name, n) not in seen:
                seen.add((name, n))
                lines.append(f"- {name}: {n}")
    for p in report.get("plots") or []:
        lines += ["", f"![{p}]({p})"]
    lines += ["", "The exact tool commands of each design are in report.json (`commands`); "
              "each design's working directory under `work/` can be rerun with them.", ""]
    return "\n".join(lines)


def _dsp_section(entries: list[dict]) -> list[str]:
    """Which DSP registers are on (mapped cell parameters) and whether each Fmax times the
    paths inside the DSP blocks (exactbn.synth.dsp_check)."""
    rows = [e for e in entries if e.get("dsp_timing")]
    if not rows:
        return []
    out = ["", "## DSP blocks: registers and timing", "",
           "Registers on = the mapped cells' parameters (input A, input B, pipeline, output "
           "stage: cells with it on / cells). An Fmax whose DSP-internal paths are not timed is "
           "checked against the characterized internal delays where exactbn has them.", "",
           "| design | cell | registers on (A/B/pipe/out) | Fmax MHz | DSP-internal paths | "
           "internal check |", "|---|---|---|---|---|---|"]
    for e in rows:
        t, r = e["dsp_timing"], e["dsp_registers"]
        st = "/".join(str(r["stages"][k]) for k in ("input_a", "input_b", "pipeline", "output"))
        ok = t.get("internal_ok")
        check = t.get("internal_check", "-") + ("" if ok is None else
                                                (" (ok)" if ok else " (EXCEEDED)"))
        out.append(f"| {e['name']} | {t['cell']} | {st} of {r['count']} | "
                   f"{_fmt(e.get('fmax_mhz'))} | {t['internal_paths']} | {check} |")
    return out


def plot_entries(entries: list[dict], outdir: Path, stem: str = "synth") -> list[str]:
    """PNG plots of LUT and Fmax per kind across configurations (when there are several).

    Returns the file names written (relative to ``outdir``)."""
    groups: list[str] = []
    for e in entries:
        g = (e.get("config") or {}).get("group")
        if g not in groups:
            groups.append(g)
    if len(groups) < 2:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    asic = any("area_um2" in e for e in entries)
    keys = ("area_um2", "min_period_ns") if asic else ("lut", "fmax_mhz")
    fig, axes = plt.subplots(1, 2, figsize=(max(8, 1.1 * len(groups) + 4), 4.5))
    for kind, marker in (("exactbn", "o"), ("tflite", "s"), ("ceiling", "^"),
                         ("threshold", "D")):
        for ax, key in zip(axes, keys, strict=True):
            xs, ys = [], []
            for i, g in enumerate(groups):
                e = next((e for e in entries if e.get("kind") == kind and
                          (e.get("config") or {}).get("group") == g), None)
                if e is not None and e.get(key) is not None and e.get("fits") is not False:
                    xs.append(i)
                    ys.append(e[key])
            if xs:
                ax.plot(xs, ys, marker=marker, label=kind)
    titles = (("area (um^2, Liberty)", "minimum period (ns, OpenSTA)") if asic else
              ("LUT (nextpnr COMB)", "Fmax (MHz, median of seeds)"))
    for ax, title in zip(axes, titles, strict=True):
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels(groups, rotation=45, ha="right", fontsize=7)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    name = f"{stem}.png"
    tmp = outdir / f".{name}.tmp"
    fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    os.replace(tmp, outdir / name)
    return [name]


def write_report(outdir: str | os.PathLike, entries: list[dict], meta: dict | None = None,
                 plots: bool = True, stem: str = "report") -> dict:
    """Write ``<stem>.json`` and ``<stem>.md`` (and plots) into ``outdir``; return the report."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"version": REPORT_VERSION, "meta": meta or {},
                              "designs": entries, "ratios": ratios(entries)}
    report["plots"] = plot_entries(entries, out, stem) if plots else []
    write_json_atomic(out / f"{stem}.json", report)
    write_text_atomic(out / f"{stem}.md", render_markdown(report))
    return report
