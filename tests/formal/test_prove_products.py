"""The datapath task with the unit's own partial products (sim/formal/products.py): the split
lemma, a split unit proven with its products cut, and planted bugs in the products'
operands, their recombination and in one part of a RAM proof split by N."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from exactbn.hw import to_verilog
from exactbn.sim.formal.products import check_split, product_bounds
from exactbn.sim.formal.prove import prove_unit
from exactbn.sim.formal.spec import product_chunks

from exactbn.generate import unit_config_from_solved

sys.path.insert(0, str(Path(__file__).parent))
from formal_layers import edit_module, small_layer  # noqa: E402


@pytest.mark.parametrize("w_xs, w_m, dsp", [(8, 8, 5), (65, 32, 18), (17, 23, 18), (9, 8, 4)])
def test_split_lemma_accepts_the_units_splits(w_xs, w_m, dsp):
    check_split(w_xs, w_m, product_chunks(w_xs, w_m, True, dsp))


@pytest.mark.parametrize("drop", [0, 1, 3])
def test_split_lemma_refuses_a_missing_or_wrong_slice(drop):
    chunks = product_chunks(8, 8, True, 5)
    with pytest.raises(ValueError):
        check_split(8, 8, chunks[:drop] + chunks[drop + 1:])
    xo, xw, xs, mo, mw, ms = chunks[drop]
    with pytest.raises(ValueError):  # a slice one bit short (a gap)
        check_split(8, 8, [c if c != chunks[drop] else (xo, xw - 1, xs, mo, mw, ms)
                           for c in chunks])


def test_product_bounds_are_the_extremes():
    for xw, xs, mw, ms in [(4, False, 4, True), (4, True, 4, True), (3, False, 5, False)]:
        xr = range(-(1 << (xw - 1)), 1 << (xw - 1)) if xs else range(1 << xw)
        mr = range(-(1 << (mw - 1)), 1 << (mw - 1)) if ms else range(1 << mw)
        prods = [a * b for a in xr for b in mr]
        assert product_bounds(xw, xs, mw, ms) == (min(prods), max(prods))



def _split_cfg():
    layer = small_layer("half_even")
    return layer, unit_config_from_solved(layer, lanes=2, dsp_width=5)  # 4 products a lane


@pytest.mark.formal
@pytest.mark.xdist_group("formal")
def test_split_unit_is_proven_with_its_products_cut(tmp_path):
    layer, cfg = _split_cfg()
    res = prove_unit(layer, cfg, to_verilog(cfg), tmp_path, tasks=("datapath",), keep=True)
    assert res.status == "PASS", res.summary
    dut = (Path(res.tasks[0].workdir) / "dut.il").read_text()
    assert dut.count("input") and dut.count("\\exactbn_pp7_in") >= 2  # 8 products cut


@pytest.mark.formal
@pytest.mark.xdist_group("formal")
@pytest.mark.parametrize("pattern, repl, where", [
    # a partial product of the wrong slice of x (an operand bug)
    (r"\$signed\(\{ 1'h0, x\[3:0\] \}\) \* \$signed\(m\[7:4\]\)",
     "$signed({ 1'h0, x[4:1] }) * $signed(m[7:4])", "@ppop"),
    # the top partial product replaced by another one in the sum (a recombination bug)
    (r"\+ \$signed\(pp_4_4\)", "+ $signed(pp_4_0[7:0])", "@data"),
])
def test_split_unit_with_a_broken_product_fails(tmp_path, pattern, repl, where):
    layer, cfg = _split_cfg()
    verilog = edit_module(to_verilog(cfg), "core.mul1", pattern, repl)
    res = prove_unit(layer, cfg, verilog, tmp_path, tasks=("datapath",))
    assert res.status == "FAIL", res.summary
    assert res.summary.startswith("datapath:")
    if where == "@data":
        assert "channel" in res.summary and "expected" in res.summary
    else:
        assert res.summary.startswith("datapath: lane 1: a partial product"), res.summary


@pytest.mark.formal
@pytest.mark.slow
@pytest.mark.xdist_group("formal")
def test_ram_bug_at_one_shift_value_fails_in_its_part(tmp_path):
    """RAM store, N over 0..15 proven in 4 parts: the shifter broken only for N = 13 (never
    in the solved file) fails, in the part N = 12..15."""
    layer = small_layer("half_even")
    cfg = unit_config_from_solved(layer, lanes=1, store="ram", pipeline="shallow",
                                  widths=(None, None, 4))
    assert (cfg.n_min, cfg.n_max) == (0, 15)
    verilog = edit_module(to_verilog(cfg), "core.shift0", r"assign D0 = d\[0\] \?",
                          "assign D0 = (d[0] && d != 4'd13) ?")
    res = prove_unit(layer, cfg, verilog, tmp_path, tasks=("datapath",), split=4)
    assert res.status == "FAIL", res.summary
    assert [t.status for t in res.tasks] == ["PASS", "PASS", "PASS", "FAIL"]
    assert res.tasks[-1].task == "datapath N=12..15"
