"""A RAM-store cfg write presented in a reset cycle is not accepted: cfg_ready is low while
rst is high and the store keeps its words (hw/README.md: handshakes during reset are
discarded). Before the fix, the first reset cycle after a write had paused the stream had
cfg_ready high and the write landed."""

from __future__ import annotations

import numpy as np
from amaranth import ClockDomain, Module
from amaranth.sim import Simulator
from exactbn.golden.model import integer_model
from exactbn.hw import BatchNormUnit, Pipeline, UnitConfig

C = 5


def _cfg() -> UnitConfig:
    return UnitConfig(
        w_x=8, x_signed=True, w_m=10, w_b=14, w_n=4, w_q=8, q_signed=True, qmin=-128,
        qmax=127, M=[300, -200, 150, 90, 7], B=[1000, -500, 64, 0, 3], N=[4, 5, 3, 6, 0],
        store="ram", pipeline=Pipeline.parse("default"))


def _run(rst_cycles: int) -> tuple[list[int], int]:
    """cfg_valid high from cycle 0 (a write of M = B = N = 0 to channel 2), rst high for
    ``rst_cycles`` cycles from cycle 1 on, cfg_valid dropped with rst; then one beat on
    channel 2. Returns cfg_ready in the reset cycles and the beat's output."""
    cfg = _cfg()
    dut = BatchNormUnit(cfg)
    top = Module()
    top.domains.sync = cd = ClockDomain("sync")
    top.submodules.dut = dut
    sim = Simulator(top)
    sim.add_clock(1e-8)
    seen: list[int] = []
    out: list[int] = []

    async def bench(ctx):
        ctx.set(dut.m_axis_tready, 1)
        ctx.set(dut.cfg_valid, 1)
        ctx.set(dut.cfg_addr, 2)
        await ctx.tick()  # cycle 0: the write pauses the stream (s_axis_tready falls)
        ctx.set(cd.rst, 1)
        for _ in range(rst_cycles):
            _, _, ready = await ctx.tick().sample(dut.cfg_ready)
            seen.append(ready)
        ctx.set(cd.rst, 0)
        ctx.set(dut.cfg_valid, 0)
        await ctx.tick()
        ctx.set(dut.s_axis_tvalid, 1)
        ctx.set(dut.s_axis_tdata, 100)
        ctx.set(dut.s_axis_tuser, 2)
        while not (await ctx.tick().sample(dut.s_axis_tready))[2]:
            pass
        ctx.set(dut.s_axis_tvalid, 0)
        for _ in range(20):
            _, _, v, d = await ctx.tick().sample(dut.m_axis_tvalid, dut.m_axis_tdata)
            if v:
                out.append(d - 256 if d >= 128 else d)
                break

    sim.add_testbench(bench)
    sim.run()
    return seen, out[0]


def test_cfg_write_in_reset_cycle_is_not_accepted():
    cfg = _cfg()
    old = int(integer_model(cfg.M[2], cfg.B[2], cfg.N[2], np.int64(100), cfg.qmin, cfg.qmax,
                            cfg.hw_rounding))
    assert old != 0  # the write (M = B = N = 0) would make it 0
    for k in (1, 3):
        seen, q = _run(k)
        assert seen == [0] * k, f"cfg_ready during rst: {seen}"
        assert q == old, f"the write in a reset cycle landed ({q} instead of {old})"
