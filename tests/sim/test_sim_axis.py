"""The bench's stream components against a tiny Python model of a unit (no simulator).

The model is a FIFO with a registered ready, driven the way the simulator drives the real
unit: components act at the falling edge, handshakes happen at the rising edge.
"""

from __future__ import annotations

import numpy as np
import pytest
from exactbn.sim.benches.axis import (
    ProtocolError,
    StreamMonitor,
    StreamSink,
    StreamSource,
    activity,
)
from exactbn.sim.stimulus import Frame


class _Raw:
    def __init__(self, sig):
        self.sig = sig

    def get_signal_val_binstr(self):
        return format(self.sig.v, f"0{self.sig.w}b")


class _Handle:
    def __init__(self, name, w):
        self._name, self.w, self.v = name, w, 0
        self._handle = _Raw(self)

    def __len__(self):
        return self.w

    @property
    def value(self):
        return self.v

    @value.setter
    def value(self, v):
        self.v = v


class _FifoUnit:
    """Depth-4 FIFO, ready registered; ``corrupt`` changes the head while it is stalled."""

    def __init__(self, corrupt: bool = False):
        for name, w in (("s_axis_tvalid", 1), ("s_axis_tready", 1), ("s_axis_tdata", 16),
                        ("s_axis_tuser", 3), ("s_axis_tlast", 1), ("m_axis_tvalid", 1),
                        ("m_axis_tready", 1), ("m_axis_tdata", 16), ("m_axis_tuser", 3),
                        ("m_axis_tlast", 1)):
            setattr(self, name, _Handle(name, w))
        self.q: list[tuple[int, int, int]] = []
        self.corrupt = corrupt
        self.s_axis_tready.v = 1

    def rising_edge(self):
        pop = self.m_axis_tvalid.v and self.m_axis_tready.v
        push = self.s_axis_tvalid.v and self.s_axis_tready.v
        if pop:
            self.q.pop(0)
        elif self.corrupt and self.q:
            self.q[0] = (self.q[0][0] ^ 1, *self.q[0][1:])
        if push:
            self.q.append((self.s_axis_tdata.v, self.s_axis_tuser.v, self.s_axis_tlast.v))
        self.s_axis_tready.v = int(len(self.q) < 3)
        self.m_axis_tvalid.v = int(bool(self.q))
        if self.q:
            self.m_axis_tdata.v, self.m_axis_tuser.v, self.m_axis_tlast.v = self.q[0]


def _run(unit, frame, src, snk, seed=0):
    rng = np.random.default_rng(seed)
    source, mon = StreamSource(unit, 8), StreamMonitor()
    sink = StreamSink(unit, mon)
    source.load(frame, activity(rng, src))
    sink.load(activity(rng, snk))
    held = None
    for cycle in range(20000):
        source.tick(cycle)
        sink.tick(cycle)
        if held is not None:  # AXI: an offered beat stays until its handshake
            assert unit.s_axis_tvalid.v and unit.s_axis_tdata.v == held
        held = unit.s_axis_tdata.v if unit.s_axis_tvalid.v and not unit.s_axis_tready.v else None
        unit.rising_edge()
        if source.done and sink.count == len(frame):
            break
    return source, sink


@pytest.mark.parametrize("src,snk", [("always", "always"), ("random", "heavy"),
                                     ("bursty", "random")])
def test_source_and_sink_deliver_every_beat_in_order(src, snk):
    rng = np.random.default_rng(1)
    frame = Frame(rng.integers(-100, 100, (300, 2)), rng.integers(0, 8, 300),
                  rng.random(300) < 0.2)
    source, sink = _run(_FifoUnit(), frame, src, snk)
    assert source.accepted == len(frame) == sink.count
    words = [((int(a) & 0xFF) | ((int(b) & 0xFF) << 8)) for a, b in frame.x]
    assert sink.out_data == words
    assert sink.out_user == frame.tuser.tolist()
    assert sink.out_last == frame.tlast.astype(int).tolist()
    if src == snk == "always":
        assert source.accept_cycles[-1] - source.accept_cycles[0] == len(frame) - 1


def test_monitor_catches_data_changing_while_stalled():
    rng = np.random.default_rng(2)
    frame = Frame(rng.integers(0, 100, (50, 2)), np.zeros(50, np.int64), np.zeros(50, bool))
    with pytest.raises(ProtocolError, match="changed while stalled"):
        _run(_FifoUnit(corrupt=True), frame, "always", "heavy")


def test_monitor_catches_valid_withdrawn():
    mon = StreamMonitor()
    mon.observe(0, 1, (5, 0, 0), 0)
    with pytest.raises(ProtocolError, match="withdrawn"):
        mon.observe(1, 0, None, 1)


@pytest.mark.parametrize("lanes,width", [(4, 16), (1, 8), (3, 21), (5, 16), (2, 32), (8, 8)])
def test_pack_and_unpack_round_trip_lanes(lanes, width):
    from exactbn.sim.benches.axis import pack_words
    from exactbn.sim.scoreboard import unpack_lanes

    rng = np.random.default_rng(lanes * width)
    lo = -(1 << (width - 1))
    x = rng.integers(lo, -lo, (64, lanes))
    words = pack_words(x, width)
    mask = (1 << width) - 1
    assert words == [sum((int(v) & mask) << (i * width) for i, v in enumerate(r)) for r in x]
    assert (unpack_lanes(words, lanes, width, True) == x).all()
