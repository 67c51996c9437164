"""``--unit threshold|auto`` for the CLI commands (generate, sim, prove, synth)."""

from __future__ import annotations

import argparse

__all__ = ["add_auto_options", "threshold_options_from_args", "threshold_stages",
           "run_generate_threshold", "run_generate_auto", "resolve_auto_unit",
           "run_prove_threshold", "synth_auto_kinds", "synth_cost_weights"]

AUTO_FAMILIES = ("ecp5", "ice40", "gowin", "nexus", "xilinx", "generic")


def add_auto_options(p: argparse.ArgumentParser) -> None:
    """``--target`` and ``--cost`` of ``generate --unit auto``."""
    p.add_argument("--target", choices=AUTO_FAMILIES, default=None,
                   help="FPGA family: ecp5 instantiates its DSP primitives with their "
                   "registers on and picks the family's fastest pipeline preset; --unit "
                   "threshold: the family's threshold stages (compact on ice40, else fast), "
                   "as synth --target builds them; with --unit auto also the family whose "
                   "synthesis decides the unit")
    p.add_argument("--cost", default=None, metavar="K=W,...",
                   help="--unit auto: weights of lut, ff, dsp, bram (default 1 each) on the "
                   "fraction of the device each takes, and fmax (default 0) on the Fmax's "
                   "shortfall against --freq (places both units: minutes), e.g. "
                   "dsp=4,bram=2,fmax=1")


def _check_auto_args(args: argparse.Namespace) -> dict | None:
    """The --cost weights for --unit auto (UsageError when --target/--cost are misused)."""
    from exactbn.cli.unit_options import _usage_error

    auto = getattr(args, "unit", None) == "auto"
    if not auto:
        if getattr(args, "cost", None) is not None:
            raise _usage_error("--cost weighs the units for --unit auto: it needs --unit auto")
        return None  # --target: DSP primitives (multiply-shift) or stages (threshold)
    if args.target is None:
        raise _usage_error("--unit auto needs --target FAMILY (" + "|".join(AUTO_FAMILIES) + ")")
    return _weights(args.cost, args.target)


def _weights(text: str | None, family: str) -> dict:
    """``--cost`` parsed (UsageError, one line); an Fmax weight needs a placed family."""
    from exactbn.cli.unit_options import _usage_error
    from exactbn.cost import PLACED_FAMILIES, parse_cost

    try:
        weights = parse_cost(text)
    except ValueError as e:
        raise _usage_error(str(e)) from None
    if weights["fmax"] and family not in PLACED_FAMILIES:
        raise _usage_error(f"--cost fmax weighs a placed Fmax: --target {family} has no place "
                           f"and route here (one of {', '.join(PLACED_FAMILIES)})")
    return weights


def threshold_options_from_args(args: argparse.Namespace) -> dict:
    """Keyword options of :func:`exactbn.threshold_generate.threshold_config_from_solved`
    (``--cfg-bus axil``: every threshold unit gets its own register map, as the
    multiply-shift unit; with --all-layers or --unit auto each layer's unit its own)."""
    from exactbn.cli.unit_options import _usage_error, parse_widths
    from exactbn.hw.config import Pipeline
    from exactbn.hw.names import name_problem

    try:  # None: the default (threshold unit), the target's preset (auto's multiply-shift side)
        pipeline = None if args.pipeline is None else Pipeline.parse(args.pipeline)
    except ValueError as e:
        raise _usage_error(f"--pipeline: {e}") from None
    if args.name is not None and (why := name_problem(args.name)):
        raise _usage_error(f"--name {why}")
    cfg_bus = getattr(args, "cfg_bus", "raw")
    if cfg_bus == "axil" and args.store != "ram":
        raise _usage_error("--cfg-bus axil programs a RAM store: it needs --store ram")
    return {
        "lanes": args.lanes, "lane_mode": args.lane_mode, "store": args.store,
        "pipeline": pipeline, "widths": parse_widths(args.widths), "name": args.name,
        "range_check": bool(args.range_check), "param_memory": args.param_memory,
        "stages": threshold_stages(args),
    } | ({"cfg_bus": "axil"} if cfg_bus == "axil" else {})


def threshold_stages(args: argparse.Namespace) -> str:
    """The threshold unit's stages: the ``--target`` family's (compact on iCE40, else fast,
    :func:`exactbn.hw.threshold_config.stages_for`), the one rule of generate, sim, prove,
    synth and ``--unit auto``'s measurement, so every command builds the same unit."""
    from exactbn.hw.threshold_config import stages_for

    return stages_for(getattr(args, "target", None))


def resolve_auto_unit(args: argparse.Namespace) -> str:
    """sim/prove: checks --target/--cost; one layer with ``--unit auto``: the layer's cheaper
    exact unit (Yosys counts, as ``generate --unit auto``), printed with its reason and
    put in ``args.unit``. Returns the unit (``auto`` with --all-layers: chosen per layer)."""
    from exactbn.cli.unit_options import _usage_error, load_layer_from_args
    from exactbn.cost import choose_unit
    from exactbn.network import network_mode
    from exactbn.synth.flow import SynthError

    weights = _check_auto_args(args)
    if args.unit != "auto" or network_mode(args) or getattr(args, "shared_unit", False):
        return args.unit
    layer = load_layer_from_args(args, args.solved)
    opts = threshold_options_from_args(args)
    try:
        unit, reason, _ = choose_unit(layer, args.target, weights, file=args.solved,
                                      freq_mhz=getattr(args, "freq", None),
                                      **{k: v for k, v in opts.items()
                                         if k not in ("widths", "name")})
    except SynthError as e:
        raise _usage_error(f"--unit auto: synthesis failed: {e}") from None
    print(f"--unit auto: {unit}: {reason}", flush=True)
    args.unit, args.cost = unit, None  # --target stays: the primitives or the stages
    return unit


def run_generate_auto(args: argparse.Namespace, generate_multiply_shift) -> int:
    """``generate --unit auto --target FAMILY``: synthesize both exact units of the layer with
    Yosys, keep the cheaper, then generate its kit; the reason is printed and written to
    OUTDIR/unit_choice.json."""
    import json

    from exactbn.cli.unit_options import _usage_error, load_layer_from_args
    from exactbn.cost import choose_unit
    from exactbn.formats import check_output_path, check_replaceable_dir
    from exactbn.network import network_mode
    from exactbn.synth.flow import SynthError

    weights = _check_auto_args(args)
    if getattr(args, "shared_unit", False):
        raise _usage_error("--shared-unit is one multiply-shift unit for every layer: --unit "
                           "auto chooses per layer with --all-layers/--layers (or --layer)")
    if network_mode(args):
        return _run_mixed_bundle(args, "auto", weights)
    check_output_path(args.output, [args.solved], is_dir=True, replaced=True)
    check_replaceable_dir(args.output)
    layer = load_layer_from_args(args, args.solved)
    opts = threshold_options_from_args(args)
    opts.pop("widths")
    opts.pop("name")
    try:
        unit, reason, figures = choose_unit(layer, args.target, weights, file=args.solved,
                                            freq_mhz=getattr(args, "auto_freq", args.freq),
                                            **opts)
    except SynthError as e:
        print(f"exactbn: error: --unit auto: synthesis failed: {e}")
        return 1
    target = args.target  # stays: the multiply-shift unit's primitives or the threshold
    args.unit, args.cost = unit, None  # unit's stages, as auto measured them
    rc = run_generate_threshold(args) if unit == "threshold" else generate_multiply_shift(args)
    from pathlib import Path

    (Path(args.output) / "unit_choice.json").write_text(json.dumps(
        {"unit": unit, "reason": reason, "target": target, "weights": weights,
         "figures": figures, "measured_by": (
             "yosys synthesis and nextpnr place and route (seed 1)" if (weights or {}).get("fmax")
             else "yosys synthesis (no place and route)")},
        indent=1) + "\n")
    if not args.quiet:
        print(f"--unit auto: {unit}: {reason}")
    return rc


def run_generate_threshold(args: argparse.Namespace) -> int:
    """``exactbn generate --unit threshold``: the threshold unit's kit for one layer."""
    from exactbn.cli.unit_options import _usage_error
    from exactbn.network import network_mode
    from exactbn.threshold_generate import generate_threshold

    if getattr(args, "shared_unit", False):
        raise _usage_error("--shared-unit is one multiply-shift unit for every layer; the "
                           "threshold unit serves one layer (--all-layers: one per layer)")
    if network_mode(args):
        return _run_mixed_bundle(args, "threshold", None)
    cfg, man = generate_threshold(args.solved, args.output, layer_name=args.layer,
                                  freq_mhz=args.freq, seed=args.seed,
                                  **threshold_options_from_args(args))
    if not args.quiet:
        print(f"{args.output}/{cfg.name}.v: layer {man['layer']}, {cfg.channels} channels, "
              f"threshold unit ({cfg.mode}, {cfg.stages} stages, {cfg.qmax - cfg.qmin} "
              f"thresholds per channel of {cfg.w_t} bits, at most {cfg.thresholds_distinct} "
              f"distinct), {cfg.lanes} lane(s) ({cfg.lane_mode}), {cfg.store} store, latency "
              f"{cfg.latency} cycles; exact on every channel's range; {man['vectors']} test "
              "vectors")
    return 0


def _run_mixed_bundle(args: argparse.Namespace, unit: str, weights: dict | None) -> int:
    """``--all-layers``/``--layers`` with ``--unit threshold|auto``: one exact unit per layer
    (exactbn.threshold_network), the reason of each auto choice printed and in network.json."""
    import sys

    from exactbn.cli.unit_options import unit_options_from_args
    from exactbn.network import _check_bundle_options
    from exactbn.synth.flow import SynthError
    from exactbn.threshold_network import generate_mixed_bundle

    th = threshold_options_from_args(args)
    _check_bundle_options(th)
    ms: dict = {}
    if unit == "auto":
        chosen = args.unit
        args.unit = "multiply-shift"  # the multiply-shift side's own option checks
        try:
            ms = unit_options_from_args(args)
        finally:
            args.unit = chosen
    say = None if args.quiet else (lambda m: print(m, file=sys.stdout, flush=True))
    try:
        net = generate_mixed_bundle(args.solved, args.output, layer_names=args.layers,
                                    unit=unit, family=args.target, weights=weights,
                                    ms_options=ms, th_options=th, freq_mhz=args.freq,
                                    auto_freq_mhz=getattr(args, "auto_freq", args.freq),
                                    seed=args.seed, progress=say)
    except SynthError as e:
        print(f"exactbn: error: --unit auto: synthesis failed: {e}")
        return 1
    if not args.quiet:
        for u in net["units"]:
            print(f"{args.output}/{u['verilog']}: layer {u['layer']}, {u['unit']} unit, "
                  f"{u['channels']} channels, latency {u['latency']}, {u['parameter_bits']} "
                  "parameter bits, exact")
        t = net["totals"]
        print(f"{args.output}/network.json: {t['units']} units, {t['channels']} channels, "
              f"{t['exact_units']}/{t['units']} exact")
    return 0


def run_sim_threshold(args: argparse.Namespace, scenarios: list[str] | None) -> int:
    """``exactbn sim --unit threshold``: the cocotb regression of the threshold unit (thresholds
    re-derived from a, b and the spec; exactbn/threshold_sim.py)."""
    from pathlib import Path

    from exactbn.cli.cmd_sim import run_simulators
    from exactbn.cli.unit_options import _usage_error, load_layer_from_args
    from exactbn.network import network_mode
    from exactbn.regmap.sim import THRESHOLD_AXIL_SCENARIOS
    from exactbn.threshold_generate import threshold_config_from_solved
    from exactbn.threshold_sim import simulate_threshold_layer

    if getattr(args, "shared_unit", False):
        raise _usage_error("--shared-unit is one multiply-shift unit for every layer: sim "
                           "--unit threshold|auto runs one unit per layer (--all-layers)")
    if network_mode(args):
        from exactbn.threshold_network import run_mixed_all_layers

        return run_mixed_all_layers("sim", args, "out")
    if args.netlist:
        raise _usage_error("sim --unit threshold --netlist: the gate-level run covers the "
                           "multiply-shift unit only")
    axil = getattr(args, "cfg_bus", "raw") == "axil"
    if axil and (args.scenarios or args.waves):
        raise _usage_error("sim --cfg-bus axil runs the AXI4-Lite bench (" + ", ".join(
            THRESHOLD_AXIL_SCENARIOS) + "): no --scenarios or --waves")
    layer = load_layer_from_args(args, args.solved)
    opts = threshold_options_from_args(args)
    cfg = threshold_config_from_solved(layer, file=args.solved, **opts)
    unit = (f"threshold unit ({cfg.mode} search, {cfg.stages} stages, {cfg.qmax - cfg.qmin} "
            f"thresholds per channel), L={cfg.lanes} {cfg.lane_mode}, {cfg.store}, latency "
            f"{cfg.latency}"
            + (", AXI4-Lite register map" if axil else ""))

    def simulate(sim: str, run_dir: Path, cache_root: Path):
        if axil:  # programmed through AXI4-Lite, also reprogrammed to new words mid-stream
            from exactbn.regmap.sim import run_threshold_axil_bench

            return run_threshold_axil_bench(layer, cfg, run_dir, simulator=sim, seed=args.seed,
                                            cache_root=cache_root)
        return simulate_threshold_layer(layer, cfg, sim, vectors=args.vectors, waves=args.waves,
                                        seed=args.seed, run_dir=run_dir, scenarios=scenarios,
                                        cache_root=cache_root)

    return run_simulators(args, layer, cfg, unit, simulate)


def run_prove_threshold(args: argparse.Namespace) -> int:
    """``exactbn prove --unit threshold``: hold + datapath proofs of the threshold unit (ROM or
    RAM, with or without the range check) against thresholds re-derived from a, b and the
    output spec."""
    from pathlib import Path

    from exactbn.cli.cmd_prove import read_user_verilog
    from exactbn.cli.unit_options import _usage_error, load_layer_from_args
    from exactbn.formats import FormatError, safe_name, write_json_atomic
    from exactbn.hw.threshold_unit import threshold_verilog
    from exactbn.network import network_mode
    from exactbn.sim.formal.runner import WorkdirError
    from exactbn.sim.formal.threshold_harness import prove_threshold
    from exactbn.threshold_generate import threshold_config_from_solved

    if getattr(args, "shared_unit", False):
        raise _usage_error("--shared-unit is one multiply-shift unit for every layer: prove "
                           "--unit threshold|auto proves one unit per layer (--all-layers)")
    if network_mode(args):
        if args.verilog:
            raise _usage_error("prove: --verilog proves one unit; not with --all-layers/--layers")
        from exactbn.threshold_network import run_mixed_all_layers

        return run_mixed_all_layers("prove", args, "out")
    axil = getattr(args, "cfg_bus", "raw") == "axil"
    if axil and args.verilog:
        raise _usage_error("prove --verilog: a --cfg-bus axil unit's Verilog has s_axil_* "
                           "ports; prove it without --verilog (the unit behind the slave)")
    layer = load_layer_from_args(args, args.solved)
    opts = threshold_options_from_args(args)
    if opts["name"] is None:
        from exactbn.hw.names import default_unit_name

        opts["name"] = default_unit_name(layer.name)
    if args.verilog:  # a generated kit's manifest says which stages its Verilog has
        opts["stages"] = _manifest_stages(Path(args.verilog).with_suffix(".json"),
                                          opts["stages"], args)
    cfg = threshold_config_from_solved(layer, file=args.solved, **opts)  # re-derived, checked
    axil_cfg = None
    if axil:
        from dataclasses import replace

        axil_cfg, cfg = cfg, replace(cfg, cfg_bus="raw")
        print("prove: --cfg-bus axil: the unit behind the AXI4-Lite slave (its raw cfg_* port), "
              "then the slave against the AXI4-Lite protocol and the documented register map")
    verilog = (read_user_verilog(args.verilog, cfg.name) if args.verilog
               else threshold_verilog(cfg))
    out = Path(args.out) / safe_name(f"{layer.name}-{cfg.name}")
    try:
        res = prove_threshold(cfg, cfg.directions, cfg.thresholds, layer.ranges(), verilog, out)
        if axil_cfg is not None and all(r.status == "PASS" for r in res.values()):
            from exactbn.hw.axil import AxiLiteSlave
            from exactbn.regmap.formal import prove_axil

            res["axil_map"] = prove_axil(AxiLiteSlave(axil_cfg), out / "axil", map_check=True)
    except WorkdirError as e:
        raise _usage_error(f"prove: {e}") from None
    except ValueError as e:  # the netlist could not be listed (list_state)
        raise FormatError(f"prove: {e}", file=args.verilog or None) from None
    overall = next((r.status for r in res.values() if r.status != "PASS"), "PASS")
    write_json_atomic(out / "prove.json", {  # status/seconds as the multiply-shift unit's
        "status": overall, "seconds": round(sum(r.seconds for r in res.values()), 2),
        "tasks": {t: {"status": r.status, "seconds": round(r.seconds, 2), "depth": r.depth,
                      "failed": r.failed_text, "vcd": r.vcd} for t, r in res.items()}})
    print(f"prove {layer.name} (threshold unit, {cfg.mode} search, {cfg.stages} stages, "
          f"L={cfg.lanes} "
          f"{cfg.lane_mode}, latency {cfg.latency}{', AXI4-Lite' if axil_cfg else ''}): "
          + ", ".join(f"{t} {r.status} {r.seconds:.1f} s" for t, r in res.items()))
    flag = (" The range flag of every beat and the sticky range_error equal the channels' "
            "ranges'." if cfg.range_check else "")
    if axil_cfg is not None:
        flag += (" AXI4-Lite (k-induction, every input sequence): the slave follows the "
                 "protocol and the documented register map (every COMMIT passes the T words "
                 "and INDEX last written to their offsets, and the channel, on to cfg_* before "
                 "its OKAY response; SLVERR where documented; ID/geometry reads). The top is "
                 "that unit and that slave wired port to port (hw/axil_unit.py); the "
                 "wiring itself is exercised by sim --cfg-bus axil, not proven.")
    if all(r.status == "PASS" for r in res.values()) and cfg.store == "ram":
        print("PROVEN: every memory word equals the shadow of the cfg writes (from the "
              "re-derived thresholds), cfg_error is the sticky flag of writes to channels >= C, "
              "and every output lane equals the unit's search over the words as they were when "
              "its beat entered the search, for every input, for the beats accepted, in order, "
              "under output stalls; while the solved words are loaded that search equals the "
              "exact BN on every channel's range (thresholds checked at both ends of every "
              "output level). Stream: beats leave in order, none lost or duplicated, "
              "tuser/tlast kept, the documented latency and skid behaviour." + flag)
        return 0
    if all(r.status == "PASS" for r in res.values()):
        print("PROVEN: every output lane equals the count over the channel's thresholds for "
              "every input in its certified range, for the beats accepted, in order, under "
              "output stalls (hold + data under stalls); the thresholds were re-derived from "
              "a, b and the output spec and checked at both ends of every output level, so "
              "the unit equals the exact BN on every channel's range. Stream: beats leave in "
              "order, none lost or duplicated, tuser/tlast kept, the documented latency and "
              "skid behaviour." + flag)
        return 0
    for t, r in res.items():
        if r.status != "PASS":
            print(f"{r.status}: {t}: {r.failed_text or ' | '.join(r.log_tail[-2:])}")
            if r.vcd:
                print(f"counterexample: {r.vcd}")
    return 1


def _manifest_stages(path, stages: str, args: argparse.Namespace) -> str:
    """``prove --unit threshold --verilog FILE.v``: the stages of the threshold kit's manifest
    FILE.json beside it (when there is one), else ``stages``; UsageError when ``--target``
    asks for other stages than the manifest's."""
    import json

    from exactbn.cli.unit_options import _usage_error

    try:
        p = json.loads(path.read_text())["parameters"]
    except (OSError, ValueError, KeyError, TypeError):
        return stages  # no (threshold) manifest: the options decide
    if not isinstance(p, dict) or p.get("unit") != "threshold" or "stages" not in p:
        return stages
    if getattr(args, "target", None) is not None and p["stages"] != stages:
        raise _usage_error(f"prove --verilog: {path} says stages {p['stages']}, --target "
                           f"{args.target} builds {stages}; leave --target out")
    return p["stages"]


def synth_cost_weights(args: argparse.Namespace) -> dict | None:
    """``synth --cost``: the weights of ``--unit auto`` (UsageError without --unit auto)."""
    from exactbn.cli.unit_options import _usage_error

    if getattr(args, "cost", None) is None:
        return None
    if getattr(args, "unit", None) != "auto":
        raise _usage_error("--cost weighs the units for --unit auto: it needs --unit auto")
    return _weights(args.cost, args.target)


def synth_auto_kinds(args: argparse.Namespace, layer, target, kinds: tuple[str, ...],
                     options: dict) -> tuple[str, ...]:
    """``synth --unit auto``: "exactbn" in ``kinds`` becomes the exact unit ``--unit auto``
    picks on this target (Yosys counts, ``--cost`` weights, default 1 each); the reason goes
    to stderr."""
    import sys

    from exactbn.cli.unit_options import _usage_error
    from exactbn.cost import DEFAULT_WEIGHTS, choose_unit

    if getattr(args, "shared_unit", False) or target.name not in AUTO_FAMILIES:
        raise _usage_error("synth --unit auto: one layer on an FPGA target "
                           f"({'|'.join(AUTO_FAMILIES)})")
    keep = ("lanes", "lane_mode", "store", "pipeline", "range_check", "param_memory",
            "cfg_bus")
    weights = synth_cost_weights(args) or DEFAULT_WEIGHTS
    unit, reason, _ = choose_unit(layer, target.name, weights, file=args.solved,
                                  freq_mhz=float(args.freq) if args.freq else None,
                                  **{k: v for k, v in options.items() if k in keep})
    if not args.quiet:
        print(f"--unit auto: {unit}: {reason}", file=sys.stderr, flush=True)
    args.unit_choice = reason  # into the report (meta.unit_choice)
    new = "exact_threshold" if unit == "threshold" else "exactbn"
    return tuple(dict.fromkeys(new if k == "exactbn" else k for k in kinds))
