"""Choosing the cheaper exact unit of a layer on a target: multiply-shift or thresholds.

Cost of a design = sum over LUT, FF, DSP and BRAM of ``weight * used / available`` on the
target's default device (the fraction of the part each resource takes), so one DSP of an
ECP5-25F (28 multipliers) weighs what 867 of its LUTs do. ``--cost dsp=4,bram=2`` multiplies
those weights (default 1 each). :func:`choose_unit` synthesizes both exact units of the layer
with Yosys (no place and route: the counts the choice needs, seconds per design) and picks the
cheaper; the reason names every figure. Both candidates are exact, so the choice is about
cost only. On iCE40 a logic cell holds one LUT4 and one flip-flop, and a flip-flop shares a
cell only with the LUT that alone drives it: the ``lut`` figure there is the logic-cell
count estimated from the Yosys netlist (:func:`ice40_cells`, within 2 cells of nextpnr's
ICESTORM_LC on the threshold bench's designs), the bare LUT4 count kept as ``lut4``.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from exactbn.formats import SolvedLayer

__all__ = ["CAPACITY", "DEFAULT_WEIGHTS", "parse_cost", "measured_cost", "measure_units",
           "pick_unit", "choose_unit", "ice40_cells"]

RESOURCES = ("lut", "ff", "dsp", "bram")
DEFAULT_WEIGHTS = {"lut": 1.0, "ff": 1.0, "dsp": 1.0, "bram": 1.0}
# Default devices of exactbn.synth.targets: LUT4s, FFs, hard multipliers, block RAMs.
CAPACITY = {
    "ecp5": {"lut": 24288, "ff": 24288, "dsp": 28, "bram": 56},      # LFE5U-25F
    "ice40": {"lut": 5280, "ff": 5280, "dsp": 8, "bram": 30},        # iCE40UP5K
    "gowin": {"lut": 20736, "ff": 15552, "dsp": 48, "bram": 46},     # GW1N-9 class
    "nexus": {"lut": 39600, "ff": 39600, "dsp": 56, "bram": 84},     # LIFCL-40
    "xilinx": {"lut": 20800, "ff": 41600, "dsp": 90, "bram": 50},    # xc7a35t
    "generic": {"lut": 20000, "ff": 20000, "dsp": 40, "bram": 40},
}


def parse_cost(text: str | None) -> dict[str, float]:
    """``"dsp=4,bram=2"`` -> the weights (others 1); ValueError naming the bad entry."""
    weights = dict(DEFAULT_WEIGHTS)
    if text is None or text.strip() == "":
        return weights
    for part in text.split(","):
        key, sep, val = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in RESOURCES:
            raise ValueError(f"--cost: expected k=v with k one of {', '.join(RESOURCES)}, "
                             f"got {part.strip()!r}")
        try:
            w = float(val)
        except ValueError:
            raise ValueError(f"--cost: {key} weight must be a number, "
                             f"got {val.strip()!r}") from None
        if not 0 <= w <= 1e6 or w != w:
            raise ValueError(f"--cost: {key} weight must be in 0..1e6, got {val.strip()!r}")
        weights[key] = w
    return weights


def measured_cost(entry: dict, family: str, weights: dict[str, float] | None = None) -> float:
    """Weighted device fraction of one synthesis entry (``lut``/``ff``/``dsp``/``bram``)."""
    w = weights or DEFAULT_WEIGHTS
    cap = CAPACITY.get(family, CAPACITY["generic"])
    return sum(w[r] * (entry.get(r) or 0) / cap[r] for r in RESOURCES)


def _describe(e: dict) -> str:
    lut = "LC" if "lut4" in e else "LUT"
    return f"{e.get('lut')} {lut}, {e.get('ff')} FF, {e.get('dsp')} DSP, {e.get('bram')} BRAM"


def ice40_cells(netlist: dict) -> int:
    """Logic cells of a flat iCE40 Yosys JSON netlist: every SB_LUT4 and every SB_DFF*, less
    the flip-flops whose D is a LUT4 output with no other sink (nextpnr packs those pairs)."""
    mods = netlist["modules"]
    top = next((n for n, m in mods.items() if m.get("attributes", {}).get("top")),
               max(mods, key=lambda n: len(mods[n].get("cells", {}))))
    m = mods[top]
    sinks: dict[int, int] = {}
    lut_out: set = set()
    cells = 0
    ff_d = []
    for c in m.get("cells", {}).values():
        dirs, conns, kind = c.get("port_directions", {}), c.get("connections", {}), c["type"]
        for port, bits in conns.items():
            if dirs.get(port) == "input":
                for b in bits:
                    sinks[b] = sinks.get(b, 0) + 1
        if kind == "SB_LUT4":
            cells += 1
            lut_out.update(conns.get("O", []))
        elif kind.startswith("SB_DFF"):
            cells += 1
            ff_d += conns.get("D", [])[:1]
    for port in m.get("ports", {}).values():
        if port["direction"] == "output":
            for b in port["bits"]:
                sinks[b] = sinks.get(b, 0) + 1
    return cells - sum(1 for b in ff_d if b in lut_out and sinks.get(b) == 1)


def measure_units(layer: SolvedLayer, family: str, *, file: str | None = None,
                  workdir: str | None = None, **unit_opts) -> dict[str, dict]:
    """Yosys counts (no place and route) of the layer's exact units on ``family``:
    ``{"threshold": entry, "multiply-shift": entry}``; multiply-shift only if its (M, B, N)
    are exact (re-derived). Raises FormatError on bad options, SynthError when Yosys fails."""
    from exactbn.generate import inexact_summary
    from exactbn.synth.designs import build_designs
    from exactbn.synth.flow import SynthError, run_designs
    from exactbn.synth.targets import resolve_target

    target = dataclasses.replace(resolve_target(family), pnr=None, harness=False, ring=False)
    bad, _ = inexact_summary(layer, file)
    from exactbn.threshold_generate import MAX_THRESHOLDS

    kinds = ("exact_threshold",) if bad else ("exact_threshold", "exactbn")
    if layer.qmax - layer.qmin > MAX_THRESHOLDS:
        if bad:
            raise SynthError(f"no exact unit: (M, B, N) are not exact and "
                             f"{layer.qmax - layer.qmin} thresholds per channel exceed "
                             f"{MAX_THRESHOLDS}")
        kinds = ("exactbn",)
    opts = {**unit_opts, "allow_inexact": True}  # the baselines' config is built either way
    with tempfile.TemporaryDirectory(prefix="exactbn-auto-", dir=workdir) as tmp:
        designs = build_designs(layer, target, Path(tmp) / "src", kinds=kinds, file=file, **opts)
        entries = run_designs(designs, target, Path(tmp) / "work", (1,), None, 1)
        for e in entries:
            if e.get("error"):
                raise SynthError(f"{e['kind']}: {e['error']}")
            net = Path(tmp) / "work" / e["name"] / "netlist.json"
            if family == "ice40" and net.exists():
                import json

                e["lut4"], e["lut"] = e["lut"], ice40_cells(json.loads(net.read_text()))
    names = {"exact_threshold": "threshold", "exactbn": "multiply-shift"}
    return {names[e["kind"]]: e for e in entries}


def pick_unit(layer_name: str, family: str, weights: dict[str, float],
              measured: dict[str, dict]) -> tuple[str, str, dict]:
    """``(unit, reason, figures)``: the cheaper of the measured units (ties: threshold)."""
    if "threshold" not in measured:
        ms = measured["multiply-shift"]
        return "multiply-shift", (f"layer {layer_name}: multiply-shift, {_describe(ms)}; too "
                                  "many output levels for the threshold unit"), {
            "multiply-shift": {**{r: ms.get(r) for r in RESOURCES},
                               "cost": measured_cost(ms, family, weights)}}
    th = measured["threshold"]
    cfg = th.get("config", {})
    t_text = (f"thresholds, {cfg.get('thresholds_per_channel')} per channel "
              f"({cfg.get('mode')} search), {_describe(th)}")
    c_t = measured_cost(th, family, weights)
    figures = {"threshold": {**{r: th.get(r) for r in RESOURCES}, "cost": c_t}}
    w_text = ",".join(f"{k}={v:g}" for k, v in weights.items())
    if "multiply-shift" not in measured:
        return "threshold", (f"layer {layer_name}: {t_text}; multiply-shift is not exact on "
                             "this layer"), figures
    ms = measured["multiply-shift"]
    c_m = measured_cost(ms, family, weights)
    figures["multiply-shift"] = {**{r: ms.get(r) for r in RESOURCES}, "cost": c_m}
    m_text = f"multiply-shift, {_describe(ms)}"
    if c_t <= c_m:
        reason = f"layer {layer_name}: {t_text} vs {m_text} (cost {c_t:.4f} vs {c_m:.4f})"
        unit = "threshold"
    else:
        reason = f"layer {layer_name}: {m_text} vs {t_text} (cost {c_m:.4f} vs {c_t:.4f})"
        unit = "multiply-shift"
    return unit, f"{reason} on {family}, weights {w_text}", figures


def choose_unit(layer: SolvedLayer, family: str, weights: dict[str, float], *,
                file: str | None = None, workdir: str | None = None,
                **unit_opts) -> tuple[str, str, dict]:
    """Measure both exact units (:func:`measure_units`) and pick (:func:`pick_unit`)."""
    measured = measure_units(layer, family, file=file, workdir=workdir, **unit_opts)
    return pick_unit(layer.name, family, weights, measured)
