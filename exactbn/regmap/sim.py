"""Run the AXI4-Lite cocotb bench (``exactbn.sim.benches.axil_bench``) on an axil unit.

The build is the cached one of :mod:`exactbn.sim.runner` (Verilator or Icarus); the bench's
truth is the solved layer (for a shared unit, the merged layer with every layer's words).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

__all__ = ["run_axil_bench", "axil_plan", "AXIL_SCENARIOS", "run_threshold_axil_bench",
           "THRESHOLD_AXIL_SCENARIOS"]

AXIL_SCENARIOS = ("axil_program", "axil_reset_mid_commit", "axil_reprogram_live")
BENCH_MODULE = "exactbn.sim.benches.axil_bench"
THRESHOLD_AXIL_SCENARIOS = ("axil_thresholds", "axil_thresholds_live", "axil_thresholds_new")
# JSON for the bench: {"layers": [[name, base, channels], ...], "live": "channel" | "layer"}
ENV_PLAN = "EXACTBN_AXIL_PLAN"


def axil_plan(layer) -> dict:
    """``layers``/``live`` for :func:`run_axil_bench`: a shared unit's merged layer
    (``layer.shared_layers``) reprograms one whole layer while every layer streams."""
    shared = getattr(layer, "shared_layers", None)
    if not shared:
        return {}
    return {"layers": [(lay.name, base, lay.channels) for base, lay in shared],
            "live": "layer"}


def run_axil_bench(layer, cfg, run_dir, *, simulator: str = "verilator", seed: int = 1,
                   layers: list[tuple[str, int, int]] | None = None, live: str = "channel",
                   scenarios: tuple[str, ...] = AXIL_SCENARIOS, verilog: str | None = None,
                   cache_root=None, bench_module: str = BENCH_MODULE, unit=None):
    """Build (cached) and run the scenarios; returns an ``exactbn.sim.runner.RunResult``.

    ``layers``: (name, first channel address, channels) of a shared unit's layers; ``live``:
    ``"layer"`` reprograms one whole layer while every layer streams. A threshold unit:
    :func:`run_threshold_axil_bench`."""
    from cocotb_tools.runner import get_runner

    from exactbn.hw import to_verilog
    from exactbn.sim.runner import (
        TIMESCALE,
        RunResult,
        _failures,
        _outside_pytest,
        build,
    )
    from exactbn.sim.spec import ENV_SPEC, BenchSpec, UnitPorts

    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    text = verilog if verilog is not None else to_verilog(cfg)
    bdir, build_s = build(text, cfg.name, simulator,
                          cache_root=Path(cache_root).resolve() if cache_root else None)
    unit = unit if unit is not None else UnitPorts.from_config(cfg)
    spec = BenchSpec(layer=layer.to_json(), unit=unit, seed=seed,
                     scenarios=list(scenarios), result_path=str(run_dir / "results.json"))
    spec_path = run_dir / "spec.json"
    spec.write(spec_path)
    plan = {"layers": [list(x) for x in layers] if layers else None, "live": live}
    plan = {k: v for k, v in plan.items() if v is not None}
    xml = run_dir / "results.xml"
    t0 = time.perf_counter()
    crashed = None
    try:
        with _outside_pytest():
            get_runner(simulator).test(
                test_module=bench_module, hdl_toplevel=cfg.name, hdl_toplevel_lang="verilog",
                build_dir=bdir, test_dir=run_dir, results_xml=str(xml),
                extra_env={ENV_SPEC: str(spec_path), ENV_PLAN: json.dumps(plan)},
                log_file=run_dir / "sim.log", testcase=list(scenarios), seed=seed,
                timescale=TIMESCALE)
    except (SystemExit, RuntimeError) as e:
        crashed = f"simulator exited abnormally ({e})"
    res = RunResult(simulator, False, log_path=str(run_dir / "sim.log"), build_s=build_s,
                    run_s=time.perf_counter() - t0)
    n_tests, res.failures = _failures(xml)
    if crashed and not res.failures:
        res.failures.append(crashed)
    rpath = Path(spec.result_path)
    if rpath.exists():
        res.scenarios = json.loads(rpath.read_text()).get("scenarios", {})
    for sc in res.scenarios.values():
        res.beats += sc["beats"]
        res.lane_results += sc["lane_results"]
        res.reference_checked += sc.get("reference_checked", 0)
        res.mismatches += sc["mismatches"]
        if sc.get("first") and res.first_mismatch is None:
            res.first_mismatch = str(sc["first"].get("text", sc["first"]))
    res.passed = n_tests == len(scenarios) and not res.failures and res.mismatches == 0
    return res


def run_threshold_axil_bench(layer, cfg, run_dir, *, simulator: str = "icarus", seed: int = 1,
                             stored=None, next_words: dict | None = None, next_stored=None,
                             cache_root=None,
                             scenarios: tuple[str, ...] = THRESHOLD_AXIL_SCENARIOS):
    """The threshold bench through AXI4-Lite (``exactbn.sim.benches.threshold_axil_bench``)
    on an axil ThresholdConfig; ``stored``: [(neg, U), ...] per channel to write instead of
    ``cfg.stored`` (a planted wrong threshold; the reference stays the layer's).
    ``next_words``: what ``axil_thresholds_new`` reprograms to (default
    :func:`exactbn.threshold_sim.reprogram_target`); ``next_stored`` replaces its words
    (a planted wrong image; the reference stays the new layer's)."""
    from dataclasses import replace

    from exactbn.hw.threshold_unit import threshold_verilog
    from exactbn.threshold_sim import reprogram_target, threshold_ports

    unit = threshold_ports(cfg)
    if stored is not None:
        unit = replace(unit, thresholds={**unit.thresholds, "neg": [n for n, _ in stored],
                                         "U": [list(u) for _, u in stored]})
    if "axil_thresholds_new" in scenarios:
        nxt = dict(next_words if next_words is not None else reprogram_target(layer, cfg))
        if next_stored is not None:
            nxt |= {"neg": [n for n, _ in next_stored], "U": [list(u) for _, u in next_stored]}
        unit = replace(unit, thresholds={**unit.thresholds, "next": nxt})
    return run_axil_bench(layer, cfg, run_dir, simulator=simulator, seed=seed,
                          scenarios=scenarios, verilog=threshold_verilog(cfg),
                          cache_root=cache_root,
                          bench_module="exactbn.sim.benches.threshold_axil_bench", unit=unit)
