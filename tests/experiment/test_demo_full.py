"""The whole demo with every tool (slow: make sweep; `make demo` runs the same)."""

from __future__ import annotations

import json

import pytest

from exactbn import demo


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.synth
def test_full_demo_is_bit_exact_end_to_end(tmp_path):
    res = demo.run_demo(tmp_path, synth_layers=["conv1_bn"])
    status = {s.name: s.status for s in res.stages}
    assert status == dict.fromkeys(demo.STAGES, "ok"), status
    sim = res.stage("sim").data["rows"]
    assert all(r["passed"] and r["mismatches"] == 0 and r["lane_results"] > 0 for r in sim)
    synth = res.stage("synth").data["rows"]
    assert {r["kind"] for r in synth} >= {"exactbn", "tflite"}
    assert all(r["lut"] and r["fmax_mhz"] for r in synth if r["kind"] == "exactbn")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["ok"] is True
    assert (tmp_path / "plots" / "resources_fmax.png").is_file()
