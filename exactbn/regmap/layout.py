"""The register map of an AXI4-Lite programmed unit: ONE description of every address.

``hw/axil.py`` decodes these offsets, ``rdl.py`` writes them as SystemRDL (from which PeakRDL
makes the C header, the Markdown document and IP-XACT), ``params_h.py`` and ``driver.py``
program the unit through them. 32-bit registers, byte addresses, little-endian words:

    0x00 ID        r   magic 0x4558424E ("EXBN")
    0x04 VERSION   r   register-map version (major << 8 | minor)
    0x08 CHANNELS  r   channel addresses C (cfg_addr < C; a shared unit counts every layer's)
    0x0C GEOMETRY  r   lanes, pixel mode, per-channel shift
    0x10 WIDTHS    r   W_M, W_B, W_N, W_Q (bits)
    0x14 STATUS    r   BUSY (a commit is in flight), CFG_ERROR (sticky), DONE (commits done)
    0x18 COMMIT    rw  write a channel address: the staged M, B (, N) go to that channel
    0x1C LAYERS    r   shared unit with a layer table: layers, tuser bit of the layer index
    0x20 M0...     rw  staged M, two's complement, 32 bits per word, low word first
         B0...     rw  staged B, likewise (right after the M words)
         N         rw  staged N (per-channel shift only)
         TBL_QMIN  rw  shared unit: staged output clip of one layer (W_Q-bit lane values)
         TBL_QMAX  rw
         TBL_COMMIT rw write a layer index: the staged clip goes to that layer's table row

A write to COMMIT is answered (BVALID) only after the unit took the parameter write: every
beat accepted after that response uses the new words. Writes to read-only or unmapped
addresses, reads of unmapped ones, a COMMIT with a partial byte strobe and a COMMIT to a
channel >= C answer SLVERR (the last one also sets CFG_ERROR, like cfg_addr >= C). TBL_COMMIT
works the same way (response after the table write; a layer index >= LAYERS or
TBL_QMIN > TBL_QMAX changes nothing, answers SLVERR and sets the sticky TBL_ERROR).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAGIC", "VERSION", "ADDR_BITS", "Field", "Register", "RegisterMap", "StageField",
           "stage_fields", "split_words"]

MAGIC = 0x4558424E  # "EXBN"
VERSION = (1, 0)
ADDR_BITS = 12  # s_axil_awaddr/araddr width: one 4 KiB page
PARAM_BASE = 0x20


@dataclass(frozen=True)
class Field:
    name: str
    lsb: int
    width: int
    desc: str

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lsb


@dataclass(frozen=True)
class Register:
    """One 32-bit register; ``access`` is ``r`` (read-only) or ``rw``; ``value`` is the
    constant a read-only ID/geometry register reads (None: driven by the hardware); ``kind``
    is ``const``, ``status``, ``commit`` (a write starts a store/table write) or ``stage``."""

    name: str
    offset: int
    access: str
    desc: str
    fields: tuple[Field, ...]
    value: int | None = None
    kind: str = "const"


@dataclass(frozen=True)
class StageField:
    """One per-channel value staged before COMMIT: ``label`` names its registers (``M0``,
    ``M1``.. when ``words_named``, else just ``label``), ``port`` the cfg_* input it drives,
    ``signed``: two's complement (else unsigned)."""

    label: str
    port: str
    width: int
    signed: bool
    words_named: bool
    desc: str

    @property
    def words(self) -> int:
        return -(-self.width // 32)


def is_threshold(cfg) -> bool:
    """A threshold unit's config (hw/threshold_config.py): it stages a slot and a value."""
    return hasattr(cfg, "w_index") and hasattr(cfg, "w_t")


def stage_fields(cfg) -> list[StageField]:
    """The per-channel values a COMMIT writes, in register order: multiply-shift M, B (, N);
    threshold T (the stored U_k) and INDEX (the slot k, or the direction bit's index)."""
    if is_threshold(cfg):
        return [StageField("T", "cfg_value", cfg.w_t, cfg.t_signed, True, "threshold word U_k"),
                StageField("INDEX", "cfg_index", cfg.w_index, False, False,
                           f"slot k (0..{cfg.slots - 1}); {cfg.slots}: the direction bit "
                           "(T bit 0 = 1: d = -1)")]
    out = [StageField("M", "cfg_m", cfg.w_m, True, True, "M"),
           StageField("B", "cfg_b", cfg.w_b, True, True, "B")]
    if cfg.shift_mode == "per-channel":
        out.append(StageField("N", "cfg_n", cfg.w_n, False, False, "Staged N (unsigned shift)"))
    return out


def split_words(value: int, width: int) -> list[int]:
    """``value`` as ``width``-bit two's complement in 32-bit words, low word first."""
    v = value & ((1 << width) - 1)
    return [(v >> (32 * k)) & 0xFFFFFFFF for k in range(-(-width // 32))]


class RegisterMap:
    """The registers of one unit, from its config (duck-typed: ``name``, ``channels``,
    ``lanes``, ``lane_mode``, ``shift_mode``, ``store``, ``w_m``, ``w_b``, ``w_n``, ``w_q``,
    ``q_signed``, and a shared unit's ``layer_table``/``layer_shift``)."""

    def __init__(self, cfg):
        self.name = cfg.name
        self.channels = cfg.channels
        self.threshold = is_threshold(cfg)
        self.fields = stage_fields(cfg)
        self.w_q = cfg.w_q
        if self.threshold:
            self.w_m = self.w_b = self.w_n = 0
            self.per_channel = False
            self.w_t, self.w_index, self.slots = cfg.w_t, cfg.w_index, cfg.slots
        else:
            self.w_m, self.w_b = cfg.w_m, cfg.w_b
            self.per_channel = cfg.shift_mode == "per-channel"
            self.w_n = cfg.w_n if self.per_channel else 0
        self.lanes, self.pixels = cfg.lanes, cfg.lane_mode == "pixels"
        table = tuple(getattr(cfg, "layer_table", ()) or ()) if cfg.store == "ram" else ()
        self.layers = len(table)  # 0: no layer table in the map
        self.layer_shift = getattr(cfg, "layer_shift", 0)
        self.q_signed = cfg.q_signed
        self.m_words = -(-self.w_m // 32)
        self.b_words = -(-self.w_b // 32)
        self.t_words = -(-self.w_t // 32) if self.threshold else 0
        regs = [
            Register("ID", 0x00, "r", "Magic number: reads 0x4558424E ('EXBN') on an exactbn "
                     "unit", (Field("MAGIC", 0, 32, "magic"),), MAGIC),
            Register("VERSION", 0x04, "r", "Register-map version",
                     (Field("MINOR", 0, 8, "minor version"), Field("MAJOR", 8, 8,
                                                                   "major version")),
                     VERSION[0] << 8 | VERSION[1]),
            Register("CHANNELS", 0x08, "r", "Channel addresses C: COMMIT.CHANNEL must be < C",
                     (Field("C", 0, 17, "channels"),), self.channels),
            Register("GEOMETRY", 0x0C, "r", "Lanes and modes of the datapath",
                     (Field("LANES", 0, 9, "lanes per beat"),
                      Field("PIXELS", 9, 1, "1: pixel lane mode (every lane is channel tuser)"),
                      Field("PER_CHANNEL_SHIFT", 10, 1, "1: N is written per channel"))
                     + ((Field("THRESHOLD", 11, 1, "1: a threshold unit (stages T, INDEX)"),)
                        if self.threshold else ()),
                     self.lanes | self.pixels << 9 | self.per_channel << 10
                     | self.threshold << 11),
            self._widths(),
            Register("STATUS", 0x14, "r", "Commit state",
                     (Field("BUSY", 0, 1, "1 while a COMMIT is being written into the unit"),
                      Field("CFG_ERROR", 1, 1, "sticky: a COMMIT named a channel >= C "
                            "(cleared by rst)"),
                      Field("DONE", 16, 16, "commits completed since reset, modulo 2^16"))
                     + ((Field("TBL_ERROR", 2, 1, "sticky: a TBL_COMMIT named a layer >= "
                               "LAYERS or a clip with TBL_QMIN > TBL_QMAX"),)
                        if self.layers else ()),
                     None, "status"),
            Register("COMMIT", 0x18, "rw", "Write a channel address: "
                     + ("the staged T is written into slot INDEX of that channel; "
                        if self.threshold else "the staged M, B"
                        + (", N" if self.per_channel else "") + " are written to that channel; ")
                     + "the write response comes after the unit took them (every beat accepted "
                     "after it uses the new words). Reads the last address written.",
                     (Field("CHANNEL", 0, 17, "channel address"),), None, "commit"),
        ]
        if self.layers:
            regs.append(Register(
                "LAYERS", 0x1C, "r", "Layers of the shared unit's table; the layer index is "
                "s_axis_tuser >> LAYER_SHIFT",
                (Field("LAYERS", 0, 16, "layers"), Field("LAYER_SHIFT", 16, 8, "tuser bit of "
                                                         "the layer index")),
                self.layers | self.layer_shift << 16))
        off = PARAM_BASE
        for f in self.fields:
            if not f.words_named:
                regs.append(Register(f.label, off, "rw", f.desc,
                                     (Field("VALUE", 0, f.width, f.label),), None, "stage"))
                off += 4
                continue
            rep = "two's complement" if f.signed else "unsigned"
            for k in range(f.words):
                w = min(32, f.width - 32 * k)
                regs.append(Register(
                    f"{f.label}{k}", off, "rw",
                    f"Staged {f.label} bits [{32 * k + w - 1}:{32 * k}] ({f.width}-bit {rep}, "
                    "low word first)", (Field("VALUE", 0, w, f"{f.label} bits"),),
                    None, "stage"))
                off += 4
        if self.layers:
            for lim in ("QMIN", "QMAX"):
                rep = "two's complement" if self.q_signed else "unsigned"
                regs.append(Register(
                    f"TBL_{lim}", off, "rw", f"Staged {lim.lower()} of a layer's output clip "
                    f"({self.w_q}-bit lane value, {rep})",
                    (Field("VALUE", 0, self.w_q, lim.lower()),), None, "stage"))
                off += 4
            regs.append(Register(
                "TBL_COMMIT", off, "rw", "Write a layer index: TBL_QMIN/TBL_QMAX become that "
                "layer's clip; the write response comes after the table took them. Reads the "
                "last index written.", (Field("LAYER", 0, 16, "layer index"),), None, "commit"))
            off += 4
        self.registers = regs
        self.size = off
        self._by_name = {r.name: r for r in regs}

    def __getitem__(self, name: str) -> Register:
        return self._by_name[name]

    def offset(self, name: str) -> int:
        return self._by_name[name].offset

    def _widths(self) -> Register:
        if self.threshold:
            return Register("WIDTHS", 0x10, "r", "Register widths in bits",
                            (Field("W_T", 0, 8, "threshold word bits (T)"),
                             Field("W_INDEX", 8, 8, "INDEX bits"),
                             Field("W_Q", 24, 8, "output bits")),
                            self.w_t | self.w_index << 8 | self.w_q << 24)
        return Register("WIDTHS", 0x10, "r", "Register widths in bits",
                        (Field("W_M", 0, 8, "M bits (two's complement)"),
                         Field("W_B", 8, 8, "B bits (two's complement)"),
                         Field("W_N", 16, 8, "N bits (0: shared shift, not written)"),
                         Field("W_Q", 24, 8, "output bits")),
                        self.w_m | self.w_b << 8 | self.w_n << 16 | self.w_q << 24)

    def stage_writes(self, values: dict[str, int]) -> list[tuple[int, int]]:
        """(offset, value) writes that stage one commit's fields (``values``: label -> int)."""
        out = []
        for f in self.fields:
            if f.words_named:
                out += [(self.offset(f"{f.label}{k}"), w)
                        for k, w in enumerate(split_words(values[f.label], f.width))]
            else:
                out.append((self.offset(f.label), values[f.label] & ((1 << f.width) - 1)))
        return out

    def slot_writes(self, channel: int, index: int, value: int) -> list[tuple[int, int]]:
        """Every write that programs one threshold slot (or the direction bit): T, INDEX,
        then COMMIT (a threshold unit's map)."""
        return (self.stage_writes({"T": value, "INDEX": index})
                + [(self.offset("COMMIT"), channel)])

    def param_writes(self, m: int, b: int, n: int) -> list[tuple[int, int]]:
        """(offset, value) writes that stage one channel's M, B (and N)."""
        out = [(self.offset(f"M{k}"), w) for k, w in enumerate(split_words(m, self.w_m))]
        out += [(self.offset(f"B{k}"), w) for k, w in enumerate(split_words(b, self.w_b))]
        if self.per_channel:
            out.append((self.offset("N"), n & ((1 << self.w_n) - 1)))
        return out

    def channel_writes(self, channel: int, m: int, b: int, n: int) -> list[tuple[int, int]]:
        """Every write that programs one channel: staging, then COMMIT."""
        return self.param_writes(m, b, n) + [(self.offset("COMMIT"), channel)]

    def table_writes(self, layer: int, qmin: int, qmax: int) -> list[tuple[int, int]]:
        """Every write that sets one layer's clip (a map with a layer table)."""
        mask = (1 << self.w_q) - 1
        return [(self.offset("TBL_QMIN"), qmin & mask), (self.offset("TBL_QMAX"), qmax & mask),
                (self.offset("TBL_COMMIT"), layer)]
