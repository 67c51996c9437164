"""The probes reach the unit through added output ports (runner.probe_ports) instead of one
``connect -set`` per probe; whatever cannot be wired that way is left to ``connect -set``
(an unknown wire or a width mismatch still stops the run there). Pure text: no tools."""

from exactbn.sim.formal.harness import Harness
from exactbn.sim.formal.runner import _sby_text, probe_ports

RTLIL = """module \\u
  wire width 2 input 1 \\a
  wire width 3 output 2 \\y
  wire width 3 \\core.r
  connect \\y \\core.r
end
"""
HARNESS = """module top(input wire clk, input wire [1:0] a);
  wire [2:0] y;
  (* keep *) wire [2:0] pr; (* keep *) wire [1:0] bad; (* keep *) wire [2:0] gone;
  u dut(.a(a), .y(y));
  always @* assert(pr == y);
endmodule
"""


def test_probes_become_ports_and_the_rest_stays_connect_set():
    h = Harness("t", "top", HARNESS, {"pr": "dut.core.r", "bad": "dut.core.r",
                                      "gone": "dut.core.nope"}, {}, dut_rtlil=RTLIL)
    rtlil, harness, left = probe_ports(h)
    assert left == {"bad": "dut.core.r", "gone": "dut.core.nope"}  # width / unknown wire
    assert "  wire width 3 output 3 \\exactbn_probe3" in rtlil
    assert "  connect \\exactbn_probe3 \\core.r" in rtlil
    assert "u dut(.a(a), .y(y), .exactbn_probe3(pr));" in harness
    assert len(harness.splitlines()) == len(HARNESS.splitlines())  # line numbers kept
    sby = _sby_text(h, 3, left)
    assert "connect -nounset -set bad dut.core.r" in sby
    assert "connect -nounset -set gone dut.core.nope" in sby
    assert "-set pr " not in sby


def test_without_a_netlist_every_probe_stays_connect_set():
    h = Harness("t", "top", HARNESS, {"pr": "dut.core.r"}, {})
    rtlil, harness, left = probe_ports(h)
    assert rtlil is None and harness == HARNESS and left == {"pr": "dut.core.r"}
