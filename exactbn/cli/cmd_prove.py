"""``exactbn prove``: formal proof (SymbiYosys, k-induction) that a unit's Verilog equals the
integer model for every input and keeps every stream property."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from exactbn.cli.main import UsageError
from exactbn.cli.unit_options import add_unit_options, unit_config_from_args
from exactbn.formats import FormatError, safe_name, write_json_atomic


def _depth(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if not 1 <= v <= 200:
        raise argparse.ArgumentTypeError(f"must be in 1..200, got {v}")
    return v


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "prove",
        help="prove the unit's Verilog equals the integer model for every input (SymbiYosys)",
        description="Prove with SymbiYosys (k-induction, smtbmc + yices) that every output "
        "lane equals clip(R_hw((M*x + B) / 2^N)) with M, B, N from the solved file (or the "
        "last cfg_* write, RAM store) for every channel and every input, and that the stream "
        "never loses, duplicates or reorders a beat. Exit 0 proven, 1 failed (counterexample "
        "VCD + one-line summary), 2 bad arguments.",
    )
    p.add_argument("solved", metavar="SOLVED.json")
    add_unit_options(p)
    from exactbn.cli.threshold_cli import add_auto_options

    add_auto_options(p)  # --target, --cost (--unit auto; --target: multiply-shift primitives)
    p.add_argument("--verilog", metavar="FILE.v",
                   help="prove this RTL (the generated top level's ports and structure) "
                   "instead of generating the unit; the unit options are taken from the "
                   "manifest FILE.json beside it when present")
    p.add_argument("--model", action="append", default=[], metavar="FILE.v",
                   help="an extra Verilog file read with the unit (e.g. a behavioural model "
                   "of an FPGA primitive it instantiates); may be repeated")
    p.add_argument("--depth", type=_depth, metavar="K",
                   help="k-induction depth for every proof task (default: 3 for the hold and "
                   "stall proofs, rerun at latency + 4 to find a counterexample when 3 does "
                   "not close; latency + 3 for the stream, latency + 2 for the datapath)")
    p.add_argument("-o", "--out", metavar="DIR", default="build/prove",
                   help="work directory: proof logs and counterexample VCDs (default build/prove)")
    from exactbn.network import add_network_options

    # --all-layers/--layers/--jobs: one proof per layer in OUT/<layer>/;
    # --bundle DIR: each layer's Verilog from generate --all-layers (checked)
    add_network_options(p, bundle=True)
    p.set_defaults(_parser=p)
    return p


def _apply_manifest(path: Path, args) -> None:
    """Take the unit options from the NAME.json manifest beside an edited Verilog file."""
    try:
        man = json.loads(path.read_text())
        p = man["parameters"]
        args.lanes, args.lane_mode, args.store = p["lanes"], p["lane_mode"], p["store"]
        args.pipeline, args.name = p["pipeline"], p["name"]
        args.target = p.get("family", "generic")  # the primitives the unit instantiates
        args.range_check = bool(p.get("range_check", False))
        args.widths = f"{p['w_m']},{p['w_b']},{p['w_n']}"
        args.cfg_bus = p.get("cfg_bus", "raw")
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise FormatError(f"not a readable unit manifest ({type(e).__name__}: {e})",
                          file=str(path)) from None


def read_user_verilog(path: str, module: str) -> str:
    """The text of a user's ``--verilog`` file, which must define ``module`` (FormatError)."""
    vpath = Path(path)
    try:
        verilog = vpath.read_text()
    except OSError as e:
        raise FormatError(f"cannot read: {e.strerror or e}", file=str(vpath)) from None
    if f"module {module}(" not in verilog.replace(" (", "("):
        raise FormatError(f"no module named {module!r} (use --name)", file=str(vpath))
    return verilog


def run(args) -> int:
    from exactbn.cli.threshold_cli import resolve_auto_unit, run_prove_threshold
    from exactbn.hw import to_verilog
    from exactbn.network import network_mode, run_all_layers
    from exactbn.sim.formal.prove import prove_unit
    from exactbn.sim.formal.runner import WorkdirError

    bundle = getattr(args, "bundle", None)
    if bundle and (args.shared_unit or args.verilog
                   or getattr(args, "unit", None) not in (None, "multiply-shift")):
        raise UsageError("prove --bundle takes a per-layer multiply-shift bundle's Verilog: "
                         "not with --shared-unit, --verilog or --unit threshold/auto")
    if resolve_auto_unit(args) != "multiply-shift":  # threshold|auto (one layer: chosen)
        return run_prove_threshold(args)
    if network_mode(args):
        if args.verilog:
            raise UsageError("prove: --verilog proves one unit; not with --all-layers/--layers")
        # --jobs J layers at a time, each running cores // J proof tasks at a time (not J x
        # the default), so the tools never outnumber the cores; the children inherit it
        layers_at_once = max(1, int(getattr(args, "jobs", 1) or 1))
        os.environ.setdefault(TASK_JOBS_ENV,
                              str(max(1, (os.cpu_count() or 1) // layers_at_once)))
        return run_all_layers("prove", args, "out",
                              prepare=lambda: _warm_verify_kernels(args.solved))
    from exactbn.shared import unit_layer_from_args

    layer = unit_layer_from_args(args)  # --shared-unit: every layer's words in one unit
    manifest = Path(args.verilog).with_suffix(".json") if args.verilog else None
    if manifest is not None and manifest.exists():
        _apply_manifest(manifest, args)
    cfg = unit_config_from_args(args, layer, file=args.solved)
    if cfg.cfg_bus == "axil":  # the proof covers the unit behind the AXI4-Lite slave
        if args.verilog:
            raise UsageError("prove --verilog: a --cfg-bus axil unit's Verilog has s_axil_* "
                             "ports; prove it without --verilog (the unit behind the slave)")
        from dataclasses import replace

        axil_cfg, cfg = cfg, replace(cfg, cfg_bus="raw")
        print("prove: --cfg-bus axil: the unit behind the AXI4-Lite slave (its raw cfg_* "
              "port: datapath, store, stream), then the slave against the AXI4-Lite protocol "
              "(handshakes held, one outstanding write/read, cfg write before its response)")
    else:
        axil_cfg = None
    if bundle:  # the bundle's kit, once it is checked to be this unit (else exit 2)
        if axil_cfg is not None:
            raise UsageError("prove --bundle: a --cfg-bus axil kit's Verilog holds the "
                             "AXI4-Lite slave; leave out --bundle")
        from exactbn.network import bundle_verilog

        verilog = bundle_verilog(bundle, layer, cfg)
        print(f"prove {layer.name}: the Verilog of {bundle} (its unit fingerprint and "
              "sha256 match network.json's record; the proof below takes M, B, N from the "
              "solved file and judges this text)")
    elif args.verilog:
        verilog = read_user_verilog(args.verilog, cfg.name)
    else:
        verilog = to_verilog(cfg)
    # Layer names come from ONNX node names: one safe file name, always inside -o.
    out = Path(args.out) / safe_name(f"{layer.name}-{cfg.name}")
    from exactbn.sim.formal.progress import ProofProgress

    try:
        with ProofProgress(layer.name) as progress:
            res = prove_unit(layer, cfg, verilog, out, depth=args.depth, progress=progress,
                             models=tuple(_models(args.model)), jobs=task_jobs())
        if axil_cfg is not None and res.status == "PASS":
            _prove_axil(axil_cfg, out, res)
    except WorkdirError as e:
        raise UsageError(f"prove: {e}") from None
    write_json_atomic(out / "prove.json", res.to_json())
    times = ", ".join(f"{t.task} {t.status} {t.seconds:.1f} s" for t in res.tasks)
    print(f"prove {layer.name}: L={cfg.lanes} {cfg.lane_mode}, {cfg.store}, {layer.shift_mode} "
          f"shift, hw_rounding {layer.hw_rounding}, pipeline {cfg.pipeline.spec()}, latency "
          f"{cfg.latency}: {times}")
    if res.status == "PASS":
        print("PROVEN: the Verilog equals the integer model for every input of every channel, "
              "for the beats accepted, in order, under every valid/ready pattern, and the "
              "stream properties hold"
              + (", and the range flag and range_error follow the per-channel input ranges"
                 if cfg.range_check else "")
              + ((", and the AXI4-Lite slave follows the protocol"
                  + ("" if axil_cfg.layer_table else " and the documented register map"))
                 if axil_cfg else "")
              + f" ({res.seconds:.1f} s)")
        if args.shared_unit:  # the proof covers every layer's words: one statement per layer
            from exactbn.formats import load_solved
            from exactbn.network import select_layers

            for lay in select_layers(load_solved(args.solved), args.layers, file=args.solved):
                print(_exactness_statement(lay))
        else:
            print(_exactness_statement(layer))
        return 0
    print(f"{res.status}: {res.summary}")
    if res.vcd:
        print(f"counterexample: {res.vcd}")
    return 1


def _warm_verify_kernels(solved: str) -> None:
    """Run the certificate re-check once on the smallest layer before the per-layer
    children start: each child's exactness statement loads numba's cached kernels, and
    after a source change (or on a new machine) J children started together would each
    compile them (minutes of CPU each) instead of one. Its answer is not used here."""
    from exactbn.formats import load_solved
    from exactbn.golden.verify import verify_layer

    try:
        layers = load_solved(solved)
    except FormatError:
        return  # run_all_layers reports it
    if layers:
        verify_layer(min(layers, key=lambda lay: lay.channels))


TASK_JOBS_ENV = "EXACTBN_PROVE_TASK_JOBS"  # proof tasks at a time (set by --all-layers)


def task_jobs() -> int | None:
    """Proof tasks one ``prove`` runs at a time: :data:`TASK_JOBS_ENV` when it holds a
    positive integer (``prove --all-layers --jobs J`` sets cores // J for its layers), else
    None (prove_unit's default: up to the CPU count, at most 4)."""
    text = os.environ.get(TASK_JOBS_ENV, "")
    return int(text) if text.isdigit() and int(text) > 0 else None


def _prove_axil(cfg, out: Path, res) -> None:
    """The AXI4-Lite slave's protocol check (exactbn.regmap.formal), added to ``res``; for a
    unit without a layer table also the documented register map (every COMMIT delivers the
    words written at their documented offsets to the right channel)."""
    from exactbn.hw.axil import AxiLiteSlave
    from exactbn.regmap.formal import prove_axil

    r = prove_axil(AxiLiteSlave(cfg), out / "axil", map_check=not cfg.layer_table)
    res.tasks.append(r)
    res.seconds += r.seconds
    if r.status != "PASS":
        res.status = r.status
        res.summary = f"axil: {r.failed_text or ' | '.join(r.log_tail[-2:])}"
        res.vcd = r.vcd


def _models(paths: list[str]) -> list[Path]:
    """The --model files, each readable (else one located line, exit 2)."""
    out = []
    for text in paths:
        path = Path(text)
        if not path.is_file():
            raise FormatError("no such Verilog model file", file=str(path))
        out.append(path)
    return out


def _exactness_statement(layer) -> str:
    """The combined claim, made only as far as the solver's side is re-checked here."""
    from exactbn.golden.recheck import layer_exactness
    from exactbn.golden.verify import verify_layer

    check = verify_layer(layer)
    bad = [c.channel for c in check.failures()]
    recount = layer_exactness(layer)  # never the file's own exact/mismatches flags
    inexact = recount.inexact_channels
    if check.ok and not inexact:
        return (f"layer {layer.name}: exact for every x in [lo, hi] of every channel "
                "(certificates re-checked), and the Verilog equals the integer model for "
                "every input, proven.")
    parts = []
    if inexact:
        parts.append(f"{len(inexact)} channel(s) are not exact (recounted: "
                     f"{recount.differing_inputs} inputs differ from the exact BN output)")
    if bad or not check.ok:
        parts.append(f"channel(s) {bad[:10]} fail the solver re-check" if bad else
                     "; ".join(check.problems))
    return (f"layer {layer.name}: the Verilog equals the integer model for every input, "
            f"proven; not claimed exact: {'; '.join(parts)}.")
