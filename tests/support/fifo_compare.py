"""Cycle-for-cycle comparison of two output FIFOs (hw/fifo.py ``OutputFifo``), used only by
tests: writes whenever the beats held stay within depth + 1 (the credit limit), ready in
bursts between stalls of up to 40 cycles, a reset now and then."""

from __future__ import annotations

import random

from amaranth import ClockDomain, Elaboratable, Module, Signal
from amaranth.sim import Simulator


class FifoPair(Elaboratable):
    """A reference FIFO and the FIFO under test on the same inputs (and the same reset);
    ``ready_next`` (next cycle's ready) drives the DUT's port of that name when it has one."""

    def __init__(self, ref, dut, width: int):
        self.ref, self.dut = ref, dut
        self.w_valid, self.w_data = Signal(), Signal(width)
        self.ready, self.ready_next = Signal(), Signal()
        self.cd = ClockDomain("sync")

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = self.cd
        m.submodules.ref, m.submodules.dut = self.ref, self.dut
        for f in (self.ref, self.dut):
            m.d.comb += [f.w_valid.eq(self.w_valid), f.w_data.eq(self.w_data),
                         f.o.ready.eq(self.ready)]
        if hasattr(self.dut, "ready_next"):
            m.d.comb += self.dut.ready_next.eq(self.ready_next)
        return m


def compare_fifos(ref, dut, width: int, depth: int, cycles: int = 3000, seed: int = 1) -> dict:
    """Drive both FIFOs; returns the first cycle where their outputs differ (or None), every
    popped word beside the scoreboard's expected one, the most beats held and the resets."""
    rng = random.Random(seed)
    ready: list[int] = []
    while len(ready) < cycles + 1:
        ready += [0] * rng.randrange(1, 40) + [1] * rng.randrange(1, 15)
    ready = [r if rng.random() < 0.9 else 1 - r for r in ready]
    rsts = [c > 50 and rng.random() < 0.004 for c in range(cycles + 1)]
    pair = FifoPair(ref, dut, width)
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
            w = not rst and rng.random() < 0.85 and held - pop + 1 <= depth + 1
            data = (seq * 2654435761) % (1 << width)
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
