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
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["axil_harness", "axil_rtlil", "prove_axil"]

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


def axil_harness(slave, name: str = "axil_slave", inner: str = "") -> tuple[str, dict[str, str]]:
    """The harness text and its probes (harness wire -> slave register; ``inner``: the
    hierarchy prefix of the slave's registers inside ``slave``, e.g. ``"inner."``)."""
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
      "  end", "endmodule", "")
    return "\n".join(lines), probes


def prove_axil(slave, workdir: Path, depth: int = 8, timeout_s: float = 600,
               inner: str = ""):
    """Run the check on ``slave`` (an AxiLiteSlave, or a component with its ports around one,
    whose registers sit under ``inner``). Returns sim.formal's TaskResult (status PASS /
    FAIL / UNPROVEN / ...)."""
    from exactbn.sim.formal.harness import Harness
    from exactbn.sim.formal.runner import run_task

    text, probes = axil_harness(slave, inner=inner)
    h = Harness("axil", TOP, text, probes, {}, dut_rtlil=axil_rtlil(slave))
    return run_task(h, "", Path(workdir), depth, timeout_s=timeout_s)
