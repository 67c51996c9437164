"""``exactbn generate --unit threshold``: kits whose benches pass, exit-2 refusals, and the
exactness of the derived thresholds (also on a layer with no exact (M, B, N))."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess

import pytest
from exactbn.golden.solver import solve_layer

from exactbn.cli.main import main
from exactbn.formats import dump_solved, parse_layers, write_json_atomic

from .support import KIT_LAYER, run_cli


@pytest.fixture(scope="module")
def solved_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("thr")
    (layer,) = parse_layers({"layers": [KIT_LAYER]})
    path = d / "solved.json"
    write_json_atomic(path, dump_solved([solve_layer(layer)]))
    return path


def _bench(kit, name):
    iverilog = shutil.which("iverilog")
    assert iverilog, "iverilog is not installed"
    subprocess.run([iverilog, "-g2012", "-o", "tb.vvp", f"{name}_tb.v", f"{name}.v"], cwd=kit,
                   check=True, timeout=120)
    return subprocess.run(["vvp", "-n", "tb.vvp"], cwd=kit, capture_output=True, text=True,
                          timeout=120).stdout


@pytest.mark.sim  # Icarus runs the kit's bench
@pytest.mark.parametrize("opts", [["--lanes", "2", "--range-check"],
                                  ["--store", "ram", "--lanes", "3"],
                                  ["--pipeline", "out=0", "--lane-mode", "pixels", "--lanes", "2"]])
def test_kit_bench_passes(solved_file, tmp_path, opts, capsys):
    out = tmp_path / "kit"
    assert main(["generate", str(solved_file), "--unit", "threshold", "-o", str(out), *opts]) == 0
    assert "threshold unit" in capsys.readouterr().out
    man = json.loads((out / "exactbn_thr.json").read_text())
    assert man["unit"] == "threshold" and man["exactness"]["exact"]
    assert man["parameters"]["w_t"] <= 8  # the ranges need 7 bits (+1 past the end)
    assert "PASS" in _bench(out, "exactbn_thr")


@pytest.mark.sim  # Icarus runs the kit's bench
@pytest.mark.parametrize("search", ["parallel", "binary"])
def test_bench_catches_a_planted_threshold(solved_file, tmp_path, search):
    """The kit's own bench fails on a unit with one threshold off by one (channel 0)."""
    from exactbn.hw.threshold_unit import threshold_verilog

    from exactbn.formats import load_solved, select_layer
    from exactbn.threshold_generate import threshold_config_from_solved, threshold_kit_files

    layer = select_layer(load_solved(solved_file), None)
    cfg = threshold_config_from_solved(layer, name="exactbn_thr", search=search)
    files = threshold_kit_files(layer, cfg)
    ts = [list(t) for t in cfg.thresholds]
    ts[0][1] += 1
    files["exactbn_thr.v"] = threshold_verilog(dataclasses.replace(cfg, thresholds=ts))
    kit = tmp_path / "kit"
    kit.mkdir()
    for name, text in files.items():
        (kit / name).write_text(text)
    assert "FAIL" in _bench(kit, "exactbn_thr")


@pytest.mark.parametrize("args,msg", [
    (["--widths", "8,,"], "field 'widths'"),
    (["--all-layers", "--name", "u"], "--name names one unit"),
])
def test_refusals_exit_2_and_write_nothing(solved_file, tmp_path, args, msg, capsys):
    out = tmp_path / "kit"
    argv = ["generate", str(solved_file), "--unit", "threshold", "-o", str(out), *args]
    assert run_cli(argv) == 2
    assert msg in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("cmd,extra,msg", [
    ("sim", ["--netlist", "osu018"], "gate-level run covers the multiply-shift unit only"),
    ("prove", ["--all-layers", "--verilog", "u.v"], "--verilog proves one unit"),
])
def test_refused_threshold_uses(solved_file, tmp_path, cmd, extra, msg, capsys):
    argv = [cmd, str(solved_file), "--unit", "threshold", "-o", str(tmp_path / "o"), *extra]
    assert run_cli(argv) == 2
    assert msg in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_too_many_levels_refused(tmp_path, capsys):
    spec = {"name": "wide", "input": {"bits": 6, "signed": True},
            "output": {"bits": 13, "signed": True, "rounding": "half_even"},
            "affine": {"a": [100.0], "b": [0.5]}}
    (layer,) = parse_layers({"layers": [spec]})
    path = tmp_path / "solved.json"
    write_json_atomic(path, dump_solved([solve_layer(layer)]))
    out = tmp_path / "kit"
    assert run_cli(["generate", str(path), "--unit", "threshold", "-o", str(out)]) == 2
    assert "8191 thresholds per channel" in capsys.readouterr().err and not out.exists()
