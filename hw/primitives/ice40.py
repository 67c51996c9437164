"""Lattice iCE40 SB_MAC16 as a 16 x 16 signed multiplier with every register on, as exactbn
instantiates it.

``O = A * B`` (16 x 16 signed, A_SIGNED = B_SIGNED = 1, 32-bit product) four clock enables
after the operands: A_REG/B_REG (the operands), TOP_8x8_MULT_REG/BOT_8x8_MULT_REG with
PIPELINE_16x16_MULT_REG1 (the four 8 x 8 partial products), PIPELINE_16x16_MULT_REG2 (the
16 x 16 sum) and the output registers (TOPOUTPUT_SELECT = BOTOUTPUT_SELECT = 1: the
accumulator registers loaded with the product + C/D = 0, no accumulation). One CE (the unit's
pipeline enable), every reset and hold tied low. :class:`Mac16` is the Amaranth equivalent
(``UnitConfig.sim_models``); :data:`SB_MAC16_MODEL` is exactbn's Verilog model of exactly
this configuration (it refuses any other parameter value at elaboration). A test checks it
cycle by cycle against Yosys's own SB_MAC16 simulation model (``ice40/cells_sim.v``) in the
same configuration; the kit ships exactbn's model because Yosys's has asynchronous resets
and a decomposed multiplier that the formal flow would have to reason through.
"""

from __future__ import annotations

from amaranth import ClockSignal, Const, Elaboratable, Instance, Module, Signal, signed

__all__ = ["SB_MAC16_MODEL", "Mac16", "sb_mac16", "PARAMS", "LATENCY"]

LATENCY = 4  # enabled clock edges from A/B to O
# (value, width) of every SB_MAC16 parameter as instantiated
PARAMS: dict[str, tuple[int, int]] = {
    "NEG_TRIGGER": (0, 1), "C_REG": (0, 1), "A_REG": (1, 1), "B_REG": (1, 1), "D_REG": (0, 1),
    "TOP_8x8_MULT_REG": (1, 1), "BOT_8x8_MULT_REG": (1, 1),
    "PIPELINE_16x16_MULT_REG1": (1, 1), "PIPELINE_16x16_MULT_REG2": (1, 1),
    "TOPOUTPUT_SELECT": (1, 2), "TOPADDSUB_LOWERINPUT": (2, 2),
    "TOPADDSUB_UPPERINPUT": (1, 1), "TOPADDSUB_CARRYSELECT": (2, 2),
    "BOTOUTPUT_SELECT": (1, 2), "BOTADDSUB_LOWERINPUT": (2, 2),
    "BOTADDSUB_UPPERINPUT": (1, 1), "BOTADDSUB_CARRYSELECT": (0, 2),
    "MODE_8x8": (0, 1), "A_SIGNED": (1, 1), "B_SIGNED": (1, 1),
}
_TIED_LOW = ("AHOLD", "BHOLD", "CHOLD", "DHOLD", "IRSTTOP", "IRSTBOT", "ORSTTOP", "ORSTBOT",
             "OLOADTOP", "OLOADBOT", "ADDSUBTOP", "ADDSUBBOT", "OHOLDTOP", "OHOLDBOT", "CI",
             "ACCUMCI", "SIGNEXTIN")


class Mac16(Elaboratable):
    """Amaranth equivalent of the configured SB_MAC16 (simulation only): four enabled
    registers, ``o`` = product of the operands four enabled cycles earlier."""

    def __init__(self, a, b, o, ce):
        self.a, self.b, self.o, self.ce = a, b, o, ce

    def elaborate(self, platform):
        m = Module()
        a_r = Signal(signed(16), reset_less=True)
        b_r = Signal(signed(16), reset_less=True)
        p_8 = Signal(signed(32), reset_less=True)  # stands for the four 8x8 product registers
        p_h = Signal(signed(32), reset_less=True)
        p_o = Signal(signed(32), reset_less=True)
        with m.If(self.ce):
            m.d.sync += [a_r.eq(self.a), b_r.eq(self.b), p_8.eq(a_r * b_r), p_h.eq(p_8),
                         p_o.eq(p_h)]
        m.d.comb += self.o.eq(p_o)
        return m


def sb_mac16(a, b, o, ce, *, sim: bool = False):
    """The configured SB_MAC16 (an ``Instance``), or its Amaranth equivalent when ``sim``.

    ``a``/``b``: 16-bit signed operands; ``o``: 32-bit signed product; ``ce``: the enable."""
    if sim:
        return Mac16(a, b, o, ce)
    params = {f"p_{k}": Const(v, w) for k, (v, w) in PARAMS.items()}
    ties = {f"i_{k}": 0 for k in _TIED_LOW}
    return Instance("SB_MAC16", **params, **ties, i_CLK=ClockSignal("sync"), i_CE=ce,
                    i_A=a, i_B=b, i_C=Const(0, 16), i_D=Const(0, 16), o_O=o)


def _check() -> str:
    return "\n        || ".join(f"{k} != {w}'d{v}" for k, (v, w) in PARAMS.items())


def _decl() -> str:
    return "\n".join(f"  parameter [{w - 1}:0] {k} = {w}'d{v};" for k, (v, w) in PARAMS.items())


SB_MAC16_MODEL = f"""\
// exactbn's own behavioural model of the Lattice iCE40 SB_MAC16, for simulation and formal
// proofs only (never synthesize it: the vendor cell comes from the tool's library).
// It models exactly the configuration exactbn instantiates: a 16x16 signed multiplier with
// A_REG/B_REG, the 8x8 product registers, PIPELINE_16x16_MULT_REG1/2 and the output
// registers (TOP/BOTOUTPUT_SELECT = 1, adding C = D = 0) on, one CE, every reset, hold and
// load input tied low. O is A*B four CE-enabled CLK edges later. Any other parameter value
// stops elaboration (the module unsupported_sb_mac16_configuration does not exist); the
// defaults are the modelled configuration, not the vendor's. Tested cycle by cycle against
// Yosys's SB_MAC16 simulation model (ice40/cells_sim.v) in this configuration.
`timescale 1ns/1ps
/* verilator lint_save */
/* verilator lint_off DECLFILENAME */
/* verilator lint_off UNUSEDSIGNAL */
/* verilator lint_off UNUSEDPARAM */
module SB_MAC16 (
  input CLK, CE,
  input [15:0] C, A, B, D,
  input AHOLD, BHOLD, CHOLD, DHOLD,
  input IRSTTOP, IRSTBOT, ORSTTOP, ORSTBOT,
  input OLOADTOP, OLOADBOT, ADDSUBTOP, ADDSUBBOT, OHOLDTOP, OHOLDBOT,
  input CI, ACCUMCI, SIGNEXTIN,
  output [31:0] O,
  output CO, ACCUMCO, SIGNEXTOUT
);
{_decl()}
  generate
    if ({_check()}) begin : not_modelled
      unsupported_sb_mac16_configuration unsupported ();
    end
  endgenerate
  // power-up values 0 like the unit's own registers (the stall proof starts two copies in
  // the same state); the unit never uses O before a beat has passed all four registers
  /* verilator lint_off PROCASSINIT */
  reg [15:0] a_r = 16'd0, b_r = 16'd0;
  reg [31:0] p_8 = 32'd0, p_h = 32'd0, p_o = 32'd0;
  /* verilator lint_on PROCASSINIT */
  wire signed [31:0] prod = $signed(a_r) * $signed(b_r);
  always @(posedge CLK) if (CE) begin
    a_r <= A; b_r <= B;
    p_8 <= prod;
    p_h <= p_8;
    p_o <= p_h;
  end
  assign O = p_o;
  assign CO = 1'b0;
  assign ACCUMCO = 1'b0;
  assign SIGNEXTOUT = p_h[31];
endmodule
/* verilator lint_restore */
"""
