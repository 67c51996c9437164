"""Formal harnesses for the threshold unit (the Verilog of ``threshold_verilog``), ROM store.

The scheme of harness.py, for ``q = qmin + #{k : T_k <= d*x}``:

- ``hold``: harness.py's structural hold proof (every flip-flop of the flattened unit keeps
  its value across an idle output stall), with the threshold unit's ports.
- ``datapath``: data under stalls of at most S consecutive cycles (``default_stall_bound``):
  a reference skid buffer and pipeline chain carry every accepted beat's x, tuser and tlast;
  whenever valid, ``s_axis_tready``/``m_axis_tvalid`` equal the reference's and every lane of
  ``m_axis_tdata`` equals the count over the channel's thresholds, written into the harness
  from thresholds the tool re-derived from a, b and the output spec (never from the unit),
  padding channels ``qmin``. The harness compares with the thresholds only where they are
  exact (golden/thresholds.py checks them against the staircase first), and only for x in
  the channel's certified range (outside it the output is not specified).
"""

from __future__ import annotations

from .harness import _W, Harness, StateReg, _lit

__all__ = ["threshold_harness", "prove_threshold", "THRESHOLD_TASKS"]

THRESHOLD_TASKS = ("hold", "datapath")


def _common(w: _W, cfg, top: str) -> None:
    from exactbn.hw.threshold_unit import threshold_port_list

    ports = threshold_port_list(cfg)
    ins = [(n, wd) for n, d, wd in ports if d == "input" and n != "clk"]
    outs = [(n, wd) for n, d, wd in ports if d == "output"]
    w(f"module {top}(input wire clk,")
    w(",\n".join(f"  input wire [{wd - 1}:0] {n}" for n, wd in ins) + ",")
    w("  input wire pick")
    w(");")
    for n, wd in outs:
        w(f"  wire [{wd - 1}:0] {n};")
    w(f"  {cfg.name} dut(" + ", ".join(f".{n}({n})" for n, _, _ in ports) + ");")
    w("  reg init = 1'b1;", "  always @(posedge clk) init <= 1'b0;",
      "  always @* if (init) assume(rst);")
    w("  wire in_hs = s_axis_tvalid & s_axis_tready;",
      "  wire out_hs = m_axis_tvalid & m_axis_tready;")


def _hold(cfg, top: str, registers: list[StateReg]) -> Harness:
    """harness.py's hold proof (ROM: no cfg traffic) over the threshold unit's ports."""
    w = _W()
    _common(w, cfg, top)
    w("  wire idle = m_axis_tvalid && !m_axis_tready && !in_hs && !rst;",
      "  reg past_idle = 1'b0;", "  always @(posedge clk) past_idle <= idle;")
    probes: dict[str, str] = {}
    for k, r in enumerate(registers):
        w(f"  (* keep *) wire [{r.width - 1}:0] hr{k};  // {r.label}",
          f"  reg [{r.width - 1}:0] hp{k};", f"  always @(posedge clk) hp{k} <= hr{k};",
          f"  always @* if (!init && past_idle) assert(hr{k} == hp{k});")
        probes[f"hr{k}"] = f"dut.{r.wire}"
    w("endmodule", "")
    return Harness("hold", top, "\n".join(w.lines), probes, {})


def _expected(w: _W, cfg, directions, thresholds, ranges, top: str) -> int:
    """Function ``{top}_q(c, x)``: the count model of channel c, and ``{top}_in(c, x)``:
    x lies in channel c's certified range (padding channels: always)."""
    wx, wq = cfg.w_x, cfg.w_q
    ww = max(wx + 2, max((abs(t).bit_length() + 2 for ts in thresholds for t in ts),
                         default=2))
    cb = max(cfg.w_user + max(cfg.lanes - 1, 0).bit_length() + 1,
             cfg.channels.bit_length() + 1)
    xs = f"{{{{{ww - wx}{{x[{wx - 1}]}}}}, x}}" if cfg.x_signed else f"{{{ww - wx}'b0, x}}"

    def lit(v: int) -> str:
        return f"$signed({_lit(ww, v)})"

    w(f"  function [{wq - 1}:0] {top}_q(input [{cb - 1}:0] c, input [{wx - 1}:0] x);",
      f"    reg signed [{ww - 1}:0] v;", "    begin", f"      v = {xs};", "      case (c)")
    for ch, (d, ts) in enumerate(zip(directions, thresholds, strict=True)):
        val = "v" if d > 0 else "-v"
        terms = " + ".join(f"({val} >= {lit(t)})" for t in ts) or "0"
        w(f"        {_lit(cb, ch)}: {top}_q = {_lit(wq, cfg.qmin)} + {terms};")
    w(f"        default: {top}_q = {_lit(wq, cfg.qmin)};", "      endcase", "    end",
      "  endfunction")
    w(f"  function {top}_in(input [{cb - 1}:0] c, input [{wx - 1}:0] x);",
      f"    reg signed [{ww - 1}:0] v;", "    begin", f"      v = {xs};", "      case (c)")
    for ch, (lo, hi) in enumerate(ranges):
        w(f"        {_lit(cb, ch)}: {top}_in = v >= {lit(lo)} && v <= {lit(hi)};")
    w(f"        default: {top}_in = 1'b1;", "      endcase", "    end", "  endfunction")
    return cb


def _datapath(cfg, directions, thresholds, ranges, top: str, stall_bound: int) -> Harness:
    w = _W()
    L, lat = cfg.lanes, cfg.latency
    wx, wq, wu = cfg.w_x, cfg.w_q, cfg.w_user
    wp = L * wx + wu + 1
    _common(w, cfg, top)
    cb = _expected(w, cfg, directions, thresholds, ranges, top)
    sb = max(stall_bound.bit_length() + 1, 2)
    w("  wire stall = m_axis_tvalid & !m_axis_tready;",
      f"  reg [{sb - 1}:0] stall_run = 0;",
      "  always @(posedge clk) stall_run <= (stall && !rst) ? stall_run + 1'b1 : 0;",
      f"  always @* if (stall) assume(stall_run < {stall_bound});",
      "  reg r_ready = 1'b1, r_bv = 1'b0;", f"  reg [{wp - 1}:0] r_buf;")
    for k in range(lat):
        w(f"  reg rv{k} = 1'b0; reg rl{k};", f"  reg [{wu - 1}:0] rg{k};",
          f"  (* keep *) reg [{L * wx - 1}:0] rx{k};")
    last = lat - 1
    w("  wire adv = !m_axis_tvalid | m_axis_tready;",
      "  wire take = s_axis_tvalid & s_axis_tready;",
      "  wire so_valid = r_bv | take;",
      f"  wire [{wp - 1}:0] s_pay = {{s_axis_tlast, s_axis_tuser, s_axis_tdata}};",
      f"  wire [{wp - 1}:0] so_pay = r_bv ? r_buf : s_pay;",
      "  wire buf_next = r_bv ? !adv : (take & !adv);",
      "  always @(posedge clk) begin",
      "    r_bv <= buf_next; r_ready <= !buf_next;",
      "    if (take & !adv) r_buf <= s_pay;",
      "    if (adv) begin",
      f"      rv0 <= so_valid; rx0 <= so_pay[{L * wx - 1}:0]; "
      f"rg0 <= so_pay[{L * wx + wu - 1}:{L * wx}]; rl0 <= so_pay[{wp - 1}];")
    for k in range(1, lat):
        w(f"      rv{k} <= rv{k - 1}; rg{k} <= rg{k - 1}; rl{k} <= rl{k - 1}; "
          f"rx{k} <= rx{k - 1};")
    w("    end",
      "    if (rst) begin r_bv <= 1'b0; r_ready <= 1'b1; "
      + " ".join(f"rv{k} <= 1'b0;" for k in range(lat)) + " end",
      "  end")
    w("  always @* if (!init) assert(s_axis_tready == r_ready);  // @ready",
      f"  always @* if (!init) assert(m_axis_tvalid == rv{last});  // @valid",
      f"  always @* if (!init && rv{last}) assert(m_axis_tuser[{wu - 1}:0] == rg{last});"
      "  // @user",
      f"  always @* if (!init && rv{last}) assert(m_axis_tlast == rl{last});  // @last")
    for lane in range(L):
        g = f"{{{cb - wu}'b0, rg{last}}}"
        c = g if cfg.lane_mode == "pixels" else f"({g} * {L} + {lane})"
        x = f"rx{last}[{(lane + 1) * wx - 1}:{lane * wx}]"
        w(f"  always @* if (!init && rv{last} && {top}_in({c}, {x})) "
          f"assert(m_axis_tdata[{(lane + 1) * wq - 1}:{lane * wq}] == {top}_q({c}, {x}));"
          f"  // @data {lane}")
    w("endmodule", "")
    return Harness("datapath", top, "\n".join(w.lines))


def threshold_harness(task: str, cfg, *, directions=None, thresholds=None, ranges=None,
                      registers: list[StateReg] | None = None,
                      stall_bound: int = 1) -> Harness:
    """The harness of ``task`` (``hold`` needs ``registers`` from ``runner.list_state``;
    ``datapath`` the re-derived ``directions``/``thresholds`` and the channels' ranges)."""
    top = f"{cfg.name}_formal"
    if cfg.store != "rom" or cfg.range_check:
        raise ValueError("the threshold proof covers ROM units without --range-check")
    if task == "hold":
        return _hold(cfg, top, registers or [])
    if task == "datapath":
        return _datapath(cfg, directions, thresholds, ranges, top, stall_bound)
    raise ValueError(f"unknown task {task!r}; expected one of {', '.join(THRESHOLD_TASKS)}")


def prove_threshold(cfg, directions, thresholds, ranges, verilog: str, outdir,
                    tasks: tuple[str, ...] = THRESHOLD_TASKS, timeout_s: float = 900) -> dict:
    """Run the tasks with SymbiYosys under ``outdir``; ``{task: TaskResult}``. ``directions``,
    ``thresholds``, ``ranges`` must be re-derived from a, b and the spec by the caller (and
    checked: golden/thresholds.py), never taken from the unit."""
    from pathlib import Path

    from .harness import default_stall_bound
    from .runner import list_state, run_task

    out = Path(outdir)
    top = f"{cfg.name}_formal"
    results = {}
    for task in tasks:
        work = out / task
        if task == "hold":
            rtlil, regs = list_state(verilog, cfg.name, out / "state")
            h = threshold_harness("hold", cfg, registers=regs)
            h.dut_rtlil = rtlil
            depth = 2
        else:
            s = default_stall_bound(cfg)
            h = threshold_harness("datapath", cfg, directions=directions, thresholds=thresholds,
                                  ranges=ranges, stall_bound=s)
            depth = (cfg.latency + 1) * (s + 1)
        assert h.top == top
        results[task] = run_task(h, verilog, work, depth, timeout_s)
    return results
