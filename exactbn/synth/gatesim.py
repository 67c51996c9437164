"""Gate-level simulation: the kit's plain-Verilog test bench on the mapped netlist (Icarus).

The unit is mapped onto the library's cells exactly as ``exactbn synth --target asic`` maps
it (:func:`exactbn.synth.asic.map_netlist`), and the kit's self-checking bench
(``NAME_tb.v`` with ``NAME_vectors.hex``, expected outputs from golden's integer model)
runs on that netlist with the library's Verilog cell models. Any output beat that differs
fails the run: this checks that synthesis kept the arithmetic, as ASIC sign-off does.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .asic import map_netlist
from .flow import SynthError
from .libraries import Library, LibraryError

__all__ = ["GateSimResult", "gate_sim", "models_of"]


@dataclass
class GateSimResult:
    """Outcome of one gate-level run: PASS/FAIL line, counts and where the logs are."""

    passed: bool
    summary: str  # the bench's PASS/FAIL line(s)
    netlist: Path
    log: Path
    cells: int


def models_of(lib: Library) -> Path:
    """The library's Verilog cell models, or :class:`LibraryError` saying what is missing."""
    if lib.cells_v is None:
        raise LibraryError(f"{lib.liberty}: no Verilog cell models for gate-level simulation "
                           f"(expected {lib.liberty.with_suffix('.v')} beside the Liberty file)")
    return lib.cells_v


# Verilator on the OSU cell models: their min:typ:max delays and specify blocks are ignored
# (warnings MINTYPMAXDLY, SPECIFYIGN), the sequential UDPs (udp_dff) are supported. The
# wheel's verilated.mk leaves the precompiled-header include flag empty, so it is passed.
VERILATOR_GATE_ARGS = ("--binary", "--timing", "-Wno-fatal", "-Wno-lint", "-Wno-style",
                       "-Wno-MINTYPMAXDLY", "-Wno-SPECIFYIGN", "-CFLAGS", "-std=c++20",
                       "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include", "-MAKEFLAGS", "OPT_FAST=-O1")


def gate_sim(layer, cfg, lib: Library, work: Path, *, netlist_cfg=None,
             freq_mhz: float = 200.0, seed: int = 1, timeout_s: float = 1800.0,
             simulator: str = "icarus") -> GateSimResult:
    """Map the unit of ``netlist_cfg`` (default ``cfg``) onto ``lib`` and run the kit bench
    of ``(layer, cfg)`` on the netlist under ``simulator`` (icarus, or verilator: a C++ build
    of the whole netlist, minutes). Raises SynthError on a tool failure."""
    from amaranth.back import rtlil

    from exactbn.generate import build_vectors
    from exactbn.hw import BatchNormUnit, kit

    models = models_of(lib)
    iverilog, vvp = shutil.which("iverilog"), shutil.which("vvp")
    if simulator == "verilator":
        from exactbn.sim.runner import tool_env

        try:
            tool_env("verilator")
        except RuntimeError as e:
            raise SynthError(str(e)) from None
    elif iverilog is None or vvp is None:
        raise SynthError("Icarus Verilog (iverilog, vvp) not found: apt-get install iverilog "
                         "(make setup does)")
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    n = cfg.name
    vectors = build_vectors(layer, cfg, seed=seed)  # the kit's bench and vectors, as exported
    files = {f"{n}_tb.v": kit.testbench_v(cfg, len(vectors), seed=seed),
             f"{n}_vectors.hex": kit.vectors_hex(cfg, vectors), **kit.param_hex(cfg)}
    for name, text in files.items():
        (work / name).write_text(text)
    src = work / "map" / f"{n}.il"
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_text(rtlil.convert(BatchNormUnit(netlist_cfg or cfg), name=n))
    netlist, stat, _ = map_netlist([src], n, lib, work / "map", round(1e6 / freq_mhz))
    cells = int((stat.get("design") or {}).get("num_cells", 0))
    shutil.copyfile(models, work / "cells.v")
    shutil.copyfile(netlist, work / "netlist.v")
    log = work / "gatesim.log"
    build = [iverilog, "-g2005", "-o", "tb.vvp", "-s", f"{n}_tb", f"{n}_tb.v", "netlist.v",
             "cells.v"]
    run = [vvp, "-n", "tb.vvp"]
    if simulator == "verilator":
        build = [shutil.which("verilator"), *VERILATOR_GATE_ARGS, "--top-module", f"{n}_tb",
                 "-o", "vtb", "--Mdir", "vobj", f"{n}_tb.v", "netlist.v", "cells.v"]
        run = [str(work / "vobj" / "vtb")]
    try:
        r = subprocess.run(build, cwd=work, capture_output=True, text=True, timeout=timeout_s)
        text = r.stdout + r.stderr
        if r.returncode != 0:
            log.write_text(text)
            errs = [t for t in text.splitlines() if "error" in t.lower()]
            raise SynthError(f"{simulator} could not build the gate-level bench: "
                             f"{(errs or text.splitlines() or ['no output'])[0]}")
        r = subprocess.run(run, cwd=work, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise SynthError(f"gate-level simulation timed out after {timeout_s:.0f} s") from None
    out = r.stdout + r.stderr
    log.write_text(out)
    lines = [t.strip().rstrip(";") for t in out.splitlines()
             if t.strip().startswith(("PASS", "FAIL", "expected"))]
    passed = any(t.startswith("PASS") for t in lines) and not any(
        t.startswith("FAIL") for t in lines)
    summary = "; ".join(lines) if lines else f"no PASS/FAIL line (exit {r.returncode})"
    return GateSimResult(passed, summary, work / "netlist.v", log, cells)


def cocotb_on_netlist(layer, cfg, res: GateSimResult, run_dir: Path, *, vectors: int,
                      seed: int = 1, scenarios: list[str] | None = None):
    """The cocotb regression (Icarus) on the mapped netlist with the cell models."""
    from exactbn.sim.regress import simulate_layer

    text = res.netlist.read_text() + "\n" + (res.netlist.parent / "cells.v").read_text()
    return simulate_layer(layer, cfg, "icarus", vectors=vectors, seed=seed,
                          run_dir=run_dir, scenarios=scenarios, verilog=text,
                          cache_root=run_dir / "build-cache")


def run_cli(spec: str, layer, cfg, out: Path, seed: int = 1, vectors: int | None = None,
            scenarios: list[str] | None = None, simulators: tuple[str, ...] = ("icarus",)
            ) -> int:
    """``exactbn sim --netlist LIB``: the kit bench under each of ``simulators``, then
    (``vectors``, Icarus) the cocotb regression, on the gate-level netlist, printed; 0 PASS,
    1 FAIL or tool error. A bad library raises UsageError (exit 2). ``asic`` means the
    default library, osu018."""
    from exactbn.cli.main import UsageError

    from .libraries import resolve_library

    try:
        lib = resolve_library("osu018" if spec == "asic" else spec)
        models_of(lib)
    except LibraryError as e:
        raise UsageError(str(e)) from None
    run_dir = Path(out) / f"{layer.name}-{cfg.name}-gates-{lib.name}"
    ok, res = True, None
    for sim in simulators:
        where = run_dir if sim == "icarus" else run_dir / sim
        print(f"sim {layer.name} gate-level on {lib.name} ({lib.liberty.name}, cell models "
              f"{models_of(lib).name}) under {sim.capitalize()}: kit bench on the mapped "
              "netlist")
        try:
            r = gate_sim(layer, cfg, lib, where, seed=seed, simulator=sim)
        except SynthError as e:
            print(f"  error: {e}")
            return 1
        print(f"  kit bench: {r.cells} cells; {r.summary}")
        print(f"  netlist: {r.netlist}\n  log: {r.log}")
        ok = ok and r.passed
        if sim == "icarus":
            res = r
    if ok and vectors and res is not None:
        print(f"  cocotb regression on the netlist (Icarus, {vectors} vectors per channel)")
        try:
            rr = cocotb_on_netlist(layer, cfg, res, run_dir / "cocotb", vectors=vectors,
                                   seed=seed, scenarios=scenarios)
        except RuntimeError as e:
            print(f"  error: {e}")
            return 1
        print(f"  {rr.summary()}")
        for f in rr.failures:
            print(f"  FAIL {f}")
        if rr.first_mismatch:
            print(f"  first mismatch: {rr.first_mismatch}")
        ok = rr.passed
    elif ok and vectors:
        print("  cocotb regression: runs under Icarus only (--simulator both or icarus)")
    print("sim: PASS" if ok else "sim: FAIL")
    return 0 if ok else 1
