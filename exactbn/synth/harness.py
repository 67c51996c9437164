"""Serial-in/serial-out harness for devices with few pins or no out-of-context mode.

Every input port of the design (except the clock) is driven from one long shift register
fed by a single pin, and every output port is captured into a second shift register that is
shifted out through one pin. Nothing of the datapath can be optimized away, and the top level
needs four pins (clk, sin, load, sout) whatever the design's width. The harness's own cost is
synthesized separately (the design as a black box) and reported beside the design.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["HARNESS_TOP", "RING_TOP", "Port", "harness_verilog", "ring_verilog"]

HARNESS_TOP = "exactbn_harness"
_CLOCK_NAMES = ("clk", "clock", "clk_i")
_SIMPLE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


@dataclass(frozen=True)
class Port:
    """One top-level port: name, direction ("input"/"output"/"inout") and width in bits."""

    name: str
    direction: str
    width: int


def _vid(name: str) -> str:
    """A Verilog identifier for ``name`` (escaped when it is not a simple one)."""
    return name if _SIMPLE_ID.match(name) else f"\\{name} "


# Internal clock sources for devices whose clock pins nextpnr cannot route to the global
# network from an arbitrary pad (Nexus: the on-chip oscillator, 225 MHz / HF_CLK_DIV).
_CLOCK_SOURCES = {
    "pin": None,
    "nexus_osc": "  OSCA #(.HF_CLK_DIV(\"1\")) osc (.HFOUTEN(1'b1), .HFCLKOUT(clk));",
}


def harness_verilog(top: str, ports: list[Port], clock: str = "pin") -> str:
    """Verilog of the harness module ``exactbn_harness`` instantiating ``top``.

    ``clock`` is "pin" (a clk input pin) or "nexus_osc" (the on-chip oscillator drives clk;
    the top level then has three pins). Raises ValueError when the design has no clock port
    or an inout port.
    """
    if clock not in _CLOCK_SOURCES:
        raise ValueError(f"unknown harness clock source {clock!r}")
    osc = _CLOCK_SOURCES[clock]
    clocks = [p for p in ports if p.direction == "input" and p.name in _CLOCK_NAMES]
    if len(clocks) != 1:
        raise ValueError(f"design {top!r} needs exactly one clock port named clk, got "
                         f"{[p.name for p in clocks]}")
    clk = clocks[0]
    if any(p.direction == "inout" for p in ports):
        raise ValueError(f"design {top!r} has inout ports; the harness does not drive them")
    ins = [p for p in ports if p.direction == "input" and p is not clk]
    outs = [p for p in ports if p.direction == "output"]
    n_in = max(1, sum(p.width for p in ins))
    n_out = max(1, sum(p.width for p in outs))
    conns = [f"    .{_vid(clk.name)}(clk)"]
    lo = 0
    for p in ins:
        conns.append(f"    .{_vid(p.name)}(sr_in[{lo + p.width - 1}:{lo}])")
        lo += p.width
    lo = 0
    for p in outs:
        conns.append(f"    .{_vid(p.name)}(dut_out[{lo + p.width - 1}:{lo}])")
        lo += p.width
    return "\n".join([
        f"// serial harness around {top}: {n_in} input bits shifted in, {n_out} output bits"
        " captured and shifted out",
        f"module {HARNESS_TOP} ({'' if osc else 'input wire clk, '}input wire sin, "
        "input wire load, output wire sout);",
        *([ "  wire clk;", osc] if osc else []),
        f"  reg [{n_in - 1}:0] sr_in = 0;",
        f"  reg [{n_out - 1}:0] sr_out = 0;",
        f"  wire [{n_out - 1}:0] dut_out;",
        "  always @(posedge clk) sr_in <= {sr_in, sin};",
        "  always @(posedge clk) sr_out <= load ? dut_out : {sr_out, 1'b0};",
        f"  assign sout = sr_out[{n_out - 1}];",
        f"  {_vid(top)} dut (",
        ",\n".join(conns),
        "  );",
        "endmodule",
        "",
    ])


RING_TOP = "exactbn_ring"


def ring_verilog(top: str, ports: list[Port]) -> str:
    """Verilog of ``exactbn_ring``: ``top`` with every input and output port registered.

    Out of context, nextpnr times only register-to-register paths; the ring makes the
    design's paths from its input ports and to its output ports (e.g. a combinational
    output stage, or ``m_axis_tready`` fanning out to every clock enable) register-bound
    and therefore timed. Costs FFs only (in + out bits), reported separately.
    """
    clocks = [p for p in ports if p.direction == "input" and p.name in _CLOCK_NAMES]
    if len(clocks) != 1:
        raise ValueError(f"design {top!r} needs exactly one clock port named clk, got "
                         f"{[p.name for p in clocks]}")
    clk = clocks[0]
    if any(p.direction == "inout" for p in ports):
        raise ValueError(f"design {top!r} has inout ports; the ring does not register them")
    decl, body, conns = [f"input wire {_vid(clk.name)}"], [], [f"    .{_vid(clk.name)}(clk)"]
    for k, p in enumerate(q for q in ports if q is not clk):
        rng = f"[{p.width - 1}:0] "
        if p.direction == "input":
            decl.append(f"input wire {rng}i{k}")
            body.append(f"  reg {rng}r{k} = 0;\n  always @(posedge clk) r{k} <= i{k};")
            conns.append(f"    .{_vid(p.name)}(r{k})")
        else:
            decl.append(f"output reg {rng}o{k} = 0")
            body.append(f"  wire {rng}w{k};\n  always @(posedge clk) o{k} <= w{k};")
            conns.append(f"    .{_vid(p.name)}(w{k})")
    return "\n".join([
        f"// register ring around {top}: every port registered, so that out-of-context timing"
        " sees every path",
        f"module {RING_TOP} (" + ", ".join(decl).replace(f"input wire {_vid(clk.name)}",
                                                          "input wire clk") + ");",
        *body,
        f"  {_vid(top)} dut (",
        ",\n".join(conns),
        "  );",
        "endmodule",
        "",
    ])
