"""Test helper: run the rendered spec module under Icarus on a list of (x, m, b, n)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from exactbn.sim.formal.spec import SpecShape, render_spec_module


def simulate_spec(shape: SpecShape, vectors: list[tuple[int, int, int, int]]) -> list[int]:
    """q (as the low w_q bits, unsigned) for every vector, from Icarus."""
    w_n = max(shape.w_n, 1)
    lines = [render_spec_module("spec", shape), "module tb;",
             f"  reg signed [{shape.w_xs - 1}:0] x; reg signed [{shape.w_m - 1}:0] m;",
             f"  reg signed [{shape.w_b - 1}:0] b; reg [{w_n - 1}:0] n;",
             f"  wire [{shape.w_q - 1}:0] q;",
             "  spec u(.x(x), .m(m), .b(b), .n(n), .q(q));", "  initial begin"]
    for x, m, b, n in vectors:
        def lit(w, v):
            return f"{w}'h{v & ((1 << w) - 1):x}"
        lines.append(f"    x = {lit(shape.w_xs, x)}; m = {lit(shape.w_m, m)}; "
                     f"b = {lit(shape.w_b, b)}; n = {lit(w_n, n)}; #1 $display(\"%0d\", q);")
    lines += ["  end", "endmodule", ""]
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "tb.v"
        src.write_text("\n".join(lines))
        subprocess.run(["iverilog", "-g2012", "-o", str(Path(d) / "tb"), str(src)],
                       check=True, capture_output=True, text=True)
        out = subprocess.run(["vvp", "-n", str(Path(d) / "tb")], check=True,
                             capture_output=True, text=True).stdout
    return [int(v) for v in out.split()]
