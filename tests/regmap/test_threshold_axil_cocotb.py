"""cocotb on the axil threshold unit (sim/benches/threshold_axil_bench.py): cocotbext-axi's
AxiLiteMaster writes every threshold through the register map, also while beats stream, and
the scoreboard checks against the written words and golden's exact reference; one threshold
written off by one must fail the reference check. Icarus, one small layer."""

from __future__ import annotations

import pytest

from exactbn.cli.main import main
from exactbn.formats import load_solved
from exactbn.regmap.sim import run_threshold_axil_bench
from exactbn.threshold_generate import threshold_config_from_solved

EXAMPLES = __import__("pathlib").Path(__file__).resolve().parents[2] / "exactbn" / "data" / \
    "example_layers.json"

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def unit(tmp_path_factory):
    d = tmp_path_factory.mktemp("thr_axil_sim")
    assert main(["solve", str(EXAMPLES), "-o", str(d / "s.json"), "--no-summary"]) == 0
    lay = next(x for x in load_solved(d / "s.json") if x.name == "conv2_bn_relu")
    cfg = threshold_config_from_solved(lay, store="ram", cfg_bus="axil", name="thr_axil")
    return lay, cfg


def test_thresholds_written_through_axil_mid_stream_pass(unit, tmp_path):
    lay, cfg = unit
    res = run_threshold_axil_bench(lay, cfg, tmp_path)
    assert res.passed, (res.failures, res.first_mismatch, res.log_path)
    sc = res.scenarios
    assert sc["axil_thresholds"]["reference_checked"] > 0
    live = sc["axil_thresholds_live"]
    assert live["axil_writes"] == cfg.channels * (cfg.slots + 1) and live["reference_checked"] > 0
    assert live["beats_during_writes"] > 0  # beats accepted while the writes went on


def test_wrong_threshold_written_through_axil_fails(unit, tmp_path):
    lay, cfg = unit
    stored = [cfg.stored(c) for c in range(cfg.channels)]
    def inside(c: int, v: int) -> bool:  # U_k compares with d*x: a transition in range
        lo, hi = cfg.channel_range(c)
        return lo <= v <= hi if cfg.directions[c] > 0 else -hi <= v <= -lo

    c, k = next((c, k) for c in range(cfg.channels) for k, v in enumerate(stored[c][1])
                if inside(c, v))
    neg, u = stored[c]
    u = list(u)
    u[k] += 1  # one threshold one too high: its level transition moves by one input
    stored[c] = (neg, u)
    res = run_threshold_axil_bench(lay, cfg, tmp_path, stored=stored,
                                   scenarios=("axil_thresholds_live",))
    assert not res.passed and res.mismatches > 0, res.scenarios
    assert "reference" in str(res.first_mismatch), res.first_mismatch
