"""The ONE shared group of unit options (generate, sim, synth, prove) and its conversion.

``add_unit_options(parser)`` adds ``--layer --lanes --lane-mode --store --pipeline --widths
--name --range-check --allow-inexact``; ``unit_config_from_args(args, layer)`` turns the
parsed values plus a :class:`~exactbn.formats.SolvedLayer` into an
:class:`exactbn.hw.UnitConfig`. The shift mode and the hardware rounding always come from the
solved file, never from a flag: the solver chose them with the parameters and they are part of
what it proved exact.
"""

from __future__ import annotations

import argparse
import re

from exactbn.formats import SolvedLayer, load_solved, select_layer

__all__ = [
    "add_unit_options",
    "parse_widths",
    "load_layer_from_args",
    "unit_options_from_args",
    "unit_config_from_args",
    "UNIT_OPTIONS_HELP",
]

UNIT_OPTIONS_HELP = """\
unit options: --lanes L (1..256, default 1); --lane-mode channels|pixels (channels: lane i of
a beat with tuser=g is channel g*L+i; pixels: every lane is channel tuser); --store rom|ram
(ram adds the cfg_* write port; --cfg-bus axil makes it an AXI4-Lite slave with a register
map); --pipeline shallow|default|deep|ecp5|ice40|xilinx or
mult=0..2,shift=0..8,round=0..1,out=0..2,dspin=0..1,chunk=0..64 (missing keys as in default =
mult=2,shift=1,round=1,out=1,dspin=0,chunk=0; deep has dspin=1: registers at the DSP inputs;
out=2: staged saturation; chunk=K: K-bit carry chunks; flow=stall|credit: back-pressure as
one clock enable, or a free-running pipeline with an output FIFO and credits (the family
presets); a preset then overrides, e.g. ecp5,flow=stall; without --pipeline, --target FAMILY
picks the family's fastest preset);
--widths M,B,N register widths (empty or 'auto' entries are
sized from the solved file, e.g. '24,,'); --name Verilog module name (default exactbn_<layer>);
--range-check adds a sticky range_error output; --allow-inexact generates layers with
channels that have no exact solution (reporting how many outputs differ)."""


def _usage_error(message: str) -> Exception:
    from exactbn.cli.main import UsageError

    return UsageError(message)


def _lanes(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if not 1 <= v <= 256:
        raise argparse.ArgumentTypeError(f"must be in 1..256, got {v}")
    return v


def add_unit_options(parser: argparse.ArgumentParser, *, layer: bool = True):
    """Add the shared unit options (and ``--layer`` unless ``layer=False``) to ``parser``."""
    g = parser.add_argument_group(
        "unit options", "shared by generate, sim, synth and prove; the shift mode and the "
        "hardware rounding always come from the solved file")
    if layer:
        g.add_argument("--layer", metavar="NAME",
                       help="layer to use (optional when the file holds one layer)")
    g.add_argument("--lanes", type=_lanes, default=1, metavar="L",
                   help="parallel lanes per beat (default 1)")
    g.add_argument("--lane-mode", choices=("channels", "pixels"), default="channels",
                   help="channels: lane i = channel g*L+i; pixels: all lanes channel tuser")
    g.add_argument("--store", choices=("rom", "ram"), default="rom",
                   help="parameter store: ROM from the solved file, or RAM with a cfg_* port")
    g.add_argument("--cfg-bus", choices=("raw", "axil"), default="raw",
                   help="RAM store programming port: raw cfg_* handshake, or axil (an AXI4-Lite "
                   "slave with a register map, NAME_regs.rdl; needs --store ram)")
    g.add_argument("--pipeline", default=None, metavar="SPEC",
                   help="register stages: shallow|default|deep|ecp5|ice40|xilinx, or key=value "
                   "pairs mult=0..2,shift=0..8,round=0..1,out=0..2,dspin=0..1,chunk=0..64 "
                   ",flow=stall|credit (missing keys as in default = mult=2,shift=1,round=1,"
                   "out=1,dspin=0,chunk=0,flow=stall), or a preset then overrides "
                   "(ecp5,flow=stall); "
                   "without it: the --target family's fastest preset, else default")
    g.add_argument("--widths", metavar="M,B,N",
                   help="register widths of M, B (two's complement) and the N field; "
                   "empty/auto entries are auto-sized (e.g. '24,,')")
    g.add_argument("--name", default=None,
                   help="Verilog module name, also the kit's file and FuseSoC core name "
                   "(default exactbn_<layer>, made a Verilog identifier); no Verilog keyword")
    g.add_argument("--range-check", action="store_true",
                   help="flag inputs outside their channel's certified range (range_error)")
    g.add_argument("--param-memory", choices=("auto", "block", "distributed", "logic"),
                   default="auto",
                   help="parameter memory mapping (Yosys ram_style): auto lets the flow "
                   "choose (small ROMs become LUTs), block asks for block RAM")
    g.add_argument("--allow-inexact", action="store_true",
                   help="accept layers with channels that have no exact solution")
    g.add_argument("--unit", choices=UNITS, default="multiply-shift",
                   help="multiply-shift (M, B, N), threshold (exact integer thresholds, "
                   "binary search or parallel compare) or auto (the cheaper exact unit on "
                   "--target by Yosys counts, --cost weights); generate, sim, prove, synth")
    return g


UNITS = ("multiply-shift", "threshold", "auto")


def check_unit(args: argparse.Namespace, command: str, supported=("multiply-shift",)) -> str:
    """The ``--unit`` value, or UsageError when ``command`` does not build that unit."""
    unit = getattr(args, "unit", "multiply-shift")
    if unit not in supported:
        raise _usage_error(f"--unit {unit}: {command} supports {' or '.join(supported)} only")
    return unit


def parse_widths(text: str | None) -> tuple[int | None, int | None, int | None] | None:
    """``"M,B,N"`` -> three ints or None (auto); raises UsageError on a malformed value."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3:
        raise _usage_error(f"--widths expects M,B,N (three comma-separated entries), got {text!r}")
    out: list[int | None] = []
    for label, p in zip("MBN", parts, strict=True):
        if p in ("", "auto", "-"):
            out.append(None)
        elif re.fullmatch(r"\d+", p):
            out.append(int(p))
        else:
            raise _usage_error(f"--widths: {label} width must be a non-negative integer or "
                               f"'auto', got {p!r}")
    return out[0], out[1], out[2]


def load_layer_from_args(args: argparse.Namespace, path: str) -> SolvedLayer:
    """The solved layer chosen by ``--layer`` from the file at ``path`` (FormatError if bad)."""
    return select_layer(load_solved(path), getattr(args, "layer", None), file=str(path))


def unit_options_from_args(args: argparse.Namespace, units=("multiply-shift",)) -> dict:
    """Keyword options for :func:`exactbn.generate.unit_config_from_solved`."""
    from exactbn.hw.config import Pipeline, family_of_target
    from exactbn.hw.names import name_problem

    check_unit(args, getattr(args, "command", None) or "this command", units)
    try:  # None: the target family's preset (exactbn.generate.unit_config_from_solved)
        pipeline = None if args.pipeline is None else Pipeline.parse(args.pipeline)
    except ValueError as e:
        raise _usage_error(f"--pipeline: {e}") from None
    cfg_bus = getattr(args, "cfg_bus", "raw")
    if cfg_bus == "axil" and args.store != "ram":
        raise _usage_error("--cfg-bus axil programs a RAM parameter store: it needs --store ram "
                           f"(got --store {args.store})")
    if args.name is not None and (why := name_problem(args.name)):
        raise _usage_error(f"--name {why}")  # None: derived from the layer (generate.py)
    return {
        "lanes": args.lanes,
        "lane_mode": args.lane_mode,
        "store": args.store,
        "pipeline": pipeline,
        "widths": parse_widths(args.widths),
        "name": args.name,
        "range_check": bool(args.range_check),
        "allow_inexact": bool(args.allow_inexact),
        "param_memory": args.param_memory,
        "family": family_of_target(getattr(args, "target", None)),
        **({"cfg_bus": cfg_bus} if cfg_bus != "raw" else {}),  # threshold/baseline paths: raw
    }


def unit_config_from_args(args: argparse.Namespace, layer: SolvedLayer, file: str | None = None):
    """An :class:`exactbn.hw.UnitConfig` for ``layer`` with the parsed unit options.

    Raises UsageError (bad option text) or FormatError (layer/option mismatch, naming the
    file, layer, channel and field)."""
    from exactbn.generate import unit_config_from_solved

    return unit_config_from_solved(layer, file=file, **unit_options_from_args(args))
