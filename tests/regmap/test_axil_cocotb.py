"""cocotb on axil units (sim/benches/axil_bench.py): cocotbext-axi's AxiLiteMaster and the
Python driver program the RAM store through the register map while beats stream with random
valid/ready, scored against golden's integer model. One small case each (Icarus); the
Verilator runs are behind ``slow``."""

from __future__ import annotations

import pytest

from exactbn.cli.main import main
from exactbn.formats import load_solved
from exactbn.generate import unit_config_from_solved
from exactbn.regmap.sim import run_axil_bench
from exactbn.shared import shared_unit_layer

EXAMPLES = __import__("pathlib").Path(__file__).resolve().parents[2] / "exactbn" / "data" / \
    "example_layers.json"

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    d = tmp_path_factory.mktemp("axil_sim")
    assert main(["solve", str(EXAMPLES), "-o", str(d / "s.json"), "--no-summary"]) == 0
    return d / "s.json"


def _check(res):
    assert res.passed, (res.failures, res.first_mismatch, res.log_path)
    assert set(res.scenarios) == {"axil_program", "axil_reset_mid_commit", "axil_reprogram_live"}
    return res.scenarios


def _single(solved, tmp_path, simulator):
    lay = next(x for x in load_solved(solved) if x.name == "tie_affine")
    cfg = unit_config_from_solved(lay, store="ram", cfg_bus="axil", name="axil_tie",
                                  pipeline="shallow")
    sc = _check(run_axil_bench(lay, cfg, tmp_path, simulator=simulator))
    live = sc["axil_reprogram_live"]
    assert live["commits"] == 2 * cfg.channels and live["beats_during_writes"] > 0
    assert sc["axil_program"]["lane_results"] > 0


def _shared(solved, tmp_path, simulator):
    merged, lay_out, _ = shared_unit_layer(str(solved), "conv2_bn_relu,conv1_bn", 1, "channels")
    cfg = unit_config_from_solved(merged, store="ram", cfg_bus="axil", name="axil_shared",
                                  pipeline="shallow")
    assert cfg.layer_table  # the clip table is in the register map too
    layers = [(n, lay_out.channel_base(i), c)
              for i, (n, c) in enumerate(zip(lay_out.names, lay_out.channels, strict=True))]
    sc = _check(run_axil_bench(merged, cfg, tmp_path, simulator=simulator, layers=layers,
                               live="layer"))
    live = sc["axil_reprogram_live"]
    assert live["live"] == "layer" and live["clip_changed"] and live["beats_during_writes"] > 0


def test_cli_sim_runs_the_axil_bench_icarus(solved, tmp_path, capsys):
    """``exactbn sim --cfg-bus axil`` programs through AXI4-Lite (not the raw cfg port)."""
    import json

    rc = main(["sim", str(solved), "--layer", "tie_affine", "--store", "ram", "--cfg-bus",
               "axil", "--pipeline", "shallow", "--simulator", "icarus", "-o",
               str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert rc == 0 and "sim: PASS" in out and "axil_reprogram_live" in out, out
    res = json.loads(next((tmp_path / "o").glob("*/results.json")).read_text())["scenarios"]
    assert res["axil_reprogram_live"]["commits"] == 8 and res["axil_program"]["commits"] == 8
    assert res["axil_reprogram_live"]["beats_during_writes"] > 0


def test_cli_sim_axil_refuses_bn_bench_scenarios(solved, tmp_path, capsys):
    rc = main(["sim", str(solved), "--layer", "tie_affine", "--store", "ram", "--cfg-bus",
               "axil", "--scenarios", "full_rate", "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "AXI4-Lite bench" in err[0], err


def test_prove_axil_refuses_an_axil_verilog_file(solved, tmp_path, capsys):
    v = tmp_path / "u.v"
    v.write_text("module axil_tie(); endmodule\n")
    rc = main(["prove", str(solved), "--layer", "tie_affine", "--store", "ram", "--cfg-bus",
               "axil", "--verilog", str(v), "--name", "axil_tie", "-o", str(tmp_path / "p")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "s_axil_" in err[0], err


def test_shared_axil_unit_one_layer_reprogrammed_while_all_stream_icarus(solved, tmp_path):
    _shared(solved, tmp_path, "icarus")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["single", "shared"])
def test_axil_units_on_verilator(solved, tmp_path, kind):
    (_single if kind == "single" else _shared)(solved, tmp_path, "verilator")
