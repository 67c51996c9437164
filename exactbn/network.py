"""Whole networks: one solved file -> a per-layer bundle, and per-layer runs of sim/prove/synth.

``exactbn generate SOLVED.json --all-layers -o OUT`` writes, atomically (all or nothing):

- ``OUT/<layer>/``: exactly the kit ``generate --layer <layer>`` writes (``<layer>`` is the
  layer name made a safe file name, :func:`exactbn.formats.safe_name`);
- ``OUT/network.json``: every unit (layer, module name, directory, ports, widths, latency,
  parameter bits, exactness re-derived from a, b and the output spec) and the totals;
- ``OUT/README.md``: a table of the units;
- ``OUT/NET.core``: one FuseSoC core listing every unit's Verilog (``NET`` from the solved
  file's name), with one lint target per unit.

``--shared-unit`` (exactbn.shared) builds ONE unit for every layer (or ``--layers``) instead.

``sim``, ``prove`` and ``synth`` with ``--all-layers`` (or ``--layers a,b``) run the same command
once per layer, each in its own process with ``-o OUT/<layer>`` (``--jobs`` layers at a time);
a failing layer is named and the others still run. ``OUT/network_<command>.json`` and ``.md``
hold one row per layer and the totals; the exit status is 0 only when every layer passed.
``sim`` runs each layer with ``--profile quick`` unless told otherwise (exactbn.sim.spec):
full_rate drives every level transition point and its neighbours, saturation boundary, tie
and extreme of every channel once, plus 64 random inputs per channel (``--vectors``); the
other scenarios take at most 2,000 beats of those inputs (``--profile full``: the one-layer
default, where full_rate and random_gaps each drive them with 2,000 random inputs).
Every layer's options are checked before anything runs (bad input: exit 2, nothing run).

``sim``/``prove --bundle OUT`` take each layer's Verilog from a bundle ``generate
--all-layers`` wrote instead of generating it again. The file read is always
``OUT/<safe_name(layer)>/<unit name>.v``, built the way generate builds it
(:func:`kit_verilog_path`), and it must be a regular file inside OUT once resolved;
network.json's ``verilog`` entry is data, only compared with that path (a differing entry
is refused). network.json records, per unit, the sha256 of its Verilog and a fingerprint
of the unit (every UnitConfig field: M, B, N, widths, clip, rounding, options, and the
exactbn version: :func:`unit_fingerprint`). The kit is used only when the fingerprint
derived now from the solved file and the options equals the recorded one and the file's
sha256 the recorded one; a stale bundle, other options, another exactbn version or a
Verilog file that differs from network.json's sha256 is refused (exit 2, layer and file
named; ``prove --verilog`` proves an edited file). The sha256 is no provenance: whoever
can edit the Verilog can edit network.json too. What makes the verdict trustworthy is
that the proof and the scoreboard take M, B, N from the solved file and judge the very
text that was run, as for ``prove --verilog``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from exactbn.formats import FormatError, SolvedLayer, safe_name

__all__ = [
    "select_layers",
    "bundle_files",
    "generate_bundle",
    "child_argv",
    "run_all_layers",
    "network_name",
    "add_network_options",
    "unit_fingerprint",
    "bundle_verilog",
    "kit_verilog_path",
    "exactbn_version",
]

NETWORK_FORMAT = "exactbn-network"


def _jobs(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 1 <= v <= 64:
        raise argparse.ArgumentTypeError(f"must be in 1..64, got {v}")
    return v


def add_network_options(parser: argparse.ArgumentParser, *, jobs: bool = True,
                        bundle: bool = False) -> None:
    """``--all-layers`` and ``--layers A,B`` (and ``--jobs`` unless the command has one;
    ``--bundle DIR`` for sim and prove)."""
    g = parser.add_argument_group("whole network")
    g.add_argument("--all-layers", action="store_true",
                   help="every layer of the solved file, one unit per layer (OUT/<layer>/)")
    g.add_argument("--layers", metavar="A,B,...",
                   help="these layers, in this order: the bundle's (like --all-layers), "
                   "or with --shared-unit the shared unit's")
    g.add_argument("--shared-unit", action="store_true",
                   help="ONE unit serving every layer (or --layers): s_axis_tuser = "
                   "{layer, group}, every layer's words in one parameter memory")
    if bundle:
        g.add_argument("--bundle", metavar="DIR",
                       help="take each layer's Verilog from this bundle (generate "
                       "--all-layers) instead of generating it again; refused (exit 2) when "
                       "the kit's unit differs from the one the solved file and these options "
                       "give, or its Verilog's sha256 differs from network.json's record "
                       "(the verdict is always re-derived from the solved file for the "
                       "text that runs)")
    if jobs:
        g.add_argument("--jobs", type=_jobs, default=1, metavar="J",
                       help="with --all-layers: layers run (generate: kits built) in "
                       "parallel (default 1)")


def network_mode(args: argparse.Namespace) -> bool:
    """True when the command works on several layers; refuses --layer beside it."""
    if getattr(args, "shared_unit", False):
        if getattr(args, "all_layers", False):
            from exactbn.cli.main import UsageError

            raise UsageError("--shared-unit builds one unit, --all-layers one per layer: "
                             "use one (--layers picks the layers of either)")
        return False
    on = bool(getattr(args, "all_layers", False) or getattr(args, "layers", None))
    if on and getattr(args, "layer", None) is not None:
        from exactbn.cli.main import UsageError

        raise UsageError("--layer picks one layer; --all-layers/--layers pick several: use one")
    return on


def network_name(solved_path: str) -> str:
    """The bundle's module-style name: ``exactbn_<solved file stem>`` (a Verilog identifier)."""
    from exactbn.hw.names import default_unit_name

    return default_unit_name(Path(solved_path).stem)


def select_layers(layers: list[SolvedLayer], names: str | None,
                  file: str | None = None) -> list[SolvedLayer]:
    """All layers (``names`` None) or the comma-separated ``names`` in that order; each name
    must exist once. FormatError names the file and the unknown layer."""
    if not names:
        return list(layers)
    by_name = {lay.name: lay for lay in layers}
    wanted = [n.strip() for n in names.split(",")]
    if any(not n for n in wanted):
        raise FormatError(f"--layers: empty layer name in {names!r}", file=file)
    out = []
    for n in wanted:
        if n not in by_name:
            raise FormatError(f"--layers: no layer {n!r} (the file holds "
                              f"{', '.join(by_name)})", file=file, layer=n)
        if by_name[n] in out:
            raise FormatError(f"--layers: layer {n!r} listed twice", file=file, layer=n)
        out.append(by_name[n])
    return out


def _layer_dirs(layers: list[SolvedLayer], file: str | None) -> list[str]:
    dirs = [safe_name(lay.name) for lay in layers]
    seen: dict[str, str] = {}
    for lay, d in zip(layers, dirs, strict=True):
        if d.casefold() in seen:  # case-insensitive file systems too
            raise FormatError(f"layers {seen[d.casefold()]!r} and {lay.name!r} need the same "
                              f"directory name {d!r}", file=file, layer=lay.name)
        seen[d.casefold()] = lay.name
    return dirs


def _check_bundle_options(options: dict) -> None:
    if options.get("name") is not None:
        from exactbn.cli.main import UsageError

        raise UsageError("--name names one unit; with --all-layers every unit is named from "
                         "its layer (exactbn_<layer>)")


def _kit_job(lay: SolvedLayer, cfg, file: str, sha: str, freq_mhz: float, seed: int
             ) -> dict[str, str]:
    """One layer's kit (a worker process's job with ``--jobs``)."""
    from exactbn.generate import kit_files

    return kit_files(lay, cfg, solved_path=file, solved_sha256=sha, freq_mhz=freq_mhz,
                     seed=seed)


def _kits(layers: list[SolvedLayer], cfgs: list, file: str, sha: str, freq_mhz: float,
          seed: int, jobs: int) -> list[dict[str, str]]:
    """Every layer's kit, ``jobs`` layers at a time (worker processes: the kit's vectors and
    Verilog are pure-Python work); the largest layers start first."""
    args = [(lay, cfg, file, sha, freq_mhz, seed) for lay, cfg in zip(layers, cfgs, strict=True)]
    if jobs <= 1 or len(layers) <= 1:
        return [_kit_job(*a) for a in args]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    order = sorted(range(len(args)), key=lambda i: -layers[i].channels)
    ctx = multiprocessing.get_context("spawn")  # no fork of a process with numba threads
    with ProcessPoolExecutor(max_workers=min(jobs, len(args)), mp_context=ctx) as pool:
        futs = {i: pool.submit(_kit_job, *args[i]) for i in order}
        return [futs[i].result() for i in range(len(args))]


def bundle_files(solved_path: str, layers: list[SolvedLayer], *, freq_mhz: float = 100.0,
                 seed: int = 1, jobs: int = 1, **options) -> tuple[dict[str, str], dict]:
    """Every file of the bundle (relative path -> text) and the network.json data. Raises
    FormatError naming the layer on anything a single-layer generate would refuse (every
    layer's config is checked before any kit is built). ``jobs``: kits built in parallel."""
    from exactbn.formats import file_sha256
    from exactbn.generate import kit_verilog_name, unit_config_from_solved

    options = dict(options)
    _check_bundle_options(options)
    options["name"] = None
    file = str(solved_path)
    sha = file_sha256(solved_path)
    dirs = _layer_dirs(layers, file)
    cfgs = [unit_config_from_solved(lay, file=file, **options) for lay in layers]  # all first
    files: dict[str, str] = {}
    units = []
    kits = _kits(layers, cfgs, file, sha, freq_mhz, seed, jobs)
    for lay, cfg, d, kit in zip(layers, cfgs, dirs, kits, strict=True):
        files.update({f"{d}/{k}": v for k, v in kit.items()})
        man = json.loads(kit[f"{cfg.name}.json"])
        units.append(_unit_entry(lay, cfg, d, man, kit[kit_verilog_name(cfg)]))
    name = network_name(file)
    net = {
        "format": NETWORK_FORMAT,
        "version": 1,
        "name": name,
        "style": "per-layer bundle (one unit per layer)",
        "solved_file": file,
        "solved_sha256": sha,
        "units": units,
        "totals": _totals(units),
        "core": f"{name}.core",
    }
    files["network.json"] = json.dumps(net, indent=1) + "\n"
    files[f"{name}.core"] = _network_core(name, units)
    files["README.md"] = _readme(net)
    return files, net


def _unit_entry(layer: SolvedLayer, cfg, d: str, man: dict, verilog: str) -> dict:
    ex = man["exactness"]
    return {
        "layer": layer.name,
        "name": cfg.name,
        "dir": d,
        "verilog": kit_verilog_path(layer.name, cfg),  # d is safe_name(layer.name)
        "manifest": f"{d}/{cfg.name}.json",
        "core": f"{d}/{cfg.name}.core",
        "channels": cfg.channels,
        "lanes": cfg.lanes,
        "store": cfg.store,
        "shift_mode": cfg.shift_mode,
        "hw_rounding": cfg.hw_rounding,
        "pipeline": cfg.pipeline.spec(),
        "latency": cfg.latency,
        "ports": man["ports"],
        "widths": man["widths"],
        "parameter_bits": cfg.channels * (cfg.w_m + cfg.w_b + cfg.w_n),
        "exact": ex["exact"],
        "inexact_channels": ex["inexact_channels"],
        "differing_outputs": ex["differing_outputs"],
        "unit_sha256": unit_fingerprint(cfg),  # what sim/prove --bundle check
        "verilog_sha256": hashlib.sha256(verilog.encode()).hexdigest(),
    }


def _totals(units: list[dict]) -> dict:
    return {
        "units": len(units),
        "channels": sum(u["channels"] for u in units),
        "parameter_bits": sum(u["parameter_bits"] for u in units),
        "exact_units": sum(1 for u in units if u["exact"]),
        "differing_outputs": sum(u["differing_outputs"] for u in units),
        "max_latency": max((u["latency"] for u in units), default=0),
    }


def _network_core(name: str, units: list[dict], version: str = "0.1.0") -> str:
    files = "".join(f"      - {u['verilog']}\n" for u in units)
    lint = "".join(
        f"  lint_{u['name']}:\n    default_tool: verilator\n    filesets: [rtl]\n"
        f"    toplevel: {u['name']}\n    tools:\n      verilator:\n        mode: lint-only\n"
        f"        verilator_options: [-Wall]\n" for u in units)
    return (f"CAPI=2:\nname: exactbn:network:{name}:{version}\n"
            f"description: Per-layer exactbn BN units of {name} (one module per layer)\n\n"
            f"filesets:\n  rtl:\n    files:\n{files}    file_type: verilogSource\n\n"
            f"targets:\n  default:\n    filesets: [rtl]\n{lint}")


def _readme(net: dict) -> str:
    t = net["totals"]
    def exact(u: dict) -> str:
        return "yes" if u["exact"] else f"NO ({u['differing_outputs']} differ)"

    rows = "".join(
        f"| {u['layer']} | `{u['name']}` | `{u['dir']}/` | {u['channels']} | {u['lanes']} | "
        f"{u['widths']['x']} | {u['widths']['M']}/{u['widths']['B']}/{u['widths']['N']} | "
        f"{u['widths']['q']} | {u['shift_mode']} | {u['hw_rounding']} | {u['latency']} | "
        f"{u['parameter_bits']} | {exact(u)} |\n"
        for u in net["units"])
    return f"""# {net['name']}: one exactbn BN unit per layer

Generated by `exactbn generate {net['solved_file']} --all-layers`. Each directory is the
kit `exactbn generate --layer LAYER` writes (Verilog, manifest, FuseSoC core, test bench,
README with the ports and timing); `network.json` lists every unit's ports, widths, latency,
parameter bits and exactness (re-derived by exactbn from a, b and the output spec);
`{net['core']}` is one FuseSoC core with every unit's Verilog (target `lint_NAME` lints one).

| layer | module | dir | C | L | W_X | W_M/B/N | W_Q | shift | rounding | latency | bits | exact |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
{rows}
Totals: {t['units']} units, {t['channels']} channels, {t['parameter_bits']} parameter bits,
{t['exact_units']} of {t['units']} units exact, largest latency {t['max_latency']} cycles.
"""


def write_tree_atomic(outdir: str, files: dict[str, str]) -> None:
    """:func:`exactbn.generate.write_dir_atomic` for relative paths with one subdirectory."""
    from exactbn.generate import write_dir_atomic

    write_dir_atomic(outdir, files)


def generate_bundle(solved_path: str, outdir: str, *, layer_names: str | None = None,
                    freq_mhz: float = 100.0, seed: int = 1, jobs: int = 1, **options) -> dict:
    """Write the per-layer bundle into ``outdir`` atomically; returns the network.json data.
    Any bad input raises FormatError/UsageError before anything is written."""
    from exactbn.formats import check_output_path, check_replaceable_dir, load_solved

    check_output_path(outdir, [solved_path], is_dir=True, replaced=True)
    check_replaceable_dir(outdir)
    layers = select_layers(load_solved(solved_path), layer_names, file=str(solved_path))
    files, net = bundle_files(solved_path, layers, freq_mhz=freq_mhz, seed=seed, jobs=jobs,
                              **options)
    write_tree_atomic(outdir, files)
    return net


# --- reusing a bundle's Verilog (sim/prove --bundle) -------------------------------------


def exactbn_version() -> str:
    """The installed exactbn package's version string (part of every unit fingerprint)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("exactbn")
    except PackageNotFoundError:
        return "unknown"


def unit_fingerprint(cfg) -> str:
    """sha256 of everything the unit's Verilog is generated from: every UnitConfig field
    (M, B, N, widths, signedness, clip, rounding, shift mode, lanes, store, pipeline, name,
    family, ranges when checked, ...), the derived figures (stages, latency, widths) and the
    exactbn version (a bundle of another generator version is stale)."""
    import dataclasses

    doc = {"config": dataclasses.asdict(cfg), "summary": cfg.summary(),
           "exactbn": exactbn_version()}
    text = json.dumps(doc, sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def kit_verilog_path(layer_name: str, cfg) -> str:
    """The kit's Verilog, relative to the bundle: ``<safe_name(layer)>/<unit name>.v``, as
    generate --all-layers writes it (:func:`exactbn.generate.kit_verilog_name`)."""
    from exactbn.generate import kit_verilog_name

    return f"{safe_name(layer_name)}/{kit_verilog_name(cfg)}"


_UNIT_TEXT_FIELDS = ("layer", "verilog", "unit_sha256", "verilog_sha256")


def _bundle_units(bundle: str) -> dict[str, dict]:
    """network.json's units by layer. Every unit must be an object whose ``layer``,
    ``verilog``, ``unit_sha256`` and ``verilog_sha256`` are strings, each layer once
    (FormatError naming the file, the layer and the field)."""
    from exactbn.formats import check_input_file

    path = Path(bundle) / "network.json"
    check_input_file(path)  # a FIFO or device would hang the read
    try:
        net = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as e:
        raise FormatError(f"--bundle: cannot read the bundle's network.json: "
                          f"{e.strerror or e}", file=str(path)) from None
    except ValueError as e:  # JSON and UTF-8 errors
        raise FormatError(f"--bundle: not a bundle's network.json ({type(e).__name__}: {e})",
                          file=str(path)) from None
    if not isinstance(net, dict) or net.get("format") != NETWORK_FORMAT:
        raise FormatError("--bundle: not a bundle's network.json (format)", file=str(path))
    if not isinstance(net.get("units"), list):
        raise FormatError("--bundle: expected a list", file=str(path), field="units")
    units: dict[str, dict] = {}
    for i, u in enumerate(net["units"]):
        if not isinstance(u, dict):
            raise FormatError(f"--bundle: expected an object, got {type(u).__name__}",
                              file=str(path), field=f"units[{i}]")
        layer = u.get("layer")
        where = {"layer": layer} if isinstance(layer, str) else {}
        for k in _UNIT_TEXT_FIELDS:
            if not isinstance(u.get(k), str):
                raise FormatError(f"--bundle: expected a string, got {u.get(k)!r:.40}",
                                  file=str(path), field=f"units[{i}].{k}", **where)
        if layer in units:
            raise FormatError("--bundle: the layer has two units in network.json",
                              file=str(path), field=f"units[{i}].layer", layer=layer)
        units[layer] = u
    return units


def bundle_verilog(bundle: str, layer: SolvedLayer, cfg, units: dict | None = None) -> str:
    """The Verilog of ``layer``'s kit in ``bundle``, after checking that it is the unit
    ``cfg`` describes: the kit's recorded fingerprint must equal :func:`unit_fingerprint` of
    ``cfg`` (derived now from the solved file and the options), and the file's sha256 the
    one network.json records. The file is ``bundle/`` + :func:`kit_verilog_path` (never a
    path read from network.json, whose entry must merely equal it), a regular file inside
    the bundle once resolved, in UTF-8. Anything else is a FormatError naming the layer and
    the file. The sha256 check only matches network.json's record (not provenance: both can
    be edited together); the caller's verdict is re-derived against the solved file's M, B,
    N for the text returned here."""
    units = _bundle_units(bundle) if units is None else units
    u = units.get(layer.name)
    where = {"layer": layer.name}
    net_path = str(Path(bundle) / "network.json")
    if u is None:
        raise FormatError("--bundle: the bundle has no unit for this layer", file=net_path,
                          **where)
    rel = kit_verilog_path(layer.name, cfg)
    vpath = Path(bundle) / rel
    if u.get("unit_sha256") != unit_fingerprint(cfg):
        raise FormatError("--bundle: the kit's unit is not the one this solved file and these "
                          "options give (stale bundle, other unit options or another exactbn "
                          "version): generate the bundle again, or leave out --bundle",
                          file=str(vpath), **where)
    if u.get("verilog") != rel:
        raise FormatError(f"--bundle: network.json gives the kit's Verilog as "
                          f"{u.get('verilog')!r:.80}, generate writes it as {rel!r}",
                          file=net_path, field="verilog", **where)
    try:
        root = Path(bundle).resolve(strict=True)
        real = vpath.resolve(strict=True)
        st = os.stat(real)
    except (OSError, RuntimeError) as e:  # missing, a symlink loop, ...
        raise FormatError(f"--bundle: cannot read: {getattr(e, 'strerror', None) or e}",
                          file=str(vpath), **where) from None
    if not real.is_relative_to(root):
        raise FormatError(f"--bundle: the kit's Verilog resolves to {str(real)!r:.80}, "
                          "outside the bundle", file=str(vpath), **where)
    import stat as stat_mod

    if not stat_mod.S_ISREG(st.st_mode):
        raise FormatError("--bundle: the kit's Verilog is not a regular file", file=str(vpath),
                          **where)
    try:
        data = real.read_bytes()
        text = data.decode("utf-8")
    except OSError as e:
        raise FormatError(f"--bundle: cannot read: {e.strerror or e}", file=str(vpath),
                          **where) from None
    except UnicodeDecodeError as e:
        raise FormatError(f"--bundle: not UTF-8 text (byte {e.start})", file=str(vpath),
                          **where) from None
    if hashlib.sha256(data).hexdigest() != u.get("verilog_sha256"):
        raise FormatError("--bundle: the Verilog's sha256 differs from the one network.json "
                          "records (edited since generate?): generate the bundle again, or "
                          "prove the edited file with --layer L --verilog FILE",
                          file=str(vpath), **where)
    return text


# --- per-layer runs of sim / prove / synth ----------------------------------------------

_SKIP_DESTS = {"all_layers", "layers", "jobs", "layer", "output", "out", "help", "quiet"}


def child_argv(parser: argparse.ArgumentParser, args: argparse.Namespace,
               skip: set[str] = _SKIP_DESTS) -> list[str]:
    """The command line that re-states ``args`` (as parsed by ``parser``) minus ``skip``:
    positionals in order, then every option whose value differs from its default."""
    pos, opts = [], []
    for a in parser._actions:
        if a.dest in skip or isinstance(a, argparse._HelpAction):
            continue
        v = getattr(args, a.dest, None)
        if not a.option_strings:
            pos.append(str(v))
            continue
        flag = max(a.option_strings, key=len)
        if isinstance(a, argparse._StoreTrueAction):
            if v:
                opts.append(flag)
        elif v is not None and v != a.default:
            opts += [flag, str(v)]
    return pos + opts


def _validate_layers(command: str, args: argparse.Namespace, layers: list[SolvedLayer]) -> None:
    """Every layer's unit options, before any layer runs (FormatError names the layer)."""
    from exactbn.cli.unit_options import unit_config_from_args

    if getattr(args, "name", None) is not None:
        from exactbn.cli.main import UsageError

        raise UsageError(f"{command}: --name names one unit; with --all-layers every unit is "
                         "named from its layer")
    bundle = getattr(args, "bundle", None)
    units = _bundle_units(bundle) if bundle else None
    for lay in layers:
        cfg = unit_config_from_args(args, lay, file=args.solved)
        if bundle:  # every kit checked before any layer runs (the children check again)
            bundle_verilog(bundle, lay, cfg, units)


def _row(command: str, layer: SolvedLayer, d: str, out: Path, rc: int, seconds: float,
         log: Path) -> dict:
    row: dict = {"layer": layer.name, "dir": d, "exit": rc, "seconds": round(seconds, 1),
                 "status": "PASS" if rc == 0 else ("FAIL" if rc == 1 else f"ERROR (exit {rc})"),
                 "log": str(log)}
    try:
        if command == "prove":
            for p in sorted((out / d).glob("*/prove.json")):
                pj = json.loads(p.read_text())
                row["proof_seconds"] = round(pj.get("seconds", 0.0), 1)
                row["proof_status"] = pj.get("status")
        elif command == "synth":  # exactbn's unit: multiply-shift, or threshold (--unit)
            rep = json.loads((out / d / "report.json").read_text())
            e = next(e for e in rep["designs"] if e.get("kind") in ("exactbn", "exact_threshold"))
            row["unit"] = "threshold" if e["kind"] == "exact_threshold" else "multiply-shift"
            for k in ("lut", "lut4_yosys", "ff", "dsp", "bram", "fmax_mhz", "fits"):
                row[k] = e.get(k)
    except (OSError, ValueError, KeyError, StopIteration):
        pass  # the row keeps its exit status; the log says why
    if rc != 0:
        try:
            tail = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
            row["reason"] = tail[-1][:300] if tail else ""
        except OSError:
            row["reason"] = ""
    return row


def _summary_md(command: str, rows: list[dict], totals: dict) -> str:
    cols = ["layer"] + (["unit"] if any("unit" in r for r in rows) else []) + ["status", "seconds"]
    if command == "prove":
        cols += ["proof_seconds"]
    if command == "synth":
        cols += ["lut", "ff", "dsp", "bram", "fmax_mhz"]
    lines = [f"# exactbn {command} --all-layers", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join("-" if r.get(c) is None else str(r[c])
                                       for c in cols) + " |")
    lines += ["", "Totals: " + ", ".join(f"{k} {v}" for k, v in totals.items()), ""]
    return "\n".join(lines)


def run_all_layers(command: str, args: argparse.Namespace, out_attr: str, *,
                   validate=None, base_argv: list[str] | None = None,
                   layer_argv=None, prepare=None) -> int:
    """Run ``exactbn COMMAND`` once per selected layer (``--jobs`` at a time), in child
    processes with ``--layer L -o OUT/<layer>``; write OUT/network_COMMAND.json/.md; print
    progress on stderr and one row per layer (rows in the file's order; the layers with the
    most channels start first). 0 = every layer passed, 1 = some did not.
    Hooks (exactbn.threshold_network): ``validate(command, args, layers)`` in place of the
    multiply-shift check, ``base_argv`` in place of ``child_argv``, ``layer_argv(layer)`` ->
    (extra argv, row fields) per layer; ``prepare()`` runs once after every check passed,
    before the first layer (prove: warm the verify kernels)."""
    from exactbn.formats import OUTPUT_MARKER, load_solved, write_json_atomic

    layers = select_layers(load_solved(args.solved), getattr(args, "layers", None),
                           file=str(args.solved))
    (validate or _validate_layers)(command, args, layers)
    if prepare is not None:  # only once the input is known good (bad input: exit 2 at once)
        prepare()
    per_layer = {lay.name: layer_argv(lay) if layer_argv else ([], {}) for lay in layers}
    dirs = _layer_dirs(layers, str(args.solved))
    jobs = int(getattr(args, "jobs", 1))
    out = Path(getattr(args, out_attr))
    out.mkdir(parents=True, exist_ok=True)
    (out / OUTPUT_MARKER).write_text(f"written by exactbn {command} --all-layers\n")
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    base = [sys.executable, "-m", "exactbn", command,
            *(child_argv(args._parser, args) if base_argv is None else base_argv)]
    if command == "synth":
        base += ["--jobs", "1", "--quiet"]
    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    say(f"exactbn {command}: {len(layers)} layer(s), {jobs} at a time, into {out}")

    def one(i: int) -> dict:
        lay, d = layers[i], dirs[i]
        log = logs / f"{d}.log"
        t0 = time.monotonic()
        with open(log, "w") as fh:
            rc = subprocess.call([*base, *per_layer[lay.name][0], "--layer", lay.name, "-o",
                                  str(out / d)], stdout=fh, stderr=subprocess.STDOUT)
        return {**_row(command, lay, d, out, rc, time.monotonic() - t0, log),
                **per_layer[lay.name][1]}

    rows: list[dict | None] = [None] * len(layers)
    done = 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        # the largest layers first (a long layer started last keeps the others idle)
        order = sorted(range(len(layers)), key=lambda i: -layers[i].channels)
        futs = {pool.submit(one, i): i for i in order}
        for f in as_completed(futs):
            r = f.result()
            rows[futs[f]] = r
            done += 1
            say(f"[{done}/{len(layers)}] {r['layer']}: {r['status']} ({r['seconds']} s)"
                + (f": {r['reason']}" if r.get("reason") else ""))
    final = [r for r in rows if r is not None]
    totals = _run_totals(command, final)
    summary = {"format": "exactbn-network-run", "version": 1, "command": command,
               "solved": str(args.solved), "layers": final, "totals": totals}
    write_json_atomic(out / f"network_{command}.json", summary)
    (out / f"network_{command}.md").write_text(_summary_md(command, final, totals))
    for r in final:
        extra = ""
        if command == "prove" and r.get("proof_seconds") is not None:
            extra = f", proof {r['proof_seconds']} s"
        if command == "synth" and r.get("lut") is not None:
            extra = (f", LUT {r['lut']} FF {r['ff']} DSP {r['dsp']} BRAM {r['bram']} "
                     f"Fmax {r['fmax_mhz']}")
        print(f"{r['layer']}: {r['status']} ({r['seconds']} s{extra})")
    print(f"{command} --all-layers: {totals['passed']}/{totals['layers']} layer(s) passed; "
          f"{out}/network_{command}.md")
    return 0 if totals["passed"] == totals["layers"] else 1


def _run_totals(command: str, rows: list[dict]) -> dict:
    t: dict = {"layers": len(rows), "passed": sum(1 for r in rows if r["exit"] == 0),
               "failed": [r["layer"] for r in rows if r["exit"] != 0],
               "seconds": round(sum(r["seconds"] for r in rows), 1)}
    if command == "synth":
        for k in ("lut", "ff", "dsp", "bram"):
            vals = [r.get(k) for r in rows]
            t[k] = sum(vals) if vals and all(isinstance(v, int) for v in vals) else None
        fm = [r.get("fmax_mhz") for r in rows]
        t["fmax_mhz_min"] = min(fm) if fm and all(isinstance(v, (int, float)) for v in fm) \
            else None
    return t
