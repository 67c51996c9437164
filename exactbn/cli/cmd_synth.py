"""``exactbn synth SOLVED.json --target T -o REPORTDIR``: resources and Fmax, side by side.

Generates the unit (shared unit options) and the baselines at the same widths (ceiling
multiplier, TFLite-style requantizer, threshold unit), runs YoWASP Yosys and nextpnr for
the target (several seeds, ``--jobs`` designs in parallel) and writes REPORTDIR/report.json,
report.md, plots and each design's working directory (work/), atomically. Exit 0 when every
design ran (designs that do not fit the device are reported as such), 1 when a tool failed,
2 on bad input.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

from exactbn.cli.unit_options import add_unit_options, unit_options_from_args

__all__ = ["add_parser", "run"]


def _usage(message: str) -> Exception:
    from exactbn.cli.main import UsageError

    return UsageError(message)


def add_parser(subparsers) -> argparse.ArgumentParser:
    from exactbn.synth.designs import DEFAULT_KINDS, KINDS
    from exactbn.synth.targets import TARGETS

    p = subparsers.add_parser(
        "synth",
        help="synthesize the unit and its baselines; report resources and Fmax",
        description="Synthesize the BN unit of one solved layer and the baselines at the same "
        "widths (ceiling multiplier, TFLite-style requantizer, threshold unit) with YoWASP "
        "Yosys and nextpnr; write report.json, report.md and plots into REPORTDIR.",
    )
    p.add_argument("solved", metavar="SOLVED.json", help="solved file (exactbn solve)")
    p.add_argument("--target", required=True, metavar="|".join(TARGETS),
                   help="FPGA family or asic: " + ", ".join(TARGETS) + " (xilinx and generic: "
                   "resource counts only, no Fmax; asic: Yosys/ABC onto a Liberty library, "
                   "area and OpenSTA timing)")
    p.add_argument("--library", metavar="osu018|osu035|osu050|PATH.lib",
                   help="asic: standard-cell library, an OSU library by name (default osu018) "
                   "or a Liberty file")
    p.add_argument("--device", metavar="DEV",
                   help="device (default per target: LFE5U-25F, iCE40UP5K, GW1NR-9C, "
                   "LIFCL-40-9BG400C, xc7a35t)")
    p.add_argument("--freq", default=None, metavar="MHZ",
                   help="nextpnr target frequency (default per target)")
    p.add_argument("--seeds", default="1,2,3", metavar="S,S,...",
                   help="placer seeds; Fmax is their median (default 1,2,3)")
    p.add_argument("--jobs", default="1", metavar="J", help="designs run in parallel (default 1)")
    p.add_argument("--designs", default=",".join(DEFAULT_KINDS), metavar="K,K,...",
                   help="which of " + ",".join(KINDS) + " to synthesize (default "
                   + ",".join(DEFAULT_KINDS) + "; --unit threshold: exactbn -> exact_threshold)")
    p.add_argument("-o", "--output", required=True, metavar="REPORTDIR",
                   help="report directory (replaced atomically)")
    p.add_argument("--cost", default=None, metavar="K=W,...",
                   help="--unit auto: weights of lut, ff, dsp, bram (default 1 each) on the "
                   "fraction of the device each takes, and fmax (default 0) on the Fmax's "
                   "shortfall against --freq (places both units: minutes), e.g. "
                   "dsp=4,bram=2,fmax=1")
    p.add_argument("--breakdown", action="store_true",
                   help="also report Yosys cells per module (where the LUTs go)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    add_unit_options(p)
    from exactbn.network import add_network_options

    add_network_options(p, jobs=False)  # --all-layers: --jobs = layers in parallel
    p.set_defaults(_parser=p)
    return p


def parse_seeds(text: str) -> list[int]:
    seeds = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit():
            raise _usage(f"--seeds expects comma-separated non-negative integers, got {text!r}")
        seeds.append(int(part))
    if not seeds or len(set(seeds)) != len(seeds):
        raise _usage(f"--seeds must list distinct seeds, got {text!r}")
    return seeds


def parse_jobs(text: str) -> int:
    if not text.strip().isdigit() or not 1 <= int(text) <= 64:
        raise _usage(f"--jobs must be an integer in 1..64, got {text!r}")
    return int(text)


def parse_freq(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        v = float(text)
    except ValueError:
        raise _usage(f"--freq expects a frequency in MHz, got {text!r}") from None
    if not 1.0 <= v <= 2000.0:
        raise _usage(f"--freq must be between 1 and 2000 MHz, got {text!r}")
    return v


def parse_kinds(text: str) -> tuple[str, ...]:
    from exactbn.synth.designs import KINDS

    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise _usage(f"--designs: unknown design kind(s) {bad or text!r}; expected some of "
                     f"{', '.join(KINDS)}")
    return kinds


def _command(args: argparse.Namespace) -> str:
    parts = ["exactbn", "synth", args.solved, "--target", args.target]
    for flag, val in (("--device", args.device), ("--library", args.library),
                      ("--freq", args.freq), ("--layer", args.layer),
                      ("--widths", args.widths), ("--name", args.name)):
        if val is not None:
            parts += [flag, str(val)]
    if args.target != "asic":  # asic: no placer, no seeds
        parts += ["--seeds", args.seeds]
    parts += ["--jobs", str(args.jobs), "--designs", args.designs,
              "--lanes", str(args.lanes), "--lane-mode", args.lane_mode, "--store", args.store]
    if getattr(args, "cfg_bus", "raw") != "raw":
        parts += ["--cfg-bus", args.cfg_bus]
    if getattr(args, "unit", "multiply-shift") != "multiply-shift":
        parts += ["--unit", args.unit]
    if getattr(args, "cost", None) is not None:
        parts += ["--cost", args.cost]
    if args.pipeline is not None:
        parts += ["--pipeline", args.pipeline]
    if args.breakdown:
        parts.append("--breakdown")
    if args.range_check:
        parts.append("--range-check")
    if args.allow_inexact:
        parts.append("--allow-inexact")
    return shlex.join(parts + ["-o", args.output])


def _replace_dir(tmp: Path, dest: Path) -> None:
    old = None
    if dest.exists():
        if not dest.is_dir():
            raise _usage(f"-o {dest}: exists and is not a directory")
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        os.replace(dest, old)
    os.replace(tmp, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def run(args: argparse.Namespace) -> int:
    from exactbn.synth.designs import build_designs
    from exactbn.synth.flow import run_designs
    from exactbn.synth.report import write_report
    from exactbn.synth.targets import TargetError, resolve_target

    if args.library is not None and args.target != "asic":
        raise _usage("--library is for --target asic (FPGA targets take --device)")
    if args.target == "asic" and args.device is not None:
        raise _usage("--target asic takes --library, not --device")
    try:
        target = resolve_target(args.target, args.library if args.target == "asic"
                                else args.device)
        if target.library is not None:
            from exactbn.synth.sta import find_sta

            find_sta()
    except TargetError as e:
        raise _usage(str(e)) from None
    seeds = parse_seeds(args.seeds)
    jobs = parse_jobs(args.jobs)
    from exactbn.cli.threshold_cli import synth_cost_weights
    from exactbn.network import network_mode, run_all_layers

    synth_cost_weights(args)  # --cost needs --unit auto (checked before any run)
    if network_mode(args):
        args.jobs = jobs
        if getattr(args, "unit", None) in ("threshold", "auto"):
            from exactbn.threshold_network import run_mixed_all_layers

            return run_mixed_all_layers("synth", args, "output")
        return run_all_layers("synth", args, "output")
    freq = parse_freq(args.freq)
    kinds = parse_kinds(args.designs)
    if getattr(args, "unit", None) == "threshold":  # exactbn's threshold unit for "exactbn"
        kinds = tuple(dict.fromkeys("exact_threshold" if k == "exactbn" else k for k in kinds))
    options = unit_options_from_args(args, units=("multiply-shift", "threshold", "auto"))
    from exactbn.shared import unit_layer_from_args

    layer = unit_layer_from_args(args)  # --shared-unit: every layer's words in one unit
    if getattr(args, "unit", None) == "auto":  # the cheaper exact unit in place of "exactbn"
        from exactbn.cli.threshold_cli import synth_auto_kinds

        kinds = synth_auto_kinds(args, layer, target, kinds, options)
    from exactbn.formats import OUTPUT_MARKER, check_replaceable_dir

    dest = check_replaceable_dir(args.output)  # never replace a directory exactbn did not write
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes 0700; the report is the user's like any dir
    (tmp / OUTPUT_MARKER).write_text("written by exactbn synth\n")
    say = (lambda _m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    try:
        designs = build_designs(layer, target, tmp / "src", kinds=kinds, file=args.solved,
                                **options)
        say(f"exactbn synth: {len(designs)} design(s) on {target.name} {target.device}, "
            + (f"seeds {seeds}, " if target.library is None else "") + f"{jobs} job(s)")
        t0 = time.monotonic()
        entries = run_designs(designs, target, tmp / "work", seeds, freq, jobs, say,
                              breakdown=args.breakdown)
        meta = {"command": _command(args), "target": target.name, "device": target.device,
                "seeds": seeds, "freq_mhz": freq or target.default_freq_mhz,
                "solved": str(args.solved), "layer": layer.name,
                "elapsed_s": round(time.monotonic() - t0, 1),
                **({"unit_choice": args.unit_choice} if getattr(args, "unit_choice", None)
                   else {})}  # --unit auto: why this unit
        if target.library is not None:  # asic: no placer seeds; the Liberty file instead
            meta.pop("seeds")
            meta["library"] = str(target.library.liberty)
        report = write_report(tmp, entries, meta)
        _replace_dir(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    failed = [e for e in entries if e.get("error")]
    if not args.quiet:
        for r in report["ratios"]:
            if "area_vs_tflite" in r or "period_vs_ceiling" in r:  # asic
                print(f"{r['design']}: area/TFLite {r.get('area_vs_tflite')}, period/ceiling "
                      f"{r.get('period_vs_ceiling')}, area/threshold "
                      f"{r.get('area_vs_threshold')}")
                continue
            if not any(k in r for k in ("lut_vs_tflite", "fmax_vs_ceiling",
                                        "param_bits_vs_threshold")):
                continue
            print(f"{r['design']}: LUT/TFLite {r.get('lut_vs_tflite')}, DSP/TFLite "
                  f"{r.get('dsp_vs_tflite')}, Fmax/TFLite {r.get('fmax_vs_tflite')}, "
                  f"Fmax/ceiling {r.get('fmax_vs_ceiling')}, param bits/threshold "
                  f"{r.get('param_bits_vs_threshold')}")
        print(f"{dest}/report.md: {len(entries)} design(s), {len(failed)} failed")
    for e in failed:
        print(f"exactbn synth: {e['name']}: {e['error']}", file=sys.stderr)
    return 1 if failed else 0
