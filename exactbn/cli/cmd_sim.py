"""``exactbn sim``: the cocotb regression on the generated Verilog for one solved layer."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from exactbn.cli.main import UsageError
from exactbn.cli.unit_options import add_unit_options, unit_config_from_args
from exactbn.formats import safe_name
from exactbn.toolchain import ToolError

SIM_CHOICES = ("verilator", "icarus", "both")


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


MAX_VECTORS = 10_000_000
QUICK_VECTORS = 64  # --profile quick's default --vectors


def _vectors(text: str) -> int:
    v = _positive(text)
    if v > MAX_VECTORS:
        raise argparse.ArgumentTypeError(f"at most {MAX_VECTORS}, got {v}")
    return v


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 0 <= v < 1 << 32:
        raise argparse.ArgumentTypeError(f"must be in 0..2^32-1, got {v}")
    return v


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "sim",
        help="simulate the generated unit (cocotb on Verilator/Icarus) against golden",
        description="Generate the unit for a solved layer and run the cocotb benches on it: "
        "back-to-back, random gaps, heavy backpressure, reset mid-stream, RAM reprogramming. "
        "Every output lane is compared with golden's integer model and, for exact channels "
        "inside their range, with the exact reference. Exit 1 on any mismatch.",
    )
    p.add_argument("solved", metavar="SOLVED.json")
    add_unit_options(p)
    from exactbn.cli.threshold_cli import add_auto_options

    add_auto_options(p)  # --target, --cost (--unit auto; --target: multiply-shift primitives)
    p.add_argument("--simulator", choices=SIM_CHOICES, default=None,
                   help="verilator (default), icarus, or both; with --netlist: icarus "
                   "(default), verilator (a C++ build of the netlist, minutes) or both")
    p.add_argument("--vectors", type=_vectors, default=None, metavar="N",
                   help="random inputs per channel on top of every transition point, saturation "
                   "boundary, tie and extreme (W_X <= 10: every input anyway); default 2000, "
                   f"{QUICK_VECTORS} with --profile quick")
    p.add_argument("--profile", choices=("full", "quick"), default=None,
                   help="full: full_rate and random_gaps each drive every structured input and "
                   "--vectors random ones per channel; quick: full_rate drives them once and "
                   "every other scenario at most 2000 beats of them (default: quick with "
                   "--all-layers/--layers, else full)")
    p.add_argument("--waves", action="store_true",
                   help="record an FST waveform (always kept on failure)")
    p.add_argument("--seed", type=_seed, default=1, help="random seed, 0..2^32-1 (default 1)")
    p.add_argument("--scenarios", metavar="LIST",
                   help="comma-separated subset of full_rate,random_gaps,backpressure,"
                   "reset_mid_stream,reprogram")
    p.add_argument("--netlist", metavar="LIB",
                   help="gate-level instead: map the unit as `synth --target asic` builds it "
                   "(carry-save multiplier; the asic pipeline preset unless --pipeline) onto a "
                   "standard-cell library "
                   "(asic = osu018, osu035, osu050, or PATH.lib with its cell models PATH.v) "
                   "and run the kit's plain-Verilog bench, then the cocotb regression "
                   "(--vectors, --scenarios), on the netlist under Icarus")
    p.add_argument("-o", "--out", metavar="DIR", default="build/sim-runs",
                   help="run directory for logs, results, waveforms and the simulator build "
                   "cache (DIR/build-cache, or $EXACTBN_SIM_CACHE); nothing is written "
                   "elsewhere (default build/sim-runs)")
    from exactbn.network import add_network_options

    # --all-layers/--layers/--jobs: one run per layer in OUT/<layer>/;
    # --bundle DIR: each layer's Verilog from generate --all-layers (checked)
    add_network_options(p, bundle=True)
    p.set_defaults(_parser=p)
    return p


def print_run(res) -> None:
    """Per-scenario counts, the verdict, failures, first mismatch, waveform and log path."""
    for name, sc in res.scenarios.items():
        print(f"  {name:17s} {sc['beats']:7d} beats {sc['lane_results']:8d} lane "
              f"results ({sc['reference_checked']} vs exact reference), "
              f"{sc['mismatches']} mismatches")
    print(f"  {res.summary()}")
    for f in res.failures:
        print(f"  FAIL {f}")
    if res.first_mismatch:
        print(f"  first mismatch: {res.first_mismatch}")
    if res.wave_path:
        print(f"  waveform: {res.wave_path}")
    if not res.passed:
        print(f"  log: {res.log_path}")


def run(args) -> int:
    from exactbn.sim.regress import simulate_layer
    from exactbn.sim.spec import SCENARIOS

    gate_sims = {None: ("icarus",), "both": ("icarus", "verilator")}.get(
        args.simulator, (args.simulator,))  # --netlist: Icarus unless asked otherwise
    args.simulator = args.simulator or "verilator"
    if args.profile is None:  # the bundle run drives each input once (sim --all-layers)
        several = (args.all_layers or args.layers) and not args.shared_unit
        args.profile = "quick" if several else "full"
    if args.vectors is None:  # the threshold bench has no quick profile: its own default
        ms = getattr(args, "unit", None) in (None, "multiply-shift")
        args.vectors = QUICK_VECTORS if args.profile == "quick" and ms else 2000

    scenarios = None
    if args.scenarios:
        scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
        unknown = sorted(set(scenarios) - set(SCENARIOS))
        if unknown or not scenarios:
            raise UsageError(f"--scenarios: unknown {unknown or scenarios}; choose from "
                             f"{', '.join(SCENARIOS)}")
    from exactbn.cli.threshold_cli import resolve_auto_unit, run_sim_threshold

    bundle = getattr(args, "bundle", None)
    if bundle and (args.shared_unit or args.netlist
                   or getattr(args, "unit", None) not in (None, "multiply-shift")):
        raise UsageError("sim --bundle takes a per-layer multiply-shift bundle's Verilog: not "
                         "with --shared-unit, --netlist or --unit threshold/auto")
    if resolve_auto_unit(args) != "multiply-shift":  # threshold|auto: threshold_sim.py
        return run_sim_threshold(args, scenarios)
    from exactbn.network import network_mode, run_all_layers

    if network_mode(args):
        return run_all_layers("sim", args, "out")
    from exactbn.shared import unit_layer_from_args

    layer = unit_layer_from_args(args)  # --shared-unit: every layer's words in one unit
    if args.netlist:  # the unit `synth --target asic` maps: its multiplier and preset
        if getattr(args, "target", None) not in (None, "asic"):
            raise UsageError(f"sim --netlist maps the unit for --target asic; --target "
                             f"{args.target} does not apply (leave it out)")
        args.target = "asic"
    cfg = unit_config_from_args(args, layer, file=args.solved)
    if cfg.cfg_bus == "axil" and (args.scenarios or args.waves or args.netlist):
        raise UsageError("sim --cfg-bus axil runs the AXI4-Lite bench (axil_program, "
                         "axil_reset_mid_commit, axil_reprogram_live): no --scenarios, --waves "
                         "or --netlist")
    verilog = None
    if bundle:  # the bundle's kit, once it is checked to be this unit (else exit 2)
        if cfg.cfg_bus != "raw":
            raise UsageError("sim --bundle: a --cfg-bus axil unit runs its own bench; leave "
                             "out --bundle")
        from exactbn.network import bundle_verilog

        verilog = bundle_verilog(bundle, layer, cfg)
        print(f"sim {layer.name}: the Verilog of {bundle} (its unit fingerprint and "
              "sha256 match network.json's record; the scoreboard below takes M, B, N from "
              "the solved file and judges this text)")
    if args.netlist:  # gate-level: exactbn.synth.gatesim
        from exactbn.synth.gatesim import run_cli

        return run_cli(args.netlist, layer, cfg, Path(args.out), seed=args.seed,
                       vectors=args.vectors, scenarios=scenarios, simulators=gate_sims)
    unit = (f"L={cfg.lanes} {cfg.lane_mode}, {cfg.store}, {layer.shift_mode} shift, "
            f"hw_rounding {layer.hw_rounding}, pipeline {cfg.pipeline.spec()}, "
            f"latency {cfg.latency}")

    def simulate(sim: str, run_dir: Path, cache_root: Path):
        if cfg.cfg_bus == "axil":  # programmed through AXI4-Lite: exactbn/regmap/sim.py
            from exactbn.regmap.sim import axil_plan, run_axil_bench

            return run_axil_bench(layer, cfg, run_dir, simulator=sim, seed=args.seed,
                                  cache_root=cache_root, **axil_plan(layer))
        return simulate_layer(layer, cfg, sim, vectors=args.vectors, waves=args.waves,
                              seed=args.seed, run_dir=run_dir, scenarios=scenarios,
                              cache_root=cache_root, profile=args.profile, verilog=verilog)

    return run_simulators(args, layer, cfg, unit, simulate)


def run_simulators(args, layer, cfg, unit: str, simulate) -> int:
    """One run per simulator of --simulator, each in its own folder inside -o; prints the
    header (``unit`` describes the unit), the result and the verdict; exit code 0/1.
    ``simulate(sim, run_dir, cache_root)`` runs one simulator and returns its result."""
    sims = ("verilator", "icarus") if args.simulator == "both" else (args.simulator,)
    # Simulator builds are cached inside -o too (or in $EXACTBN_SIM_CACHE): nothing in the cwd.
    cache_root = Path(os.environ.get("EXACTBN_SIM_CACHE") or Path(args.out) / "build-cache")
    ok = True
    for sim in sims:
        # Layer names come from users' models: one plain file name, always inside -o.
        run_dir = Path(args.out) / safe_name(f"{layer.name}-{cfg.name}-{sim}")
        print(f"sim {layer.name} on {sim}: {unit}")
        try:
            res = simulate(sim, run_dir, cache_root)
        except ToolError:
            raise  # exit 2: the environment, not the unit
        except RuntimeError as e:  # a tool is missing or the build failed
            print(f"  error: {e}")
            return 1
        print_run(res)
        ok = ok and res.passed
    print("sim: PASS" if ok else "sim: FAIL")
    return 0 if ok else 1
