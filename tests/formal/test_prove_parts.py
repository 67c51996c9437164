"""The proof split in parts (one datapath and one stall part per lane, RAM store): the parts
must assert every lane and every N (a gap is ERROR, never PASS), and a bug in one lane fails
in that lane's part."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from exactbn.hw import to_verilog
from exactbn.sim.formal.miter import stall_parts
from exactbn.sim.formal.prove import check_cover, datapath_parts, model_from_layer, prove_unit
from exactbn.sim.formal.runner import list_state

from exactbn.generate import unit_config_from_solved

sys.path.insert(0, str(Path(__file__).parent))
from formal_layers import edit_module, ignore_stall, small_layer  # noqa: E402


def _ram(lanes: int = 2, **kw):
    layer = small_layer("half_even")
    return layer, unit_config_from_solved(layer, lanes=lanes, store="ram", **kw)


def test_default_parts_cover_every_lane_and_shift():
    layer, cfg = _ram(4)
    parts = datapath_parts(cfg, model_from_layer(layer))
    assert [lanes for lanes, _ in parts] == [(0,), (1,), (2,), (3,)]
    assert check_cover(cfg, parts) is None
    assert check_cover(cfg, datapath_parts(cfg, model_from_layer(layer), split=3)) is None


@pytest.mark.parametrize("parts, gap", [
    ([], "no part"),
    ([((0,), None)], "lane 1"),
    ([((0,), None), ((1,), (0, 1))], "lane 1, N = 2"),
])
def test_a_gap_in_the_parts_is_an_error(parts, gap):
    _, cfg = _ram(2)
    msg = check_cover(cfg, parts)
    assert msg is not None and gap in msg


@pytest.mark.formal
@pytest.mark.xdist_group("formal")
def test_prove_with_a_missing_part_is_an_error_never_pass(tmp_path):
    layer, cfg = _ram(2)
    res = prove_unit(layer, cfg, to_verilog(cfg), tmp_path, tasks=("datapath",),
                     parts=[((0,), None)])
    assert res.status == "ERROR" and not res.tasks, res.summary
    assert "unasserted" in res.summary


@pytest.mark.formal
@pytest.mark.xdist_group("formal")
def test_stall_parts_hold_each_lane_and_every_word(tmp_path):
    """Each lane part's cone holds its own lane's memory words and no other lane's; every
    word is checked in some part (structure only: Yosys listing, no proof)."""
    _, cfg = _ram(4)  # 3 channels on 4 lanes: one word a lane
    net, regs = list_state(to_verilog(cfg), cfg.name, tmp_path / "s", structural_memories=True)
    parts = stall_parts(net, cfg, regs)
    label = {r.wire: r.label for r in regs}
    for lane, p in enumerate(parts[:4]):
        assert sorted(label[w] for w in p.words) == [f"core.store.mem{lane}[0]"]
    assert set().union(*(p.words for p in parts)) == {r.wire for r in regs if r.memory}


@pytest.mark.formal
@pytest.mark.xdist_group("formal")
def test_register_ignoring_the_stall_fails_in_its_lane_part(tmp_path):
    layer, cfg = _ram(2, pipeline="default")
    verilog = ignore_stall(to_verilog(cfg), "core.mul1", "pp_0_0")
    res = prove_unit(layer, cfg, verilog, tmp_path, tasks=("stall",))
    assert res.status == "FAIL", res.summary
    assert [t.task for t in res.tasks] == ["stall lane 0", "stall lane 1"]
    assert res.summary.startswith("stall: register core.mul1.pp_0_0 differs"), res.summary


@pytest.mark.formal
@pytest.mark.xdist_group("formal")
def test_shifter_bug_in_one_lane_fails_in_its_datapath_part(tmp_path):
    """Lane 1's shifter broken at its shift-by-4 level (used only after a cfg write of
    N >= 4): the part of lane 1 fails, lane 0's passes."""
    layer, cfg = _ram(2, pipeline="shallow")
    verilog = edit_module(to_verilog(cfg), "core.shift1", r"assign D2 = d\[2\] \?",
                          "assign D2 = 1'h0 ?")
    res = prove_unit(layer, cfg, verilog, tmp_path, tasks=("datapath",))
    assert res.status == "FAIL", res.summary
    assert [(t.task, t.status) for t in res.tasks] == [("datapath lane 0", "PASS"),
                                                       ("datapath lane 1", "FAIL")]
    assert res.summary.startswith("datapath: channel ") and "lane 1" in res.summary


@pytest.mark.slow  # 33 s at load 10
@pytest.mark.formal
@pytest.mark.xdist_group("formal")
def test_rom_eight_lanes_in_pairs_and_a_bug_fails_in_its_pair(tmp_path):
    """A ROM unit of 8 lanes is proven two lanes a part (prove.ROM_LANES_PER_PART): the
    parts cover every lane, and lane 5's multiplier register ignoring the stall fails in
    the part of lanes 4 and 5."""
    layer = small_layer("half_even")
    cfg = unit_config_from_solved(layer, lanes=8, store="rom", pipeline="default")
    parts = datapath_parts(cfg, model_from_layer(layer))
    assert [lanes for lanes, _ in parts] == [(0, 1), (2, 3), (4, 5), (6, 7)]
    assert check_cover(cfg, parts) is None
    verilog = ignore_stall(to_verilog(cfg), "core.mul5", "pp_0_0")
    res = prove_unit(layer, cfg, verilog, tmp_path, tasks=("stall",), jobs=1)
    assert res.status == "FAIL", res.summary
    assert [t.task for t in res.tasks][-1] == "stall lane 4,5", res.tasks
    assert res.summary.startswith("stall: register core.mul5.pp_0_0 differs"), res.summary
