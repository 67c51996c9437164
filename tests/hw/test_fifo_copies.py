"""The ECP5 output FIFO of ``flow=credit`` with its head's load enable as registered copies
(``OutputFifo(group=...)``, hw/fifo.py): cycle for cycle the same stream as the plain FIFO
under random writes at the credit limit, random ready with long stalls and resets; a FIFO
whose copies are loaded a cycle late fails; the ecp5 unit with it against golden's integer
model under long stalls."""

from __future__ import annotations

import random

import pytest
from amaranth import ClockDomain, Elaboratable, Module, Signal
from amaranth.sim import Simulator
from exactbn.hw.fifo import OutputFifo

WIDTH, DEPTH = 20, 8


class _Pair(Elaboratable):
    def __init__(self, dut: OutputFifo):
        self.ref, self.dut = OutputFifo(WIDTH, DEPTH), dut
        self.w_valid, self.w_data = Signal(), Signal(WIDTH)
        self.ready, self.ready_next = Signal(), Signal()
        self.cd = ClockDomain("sync")

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = self.cd
        m.submodules.ref, m.submodules.dut = self.ref, self.dut
        for f in (self.ref, self.dut):
            m.d.comb += [f.w_valid.eq(self.w_valid), f.w_data.eq(self.w_data),
                         f.o.ready.eq(self.ready)]
        m.d.comb += self.dut.ready_next.eq(self.ready_next)
        return m


def _compare(dut: OutputFifo, cycles: int = 3000, seed: int = 1) -> dict:
    rng = random.Random(seed)
    ready: list[int] = []
    while len(ready) < cycles + 1:
        ready += [0] * rng.randrange(1, 40) + [1] * rng.randrange(1, 15)
    ready = [r if rng.random() < 0.9 else 1 - r for r in ready]
    rsts = [c > 50 and rng.random() < 0.004 for c in range(cycles + 1)]
    pair = _Pair(dut)
    out = {"first_diff": None, "popped": [], "max_held": 0, "resets": 0}

    async def bench(ctx):
        held, seq = 0, 0
        queue: list[int] = []
        for cyc in range(cycles):
            rst, r = rsts[cyc], ready[cyc]
            ctx.set(pair.cd.rst, rst)
            ctx.set(pair.ready, r)
            ctx.set(pair.ready_next, ready[cyc + 1])
            pop = bool(ctx.get(pair.ref.o.valid)) and r and not rst
            w = not rst and rng.random() < 0.85 and held - pop + 1 <= DEPTH + 1
            data = (seq * 2654435761) % (1 << WIDTH)
            ctx.set(pair.w_valid, w)
            ctx.set(pair.w_data, data)
            a = (ctx.get(pair.ref.o.valid), ctx.get(pair.ref.o.payload))
            b = (ctx.get(pair.dut.o.valid), ctx.get(pair.dut.o.payload))
            if out["first_diff"] is None and (a[0] != b[0] or (a[0] and a[1] != b[1])):
                out["first_diff"] = (cyc, a, b)
            if pop:
                out["popped"].append((b[1], queue.pop(0) if queue else None))
            if w:
                queue.append(data)
                seq += 1
            held += w - pop
            out["max_held"] = max(out["max_held"], held)
            if rst:
                held, queue = 0, []
                out["resets"] += 1
            await ctx.tick()

    sim = Simulator(pair)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return out


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
