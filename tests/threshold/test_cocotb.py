"""``exactbn sim --unit threshold``: the cocotb regression on the threshold unit (Icarus and
Verilator): every scenario with RAM threshold writes mid-stream passes; a unit with one
threshold off by one fails against the exact reference."""

from __future__ import annotations

import dataclasses

import pytest
from exactbn.golden.solver import solve_layer
from exactbn.hw.threshold_unit import threshold_verilog

from exactbn.cli.main import main
from exactbn.formats import dump_solved, parse_layers, write_json_atomic
from exactbn.threshold_generate import threshold_config_from_solved
from exactbn.threshold_sim import simulate_threshold_layer

from .support import KIT_LAYER


@pytest.fixture(scope="module")
def solved():
    (layer,) = parse_layers({"layers": [KIT_LAYER]})
    return solve_layer(layer)


@pytest.mark.sim
def test_sim_ram_writes_mid_stream_pass(solved, tmp_path, capsys):
    path = tmp_path / "solved.json"
    write_json_atomic(path, dump_solved([solved]))
    rc = main(["sim", str(path), "--unit", "threshold", "--store", "ram", "--lanes", "2",
               "--range-check", "--simulator", "icarus", "-o", str(tmp_path / "runs")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "reprogram_live" in out and "sim: PASS" in out and "threshold unit" in out
    assert " 0 mismatches" in out


@pytest.mark.sim
@pytest.mark.parametrize("simulator", [
    "icarus",
    pytest.param("verilator", marks=pytest.mark.slow),  # three C++ builds: ~80 s
])
def test_planted_threshold_off_by_one_fails(solved, tmp_path, simulator):
    cfg = threshold_config_from_solved(solved)
    ts = [list(t) for t in cfg.thresholds]
    ts[0][1] += 1  # channel 0, second threshold: one input now gets the wrong level
    bad = threshold_verilog(dataclasses.replace(cfg, thresholds=ts))
    res = simulate_threshold_layer(solved, cfg, simulator, verilog=bad, run_dir=tmp_path / "r",
                                   scenarios=["full_rate"], cache_root=tmp_path / "cache")
    assert not res.passed and res.mismatches >= 1
    assert "channel 0" in res.first_mismatch
    # the same run on the unit as generated passes (the failure is the planted threshold)
    good = simulate_threshold_layer(solved, cfg, simulator, run_dir=tmp_path / "g",
                                    scenarios=["full_rate"], cache_root=tmp_path / "cache")
    assert good.passed, good.first_mismatch
