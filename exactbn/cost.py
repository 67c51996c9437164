"""Choosing the cheaper exact unit of a layer on a target: multiply-shift or thresholds.

Cost of a design = sum over LUT, FF, DSP and BRAM of ``weight * used / available`` on the
target's default device (the fraction of the part each resource takes), so one DSP of an
ECP5-25F (28 multipliers) weighs what 867 of its LUTs do, plus an Fmax term
``fmax_weight * max(0, f_req / fmax - 1)``: the fraction by which the design's Fmax falls short
of the requested clock (``--freq``, else the target's default: ECP5 200, iCE40 100 MHz), zero
for a design that meets it, infinite for one that does not place. ``--cost dsp=4,bram=2,fmax=1``
sets the weights (lut, ff, dsp, bram default 1; fmax default 0). :func:`choose_unit`
synthesizes both exact units of the layer with Yosys (no place and route: the counts the choice
needs, seconds per design) and picks the cheaper; with an Fmax weight it also places and
routes both (nextpnr, seed 1, the target's own harness: then every figure is nextpnr's, and
it takes minutes). The reason names every figure. Both candidates are exact, so the choice is
about cost only. On iCE40 a logic cell holds one LUT4 and one flip-flop, and a flip-flop shares
a cell only with the LUT that alone drives it: the ``lut`` figure there (Yosys only) is the
logic-cell count estimated from the Yosys netlist (:func:`ice40_cells`, within 2 cells of
nextpnr's ICESTORM_LC on the threshold bench's designs), the bare LUT4 count kept as ``lut4``.
The model's error against placed synthesis, per resource, is in bench/results/threshold.md.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from exactbn.formats import SolvedLayer

__all__ = ["CAPACITY", "DEFAULT_WEIGHTS", "WEIGHT_KEYS", "parse_cost", "measured_cost",
           "fmax_shortfall", "default_freq", "measure_units", "pick_unit", "choose_unit",
           "ice40_cells"]

RESOURCES = ("lut", "ff", "dsp", "bram")
WEIGHT_KEYS = (*RESOURCES, "fmax")
DEFAULT_WEIGHTS = {"lut": 1.0, "ff": 1.0, "dsp": 1.0, "bram": 1.0, "fmax": 0.0}
PLACED_FAMILIES = ("ecp5", "ice40", "gowin", "nexus")  # nextpnr: an Fmax to weigh
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
    """``"dsp=4,bram=2,fmax=1"`` -> the weights (lut/ff/dsp/bram 1, fmax 0 unless given);
    ValueError (one line) naming the bad entry: unknown or repeated key, no ``=``, not a
    finite number in 0..1e6."""
    import math

    weights = dict(DEFAULT_WEIGHTS)
    if text is None or text.strip() == "":
        return weights
    seen: set[str] = set()
    for part in text.split(","):
        key, sep, val = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in WEIGHT_KEYS:
            raise ValueError(f"--cost: expected k=v with k one of {', '.join(WEIGHT_KEYS)}, "
                             f"got {part.strip()!r}")
        if key in seen:
            raise ValueError(f"--cost: {key} given twice")
        seen.add(key)
        try:
            w = float(val)
        except ValueError:
            raise ValueError(f"--cost: {key} weight must be a number, "
                             f"got {val.strip()!r}") from None
        if not math.isfinite(w) or not 0 <= w <= 1e6:
            raise ValueError(f"--cost: {key} weight must be in 0..1e6, got {val.strip()!r}")
        weights[key] = w
    return weights


def fmax_shortfall(entry: dict, freq_mhz: float) -> float:
    """``max(0, f_req / fmax - 1)``: how far the design's Fmax falls short of ``freq_mhz``
    (0 when it meets it; infinite when it has no Fmax: it did not place)."""
    f = entry.get("fmax_mhz")
    if not f:
        return float("inf")
    return max(0.0, freq_mhz / f - 1.0)


def measured_cost(entry: dict, family: str, weights: dict[str, float] | None = None,
                  freq_mhz: float | None = None) -> float:
    """Weighted device fraction of one synthesis entry (``lut``/``ff``/``dsp``/``bram``), plus
    ``weights["fmax"] * fmax_shortfall`` when that weight is set (``freq_mhz``: the requested
    clock, default the target's)."""
    w = {**DEFAULT_WEIGHTS, **(weights or {})}
    cap = CAPACITY.get(family, CAPACITY["generic"])
    cost = sum(w[r] * (entry.get(r) or 0) / cap[r] for r in RESOURCES)
    if w["fmax"]:
        cost += w["fmax"] * fmax_shortfall(entry, freq_mhz or default_freq(family))
    return cost


def default_freq(family: str) -> float:
    """The target's default clock (MHz): what the Fmax term asks for without ``--freq``."""
    from exactbn.synth.targets import resolve_target

    return resolve_target(family).default_freq_mhz


def _describe(e: dict) -> tuple[str, str]:
    """``("0 DSP, 212 LUT", "106 FF, 0 BRAM[, 242.0 MHz]")``: the issue's short form first."""
    lut = "LC" if "lut4" in e else "LUT"
    extra = f"{e.get('ff')} FF, {e.get('bram')} BRAM"
    if e.get("placed"):
        f = e.get("fmax_mhz")
        extra += f", {f} MHz" if f else ", does not place"
    return f"{e.get('dsp')} DSP, {e.get('lut')} {lut}", extra


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
                  workdir: str | None = None, place: bool = False,
                  freq_mhz: float | None = None, **unit_opts) -> dict[str, dict]:
    """Yosys counts (no place and route) of the layer's exact units on ``family``:
    ``{"threshold": entry, "multiply-shift": entry}``; multiply-shift only if its (M, B, N)
    are exact (re-derived). ``place``: nextpnr too (seed 1, the target's harness, every
    figure nextpnr's, ``fmax_mhz`` measured; ``placed`` set). Raises FormatError on bad
    options, SynthError when a tool fails, ValueError for ``place`` on a family without
    place and route."""
    from exactbn.generate import inexact_summary
    from exactbn.hw.threshold_config import stages_for
    from exactbn.synth.designs import build_designs
    from exactbn.synth.flow import SynthError, run_designs
    from exactbn.synth.targets import resolve_target

    stages = unit_opts.pop("stages", None)  # the threshold design takes the family's own
    if stages not in (None, stages_for(family)):
        raise ValueError(f"--unit auto measures the threshold unit with {family}'s stages "
                         f"({stages_for(family)}), not {stages}")
    if place and family not in PLACED_FAMILIES:
        raise ValueError(f"--cost fmax weighs a placed Fmax: --target {family} has no place "
                         f"and route here (one of {', '.join(PLACED_FAMILIES)})")
    target = resolve_target(family)
    if not place:
        target = dataclasses.replace(target, pnr=None, harness=False, ring=False)
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
        entries = run_designs(designs, target, Path(tmp) / "work", (1,), freq_mhz, 1)
        for e in entries:
            if e.get("error"):
                raise SynthError(f"{e['kind']}: {e['error']}")
            e["placed"] = place
            net = Path(tmp) / "work" / e["name"] / "netlist.json"
            if family == "ice40" and net.exists() and not place:
                import json

                e["lut4"], e["lut"] = e["lut"], ice40_cells(json.loads(net.read_text()))
    names = {"exact_threshold": "threshold", "exactbn": "multiply-shift"}
    return {names[e["kind"]]: e for e in entries}


def _figures(e: dict, family: str, weights: dict, freq_mhz: float | None) -> dict:
    out = {**{r: e.get(r) for r in RESOURCES},
           "cost": measured_cost(e, family, weights, freq_mhz)}
    if e.get("placed"):
        out["fmax_mhz"] = e.get("fmax_mhz")
    return out


def pick_unit(layer_name: str, family: str, weights: dict[str, float],
              measured: dict[str, dict], freq_mhz: float | None = None
              ) -> tuple[str, str, dict]:
    """``(unit, reason, figures)``: the cheaper of the measured units (ties: threshold). The
    reason reads as the issue's "layer conv3_bn: thresholds, 15 per channel, 0 DSP, 212 LUT vs
    2 DSP, 187 LUT", the chosen unit first, the rest of the figures in brackets."""
    weights = {**DEFAULT_WEIGHTS, **weights}
    w_text = ",".join(f"{k}={v:g}" for k, v in weights.items())
    if weights["fmax"]:
        w_text += f" at {freq_mhz or default_freq(family):g} MHz"
    if "threshold" not in measured:
        ms = measured["multiply-shift"]
        main, extra = _describe(ms)
        return "multiply-shift", (f"layer {layer_name}: multiply-shift, {main} ({extra}); too "
                                  "many output levels for the threshold unit"), {
            "multiply-shift": _figures(ms, family, weights, freq_mhz)}
    th = measured["threshold"]
    cfg = th.get("config", {})
    main, extra = _describe(th)
    t_text = (f"thresholds, {cfg.get('thresholds_per_channel')} per channel, {main} ({extra}; "
              f"{cfg.get('mode')} search)")
    figures = {"threshold": _figures(th, family, weights, freq_mhz)}
    c_t = figures["threshold"]["cost"]
    if "multiply-shift" not in measured:
        return "threshold", (f"layer {layer_name}: {t_text}; multiply-shift is not exact on "
                             "this layer"), figures
    ms = measured["multiply-shift"]
    figures["multiply-shift"] = _figures(ms, family, weights, freq_mhz)
    c_m = figures["multiply-shift"]["cost"]
    main, extra = _describe(ms)
    if c_t <= c_m:
        reason = (f"layer {layer_name}: {t_text} vs {main} ({extra}; multiply-shift) "
                  f"(cost {c_t:.4f} vs {c_m:.4f})")
        unit = "threshold"
    else:
        reason = (f"layer {layer_name}: multiply-shift, {main} ({extra}) vs {t_text} "
                  f"(cost {c_m:.4f} vs {c_t:.4f})")
        unit = "multiply-shift"
    return unit, f"{reason} on {family}, weights {w_text}", figures


def choose_unit(layer: SolvedLayer, family: str, weights: dict[str, float], *,
                file: str | None = None, workdir: str | None = None,
                freq_mhz: float | None = None, **unit_opts) -> tuple[str, str, dict]:
    """Measure both exact units (:func:`measure_units`; placed when ``weights["fmax"]``) and
    pick (:func:`pick_unit`)."""
    place = bool((weights or {}).get("fmax"))
    measured = measure_units(layer, family, file=file, workdir=workdir, place=place,
                             freq_mhz=freq_mhz, **unit_opts)
    return pick_unit(layer.name, family, weights or DEFAULT_WEIGHTS, measured, freq_mhz)
