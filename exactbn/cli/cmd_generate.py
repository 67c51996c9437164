"""``exactbn generate SOLVED.json -o OUTDIR``: Verilog unit plus its integration kit.

Writes NAME.v, NAME.json (manifest), parameter .hex files, NAME.core (FuseSoC),
NAME_inst.v, NAME.sdc/.xdc, NAME_tb.v + NAME_vectors.hex (self-checking bench) and
README.md into OUTDIR, atomically (all or nothing). Bad input: exit 2, nothing written.
"""

from __future__ import annotations

import argparse

from exactbn.cli.unit_options import add_unit_options, unit_options_from_args

__all__ = ["add_parser", "run"]


def _freq(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a frequency in MHz, got {text!r}") from None
    if not 0.001 <= v <= 10_000:
        raise argparse.ArgumentTypeError(f"must be between 0.001 and 10000 MHz, got {v}")
    return v


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "generate",
        help="generate the Verilog unit and its integration kit from a solved file",
        description="Generate a pipelined BN unit (Verilog) for one layer of a solved file, "
        "with a manifest, parameter .hex files, a FuseSoC core, an instantiation template, "
        "clock constraints, a self-checking Verilog test bench and a README.",
    )
    p.add_argument("solved", metavar="SOLVED.json", help="solved file (exactbn solve)")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                   help="directory to write (replaced atomically)")
    p.add_argument("--freq", type=_freq, default=None, metavar="MHZ",
                   help="clock frequency for NAME.sdc/.xdc (default 100); also the clock "
                   "--unit auto's fmax weight judges at (default: the target's, as in synth)")
    p.add_argument("--seed", type=int, default=1,
                   help="seed of the test bench's random inputs and valid/ready gaps")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary")
    add_unit_options(p)
    from exactbn.cli.threshold_cli import add_auto_options

    add_auto_options(p)  # --target, --cost for --unit auto
    for a in p._actions:  # --target asic: the standard-cell multiplier and preset (as synth)
        if a.dest == "target":
            a.choices = (*a.choices, "asic")
    from exactbn.network import add_network_options

    add_network_options(p)  # --all-layers, --layers (--jobs): OUT/<layer>/ + network.json
    return p


def run(args: argparse.Namespace) -> int:
    from exactbn.cli.threshold_cli import _check_auto_args, run_generate_auto
    from exactbn.generate import generate

    if args.target == "asic" and args.unit == "auto":
        from exactbn.cli.unit_options import _usage_error

        raise _usage_error("--unit auto decides by FPGA synthesis: --target asic takes "
                           "--unit multiply-shift or threshold")
    _check_auto_args(args)  # --target/--cost only with --unit auto
    # auto judges Fmax at the clock asked for, else the target's default (as synth, sim and
    # prove do); the kit's constraints default to 100 MHz
    args.auto_freq = args.freq
    if args.freq is None:
        args.freq = 100.0
    if getattr(args, "unit", "multiply-shift") == "threshold":
        from exactbn.cli.threshold_cli import run_generate_threshold

        return run_generate_threshold(args)
    if args.unit == "auto":
        return run_generate_auto(args, run)
    options = unit_options_from_args(args)
    from exactbn.network import network_mode

    if network_mode(args):
        return _run_bundle(args, options)
    if args.shared_unit:
        return _run_shared(args, options)
    cfg, man = generate(args.solved, args.output, layer_name=args.layer, freq_mhz=args.freq,
                        seed=args.seed, **options)
    if not args.quiet:
        ex = man["exactness"]
        note = "" if ex["exact"] else (
            f"; INEXACT: {len(ex['inexact_channels'])} channel(s), "
            f"{ex['differing_outputs']} input value(s) differ")
        print(f"{args.output}/{cfg.name}.v: layer {man['layer']}, {cfg.channels} channels, "
              f"{cfg.lanes} lane(s) ({cfg.lane_mode}), {cfg.shift_mode} shift, "
              f"hw_rounding {cfg.hw_rounding}, {cfg.store} store, latency {cfg.latency} "
              f"cycles, widths M={cfg.w_m} B={cfg.w_b} N={cfg.w_n}; {man['vectors']} test "
              f"vectors{note}")
    return 0


def _run_bundle(args: argparse.Namespace, options: dict) -> int:
    """--all-layers / --layers: one kit per layer plus network.json, README.md, NET.core."""
    from exactbn.network import generate_bundle

    net = generate_bundle(args.solved, args.output, layer_names=args.layers,
                          freq_mhz=args.freq, seed=args.seed, jobs=args.jobs, **options)
    if not args.quiet:
        for u in net["units"]:
            note = ("" if u["exact"] else
                    f"; INEXACT: {u['differing_outputs']} input value(s) differ")
            print(f"{args.output}/{u['verilog']}: layer {u['layer']}, {u['channels']} channels, "
                  f"latency {u['latency']}, {u['parameter_bits']} parameter bits{note}")
        t = net["totals"]
        print(f"{args.output}/network.json: {t['units']} units, {t['channels']} channels, "
              f"{t['parameter_bits']} parameter bits, {t['exact_units']}/{t['units']} exact")
    return 0


def _run_shared(args: argparse.Namespace, options: dict) -> int:
    """--shared-unit: one unit for several layers, s_axis_tuser = {layer, group}."""
    from exactbn.shared import generate_shared

    if args.layer is not None:
        from exactbn.cli.main import UsageError

        raise UsageError("--layer picks one layer; --shared-unit serves several: use one")
    cfg, man, lj = generate_shared(args.solved, args.output, layer_names=args.layers,
                                   freq_mhz=args.freq, seed=args.seed, **options)
    if not args.quiet:
        t = lj["tuser"]
        print(f"{args.output}/{cfg.name}.v: shared unit for {len(lj['layers'])} layers "
              f"({', '.join(x['layer'] for x in lj['layers'])}), {lj['real_channels']} "
              f"channels in {cfg.groups} memory words per lane; {t['layout']} "
              f"({t['group_bits']} + {t['layer_bits']} bits); widths X={cfg.w_x} M={cfg.w_m} "
              f"B={cfg.w_b} N={cfg.w_n}, shifts {cfg.n_min}..{cfg.n_max}, latency "
              f"{cfg.latency}; {man['vectors']} test vectors; layout in {cfg.name}_layers.json")
    return 0
