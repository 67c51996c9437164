"""sim/prove/synth --all-layers: one child run per layer, failures named, others go on."""

from __future__ import annotations

import argparse
import json

import pytest

from exactbn import network
from exactbn.cli.main import build_parser, main


def _args(argv):
    return build_parser().parse_args(argv)


def test_child_argv_restates_options_without_the_network_ones():
    args = _args(["sim", "s.json", "--all-layers", "--jobs", "2", "--lanes", "2",
                  "--simulator", "icarus", "--vectors", "7", "--range-check", "-o", "O"])
    argv = network.child_argv(args._parser, args)
    assert argv[0] == "s.json"
    assert "--all-layers" not in argv and "--jobs" not in argv and "-o" not in argv
    assert argv[argv.index("--lanes") + 1] == "2"
    assert argv[argv.index("--vectors") + 1] == "7" and "--range-check" in argv
    again = _args(["sim", *argv])
    for k in ("lanes", "simulator", "vectors", "range_check", "pipeline", "store"):
        assert getattr(again, k) == getattr(args, k)


def test_a_failing_layer_is_named_and_the_others_still_run(work, capsys, monkeypatch):
    calls = []

    def fake_call(cmd, stdout, stderr):
        layer = cmd[cmd.index("--layer") + 1]
        calls.append(layer)
        stdout.write("sim: FAIL\n" if layer == "bn.a" else "sim: PASS\n")
        return 1 if layer == "bn.a" else 0

    monkeypatch.setattr(network.subprocess, "call", fake_call)
    rc = main(["sim", "s.json", "--all-layers", "-o", "runs"])
    cap = capsys.readouterr()
    assert rc == 1
    assert sorted(calls) == ["bn.a", "bn_b"]
    summary = json.loads((work / "runs/network_sim.json").read_text())
    assert summary["totals"]["failed"] == ["bn.a"] and summary["totals"]["passed"] == 1
    assert "bn.a: FAIL" in cap.out and "bn_b: PASS" in cap.out and "[2/2]" in cap.err


def test_all_pass_exit_0(work, capsys, monkeypatch):
    monkeypatch.setattr(network.subprocess, "call", lambda cmd, stdout, stderr: 0)
    assert main(["prove", "s.json", "--all-layers", "--jobs", "2", "-o", "p"]) == 0
    assert "2/2 layer(s) passed" in capsys.readouterr().out


@pytest.mark.parametrize("argv,word", [
    (["sim", "s.json", "--all-layers", "--layer", "bn_b"], "--layer"),
    (["sim", "s.json", "--layers", "zz"], "zz"),
    (["prove", "s.json", "--all-layers", "--name", "u"], "--name"),
    (["sim", "s.json", "--all-layers", "--widths", "2,,"], "bn.a"),
    (["synth", "s.json", "--target", "ecp5", "--all-layers", "--widths", "2,,"], "bn.a"),
])
def test_bad_input_exit_2_before_any_layer_runs(work, capsys, monkeypatch, argv, word):
    monkeypatch.setattr(network.subprocess, "call", lambda *a, **k: pytest.fail("ran"))
    rc = main([*argv, "-o", "out"])
    err = capsys.readouterr().err
    assert rc == 2 and word in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1


def test_bad_jobs_is_a_usage_error(work, capsys):
    with pytest.raises(SystemExit) as e:
        main(["prove", "s.json", "--all-layers", "--jobs", "0", "-o", "out"])
    assert e.value.code == 2 and "--jobs" in capsys.readouterr().err


def test_sim_all_layers_for_real_on_icarus(work, capsys):
    rc = main(["sim", "s.json", "--all-layers", "--simulator", "icarus", "--vectors", "5",
               "--scenarios", "random_gaps", "-o", "runs", "--jobs", "2"])
    assert rc == 0, capsys.readouterr()
    rows = json.loads((work / "runs/network_sim.json").read_text())["layers"]
    assert [r["status"] for r in rows] == ["PASS", "PASS"]


def test_prove_all_layers_for_real(work, capsys):
    rc = main(["prove", "s.json", "--layers", "bn_b", "--pipeline", "shallow", "-o", "p"])
    assert rc == 0, capsys.readouterr()
    row = json.loads((work / "p/network_prove.json").read_text())["layers"][0]
    assert row["status"] == "PASS" and row["proof_status"] == "PASS"


@pytest.mark.slow
def test_synth_all_layers_for_real(work, capsys):
    rc = main(["synth", "s.json", "--target", "ecp5", "--all-layers", "--designs", "exactbn",
               "--seeds", "1", "-o", "syn"])
    assert rc == 0, capsys.readouterr()
    rep = json.loads((work / "syn/network_synth.json").read_text())
    assert all(isinstance(r["lut"], int) for r in rep["layers"])
    assert rep["totals"]["lut"] == sum(r["lut"] for r in rep["layers"])


def test_namespace_has_parser_for_each_network_command():
    for cmd in (["sim", "s.json"], ["prove", "s.json"],
                ["synth", "s.json", "--target", "ecp5", "-o", "x"]):
        assert isinstance(_args(cmd)._parser, argparse.ArgumentParser)
