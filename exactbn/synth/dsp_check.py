"""Which internal registers of the mapped DSP cells are on, read from Yosys's netlist JSON.

A unit that silently fell back to inferred ``a*b`` maps onto DSP cells with their registers
off (the open flow's Fmax cap); this reads the parameters of every DSP cell of the mapped
netlist so that reports and tests can say which stages are really registered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["DSP_STAGES", "dsp_registers"]

# Per family: the DSP cell type and, per register stage, (parameter, values meaning "on").
DSP_STAGES: dict[str, tuple[str, dict[str, tuple[str, tuple[str, ...]]]]] = {
    "ecp5": ("MULT18X18D", {
        "input_a": ("REG_INPUTA_CLK", ("CLK0", "CLK1", "CLK2", "CLK3")),
        "input_b": ("REG_INPUTB_CLK", ("CLK0", "CLK1", "CLK2", "CLK3")),
        "pipeline": ("REG_PIPELINE_CLK", ("CLK0", "CLK1", "CLK2", "CLK3")),
        "output": ("REG_OUTPUT_CLK", ("CLK0", "CLK1", "CLK2", "CLK3")),
    }),
    "ice40": ("SB_MAC16", {
        "input_a": ("A_REG", ("1",)),
        "input_b": ("B_REG", ("1",)),
        "pipeline": ("PIPELINE_16x16_MULT_REG2", ("1",)),
        "output": ("TOPOUTPUT_SELECT", ("1", "3")),
    }),
    "xilinx": ("DSP48E1", {
        "input_a": ("AREG", ("1", "2")),
        "input_b": ("BREG", ("1", "2")),
        "pipeline": ("MREG", ("1",)),
        "output": ("PREG", ("1",)),
    }),
}


def _param(v: Any) -> str:
    """A Yosys JSON parameter as text: binary strings of integers become decimal."""
    s = str(v).strip()
    if s and set(s) <= {"0", "1"} and len(s) >= 2:
        return str(int(s, 2))
    return s


def dsp_registers(netlist: Path, family: str) -> dict[str, Any] | None:
    """``{"cell": type, "count": n, "stages": {stage: cells with it on}, "all_on": bool}``
    over every DSP cell of the top module's flattened netlist (None for families without a
    table here)."""
    if family not in DSP_STAGES:
        return None
    cell_type, stages = DSP_STAGES[family]
    data = json.loads(Path(netlist).read_text())
    cells = [c for mod in data.get("modules", {}).values()
             for c in mod.get("cells", {}).values() if c.get("type") == cell_type]
    on = {st: sum(_param(c.get("parameters", {}).get(p, "")) in vals for c in cells)
          for st, (p, vals) in stages.items()}
    return {"cell": cell_type, "count": len(cells), "stages": on,
            "all_on": bool(cells) and all(n == len(cells) for n in on.values())}
