"""AXI4-Lite slave that programs a RAM parameter store through its raw ``cfg_*`` handshake.

The register map (offsets, fields) is :class:`exactbn.regmap.layout.RegisterMap`, the one
description the SystemRDL file, the C code and the Python driver also come from. Every output
is a register. AW and W are taken in either order (each held in its own register until the
write's response); a write to a staging register (M0.., B0.., N; a threshold unit's T0..,
INDEX) is answered OKAY the next cycle; a write to COMMIT raises ``cfg_valid`` with the
channel and the staged words and answers only after the ``cfg_valid``/``cfg_ready`` handshake,
so every beat the unit accepts after BVALID uses the new words (the unit's own rule: beats
accepted after the cfg handshake use the new words). A read answers two cycles after its
address handshake (a registered one-hot select, then the registered data). Responses: SLVERR
for writes to read-only or unmapped addresses, reads of unmapped addresses, a COMMIT whose
byte strobe is not 0xF (nothing written) and a COMMIT to a channel >= C (passed on as
``cfg_addr = C``: nothing changes, the sticky ``cfg_error`` is set).
A shared unit's layer table (``tbl_*``) is written the same way through TBL_QMIN/TBL_QMAX and
TBL_COMMIT; a bad TBL_COMMIT (layer >= LAYERS, qmin > qmax) is not passed on: SLVERR and the
slave's own sticky TBL_ERROR (cleared by reset).
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from exactbn.regmap.layout import ADDR_BITS, RegisterMap

__all__ = ["AxiLiteSlave", "axil_port_list", "OKAY", "SLVERR"]

OKAY, SLVERR = 0b00, 0b10


def axil_port_list() -> list[tuple[str, str, int]]:
    """``(name, direction, width)`` of the ``s_axil_*`` ports (AXI4-Lite, 32-bit data)."""
    return [
        ("s_axil_awvalid", "input", 1), ("s_axil_awready", "output", 1),
        ("s_axil_awaddr", "input", ADDR_BITS), ("s_axil_awprot", "input", 3),
        ("s_axil_wvalid", "input", 1), ("s_axil_wready", "output", 1),
        ("s_axil_wdata", "input", 32), ("s_axil_wstrb", "input", 4),
        ("s_axil_bvalid", "output", 1), ("s_axil_bready", "input", 1),
        ("s_axil_bresp", "output", 2),
        ("s_axil_arvalid", "input", 1), ("s_axil_arready", "output", 1),
        ("s_axil_araddr", "input", ADDR_BITS), ("s_axil_arprot", "input", 3),
        ("s_axil_rvalid", "output", 1), ("s_axil_rready", "input", 1),
        ("s_axil_rdata", "output", 32), ("s_axil_rresp", "output", 2),
    ]


class AxiLiteSlave(wiring.Component):
    """The register map of ``cfg`` (a RAM-store UnitConfig or ThresholdConfig) on ``s_axil_*``,
    driving ``cfg_*`` (the staged fields: :func:`exactbn.regmap.layout.stage_fields`)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.regmap = RegisterMap(cfg)
        sig = {name[len("s_axil_"):]: (In if d == "input" else Out)(w)
               for name, d, w in axil_port_list()}
        sig.update({"cfg_valid": Out(1), "cfg_ready": In(1), "cfg_addr": Out(cfg.w_addr)})
        fields = self.regmap.fields  # the staged values (multiply-shift M, B, N; threshold T,
        sig.update({f.port: Out(f.width) for f in fields if f.words_named})
        sig["cfg_error"] = In(1)  # INDEX): the multi-word ones, cfg_error, then the others
        sig.update({f.port: Out(f.width) for f in fields if not f.words_named})
        if self.regmap.layers:  # the shared unit's layer table (hw/layer_table.py)
            sig.update({"tbl_valid": Out(1), "tbl_ready": In(1), "tbl_addr": Out(cfg.w_layer),
                        "tbl_qmin": Out(cfg.w_q), "tbl_qmax": Out(cfg.w_q),
                        "tbl_error": In(1)})
        super().__init__(sig)

    def elaborate(self, platform):
        rm, cfg = self.regmap, self.cfg
        m = Module()
        # Staging registers, one per 32-bit word (the last word only as wide as its field).
        staged = {r.name: Signal(r.fields[0].width, name=f"stage_{r.name}")
                  for r in rm.registers if r.kind == "stage"}
        for f in rm.fields:
            value = (Cat(*(staged[f"{f.label}{k}"] for k in range(f.words))) if f.words_named
                     else staged[f.label])
            m.d.comb += getattr(self, f.port).eq(value)

        busy = Signal()  # a COMMIT waits for the cfg handshake
        bad = Signal()  # the pending COMMIT names a channel >= C
        done = Signal(16)
        commit_addr = Signal(17)
        cfg_valid = Signal()
        cfg_addr = Signal(cfg.w_addr)
        m.d.comb += [self.cfg_valid.eq(cfg_valid), self.cfg_addr.eq(cfg_addr)]
        took = cfg_valid & self.cfg_ready  # the unit took the pending write
        tbl_valid, tbl_err = Signal(name="tbl_valid_r"), Signal(name="tbl_err")
        tbl_last = Signal(16, name="tbl_last")
        if rm.layers:
            tbl_addr = Signal(cfg.w_layer)
            m.d.comb += [self.tbl_valid.eq(tbl_valid), self.tbl_addr.eq(tbl_addr),
                         self.tbl_qmin.eq(staged["TBL_QMIN"]),
                         self.tbl_qmax.eq(staged["TBL_QMAX"])]
            took = took | (tbl_valid & self.tbl_ready)
            lo, hi = staged["TBL_QMIN"], staged["TBL_QMAX"]
            if rm.q_signed:
                lo, hi = lo.as_signed(), hi.as_signed()

        # ---- write address / data: either order, each held until the response
        aw_full, w_full = Signal(name="aw_full"), Signal(name="w_full")  # named: the proof
        aw_addr = Signal(ADDR_BITS)
        w_data, w_strb = Signal(32, name="w_data"), Signal(4, name="w_strb")  # named: the proof
        awready, wready = Signal(name="awready_r"), Signal(name="wready_r")
        bvalid, bresp = Signal(name="bvalid_r"), Signal(2, name="bresp_r")
        m.d.comb += [self.awready.eq(awready), self.wready.eq(wready),
                     self.bvalid.eq(bvalid), self.bresp.eq(bresp)]
        with m.If(self.awvalid & awready):
            m.d.sync += [aw_full.eq(1), aw_addr.eq(self.awaddr), awready.eq(0)]
        with m.Elif(~aw_full):
            m.d.sync += awready.eq(1)
        with m.If(self.wvalid & wready):
            m.d.sync += [w_full.eq(1), w_data.eq(self.wdata), w_strb.eq(self.wstrb),
                         wready.eq(0)]
        with m.Elif(~w_full):
            m.d.sync += wready.eq(1)

        bytemask = Cat(*(w_strb[i].replicate(8) for i in range(4)))
        do_write = aw_full & w_full & ~bvalid & ~busy
        with m.If(do_write):
            with m.Switch(aw_addr[2:]):
                for r in rm.registers:
                    with m.Case(r.offset >> 2):
                        if r.name in staged:
                            reg = staged[r.name]
                            m.d.sync += [reg.eq((reg & ~bytemask) | (w_data & bytemask)),
                                         bvalid.eq(1), bresp.eq(OKAY)]
                        elif r.name == "TBL_COMMIT":
                            with m.If((w_strb == 0xF) & (w_data < rm.layers) & (lo <= hi)):
                                m.d.sync += [tbl_last.eq(w_data[:16]), busy.eq(1),
                                             tbl_valid.eq(1), tbl_addr.eq(w_data[:cfg.w_layer])]
                            with m.Else():  # nothing written; sticky TBL_ERROR unless strobe
                                m.d.sync += [bvalid.eq(1), bresp.eq(SLVERR),
                                             tbl_err.eq(tbl_err | (w_strb == 0xF))]
                        elif r.name == "COMMIT":
                            with m.If(w_strb == 0xF):
                                out = w_data >= cfg.channels
                                m.d.sync += [
                                    commit_addr.eq(w_data[:17]), busy.eq(1), cfg_valid.eq(1),
                                    bad.eq(out),
                                    cfg_addr.eq(Mux(out, Const(cfg.channels, cfg.w_addr),
                                                    w_data[:cfg.w_addr])),
                                ]
                            with m.Else():
                                m.d.sync += [bvalid.eq(1), bresp.eq(SLVERR)]
                        else:  # read-only
                            m.d.sync += [bvalid.eq(1), bresp.eq(SLVERR)]
                with m.Default():
                    m.d.sync += [bvalid.eq(1), bresp.eq(SLVERR)]
        with m.If(took):  # the unit took the write: answer now
            m.d.sync += [cfg_valid.eq(0), tbl_valid.eq(0), busy.eq(0), bvalid.eq(1),
                         done.eq(done + 1), bresp.eq(Mux(bad & cfg_valid, SLVERR, OKAY))]
        with m.If(bvalid & self.bready):
            m.d.sync += [bvalid.eq(0), aw_full.eq(0), w_full.eq(0)]

        # ---- reads, in two registered steps: the address handshake registers a one-hot
        # select (a short, low-fanout path from araddr), the next cycle registers the AND-OR
        # of the selected register into rdata and raises rvalid.
        arready, rvalid = Signal(name="arready_r"), Signal(name="rvalid_r")
        rdata, rresp = Signal(32, name="rdata_r"), Signal(2, name="rresp_r")
        m.d.comb += [self.arready.eq(arready), self.rvalid.eq(rvalid), self.rdata.eq(rdata),
                     self.rresp.eq(rresp)]
        values = []
        for r in rm.registers:
            if r.value is not None:
                values.append(Const(r.value, 32))
            elif r.name == "STATUS":
                terr = (tbl_err | self.tbl_error) if rm.layers else Const(0, 1)
                values.append(Cat(busy, self.cfg_error, terr, Const(0, 13), done))
            elif r.name == "COMMIT":
                values.append(commit_addr)
            elif r.name == "TBL_COMMIT":
                values.append(tbl_last)
            else:
                values.append(staged[r.name])
        sel = Signal(len(values))
        r_step = Signal()  # the select is registered; rdata follows in this cycle
        hit = Cat(*(self.araddr[2:] == (r.offset >> 2) for r in rm.registers))
        with m.If(self.arvalid & arready):
            m.d.sync += [arready.eq(0), r_step.eq(1), sel.eq(hit),
                         rresp.eq(Mux(hit.any(), OKAY, SLVERR))]
        with m.Elif(r_step):
            data = 0
            for k, v in enumerate(values):
                data = data | Mux(sel[k], v, 0)
            m.d.sync += [r_step.eq(0), rvalid.eq(1), rdata.eq(data)]
        with m.Elif(rvalid & self.rready):
            m.d.sync += rvalid.eq(0)
        with m.Elif(~rvalid):
            m.d.sync += arready.eq(1)
        return m
