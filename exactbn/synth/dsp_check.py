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

# Per family: the DSP cell type and, per register stage, (parameter or parameters, values
# meaning "on"); a stage of several parameters is on when every one of them is.
DSP_STAGES: dict[str, tuple[str, dict[str, tuple[str | tuple[str, ...], tuple[str, ...]]]]] = {
    "ecp5": ("MULT18X18D", {
        "input_a": ("REG_INPUTA_CLK", ("CLK0", "CLK1", "CLK2", "CLK3")),
        "input_b": ("REG_INPUTB_CLK", ("CLK0", "CLK1", "CLK2", "CLK3")),
        "pipeline": ("REG_PIPELINE_CLK", ("CLK0", "CLK1", "CLK2", "CLK3")),
        "output": ("REG_OUTPUT_CLK", ("CLK0", "CLK1", "CLK2", "CLK3")),
    }),
    "ice40": ("SB_MAC16", {
        "input_a": ("A_REG", ("1",)),
        "input_b": ("B_REG", ("1",)),
        # the 8x8 product registers, the 16x16 partial products and the 16x16 sum
        "pipeline": (("TOP_8x8_MULT_REG", "BOT_8x8_MULT_REG", "PIPELINE_16x16_MULT_REG1",
                      "PIPELINE_16x16_MULT_REG2"), ("1",)),
        # 1 = the output registers (3 = the product unregistered at O)
        "output": (("TOPOUTPUT_SELECT", "BOTOUTPUT_SELECT"), ("1",)),
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
    def is_on(cell: dict, params: str | tuple[str, ...], vals: tuple[str, ...]) -> bool:
        names = (params,) if isinstance(params, str) else params
        return all(_param(cell.get("parameters", {}).get(p, "")) in vals for p in names)

    on = {st: sum(is_on(c, p, vals) for c in cells) for st, (p, vals) in stages.items()}
    return {"cell": cell_type, "count": len(cells), "stages": on,
            "all_on": bool(cells) and all(n == len(cells) for n in on.values())}


# Characterized MULT18X18D internal delays, ECP5 speed grade 6 (nextpnr-ecp5's default), from
# prjtrellis' timing database as quoted (not re-derived by exactbn): the stage that limits an
# all-registers-on block is operand register -> pipeline register.
ECP5_DSP_INTERNAL_NS = {"input_to_pipeline_setup": (2.4, 2.6), "pipeline_clk_to_p": 1.3}


def dsp_timing(entry: dict) -> dict[str, Any] | None:
    """Whether the Fmax of one report entry times the paths inside its DSP blocks, and (ECP5)
    whether the characterized internal delays allow that Fmax. None without DSP cells."""
    regs = entry.get("dsp_registers")
    target = entry.get("target")
    if not entry.get("dsp") or regs is None:
        return None
    fmax = entry.get("fmax_mhz")
    out: dict[str, Any] = {"cell": regs["cell"], "registers_all_on": regs["all_on"]}
    if target == "ecp5":
        if not any(regs["stages"].values()):
            out["internal_paths"] = ("timed: every DSP register off, so the DSP is "
                                     "combinational inside fabric-to-fabric paths")
            return out
        worst = ECP5_DSP_INTERNAL_NS["input_to_pipeline_setup"][1]
        limit = round(1000.0 / worst, 1)
        out["internal_paths"] = ("NOT timed by nextpnr-ecp5 (it models MULT18X18D at its input "
                                 "and output registers only; REG_PIPELINE is ignored)")
        out["internal_limit_mhz"] = limit
        out["internal_check"] = (
            f"characterized (speed grade 6): operand -> pipeline register "
            f"{ECP5_DSP_INTERNAL_NS['input_to_pipeline_setup'][0]}-{worst} ns, pipeline clock "
            f"-> P {ECP5_DSP_INTERNAL_NS['pipeline_clk_to_p']} ns: internal stages allow "
            f"{limit} MHz")
        out["internal_ok"] = None if fmax is None else fmax <= limit
    elif target == "ice40":
        out["internal_paths"] = (
            "NOT timed inside: nextpnr-ice40 treats every SB_MAC16 port as a register "
            "(fixed setup and clock-to-out), whatever registers are on"
            + ("; with every register on, each internal stage is register to register"
               if regs["all_on"] else "; registers off: the multiply is NOT timed at all"))
    else:
        out["internal_paths"] = "no place and route here: no Fmax"
    return out
