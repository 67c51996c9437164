"""The AXI4-Lite slave (hw/axil.py) in Amaranth's simulator: ID/geometry read-back, staging in
either AW/W order with byte strobes, COMMIT answered only after the cfg handshake (a beat sent
right after the response uses the new words), SLVERR cases, CFG_ERROR and DONE in STATUS."""

from __future__ import annotations

import random

import numpy as np
from amaranth import ClockDomain, Module
from amaranth.sim import Simulator
from exactbn.golden.model import integer_model
from exactbn.hw import Pipeline, UnitConfig, port_list
from exactbn.hw.axil import OKAY, SLVERR
from exactbn.hw.unit import BatchNormUnit

from exactbn.regmap.layout import MAGIC, RegisterMap

C = 5


def axil_cfg(shift_mode: str = "per-channel") -> UnitConfig:
    rng = random.Random(3)
    per = shift_mode == "per-channel"
    return UnitConfig(
        w_x=8, x_signed=True, w_m=40, w_b=36, w_n=4 if per else 0, w_q=8, q_signed=True,
        qmin=-100, qmax=120, M=[rng.randrange(-2048, 2048) for _ in range(C)],
        B=[rng.randrange(-30000, 30000) for _ in range(C)],
        N=[rng.randrange(0, 16) for _ in range(C)] if per else [9] * C,
        shift_mode=shift_mode, store="ram", cfg_bus="axil", hw_rounding="floor",
        pipeline=Pipeline.parse("shallow"))


def run(cfg: UnitConfig, script):
    """Run ``script(ctx, dut, axi)`` against a fresh unit; ``axi`` has write/read/beat."""
    dut = BatchNormUnit(cfg)
    top = Module()
    top.domains.sync = ClockDomain("sync")
    top.submodules.dut = dut
    sim = Simulator(top)
    sim.add_clock(1e-8)
    out: dict = {}

    class Axi:
        def __init__(self, ctx):
            self.ctx = ctx

        async def write(self, addr, data, strb=0xF, w_first=False):
            """One write; returns (bresp, cycles from the last handshake to BVALID)."""
            ctx = self.ctx
            pending = {"aw", "w"}
            if not w_first:
                ctx.set(dut.s_axil_awvalid, 1)
                ctx.set(dut.s_axil_awaddr, addr)
            ctx.set(dut.s_axil_wvalid, 1 if w_first else 0)
            ctx.set(dut.s_axil_wdata, data)
            ctx.set(dut.s_axil_wstrb, strb)
            for _ in range(50):
                *_, awr, wr = await ctx.tick().sample(dut.s_axil_awready, dut.s_axil_wready)
                if awr and ctx.get(dut.s_axil_awvalid):
                    pending.discard("aw")
                    ctx.set(dut.s_axil_awvalid, 0)
                if wr and ctx.get(dut.s_axil_wvalid):
                    pending.discard("w")
                    ctx.set(dut.s_axil_wvalid, 0)
                if "w" not in pending or not w_first:  # the other channel follows
                    if "aw" in pending and not ctx.get(dut.s_axil_awvalid):
                        ctx.set(dut.s_axil_awvalid, 1)
                        ctx.set(dut.s_axil_awaddr, addr)
                if "aw" not in pending and "w" in pending and not ctx.get(dut.s_axil_wvalid):
                    ctx.set(dut.s_axil_wvalid, 1)
                if not pending:
                    break
            ctx.set(dut.s_axil_bready, 1)
            for k in range(200):
                *_, bv, br = await ctx.tick().sample(dut.s_axil_bvalid, dut.s_axil_bresp)
                if bv:
                    ctx.set(dut.s_axil_bready, 0)
                    return br, k
            raise AssertionError("no write response")

        async def read(self, addr):
            ctx = self.ctx
            ctx.set(dut.s_axil_arvalid, 1)
            ctx.set(dut.s_axil_araddr, addr)
            for _ in range(50):
                *_, arr = await ctx.tick().sample(dut.s_axil_arready)
                if arr:
                    break
            ctx.set(dut.s_axil_arvalid, 0)
            ctx.set(dut.s_axil_rready, 1)
            for _ in range(50):
                *_, rv, rd, rr = await ctx.tick().sample(dut.s_axil_rvalid, dut.s_axil_rdata,
                                                        dut.s_axil_rresp)
                if rv:
                    ctx.set(dut.s_axil_rready, 0)
                    return rd, rr
            raise AssertionError("no read response")

        async def beat(self, x, user):
            """Send one beat (right away) and return its lane-0 output."""
            ctx = self.ctx
            ctx.set(dut.m_axis_tready, 1)
            ctx.set(dut.s_axis_tvalid, 1)
            ctx.set(dut.s_axis_tdata, x & 0xFF)
            ctx.set(dut.s_axis_tuser, user)
            for _ in range(50):
                *_, sr = await ctx.tick().sample(dut.s_axis_tready)
                if sr:
                    break
            ctx.set(dut.s_axis_tvalid, 0)
            for _ in range(50):
                *_, mv, md = await ctx.tick().sample(dut.m_axis_tvalid, dut.m_axis_tdata)
                if mv:
                    return md - 256 if md & 0x80 else md
            raise AssertionError("no output beat")

    async def bench(ctx):
        await ctx.tick().repeat(2)
        out["result"] = await script(ctx, dut, Axi(ctx))

    sim.add_testbench(bench)
    sim.run()
    return out["result"]


def model(m, b, n, x, cfg):
    return int(integer_model(m, b, n, np.int64(x), cfg.qmin, cfg.qmax, cfg.hw_rounding))


def test_axil_ports_replace_cfg_ports():
    names = [p[0] for p in port_list(axil_cfg())]
    assert "s_axil_awaddr" in names and "s_axil_rdata" in names
    assert not any(n.startswith("cfg_") for n in names)


def test_id_geometry_and_commit_after_handshake():
    cfg = axil_cfg()
    rm = RegisterMap(cfg)

    async def script(ctx, dut, axi):
        got = {r.name: await axi.read(r.offset) for r in rm.registers if r.value is not None}
        for r in rm.registers:
            if r.value is not None:
                assert got[r.name] == (r.value, OKAY), r.name
        assert got["ID"][0] == MAGIC
        m_new, b_new, n_new = -(1 << 38) + 12345, (1 << 34) - 777, 3
        x = 77
        assert model(m_new, b_new, n_new, x, cfg) != model(cfg.M[2], cfg.B[2], cfg.N[2], x, cfg)
        writes = rm.channel_writes(2, m_new, b_new, n_new)
        for k, (off, val) in enumerate(writes[:-1]):  # staging, AW/W order alternating
            assert (await axi.write(off, val, w_first=bool(k % 2)))[0] == OKAY
        for off, val in writes[:-1]:
            assert await axi.read(off) == (val, OKAY), hex(off)
        status0 = (await axi.read(rm.offset("STATUS")))[0]
        resp, _ = await axi.write(rm.offset("COMMIT"), 2)
        assert resp == OKAY
        status1 = (await axi.read(rm.offset("STATUS")))[0]
        assert (status1 >> 16) == (status0 >> 16) + 1 and status1 & 3 == 0
        assert await axi.read(rm.offset("COMMIT")) == (2, OKAY)
        q = await axi.beat(x, 2)
        assert q == model(m_new, b_new, n_new, x, cfg)
        # a partial byte strobe on a staging word changes only those bytes
        off = rm.offset("B0")
        assert (await axi.write(off, 0xAABBCCDD, strb=0b0101))[0] == OKAY
        low = b_new & 0xFFFFFFFF
        assert (await axi.read(off))[0] == (0xAABBCCDD & 0x00FF00FF) | (low & 0xFF00FF00)
        return True

    assert run(cfg, script)


def test_slverr_cases_and_cfg_error():
    cfg = axil_cfg("shared")
    rm = RegisterMap(cfg)
    assert "N" not in [r.name for r in rm.registers]

    async def script(ctx, dut, axi):
        assert (await axi.write(rm.offset("ID"), 1))[0] == SLVERR  # read-only
        assert (await axi.write(0xFFC, 1))[0] == SLVERR  # unmapped
        assert (await axi.read(0xFFC))[1] == SLVERR
        assert (await axi.write(rm.offset("COMMIT"), 1, strb=0x1))[0] == SLVERR
        assert (await axi.read(rm.offset("STATUS")))[0] & 0xFFFF0003 == 0  # nothing committed
        assert (await axi.write(rm.offset("COMMIT"), C))[0] == SLVERR  # channel >= C
        st = (await axi.read(rm.offset("STATUS")))[0]
        assert st & 2 and st >> 16 == 1, hex(st)
        assert (await axi.read(rm.offset("ID")))[0] == MAGIC  # still answering
        return True

    assert run(cfg, script)


def test_every_beat_accepted_from_the_commit_response_on_uses_the_new_words():
    """A stream that offers a beat of channel 2 on every cycle while COMMIT 2 is written: each
    beat accepted before the COMMIT's AW/W handshake computes with the old words, each beat
    accepted at or after the write response's handshake with the new ones (an early BVALID,
    while the cfg write is still waiting, fails here)."""
    cfg = axil_cfg()
    rm = RegisterMap(cfg)
    x, ch = 77, 2
    m_new, b_new, n_new = -(1 << 38) + 12345, (1 << 34) - 777, 3
    old = model(cfg.M[ch], cfg.B[ch], cfg.N[ch], x, cfg)
    new = model(m_new, b_new, n_new, x, cfg)
    assert old != new

    async def script(ctx, dut, axi):
        for off, val in rm.param_writes(m_new, b_new, n_new):
            await axi.write(off, val)
        ctx.set(dut.s_axis_tdata, x & 0xFF)
        ctx.set(dut.s_axis_tuser, ch)
        ctx.set(dut.s_axis_tvalid, 1)
        ctx.set(dut.m_axis_tready, 1)
        ctx.set(dut.s_axil_awaddr, rm.offset("COMMIT"))
        ctx.set(dut.s_axil_wdata, ch)
        ctx.set(dut.s_axil_wstrb, 0xF)
        ctx.set(dut.s_axil_bready, 1)
        accepted, outs = [], []
        aw = w = False
        issued = b_cycle = None
        for cycle in range(60):
            if cycle == 10:  # COMMIT: AW and W together
                ctx.set(dut.s_axil_awvalid, 1)
                ctx.set(dut.s_axil_wvalid, 1)
            *_, sr, mv, md, awr, wr, bv = await ctx.tick().sample(
                dut.s_axis_tready, dut.m_axis_tvalid, dut.m_axis_tdata, dut.s_axil_awready,
                dut.s_axil_wready, dut.s_axil_bvalid)
            if sr:
                accepted.append(cycle)
            if mv:
                outs.append(md - 256 if md & 0x80 else md)
            if cycle >= 10 and awr and ctx.get(dut.s_axil_awvalid):
                aw = True
                ctx.set(dut.s_axil_awvalid, 0)
            if cycle >= 10 and wr and ctx.get(dut.s_axil_wvalid):
                w = True
                ctx.set(dut.s_axil_wvalid, 0)
            if aw and w and issued is None:
                issued = cycle
            if bv and b_cycle is None:
                b_cycle = cycle
        ctx.set(dut.s_axis_tvalid, 0)
        for _ in range(20):
            *_, mv, md = await ctx.tick().sample(dut.m_axis_tvalid, dut.m_axis_tdata)
            if mv:
                outs.append(md - 256 if md & 0x80 else md)
        return accepted, outs, issued, b_cycle

    accepted, outs, issued, b_cycle = run(cfg, script)
    assert issued is not None and b_cycle is not None and len(outs) == len(accepted)
    before = [q for t, q in zip(accepted, outs, strict=True) if t <= issued]
    after = [q for t, q in zip(accepted, outs, strict=True) if t >= b_cycle]
    assert before and after and set(before) == {old} and set(after) == {new}, (
        issued, b_cycle, list(zip(accepted, outs, strict=True)))


def test_layer_table_through_the_register_map():
    """Shared unit: TBL_QMIN/TBL_QMAX + TBL_COMMIT set one layer's clip (answered after the
    table took it); a layer >= LAYERS or qmin > qmax answers SLVERR and sets TBL_ERROR."""
    from dataclasses import replace

    from exactbn.hw.layer_table import LayerEntry

    cfg = replace(axil_cfg(), layer_shift=2,
                  layer_table=(LayerEntry(-100, 120), LayerEntry(-50, 60)))
    rm = RegisterMap(cfg)
    assert rm.layers == 2 and rm["LAYERS"].value == 2 | 2 << 16
    c = 1  # layer 0, channel 1 (tuser 1); the same words answer for layer 1 at tuser 5
    x = 127 if cfg.M[c] > 0 else -128
    q = model(cfg.M[c], cfg.B[c], cfg.N[c], x, cfg)

    async def script(ctx, dut, axi):
        out = {"before": await axi.beat(x, 1)}
        for off, val in rm.table_writes(0, q - 1, q - 1):  # pin layer 0 to q - 1
            assert (await axi.write(off, val))[0] == OKAY
        out["after"] = await axi.beat(x, 1)
        assert (await axi.read(rm.offset("TBL_COMMIT"))) == (0, OKAY)
        assert (await axi.write(rm.offset("TBL_COMMIT"), 2))[0] == SLVERR  # no layer 2
        st = (await axi.read(rm.offset("STATUS")))[0]
        out["err"] = (st >> 2) & 1
        for off, val in rm.table_writes(1, 5, 4)[:2]:
            await axi.write(off, val)
        out["bad_clip"] = (await axi.write(rm.offset("TBL_COMMIT"), 1))[0]
        out["again"] = await axi.beat(x, 1)
        return out

    out = run(cfg, script)
    assert out["before"] == max(-100, min(120, q)) and out["after"] == q - 1
    assert out["err"] == 1 and out["bad_clip"] == SLVERR and out["again"] == q - 1
