"""The narrow shifter with its levels registered (1..levels stages, so several levels share
a stage and their trims' overflow tests are taken from the stage's input): every output
(t, ov, half, sticky, neg) equals the combinational shifter's, ``stages`` cycles later, for
every s of a small width and every shift."""

from __future__ import annotations

import pytest
from amaranth import Module
from amaranth.sim import Simulator
from exactbn.hw import Shifter

OUTS = ("t", "ov", "half", "sticky", "neg")


def _staged_vs_comb(w_s, n_min, n_max, w_t, stages):
    m = Module()
    m.submodules.ref = ref = Shifter(w_s, n_min, n_max, w_t, 0)
    m.submodules.dut = dut = Shifter(w_s, n_min, n_max, w_t, stages)
    lat = dut.stages
    cases = [(d, s) for d in range(n_max - n_min + 1)
             for s in range(-(1 << (w_s - 1)), 1 << (w_s - 1))]
    want, got = [], []

    async def bench(ctx):
        ctx.set(dut.en, 1)
        for k in range(len(cases) + lat):
            if k < len(cases):
                d, s = cases[k]
                for sh in (ref, dut):
                    ctx.set(sh.d, d)
                    ctx.set(sh.s, s)
                want.append(tuple(ctx.get(getattr(ref, o)) for o in OUTS))
            if k >= lat:
                got.append(tuple(ctx.get(getattr(dut, o)) for o in OUTS))
            await ctx.tick()

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return cases, want, got


@pytest.mark.parametrize("n_min,n_max,w_t", [(0, 13, 4), (3, 10, 5), (1, 6, 3)])
def test_staged_shifter_equals_combinational(n_min, n_max, w_t):
    levels = (n_max - n_min).bit_length()
    for stages in range(1, levels + 1):
        cases, want, got = _staged_vs_comb(9, n_min, n_max, w_t, stages)
        bad = [(c, w, g) for c, w, g in zip(cases, want, got, strict=True) if w != g]
        assert not bad, (stages, bad[:3])
