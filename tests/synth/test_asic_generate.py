"""``exactbn generate --target asic``: the kit carries the standard-cell multiplier (the carry-save
tree of hw/asic_multiplier.py, family asic) in the asic preset, or asic-small with
``--pipeline asic-small``, and its exported plain-Verilog bench passes under Icarus;
``--unit auto`` (chosen by FPGA synthesis) refuses the target with exit 2."""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib.resources import files

import pytest
from exactbn.golden.solver import solve_layer

from exactbn.cli.main import main
from exactbn.formats import dump_solved, load_layers, select_layer, write_json_atomic
from exactbn.generate import unit_config_from_solved

# conv2_bn_relu: 8 channels, 16-bit inputs, uint4 outputs, M 15 bits (Booth rows over m);
# conv1_bn: int8 outputs, M 23 bits (the default form's rows over the narrower x)
LAYERS = ("conv2_bn_relu", "conv1_bn")


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    layers = load_layers(files("exactbn.data") / "example_layers.json")
    path = tmp_path_factory.mktemp("solved") / "solved.json"
    sols = [solve_layer(select_layer(layers, name), shift_mode="per-channel",
                        hw_rounding="auto") for name in LAYERS]
    write_json_atomic(path, dump_solved(sols))
    return path, dict(zip(LAYERS, sols, strict=True))


@pytest.mark.parametrize("layer,pipe", [("conv2_bn_relu", None), ("conv2_bn_relu", "asic-small"),
                                        ("conv1_bn", "asic-small")])
def test_generate_target_asic_kit_has_the_asic_multiplier_and_passes(solved, tmp_path, layer,
                                                                     pipe):
    path, sols = solved
    s = sols[layer]
    kit = tmp_path / "kit"
    extra = [] if pipe is None else ["--pipeline", pipe]
    assert main(["generate", str(path), "--layer", layer, "--target", "asic", "-o", str(kit),
                 "--name", "u", "-q", *extra]) == 0
    man = json.loads((kit / "u.json").read_text())
    cfg = unit_config_from_solved(s, family="asic", pipeline=pipe or "asic")
    assert man["parameters"]["family"] == "asic"
    assert man["parameters"]["pipeline"] == cfg.pipeline.spec()
    assert man["latency"] == cfg.latency
    unit = (kit / "u.v").read_text()
    assert ".mul0.csa" in unit  # the carry-save tree, not Yosys's `*`
    iverilog = shutil.which("iverilog")
    assert iverilog, "iverilog is not installed"
    p = subprocess.run([iverilog, "-o", "tb.vvp", "u_tb.v", "u.v"], cwd=kit,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([shutil.which("vvp") or "vvp", "-n", "tb.vvp"], cwd=kit,
                       capture_output=True, text=True, timeout=300)
    assert f"PASS {man['vectors']} vectors" in p.stdout, p.stdout[-2000:]


def test_generate_unit_auto_refuses_target_asic(solved, tmp_path, capsys):
    path, _ = solved
    assert main(["generate", str(path), "--layer", LAYERS[0], "--target", "asic", "--unit", "auto",
                 "-o", str(tmp_path / "kit")]) == 2
    assert "--target asic" in capsys.readouterr().err
    assert not (tmp_path / "kit").exists()
