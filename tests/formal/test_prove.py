"""``exactbn prove`` on real generated units: passes on correct ones, fails with a
counterexample (VCD + one-line summary) on deliberately broken ones."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from exactbn.hw import to_verilog
from exactbn.sim.formal.prove import prove_unit

from exactbn.generate import unit_config_from_solved

sys.path.insert(0, str(Path(__file__).parent))
from formal_layers import small_layer  # noqa: E402

pytestmark = [pytest.mark.formal, pytest.mark.xdist_group("formal")]


def _cfg(layer, **kw):
    return unit_config_from_solved(layer, lanes=kw.pop("lanes", 2), **kw)


@pytest.mark.parametrize("store", ["rom", "ram"])
@pytest.mark.parametrize("hw_rounding", ["floor", "half_even"])
def test_proof_passes_on_correct_unit(tmp_path, store, hw_rounding):
    layer = small_layer(hw_rounding)
    cfg = _cfg(layer, store=store)
    res = prove_unit(layer, cfg, to_verilog(cfg), tmp_path)
    assert res.status == "PASS", res.summary
    assert [t.task for t in res.tasks] == ["datapath", "stream", "hold"]


def test_proof_fails_on_one_memory_word_off(tmp_path):
    layer = small_layer("half_even")
    wrong = small_layer("half_even", M=(3, -44, 100))  # the unit's ROM holds M = -44
    cfg = _cfg(wrong)
    res = prove_unit(layer, cfg, to_verilog(cfg), tmp_path)
    assert res.status == "FAIL"
    assert "channel 1" in res.summary and "M = -44" in res.summary and "-45" in res.summary
    assert res.vcd and Path(res.vcd).stat().st_size > 0


def _break_stall(verilog: str) -> str:
    """Make the partial-product register of lane 0 load every cycle, ignoring the stall."""
    start = verilog.index("module \\exactbn_bn.core.mul0 ")
    end = verilog.index("endmodule", start)
    body = verilog[start:end]
    new = re.sub(r"(\\\$\d+\s*= pp_0_0;\n\s*)if \(en\) begin", r"\1if (1'h1) begin", body, count=1)
    assert new != body, "pattern for the pp register not found"
    return verilog[:start] + new + verilog[end:]


def test_proof_fails_on_register_ignoring_stall(tmp_path):
    layer = small_layer("floor")
    cfg = _cfg(layer)
    res = prove_unit(layer, cfg, _break_stall(to_verilog(cfg)), tmp_path)
    assert res.status == "FAIL"
    assert "pp_0_0" in res.summary and "stalled" in res.summary
    assert res.vcd


def test_proof_fails_on_inverted_tie_rule(tmp_path):
    layer = small_layer("half_even")
    # The rounding stage rounds ties up when t is EVEN (the tie rule inverted).
    cfg = _cfg(layer)
    verilog = to_verilog(cfg)
    start = verilog.index("module \\exactbn_bn.core.round0 ")
    end = verilog.index("endmodule", start)
    body = verilog[start:end]
    new = re.sub(r"(sticky \| )(\\port\$\d+\$0 \[\d+\])", r"\1~\2", body, count=1)
    assert new != body, "pattern for the tie rule not found"
    res = prove_unit(layer, cfg, verilog[:start] + new + verilog[end:], tmp_path)
    assert res.status == "FAIL"
    assert res.summary.startswith("datapath: channel ") and "expected" in res.summary
    assert res.vcd


def test_proof_passes_in_pixel_mode_with_shared_shift(tmp_path):
    layer = small_layer("half_even", shift_mode="shared")
    cfg = _cfg(layer, lane_mode="pixels", pipeline="shallow")
    res = prove_unit(layer, cfg, to_verilog(cfg), tmp_path)
    assert res.status == "PASS", res.summary


@pytest.mark.parametrize("store", ["rom", "ram"])
def test_proof_covers_dsp_operand_registers(tmp_path, store):
    """``deep`` has ``dspin=1``: the proofs pass, and the operand register x_r ignoring the
    stall is caught by the hold proof."""
    layer = small_layer("half_even")
    cfg = _cfg(layer, store=store, pipeline="deep")
    assert cfg.stages["dspin"] == 1
    verilog = to_verilog(cfg)
    res = prove_unit(layer, cfg, verilog, tmp_path / "ok")
    assert res.status == "PASS", res.summary
    start = verilog.index("module \\exactbn_bn.core.mul0 ")
    end = verilog.index("endmodule", start)
    body = verilog[start:end]
    new = re.sub(r"(\\\$\d+\s*= x_r;\n\s*)if \(en\) begin", r"\1if (1'h1) begin", body, count=1)
    assert new != body, "pattern for the x_r register not found"
    res = prove_unit(layer, cfg, verilog[:start] + new + verilog[end:], tmp_path / "broken")
    assert res.status == "FAIL"
    assert "x_r" in res.summary and "stalled" in res.summary
