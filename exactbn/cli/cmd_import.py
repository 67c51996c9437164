"""``exactbn import MODEL -o LAYERS.json``: a trained model's BN layers -> a layer file.

Flags only supply what the model does not carry (e.g. a PyTorch state dict has no activation
scales); a summary says what was found: layers, channels, pattern, derived accumulator ranges.
"""

from __future__ import annotations

import argparse

from exactbn.formats import ROUNDINGS, write_json_atomic

__all__ = ["add_parser", "run"]


def _signed(text: str) -> bool:
    if text in ("signed", "int"):
        return True
    if text in ("unsigned", "uint"):
        return False
    raise argparse.ArgumentTypeError(f"expected signed or unsigned, got {text!r}")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "import",
        help="import BN layers from an ONNX (QDQ, QONNX, Brevitas QCDQ), PyTorch or PT2E (.pt2) "
        "model into a layer file",
        description="Find every BatchNormalization (and every BN-folded conv requantization) "
        "in MODEL, derive each channel's accumulator range from the integer weights, and write "
        "a layer file. Flags are needed only for what the model does not carry.",
    )
    p.add_argument("model", metavar="MODEL", help="model file (.onnx: QDQ, QONNX or a Brevitas "
                   "export_qonnx/export_onnx_qcdq export; .pt/.pth state dict; .pt2 "
                   "torch.export.save of a convert_pt2e model)")
    p.add_argument("-o", "--output", required=True, metavar="LAYERS.json",
                   help="layer file to write")
    g = p.add_argument_group("values the model may lack")
    g.add_argument("--input-bits", type=int, help="bit width of the activation entering the "
                   "first Conv/Linear when the model does not quantize it")
    g.add_argument("--input-signedness", dest="input_signed", type=_signed,
                   metavar="signed|unsigned", help="signedness of that activation "
                   "(default unsigned)")
    g.add_argument("--input-scale", type=float, help="scale of that activation")
    g.add_argument("--input-zero-point", type=int, help="zero point of that activation")
    g.add_argument("--output-bits", type=int, help="output bits where no quantizer follows BN")
    g.add_argument("--output-signedness", dest="output_signed", type=_signed,
                   metavar="signed|unsigned", help="output signedness (default signed)")
    g.add_argument("--output-scale", type=float, help="output scale where no quantizer follows")
    g.add_argument("--output-zero-point", type=int, help="output zero point (default 0)")
    g.add_argument("--rounding", choices=ROUNDINGS,
                   help="replace the format's output rounding (ONNX, PyTorch: half_even)")
    g.add_argument("--acc-bits", type=int, help="accumulator (BN input) width; default: the "
                   "smallest width holding every derived channel range")
    g.add_argument("--eps", type=float, help="BN epsilon when the file does not store it "
                   "(PyTorch state dicts; default 1e-5)")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary")
    return p


def _overrides(args):
    from exactbn.golden.importers import Overrides

    from .main import UsageError

    for name in ("input_bits", "output_bits", "acc_bits"):
        v = getattr(args, name)
        if v is not None and not 1 <= v <= 62:
            raise UsageError(f"--{name.replace('_', '-')} must be between 1 and 62, got {v}")
    for name in ("input_scale", "output_scale", "eps"):
        v = getattr(args, name)
        if v is not None and not v > 0:
            raise UsageError(f"--{name.replace('_', '-')} must be > 0, got {v}")
    return Overrides(
        input_bits=args.input_bits, input_signed=args.input_signed,
        input_scale=args.input_scale, input_zero_point=args.input_zero_point,
        output_bits=args.output_bits, output_signed=args.output_signed,
        output_scale=args.output_scale, output_zero_point=args.output_zero_point,
        rounding=args.rounding, acc_bits=args.acc_bits, eps=args.eps,
    )


def print_summary(result, out_path: str | None = None) -> None:
    """A table of the imported layers (rich), the skipped ops and the flags used."""
    from rich.console import Console
    from rich.table import Table

    con = Console(markup=False, highlight=False)  # names from the model are plain text
    if not con.is_terminal:
        con = Console(width=160, markup=False, highlight=False)
    t = Table(title=f"imported from {result.source}")
    for col in ("layer", "pattern", "ch", "acc bits", "derived range", "widest ch", "output"):
        t.add_column(col)
    for r in result.summary_rows():
        t.add_row(r["name"], r["pattern"], str(r["channels"]), str(r["acc_bits"]),
                  f"[{r['range'][0]}, {r['range'][1]}]", f"{r['widest_channel_bits']} b",
                  r["output"])
    con.print(t)
    for s in result.skipped:
        con.print(f"skipped: {s}")
    if result.overrides_used:
        con.print("flags used: " + ", ".join("--" + u.replace("_", "-")
                                             for u in result.overrides_used))
    if out_path:
        n = sum(lay.channels for lay in result.layers)
        con.print(f"wrote {out_path}: {len(result.layers)} layers, {n} channels")


def run(args) -> int:
    from exactbn.golden.importers import import_model

    result = import_model(args.model, _overrides(args))
    write_json_atomic(args.output, result.to_json())
    if not args.quiet:
        print_summary(result, args.output)
    return 0
