"""``exactbn demo -o demo``: bundled model -> import, solve, Verilog, sim, synth -> report."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    from exactbn.demo import STAGES

    p = subparsers.add_parser(
        "demo", help="end-to-end demo on the bundled digits CNN (make demo)",
        description="Import the bundled digits CNN, solve every BN channel exactly, generate "
        "Verilog, run the cocotb regression on Verilator, synthesize for ECP5 and write "
        "OUT/report.md with the experiment tables and plots. Exit 1 if anything is not "
        "bit-exact.")
    p.add_argument("-o", "--output", default="demo", metavar="OUT", help="output directory")
    p.add_argument("--skip", action="append", default=[], choices=STAGES[:-1],
                   help="skip a stage (repeatable)")
    p.add_argument("--synth-layer", action="append", default=None, metavar="NAME",
                   help="synthesize only these layers (default: every layer)")
    p.add_argument("--seeds", default="1", help="nextpnr seeds for synthesis (default 1)")
    return p


def run(args) -> int:
    from rich.console import Console
    from rich.markup import escape

    from exactbn.demo import run_demo

    con = Console()
    style = {"ok": "green", "failed": "bold red", "missing": "yellow", "skipped": "yellow"}
    live = {}

    def progress(stage, res):
        if res is None:
            live["s"] = con.status(f"[bold]{stage}[/] ...")
            live["s"].start()
            return
        live.pop("s").stop()
        word = "FAILED" if res.status == "failed" else res.status.upper() \
            if res.status == "missing" else res.status
        con.print(f"[{style[res.status]}]{word:>8}[/]  [bold]{stage:<10}[/] "
                  f"{res.seconds:6.1f} s  {escape(res.summary)}", highlight=False)

    def note(text):
        if "s" in live:
            live["s"].update(f"[bold]{escape(text)}[/] ...")

    result = run_demo(args.output, skip=tuple(args.skip), progress=progress, note=note,
                      synth_layers=args.synth_layer, seeds=args.seeds)
    missing = [s.name for s in result.stages if s.status == "missing"]
    if missing:
        con.print(f"[yellow]missing stages: {', '.join(missing)} (said so in the report)[/]")
    con.print(f"report: {escape(str(result.out / 'report.md'))}")
    if not result.ok:
        con.print("[bold red]demo: something is not bit-exact or a stage failed[/]")
        return 1
    return 0
