"""cocotb bench for the generated BN unit: every scenario of issue 4, scored against golden.

Run inside the simulator by :mod:`exactbn.sim.runner`; the run's :class:`BenchSpec` comes
from the file named by ``$EXACTBN_BENCH_SPEC``. Each cocotb test is one scenario; results
(vector counts, first mismatch, timings) are merged into the spec's result file after each.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from ..scoreboard import CheckResult, Mismatch, Params, check_stream
from ..spec import ENV_SPEC, QUICK_BEATS, BenchSpec
from ..stimulus import Frame, channel_inputs, pack_beats
from .axis import CfgDriver, Sig, StreamMonitor, StreamSink, StreamSource, activity

CLOCK_NS = 10
DRAIN_CYCLES = 24  # idle cycles after the last expected beat: anything more is an extra beat


class TB:
    """Owns the clock, reset, source, sink, monitor, cfg driver and scoreboard of one unit."""

    def __init__(self, dut, spec: BenchSpec, results: dict):
        self.dut = dut
        self.spec = spec
        self.unit = spec.unit
        self.layer = spec.solved()
        self.results = results
        self.rng = np.random.default_rng(spec.seed)
        self.rst = Sig(dut.rst)
        self.monitor = StreamMonitor()
        self.source = StreamSource(dut, self.unit.w_x)
        self.sink = StreamSink(dut, self.monitor)
        self.w_user = len(dut.s_axis_tuser)
        if not self.unit.w_user:
            self.unit.w_user = self.w_user
        self.edge = FallingEdge(dut.clk)
        self.cycle = 0
        self.loop_s = 0.0
        self.check_s = 0.0
        self.stim_s = 0.0
        self.params = Params.of(self.layer)
        # Every input driven from time 0 (an undriven input is X/Z on Icarus).
        for name in ("s_axis_tvalid", "s_axis_tdata", "s_axis_tuser", "s_axis_tlast",
                     "m_axis_tready", "cfg_valid", "cfg_addr", "cfg_m", "cfg_b", "cfg_n",
                     "tbl_valid", "tbl_addr", "tbl_qmin", "tbl_qmax"):
            if hasattr(dut, name):
                getattr(dut, name).value = 0
        self.rst.write(1)
        Clock(dut.clk, CLOCK_NS, unit="ns").start()

    # ------------------------------------------------------------------ basics

    async def tick(self, n: int = 1) -> None:
        for _ in range(n):
            await self.edge
            self.cycle += 1

    async def reset(self, cycles: int = 3) -> None:
        """Synchronous reset; the source and sink stay idle meanwhile."""
        await self.edge
        self.source.idle()
        self.sink.idle()
        self.rst.write(1)
        await self.tick(cycles)
        self.rst.write(0)
        await self.tick(1)

    async def cfg_write(self, addr: int, m: int, b: int, n: int) -> None:
        """One write through the cfg port: valid held until the handshake, then dropped."""
        cfg = self.cfg_signals
        cfg["addr"].write(addr)
        cfg["m"].write(m)
        cfg["b"].write(b)
        if "n" in cfg:
            cfg["n"].write(n)
        cfg["valid"].write(1)
        for _ in range(1000):
            ready = cfg["ready"].read()  # holds through the coming rising edge
            await self.tick()
            if ready:
                break
        else:
            raise AssertionError("cfg_ready never rose")
        cfg["valid"].write(0)

    async def program(self, params: Params) -> None:
        """Write every channel's M, B, N through the cfg port (RAM store)."""
        for c, (m, b, n) in enumerate(zip(params.M, params.B, params.N, strict=True)):
            await self.cfg_write(c, m, b, n)
        self.params = params

    @property
    def cfg_signals(self) -> dict[str, Sig]:
        """The RAM store's cfg port (valid, ready, addr, m, b, error, and n if present)."""
        if not hasattr(self, "_cfg_sigs"):
            d = self.dut
            sigs = {"valid": Sig(d.cfg_valid), "ready": Sig(d.cfg_ready), "addr": Sig(d.cfg_addr),
                    "m": Sig(d.cfg_m), "b": Sig(d.cfg_b), "error": Sig(d.cfg_error)}
            if hasattr(d, "cfg_n"):
                sigs["n"] = Sig(d.cfg_n)
            self._cfg_sigs = sigs
        return self._cfg_sigs

    async def start(self) -> None:
        await self.reset()
        if self.unit.store == "ram":
            await self.program(self.params)

    # ------------------------------------------------------------------ streams

    def stimulus(self, params: Params, n_random: int | None = None) -> Frame:
        """Every channel's structured inputs for ``params``, packed into shuffled beats.

        Profile "quick": the per-channel inputs (structured set + ``vectors`` random) are
        computed once per ``params`` and reused by every scenario (which caps its beats)."""
        t0 = time.perf_counter()
        quick = self.spec.profile == "quick"
        n_random = self.spec.vectors if n_random is None or quick else n_random
        key = (tuple(params.M), tuple(params.B), tuple(params.N), n_random)
        per_channel = _STIM.get(key) if quick else None
        if per_channel is None:
            per_channel = [
                channel_inputs(self.layer, c, self.unit,
                               {"M": params.M[c], "B": params.B[c], "N": params.N[c]},
                               self.rng, n_random, self.spec.exhaustive_max_bits)
                for c in range(len(params.M))
            ]
            if quick:
                _STIM.clear()
                _STIM[key] = per_channel
        frame = pack_beats(per_channel, self.unit, self.w_user, self.rng)
        self.stim_s += time.perf_counter() - t0
        return frame

    def cap(self, frame: Frame, limit: int | None) -> Frame:
        caps = [v for v in (limit, self.spec.max_beats_per_scenario) if v is not None]
        if caps and len(frame) > min(caps):
            return frame.take(np.sort(self.rng.choice(len(frame), min(caps), replace=False)))
        return frame

    async def stream(self, frame: Frame, src: str, snk: str, stop_after: int | None = None,
                     cfg: CfgDriver | list[CfgDriver] | None = None) -> None:
        """Stream ``frame`` until every output arrived (+ drain) or ``stop_after`` cycles.

        ``cfg``: loaded write drivers (cfg port, table port) ticked in the same loop (writes
        while streaming).
        """
        drivers = [] if cfg is None else cfg if isinstance(cfg, list) else [cfg]
        t0 = time.perf_counter()
        self.source.load(frame, activity(self.rng, src))
        self.sink.load(activity(self.rng, snk))
        source, sink, edge = self.source, self.sink, self.edge
        limit = 200 + 40 * len(frame) * (1 if snk == "always" else 10)
        start = self.cycle
        cycle = self.cycle
        drained = 0
        while True:
            await edge
            cycle += 1
            source.tick(cycle)
            sink.tick(cycle)
            for drv in drivers:
                drv.tick(cycle)
            if stop_after is not None and cycle - start >= stop_after:
                break
            if source.done and sink.count >= source.accepted and all(
                    drv.done == len(drv.writes) for drv in drivers):
                drained += 1
                if drained > DRAIN_CYCLES:
                    break
            if cycle - start > limit:
                raise AssertionError(
                    f"stream stalled: {source.accepted}/{len(frame)} beats accepted, "
                    f"{sink.count} out after {cycle - start} cycles")
        # The handshakes decided at this falling edge happen at the next rising edge: let
        # them, then go idle.
        await edge
        self.cycle = cycle + 1
        source.idle()
        self.sink.ready.write(0)
        for drv in drivers:
            drv.sigs["valid"].write(0)
        self.loop_s += time.perf_counter() - t0

    def score(self, frame: Frame, with_reference: bool, prefix_ok: bool = False) -> CheckResult:
        """Check the sink's beats against the accepted input beats (all, or a prefix)."""
        t0 = time.perf_counter()
        accepted = frame.take(slice(0, self.source.accepted))
        sink = self.sink
        if prefix_ok:  # after a reset, outputs are a prefix of what was accepted
            if sink.count > len(accepted):
                first = Mismatch("count", sink.count, expected=len(accepted), got=sink.count)
                return CheckResult(mismatches=1, first=first)
            accepted = accepted.take(slice(0, sink.count))
        res = check_stream(accepted, sink.out_data, sink.out_user, sink.out_last, self.params,
                           self.unit, self.layer if with_reference else None)
        self.check_s += time.perf_counter() - t0
        return res

    def record(self, name: str, res: CheckResult, **extra) -> None:
        entry = {**res.to_json(), "cycles": self.cycle, "loop_s": round(self.loop_s, 4),
                 "check_s": round(self.check_s, 4), "stim_s": round(self.stim_s, 4), **extra}
        self.results.setdefault("scenarios", {})[name] = entry
        path = Path(self.spec.result_path)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.results, indent=1))
        os.replace(tmp, path)
        if res.mismatches:
            raise AssertionError(f"{res.mismatches} mismatches; first: {res.first}")


_RESULTS: dict = {}
_STIM: dict = {}  # profile "quick": per-channel inputs of the last params, for every scenario


def _spec() -> BenchSpec:
    return BenchSpec.read(os.environ[ENV_SPEC])


async def _tb(dut, offset: int) -> TB:
    spec = _spec()
    spec.seed = spec.seed * 1000 + offset  # each scenario its own stream, reproducible
    tb = TB(dut, spec, _RESULTS)
    await tb.start()
    return tb


def _with_reference(tb: TB) -> bool:
    return tb.params == Params.of(tb.layer)


@cocotb.test()
async def full_rate(dut):
    """Back to back: source always valid, sink always ready; 1 beat per clock after fill."""
    tb = await _tb(dut, 1)
    frame = tb.stimulus(tb.params)
    await tb.stream(frame, "always", "always")
    res = tb.score(frame, _with_reference(tb))
    acc, out = tb.source.accept_cycles, tb.sink.cycles
    latency = (out[0] - acc[0]) if out and acc else None
    tb.record("full_rate", res, latency_cycles=latency)
    if tb.unit.latency is not None:
        assert latency == tb.unit.latency, (
            f"measured latency {latency} cycles, the unit declares {tb.unit.latency}")
    assert acc[-1] - acc[0] == len(acc) - 1, "input not accepted on every cycle at full rate"
    assert out[-1] - out[0] == len(out) - 1, "output not one beat per clock after fill"


@cocotb.test()
async def random_gaps(dut):
    """Random valid gaps at the source, random ready at the sink."""
    tb = await _tb(dut, 2)
    frame = tb.stimulus(tb.params)
    if tb.spec.profile == "quick":  # full_rate drove every input; here the flow control
        frame = tb.cap(frame, QUICK_BEATS)
    await tb.stream(frame, "random", "bursty")
    tb.record("random_gaps", tb.score(frame, _with_reference(tb)), stalls=tb.monitor.stalls)


@cocotb.test()
async def backpressure(dut):
    """Heavy backpressure: the sink is ready about 15 % of the cycles."""
    tb = await _tb(dut, 3)
    frame = tb.cap(tb.stimulus(tb.params, n_random=64), 1500)
    await tb.stream(frame, "always", "heavy")
    tb.record("backpressure", tb.score(frame, _with_reference(tb)), stalls=tb.monitor.stalls)


@cocotb.test()
async def reset_mid_stream(dut):
    """Reset while beats are in flight: they vanish; the next stream is clean and exact."""
    tb = await _tb(dut, 4)
    total = CheckResult()
    for _ in range(2):
        frame = tb.cap(tb.stimulus(tb.params, n_random=64), 400)
        stop = int(tb.rng.integers(8, max(9, len(frame))))
        await tb.stream(frame, "random", "random", stop_after=stop)
        total.add(tb.score(frame, _with_reference(tb), prefix_ok=True))
        await tb.reset(int(tb.rng.integers(1, 4)))
    frame = tb.cap(tb.stimulus(tb.params, n_random=64), 800)
    await tb.stream(frame, "random", "random")
    total.add(tb.score(frame, _with_reference(tb)))
    tb.record("reset_mid_stream", total)


@cocotb.test()
async def reprogram(dut):
    """RAM store: new parameters through the cfg port between frames; bad address flagged.

    ROM store: the scenario streams the ROM's parameters once more (nothing to reprogram).
    """
    tb = await _tb(dut, 5)
    u = tb.unit
    total = CheckResult()
    if u.store != "ram":
        frame = tb.cap(tb.stimulus(tb.params, n_random=64), 600)
        await tb.stream(frame, "random", "random")
        total.add(tb.score(frame, True))
        tb.record("reprogram", total, applicable=False)
        return
    cfg = tb.cfg_signals
    assert cfg["error"].read() == 0, "cfg_error set before any bad write"
    C = len(tb.params.M)
    n_max = u.n_max or tb.layer.widths.n_max  # RAM with per-channel shift: the whole field
    for _frame in range(2):
        rng = tb.rng
        new = Params(
            M=[int(v) for v in rng.integers(-(1 << (u.w_m - 1)), 1 << (u.w_m - 1), C)],
            B=[int(v) for v in rng.integers(-(1 << (u.w_b - 1)), 1 << (u.w_b - 1), C)],
            N=(list(tb.params.N) if u.shift_mode == "shared"
               else [int(v) for v in rng.integers(0, n_max + 1, C)]),
        )
        await tb.program(new)
        frame = tb.cap(tb.stimulus(new, n_random=128), 1500)
        await tb.stream(frame, "random", "random")
        total.add(tb.score(frame, False))
    # Out-of-range writes (address C, and the largest address) change nothing and set the
    # sticky error flag.
    await tb.cfg_write(C, 1, 1, 0)
    await tb.tick(2)
    assert cfg["error"].read() == 1, "cfg_error not set by a write to address C"
    await tb.cfg_write((1 << cfg["addr"].width) - 1, 1, 1, 0)
    await tb.tick(2)
    assert cfg["error"].read() == 1, "cfg_error did not stay set (sticky)"
    frame = tb.cap(tb.stimulus(tb.params, n_random=32), 400)
    await tb.stream(frame, "random", "random")
    total.add(tb.score(frame, False))
    solved = Params.of(tb.layer)
    await tb.program(solved)
    frame = tb.cap(tb.stimulus(solved, n_random=64), 800)
    await tb.stream(frame, "always", "random")
    total.add(tb.score(frame, True))
    tb.record("reprogram", total, applicable=True)


@cocotb.test()
async def reprogram_live(dut):
    """RAM store: cfg writes while beats stream; each beat must use the parameters in effect
    when it was accepted (every write whose handshake came before it; hw/README.md, RAM store).

    ROM store: not applicable (nothing to write).
    """
    tb = await _tb(dut, 6)
    u = tb.unit
    if u.store != "ram":
        tb.record("reprogram_live", CheckResult(), applicable=False)
        return
    C = len(tb.params.M)
    rng = tb.rng
    writes = []
    for _ in range(3 * C):
        c = int(rng.integers(0, C))
        n = tb.params.N[c] if u.shift_mode == "shared" else int(rng.integers(0, u.n_max + 1))
        writes.append((c, int(rng.integers(-(1 << (u.w_m - 1)), 1 << (u.w_m - 1))),
                       int(rng.integers(-(1 << (u.w_b - 1)), 1 << (u.w_b - 1))), n))
    cfg = CfgDriver(tb.cfg_signals)
    cfg.load(writes, activity(rng, "random"))
    tbl, rows = _table_driver(tb), None
    frame = tb.cap(tb.stimulus(tb.params, n_random=64), 1200)
    await tb.stream(frame, "random", "bursty", cfg=cfg if tbl is None else [cfg, tbl])
    # Parameter snapshots: after k writes. Beat j uses snapshot #(writes before its accept).
    snaps = [tb.params]
    for addr, m, b, n in writes:
        p = snaps[-1]
        snaps.append(Params(*(list(v) for v in (p.M, p.B, p.N))))
        snaps[-1].M[addr], snaps[-1].B[addr], snaps[-1].N[addr] = m, b, n
    acc = np.asarray(tb.source.accept_cycles)
    k_of_beat = np.searchsorted(np.asarray(cfg.cycles), acc, side="left")
    # Shared unit: table writes too; beat j uses table snapshot #(table writes before it).
    units = [u]
    t_of_beat = np.zeros_like(k_of_beat)
    if tbl is not None:
        rows = [list(r) for r in u.layer_table]
        for layer, qmin, qmax, _ in tbl.writes:
            rows[layer] = [qmin, qmax, rows[layer][2]]
            units.append(dataclasses.replace(u, layer_table=[list(r) for r in rows]))
        t_of_beat = np.searchsorted(np.asarray(tbl.cycles), acc, side="left")
    sink = tb.sink
    total = CheckResult()
    if sink.count != tb.source.accepted:
        total.mismatches += 1
        total.first = Mismatch("count", sink.count, expected=tb.source.accepted, got=sink.count)
    seg = k_of_beat * len(units) + t_of_beat  # (cfg snapshot, table snapshot) per beat
    starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]]) if len(seg) else []
    for lo, hi in zip(starts, [*starts[1:], len(seg)], strict=True):
        lo, hi = int(lo), int(hi)
        k, t = int(k_of_beat[lo]), int(t_of_beat[lo])
        total.add(check_stream(frame.take(slice(lo, hi)), sink.out_data[lo:hi],
                               sink.out_user[lo:hi], sink.out_last[lo:hi], snaps[k], units[t],
                               tb.layer if k == 0 and t == 0 else None, offset=lo))
    tb.params = snaps[-1]
    await tb.program(Params.of(tb.layer))
    extra = {}
    if tbl is not None:
        assert tb.dut.tbl_error.value == 0, "tbl_error set by in-range table writes"
        extra = {"tbl_writes": len(tbl.cycles),
                 "tbl_snapshots": int(len(np.unique(t_of_beat)))}  # seen by some beat
        await _table_restore(tb, tbl)
    tb.record("reprogram_live", total, applicable=True, cfg_writes=len(cfg.cycles),
              segments=len(starts), **extra)


def _table_driver(tb: TB) -> CfgDriver | None:
    """Shared unit with a RAM store: random in-range writes to the per-layer table
    (``tbl_*`` port: each layer's clip, inside the union clip), to go with the stream."""
    d, u = tb.dut, tb.unit
    if not hasattr(d, "tbl_valid") or not u.layer_table:
        return None
    sigs = {"valid": Sig(d.tbl_valid), "ready": Sig(d.tbl_ready), "addr": Sig(d.tbl_addr),
            "m": Sig(d.tbl_qmin), "b": Sig(d.tbl_qmax)}
    rng, writes = tb.rng, []
    for _ in range(4 * len(u.layer_table)):
        lo, hi = sorted(int(v) for v in rng.integers(u.qmin, u.qmax + 1, 2))
        writes.append((int(rng.integers(0, len(u.layer_table))), lo, hi, 0))
    drv = CfgDriver(sigs)
    drv.load(writes, activity(rng, "random"))
    return drv


async def _table_restore(tb: TB, drv: CfgDriver) -> None:
    """Write every layer's generated row back (the table survives reset)."""
    drv.load([(i, r[0], r[1], 0) for i, r in enumerate(tb.unit.layer_table)],
             np.ones(1, dtype=bool))
    while drv.done < len(drv.writes):
        await tb.edge
        tb.cycle += 1
        drv.tick(tb.cycle)
    await tb.edge
    tb.cycle += 1
    drv.sigs["valid"].write(0)



@cocotb.test()
async def clock_only(dut):
    """Benchmark baseline: ``spec.idle_cycles`` clock cycles with no bench activity at all."""
    spec = _spec()
    tb = TB(dut, spec, _RESULTS)
    await tb.reset()
    t0 = time.perf_counter()
    await tb.tick(spec.idle_cycles)
    tb.loop_s = time.perf_counter() - t0
    tb.record("clock_only", CheckResult())
