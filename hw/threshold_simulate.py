"""Drive a :class:`ThresholdUnit` in Amaranth's simulator (random valid/ready, writes, resets).

The program steps are those of :func:`exactbn.hw.simulate.simulate`, with threshold writes:
``("stream", beats)``, ``("drain",)``, ``("idle", k)``, ``("reset", k)`` and
``("write", addr, index, value)`` (held until its handshake). Comparing the outputs with a
model is the caller's job.
"""

from __future__ import annotations

import random

from amaranth import ClockDomain, Module
from amaranth.sim import Simulator

from .simulate import SimResult, pack_lanes, unpack_lanes
from .threshold_config import ThresholdConfig
from .threshold_unit import ThresholdUnit

__all__ = ["simulate_threshold"]


def simulate_threshold(cfg: ThresholdConfig, program: list[tuple], *, p_valid: float = 1.0,
                       p_ready: float = 1.0, seed: int = 0,
                       max_cycles: int = 2_000_000) -> SimResult:
    """Run ``program`` on a fresh unit; see :func:`exactbn.hw.simulate.simulate`."""
    dut = ThresholdUnit(cfg)
    rng = random.Random(seed)
    res = SimResult()
    top = Module()
    top.domains.sync = cd = ClockDomain("sync")
    top.submodules.dut = dut
    sim = Simulator(top)
    sim.add_clock(1e-8)
    ram = cfg.store == "ram"

    async def bench(ctx):
        cycle = 0
        pending: list = []

        async def step(s_valid, beat, m_ready, cfg_w=None, rst=0):
            nonlocal cycle
            ctx.set(dut.s_axis_tvalid, s_valid)
            if beat is not None:
                ctx.set(dut.s_axis_tdata, pack_lanes(beat[0], cfg.w_x))
                ctx.set(dut.s_axis_tuser, beat[1])
                ctx.set(dut.s_axis_tlast, beat[2])
            ctx.set(dut.m_axis_tready, m_ready)
            if ram:
                ctx.set(dut.cfg_valid, 1 if cfg_w else 0)
                if cfg_w:
                    ctx.set(dut.cfg_addr, cfg_w[0])
                    ctx.set(dut.cfg_index, cfg_w[1])
                    ctx.set(dut.cfg_value, cfg_w[2] & ((1 << cfg.w_t) - 1))
            ctx.set(cd.rst, rst)
            sampled = [dut.s_axis_tready, dut.m_axis_tvalid, dut.m_axis_tdata,
                       dut.m_axis_tuser, dut.m_axis_tlast] + ([dut.cfg_ready] if ram else [])
            _, _, s_ready, m_valid, m_data, m_user, m_last, *rest = \
                await ctx.tick().sample(*sampled)
            cycle += 1
            if cycle > max_cycles:
                raise RuntimeError(f"simulation exceeded {max_cycles} cycles")
            took_in = bool(s_valid and s_ready and not rst)
            if took_in:
                rec = (list(beat[0]), beat[1], beat[2], cycle)
                res.accepted.append(rec)
                pending.append(rec)
            if m_valid and m_ready and not rst:
                res.outputs.append((unpack_lanes(m_data, cfg.w_q, cfg.lanes, cfg.q_signed),
                                    m_user, m_last, cycle))
                pending.pop(0)
            if rst:
                pending.clear()
            return took_in, bool(ram and cfg_w and rest[0] and not rst)

        def ready() -> int:
            return int(rng.random() < p_ready)

        for op in program:
            if op[0] == "stream":
                for beat in op[1]:
                    while not rng.random() < p_valid:
                        await step(0, None, ready())
                    while not (await step(1, beat, ready()))[0]:
                        pass
            elif op[0] == "drain":
                while pending:
                    await step(0, None, ready())
            elif op[0] == "idle":
                for _ in range(op[1]):
                    await step(0, None, ready())
            elif op[0] == "write":
                while not (await step(0, None, ready(), cfg_w=tuple(op[1:4])))[1]:
                    pass
            elif op[0] == "reset":
                for _ in range(op[1]):
                    await step(0, None, ready())
                await step(0, None, 0, rst=1)
            else:
                raise ValueError(f"unknown program step {op[0]!r}")
        await step(0, None, 0)
        if ram:
            res.cfg_error = ctx.get(dut.cfg_error)
        if cfg.range_check:
            res.range_error = ctx.get(dut.range_error)
        res.cycles = cycle

    sim.add_testbench(bench)
    sim.run()
    return res
