"""dsp_registers reads the register stages of mapped DSP cells from a Yosys netlist: for
SB_MAC16 a stage of several parameters (the 8x8, 16x16 and output registers) is on only
when every one of them is, so one register left off is reported."""

from __future__ import annotations

import json

from exactbn.hw.primitives.ice40 import PARAMS

from exactbn.synth.dsp_check import dsp_registers, dsp_timing


def _netlist(tmp_path, cells: list[dict]):
    mods = {"top": {"cells": {f"dsp{k}": {"type": "SB_MAC16", "parameters": p}
                              for k, p in enumerate(cells)}}}
    path = tmp_path / "netlist.json"
    path.write_text(json.dumps({"modules": mods}))
    return path


def _as_yosys(params: dict[str, tuple[int, int]]) -> dict[str, str]:
    return {k: format(v, f"0{w}b") for k, (v, w) in params.items()}


def test_sb_mac16_as_instantiated_is_all_on(tmp_path):
    regs = dsp_registers(_netlist(tmp_path, [_as_yosys(PARAMS)] * 2), "ice40")
    assert regs["count"] == 2 and regs["all_on"], regs
    t = dsp_timing({"dsp_registers": regs, "target": "ice40", "dsp": 2, "fmax_mhz": 80.0})
    assert "NOT timed" in t["internal_paths"] and "register to register" in t["internal_paths"]


def test_one_sb_mac16_register_off_is_reported(tmp_path):
    one_off = dict(PARAMS, PIPELINE_16x16_MULT_REG1=(0, 1))
    raw = dict(PARAMS, BOTOUTPUT_SELECT=(3, 2))  # the product unregistered at O[15:0]
    regs = dsp_registers(_netlist(tmp_path, [_as_yosys(PARAMS), _as_yosys(one_off),
                                             _as_yosys(raw)]), "ice40")
    assert regs["stages"] == {"input_a": 3, "input_b": 3, "pipeline": 2, "output": 2}
    assert not regs["all_on"]
