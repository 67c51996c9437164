"""cocotb bench for a unit with ``--cfg-bus axil``: the RAM store programmed through the
AXI4-Lite register map by cocotbext-axi's ``AxiLiteMaster`` and exactbn's Python driver
(:mod:`exactbn.regmap.driver`), beats scored against golden's integer model.

Run by :func:`exactbn.regmap.sim.run_axil_bench` (the spec comes from ``$EXACTBN_BENCH_SPEC``
as for ``bn_bench``). Scenarios:

- ``axil_program``: ID/geometry check, every channel programmed with random in-width words,
  a stream with random valid/ready scored against them, then the solved words programmed
  back and scored against the integer model and the exact reference.
- ``axil_reset_mid_commit``: a COMMIT held pending (the stream stalled, so the unit cannot take
  the write), STATUS.BUSY seen by a read meanwhile, then ``rst``: the slave answers again,
  STATUS.DONE is 0, the channel kept its old words, and the next stream is exact.
- ``axil_reprogram_live``: channels (or, for a shared unit, every channel of one layer)
  reprogrammed through AXI4-Lite while beats of every channel (every layer) stream with random
  gaps and ready. Each beat accepted before a COMMIT's address/data handshakes must use the
  old words, each beat accepted from the COMMIT's write response on the new ones; a beat in
  between may use either (and is checked against both).
"""

from __future__ import annotations

import json
import os
from dataclasses import replace

import cocotb
import numpy as np

from exactbn.regmap.driver import AxiLiteBus32, RegmapDriver
from exactbn.regmap.layout import RegisterMap
from exactbn.regmap.sim import ENV_PLAN

from ..scoreboard import CheckResult, Mismatch, Params, check_stream
from ..spec import ENV_SPEC, BenchSpec
from .axis import Sig, activity
from .bn_bench import DRAIN_CYCLES, TB


class _Geom:
    """What RegisterMap needs, from the bench spec (duck-typed UnitConfig)."""

    def __init__(self, spec: BenchSpec, channels: int):
        u = spec.unit
        self.name, self.channels, self.lanes, self.lane_mode = u.toplevel, channels, u.lanes, \
            u.lane_mode
        self.shift_mode, self.w_m, self.w_b, self.w_n, self.w_q = u.shift_mode, u.w_m, u.w_b, \
            u.w_n, u.w_q
        self.store, self.q_signed, self.layer_shift = u.store, u.q_signed, u.layer_shift
        self.layer_table = [_Row(*r[:2]) for r in (u.layer_table or [])]


class _Row:
    def __init__(self, qmin: int, qmax: int):
        self.qmin, self.qmax = qmin, qmax


class AxilTB(TB):
    """The bn_bench TB with the RAM store programmed through AXI4-Lite."""

    def __init__(self, dut, spec: BenchSpec, results: dict):
        from cocotbext.axi import AxiLiteBus, AxiLiteMaster

        super().__init__(dut, spec, results)
        self.master = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        self.regmap = RegisterMap(_Geom(spec, len(self.params.M)))
        self.driver = RegmapDriver(AxiLiteBus32(self.master), self.regmap)
        self.axi = {k: Sig(getattr(dut, f"s_axil_{k}")) for k in
                    ("awvalid", "awready", "awaddr", "wvalid", "wready", "bvalid", "bready")}
        self.commits: list[tuple[int, int]] = []  # (cycle of the last of AW/W, cycle of B)
        self._commit_offsets = {r.offset for r in self.regmap.registers if r.kind == "commit"}
        self._aw = self._w = None

    async def start(self) -> None:
        await self.reset()

    async def bus_write(self, offset: int, value: int) -> int | None:
        """One raw write; None when a reset dropped it (cocotbext-axi flushes it)."""
        r = await self.master.write(offset, int(value).to_bytes(4, "little"))
        return None if r is None else int(r.resp)

    async def program(self, params: Params) -> None:
        for c, (m, b, n) in enumerate(zip(params.M, params.B, params.N, strict=True)):
            await self.driver.program_channel(c, m, b, n)
        self.params = params

    def watch_axi(self, cycle: int) -> None:
        """At falling edge ``cycle``: record the COMMIT handshakes of the coming rising edge."""
        a = self.axi
        if a["awvalid"].read() and a["awready"].read():
            self._aw = (cycle, a["awaddr"].read())
        if a["wvalid"].read() and a["wready"].read():
            self._w = cycle
        if a["bvalid"].read() and a["bready"].read():
            if self._aw is not None and self._aw[1] in self._commit_offsets:
                self.commits.append((max(self._aw[0], self._w), cycle))
            self._aw = self._w = None

    async def stream_live(self, frame, src: str, snk: str, host) -> None:
        """Stream ``frame`` while the coroutine ``host`` programs through AXI4-Lite."""
        self.source.load(frame, activity(self.rng, src))
        self.sink.load(activity(self.rng, snk))
        task = cocotb.start_soon(host)
        drained, start = 0, self.cycle
        while True:
            await self.edge
            self.cycle += 1
            self.source.tick(self.cycle)
            self.sink.tick(self.cycle)
            self.watch_axi(self.cycle)
            if self.source.done and self.sink.count >= self.source.accepted and task.done():
                drained += 1
                if drained > DRAIN_CYCLES:
                    break
            if self.cycle - start > 400 + 400 * len(frame):
                raise AssertionError(f"stream stalled: {self.source.accepted}/{len(frame)} in")
        await self.edge
        self.cycle += 1
        self.source.idle()
        self.sink.ready.write(0)
        task.result()  # re-raise a driver error (SLVERR, wrong ID)


_RESULTS: dict = {}


def _plan(spec: BenchSpec, channels: int) -> dict:
    plan = json.loads(os.environ.get(ENV_PLAN) or "{}")
    plan.setdefault("layers", [[spec.layer["name"], 0, channels]])
    plan.setdefault("live", "channel")
    return plan


async def _tb(dut, offset: int) -> AxilTB:
    spec = BenchSpec.read(os.environ[ENV_SPEC])
    spec.seed = spec.seed * 1000 + offset
    tb = AxilTB(dut, spec, _RESULTS)
    await tb.start()
    return tb


def _random_params(tb: AxilTB, channels, base: Params | None = None) -> Params:
    """``base`` (default: the words in the store) with random in-width words at ``channels``."""
    u, rng, p = tb.unit, tb.rng, (base or tb.params)
    new = Params(list(p.M), list(p.B), list(p.N))
    for c in channels:
        new.M[c] = int(rng.integers(-(1 << (u.w_m - 1)), 1 << (u.w_m - 1)))
        new.B[c] = int(rng.integers(-(1 << (u.w_b - 1)), 1 << (u.w_b - 1)))
        if u.shift_mode == "per-channel":
            new.N[c] = int(rng.integers(0, u.n_max + 1))
    return new


@cocotb.test()
async def axil_program(dut):
    tb = await _tb(dut, 11)
    await tb.driver.check_id()
    C = len(tb.params.M)
    total = CheckResult()
    new = _random_params(tb, range(C))
    await tb.program(new)
    st = await tb.driver.status()
    assert st["done"] == C and not st["cfg_error"], st
    frame = tb.cap(tb.stimulus(new, n_random=32), 600)
    await tb.stream(frame, "random", "random")
    total.add(tb.score(frame, False))
    solved = Params.of(tb.layer)
    await tb.program(solved)
    frame = tb.cap(tb.stimulus(solved, n_random=32), 600)
    await tb.stream(frame, "random", "bursty")
    total.add(tb.score(frame, True))
    tb.record("axil_program", total, commits=2 * C)


@cocotb.test()
async def axil_reprogram_live(dut):
    tb = await _tb(dut, 12)
    C = len(tb.params.M)
    plan = _plan(tb.spec, C)
    rng = tb.rng
    ops: list[tuple] = []  # ("ch", channel) or ("clip", layer index, qmin, qmax)
    if plan["live"] == "layer":  # one whole layer (and its clip), while every layer streams
        pick = int(rng.integers(0, len(plan["layers"])))
        _, base, n = plan["layers"][pick]
        ops = [("ch", c) for c in range(base, base + n)]
        rows = tb.unit.layer_table
        if tb.regmap.layers and rows and rows[pick][1] - rows[pick][0] >= 2:
            ops.append(("clip", pick, rows[pick][0] + 1, rows[pick][1] - 1))
    else:
        ops = [("ch", int(c)) for c in rng.integers(0, C, 2 * C)]
    snaps = [(tb.params, tb.unit)]  # the store's words and table after each commit
    for op in ops:
        p, u = snaps[-1]
        if op[0] == "ch":
            snaps.append((_random_params(tb, [op[1]], p), u))
        else:
            rows = [list(r) for r in u.layer_table]
            rows[op[1]][0], rows[op[1]][1] = op[2], op[3]
            snaps.append((p, replace(u, layer_table=rows)))

    async def host():
        for k, op in enumerate(ops):
            if op[0] == "ch":
                c, p = op[1], snaps[k + 1][0]
                await tb.driver.program_channel(c, p.M[c], p.B[c], p.N[c])
            else:
                await tb.driver.program_clip(*op[1:])

    frame = tb.cap(tb.stimulus(tb.params, n_random=48), 900)
    await tb.stream_live(frame, "random", "bursty", host())
    assert len(tb.commits) == len(ops), (len(tb.commits), len(ops))
    acc = np.asarray(tb.source.accept_cycles)
    starts = np.asarray([s for s, _ in tb.commits])
    ends = np.asarray([e for _, e in tb.commits])
    new_k = np.searchsorted(ends, acc, side="right")  # commits answered at or before the beat
    old_k = np.searchsorted(starts, acc, side="left")  # commits started before the beat
    sink = tb.sink
    total = CheckResult()
    if sink.count != tb.source.accepted:
        total.mismatches += 1
        total.first = Mismatch("count", sink.count, expected=tb.source.accepted, got=sink.count)

    def check(lo: int, hi: int, k: int) -> CheckResult:
        p, u = snaps[k]
        return check_stream(frame.take(slice(lo, hi)), sink.out_data[lo:hi],
                            sink.out_user[lo:hi], sink.out_last[lo:hi], p, u,
                            tb.layer if k == 0 else None, offset=lo)

    ambiguous = 0
    j = 0
    n_beats = min(sink.count, len(acc))
    while j < n_beats:
        if new_k[j] == old_k[j]:  # one snapshot applies: check the run of such beats at once
            k, hi = int(new_k[j]), j
            while hi < n_beats and new_k[hi] == old_k[hi] == k:
                hi += 1
            total.add(check(j, hi, k))
            j = hi
            continue
        ambiguous += 1  # accepted while its COMMIT was in flight: old or new words
        tries = [check(j, j + 1, int(k)) for k in (new_k[j], old_k[j])]
        total.add(min(tries, key=lambda r: r.mismatches))
        j += 1
    tb.params, tb.unit = snaps[-1]
    await tb.program(Params.of(tb.layer))  # leave the solved words for the next scenario
    for i, row in enumerate(snaps[0][1].layer_table or []):
        if tb.regmap.layers and list(row[:2]) != list(tb.unit.layer_table[i][:2]):
            await tb.driver.program_clip(i, row[0], row[1])
    tb.record("axil_reprogram_live", total, commits=len(tb.commits), ambiguous=ambiguous,
              live=plan["live"], clip_changed=any(op[0] == "clip" for op in ops),
              beats_during_writes=int(np.sum(acc <= ends[-1])))


@cocotb.test()
async def axil_reset_mid_commit(dut):
    tb = await _tb(dut, 13)
    rm, u = tb.regmap, tb.unit
    C = len(tb.params.M)
    c = int(tb.rng.integers(0, C))
    new = _random_params(tb, [c])
    for off, v in rm.param_writes(new.M[c], new.B[c], new.N[c]):
        await tb.driver.write(off, v)
    # Stall the output so beats pile up in the unit: the store cannot take a write then.
    frame = tb.cap(tb.stimulus(tb.params, n_random=16), 64)
    tb.source.load(frame, activity(tb.rng, "always"))
    tb.sink.load(np.zeros(1, dtype=bool))
    for _ in range(3 * (u.latency or 8) + 8):
        await tb.edge
        tb.cycle += 1
        tb.source.tick(tb.cycle)
        tb.sink.tick(tb.cycle)
    commit = cocotb.start_soon(tb.bus_write(rm.offset("COMMIT"), c))
    for _ in range(20):
        await tb.edge
        tb.cycle += 1
        tb.source.tick(tb.cycle)
        tb.sink.tick(tb.cycle)
    st = await tb.driver.status()
    assert st["busy"] == 1 and not commit.done(), f"COMMIT not held pending: {st}"
    await tb.reset(2)
    await tb.tick(2)
    assert commit.done() and commit.result() is None, "the pending write was not dropped"
    st = await tb.driver.status()
    assert st == {"busy": 0, "cfg_error": 0, "tbl_error": 0, "done": 0}, st
    await tb.driver.check_id()
    frame = tb.cap(tb.stimulus(tb.params, n_random=32), 400)
    await tb.stream(frame, "random", "random")  # the old words, checked against the reference
    tb.record("axil_reset_mid_commit", tb.score(frame, True), channel=c)
