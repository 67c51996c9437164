"""The ECP5 output FIFO of ``flow=credit`` with its head's load enable as registered copies
(``OutputFifo(group=...)``, hw/fifo.py): cycle for cycle the same stream as the plain FIFO
under random writes at the credit limit, random ready with long stalls and resets; a FIFO
whose copies are loaded a cycle late fails; the ecp5 unit with it against golden's integer
model under long stalls."""

from __future__ import annotations

import pytest
from amaranth import Signal
from exactbn.hw.fifo import OutputFifo
from fifo_compare import compare_fifos

WIDTH, DEPTH = 20, 8


def _compare(dut: OutputFifo, seed: int = 1) -> dict:
    return compare_fifos(OutputFifo(WIDTH, DEPTH), dut, WIDTH, DEPTH, seed=seed)


@pytest.mark.parametrize("group", [8, 5])
def test_enable_copies_fifo_is_the_plain_fifo_cycle_for_cycle(group):
    for seed in (1, 2):
        res = _compare(OutputFifo(WIDTH, DEPTH, group=group), seed=seed)
        assert res["first_diff"] is None, res["first_diff"]
        assert res["max_held"] == DEPTH + 1 and res["resets"] >= 2
        assert len(res["popped"]) > 600
        assert all(got == want for got, want in res["popped"])


class _LateCopies(OutputFifo):
    """Planted bug: the copies loaded with this cycle's ready (not the next cycle's)."""

    def _copied_enable(self, m, mem, rp, cnt, head, head_valid, some):
        late = Signal()
        m.d.comb += late.eq(self.o.ready)
        self.ready_next = late
        super()._copied_enable(m, mem, rp, cnt, head, head_valid, some)


def test_copies_loaded_a_cycle_late_fail():
    res = _compare(_LateCopies(WIDTH, DEPTH, group=8), seed=1)
    assert res["first_diff"] is not None


def test_too_many_head_groups_refused():
    with pytest.raises(ValueError, match="head groups"):
        OutputFifo(WIDTH, DEPTH, group=4)  # 5 groups: more copies than distinct forms
    with pytest.raises(ValueError, match="comb"):
        OutputFifo(WIDTH, DEPTH, read="sync", group=8)
