"""The ASIC parts of the synthesis report: ratios and the markdown tables.

Targets (one run, same widths): area of exactbn / TFLite-style requantizer <= 0.30;
minimum period of exactbn <= 1.1 x the ceiling multiplier's. The threshold unit's area is
reported beside it, and a row says plainly when the threshold unit is the smaller design.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AREA_TARGET", "PERIOD_TARGET", "asic_ratios", "limits", "render_asic_markdown"]

AREA_TARGET = 0.30
PERIOD_TARGET = 1.1


def _ratio(a, b) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 3)


def _ok(e: dict | None) -> bool:
    return bool(e) and not e.get("error")


def asic_ratios(u: dict, t: dict | None, c: dict | None, th: dict | None) -> dict[str, Any]:
    """Area and period ratios of one exactbn entry against its group's baselines."""
    row: dict[str, Any] = {"lut_figure": "area um^2 (Liberty)"}
    if _ok(t):
        row["area_vs_tflite"] = _ratio(u.get("area_um2"), t.get("area_um2"))
        row["area_target_met"] = (row["area_vs_tflite"] is not None
                                  and row["area_vs_tflite"] <= AREA_TARGET)
        row["period_vs_tflite"] = _ratio(u.get("min_period_ns"), t.get("min_period_ns"))
    if _ok(c):
        row["period_vs_ceiling"] = _ratio(u.get("min_period_ns"), c.get("min_period_ns"))
        row["period_target_met"] = (row["period_vs_ceiling"] is not None
                                    and row["period_vs_ceiling"] <= PERIOD_TARGET)
    if _ok(th):
        row["area_vs_threshold"] = _ratio(u.get("area_um2"), th.get("area_um2"))
        row["threshold_smaller"] = (row["area_vs_threshold"] is not None
                                    and row["area_vs_threshold"] > 1.0)
        if th.get("param_bits_per_channel"):
            row["param_bits_vs_threshold"] = _ratio(u.get("param_bits_per_channel"),
                                                    th.get("param_bits_per_channel"))
    return row


def _f(v, nd: int = 2) -> str:
    if v is None:
        return "-"
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def _mark(v, ok) -> str:
    return "-" if v is None else f"{v:.3f}" + ("" if ok is None else (" ok" if ok else " MISS"))


_XOR = ("XOR", "XNOR", "FA", "HA")
_CARRY = ("AOI", "OAI")


def limits(e: dict) -> str:
    """What limits one design, read off its report entry: the critical path's ends, its
    cells by kind (XOR/XNOR = sum bits of a partial-product tree or adder, AOI/OAI chains =
    carry propagation, MUX = shifter/selection), and the largest module by area."""
    cp = e.get("critical_path") or {}
    thr = [c.upper() for c in (cp.get("through") or [])[2:]]  # after the launching FF
    n_x = sum(c.startswith(_XOR) for c in thr)
    n_c = sum(c.startswith(_CARRY) for c in thr)
    n_m = sum(c.startswith("MUX") for c in thr)
    kinds = [f"{n} {what}" for n, what in ((n_x, "XOR/XNOR (sum bits)"),
                                           (n_c, "AOI/OAI (carry chain)"),
                                           (n_m, "MUX")) if n]
    def end(kind: str | None) -> str:
        return (kind or "?").split(" clocked")[0].replace("rising edge-triggered ", "")

    ends = f"{end(cp.get('from_kind'))} -> {end(cp.get('to_kind'))}"
    text = (f"period {e.get('min_period_ns')} ns: {ends}, {cp.get('logic_cells')} cells"
            + (f" ({', '.join(kinds)})" if kinds else ""))
    mods = e.get("area_by_module") or {}
    if mods:
        top = list(mods.items())[:2]
        text += "; area: " + ", ".join(f"{m} {r['share']:.0%}" for m, r in top)
    seq, area = e.get("sequential_area_um2"), e.get("area_um2")
    if seq and area:
        text += f"; flip-flops {seq / area:.0%} of the area"
    return text


def _module_lines(entries: list[dict]) -> list[str]:
    """The per-module area table (``--breakdown``): module, um2, share, flip-flop um2."""
    broken = [e for e in entries if e.get("area_by_module")]
    if not broken:
        return []
    out = ["", "## Where the area goes (by module, hierarchy kept)", "",
           "A second Yosys/ABC run with the hierarchy kept (no -D), each module's own cells "
           "at their Liberty areas; lane modules summed (`mul*`). `store` is the parameter "
           "ROM (as logic) with its read register, `mul*` the multiply-add, `shift*` the "
           "shifter, `skid` the input skid buffer, `(top)`/`core` the pipeline registers of "
           "the beat (data, user, last, valid) and the stall control.", "",
           "| design | module: um2 (share, of which flip-flops um2) |", "|---|---|"]
    for e in broken:
        parts = [f"{m}: {r['area_um2']:.0f} ({r['share']:.0%}, FF {r['ff_area_um2']:.0f})"
                 for m, r in e["area_by_module"].items()]
        out.append(f"| {e['name']} | " + "; ".join(parts) + " |")
    return out


def render_asic_markdown(report: dict) -> str:
    """report.md for ``--target asic``: designs, ratios, critical paths, storage, commands."""
    meta = report.get("meta", {})
    entries = report["designs"]
    lines = ["# exactbn ASIC synthesis report", ""]
    if meta.get("command"):
        lines += ["Reproduce with:", "", "```", meta["command"], "```", ""]
    for k in ("target", "device", "library", "freq_mhz", "solved", "layer"):
        if meta.get(k) is not None:
            lines.append(f"- {k}: `{meta[k]}`")
    tv = next((e.get("tool_versions") for e in entries if e.get("tool_versions")), None)
    for k, v in (tv or {}).items():
        lines.append(f"- {k}: {v}")
    lines += [
        "",
        "Yosys `synth -flatten; dfflibmap; abc -liberty -D <period>` onto the library; area = "
        "sum of the Liberty cell areas (no placement, no wires, no clock tree); minimum "
        "period = requested period - worst setup slack from OpenSTA with ideal clock and "
        "wires, inputs and outputs constrained at the clock edge.",
        "",
        "| design | kind | L | pipeline | shift | area um2 | cells | FF | comb | "
        "min period ns | MHz | slack ns | param bits/ch | param storage |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        c = dict(e.get("config") or {})
        pipe = c.get("pipeline_baseline", c.get("pipeline", "-"))
        if e.get("error"):
            lines.append(f"| {e['name']} | {e['kind']} | {c.get('lanes', '-')} | {pipe} | "
                         f"{c.get('shift_mode', '-')} | ERROR | | | | | | | | |")
            continue
        st = e.get("param_storage") or {}
        store = f"{st['bits']} bits as {st['as']}" if st else "-"
        lines.append(
            f"| {e['name']} | {e['kind']} | {c.get('lanes', '-')} | {pipe} | "
            f"{c.get('shift_mode', '-')} | {_f(e.get('area_um2'), 0)} | {e.get('cells')} | "
            f"{e.get('ff')} | {e.get('comb')} | {_f(e.get('min_period_ns'))} | "
            f"{_f(e.get('fmax_mhz'), 1)} | {_f(e.get('slack_ns'))} | "
            f"{_f(e.get('param_bits_per_channel'))} | {store} |")
    failed = [e for e in entries if e.get("error")]
    if failed:
        lines += ["", "## Failed", ""] + [f"- **{e['name']}**: {e['error']}" for e in failed]
    rows = report.get("ratios") or []
    if rows:
        lines += ["", "## Ratios (exactbn / baseline)", "",
                  f"Targets: area vs TFLite-style <= {AREA_TARGET}; minimum period vs ceiling "
                  f"multiplier <= {PERIOD_TARGET}.", "",
                  "| group | pipeline | L | shift | W_Q | area/TFLite | period/ceiling | "
                  "period/TFLite | area/threshold | param bits/threshold |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(
                f"| {r['group']} | {r['pipeline']} | {r['lanes']} | {r['shift_mode']} | "
                f"{r.get('w_q')} | {_mark(r.get('area_vs_tflite'), r.get('area_target_met'))} | "
                f"{_mark(r.get('period_vs_ceiling'), r.get('period_target_met'))} | "
                f"{_mark(r.get('period_vs_tflite'), None)} | "
                f"{_mark(r.get('area_vs_threshold'), None)} | "
                f"{_mark(r.get('param_bits_vs_threshold'), None)} |")
        wins = [r for r in rows if r.get("threshold_smaller")]
        for r in wins:
            lines.append("")
            lines.append(f"**The threshold unit is smaller than exactbn in group {r['group']}** "
                         f"(exactbn / threshold area = {r['area_vs_threshold']:.3f}).")
    crit = [e for e in entries if e.get("critical_path")]
    if crit:
        lines += ["", "## Critical paths (OpenSTA, worst setup path)", "",
                  "| design | delay ns | cells | from | to | through |",
                  "|---|---|---|---|---|---|"]
        for e in crit:
            cp = e["critical_path"]
            through = cp.get("through") or []
            thr = " ".join(through[:24]) + (" ..." if len(through) > 24 else "")
            lines.append(f"| {e['name']} | {_f(cp.get('delay_ns'))} | {cp.get('logic_cells')} | "
                         f"`{cp.get('from')}` ({cp.get('from_kind')}) | `{cp.get('to')}` "
                         f"({cp.get('to_kind')}) | {thr} |")
    lines += ["", "## Where the area goes (cells by name)", ""]
    for e in entries:
        if e.get("error"):
            continue
        top = sorted((e.get("cells_by_name") or {}).items(), key=lambda kv: -kv[1])[:8]
        lines.append(f"- {e['name']}: sequential {_f(e.get('sequential_area_um2'), 0)} um2 of "
                     f"{_f(e.get('area_um2'), 0)}; " + ", ".join(f"{k} {v}" for k, v in top))
    lines += _module_lines(entries)
    lines += ["", "## What limits each design", ""]
    lines += [f"- {e['name']}: {limits(e)}" for e in entries if e.get("critical_path")]
    notes = []
    for e in entries:
        for n in e.get("notes") or []:
            if (e["name"], n) not in notes:
                notes.append((e["name"], n))
    if notes:
        lines += ["", "## Notes", ""] + [f"- {name}: {n}" for name, n in notes]
    for p in report.get("plots") or []:
        lines += ["", f"![{p}]({p})"]
    lines += ["", "Each design's netlist (`netlist.v`), Yosys script (`map.ys`) and OpenSTA "
              "script (`sta.tcl`) are under `work/<design>/`; the exact commands are in "
              "report.json (`commands`).", ""]
    return "\n".join(lines)
