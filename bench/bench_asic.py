"""``make bench-asic``: the standard comparison mapped to a standard-cell library (OSU018).

The layers of ``make bench-synth`` (conv1_bn: int8 out, conv2_bn_relu: uint4 out, both grown
to C = 64 channels, 16-bit signed inputs, per-channel and shared shift), the exactbn unit
beside the ceiling multiplier, the TFLite-style requantizer and the threshold unit, each
through ``exactbn synth --target asic``'s flow: Yosys/ABC onto the library, area from the
Liberty areas, minimum period from OpenSTA. Baselines that do not depend on the shift mode
or the pipeline are mapped once and shown in every group they belong to. One design at a
time.

Without arguments it runs :data:`PLAN` (presets at L = 1; L = 4; shared shift; 12-bit
partial products; Booth; the W_X/W_Q sweep) and merges the runs into
bench/results/asic.{json,md,png} (sweep: asic_sweep_csa.{json,md}, asic_wx.png, asic_wq.png).
One run: ``python -m bench.bench_asic --layers/--modes/--lanes/--pipelines/--kinds ...
--stem NAME`` (``--pp-width``, ``--synth``, ``--sweep WX,..:WQ,..``, ``--breakdown``,
``--library``, ``--freq``); ``--merge A,B --stem C`` merges earlier runs.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import random
import shlex
import sys
import tempfile
import time
from pathlib import Path

from exactbn.golden.solver import solve_layer

from bench.bench_synth import CHANNELS, LAYERS, PIPELINES, standard_layers
from exactbn.formats import parse_layers, write_json_atomic, write_text_atomic
from exactbn.synth.designs import build_designs
from exactbn.synth.flow import run_designs
from exactbn.synth.report import write_report
from exactbn.synth.targets import resolve_target

RESULTS = Path(__file__).resolve().parent / "results"


def _short(mode: str) -> str:
    return "pc" if mode == "per-channel" else "sh"


def run(groups, library: str, freq: float, jobs: int, workroot: Path, say,
        stem: str = "asic", baseline_pipeline: str | None = None,
        kinds: tuple[str, ...] = ("exactbn", "ceiling", "tflite", "threshold"),
        layers: dict | None = None, synth: str | None = None, breakdown: bool = False,
        plot=None, pp_width: int | None = None, tag: str = "", family: str = "asic") -> dict:
    """Map every group's designs; write asic.{json,md,png} after each design (``meta``
    says how many are done), return the report. ``baseline_pipeline`` maps the TFLite-style
    and threshold baselines at that one preset for every group (they are the slow ones).
    ``layers`` replaces the standard layers ({(label, mode): solved}), ``synth`` the Yosys
    synth command of every design (e.g. ``synth -flatten -booth``), ``breakdown`` adds the
    area per module, ``plot(report)`` draws extra plots after each write. ``pp_width``
    splits every design's multiplier into partial products of that many operand bits, each
    registered (default 18, the FPGA DSP width), with ``family`` ``generic`` only: ``asic``
    (the default) builds the unit's and the ceiling's multipliers as the registered
    carry-save tree of hw/asic_multiplier.py; ``tag`` is appended to the group names."""
    target = resolve_target("asic", library)
    if synth:
        target = dataclasses.replace(target, yosys_synth=synth)
    if pp_width:
        target = dataclasses.replace(target, dsp_a=pp_width, dsp_b=pp_width)
    layers = layers or standard_layers()
    designs, unique = [], {}
    members: dict[str, list[tuple[str, str]]] = {}
    for label, mode, lanes, pipe in groups:
        group = f"{label}-L{lanes}-{pipe.replace(',', '+')}-{_short(mode)}{tag}"
        members[group] = []
        bpipe = baseline_pipeline or pipe
        keys = {"exactbn": group, "ceiling": f"{label}-L{lanes}-{_short(mode)}{tag}",
                "tflite": f"{label}-L{lanes}-{bpipe}{tag}",
                "threshold": f"{label}-L{lanes}-{bpipe}{tag}"}
        for kind, key in keys.items():
            if kind not in kinds:
                continue
            name = f"{kind}_{key}"
            if name not in unique:
                (d,) = build_designs(layers[(label, mode)], target, workroot / "src",
                                     kinds=(kind,), tag=key, group=group, lanes=lanes,
                                     pipeline=pipe if kind == "exactbn" else bpipe,
                                     name="exactbn_bn", family=family)
                unique[name] = d
                designs.append(d)
            members[group].append((kind, name))
    # the slow baselines last: a partial run still holds every unit and the ceiling
    designs.sort(key=lambda d: ("exactbn", "ceiling", "threshold", "tflite").index(d.kind))
    say(f"asic {target.device}: {len(groups)} groups, {len(designs)} distinct designs")
    t0 = time.monotonic()
    results: dict[str, dict] = {}
    rep: dict = {}
    for k in range(0, len(designs), jobs):
        for e in run_designs(designs[k:k + jobs], target, workroot / "work", (), freq, jobs,
                             say, breakdown):
            results[e["name"]] = e
        rep = _write(results, members, target, groups, freq, stem, t0, len(designs),
                     baseline_pipeline, family)
        if plot:
            _rewrite(plot(rep), stem)
    return rep


def _rewrite(rep: dict, stem: str) -> None:
    """report json/md again (after extra plots were added to ``rep['plots']``)."""
    from exactbn.synth.report import render_markdown

    write_json_atomic(RESULTS / f"{stem}.json", rep)
    write_text_atomic(RESULTS / f"{stem}.md", render_markdown(rep))


def _write(results, members, target, groups, freq, stem, t0, n_designs, bpipe,
           family: str = "asic") -> dict:
    entries = []
    for group, items in members.items():
        for kind, name in items:
            if name not in results:
                continue
            e = copy.deepcopy(results[name])
            cfg = dict(e.get("config") or {})
            if cfg.get("group") != group:
                e["shared_run"] = name
                cfg["group"] = group
                e["config"] = cfg
            e["name"] = f"{kind}_{group}"
            e["asic_flow"] = {"yosys_synth": target.yosys_synth, "pp_width": target.dsp_a}
            if family == "asic":  # runs before the carry-save form had no family (generic)
                e["asic_flow"]["family"] = "asic"
                e["asic_flow"]["csa_form"] = _csa_form()
            e.pop("netlist", None)  # lives in a temporary directory
            entries.append(e)
    meta = {"command": "python -m bench.bench_asic " + shlex.join(sys.argv[1:]),
            "target": "asic", "device": target.device,
            "library": str(target.library.liberty), "freq_mhz": freq, "channels": CHANNELS,
            "layers": {lab: name for lab, name in LAYERS},
            "groups": [list(g) for g in groups], "baseline_pipeline": bpipe,
            "yosys_synth": target.yosys_synth, "pp_width": target.dsp_a, "family": family,
            **({"csa_form": _csa_form()} if family == "asic" else {}),
            "load_average": _load(),
            "designs_done": f"{len(results)} of {n_designs}",
            "elapsed_s": round(time.monotonic() - t0, 1)}
    return write_report(RESULTS, entries, meta, stem=stem)


def set_csa_form(spec: str) -> None:
    """Set hw/asic_multiplier.FORM from ``booth=1,tree=1,final=ripple`` (ValueError if bad)."""
    from exactbn.hw import asic_multiplier as am

    kw: dict = {}
    for part in filter(None, spec.split(",")):
        k, _, v = part.partition("=")
        if k == "booth" and v in ("auto", "1", "0"):
            kw[k] = None if v == "auto" else v == "1"
        elif k == "tree" and v.isdigit():
            kw[k] = int(v)
        elif k in ("recode", "final") and v:
            kw[k] = v
        else:
            raise ValueError(f"bad item {part!r}")
    form = dataclasses.replace(am.DEFAULT_FORM, **kw)
    if form.recode not in ("m", "x", "narrow") or form.final not in ("prefix", "ripple"):
        raise ValueError(f"bad form {spec!r}")
    am.FORM = form


def _csa_form() -> dict:
    from exactbn.hw import asic_multiplier as am

    return dataclasses.asdict(am.FORM)


MUL_FORMS = {  # name: CsaForm keywords (--mul-forms)
    "bits-t2-prefix": dict(booth=False),
    "booth-t2-prefix": dict(booth=True),
    "boothx-t2-prefix": dict(booth=True, recode="x"),
    "bits-t1-prefix": dict(booth=False, tree=1),
    "booth-t1-prefix": dict(booth=True, tree=1),
    "boothx-t1-prefix": dict(booth=True, recode="x", tree=1),
    "booth-t0-prefix": dict(booth=True, tree=0),
    "booth-t1-ripple": dict(booth=True, tree=1, final="ripple"),
    "booth-t0-ripple": dict(booth=True, tree=0, final="ripple"),
    "boothx-t1-ripple": dict(booth=True, recode="x", tree=1, final="ripple"),
    "boothx-t0-ripple": dict(booth=True, recode="x", tree=0, final="ripple"),
}


def mul_forms(widths: list[tuple[int, int, int, int]], forms: list[str], library: str,
              freq: float, workroot: Path, stem: str, say) -> dict:
    """The bare carry-save multiplier (hw/asic_multiplier.CsaMulAdd, registered operands and
    output around it) in each form at each (w_x, w_m, w_b, w_s): area and minimum period in
    the library, written to ``stem``.{json,md}."""
    import resource

    from amaranth import Module
    from amaranth.back import rtlil
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out
    from exactbn.hw.asic_multiplier import CsaForm, CsaMulAdd

    from exactbn.synth.asic import map_netlist
    from exactbn.synth.libraries import resolve_library
    from exactbn.synth.sta import run_sta

    class Bare(wiring.Component):
        def __init__(self, wx, wm, wb, ws, form):
            self.args = (wx, wm, wb, ws, form)
            super().__init__({"x": In(wx), "m": In(wm), "b": In(wb), "s": Out(ws)})

        def elaborate(self, platform):
            wx, wm, wb, ws, form = self.args
            m = Module()
            m.submodules.mul = mul = CsaMulAdd(wx, wm, wb, ws, 2, 0, form)
            m.d.comb += mul.en.eq(1)
            m.d.sync += [mul.x.eq(self.x), mul.m.eq(self.m), mul.b.eq(self.b),
                         self.s.eq(mul.s)]
            return m

    lib = resolve_library(library)
    period = 1000.0 / freq
    rows = []
    for wx, wm, wb, ws in widths:
        for name in forms:
            form = CsaForm(**MUL_FORMS[name])
            work = workroot / f"{name}_{wx}x{wm}"
            work.mkdir(parents=True, exist_ok=True)
            (work / "bare.il").write_text(rtlil.convert(Bare(wx, wm, wb, ws, form), name="bare"))
            c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            say(f"{name} {wx}x{wm}: yosys + abc, OpenSTA")
            _, stat, _ = map_netlist([work / "bare.il"], "bare", lib, work, round(period * 1000))
            design = stat.get("design") or next(iter(stat["modules"].values()))
            cells = {k.lstrip("\\"): int(v)
                     for k, v in design.get("num_cells_by_type", {}).items()}
            timing, _ = run_sta(Path("cells.lib"), Path("netlist.v"), "bare", period, work)
            c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            rows.append({"w_x": wx, "w_m": wm, "w_b": wb, "w_s": ws, "form": name,
                         "csa_form": MUL_FORMS[name],
                         "area_um2": round(sum(lib.areas.get(c, 0.0) * n
                                               for c, n in cells.items()), 1),
                         "ff": sum(n for c, n in cells.items() if c in lib.sequential),
                         "min_period_ns": timing["min_period_ns"],
                         "cpu_s": round(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime,
                                        1)})
            say(f"  {rows[-1]['area_um2']:,.0f} um2, {rows[-1]['min_period_ns']} ns")
    meta = {"command": "python -m bench.bench_asic " + shlex.join(sys.argv[1:]),
            "library": str(lib.liberty), "freq_mhz": freq, "load_average": _load()}
    write_json_atomic(RESULTS / f"{stem}.json", {"meta": meta, "forms": rows})
    md = ["# The carry-save multiplier's forms, bare (hw/asic_multiplier.py)", "",
          f"`{meta['command']}` (load {meta['load_average']}; {lib.name}, ABC -D "
          f"{round(period * 1000)}, OpenSTA at {period:g} ns). Registered x, m, b in and s out "
          "around CsaMulAdd (whose own output register is a second one): the same overhead "
          "in every row. `bits`: one row per bit of m; `booth`: radix-4 Booth digits of m; "
          "`boothx`: of x; `tN`: N register groups in the tree (t0: none, the final add in "
          "the tree's cycle); `prefix`: the kept Sklansky adder, `ripple`: Yosys's `+`.", "",
          "| W_X x W_M (+B, W_S) | form | area um2 | FF | min period ns | meets "
          f"{period:g} ns | CPU s |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['w_x']}x{r['w_m']} (+{r['w_b']}, {r['w_s']}) | {r['form']} | "
                  f"{r['area_um2']:,.0f} | {r['ff']} | {r['min_period_ns']:.2f} | "
                  f"{'yes' if r['min_period_ns'] <= period else 'no'} | {r['cpu_s']} |")
    write_text_atomic(RESULTS / f"{stem}.md", "\n".join(md) + "\n")
    return {"meta": meta, "forms": rows}


def _load() -> list[float] | None:
    """The machine's 1/5/15-minute load averages (2 cores here: above 2 the run was slowed)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def sweep_layer(w_x: int, w_q: int, seed: int = 18):
    """A C = 64 layer with W_X-bit signed inputs and W_Q-bit outputs (4: unsigned, ReLU-like;
    8: signed int8), slopes jittered around the one mapping the input range onto the output
    levels, half_even rounding; solved per-channel."""
    rng = random.Random(seed * 100 + w_x * 10 + w_q)
    levels = 1 << w_q
    a = [rng.choice([1, 1, 1, -1]) * levels / (1 << w_x) * rng.uniform(0.6, 1.4)
         for _ in range(CHANNELS)]
    mid = levels / 2 if w_q <= 4 else 0.0
    b = [mid + rng.uniform(-0.3, 0.3) * levels for _ in range(CHANNELS)]
    spec = {"name": f"wx{w_x}_wq{w_q}", "input": {"bits": w_x, "signed": True},
            "output": {"bits": w_q, "signed": w_q > 4, "rounding": "half_even"},
            "affine": {"a": a, "b": b}}
    (layer,) = parse_layers({"layers": [spec]})
    return solve_layer(layer, shift_mode="per-channel", hw_rounding="auto")


def _multiplier_form(meta: dict) -> str:
    """How the run's designs multiply, for a plot title: the standard-cell carry-save tree
    (family asic) or the FPGA-style split into partial products of ``pp_width`` bits."""
    if meta.get("family", "asic") == "asic":
        f = meta.get("csa_form")
        if not f:
            return "carry-save multiplier (hw/asic_multiplier.py)"
        booth = {True: "Booth", False: "per-bit rows", None: "Booth"}[f.get("booth")]
        tree = f.get("tree")
        regs = "2 tree registers" if tree is None else f"{tree} tree register(s)"
        return f"carry-save multiplier ({booth}, {regs}, {f.get('final')} final add)"
    return f"{meta.get('pp_width')}-bit partial products"


def plot_sweep(rep: dict) -> dict:
    """asic_wx.png (area and period against W_X, one line per design and W_Q) and
    asic_wq.png (exactbn's area and period against W_Q, one line per W_X)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts: dict[tuple[str, int], dict[int, dict]] = {}
    for e in rep["designs"]:
        c = e.get("config") or {}
        if e.get("error") or not c.get("group", "").startswith("wx"):
            continue
        wx, wq = (int(t[2:]) for t in c["group"].split("-")[:2])
        pts.setdefault((e["kind"], wq), {})[wx] = e
    names = []
    keys = (("area_um2", "area (um^2, Liberty)"), ("min_period_ns", "minimum period (ns)"))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for (kind, wq), by in sorted(pts.items()):
        xs = sorted(by)
        for ax, (k, title) in zip(axes, keys, strict=True):
            ax.plot(xs, [by[x][k] for x in xs], marker="o", linestyle="-" if wq == 8 else "--",
                    label=f"{kind} W_Q={wq}")
            ax.set_title(title)
            ax.set_xlabel("W_X (input bits)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    form = _multiplier_form(rep.get("meta", {}))
    fig.suptitle(f"OSU018, C = 64, L = 1, per-channel shift, default pipeline, {form}",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(RESULTS / "asic_wx.png", dpi=110)
    plt.close(fig)
    names.append("asic_wx.png")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    wxs = sorted({wx for (kind, _), by in pts.items() if kind == "exactbn" for wx in by})
    for wx in wxs:
        row = {wq: by[wx] for (kind, wq), by in pts.items() if kind == "exactbn" and wx in by}
        qs = sorted(row)
        for ax, (k, title) in zip(axes, keys, strict=True):
            ax.plot(qs, [row[q][k] for q in qs], marker="o", label=f"exactbn W_X={wx}")
            ax.set_title(title)
            ax.set_xlabel("W_Q (output bits)")
            ax.set_xticks([4, 8])
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"exactbn on OSU018, C = 64, L = 1, per-channel shift, default pipeline, "
                 f"{form}", fontsize=9)
    fig.tight_layout()
    fig.savefig(RESULTS / "asic_wq.png", dpi=110)
    plt.close(fig)
    names.append("asic_wq.png")
    rep["plots"] = [*rep.get("plots", []), *names]
    return rep


# ``make bench-asic`` (no arguments): these runs one after the other, then the merges. The
# presets at L = 1 with the flow's default partial-product width (18, the FPGA DSP width),
# the rest with products split into 12-bit partial products (every design alike), which is
# the shorter period for the same area here and maps several times faster.
_P12 = ["--pp-width", "12", "--tag=-pp12"]
_GEN = ["--family", "generic"]  # the FPGA-style partial-product split (before the CSA form)
# the runs measured before Booth rows were the carry-save multiplier's default
_BITS = ["--csa-form", "booth=0,recode=m"]  # (recode=m: the default form before "narrow")
_SMALL = ["--csa-form", "booth=1,recode=m,tree=1,final=ripple", "--tag=-small"]
PLAN = (
    # the asic-small preset (hw/config.py: mult=2,shift=0,round=0,out=0,tree=1,cpa=ripple)
    # in every group, area per module; int8 with the prefix adder too
    ["--layers", "uint4,int8", "--modes", "per-channel,shared", "--lanes", "1,4",
     "--pipelines", "asic-small", "--kinds", "exactbn,ceiling", "--breakdown",
     "--stem", "asic_small_preset"],
    # no register in the tree and the prefix adder: smaller for uint4 (and still inside 5 ns),
    # int8 misses 5 ns (5.03-5.25 ns), so the preset keeps one tree register
    ["--layers", "uint4,int8", "--modes", "per-channel,shared", "--lanes", "1,4",
     "--pipelines", "asic-small,tree=0,cpa=prefix", "--kinds", "exactbn,ceiling",
     "--breakdown", "--stem", "asic_small_t0p"],
    ["--layers", "int8", "--modes", "per-channel,shared", "--lanes", "1,4",
     "--pipelines", "asic-small,cpa=prefix", "--kinds", "exactbn,ceiling", "--breakdown",
     "--stem", "asic_small_prefix"],
    # asic-small with the credit flow: larger in all 8 groups (its output FIFO), so the
    # preset keeps flow=stall
    ["--layers", "uint4,int8", "--modes", "per-channel,shared", "--lanes", "4,1",
     "--pipelines", "asic-small,flow=credit", "--kinds", "exactbn", "--stem",
     "asic_small_credit", "--jobs", "2"],
    # the bare multiplier's forms (asic_levers.md): Booth is smaller at every width; one tree
    # register and a ripple final add are the smallest forms that meet 5 ns at uint4 widths
    ["--mul-forms", "17/15/24/30,17/23/34/38:bits-t2-prefix,booth-t2-prefix,booth-t1-prefix,"
     "booth-t1-ripple", "--stem", "asic_levers"],
    # ripple forms without the tree register and with the rows over x (asic_levers_small)
    ["--mul-forms", "17/15/24/30,17/23/34/38:booth-t1-ripple,booth-t0-ripple,boothx-t1-ripple,"
     "boothx-t0-ripple", "--stem", "asic_levers_small"],
    # the unit in the smallest form that meets the flow's period, with fewer registers
    ["--layers", "uint4", "--modes", "per-channel,shared", "--lanes", "1",
     "--pipelines", "asic", "--kinds", "exactbn,ceiling", "--breakdown", *_SMALL,
     "--stem", "asic_small_l1"],
    ["--layers", "uint4", "--modes", "per-channel", "--lanes", "4,1",
     "--pipelines", "asic,asic,shift=0,round=0", "--kinds", "exactbn,ceiling", *_SMALL,
     "--stem", "asic_small_l4", "--jobs", "2"],
    ["--layers", "uint4", "--modes", "per-channel", "--lanes", "4,1",
     "--pipelines", "asic,shift=0,round=0,out=0", "--kinds", "exactbn", *_SMALL,
     "--stem", "asic_small_out0", "--jobs", "2"],
    # int8: the ripple final add misses 5 ns at 17x23 (asic_levers), so the prefix adder
    ["--layers", "int8", "--modes", "per-channel", "--lanes", "1",
     "--pipelines", "asic,shift=0,round=0,out=0", "--kinds", "exactbn",
     "--csa-form", "booth=1,recode=m,tree=1,final=prefix", "--tag=-t1", "--stem", "asic_t1_int8"],
    # the TFLite-style requantizer with the unit's multiplier form (its 32x32 product):
    # larger than its Yosys -booth form at L = 1 and 4 (asic_booth, asic_l4_booth_tfl), so
    # the headline's TFLite stays that one
    ["--layers", "uint4", "--modes", "per-channel", "--lanes", "1,4",
     "--pipelines", "default", "--kinds", "tflite", *_SMALL, "--stem", "asic_small_tflite",
     "--jobs", "2"],
    # the standard-cell multiplier (hw/asic_multiplier.py) in the unit and the ceiling
    # (the asic preset is the default stages: the shortest period with this multiplier)
    # both back-pressure flows in one run: credit is faster at L = 4 and in 3 of 4 L = 1
    # groups, but 4-7 % larger at L = 1 (its output FIFO), so the preset keeps stall
    ["--layers", "uint4,int8", "--modes", "per-channel,shared", "--lanes", "4,1",
     "--pipelines", "asic,flow=stall,asic,flow=credit", "--kinds", "exactbn,ceiling",
     "--breakdown", "--tag=-csa", "--stem", "asic_csa_flow", *_BITS],
    ["--layers", "uint4,int8", "--modes", "per-channel,shared", "--lanes", "1",
     "--pipelines", "default,deep", "--kinds", "exactbn,ceiling", "--breakdown",
     "--tag=-csa", "--stem", "asic_csa_l1", *_BITS],
    ["--layers", "uint4,int8", "--modes", "per-channel,shared", "--lanes", "4",
     "--pipelines", "default", "--kinds", "exactbn,ceiling", "--breakdown",
     "--tag=-csa", "--stem", "asic_csa_l4", *_BITS],
    ["--layers", "uint4,int8", "--modes", "per-channel", "--lanes", "1",
     "--pipelines", "shallow,default,deep", "--baseline-pipeline", "default", "--breakdown",
     "--stem", "asic_l1", *_GEN],
    ["--layers", "uint4,int8", "--modes", "per-channel", "--lanes", "1",
     "--pipelines", "shallow,default,deep", *_P12, "--kinds", "exactbn,ceiling,tflite",
     "--baseline-pipeline", "default", "--stem", "asic_pp12", *_GEN],
    ["--layers", "uint4,int8", "--modes", "per-channel,shared", "--lanes", "4",
     "--pipelines", "default", *_P12, "--baseline-pipeline", "default",
     "--kinds", "exactbn,ceiling,tflite", "--breakdown", "--stem", "asic_l4", *_GEN],
    # the W_X/W_Q sweep with the per-bit carry-save multiplier (asic_sweep_csa.png; the
    # last sweep of the plan, asic_sweep_booth, redraws asic_wx.png and asic_wq.png);
    # the older FPGA-style 12-bit split sweep stays in asic_sweep.{json,md}
    ["--sweep", "8,12,16,20,24:4,8", "--kinds", "exactbn,ceiling,tflite", "--tag=-csa",
     "--stem", "asic_sweep_csa", *_BITS],
    ["--layers", "uint4,int8", "--modes", "shared", "--lanes", "1", "--pipelines", "default",
     *_P12, "--kinds", "exactbn,ceiling", "--breakdown", "--stem", "asic_l1sh", *_GEN],
    ["--layers", "uint4", "--modes", "per-channel", "--lanes", "1",
     "--pipelines", "default", "--synth", "synth -flatten -booth", "--tag=-booth",
     "--kinds", "exactbn,ceiling,tflite", "--baseline-pipeline", "default",
     "--stem", "asic_booth", *_GEN],
    ["--layers", "uint4", "--modes", "per-channel", "--lanes", "4", "--pipelines", "default",
     *_P12, "--kinds", "threshold", "--stem", "asic_l4_thr", *_GEN],
    ["--layers", "uint4,int8", "--modes", "per-channel", "--lanes", "4",
     "--pipelines", "shallow", "--kinds", "exactbn,tflite", "--baseline-pipeline", "default",
     "--stem", "asic_l4_18", *_GEN],
    ["--layers", "uint4", "--modes", "per-channel", "--lanes", "1", "--pipelines", "default",
     "--kinds", "exactbn", "--synth", "synth -flatten -top exactbn_bn; abc -dff -D 5000; "
     "opt_clean; stat", "--tag=-retime", "--stem", "asic_retime", *_GEN],
    # Booth at the shallow preset (the smallest uint4 unit), the uint4 presets with the
    # baselines at the default preset, and the int8 baselines at L = 1 (the headline's TFLite)
    ["--layers", "uint4", "--modes", "per-channel", "--lanes", "1", "--pipelines", "shallow",
     "--synth", "synth -flatten -booth", "--tag=-booth", "--kinds", "exactbn",
     "--stem", "asic_booth_sh", *_GEN],
    # the TFLite-style uint4 L = 4 unit in its Booth form: its smallest (the headline's);
    # the TFLite-style design has one pipeline whatever the group's, so its group is named
    # default, as the L = 1 one (asic_booth)
    ["--layers", "uint4", "--modes", "per-channel", "--lanes", "4", "--pipelines", "default",
     "--baseline-pipeline", "default", "--synth", "synth -flatten -booth", "--tag=-booth",
     "--kinds", "tflite", "--stem", "asic_l4_booth_tfl", *_GEN],
    ["--layers", "uint4", "--modes", "per-channel", "--lanes", "1",
     "--pipelines", "default,deep,shallow", "--baseline-pipeline", "default",
     "--stem", "asic_uint4", *_GEN],
    ["--layers", "int8", "--modes", "per-channel", "--lanes", "1", "--pipelines", "default",
     "--kinds", "ceiling,tflite,threshold", "--stem", "asic_int8_baselines", *_GEN],
    # the W_X/W_Q sweep with the default (Booth) multiplier, last: asic_wx.png, asic_wq.png
    ["--sweep", "8,12,16,20,24:4,8", "--kinds", "exactbn,ceiling", "--tag=-booth",
     "--stem", "asic_sweep_booth", "--jobs", "2"],
)
MERGED = ("asic_small_preset", "asic_small_t0p", "asic_small_prefix", "asic_small_credit",
          "asic_small_l1", "asic_small_l4", "asic_small_out0", "asic_t1_int8",
          "asic_small_tflite",
          "asic_csa_flow", "asic_csa_l1", "asic_csa_l4", "asic_l1", "asic_pp12", "asic_l1sh",
          "asic_l4", "asic_l4_thr", "asic_l4_18", "asic_booth", "asic_booth_sh", "asic_retime",
          "asic_uint4", "asic_int8_baselines", "asic_l4_booth_tfl")


def merge(stems: list[str], stem: str) -> dict:
    """One report from several partial runs (their designs, commands and groups); stems
    without results are left out (and named in ``meta.missing``); a design named in two
    runs is taken from the first."""
    missing = [s for s in stems if not (RESULTS / f"{s}.json").is_file()]
    stems = [s for s in stems if s not in missing]
    reps = [json.loads((RESULTS / f"{s}.json").read_text()) for s in stems]
    meta = dict(reps[0]["meta"])
    meta["runs"] = [{k: r["meta"].get(k) for k in ("command", "yosys_synth", "pp_width",
                                                   "designs_done", "elapsed_s",
                                                   "load_average")} for r in reps]
    meta["missing"] = missing
    seen, entries = set(), []
    for st, r in zip(stems, reps, strict=True):  # same name in two runs: the first wins
        for e in r["designs"]:
            if e["name"] not in seen:
                seen.add(e["name"])
                entries.append({**e, "run": st})
    entries = _fill_baselines(entries)
    meta["command"] = " ; ".join([*(r["meta"]["command"] for r in reps),
                                  f"python -m bench.bench_asic --merge {','.join(stems)} "
                                  f"--stem {stem}"])
    meta["groups"] = [g for r in reps for g in r["meta"].get("groups", [])]
    meta["designs_done"] = ", ".join(str(r["meta"].get("designs_done")) for r in reps)
    meta["elapsed_s"] = round(sum(r["meta"].get("elapsed_s", 0) for r in reps), 1)
    meta["merged_from"] = [f"{s}.json" for s in stems]
    rep = write_report(RESULTS, entries, meta, stem=stem)
    rep["headline"] = headline(entries)
    write_json_atomic(RESULTS / f"{stem}.json", rep)
    md = (RESULTS / f"{stem}.md").read_text()
    head, sep, rest = md.partition("\n| design | kind |")
    write_text_atomic(RESULTS / f"{stem}.md", head + headline_md(rep["headline"])
                      + runs_md(meta["runs"]) + sep + rest)
    return rep


def runs_md(runs: list[dict]) -> str:
    """The merged runs: command, designs, wall time and the load average it ran at."""
    out = ["### Runs (wall time and 1/5/15-min load average on the 2-core machine)", "",
           "| command | designs | elapsed s | load |", "|---|---|---|---|"]
    for r in runs:
        load = "/".join(str(v) for v in r.get("load_average") or []) or "not recorded"
        out.append(f"| `{r['command']}` | {r.get('designs_done')} | {r.get('elapsed_s')} | "
                   f"{load} |")
    return "\n".join(out) + "\n\n"


def _flow(e: dict) -> str:
    f = e.get("asic_flow") or {}
    synth = f.get("yosys_synth") or "synth -flatten"
    mult = "CSA tree" if f.get("family") == "asic" else f"{f.get('pp_width') or 18}-bit pp"
    return (mult + (", Booth" if "-booth" in synth else "")
            + (f"; run {e['run']}" if e.get("run") else ""))


def headline(entries: list[dict]) -> list[dict]:
    """Per (layer, shift mode, L), across every preset and flow in the report: the smallest
    exactbn against the smallest TFLite-style requantizer (the baseline at its best, never a
    larger variant of it), the shortest exactbn period against the ceiling multiplier of the
    same group (same widths and flow), and the threshold unit's smallest area."""
    ok = [e for e in entries if not e.get("error") and e.get("area_um2")]
    keys = sorted({((e.get("config") or {}).get("layer"), (e.get("config") or {}).get("lanes"))
                   for e in ok if e["kind"] == "exactbn"}, key=str)
    rows = []
    for layer, lanes in keys:
        same = [e for e in ok if (e.get("config") or {}).get("layer") == layer
                and (e.get("config") or {}).get("lanes") == lanes]
        for mode in ("per-channel", "shared"):
            units = [e for e in same if e["kind"] == "exactbn"
                     and e["config"].get("shift_mode") == mode]
            if not units:
                continue
            tfl = min((e for e in same if e["kind"] == "tflite"), default=None,
                      key=lambda e: e["area_um2"])
            thr = min((e for e in same if e["kind"] == "threshold"), default=None,
                      key=lambda e: e["area_um2"])
            met = [e for e in units if e.get("timing_met")]  # at the flow's period if any
            small = min(met or units, key=lambda e: e["area_um2"])
            fast = min(units, key=lambda e: e["min_period_ns"] or 1e9)
            ceil = next((e for e in same if e["kind"] == "ceiling"
                         and e["config"].get("group") == fast["config"].get("group")), None)
            bare = min((e for e in same if e["kind"] == "ceiling"
                        and e["config"].get("shift_mode") == mode), default=None,
                       key=lambda e: e["area_um2"])
            rom = min((e["area_by_module"]["core.store"]["area_um2"] for e in units
                       if "core.store" in (e.get("area_by_module") or {})), default=None)
            shsat = min((sum(v["area_um2"] for k, v in e["area_by_module"].items()
                             if k.startswith(("core.shift", "core.sat"))) for e in units
                         if "core.store" in (e.get("area_by_module") or {})), default=None)
            rows.append({
                "layer": layer, "w_q": small["config"].get("w_q"), "lanes": lanes,
                "shift_mode": mode,
                "bare_multiplier": bare and bare["name"],
                "bare_multiplier_flow": bare and _flow(bare),
                "bare_multiplier_um2": bare and bare["area_um2"],
                "rom_logic_um2": rom, "shift_sat_um2": shsat,
                "smallest": small["name"], "smallest_flow": _flow(small),
                "smallest_area_um2": small["area_um2"],
                "smallest_period_ns": small["min_period_ns"],
                "smallest_timing_met": small.get("timing_met"),
                "tflite_period_ns": tfl and tfl["min_period_ns"],
                "tflite_smallest": tfl and tfl["name"], "tflite_flow": tfl and _flow(tfl),
                "tflite_area_um2": tfl and tfl["area_um2"],
                "area_vs_tflite": tfl and round(small["area_um2"] / tfl["area_um2"], 3),
                "fastest": fast["name"], "fastest_flow": _flow(fast),
                "fastest_period_ns": fast["min_period_ns"],
                "ceiling_period_ns": ceil and ceil["min_period_ns"],
                "period_vs_ceiling": ceil and round(fast["min_period_ns"]
                                                    / ceil["min_period_ns"], 3),
                "threshold_area_um2": thr and thr["area_um2"],
                "threshold_smaller": bool(thr and thr["area_um2"] < small["area_um2"]),
            })
    return rows


def _at(ns) -> str:
    """`` at 4.21 ns`` beside an area (the design's own minimum period), or nothing."""
    return f" at {ns:.2f} ns" if ns else ""


def headline_md(rows: list[dict]) -> str:
    """The headline table (markdown), placed before the per-design table."""
    if not rows:
        return ""
    out = ["## Headline: each design at its best in this report", "",
           "Smallest exactbn that meets the flow's period (any preset, any flow, any "
           "multiplier form; the smallest of all when none does) / smallest TFLite-style "
           "requantizer (any flow, any period: the baseline at its best; no TFLite-style "
           "design measured here meets 5 ns); each area with its design's minimum period; "
           "shortest exactbn period / the ceiling "
           "multiplier's in the same group (same widths and flow: in the CSA-tree groups the "
           "unit and the ceiling both multiply with hw/asic_multiplier.py's registered "
           "carry-save tree and prefix adder). Targets: area <= 0.30, "
           "period <= 1.1. The per-group ratios further down compare within one flow: the "
           "TFLite-style unit split at 12 bits is larger than its 18-bit form, so the area "
           "ratios of the -pp12 groups (and of asic_sweep) flatter exactbn and are not the "
           "claim. `run NAME` beside a design: the run that measured it (its command, wall "
           "time and load average in the Runs table below). `asic+flow=stall` / "
           "`asic+flow=credit`: the `asic` preset with each back-pressure flow, one run.", "",
           "| layer | W_Q | L | shift | smallest exactbn | um2 | smallest TFLite | um2 | "
           "area ratio | fastest exactbn | ns | ceiling ns | period ratio | threshold um2 |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def f(v, nd=0):
        return "-" if v is None else f"{v:,.{nd}f}"

    for r in rows:
        mark = "" if r["area_vs_tflite"] is None else (
            " ok" if r["area_vs_tflite"] <= 0.30 else " MISS")
        pmark = "" if r["period_vs_ceiling"] is None else (
            " ok" if r["period_vs_ceiling"] <= 1.1 else " MISS")
        thr = f(r["threshold_area_um2"]) + (" (smaller than exactbn)"
                                            if r["threshold_smaller"] else "")
        out.append(
            f"| {r['layer']} | {r['w_q']} | {r['lanes']} | {r['shift_mode']} | "
            f"{r['smallest']} ({r['smallest_flow']}) | {f(r['smallest_area_um2'])}"
            f"{_at(r.get('smallest_period_ns'))} | "
            f"{r['tflite_smallest'] or '-'} ({r['tflite_flow'] or '-'}) | "
            f"{f(r['tflite_area_um2'])}{_at(r.get('tflite_period_ns'))} | "
            f"{f(r['area_vs_tflite'], 3)}{mark} | "
            f"{r['fastest']} ({r['fastest_flow']}) | {f(r['fastest_period_ns'], 2)} | "
            f"{f(r['ceiling_period_ns'], 2)} | {f(r['period_vs_ceiling'], 3)}{pmark} | "
            f"{thr} |")
    out += ["", "### Where the area target stands", "",
            "0.30 x the smallest TFLite-style unit against what exactbn cannot do without: "
            "the bare W_X x W_M multiplier at exactbn's widths (the ceiling design: "
            "registered operands and product, the smallest over every multiplier form "
            "measured, at any period: the 18-bit-pp Booth one misses 5 ns, the carry-save "
            "ones meet it) and the parameter ROM as logic (`core.store`, from `--breakdown`; a "
            "tape-out would use a ROM/SRAM macro: the parameter bits per channel are in the "
            "design table). The remainder is what the shifter, rounding, saturation, skid "
            "buffer and pipeline control would have to fit in. Where it is negative the "
            "target cannot be met with the ROM in logic. uint4 per-channel L = 4 is "
            "0.300 against the 18-bit TFLite-style unit (897,651 um2), which is not that "
            "baseline at its best: its Booth form (run asic_l4_booth_tfl) is 787,846 um2, the "
            "one the headline takes. In the unit's small carry-save form (Booth, one tree "
            "register, ripple add; run asic_small_tflite) the TFLite-style unit is larger: "
            "253,445 um2 at L = 1 and 894,472 at L = 4, against 227,893 and 787,846 in its "
            "18-bit Booth form.", "",
            "| layer | L | shift | 0.30 x TFLite um2 | bare multiplier um2 | its form | "
            "ROM as logic um2 | left for the rest um2 | shifter + saturation um2 |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["tflite_area_um2"] is None or r["bare_multiplier_um2"] is None:
            continue
        budget = 0.30 * r["tflite_area_um2"]
        left = budget - r["bare_multiplier_um2"] - (r["rom_logic_um2"] or 0)
        out.append(f"| {r['layer']} | {r['lanes']} | {r['shift_mode']} | {f(budget)} | "
                   f"{f(r['bare_multiplier_um2'])} | {r['bare_multiplier_flow']} | "
                   f"{f(r['rom_logic_um2'])} | {f(left)} | {f(r.get('shift_sat_um2'))} |")
    return "\n".join(out) + "\n\n"


_DEFAULT_FLOW = {"yosys_synth": "synth -flatten", "pp_width": 18}


def _fill_baselines(entries: list[dict]) -> list[dict]:
    """Groups that lack a baseline mapped in another run at the same layer, lanes and flow
    get a copy: the TFLite-style and threshold units (they depend on neither the shift mode
    nor exactbn's preset), the ceiling multiplier (same shift mode: same W_M)."""
    def key(e, kind):
        c = e.get("config") or {}
        mode = c.get("shift_mode") if kind == "ceiling" else None  # W_M follows the mode
        flow = e.get("asic_flow") or _DEFAULT_FLOW  # runs before asic_flow was recorded
        return (kind, c.get("layer"), c.get("lanes"), mode, json.dumps(flow, sort_keys=True))

    have: dict[tuple, dict] = {}
    groups: dict[str, set] = {}
    for e in entries:
        if not e.get("error"):
            have.setdefault(key(e, e["kind"]), e)
        groups.setdefault((e.get("config") or {}).get("group"), set()).add(e["kind"])
    out = list(entries)
    for e in entries:
        if e["kind"] != "exactbn":
            continue
        group = e["config"]["group"]
        for kind in ("ceiling", "tflite", "threshold"):
            src = have.get(key(e, kind))
            if kind in groups[group] or src is None:
                continue
            c = copy.deepcopy(src)
            c["shared_run"] = src.get("shared_run", src["name"])
            c["config"] = {**c["config"], "group": group}
            c["name"] = f"{kind}_{group}"
            out.append(c)
            groups[group].add(kind)
    return out


def split_pipelines(text: str) -> list[str]:
    """``--pipelines`` items: a comma starts a new item unless what follows is a
    ``key=value`` override of the item before (``default,asic,flow=credit`` is two)."""
    items: list[str] = []
    for part in text.split(","):
        if "=" in part and items:
            items[-1] += "," + part
        else:
            items.append(part)
    return items


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_asic", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--library", default="osu018")
    ap.add_argument("--freq", type=float, default=200.0, help="MHz (ABC -D, OpenSTA slack)")
    ap.add_argument("--lanes", default="1,4")
    ap.add_argument("--pipelines", default=",".join(PIPELINES),
                    help="presets, each with optional overrides (e.g. "
                    "'asic,flow=stall,asic,flow=credit'; group names show ',' as '+')")
    ap.add_argument("--layers", default=",".join(lab for lab, _ in LAYERS))
    ap.add_argument("--modes", default="per-channel,shared")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--stem", default="asic", help="results file name (default asic)")
    ap.add_argument("--kinds", default="exactbn,ceiling,tflite,threshold")
    ap.add_argument("--merge", metavar="STEM,STEM",
                    help="only merge earlier results/STEM.json files into --stem")
    ap.add_argument("--baseline-pipeline", default=None,
                    help="map the TFLite-style and threshold baselines at this preset only")
    ap.add_argument("--synth", default=None,
                    help="Yosys synth command for every design (default 'synth -flatten'; "
                    "e.g. 'synth -flatten -booth')")
    ap.add_argument("--breakdown", action="store_true", help="also the area per module")
    ap.add_argument("--pp-width", type=int, default=None,
                    help="partial-product operand width of every multiplier (default 18)")
    ap.add_argument("--tag", default="", help="suffix of the group names (e.g. -booth)")
    ap.add_argument("--family", choices=("asic", "generic"), default="asic",
                    help="multiplier form of the unit and the ceiling: asic = registered "
                    "carry-save tree (default), generic = the FPGA-style partial-product split")
    ap.add_argument("--csa-form", default=None, metavar="booth=1,tree=1,final=ripple",
                    help="the carry-save multiplier's form (hw/asic_multiplier.CsaForm: booth="
                    "auto|1|0, recode=m|x|narrow, tree=N (register groups, 0: none), "
                    "final=prefix|ripple) for the unit and the ceiling")
    ap.add_argument("--mul-forms", metavar="WX/WM/WB/WS,..:FORM,..",
                    help="the bare carry-save multiplier in each form (" + ", ".join(MUL_FORMS)
                    + ") at each width, written to --stem")
    ap.add_argument("--sweep", metavar="WX,..:WQ,..",
                    help="W_X/W_Q sweep instead of the standard layers (e.g. 8,12,16,20,24:4,8;"
                    " L = 1, per-channel, default pipeline): asic_wx.png, asic_wq.png; with "
                    "--merge: redraw those plots from the merged sweep runs")
    if argv is None and len(sys.argv) == 1:  # make bench-asic: the whole plan
        for sub in PLAN:
            sys.argv[1:] = sub
            main(sub)
        sys.argv[1:] = ["--merge", ",".join(MERGED)]
        merge(list(MERGED), "asic")
        return 0
    args = ap.parse_args(argv)
    from exactbn.hw import asic_multiplier as am

    am.FORM = am.DEFAULT_FORM  # each run of the plan starts from the default form
    if args.csa_form:
        try:
            set_csa_form(args.csa_form)
        except ValueError as e:
            print(f"bench_asic: --csa-form: {e}", file=sys.stderr)
            return 2
    if args.mul_forms:
        wtext, _, ftext = args.mul_forms.partition(":")
        try:
            widths = [tuple(int(v) for v in w.split("/")) for w in wtext.split(",")]
            forms = ftext.split(",") if ftext else list(MUL_FORMS)
            if any(len(w) != 4 for w in widths) or any(f not in MUL_FORMS for f in forms):
                raise ValueError
        except ValueError:
            print(f"bench_asic: --mul-forms {args.mul_forms!r}: expected WX/WM/WB/WS,..:FORM,.."
                  f" with forms from {', '.join(MUL_FORMS)}", file=sys.stderr)
            return 2
        with tempfile.TemporaryDirectory(prefix="bench_asic_forms_") as tmp:
            mul_forms(widths, forms, args.library, args.freq, Path(tmp), args.stem,
                      lambda msg: print(msg, file=sys.stderr, flush=True))
        return 0
    layers, plot = None, None
    if args.sweep:
        wxs, wqs = ([int(v) for v in part.split(",")] for part in args.sweep.split(":"))
        layers = {(f"wx{x}-wq{q}", "per-channel"): sweep_layer(x, q) for x in wxs for q in wqs}
        groups = [(lab, mode, 1, "default") for lab, mode in layers]
        plot = plot_sweep
    else:
        groups = [(lab, mode, int(lanes), pipe) for lab in args.layers.split(",")
                  for mode in args.modes.split(",") for lanes in args.lanes.split(",")
                  for pipe in split_pipelines(args.pipelines)]

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.merge:
        rep = merge(args.merge.split(","), args.stem)
        if args.sweep:  # the merged sweep runs' plots (asic_wx.png, asic_wq.png)
            _rewrite(plot_sweep(rep), args.stem)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench_asic_") as tmp:
        rep = run(groups, args.library, args.freq, args.jobs, Path(tmp), say, args.stem,
                  args.baseline_pipeline, tuple(args.kinds.split(",")), layers, args.synth,
                  args.breakdown, plot, args.pp_width, args.tag, args.family)
    for r in rep["ratios"]:
        print(f"{r['group']}: area/TFLite {r.get('area_vs_tflite')}, period/ceiling "
              f"{r.get('period_vs_ceiling')}, area/threshold {r.get('area_vs_threshold')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
