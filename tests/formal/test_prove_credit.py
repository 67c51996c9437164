"""``exactbn prove`` on ``flow=credit`` units (free-running pipeline, output FIFO, credits):
the stall task's queue model passes on the generated unit and fails when the credit rule
admits one beat too many (the counter read one cycle late: the FIFO overflows)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from amaranth import Module, Mux, Signal
from exactbn.hw import core as hw_core
from exactbn.hw import to_verilog
from exactbn.hw.fifo import CreditCounter, OutputFifo
from exactbn.sim.formal.prove import prove_unit

from exactbn.generate import unit_config_from_solved

sys.path.insert(0, str(Path(__file__).parent))
from formal_layers import small_layer  # noqa: E402

pytestmark = [pytest.mark.formal, pytest.mark.xdist_group("formal")]


class _LateCredit(CreditCounter):
    """Planted bug: ready from the count before this cycle's handshakes (off by one)."""

    def elaborate(self, platform):
        m = Module()
        lim = self.limit
        occ = Signal(lim + 1, init=1, name="occ")
        ready = Signal(init=1, name="ready_r")
        pop_r = Signal(name="pop_r")
        m.d.sync += pop_r.eq(self.pop)
        up, down = self.acc & ~pop_r, pop_r & ~self.acc
        for k in range(lim + 1):
            below = occ[k - 1] if k else 0
            above = occ[k + 1] if k < lim else 0
            m.d.sync += occ[k].eq(Mux(up, below, Mux(down, above, occ[k])))
        m.d.comb += self.ready.eq(ready)
        m.d.sync += ready.eq(~occ[lim] & ~self.block)  # the bug: occ, not its next value
        return m


class _DropFifo(OutputFifo):
    """Planted bug: the FIFO drops the beat written in the second cycle of a stall (the head
    valid and not taken in this cycle and the one before); every other beat is kept. The
    generated FIFO with its write strobe gated (its structure and names unchanged)."""

    def elaborate(self, platform):
        real, gated = self.w_valid, Signal(name="w_valid_gated")
        self.w_valid = gated
        try:
            m = super().elaborate(platform)
        finally:
            self.w_valid = real
        stalled = self.o.valid & ~self.o.ready
        was = Signal(name="was_stalled")
        m.d.sync += was.eq(stalled)
        m.d.comb += gated.eq(real & ~(stalled & was))
        return m


@pytest.mark.parametrize("store", ["rom", "ram"])
def test_credit_proof_passes(tmp_path, store):
    layer = small_layer("floor")
    cfg = unit_config_from_solved(layer, lanes=1, store=store, pipeline="shallow,flow=credit")
    res = prove_unit(layer, cfg, to_verilog(cfg), tmp_path)
    assert res.status == "PASS", res.summary
    assert [t.task for t in res.tasks] == ["stall", "datapath"]


def test_credit_off_by_one_fails(tmp_path, monkeypatch):
    layer = small_layer("floor")
    cfg = unit_config_from_solved(layer, lanes=1, pipeline="shallow,flow=credit")
    monkeypatch.setattr(hw_core, "CreditCounter", _LateCredit)
    verilog = to_verilog(cfg)
    # the FIFO (4 words + head) fills in 5 stalled cycles: a base case of 10 steps sees it
    res = prove_unit(layer, cfg, verilog, tmp_path, tasks=("stall",), depth=10)
    assert res.status == "FAIL", res.summary
    assert res.summary.startswith("stall:") and res.vcd


def test_credit_fifo_dropping_a_beat_fails(tmp_path, monkeypatch):
    """A FIFO that loses the beat written in a stall's second cycle: the stall task's queue
    model FAILs (a base case of 10 steps reaches reset, beats in flight and two stalled
    cycles: at step 6 the FIFO's word count is one short of the queue's, 10 s at load 10);
    the same unit without the bug PASSes at this depth too."""
    layer = small_layer("floor")
    cfg = unit_config_from_solved(layer, lanes=1, pipeline="shallow,flow=credit")
    monkeypatch.setattr(hw_core, "OutputFifo", _DropFifo)
    res = prove_unit(layer, cfg, to_verilog(cfg), tmp_path, tasks=("stall",), depth=10)
    assert res.status == "FAIL", res.summary
    assert res.summary.startswith("stall:") and res.vcd


def test_credit_subsumed_task_alone_runs_the_stall_task(tmp_path, monkeypatch):
    """``tasks=("hold",)`` on a credit unit ran nothing and said PASS: it must run ``stall``
    (here with the planted credit bug, so it FAILs), and no task at all is an ERROR."""
    layer = small_layer("floor")
    cfg = unit_config_from_solved(layer, lanes=1, pipeline="shallow,flow=credit")
    monkeypatch.setattr(hw_core, "CreditCounter", _LateCredit)
    verilog = to_verilog(cfg)
    res = prove_unit(layer, cfg, verilog, tmp_path / "a", tasks=("hold",), depth=10)
    assert res.status == "FAIL" and [t.task for t in res.tasks] == ["stall"], res.summary
    res = prove_unit(layer, cfg, verilog, tmp_path / "b", tasks=())
    assert res.status == "ERROR" and not res.tasks


@pytest.mark.slow
@pytest.mark.parametrize("family", ["ice40", "ecp5", "xilinx"])
def test_family_preset_stall_task_passes(tmp_path, family):
    """The stall task on each family's default credit unit (iCE40: block-RAM FIFO of 32
    words, latency 16). It did not finish in 25-30 min before B read A's datapath
    (miter.shared_state) and the queue became a ring (each FIFO word against one of two
    ring entries); now k = 3 closes (iCE40: 110 CPU s at load 18-20)."""
    layer = small_layer("floor")
    cfg = unit_config_from_solved(layer, lanes=1, family=family)
    assert cfg.pipeline.flow == "credit"
    res = prove_unit(layer, cfg, to_verilog(cfg), tmp_path, tasks=("stall",))
    assert res.status == "PASS", res.summary
    assert [t.depth for t in res.tasks] == [3]
