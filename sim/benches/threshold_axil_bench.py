"""cocotb bench for a threshold unit with ``--cfg-bus axil``: every threshold slot and
direction written through the AXI4-Lite register map by cocotbext-axi's ``AxiLiteMaster``
(T, INDEX, COMMIT: :meth:`exactbn.regmap.layout.RegisterMap.slot_writes`), beats scored
against the unit's search over the words written and golden's exact reference.

Run by :func:`exactbn.regmap.sim.run_axil_bench` with this module. Scenarios:

- ``axil_thresholds``: ID/geometry check (the Python driver, :mod:`exactbn.regmap.driver`),
  random in-width words written through AXI4-Lite, a stream with random valid/ready scored
  against them; then the solved words written back and scored against the model and the
  reference.
- ``axil_thresholds_live``: every solved word written again through AXI4-Lite while beats
  stream with random gaps and ready (the same words: every beat must equal the reference,
  and none may be lost, whichever side of a COMMIT it was accepted on).
- ``axil_thresholds_new``: the host reprograms every slot and direction to NEW exact words
  (``thresholds["next"]``: a modified layer's a, b and its thresholds, from
  :func:`exactbn.threshold_sim.reprogram_target`) through AXI4-Lite while beats stream, the
  stream kept going until after the last write's response. Every beat is scored against the
  unit's search over the words of the COMMITs answered before it was accepted (a beat
  accepted while a COMMIT was in flight against either side); every lane of a channel none
  of whose writes had started against the old layer's exact reference, of a channel whose
  writes were all answered against the NEW layer's (golden's integers): so every beat
  accepted after the last response must equal the new reference. Then one more stream with
  every new threshold and its neighbours, against the new reference.
"""

from __future__ import annotations

from dataclasses import replace

import cocotb
import numpy as np

from exactbn.regmap.driver import AxiLiteBus32, RegmapDriver
from exactbn.regmap.layout import RegisterMap

from ..scoreboard import CheckResult, Mismatch, check_stream
from ..stimulus import concat_frames
from .axil_bench import AxilTB
from .axis import Sig, activity, pack_words
from .bn_bench import DRAIN_CYCLES, _spec
from .threshold_bench import _RESULTS, ThresholdTB


class _Geom:
    """What RegisterMap needs from the bench spec (duck-typed ThresholdConfig)."""

    def __init__(self, spec, channels: int):
        u, t = spec.unit, spec.unit.thresholds
        self.name, self.channels, self.lanes, self.lane_mode = u.toplevel, channels, u.lanes, \
            u.lane_mode
        self.store, self.q_signed, self.w_q = u.store, u.q_signed, u.w_q
        self.w_t, self.t_signed, self.slots = t["w_t"], t["u_min"] < 0, t["slots"]
        self.w_index = t["levels"]


class ThresholdAxilTB(ThresholdTB):
    """The threshold TB with its RAM written through AXI4-Lite."""

    def __init__(self, dut, spec, results):
        from cocotbext.axi import AxiLiteBus, AxiLiteMaster

        super().__init__(dut, spec, results)
        self.master = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        self.regmap = RegisterMap(_Geom(spec, len(self.params.U)))
        self.driver = RegmapDriver(AxiLiteBus32(self.master), self.regmap)
        self.axi = {k: Sig(getattr(dut, f"s_axil_{k}")) for k in
                    ("awvalid", "awready", "awaddr", "wvalid", "wready", "bvalid", "bready")}
        self.commits: list[tuple[int, int]] = []  # (cycle of the last of AW/W, cycle of B)
        self._commit_offsets = {self.regmap.offset("COMMIT")}
        self._aw = self._w = None

    watch_axi = AxilTB.watch_axi  # records the COMMIT handshakes (same cycle numbering)

    async def start(self) -> None:
        await self.reset()

    async def program(self, params) -> None:
        for c, k, v, _ in self.writes_of(params):
            await self.driver.program_slot(c, k, v)  # RegmapError on SLVERR
        self.params = params

    async def stream_live(self, frame, src: str, snk: str, host) -> None:
        """Stream ``frame`` while the coroutine ``host`` writes through AXI4-Lite."""
        self.source.load(frame, activity(self.rng, src))
        self.sink.load(activity(self.rng, snk))
        task = cocotb.start_soon(host)
        drained, start = 0, self.cycle
        self.beats_during_writes = 0
        while True:
            await self.edge
            self.cycle += 1
            self.source.tick(self.cycle)
            self.sink.tick(self.cycle)
            if not task.done():  # beats accepted while AXI4-Lite writes were going on
                self.beats_during_writes = self.source.accepted
            if self.source.done and self.sink.count >= self.source.accepted and task.done():
                drained += 1
                if drained > DRAIN_CYCLES:
                    break
            if self.cycle - start > 400 + 400 * len(frame) + 200 * len(self.writes_of(
                    self.params)):
                raise AssertionError(f"stream stalled: {self.source.accepted}/{len(frame)} in")
        await self.edge
        self.cycle += 1
        self.source.idle()
        self.sink.ready.write(0)
        task.result()


async def _tb(dut, offset: int) -> ThresholdAxilTB:
    spec = _spec()
    spec.seed = spec.seed * 1000 + offset
    tb = ThresholdAxilTB(dut, spec, _RESULTS)
    await tb.start()
    return tb


@cocotb.test()
async def axil_thresholds(dut):
    tb = await _tb(dut, 11)
    await tb.driver.check_id()  # magic, version, channels, geometry, widths
    await tb.program(tb.random_words())
    frame = tb.cap(tb.stimulus(tb.params, n_random=16), 600)
    await tb.stream(frame, "random", "random")
    total = tb.score(frame, False)
    await tb.program(tb.solved.copy())
    frame = tb.stimulus(tb.params, n_random=64)
    await tb.stream(frame, "random", "random")
    total.add(tb.score(frame, True))
    tb.record("axil_thresholds", total, applicable=True)


@cocotb.test()
async def axil_thresholds_live(dut):
    tb = await _tb(dut, 12)
    await tb.program(tb.solved.copy())
    frame = tb.cap(tb.stimulus(tb.params, n_random=16), 3000)
    await tb.stream_live(frame, "random", "bursty", tb.program(tb.solved.copy()))
    tb.record("axil_thresholds_live", tb.score(frame, True), applicable=True,
              axil_writes=len(tb.writes_of(tb.params)),
              beats_during_writes=tb.beats_during_writes)


def _extend(source, frame) -> None:
    """Append ``frame``'s beats to what ``source`` offers (the stream goes on)."""
    source.words += pack_words(frame.x, source.w_x)
    source.users += [int(v) for v in frame.tuser]
    source.lasts += [int(v) for v in frame.tlast]


async def _stream_through(tb: ThresholdAxilTB, during, after, host) -> object:
    """One stream: ``during`` offered again and again while the coroutine ``host`` writes,
    then ``after`` once its last response came; returns the whole frame offered."""
    src, sink = tb.source, tb.sink
    src.load(during, activity(tb.rng, "random"))
    sink.load(activity(tb.rng, "bursty"))
    pieces, task, start, drained = [during], cocotb.start_soon(host), tb.cycle, 0
    tb.commits = []
    limit = 2000 + 400 * (len(during) + len(after)) + 400 * tb.n_writes
    while True:
        await tb.edge
        tb.cycle += 1
        src.tick(tb.cycle)
        sink.tick(tb.cycle)
        tb.watch_axi(tb.cycle)
        if pieces[-1] is not after:
            if task.done():
                _extend(src, after)
                pieces.append(after)
            elif len(src.words) - src.accepted < 4:
                _extend(src, during)
                pieces.append(during)
        elif src.done and sink.count >= src.accepted:
            drained += 1
            if drained > DRAIN_CYCLES:
                break
        if tb.cycle - start > limit:
            raise AssertionError(f"stream stalled: {src.accepted}/{len(src.words)} in")
    await tb.edge
    tb.cycle += 1
    src.idle()
    sink.ready.write(0)
    task.result()  # re-raise a driver error (SLVERR, wrong ID)
    return concat_frames(pieces)


@cocotb.test()
async def axil_thresholds_new(dut):
    tb = await _tb(dut, 13)
    nxt = tb.t.get("next")
    if not nxt:
        tb.record("axil_thresholds_new", CheckResult(), applicable=False)
        return
    old = tb.solved.copy()
    await tb.program(old)
    new = replace(old, neg=list(nxt["neg"]), U=[list(u) for u in nxt["U"]])
    C, slots = len(old.U), tb.t["slots"]
    writes = tb.writes_of(new)  # (channel, slot or direction index, value, 0) in order
    tb.n_writes = len(writes)
    first, last = {}, {}
    for j, (c, _, _, _) in enumerate(writes):
        first.setdefault(c, j)
        last[c] = j
    old_layer = tb.ref_layer
    new_layer = replace(old_layer, a=list(nxt["a"]), b=list(nxt["b"]))
    changed = sum(o != n for c in range(C) for o, n in zip(old.U[c] + [old.neg[c]],
                                                              new.U[c] + [new.neg[c]], strict=True))
    assert changed, "the new words equal the old ones: nothing would be tested"

    def layer_at(k: int):
        """Reference after k writes: untouched channels old, finished ones new."""
        done = [k > last[c] for c in range(C)]
        return replace(old_layer, a=[(new_layer if d else old_layer).a[c]
                                     for c, d in enumerate(done)],
                       b=[(new_layer if d else old_layer).b[c] for c, d in enumerate(done)],
                       exact=[d or k <= first[c] for c, d in enumerate(done)])

    def apply(words, k: int):
        c, i, v, _ = writes[k]
        w = words.copy()
        if i == slots:
            w.neg[c] = v & 1
        else:
            w.U[c][i] = v
        return w

    async def host():
        for c, i, v, _ in writes:
            await tb.driver.program_slot(c, i, v)

    both = replace(old, U=[old.U[c] + new.U[c] for c in range(C)])  # stimulus points only
    during = tb.cap(tb.stimulus(both, n_random=16), 400)
    after = tb.cap(tb.stimulus(both, n_random=32), 1500)
    frame = await _stream_through(tb, during, after, host())
    assert len(tb.commits) == len(writes), (len(tb.commits), len(writes))
    acc = np.asarray(tb.source.accept_cycles)
    ends = np.asarray([e for _, e in tb.commits])
    new_k = np.searchsorted(ends, acc, side="right")  # COMMITs answered at or before the beat
    old_k = np.searchsorted(np.asarray([s for s, _ in tb.commits]), acc, side="left")
    sink, total = tb.sink, CheckResult()
    if sink.count != tb.source.accepted:
        total.mismatches += 1
        total.first = Mismatch("count", sink.count, expected=tb.source.accepted, got=sink.count)
    cur, cur_k = old, 0

    def check(lo: int, hi: int, words, k: int) -> CheckResult:
        return check_stream(frame.take(slice(lo, hi)), sink.out_data[lo:hi],
                            sink.out_user[lo:hi], sink.out_last[lo:hi], words, tb.unit,
                            layer_at(k), offset=lo)

    n_beats, j, ambiguous, new_ref = min(sink.count, len(acc)), 0, 0, CheckResult()
    while j < n_beats:
        k = int(new_k[j])
        while cur_k < k:
            cur, cur_k = apply(cur, cur_k), cur_k + 1
        if old_k[j] == k:
            hi = j
            while hi < n_beats and new_k[hi] == old_k[hi] == k:
                hi += 1
            r = check(j, hi, cur, k)
            total.add(r)
            if k == len(writes):
                new_ref.add(r)
            j = hi
            continue
        ambiguous += 1  # accepted while its COMMIT was in flight: old or new words
        tries = [check(j, j + 1, cur, k), check(j, j + 1, apply(cur, k), k + 1)]
        total.add(min(tries, key=lambda r: r.mismatches))
        j += 1
    after_beats = int(np.sum(acc >= ends[-1]))
    assert int(np.sum(acc < ends[-1])) > 0 and after_beats > 0, \
        "no beat accepted while the host wrote, or none after its last response"
    tb.params, tb.ref_layer = new, new_layer  # one more stream: every new threshold
    frame = tb.stimulus(new, n_random=64)
    await tb.stream(frame, "random", "random")
    r = tb.score(frame, True)
    total.add(r)
    new_ref.add(r)
    tb.ref_layer = old_layer
    await tb.program(tb.solved.copy())  # leave the solved words for the next scenario
    tb.record("axil_thresholds_new", total, applicable=True, axil_writes=len(writes),
              words_changed=changed, ambiguous=ambiguous, after_last_response=after_beats,
              new_reference_checked=new_ref.reference_checked, what=nxt.get("what"))
