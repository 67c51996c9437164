"""Skid buffer: a stream stage whose ``i.ready`` is a register (no combinational path from
``o.ready`` to ``i.ready``), at full rate and with zero added latency.

While the buffer is empty, a beat passes straight through; when the consumer stalls, the
beat accepted in that cycle is parked in the one-beat buffer and ``i.ready`` drops in the
next cycle. ``block`` (optional) keeps ``i.ready`` low from the next cycle on without
losing anything (used to give parameter writes a quiet moment).
"""

from __future__ import annotations

from amaranth import Module, Mux, ResetSignal, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SkidBuffer"]


class SkidBuffer(wiring.Component):
    """``i`` -> ``o`` with registered ``i.ready``; never drops, duplicates or reorders.

    ``empty`` is high when no beat waits in the buffer (a register).
    """

    def __init__(self, payload_shape, load_when_ready: bool = False):
        # load_when_ready: the buffer loads whenever i.ready is high (it is empty then), so
        # o.ready reaches only the two control flip-flops, not the buffer's enables (the
        # output skid of flow=credit; the input skid keeps its buffer still while idle).
        self.payload_shape = payload_shape
        self.load_when_ready = load_when_ready
        super().__init__({
            "i": In(stream.Signature(payload_shape)),
            "o": Out(stream.Signature(payload_shape)),
            "block": In(1),
            "empty": Out(1),
            "ready_next": Out(1),  # i.ready of the next cycle (its register's input)
        })

    def elaborate(self, platform):
        m = Module()
        ready_r = Signal(init=1)  # the registered s_axis_tready
        buf_valid = Signal()
        buf = Signal(self.payload_shape, reset_less=True)  # data: buf_valid says if it holds one

        take = self.i.valid & ready_r
        m.d.comb += [
            self.i.ready.eq(ready_r),
            self.o.valid.eq(buf_valid | take),
            self.o.payload.eq(Mux(buf_valid, buf, self.i.payload)),
            self.empty.eq(~buf_valid),
        ]
        # ready_r implies buf empty, so a beat taken while o stalls always has a free slot.
        buf_next = Signal()
        m.d.comb += buf_next.eq(Mux(buf_valid, ~self.o.ready, take & ~self.o.ready))
        m.d.comb += self.ready_next.eq(ResetSignal() | (~buf_next & ~self.block))
        m.d.sync += [
            buf_valid.eq(buf_next),
            ready_r.eq(~buf_next & ~self.block),
        ]
        with m.If(ready_r if self.load_when_ready else take & ~self.o.ready):
            m.d.sync += buf.eq(self.i.payload)
        return m
