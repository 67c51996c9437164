"""cocotb bench for the threshold unit (hw/threshold_unit.py), on bn_bench's TB and drivers.

The run's ``UnitPorts.thresholds`` carries the stored words of every channel (``neg``, ``U``)
and the search; the scoreboard's model is the unit's own arithmetic (binary search MSB first
over ``U``, or the parallel count, clamped at ``qmax - qmin``; padding channels ``qmin``),
and while the solved thresholds are loaded every lane in its channel's range is also checked
against the exact reference (every channel: the thresholds are exact by construction).
Scenarios: full_rate, random_gaps, backpressure, reset_mid_stream, reprogram (new thresholds
and directions between frames, an out-of-range write) and reprogram_live (slot and direction
writes while beats stream: each beat must use the words of the writes before its handshake).
"""

from __future__ import annotations

import dataclasses
import time

import cocotb
import numpy as np

from ..scoreboard import CheckResult, Mismatch, check_stream, lane_channels
from ..stimulus import pack_beats
from .axis import CfgDriver, Sig, activity
from .bn_bench import _RESULTS, TB, _spec


def _slot(n: int, j: int, p):
    return ((2 * p + 1) << (n - 1 - j)) - 1


@dataclasses.dataclass
class ThresholdWords:
    """What the memories hold: per channel ``neg`` and the ``U`` slots (hw/threshold_config)."""

    neg: list[int]
    U: list[list[int]]
    mode: str
    levels: int
    count_max: int
    qmin: int

    def copy(self) -> ThresholdWords:
        return dataclasses.replace(self, neg=list(self.neg), U=[list(u) for u in self.U])

    def channel(self, c: int, x: np.ndarray) -> np.ndarray:
        u = np.asarray(self.U[c], dtype=np.int64)
        neg = bool(self.neg[c])
        if self.mode == "parallel":
            count = ((x[:, None] >= u[None, :]) != neg).sum(axis=1)
        else:
            n, p = self.levels, np.zeros(len(x), dtype=np.int64)
            for j in range(n):
                p = 2 * p + ((x >= u[_slot(n, j, p)]) != neg)
            count = p
        return self.qmin + np.minimum(count, self.count_max)

    def expected(self, frame, unit) -> np.ndarray:
        ch = lane_channels(frame.tuser, unit.lanes, unit.lane_mode)
        out = np.full(ch.shape, self.qmin, dtype=np.int64)  # padding channels: qmin
        for c in np.unique(ch):
            if c < len(self.U):
                sel = ch == c
                out[sel] = self.channel(int(c), frame.x[sel])
        return out


class ThresholdTB(TB):
    """bn_bench's TB with the threshold store: cfg_index/cfg_value, the count model."""

    def __init__(self, dut, spec, results):
        super().__init__(dut, spec, results)
        t = self.unit.thresholds
        for name in ("cfg_index", "cfg_value"):
            if hasattr(dut, name):
                getattr(dut, name).value = 0
        self.solved = ThresholdWords(t["neg"], t["U"], t["mode"], t["levels"],
                                     self.unit.qmax - self.unit.qmin, self.unit.qmin)
        self.params = self.solved.copy()
        self.t = t
        # every channel's thresholds are exact: the reference applies to all of them
        self.ref_layer = dataclasses.replace(self.layer, exact=[True] * self.layer.channels)

    @property
    def cfg_signals(self) -> dict[str, Sig]:
        if not hasattr(self, "_cfg_sigs"):
            d = self.dut
            self._cfg_sigs = {"valid": Sig(d.cfg_valid), "ready": Sig(d.cfg_ready),
                              "addr": Sig(d.cfg_addr), "m": Sig(d.cfg_index),
                              "b": Sig(d.cfg_value), "error": Sig(d.cfg_error)}
        return self._cfg_sigs

    def writes_of(self, words: ThresholdWords) -> list[tuple[int, int, int, int]]:
        slots = self.t["slots"]
        return [w for c in range(len(words.U))
                for w in [(c, k, v, 0) for k, v in enumerate(words.U[c])]
                + [(c, slots, words.neg[c], 0)]]

    async def program(self, params: ThresholdWords) -> None:
        for addr, k, v, _ in self.writes_of(params):
            await self.cfg_write(addr, k, v, 0)
        self.params = params

    def random_words(self) -> ThresholdWords:
        lo, hi = self.t["u_min"], self.t["u_max"]
        w = self.params.copy()
        for c in range(len(w.U)):
            w.U[c] = sorted(int(v) for v in self.rng.integers(lo, hi + 1, len(w.U[c])))
            w.neg[c] = int(self.rng.integers(0, 2))
        return w

    def stimulus(self, params: ThresholdWords, n_random: int | None = None):
        """Per channel: every stored word and its neighbours (every threshold of the solved
        thresholds and its neighbours), the range ends, input extremes and random inputs
        (every input when W_X is small)."""
        t0 = time.perf_counter()
        u = self.unit
        n_random = self.spec.vectors if n_random is None else n_random
        per = []
        for c in range(len(params.U)):
            if u.w_x <= self.spec.exhaustive_max_bits:
                per.append(np.arange(u.x_min, u.x_max + 1, dtype=np.int64))
                continue
            lo, hi = self.layer.ranges()[c]
            pts = {v + e for v in params.U[c] for e in (-1, 0, 1)}
            pts.update((lo, hi, lo - 1, hi + 1, u.x_min, u.x_max, 0))
            pts = [p for p in pts if u.x_min <= p <= u.x_max]
            rnd = np.concatenate([self.rng.integers(lo, hi + 1, n_random // 2),
                                  self.rng.integers(u.x_min, u.x_max + 1, n_random // 2)])
            per.append(np.unique(np.concatenate([np.asarray(pts, np.int64), rnd])))
        frame = pack_beats(per, u, self.w_user, self.rng)
        self.stim_s += time.perf_counter() - t0
        return frame

    def score(self, frame, with_reference: bool, prefix_ok: bool = False) -> CheckResult:
        saved, self.layer = self.layer, self.ref_layer
        try:
            return super().score(frame, with_reference, prefix_ok)
        finally:
            self.layer = saved


async def _tb(dut, offset: int) -> ThresholdTB:
    spec = _spec()
    spec.seed = spec.seed * 1000 + offset
    tb = ThresholdTB(dut, spec, _RESULTS)
    await tb.start()
    return tb


def _solved(tb: ThresholdTB) -> bool:
    return tb.params == tb.solved


@cocotb.test()
async def full_rate(dut):
    """Back to back: one beat per clock after the fill, the declared latency."""
    tb = await _tb(dut, 1)
    frame = tb.stimulus(tb.params)
    await tb.stream(frame, "always", "always")
    res = tb.score(frame, _solved(tb))
    acc, out = tb.source.accept_cycles, tb.sink.cycles
    latency = (out[0] - acc[0]) if out and acc else None
    tb.record("full_rate", res, latency_cycles=latency)
    assert latency == tb.unit.latency, f"latency {latency}, declared {tb.unit.latency}"
    assert acc[-1] - acc[0] == len(acc) - 1, "input not accepted on every cycle at full rate"
    assert out[-1] - out[0] == len(out) - 1, "output not one beat per clock after fill"


@cocotb.test()
async def random_gaps(dut):
    tb = await _tb(dut, 2)
    frame = tb.stimulus(tb.params)
    await tb.stream(frame, "random", "bursty")
    tb.record("random_gaps", tb.score(frame, _solved(tb)), stalls=tb.monitor.stalls)


@cocotb.test()
async def backpressure(dut):
    tb = await _tb(dut, 3)
    frame = tb.cap(tb.stimulus(tb.params, n_random=64), 1500)
    await tb.stream(frame, "always", "heavy")
    tb.record("backpressure", tb.score(frame, _solved(tb)), stalls=tb.monitor.stalls)


@cocotb.test()
async def reset_mid_stream(dut):
    tb = await _tb(dut, 4)
    total = CheckResult()
    for _ in range(2):
        frame = tb.cap(tb.stimulus(tb.params, n_random=64), 400)
        stop = int(tb.rng.integers(8, max(9, len(frame))))
        await tb.stream(frame, "random", "random", stop_after=stop)
        total.add(tb.score(frame, _solved(tb), prefix_ok=True))
        await tb.reset(int(tb.rng.integers(1, 4)))
    frame = tb.cap(tb.stimulus(tb.params, n_random=64), 800)
    await tb.stream(frame, "random", "random")
    total.add(tb.score(frame, _solved(tb)))
    tb.record("reset_mid_stream", total)


@cocotb.test()
async def reprogram(dut):
    """RAM: random sorted thresholds and directions between frames, a write to channel C
    (sets the sticky cfg_error, changes nothing), then the solved thresholds again."""
    tb = await _tb(dut, 5)
    total = CheckResult()
    if tb.unit.store != "ram":
        frame = tb.cap(tb.stimulus(tb.params, n_random=64), 600)
        await tb.stream(frame, "random", "random")
        total.add(tb.score(frame, True))
        tb.record("reprogram", total, applicable=False)
        return
    cfg = tb.cfg_signals
    assert cfg["error"].read() == 0, "cfg_error set before any bad write"
    for _ in range(2):
        new = tb.random_words()
        await tb.program(new)
        frame = tb.cap(tb.stimulus(new, n_random=128), 1500)
        await tb.stream(frame, "random", "random")
        total.add(tb.score(frame, False))
    await tb.cfg_write(len(tb.params.U), 0, 0, 0)
    await tb.tick(2)
    assert cfg["error"].read() == 1, "cfg_error not set by a write to channel C"
    frame = tb.cap(tb.stimulus(tb.params, n_random=32), 400)
    await tb.stream(frame, "random", "random")
    total.add(tb.score(frame, False))
    await tb.program(tb.solved.copy())
    frame = tb.cap(tb.stimulus(tb.params, n_random=64), 800)
    await tb.stream(frame, "always", "random")
    total.add(tb.score(frame, True))
    tb.record("reprogram", total, applicable=True)


@cocotb.test()
async def reprogram_live(dut):
    """RAM: single slot and direction writes while beats stream (thresholds may be unsorted
    in between: the model is the unit's search, not the count); beat j must use the words
    after the writes whose handshake came before its own."""
    tb = await _tb(dut, 6)
    u = tb.unit
    if u.store != "ram":
        tb.record("reprogram_live", CheckResult(), applicable=False)
        return
    rng, t = tb.rng, tb.t
    C = len(tb.params.U)
    writes = []
    for _ in range(4 * C):
        c = int(rng.integers(0, C))
        k = int(rng.integers(0, t["slots"] + 1))
        v = (int(rng.integers(0, 2)) if k == t["slots"]
             else int(rng.integers(t["u_min"], t["u_max"] + 1)))
        writes.append((c, k, v, 0))
    drv = CfgDriver(tb.cfg_signals)
    drv.load(writes, activity(rng, "random"))
    frame = tb.cap(tb.stimulus(tb.params, n_random=64), 1200)
    await tb.stream(frame, "random", "bursty", cfg=drv)
    snaps = [tb.params]
    for c, k, v, _ in writes:
        s = snaps[-1].copy()
        if k == t["slots"]:
            s.neg[c] = v & 1
        else:
            s.U[c][k] = v
        snaps.append(s)
    acc = np.asarray(tb.source.accept_cycles)
    k_of_beat = np.searchsorted(np.asarray(drv.cycles), acc, side="left")
    sink, total = tb.sink, CheckResult()
    if sink.count != tb.source.accepted:
        total.mismatches += 1
        total.first = Mismatch("count", sink.count, expected=tb.source.accepted, got=sink.count)
    for k in np.unique(k_of_beat):
        idx = np.nonzero(k_of_beat == k)[0]
        lo, hi = int(idx[0]), int(idx[-1]) + 1
        total.add(check_stream(frame.take(slice(lo, hi)), sink.out_data[lo:hi],
                               sink.out_user[lo:hi], sink.out_last[lo:hi], snaps[int(k)], u,
                               tb.ref_layer if int(k) == 0 else None, offset=lo))
    tb.params = snaps[-1]
    await tb.program(tb.solved.copy())
    tb.record("reprogram_live", total, applicable=True, cfg_writes=len(drv.cycles),
              segments=int(len(np.unique(k_of_beat))))
