"""The plain-Verilog stream stress bench (sim/benches/stress) under Icarus: a RAM-store unit
from ``exactbn generate`` through antiphase valid/ready, withdrawn valid, 1,000-cycle stalls,
1-cycle resets with traffic and cfg writes mid-stream and around resets; every output beat
checked against golden's integer model. 20 k beats here, 1 M in ``make sweep``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from exactbn.golden.solver import solve_layer

from exactbn import formats
from sim.benches.stress.run import run_stress
from sim.benches.stress.tables import build_tables

EXAMPLES = Path(__file__).resolve().parents[2] / "exactbn" / "data" / "example_layers.json"

pytestmark = [pytest.mark.sim, pytest.mark.xdist_group("stress"),
              pytest.mark.skipif(shutil.which("iverilog") is None, reason="needs iverilog")]


@pytest.fixture(scope="module")
def solved_file(tmp_path_factory):
    layers = {lay.name: lay for lay in formats.load_layers(EXAMPLES)}
    path = tmp_path_factory.mktemp("stress") / "solved.json"
    solved = [solve_layer(layers[n]) for n in ("conv2_bn_relu", "tie_affine")]
    formats.write_json_atomic(path, formats.dump_solved(solved))
    return path


def test_stress_20k_beats(solved_file, tmp_path):
    r = run_stress(solved_file, tmp_path, layer="conv2_bn_relu", beats=20_000)
    assert r.passed, r.line
    s = r.stats
    assert s["beats"] >= 20_000 and s["resets"] > 0 and s["cfg_writes"] > 0
    assert s["stalls_1000"] > 0 and s["withdrawn"] > 0 and s["bad_addr_writes"] > 0


def test_stress_bench_catches_a_wrong_expected_value(solved_file, tmp_path, monkeypatch):
    """Negative control: one expected output off by one must make the bench fail."""
    import sim.benches.stress.run as run_mod

    def corrupt(*a, **k):
        t = build_tables(*a, **k)
        t.vec[0] ^= 1
        t.vec[-1] ^= 1
        return t

    monkeypatch.setattr(run_mod, "build_tables", corrupt)
    r = run_stress(solved_file, tmp_path, layer="tie_affine", beats=20_000)
    assert not r.passed and "wrong or reordered beat" in r.line, r.line


@pytest.mark.slow
@pytest.mark.parametrize("layer", ["conv2_bn_relu", "tie_affine"])
def test_stress_1m_beats(solved_file, tmp_path, layer):
    r = run_stress(solved_file, tmp_path, layer=layer, beats=1_000_000, timeout=7200)
    assert r.passed, r.line
    print(f"{layer}: {r.line} ({r.seconds:.0f} s)")
