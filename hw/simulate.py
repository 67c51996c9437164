"""Drive a :class:`BatchNormUnit` in Amaranth's simulator: streams with random valid/ready
gaps, parameter writes, resets. Returns what came out; comparing it with a model is the
caller's job (tests join this with the integer model; hw/ takes plain parameters only).

A program is a list of steps:

- ``("stream", beats)``: present the beats in order (a beat is ``(xs, user, last)`` with one
  x per lane), each after a random gap, until all are accepted;
- ``("drain",)``: keep the sink going until every accepted beat has come out;
- ``("write", addr, m, b, n)``: one ``cfg_*`` write, held until its handshake;
- ``("reset", k)``: run k more cycles (stream and sink as they are), then one cycle of rst
  (beats in flight are discarded; the step stops presenting whatever was not accepted);
- ``("idle", k)``: k cycles with no input.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from amaranth import ClockDomain, Module
from amaranth.sim import Simulator

from .config import UnitConfig
from .unit import BatchNormUnit

__all__ = ["SimResult", "simulate", "pack_lanes", "unpack_lanes"]


def pack_lanes(values: list[int], width: int) -> int:
    mask = (1 << width) - 1
    return sum((v & mask) << (i * width) for i, v in enumerate(values))


def unpack_lanes(word: int, width: int, lanes: int, signed: bool) -> list[int]:
    out = []
    for i in range(lanes):
        v = (word >> (i * width)) & ((1 << width) - 1)
        if signed and v >> (width - 1):
            v -= 1 << width
        out.append(v)
    return out


@dataclass
class SimResult:
    """``outputs``: (q per lane, m_axis_tuser, m_axis_tlast, cycle) in arrival order;
    ``accepted``: input beats accepted (not discarded by a reset), in order; ``first_out`` the
    cycle of the first output after the first acceptance (for latency); ``cycles`` total."""

    outputs: list[tuple[list[int], int, int, int]] = field(default_factory=list)
    accepted: list[tuple[list[int], int, int, int]] = field(default_factory=list)
    cfg_error: int = 0
    range_error: int = 0
    cycles: int = 0
    stalls_s_ready: int = 0


def simulate(cfg: UnitConfig, program: list[tuple], *, p_valid: float = 1.0,
             p_ready: float = 1.0, seed: int = 0, max_cycles: int = 10_000_000,
             ready_pattern: list[int] | None = None, trace: list | None = None,
             dut=None, set_cfg=None) -> SimResult:
    """Run ``program`` on a fresh unit; ``p_valid``/``p_ready`` are per-cycle probabilities
    that the source offers a beat / the sink is ready. ``ready_pattern`` (optional) fixes the
    sink's ready for the first cycles. ``trace`` (a list) receives one dict per cycle:
    s_valid, s_ready, m_valid, m_ready, in_index (beat offered) and out_index (beat out).
    ``dut``/``set_cfg(ctx, dut, write)``: another unit with the same stream ports and how its
    cfg port takes one write step (hw/threshold_simulate.py)."""
    if dut is None:  # primitives: Amaranth equivalents
        dut = BatchNormUnit(replace(cfg, sim_models=True))
    rng = random.Random(seed)
    res = SimResult()
    top = Module()
    top.domains.sync = cd = ClockDomain("sync")
    top.submodules.dut = dut
    sim = Simulator(top)
    sim.add_clock(1e-8)
    w_x, w_q, lanes = cfg.w_x, cfg.w_q, cfg.lanes
    ram = cfg.store == "ram"

    async def bench(ctx):
        cycle = 0
        pending_epoch: list = []  # accepted since the last reset, not yet out

        async def step(s_valid: int, beat, m_ready: int, cfg_w=None, rst: int = 0):
            nonlocal cycle
            if ready_pattern is not None and cycle < len(ready_pattern):
                m_ready = ready_pattern[cycle]
            ctx.set(dut.s_axis_tvalid, s_valid)
            if beat is not None:
                xs, user, last = beat
                ctx.set(dut.s_axis_tdata, pack_lanes(xs, w_x))
                ctx.set(dut.s_axis_tuser, user)
                ctx.set(dut.s_axis_tlast, last)
            ctx.set(dut.m_axis_tready, m_ready)
            if ram:
                ctx.set(dut.cfg_valid, 1 if cfg_w else 0)
                if cfg_w and set_cfg is not None:
                    set_cfg(ctx, dut, cfg_w)
                elif cfg_w:
                    addr, mv, bv, nv = cfg_w
                    ctx.set(dut.cfg_addr, addr)
                    ctx.set(dut.cfg_m, mv & ((1 << cfg.w_m) - 1))
                    ctx.set(dut.cfg_b, bv & ((1 << cfg.w_b) - 1))
                    if cfg.shift_mode == "per-channel":
                        ctx.set(dut.cfg_n, nv)
            ctx.set(cd.rst, rst)
            sampled = [dut.s_axis_tready, dut.m_axis_tvalid, dut.m_axis_tdata,
                       dut.m_axis_tuser, dut.m_axis_tlast]
            if ram:
                sampled.append(dut.cfg_ready)
            _, _, s_ready, m_valid, m_data, m_user, m_last, *rest = \
                await ctx.tick().sample(*sampled)
            cycle += 1
            if cycle > max_cycles:
                raise RuntimeError(f"simulation exceeded {max_cycles} cycles")
            took_in = bool(s_valid and s_ready and not rst)
            took_out = bool(m_valid and m_ready and not rst)
            if s_valid and not s_ready:
                res.stalls_s_ready += 1
            if took_in:
                rec = (list(beat[0]), beat[1], beat[2], cycle)
                res.accepted.append(rec)
                pending_epoch.append(rec)
            if took_out:
                res.outputs.append((unpack_lanes(m_data, w_q, lanes, cfg.q_signed),
                                    m_user, m_last, cycle))
                pending_epoch.pop(0)
            if trace is not None:
                trace.append({"s_valid": s_valid, "s_ready": s_ready, "m_valid": m_valid,
                              "m_ready": m_ready, "in_index": len(res.accepted) - took_in
                              if s_valid else None,
                              "out_index": len(res.outputs) - took_out if m_valid else None})
            if rst:
                pending_epoch.clear()
            cfg_took = bool(ram and cfg_w and rest[0] and not rst)
            return took_in, cfg_took

        for op in program:
            kind = op[0]
            if kind == "stream":
                for beat in op[1]:
                    while True:
                        offer = rng.random() < p_valid
                        took, _ = await step(int(offer), beat if offer else None,
                                             int(rng.random() < p_ready))
                        if took:
                            break
                        if offer:  # once offered, hold it until taken (AXI rule)
                            while not (await step(1, beat, int(rng.random() < p_ready)))[0]:
                                pass
                            break
            elif kind == "drain":
                while pending_epoch:
                    await step(0, None, int(rng.random() < p_ready))
            elif kind == "idle":
                for _ in range(op[1]):
                    await step(0, None, int(rng.random() < p_ready))
            elif kind == "write":
                w = tuple(op[1:5])
                while not (await step(0, None, int(rng.random() < p_ready), cfg_w=w))[1]:
                    pass
            elif kind == "reset":
                for _ in range(op[1]):
                    await step(0, None, int(rng.random() < p_ready))
                await step(0, None, 0, rst=1)
            else:
                raise ValueError(f"unknown program step {kind!r}")
        await step(0, None, 0)
        if ram:
            res.cfg_error = ctx.get(dut.cfg_error)
        if cfg.range_check:
            res.range_error = ctx.get(dut.range_error)
        res.cycles = cycle

    sim.add_testbench(bench)
    sim.run()
    return res
