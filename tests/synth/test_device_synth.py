"""One quick synthesis per family with a DSP primitive (C = 3, one seed): the mapped
netlist's DSP cells have their internal registers on (cell parameters), so a change that
falls back to inferred ``a*b`` (registers off, the open flow's Fmax cap) fails here."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from exactbn.synth.designs import build_designs
from exactbn.synth.dsp_check import dsp_registers
from exactbn.synth.flow import run_design
from exactbn.synth.targets import resolve_target

sys.path.insert(0, str(Path(__file__).parents[1] / "formal"))
from formal_layers import small_layer  # noqa: E402

pytestmark = [pytest.mark.synth]


def test_ecp5_mult18x18d_registers_on(tmp_path):
    target = resolve_target("ecp5")
    (src,) = build_designs(small_layer("floor"), target, tmp_path / "src", kinds=("exactbn",))
    assert src.config["family"] == "ecp5"
    assert src.config["pipeline"] == \
        "mult=2,shift=3,round=1,out=2,dspin=1,chunk=13,preg=1,flow=credit"
    e = run_design(src, target, tmp_path / "work", seeds=(1,))
    netlist = tmp_path / "work" / src.name / "netlist.json"
    mods = json.loads(netlist.read_text())["modules"]
    dsps = [c for m in mods.values() for c in m["cells"].values() if c["type"] == "MULT18X18D"]
    assert len(dsps) == e["dsp"] == 1
    params = dsps[0]["parameters"]
    for reg in ("INPUTA", "INPUTB", "PIPELINE", "OUTPUT"):
        assert params[f"REG_{reg}_CLK"].strip() == "CLK0", (reg, params)
        assert params[f"REG_{reg}_CE"].strip() == "CE0", (reg, params)
    ce = dsps[0]["connections"]["CE0"]
    assert ce == ["1"]  # flow=credit: the datapath has no clock enable (CE0 tied high)
    assert e["dsp_registers"]["all_on"] and e["fmax_mhz"] > 0
    # the FIFO head's load enable copies (hw/fifo.py) are still distinct flip-flops after
    # Yosys (its opt_merge would make one net of identical ones again)
    top = next(m for m in mods.values() if m.get("attributes", {}).get("top"))
    copies = {n: tuple(v["bits"]) for n, v in top["netnames"].items()
              if re.search(r"\.fifo\.free_c\d+$", n)}
    ffs = {tuple(c["connections"]["Q"]) for c in top["cells"].values()
           if c["type"] == "TRELLIS_FF"}
    assert len(copies) >= 3 and len(set(copies.values())) == len(copies), copies
    assert set(copies.values()) <= ffs


def test_inferred_multiplier_is_reported_registers_off(tmp_path):
    target = resolve_target("ecp5")
    (src,) = build_designs(small_layer("floor"), target, tmp_path / "src", kinds=("exactbn",),
                           family="generic")
    e = run_design(src, target, tmp_path / "work", seeds=(1,))
    regs = dsp_registers(tmp_path / "work" / src.name / "netlist.json", "ecp5")
    assert e["dsp"] >= 1 and regs["count"] >= 1
    assert not regs["all_on"] and regs["stages"]["pipeline"] == 0


def test_xilinx_one_dsp48_per_lane_registers_on(tmp_path):
    """Products up to 25 x 18 take one DSP48E1 per lane (no 18-bit split), with AREG/BREG,
    MREG and PREG packed (synth_xilinx counts; no place and route)."""
    target = resolve_target("xilinx")
    from exactbn.sim.layers import example_layer

    layer = example_layer("conv1_bn")  # 16-bit x, W_M = 23: one 25 x 18 product per lane
    (src,) = build_designs(layer, target, tmp_path / "src", kinds=("exactbn",), lanes=2)
    assert src.config["family"] == "xilinx" and src.config["w_m"] > 18
    e = run_design(src, target, tmp_path / "work", seeds=())
    assert e["dsp"] == 2, e["yosys_cells"]
    assert e["dsp_registers"]["all_on"], e["dsp_registers"]


def test_ice40_sb_mac16_registers_on(tmp_path):
    """SB_MAC16 instantiated with every register on survives synthesis: the flow runs
    synth_ice40 without -dsp for it, because Yosys's ice40_dsp pass rewrites the register
    parameters of any SB_MAC16 it finds (with -dsp every register here was turned off)."""
    target = resolve_target("ice40")
    (src,) = build_designs(small_layer("floor"), target, tmp_path / "src", kinds=("exactbn",),
                           pipeline="mult=2,shift=0,round=0,out=1")
    assert src.config["family"] == "ice40" and src.yosys_synth == "synth_ice40"
    e = run_design(src, target, tmp_path / "work", seeds=(1,))
    mods = json.loads((tmp_path / "work" / src.name / "netlist.json").read_text())["modules"]
    dsps = [c for m in mods.values() for c in m["cells"].values() if c["type"] == "SB_MAC16"]
    assert len(dsps) == e["dsp"] == 1
    params = {k: int(v, 2) for k, v in dsps[0]["parameters"].items()}
    for p in ("A_REG", "B_REG", "TOP_8x8_MULT_REG", "BOT_8x8_MULT_REG",
              "PIPELINE_16x16_MULT_REG1", "PIPELINE_16x16_MULT_REG2"):
        assert params[p] == 1, (p, params)
    assert params["TOPOUTPUT_SELECT"] == params["BOTOUTPUT_SELECT"] == 1, params
    ce = dsps[0]["connections"]["CE"]
    assert ce and all(isinstance(b, int) for b in ce)  # a net (the enable), not a constant
    assert e["dsp_registers"]["all_on"] and e["fmax_mhz"] > 0
