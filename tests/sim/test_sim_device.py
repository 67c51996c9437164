"""cocotb regression (every scenario: full rate, random gaps, back-pressure with long stalls,
reset mid-stream, RAM reprogramming) on the ECP5 unit's Verilog: MULT18X18D instances read
through exactbn's behavioural model, against golden's integer model; a model with a planted
bug (the pipeline register ignoring CE0) fails it."""

from __future__ import annotations

import pytest
from exactbn.hw import to_verilog
from exactbn.hw.primitives import MULT18X18D_MODEL
from exactbn.sim.layers import example_layer, tie_layer
from exactbn.sim.regress import simulate_layer, unit_config

pytestmark = pytest.mark.sim


@pytest.mark.parametrize("layer,opts", [
    ("ties_half_up", dict(lanes=4, store="ram")),  # the ecp5 preset: chunks, staged clamp
    ("ties_half_even", dict(lanes=2, pipeline="mult=2,shift=2,round=1,out=1,chunk=5")),
], ids=["ties_half_up-ram-L4-ecp5preset", "ties_half_even-L2-chunk5"])
def test_ecp5_unit_passes_every_scenario(tmp_path, layer, opts):
    solved = tie_layer(layer[5:]) if layer.startswith("ties_") else example_layer(layer)
    cfg = unit_config(solved, family="ecp5", **opts)
    res = simulate_layer(solved, cfg, "icarus", vectors=100, run_dir=tmp_path)
    assert res.passed, f"{res.summary()}; first: {res.first_mismatch}"


def test_ecp5_regression_catches_a_wrong_model(tmp_path):
    solved = tie_layer("half_even")
    # flow=stall: CE0 is the pipeline enable (the credit flow ties it high)
    cfg = unit_config(solved, family="ecp5", lanes=2, pipeline="ecp5,flow=stall")
    bad = MULT18X18D_MODEL.replace("    p_m <= prod[35:0];\n", "").replace(
        "  end\n  assign", "  end\n  always @(posedge CLK0) p_m <= prod[35:0];\n  assign")
    assert bad != MULT18X18D_MODEL
    res = simulate_layer(solved, cfg, "icarus", vectors=60, run_dir=tmp_path,
                         scenarios=["backpressure"], verilog=to_verilog(cfg) + bad)
    assert not res.passed and res.mismatches > 0


def test_ice40_unit_passes_every_scenario(tmp_path):
    """The iCE40 unit: SB_MAC16 instances (every register on) read through exactbn's model,
    carry chunks, staged clamp."""
    solved = tie_layer("half_up")
    cfg = unit_config(solved, family="ice40", lanes=2,
                      pipeline="mult=2,shift=8,round=1,out=2,dspin=1,chunk=6")
    assert "SB_MAC16" in to_verilog(cfg)
    res = simulate_layer(solved, cfg, "icarus", vectors=60, run_dir=tmp_path)
    assert res.passed, f"{res.summary()}; first: {res.first_mismatch}"


def test_ice40_regression_catches_a_wrong_model(tmp_path):
    from exactbn.hw.primitives import SB_MAC16_MODEL

    solved = tie_layer("half_even")
    cfg = unit_config(solved, family="ice40", lanes=2, pipeline="mult=2,shift=1,out=1")
    bad = SB_MAC16_MODEL.replace("    p_h <= p_8;\n", "").replace(
        "  assign O = p_o;", "  always @(posedge CLK) p_h <= p_8;\n  assign O = p_o;")
    assert bad != SB_MAC16_MODEL
    res = simulate_layer(solved, cfg, "icarus", vectors=60, run_dir=tmp_path,
                         scenarios=["backpressure"], verilog=to_verilog(cfg) + bad)
    assert not res.passed and res.mismatches > 0


@pytest.mark.slow
def test_ecp5_dp16kd_rom_unit_passes_every_scenario(tmp_path):
    """--param-memory block: the ROM is DP16KD blocks with their output register, read
    through exactbn's DP16KD model (and MULT18X18D's); the ecp5 preset (~4 min loaded)."""
    from exactbn.hw.primitives import uses_dp16kd

    solved = example_layer("conv1_bn")
    cfg = unit_config(solved, family="ecp5", lanes=2, param_memory="block")
    assert uses_dp16kd(cfg) and "DP16KD" in to_verilog(cfg)
    res = simulate_layer(solved, cfg, "icarus", vectors=60, run_dir=tmp_path)
    assert res.passed, f"{res.summary()}; first: {res.first_mismatch}"
