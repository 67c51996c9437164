"""The threshold unit's stages follow ``--target`` in generate, sim, prove and synth (compact on
iCE40), so what is simulated and proven is what generate writes for that target; and the RAM
store's pad flag comes from the address, never a writable memory (Yosys refused the stored
one: "Conflicting init values for flags0[...]")."""

from __future__ import annotations

import dataclasses
import json

import pytest
from exactbn.golden.solver import solve_layer
from exactbn.hw import threshold_config

from exactbn.formats import dump_solved, load_solved, parse_layers, select_layer, write_json_atomic
from exactbn.threshold_generate import threshold_config_from_solved

from .support import KIT_LAYER, channel_set, make_config, run_cli

PV = {"name": "pv", "input": {"bits": 6, "signed": True},  # full range: compact clamps x_max
      "output": {"bits": 2, "signed": False, "rounding": "half_even"},
      "affine": {"a": [0.03, -0.04, 0.0], "b": [1.2, 1.5, 2.25]}}


def _solved(tmp_path, spec):
    (layer,) = parse_layers({"layers": [spec]})
    path = tmp_path / f"{spec['name']}.json"
    write_json_atomic(path, dump_solved([solve_layer(layer)]))
    return path


@pytest.mark.parametrize("lanes,mode", [(1, "channels"), (3, "channels"), (2, "pixels"),
                                        (4, "channels")])
def test_ram_pad_flag_is_the_address_not_a_memory(lanes, mode):
    chans = channel_set(2, True, seed=lanes, channels=5)
    cfg = make_config(chans, w_x=8, x_signed=True, w_q=2, q_signed=False, lanes=lanes,
                      lane_mode=mode, store="ram")
    assert cfg.has_pad and cfg.extras == ("neg",)  # the flag memory holds the direction only
    for bank in range(cfg.banks):
        first = cfg.pad_from(bank)
        assert [cfg.bank_channel(bank, g) >= cfg.channels for g in range(cfg.depth)] == \
            [g >= first for g in range(cfg.depth)]
    rom = dataclasses.replace(cfg, store="rom")
    assert rom.extras == ("neg", "pad")  # ROM: the pad bit still rides in level 0's word


@pytest.mark.synth  # one small generic Yosys run
def test_synth_ram_store_on_generic(tmp_path):
    """The old unit stored the pad flag in the writable flag memory: Yosys (generic synth)
    stopped with 'Conflicting init values for signal ... flags0[...]'."""
    path = _solved(tmp_path, KIT_LAYER)
    out = tmp_path / "rep"
    assert run_cli(["synth", str(path), "--unit", "threshold", "--store", "ram",
                    "--target", "generic", "--designs", "exactbn", "-q", "-o", str(out)]) == 0
    (d,) = json.loads((out / "report.json").read_text())["designs"]
    assert d["kind"] == "exact_threshold" and not d.get("error") and d["lut"] > 0
    assert d["config"]["store"] == "ram"


@pytest.mark.parametrize("target,stages", [("ice40", "compact"), ("ecp5", "fast"),
                                           (None, "fast")])
def test_generate_threshold_takes_the_targets_stages(tmp_path, target, stages):
    path = _solved(tmp_path, PV)
    out = tmp_path / "kit"
    argv = ["generate", str(path), "--unit", "threshold", "-q", "-o", str(out)]
    assert run_cli(argv + (["--target", target] if target else [])) == 0
    man = json.loads((out / "exactbn_pv.json").read_text())
    assert man["parameters"]["stages"] == stages
    if target == "ice40":  # the logic ROM levels are LUT4 tables
        assert "lvl0_0_t0" in (out / "exactbn_pv.v").read_text()


@pytest.mark.sim
def test_sim_compact_unit_from_the_cli(tmp_path, capsys):
    path = _solved(tmp_path, PV)
    assert run_cli(["sim", str(path), "--unit", "threshold", "--target", "ice40", "--store",
                    "ram", "--lanes", "2", "--simulator", "icarus", "--vectors", "64",
                    "-o", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert "compact stages" in out and "sim: PASS" in out and " 0 mismatches" in out


@pytest.mark.formal  # two CLI proofs of a small unit
def test_prove_compact_unit_and_planted_off_by_one_fails(tmp_path, capsys, monkeypatch):
    """``prove --target ice40`` proves the compact unit generate writes for iCE40 (its block
    levels addressed from the previous comparison: a shorter latency than fast), and FAILs a
    compact unit with one threshold off by one."""
    from exactbn.hw.threshold_unit import threshold_verilog

    monkeypatch.setattr(threshold_config, "COMPACT_LOGIC_MAX_BITS", 8)  # level 1 in block RAM
    path = _solved(tmp_path, PV)
    layer = select_layer(load_solved(path), None)
    cfg = threshold_config_from_solved(layer, lanes=2, stages="compact")
    fast = dataclasses.replace(cfg, stages="fast")
    assert cfg.level_read(1) == "comb" and cfg.latency < fast.latency
    assert run_cli(["prove", str(path), "--unit", "threshold", "--target", "ice40", "--lanes", "2",
                    "-o", str(tmp_path / "p1")]) == 0
    out = capsys.readouterr().out
    assert "compact stages" in out and "PROVEN" in out and "datapath PASS" in out
    ts = [list(t) for t in cfg.thresholds]
    ch = next(c for c, t in enumerate(ts) if cfg.x_min < t[0] < cfg.x_max)
    ts[ch][0] += 1
    bad = tmp_path / "bad.v"
    bad.write_text(threshold_verilog(dataclasses.replace(cfg, thresholds=ts)))
    assert run_cli(["prove", str(path), "--unit", "threshold", "--target", "ice40", "--lanes", "2",
                    "--verilog", str(bad), "-o", str(tmp_path / "p2")]) == 1
    out = capsys.readouterr().out
    assert "compact stages" in out and "FAIL: datapath" in out


@pytest.mark.formal
@pytest.mark.slow  # one more CLI proof
def test_prove_verilog_of_an_ice40_kit_reads_its_stages(tmp_path, capsys, monkeypatch):
    """``prove --verilog KIT/NAME.v`` of a kit generated for iCE40, without --target: the
    manifest beside it says compact (proving it as fast fails on the latency)."""
    monkeypatch.setattr(threshold_config, "COMPACT_LOGIC_MAX_BITS", 8)
    path = _solved(tmp_path, PV)
    kit = tmp_path / "kit"
    assert run_cli(["generate", str(path), "--unit", "threshold", "--target", "ice40", "-q",
                    "-o", str(kit)]) == 0
    assert run_cli(["prove", str(path), "--unit", "threshold", "--verilog",
                    str(kit / "exactbn_pv.v"), "-o", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "compact stages" in out and "PROVEN" in out
    assert run_cli(["prove", str(path), "--unit", "threshold", "--verilog",
                    str(kit / "exactbn_pv.v"), "--target", "ecp5", "-o", str(tmp_path / "q")]) == 2
    assert "says stages compact" in capsys.readouterr().err
