"""Plain parameters of one threshold unit: widths, lanes, store, per-channel thresholds.

Per lane: ``q = qmin + #{k : T_k <= d*x}`` with the direction ``d`` (+1/-1) and the
``qmax - qmin`` non-decreasing thresholds ``T`` of the lane's channel. Nothing here knows
where the thresholds came from; ``exactbn.generate`` derives them from a solved file.

Stored form (what the memories and ``cfg_value`` hold): ``n = bits(qmax - qmin)`` levels,
``2^n - 1`` slots per channel; slot k holds ``U_k = T_k`` (d = +1) or ``U_k = 1 - T_k``
(d = -1, compared as ``not (x >= U_k)``, so every lane needs ``>=`` comparators only).
Slots past ``qmax - qmin`` hold a value never met in the channel's range (``hi + 1``, or
``lo`` with d = -1) and the count is clamped at ``qmax - qmin``. Padding channels (past C)
output ``qmin`` (ROM: a pad bit beside the direction bit; RAM: a flag derived from the
word's address).

Narrow ROM words (``compact``, :attr:`ThresholdConfig.t_clamp`): ``x_max + 1`` (never met
by ``x >= U``) is the only stored value past the input's bits; when no stored value is
``x_max``, a ROM stores it as ``x_max`` and the unit compares ``min(x, x_max - 1)``, which
gives the same bit for every input (every ``U < x_max`` is met by both at ``x_max``), one
bit narrower.

Stages (``stages``): ``fast`` reads every level from registers (module docstring of
hw/threshold_unit.py); ``compact`` (the iCE40 preset, where a logic cell holds one LUT or
one flip-flop of a delay line) gives every block-RAM level j >= 1 its address straight from
level j-1's comparison (the RAM's own address register is the stage register, so each such
level costs one stage, not two or three), reads a block-RAM first level with the beat's
parameter read, and maps logic ROM levels as LUT4 tables (hw/threshold_unit.py). A logic
first level stays read from registers: read with the parameter read, the skid buffer's
output mux and the ROM form one path (iCE40 UP5K, C = 64: ~54 MHz, ~75 from registers).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from exactbn.formats import twos_width, unsigned_width

from .config import CFG_BUSES, LANE_MODES, MAX_CHANNELS, MAX_LANES, PARAM_MEMORIES, STORES
from .names import name_problem

__all__ = ["SEARCHES", "STAGES", "PARALLEL_MAX_LEVELS", "LOGIC_MAX_BITS", "READ_WAIT",
           "COMPACT_LOGIC_MAX_BITS", "ThresholdConfig", "stages_for"]

SEARCHES = ("auto", "binary", "parallel")
STAGES = ("fast", "compact")
FAMILY_STAGES = {"ice40": "compact"}  # measured: bench/results/threshold.md
COMPACT_LOGIC_MAX_BITS = 1024  # compact: larger levels are block RAM (iCE40: 4 kbit blocks)
LOGIC_MAX_BITS = 2048  # larger level memories are block RAM: their output is registered
# again (READ_WAIT stages from address to comparison), so no path runs block RAM -> compare
READ_WAIT = 2
PARALLEL_MAX_LEVELS = 1  # auto: parallel only for one threshold (2 levels: binary, as fast
# as FINN's; a 3-wide parallel word maps to block RAM on ECP5 and runs at ~85 MHz)


def stages_for(family: str | None) -> str:
    """The threshold unit's default ``stages`` on an FPGA family (``fast`` elsewhere)."""
    return FAMILY_STAGES.get(family or "", "fast")


def _check_int(name: str, v, lo: int, hi: int) -> None:
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise ValueError(f"{name} must be an integer in {lo}..{hi}, got {v!r}")


@dataclass(frozen=True)
class ThresholdConfig:
    """Everything the threshold unit's hardware depends on (see module docstring)."""

    w_x: int
    x_signed: bool
    w_q: int
    q_signed: bool
    qmin: int
    qmax: int
    directions: tuple = ()
    thresholds: tuple = ()
    lanes: int = 1
    lane_mode: str = "channels"
    store: str = "rom"
    search: str = "auto"
    out_reg: int = 1
    name: str = "exactbn_thr"
    range_check: bool = False
    x_ranges: tuple = ()
    param_memory: str = "auto"
    cfg_bus: str = "raw"  # RAM store: raw cfg_* handshake or "axil" (hw/axil.py register map)
    stages: str = "fast"

    def __post_init__(self) -> None:
        object.__setattr__(self, "directions", tuple(int(d) for d in self.directions))
        object.__setattr__(self, "thresholds", tuple(tuple(int(v) for v in t)
                                                     for t in self.thresholds))
        object.__setattr__(self, "x_ranges", tuple((int(lo), int(hi)) for lo, hi in self.x_ranges))
        self._validate()

    def _validate(self) -> None:
        _check_int("w_x", self.w_x, 1, 62)
        _check_int("w_q", self.w_q, 1, 16)
        _check_int("lanes", self.lanes, 1, MAX_LANES)
        _check_int("out_reg", self.out_reg, 0, 1)
        if why := name_problem(self.name):
            raise ValueError(f"name {why}")
        for k, allowed in (("lane_mode", LANE_MODES), ("store", STORES), ("search", SEARCHES),
                           ("param_memory", PARAM_MEMORIES), ("cfg_bus", CFG_BUSES),
                           ("stages", STAGES)):
            if getattr(self, k) not in allowed:
                raise ValueError(f"{k} must be one of {', '.join(allowed)}, "
                                 f"got {getattr(self, k)!r}")
        if self.cfg_bus == "axil" and self.store != "ram":
            raise ValueError("cfg_bus axil programs a RAM store: it needs store ram")
        q_lo, q_hi = ((-(1 << (self.w_q - 1)), (1 << (self.w_q - 1)) - 1) if self.q_signed
                      else (0, (1 << self.w_q) - 1))
        if not q_lo <= self.qmin < self.qmax <= q_hi:
            raise ValueError(f"clip [{self.qmin}, {self.qmax}] must be qmin < qmax inside the "
                             f"{self.w_q}-bit output [{q_lo}, {q_hi}]")
        c = len(self.thresholds)
        if not 1 <= c <= MAX_CHANNELS:
            raise ValueError(f"channels must be in 1..{MAX_CHANNELS}, got {c}")
        if len(self.directions) != c:
            raise ValueError(f"need one direction per channel ({c}), got {len(self.directions)}")
        if self.x_ranges and len(self.x_ranges) != c:
            raise ValueError(f"x_ranges needs {c} (lo, hi) pairs, got {len(self.x_ranges)}")
        if self.range_check and not self.x_ranges:
            raise ValueError("range_check needs x_ranges")
        for ch in range(c):
            lo, hi = self.channel_range(ch)
            if not self.x_min <= lo <= hi <= self.x_max:
                raise ValueError(f"channel {ch}: range [{lo}, {hi}] is not inside the input "
                                 f"range [{self.x_min}, {self.x_max}]")
            d, t = self.directions[ch], self.thresholds[ch]
            if d not in (1, -1):
                raise ValueError(f"channel {ch}: direction must be 1 or -1, got {d}")
            if len(t) != self.qmax - self.qmin:
                raise ValueError(f"channel {ch}: {len(t)} thresholds, need qmax - qmin = "
                                 f"{self.qmax - self.qmin}")
            if list(t) != sorted(t):
                raise ValueError(f"channel {ch}: thresholds must be non-decreasing")
            mlo, mhi = (lo, hi) if d > 0 else (-hi, -lo)
            if t and not (mlo <= t[0] and t[-1] <= mhi + 1):
                raise ValueError(f"channel {ch}: thresholds must lie in [{mlo}, {mhi + 1}] "
                                 "(the channel's range, as d*x)")

    # ------------------------------------------------------------------ derived sizes
    @property
    def channels(self) -> int:
        return len(self.thresholds)

    @property
    def x_min(self) -> int:
        return -(1 << (self.w_x - 1)) if self.x_signed else 0

    @property
    def x_max(self) -> int:
        return (1 << (self.w_x - 1)) - 1 if self.x_signed else (1 << self.w_x) - 1

    def channel_range(self, ch: int) -> tuple[int, int]:
        return self.x_ranges[ch] if self.x_ranges else (self.x_min, self.x_max)

    @property
    def n_levels(self) -> int:
        """Comparison levels of the binary search: bits of the count ``qmax - qmin``."""
        return unsigned_width(self.qmax - self.qmin)

    @property
    def slots(self) -> int:
        return (1 << self.n_levels) - 1

    @property
    def mode(self) -> str:
        """``binary`` (pipelined search, one level per output bit) or ``parallel`` compare."""
        if self.search != "auto":
            return self.search
        return "parallel" if self.n_levels <= PARALLEL_MAX_LEVELS else "binary"

    def level_read(self, j: int) -> str:
        """How search level j (or the parallel word, j = 0) is read: ``reg`` (addressed from
        the stage's own registers, compared ``level_wait(j)`` stages later), ``sync`` (level
        0 with the beat's parameter read, as it leaves the skid buffer: ``--param-memory
        block``, or ``compact``) or ``comb`` (``compact`` block-RAM level j >= 1: addressed
        from level j-1's comparison, compared one stage later, as the FINN-style search)."""
        if j == 0:
            sync = self.param_memory == "block" or (self.stages == "compact"
                                                    and self.level_block(0))
            return "sync" if sync else "reg"
        return "comb" if self.stages == "compact" and self.level_block(j) else "reg"

    def level_bits(self, j: int) -> int:
        return (self.depth << j) * self.w_t * (self.slots if self.mode == "parallel" else 1)

    def level_block(self, j: int) -> bool:
        """Level j's memory is block RAM (larger than LOGIC_MAX_BITS, or
        COMPACT_LOGIC_MAX_BITS with ``compact``; or as --param-memory says)."""
        if self.param_memory in ("block", "logic", "distributed"):
            return self.param_memory == "block"
        limit = COMPACT_LOGIC_MAX_BITS if self.stages == "compact" else LOGIC_MAX_BITS
        return self.level_bits(j) > limit

    def level_wait(self, j: int) -> int:
        """Stages from level j's read to its comparison: 1 for logic (the read register) and
        ``comb``, READ_WAIT for block RAM read from registers (its output registered again),
        0 for ``sync``."""
        read = self.level_read(j)
        if read == "sync":
            return 0
        return READ_WAIT if read == "reg" and self.level_block(j) else 1

    def compare_stage(self, j: int) -> int:
        """Registers between P and level j's comparison: a ``reg`` level adds its prefix
        register and its wait, a ``comb`` level one stage (its read is that register)."""
        if j == 0:
            return self.level_wait(0)
        step = 1 if self.level_read(j) == "comb" else 1 + self.level_wait(j)
        return self.compare_stage(j - 1) + step

    def stored(self, ch: int) -> tuple[int, list[int]]:
        """``(neg, U)`` of a channel (padding channels too): what the memories hold."""
        if ch >= self.channels:
            return 0, [0] * self.slots
        lo, hi = self.channel_range(ch)
        pad = self.slots - (self.qmax - self.qmin)
        if self.directions[ch] > 0:
            return 0, list(self.thresholds[ch]) + [hi + 1] * pad
        return 1, [1 - t for t in self.thresholds[ch]] + [lo] * pad

    @cached_property
    def _t_values(self) -> list[int]:
        """Values a threshold word must hold: the stored ones; with a RAM store every value
        a write can need, ``[lo, hi + 1]`` of every channel (U_k always lies there)."""
        vals = [v for ch in range(self.channels) for v in self.stored(ch)[1]]
        if self.store == "ram":
            for ch in range(self.channels):
                lo, hi = self.channel_range(ch)
                vals += [lo, hi + 1]
        return vals

    @cached_property
    def t_signed(self) -> bool:
        """Stored thresholds are two's complement (some is negative), else unsigned."""
        return any(v < 0 for v in self._t_values)

    def _width(self, vals) -> int:
        return twos_width(*vals) if self.t_signed else max(1, unsigned_width(*vals))

    @cached_property
    def t_clamp(self) -> bool:
        """ROM words store ``x_max + 1`` as ``x_max`` and compare ``min(x, x_max - 1)``
        (module docstring): ``compact`` ROM, no stored value is ``x_max``, it saves a bit."""
        vals = self._t_values
        if (self.stages != "compact" or self.store != "rom" or self.x_max in vals
                or self.x_max + 1 not in vals):
            return False
        return self._width([self.encode_raw(v) for v in vals]) < self._width(vals)

    def encode_raw(self, v: int) -> int:
        return self.x_max if v == self.x_max + 1 else v

    def encode(self, v: int) -> int:
        """The word a memory holds for stored value v (before masking to w_t bits)."""
        return self.encode_raw(v) if self.t_clamp else v

    @cached_property
    def w_t(self) -> int:
        """Bits of a stored threshold word: as many as the channels' ranges need, no more."""
        return self._width([self.encode(v) for v in self._t_values])

    @property
    def groups(self) -> int:
        if self.lane_mode == "pixels":
            return self.channels
        return -(-self.channels // self.lanes)

    @property
    def w_user(self) -> int:
        return max(1, unsigned_width(self.groups - 1))

    @property
    def depth(self) -> int:
        """Words per memory bank and level-0: every tuser value addresses one."""
        return 1 << self.w_user

    @property
    def w_user_out(self) -> int:
        return self.w_user + (1 if self.range_check else 0)

    @property
    def w_addr(self) -> int:
        return max(1, unsigned_width(self.channels))

    @property
    def w_index(self) -> int:
        """Bits of ``cfg_index``: slots 0 .. 2^n - 2, and 2^n - 1 = the direction bit."""
        return self.n_levels

    @property
    def banks(self) -> int:
        return self.lanes if self.lane_mode == "channels" else 1

    def bank_channel(self, bank: int, g: int) -> int:
        """The channel of word g in a bank (>= C for padding)."""
        if self.lane_mode == "pixels":
            return g if g < self.channels else self.channels
        ch = g * self.lanes + bank
        return ch if g < self.groups and ch < self.channels else self.channels

    @cached_property
    def has_pad(self) -> bool:
        """Some memory word belongs to a padding channel (the pad bit is then needed)."""
        return any(self.bank_channel(b, g) >= self.channels for b in range(self.banks)
                   for g in range(self.depth))

    @cached_property
    def fixed_direction(self) -> int | None:
        """The one direction of every channel of a ROM unit (no direction memory), or None."""
        if self.store == "ram" or len(set(self.directions)) != 1:
            return None
        return self.directions[0]

    @cached_property
    def extras(self) -> tuple[str, ...]:
        """Flag bits per word beside the thresholds: ``neg`` (unless a ROM with one direction)
        and, ROM only, ``pad`` (when padding words exist). ROM: above level 0's (or the
        parallel word's) thresholds; RAM: ``neg`` in a memory of its own (a threshold write
        keeps it), the pad flag derived from the word's address (:meth:`pad_from`), never
        stored in a writable memory."""
        out = [] if self.fixed_direction is not None else ["neg"]
        return tuple(out + (["pad"] if self.has_pad and self.store == "rom" else []))

    def pad_from(self, bank: int) -> int:
        """The first word of ``bank`` that belongs to a padding channel (``depth``: none);
        every later word does too, so the pad flag of word g is ``g >= pad_from(bank)``."""
        first = next((g for g in range(self.depth) if self.bank_channel(bank, g)
                      >= self.channels), self.depth)
        assert all(self.bank_channel(bank, g) >= self.channels
                   for g in range(first, self.depth))
        return first

    def flag_word(self, ch: int) -> int:
        """The ``extras`` bits of a channel's words (padding channels too)."""
        neg = self.stored(ch)[0]
        pad = int(ch >= self.channels)
        vals = {"neg": neg, "pad": pad}
        return sum(vals[e] << i for i, e in enumerate(self.extras))

    @property
    def latency(self) -> int:
        """Cycles from input handshake to the earliest output: read, levels, output register."""
        last = self.n_levels - 1 if self.mode == "binary" else 0
        return 1 + self.compare_stage(last) + self.out_reg

    @property
    def thresholds_distinct(self) -> int:
        """Most distinct thresholds in any channel (saturated channels have fewer)."""
        return max(len(set(t)) for t in self.thresholds)

    def summary(self) -> dict:
        return {
            "unit": "threshold", "mode": self.mode, "channels": self.channels,
            "lanes": self.lanes, "lane_mode": self.lane_mode, "store": self.store,
            "w_x": self.w_x, "x_signed": self.x_signed, "w_q": self.w_q,
            "q_signed": self.q_signed, "qmin": self.qmin, "qmax": self.qmax,
            "levels": self.n_levels, "thresholds_per_channel": self.qmax - self.qmin,
            "slots_per_channel": self.slots, "w_t": self.w_t, "t_signed": self.t_signed,
            "w_user": self.w_user,
            "w_addr": self.w_addr, "w_index": self.w_index, "latency": self.latency,
            "range_check": self.range_check, "out_reg": self.out_reg,
            "param_memory": self.param_memory, "stages": self.stages,
            "x_clamp": self.t_clamp,
        } | ({"cfg_bus": "axil"} if self.cfg_bus == "axil" else {})
