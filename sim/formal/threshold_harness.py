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
- ``--range-check``: the beat's flag (tuser's top bit) against the channels' ranges and the
  sticky ``range_error``, as harness.py does for the multiply-shift unit.
- RAM store: a shadow of every cfg write (slots and directions, from the solved words); every
  memory word of the flattened unit (``runner.list_state``) is asserted equal to its shadow,
  the sticky ``cfg_error`` to a reference, and every lane of every beat (any x) to the unit's
  search over the shadow words as they were when the beat entered the search: a write
  accepted while a beat still has a level to read fails the proof. While the solved words
  are loaded that search equals the count above (sorted thresholds).
"""

from __future__ import annotations

import re

from .harness import _W, Harness, StateReg, _lit

__all__ = ["threshold_harness", "prove_threshold", "THRESHOLD_TASKS"]

THRESHOLD_TASKS = ("hold", "stream", "datapath")


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
    w("  wire cfg_hs = " + ("cfg_valid & cfg_ready;" if cfg.store == "ram" else "1'b0;"))


def _hold(cfg, top: str, registers: list[StateReg]) -> Harness:
    """harness.py's hold proof over the threshold unit's ports (a cfg write is activity)."""
    w = _W()
    _common(w, cfg, top)
    if cfg.store == "ram":  # a changing cfg_valid moves the skid's ready: not idle
        w("  reg cv_prev;", "  always @(posedge clk) cv_prev <= cfg_valid;",
          "  wire cfg_quiet = !cfg_hs && cfg_valid == cv_prev;")
    else:
        w("  wire cfg_quiet = 1'b1;")
    w("  wire idle = m_axis_tvalid && !m_axis_tready && !in_hs && !rst && cfg_quiet;",
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


def _lane_c(cfg, cb: int, g: str, lane: int) -> str:
    """Channel of a lane as a cb-bit expression of the cfg.w_user-bit group/channel ``g``."""
    ge = f"{{{cb - cfg.w_user}'b0, {g}}}"
    return ge if cfg.lane_mode == "pixels" else f"({ge} * {cfg.lanes} + {lane})"


_WORD = re.compile(r"(lvl(\d+)_(\d+)|thr(\d+)|flags(\d+)|range_mem(\d+))\[(\d+)\]")


def _word_expr(cfg, label: str) -> str | None:
    """The shadow expression a memory word of the unit must equal (None: not a memory word
    of the unit's memories; such a flip-flop gets no assertion, which can only weaken the
    induction, never make a wrong unit pass)."""
    from exactbn.hw.threshold_unit import slot_of

    m = _WORD.fullmatch(label)
    if not m:
        return None
    bank = int(next(v for v in m.groups()[1:6] if v is not None))
    a, wt, C = int(m.group(7)), cfg.w_t, cfg.channels
    lvl = m.group(3)
    g = a >> int(lvl) if lvl is not None else a
    ch = cfg.bank_channel(bank, g)
    neg, u = cfg.stored(ch)

    def slot(k: int) -> str:
        return f"sU{ch}_{k}" if ch < C else _lit(wt, u[k])

    if lvl is not None:
        j = int(lvl)
        return slot(slot_of(cfg.n_levels, j, a & ((1 << j) - 1)))
    if m.group(4) is not None:
        return "{" + ", ".join(slot(k) for k in reversed(range(cfg.slots))) + "}"
    if m.group(5) is not None:
        bits = {"neg": f"sN{ch}" if ch < C else "1'b0", "pad": "1'b1" if ch >= C else "1'b0"}
        return "{" + ", ".join(bits[e] for e in reversed(cfg.extras)) + "}"
    wx = cfg.w_x
    lo, hi = cfg.channel_range(ch) if ch < C else (cfg.x_min, cfg.x_max)
    return _lit(2 * wx, (lo & ((1 << wx) - 1)) | ((hi & ((1 << wx) - 1)) << wx))


def _range_flag(w: _W, cfg, cb: int) -> str:
    """The expected range flag of the beat on the skid's output: some lane's x lies outside
    its channel's range (padding channels never)."""
    sx = "$signed" if cfg.x_signed else ""
    bad = []
    for lane in range(cfg.lanes):
        x = f"so_pay[{(lane + 1) * cfg.w_x - 1}:{lane * cfg.w_x}]"
        w(f"  reg rb{lane};", f"  always @* case ({_lane_c(cfg, cb, 'so_user', lane)})")
        for ch in range(cfg.channels):
            lo, hi = cfg.channel_range(ch)
            w(f"    {_lit(cb, ch)}: rb{lane} = ({sx}({x}) < {sx}({_lit(cfg.w_x, lo)})) || "
              f"({sx}({x}) > {sx}({_lit(cfg.w_x, hi)}));")
        w(f"    default: rb{lane} = 1'b0;", "  endcase")
        bad.append(f"rb{lane}")
    return "(" + " | ".join(bad) + ")"


def _shadow(w: _W, cfg, memory: list[StateReg]) -> dict[str, str]:
    """RAM: shadow registers of every slot and direction (from the solved words), updated by
    every accepted in-range write; every memory word asserted equal to its shadow."""
    C, wt = cfg.channels, cfg.w_t
    for ch in range(C):
        neg, u = cfg.stored(ch)
        w(f"  reg sN{ch} = 1'b{neg};",
          *(f"  reg [{wt - 1}:0] sU{ch}_{k} = {_lit(wt, v)};" for k, v in enumerate(u)))
    w("  always @(posedge clk) if (cfg_hs) case (cfg_addr)")
    for ch in range(C):
        w(f"    {_lit(cfg.w_addr, ch)}: case (cfg_index)",
          *(f"      {_lit(cfg.w_index, k)}: sU{ch}_{k} <= cfg_value;" for k in range(cfg.slots)),
          f"      {_lit(cfg.w_index, cfg.slots)}: sN{ch} <= cfg_value[0];", "    endcase")
    w("    default: ;", "  endcase",
      "  reg r_cerr = 1'b0;",
      f"  always @(posedge clk) r_cerr <= rst ? 1'b0 : r_cerr | (cfg_hs & (cfg_addr >= "
      f"{_lit(cfg.w_addr, C)}));",
      "  always @* if (!init) assert(cfg_error == r_cerr);  // @cfg_error")
    probes = {}
    for r in memory:
        if (expr := _word_expr(cfg, r.label)) is None:
            continue
        k = len(probes)
        w(f"  (* keep *) wire [{r.width - 1}:0] hm{k};",
          f"  always @* if (!init) assert(hm{k} == {expr});  // @word {r.label}")
        probes[f"hm{k}"] = f"dut.{r.wire}"
    if not probes:
        raise ValueError("no memory word of the unit found in its flattened netlist")
    return probes


def _search(w: _W, cfg, cb: int) -> str:
    """RAM: every lane's output for the beat on the skid's output, by the unit's arithmetic
    over the shadow words (binary search MSB first, or the parallel count; clamped at
    qmax - qmin; padding channels qmin). Returns the packed expected ``tdata`` wire."""
    from exactbn.hw.threshold_unit import slot_of

    L, wx, wt, wq, n, C = cfg.lanes, cfg.w_x, cfg.w_t, cfg.w_q, cfg.n_levels, cfg.channels
    ww = max(wx, wt) + 2
    nt = cfg.qmax - cfg.qmin
    q_lanes = []
    for lane in range(L):
        x = f"so_pay[{(lane + 1) * wx - 1}:{lane * wx}]"
        w(f"  wire signed [{ww - 1}:0] sx{lane} = "
          + (f"{{{{{ww - wx}{{so_pay[{(lane + 1) * wx - 1}]}}}}, {x}}};" if cfg.x_signed
             else f"{{{ww - wx}'b0, {x}}};"),
          f"  reg sn{lane}, spad{lane};",
          *(f"  reg [{wt - 1}:0] su{lane}_{k};" for k in range(cfg.slots)),
          f"  always @* case ({_lane_c(cfg, cb, 'so_user', lane)})")
        for ch in range(C):
            w(f"    {_lit(cb, ch)}: begin sn{lane} = sN{ch}; spad{lane} = 1'b0; "
              + " ".join(f"su{lane}_{k} = sU{ch}_{k};" for k in range(cfg.slots)) + " end")
        w(f"    default: begin sn{lane} = 1'b0; spad{lane} = 1'b1; "
          + " ".join(f"su{lane}_{k} = {_lit(wt, 0)};" for k in range(cfg.slots)) + " end",
          "  endcase")

        def ext(v: str) -> str:
            fill = f"{{{ww - wt}{{{v}[{wt - 1}]}}}}" if cfg.t_signed else f"{ww - wt}'b0"
            return f"$signed({{{fill}, {v}}})"

        if cfg.mode == "parallel":
            bits = [f"(((sx{lane} >= {ext(f'su{lane}_{k}')}) ? 1'b1 : 1'b0) ^ sn{lane})"
                    for k in range(cfg.slots)]
            w(f"  wire [{n}:0] cnt{lane} = " + " + ".join(f"{{{n}'b0, {b}}}" for b in bits) + ";")
        else:
            prev = None
            for j in range(n):
                w(f"  reg [{wt - 1}:0] lu{lane}_{j};")
                if prev is None:
                    w(f"  always @* lu{lane}_{j} = su{lane}_{slot_of(n, 0, 0)};")
                else:
                    w(f"  always @* case ({prev})",
                      *(f"    {_lit(j, pv)}: lu{lane}_{j} = su{lane}_{slot_of(n, j, pv)};"
                        for pv in range(1 << j)),
                      f"    default: lu{lane}_{j} = {_lit(wt, 0)};", "  endcase")
                w(f"  wire sb{lane}_{j} = ((sx{lane} >= {ext(f'lu{lane}_{j}')}) ? 1'b1 : 1'b0)"
                  f" ^ sn{lane};")
                cur = f"sp{lane}_{j}"
                w(f"  wire [{j}:0] {cur} = " + (f"{{{prev}, sb{lane}_{j}}};" if prev
                                                 else f"sb{lane}_{j};"))
                prev = cur
            w(f"  wire [{n}:0] cnt{lane} = {{1'b0, {prev}}};")
        w(f"  wire [{n}:0] cc{lane} = (cnt{lane} > {_lit(n + 1, nt)}) ? {_lit(n + 1, nt)} : "
          f"cnt{lane};",
          f"  wire [{wq - 1}:0] sq{lane} = spad{lane} ? {_lit(wq, cfg.qmin)} : "
          f"{_lit(wq, cfg.qmin)} + cc{lane};")
        q_lanes.append(f"sq{lane}")
    w(f"  wire [{L * wq - 1}:0] sq = {{" + ", ".join(reversed(q_lanes)) + "};")
    return "sq"


def _datapath(cfg, directions, thresholds, ranges, top: str, stall_bound: int,
              memory: list[StateReg] | None = None) -> Harness:
    w = _W()
    L, lat = cfg.lanes, cfg.latency
    wx, wq, wu = cfg.w_x, cfg.w_q, cfg.w_user
    wp = L * wx + wu + 1
    ram = cfg.store == "ram"
    _common(w, cfg, top)
    cb = _expected(w, cfg, directions, thresholds, ranges, top)
    sb = max(stall_bound.bit_length() + 1, 2)
    w("  wire stall = m_axis_tvalid & !m_axis_tready;",
      f"  reg [{sb - 1}:0] stall_run = 0;",
      "  always @(posedge clk) stall_run <= (stall && !rst) ? stall_run + 1'b1 : 0;",
      f"  always @* if (stall) assume(stall_run < {stall_bound});",
      "  wire block = " + ("cfg_valid;" if ram else "1'b0;"),
      "  reg r_ready = 1'b1, r_bv = 1'b0;", f"  reg [{wp - 1}:0] r_buf;")
    for k in range(lat):
        w(f"  reg rv{k} = 1'b0; reg rl{k}; reg rf{k};", f"  reg [{wu - 1}:0] rg{k};",
          f"  (* keep *) reg [{L * wx - 1}:0] rx{k};")
        if ram:
            w(f"  reg [{L * wq - 1}:0] rq{k};")
    last = lat - 1
    w("  wire adv = !m_axis_tvalid | m_axis_tready;",
      "  wire take = s_axis_tvalid & s_axis_tready;",
      "  wire so_valid = r_bv | take;",
      f"  wire [{wp - 1}:0] s_pay = {{s_axis_tlast, s_axis_tuser, s_axis_tdata}};",
      f"  wire [{wp - 1}:0] so_pay = r_bv ? r_buf : s_pay;",
      f"  wire [{wu - 1}:0] so_user = so_pay[{L * wx + wu - 1}:{L * wx}];",
      "  wire buf_next = r_bv ? !adv : (take & !adv);")
    flag = _range_flag(w, cfg, cb) if cfg.range_check else "1'b0"
    probes = _shadow(w, cfg, memory or []) if ram else {}
    eq = _search(w, cfg, cb) if ram else None
    w("  always @(posedge clk) begin",
      "    r_bv <= buf_next; r_ready <= !buf_next & !block;",
      "    if (take & !adv) r_buf <= s_pay;",
      "    if (adv) begin",
      f"      rv0 <= so_valid; rx0 <= so_pay[{L * wx - 1}:0]; rg0 <= so_user; "
      f"rl0 <= so_pay[{wp - 1}]; rf0 <= {flag};" + (f" rq0 <= {eq};" if ram else ""))
    for k in range(1, lat):
        w(f"      rv{k} <= rv{k - 1}; rg{k} <= rg{k - 1}; rl{k} <= rl{k - 1}; "
          f"rf{k} <= rf{k - 1}; rx{k} <= rx{k - 1};" + (f" rq{k} <= rq{k - 1};" if ram else ""))
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
        c = _lane_c(cfg, cb, f"rg{last}", lane)
        x = f"rx{last}[{(lane + 1) * wx - 1}:{lane * wx}]"
        sl = f"[{(lane + 1) * wq - 1}:{lane * wq}]"
        if ram:  # the unit's search over the words at the beat's entry, for every x
            w(f"  always @* if (!init && rv{last}) assert(m_axis_tdata{sl} == rq{last}{sl});"
              f"  // @data {lane}")
        else:
            w(f"  always @* if (!init && rv{last} && {top}_in({c}, {x})) "
              f"assert(m_axis_tdata{sl} == {top}_q({c}, {x}));  // @data {lane}")
    if cfg.range_check:
        w(f"  always @* if (!init && rv{last}) assert(m_axis_tuser[{wu}] == rf{last});"
          "  // @flag",
          "  reg r_err = 1'b0;",
          f"  always @(posedge clk) r_err <= rst ? 1'b0 : r_err | (out_hs & rf{last});",
          "  always @* if (!init) assert(range_error == r_err);  // @range_error")
    w("endmodule", "")
    return Harness("datapath", top, "\n".join(w.lines), probes, {})


def threshold_harness(task: str, cfg, *, directions=None, thresholds=None, ranges=None,
                      registers: list[StateReg] | None = None,
                      stall_bound: int = 1) -> Harness:
    """The harness of ``task``: ``hold`` needs ``registers`` from ``runner.list_state``,
    ``datapath`` the re-derived ``directions``/``thresholds``, the channels' ranges and, with
    a RAM store, ``registers`` too (its memory words are asserted equal to the shadow)."""
    top = f"{cfg.name}_formal"
    if task == "hold":
        return _hold(cfg, top, registers or [])
    if task == "stream":  # harness.py's stream proof; the unit's registers sit at its top
        from .harness import _stream

        h = _stream(cfg, top)
        h.probes = {k: v.replace("dut.core.", "dut.") for k, v in h.probes.items()}
        return h
    if task == "datapath":
        return _datapath(cfg, directions, thresholds, ranges, top, stall_bound, registers)
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
    rtlil, regs = list_state(verilog, cfg.name, out / "state")  # the flattened netlist
    results = {}
    for task in tasks:
        work = out / task
        if task == "hold":
            h = threshold_harness("hold", cfg, registers=regs)
            depth = 2
        elif task == "stream":
            h = threshold_harness("stream", cfg)
            depth = cfg.latency + 3
        else:
            s = default_stall_bound(cfg)
            h = threshold_harness("datapath", cfg, directions=directions, thresholds=thresholds,
                                  ranges=ranges, stall_bound=s, registers=regs)
            depth = (cfg.latency + 1) * (s + 1)
        if task != "stream":  # the stream probes name the unit's own registers (dut.v)
            h.dut_rtlil = rtlil  # the probes name the listing's flip-flops
        assert h.top == top
        results[task] = run_task(h, verilog, work, depth, timeout_s)
    return results
