"""Output FIFO and credit counter of the free-running pipeline (``flow=credit``).

The datapath runs without a clock enable; every beat it delivers is written into
:class:`OutputFifo` (which never refuses: :class:`CreditCounter` admits a beat at the input
only while a slot is reserved for it). The FIFO is ``depth`` words of memory (async read:
LUT RAM on ECP5, flip-flops in proofs) plus a registered head that drives the output port,
so ``o.valid``/``o.payload`` are registers and a beat passes an empty FIFO in one cycle.

``read="sync"`` (iCE40: no LUT RAM; the asynchronous read becomes flip-flops behind a wide
read mux, ~51 MHz on the UP5K) reads the memory through registers, one cycle early, at both
candidates for the next read pointer (two read ports: Yosys maps them to two SB_RAM40_4K),
and the head loads the one the pointer took, or, for a word written in the cycle it was
read (the only read-during-write case), a copy of the last written word. Same ports,
pointers, counts and cycle behaviour as ``comb`` (tests/hw/test_fifo_ice40.py compares them
cycle for cycle).

``group`` (ECP5, comb read; the unit's core sets it): the head's load enable ``free`` is
registered copies, loaded each cycle with the next cycle's ``free`` (from the head's next
valid bit and the output skid's ``ready_next``), one per group of head bits and two for the
control, so no single net reaches every head bit (one LUT output to ~50 clock enables
limited the ecp5 unit at L = 1). The copies equal ``free`` from the second cycle on,
whatever the state (tests/hw/test_fifo_copies.py compares the FIFO with the plain one cycle
for cycle).

Invariants (proved by the stall task, sim/formal/miter.py): the memory holds a beat only
while the head holds one, so the FIFO keeps at most ``depth + 1`` beats; the credit counter
counts beats accepted and not yet taken at the output (one-hot; a pop seen one cycle late),
and admits one only while that count stays at most ``depth + 1``. Neither block has an
adder or a comparison after ``o.ready`` (one LUT level, or a flip-flop, to every register
it reaches).
"""

from __future__ import annotations

from amaranth import Module, Mux, ResetSignal, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["OutputFifo", "CreditCounter", "fifo_depth"]


_MAX_GROUPS = 4  # head groups with their own enable copy (distinct forms: _copied_enable)


def fifo_depth(latency: int) -> int:
    """Memory words of the output FIFO for a unit of ``latency`` cycles (the FIFO's head
    included): the smallest power of two >= latency + 1, so that ``depth + 1`` credits cover
    every beat in flight, the one the registered ``s_axis_tready`` admits late and the one
    the counter sees leave a cycle late (one beat per clock with an always-ready sink)."""
    d = 2
    while d < latency + 1:
        d *= 2
    return d


class OutputFifo(wiring.Component):
    """``w_valid``/``w_data`` in (no ready: writes are admitted by credits), ``o`` out."""

    def __init__(self, width: int, depth: int, read: str = "comb", group: int = 0):
        if depth < 2 or depth & (depth - 1):
            raise ValueError(f"FIFO depth must be a power of two >= 2, got {depth}")
        if read not in ("comb", "sync"):
            raise ValueError(f"FIFO read must be comb or sync, got {read!r}")
        if group and read != "comb":
            raise ValueError("enable copies (group) exist for read='comb' only")
        if group and -(-width // group) > _MAX_GROUPS:
            raise ValueError(f"at most {_MAX_GROUPS} head groups, got {-(-width // group)}")
        self.width, self.depth, self.read = width, depth, read
        # group > 0: the head's load enable as registered copies, one per ``group`` bits of
        # the head plus two for the control (``ready_next``: o.ready of the next cycle)
        self.group = group
        sig = {
            "w_valid": In(1),
            "w_data": In(width),
            "o": Out(stream.Signature(width)),
        }
        if group:
            sig["ready_next"] = In(1)
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        d = self.depth
        ab = (d - 1).bit_length()
        sync = self.read == "sync"
        mem = Memory(shape=self.width, depth=d, init=[],
                     attrs={"ram_style": "block", "no_rw_check": 1} if sync else None)
        m.submodules.mem = mem
        wport = mem.write_port()
        # sync: rp is a sum of registers (``_sync_read``) that stands still in a reset
        # cycle, and wp resets to it
        wp = Signal(ab, name="wp", reset_less=sync)
        rp = Signal(ab, name="rp")
        cnt = Signal(d + 1, init=1, name="cnt")  # words in memory, one-hot
        empty = cnt[0]
        head_valid = Signal(name="head_valid")
        head = Signal(self.width, name="head", reset_less=True)

        # Every beat is written; a beat that goes straight to the head (bypass) is skipped
        # by the read pointer in the same cycle, so the write enable does not see o.ready.
        free = ~head_valid | self.o.ready  # the head loads (a beat, if there is ``some``)
        some = ~empty | self.w_valid
        m.d.comb += [
            wport.addr.eq(wp), wport.data.eq(self.w_data), wport.en.eq(self.w_valid),
            self.o.valid.eq(head_valid),
            self.o.payload.eq(head),
        ]
        # The count's next value for a free head (it takes a beat) and for a held one, both
        # from early signals; ``free`` (o.ready) only picks one: a single LUT level.
        # sync: the same as and/or terms, so Yosys finds no clock enable in them (on iCE40 an
        # enable beside a synchronous reset costs a LUT after the reset's wide net)
        stay_f, stay_h = self.w_valid | empty, ~self.w_valid
        for k in range(0 if self.group else d + 1):  # (group: _copied_enable)
            below = cnt[k - 1] if k else 0
            above = cnt[k + 1] if k < d else 0
            if sync:
                nxt = ((free & ((stay_f & cnt[k]) | (~stay_f & above)))
                       | (~free & ((self.w_valid & below) | (stay_h & cnt[k]))))
            else:
                if_free = Mux(self.w_valid | empty, cnt[k], above)  # written & read, or read
                if_held = Mux(self.w_valid, below, cnt[k])
                nxt = Mux(free, if_free, if_held)
            m.d.sync += cnt[k].eq(nxt)
        with m.If(self.w_valid):
            m.d.sync += wp.eq(wp + 1)
        if sync:
            ram, fresh, w_last = self._sync_read(m, mem, rp, free, some, cnt)
            with m.If(ResetSignal()):
                m.d.sync += wp.eq(rp)
            # the head's next word in two LUT levels (kept nets): the RAM word, or a register
            keep = {"keep": 1}
            alt = Signal(self.width, name="alt", attrs=keep)
            ram_w = Signal(self.width, name="ram_word", attrs=keep)
            m.d.comb += [alt.eq(Mux(empty, self.w_data, w_last)), ram_w.eq(ram)]
            with m.If(free):  # (a head that is not valid afterwards is never looked at)
                m.d.sync += head.eq(Mux(empty | fresh, alt, ram_w))
            m.d.sync += head_valid.eq(~free | some)  # a held head stays valid
        elif self.group:
            self._copied_enable(m, mem, rp, cnt, head, head_valid, some)
        else:
            rport = mem.read_port(domain="comb")
            with m.If(free & some):
                m.d.sync += [rp.eq(rp + 1), head.eq(Mux(empty, self.w_data, rport.data))]
            with m.If(free):
                m.d.sync += head_valid.eq(some)
            m.d.comb += rport.addr.eq(rp)
        return m

    def _copied_enable(self, m: Module, mem, rp, cnt, head, head_valid, some):
        """``free`` (the head loads) as registered copies, each driving a few registers:
        copy 0 the head's valid bit, the read pointer and the other copies' inputs, copy 1
        the word count, copies 2.. ``group`` bits of the head each (the head's word is
        loaded whenever it is free: a head that is not valid afterwards is never looked at).
        Every copy is loaded with ``free`` of the next cycle (``~head_valid | o.ready``
        then: the head's next valid bit and ``ready_next``, or 1 in a reset cycle), from
        whatever state: so each equals ``free`` from the second cycle on. The copies'
        inputs are written in different forms so that Yosys does not merge them into one
        flip-flop again (its opt_merge merges cells with identical inputs only)."""
        empty = cnt[0]
        n_data = -(-self.width // self.group)
        # (reset_less: the reset is in their input already)
        copies = [Signal(name=f"free_c{k}", init=1, reset_less=True)
                  for k in range(2 + n_data)]
        c0 = copies[0]
        hv_next = Signal(name="hv_next")
        m.d.comb += hv_next.eq(Mux(c0, some, head_valid))
        rst, nhv, rn = ResetSignal(), ~hv_next, self.ready_next
        forms = [lambda: (rst | nhv) | rn, lambda: rst | (nhv | rn), lambda: (rst | rn) | nhv,
                 lambda: Mux(rn, 1, rst | nhv), lambda: Mux(hv_next, rst | rn, 1),
                 lambda: Mux(rst, 1, nhv | rn)]
        for k, (c, form) in enumerate(zip(copies, forms[:len(copies)], strict=True)):
            d = Signal(name=f"free_d{k}")
            m.d.comb += d.eq(form())
            m.d.sync += c.eq(d)
        # the word count with copy 1 (each bit's choice as in elaborate)
        free1 = copies[1]
        d = self.depth
        for k in range(d + 1):
            below = cnt[k - 1] if k else 0
            above = cnt[k + 1] if k < d else 0
            if_free = Mux(self.w_valid | empty, cnt[k], above)
            if_held = Mux(self.w_valid, below, cnt[k])
            m.d.sync += cnt[k].eq(Mux(free1, if_free, if_held))
        rport = mem.read_port(domain="comb")
        m.d.comb += rport.addr.eq(rp)
        with m.If(c0 & some):
            m.d.sync += rp.eq(rp + 1)
        m.d.sync += head_valid.eq(hv_next)
        word = Mux(empty, self.w_data, rport.data)
        for j in range(n_data):
            lo, hi = j * self.group, min(self.width, (j + 1) * self.group)
            with m.If(copies[2 + j]):
                m.d.sync += head[lo:hi].eq(word[lo:hi])

    def _sync_read(self, m: Module, mem, rp, free, some, cnt):
        """Drive ``rp`` and return (the RAM's word at ``rp``, ``fresh``, ``w_last``).

        ``rp`` is the last cycle's ``rp`` (a register, and its +1 and +2 beside it) plus
        ``moved`` (the head took a beat in the last cycle), so no enable waits for
        ``o.ready`` and ``rp`` stands still in a reset cycle. The word at ``rp`` comes from
        registered reads (block RAM) issued in the last cycle at both candidates, the old
        ``rp`` and ``rp + 1`` (two read ports; Yosys gives each its own copy of the RAM);
        ``moved`` picks one. A read misses a word written in the same cycle at that address:
        that happens when the write lands at the new ``rp`` (one word in memory and the head
        loads, or none and it is held), and then the word is ``w_last``, the last written
        one (``fresh``). Every register here is reloaded every cycle with a function of the
        last cycle's ``rp``, count and inputs (never of another of these registers alone), so
        the proof's 3-step induction, which constrains those, constrains them too."""
        ab = len(rp)
        # rp of the last cycle (+1, +2): the candidates are one LUT from registers
        base, inc1, inc2 = (Signal(ab, name=f"rp_last{k}", reset_less=True) for k in range(3))
        moved = Signal(name="moved", reset_less=True)
        rp1 = Signal(ab, name="rp1")
        r0, r1 = mem.read_port(domain="comb"), mem.read_port(domain="comb")
        rd0 = Signal(self.width, name="rdata0", reset_less=True)
        rd1 = Signal(self.width, name="rdata1", reset_less=True)
        w_last = Signal(self.width, name="w_last", reset_less=True)
        fresh = Signal(name="fresh", reset_less=True)
        m.d.comb += [
            rp.eq(Mux(moved, inc1, base)), rp1.eq(Mux(moved, inc2, inc1)),
            r0.addr.eq(rp), r1.addr.eq(rp1),
        ]
        m.d.sync += [
            base.eq(rp),
            # rp + 1 and rp + 2 picked as rp is: a function of rp alone (the proof's
            # induction constrains rp, not base or inc1)
            inc1.eq(Mux(moved, inc1 + 1, base + 1)),
            inc2.eq(Mux(moved, inc1 + 2, base + 2)),
            moved.eq(free & some & ~ResetSignal()),
            rd0.eq(r0.data), rd1.eq(r1.data), w_last.eq(self.w_data),
            fresh.eq(self.w_valid & Mux(free, cnt[1], cnt[0])),
        ]
        return Mux(moved, rd1, rd0), fresh, w_last


class CreditCounter(wiring.Component):
    """Registered ``ready`` for the input: high while fewer than ``limit`` beats are
    accepted and not yet taken at the output (``acc``/``pop`` are this cycle's handshakes),
    and low from the cycle after ``block``. A pop is counted one cycle late (``pop`` is
    registered first: the count errs on the safe side by at most that beat), so ``o.ready``
    reaches no logic here but one flip-flop, and ``ready`` nothing combinationally."""

    def __init__(self, limit: int):
        self.limit = limit
        super().__init__({"acc": In(1), "pop": In(1), "block": In(1), "ready": Out(1)})

    def elaborate(self, platform):
        m = Module()
        lim = self.limit
        # The count one-hot (bit k: k beats counted): each bit's next value is a 3:1 choice
        # of its neighbours, ready the top bit's: no carry chain.
        occ = Signal(lim + 1, init=1, name="occ")
        ready = Signal(init=1, name="ready_r")
        pop_r = Signal(name="pop_r")
        m.d.sync += pop_r.eq(self.pop)
        up = self.acc & ~pop_r
        down = pop_r & ~self.acc
        occ_next = Signal.like(occ)
        for k in range(lim + 1):
            below = occ[k - 1] if k else 0
            above = occ[k + 1] if k < lim else 0
            m.d.comb += occ_next[k].eq(Mux(up, below, Mux(down, above, occ[k])))
        m.d.comb += self.ready.eq(ready)
        m.d.sync += [occ.eq(occ_next), ready.eq(~occ_next[lim] & ~self.block)]
        return m
