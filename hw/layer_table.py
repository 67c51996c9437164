"""The shared unit's per-layer table: each layer's output clip, read by the beat's layer index.

A shared unit serves several layers with one datapath sized for all of them. Its saturator
clips to the union range ``[qmin, qmax]`` of :class:`~exactbn.hw.UnitConfig` (constants),
then :class:`LayerClamp` clips again to the beat's own layer's ``[qmin_l, qmax_l]`` (inside
the union, so ``clip(clip(r, union), layer) == clip(r, layer)``: the layer's integer model).

The layer index is ``tuser >> layer_shift`` (``s_axis_tuser = {layer, group}``); an index
past the table (padding tusers beyond the last layer) keeps the union clip.

- ROM store: the table is constants (a small mux on the layer index).
- RAM store: one memory word ``{qmax, qmin}`` per layer, written through the raw table port
  ``tbl_valid/tbl_ready/tbl_addr/tbl_qmin/tbl_qmax/tbl_error`` with the ``cfg_*`` ordering
  rule (``tbl_valid`` lowers the stream's ready from the next cycle on; ``tbl_ready`` is
  the unit's ``cfg_ready`` condition): every beat accepted before the write handshake uses
  the old entry, every beat accepted after it the new one. The entry is read when the beat's
  parameters are read and travels with it. A write with ``tbl_addr`` >= the number of layers,
  or ``tbl_qmin > tbl_qmax``, changes nothing and sets the sticky ``tbl_error`` (cleared by
  reset; the table itself is not). A written clip acts inside the union clip (the generated
  unit's bound): the effective clip is ``[max(qmin_l, qmin), min(qmax_l, qmax)]``.

``tbl_qmin``/``tbl_qmax`` are ``w_q``-bit values in the output lane's representation (two's
complement when ``q_signed``).
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["LayerEntry", "LayerTable", "LayerClamp", "layer_bounds", "table_ports"]


@dataclass(frozen=True)
class LayerEntry:
    """One layer's row: the clip the hardware applies, plus the layer's own number types
    (documentation of how its values sit in the shared lanes; no hardware depends on them)."""

    qmin: int
    qmax: int
    q_bits: int = 0
    q_signed: bool = False
    x_bits: int = 0
    x_signed: bool = False
    hw_rounding: str = "floor"
    rounding: str = "half_even"  # the layer's reference (quantizer) rounding, for checks

    def to_json(self) -> dict:
        return {"qmin": self.qmin, "qmax": self.qmax, "q_bits": self.q_bits,
                "q_signed": self.q_signed, "x_bits": self.x_bits, "x_signed": self.x_signed,
                "hw_rounding": self.hw_rounding, "rounding": self.rounding}


def layer_bounds(cfg, user: int) -> tuple[int, int]:
    """The clip the unit applies to a beat with this tuser (the table's initial contents)."""
    if not cfg.layer_table:
        return cfg.qmin, cfg.qmax
    idx = user >> cfg.layer_shift
    if idx >= len(cfg.layer_table):
        return cfg.qmin, cfg.qmax
    e = cfg.layer_table[idx]
    return e.qmin, e.qmax


def table_ports(cfg) -> list[tuple[str, str, int]]:
    """The raw table write port of a RAM-store shared unit (``[]`` otherwise)."""
    if not cfg.layer_table or cfg.store != "ram":
        return []
    return [("tbl_valid", "input", 1), ("tbl_ready", "output", 1),
            ("tbl_addr", "input", cfg.w_layer), ("tbl_qmin", "input", cfg.w_q),
            ("tbl_qmax", "input", cfg.w_q), ("tbl_error", "output", 1)]


class LayerTable(wiring.Component):
    """``layer`` -> ``lo``/``hi`` (combinational read); RAM: registers with a write port."""

    def __init__(self, cfg):
        self.cfg = cfg
        shape = signed(cfg.w_q) if cfg.q_signed else unsigned(cfg.w_q)
        self.shape = shape
        sig = {"layer": In(max(1, cfg.w_user - cfg.layer_shift)),
               "lo": Out(shape), "hi": Out(shape)}
        if cfg.store == "ram":
            sig.update({"wr_valid": In(1), "wr_ready": In(1), "wr_addr": In(cfg.w_layer),
                        "wr_qmin": In(cfg.w_q), "wr_qmax": In(cfg.w_q), "error": Out(1)})
        super().__init__(sig)

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        rows = cfg.layer_table
        if cfg.store == "ram":
            self._ram(m, rows)
            return m
        los = [e.qmin for e in rows]
        his = [e.qmax for e in rows]
        with m.Switch(self.layer):
            for i in range(len(rows)):
                with m.Case(i):
                    m.d.comb += [self.lo.eq(los[i]), self.hi.eq(his[i])]
            with m.Default():
                m.d.comb += [self.lo.eq(cfg.qmin), self.hi.eq(cfg.qmax)]
        return m

    def _ram(self, m: Module, rows) -> None:
        """RAM: one memory word ``{qmax, qmin}`` per layer (``table.mem``, so the proof frees
        and shadows it like the parameter words), read combinationally by ``layer``; an index
        past the table reads the union clip."""
        cfg = self.cfg
        wq = cfg.w_q
        mask = (1 << wq) - 1
        mem = Memory(shape=unsigned(2 * wq), depth=len(rows),
                     init=[(e.qmin & mask) | ((e.qmax & mask) << wq) for e in rows])
        m.submodules.mem = mem
        rp = mem.read_port(domain="comb")
        wp = mem.write_port()
        w_idx = max(1, (len(rows) - 1).bit_length())
        inside = self.layer < len(rows)
        m.d.comb += rp.addr.eq(self.layer[:w_idx])
        lo, hi = rp.data[:wq], rp.data[wq:]
        if cfg.q_signed:
            lo, hi = lo.as_signed(), hi.as_signed()
        m.d.comb += [self.lo.eq(Mux(inside, lo, cfg.qmin)),
                     self.hi.eq(Mux(inside, hi, cfg.qmax))]
        wlo = self.wr_qmin.as_signed() if cfg.q_signed else self.wr_qmin
        whi = self.wr_qmax.as_signed() if cfg.q_signed else self.wr_qmax
        take = self.wr_valid & self.wr_ready
        ok = (self.wr_addr < len(rows)) & (wlo <= whi)
        err = Signal()
        m.d.comb += self.error.eq(err)
        with m.If(take & ~ok):
            m.d.sync += err.eq(1)
        m.d.comb += [wp.addr.eq(self.wr_addr[:w_idx]), wp.en.eq(take & ok),
                     wp.data.eq(Cat(self.wr_qmin, self.wr_qmax))]


class LayerClamp(wiring.Component):
    """``q = clip(q_in, lo, hi)`` on ``w_q``-bit lane values; ``stages`` (0/1) registers q."""

    def __init__(self, w_q: int, q_signed: bool, stages: int):
        if stages not in (0, 1):
            raise ValueError(f"stages must be 0 or 1, got {stages!r}")
        self.q_signed, self.stages = q_signed, stages
        shape = signed(w_q) if q_signed else unsigned(w_q)
        super().__init__({"en": In(1), "q_in": In(unsigned(w_q)), "lo": In(shape),
                          "hi": In(shape), "q": Out(unsigned(w_q))})

    def elaborate(self, platform):
        m = Module()
        v = self.q_in.as_signed() if self.q_signed else self.q_in
        c = Mux(v < self.lo, self.lo, Mux(v > self.hi, self.hi, v))
        if self.stages:
            with m.If(self.en):
                m.d.sync += self.q.eq(c)
        else:
            m.d.comb += self.q.eq(c)
        return m
