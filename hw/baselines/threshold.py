"""The threshold baseline: how FINN absorbs BN, as a pipelined binary search.

A channel's output is ``qmin + #{k : dir*x >= T_k}`` over its ``qmax - qmin`` sorted
thresholds (the ``threshold_model`` baseline definition). The count is found one bit per
level, MSB first:
level j reads, for the bits already decided (the prefix p), the threshold that splits the
remaining interval and keeps the next bit. Level j's memory holds, per channel, the 2^j
thresholds that level can need, so each level is one synchronous read and one comparison:
``2^W - 1`` thresholds per channel in all (W = bits of the count).

A channel with dir = -1 stores ``U_k = 1 - T_k`` and inverts the comparison
(``-x >= T  <=>  not (x >= 1 - T)``), so every lane needs one ``>=`` comparator only; the
direction bit rides in the level-0 memory. Counts the layer never reaches (clip narrower
than 2^W - 1 levels) get thresholds that are never (dir = 1) or always (dir = -1) met.
"""

from __future__ import annotations

from amaranth import Cat, Module, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory

from exactbn.formats import twos_width, unsigned_width

from ..config import memory_attrs
from ..skid import SkidBuffer
from .common import BaselinePipeline, delay, in_layout, pow2_at_least, stream_ports

__all__ = ["ThresholdUnit", "level_images"]


def _stored(direction: int, thresholds: list[int], n_levels: int, x_lo: int,
            x_hi: int) -> list[int]:
    """The 2^n_levels - 1 values U_k a channel stores (padded past its thresholds)."""
    n = (1 << n_levels) - 1
    if direction > 0:
        u = list(thresholds) + [x_hi + 1] * (n - len(thresholds))
    else:
        u = [1 - t for t in thresholds] + [x_lo] * (n - len(thresholds))
    return u


def level_images(u_per_channel: list[list[int]], n_levels: int, lanes: int,
                 depth_groups: int) -> list[list[list[int]]]:
    """``[lane][level]`` memory images: level j, address ``g * 2^j + p`` holds
    ``U[((2p + 1) << (n_levels - 1 - j)) - 1]`` of channel g*L + lane (0 past the channels).
    """
    c = len(u_per_channel)
    out = []
    for lane in range(lanes):
        levels = []
        for j in range(n_levels):
            img = []
            for g in range(depth_groups):
                ch = g * lanes + lane
                for p in range(1 << j):
                    k = ((2 * p + 1) << (n_levels - 1 - j)) - 1
                    img.append(u_per_channel[ch][k] if ch < c else 0)
            levels.append(img)
        out.append(levels)
    return out


class ThresholdUnit(wiring.Component):
    """FINN-style threshold unit with ``lanes`` lanes; thresholds per channel in ROMs.

    ``directions[c]`` is +1 or -1 and ``thresholds[c]`` the sorted ``T`` of
    ``thresholds_for_channel`` (``qmax - qmin`` entries each); ``x_ranges[c] = (lo, hi)``.
    ``pipeline``: ``mult == 2`` and ``shift >= 2`` (the "deep" preset) add a register between
    each comparison and the next level's address; ``out`` registers the output.
    Latency (:attr:`latency`): 1 + (levels - 1) * (2 if deep else 1) + out.
    """

    def __init__(self, *, w_x: int, x_signed: bool, w_q: int, q_signed: bool, qmin: int,
                 qmax: int, directions, thresholds, x_ranges, lanes: int = 1,
                 pipeline="default", param_memory: str = "auto"):
        self.param_memory = param_memory
        memory_attrs(param_memory)  # validates
        if not isinstance(lanes, int) or lanes < 1:
            raise ValueError(f"lanes must be a positive int, got {lanes!r}")
        c = len(thresholds)
        if c == 0 or len(directions) != c or len(x_ranges) != c:
            raise ValueError(f"need one direction, threshold list and range per channel: got "
                             f"{len(directions)}, {c}, {len(x_ranges)}")
        n_t = qmax - qmin
        for ch, (d, t) in enumerate(zip(directions, thresholds, strict=True)):
            if d not in (1, -1):
                raise ValueError(f"directions[{ch}] must be 1 or -1, got {d!r}")
            if len(t) != n_t:
                raise ValueError(f"thresholds[{ch}] must have qmax - qmin = {n_t} entries, "
                                 f"got {len(t)}")
            if any(a > b for a, b in zip(t, t[1:], strict=False)):
                raise ValueError(f"thresholds[{ch}] must be sorted")
        self.w_x, self.x_signed, self.w_q, self.q_signed = w_x, bool(x_signed), w_q, q_signed
        self.qmin, self.qmax = int(qmin), int(qmax)
        self.lanes, self.channels = lanes, c
        self.pipeline = BaselinePipeline.of(pipeline)
        self.deep = self.pipeline.mult == 2 and self.pipeline.shift >= 2
        self.n_levels = unsigned_width(n_t)
        self.directions = tuple(int(d) for d in directions)
        self.u = [_stored(d, list(t), self.n_levels, lo, hi) for d, t, (lo, hi) in
                  zip(self.directions, thresholds, x_ranges, strict=True)]
        x_lo, x_hi = ((-(1 << (w_x - 1)), (1 << (w_x - 1)) - 1) if x_signed
                      else (0, (1 << w_x) - 1))
        self.w_t = twos_width(x_lo, x_hi, *(v for u in self.u for v in u))
        self.groups = -(-c // lanes)
        self.w_user = max(1, unsigned_width(self.groups - 1))
        self.depth_groups = pow2_at_least(max(self.groups, 1 << self.w_user))
        per_level = 2 if self.deep else 1
        self.latency = 1 + max(0, self.n_levels - 1) * per_level + self.pipeline.out
        super().__init__(stream_ports(lanes, w_x, w_q, self.w_user))

    @property
    def thresholds_per_channel(self) -> int:
        return (1 << self.n_levels) - 1

    @property
    def param_bits_per_channel(self) -> int:
        """Stored bits per channel: (2^W - 1) thresholds of w_t bits, plus the direction bit."""
        return self.thresholds_per_channel * self.w_t + 1

    def elaborate(self, platform):
        m = Module()
        lay = in_layout(self.lanes, self.w_x, self.w_user)
        m.submodules.skid = skid = SkidBuffer(lay)
        adv = Signal()
        m.d.comb += [
            skid.i.valid.eq(self.s_axis_tvalid), self.s_axis_tready.eq(skid.i.ready),
            skid.i.payload.data.eq(self.s_axis_tdata), skid.i.payload.user.eq(self.s_axis_tuser),
            skid.i.payload.last.eq(self.s_axis_tlast), skid.o.ready.eq(adv),
        ]
        valid_p, x_p = Signal(), Signal(self.lanes * self.w_x)
        user_p, last_p = Signal(self.w_user), Signal()
        with m.If(adv):
            m.d.sync += [valid_p.eq(skid.o.valid), x_p.eq(skid.o.payload.data),
                         user_p.eq(skid.o.payload.user), last_p.eq(skid.o.payload.last)]
        images = level_images(self.u, self.n_levels, self.lanes, self.depth_groups)
        q_lanes = [self._lane(m, adv, lane, x_p, user_p, skid.o.payload.user, images[lane])
                   for lane in range(self.lanes)]
        n_after = self.latency - 1
        valid_o = delay(m, adv, valid_p, n_after, "valid", reset=True)
        user_o = delay(m, adv, user_p, n_after, "user")
        last_o = delay(m, adv, last_p, n_after, "last")
        m.d.comb += [
            adv.eq(~valid_o | self.m_axis_tready),
            self.m_axis_tvalid.eq(valid_o),
            self.m_axis_tdata.eq(Cat(*q_lanes)),
            self.m_axis_tuser.eq(user_o),
            self.m_axis_tlast.eq(last_o),
        ]
        return m

    def _lane(self, m: Module, adv, lane: int, x_p, user_p, user_in, images):
        w_t = self.w_t
        x = x_p[lane * self.w_x:(lane + 1) * self.w_x]
        x = x.as_signed() if self.x_signed else x
        neg_words = [0] * self.depth_groups
        for g in range(self.depth_groups):
            ch = g * self.lanes + lane
            neg_words[g] = 1 if ch < self.channels and self.directions[ch] < 0 else 0
        # The direction bit sits beside level 0's threshold (or alone when there are none).
        if self.n_levels:
            img0 = [(u & ((1 << w_t) - 1)) | (n << w_t) for u, n in zip(images[0], neg_words,
                                                                           strict=True)]
        else:
            img0 = neg_words
        g_bits = max(1, (self.depth_groups - 1).bit_length())
        xr, gr = x, user_p[:g_bits]
        prefix = None  # bits decided so far (None before level 0)
        neg = None
        addr_in = user_in[:g_bits]  # level 0 is read with the beat's own parameter read
        for j in range(self.n_levels):
            width = w_t + 1 if j == 0 else w_t
            img = img0 if j == 0 else [u & ((1 << w_t) - 1) for u in images[j]]
            mem = Memory(shape=width, depth=len(img), init=img,
                         attrs=memory_attrs(self.param_memory))
            m.submodules[f"lvl{lane}_{j}"] = mem
            rp = mem.read_port(domain="sync")
            m.d.comb += [rp.addr.eq(addr_in), rp.en.eq(adv)]
            # rp.data is aligned with the registered xr, gr, prefix (read in the same cycle).
            u = rp.data[:w_t].as_signed()
            if j == 0:
                neg = rp.data[w_t]
            bit = Signal(name=f"bit{lane}_{j}")
            m.d.comb += bit.eq((xr >= u) ^ neg)
            nxt = Cat(bit, prefix) if prefix is not None else bit
            prefix_n = Signal(j + 1, name=f"prefix{lane}_{j}")
            m.d.comb += prefix_n.eq(nxt)
            if j + 1 == self.n_levels:
                prefix = prefix_n
                break
            if self.deep:  # register the decision, then address the next level from it
                prefix_n = delay(m, adv, prefix_n, 1, f"pd{lane}_{j}")
                xr = delay(m, adv, xr, 1, f"xd{lane}_{j}")
                gr = delay(m, adv, gr, 1, f"gd{lane}_{j}")
                neg = delay(m, adv, neg, 1, f"nd{lane}_{j}")
            addr_in = Cat(prefix_n, gr)
            prefix = delay(m, adv, prefix_n, 1, f"p{lane}_{j}")
            xr = delay(m, adv, xr, 1, f"x{lane}_{j}")
            gr = delay(m, adv, gr, 1, f"g{lane}_{j}")
            neg = delay(m, adv, neg, 1, f"n{lane}_{j}")
        count = prefix if prefix is not None else 0
        q = Signal(signed(self.w_q) if self.q_signed else unsigned(self.w_q), name=f"q{lane}")
        m.d.comb += q.eq(self.qmin + count)
        if self.pipeline.out:
            q = delay(m, adv, q, 1, f"q{lane}")
        return q
