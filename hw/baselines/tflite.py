"""The TFLite-style requantizer baseline, as deployed (gemmlowp's fixed-point primitives).

Per lane, with the channel's ``bias`` (int32), ``m_q31`` (int32) and ``shift`` (TFLite's:
positive = left shift before the multiply, negative = right shift after it):

    acc = wrap32(x + bias)                       int32 accumulator plus int32 bias
    acc = wrap32(acc << max(shift, 0))
    h   = SaturatingRoundingDoublingHighMul(acc, m_q31)      32x32 -> high word, rounded
    r   = RoundingDivideByPOT(h, max(-shift, 0))              round half away from zero
    q   = clamp(r + zero_point, qmin, qmax)

Two identities keep the hardware lean without changing one bit (checked against the bit-exact
baseline definitions in tests/synth/test_baselines.py):
- SRDHM: with gemmlowp's nudge (2^30, or 1 - 2^30 for negative products) and C++'s
  truncating division, ``SRDHM(a, b) = floor((a*b + 2^30) / 2^31)`` except a = b = INT32_MIN
  (saturates to INT32_MAX), so the nudge is one constant in the adder tree.
- RDBP: ``(x >> e) + (rem > (mask >> 1) + (x < 0))`` equals
  ``(x + 2^(e-1) - (x < 0)) >> e`` for e >= 1 (and x for e = 0): one add, then the shifter.

With ``chunk`` > 0 (the FPGA presets) the lane is pipelined like the unit: the bias add, the
32 x 32 product plus the SRDHM nudge (:class:`~exactbn.hw.MulAdd`: the ``family``'s DSP
primitive with its registers on, 3:2 levels, carry chunks), the rounding nudge and the
zero-point add with the clamp tests are all k-bit registered carry chunks, every shifter
level can be registered and the clamp is selected from registered tests.

Parameters live in a ROM (one per lane), read once per beat; with ``param_memory`` block on
ECP5 it is DP16KD blocks with their output register on (the unit's block ROM: a registered
two-step read, one stage more), so neither design has an unregistered block-RAM read.
Stream ports and pipeline control as in :mod:`.common`. The datapath is the full 32-bit one
(any int32 bias and multiplier), but the shift fields and the overflow test exist only as far
as the ROM's contents need them (as the unit's widths follow its parameters).
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory

from exactbn.formats import unsigned_width

from ..config import memory_attrs
from ..multiplier import MulAdd, mult_stages
from ..regs import chunked_add
from ..skid import SkidBuffer
from .common import (
    BaselinePipeline,
    delay,
    in_layout,
    lane_images,
    pow2_at_least,
    spread,
    stream_ports,
)
from .mult import PartialProductMultiplier, multiplier_shape, split_operand

__all__ = ["TfliteRequantizer", "INT32_MIN", "INT32_MAX"]

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def _check_list(name: str, values, lo: int, hi: int, n: int | None) -> tuple[int, ...]:
    vals = tuple(values)
    if n is not None and len(vals) != n:
        raise ValueError(f"{name} must have {n} entries (one per channel), got {len(vals)}")
    for ch, v in enumerate(vals):
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise ValueError(f"{name}[{ch}] must be an int in [{lo}, {hi}], got {v!r}")
    return vals


class TfliteRequantizer(wiring.Component):
    """TFLite-style requantizer with ``lanes`` lanes and per-channel parameters in ROM.

    Ports: ``clk``/``rst`` and the flat stream ports of :func:`.common.stream_ports`
    (``s_axis_tdata`` L*w_x bits, ``m_axis_tdata`` L*w_q bits, tuser = channel group g).
    """

    def __init__(self, *, w_x: int, x_signed: bool, w_q: int, q_signed: bool, qmin: int,
                 qmax: int, zero_point: int, bias, m_q31, shift, lanes: int = 1,
                 pipeline="default", dsp_a: int = 18, dsp_b: int = 18,
                 param_memory: str = "auto", family: str = "generic", sim: bool = False):
        self.family, self.sim = family, sim  # DSP primitives (with chunk), sim equivalents
        self.param_memory = param_memory
        memory_attrs(param_memory)  # validates
        if not isinstance(w_x, int) or not 1 <= w_x <= 32:
            raise ValueError(f"w_x must be an int in 1..32 (an int32 accumulator), got {w_x!r}")
        if not isinstance(w_q, int) or not 1 <= w_q <= 32:
            raise ValueError(f"w_q must be an int in 1..32, got {w_q!r}")
        if not isinstance(lanes, int) or lanes < 1:
            raise ValueError(f"lanes must be a positive int, got {lanes!r}")
        q_lo, q_hi = ((-(1 << (w_q - 1)), (1 << (w_q - 1)) - 1) if q_signed
                      else (0, (1 << w_q) - 1))
        if not q_lo <= qmin <= qmax <= q_hi:
            raise ValueError(f"clip [{qmin}, {qmax}] must lie inside the {w_q}-bit output")
        self.m_q31 = _check_list("m_q31", m_q31, INT32_MIN, INT32_MAX, None)
        c = len(self.m_q31)
        if c == 0:
            raise ValueError("need at least one channel")
        self.bias = _check_list("bias", bias, INT32_MIN, INT32_MAX, c)
        self.shift = _check_list("shift", shift, -31, 31, c)
        self.w_x, self.x_signed, self.w_q, self.q_signed = w_x, bool(x_signed), w_q, q_signed
        self.qmin, self.qmax, self.zero_point = int(qmin), int(qmax), int(zero_point)
        self.lanes, self.channels = lanes, c
        self.pipeline = BaselinePipeline.of(pipeline)
        self.dsp_a, self.dsp_b = dsp_a, dsp_b
        self.w_l = unsigned_width(*(max(s, 0) for s in self.shift))
        self.w_r = unsigned_width(*(max(-s, 0) for s in self.shift))
        self.has_ovf = any(v == INT32_MIN for v in self.m_q31)
        self.groups = -(-c // lanes)
        self.w_user = max(1, unsigned_width(self.groups - 1))
        self.depth = pow2_at_least(max(self.groups, 1 << self.w_user))
        self.w_word = 64 + self.w_r + self.w_l + (1 if self.has_ovf else 0)
        p = self.pipeline
        self.dsp_per_lane, mul_latency = multiplier_shape(32, 32, p.mult, dsp_a, dsp_b)
        self.shift_levels = 1 + self.w_r  # the nudge add, then one level per shift bit
        # ECP5 block RAM: DP16KD with its output register, as the unit's block parameter ROM
        # (a registered two-step read: one stage more; Yosys's own DP16KD has it off)
        self.param_reg = param_memory == "block" and family == "ecp5"
        self.latency = (1 + self.param_reg + (1 if p.mult == 2 else 0) + mul_latency
                        + sum(spread(self.shift_levels, p.shift)) + p.out)
        if p.chunk:
            k = p.chunk
            self.dsp_per_lane = (len(split_operand(32, 18 if family == "ecp5" else 16))**2
                                 if family in ("ecp5", "ice40") else self.dsp_per_lane)
            self.stage_counts = {
                "param": 1 + self.param_reg, "bias": -(-32 // k), "lshift": 1 if self.w_l else 0,
                "mult": mult_stages(32, 32, 64, 2, min(dsp_a, dsp_b), family, k),
                "nudge": -(-33 // k), "shift": sum(spread(self.w_r, p.shift)),
                "clamp": -(-34 // k) + 1}
            self.latency = sum(self.stage_counts.values())
        if p.flow == "credit":  # the output FIFO's registered head
            self.latency += 1
        super().__init__(stream_ports(lanes, w_x, w_q, self.w_user))

    @property
    def param_bits_per_channel(self) -> int:
        """Bits of one ROM word: bias (32) + m_q31 (32) + the shift fields (+ overflow flag)."""
        return self.w_word

    def word(self, ch: int) -> int:
        """The ROM word of channel ``ch``: bias, m_q31, right shift, left shift, INT32_MIN flag."""
        w = (self.bias[ch] & 0xFFFFFFFF) | ((self.m_q31[ch] & 0xFFFFFFFF) << 32)
        off = 64
        if self.w_r:
            w |= max(-self.shift[ch], 0) << off
            off += self.w_r
        if self.w_l:
            w |= max(self.shift[ch], 0) << off
            off += self.w_l
        if self.has_ovf and self.m_q31[ch] == INT32_MIN:
            w |= 1 << off
        return w

    def elaborate(self, platform):
        m = Module()
        credit = self.pipeline.flow == "credit"
        if credit:  # free-running: a beat enters the parameter stage in its accept cycle
            from ..fifo import CreditCounter, fifo_depth

            adv = Const(1, 1)
            m.submodules.credit = cred = CreditCounter(fifo_depth(self.latency) + 1)
            src_valid, src_data = self.s_axis_tvalid & cred.ready, self.s_axis_tdata
            src_user, src_last = self.s_axis_tuser, self.s_axis_tlast
            m.d.comb += [self.s_axis_tready.eq(cred.ready), cred.acc.eq(src_valid),
                         cred.pop.eq(self.m_axis_tvalid & self.m_axis_tready),
                         cred.block.eq(0)]
        else:
            lay = in_layout(self.lanes, self.w_x, self.w_user)
            m.submodules.skid = skid = SkidBuffer(lay)
            adv = Signal()
            m.d.comb += [
                skid.i.valid.eq(self.s_axis_tvalid), self.s_axis_tready.eq(skid.i.ready),
                skid.i.payload.data.eq(self.s_axis_tdata),
                skid.i.payload.user.eq(self.s_axis_tuser),
                skid.i.payload.last.eq(self.s_axis_tlast), skid.o.ready.eq(adv),
            ]
            src_valid, src_data = skid.o.valid, skid.o.payload.data
            src_user, src_last = skid.o.payload.user, skid.o.payload.last
        # P: the parameter read, registered beside the beat.
        valid_p, x_p = Signal(), Signal(self.lanes * self.w_x)
        user_p, last_p = Signal(self.w_user), Signal()
        with m.If(adv):
            m.d.sync += [valid_p.eq(src_valid), x_p.eq(src_data), user_p.eq(src_user),
                         last_p.eq(src_last)]
        images = lane_images([self.word(ch) for ch in range(self.channels)], self.lanes,
                             self.depth)
        if self.param_reg:  # the beat waits beside the DP16KD's output register
            valid_p = delay(m, adv, valid_p, 1, "valid_q", reset=True)
            x_p, user_p, last_p = (delay(m, adv, v, 1, f"{n}_q") for v, n in
                                   ((x_p, "x"), (user_p, "user"), (last_p, "last")))
        q_lanes = []
        for lane in range(self.lanes):
            if self.param_reg:
                from ..primitives.ecp5 import dp16kd_rom

                word = Signal(self.w_word, name=f"word{lane}_r")
                dp16kd_rom(m, f"bram{lane}", images[lane], self.w_word, src_user, adv, word,
                           sim=self.sim)
                q_lanes.append(self._lane(m, adv, lane, x_p, word))
                continue
            mem = Memory(shape=self.w_word, depth=self.depth, init=images[lane],
                         attrs=memory_attrs(self.param_memory))
            m.submodules[f"rom{lane}"] = mem
            rp = mem.read_port(domain="sync")
            m.d.comb += [rp.addr.eq(src_user), rp.en.eq(adv)]
            q_lanes.append(self._lane(m, adv, lane, x_p, rp.data))
        n_after = self.latency - 1 - self.param_reg - (1 if credit else 0)
        valid_o = delay(m, adv, valid_p, n_after, "valid", reset=True)
        user_o = delay(m, adv, user_p, n_after, "user")
        last_o = delay(m, adv, last_p, n_after, "last")
        if credit:
            from ..fifo import OutputFifo, fifo_depth

            w = self.lanes * self.w_q
            m.submodules.fifo = fifo = OutputFifo(  # iCE40: the unit's block-RAM FIFO
                w + self.w_user + 1, fifo_depth(self.latency),
                read="sync" if self.family == "ice40" else "comb")
            m.d.comb += [
                fifo.w_valid.eq(valid_o), fifo.w_data.eq(Cat(*q_lanes, user_o, last_o)),
                self.m_axis_tvalid.eq(fifo.o.valid), fifo.o.ready.eq(self.m_axis_tready),
                self.m_axis_tdata.eq(fifo.o.payload[:w]),
                self.m_axis_tuser.eq(fifo.o.payload[w:w + self.w_user]),
                self.m_axis_tlast.eq(fifo.o.payload[-1]),
            ]
            return m
        m.d.comb += [
            adv.eq(~valid_o | self.m_axis_tready),
            self.m_axis_tvalid.eq(valid_o),
            self.m_axis_tdata.eq(Cat(*q_lanes)),
            self.m_axis_tuser.eq(user_o),
            self.m_axis_tlast.eq(last_o),
        ]
        return m

    def _lane(self, m: Module, adv, lane: int, x_p, word):
        p = self.pipeline
        if p.chunk:
            return self._lane_chunked(m, adv, lane, x_p, word)
        x = x_p[lane * self.w_x:(lane + 1) * self.w_x]
        xs = x.as_signed() if self.x_signed else x
        bias = word[0:32].as_signed()
        mq = word[32:64].as_signed()
        off = 64
        rsh = word[off:off + self.w_r] if self.w_r else Const(0, 1)
        off += self.w_r
        lsh = word[off:off + self.w_l] if self.w_l else None
        off += self.w_l
        mmin = word[off] if self.has_ovf else None

        acc = Signal(signed(32), name=f"acc{lane}")
        m.d.comb += acc.eq(xs + bias)  # wraps to int32, as the accumulator does
        if lsh is not None:
            acc_l = Signal(signed(32), name=f"acc_l{lane}")
            m.d.comb += acc_l.eq(acc << lsh)
            acc = acc_l
        ovf = (acc == INT32_MIN) & mmin if mmin is not None else None
        side = [rsh] + ([ovf] if ovf is not None else [])
        side_sig = Signal(len(Cat(*side)), name=f"side{lane}")
        m.d.comb += side_sig.eq(Cat(*side))
        if p.mult == 2:  # register the bias add before the DSPs
            acc = delay(m, adv, acc, 1, f"acc{lane}")
            mq = delay(m, adv, mq, 1, f"mq{lane}")
            side_sig = delay(m, adv, side_sig, 1, f"side_a{lane}")
        mul = PartialProductMultiplier(32, 32, p.mult, self.dsp_a, self.dsp_b, 1 << 30, 64)
        m.submodules[f"mul{lane}"] = mul
        m.d.comb += [mul.en.eq(adv), mul.a.eq(acc), mul.b.eq(mq)]
        side_sig = delay(m, adv, side_sig, mul.latency, f"side_m{lane}")
        rsh_d = side_sig[:len(rsh)]
        high = Signal(signed(32), name=f"srdhm{lane}")
        if ovf is not None:
            m.d.comb += high.eq(Mux(side_sig[len(rsh)], INT32_MAX, mul.p[31:63].as_signed()))
        else:
            m.d.comb += high.eq(mul.p[31:63].as_signed())

        # RoundingDivideByPOT: nudge add, then the barrel shifter; registers spread.
        regs = spread(self.shift_levels, p.shift)
        nz = rsh_d.any()
        half = Signal(32, name=f"half{lane}")
        m.d.comb += half.eq((Const(1, 33) << rsh_d) >> 1)
        v = Signal(signed(33), name=f"nudged{lane}")
        m.d.comb += v.eq(high + half - (high[31] & nz))
        rs = rsh_d
        for lvl in range(self.shift_levels):
            if lvl > 0:
                k = lvl - 1
                nv = Signal(signed(33), name=f"sh{lane}_{k}")
                m.d.comb += nv.eq(Mux(rs[k], v >> (1 << k), v))
                v = nv
            if regs[lvl]:
                v = delay(m, adv, v, 1, f"v{lane}_{lvl}")
                rs = delay(m, adv, rs, 1, f"rs{lane}_{lvl}")
        r = v[:32].as_signed()
        t = Signal(signed(34), name=f"zp{lane}")
        m.d.comb += t.eq(r + self.zero_point)
        q = Signal(unsigned(self.w_q) if not self.q_signed else signed(self.w_q), name=f"q{lane}")
        m.d.comb += q.eq(Mux(t < self.qmin, self.qmin, Mux(t > self.qmax, self.qmax, t)))
        if p.out:
            q = delay(m, adv, q, 1, f"q{lane}")
        return q

    def _lane_chunked(self, m: Module, adv, lane: int, x_p, word):
        """The lane with every wide add in registered ``chunk``-bit carry chunks."""
        k, t = self.pipeline.chunk, f"{lane}"
        x = x_p[lane * self.w_x:(lane + 1) * self.w_x]
        xs = Signal(signed(32), name=f"xs{t}")
        m.d.comb += xs.eq(x.as_signed() if self.x_signed else x)
        off = 64 + self.w_r + self.w_l
        # acc = wrap32(x + bias): carry chunks; the ROM fields wait alongside
        acc = chunked_add(m, adv, xs, word[0:32], 32, k, f"bias{t}")
        rest = delay(m, adv, word[32:off + (1 if self.has_ovf else 0)], -(-32 // k),
                     f"word_b{t}")
        mq = rest[0:32].as_signed()
        rsh = rest[32:32 + self.w_r] if self.w_r else Const(0, 1)
        if self.w_l:
            acc_l = Signal(signed(32), name=f"acc_l{t}")
            m.d.comb += acc_l.eq(acc << rest[32 + self.w_r:32 + self.w_r + self.w_l])
            acc = delay(m, adv, acc_l, 1, f"acc_l{t}")
            mq = delay(m, adv, mq, 1, f"mq_l{t}")
            rest = delay(m, adv, rest, 1, f"word_l{t}")
            rsh = rest[32:32 + self.w_r] if self.w_r else Const(0, 1)
        side = [rsh] + ([(acc == INT32_MIN) & rest[-1]] if self.has_ovf else [])
        side_sig = Signal(len(Cat(*side)), name=f"side{t}")
        m.d.comb += side_sig.eq(Cat(*side))
        # h = SRDHM(acc, mq) = floor((acc*mq + 2^30) / 2^31): the nudge is MulAdd's B
        mul = MulAdd(32, 32, 32, 64, 2, min(self.dsp_a, self.dsp_b), family=self.family,
                     chunk=k, sim=self.sim)
        m.submodules[f"mul{t}"] = mul
        m.d.comb += [mul.en.eq(adv), mul.x.eq(acc), mul.m.eq(mq), mul.b.eq(1 << 30)]
        side_sig = delay(m, adv, side_sig, mul.latency, f"side_m{t}")
        rs = side_sig[:len(rsh)]
        high = Signal(signed(32), name=f"srdhm{t}")
        top = mul.s[31:63].as_signed()
        m.d.comb += high.eq(Mux(side_sig[len(rsh)], INT32_MAX, top) if self.has_ovf else top)
        # RoundingDivideByPOT nudge: + 2^(e-1) - (h < 0) for e >= 1, a bit pattern (no add)
        half = Cat(*[rs == i + 1 for i in range(33)])  # 2^(e-1)
        half_m1 = Cat(*[rs > i + 1 for i in range(33)])  # 2^(e-1) - 1
        pat = Signal(33, name=f"nudge{t}")
        m.d.comb += pat.eq(Mux(high[31] & rs.any(), half_m1, half))
        v = chunked_add(m, adv, Cat(high, high[31]), pat, 33, k, f"rnd{t}")
        rs = delay(m, adv, rs, -(-33 // k), f"rs_n{t}")
        regs = spread(self.w_r, self.pipeline.shift)
        for lvl in range(self.w_r):
            nv = Signal(signed(33), name=f"sh{t}_{lvl}")
            m.d.comb += nv.eq(Mux(rs[lvl], v >> (1 << lvl), v))
            v = nv
            if regs[lvl]:
                v = delay(m, adv, v, 1, f"v{t}_{lvl}")
                rs = delay(m, adv, rs, 1, f"rs{t}_{lvl}")
        # clamp(r + zp): the two tests as the sign of r - (qmin - zp) and (qmax - zp) - r,
        # carry-chunked, beside r + zp's low bits; then the registered select
        r = Signal(signed(34), name=f"r{t}")
        m.d.comb += r.eq(v[:32].as_signed())
        lo_c = Signal(signed(34), name=f"lo_c{t}")
        hi_c = Signal(signed(34), name=f"hi_c{t}")
        m.d.comb += [lo_c.eq(self.zero_point - self.qmin),
                     hi_c.eq(self.qmax - self.zero_point + 1)]
        below = chunked_add(m, adv, r, lo_c, 34, k, f"lo{t}")[33]  # r + zp < qmin
        above = chunked_add(m, adv, ~r, hi_c, 34, k, f"hi{t}")[33]  # r + zp > qmax
        low = Signal(self.w_q, name=f"zp{t}")
        m.d.comb += low.eq(r[:self.w_q] + self.zero_point)
        low = delay(m, adv, low, -(-34 // k), f"zp{t}")
        q = Signal(unsigned(self.w_q) if not self.q_signed else signed(self.w_q), name=f"q{t}")
        with m.If(adv):
            m.d.sync += q.eq(Mux(below, self.qmin, Mux(above, self.qmax, low)))
        return q
