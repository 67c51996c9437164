"""Plain parameters of one BN unit: widths, lanes, store, pipeline knobs, parameter lists.

Nothing here knows where the parameters came from (hw/ takes plain parameters only); the flow in
``exactbn.generate`` builds a :class:`UnitConfig` from a solved file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from exactbn.formats import twos_width, unsigned_width

from .names import name_problem

__all__ = [
    "LANE_MODES",
    "PARAM_MEMORIES",
    "memory_attrs",
    "STORES",
    "CFG_BUSES",
    "SHIFT_MODES",
    "HW_ROUNDINGS",
    "PIPELINE_PRESETS",
    "FAMILIES",
    "FAMILY_PRESETS",
    "FLOWS",
    "family_preset",
    "family_of_target",
    "Pipeline",
    "UnitConfig",
    "twos_width",
    "unsigned_width",
]

# How the parameter memories map: "auto" leaves it to the flow (small ROMs become LUTs),
# "block" asks for block RAM (ECP5 DP16KD, iCE40 EBR), "distributed" for LUT RAM,
# "logic" for plain logic. Emitted as the Yosys/Vivado ``ram_style`` attribute.
PARAM_MEMORIES = ("auto", "block", "distributed", "logic")


def memory_attrs(param_memory: str) -> dict[str, str]:
    """Attributes for an Amaranth ``Memory`` that carry the requested mapping."""
    if param_memory not in PARAM_MEMORIES:
        raise ValueError(f"param_memory must be one of {', '.join(PARAM_MEMORIES)}, "
                         f"got {param_memory!r}")
    return {} if param_memory == "auto" else {"ram_style": param_memory}


LANE_MODES = ("channels", "pixels")
STORES = ("rom", "ram")
CFG_BUSES = ("raw", "axil")  # RAM store programming port: cfg_* handshake or AXI4-Lite slave
SHIFT_MODES = ("per-channel", "shared")
HW_ROUNDINGS = ("floor", "half_up", "half_even", "half_away")
MAX_CHANNELS = 1 << 16
MAX_LANES = 256


@dataclass(frozen=True)
class Pipeline:
    """Register stages of the datapath (the parameter read is always one stage).

    - ``dspin``: 1 = one register stage right at the multiplier's inputs (x and the M word, B
      and the shift field alongside), between the parameter read and the multipliers: the
      DSP blocks then start from registers placed next to them, and a block-RAM parameter
      memory can absorb it as its output register.
    - ``mult``: 0 = ``x*M + B`` combinational; 1 = one register after ``x*M + B``;
      2 = the product split into DSP-sized partial products registered right at the DSP
      outputs, then combined with B into a second register (the open flow does not retime plain
      registers into a DSP, so this split is what reaches the DSP's speed).
    - ``shift``: registers inside/after the barrel shifter (capped at its number of levels;
      a shared shift has no levels, so 0).
    - ``round``: a register after the rounding stage (only when hw_rounding is not floor).
    - ``out``: 1 = a register after the saturator; 2 = staged saturation (the clip decision
      registered, then the selected value).
    - ``chunk``: 0 = the product/B combine is one adder; k = 3:2 carry-save levels and a
      carry-chunked adder of k-bit registered chunks (skewed in, de-skewed out), with
      ``mult`` = 2 only; a lowest chunk with only two terms (B and the low product) is added
      beside the 3:2 level (hw/multiplier.py).
    - ``preg``: 1 = a fabric register right after every instantiated DSP product (``mult`` =
      2 on a family with a primitive), so the combine starts from registers placed in the
      fabric instead of the DSP's output register (one stage more).
    - ``flow``: ``stall`` = back-pressure as one clock enable over the whole pipeline (skid
      buffer in front); ``credit`` = a free-running pipeline into an output FIFO, with a
      credit-counted registered ``s_axis_tready`` (hw/fifo.py; one more cycle of latency).
    - ``tree``, ``cpa`` (family ``asic``, ``mult`` = 2 only): the carry-save multiplier's
      register groups inside its 3:2 tree (2: one inside and one before the final add; 1:
      only the one before the final add; 0: none) and its final adder (``prefix``: the kept
      Sklansky network; ``ripple``: smaller, slower); hw/asic_multiplier.py.
    """

    mult: int = 2
    shift: int = 1
    round: int = 1
    out: int = 1
    dspin: int = 0
    chunk: int = 0
    flow: str = "stall"
    preg: int = 0
    tree: int = 2  # family asic: == hw/asic_multiplier.ASIC_TREE
    cpa: str = "prefix"

    def __post_init__(self) -> None:
        if self.flow not in FLOWS:
            raise ValueError(f"pipeline flow must be one of {'|'.join(FLOWS)}, got {self.flow!r}")
        if self.cpa not in CPAS:
            raise ValueError(f"pipeline cpa must be one of {'|'.join(CPAS)}, got {self.cpa!r}")
        for name, hi in (("mult", 2), ("shift", 8), ("round", 1), ("out", 2), ("dspin", 1),
                         ("chunk", 64), ("preg", 1), ("tree", 2)):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= hi:
                raise ValueError(f"pipeline {name} must be an integer in 0..{hi}, got {v!r}")

    @classmethod
    def parse(cls, text: str) -> Pipeline:
        """``shallow|default|deep|ecp5|...`` or ``mult=2,shift=1,round=1,out=1[,dspin=1]``
        (missing keys default), or a preset followed by overrides (``ecp5,flow=stall``)."""
        text = text.strip()
        if text in PIPELINE_PRESETS:
            return PIPELINE_PRESETS[text]
        parts = text.split(",")
        base = PIPELINE_PRESETS.get(parts[0].strip())
        if base is not None:
            parts = parts[1:]
        kw: dict[str, int | str] = {}
        for part in parts:
            m = re.fullmatch(r"\s*(mult|shift|round|out|dspin|chunk|flow|preg|tree|cpa)\s*=\s*"
                             r"(\d+|stall|credit|prefix|ripple)\s*", part)
            if m and (m.group(1) in ("flow", "cpa")) == m.group(2).isdigit():
                m = None
            if m and m.group(1) in ("flow", "cpa") and (m.group(2) in FLOWS) != (
                    m.group(1) == "flow"):
                m = None
            if not m:
                raise ValueError(
                    f"bad pipeline spec {text!r}: expected a preset "
                    f"({'|'.join(PIPELINE_PRESETS)}) or key=value pairs like "
                    "'mult=2,shift=1,round=1,out=1,dspin=1'"
                )
            if m.group(1) in kw:
                raise ValueError(f"bad pipeline spec {text!r}: {m.group(1)} given twice")
            kw[m.group(1)] = m.group(2) if m.group(1) in ("flow", "cpa") else int(m.group(2))
        return replace(base, **kw) if base is not None else cls(**kw)

    def spec(self) -> str:
        """``key=value`` text that :meth:`parse` reads back (``dspin`` only when set)."""
        text = f"mult={self.mult},shift={self.shift},round={self.round},out={self.out}"
        text += f",dspin={self.dspin}" if self.dspin else ""
        text += f",chunk={self.chunk}" if self.chunk else ""
        text += f",preg={self.preg}" if self.preg else ""
        text += f",tree={self.tree}" if self.tree != 2 else ""
        text += f",cpa={self.cpa}" if self.cpa != "prefix" else ""
        return text + (f",flow={self.flow}" if self.flow != "stall" else "")

    def csa_form(self):
        """The carry-save multiplier's form these keys ask for (family ``asic``), or None
        when they are the defaults (then hw/asic_multiplier.FORM)."""
        if self.tree == 2 and self.cpa == "prefix":
            return None
        from .asic_multiplier import FORM

        return replace(FORM, tree=self.tree, final=self.cpa)


FLOWS = ("stall", "credit")  # back-pressure: one clock enable, or free-running + credits
CPAS = ("prefix", "ripple")  # family asic: the carry-save multiplier's final adder
PIPELINE_PRESETS = {
    "shallow": Pipeline(mult=0, shift=0, round=0, out=0),
    "default": Pipeline(mult=2, shift=1, round=1, out=1),
    "deep": Pipeline(mult=2, shift=8, round=1, out=1, dspin=1),
    # The fastest preset per FPGA family (bench/results/synth_*.md), the default when a target
    # is given: every shifter level registered, staged saturation, carry chunks.
    # Back-pressure by credits: no clock enable over the datapath (hw/fifo.py). ECP5: 13-bit
    # carry chunks (3 for a 38-bit sum, the lowest added beside the 3:2 level) keep the latency
    # at 15 on the bench's int8 layer, so the output FIFO is 16 words, one bank of DPR16X4
    # without a bank mux (chunk=8: latency 17, a 32-word FIFO whose read limited Fmax;
    # bench/results/synth_device_ecp5.md). preg=1: a fabric register after each MULT18X18D
    # (the DSP's P -> 13-bit carry chunk was the datapath's limit), paid for by one shifter
    # register less (shift=3: two of the 4 levels of the int8 layer share a stage), so the
    # latency stays 15 (bench/results/synth_device_ecp5_preset.md).
    "ecp5": Pipeline(mult=2, shift=3, round=1, out=2, dspin=1, chunk=13, flow="credit",
                     preg=1),
    # iCE40: credits too, the FIFO in block RAM (no LUT RAM; OutputFifo read="sync"); 4-bit
    # chunks: the carry chunk and the FIFO's control both close near 90 MHz (UP5K, C = 16,
    # seeds 1-3; bench/results/synth_device_ice40.md; the stall enable gave 73)
    "ice40": Pipeline(mult=2, shift=8, round=1, out=2, dspin=1, chunk=4, flow="credit"),
    "xilinx": Pipeline(mult=2, shift=8, round=1, out=2, dspin=1, flow="credit"),  # DSP48 adds B
    # standard cells (hw/asic_multiplier.py: registered carry-save tree): the default stages,
    # with that multiplier the shortest period in 3 of 4 groups and the smallest area
    # (bench/results/asic.md; every shifter level, dspin and out=2 registered only add area)
    "asic": Pipeline(mult=2, shift=1, round=1, out=1),
    # standard cells, smallest: no register after the multiplier's, one register group in
    # its tree, a ripple final add (OSU018, C = 64, L = 1 per-channel: uint4 89,322 um2 at
    # 3.02 ns against 129,966 at 2.13 for asic, int8 125,555 at 3.76; bench/results/asic.md)
    "asic-small": Pipeline(mult=2, shift=0, round=0, out=0, tree=1, cpa="ripple"),
}
# A family's default preset (when a target is given and no --pipeline); others: "default".
FAMILY_PRESETS = {"ecp5": "ecp5", "ice40": "ice40", "xilinx": "xilinx", "asic": "asic"}
# Families whose DSP primitive the datapath instantiates by name (hw/primitives); "asic":
# no DSPs, the multiplier is a registered carry-save tree of gates.
FAMILIES = ("generic", "ecp5", "ice40", "xilinx", "asic")


def family_of_target(target: str | None) -> str:
    """The primitive family of a synthesis target name (``generic`` for any other)."""
    return target if target in FAMILIES else "generic"


def family_preset(family: str | None) -> Pipeline:
    """The default pipeline for a target family (``default`` for generic or unknown)."""
    return PIPELINE_PRESETS[FAMILY_PRESETS.get(family or "generic", "default")]


def _check_int(name: str, v, lo: int, hi: int | None = None) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise TypeError(f"{name} must be an int, got {v!r}")
    if v < lo or (hi is not None and v > hi):
        rng = f">= {lo}" if hi is None else f"in {lo}..{hi}"
        raise ValueError(f"{name} must be {rng}, got {v}")
    return v


@dataclass(frozen=True)
class UnitConfig:
    """Everything a :class:`~exactbn.hw.BatchNormUnit` is built from.

    Computes per lane ``q = clip(R_hw((M*x + B) / 2^N), qmin, qmax)`` with the parameters of
    the lane's channel. ``M``, ``B``, ``N`` hold one entry per channel (the ROM contents, and
    the RAM's power-up contents). ``x_ranges`` (per-channel ``(lo, hi)``) is used only by the
    range check. Widths: ``w_m``/``w_b`` two's complement incl. sign; ``w_n`` = bits of the
    per-channel shift field (0 in shared mode).
    """

    w_x: int
    x_signed: bool
    w_m: int
    w_b: int
    w_n: int
    w_q: int
    q_signed: bool
    qmin: int
    qmax: int
    M: tuple[int, ...]
    B: tuple[int, ...]
    N: tuple[int, ...]
    lanes: int = 1
    lane_mode: str = "channels"
    shift_mode: str = "per-channel"
    hw_rounding: str = "floor"
    store: str = "rom"
    pipeline: Pipeline = field(default_factory=Pipeline)
    name: str = "exactbn_bn"
    range_check: bool = False
    x_ranges: tuple[tuple[int, int], ...] = ()
    dsp_width: int = 18
    param_memory: str = "auto"  # Yosys ram_style of the parameter memories (see PARAM_MEMORIES)
    family: str = "generic"  # DSP primitives instantiated by name (FAMILIES, hw/primitives)
    sim_models: bool = False  # Amaranth simulation: primitives as their Amaranth equivalents
    cfg_bus: str = "raw"  # RAM store: raw cfg_* handshake or "axil" (hw/axil.py register map)
    # Shared unit: per-layer clip rows (hw/layer_table.py), layer index = tuser >> layer_shift.
    layer_table: tuple = ()
    layer_shift: int = 0

    def __post_init__(self) -> None:
        for k in ("M", "B", "N"):
            object.__setattr__(self, k, tuple(int(v) for v in getattr(self, k)))
        object.__setattr__(self, "x_ranges", tuple((int(lo), int(hi)) for lo, hi in self.x_ranges))
        object.__setattr__(self, "layer_table", tuple(self.layer_table))
        self._validate()

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        _check_int("w_x", self.w_x, 1, 62)
        _check_int("w_m", self.w_m, 1, 64)
        _check_int("w_b", self.w_b, 1, 128)
        _check_int("w_n", self.w_n, 0, 7)
        _check_int("w_q", self.w_q, 1, 32)
        _check_int("lanes", self.lanes, 1, MAX_LANES)
        _check_int("dsp_width", self.dsp_width, 4, 64)
        if self.param_memory not in PARAM_MEMORIES:
            raise ValueError(f"param_memory must be one of {', '.join(PARAM_MEMORIES)}, "
                             f"got {self.param_memory!r}")
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {self.family!r}")
        if self.family == "ecp5" and self.dsp_width != 18:
            raise ValueError(f"family ecp5 splits products for 18-bit MULT18X18D ports: "
                             f"dsp_width must be 18, got {self.dsp_width}")
        if why := name_problem(self.name):  # keywords, length, identifier: hw/names.py
            raise ValueError(f"name {why}")
        for k, allowed in (
            ("lane_mode", LANE_MODES),
            ("shift_mode", SHIFT_MODES),
            ("hw_rounding", HW_ROUNDINGS),
            ("store", STORES),
        ):
            if getattr(self, k) not in allowed:
                raise ValueError(
                    f"{k} must be one of {', '.join(allowed)}, got {getattr(self, k)!r}")
        if self.cfg_bus not in CFG_BUSES:
            raise ValueError(f"cfg_bus must be raw or axil, got {self.cfg_bus!r}")
        if (self.pipeline.tree, self.pipeline.cpa) != (2, "prefix") and (
                self.family != "asic" or self.pipeline.mult != 2):
            raise ValueError("pipeline tree/cpa shape the carry-save multiplier of family asic "
                             "(--target asic) with mult=2")
        if self.cfg_bus == "axil" and self.store != "ram":
            raise ValueError("cfg_bus axil programs a RAM store: it needs store ram")
        if not isinstance(self.pipeline, Pipeline):
            raise TypeError(f"pipeline must be a Pipeline, got {self.pipeline!r}")
        c = len(self.M)
        if not 1 <= c <= MAX_CHANNELS:
            raise ValueError(f"channels must be in 1..{MAX_CHANNELS}, got {c}")
        if len(self.B) != c or len(self.N) != c:
            raise ValueError(f"M, B, N must have one entry per channel ({c}): "
                             f"got {len(self.M)}, {len(self.B)}, {len(self.N)}")
        q_lo, q_hi = ((-(1 << (self.w_q - 1)), (1 << (self.w_q - 1)) - 1) if self.q_signed
                      else (0, (1 << self.w_q) - 1))
        if not q_lo <= self.qmin <= self.qmax <= q_hi:
            raise ValueError(f"clip [{self.qmin}, {self.qmax}] must lie inside the {self.w_q}-bit "
                             f"{'signed' if self.q_signed else 'unsigned'} output [{q_lo}, {q_hi}]")
        if self.shift_mode == "shared":
            if self.w_n != 0:
                raise ValueError(f"w_n must be 0 with a shared shift, got {self.w_n}")
            if len(set(self.N)) != 1:
                raise ValueError("a shared shift needs the same N in every channel")
        elif self.w_n == 0 and self.store == "ram":
            raise ValueError("a RAM store with per-channel shift needs w_n >= 1")
        for ch in range(c):
            if twos_width(self.M[ch]) > self.w_m:
                raise ValueError(f"channel {ch}: M = {self.M[ch]} needs {twos_width(self.M[ch])} "
                                 f"bits, w_m is {self.w_m}")
            if twos_width(self.B[ch]) > self.w_b:
                raise ValueError(f"channel {ch}: B = {self.B[ch]} needs {twos_width(self.B[ch])} "
                                 f"bits, w_b is {self.w_b}")
            if self.N[ch] < 0 or (self.shift_mode == "per-channel"
                                  and unsigned_width(self.N[ch]) > self.w_n):
                raise ValueError(f"channel {ch}: N = {self.N[ch]} does not fit the {self.w_n}-bit "
                                 "shift field")
        _check_int("layer_shift", self.layer_shift, 0, 16)
        for i, e in enumerate(self.layer_table):
            if not self.qmin <= e.qmin <= e.qmax <= self.qmax:
                raise ValueError(f"layer {i}: clip [{e.qmin}, {e.qmax}] must lie inside the "
                                 f"unit's clip [{self.qmin}, {self.qmax}]")
        if self.range_check:
            if len(self.x_ranges) != c:
                raise ValueError(f"range_check needs x_ranges with {c} (lo, hi) pairs, "
                                 f"got {len(self.x_ranges)}")
            for ch, (lo, hi) in enumerate(self.x_ranges):
                if not self.x_min <= lo <= hi <= self.x_max:
                    raise ValueError(f"channel {ch}: range [{lo}, {hi}] is not inside the "
                                     f"input range [{self.x_min}, {self.x_max}]")

    # ------------------------------------------------------------------ derived sizes
    @property
    def channels(self) -> int:
        return len(self.M)

    @property
    def x_min(self) -> int:
        return -(1 << (self.w_x - 1)) if self.x_signed else 0

    @property
    def x_max(self) -> int:
        return (1 << (self.w_x - 1)) - 1 if self.x_signed else (1 << self.w_x) - 1

    @property
    def groups(self) -> int:
        """Memory words per lane: ceil(C/L) in channels mode, C in pixel mode."""
        if self.lane_mode == "pixels":
            return self.channels
        return -(-self.channels // self.lanes)

    @property
    def w_user(self) -> int:
        """Bits of s_axis_tuser: the channel group g (channels mode) or channel c (pixels)."""
        return max(1, unsigned_width(self.groups - 1))

    @property
    def w_user_out(self) -> int:
        """Bits of m_axis_tuser: tuser passed through, plus the range flag on top if checked."""
        return self.w_user + (1 if self.range_check else 0)

    @property
    def w_layer(self) -> int:
        """Bits of a layer index (the table's ``tbl_addr``); 0 without a layer table."""
        return max(1, unsigned_width(len(self.layer_table) - 1)) if self.layer_table else 0

    @property
    def w_addr(self) -> int:
        """Bits of cfg_addr: wide enough to express every channel and C itself."""
        return max(1, unsigned_width(self.channels))

    @property
    def n_min(self) -> int:
        """Smallest shift the shifter must support (0 for a RAM store with per-channel shift)."""
        if self.store == "ram" and self.shift_mode == "per-channel":
            return 0
        return min(self.N)

    @property
    def n_max(self) -> int:
        """Largest shift the shifter must support (the whole field for a RAM store)."""
        if self.store == "ram" and self.shift_mode == "per-channel":
            return (1 << self.w_n) - 1
        return max(self.N)

    @property
    def w_d(self) -> int:
        """Bits of the stored shift offset d = N - n_min (0 when the shift is constant)."""
        return unsigned_width(self.n_max - self.n_min)

    @property
    def shift_levels(self) -> int:
        return self.w_d

    @property
    def w_xs(self) -> int:
        """Bits of x as a signed multiplier operand."""
        return self.w_x + (0 if self.x_signed else 1)

    def sum_bounds(self) -> tuple[int, int]:
        """Exact bounds of ``M*x + B`` over every input x and every storable (M, B)."""
        xs = (self.x_min, self.x_max)
        if self.store == "ram":
            ms = (-(1 << (self.w_m - 1)), (1 << (self.w_m - 1)) - 1)
            bs = (-(1 << (self.w_b - 1)), (1 << (self.w_b - 1)) - 1)
            prods = [m * x for m in ms for x in xs]
            return min(prods) + bs[0], max(prods) + bs[1]
        lo = hi = 0  # padding channels compute 0
        for m, b in zip(self.M, self.B, strict=True):
            vals = [m * x + b for x in xs]
            lo, hi = min(lo, *vals), max(hi, *vals)
        return lo, hi

    @property
    def param_read_split(self) -> bool:
        """The ``dspin`` register of M, B and the shift offset sits inside the parameter read
        (a two-step read: banks of 16 words, then the bank picked; ECP5 and iCE40), so
        no path runs from the read address through a whole ROM; x still gets ``x_r``."""
        # not xilinx: there m_r stays a register of its own, which Yosys packs as AREG/BREG
        return self.family in ("ecp5", "ice40") and self.pipeline.dspin == 1

    @property
    def param_read_extra(self) -> int:
        """1 when the parameter read takes a third cycle: an ECP5 block-RAM ROM packed over
        several DP16KDs (hw/store.py ``block_layout``, a shared unit's wide tuser) registers
        its mapped address, one copy per lane, before the DP16KDs' address register (their
        address pins are spread over the device); counted in ``stages["dspin"]``, so x
        is delayed alongside and the latency grows by one."""
        if not self.param_read_split:
            return 0
        from .store import block_layout

        return int(block_layout(self) is not None)

    @property
    def w_s(self) -> int:
        """Bits of ``s = M*x + B`` (exact, from :meth:`sum_bounds`)."""
        return twos_width(*self.sum_bounds())

    @property
    def w_t(self) -> int:
        """Bits of the shifted value kept for saturation: [qmin - 1, qmax] must fit."""
        return twos_width(self.qmin - 1, self.qmax)

    @property
    def stages(self) -> dict[str, int]:
        """Register stages per part of the datapath, as built."""
        from .multiplier import mult_stages

        p = self.pipeline
        return {
            "param": 1,
            # the operand registers before the multipliers: dspin, plus the block-RAM
            # read's third cycle (param_read_extra), both inside the parameter read
            "dspin": p.dspin + self.param_read_extra,
            "mult": mult_stages(self.w_xs, self.w_m, self.w_s, p.mult, self.dsp_width,
                                self.family, p.chunk, p.preg, p.csa_form()),
            "shift": min(p.shift, self.shift_levels),
            "round": p.round if self.hw_rounding != "floor" else 0,
            "out": p.out,
            "fifo": 1 if p.flow == "credit" else 0,  # the output FIFO's registered head
        }

    @property
    def latency(self) -> int:
        """Cycles from an input handshake to the earliest cycle its result is valid at m_axis.

        ``1 + dspin + mult + min(shift, levels) + (round if hw_rounding != floor) + out``
        (+ 1 with ``flow=credit``: the output FIFO's head), where
        mult counts the multiplier's registers (:func:`~exactbn.hw.multiplier.mult_stages`:
        3 inside an ECP5 MULT18X18D, and one per carry chunk with ``chunk``).
        """
        return sum(self.stages.values())

    def summary(self) -> dict:
        """Plain-data description (for manifests and reports)."""
        return {
            "name": self.name,
            "channels": self.channels,
            "lanes": self.lanes,
            "lane_mode": self.lane_mode,
            "shift_mode": self.shift_mode,
            "hw_rounding": self.hw_rounding,
            "store": self.store,
            "pipeline": self.pipeline.spec(),
            "stages": self.stages,
            "latency": self.latency,
            "range_check": self.range_check,
            "w_x": self.w_x,
            "x_signed": self.x_signed,
            "w_m": self.w_m,
            "w_b": self.w_b,
            "w_n": self.w_n,
            "n_min": self.n_min,
            "n_max": self.n_max,
            "w_q": self.w_q,
            "q_signed": self.q_signed,
            "qmin": self.qmin,
            "qmax": self.qmax,
            "w_s": self.w_s,
            "w_t": self.w_t,
            "w_user": self.w_user,
            "w_addr": self.w_addr,
            "dsp_width": self.dsp_width,
            "param_memory": self.param_memory,
            "family": self.family,
            "cfg_bus": self.cfg_bus,
            **({"layer_shift": self.layer_shift,
                "layer_table": [e.to_json() for e in self.layer_table]}
               if self.layer_table else {}),
        }
