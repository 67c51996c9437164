"""``exactbn generate --target ecp5``: the kit's unit instantiates MULT18X18D, ships exactbn's
behavioural model beside it (tb fileset only), and its exported plain-Verilog bench passes on
them under Icarus; the unit and the model are Verilator -Wall clean together."""

from __future__ import annotations

import json
import shutil
import subprocess

from exactbn.cli.main import main
from exactbn.formats import dump_solved, write_json_atomic

MODEL = "exactbn_ecp5_models.v"


def _run(cmd, cwd, tool_path):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={"PATH": tool_path, "HOME": str(cwd)})


def test_ecp5_kit_bench_passes_with_the_model(solved, tool_path, tmp_path, capsys):
    path = tmp_path / "solved.json"
    write_json_atomic(path, dump_solved([solved("conv1_bn")]))
    kit = tmp_path / "kit"
    assert main(["generate", str(path), "--target", "ecp5", "--lanes", "2", "-o", str(kit),
                 "--name", "u"]) == 0
    unit = (kit / "u.v").read_text()
    assert "MULT18X18D" in unit and "module MULT18X18D" not in unit
    man = json.loads((kit / "u.json").read_text())
    assert man["parameters"]["family"] == "ecp5"
    assert man["parameters"]["pipeline"] == \
        "mult=2,shift=3,round=1,out=2,dspin=1,chunk=13,preg=1,flow=credit"
    core = (kit / "u.core").read_text()
    assert core.index(MODEL) > core.index("  tb:")  # never in the rtl fileset
    assert MODEL in (kit / "README.md").read_text()
    p = _run(["iverilog", "-o", "tb.vvp", "u_tb.v", "u.v", MODEL], kit, tool_path)
    assert p.returncode == 0, p.stderr
    p = _run(["vvp", "-n", "tb.vvp"], kit, tool_path)
    assert f"PASS {man['vectors']} vectors" in p.stdout, p.stdout[-2000:]
    # without the model the bench cannot build: the unit really needs the primitive
    p = _run(["iverilog", "-o", "tb2.vvp", "u_tb.v", "u.v"], kit, tool_path)
    assert p.returncode != 0 and "MULT18X18D" in p.stdout + p.stderr
    verilator = shutil.which("verilator", path=tool_path)
    assert verilator, "verilator is not installed"
    p = _run([verilator, "--lint-only", "-Wall", "--top-module", "u", "u.v", MODEL], kit,
             tool_path)
    assert p.returncode == 0, p.stderr


def test_kit_note_names_the_family_models(solved):
    """The kit README's model note names the cell the unit instantiates: SB_MAC16 on iCE40
    (with the -dsp warning), DP16KD beside MULT18X18D for an ECP5 block-RAM ROM."""
    from exactbn.hw.kit import _models_note

    from exactbn.generate import unit_config_from_solved

    layer = solved("conv1_bn")
    ice = _models_note(unit_config_from_solved(layer, family="ice40"))
    assert "SB_MAC16" in ice and "without `-dsp`" in ice and "MULT18X18D" not in ice
    bram = _models_note(unit_config_from_solved(layer, family="ecp5", param_memory="block"))
    assert "MULT18X18D" in bram and "DP16KD" in bram
