"""The proof of an ECP5 unit (MULT18X18D instantiated, read through exactbn's behavioural
model) passes, and fails for a model with a planted bug: one register stage missing (the
datapath task) or the output register ignoring CE0 (the hold task)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from exactbn.hw import to_verilog
from exactbn.hw.primitives import MULT18X18D_MODEL
from exactbn.sim.formal.prove import TASKS as PROVE_TASKS
from exactbn.sim.formal.prove import prove_unit

from exactbn.generate import unit_config_from_solved

sys.path.insert(0, str(Path(__file__).parent))
from formal_layers import small_layer  # noqa: E402

pytestmark = [pytest.mark.formal, pytest.mark.xdist_group("formal")]

TASKS = tuple(PROVE_TASKS)  # every task, the stall miter too
PIPE = "mult=2,shift=0,round=0,out=1"  # the DSP's three registers + the combine + out
BUGS = {
    "pass": None,
    "register_missing": ("p_o <= p_m;", "p_o <= prod[35:0];"),
    "ignores_ce": ("    p_o <= p_m;\n  end", "  end\n  always @(posedge CLK0) p_o <= p_m;"),
}


@pytest.mark.parametrize("bug", list(BUGS))
def test_ecp5_proof_with_the_model(tmp_path, bug):
    layer = small_layer("floor")
    cfg = unit_config_from_solved(layer, lanes=1, family="ecp5", pipeline=PIPE)
    verilog = to_verilog(cfg)
    assert "MULT18X18D" in verilog and "module MULT18X18D" not in verilog
    if BUGS[bug] is not None:  # a wrong model beside the unit: prove reads it, not ours
        old, new = BUGS[bug]
        assert old in MULT18X18D_MODEL
        verilog += MULT18X18D_MODEL.replace(old, new)
    task = {"register_missing": ("datapath",), "ignores_ce": ("hold",)}.get(bug, TASKS)
    res = prove_unit(layer, cfg, verilog, tmp_path, tasks=task)
    if bug == "pass":
        assert res.status == "PASS", res.summary
        assert [t.task for t in res.tasks] == list(TASKS) and "stall" in TASKS
    else:
        assert res.status == "FAIL", res.summary
        if bug == "ignores_ce":
            assert "dsp_0_0.p_o" in res.summary


@pytest.mark.slow
def test_ecp5_preset_proof_passes(tmp_path):
    """The ecp5 preset: split parameter read, carry chunks, staged saturation (~45 s)."""
    layer = small_layer("floor")
    cfg = unit_config_from_solved(layer, lanes=1, family="ecp5")
    assert cfg.param_read_split and cfg.pipeline.chunk and cfg.pipeline.out == 2
    res = prove_unit(layer, cfg, to_verilog(cfg), tmp_path, tasks=TASKS)
    assert res.status == "PASS", res.summary
