"""``exactbn sim``: pass, fail on a wrong solved file (exit 1), bad input (exit 2)."""

from __future__ import annotations

import json

import pytest
from exactbn.sim.layers import example_layer, tie_layer

from exactbn.cli.main import main
from exactbn.formats import dump_solved, write_json_atomic

pytestmark = pytest.mark.sim


def _write(tmp_path, layer, name="solved.json"):
    path = tmp_path / name
    write_json_atomic(path, dump_solved([layer]))
    return str(path)


def test_sim_passes_and_counts_vectors(tmp_path, capsys):
    path = _write(tmp_path, tie_layer("half_even"))
    rc = main(["sim", path, "--simulator", "icarus", "--lanes", "4", "--store", "ram",
               "-o", str(tmp_path / "runs")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "PASS icarus" in out and "sim: PASS" in out
    assert "full_rate" in out and "reprogram" in out


def test_sim_fails_with_first_mismatch_and_waveform(tmp_path, capsys):
    """A solved file whose channel 2 claims exactness with an offset that is off by one.

    The re-check refuses it (exit 2, naming the channel); with --allow-inexact the unit
    faithfully computes the file's parameters, and the exact-reference check catches the
    false claim: exit 1, the first wrong beat printed, the waveform kept.
    """
    layer = tie_layer("half_away")
    obj = dump_solved([layer])
    obj["layers"][0]["B"][2] += 1
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(obj))
    argv = ["sim", str(path), "--simulator", "icarus", "--scenarios", "full_rate",
            "-o", str(tmp_path / "runs")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "channel" in err and "2" in err and "Traceback" not in err
    rc = main(argv + ["--allow-inexact"])
    out = capsys.readouterr().out
    assert rc == 1, out
    assert "first mismatch: full_rate: beat" in out and "channel 2" in out
    assert "exact reference" in out and "waveform:" in out
    wave = out.split("waveform:")[1].split()[0]
    assert wave.endswith(".fst")
    assert (tmp_path / "runs").exists()


@pytest.mark.parametrize("argv,needle", [
    (["sim", "MISSING.json"], "no such file"),
    (["sim", "SOLVED", "--layer", "nope"], "no layer named 'nope'"),
    (["sim", "SOLVED", "--scenarios", "full_rate,warp"], "--scenarios"),
    (["sim", "SOLVED", "--widths", "2,,"], "M = "),
])
def test_sim_bad_input_exits_2(tmp_path, capsys, argv, needle):
    path = _write(tmp_path, example_layer("conv2_bn_relu"))
    argv = [path if a == "SOLVED" else str(tmp_path / a) if a.endswith(".json") else a
            for a in argv]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2 and needle in err and "Traceback" not in err


def test_sim_bad_simulator_is_a_usage_error(tmp_path):
    path = _write(tmp_path, example_layer("conv2_bn_relu"))
    with pytest.raises(SystemExit) as e:
        main(["sim", path, "--simulator", "modelsim"])
    assert e.value.code == 2


def test_sim_accepts_a_relative_output_directory(tmp_path, capsys, monkeypatch):
    """The runner changes directory before the bench reads its spec: -o may be relative."""
    path = _write(tmp_path, tie_layer("floor"))
    monkeypatch.chdir(tmp_path)
    rc = main(["sim", path, "--simulator", "icarus", "--vectors", "20", "-o", "runs"])
    assert rc == 0, capsys.readouterr().out
