"""The unit top with ``--cfg-bus axil``: the RAM store's ``cfg_*`` handshake behind an
AXI4-Lite slave (:mod:`.axil`), so the top has ``s_axil_*`` ports instead of ``cfg_*``.

:class:`~.unit.BatchNormUnit` stays the one top level; it calls :func:`connect_axil` when
``cfg.cfg_bus == "axil"`` and :func:`axil_unit_ports` lists the ports it then has.
"""

from __future__ import annotations

from amaranth import Module

from .axil import AxiLiteSlave, axil_port_list

__all__ = ["axil_unit_ports", "connect_axil", "AXIL_REGS_V", "AXIL_TASKS_V", "AXIL_CONN_V",
           "AXIL_INIT_V"]


# the bench's AXI4-Lite master signals and its axil_write/axil_read tasks (Verilog)
AXIL_REGS_V = """  reg s_axil_awvalid;
  reg [11:0] s_axil_awaddr;
  reg s_axil_wvalid;
  reg [31:0] s_axil_wdata;
  reg s_axil_bready;
  reg s_axil_arvalid;
  reg [11:0] s_axil_araddr;
  reg s_axil_rready;
  wire s_axil_awready;
  wire s_axil_wready;
  wire s_axil_bvalid;
  wire [1:0] s_axil_bresp;
  wire s_axil_arready;
  wire s_axil_rvalid;
  wire [31:0] s_axil_rdata;
  wire [1:0] s_axil_rresp;
"""

AXIL_TASKS_V = """\
  // one write: AW and W together, each dropped after its handshake, then the response
  task axil_write(input [11:0] a, input [31:0] d, input [1:0] expect_resp);
    begin
      s_axil_awaddr = a;
      s_axil_wdata = d;
      s_axil_awvalid = 1'b1;
      s_axil_wvalid = 1'b1;
      aw_done = 1'b0;
      w_done = 1'b0;
      while (!(aw_done && w_done)) begin
        @(posedge clk);
        if (s_axil_awvalid && s_axil_awready) aw_done = 1'b1;
        if (s_axil_wvalid && s_axil_wready) w_done = 1'b1;
        @(negedge clk);
        if (aw_done) s_axil_awvalid = 1'b0;
        if (w_done) s_axil_wvalid = 1'b0;
      end
      s_axil_bready = 1'b1;
      @(posedge clk);
      while (!s_axil_bvalid) @(posedge clk);
      if (s_axil_bresp !== expect_resp) begin
        $display("FAIL AXI4-Lite write %h to %h answered %b, expected %b", d, a, s_axil_bresp,
                 expect_resp);
        $finish;
      end
      @(negedge clk);
      s_axil_bready = 1'b0;
    end
  endtask

  task axil_read(input [11:0] a);
    begin
      s_axil_araddr = a;
      s_axil_arvalid = 1'b1;
      @(posedge clk);
      while (!s_axil_arready) @(posedge clk);
      @(negedge clk);
      s_axil_arvalid = 1'b0;
      s_axil_rready = 1'b1;
      @(posedge clk);
      while (!s_axil_rvalid) @(posedge clk);
      rd = s_axil_rdata;
      if (s_axil_rresp !== 2'b00) begin
        $display("FAIL AXI4-Lite read of %h answered %b", a, s_axil_rresp);
        $finish;
      end
      @(negedge clk);
      s_axil_rready = 1'b0;
    end
  endtask

"""


AXIL_CONN_V = (",\n    .s_axil_awvalid(s_axil_awvalid), .s_axil_awready(s_axil_awready),"
        " .s_axil_awaddr(s_axil_awaddr), .s_axil_awprot(3'b000),"
        "\n    .s_axil_wvalid(s_axil_wvalid), .s_axil_wready(s_axil_wready),"
        " .s_axil_wdata(s_axil_wdata), .s_axil_wstrb(4'hf),"
        "\n    .s_axil_bvalid(s_axil_bvalid), .s_axil_bready(s_axil_bready),"
        " .s_axil_bresp(s_axil_bresp),"
        "\n    .s_axil_arvalid(s_axil_arvalid), .s_axil_arready(s_axil_arready),"
        " .s_axil_araddr(s_axil_araddr), .s_axil_arprot(3'b000),"
        "\n    .s_axil_rvalid(s_axil_rvalid), .s_axil_rready(s_axil_rready),"
        " .s_axil_rdata(s_axil_rdata), .s_axil_rresp(s_axil_rresp)")
AXIL_INIT_V = ("    s_axil_awvalid = 1'b0;\n    s_axil_awaddr = 12'd0;\n    s_axil_wvalid = 1'b0;\n"
        "    s_axil_wdata = 32'd0;\n    s_axil_bready = 1'b0;\n    s_axil_arvalid = 1'b0;\n"
        "    s_axil_araddr = 12'd0;\n    s_axil_rready = 1'b0;\n")


def axil_unit_ports(cfg) -> list[tuple[str, str, int]]:
    """The programming port of an axil unit (in place of ``cfg_*``)."""
    return axil_port_list()


def connect_axil(m: Module, unit, core) -> None:
    """Put the AXI4-Lite slave between ``unit``'s ``s_axil_*`` ports and ``core``'s cfg port."""
    m.submodules.axil = slave = AxiLiteSlave(unit.cfg)
    for name, direction, _ in axil_port_list():
        top, inner = getattr(unit, name), getattr(slave, name[len("s_axil_"):])
        m.d.comb += (inner.eq(top) if direction == "input" else top.eq(inner))
    fields = slave.regmap.fields  # the staged values: M, B (, N) or T, INDEX
    m.d.comb += [
        core.cfg_valid.eq(slave.cfg_valid), slave.cfg_ready.eq(core.cfg_ready),
        core.cfg_addr.eq(slave.cfg_addr),
        *(getattr(core, f.port).eq(getattr(slave, f.port)) for f in fields if f.words_named),
        slave.cfg_error.eq(core.cfg_error),
        *(getattr(core, f.port).eq(getattr(slave, f.port)) for f in fields if not f.words_named),
    ]
    if slave.regmap.layers:  # the shared unit's layer table
        m.d.comb += [
            core.tbl_valid.eq(slave.tbl_valid), slave.tbl_ready.eq(core.tbl_ready),
            core.tbl_addr.eq(slave.tbl_addr), core.tbl_qmin.eq(slave.tbl_qmin),
            core.tbl_qmax.eq(slave.tbl_qmax), slave.tbl_error.eq(core.tbl_error),
        ]


def axil_tb_parts(cfg, offsets: dict[str, int], magic: int) -> tuple[str, str, str, str]:
    """Declarations, port connections, initial values and the programming sequence of the
    kit's plain-Verilog bench for an axil unit (``offsets``: register name -> byte offset).

    The bench reads ID, scrambles every channel to M = B = N = 0, writes the solved values
    from the .hex files (every COMMIT must answer OKAY), then commits channel C (must answer
    SLVERR and set STATUS.CFG_ERROR)."""
    c, wm, wb = cfg.channels, cfg.w_m, cfg.w_b
    per = cfg.shift_mode == "per-channel"
    wn = max(cfg.w_n, 1)
    mw, bw = -(-wm // 32), -(-wb // 32)
    n = cfg.name
    decl = f"""  // AXI4-Lite master: programs the RAM store through the register map ({n}_regs.rdl)
  parameter PARAM_M = "{n}_M.hex";
  parameter PARAM_B = "{n}_B.hex";
{f'  parameter PARAM_N = "{n}_N.hex";' + chr(10) if per else ''}{AXIL_REGS_V}\
  reg [{wm - 1}:0] pm [0:{c - 1}];
  reg [{wb - 1}:0] pb [0:{c - 1}];
{f'  reg [{wn - 1}:0] pn [0:{c - 1}];' + chr(10) if per else ''}  reg [{32 * mw - 1}:0] tm;
  reg [{32 * bw - 1}:0] tb;
  reg [31:0] rd;
  reg aw_done;
  reg w_done;
  integer ch;

{AXIL_TASKS_V}\
  task program_channel(input [31:0] a, input [{32 * mw - 1}:0] mv, input [{32 * bw - 1}:0] bv,
                       input [31:0] nv, input [1:0] expect_resp);
    begin
"""
    for label, words in (("M", mw), ("B", bw)):
        for k in range(words):
            decl += (f"      axil_write(12'h{offsets[f'{label}{k}']:03x}, {label.lower()}v"
                     f"[{32 * k + 31}:{32 * k}], 2'b00);\n")
    if per:
        decl += f"      axil_write(12'h{offsets['N']:03x}, nv, 2'b00);\n"
    decl += f"""      axil_write(12'h{offsets['COMMIT']:03x}, a, expect_resp);
    end
  endtask
"""
    conn, init = AXIL_CONN_V, AXIL_INIT_V
    def zext(expr: str, width: int, to: int) -> str:  # explicit: the bench is lint-clean
        return expr if width == to else f"{{{{{to - width}{{1'b0}}}}, {expr}}}"

    nval = zext("pn[ch]", wn, 32) if per else "32'd0"
    program = ("    $readmemh(PARAM_M, pm);\n    $readmemh(PARAM_B, pb);\n"
               + ("    $readmemh(PARAM_N, pn);\n" if per else "")
               + f"""    axil_read(12'h{offsets['ID']:03x});
    if (rd !== 32'h{magic:08x}) begin
      $display("FAIL ID reads %h, expected {magic:08x}", rd);
      $finish;
    end
    for (ch = 0; ch < {c}; ch = ch + 1)
      program_channel(ch, {32 * mw}'d0, {32 * bw}'d0, 32'd0, 2'b00);
    for (ch = 0; ch < {c}; ch = ch + 1) begin
      tm = {zext("pm[ch]", wm, 32 * mw)};
      tb = {zext("pb[ch]", wb, 32 * bw)};
      program_channel(ch, tm, tb, {nval}, 2'b00);
    end
    axil_read(12'h{offsets['STATUS']:03x});
    if (rd[1] !== 1'b0) begin
      $display("FAIL STATUS.CFG_ERROR set by in-range commits");
      $finish;
    end
    program_channel({c}, {{{32 * mw}{{1'b1}}}}, {{{32 * bw}{{1'b1}}}}, 32'hffffffff, 2'b10);
    axil_read(12'h{offsets['STATUS']:03x});
    if (rd[1] !== 1'b1) begin
      $display("FAIL STATUS.CFG_ERROR not set by a COMMIT to channel {c}");
      $finish;
    end
""")
    return decl, conn, init, program
