"""``--all-layers`` with ``--unit threshold|auto``: generate's bundle (one exact unit per
layer, auto picking per layer with its reason), sim/prove/synth's per-layer runs with one
summary row each; ``--shared-unit`` refuses both clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exactbn.formats import dump_solved, write_json_atomic

from .support import auto_layer as _layer
from .support import run_cli


@pytest.fixture(scope="module")
def two_layers(tmp_path_factory):
    path = tmp_path_factory.mktemp("net") / "net.json"
    write_json_atomic(path, dump_solved([_layer("bin_bn", 1), _layer("wide_bn", 8)]))
    return path


def test_all_layers_threshold(two_layers, tmp_path):
    out = tmp_path / "b"
    assert run_cli(["generate", str(two_layers), "--unit", "threshold", "--all-layers", "-q",
                "-o", str(out)]) == 0
    net = json.loads((out / "network.json").read_text())
    assert [(u["layer"], u["unit"]) for u in net["units"]] == [("bin_bn", "threshold"),
                                                             ("wide_bn", "threshold")]
    man = json.loads((out / net["units"][1]["manifest"]).read_text())
    assert man["unit"] == "threshold" and len(man["thresholds"][0]) == 255


@pytest.mark.slow  # synthesizes 4 designs: ~40 s under load
def test_all_layers_auto_picks_per_layer(two_layers, tmp_path, capsys):
    """1-bit layer: one comparison beats a DSP; 8-bit: 255 thresholds per channel need block
    RAM, the multiplier one DSP (ECP5, default weights)."""
    out = tmp_path / "a"
    assert run_cli(["generate", str(two_layers), "--unit", "auto", "--target", "ecp5",
                "--all-layers", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "--unit auto: threshold: layer bin_bn: thresholds, 1 per channel" in text
    assert "--unit auto: multiply-shift: layer wide_bn: multiply-shift," in text
    net = json.loads((out / "network.json").read_text())
    assert [u["unit"] for u in net["units"]] == ["threshold", "multiply-shift"]
    assert net["units"][0]["choice"].startswith("layer bin_bn: thresholds, 1 per channel, 0 DSP")
    assert " vs 1 DSP, " in net["units"][0]["choice"]  # the form, in network.json
    assert "layer wide_bn: multiply-shift" in (out / "README.md").read_text()
    assert "unit" not in json.loads((out / net["units"][1]["manifest"]).read_text())  # M, B, N


@pytest.mark.parametrize("unit", ["threshold", "auto"])
def test_shared_unit_refuses_thresholds(two_layers, tmp_path, unit, capsys):
    extra = ["--target", "ecp5"] if unit == "auto" else []
    assert run_cli(["generate", str(two_layers), "--unit", unit, *extra, "--shared-unit",
                "-o", str(tmp_path / "s")]) == 2
    assert "--shared-unit is one multiply-shift unit" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


@pytest.fixture(scope="module")
def small_layers(tmp_path_factory):
    path = tmp_path_factory.mktemp("small") / "small.json"
    write_json_atomic(path, dump_solved([_layer("one_bn", 1, 3), _layer("two_bn", 2, 3)]))
    return path


def _summary(out, command: str) -> list[tuple]:
    rows = json.loads((out / f"network_{command}.json").read_text())["layers"]
    return [(r["layer"], r.get("unit"), r["status"]) for r in rows]


@pytest.mark.sim
def test_sim_all_layers_threshold(small_layers, tmp_path, capsys):
    """One threshold-unit regression per layer, one summary row each (formerly refused)."""
    out = tmp_path / "s"  # --target ice40: every child simulates the compact stages
    assert run_cli(["sim", str(small_layers), "--unit", "threshold", "--all-layers", "--simulator",
                "icarus", "--vectors", "64", "--target", "ice40", "-o", str(out)]) == 0
    assert _summary(out, "sim") == [("one_bn", "threshold", "PASS"),
                                    ("two_bn", "threshold", "PASS")]
    assert "threshold unit" in (out / "logs" / "one_bn.log").read_text()
    assert all("compact stages" in (out / "logs" / f"{n}.log").read_text()
               for n in ("one_bn", "two_bn"))
    assert "| layer | unit | status |" in (out / "network_sim.md").read_text()


@pytest.mark.parametrize("cmd,extra,msg", [
    ("sim", ["--cost", "dsp=2"], "--cost weighs the units for --unit auto"),
    ("prove", ["--target", "asic"], "invalid choice: 'asic'"),  # FPGA families only
    ("prove", ["--verilog", "x.v"], "--verilog proves one unit"),
])
def test_all_layers_threshold_misuse(small_layers, tmp_path, cmd, extra, msg, capsys):
    assert run_cli([cmd, str(small_layers), "--unit", "threshold", "--all-layers", *extra,
                "-o", str(tmp_path / "o")]) == 2
    assert msg in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow  # two proofs and four Yosys runs: ~2 min under load
def test_prove_all_layers_threshold_and_auto(small_layers, tmp_path):
    out = tmp_path / "p"
    assert run_cli(["prove", str(small_layers), "--unit", "threshold", "--all-layers",
                "-o", str(out)]) == 0
    assert _summary(out, "prove") == [("one_bn", "threshold", "PASS"),
                                      ("two_bn", "threshold", "PASS")]
    out = tmp_path / "a"
    assert run_cli(["sim", str(small_layers), "--unit", "auto", "--target", "ecp5", "--all-layers",
                "--simulator", "icarus", "--vectors", "64", "-o", str(out)]) == 0
    rows = json.loads((out / "network_sim.json").read_text())["layers"]
    assert all(r["status"] == "PASS" and r["choice"].startswith(f"layer {r['layer']}: ")
               for r in rows)


@pytest.mark.slow  # synthesizes 2 layers x 2 units with place and route
def test_synth_all_layers_auto(small_layers, tmp_path):
    out = tmp_path / "y"
    assert run_cli(["synth", str(small_layers), "--unit", "auto", "--target", "ecp5",
                "--all-layers", "--seeds", "1", "--designs", "exactbn", "-o", str(out)]) == 0
    rows = json.loads((out / "network_synth.json").read_text())["layers"]
    assert [(r["layer"], r["unit"]) for r in rows] == [("one_bn", "threshold"),
                                                       ("two_bn", "threshold")]
    assert all(r["lut"] and r["fmax_mhz"] for r in rows)


def test_all_layers_auto_synthesis_failure_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    """A failing cost synthesis under --all-layers --unit auto ended as 'internal error' (70)."""
    import exactbn.threshold_network as tn
    from exactbn.cli.main import main
    from exactbn.synth.flow import SynthError

    def boom(*_a, **_k):
        raise SynthError("yosys exited 1")

    monkeypatch.setattr(tn, "choose_units", boom)
    out = tmp_path / "o"
    solved = Path(__file__).parents[1] / "cli" / "data" / "solved_release1_tie_affine.json"
    rc = main(["sim", str(solved), "--all-layers", "--unit", "auto", "--target", "ecp5",
               "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "--unit auto: synthesis failed: yosys exited 1" in err, err
    assert not out.exists()
