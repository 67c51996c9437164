"""Build cache of the cocotb runner: same Verilog -> same build, reused; changed -> rebuilt."""

from __future__ import annotations

import pytest
from exactbn.sim.runner import build

pytestmark = pytest.mark.sim

_V = ("module top(input wire clk, output reg q);\n"
      "  initial q = 0;\n  always @(posedge clk) q <= ~q;\nendmodule\n")


def test_builds_are_cached_by_content(tmp_path):
    d1, s1 = build(_V, "top", "icarus", cache_root=tmp_path)
    d2, s2 = build(_V, "top", "icarus", cache_root=tmp_path)
    assert d1 == d2 and s1 > 0 and s2 == 0.0 and (d1 / "sim.vvp").exists()
    d3, s3 = build(_V.replace("~q", "q"), "top", "icarus", cache_root=tmp_path)
    assert d3 != d1 and s3 > 0


def test_build_failure_names_the_tool_and_shows_the_log(tmp_path):
    with pytest.raises(RuntimeError, match="icarus build of top failed"):
        build("module top(; endmodule\n", "top", "icarus", cache_root=tmp_path)
