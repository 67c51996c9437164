"""``exactbn prove`` on real generated units: passes on correct ones, fails with a
counterexample (VCD + one-line summary) on deliberately broken ones.

Broken units are made the way a user or an attacker edits a generated file: a regex on the
Verilog text. No register is excluded from the proofs by its name, so renaming a wire to
``err`` or into a ``skid.`` scope hides nothing.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from exactbn.hw import to_verilog
from exactbn.sim.formal.prove import prove_unit
from exactbn.sim.formal.runner import list_state

from exactbn.generate import unit_config_from_solved

sys.path.insert(0, str(Path(__file__).parent))
from formal_layers import edit_module, ignore_stall, rename_core_wire, small_layer  # noqa: E402

pytestmark = [pytest.mark.formal, pytest.mark.xdist_group("formal")]


def _cfg(layer, **kw):
    return unit_config_from_solved(layer, lanes=kw.pop("lanes", 2), **kw)


@pytest.mark.parametrize("store, lanes, hw_rounding, pipeline", [
    ("rom", 1, "floor", "shallow"),
    ("ram", 2, "floor", "shallow"),
    pytest.param("rom", 2, "half_even", "default", marks=pytest.mark.slow),
    pytest.param("ram", 1, "half_even", "default", marks=pytest.mark.slow),
])
def test_proof_passes_on_correct_unit(tmp_path, store, lanes, hw_rounding, pipeline):
    layer = small_layer(hw_rounding)
    cfg = _cfg(layer, store=store, lanes=lanes, pipeline=pipeline)
    res = prove_unit(layer, cfg, to_verilog(cfg), tmp_path)
    assert res.status == "PASS", res.summary
    split = store == "ram" and lanes > 1  # a RAM store: a stall and a datapath part per lane
    parts = [f"{task} lane {lane}" if split else task for task in ("stall", "datapath")
             for lane in (range(lanes) if split else [0])]
    assert [t.task for t in res.tasks] == ["hold", "stream", *parts]
    assert not list(tmp_path.iterdir())  # work directories removed after a pass


def test_proof_fails_on_one_memory_word_off(tmp_path):
    layer = small_layer("half_even")
    wrong = small_layer("half_even", M=(3, -44, 100))  # the unit's ROM holds M = -44
    cfg = _cfg(wrong)
    res = prove_unit(layer, cfg, to_verilog(cfg), tmp_path)
    assert res.status == "FAIL"
    assert "channel 1" in res.summary and "M = -44" in res.summary and "-45" in res.summary
    assert res.vcd and Path(res.vcd).stat().st_size > 0


def test_proof_fails_on_register_ignoring_stall(tmp_path):
    layer = small_layer("floor")
    cfg = _cfg(layer)
    res = prove_unit(layer, cfg, ignore_stall(to_verilog(cfg), "core.mul0", "pp_0_0"),
                     tmp_path)
    assert res.status == "FAIL"
    assert res.summary.startswith("hold: register core.mul0.pp_0_0 ")
    assert "stalled" in res.summary and res.vcd


@pytest.mark.parametrize("rename", ["err", "\\skid.r "])
def test_rounding_register_ignoring_stall_is_caught_whatever_the_names(tmp_path, rename):
    """The outside test's unit: the rounding register ignores the stall, and the core wire on
    its output is renamed to `err` (or into a `skid.` scope). The old hold proof skipped
    registers by such names and the datapath proof never stalled: reported PROVEN."""
    layer = small_layer("half_even")
    cfg = _cfg(layer)
    assert cfg.stages["round"] == 1
    verilog = rename_core_wire(ignore_stall(to_verilog(cfg), "core.round0", "r"), "r", rename)
    res = prove_unit(layer, cfg, verilog, tmp_path)
    assert res.status == "FAIL", res.summary
    assert res.summary.startswith("hold: register ") and "stalled" in res.summary
    assert re.search(r"round0\.r|core\.err|skid\.r", res.summary), res.summary


def test_stall_task_alone_sees_a_register_ignoring_the_stall(tmp_path):
    """Without the hold proof, the stall task alone (the unit against its copy clocked only
    when the pipeline moves): the rounding register that ignores the stall differs."""
    layer = small_layer("half_even")
    cfg = _cfg(layer, lanes=1)
    verilog = ignore_stall(to_verilog(cfg), "core.round0", "r")
    res = prove_unit(layer, cfg, verilog, tmp_path, tasks=("stall",))
    assert res.status == "FAIL", res.summary
    assert re.match(r"stall: (register \S*round0\S* differs|m_axis_tdata differs)",
                    res.summary), res.summary
    assert "output stall cycle" in res.summary and res.vcd


def test_proof_fails_on_inverted_tie_rule(tmp_path):
    layer = small_layer("half_even")
    # The rounding stage rounds ties up when t is EVEN (the tie rule inverted).
    cfg = _cfg(layer)
    verilog = edit_module(to_verilog(cfg), "core.round0", r"(sticky \| )(\\port\$\d+\$0 \[\d+\])",
                    r"\1~\2")
    res = prove_unit(layer, cfg, verilog, tmp_path)
    assert res.status == "FAIL"
    assert res.summary.startswith("datapath: channel ") and "expected" in res.summary
    assert res.vcd


def test_proof_passes_in_pixel_mode_with_shared_shift(tmp_path):
    layer = small_layer("half_even", shift_mode="shared")
    cfg = _cfg(layer, lane_mode="pixels", pipeline="shallow")
    res = prove_unit(layer, cfg, to_verilog(cfg), tmp_path)
    assert res.status == "PASS", res.summary


@pytest.mark.parametrize("store", [
    pytest.param("rom", marks=pytest.mark.slow),
    pytest.param("ram", marks=pytest.mark.slow),
])
def test_proof_covers_dsp_operand_registers(tmp_path, store):
    """``deep`` has ``dspin=1``: the proofs pass."""
    layer = small_layer("half_even")
    cfg = _cfg(layer, store=store, pipeline="deep")
    assert cfg.stages["dspin"] == 1
    res = prove_unit(layer, cfg, to_verilog(cfg), tmp_path)
    assert res.status == "PASS", res.summary


def test_dsp_operand_register_ignoring_stall_fails(tmp_path):
    layer = small_layer("half_even")
    cfg = _cfg(layer, pipeline="deep")
    verilog = ignore_stall(to_verilog(cfg), "core.mul0", "x_r")
    res = prove_unit(layer, cfg, verilog, tmp_path)
    assert res.status == "FAIL"
    assert "x_r" in res.summary and "stalled" in res.summary


def test_ram_cfg_error_register_is_not_excluded(tmp_path):
    """cfg_error is checked like every register: made to toggle while the output stalls
    (a register nobody excluded by name any more), the hold proof fails."""
    layer = small_layer("floor")
    cfg = _cfg(layer, store="ram", pipeline="shallow")
    verilog = edit_module(to_verilog(cfg), "core.store",
                    r"(always @\(posedge clk\)\n\s*)cfg_error <= \\\$\d+ ;",
                    r"\1cfg_error <= ~cfg_error;")
    res = prove_unit(layer, cfg, verilog, tmp_path, tasks=("hold",))
    assert res.status == "FAIL", res.summary
    assert "cfg_error" in res.summary


def test_range_check_unit_is_proven_and_a_wrong_range_word_fails(tmp_path):
    """--range-check: the beat's flag and range_error against the solved file's per-channel
    ranges. A unit built with channel 1's range [-100, 99] (one off) is caught."""
    rng = [(-10, 10), (-100, 100), (0, 5)]
    layer = small_layer("half_even", rng=rng)
    cfg = _cfg(layer, lanes=1, pipeline="shallow", range_check=True)
    res = prove_unit(layer, cfg, to_verilog(cfg), tmp_path / "ok")
    assert res.status == "PASS", res.summary
    wrong = small_layer("half_even", rng=[(-10, 10), (-100, 99), (0, 5)])
    bad = _cfg(wrong, lanes=1, pipeline="shallow", range_check=True)
    res = prove_unit(layer, bad, to_verilog(bad), tmp_path / "bad")
    assert res.status == "FAIL", res.summary
    assert res.summary.startswith("datapath: channel 1, x = ") and "range flag" in res.summary


def test_ram_shift_level_reached_only_by_a_cfg_write_fails(tmp_path):
    """RAM store: every channel's N is 2 in the solved file, so the shifter's shift-by-4
    level is used only after a cfg write of N >= 4. That level broken (it never shifts):
    the datapath proof, whose memory words are free, finds it."""
    layer = small_layer("half_even", N=(2, 2, 2))
    cfg = _cfg(layer, lanes=1, store="ram", pipeline="shallow", widths=(None, None, 3))
    assert cfg.n_min == 0 and cfg.n_max >= 4
    verilog, n = re.subn(r"assign D2 = d\[2\] \? [^;]*? : (\{[^;]*\});", r"assign D2 = \1;",
                         to_verilog(cfg))
    assert n == 1
    res = prove_unit(layer, cfg, verilog, tmp_path)
    assert res.status == "FAIL", res.summary
    assert res.summary.startswith("datapath: channel ") and "expected" in res.summary



def _rename_in_store(verilog: str, old: str, new: str) -> str:
    start = verilog.index("module \\exactbn_bn.core.store ")
    end = verilog.index("endmodule", start)
    body = re.sub(rf"(?<![\w$\\]){re.escape(old)}(?![\w$])", lambda m: new,
                  verilog[start:end])
    assert body != verilog[start:end]
    return verilog[:start] + body + verilog[end:]


def test_memory_words_are_found_by_structure_whatever_their_name(tmp_path):
    """The RAM store's words are memory words because they are memory (Yosys' $memory
    cells), not because of their names: a one-word store memory renamed (``pipe0``) is
    still one, and a register renamed like a word (``mem1[5]``) is not."""
    layer = small_layer("floor")
    cfg = _cfg(layer, lanes=4, store="ram")  # 3 channels on 4 lanes: one word a lane
    v = _rename_in_store(to_verilog(cfg), "mem0", "pipe0")
    v = _rename_in_store(v, "_1_", "\\mem1[5] ")
    _, regs = list_state(v, cfg.name, tmp_path / "state", structural_memories=True)
    kind = {r.label: r.memory for r in regs}
    assert kind["core.store.pipe0[0]"] is True
    assert kind["core.store.mem1[5]"] is False
    assert sum(r.memory for r in regs) == 4


def test_a_renamed_memory_word_cannot_make_a_wrong_unit_pass(tmp_path):
    """The store's memory renamed (its words no longer carry the generated names) and its
    cfg write path broken (M written inverted): never PASS (the proof names the word it
    cannot map to a channel)."""
    layer = small_layer("floor")
    cfg = _cfg(layer, lanes=4, store="ram", pipeline="shallow")
    v = edit_module(to_verilog(cfg), "core.store", r"mem0\[1'h0\] <= \{ cfg_n, cfg_b, cfg_m \}",
                    "mem0[1'h0] <= { cfg_n, cfg_b, ~cfg_m }")
    v = _rename_in_store(v, "mem0", "pipe0")
    res = prove_unit(layer, cfg, v, tmp_path, tasks=("stall", "datapath"))
    assert res.status in ("FAIL", "ERROR"), res.summary
    assert "mem0[0]" in res.summary, res.summary


def test_stall_task_proves_a_register_named_like_a_memory_word_as_a_register(tmp_path):
    """The store's read register renamed like a word past the image (``mem1[5]``; an older
    stall task took it for a memory word by its name and shared it between the copies
    unchecked) is a register like any other: tied to the copy's, the correct unit PASSes."""
    layer = small_layer("floor")
    cfg = _cfg(layer, lanes=1, store="ram")
    verilog = _rename_in_store(to_verilog(cfg), "_0_", "\\mem1[5] ")
    res = prove_unit(layer, cfg, verilog, tmp_path, tasks=("stall",))
    assert res.status == "PASS", res.summary


def test_a_ram_store_whose_words_are_not_memory_is_never_proven(tmp_path):
    """A RAM unit is proven against its cfg writes only through its memory words; words that
    are plain registers (e.g. edited into constants the writes never reach) would leave the
    proofs comparing against the solved file's constants: the check names the word."""
    from exactbn.sim.formal.prove import _ram_words_not_memory

    layer = small_layer("floor")
    cfg = _cfg(layer, lanes=4, store="ram")
    _, regs = list_state(to_verilog(cfg), cfg.name, tmp_path / "state", structural_memories=True)
    memory = {r.wire for r in regs if r.memory}
    assert _ram_words_not_memory(cfg, regs, memory) is None
    gap = _ram_words_not_memory(cfg, regs, set())
    assert gap and "core.store.mem0[0]" in gap
    one_plain = memory - {next(r.wire for r in regs if r.label == "core.store.mem2[0]")}
    assert "core.store.mem2[0]" in (_ram_words_not_memory(cfg, regs, one_plain) or "")
