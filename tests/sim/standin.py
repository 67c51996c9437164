"""A hand-written behavioural stand-in for the generated unit (test-private).

It has the generated top level's exact port list (issue 9) and computes the integer model
behaviourally in wide Verilog arithmetic. It exists only to develop and test the cocotb
infrastructure independently of hw/, and to prove that the benches catch a broken unit
(``corrupt=...``). The real benches run on ``exactbn.hw`` output.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["StandIn", "standin_verilog"]


@dataclass
class StandIn:
    """Parameters of the stand-in unit; mirrors what the bench needs to know about a unit."""

    M: list[int]
    B: list[int]
    N: list[int]
    w_x: int
    x_signed: bool
    w_q: int
    qmin: int
    qmax: int
    lanes: int = 1
    lane_mode: str = "channels"
    store: str = "rom"
    shift_mode: str = "per-channel"
    hw_rounding: str = "floor"
    w_m: int = 18
    w_b: int = 40
    w_n: int = 6
    name: str = "exactbn_bn"
    corrupt: dict = field(default_factory=dict)  # {"channel": c, "delta_b": d}

    @property
    def channels(self) -> int:
        return len(self.M)

    @property
    def w_user(self) -> int:
        top = self.channels if self.lane_mode == "pixels" else -(-self.channels // self.lanes)
        return max(1, top.bit_length())


def _lit(v: int, w: int) -> str:
    return f"-{w}'sd{-v}" if v < 0 else f"{w}'sd{v}"


def standin_verilog(u: StandIn) -> str:
    """Verilog text of the stand-in (1-cycle latency, 2-entry output FIFO, registered ready)."""
    L, C = u.lanes, u.channels
    wx, wq, wm, wb = u.w_x, u.w_q, u.w_m, u.w_b
    wn = u.w_n if u.shift_mode == "per-channel" else 0
    wu = u.w_user
    wa = max(16, (C - 1).bit_length() + 1)
    B = list(u.B)
    if u.corrupt:
        B[u.corrupt["channel"]] += u.corrupt["delta_b"]
    ram = u.store == "ram"
    ports = [
        "input wire clk", "input wire rst",
        "input wire s_axis_tvalid", "output wire s_axis_tready",
        f"input wire [{L * wx - 1}:0] s_axis_tdata", f"input wire [{wu - 1}:0] s_axis_tuser",
        "input wire s_axis_tlast",
        "output wire m_axis_tvalid", "input wire m_axis_tready",
        f"output wire [{L * wq - 1}:0] m_axis_tdata", f"output wire [{wu - 1}:0] m_axis_tuser",
        "output wire m_axis_tlast",
    ]
    if ram:
        ports += [
            "input wire cfg_valid", "output wire cfg_ready", f"input wire [{wa - 1}:0] cfg_addr",
            f"input wire [{wm - 1}:0] cfg_m", f"input wire [{wb - 1}:0] cfg_b",
        ]
        if wn:
            ports.append(f"input wire [{wn - 1}:0] cfg_n")
        ports.append("output reg cfg_error")
    xs = "$signed" if u.x_signed else "$signed({1'b0, "
    xe = "" if u.x_signed else "})"
    n_shared = u.N[0]
    lines = [f"module {u.name} (", ",\n".join("  " + p for p in ports), ");"]
    lines += [
        f"  reg signed [{wm - 1}:0] mem_m [0:{C - 1}];",
        f"  reg signed [{wb - 1}:0] mem_b [0:{C - 1}];",
        f"  reg [7:0] mem_n [0:{C - 1}];",
        "  integer i;",
        "  initial begin",
    ]
    for c in range(C):
        lines.append(
            f"    mem_m[{c}] = {_lit(u.M[c], wm)}; mem_b[{c}] = {_lit(B[c], wb)}; "
            f"mem_n[{c}] = {u.N[c]};"
        )
    lines += ["  end"]
    if ram:
        lines += [
            "  assign cfg_ready = 1'b1;",
            "  always @(posedge clk) begin",
            "    if (rst) cfg_error <= 1'b0;",
            "    if (cfg_valid) begin",
            f"      if (cfg_addr < {C}) begin",
            "        mem_m[cfg_addr] <= cfg_m; mem_b[cfg_addr] <= cfg_b;",
            "        mem_n[cfg_addr] <= " + ("cfg_n;" if wn else f"{n_shared};"),
            "      end else cfg_error <= 1'b1;",
            "    end",
            "  end",
            "  initial cfg_error = 1'b0;",
        ]
    rnd = {"floor": 0, "half_up": 1, "half_even": 2, "half_away": 3}[u.hw_rounding]
    lines += [
        f"  function [{wq - 1}:0] lane_out(input [{wx - 1}:0] x, input integer c);",
        "    reg signed [127:0] s, t, rem, full; reg [7:0] n; reg up;",
        "    begin",
        f"      if (c >= {C}) begin s = 0; n = 0; end",
        f"      else begin s = mem_m[c] * {xs}(x){xe} + mem_b[c]; n = mem_n[c]; end",
        "      t = s >>> n; rem = s - (t <<< n); full = 128'sd1 <<< n; up = 1'b0;",
        "      if (n != 0) begin",
        f"        if ({rnd} == 1) up = (2 * rem >= full);",
        f"        if ({rnd} == 2) up = (2 * rem > full) || ((2 * rem == full) && t[0]);",
        f"        if ({rnd} == 3) up = (2 * rem > full) || ((2 * rem == full) && s > 0);",
        "      end",
        "      t = t + up;",
        f"      if (t < {u.qmin}) t = {u.qmin};",
        f"      if (t > {u.qmax}) t = {u.qmax};",
        f"      lane_out = t[{wq - 1}:0];",
        "    end",
        "  endfunction",
        f"  wire [{L * wq - 1}:0] result;",
        "  genvar l;",
        f"  generate for (l = 0; l < {L}; l = l + 1) begin : g_lane",
    ]
    if u.lane_mode == "pixels":
        lines.append(f"    assign result[l*{wq} +: {wq}] = "
                     f"lane_out(s_axis_tdata[l*{wx} +: {wx}], s_axis_tuser);")
    else:
        lines.append(f"    assign result[l*{wq} +: {wq}] = "
                     f"lane_out(s_axis_tdata[l*{wx} +: {wx}], s_axis_tuser * {L} + l);")
    w_beat = L * wq + wu + 1
    lines += [
        "  end endgenerate",
        f"  reg [{w_beat - 1}:0] fifo [0:1];",
        "  reg [1:0] count; reg rd;",
        "  assign s_axis_tready = (count != 2'd2);",
        "  assign m_axis_tvalid = (count != 2'd0);",
        "  assign {m_axis_tlast, m_axis_tuser, m_axis_tdata} = fifo[rd];",
        "  wire push = s_axis_tvalid && s_axis_tready;",
        "  wire pop = m_axis_tvalid && m_axis_tready;",
        "  initial begin count = 0; rd = 0; end",
        "  always @(posedge clk) begin",
        "    if (rst) begin count <= 2'd0; rd <= 1'b0; end",
        "    else begin",
        "      if (push) fifo[(count == 2'd1) ? ~rd : rd] <= "
        "{s_axis_tlast, s_axis_tuser, result};",
        "      if (pop) rd <= ~rd;",
        "      count <= count + push - pop;",
        "    end",
        "  end",
        "endmodule",
    ]
    return "\n".join(lines) + "\n"
