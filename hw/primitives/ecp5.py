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

__all__ = ["MULT18X18D_MODEL", "Mult18x18d", "mult18x18d", "REGISTER_PARAMS", "LATENCY",
           "DP16KD_MODEL", "dp16kd_rom", "dp16kd_initvals", "Dp16kdRom"]

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


# ----------------------------------------------------------------------------- DP16KD ROM

DP16KD_WIDTH = 18  # data bits per block in the x18 mode exactbn uses (1024 words)
DP16KD_DEPTH = 1024
DP16KD_LATENCY = 2  # enabled clock edges from the address to DOA: address + output register


def dp16kd_initvals(words: list[int], lo: int) -> dict[str, int]:
    """INITVAL_00..3F of one x18 block holding bits ``lo .. lo+17`` of ``words``: 16 words per
    320-bit value, word i of a row at bits ``20*i .. 20*i+17`` (the layout of Yosys's own
    DP16KD mapping, lattice/brams_map_16kd.v; a test checks it against Yosys)."""
    out = {}
    for row in range(64):
        v = 0
        for i in range(16):
            k = row * 16 + i
            if k < len(words):
                v |= ((words[k] >> lo) & ((1 << DP16KD_WIDTH) - 1)) << (20 * i)
        out[f"INITVAL_{row:02X}"] = v
    return out


class Dp16kdRom(Elaboratable):
    """Amaranth equivalent of the configured DP16KD ROM (simulation only): address and
    output registers, both loading when ``en``."""

    def __init__(self, words: list[int], width: int, addr, en, data):
        self.words, self.width, self.addr, self.en, self.data = words, width, addr, en, data

    def elaborate(self, platform):
        from amaranth.lib.memory import Memory

        m = Module()
        m.submodules.mem = mem = Memory(shape=self.width, depth=DP16KD_DEPTH,
                                        init=self.words + [0] * (DP16KD_DEPTH - len(self.words)))
        rp = mem.read_port(domain="sync")
        out = Signal(self.width, reset_less=True)
        m.d.comb += [rp.addr.eq(self.addr), rp.en.eq(self.en), self.data.eq(out)]
        with m.If(self.en):
            m.d.sync += out.eq(rp.data)
        return m


def dp16kd_rom(m: Module, name: str, words: list[int], width: int, addr, en, data, *,
               sim: bool = False) -> None:
    """``data`` = ``words[addr]`` two enabled cycles after ``addr`` (``words`` at most 1024,
    ``width`` bits each): ceil(width / 18) DP16KD blocks side by side, x18, port A read
    with REGMODE_A = OUTREG (CEA and OCEA = ``en``), port B unused; or, with ``sim``, the
    Amaranth equivalent."""
    if len(words) > DP16KD_DEPTH:
        raise ValueError(f"a DP16KD ROM holds at most {DP16KD_DEPTH} words, got {len(words)}")
    if sim:
        m.submodules[name] = Dp16kdRom(list(words), width, addr, en, data)
        return
    from amaranth import Const

    n = -(-width // DP16KD_WIDTH)
    for j in range(n):
        lo = j * DP16KD_WIDTH
        bits = min(DP16KD_WIDTH, width - lo)
        do = Signal(DP16KD_WIDTH, name=f"{name}_do{j}")
        m.d.comb += data[lo:lo + bits].eq(do[:bits])
        ports = {f"i_ADA{k}": (addr[k - 4] if k - 4 < len(addr) else 0) if k >= 4 else 0
                 for k in range(14)}
        ports.update({f"i_ADB{k}": 0 for k in range(14)})
        ports.update({f"i_DIA{k}": 0 for k in range(18)})
        ports.update({f"i_DIB{k}": 0 for k in range(18)})
        ports.update({f"o_DOA{k}": do[k] for k in range(18)})
        params = {f"p_{k}": Const(v, 320) for k, v in dp16kd_initvals(words, lo).items()}
        m.submodules[f"{name}_{j}"] = Instance(
            "DP16KD", **params, p_DATA_WIDTH_A=18, p_DATA_WIDTH_B=18, p_REGMODE_A="OUTREG",
            p_REGMODE_B="NOREG", p_RESETMODE="SYNC", p_ASYNC_RESET_RELEASE="SYNC",
            p_CSDECODE_A="0b000", p_CSDECODE_B="0b000", p_WRITEMODE_A="NORMAL",
            p_WRITEMODE_B="NORMAL", p_GSR="DISABLED", **ports,
            i_CLKA=ClockSignal("sync"), i_CEA=en, i_OCEA=en, i_WEA=0, i_RSTA=0, i_CSA0=0,
            i_CSA1=0, i_CSA2=0, i_CLKB=0, i_CEB=0, i_OCEB=0, i_WEB=0, i_RSTB=0, i_CSB0=0,
            i_CSB1=0, i_CSB2=0)


def _dp16kd_model() -> str:
    rows = "\n".join(f"      for (i = 0; i < 16; i = i + 1) mem[{16 * r} + i] = "
                     f"INITVAL_{r:02X}[20 * i +: 18];" for r in range(64))
    params = "\n".join(f"  parameter [319:0] INITVAL_{r:02X} = 320'h0;" for r in range(64))
    return f"""\
// exactbn's own behavioural model of the Lattice ECP5 DP16KD as a ROM, for simulation only
// (never synthesize it). It models exactly the configuration exactbn instantiates: x18 on
// both ports, port A read with REGMODE_A = "OUTREG" (address registered when CEA, DOA
// registered when OCEA, so DOA = word[ADA[13:4]] two enabled CLKA edges later), WEA, RSTA
// and the chip selects low, port B unused. INITVAL_xx holds words 16*xx .. 16*xx+15, word i
// at bits 20*i .. 20*i+17 (Yosys's own DP16KD mapping). Any other setting stops elaboration.
`timescale 1ns/1ps
/* verilator lint_save */
/* verilator lint_off DECLFILENAME */
/* verilator lint_off UNUSEDSIGNAL */
/* verilator lint_off UNUSEDPARAM */
module DP16KD ({", ".join(f"ADA{k}" for k in reversed(range(14)))},
               {", ".join(f"DIA{k}" for k in reversed(range(18)))},
               {", ".join(f"ADB{k}" for k in reversed(range(14)))},
               {", ".join(f"DIB{k}" for k in reversed(range(18)))},
               CLKA, CEA, OCEA, WEA, RSTA, CSA0, CSA1, CSA2,
               CLKB, CEB, OCEB, WEB, RSTB, CSB0, CSB1, CSB2,
               {", ".join(f"DOA{k}" for k in reversed(range(18)))},
               {", ".join(f"DOB{k}" for k in reversed(range(18)))});
  parameter DATA_WIDTH_A = 18;
  parameter DATA_WIDTH_B = 18;
  parameter REGMODE_A = "OUTREG";
  parameter REGMODE_B = "NOREG";
  parameter RESETMODE = "SYNC";
  parameter ASYNC_RESET_RELEASE = "SYNC";
  parameter CSDECODE_A = "0b000";
  parameter CSDECODE_B = "0b000";
  parameter WRITEMODE_A = "NORMAL";
  parameter WRITEMODE_B = "NORMAL";
  parameter GSR = "DISABLED";
{params}
  input {", ".join(f"ADA{k}" for k in reversed(range(14)))};
  input {", ".join(f"DIA{k}" for k in reversed(range(18)))};
  input {", ".join(f"ADB{k}" for k in reversed(range(14)))};
  input {", ".join(f"DIB{k}" for k in reversed(range(18)))};
  input CLKA, CEA, OCEA, WEA, RSTA, CSA0, CSA1, CSA2;
  input CLKB, CEB, OCEB, WEB, RSTB, CSB0, CSB1, CSB2;
  output {", ".join(f"DOA{k}" for k in reversed(range(18)))};
  output {", ".join(f"DOB{k}" for k in reversed(range(18)))};
  generate
    if (DATA_WIDTH_A != 18 || REGMODE_A != "OUTREG" || RESETMODE != "SYNC"
        || CSDECODE_A != "0b000" || GSR != "DISABLED") begin : not_modelled
      unsupported_dp16kd_configuration unsupported ();
    end
  endgenerate
  reg [17:0] mem [0:1023];
  integer i;
  initial begin
{rows}
  end
  wire [9:0] ad = {{{", ".join(f"ADA{k}" for k in reversed(range(4, 14)))}}};
  /* verilator lint_off PROCASSINIT */
  reg [9:0] ad_r = 10'd0;
  reg [17:0] do_r = 18'd0;
  /* verilator lint_on PROCASSINIT */
  always @(posedge CLKA) begin
    if (CEA) ad_r <= ad;
    if (OCEA) do_r <= mem[ad_r];
  end
  assign {{{", ".join(f"DOA{k}" for k in reversed(range(18)))}}} = do_r;
  assign {{{", ".join(f"DOB{k}" for k in reversed(range(18)))}}} = 18'd0;
endmodule
/* verilator lint_restore */
"""


DP16KD_MODEL = _dp16kd_model()
