"""The BN unit with stream ports: input stage -> parameter read -> per-lane datapath.

Per lane: ``q = clip(R_hw((M*x + B) / 2^N), qmin, qmax)`` (MulAdd -> Shifter ->
RoundingStage -> Saturator). Two flow-control schemes (``Pipeline.flow``):

- ``stall``: the whole pipeline advances together (``adv``) whenever its last stage is
  empty or the consumer takes the beat (one clock enable over every datapath register); the
  skid buffer in front keeps the input's ``ready`` registered.
- ``credit``: the pipeline runs free (no clock enable); its beats enter an output FIFO of
  ``fifo_depth(latency)`` words plus a registered head (hw/fifo.py), and ``s_axis_tready``
  is a register that admits a beat only while fewer than depth + 1 beats are accepted and
  not yet taken at the output, so the FIFO never overflows. Latency one more (the head);
  an output skid buffer behind the head keeps ``o.ready``'s fan-out to a few registers.

In both, ``o.ready`` reaches no input port combinationally.

RAM store arbitration: ``cfg_valid`` lowers the stream's ``ready`` from the next cycle on;
``cfg_ready`` is high when the stream is not accepting and no accepted beat is still
waiting for its parameter read (stall: the skid buffer is empty; credit: a beat reads its
words in its accept cycle, so ``ready`` low suffices), and low while ``rst`` is high. So
every beat accepted before a write handshake uses the old words and every beat accepted
after it the new ones (beats still in flight already hold their words).
"""

from __future__ import annotations

from amaranth import C, Cat, Const, Module, ResetSignal, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .config import UnitConfig
from .fifo import CreditCounter, OutputFifo, fifo_depth
from .layer_table import LayerClamp, LayerTable, table_ports
from .multiplier import MulAdd
from .regs import delay
from .rounding import RoundingStage
from .saturate import Saturator
from .shifter import Shifter
from .skid import SkidBuffer
from .store import ParamStore

__all__ = ["BatchNormCore", "in_layout", "out_layout"]


def in_layout(cfg: UnitConfig) -> data.StructLayout:
    return data.StructLayout({
        "data": cfg.lanes * cfg.w_x, "user": cfg.w_user, "last": 1,
    })


def out_layout(cfg: UnitConfig) -> data.StructLayout:
    return data.StructLayout({
        "data": cfg.lanes * cfg.w_q, "user": cfg.w_user_out, "last": 1,
    })


class BatchNormCore(wiring.Component):
    """Stream-level BN unit: ``i``/``o`` are ``amaranth.lib.stream`` interfaces."""

    def __init__(self, cfg: UnitConfig):
        self.cfg = cfg
        sig = {
            "i": In(stream.Signature(in_layout(cfg))),
            "o": Out(stream.Signature(out_layout(cfg))),
        }
        if cfg.store == "ram":
            sig.update({
                "cfg_valid": In(1), "cfg_ready": Out(1), "cfg_addr": In(cfg.w_addr),
                "cfg_m": In(cfg.w_m), "cfg_b": In(cfg.w_b), "cfg_error": Out(1),
            })
            if cfg.shift_mode == "per-channel":
                sig["cfg_n"] = In(cfg.w_n)
            for nm, d, wd in table_ports(cfg):  # shared unit: the layer table's write port
                sig[nm] = (In if d == "input" else Out)(wd)
        if cfg.range_check:
            sig["range_error"] = Out(1)
        super().__init__(sig)

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        credit = cfg.pipeline.flow == "credit"
        m.submodules.store = store = ParamStore(cfg)
        block = (self.cfg_valid | (self.tbl_valid if table_ports(cfg) else 0)
                 if cfg.store == "ram" else C(0, 1))
        if credit:  # free-running: every stage moves every cycle
            adv = Const(1, 1)
            m.submodules.credit = cred = CreditCounter(fifo_depth(cfg.latency) + 1)
            src = self.i  # the beat enters the parameter stage in its accept cycle
            src_valid = self.i.valid & cred.ready
            m.d.comb += [self.i.ready.eq(cred.ready), cred.acc.eq(src_valid),
                         cred.pop.eq(self.o.valid & self.o.ready), cred.block.eq(block)]
            # a beat reads its words when accepted: ready low means none is waiting
            quiet = ~cred.ready
        else:
            adv = Signal()  # the whole pipeline moves one stage
            m.submodules.skid = skid = SkidBuffer(in_layout(cfg))
            wiring.connect(m, wiring.flipped(self.i), skid.i)
            m.d.comb += [skid.o.ready.eq(adv), skid.block.eq(block)]
            src, src_valid = skid.o, skid.o.valid
            quiet = ~skid.i.ready & skid.empty
        self._src_user = src.payload.user
        m.d.comb += [store.en.eq(adv), store.addr.eq(src.payload.user)]

        if cfg.store == "ram":
            cfg_ready = Signal()
            m.d.comb += [
                # never during rst: a cfg write in a reset cycle is not accepted
                cfg_ready.eq(quiet & ~ResetSignal()),
                self.cfg_ready.eq(cfg_ready),
                store.cfg_valid.eq(self.cfg_valid),
                store.cfg_ready.eq(cfg_ready),
                store.cfg_addr.eq(self.cfg_addr),
                store.cfg_m.eq(self.cfg_m),
                store.cfg_b.eq(self.cfg_b),
                self.cfg_error.eq(store.cfg_error),
            ]
            if cfg.shift_mode == "per-channel":
                m.d.comb += store.cfg_n.eq(self.cfg_n)

        # Parameter-read stage (P): the beat is registered beside its memory words.
        # (data registers without reset: valid_p says whether they hold a beat)
        valid_p = Signal()
        x_p = Signal(cfg.lanes * cfg.w_x, reset_less=True)
        user_p = Signal(cfg.w_user, reset_less=True)
        last_p = Signal(reset_less=True)
        with m.If(adv):
            m.d.sync += [
                valid_p.eq(src_valid),
                x_p.eq(src.payload.data),
                user_p.eq(src.payload.user),
                last_p.eq(src.payload.last),
            ]

        st = dict(cfg.stages)
        n_after = st["dspin"] + st["mult"] + st["shift"] + st["round"] + st["out"]  # fifo apart
        # the block-RAM read's third cycle (UnitConfig.param_read_extra, counted in
        # stages["dspin"]): x waits beside it; the multipliers keep their own dspin
        extra = cfg.param_read_extra
        st["dspin"] -= extra
        x_all = delay(m, adv, x_p, extra, "x_w")
        bounds = self._layer_bounds(m, adv, user_p, n_after - st["out"])
        q_lanes = []
        for lane in range(cfg.lanes):
            x = x_all[lane * cfg.w_x:(lane + 1) * cfg.w_x]
            xs = Signal(signed(cfg.w_xs), name=f"x{lane}")
            m.d.comb += xs.eq(x.as_signed() if cfg.x_signed else x)
            mul = MulAdd(cfg.w_xs, cfg.w_m, cfg.w_b, cfg.w_s, cfg.pipeline.mult, cfg.dsp_width,
                         st["dspin"], family=cfg.family, chunk=cfg.pipeline.chunk,
                         sim=cfg.sim_models, mb_registered=cfg.param_read_split,
                         preg=cfg.pipeline.preg, form=cfg.pipeline.csa_form())
            sh = Shifter(cfg.w_s, cfg.n_min, cfg.n_max, cfg.w_t, st["shift"])
            rnd = RoundingStage(cfg.w_t, cfg.hw_rounding, st["round"])
            sat = Saturator(cfg.w_t + 1, cfg.w_q, cfg.qmin, cfg.qmax,
                            0 if bounds else st["out"])
            for nm, sub in (("mul", mul), ("shift", sh), ("round", rnd), ("sat", sat)):
                m.submodules[f"{nm}{lane}"] = sub
                m.d.comb += sub.en.eq(adv)
            # with param_read_split the store's words come out after the dspin stage already
            d_lag = st["dspin"] * (not cfg.param_read_split) + st["mult"]
            d = delay(m, adv, store.d[lane], d_lag, f"d{lane}")
            m.d.comb += [
                mul.x.eq(xs), mul.m.eq(store.m[lane]), mul.b.eq(store.b[lane]),
                sh.s.eq(mul.s), sh.d.eq(d[:len(sh.d)]),
                rnd.t.eq(sh.t), rnd.half.eq(sh.half), rnd.sticky.eq(sh.sticky),
                rnd.ov.eq(sh.ov), rnd.neg.eq(sh.neg),
                sat.r.eq(rnd.r), sat.ov.eq(rnd.ov_o), sat.neg.eq(rnd.neg_o),
            ]
            q = sat.q
            if bounds:  # shared unit: then the beat's own layer's clip (hw/layer_table.py)
                m.submodules[f"clamp{lane}"] = cl = LayerClamp(cfg.w_q, cfg.q_signed, st["out"])
                m.d.comb += [cl.en.eq(adv), cl.q_in.eq(sat.q), cl.lo.eq(bounds[0]),
                             cl.hi.eq(bounds[1])]
                q = cl.q
            q_lanes.append(q)

        user_o = user_p
        if cfg.range_check:
            flag_p = self._range_flag(m, adv, x_p)
            user_o = Cat(user_p, flag_p)
        valid_o = delay(m, adv, valid_p, n_after, "valid", reset=True)
        user_o = delay(m, adv, user_o, n_after, "user")
        last_o = delay(m, adv, last_p, n_after, "last")
        q_data = Cat(*q_lanes)
        if credit:
            lay = out_layout(cfg)
            # ECP5: the head's load enable as registered copies (at most 4 head groups of
            # at least 8 bits: hw/fifo.py), not one net to every head bit
            group = max(8, -(-lay.size // 4)) if cfg.family == "ecp5" else 0
            m.submodules.fifo = fifo = OutputFifo(  # iCE40: no LUT RAM, block RAM read
                lay.size, fifo_depth(cfg.latency),
                read="sync" if cfg.family == "ice40" else "comb", group=group)
            # an output skid: o.ready reaches two flip-flops (and the credit's pop register)
            m.submodules.oskid = oskid = SkidBuffer(lay.size, load_when_ready=True)
            if group:
                m.d.comb += fifo.ready_next.eq(oskid.ready_next)
            m.d.comb += [
                fifo.w_valid.eq(valid_o),
                fifo.w_data.eq(Cat(q_data, user_o, last_o)),
                oskid.i.valid.eq(fifo.o.valid),
                oskid.i.payload.eq(fifo.o.payload),
                fifo.o.ready.eq(oskid.i.ready),
                self.o.valid.eq(oskid.o.valid),
                self.o.payload.eq(oskid.o.payload),
                oskid.o.ready.eq(self.o.ready),
            ]
        else:
            m.d.comb += [
                adv.eq(~valid_o | self.o.ready),
                self.o.valid.eq(valid_o),
                self.o.payload.data.eq(q_data),
                self.o.payload.user.eq(user_o),
                self.o.payload.last.eq(last_o),
            ]
        if cfg.range_check:
            err = Signal()
            with m.If(self.o.valid & self.o.ready & self.o.payload.user[-1]):
                m.d.sync += err.eq(1)
            m.d.comb += self.range_error.eq(err)
        return m

    def _layer_bounds(self, m: Module, adv, user_p, n_sat):
        """The beat's layer clip at the saturator stage (None without a layer table).
        ROM: constants looked up from the delayed layer index; RAM: read with the parameters
        (so a table write obeys the cfg ordering rule) and carried with the beat."""
        cfg = self.cfg
        if not cfg.layer_table:
            return None
        m.submodules.table = tbl = LayerTable(cfg)
        k = cfg.layer_shift
        if cfg.w_user <= k:  # one layer block: the index is always 0
            user_p, skid_user = C(0, 1), C(0, 1)
        else:
            user_p, skid_user = user_p[k:], self._src_user[k:]
        if cfg.store == "rom":
            m.d.comb += tbl.layer.eq(delay(m, adv, user_p, n_sat, "layer"))
            return tbl.lo, tbl.hi
        m.d.comb += [
            tbl.layer.eq(skid_user), tbl.wr_valid.eq(self.tbl_valid),
            tbl.wr_ready.eq(self.cfg_ready), tbl.wr_addr.eq(self.tbl_addr),
            tbl.wr_qmin.eq(self.tbl_qmin), tbl.wr_qmax.eq(self.tbl_qmax),
            self.tbl_ready.eq(self.cfg_ready), self.tbl_error.eq(tbl.error),
        ]
        lo_p = Signal.like(tbl.lo, name="lo_p", reset_less=True)
        hi_p = Signal.like(tbl.hi, name="hi_p", reset_less=True)
        with m.If(adv):
            m.d.sync += [lo_p.eq(tbl.lo), hi_p.eq(tbl.hi)]
        return delay(m, adv, lo_p, n_sat, "lo"), delay(m, adv, hi_p, n_sat, "hi")

    def _range_flag(self, m: Module, adv, x_p):
        """Beat flag (registered with P): some lane's x lies outside its channel's range."""
        cfg = self.cfg
        w = cfg.w_x
        depth = cfg.groups
        w_idx = max(1, (depth - 1).bit_length())
        ranges = list(cfg.x_ranges)
        full = (cfg.x_min, cfg.x_max)

        def word(lo: int, hi: int) -> int:
            return (lo & ((1 << w) - 1)) | ((hi & ((1 << w) - 1)) << w)

        if cfg.lane_mode == "pixels":
            images = [[word(*ranges[c]) for c in range(cfg.channels)]]
        else:
            images = [[word(*(ranges[g * cfg.lanes + lane] if g * cfg.lanes + lane < cfg.channels
                              else full)) for g in range(depth)] for lane in range(cfg.lanes)]
        rd = []
        for k, img in enumerate(images):
            mem = Memory(shape=2 * w, depth=depth, init=img)
            m.submodules[f"range_mem{k}"] = mem
            rd.append((mem, mem.read_port(domain="sync")))
        # The read must use the parameter read's address (the beat entering stage P).
        skid_user = self._src_user
        pad = Signal(reset_less=True)  # the beat's data, like x_p
        if (1 << cfg.w_user) > depth:
            with m.If(adv):
                m.d.sync += pad.eq(skid_user >= depth)
        bad = []
        for lane in range(cfg.lanes):
            _, rp = rd[lane if cfg.lane_mode == "channels" else 0]
            x = x_p[lane * w:(lane + 1) * w]
            lo, hi = rp.data[:w], rp.data[w:]
            if cfg.x_signed:
                x, lo, hi = x.as_signed(), lo.as_signed(), hi.as_signed()
            bad.append((x < lo) | (x > hi))
        for _, rp in rd:
            m.d.comb += [rp.addr.eq(skid_user[:w_idx]), rp.en.eq(adv)]
        flag = Signal()
        m.d.comb += flag.eq(Cat(*bad).any() & ~pad)
        return flag
