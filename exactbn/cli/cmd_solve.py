"""``exactbn solve``: layer file -> solved file, with a per-layer summary table."""

from __future__ import annotations

import argparse

from exactbn import formats

HW_CHOICES = ("auto", *formats.HW_ROUNDINGS)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "solve",
        help="find the minimal exact integer (M, B, N) of every BN channel",
        description="Solve every channel of every layer: smallest N, then |M|, then |B| such "
        "that clip(R_hw((M*x + B) / 2^N)) equals the exact BN output for every x in the range.",
    )
    p.add_argument("layers", metavar="LAYERS.json")
    p.add_argument("-o", "--output", required=True, metavar="SOLVED.json")
    p.add_argument("--layer", metavar="NAME", help="solve only this layer")
    p.add_argument("--shift", choices=formats.SHIFT_MODES, default="per-channel",
                   help="per-channel shifts (barrel shifter) or one shared shift per layer")
    p.add_argument("--hw-rounding", choices=HW_CHOICES, default="auto",
                   help="auto: floor (rounding folded into B) where every channel is exact, "
                   "else the layer's own rounding in a hardware rounding stage")
    p.add_argument("--budget", metavar="M,B,N",
                   help="max widths of M and B (bits, sign included) and max N; '-' = no limit")
    p.add_argument("--no-summary", action="store_true", help="skip the baseline comparison")
    return p


def solve_layer(*args, **kwargs):
    """golden.solver.solve_layer, imported on first use (start-up stays light)."""
    from exactbn.golden.solver import solve_layer as solve

    return solve(*args, **kwargs)


def solve_layers_fast(layers, shift_mode, hw_rounding, budget) -> list:
    """golden.fast.solve_layers_fast when some layer is wide enough to pay for numba's
    start-up, else None per layer."""
    from exactbn.golden.solver import _fast_min_channels

    if budget is not None or not any(lay.channels >= _fast_min_channels() for lay in layers):
        return [None] * len(layers)
    from exactbn.golden.fast import solve_layers_fast as solve

    return solve(layers, shift_mode, hw_rounding, budget)


def layers_summary(solved, layers) -> list[dict]:
    """golden.summary.layers_summary (the kernel for wide layers), imported on first use;
    a file of narrow layers takes golden.summary.layer_summary one by one (no numba)."""
    from exactbn.golden import summary

    if not any(sl.channels >= summary.FAST_MIN_CHANNELS for sl in solved):
        return [summary.layer_summary(sl, lay) for sl, lay in zip(solved, layers, strict=True)]
    return summary.layers_summary(solved, layers)


def _print_plain(console, title: str, heads: list[str], cols: list[list[str]], caption: str
                 ) -> None:
    """The summary table as plain text: one line per layer, columns aligned."""
    widths = [max([len(h), *(len(v) for v in col)]) for h, col in zip(heads, cols, strict=True)]
    left = {0, 3}  # layer, R_hw

    def line(cells):
        return "  ".join(v.ljust(w) if i in left else v.rjust(w)
                         for i, (v, w) in enumerate(zip(cells, widths, strict=True)))

    out = [title, line(heads), line(["-" * w for w in widths])]
    out += [line(row) for row in zip(*cols, strict=True)]
    out.append(caption)
    console.out("\n".join(out), highlight=False)


def _fmt(st, key="median"):
    return "-" if st is None else f"{st['min']}/{st[key]:g}/{st['max']}"


def run(args) -> int:
    from exactbn.cli.common import without_gc

    return without_gc(_run, args)


def _run(args) -> int:
    # Imported here, not at start-up: `exactbn --help` needs none of numba, numpy or rich.
    from rich.table import Table

    from exactbn.cli.common import console, parse_int_triple
    from exactbn.cli.progress import Progress
    from exactbn.golden.solver import Budget

    layers = formats.load_layers(args.layers)
    if args.layer is not None:
        layers = [formats.select_layer(layers, args.layer, args.layers)]
    budget = None
    if args.budget:
        budget = Budget(*parse_int_triple(args.budget, "--budget", ("M", "B", "N")))
    solved = []
    with Progress("solving", sum(lay.channels for lay in layers)) as prog:
        # whole exact layers from arrays, one kernel call for all of them (golden/fast.py);
        # the rest (and every layer of a narrow file: no numba start-up) one by one
        try:
            fast = solve_layers_fast(layers, args.shift, args.hw_rounding, budget)
        except formats.FormatError as e:
            raise e.located(file=args.layers) from None
        for layer, done in zip(layers, fast, strict=True):
            try:
                solved.append(done if done is not None else solve_layer(
                    layer, shift_mode=args.shift, hw_rounding=args.hw_rounding, budget=budget))
            except formats.FormatError as e:
                raise e.located(file=args.layers) from None
            prog.advance(layer.channels, f"{layer.name} ({layer.channels} ch)")
    formats.write_solved(args.output, formats.dump_solved(solved))
    title = f"exactbn solve -> {args.output}"
    caption = ("naive and mismatch figures: exact counts over every input of every channel, "
               "unless marked")
    table = Table(title=title, caption=caption)
    for col in ("layer", "ch", "exact", "R_hw", "N min/med/max", "W_M", "W_B", "W_N",
                "vs naive: saved N/W_M/W_B (median)", "saved bits/ch (med/max)", "TFLite mism.",
                "f32 mism."):
        table.add_column(col, justify="right" if col not in ("layer", "R_hw") else "left")
    summaries = []
    if not args.no_summary:
        with Progress("summary", sum(sl.channels for sl in solved)) as prog:
            summaries = layers_summary(solved, layers)  # one kernel call for the wide layers
            prog.advance(sum(sl.channels for sl in solved), solved[-1].name)
    for n, (_layer, sl) in enumerate(zip(layers, solved, strict=True)):
        s = summaries[n] if summaries else None
        nv = s["naive"] if s else None
        saved = "-" if not nv or nv["saved_N"] is None else "/".join(
            f"{nv[k]['median']:g}" for k in ("saved_N", "saved_W_M", "saved_W_B"))
        if nv and nv["no_exact_n_up_to_64"]:
            saved += f" ({nv['no_exact_n_up_to_64']} ch: naive never exact)"
        bits = "-" if not nv or nv["saved_param_bits"] is None else (
            f"{nv['saved_param_bits']['median']:g}/{nv['saved_param_bits']['max']}")
        bl = s["baselines"] if s else None
        if s and s["skipped_channels"]:
            note = f"skipped {len(s['skipped_channels'])} ch: {s['skip_reason']}"
            saved = note if nv["channels_compared"] == 0 else f"{saved} ({note})"
            if nv["channels_compared"] == 0:
                bl = None
        smp = f" (sampled: {bl['sampled_channels']} ch)" if bl and bl["sampled"] else ""
        table.add_row(
            sl.name, str(sl.channels), f"{sum(sl.exact)}/{sl.channels}", sl.hw_rounding,
            _fmt({"min": min(sl.N), "median": sorted(sl.N)[len(sl.N) // 2], "max": max(sl.N)}),
            str(sl.widths.M), str(sl.widths.B), str(sl.widths.N), saved, bits,
            ("skipped" if s else "-") if not bl else f"{bl['tflite_rate']:.3%}{smp}",
            ("skipped" if s else "-") if not bl else f"{bl['float32_rate']:.4%}{smp}",
        )
    if console.is_terminal:
        console.print(table)
    else:  # a log or a pipe: plain aligned text, never wrapped to 80 columns (and fast)
        _print_plain(console, title, [c.header for c in table.columns],
                     [list(c.cells) for c in table.columns], caption)
    for sl in solved:
        bad = [c for c, e in enumerate(sl.exact) if not e]
        if bad:
            console.print(
                f"{sl.name}: {len(bad)} channel(s) without exact parameters "
                f"(hw_rounding={sl.hw_rounding}): {bad[:10]}{' ...' if len(bad) > 10 else ''}; "
                f"{sum(sl.mismatches)} inputs differ in all"
            )
    return 0
