"""``regs.add_carry_in`` (the carry chunks' add with a registered carry in, hw/multiplier.py)
equals ``a + b + c`` for every operand pair and carry of small widths; the same form with the
constant low bit 0 (the carry dropped) fails."""

from __future__ import annotations

import pytest
from amaranth import Cat, Const, Module, Signal
from amaranth.sim import Simulator
from exactbn.hw.regs import add_carry_in


def _table(wa: int, wb: int, form) -> dict:
    a, b, c = Signal(wa), Signal(wb), Signal()
    s = Signal(max(wa, wb) + 1)
    m = Module()
    m.d.comb += s.eq(form(a, b, c))
    got = {}

    async def bench(ctx):
        for x in range(1 << wa):
            for y in range(1 << wb):
                for z in (0, 1):
                    ctx.set(a, x)
                    ctx.set(b, y)
                    ctx.set(c, z)
                    got[x, y, z] = ctx.get(s)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    return got


@pytest.mark.parametrize("wa,wb", [(1, 1), (4, 4), (5, 3), (2, 6)])
def test_add_carry_in_is_a_plus_b_plus_c(wa, wb):
    got = _table(wa, wb, add_carry_in)
    assert all(v == x + y + z for (x, y, z), v in got.items())


def test_carry_dropped_fails():
    def bad(a, b, c):
        n = max(len(a), len(b))
        return (Cat(Const(0, 1), a) + Cat(c, b))[1:n + 2]

    got = _table(4, 4, bad)
    assert any(v != x + y + z for (x, y, z), v in got.items())
