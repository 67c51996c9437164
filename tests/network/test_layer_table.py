"""The shared unit's per-layer table: layers with different output specs and hw rounding."""

from __future__ import annotations

import json
import subprocess

import pytest
from exactbn.golden.model import integer_model

from exactbn.cli.main import main
from exactbn.formats import load_solved
from exactbn.generate import unit_config_from_solved
from exactbn.shared import layer_views, merge_layers

# int4 signed, uint3 unsigned (solved with half_up hardware rounding), uint6 clip [2, 40]
MIXED = {"layers": [
    {"name": "bn.a", "input": {"bits": 6, "signed": True, "scale": 0.01},
     "output": {"bits": 4, "signed": True, "scale": 0.1},
     "affine": {"a": [0.3, -0.2], "b": [1.5, 0.25]}},
    {"name": "bn_b", "input": {"bits": 5, "signed": False, "scale": 0.02},
     "output": {"bits": 3, "signed": False, "scale": 0.05},
     "affine": {"a": [0.7, 0.11, 0.4], "b": [0.0, 0.3, -0.2]}},
    {"name": "bn_c", "input": {"bits": 4, "signed": True, "scale": 0.05},
     "output": {"bits": 6, "signed": False, "scale": 0.05, "clip": [2, 40]},
     "affine": {"a": [1.7, -0.9], "b": [9.0, 20.3]}},
]}


@pytest.fixture
def mixed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "layers.json").write_text(json.dumps(MIXED))
    assert main(["solve", "layers.json", "-o", "f.json", "--no-summary"]) == 0
    assert main(["solve", "layers.json", "-o", "h.json", "--no-summary",
                 "--hw-rounding", "half_up"]) == 0
    d = json.loads((tmp_path / "f.json").read_text())
    d["layers"][1] = json.loads((tmp_path / "h.json").read_text())["layers"][1]
    (tmp_path / "mix.json").write_text(json.dumps(d))
    return tmp_path


def test_every_layer_equals_its_own_integer_model(mixed):
    layers = load_solved("mix.json")
    merged, lay = merge_layers(layers)
    assert merged.hw_rounding == "floor" and layers[1].hw_rounding == "half_up"
    assert (merged.output.bits, merged.output.signed, merged.qmin, merged.qmax) == (7, True, -8, 40)
    cfg = unit_config_from_solved(merged, name="u")
    assert [(e.qmin, e.qmax) for e in cfg.layer_table] == [(-8, 7), (0, 7), (2, 40)]
    for i, la in enumerate(layers):
        lo_l, hi_l = cfg.layer_table[i].qmin, cfg.layer_table[i].qmax
        for c in range(la.channels):
            v = lay.channel_base(i) + c
            for x in range(la.ranges()[c][0], la.ranges()[c][1] + 1):
                want = integer_model(la.M[c], la.B[c], la.N[c], x, la.qmin, la.qmax,
                                     la.hw_rounding)
                union = integer_model(merged.M[v], merged.B[v], merged.N[v], x, merged.qmin,
                                      merged.qmax, merged.hw_rounding)
                assert min(max(int(union), lo_l), hi_l) == int(want)
    # the per-layer re-check judges the folded words by each layer's own spec
    from exactbn.golden.recheck import layer_exactness

    assert all(layer_exactness(v).exact for v in layer_views(merged))


@pytest.mark.parametrize("store", ["rom", "ram"])
def test_kit_bench_covers_every_layer_with_its_clip(mixed, store):
    """The exported plain-Verilog bench: every layer's vectors, each clipped by its layer's
    row (RAM: the bench programs the table, and a bad row write must set tbl_error)."""
    assert main(["generate", "mix.json", "--shared-unit", "--store", store, "-o", "k",
                 "--name", "mx"]) == 0
    man = json.loads((mixed / "k/mx.json").read_text())
    assert man["exactness"]["exact"]
    ports = {p["name"] for p in man["ports"]}
    assert ({"tbl_valid", "tbl_qmin", "tbl_error"} <= ports) == (store == "ram")
    subprocess.run(["iverilog", "-g2005", "-o", str(mixed / "t.vvp"), "mx.v", "mx_tb.v"],
                   cwd=mixed / "k", check=True)
    out = subprocess.run(["vvp", "-n", str(mixed / "t.vvp")], cwd=mixed / "k",
                         capture_output=True, text=True, timeout=120).stdout
    assert "PASS" in out, out[-400:]


def _planted(cfg, layer: int):
    """The unit's Verilog with one layer's table row wrong (qmax one lower)."""
    import dataclasses

    from exactbn.hw import to_verilog

    rows = list(cfg.layer_table)
    rows[layer] = dataclasses.replace(rows[layer], qmax=rows[layer].qmax - 1)
    return to_verilog(dataclasses.replace(cfg, layer_table=tuple(rows)))


def test_prove_covers_the_table_and_a_wrong_row_fails(mixed):
    from exactbn.hw import to_verilog
    from exactbn.sim.formal.prove import prove_unit

    merged, _ = merge_layers(load_solved("mix.json"))
    cfg = unit_config_from_solved(merged, name="u")
    ok = prove_unit(merged, cfg, to_verilog(cfg), mixed / "ok", tasks=("datapath",))
    assert ok.status == "PASS", ok.summary
    bad = prove_unit(merged, cfg, _planted(cfg, 1), mixed / "bad", tasks=("datapath",))
    import re

    from exactbn.shared import SharedLayout

    lay = SharedLayout(load_solved("mix.json"), cfg.lanes, cfg.lane_mode)
    ch = re.search(r"channel (\d+)", bad.summary)  # a channel of bn_b's block (layer 1)
    assert bad.status == "FAIL" and ch, bad.summary
    assert int(ch.group(1)) // lay.stride_channels == 1, bad.summary


def test_sim_scoreboard_catches_a_wrong_row(mixed, tmp_path):
    from exactbn.sim.regress import simulate_layer

    merged, _ = merge_layers(load_solved("mix.json"))
    cfg = unit_config_from_solved(merged, name="u")
    res = simulate_layer(merged, cfg, "icarus", vectors=5, scenarios=["random_gaps"],
                         run_dir=tmp_path / "r", verilog=_planted(cfg, 2))
    assert not res.passed and sum(sc["mismatches"] for sc in res.scenarios.values()) > 0


def test_sim_table_writes_while_other_layers_stream(mixed, tmp_path):
    """RAM store: reprogram_live also writes random rows into the per-layer table (tbl_*) while
    interleaved beats of every layer stream; each beat is scored with the rows in effect when
    it was accepted."""
    from exactbn.sim.regress import simulate_layer

    merged, _ = merge_layers(load_solved("mix.json"))
    cfg = unit_config_from_solved(merged, name="u", store="ram")
    res = simulate_layer(merged, cfg, "icarus", vectors=5, scenarios=["reprogram_live"],
                         run_dir=tmp_path / "r")
    sc = res.scenarios["reprogram_live"]
    assert res.passed and sc["tbl_writes"] == 4 * len(cfg.layer_table), sc
    assert sc["tbl_snapshots"] > 1, sc  # beats were scored under rows a write changed


def test_prove_ram_table_rows_are_the_tbl_writes_and_a_wrong_row_fails(mixed):
    """RAM store: the table words are tied to the shadow of the tbl writes (stall task; the
    datapath task reads them as free words); a wrong row in layer 1 must FAIL, named; the
    hold task accounts for a tbl write lowering s_axis_tready (it FAILed on it before)."""
    from exactbn.sim.formal.prove import prove_unit

    merged, _ = merge_layers(load_solved("mix.json"))
    cfg = unit_config_from_solved(merged, name="u", store="ram")
    bad = prove_unit(merged, cfg, _planted(cfg, 1), mixed / "bad", tasks=("stall",))
    assert bad.status == "FAIL" and "layer table row 1" in bad.summary, bad.summary
    from exactbn.hw import to_verilog

    ok = prove_unit(merged, cfg, to_verilog(cfg), mixed / "ok", tasks=("hold",))
    assert ok.status == "PASS", ok.summary


@pytest.mark.slow
def test_prove_cli_ram_shared_unit_every_task(mixed, capsys):
    assert main(["prove", "mix.json", "--shared-unit", "--store", "ram", "-o", "p"]) == 0
    out = capsys.readouterr().out
    assert "PROVEN" in out and "layer bn_c" in out, out
