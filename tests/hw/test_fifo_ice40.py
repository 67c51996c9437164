"""The iCE40 output FIFO of ``flow=credit`` (``OutputFifo(read="sync")``: block-RAM reads
through registers, hw/fifo.py): cycle for cycle the same stream as the LUT-RAM FIFO under
random writes at the credit limit, random ready with long stalls and resets; nothing lost,
duplicated or reordered; a FIFO that misses the read-during-write case fails; the iCE40 unit
with it against golden's integer model (Amaranth sim and cocotb on its Verilog)."""

from __future__ import annotations

import pytest
from exactbn.hw import fifo as hw_fifo
from exactbn.hw import to_verilog
from exactbn.hw.config import PIPELINE_PRESETS
from exactbn.hw.fifo import OutputFifo
from fifo_compare import compare_fifos

from exactbn.generate import build_vectors, unit_config_from_solved

WIDTH, DEPTH = 8, 8


def _compare(dut: OutputFifo, seed: int = 1) -> dict:
    """The DUT against the LUT-RAM (asynchronous-read) FIFO on the same stream."""
    return compare_fifos(OutputFifo(WIDTH, DEPTH, read="comb"), dut, WIDTH, DEPTH, seed=seed)


def test_sync_read_fifo_is_the_comb_fifo_cycle_for_cycle():
    for seed in (1, 2):
        res = _compare(OutputFifo(WIDTH, DEPTH, read="sync"), seed=seed)
        assert res["first_diff"] is None, res["first_diff"]
        assert res["max_held"] == DEPTH + 1 and res["resets"] >= 2  # full, and reset
        assert len(res["popped"]) > 600
        # what came out is what went in, in order (the scoreboard's queue head)
        assert all(got == want for got, want in res["popped"])


class _NoFreshFifo(OutputFifo):
    """Planted bug: a word written in the cycle it was read is taken from the stale read."""

    def _sync_read(self, m, mem, rp, free, some, cnt):
        ram, _fresh, w_last = super()._sync_read(m, mem, rp, free, some, cnt)
        return ram, 0, w_last


def test_a_fifo_missing_the_read_during_write_case_fails():
    res = _compare(_NoFreshFifo(WIDTH, DEPTH, read="sync"), seed=1)
    assert res["first_diff"] is not None
    assert any(got != want for got, want in res["popped"])


def test_ice40_credit_unit_uses_the_block_ram_fifo(solved):
    cfg = unit_config_from_solved(solved("conv1_bn"), family="ice40")  # the target's default
    assert cfg.pipeline == PIPELINE_PRESETS["ice40"] and cfg.pipeline.flow == "credit"
    text = to_verilog(cfg)
    assert "ram_style" in text and "rdata1" in text
    generic = unit_config_from_solved(solved("conv1_bn"), pipeline="ice40")
    assert "rdata1" not in to_verilog(generic)  # other families keep the LUT-RAM FIFO


def test_ice40_credit_unit_matches_integer_model_with_long_stalls(solved, stream_check):
    layer = solved("conv1_bn")
    cfg = unit_config_from_solved(layer, family="ice40", lanes=2, pipeline="ice40")
    vectors = build_vectors(layer, cfg, seed=5)
    bad, _ = stream_check(cfg, vectors, p_valid=0.8, p_ready=0.3, seed=2)
    assert not bad, f"{len(bad)} mismatches, first: {bad[0]}"


@pytest.mark.sim
def test_ice40_credit_unit_passes_every_scenario_cocotb(tmp_path):
    """cocotb (Icarus) on the generated Verilog: SB_MAC16 through exactbn's model, the FIFO
    as Verilog memory with registered reads."""
    from exactbn.sim.layers import tie_layer
    from exactbn.sim.regress import simulate_layer, unit_config

    solved = tie_layer("half_up")
    cfg = unit_config(solved, family="ice40", lanes=2, pipeline="ice40")
    assert "rdata1" in to_verilog(cfg)
    res = simulate_layer(solved, cfg, "icarus", vectors=60, run_dir=tmp_path)
    assert res.passed, f"{res.summary()}; first: {res.first_mismatch}"


@pytest.mark.sim
def test_ice40_credit_cocotb_catches_the_planted_fifo_bug(tmp_path, monkeypatch):
    from exactbn.hw import core as hw_core
    from exactbn.sim.layers import tie_layer
    from exactbn.sim.regress import simulate_layer, unit_config

    solved = tie_layer("half_even")
    cfg = unit_config(solved, family="ice40", lanes=2, pipeline="ice40")
    monkeypatch.setattr(hw_core, "OutputFifo", _NoFreshFifo)
    assert hw_fifo.OutputFifo is not _NoFreshFifo
    # the read-during-write case needs a held head, an empty RAM and a beat, then a pop the
    # next cycle: random valid and ready (heavy back-pressure keeps the RAM full)
    res = simulate_layer(solved, cfg, "icarus", vectors=60, run_dir=tmp_path,
                         scenarios=["random_gaps", "reset_mid_stream"], verilog=to_verilog(cfg))
    assert not res.passed and res.mismatches > 0, res.summary()


@pytest.mark.formal
@pytest.mark.xdist_group("formal")
@pytest.mark.parametrize("bug", [False, True])
def test_ice40_credit_proof_passes_and_fails_for_the_planted_fifo_bug(tmp_path, monkeypatch,
                                                                      bug):
    """The credit miter (stall task) on a small iCE40 unit with the block-RAM FIFO: PASS;
    with the FIFO that misses the read-during-write case: FAIL (a wrong beat at m_axis)."""
    import sys
    from pathlib import Path

    from exactbn.hw import core as hw_core
    from exactbn.sim.formal.prove import prove_unit

    sys.path.insert(0, str(Path(__file__).parents[1] / "formal"))
    from formal_layers import small_layer

    layer = small_layer("floor")
    cfg = unit_config_from_solved(layer, lanes=1, family="ice40", pipeline="shallow,flow=credit")
    if bug:
        monkeypatch.setattr(hw_core, "OutputFifo", _NoFreshFifo)
    verilog = to_verilog(cfg)
    assert "rdata1" in verilog
    res = prove_unit(layer, cfg, verilog, tmp_path, tasks=("stall",), depth=12 if bug else None)
    assert res.status == ("FAIL" if bug else "PASS"), res.summary
    if bug:  # the stale word is seen at the FIFO's head or, a cycle later, at m_axis
        assert "a_out == qh" in res.summary or "a_head == " in res.summary, res.summary
