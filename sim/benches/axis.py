"""AXI-Stream-style source, sink and monitor, and the cfg-port driver, for cocotb 2.x.

All of them act at the clock's falling edge, where every signal has settled after the
rising edge, so the same code behaves identically on Verilator and Icarus (which differ in
what a callback at the rising edge sees). At falling edge k a component reads the unit's
registered outputs, decides its own inputs for rising edge k+1 and therefore knows, at once,
whether a handshake happens there. This relies on the unit having no combinational path from
its inputs to ``s_axis_tready``, ``m_axis_*`` or ``cfg_ready`` (hw/README.md; only ``rst``
holds ``cfg_ready`` low, and the bench writes no cfg during reset).

The TB calls ``tick()`` on each component once per cycle from one clocked loop instead of
running a coroutine per component: one trigger per cycle is the main cost cocotb adds.
Signal reads use the simulator object's binary string (an X or Z raises), writes are done
only when a value changes.
"""

from __future__ import annotations

import os

import numpy as np

from ..stimulus import Frame

__all__ = ["activity", "Sig", "StreamSource", "StreamSink", "StreamMonitor", "CfgDriver",
           "ProtocolError"]


class ProtocolError(AssertionError):
    """The unit broke a stream rule (data changed while stalled, valid withdrawn, X output)."""


def activity(rng: np.random.Generator, kind: str, n: int = 8192) -> np.ndarray:
    """A cyclic pattern of active cycles (valid offered / ready given), as booleans.

    ``always``: every cycle; ``random``: bursts and gaps of random length (about 60 %
    active); ``heavy``: about 15 % active, single cycles and short bursts.
    """
    if kind == "always":
        return np.ones(1, dtype=bool)
    if kind == "random":
        return rng.random(n) < 0.6
    if kind == "heavy":
        return rng.random(n) < 0.15
    if kind == "bursty":
        out = np.zeros(n, dtype=bool)
        i = 0
        while i < n:
            on, off = int(rng.integers(1, 32)), int(rng.integers(0, 12))
            out[i:i + on] = True
            i += on + off
        return out
    raise ValueError(f"unknown activity pattern {kind!r}")


class Sig:
    """Fast access to one signal: integer reads, writes only on change."""

    __slots__ = ("handle", "_raw", "name", "width", "_last", "_put")

    def __init__(self, handle):
        self.handle = handle
        self._raw = handle._handle  # the GPI object: get_signal_val_binstr() is the fast path
        self.name = handle._name
        self.width = len(handle)
        self._last: int | None = None
        # Where cocotb itself writes straight through (Verilator trusts inertial writes), do
        # the same without its per-write checks; elsewhere let cocotb schedule the write.
        if os.environ.get("COCOTB_TRUST_INERTIAL_WRITES") == "1":
            if self.width <= 32:
                self._put = lambda v, f=self._raw.set_signal_val_int: f(0, v)
            else:
                fmt = f"0{self.width}b"
                self._put = lambda v, f=self._raw.set_signal_val_binstr: f(0, format(v, fmt))
        else:
            self._put = self._put_scheduled

    def read(self) -> int:
        s = self._raw.get_signal_val_binstr()
        try:
            return int(s, 2)
        except ValueError:
            raise ProtocolError(f"{self.name} is {s!r} (not a defined binary value)") from None

    def _put_scheduled(self, value: int) -> None:
        self.handle.value = value

    def write(self, value: int) -> None:
        """Drive ``value`` (two's complement wrapped to the width) unless already driven."""
        if value != self._last:
            self._last = value
            self._put(value & ((1 << self.width) - 1))

    def forget(self) -> None:
        """Forget the cached value (e.g. after a reset or an external write)."""
        self._last = None


def pack_words(x: np.ndarray, width: int) -> list[int]:
    """Pack (beats, lanes) integers into words, lane 0 in the LSBs (two's complement)."""
    mask = (1 << width) - 1
    lanes = x.shape[1]
    if lanes * width <= 64 and width < 64:
        acc = np.zeros(x.shape[0], dtype=np.uint64)
        for i in range(lanes):
            acc |= (x[:, i].astype(np.int64) & mask).astype(np.uint64) << np.uint64(i * width)
        return acc.tolist()
    rows = x.tolist()
    return [sum((v & mask) << (i * width) for i, v in enumerate(r)) for r in rows]


class StreamSource:
    """Drives ``s_axis_*``: offers the loaded beats in order with gaps from a pattern.

    Once valid is offered it stays until the handshake (AXI rule). ``accepted`` counts the
    beats taken; ``accept_cycles`` records the cycle of every handshake.
    """

    def __init__(self, dut, w_x: int):
        self.valid = Sig(dut.s_axis_tvalid)
        self.ready = Sig(dut.s_axis_tready)
        self.data = Sig(dut.s_axis_tdata)
        self.user = Sig(dut.s_axis_tuser)
        self.last = Sig(dut.s_axis_tlast)
        self.w_x = w_x
        self.load(None, np.ones(1, dtype=bool))

    def load(self, frame: Frame | None, pattern: np.ndarray) -> None:
        self.words = [] if frame is None else pack_words(frame.x, self.w_x)
        self.users = [] if frame is None else [int(v) for v in frame.tuser]
        self.lasts = [] if frame is None else [int(v) for v in frame.tlast]
        self.pattern = pattern.tolist()
        self.accepted = 0
        self.accept_cycles: list[int] = []
        self._offering = False
        self._presented = -1

    @property
    def done(self) -> bool:
        return self.accepted >= len(self.words)

    def idle(self) -> None:
        self.valid.write(0)
        self._offering = False

    def tick(self, cycle: int) -> None:
        i = self.accepted
        if i >= len(self.words):
            self.valid.write(0)
            return
        if not self._offering:
            self._offering = self.pattern[cycle % len(self.pattern)]
        if not self._offering:
            self.valid.write(0)
            return
        if self._presented != i:
            self.data.write(self.words[i])
            self.user.write(self.users[i])
            self.last.write(self.lasts[i])
            self._presented = i
        self.valid.write(1)
        if self.ready.read():  # registered: holds through the coming rising edge
            self.accepted = i + 1
            self.accept_cycles.append(cycle)
            self._offering = False


class StreamMonitor:
    """Checks the output stream's rules: while valid and not ready, nothing may change."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self._stalled: tuple[int, int, int] | None = None
        self.stalls = 0

    def observe(self, cycle: int, valid: int, beat: tuple[int, int, int] | None,
                ready: int) -> None:
        if self._stalled is not None:
            if not valid:
                raise ProtocolError(f"cycle {cycle}: m_axis_tvalid withdrawn before handshake")
            if beat != self._stalled:
                raise ProtocolError(
                    f"cycle {cycle}: m_axis_tdata/tuser/tlast changed while stalled: "
                    f"{self._stalled} -> {beat}")
        self._stalled = beat if (valid and not ready) else None
        self.stalls += bool(valid and not ready)


class StreamSink:
    """Drives ``m_axis_tready`` from a pattern and records every output beat taken."""

    def __init__(self, dut, monitor: StreamMonitor):
        self.valid = Sig(dut.m_axis_tvalid)
        self.ready = Sig(dut.m_axis_tready)
        self.data = Sig(dut.m_axis_tdata)
        self.user = Sig(dut.m_axis_tuser)
        self.last = Sig(dut.m_axis_tlast)
        self.monitor = monitor
        self.load(np.ones(1, dtype=bool))

    def load(self, pattern: np.ndarray) -> None:
        self.pattern = pattern.tolist()
        self.out_data: list[int] = []
        self.out_user: list[int] = []
        self.out_last: list[int] = []
        self.cycles: list[int] = []
        self.monitor.reset()

    @property
    def count(self) -> int:
        return len(self.out_data)

    def idle(self) -> None:
        self.ready.write(0)
        self.monitor.reset()

    def tick(self, cycle: int) -> None:
        rdy = 1 if self.pattern[cycle % len(self.pattern)] else 0
        self.ready.write(rdy)
        valid = self.valid.read()
        beat = None
        if valid:
            beat = (self.data.read(), self.user.read(), self.last.read())
            if rdy:
                self.out_data.append(beat[0])
                self.out_user.append(beat[1])
                self.out_last.append(beat[2])
                self.cycles.append(cycle)
        self.monitor.observe(cycle, valid, beat, rdy)


class CfgDriver:
    """Drives the RAM store's ``cfg_*`` port from a queue of writes, with gaps from a pattern.

    Like the stream source, an offered write stays until its handshake; ``cycles`` records
    the cycle of every handshake, so a scoreboard can tell which beats came after it.
    """

    def __init__(self, sigs: dict[str, Sig]):
        self.sigs = sigs
        self.load([], np.ones(1, dtype=bool))

    def load(self, writes: list[tuple[int, int, int, int]], pattern: np.ndarray) -> None:
        self.writes = list(writes)
        self.pattern = pattern.tolist()
        self.done = 0
        self.cycles: list[int] = []
        self._offering = False
        self._presented = -1

    def tick(self, cycle: int) -> None:
        s = self.sigs
        i = self.done
        if i >= len(self.writes):
            s["valid"].write(0)
            return
        if not self._offering:
            self._offering = self.pattern[cycle % len(self.pattern)]
        if not self._offering:
            s["valid"].write(0)
            return
        if self._presented != i:
            addr, m, b, n = self.writes[i]
            s["addr"].write(addr)
            s["m"].write(m)
            s["b"].write(b)
            if "n" in s:
                s["n"].write(n)
            self._presented = i
        s["valid"].write(1)
        if s["ready"].read():
            self.done = i + 1
            self.cycles.append(cycle)
            self._offering = False
