"""The proof of an iCE40 unit (SB_MAC16 instantiated with every register on, read through
exactbn's behavioural model) passes, and fails for a model with a planted bug: one register
stage missing (the datapath task) or the output register ignoring CE (the hold task)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from exactbn.hw import to_verilog
from exactbn.hw.primitives import SB_MAC16_MODEL
from exactbn.sim.formal.prove import TASKS as PROVE_TASKS
from exactbn.sim.formal.prove import prove_unit

from exactbn.generate import unit_config_from_solved

sys.path.insert(0, str(Path(__file__).parent))
from formal_layers import small_layer  # noqa: E402

pytestmark = [pytest.mark.formal, pytest.mark.xdist_group("formal")]

TASKS = tuple(PROVE_TASKS)
PIPE = "mult=2,shift=0,round=0,out=1"  # the SB_MAC16's four registers + the combine + out
BUGS = {
    "pass": None,
    "register_missing": ("p_o <= p_h;", "p_o <= p_8;"),
    "ignores_ce": ("    p_o <= p_h;\n  end", "  end\n  always @(posedge CLK) p_o <= p_h;"),
}


@pytest.mark.parametrize("bug", list(BUGS))
def test_ice40_proof_with_the_model(tmp_path, bug):
    layer = small_layer("floor")
    cfg = unit_config_from_solved(layer, lanes=1, family="ice40", pipeline=PIPE)
    verilog = to_verilog(cfg)
    assert "SB_MAC16" in verilog and "module SB_MAC16" not in verilog
    if BUGS[bug] is not None:  # a wrong model beside the unit: prove reads it, not ours
        old, new = BUGS[bug]
        assert old in SB_MAC16_MODEL
        verilog += SB_MAC16_MODEL.replace(old, new)
    task = {"register_missing": ("datapath",), "ignores_ce": ("hold",)}.get(bug, TASKS)
    res = prove_unit(layer, cfg, verilog, tmp_path, tasks=task)
    if bug == "pass":
        assert res.status == "PASS", res.summary
        assert [t.task for t in res.tasks] == list(TASKS)
    else:
        assert res.status == "FAIL", res.summary
        if bug == "ignores_ce":
            assert "dsp_0_0.p_o" in res.summary
