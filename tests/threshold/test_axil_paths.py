"""``sim``/``prove`` of the threshold unit with ``--store ram --cfg-bus axil``: the AXI4-Lite
bench passes (also reprogramming NEW thresholds mid-stream) and fails when the host's image of
the new thresholds has one threshold off by one; the proof of the unit plus its slave against
the documented register map passes and fails for a planted slave (register offsets swapped,
T field one bit off); synth synthesizes the axil top; bad register-map options exit 2 with one
line and write nothing."""

from __future__ import annotations

import pytest
from axil_planted import PassThrough, swapped_offsets
from exactbn.golden.solver import solve_layer

from exactbn.cli.main import main
from exactbn.formats import dump_solved, load_solved, parse_layers, write_json_atomic
from exactbn.regmap.formal import prove_axil
from exactbn.regmap.layout import RegisterMap
from exactbn.threshold_generate import threshold_config_from_solved
from exactbn.threshold_sim import reprogram_target

from .support import run_cli

LAYER = {"name": "ax", "input": {"bits": 6, "signed": True, "range": [[-30, 25], [-32, 31],
                                                                       [-8, 8]]},
         "output": {"bits": 2, "signed": False, "rounding": "half_even"},
         "affine": {"a": [0.09, -0.13, 0.0], "b": [1.2, 1.5, 2.25]}}
AXIL = ["--unit", "threshold", "--store", "ram", "--cfg-bus", "axil"]


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    (layer,) = parse_layers({"layers": [LAYER]})
    path = tmp_path_factory.mktemp("thr_axil") / "solved.json"
    write_json_atomic(path, dump_solved([solve_layer(layer)]))
    return path


def _layer_cfg(path):
    (layer,) = load_solved(path)
    return layer, threshold_config_from_solved(layer, store="ram", cfg_bus="axil",
                                               name="thr_ax")


def test_reprogram_target_is_new_and_exact(solved):
    layer, cfg = _layer_cfg(solved)
    nxt = reprogram_target(layer, cfg)
    old = [cfg.stored(c) for c in range(cfg.channels)]
    assert [(n, u) for n, u in zip(nxt["neg"], nxt["U"], strict=True)] != old
    assert nxt["neg"][1] != old[1][0]  # the mirrored channel's direction flips


@pytest.mark.sim
def test_sim_cfg_bus_axil_passes_with_new_thresholds_mid_stream(solved, tmp_path, capsys):
    rc = main(["sim", str(solved), *AXIL, "--simulator", "icarus", "-o", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "axil_thresholds_new" in out and "sim: PASS" in out


@pytest.mark.sim
def test_sim_fails_when_the_host_writes_a_new_threshold_off_by_one(solved, tmp_path):
    from exactbn.regmap.sim import run_threshold_axil_bench

    layer, cfg = _layer_cfg(solved)
    nxt = reprogram_target(layer, cfg)
    stored = [(n, list(u)) for n, u in zip(nxt["neg"], nxt["U"], strict=True)]
    c = 0  # channel 0 (d = +1): its first threshold inside the range, one too high
    lo, hi = cfg.channel_range(c)
    k = next(k for k, v in enumerate(stored[c][1]) if lo < v <= hi)
    stored[c][1][k] += 1
    res = run_threshold_axil_bench(layer, cfg, tmp_path, next_words=nxt, next_stored=stored,
                                   scenarios=("axil_thresholds_new",))
    assert not res.passed and res.mismatches > 0, res.scenarios
    assert "reference" in str(res.first_mismatch), res.first_mismatch


@pytest.mark.formal
def test_prove_cfg_bus_axil_passes(solved, tmp_path, capsys):
    rc = main(["prove", str(solved), *AXIL, "-o", str(tmp_path / "p")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "axil_map PASS" in out and "documented register map" in out and "PROVEN" in out


class _TShifted(PassThrough):
    """The slave with the T field one bit off on cfg_value (bits [w_t-2:0] of T at [w_t-1:1])."""

    own = ("cfg_value",)

    def plant(self, m, s):
        m.d.comb += self.cfg_value.eq(s.cfg_value << 1)


@pytest.mark.formal
@pytest.mark.parametrize("bug", ["offsets", "t_field"])
def test_planted_register_map_bug_fails(solved, tmp_path, bug):
    _, cfg = _layer_cfg(solved)
    if bug == "offsets":
        slave, inner = swapped_offsets(cfg, "T0", "INDEX"), ""
    else:
        slave, inner = _TShifted(cfg), "inner."
    r = prove_axil(slave, tmp_path / bug, map_check=True, regmap=RegisterMap(cfg), inner=inner)
    assert r.status == "FAIL" and r.vcd and "@map" in (r.failed_text or ""), \
        (r.status, r.failed_text)


@pytest.mark.synth
def test_synth_cfg_bus_axil_synthesizes_the_slave(solved, tmp_path):
    """Yosys only (--target generic): the design is the axil top (its config says so, its
    netlist has the s_axil_* ports)."""
    import json

    out = tmp_path / "s"
    assert main(["synth", str(solved), *AXIL, "--target", "generic", "--designs", "exactbn",
                 "-o", str(out)]) == 0
    (d,) = json.loads((out / "report.json").read_text())["designs"]
    assert d["kind"] == "exact_threshold" and d["config"]["cfg_bus"] == "axil", d["config"]
    assert (out / "src" / "exact_threshold.il").read_text().count("s_axil_") > 0


@pytest.mark.parametrize("cmd,extra,msg", [
    ("sim", ["--store", "rom"], "--cfg-bus axil programs a RAM store: it needs --store ram"),
    ("prove", ["--store", "rom"], "--cfg-bus axil programs a RAM store: it needs --store ram"),
    ("synth", ["--store", "rom", "--target", "generic"], "needs --store ram"),
    ("sim", ["--store", "ram", "--scenarios", "full_rate"], "no --scenarios or --waves"),
])
def test_bad_axil_options_exit_2_one_line(solved, tmp_path, cmd, extra, msg, capsys):
    argv = [cmd, str(solved), "--unit", "threshold", "--cfg-bus", "axil", *extra,
            "-o", str(tmp_path / "o")]
    assert run_cli(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0], err
    assert not (tmp_path / "o").exists()
