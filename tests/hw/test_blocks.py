"""The narrow shifter, rounding stage and saturator on their own, combinational, against
golden's integer model (M = 1, B = 0, so s = x) for every s of a small width and every shift
of the range, including shifts far beyond the width of s; and the split multiplier."""

from __future__ import annotations

import random

import numpy as np
import pytest
from amaranth import Module
from amaranth.sim import Simulator
from exactbn.golden.model import integer_model
from exactbn.hw import MulAdd, RoundingStage, Saturator, Shifter
from exactbn.hw.multiplier import split_operand

from exactbn.formats import twos_width


@pytest.mark.parametrize("hw_rounding", ["floor", "half_up", "half_even", "half_away"])
@pytest.mark.parametrize("n_min,n_max,qmin,qmax", [(0, 13, -5, 6), (3, 4, 0, 3),
                                                   (2, 2, -128, 127), (0, 0, -1, 0)])
def test_shift_round_saturate_every_value_every_shift(hw_rounding, n_min, n_max, qmin, qmax):
    w_s = 9
    w_t = twos_width(qmin - 1, qmax)  # the narrowest the unit uses
    m = Module()
    m.submodules.sh = sh = Shifter(w_s, n_min, n_max, w_t, 0)
    m.submodules.rnd = rnd = RoundingStage(w_t, hw_rounding, 0)
    m.submodules.sat = sat = Saturator(w_t + 1, 8, qmin, qmax, 0)
    m.d.comb += [rnd.t.eq(sh.t), rnd.half.eq(sh.half), rnd.sticky.eq(sh.sticky),
                 rnd.ov.eq(sh.ov), rnd.neg.eq(sh.neg),
                 sat.r.eq(rnd.r), sat.ov.eq(rnd.ov_o), sat.neg.eq(rnd.neg_o)]
    values = list(range(-(1 << (w_s - 1)), 1 << (w_s - 1)))
    shifts = list(range(n_min, n_max + 1))
    got = {}

    async def bench(ctx):
        for n in shifts:
            ctx.set(sh.d, n - n_min)
            for s in values:
                ctx.set(sh.s, s)
                q = ctx.get(sat.q)
                got[(n, s)] = q - 256 if q >= 128 else q

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    for n in shifts:
        exp = integer_model(1, 0, n, np.array(values, dtype=np.int64), qmin, qmax, hw_rounding)
        assert [got[(n, s)] for s in values] == [int(v) for v in exp], n


def test_split_operand_covers_every_bit():
    for width in range(1, 60):
        for dsp in (4, 5, 18, 25):
            chunks = split_operand(width, dsp)
            assert sum(w for _, w, _ in chunks) == width
            assert all(w <= dsp and (s or w <= dsp - 1) for _, w, s in chunks)
            assert [s for _, _, s in chunks] == [False] * (len(chunks) - 1) + [True]


@pytest.mark.parametrize("w_x,w_m,dsp", [(9, 14, 5), (18, 20, 18), (30, 7, 18)])
def test_split_multiplier_random_and_extremes(w_x, w_m, dsp):
    w_b = 12
    w_s = w_x + w_m + 1
    m = Module()
    m.submodules.mul = mul = MulAdd(w_x, w_m, w_b, w_s, 2, dsp)
    rng = random.Random(w_x)
    xs = [-(1 << (w_x - 1)), (1 << (w_x - 1)) - 1, 0, -1]
    ms = [-(1 << (w_m - 1)), (1 << (w_m - 1)) - 1, 0, -1]
    cases = [(x, mm, rng.randrange(-(1 << 11), 1 << 11)) for x in xs for mm in ms]
    cases += [(rng.randrange(-(1 << (w_x - 1)), 1 << (w_x - 1)),
               rng.randrange(-(1 << (w_m - 1)), 1 << (w_m - 1)),
               rng.randrange(-(1 << 11), 1 << 11)) for _ in range(300)]
    out = []

    async def bench(ctx):
        ctx.set(mul.en, 1)
        for x, mm, b in cases:
            ctx.set(mul.x, x)
            ctx.set(mul.m, mm)
            ctx.set(mul.b, b)
            await ctx.tick()
            await ctx.tick()
            out.append(ctx.get(mul.s))

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert out == [x * mm + b for x, mm, b in cases]
