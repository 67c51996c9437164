"""sim --profile quick (the sim --all-layers default): every structured input once, fewer beats.

full_rate still drives every level transition point (and its neighbours), saturation
boundary, tie and extreme of every channel; the other scenarios get at most QUICK_BEATS beats
drawn from the same inputs. A unit off at the transitions of one channel must still fail.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from exactbn.golden import integer_model
from exactbn.hw import to_verilog
from exactbn.sim.layers import example_layer
from exactbn.sim.regress import simulate_layer, unit_config
from exactbn.sim.spec import QUICK_BEATS
from exactbn.sim.stimulus import transition_points

from exactbn import network
from exactbn.cli.main import main

SCEN = ["full_rate", "random_gaps", "backpressure"]


def _layer():
    layer = example_layer("conv1_bn", "per-channel")
    assert layer.input.bits > 10  # structured inputs, not every input
    return layer


@pytest.mark.sim
def test_quick_drives_every_transition_once_and_caps_the_rest(tmp_path):
    layer = _layer()
    cfg = unit_config(layer)
    res = simulate_layer(layer, cfg, "icarus", vectors=8, run_dir=tmp_path, scenarios=SCEN,
                         profile="quick")
    assert res.passed, res.failures or res.first_mismatch
    points = sum(len(transition_points(layer, c)) for c in range(layer.channels))
    assert res.scenarios["full_rate"]["lane_results"] >= points
    assert res.scenarios["random_gaps"]["beats"] == QUICK_BEATS < points


@pytest.mark.sim
def test_quick_fails_a_unit_off_by_one_step_in_one_channel(tmp_path):
    """Channel c computes q(x + 1) (B + M): wrong only at the last x of each level."""
    layer = _layer()
    cfg = unit_config(layer)
    c = layer.channels - 1
    wrong = replace(cfg, B=tuple(b + cfg.M[c] * (k == c) for k, b in enumerate(cfg.B)))
    res = simulate_layer(layer, cfg, "icarus", vectors=1, run_dir=tmp_path,
                         scenarios=["full_rate"], profile="quick", verilog=to_verilog(wrong),
                         waves=False)
    xs = np.asarray(transition_points(layer, c), dtype=np.int64)
    q = integer_model(layer.M[c], layer.B[c], layer.N[c], xs, layer.qmin, layer.qmax,
                      layer.hw_rounding)
    levels = len(np.unique(q))
    assert not res.passed and f"channel {c}" in res.first_mismatch
    # one random input hits a level's last x by chance at most once: the rest are the
    # transition points, driven once each
    assert res.scenarios["full_rate"]["mismatches"] >= levels - 1 > 8


def test_profile_error():
    layer = _layer()
    with pytest.raises(ValueError, match="profile"):
        simulate_layer(layer, unit_config(layer), "icarus", profile="fast")


@pytest.fixture
def solved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    layers = {"layers": [
        {"name": f"bn{i}", "input": {"bits": 6, "signed": True, "scale": 0.01},
         "output": {"bits": 4, "signed": True, "scale": 0.1},
         "affine": {"a": [0.3, -0.2, 0.1][:2 + i], "b": [1.5, 0.25, 0.0][:2 + i]}}
        for i in range(2)]}
    (tmp_path / "layers.json").write_text(json.dumps(layers))
    assert main(["solve", "layers.json", "-o", "s.json", "--no-summary"]) == 0
    return tmp_path


@pytest.mark.parametrize("extra,profile,vectors", [
    ([], "quick", "64"),
    (["--vectors", "7"], "quick", "7"),
    (["--profile", "full"], "full", "2000"),
])
def test_all_layers_children_get_the_profile(solved, monkeypatch, extra, profile, vectors):
    cmds = []

    def fake_call(cmd, stdout, stderr):
        cmds.append(cmd)
        return 0

    monkeypatch.setattr(network.subprocess, "call", fake_call)
    assert main(["sim", "s.json", "--all-layers", *extra, "-o", "runs"]) == 0
    assert len(cmds) == 2
    for cmd in cmds:
        assert cmd[cmd.index("--profile") + 1] == profile
        assert cmd[cmd.index("--vectors") + 1] == vectors


def test_all_layers_start_the_largest_layer_first(solved, monkeypatch):
    order = []

    def fake_call(cmd, stdout, stderr):
        order.append(cmd[cmd.index("--layer") + 1])
        return 0

    monkeypatch.setattr(network.subprocess, "call", fake_call)
    assert main(["sim", "s.json", "--all-layers", "--jobs", "1", "-o", "runs"]) == 0
    assert order == ["bn1", "bn0"]  # bn1 has 3 channels, bn0 2
    rows = json.loads((solved / "runs/network_sim.json").read_text())["layers"]
    assert [r["layer"] for r in rows] == ["bn0", "bn1"]  # the file's order
