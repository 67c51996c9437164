"""Parameter store: per-lane (M, B, d) words read once per beat, as a ROM or a writable RAM.

Words hold ``M`` (w_m bits), ``B`` (w_b bits) and the shift offset ``d = N - n_min`` (w_d
bits, absent when the shift is constant). Channels mode keeps one memory per lane (lane i,
word g = channel g*L + i); pixel mode keeps one memory whose word c serves every lane.
Addresses past the last word, and channels past C, read as M = B = 0 (output clip(0)).

The read is synchronous: ``addr`` is sampled when ``en`` is high and the words appear on
``m``/``b``/``d`` in the next cycle, held while ``en`` is low; with
``UnitConfig.param_read_split`` they appear one enabled cycle later (the unit's ``dspin``
register moved into the read: a ROM is read as banks of 16 words, then the bank picked);
a ROM packed over several DP16KDs (:func:`block_layout`) takes one enabled cycle more
(``UnitConfig.param_read_extra``: its mapped address registered per lane and bank).
A split ROM whose addresses hold fewer distinct word rows (one row = every lane's word at
that address) than its banks can is stored packed (:func:`packed_rom`): each distinct row
once, and a small table maps the address to its row before the read's address register, so
the read itself stays one bank (a shared unit's per-layer padding is one zero row).

RAM writes (``cfg_*``) are accepted when ``cfg_ready`` (never while ``rst`` is high); a write with
``cfg_addr >= C`` changes nothing and sets the sticky ``cfg_error`` (cleared by reset, the
memory itself is not). The write lands at the end of its handshake cycle.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

from amaranth import C, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .config import UnitConfig, memory_attrs

__all__ = ["BlockLayout", "ParamStore", "block_layout", "pack_word", "packed_rom",
           "store_images"]

_BANK = 16  # words per bank of a two-step ROM read (UnitConfig.param_read_split)
_BLOCK_WORDS = 1024  # words of one DP16KD in x18 (hw/primitives/ecp5.py DP16KD_DEPTH)
_MAX_BLOCK_BANKS = 8  # deeper than this, block_layout gives up (the ROM is not a few blocks)
_MAX_BLOCK_TABLE_BITS = 6  # block_layout's address map: a table of at most 2^6 blocks


def pack_word(cfg: UnitConfig, m: int, b: int, n: int) -> int:
    """One memory word: M in the low bits, then B, then d = N - n_min."""
    word = m & ((1 << cfg.w_m) - 1)
    word |= (b & ((1 << cfg.w_b) - 1)) << cfg.w_m
    if cfg.w_d:
        word |= (n - cfg.n_min) << (cfg.w_m + cfg.w_b)
    return word


def store_images(cfg: UnitConfig) -> list[list[int]]:
    """Initial memory contents, one list per memory (L lists in channels mode, 1 in pixels)."""
    c = cfg.channels
    # the widths once (UnitConfig recomputes n_min/w_d from every N on each use)
    w_m, w_b, w_d, n_min = cfg.w_m, cfg.w_b, cfg.w_d, cfg.n_min
    mask_m, mask_b = (1 << w_m) - 1, (1 << w_b) - 1

    def word(ch: int) -> int:
        v = (cfg.M[ch] & mask_m) | ((cfg.B[ch] & mask_b) << w_m)
        return v | ((cfg.N[ch] - n_min) << (w_m + w_b)) if w_d else v

    if cfg.lane_mode == "pixels":
        return [[word(ch) for ch in range(c)]]
    groups, lanes = cfg.groups, cfg.lanes
    return [[word(g * lanes + lane) if g * lanes + lane < c else 0 for g in range(groups)]
            for lane in range(lanes)]


def packed_rom(cfg: UnitConfig) -> tuple[list[int], list[list[int]]] | None:
    """The packed ROM of a split ROM store, or None when packing saves no bank.

    Returns ``(row_of, images)``: ``row_of[a]`` is the row read for address ``a`` (every
    ``a < 2^w_user``; addresses past the memory read the zero row) and ``images[k][r]`` is
    lane memory k's word in row r. Rows are the distinct address rows in first-use order,
    then zero rows (the first is the padding's), so ``images[k][row_of[a]]`` is a's word."""
    if cfg.store != "rom" or not cfg.param_read_split:
        return None
    images = store_images(cfg)
    depth = len(images[0])
    w_user = cfg.w_user
    if depth <= _BANK or w_user > 10:  # one bank already / the map would be a large table
        return None
    zero = (0,) * len(images)
    rows: dict[tuple[int, ...], int] = {}
    for a in range(depth):
        row = tuple(img[a] for img in images)
        if row != zero:
            rows.setdefault(row, len(rows))
    n_rows = len(rows) + 1  # + the zero row
    if -(-n_rows // _BANK) >= -(-depth // _BANK):
        return None
    row_of = [rows.get(tuple(img[a] for img in images), len(rows)) if a < depth else len(rows)
              for a in range(1 << w_user)]
    # one bank: zero rows up to a power of two, so every value of the row register reads a
    # defined word (no out-of-range read, also not in the proofs' unreachable states)
    size = 1 << max(1, (n_rows - 1).bit_length()) if n_rows <= _BANK else n_rows
    packed = [[row[k] for row in rows] + [0] * (size - len(rows)) for k in range(len(images))]
    return row_of, packed


@dataclass(frozen=True)
class BlockLayout:
    """A ROM address space packed into DP16KD words (:func:`block_layout`).

    The address ``a`` splits into ``hi = a >> k`` (a block; a shared unit's layer) and
    ``lo = a & (2^k - 1)``. Block ``hi`` holds ``size[hi]`` words (0 or a power of two) at
    ``base[hi]``, a multiple of ``size[hi]``, so its physical word is ``base[hi] | lo`` (an
    OR, no carry); ``lo >= size[hi]`` reads zero (the hardware clears the word with a
    registered flag; :meth:`phys` gives ``zero``, the first free word, for it). ``images[k]``
    is lane memory k's packed words (``banks * 1024``, zeros after the last)."""

    k: int
    base: tuple[int, ...]
    size: tuple[int, ...]
    zero: int
    banks: int
    images: tuple[tuple[int, ...], ...]

    def phys(self, a: int) -> int:
        """The physical word of address ``a`` (the hardware's map, for tests and docs)."""
        hi, lo = a >> self.k, a & ((1 << self.k) - 1)
        if hi >= len(self.size) or lo >= self.size[hi]:
            return self.zero
        return self.base[hi] | lo


@functools.lru_cache(maxsize=4)
def block_layout(cfg: UnitConfig) -> BlockLayout | None:
    """The packed DP16KD layout of an ECP5 block-RAM ROM whose addresses (``2^w_user``, a
    shared unit's ``{layer, group}``) span more than one DP16KD, or None.

    Each block of ``2^k`` addresses keeps its words up to its last non-zero row, rounded up
    to a power of two; blocks are placed largest first, so each is aligned to its size; one
    zero word follows them. ``k`` is the widest split (at most ``2^6`` blocks) that needs
    the fewest DP16KDs (a shared unit: its group bits). Deeper than ``_MAX_BLOCK_BANKS``
    DP16KDs: None."""
    if not (cfg.family == "ecp5" and cfg.store == "rom" and cfg.param_memory == "block"
            and cfg.param_read_split and (1 << cfg.w_user) > _BLOCK_WORDS):
        return None
    images = store_images(cfg)
    depth = len(images[0])
    w_user = cfg.w_user
    nonzero = [any(img[a] for img in images) for a in range(depth)]
    best = None
    last = [a for a in range(depth) if nonzero[a]]  # the non-zero addresses, ascending
    for k in range(w_user, max(0, w_user - _MAX_BLOCK_TABLE_BITS) - 1, -1):
        top = [0] * (1 << (w_user - k))  # per block: its last non-zero row + 1
        for a in last:
            top[a >> k] = (a & ((1 << k) - 1)) + 1
        sizes = [0 if not u else 1 << (u - 1).bit_length() for u in top]
        banks = -(-(sum(sizes) + 1) // _BLOCK_WORDS)
        if best is None or banks < best[0]:  # fewest DP16KDs, then the widest k (from
            best = (banks, k, sizes)          # w_user down): the smallest block table
    _, k, sizes = best
    base = [0] * len(sizes)
    nxt = 0
    for hi in sorted(range(len(sizes)), key=lambda h: (-sizes[h], h)):
        base[hi], nxt = nxt, nxt + sizes[hi]
    zero = nxt
    banks = -(-(zero + 1) // _BLOCK_WORDS)
    if banks > _MAX_BLOCK_BANKS:
        return None
    lay = BlockLayout(k=k, base=tuple(base), size=tuple(sizes), zero=zero, banks=banks,
                      images=())
    packed = []
    for img in images:
        words = [0] * (banks * _BLOCK_WORDS)
        for a in range(depth):
            if img[a]:
                words[lay.phys(a)] = img[a]
        packed.append(tuple(words))
    return dataclasses.replace(lay, images=tuple(packed))


class ParamStore(wiring.Component):
    """Per-lane (M, B, d) for the beat whose tuser is on ``addr``; ROM or RAM (``cfg.store``)."""

    def __init__(self, cfg: UnitConfig):
        self.cfg = cfg
        lanes = cfg.lanes
        sig = {
            "en": In(1),
            "addr": In(cfg.w_user),
            "m": Out(signed(cfg.w_m)).array(lanes),
            "b": Out(signed(cfg.w_b)).array(lanes),
            "d": Out(unsigned(max(cfg.w_d, 1))).array(lanes),
        }
        if cfg.store == "ram":
            sig.update({
                "cfg_valid": In(1),
                "cfg_ready": In(1),  # decided by the unit (quiet stream), see unit.py
                "cfg_addr": In(cfg.w_addr),
                "cfg_m": In(cfg.w_m),
                "cfg_b": In(cfg.w_b),
                "cfg_error": Out(1),
            })
            if cfg.shift_mode == "per-channel":
                sig["cfg_n"] = In(cfg.w_n)
        super().__init__(sig)

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        w_word = cfg.w_m + cfg.w_b + cfg.w_d
        depth = cfg.groups
        w_idx = max(1, (depth - 1).bit_length())
        images = store_images(cfg)
        split = cfg.param_read_split  # a 2-cycle read: the dspin register moved in here
        from .primitives import uses_dp16kd

        layout = block_layout(cfg)
        if layout is not None:  # DP16KDs, packed: the address mapped before their register
            self._lanes_out(m, self._block_rom(m, layout, w_word))
            return m
        if uses_dp16kd(cfg):  # ECP5 block RAM with its output register: the 2-cycle read
            words = [self._dp16kd(m, k, img, w_word) for k, img in enumerate(images)]
            self._lanes_out(m, words)
            return m
        packed = packed_rom(cfg)
        if packed is not None:  # rows mapped before the read's address register
            row_of, images = packed
            words = self._packed_rom(m, row_of, images, w_word)
            self._lanes_out(m, words)
            return m
        if split and cfg.store == "rom" and depth > _BANK:
            words = [self._banked_rom(m, k, img, w_word, self.addr)
                     for k, img in enumerate(images)]
            self._lanes_out(m, words)
            return m
        mems = []
        for k, img in enumerate(images):
            mem = Memory(shape=unsigned(w_word), depth=depth, init=img,
                         attrs=memory_attrs(cfg.param_memory))
            m.submodules[f"mem{k}"] = mem
            mems.append(mem)

        # Addresses past the memory read as zero words (padding channels).
        pad_r = Signal()
        if (1 << cfg.w_user) > depth:
            with m.If(self.en):
                m.d.sync += pad_r.eq(self.addr >= depth)

        words = []
        for k, mem in enumerate(mems):
            rp = mem.read_port(domain="sync")
            m.d.comb += [rp.addr.eq(self.addr[:w_idx]), rp.en.eq(self.en)]
            word = Mux(pad_r, 0, rp.data)
            if split:  # the second read stage: a plain register after the memory's own
                word_r = Signal(w_word, name=f"word{k}_r", reset_less=True)
                with m.If(self.en):
                    m.d.sync += word_r.eq(word)
                word = word_r
            words.append(word)
        self._lanes_out(m, words)

        if cfg.store == "ram":
            self._write_logic(m, mems, w_idx)
        return m

    def _lanes_out(self, m: Module, words: list) -> None:
        cfg = self.cfg
        for lane in range(cfg.lanes):
            word = words[lane if cfg.lane_mode == "channels" else 0]
            m.d.comb += [
                self.m[lane].eq(word[:cfg.w_m].as_signed()),
                self.b[lane].eq(word[cfg.w_m:cfg.w_m + cfg.w_b].as_signed()),
            ]
            if cfg.w_d:
                m.d.comb += self.d[lane].eq(word[cfg.w_m + cfg.w_b:])

    def _dp16kd(self, m: Module, k: int, img: list[int], w_word: int):
        """Memory k as DP16KD blocks, REGMODE_A = OUTREG (hw/primitives/ecp5.py)."""
        from .primitives.ecp5 import dp16kd_rom

        word = Signal(w_word, name=f"word{k}_r")
        dp16kd_rom(m, f"bram{k}", img, w_word, self.addr, self.en, word,
                   sim=self.cfg.sim_models)
        return word

    def _block_rom(self, m: Module, lay: BlockLayout, w_word: int) -> list:
        """The :func:`block_layout` ROM, read in three enabled cycles
        (``UnitConfig.param_read_extra``):

        1. ``phys = base[hi] | (lo & (size[hi] - 1))`` (a table on the block bits, no carry,
           no mux) into a register per lane memory and DP16KD bank, placed next to that
           bank's blocks (one net no longer reaches every DP16KD's address pins); beside it
           each bank's use flag: the bank holds the word and the address is inside its
           layer's block (``lo < size[hi]``; else the word reads zero);
        2. the DP16KDs' own address register; 3. their output register (REGMODE_A = OUTREG).

        The word is the OR of each bank's output ANDed with its use flag, registered per
        lane beside the output register (one LUT level, no shared select net). While a bank
        is not used its address register loads 0 (the address is then never looked at), so
        the banks' copies differ. The lanes' copies of one bank would be equal flip-flops,
        which Yosys's opt_merge merges back into one: lane memory k's copies hold the
        address inverted when ``k`` is odd (that bank's image stored in reverse order, so
        word ``a`` sits at ``~a``) and start from all ones when ``k & 2`` (a flip-flop's
        initial value, which opt_merge compares), so four lanes' copies stay four."""
        from .primitives.ecp5 import dp16kd_rom

        w_phys = max(1, (lay.banks * _BLOCK_WORDS - 1).bit_length())
        phys = Signal(w_phys, name="phys")
        pad, empty = Signal(name="pad"), Signal(name="blk_empty")
        lo, hi = self.addr[:lay.k], self.addr[lay.k:]
        base = Signal(w_phys, name="blk_base")
        mask = Signal(max(1, lay.k), name="blk_mask")
        with m.Switch(hi):
            for h, size in enumerate(lay.size):
                if size:
                    with m.Case(h):
                        m.d.comb += [base.eq(lay.base[h]), mask.eq(size - 1)]
            with m.Default():
                m.d.comb += [base.eq(lay.zero), mask.eq(0), empty.eq(1)]
        m.d.comb += phys.eq(base | (lo & mask[:lay.k]) if lay.k else base)
        m.d.comb += pad.eq(empty | (lo & ~mask[:lay.k]).any() if lay.k else empty)
        lo_bits = _BLOCK_WORDS.bit_length() - 1
        ones = (1 << lo_bits) - 1
        sel = phys[lo_bits:] if lay.banks > 1 else C(0, 1)
        en = self.en
        # each bank's use flag, registered with the address copies, then with the DP16KDs'
        # address register (the per-lane copies follow with their output register)
        use_b = []
        for j in range(lay.banks):
            ua, ub = (Signal(name=f"use{j}_{n}", reset_less=True) for n in "ab")
            with m.If(en):
                m.d.sync += [ua.eq((sel == j) & ~pad), ub.eq(ua)]
            use_b.append(ub)
        words = []
        for k, img in enumerate(lay.images):
            inv, start = k & 1, (k >> 1) & 1  # lane memory k's form (see above)
            terms = []
            for j in range(lay.banks):
                part = list(img[j * _BLOCK_WORDS:(j + 1) * _BLOCK_WORDS])
                a_d = phys[:lo_bits] if lay.banks == 1 else Mux(sel == j, phys[:lo_bits], 0)
                if inv:
                    part, a_d = part[::-1], a_d ^ ones
                a_r = Signal(lo_bits, name=f"addr{k}_{j}_r", init=ones if start else 0,
                             reset_less=True)
                with m.If(en):
                    m.d.sync += a_r.eq(a_d)
                out = Signal(w_word, name=f"word{k}_{j}_r")
                dp16kd_rom(m, f"bram{k}_{j}", part, w_word, a_r, en, out,
                           sim=self.cfg.sim_models)
                # the use flag's copy: inverted when inv, starting from start
                u = Signal(name=f"use{k}_{j}_r", init=start, reset_less=True)
                with m.If(en):
                    m.d.sync += u.eq(~use_b[j] if inv else use_b[j])
                terms.append(Mux(u, 0, out) if inv else Mux(u, out, 0))
            word = Signal(w_word, name=f"word{k}")
            acc = terms[0]
            for t in terms[1:]:
                acc = acc | t
            m.d.comb += word.eq(acc)
            words.append(word)
        return words

    def _packed_rom(self, m: Module, row_of: list[int], images: list[list[int]],
                    w_word: int) -> list:
        """A packed ROM (:func:`packed_rom`) in two registered steps: the address's row
        (the map, a small table on the address) into ``row_r``, shared by every lane; then
        each lane's bank read from ``row_r`` into its word register (no bank mux while the
        rows fit one bank)."""
        n_rows = len(images[0])
        row = Signal(max(1, (n_rows - 1).bit_length()), name="row")
        with m.Switch(self.addr):
            for a, r in enumerate(row_of):
                with m.Case(a):
                    m.d.comb += row.eq(r)
        if n_rows > _BANK:  # several banks still: the two-step banked read on the rows
            return [self._banked_rom(m, k, img, w_word, row) for k, img in enumerate(images)]
        row_r = Signal.like(row, name="row_r", reset_less=True)
        with m.If(self.en):
            m.d.sync += row_r.eq(row)
        words = []
        for k, img in enumerate(images):
            mem = Memory(shape=unsigned(w_word), depth=n_rows, init=img,
                         attrs=memory_attrs(self.cfg.param_memory))
            m.submodules[f"mem{k}"] = mem
            rp = mem.read_port(domain="comb")
            word_r = Signal(w_word, name=f"word{k}_r", reset_less=True)
            m.d.comb += rp.addr.eq(row_r)
            with m.If(self.en):
                m.d.sync += word_r.eq(rp.data)
            words.append(word_r)
        return words

    def _banked_rom(self, m: Module, k: int, img: list[int], w_word: int, addr):
        """A ROM read in two registered steps: banks of ``_BANK`` words read in parallel
        (one LUT4 level per bit), then the bank picked by the registered high address bits.
        Words past the image read as zero."""
        cfg = self.cfg
        lo_bits = _BANK.bit_length() - 1
        n_banks = -(-len(img) // _BANK)
        w_hi = max(1, (n_banks - 1).bit_length())
        hi = addr[lo_bits:]
        hi_r = Signal(w_hi, name=f"bank{k}_r", reset_less=True)
        pad_r = Signal(name=f"pad{k}_r", reset_less=True)
        with m.If(self.en):
            m.d.sync += [hi_r.eq(hi[:w_hi]), pad_r.eq(addr >= len(img))]
        datas = []
        for j in range(n_banks):
            part = img[j * _BANK:(j + 1) * _BANK]
            mem = Memory(shape=unsigned(w_word), depth=len(part), init=part,
                         attrs=memory_attrs(cfg.param_memory))
            m.submodules[f"mem{k}_bank{j}"] = mem
            rp = mem.read_port(domain="sync")
            m.d.comb += [rp.addr.eq(addr[:max(1, (len(part) - 1).bit_length())]),
                         rp.en.eq(self.en)]
            datas.append(rp.data)
        word_r = Signal(w_word, name=f"word{k}_r", reset_less=True)
        with m.If(self.en):
            with m.Switch(hi_r):
                for j, dj in enumerate(datas):
                    with m.Case(j):
                        m.d.sync += word_r.eq(Mux(pad_r, 0, dj))
                with m.Default():
                    m.d.sync += word_r.eq(0)
        return word_r

    def _write_logic(self, m: Module, mems: list, w_idx: int) -> None:
        cfg = self.cfg
        take = self.cfg_valid & self.cfg_ready
        in_range = self.cfg_addr < cfg.channels
        err = Signal()
        m.d.comb += self.cfg_error.eq(err)
        with m.If(take & ~in_range):
            m.d.sync += err.eq(1)
        data = Cat(self.cfg_m, self.cfg_b)
        if cfg.w_d:
            data = Cat(data, self.cfg_n)  # RAM per-channel: n_min = 0, so d = N
        ports = [mem.write_port() for mem in mems]
        for wp in ports:
            m.d.comb += wp.data.eq(data)
        if cfg.lane_mode == "pixels" or cfg.lanes == 1:
            m.d.comb += [ports[0].addr.eq(self.cfg_addr[:w_idx]), ports[0].en.eq(take & in_range)]
            return
        lanes = cfg.lanes
        lane_sel = Signal(range(lanes))
        idx = Signal(w_idx)
        if lanes & (lanes - 1) == 0:
            sh = lanes.bit_length() - 1
            m.d.comb += [lane_sel.eq(self.cfg_addr[:sh]), idx.eq(self.cfg_addr[sh:])]
        else:  # c -> (c % L, c // L) as a small table: no divider
            with m.Switch(self.cfg_addr):
                for ch in range(cfg.channels):
                    with m.Case(ch):
                        m.d.comb += [lane_sel.eq(ch % lanes), idx.eq(ch // lanes)]
                with m.Default():  # cfg_addr >= C: no write happens
                    m.d.comb += [lane_sel.eq(0), idx.eq(0)]
        for lane, wp in enumerate(ports):
            m.d.comb += [wp.addr.eq(idx), wp.en.eq(take & in_range & (lane_sel == lane))]
