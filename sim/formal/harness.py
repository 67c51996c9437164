"""Formal harnesses for a generated BN unit (the Verilog of ``exactbn.hw.to_verilog``).

Three proofs together cover every input and every valid/ready pattern (see README in this
directory for the argument):

- ``hold``: every flip-flop of the unit (a structural list, ``runner.list_state``; no name
  excluded) keeps its value across an idle output stall (no handshake, reset or cfg change).
- ``stream``: arbitrary valid/ready/reset/cfg traffic; a reference model of the skid buffer
  and the pipeline's valid/tuser/tlast chain (helper invariants tie the unit's registers to
  it), counters and one tracked beat: nothing lost, duplicated or reordered, tuser/tlast and
  x travel with their beat, stable output while stalled, reset discards beats in flight.
- ``datapath``: data under stalls of at most S consecutive cycles; a reference skid buffer
  and pipeline chain carry each accepted beat, and every output lane equals the integer model
  (``spec.py``) of its beat, with M, B, N from the solved file (ROM) or from a harness shadow
  of the ``cfg_*`` writes (RAM), never from the design's memory. The expected value is
  computed from the unit's own multiplier operands (asserted equal to x and the model's M),
  so the product is shared, not proven equal twice.

Internal names come from ``BatchNormCore`` (core.mulL.x/m, or core.mulL.x_r/m_r with
``dspin``; core.valid_*, core.skid.*, store memories); they are reached through yosys
``connect -set`` on flattened wires (``probes``). Every probe is asserted, never assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .spec import SpecShape, render_spec_parts

__all__ = ["Harness", "ModelParams", "StateReg", "render_harness", "TASKS",
           "default_stall_bound"]

TASKS = ("hold", "stream", "stall", "datapath")  # cheap structural checks first


def default_stall_bound(cfg) -> int:
    """Consecutive output-stall cycles the datapath task allows (README: why this suffices).
    1 when the stream proof shows the output data stable under a stall (latency > 1), else 2
    (so that every idle stall cycle's output is checked beside the one that takes a beat)."""
    return 1 if cfg.latency > 1 else 2


@dataclass(frozen=True)
class ModelParams:
    """What the proof compares against: the solved file's per-channel M, B, N and clip."""

    M: tuple[int, ...]
    B: tuple[int, ...]
    N: tuple[int, ...]
    qmin: int
    qmax: int
    hw_rounding: str


@dataclass
class Harness:
    """Verilog text of the harness plus the yosys commands that connect its probes."""

    task: str
    top: str
    verilog: str
    probes: dict[str, str] = field(default_factory=dict)  # harness wire -> design wire
    renames: dict[str, str] = field(default_factory=dict)  # design wire -> plain name
    dut_rtlil: str | None = None  # prove this netlist (hold: the structural listing's) not dut.v


def _lit(width: int, v: int) -> str:
    return f"{width}'h{v & ((1 << width) - 1):x}"


def _ports(cfg) -> list[tuple[str, str, int]]:
    if hasattr(cfg, "thresholds"):  # the threshold unit (sim/formal/threshold_harness.py)
        from exactbn.hw.threshold_unit import threshold_port_list

        return threshold_port_list(cfg)
    from exactbn.hw import port_list

    return port_list(cfg)


class _W:
    """Line collector."""

    def __init__(self):
        self.lines: list[str] = []

    def __call__(self, *ls: str) -> None:
        self.lines.extend(ls)


def _common(w: _W, cfg, top: str, extra: str = "") -> None:
    ports = _ports(cfg)
    ins = [(n, wd) for n, d, wd in ports if d == "input" and n != "clk"]
    outs = [(n, wd) for n, d, wd in ports if d == "output"]
    w(f"module {top}(input wire clk,")
    w(",\n".join(f"  input wire [{wd - 1}:0] {n}" for n, wd in ins) + ",")
    w("  input wire pick")
    w(");")
    for n, wd in outs:
        w(f"  wire [{wd - 1}:0] {n};")
    conns = ", ".join(f".{n}({n})" for n, _, _ in ports)
    w(f"  {cfg.name} dut({conns}{extra});")
    w("  reg init = 1'b1;", "  always @(posedge clk) init <= 1'b0;",
      "  always @* if (init) assume(rst);")
    w("  wire in_hs = s_axis_tvalid & s_axis_tready;",
      "  wire out_hs = m_axis_tvalid & m_axis_tready;")
    if cfg.store == "ram":
        w("  wire cfg_hs = cfg_valid & cfg_ready;")
    if _has_table_port(cfg):
        w("  wire tbl_hs = tbl_valid & tbl_ready;")


def _has_table_port(cfg) -> bool:
    """A RAM-store shared unit: its layer table is written through ``tbl_*``."""
    return cfg.store == "ram" and bool(getattr(cfg, "layer_table", ()))


def _block(cfg) -> str:
    """What keeps ``s_axis_tready`` low from the next cycle on (a pending cfg/table write)."""
    if cfg.store != "ram":
        return "1'b0"
    return "cfg_valid | tbl_valid" if _has_table_port(cfg) else "cfg_valid"


def _lane_channel(cfg, g: str, lane: int) -> str:
    return g if cfg.lane_mode == "pixels" else f"({g} * {cfg.lanes} + {lane})"


def _params(w: _W, cfg, model: ModelParams, c_bits: int) -> None:
    """ROM: functions giving the solved file's (M, B, N) for a channel index (padding:
    M = B = 0, N = n_min, the zero word)."""
    wn = max(cfg.w_n, 1) if cfg.shift_mode == "per-channel" else max(model.N[0].bit_length(), 1)
    if cfg.store == "rom":
        for k, vals, wd in (("M", model.M, cfg.w_m), ("B", model.B, cfg.w_b),
                            ("N", model.N, wn)):
            w(f"  function [{wd - 1}:0] p{k}(input [{c_bits - 1}:0] c);",
              "    case (c)")
            for ch, v in enumerate(vals):
                w(f"      {_lit(c_bits, ch)}: p{k} = {_lit(wd, v)};")
            pad = cfg.n_min if k == "N" else 0  # a padding word: M = B = 0, d = 0
            w(f"      default: p{k} = {_lit(wd, pad)};", "    endcase", "  endfunction")
        return
    raise ValueError("a RAM store's parameters come from its memory words (_free_words)")


def _n_width(cfg, model: ModelParams) -> int:
    if cfg.shift_mode == "per-channel":
        return max(cfg.w_n, 1)
    return max(model.N[0].bit_length(), 1)


def _spec_shape(cfg, model: ModelParams) -> SpecShape:
    return SpecShape(
        w_xs=cfg.w_xs, w_m=cfg.w_m, w_b=cfg.w_b, w_n=_n_width(cfg, model), w_q=cfg.w_q,
        qmin=model.qmin, qmax=model.qmax, hw_rounding=model.hw_rounding,
        split=cfg.pipeline.mult == 2, dsp_width=cfg.dsp_width,
    )


def _layer_clip(w: _W, cfg, q_lanes: list[str], user: str, ks: int = 0,
                memory: list[tuple[StateReg, int]] | None = None) -> list[str]:
    """The shared unit's per-layer clip of the expected lanes, from the generated table's rows
    (the spec clips to the union; a row lies inside it, so clip(clip(r, union), row) is the
    layer's own integer model). RAM: from the table's memory words (free inputs here, like
    the parameter words; the stall task ties them to the shadow of the tbl writes), the row
    of the beat's layer read when the beat enters the parameter stage and carried to ``ks``."""
    wq, wu = cfg.w_q, cfg.w_user
    if cfg.store == "ram":
        return _layer_clip_ram(w, cfg, q_lanes, ks, memory or [])
    ext = f"{{q[{wq - 1}], q}}" if cfg.q_signed else "{1'b0, q}"
    w(f"  function [{wq - 1}:0] lclip(input [{wq - 1}:0] q, input [{wu - 1}:0] u);",
      f"    reg signed [{wq}:0] v, lo, hi;", "    begin", f"      v = {ext};",
      f"      lo = {_slit(wq + 1, cfg.qmin)}; hi = {_slit(wq + 1, cfg.qmax)};",
      f"      case (u >> {cfg.layer_shift})")
    for i, e in enumerate(cfg.layer_table):
        w(f"        {i}: begin lo = {_slit(wq + 1, e.qmin)}; hi = {_slit(wq + 1, e.qmax)}; end")
    w("        default: ;", "      endcase",
      f"      lclip = (v < lo) ? lo[{wq - 1}:0] : (v > hi) ? hi[{wq - 1}:0] : q;",
      "    end", "  endfunction")
    return [f"lclip({q}, {user})" for q in q_lanes]


def _layer_clip_ram(w: _W, cfg, q_lanes: list[str], ks: int,
                    memory: list[tuple[StateReg, int]]) -> list[str]:
    wq, wu = cfg.w_q, cfg.w_user
    fw = {r.label: f"fw{k}" for k, (r, _) in enumerate(memory)}
    union = (cfg.qmin & ((1 << wq) - 1)) | ((cfg.qmax & ((1 << wq) - 1)) << wq)
    w(f"  function [{2 * wq - 1}:0] trow(input [{wu - 1}:0] u);",
      f"    case (u >> {cfg.layer_shift})")
    for i in range(len(cfg.layer_table)):
        word = fw.get(f"core.table.mem[{i}]")
        if word is None:
            raise ValueError(f"the unit has no table word core.table.mem[{i}] (the datapath "
                             "proof's probe)")
        w(f"      {i}: trow = {word};")
    w(f"      default: trow = {_lit(2 * wq, union)};", "    endcase", "  endfunction")
    w(f"  reg [{2 * wq - 1}:0] " + ", ".join(f"rT{k}" for k in range(ks + 1)) + ";",
      "  always @(posedge clk) if (adv) begin rT0 <= trow(so_user);"
      + "".join(f" rT{k} <= rT{k - 1};" for k in range(1, ks + 1)) + " end")

    def ext(x: str) -> str:
        return f"{{{x}[{wq - 1}], {x}}}" if cfg.q_signed else f"{{1'b0, {x}}}"

    w(f"  function [{wq - 1}:0] lclip(input [{wq - 1}:0] q, input [{2 * wq - 1}:0] t);",
      f"    reg signed [{wq}:0] v, lo, hi;", f"    reg [{wq - 1}:0] tl, th;", "    begin",
      f"      tl = t[{wq - 1}:0]; th = t[{2 * wq - 1}:{wq}];",
      f"      v = {ext('q')}; lo = {ext('tl')}; hi = {ext('th')};",
      "      lclip = (v < lo) ? tl : (v > hi) ? th : q;", "    end", "  endfunction")
    return [f"lclip({q}, rT{ks})" for q in q_lanes]


def _slit(width: int, v: int) -> str:
    return f"-{width}'sd{-v}" if v < 0 else f"{width}'sd{v}"


def _datapath(cfg, model: ModelParams, top: str, stall_bound: int,
              memory: list[tuple[StateReg, int]] | None = None,
              ranges: list[tuple[int, int]] | None = None,
              n_values: tuple[int, ...] | None = None, products: dict | None = None,
              lanes: tuple[int, ...] | None = None, mode: str | None = None,
              cut_ports: list[tuple[int, int]] | None = None) -> Harness:
    """Every output beat equals the integer model of the accepted beat.

    ``stall_bound`` 0 (the default task): ``m_axis_tready`` is assumed high (except in reset
    cycles, as in the stall task's copy), so the pipeline moves every cycle and the
    induction closes at latency + 2; the stall task (miter.py) shows that stalls change
    nothing. ``stall_bound`` S > 0: the output may stall up to S
    consecutive cycles (slow; kept for experiments). A reference skid buffer and pipeline
    chain (the documented protocol, advancing on ``adv = !rv[last] | m_axis_tready``) carry
    each accepted beat's x, tuser, tlast and the model's M, B, N; the expected q is computed
    at stage k0 from the unit's multiplier operands (asserted equal to the slot's x and M)
    and travels down the chain with ``adv``.

    ``memory`` (RAM): every memory word flip-flop of the unit (``runner.list_state``) is
    replaced by a free input (the netlist from ``miter.free_memories``), and the model's
    M, B, N are the fields of the word the beat reads when it enters the parameter stage;
    the stall task shows those words equal the shadow of the cfg writes. ``ranges``
    (``--range-check``): the beat's flag (tuser's top bit) and ``range_error`` against the
    per-channel input ranges. ``n_values``: assert the lanes whose shift N is one of these
    only (the RAM proof split per shift value; the union of the parts covers every N).
    ``lanes``: assert these lanes' data (and their multiplier operands) only; the other
    lanes' expected values are not built, so their logic is outside every assertion's cone
    and Yosys drops it (the proof split per lane; the union of the parts covers every lane,
    and each part asserts the whole control: valid, ready, tuser, tlast, the range flag).

    ``mode`` (a ROM store, :data:`WORD_MODES`): the proof in two halves that together state
    what the whole one does. ``"words"``: the parameter words the unit's datapath reads (the
    multiplier's M and B operands, the shifter's shift amount) are the solved file's words of
    the beat's channel, for every valid beat, with the range flag and the control; no data.
    ``"arith"``: those three operand nets of each asserted lane are cut (their drivers, the
    ROM read and the registers after it, read free values new in every cycle instead:
    ``products.cut_nets``, whose ports ``cut_ports`` lists, :func:`arith_cut_nets`) and the
    model computes with the unit's operands themselves: every output equals the integer
    model of the beat's x and of *any* word (M, B, N) within the solved words' extremes
    (assumed only for valid beats: ``x*M + B`` between the least and greatest value any
    solved word takes over the x field, and the shift offset at most the largest solved
    one), with the control; no channel, no ROM, so its problem is the same for every layer
    with the same widths. The words the real unit reads for valid beats are solved words
    ("words"), so each real run is one of the arith part's runs (README).
    """
    if mode not in (None, *WORD_MODES):
        raise ValueError(f"unknown datapath mode {mode!r}")
    if mode is not None and (memory or n_values is not None):
        raise ValueError("the words/arith datapath parts are for a ROM store (every N)")
    w = _W()
    L, lat = cfg.lanes, cfg.latency
    wx, wq, wu = cfg.w_x, cfg.w_q, cfg.w_user
    wp = L * wx + wu + 1  # skid payload: {last, user, data}
    c_bits = max(cfg.w_user + (L - 1).bit_length() + 1, cfg.channels.bit_length() + 1)
    wn = _n_width(cfg, model)
    w(render_spec_parts(f"{top}_spec", _spec_shape(cfg, model)))
    asserted = tuple(range(L)) if lanes is None else tuple(lanes)
    if mode == "words":
        products = None  # no data asserted: the multipliers lie outside every cone
    extra = "".join(f", .exactbn_mem{k}_in(fw{k})" for k in range(len(memory or [])))
    if products is not None:  # the unit's own partial products (products.py)
        from .products import port_connections, render_lane_sum

        products = {k: p for k, p in products.items() if k[0] in asserted}
        extra += port_connections(products)
    extra += "".join(f", .exactbn_cut{k}_in(cut{k})" for k, _ in cut_ports or [])
    _common(w, cfg, top, extra)
    for k, wd in cut_ports or []:
        w(f"  (* anyseq *) wire [{wd - 1}:0] cut{k};")
    probes: dict[str, str] = {}
    if memory:
        _free_words(w, cfg, model, c_bits, memory)
    else:
        _params(w, cfg, model, c_bits)
    if stall_bound == 0:
        w("  wire stall = 1'b0;", "  always @* assume(m_axis_tready || rst);")
    else:  # the output stalls at most stall_bound consecutive cycles
        sb = max(stall_bound.bit_length() + 1, 2)
        w("  wire stall = m_axis_tvalid & !m_axis_tready;",
          f"  reg [{sb - 1}:0] stall_run = 0;",
          "  always @(posedge clk) stall_run <= (stall && !rst) ? stall_run + 1'b1 : 0;",
          f"  always @* if (stall) assume(stall_run < {stall_bound});")
    # Reference skid buffer (the documented protocol, as in the stream proof).
    w(f"  wire block = {_block(cfg)};",
      "  reg r_ready = 1'b1, r_bv = 1'b0;", f"  reg [{wp - 1}:0] r_buf;")
    # Reference pipeline slots 0..lat-1: valid, x, tuser, tlast; M, B, N up to stage k0;
    # the expected q after it (and the range flag, and N for a split proof, to the end).
    k0 = cfg.stages["dspin"]
    for k in range(lat):
        w(f"  reg rv{k} = 1'b0; reg rl{k}; reg rf{k};", f"  reg [{wu - 1}:0] rg{k};",
          f"  (* keep *) reg [{L * wx - 1}:0] rx{k};")
        if k > k0 + cfg.stages["mult"]:
            w(f"  reg [{L * wq - 1}:0] rq{k};")
    n_to = lat - 1 if n_values is not None else k0 + cfg.stages["mult"]
    for lane in range(L):
        for j in range(k0 + 1):
            w(f"  reg [{cfg.w_m - 1}:0] rM{lane}_{j}; reg [{cfg.w_b - 1}:0] rB{lane}_{j};")
        for j in range(n_to + 1):
            w(f"  reg [{wn - 1}:0] rN{lane}_{j};")
    last = lat - 1
    # adv and take from the ports (asserted below to equal the reference's rv/r_ready):
    # the unit and the reference then share one enable.
    w("  wire adv = !m_axis_tvalid | m_axis_tready;",
      "  wire take = s_axis_tvalid & s_axis_tready;",
      "  wire so_valid = r_bv | take;",
      f"  wire [{wp - 1}:0] s_pay = {{s_axis_tlast, s_axis_tuser, s_axis_tdata}};",
      f"  wire [{wp - 1}:0] so_pay = r_bv ? r_buf : s_pay;",
      f"  wire [{wu - 1}:0] so_user = so_pay[{L * wx + wu - 1}:{L * wx}];",
      "  wire buf_next = r_bv ? !adv : (take & !adv);")
    if mode == "arith":
        ranges = None  # the words part asserts the range flag (a per-channel table)
    flag = _range_flag(w, cfg, ranges, c_bits) if ranges is not None else "1'b0"
    # Expected values: the sum x*M + B at stage k0 from the unit's own multiplier operands
    # (asserted equal to the slot's x and M); the shift, rounding and clip at stage ks,
    # where the unit's shifter takes its shift amount; RAM: with that amount (asserted
    # equal to the model's N), so the unit's and the model's shifts are one signal.
    ks = k0 + cfg.stages["mult"]
    levels = (cfg.n_max - cfg.n_min).bit_length()
    shape = _spec_shape(cfg, model)
    q_lanes = []
    ops = _operand_nets(cfg)
    if mode == "arith":
        lo_s, hi_s, d_max = word_extremes(cfg, model)
        lim = 1 << (shape.w_s - 1)  # the literals below would be truncated silently
        if not (-lim <= lo_s <= 0 <= hi_s < lim) or d_max >= (1 << max(levels, 1)):
            raise ValueError("the solved words' extremes do not fit the sum / shift fields")
    for lane in range(L):
        if lane not in asserted or mode == "words":  # nothing of this lane's data built here
            w(f"  wire [{wq - 1}:0] eq{lane} = {_lit(wq, 0)};",
              f"  wire [{shape.w_s - 1}:0] es{lane} = {_lit(shape.w_s, 0)};")
            q_lanes.append(f"eq{lane}")
            if lane in asserted:  # words: the operands the datapath reads
                w(f"  (* keep *) wire [{cfg.w_m - 1}:0] opm{lane};",
                  f"  (* keep *) wire [{cfg.w_b - 1}:0] opb{lane};")
                probes[f"opb{lane}"] = f"dut.core.mul{lane}.{ops['b']}"
                if levels:
                    w(f"  (* keep *) wire [{levels - 1}:0] opd{lane};")
                    probes[f"opd{lane}"] = f"dut.core.shift{lane}.d"
            continue
        w(f"  (* keep *) wire [{cfg.w_xs - 1}:0] opx{lane};",
          f"  (* keep *) wire [{cfg.w_m - 1}:0] opm{lane};",
          f"  wire [{wq - 1}:0] eq{lane};")
        b_src = f"rB{lane}_{k0}"
        if mode == "arith":  # the unit's own (cut, free) operands: M, B and the shift
            w(f"  (* keep *) wire [{cfg.w_b - 1}:0] opb{lane};")
            probes[f"opb{lane}"] = f"dut.core.mul{lane}.{ops['b']}"
            b_src = f"opb{lane}"
        if products is not None:
            render_lane_sum(w, shape, lane, f"opx{lane}", f"opm{lane}", b_src,
                            f"es{lane}", products, probes, cfg.x_signed)
        else:
            w(f"  wire [{shape.w_s - 1}:0] es{lane};",
              f"  {top}_spec_sum sum{lane}(.x(opx{lane}), .m(opm{lane}), .b({b_src}), "
              f".s(es{lane}));")
        if mode == "arith":
            # What every solved word satisfies, for every x of the field (true of the real
            # unit's valid beats: their operands are solved words, the words part): assumed
            # for valid beats only, so a bubble with other operands is never excluded; and
            # only when the cut products' operands match (pm, asserted in the same cycle),
            # so a run where they do not is never excluded from that assertion.
            xin = "" if cfg.x_signed else f" && !opx{lane}[{cfg.w_xs - 1}]"
            xin += "".join(f" && pm{p.port}" for (ln, _), p in (products or {}).items()
                           if ln == lane)
            ws = shape.w_s + 1
            w(f"  always @* if (!init && rv{k0}{xin}) assume($signed(es{lane}) >= "
              f"{_slit(ws, lo_s)} && $signed(es{lane}) <= {_slit(ws, hi_s)});")
        if levels and mode == "arith":
            w(f"  (* keep *) wire [{levels - 1}:0] opd{lane};",
              f"  wire [{wn - 1}:0] en{lane} = opd{lane} + {_lit(wn, cfg.n_min)};",
              f"  always @* if (!init && rv{ks}) assume({{1'b0, opd{lane}}} <= "
              f"{_lit(levels + 1, d_max)});")
            probes[f"opd{lane}"] = f"dut.core.shift{lane}.d"
        elif levels and memory:  # RAM: any N: the tail shifts by the unit's own amount
            w(f"  (* keep *) wire [{levels - 1}:0] opd{lane};",
              f"  wire [{wn - 1}:0] en{lane} = opd{lane} + {_lit(wn, cfg.n_min)};",
              f"  always @* if (!init && rv{ks}) assert({{1'b0, opd{lane}}} + "
              f"{_lit(levels + 1, 0)} + {cfg.n_min} == {{1'b0, rN{lane}_{ks}}});  "
              f"// @opd {lane}")
            probes[f"opd{lane}"] = f"dut.core.shift{lane}.d"
        else:  # ROM: N is the solved file's constant per channel
            w(f"  wire [{wn - 1}:0] en{lane} = rN{lane}_{ks};")
        w(f"  {top}_spec_tail tail{lane}(.s(rs{ks}[{(lane + 1) * shape.w_s - 1}:"
          f"{lane * shape.w_s}]), .n(en{lane}), .q(eq{lane}));")
        q_lanes.append(f"eq{lane}")
    w(f"  wire [{L * shape.w_s - 1}:0] rs{k0} = {{"
      + ", ".join(f"es{lane}" for lane in reversed(range(L))) + "};")
    for k in range(k0 + 1, ks + 1):
        w(f"  reg [{L * shape.w_s - 1}:0] rs{k};")
    if cfg.layer_table:  # shared unit: each layer's own clip after the union's
        q_lanes = _layer_clip(w, cfg, q_lanes, f"rg{ks}", ks, memory)
    w(f"  wire [{L * wq - 1}:0] rq{ks} = {{" + ", ".join(reversed(q_lanes)) + "};")
    w("  always @(posedge clk) begin",
      "    r_bv <= buf_next; r_ready <= !buf_next & !block;",
      "    if (take & !adv) r_buf <= s_pay;",
      "    if (adv) begin",
      f"      rv0 <= so_valid; rx0 <= so_pay[{L * wx - 1}:0]; rg0 <= so_user; "
      f"rl0 <= so_pay[{wp - 1}]; rf0 <= {flag};")
    for lane in range(L):
        c = _lane_channel(cfg, "so_user", lane)
        w(f"      rM{lane}_0 <= pM({c}); rB{lane}_0 <= pB({c}); rN{lane}_0 <= pN({c});")
        for j in range(1, k0 + 1):
            w(f"      rM{lane}_{j} <= rM{lane}_{j - 1}; rB{lane}_{j} <= rB{lane}_{j - 1};")
        for j in range(1, n_to + 1):
            w(f"      rN{lane}_{j} <= rN{lane}_{j - 1};")
    for k in range(1, lat):
        q = f" rq{k} <= rq{k - 1};" if k > ks else ""
        q += f" rs{k} <= rs{k - 1};" if k0 < k <= ks else ""
        w(f"      rv{k} <= rv{k - 1}; rg{k} <= rg{k - 1}; rl{k} <= rl{k - 1}; "
          f"rf{k} <= rf{k - 1}; rx{k} <= rx{k - 1};" + q)
    w("    end",
      "    if (rst) begin r_bv <= 1'b0; r_ready <= 1'b1; "
      + " ".join(f"rv{k} <= 1'b0;" for k in range(lat)) + " end",
      "  end")
    for lane in asserted:
        xl = f"rx{k0}[{(lane + 1) * wx - 1}:{lane * wx}]"
        if cfg.w_xs == wx:
            xe = xl
        else:
            xe = f"{{{xl}[{wx - 1}], {xl}}}" if cfg.x_signed else f"{{1'b0, {xl}}}"
        if mode != "words":
            w(f"  always @* if (!init && rv{k0}) assert(opx{lane} == {xe});  // @opx {lane}")
        if mode != "arith":
            w(f"  always @* if (!init && rv{k0}) assert(opm{lane} == rM{lane}_{k0});  "
              f"// @opm {lane}")
        if mode == "words":
            w(f"  always @* if (!init && rv{k0}) assert(opb{lane} == rB{lane}_{k0});  "
              f"// @opb {lane}")
            if levels:
                w(f"  always @* if (!init && rv{ks}) assert({{1'b0, opd{lane}}} + "
                  f"{_lit(levels + 1, 0)} + {cfg.n_min} == {{1'b0, rN{lane}_{ks}}});  "
                  f"// @opd {lane}")
    if getattr(getattr(cfg, "pipeline", None), "flow", "stall") == "credit":  # helper invariants
        from exactbn.hw.fifo import fifo_depth

        if stall_bound:  # the reference chain above is the stall flow's
            raise ValueError("a stall bound applies to flow=stall units only")
        # the output never stalls: the FIFO memory stays empty, the credit count (one-hot)
        # is the beats in the chain
        cnt = " + ".join(f"rv{k}" for k in range(lat))
        d = fifo_depth(lat)
        w(f"  (* keep *) wire [{d + 1}:0] pd_occ; (* keep *) wire [{d}:0] pd_words;",
          f"  always @* if (!init) begin assert(pd_words == {d + 1}'d1); "
          f"assert(pd_occ == {d + 2}'d1 << ({cnt} + pd_ppop + 8'd0)); end",
          "  reg pd_ppop = 1'b0;  // the counter sees a pop one cycle late",
          "  always @(posedge clk) pd_ppop <= out_hs & !rst;")
        probes.update({"pd_occ": "dut.core.credit.occ", "pd_words": "dut.core.fifo.cnt"})
    w("  always @* if (!init) assert(s_axis_tready == r_ready);  // @ready",
      f"  always @* if (!init) assert(m_axis_tvalid == rv{last});  // @valid")
    if mode == "words":
        pass  # no data: the arith part asserts it
    elif n_values is None and lanes is None:
        w(f"  always @* if (!init && rv{last}) assert(m_axis_tdata == rq{last});  // @data")
    else:
        for lane in asserted:
            sl = f"[{(lane + 1) * wq - 1}:{lane * wq}]"
            cond = "" if n_values is None else " && (" + " || ".join(
                f"rN{lane}_{last} == {_lit(wn, v)}" for v in n_values) + ")"
            w(f"  always @* if (!init && rv{last}{cond}) "
              f"assert(m_axis_tdata{sl} == rq{last}{sl});  // @data {lane}")
    w(f"  always @* if (!init && rv{last}) assert(m_axis_tuser[{wu - 1}:0] == rg{last});"
      "  // @user",
      f"  always @* if (!init && rv{last}) assert(m_axis_tlast == rl{last});  // @last")
    if ranges is not None:
        w(f"  always @* if (!init && rv{last}) assert(m_axis_tuser[{wu}] == rf{last});"
          "  // @flag",
          "  reg r_err = 1'b0;",
          f"  always @(posedge clk) r_err <= rst ? 1'b0 : r_err | (out_hs & rf{last});",
          "  always @* if (!init) assert(range_error == r_err);  // @range_error")
    for lane in asserted:  # the multipliers' own operands
        if mode != "words":
            probes[f"opx{lane}"] = f"dut.core.mul{lane}.{ops['x']}"
        probes[f"opm{lane}"] = f"dut.core.mul{lane}.{ops['m']}"
    w("endmodule", "")
    return Harness("datapath", top, "\n".join(w.lines), probes, {})


WORD_MODES = ("words", "arith")  # a ROM datapath proof in two halves (_datapath's ``mode``)


def _operand_nets(cfg) -> dict[str, str]:
    """The multiplier's operand nets (in ``core.mulL``): after the ``dspin`` registers."""
    if cfg.stages["dspin"]:
        return {"x": "x_r", "m": "m_r", "b": "b_i"}
    return {"x": "x", "m": "m", "b": "b"}


def arith_cut_nets(cfg, lanes: tuple[int, ...] | None = None) -> list[str]:
    """The nets an arith part cuts (``products.cut_nets``), per asserted lane: the
    multiplier's M and B operands and (a per-channel shift) the shifter's shift amount."""
    ops = _operand_nets(cfg)
    levels = (cfg.n_max - cfg.n_min).bit_length()
    nets = []
    for lane in range(cfg.lanes) if lanes is None else lanes:
        nets += [f"\\core.mul{lane}.{ops['m']}", f"\\core.mul{lane}.{ops['b']}"]
        if levels:
            nets.append(f"\\core.shift{lane}.d")
    return nets


def word_extremes(cfg, model: ModelParams) -> tuple[int, int, int]:
    """``(lo, hi, d_max)``: the least and greatest ``x*M + B`` over every x of the unit's
    input field and every word the unit can read (the solved file's, and the zero word of a
    padding address: M = B = 0, N = n_min), and the largest shift offset ``N - n_min`` of
    those words (integers, from the solved file; the arith part assumes no more)."""
    words = list(zip(model.M, model.B, model.N, strict=True)) + [(0, 0, cfg.n_min)]
    vals = [m * x + b for m, b, _ in words for x in (cfg.x_min, cfg.x_max)]
    return min(vals), max(vals), max(n for _, _, n in words) - cfg.n_min


def _range_flag(w: _W, cfg, ranges: list[tuple[int, int]], c_bits: int) -> str:
    """The expected range flag of the beat on the skid's output: some lane's x lies outside
    its channel's [lo, hi] (channels past C are never flagged)."""
    L, wx = cfg.lanes, cfg.w_x
    sx = "$signed" if cfg.x_signed else ""
    bad = []
    for lane in range(L):
        c = _lane_channel(cfg, "so_user", lane)
        x = f"so_pay[{(lane + 1) * wx - 1}:{lane * wx}]"
        w(f"  wire [{c_bits - 1}:0] rc{lane} = {c};",
          f"  reg bad{lane};", "  always @* case (rc" + str(lane) + ")")
        for ch, (lo, hi) in enumerate(ranges):
            w(f"    {_lit(c_bits, ch)}: bad{lane} = ({sx}({x}) < {sx}({_lit(wx, lo)})) || "
              f"({sx}({x}) > {sx}({_lit(wx, hi)}));")
        w(f"    default: bad{lane} = 1'b0;", "  endcase")
        bad.append(f"bad{lane}")
    return "(" + " | ".join(bad) + ")"


def _free_words(w: _W, cfg, model: ModelParams, c_bits: int,
                memory: list[tuple[StateReg, int]]) -> None:
    """RAM: every memory word is a free input (``fwK`` on the unit's ``exactbn_memK_in``,
    miter.free_memories); pM/pB/pN decode the word a channel reads."""
    from exactbn.hw.store import store_images

    wn = _n_width(cfg, model)
    by_label = {}
    for k, (r, wd) in enumerate(memory):
        w(f"  (* anyseq *) wire [{wd - 1}:0] fw{k};")
        by_label[r.label] = f"fw{k}"
    fields = {}
    for k, img in enumerate(store_images(cfg)):
        for g in range(len(img)):
            word = by_label.get(f"core.store.mem{k}[{g}]")
            if word is None:
                raise ValueError(f"the unit has no memory word core.store.mem{k}[{g}] (the "
                                 "datapath proof's probe)")
            ch = g if cfg.lane_mode == "pixels" else g * cfg.lanes + k
            for c in [ch]:
                m_f = f"{word}[{cfg.w_m - 1}:0]"
                b_f = f"{word}[{cfg.w_m + cfg.w_b - 1}:{cfg.w_m}]"
                if cfg.w_d:
                    d = f"{word}[{cfg.w_m + cfg.w_b + cfg.w_d - 1}:{cfg.w_m + cfg.w_b}]"
                    n_f = f"({d} + {_lit(wn, cfg.n_min)})"
                else:
                    n_f = _lit(wn, model.N[0])
                fields[c] = (m_f, b_f, n_f)
    for k, wd, idx in (("M", cfg.w_m, 0), ("B", cfg.w_b, 1), ("N", wn, 2)):
        w(f"  function [{wd - 1}:0] p{k}(input [{c_bits - 1}:0] c);", "    case (c)")
        for c in sorted(fields):
            w(f"      {_lit(c_bits, c)}: p{k} = {fields[c][idx]};")
        pad = cfg.n_min if k == "N" else 0  # a padding word: M = B = 0, d = 0
        w(f"      default: p{k} = {_lit(wd, pad)};", "    endcase", "  endfunction")


def _stream(cfg, top: str) -> Harness:
    """Reference model of skid + valid/user/last chain, counters, one tracked beat."""
    w = _W()
    L, lat = cfg.lanes, cfg.latency
    wx, wu = cfg.w_x, cfg.w_user
    wp = L * wx + wu + 1  # skid payload: {last, user, data}
    cb = max((lat + 2).bit_length() + 1, 3)  # counter bits: wrap-safe beyond capacity
    _common(w, cfg, top)
    # Probes of the unit's control registers.
    w("  (* keep *) wire pr_ready, pr_bv;", f"  (* keep *) wire [{wp - 1}:0] pr_buf;",
      "  (* keep *) wire pr_vp, pr_lp;", f"  (* keep *) wire [{wu - 1}:0] pr_up;",
      f"  (* keep *) wire [{L * wx - 1}:0] pr_xp;")
    n_after = lat - 1
    for k in range(n_after):
        w(f"  (* keep *) wire pr_v{k}, pr_l{k};", f"  (* keep *) wire [{wu - 1}:0] pr_u{k};")
    w(f"  wire block = {_block(cfg)};")
    # Reference skid buffer (as documented in hw/skid.py) and pipeline chain.
    w("  reg r_ready = 1'b1, r_bv = 1'b0;", f"  reg [{wp - 1}:0] r_buf;",
      f"  reg [{lat - 1}:0] rv = 0;", f"  reg [{wu - 1}:0] ru [0:{lat - 1}];",
      f"  reg [{lat - 1}:0] rl;", f"  reg [{L * wx - 1}:0] rxp;")
    w(f"  wire adv = !rv[{lat - 1}] | m_axis_tready;",
      "  wire take = s_axis_tvalid & r_ready;",
      "  wire so_valid = r_bv | take;",
      f"  wire [{wp - 1}:0] s_pay = {{s_axis_tlast, s_axis_tuser, s_axis_tdata}};",
      f"  wire [{wp - 1}:0] so_pay = r_bv ? r_buf : s_pay;",
      "  wire buf_next = r_bv ? !adv : (take & !adv);")
    w("  always @(posedge clk) begin",
      "    r_bv <= buf_next; r_ready <= !buf_next & !block;",
      "    if (take & !adv) r_buf <= s_pay;",
      "    if (adv) begin",
      f"      rv[0] <= so_valid; rxp <= so_pay[{L * wx - 1}:0];",
      f"      ru[0] <= so_pay[{L * wx + wu - 1}:{L * wx}]; rl[0] <= so_pay[{wp - 1}];")
    for k in range(1, lat):
        w(f"      rv[{k}] <= rv[{k - 1}]; ru[{k}] <= ru[{k - 1}]; rl[{k}] <= rl[{k - 1}];")
    w("    end",
      "    if (rst) begin r_bv <= 1'b0; r_ready <= 1'b1; rv <= 0; end",
      "  end")
    # Helper invariants: the unit's registers equal the reference model's.
    w("  always @* if (!init) begin",
      "    assert(pr_ready == r_ready); assert(pr_bv == r_bv);",
      "    if (r_bv) assert(pr_buf == r_buf);",
      "    assert(pr_vp == rv[0]);",
      "    if (rv[0]) begin assert(pr_up == ru[0]); assert(pr_lp == rl[0]); "
      "assert(pr_xp == rxp); end")
    for k in range(n_after):
        w(f"    assert(pr_v{k} == rv[{k + 1}]);",
          f"    if (rv[{k + 1}]) begin assert(pr_u{k} == ru[{k + 1}]); "
          f"assert(pr_l{k} == rl[{k + 1}]); end")
    w("  end")
    # Port-level stream properties.
    last = lat - 1
    w("  always @* if (!init) begin",
      "    assert(s_axis_tready == r_ready);",
      f"    assert(m_axis_tvalid == rv[{last}]);",
      f"    if (rv[{last}]) begin assert(m_axis_tuser[{wu - 1}:0] == ru[{last}]); "
      f"assert(m_axis_tlast == rl[{last}]); end",
      "  end")
    w("  reg past_stall = 1'b0;",
      f"  reg [{L * cfg.w_q - 1}:0] past_data; reg [{cfg.w_user_out - 1}:0] past_user; "
      "reg past_last;",
      "  always @(posedge clk) begin",
      "    past_stall <= m_axis_tvalid & !m_axis_tready & !rst;",
      "    past_data <= m_axis_tdata; past_user <= m_axis_tuser; past_last <= m_axis_tlast;",
      "  end",
      "  always @* if (!init && past_stall && !rst) begin",
      "    assert(m_axis_tvalid);  // not withdrawn before the handshake",
      "    assert(m_axis_tuser == past_user); assert(m_axis_tlast == past_last);",
      "  end")
    if lat > 1:
        # With latency 1 the output data is the multiplier's combinational function of the
        # parameter-stage registers: comparing it across two steps would be two multipliers
        # to prove equal. The hold proof shows those registers stable instead.
        w("  always @* if (!init && past_stall && !rst) assert(m_axis_tdata == past_data);")
    # Counters and the tracked beat.
    w(f"  reg [{cb - 1}:0] n_in = 0, n_out = 0, t_idx = 0;", "  reg tracking = 1'b0;",
      f"  reg [{wp - 1}:0] t_pay;",
      f"  wire [{cb - 1}:0] outstanding = n_in - n_out;",
      f"  wire [{cb - 1}:0] t_pos = t_idx - n_out;",
      "  always @(posedge clk) begin",
      "    if (in_hs) n_in <= n_in + 1'b1;",
      "    if (out_hs) n_out <= n_out + 1'b1;",
      "    if (in_hs && !tracking && pick) begin tracking <= 1'b1; t_idx <= n_in; "
      "t_pay <= s_pay; end",
      "    if (out_hs && tracking && n_out == t_idx) tracking <= 1'b0;",
      "    if (rst) begin n_in <= 0; n_out <= 0; tracking <= 1'b0; end",
      "  end")
    # Occupancy of the reference (oldest first: output end of the chain, ..., skid buffer).
    occ = " + ".join([f"rv[{k}]" for k in range(lat)] + ["r_bv"])
    w(f"  wire [{cb - 1}:0] occ = {occ};")
    w("  always @* if (!init && !rst) begin",
      "    assert(outstanding == occ);  // nothing lost, nothing invented",
      "    if (m_axis_tvalid) assert(outstanding != 0);",
      "    if (tracking) assert(t_pos < outstanding);",
      "  end")
    # rank of entry k = valid entries nearer the output.
    for k in range(lat):
        nearer = [f"rv[{j}]" for j in range(k + 1, lat)]
        rank = " + ".join(nearer) if nearer else "0"
        w(f"  wire [{cb - 1}:0] rank{k} = {rank};")
        checks = [f"assert(ru[{k}] == t_pay[{L * wx + wu - 1}:{L * wx}]);",
                  f"assert(rl[{k}] == t_pay[{wp - 1}]);"]
        if k == 0:
            checks.append(f"assert(rxp == t_pay[{L * wx - 1}:0]);")
        w(f"  always @* if (!init && !rst && tracking && rv[{k}] && rank{k} == t_pos) begin",
          "    " + " ".join(checks), "  end")
    w(f"  always @* if (!init && !rst && tracking && r_bv && t_pos == {occ.replace(' + r_bv', '')})"
      " assert(r_buf == t_pay);")
    w("  always @* if (!init && !rst && tracking && out_hs && n_out == t_idx) begin",
      f"    assert(m_axis_tuser[{wu - 1}:0] == t_pay[{L * wx + wu - 1}:{L * wx}]);",
      f"    assert(m_axis_tlast == t_pay[{wp - 1}]);",
      "  end")
    w("endmodule", "")
    probes = {
        "pr_ready": "dut.core.skid.i__ready", "pr_bv": "dut.core.skid.buf_valid",
        "pr_buf": "dut.core.skid.buf", "pr_vp": "dut.core.valid_p", "pr_up": "dut.core.user_p",
        "pr_lp": "dut.core.last_p", "pr_xp": "dut.core.x_p",
    }
    for k in range(n_after):
        probes[f"pr_v{k}"] = f"dut.core.valid_d{k}"
        probes[f"pr_u{k}"] = f"dut.core.user_d{k}"
        probes[f"pr_l{k}"] = f"dut.core.last_d{k}"
    return Harness("stream", top, "\n".join(w.lines), probes, {})


@dataclass(frozen=True)
class StateReg:
    """One flip-flop cell of the flattened unit (memories mapped to flip-flops included).

    ``wire``: the public wire the structural listing added on its Q output (the hold task
    reads the listing's netlist, so this name exists whatever the unit's own names are);
    ``label``: a readable name for messages only (never used to select or skip a register).
    """

    wire: str
    label: str
    width: int
    memory: bool = False  # a memory word (a cell yosys' memory_map made: ``$memory\...``)


def _hold(cfg, top: str, registers: list[StateReg]) -> Harness:
    """Every flip-flop keeps its value across an idle stall cycle.

    Idle stall cycle: the output stalls (``m_axis_tvalid && !m_axis_tready``), no input
    handshake, no reset, and (RAM) no cfg handshake and ``cfg_valid`` as in the cycle before.
    A correct unit's skid buffer, ``s_axis_tready`` and ``cfg_error`` registers hold then too,
    so no register is excluded.
    """
    w = _W()
    _common(w, cfg, top)
    probes: dict[str, str] = {}
    if cfg.store == "ram":
        if _has_table_port(cfg):
            w("  reg tv_prev;", "  always @(posedge clk) tv_prev <= tbl_valid;")
        w("  reg cv_prev;", "  always @(posedge clk) cv_prev <= cfg_valid;",
          "  wire cfg_quiet = !cfg_hs && cfg_valid == cv_prev"
          + (" && !tbl_hs && tbl_valid == tv_prev;" if _has_table_port(cfg) else ";"))
    else:
        w("  wire cfg_quiet = 1'b1;")
    w("  wire idle = m_axis_tvalid && !m_axis_tready && !in_hs && !rst && cfg_quiet;",
      "  reg past_idle = 1'b0;",
      "  always @(posedge clk) past_idle <= idle;")
    for k, r in enumerate(registers):
        w(f"  (* keep *) wire [{r.width - 1}:0] hr{k};  // {r.label}",
          f"  reg [{r.width - 1}:0] hp{k};", f"  always @(posedge clk) hp{k} <= hr{k};",
          f"  always @* if (!init && past_idle) assert(hr{k} == hp{k});")
        probes[f"hr{k}"] = f"dut.{r.wire}"
    w("endmodule", "")
    return Harness("hold", top, "\n".join(w.lines), probes, {})


def render_harness(task: str, cfg, model: ModelParams | None = None,
                   registers: list[StateReg] | None = None,
                   top: str = "exactbn_formal", stall_bound: int | None = None,
                   ranges: list[tuple[int, int]] | None = None,
                   n_values: tuple[int, ...] | None = None,
                   memory: list[tuple[StateReg, int]] | None = None,
                   products: dict | None = None,
                   lanes: tuple[int, ...] | None = None, mode: str | None = None,
                   cut_ports: list[tuple[int, int]] | None = None) -> Harness:
    """The harness for one proof task (``datapath`` and ``stall`` need ``model``; ``hold``
    and ``stall`` the registers from ``runner.list_state``, a RAM ``datapath`` the memory
    words as ``[(register, width)]`` from ``miter.free_memories``; ``ranges`` for a unit
    with ``--range-check``; ``mode``: a ROM datapath part, :data:`WORD_MODES`)."""
    if task in ("datapath", "stall") and model is None:
        raise ValueError(f"the {task} proof needs the model parameters")
    if task == "datapath":
        if cfg.store == "ram" and not memory:
            raise ValueError("the RAM datapath proof needs the unit's memory words "
                             "(miter.free_memories)")
        return _datapath(cfg, model, top, 0 if stall_bound is None else stall_bound,
                         memory, ranges if cfg.range_check else None, n_values, products,
                         lanes, mode, cut_ports)
    if task == "stall":
        from .miter import render_stall

        return render_stall(cfg, model, top, registers or [])
    if task == "stream":
        return _stream(cfg, top)
    if task == "hold":
        return _hold(cfg, top, registers or [])
    raise ValueError(f"unknown proof task {task!r}; expected one of {', '.join(TASKS)}")
