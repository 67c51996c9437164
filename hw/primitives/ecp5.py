"""Lattice ECP5 MULT18X18D, all four register stages on, as exactbn instantiates it.

``P = A * B`` (18 x 18 signed, SIGNEDA = SIGNEDB = 1) three clock enables after the operands:
REG_INPUTA/B (A and B), REG_PIPELINE (inside the multiplier) and REG_OUTPUT (P), every one on
CLK0 with CE0 (the unit's pipeline enable) and RST0 tied low (data registers have no reset,
GSR disabled). :class:`Mult18x18d` is the Amaranth equivalent, used only when the unit is
simulated in Amaranth (``UnitConfig.sim_models``); :data:`MULT18X18D_MODEL` is the Verilog
model of the same configuration for Verilog simulators and proofs (a test checks that the
two agree cycle by cycle). Neither is a model of the cell in any other configuration: the
Verilog model refuses other register parameters at elaboration.
"""

from __future__ import annotations

from amaranth import ClockSignal, Elaboratable, Instance, Module, Signal, signed

__all__ = ["MULT18X18D_MODEL", "Mult18x18d", "mult18x18d", "REGISTER_PARAMS", "LATENCY"]

LATENCY = 3  # enabled clock edges from A/B to P
REGISTER_PARAMS = {
    f"REG_{r}_{k}": v
    for r in ("INPUTA", "INPUTB", "PIPELINE", "OUTPUT")
    for k, v in (("CLK", "CLK0"), ("CE", "CE0"), ("RST", "RST0"))
}


class Mult18x18d(Elaboratable):
    """Amaranth equivalent of the configured MULT18X18D (simulation only): three enabled
    registers, ``p`` = product of the operands three enabled cycles earlier."""

    def __init__(self, a, b, p, ce):
        self.a, self.b, self.p, self.ce = a, b, p, ce

    def elaborate(self, platform):
        m = Module()
        a_r = Signal(signed(18), reset_less=True)
        b_r = Signal(signed(18), reset_less=True)
        p_m = Signal(signed(36), reset_less=True)
        p_o = Signal(signed(36), reset_less=True)
        with m.If(self.ce):
            m.d.sync += [a_r.eq(self.a), b_r.eq(self.b), p_m.eq(a_r * b_r), p_o.eq(p_m)]
        m.d.comb += self.p.eq(p_o)
        return m


def mult18x18d(a, b, p, ce, *, sim: bool = False):
    """The configured MULT18X18D (an ``Instance``), or its Amaranth equivalent when ``sim``.

    ``a``/``b``: 18-bit signed operands; ``p``: 36-bit signed product; ``ce``: the enable."""
    if sim:
        return Mult18x18d(a, b, p, ce)
    ports = {f"i_A{k}": a[k] for k in range(18)}
    ports.update({f"i_B{k}": b[k] for k in range(18)})
    ports.update({f"o_P{k}": p[k] for k in range(36)})
    params = {f"p_{k}": v for k, v in REGISTER_PARAMS.items()}
    params.update({"p_GSR": "DISABLED", "p_RESETMODE": "SYNC", "p_MULT_BYPASS": "DISABLED"})
    return Instance("MULT18X18D", **params, **ports, i_SIGNEDA=1, i_SIGNEDB=1,
                    i_CLK0=ClockSignal("sync"), i_CE0=ce, i_RST0=0)


def _bits(prefix: str, n: int) -> str:
    return ", ".join(f"{prefix}{k}" for k in reversed(range(n)))


MULT18X18D_MODEL = f"""\
// exactbn's own behavioural model of the Lattice ECP5 MULT18X18D, for simulation and formal
// proofs only (never synthesize it: the vendor cell comes from the tool's library).
// It models exactly the configuration exactbn instantiates: REG_INPUTA/B, REG_PIPELINE and
// REG_OUTPUT on CLK0 with CE0, RST0 tied low, GSR disabled, SIGNEDA/SIGNEDB as given, C and
// the cascade/shift ports unused. P is A*B three CE0-enabled CLK0 edges later. Any other
// register parameter stops elaboration (the module unsupported_mult18x18d_configuration
// does not exist); the defaults are the modelled configuration, not the vendor's.
// Yosys ships no simulation model of MULT18X18D that fits.
`timescale 1ns/1ps
/* verilator lint_save */
/* verilator lint_off DECLFILENAME */
module MULT18X18D ({_bits("A", 18)}, {_bits("B", 18)}, SIGNEDA, SIGNEDB,
                   CLK0, CE0, RST0, {_bits("P", 36)});
  parameter REG_INPUTA_CLK = "CLK0";
  parameter REG_INPUTA_CE = "CE0";
  parameter REG_INPUTA_RST = "RST0";
  parameter REG_INPUTB_CLK = "CLK0";
  parameter REG_INPUTB_CE = "CE0";
  parameter REG_INPUTB_RST = "RST0";
  parameter REG_PIPELINE_CLK = "CLK0";
  parameter REG_PIPELINE_CE = "CE0";
  parameter REG_PIPELINE_RST = "RST0";
  parameter REG_OUTPUT_CLK = "CLK0";
  parameter REG_OUTPUT_CE = "CE0";
  parameter REG_OUTPUT_RST = "RST0";
  parameter GSR = "DISABLED";
  parameter RESETMODE = "SYNC";
  parameter MULT_BYPASS = "DISABLED";
  input {_bits("A", 18)};
  input {_bits("B", 18)};
  input SIGNEDA, SIGNEDB, CLK0, CE0;
  /* verilator lint_off UNUSEDSIGNAL */
  input RST0;  // tied low by exactbn: the data registers are never reset
  /* verilator lint_on UNUSEDSIGNAL */
  output {_bits("P", 36)};
  generate
    if (REG_INPUTA_CLK != "CLK0" || REG_INPUTB_CLK != "CLK0" || REG_PIPELINE_CLK != "CLK0"
        || REG_OUTPUT_CLK != "CLK0" || REG_INPUTA_CE != "CE0" || REG_INPUTB_CE != "CE0"
        || REG_PIPELINE_CE != "CE0" || REG_OUTPUT_CE != "CE0" || GSR != "DISABLED"
        || REG_INPUTA_RST != "RST0" || REG_INPUTB_RST != "RST0" || REG_PIPELINE_RST != "RST0"
        || REG_OUTPUT_RST != "RST0" || RESETMODE != "SYNC"
        || MULT_BYPASS != "DISABLED") begin : not_modelled
      unsupported_mult18x18d_configuration unsupported ();
    end
  endgenerate
  wire [17:0] a = {{{_bits("A", 18)}}};
  wire [17:0] b = {{{_bits("B", 18)}}};
  // power-up values 0 like the unit's own registers (the stall proof starts two copies in
  // the same state); the unit never uses P before a beat has passed all three registers
  /* verilator lint_off PROCASSINIT */
  reg [17:0] a_r = 18'd0, b_r = 18'd0;
  reg sa_r = 1'b0, sb_r = 1'b0;
  reg [35:0] p_m = 36'd0, p_o = 36'd0;
  /* verilator lint_on PROCASSINIT */
  wire signed [18:0] a_x = {{sa_r & a_r[17], a_r}};
  wire signed [18:0] b_x = {{sb_r & b_r[17], b_r}};
  /* verilator lint_off UNUSEDSIGNAL */
  wire signed [37:0] prod = a_x * b_x;  // bits 37:36 are beyond P
  /* verilator lint_on UNUSEDSIGNAL */
  always @(posedge CLK0) if (CE0) begin
    a_r <= a; b_r <= b; sa_r <= SIGNEDA; sb_r <= SIGNEDB;
    p_m <= prod[35:0];
    p_o <= p_m;
  end
  assign {{{_bits("P", 36)}}} = p_o;
endmodule
/* verilator lint_restore */
"""
