"""Report options: `--param-memory` maps parameter memories (Yosys ram_style), and the
report states the hardware rounding stage (form and cost) where a layer needs one."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest
from exactbn.golden.solver import solve_layer
from exactbn.hw import to_verilog
from exactbn.hw.config import memory_attrs

from exactbn.cli.main import main
from exactbn.formats import dump_solved, load_layers, select_layer, write_json_atomic
from exactbn.generate import unit_config_from_solved


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    layer = select_layer(load_layers(files("exactbn.data") / "example_layers.json"),
                         "conv2_bn_relu")
    s = solve_layer(layer)
    path = tmp_path_factory.mktemp("pm") / "solved.json"
    write_json_atomic(path, dump_solved([s]))
    return path, s


def test_memory_attrs_and_bad_values():
    assert memory_attrs("auto") == {} and memory_attrs("block") == {"ram_style": "block"}
    with pytest.raises(ValueError, match="param_memory"):
        memory_attrs("bram")


def test_verilog_carries_ram_style(solved):
    _, s = solved
    assert "ram_style" not in to_verilog(unit_config_from_solved(s))
    text = to_verilog(unit_config_from_solved(s, param_memory="block", store="ram"))
    assert '(* ram_style = "block" *)' in text


@pytest.mark.synth
def test_block_parameter_memory_uses_block_ram_on_ecp5(solved, tmp_path):
    path, _ = solved
    reports = {}
    for pm in ("auto", "block"):
        out = tmp_path / pm
        assert main(["synth", str(path), "--target", "ecp5", "--seeds", "1", "-q",
                     "--designs", "exactbn,tflite", "--param-memory", pm, "-o", str(out)]) == 0
        reports[pm] = {d["kind"]: d for d in json.loads((out / "report.json").read_text())
                       ["designs"]}
    for kind in ("exactbn", "tflite"):
        assert reports["auto"][kind]["bram"] == 0 and reports["block"][kind]["bram"] >= 1, kind
        assert reports["block"][kind]["lut"] < reports["auto"][kind]["lut"], kind
        assert reports["block"][kind]["config"]["param_memory"] == "block"


def test_bad_param_memory_option_exits_2(solved, tmp_path, capsys):
    path, _ = solved
    with pytest.raises(SystemExit) as e:
        main(["generate", str(path), "-o", str(tmp_path / "g"), "--param-memory", "bram"])
    assert e.value.code == 2 and not (tmp_path / "g").exists()


@pytest.mark.synth
def test_report_states_the_rounding_stage_cost(tmp_path):
    """A tie layer needs a half_even stage: the report gives its form and its own cells."""
    layer = select_layer(load_layers(files("exactbn.data") / "example_layers.json"),
                         "tie_affine")
    s = solve_layer(layer)
    assert s.hw_rounding == "half_even"
    path = tmp_path / "tie.json"
    write_json_atomic(path, dump_solved([s]))
    out = tmp_path / "rep"
    assert main(["synth", str(path), "--target", "ecp5", "--seeds", "1", "-q", "--lanes", "2",
                 "--designs", "exactbn", "-o", str(out)]) == 0
    (entry,) = json.loads((out / "report.json").read_text())["designs"]
    stage = entry["rounding_stage"]
    assert stage["hw_rounding"] == "half_even" and stage["lanes"] == 2
    assert stage["lut"] + stage["carry"] > 0
    md = (out / "report.md").read_text()
    assert "## Hardware rounding stage" in md and "half_even" in md
