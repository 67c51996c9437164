"""A formal check of the AXI4-Lite slave (hw/axil.py) against the AXI4-Lite protocol.

The slave alone (its Verilog from Amaranth) in a harness where the master and the unit's
``cfg_*``/``tbl_*`` side are free inputs. Assumed (the master's side of AXI4-Lite): a reset
in the first cycle; AWVALID, WVALID and ARVALID, once high, stay high with the same address,
data and strobe until their handshake. Proven for every input sequence (k-induction):

- BVALID and RVALID stay high with the same BRESP, RDATA and RRESP until their handshake;
  the responses are OKAY or SLVERR; both are low in the cycle after a reset cycle;
- one outstanding write: at most one AW and one W handshake without their B handshake, and
  BVALID only when both came; one outstanding read: at most one AR handshake without its R
  handshake, RVALID only after one;
- the ``cfg_*`` (and ``tbl_*``) handshake: ``cfg_valid`` stays high with the same address
  and words until ``cfg_ready``; a cfg/table write only while an AXI write is outstanding,
  never with BVALID up, at most one per AXI write, and BVALID high from the cycle after its
  handshake until the B handshake (so the host's response comes after the unit took the
  words: the ordering rule of the unit's cfg port).

With ``map_check`` (:func:`map_checks`; the threshold unit's prove path) the slave is also
proven against the documented register map (:class:`exactbn.regmap.layout.RegisterMap` of
its config, built afresh, never the slave's own copy): the harness keeps a shadow of every
staging register, updated at each B handshake of a write to its byte offset under the byte
strobe; whenever ``cfg_valid`` is high the pending write is a full-strobe COMMIT, ``cfg_addr``
is its channel (C for a channel >= C) and every staged port (T / INDEX, or M / B / N) equals
the shadow words of its registers (low word first, cut to the field's width); the B response
is OKAY for staging writes and a COMMIT to a channel < C (after its cfg handshake), SLVERR for
read-only and unmapped offsets, a partial-strobe COMMIT and a COMMIT to a channel >= C; a read
of ID, VERSION, CHANNELS, GEOMETRY or WIDTHS returns the documented value, OKAY, and a read
of an unmapped offset answers SLVERR.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["axil_harness", "axil_rtlil", "prove_axil", "map_checks"]

TOP = "exactbn_axil_formal"


def axil_rtlil(slave, name: str = "axil_slave") -> str:
    """The slave's RTLIL (ports named as its signature members, plus clk, rst)."""
    from amaranth.back import rtlil

    return rtlil.convert(slave, name=name, emit_src=False)


def _members(slave) -> list[tuple[str, str, int]]:
    from amaranth import Shape
    from amaranth.lib.wiring import In

    return [(n, "input" if m.flow == In else "output", Shape.cast(m.shape).width)
            for n, m in slave.signature.members.items()]


def axil_harness(slave, name: str = "axil_slave", inner: str = "", map_check: bool = False,
                 regmap=None) -> tuple[str, dict[str, str]]:
    """The harness text and its probes (harness wire -> slave register; ``inner``: the
    hierarchy prefix of the slave's registers inside ``slave``, e.g. ``"inner."``).
    ``map_check``: also the register-map checks (:func:`map_checks`) against ``regmap``
    (default: ``RegisterMap(slave.cfg)``, the documented map)."""
    ports = _members(slave)
    names = {n for n, _, _ in ports}
    tbl = "tbl_valid" in names
    lines: list[str] = []

    def w(*ls: str) -> None:
        lines.extend(ls)

    decl = [f"  input wire [{wd - 1}:0] {n}" for n, d, wd in ports if d == "input"]
    w(f"module {TOP}(input wire clk, input wire rst,\n" + ",\n".join(decl) + ");")
    for n, d, wd in ports:
        if d == "output":
            w(f"  wire [{wd - 1}:0] {n};")
    conns = ", ".join(f".{n}({n})" for n, _, _ in ports)
    w(f"  {name} dut(.clk(clk), .rst(rst), {conns});")
    w("  reg init = 1'b1;", "  always @(posedge clk) init <= 1'b0;",
      "  always @* if (init) assume(rst);")
    hs = {"aw": "awvalid & awready", "w": "wvalid & wready", "b": "bvalid & bready",
          "ar": "arvalid & arready", "r": "rvalid & rready"}
    for k, v in hs.items():
        w(f"  wire {k}_hs = {v};")
    took = "(cfg_valid & cfg_ready)" + (" | (tbl_valid & tbl_ready)" if tbl else "")
    pend = "cfg_valid" + (" | tbl_valid" if tbl else "")
    w(f"  wire took = {took};", f"  wire pend = {pend};")
    # Held channels: (valid, ready, payload); the master's are assumed, the slave's asserted.
    held = {"aw": ("awvalid", "awready", ["awaddr", "awprot"]),
            "w": ("wvalid", "wready", ["wdata", "wstrb"]),
            "ar": ("arvalid", "arready", ["araddr", "arprot"]),
            "b": ("bvalid", "bready", ["bresp"]),
            "r": ("rvalid", "rready", ["rdata", "rresp"]),
            "c": ("cfg_valid", "cfg_ready",
                  [n for n, d, _ in ports  # cfg_addr and the staged words (M, B, N or
                   if n.startswith("cfg_") and d == "output" and n != "cfg_valid"])}  # T, INDEX)
    if tbl:
        held["t"] = ("tbl_valid", "tbl_ready", ["tbl_addr", "tbl_qmin", "tbl_qmax"])
    width = {n: wd for n, _, wd in ports}
    for k, (valid, ready, pay) in held.items():
        w(f"  reg p_{k} = 1'b0;")
        for p in pay:
            w(f"  reg [{width[p] - 1}:0] p_{k}_{p};")
        w("  always @(posedge clk) begin",
          f"    p_{k} <= {valid} & !{ready} & !rst;",
          "".join(f" p_{k}_{p} <= {p};" for p in pay), "  end")
        same = " && ".join([valid] + [f"{p} == p_{k}_{p}" for p in pay])
        kind = "assume" if k in ("aw", "w", "ar") else "assert"
        w(f"  always @* if (!init && !rst && p_{k}) {kind}({same});  // @held {k}")
    w("  reg p_rst = 1'b0;", "  always @(posedge clk) p_rst <= rst;",
      "  always @* if (!init && p_rst) assert(!bvalid && !rvalid);  // @reset",
      "  always @* if (!init && bvalid) assert(bresp == 2'b00 || bresp == 2'b10);  // @bresp",
      "  always @* if (!init && rvalid) assert(rresp == 2'b00 || rresp == 2'b10);  // @rresp")
    # Outstanding transactions.
    w("  reg [2:0] n_aw = 0, n_w = 0, n_b = 0, n_ar = 0, n_r = 0;", "  reg c_done = 1'b0;",
      "  always @(posedge clk) begin",
      "    if (aw_hs) n_aw <= n_aw + 1'b1;", "    if (w_hs) n_w <= n_w + 1'b1;",
      "    if (b_hs) n_b <= n_b + 1'b1;", "    if (ar_hs) n_ar <= n_ar + 1'b1;",
      "    if (r_hs) n_r <= n_r + 1'b1;",
      "    if (took) c_done <= 1'b1;", "    if (b_hs) c_done <= 1'b0;",
      "    if (rst) begin n_aw <= 0; n_w <= 0; n_b <= 0; n_ar <= 0; n_r <= 0; "
      "c_done <= 1'b0; end",
      "  end",
      "  wire [2:0] o_aw = n_aw - n_b, o_w = n_w - n_b, o_r = n_ar - n_r;",
      "  always @* if (!init && !rst) begin",
      "    assert(o_aw <= 1 && o_w <= 1);  // @one_write",
      "    if (bvalid) assert(o_aw == 1 && o_w == 1);  // @b_after_aw_w",
      "    assert(o_r <= 1);  // @one_read",
      "    if (rvalid) assert(o_r == 1);  // @r_after_ar",
      "    if (pend) assert(o_aw == 1 && o_w == 1 && !bvalid && !c_done);  // @cfg_in_write",
      "    if (took) assert(!c_done);  // @one_cfg_per_write",
      "    if (c_done) assert(bvalid);  // @b_after_cfg",
      "  end")
    # Helper invariants on the slave's registers (asserted: they can only make it fail).
    probes = {f"h_{r}": f"dut.{inner}{r}" for r in ("aw_full", "w_full", "busy", "r_step")}
    for r in probes:
        w(f"  (* keep *) wire {r};")
    w("  always @* if (!init && !rst) begin",
      "    assert(h_aw_full == (o_aw != 0)); assert(h_w_full == (o_w != 0));",
      "    assert((h_r_step | rvalid) == (o_r != 0)); assert(!(h_r_step && rvalid));",
      "    if (awready) assert(!h_aw_full);", "    if (wready) assert(!h_w_full);",
      "    if (arready) assert(o_r == 0);",
      "    assert(h_busy == pend);",
      *(["    assert(!(cfg_valid && tbl_valid));"] if tbl else []),
      "  end")
    if map_check:
        from .layout import RegisterMap

        if tbl:
            raise ValueError("map_check covers units without a layer table")
        rm = regmap if regmap is not None else RegisterMap(slave.cfg)
        w(*map_checks(rm, width, slave.cfg.channels))
        probes |= {"h_aw_addr": f"dut.{inner}aw_addr", "h_w_data": f"dut.{inner}w_data",
                   "h_w_strb": f"dut.{inner}w_strb", "h_bad": f"dut.{inner}bad",
                   "h_sel": f"dut.{inner}sel"}
        probes |= {f"h_stage_{r.name}": f"dut.{inner}stage_{r.name}" for r in rm.registers
                   if r.kind == "stage"}
    w("endmodule", "")
    return "\n".join(lines), probes


def map_checks(rm, width: dict[str, int], channels: int) -> list[str]:
    """Harness lines: the slave against the documented map ``rm`` (module docstring). Uses
    the protocol harness's wires (``*_hs``, ``o_*``, ``pend``, ``c_done``, ``h_*``)."""
    from .layout import ADDR_BITS

    regs = rm.registers
    stage = [r for r in regs if r.kind == "stage"]
    commit = rm["COMMIT"].offset >> 2
    n = len(regs)
    hit = "{" + ", ".join(f"ca_addr[{ADDR_BITS - 1}:2] == 10'd{r.offset >> 2}"
                          for r in reversed(regs)) + "}"
    ls = [f"  reg [{ADDR_BITS - 1}:0] cw_addr = 0, ca_addr = 0;", "  reg [31:0] cw_data = 0;",
          "  reg [3:0] cw_strb = 0;",
          "  always @(posedge clk) begin",
          "    if (aw_hs) cw_addr <= awaddr;", "    if (w_hs) begin cw_data <= wdata; "
          "cw_strb <= wstrb; end", "    if (ar_hs) ca_addr <= araddr;", "  end",
          "  wire [31:0] cw_bm = {{8{cw_strb[3]}}, {8{cw_strb[2]}}, {8{cw_strb[1]}}, "
          "{8{cw_strb[0]}}};",
          f"  wire [9:0] cw_reg = cw_addr[{ADDR_BITS - 1}:2];",
          f"  (* keep *) wire [{ADDR_BITS - 1}:0] h_aw_addr;", "  (* keep *) wire [31:0] h_w_data;",
          "  (* keep *) wire [3:0] h_w_strb;", "  (* keep *) wire h_bad;",
          f"  (* keep *) wire [{n - 1}:0] h_sel;"]
    for r in stage:
        wd = r.fields[0].width
        ls += [f"  reg [31:0] sh_{r.name} = 0;  // shadow of {r.name} at {r.offset:#x}",
               f"  wire [31:0] mg_{r.name} = (sh_{r.name} & ~cw_bm) | (cw_data & cw_bm);",
               f"  (* keep *) wire [{wd - 1}:0] h_stage_{r.name};",
               "  always @(posedge clk)",
               f"    if (rst) sh_{r.name} <= 0; else if (b_hs && cw_reg == 10'd{r.offset >> 2}) "
               f"sh_{r.name} <= mg_{r.name};",
               "  always @* if (!init && !rst) begin",
               f"    if (bvalid && cw_reg == 10'd{r.offset >> 2}) "
               f"assert(h_stage_{r.name} == mg_{r.name}[{wd - 1}:0]);",
               f"    else assert(h_stage_{r.name} == sh_{r.name}[{wd - 1}:0]);  // @map_stage",
               "  end"]
    for f in rm.fields:  # a staged field: its shadow words, low word first
        names = ([f"{f.label}{k}" for k in range(f.words)] if f.words_named else [f.label])
        ls.append(f"  wire [{32 * len(names) - 1}:0] fv_{f.label} = {{"
                  + ", ".join(f"sh_{x}" for x in reversed(names)) + "};")
    w_addr = width["cfg_addr"]
    ls += ["  always @* if (!init && !rst) begin",
           "    if (h_aw_full) assert(h_aw_addr == cw_addr);  // @map_aw_held",
           "    if (h_w_full) assert(h_w_data == cw_data && h_w_strb == cw_strb);  // @map_w_held",
           "    if (bvalid) assert(h_aw_full && h_w_full);  // @map_b_held",
           "    if (cfg_valid) begin",
           f"      assert(h_aw_full && h_w_full && cw_reg == 10'd{commit} && cw_strb == 4'hf);"
           "  // @map_commit",
           f"      assert(cfg_addr == (cw_data >= 32'd{channels} ? {w_addr}'d{channels} : "
           f"cw_data[{w_addr - 1}:0]));  // @map_cfg_addr",
           f"      assert(h_bad == (cw_data >= 32'd{channels}));  // @map_bad"]
    for f in rm.fields:
        ls.append(f"      assert({f.port} == fv_{f.label}[{f.width - 1}:0]);  // @map_{f.label}")
    ls.append("    end")
    stage_hit = " || ".join(f"cw_reg == 10'd{r.offset >> 2}" for r in stage) or "1'b0"
    ok_commit = f"cw_strb == 4'hf && cw_data < 32'd{channels}"
    ls += ["    if (bvalid) begin",
           f"      if ({stage_hit}) assert(bresp == 2'b00);  // @map_stage_okay",
           f"      else if (cw_reg == 10'd{commit}) assert(bresp == (({ok_commit}) ? 2'b00 : "
           "2'b10) && c_done == (cw_strb == 4'hf));  // @map_commit_resp",
           "      else assert(bresp == 2'b10 && !c_done);  // @map_slverr",
           "    end",
           f"    if (h_r_step) assert(h_sel == {hit});  // @map_read_select",
           f"    if (h_r_step || rvalid) assert(rresp == (({hit}) != 0 ? 2'b00 : 2'b10));"
           "  // @map_rresp"]
    for r in regs:
        if r.value is not None:
            ls.append(f"    if (rvalid && ca_addr[{ADDR_BITS - 1}:2] == 10'd{r.offset >> 2}) "
                      f"assert(rdata == 32'h{r.value:08x});  // @map_read_{r.name}")
    ls.append("  end")
    return ls


def prove_axil(slave, workdir: Path, depth: int | None = None, timeout_s: float = 600,
               inner: str = "", map_check: bool = False, regmap=None):
    """Run the check on ``slave`` (an AxiLiteSlave, or a component with its ports around one,
    whose registers sit under ``inner``); ``map_check``/``regmap``: also against the
    documented register map (:func:`axil_harness`). Returns sim.formal's TaskResult (status
    PASS / FAIL / UNPROVEN / ...; task ``axil`` or, with the map, ``axil_map``). ``depth``:
    8, or 12 with the map (a base case long enough for a staging write, then a COMMIT)."""
    from exactbn.sim.formal.harness import Harness
    from exactbn.sim.formal.runner import run_task

    text, probes = axil_harness(slave, inner=inner, map_check=map_check, regmap=regmap)
    h = Harness("axil_map" if map_check else "axil", TOP, text, probes, {},
                dut_rtlil=axil_rtlil(slave))
    depth = depth if depth is not None else 12 if map_check else 8
    return run_task(h, "", Path(workdir), depth, timeout_s=timeout_s)
