"""``--unit threshold`` for the CLI commands (generate; the other commands refuse it)."""

from __future__ import annotations

import argparse

__all__ = ["threshold_options_from_args", "run_generate_threshold"]


def threshold_options_from_args(args: argparse.Namespace) -> dict:
    """Keyword options of :func:`exactbn.threshold_generate.threshold_config_from_solved`."""
    from exactbn.cli.unit_options import _usage_error, parse_widths
    from exactbn.hw.config import Pipeline
    from exactbn.hw.names import name_problem

    try:
        pipeline = Pipeline.parse(args.pipeline)
    except ValueError as e:
        raise _usage_error(f"--pipeline: {e}") from None
    if args.name is not None and (why := name_problem(args.name)):
        raise _usage_error(f"--name {why}")
    return {
        "lanes": args.lanes, "lane_mode": args.lane_mode, "store": args.store,
        "pipeline": pipeline, "widths": parse_widths(args.widths), "name": args.name,
        "range_check": bool(args.range_check), "param_memory": args.param_memory,
    }


def run_generate_threshold(args: argparse.Namespace) -> int:
    """``exactbn generate --unit threshold``: the threshold unit's kit for one layer."""
    from exactbn.cli.unit_options import _usage_error
    from exactbn.network import network_mode
    from exactbn.threshold_generate import generate_threshold

    if network_mode(args):
        raise _usage_error("--unit threshold builds one layer: --all-layers/--layers are for "
                           "the multiply-shift unit")
    cfg, man = generate_threshold(args.solved, args.output, layer_name=args.layer,
                                  freq_mhz=args.freq, seed=args.seed,
                                  **threshold_options_from_args(args))
    if not args.quiet:
        print(f"{args.output}/{cfg.name}.v: layer {man['layer']}, {cfg.channels} channels, "
              f"threshold unit ({cfg.mode}, {cfg.qmax - cfg.qmin} thresholds per channel of "
              f"{cfg.w_t} bits, at most {cfg.thresholds_distinct} distinct), {cfg.lanes} "
              f"lane(s) ({cfg.lane_mode}), {cfg.store} store, latency {cfg.latency} cycles; "
              f"exact on every channel's range; {man['vectors']} test vectors")
    return 0
