"""Kit texts of a threshold unit (plain data in, text out), beside hw/kit.py's.

The vector file, bench, constraints and core follow hw/kit.py (the bench is hw/kit.py's,
with a RAM programming sequence for ``cfg_index``/``cfg_value`` when the store is a RAM).
"""

from __future__ import annotations

from types import SimpleNamespace

from . import kit
from .threshold_config import ThresholdConfig
from .threshold_unit import level_images, parallel_images, threshold_port_list

__all__ = ["thresholds_hex", "memory_hex", "testbench_v", "inst_v", "fusesoc_core"]


def _hex(v: int, width: int) -> str:
    return f"{v & ((1 << width) - 1):0{max(1, -(-width // 4))}x}"


def thresholds_hex(cfg: ThresholdConfig) -> str:
    """One write per line, in the order the RAM bench performs them: for every channel,
    every slot k then the direction (``cfg_index = 2^n - 1``), as
    one hex word ``{channel, index, value}`` of w_addr + w_index + w_t bits."""
    lines = []
    wi, wt = cfg.w_index, cfg.w_t
    for ch in range(cfg.channels):
        neg, u = cfg.stored(ch)
        for k, v in enumerate(u + [neg]):
            word = (ch << (wi + wt)) | (k << wt) | (v & ((1 << wt) - 1))
            lines.append(_hex(word, cfg.w_addr + wi + wt))
    return "\n".join(lines) + "\n"


def memory_hex(cfg: ThresholdConfig) -> dict[str, str]:
    """The threshold memory images as stored (``NAME_thr<bank>_<level>.hex``)."""
    out = {}
    if cfg.mode == "binary":
        for bank, levels in enumerate(level_images(cfg)):
            for j, img in enumerate(levels):
                out[f"{cfg.name}_thr{bank}_{j}.hex"] = "\n".join(_hex(v, cfg.w_t) for v in img)
    else:
        for bank, img in enumerate(parallel_images(cfg)):
            out[f"{cfg.name}_thr{bank}.hex"] = "\n".join(_hex(v, cfg.w_t * cfg.slots)
                                                         for v in img)
    return {k: v + "\n" for k, v in out.items()}


def _rom_view(cfg: ThresholdConfig) -> SimpleNamespace:
    """What hw/kit.py's stream bench reads from a config (its ROM path)."""
    return SimpleNamespace(name=cfg.name, lanes=cfg.lanes, w_x=cfg.w_x, w_q=cfg.w_q,
                           w_user=cfg.w_user, w_user_out=cfg.w_user_out, latency=cfg.latency,
                           store="rom", range_check=cfg.range_check, channels=cfg.channels,
                           family="generic", pipeline=SimpleNamespace(mult=0), cfg_bus="raw",
                           layer_table=())
    # no DSP primitives, no AXI4-Lite, no shared-unit layer table


def testbench_v(cfg: ThresholdConfig, n_vectors: int, seed: int = 1) -> str:
    """hw/kit.py's self-checking bench; with a RAM store it first overwrites every slot and
    direction of every channel with 0, then writes the real thresholds from
    ``NAME_thresholds.hex``, then one out-of-range write that must only set cfg_error; while
    the vectors stream it writes every slot and direction again (the same values: the stream
    pauses for each write, and no beat may be lost or changed, e.g. by a write decoded to
    another slot)."""
    text = kit.testbench_v(_rom_view(cfg), n_vectors, seed=seed)
    if cfg.store != "ram":
        return text
    if cfg.cfg_bus == "axil":
        parts = _axil_bench_parts(cfg)
    else:
        parts = _raw_bench_parts(cfg)
    return _insert_bench_parts(cfg, text, *parts)


def _axil_bench_parts(cfg: ThresholdConfig) -> tuple[str, str, str, str]:
    """The RAM bench's writes through the AXI4-Lite register map: ``cfg_write`` stages T and
    INDEX and commits the channel (OKAY expected; SLVERR for channel C), cfg_error is read
    from STATUS.CFG_ERROR."""
    from exactbn.regmap.layout import MAGIC, RegisterMap

    from .axil_unit import AXIL_CONN_V, AXIL_INIT_V, AXIL_REGS_V, AXIL_TASKS_V

    rm = RegisterMap(cfg)
    n, c, wa, wi, wt = cfg.name, cfg.channels, cfg.w_addr, cfg.w_index, cfg.w_t
    tw = rm.t_words
    nw = c * (cfg.slots + 1)
    tv = "v" if wt == 32 * tw else f"{{{{{32 * tw - wt}{{v[{wt - 1}]}}}}, v}}"
    writes = "".join(f"      axil_write(12'h{rm.offset(f'T{k}'):03x}, tv[{32 * k + 31}:{32 * k}],"
                     " 2'b00);\n" for k in range(tw))
    decl = f"""  // RAM store: programmed through AXI4-Lite ({n}_regs.rdl) before streaming
  parameter THRESHOLDS = "{n}_thresholds.hex";
{AXIL_REGS_V}  reg [31:0] rd;
  reg aw_done;
  reg w_done;
  reg [{32 * tw - 1}:0] tv;
  reg [{wa + wi + wt - 1}:0] pw [0:{nw - 1}];
  integer wk, mk;
  reg programmed = 1'b0;

{AXIL_TASKS_V}
  // while the vectors stream: every write again, a few cycles apart
  initial begin
    wait (programmed === 1'b1);
    for (mk = 0; mk < {nw}; mk = mk + 1) begin
      repeat (3) @(negedge clk);
      cfg_write(pw[mk][{wa + wi + wt - 1}:{wi + wt}], pw[mk][{wi + wt - 1}:{wt}],
                pw[mk][{wt - 1}:0]);
    end
  end

  task cfg_write(input [{wa - 1}:0] a, input [{wi - 1}:0] k, input [{wt - 1}:0] v);
    begin
      tv = {tv};
{writes}      axil_write(12'h{rm.offset('INDEX'):03x}, {{{{{32 - wi}{{1'b0}}}}, k}}, 2'b00);
      axil_write(12'h{rm.offset('COMMIT'):03x}, {{{{{32 - wa}{{1'b0}}}}, a}},
                 (a < {c}) ? 2'b00 : 2'b10);
    end
  endtask
"""
    init = AXIL_INIT_V
    program = f"""    axil_read(12'h{rm.offset('ID'):03x});
    if (rd !== 32'h{MAGIC:08x}) begin
      $display("FAIL ID reads %h, expected {MAGIC:08x}", rd);
      $finish;
    end
    $readmemh(THRESHOLDS, pw);
    for (wk = 0; wk < {nw}; wk = wk + 1)
      cfg_write(pw[wk][{wa + wi + wt - 1}:{wi + wt}], pw[wk][{wi + wt - 1}:{wt}], {wt}'d0);
    for (wk = 0; wk < {nw}; wk = wk + 1)
      cfg_write(pw[wk][{wa + wi + wt - 1}:{wi + wt}], pw[wk][{wi + wt - 1}:{wt}],
                pw[wk][{wt - 1}:0]);
    axil_read(12'h{rm.offset('STATUS'):03x});
    if (rd[1] !== 1'b0) begin
      $display("FAIL STATUS.CFG_ERROR set by in-range writes");
      $finish;
    end
    cfg_write({wa}'d{c}, {wi}'d0, {{{wt}{{1'b1}}}});
    axil_read(12'h{rm.offset('STATUS'):03x});
    if (rd[1] !== 1'b1) begin
      $display("FAIL STATUS.CFG_ERROR not set by a COMMIT to channel {c}");
      $finish;
    end
    programmed = 1'b1;
"""
    return decl, AXIL_CONN_V, init, program


def _raw_bench_parts(cfg: ThresholdConfig) -> tuple[str, str, str, str]:
    """The RAM bench's writes on the raw ``cfg_*`` handshake."""
    n, c, wa, wi, wt = cfg.name, cfg.channels, cfg.w_addr, cfg.w_index, cfg.w_t
    nw = c * (cfg.slots + 1)
    decl = f"""  // RAM store: programmed through cfg_* before streaming
  parameter THRESHOLDS = "{n}_thresholds.hex";
  reg cfg_valid;
  reg [{wa - 1}:0] cfg_addr;
  reg [{wi - 1}:0] cfg_index;
  reg [{wt - 1}:0] cfg_value;
  wire cfg_ready;
  wire cfg_error;
  reg [{wa + wi + wt - 1}:0] pw [0:{nw - 1}];
  integer wk, mk;
  reg programmed = 1'b0;

  // while the vectors stream: every write again, a few cycles apart
  initial begin
    wait (programmed === 1'b1);
    for (mk = 0; mk < {nw}; mk = mk + 1) begin
      repeat (3) @(negedge clk);
      cfg_write(pw[mk][{wa + wi + wt - 1}:{wi + wt}], pw[mk][{wi + wt - 1}:{wt}],
                pw[mk][{wt - 1}:0]);
      cfg_valid = 1'b0;
    end
  end

  task cfg_write(input [{wa - 1}:0] a, input [{wi - 1}:0] k, input [{wt - 1}:0] v);
    begin
      cfg_addr = a;
      cfg_index = k;
      cfg_value = v;
      cfg_valid = 1'b1;  // called at a falling edge; cfg_ready has no path from the inputs,
      while (!cfg_ready) @(negedge clk);  // so its value here holds through the rising edge
      @(posedge clk);
      @(negedge clk);
    end
  endtask
"""
    conn = (",\n    .cfg_valid(cfg_valid), .cfg_ready(cfg_ready), .cfg_addr(cfg_addr),"
            " .cfg_index(cfg_index), .cfg_value(cfg_value), .cfg_error(cfg_error)")
    init = (f"    cfg_valid = 1'b0;\n    cfg_addr = {wa}'d0;\n    cfg_index = {wi}'d0;\n"
            f"    cfg_value = {wt}'d0;\n")
    program = f"""    $readmemh(THRESHOLDS, pw);
    for (wk = 0; wk < {nw}; wk = wk + 1)
      cfg_write(pw[wk][{wa + wi + wt - 1}:{wi + wt}], pw[wk][{wi + wt - 1}:{wt}], {wt}'d0);
    for (wk = 0; wk < {nw}; wk = wk + 1)
      cfg_write(pw[wk][{wa + wi + wt - 1}:{wi + wt}], pw[wk][{wi + wt - 1}:{wt}],
                pw[wk][{wt - 1}:0]);
    if (cfg_error !== 1'b0) begin
      $display("FAIL cfg_error set by in-range writes");
      $finish;
    end
    cfg_write({wa}'d{c}, {wi}'d0, {{{wt}{{1'b1}}}});
    cfg_valid = 1'b0;
    @(negedge clk);
    if (cfg_error !== 1'b1) begin
      $display("FAIL cfg_error not set by a write to cfg_addr = {c}");
      $finish;
    end
    programmed = 1'b1;
"""
    return decl, conn, init, program


def _insert_bench_parts(cfg: ThresholdConfig, text: str, decl: str, conn: str, init: str,
                        program: str) -> str:
    n = cfg.name
    anchors = (f"\n  {n} dut (\n", ".m_axis_tlast(m_axis_tlast)", "    rnd = 32'h2545f491",
               "    forever begin\n      // rising edge")
    if any(text.count(a) != 1 for a in anchors):
        raise RuntimeError("hw/kit.py's bench changed: the RAM programming cannot be inserted")
    text = text.replace(anchors[0], "\n" + decl + anchors[0])
    text = text.replace(anchors[1], anchors[1] + conn)
    text = text.replace(anchors[2], init + anchors[2])
    text = text.replace(anchors[3], program + anchors[3])
    return text


def inst_v(cfg: ThresholdConfig) -> str:
    """Instantiation template."""
    ports = threshold_port_list(cfg)
    decl = [f"wire {f'[{w - 1}:0] ' if w > 1 else ''}{name};  // {d} of the unit"
            for name, d, w in ports if name not in ("clk", "rst")]
    conns = ",\n".join(f"    .{name:<14}({name})" for name, _, _ in ports)
    return (f"// Instantiation template for {cfg.name} (latency {cfg.latency} cycles).\n"
            + "\n".join(decl) + f"\n\n{cfg.name} u_{cfg.name} (\n{conns}\n);\n")


def fusesoc_core(cfg: ThresholdConfig) -> str:
    """hw/kit.py's core file, with the thresholds file in the bench fileset (RAM store)."""
    view = _rom_view(cfg)
    view.cfg_bus = cfg.cfg_bus  # axil: the register-map fileset (NAME_regs.*, NAME_params.h)
    text = kit.fusesoc_core(view)
    if cfg.store == "ram":
        v = f"{cfg.name}_vectors.hex"
        line = f"      - {v}: {{copyto: {v}, file_type: user}}\n"
        extra = (f"      - {cfg.name}_thresholds.hex: {{copyto: {cfg.name}_thresholds.hex, "
                 "file_type: user}\n")
        text = text.replace(line, line + extra)
    return text.replace("Exact fixed-point batch-normalization unit",
                        "Exact threshold batch-normalization unit")
