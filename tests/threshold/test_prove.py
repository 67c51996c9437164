"""``exactbn prove --unit threshold``: PROVEN on the generated unit, FAIL on a unit with one
threshold off by one (given with --verilog, as a user's edited file); RAM store and range check
proven, and failing for a write taken mid-search, a wrong power-up word, a wrong range."""

from __future__ import annotations

import dataclasses
import json

import pytest
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


@pytest.mark.formal
def test_proven_and_planted_off_by_one_fails(tmp_path, capsys):
    path = _solved(tmp_path)
    assert main(["prove", str(path), "--unit", "threshold", "--lanes", "2",
                 "-o", str(tmp_path / "p1")]) == 0
    out = capsys.readouterr().out
    assert "PROVEN" in out and "stream PASS" in out and "hold PASS" in out
    (pj,) = (tmp_path / "p1").glob("*/prove.json")  # read by prove --all-layers' summary
    pj = json.loads(pj.read_text())
    assert pj["status"] == "PASS" and pj["seconds"] > 0 and pj["tasks"]["datapath"]["status"] \
        == "PASS"
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
    (pj,) = (tmp_path / "p2").glob("*/prove.json")
    assert json.loads(pj.read_text())["status"] == "FAIL"


def _cfg(path, **kw):
    return threshold_config_from_solved(select_layer(load_solved(path), None), name="exactbn_pv",
                                        **kw)


def _prove_datapath(cfg, verilog, out, task="datapath"):
    from exactbn.sim.formal.threshold_harness import prove_threshold

    res = prove_threshold(cfg, cfg.directions, cfg.thresholds, cfg.x_ranges, verilog, out,
                          tasks=(task,))
    return res[task]


@pytest.mark.formal
def test_stream_fails_on_a_wrong_tlast(tmp_path):
    """The stream proof against a unit whose output tlast skips a pipeline stage."""
    import re

    cfg = _cfg(_solved(tmp_path))
    v = threshold_verilog(cfg)
    mux = re.findall(r"\? last_d(\d+) : m_axis_tlast;", v)
    assert len(mux) == 1, "the output tlast register's mux is not where this test expects it"
    k = int(mux[0])
    bad = v.replace(f"? last_d{k} : m_axis_tlast;",
                    f"? {f'last_d{k - 1}' if k else 'last_p'} : m_axis_tlast;")
    r = _prove_datapath(cfg, bad, tmp_path / "s", task="stream")
    assert r.status == "FAIL", r.status
    assert _prove_datapath(cfg, v, tmp_path / "g", task="stream").status == "PASS"


@pytest.mark.formal
def test_ram_range_check_proven(tmp_path, capsys):
    """RAM store with range check: memory words = shadow of the writes, the search over them
    for every input, the range flag and range_error, cfg_error."""
    path = _solved(tmp_path)
    assert main(["prove", str(path), "--unit", "threshold", "--store", "ram", "--lanes", "2",
                 "--range-check", "-o", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "PROVEN: every memory word equals the shadow" in out and "range flag" in out


@pytest.mark.formal
def test_ram_write_during_a_search_fails(tmp_path, monkeypatch):
    """A unit that takes a threshold write while a beat still has a level to read."""
    from exactbn.hw.threshold_unit import ThresholdUnit

    cfg = _cfg(_solved(tmp_path), store="ram")
    monkeypatch.setattr(ThresholdUnit, "_write_busy", lambda self, valids: 0)
    r = _prove_datapath(cfg, threshold_verilog(cfg), tmp_path / "p")
    assert r.status == "FAIL" and "@data" in r.failed_text


@pytest.mark.formal
@pytest.mark.slow  # two proofs, ~20 s under load
def test_ram_planted_word_and_range_fail(tmp_path):
    path = _solved(tmp_path)
    cfg = _cfg(path, store="ram")
    ts = [list(t) for t in cfg.thresholds]
    ts[0][2] += 1  # the RAM's power-up image off by one
    r = _prove_datapath(cfg, threshold_verilog(dataclasses.replace(cfg, thresholds=ts)),
                        tmp_path / "w")
    assert r.status == "FAIL" and "@word" in r.failed_text
    cfg = _cfg(path, range_check=True)
    rng = list(cfg.x_ranges)
    rng[2] = (rng[2][0] - 1, rng[2][1])  # channel 2's range one wider in the unit
    r = _prove_datapath(cfg, threshold_verilog(dataclasses.replace(cfg, x_ranges=rng)),
                        tmp_path / "r")
    assert r.status == "FAIL" and "@flag" in r.failed_text
