"""Generate the unit, write the tables and the settings header, run stress_tb.v in Icarus."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from exactbn import formats

from .tables import build_tables

__all__ = ["StressResult", "run_stress", "CFG_IN_RESET"]

BENCH = Path(__file__).with_name("stress_tb.v")
# hw/README.md: "cfg_ready is low while rst is high, so no cfg write is accepted in a reset
# cycle" (the bench fails if cfg_ready is high in a reset cycle).
CFG_IN_RESET = "ignored"


@dataclass
class StressResult:
    passed: bool
    line: str
    stats: dict
    seconds: float
    workdir: Path


def _generate(solved: Path, layer: str | None, kit: Path, pipeline: str) -> dict:
    from exactbn.cli.main import main

    argv = ["generate", str(solved), "-o", str(kit), "--store", "ram", "-q",
            "--pipeline", pipeline]
    if layer:
        argv += ["--layer", layer]
    rc = main(argv)
    if rc != 0:
        raise RuntimeError(f"exactbn generate failed ({rc})")
    mans = [p for p in kit.glob("*.json")
            if isinstance(json.loads(p.read_text()), dict) and "parameters" in
            json.loads(p.read_text())]
    return json.loads(mans[0].read_text())


def run_stress(solved: str | Path, workdir: str | Path, *, layer: str | None = None,
               beats: int = 20_000, seed: int = 1, pipeline: str = "default",
               cfg_in_reset: str = CFG_IN_RESET, timeout: float = 3600) -> StressResult:
    """Build and run the bench; ``passed`` only on the bench's own STRESS PASS line."""
    from exactbn.generate import unit_config_from_solved

    if not shutil.which("iverilog"):
        raise RuntimeError("iverilog is required (apt-get install iverilog)")
    work = Path(workdir)
    kit = work / "kit"
    work.mkdir(parents=True, exist_ok=True)
    man = _generate(Path(solved), layer, kit, pipeline)
    sl = formats.select_layer(formats.load_solved(solved), layer, str(solved))
    if sl.shift_mode != "per-channel":
        raise ValueError("the stress bench drives cfg_n: it needs a per-channel shift")
    cfg = unit_config_from_solved(sl, store="ram", name=man["name"], pipeline=pipeline)
    par = man["parameters"]
    assert (cfg.w_m, cfg.w_b, cfg.w_n, cfg.w_x, cfg.w_q) == (
        par["w_m"], par["w_b"], par["w_n"], par["w_x"], par["w_q"]), "widths differ"
    tables = build_tables(sl, cfg, seed=seed)
    tables.write(work / "stress_vec.hex", work / "stress_par.hex")
    wu = max(1, (cfg.channels - 1).bit_length())
    defs = {"DUT": man["name"], "WX": cfg.w_x, "WU": wu, "WQ": cfg.w_q, "WM": cfg.w_m,
            "WB": cfg.w_b, "WN": cfg.w_n, "WA": par["w_addr"], "NCH": cfg.channels,
            "NV": len(tables.vec), "LATENCY": man["latency"], "BEATS": beats,
            "MAX_CYCLES": beats * 40 + 100_000, "SEED": f"32'd{seed * 2654435761 % 2**32 or 1}",
            "CFG_IN_RESET": int(cfg_in_reset == "applied"),
            "VEC_FILE": '"stress_vec.hex"', "PAR_FILE": '"stress_par.hex"'}
    (work / "stress_cfg.vh").write_text("".join(f"`define {k} {v}\n" for k, v in defs.items()))
    unit = kit / f"{man['name']}.v"
    t0 = time.monotonic()
    comp = subprocess.run(["iverilog", "-g2005", "-I", str(work), "-o", str(work / "stress.vvp"),
                           str(BENCH), str(unit)], capture_output=True, text=True, timeout=300)
    if comp.returncode != 0:
        return StressResult(False, comp.stderr.strip()[:500], {}, 0.0, work)
    run = subprocess.run(["vvp", "-n", str(work / "stress.vvp")], cwd=work, capture_output=True,
                         text=True, timeout=timeout)
    secs = time.monotonic() - t0
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith(("STRESS", "  expected"))]
    line = "\n".join(lines) or (run.stdout + run.stderr).strip()[-500:]
    stats = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[0])} if lines else {}
    return StressResult(bool(lines) and lines[0].startswith("STRESS PASS"), line, stats, secs,
                        work)
