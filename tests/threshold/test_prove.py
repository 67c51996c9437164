"""``exactbn prove --unit threshold``: PROVEN on the generated unit, FAIL on a unit with one
threshold off by one (given with --verilog, as a user's edited file)."""

from __future__ import annotations

import dataclasses

from exactbn.golden.solver import solve_layer
from exactbn.hw.threshold_unit import threshold_verilog

from exactbn.cli.main import main
from exactbn.formats import dump_solved, load_solved, parse_layers, select_layer, write_json_atomic
from exactbn.threshold_generate import threshold_config_from_solved

LAYER = {"name": "pv", "input": {"bits": 6, "signed": True, "range": [[-30, 25], [-32, 31],
                                                                       [-8, 8]]},
         "output": {"bits": 2, "signed": False, "rounding": "half_even"},
         "affine": {"a": [0.09, -0.13, 0.0], "b": [1.2, 1.5, 2.25]}}


def _solved(tmp_path):
    (layer,) = parse_layers({"layers": [LAYER]})
    path = tmp_path / "solved.json"
    write_json_atomic(path, dump_solved([solve_layer(layer)]))
    return path


def test_proven_and_planted_off_by_one_fails(tmp_path, capsys):
    path = _solved(tmp_path)
    assert main(["prove", str(path), "--unit", "threshold", "--lanes", "2",
                 "-o", str(tmp_path / "p1")]) == 0
    assert "PROVEN" in capsys.readouterr().out
    layer = select_layer(load_solved(path), None)
    cfg = threshold_config_from_solved(layer, name="exactbn_pv", lanes=2)
    ts = [list(t) for t in cfg.thresholds]
    ts[1][0] += 1  # channel 1 (negative slope), first threshold: one input changes level
    bad = tmp_path / "bad.v"
    bad.write_text(threshold_verilog(dataclasses.replace(cfg, thresholds=ts)))
    assert main(["prove", str(path), "--unit", "threshold", "--lanes", "2", "--verilog",
                 str(bad), "-o", str(tmp_path / "p2")]) == 1
    out = capsys.readouterr().out
    assert "FAIL: datapath" in out and "@data 1" in out
