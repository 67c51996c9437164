"""``--cfg-bus axil`` with ``--unit auto`` and ``--all-layers``: every layer's unit (threshold
or multiply-shift) gets its own AXI4-Lite register map and its kit's Icarus bench programs it
through that map and passes; auto measures the axil designs; ``synth --cost`` weighs the pick."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

import exactbn.cost
from exactbn.formats import dump_solved, write_json_atomic

from .support import auto_layer, run_cli

AXIL = ["--store", "ram", "--cfg-bus", "axil"]


@pytest.fixture(scope="module")
def two_layers(tmp_path_factory):
    path = tmp_path_factory.mktemp("axnet") / "net.json"
    write_json_atomic(path, dump_solved([auto_layer("bin_bn", 1, 2), auto_layer("q4_bn", 4, 2)]))
    return path


def _fake_measure(calls: list, cheap: dict[str, str]):
    """measure_units stand-in: ``cheap[layer]`` is the cheaper unit; records the options."""
    def measure(layer, family, **opts):
        calls.append(opts)
        lo = {"lut": 10, "ff": 10, "dsp": 0, "bram": 0}
        hi = {"lut": 900, "ff": 900, "dsp": 1, "bram": 0}
        thr = cheap[layer.name] == "threshold"
        return {"threshold": {**(lo if thr else hi),
                              "config": {"thresholds_per_channel": 15, "mode": "binary"}},
                "multiply-shift": hi if thr else lo}
    return measure


def _bench(kit, name) -> str:
    iverilog = shutil.which("iverilog")
    assert iverilog, "iverilog is not installed"
    subprocess.run([iverilog, "-g2012", "-o", "tb.vvp", f"{name}_tb.v", f"{name}.v"], cwd=kit,
                   check=True, timeout=300)
    return subprocess.run(["vvp", "-n", "tb.vvp"], cwd=kit, capture_output=True, text=True,
                          timeout=300).stdout


@pytest.mark.sim  # two Icarus benches, ~10 s under load
def test_all_layers_auto_axil_each_unit_its_own_register_map(two_layers, tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setattr(exactbn.cost, "measure_units",
                        _fake_measure(calls, {"bin_bn": "threshold", "q4_bn": "multiply-shift"}))
    out = tmp_path / "b"
    assert run_cli(["generate", str(two_layers), "--all-layers", "--unit", "auto", "--target",
                    "generic", *AXIL, "-q", "-o", str(out)]) == 0  # inferred multiplier
    assert calls and all(c.get("cfg_bus") == "axil" and c.get("store") == "ram" for c in calls)
    net = json.loads((out / "network.json").read_text())
    assert [(u["layer"], u["unit"]) for u in net["units"]] == [("bin_bn", "threshold"),
                                                             ("q4_bn", "multiply-shift")]
    for u in net["units"]:
        kit, name = out / u["dir"], u["name"]
        assert "s_axil_awaddr" in (kit / f"{name}.v").read_text()
        for suffix in ("_regs.rdl", "_regs.h", "_params.h"):
            assert (kit / f"{name}{suffix}").exists(), (name, suffix)
        tb = (kit / f"{name}_tb.v").read_text()
        assert "s_axil_wdata" in tb  # the bench programs the unit through the register map
        res = _bench(kit, name)
        assert "PASS" in res and "FAIL" not in res, (name, res)


def test_all_layers_threshold_axil_kits_have_register_maps(two_layers, tmp_path):
    out = tmp_path / "t"
    assert run_cli(["generate", str(two_layers), "--all-layers", "--unit", "threshold", *AXIL,
                    "-q", "-o", str(out)]) == 0
    net = json.loads((out / "network.json").read_text())
    for u in net["units"]:
        assert u["unit"] == "threshold"
        man = json.loads((out / u["manifest"]).read_text())
        assert man["parameters"]["cfg_bus"] == "axil", man["parameters"]
        assert (out / u["dir"] / f"{u['name']}_regs.rdl").exists()


@pytest.mark.synth  # two small generic Yosys runs, ~15 s under load
def test_generate_auto_axil_one_layer_measures_and_emits_the_axil_unit(tmp_path, capsys):
    path = tmp_path / "solved.json"
    write_json_atomic(path, dump_solved([auto_layer("w1", 1, 2)]))
    out = tmp_path / "kit"
    assert run_cli(["generate", str(path), "--unit", "auto", "--target", "generic", *AXIL,
                    "-o", str(out)]) == 0
    choice = json.loads((out / "unit_choice.json").read_text())
    assert choice["unit"] == "threshold", choice
    assert "s_axil_awaddr" in (out / "exactbn_w1.v").read_text()
    assert (out / "exactbn_w1_regs.rdl").exists()


@pytest.mark.synth  # two small generic Yosys runs (the picks)
@pytest.mark.parametrize("cost,unit,kind", [(None, "multiply-shift", "exactbn"),
                                            ("bram=0", "threshold", "exact_threshold")])
def test_synth_auto_cost_weights_decide(tmp_path, monkeypatch, capsys, cost, unit, kind):
    def measure(layer, family, **opts):  # thresholds in 2 block RAMs vs 1 DSP (generic)
        return {"threshold": {"lut": 10, "ff": 10, "dsp": 0, "bram": 2,
                              "config": {"thresholds_per_channel": 1, "mode": "parallel"}},
                "multiply-shift": {"lut": 100, "ff": 100, "dsp": 1, "bram": 0}}

    monkeypatch.setattr(exactbn.cost, "measure_units", measure)
    path = tmp_path / "solved.json"
    write_json_atomic(path, dump_solved([auto_layer("w1", 1, 2)]))
    out = tmp_path / "rep"
    assert run_cli(["synth", str(path), "--unit", "auto", "--target", "generic", "--seeds", "1",
                    "--designs", "exactbn", *(["--cost", cost] if cost else []), "-o",
                    str(out)]) == 0
    assert f"--unit auto: {unit}: layer w1" in capsys.readouterr().err
    rep = json.loads((out / "report.json").read_text())
    assert [d["kind"] for d in rep["designs"]] == [kind]


@pytest.mark.parametrize("extra,msg", [
    (["--cost", "dsp=2"], "it needs --unit auto"),
    (["--unit", "auto", "--cost", "luts=2"], "--cost: expected k=v"),
])
def test_synth_cost_misuse_exit_2(tmp_path, extra, msg, capsys):
    path = tmp_path / "solved.json"
    write_json_atomic(path, dump_solved([auto_layer("w1", 1, 2)]))
    out = tmp_path / "rep"
    assert run_cli(["synth", str(path), "--target", "generic", *extra, "-o", str(out)]) == 2
    assert msg in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("pipeline", [None, "shallow"])
def test_generate_auto_measures_the_multiply_shift_unit_it_emits(tmp_path, monkeypatch,
                                                                 pipeline):
    """The measured multiply-shift config (the ecp5 preset without --pipeline) is the kit's."""
    from exactbn.synth.designs import unit_config
    from exactbn.synth.targets import resolve_target

    calls: list = []
    monkeypatch.setattr(exactbn.cost, "measure_units",
                        _fake_measure(calls, {"w4": "multiply-shift"}))
    layer = auto_layer("w4", 4, 2)
    path = tmp_path / "solved.json"
    write_json_atomic(path, dump_solved([layer]))
    out = tmp_path / "kit"
    assert run_cli(["generate", str(path), "--unit", "auto", "--target", "ecp5", "-q", "-o",
                    str(out), *(["--pipeline", pipeline] if pipeline else [])]) == 0
    man = json.loads((out / "exactbn_w4.json").read_text())
    (opts,) = calls
    for k in ("workdir", "place", "freq_mhz"):  # how to measure, not the unit
        opts.pop(k, None)
    assert opts.pop("stages") == "fast"  # the threshold side's: ecp5's stages
    measured = unit_config(layer, resolve_target("ecp5"), **opts)
    assert measured.pipeline.spec() == man["parameters"]["pipeline"], opts
