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
"""

from __future__ import annotations

import cocotb

from exactbn.regmap.driver import AxiLiteBus32, RegmapDriver
from exactbn.regmap.layout import RegisterMap

from .axis import activity
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
