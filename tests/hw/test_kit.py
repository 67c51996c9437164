"""The generated kit: Verilator lint (documented waivers only, inside NAME.v), Yosys
conversion, the manifest, unit names (keywords refused, unique defaults), and the exported
plain-Verilog test bench under Icarus (-g2005 and -g2012), which passes on the unit and fails
on a unit whose parameters are off in one channel."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from exactbn.hw import UnitConfig, to_verilog
from exactbn.hw.kit import LINT_WAIVERS, param_hex

from exactbn.formats import dump_solved, file_sha256, write_json_atomic
from exactbn.generate import generate

KITS = [
    ("conv1_bn", "per-channel", dict(lanes=3, store="ram", pipeline="default")),
    ("conv2_bn_relu", "shared", dict(lanes=2, lane_mode="pixels", store="ram",
                                     range_check=True, pipeline="deep", name="bn_relu")),
    ("tie_affine", "per-channel", dict(lanes=1, store="rom", pipeline="shallow",
                                       name="tie_unit")),
]


def _run(cmd, cwd, tool_path, timeout=300):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={"PATH": tool_path, "HOME": str(cwd)})


def _icarus(kit: Path, name: str, tool_path: str, flags=()) -> str:
    iverilog = shutil.which("iverilog", path=tool_path)
    assert iverilog, "iverilog is not installed"
    p = _run([iverilog, *flags, "-o", "tb.vvp", f"{name}_tb.v", f"{name}.v"], kit, tool_path)
    assert p.returncode == 0, p.stderr
    p = _run([shutil.which("vvp", path=tool_path), "-n", "tb.vvp"], kit, tool_path)
    return p.stdout


@pytest.fixture(scope="module")
def kits(solved, tmp_path_factory):
    out = {}
    for name, shift_mode, opts in KITS:
        layer = solved(name, shift_mode)
        d = tmp_path_factory.mktemp(name)
        path = d / "solved.json"
        write_json_atomic(path, dump_solved([layer]))
        cfg, man = generate(str(path), str(d / "kit"), **opts)
        out[name] = (layer, cfg, man, d / "kit", path)
    return out


@pytest.mark.parametrize("name", [k[0] for k in KITS])
def test_exported_bench_passes_and_catches_one_channel_off(kits, tool_path, name):
    layer, cfg, man, kit, _ = kits[name]
    out = _icarus(kit, cfg.name, tool_path)
    assert f"PASS {man['vectors']} vectors" in out, out
    # one channel's B off by one output level (2^N): the same bench must fail. A ROM unit
    # carries it in its Verilog; a RAM unit is programmed by the bench from NAME_B.hex.
    ch = cfg.channels // 2
    bad_b = list(cfg.B)
    step = 1 << cfg.N[ch]
    bad_b[ch] += step if bad_b[ch] + step < (1 << (cfg.w_b - 1)) else -step
    bad = dataclasses.replace(cfg, B=tuple(bad_b))
    target = kit / (f"{cfg.name}.v" if cfg.store == "rom" else f"{cfg.name}_B.hex")
    good = target.read_text()
    target.write_text(to_verilog(bad) if cfg.store == "rom"
                      else param_hex(bad)[f"{cfg.name}_B.hex"])
    try:
        out = _icarus(kit, cfg.name, tool_path)
    finally:
        target.write_text(good)
    assert "FAIL vector" in out and "PASS" not in out, out


def _strip_waivers(text: str) -> str:
    keep = [ln for ln in text.splitlines() if not ln.startswith("/* verilator lint_")]
    return "".join(ln + "\n" for ln in keep)


@pytest.mark.parametrize("name", [k[0] for k in KITS])
def test_verilator_lint_clean_with_documented_waivers_only(kits, tool_path, name):
    _, cfg, _, kit, _ = kits[name]
    verilator = shutil.which("verilator", path=tool_path)
    assert verilator, "verilator is not installed"
    # the unit and its bench together, -Wall, nothing passed but the files and --timing
    p = _run([verilator, "--lint-only", "-Wall", "--timing", f"{cfg.name}_tb.v",
              f"{cfg.name}.v"], kit, tool_path)
    assert p.returncode == 0 and "%Warning" not in p.stderr, p.stderr
    # without the in-file waivers, only the documented rules complain (and only in NAME.v)
    (kit / "stripped.v").write_text(_strip_waivers((kit / f"{cfg.name}.v").read_text()))
    p = _run([verilator, "--lint-only", "-Wall", "-Wno-fatal", "stripped.v"], kit, tool_path)
    rules = {ln.split(":")[0].split("-", 1)[1] for ln in p.stderr.splitlines()
             if ln.startswith("%Warning-")}
    assert rules <= set(LINT_WAIVERS), rules - set(LINT_WAIVERS)
    assert "%Error" not in p.stderr.replace("%Error: Exiting due to", "")


@pytest.mark.parametrize("name", [k[0] for k in KITS])
def test_bench_passes_under_iverilog_g2012(kits, tool_path, name):
    """SystemVerilog mode does not run ``always @*`` at time 0: a unit converted with such
    blocks began with X in its registered ready (vector 0 failed with --pipeline shallow)."""
    _, cfg, man, kit, _ = kits[name]
    out = _icarus(kit, cfg.name, tool_path, flags=("-g2012",))
    assert f"PASS {man['vectors']} vectors" in out, out
    assert "always @*" not in (kit / f"{cfg.name}.v").read_text()


def test_waivers_end_with_the_unit(kits, tool_path, tmp_path):
    """lint_save/lint_restore: a user file read after NAME.v is linted with every rule."""
    _, cfg, _, kit, _ = kits["tie_affine"]
    user = tmp_path / "after.v"
    user.write_text("`timescale 1ns/1ps\nmodule after(input [3:0] a, output [7:0] y);\n"
                    "  assign y = a;\nendmodule\n")
    p = _run([shutil.which("verilator", path=tool_path), "--lint-only", "-Wall",
              str(kit / f"{cfg.name}.v"), str(user), "--top-module", "after"], tmp_path,
             tool_path)
    assert "WIDTHEXPAND" in p.stderr and "after.v" in p.stderr, p.stderr


@pytest.mark.parametrize("name", [k[0] for k in KITS])
def test_yosys_reads_converts_and_manifest_describes_unit(kits, yosys, name):
    layer, cfg, man, kit, path = kits[name]
    yosys(f"read_verilog {cfg.name}.v; hierarchy -check -top {cfg.name}; proc", kit)
    m = json.loads((kit / f"{cfg.name}.json").read_text())
    assert m == man
    assert m["solved_sha256"] == file_sha256(path)
    assert m["latency"] == cfg.latency
    assert m["exactness"]["exact"] and m["exactness"]["differing_outputs"] == 0
    ports = {p["name"]: (p["direction"], p["width"]) for p in m["ports"]}
    text = (kit / f"{cfg.name}.v").read_text()
    for pname, (direction, width) in ports.items():
        decl = f"{direction} [{width - 1}:0] {pname};" if width > 1 else f"{direction} {pname};"
        assert decl in text, decl
    assert ports["s_axis_tdata"] == ("input", cfg.lanes * cfg.w_x)
    assert ports["m_axis_tdata"] == ("output", cfg.lanes * cfg.w_q)
    assert ("cfg_valid" in ports) == (cfg.store == "ram")
    assert ("cfg_n" in ports) == (cfg.store == "ram" and cfg.shift_mode == "per-channel")
    assert ("range_error" in ports) == cfg.range_check
    for f in m["files"]:
        assert (kit / f).is_file(), f
    assert "wavedrom" in (kit / "README.md").read_text()
    hexm = (kit / f"{cfg.name}_M.hex").read_text().split()
    assert [int(h, 16) for h in hexm] == [v & ((1 << cfg.w_m) - 1) for v in layer.M]
    assert isinstance(cfg, UnitConfig)


LINT_MATRIX = [
    # store, lanes, lane_mode, shift_mode, hw_rounding, pipeline, range_check, x_signed
    ("ram", 3, "channels", "per-channel", "half_away", "deep", True, False),
    ("ram", 5, "channels", "shared", "half_up", "shallow", True, True),
    ("rom", 4, "pixels", "per-channel", "floor", "mult=1,shift=3,out=0", True, True),
    ("rom", 1, "channels", "shared", "half_even", "default", False, False),
]


@pytest.mark.parametrize("store,lanes,mode,shift,rnd,pipe,rc,xs", LINT_MATRIX)
def test_lint_matrix(tmp_path, tool_path, store, lanes, mode, shift, rnd, pipe, rc, xs):
    from exactbn.hw import Pipeline

    per = shift == "per-channel"
    cfg = UnitConfig(
        w_x=12, x_signed=xs, w_m=21, w_b=30, w_n=5 if per else 0, w_q=6, q_signed=False,
        qmin=0, qmax=40, M=[1000, -30000, 7, 99999, 5, 6, 7], B=[1 << 20, 3, -9, 4, 5, 6, 7],
        N=[20, 3, 9, 17, 0, 1, 2] if per else [9] * 7, lanes=lanes, lane_mode=mode,
        shift_mode=shift, hw_rounding=rnd, store=store, pipeline=Pipeline.parse(pipe),
        range_check=rc, x_ranges=[(0, 100)] * 7, name="u")
    (tmp_path / "u.v").write_text(to_verilog(cfg))
    p = _run([shutil.which("verilator", path=tool_path), "--lint-only", "-Wall", "u.v"],
             tmp_path, tool_path)
    assert p.returncode == 0 and "%Warning" not in p.stderr, p.stderr


# ----------------------------------------------------------------------------- names

def test_keyword_list_is_systemverilog_2017_and_covers_verilog_2005():
    from exactbn.hw.names import VERILOG_KEYWORDS

    assert len(VERILOG_KEYWORDS) == 248  # IEEE 1800-2017 Annex B
    v2005_only_in_libraries = {"cell", "config", "design", "endconfig", "incdir", "include",
                               "instance", "liblist", "library", "use", "uwire"}
    assert v2005_only_in_libraries | {"module", "wire", "reg", "logic", "bit", "interface",
                                      "endmodule", "always_ff", "unique0"} <= VERILOG_KEYWORDS
    assert not {"exactbn_bn", "clk", "rst", "Module", "data"} & VERILOG_KEYWORDS


def test_every_keyword_is_refused_as_name():
    import argparse

    from exactbn.hw.names import VERILOG_KEYWORDS

    from exactbn.cli.main import UsageError
    from exactbn.cli.unit_options import add_unit_options, unit_options_from_args

    parser = argparse.ArgumentParser()
    add_unit_options(parser)
    for kw in sorted(VERILOG_KEYWORDS):
        args = parser.parse_args(["--name", kw])
        with pytest.raises(UsageError, match="keyword"):
            unit_options_from_args(args)
    assert unit_options_from_args(parser.parse_args(["--name", "module_"]))["name"] == "module_"
    assert unit_options_from_args(parser.parse_args([]))["name"] is None  # from the layer


def test_name_module_is_exit_2_and_writes_nothing(kits, capsys, tmp_path):
    from exactbn.cli.main import main

    path = kits["tie_affine"][4]
    out = tmp_path / "kit"
    assert main(["generate", str(path), "-o", str(out), "--name", "module"]) == 2
    err = capsys.readouterr().err
    assert "'module' is a Verilog/SystemVerilog keyword" in err and "Traceback" not in err
    assert not out.exists()
    with pytest.raises(ValueError, match="keyword"):
        dataclasses.replace(kits["tie_affine"][1], name="endmodule")


def test_default_names_are_unique_per_layer(solved, tmp_path, capsys):
    from exactbn.hw.names import MAX_NAME, default_unit_name

    from exactbn.cli.main import main

    path = tmp_path / "s.json"
    write_json_atomic(path, dump_solved([solved("conv1_bn"), solved("tie_affine")]))
    names = []
    for layer in ("conv1_bn", "tie_affine"):
        out = tmp_path / layer
        assert main(["generate", str(path), "--layer", layer, "-o", str(out), "-q"]) == 0
        core = (out / f"exactbn_{layer}.core").read_text()
        names.append(core.splitlines()[1])
    assert names == ["name: exactbn:bn:exactbn_conv1_bn:0.1.0",
                     "name: exactbn:bn:exactbn_tie_affine:0.1.0"]
    odd = ["a/b", "a.b", "a b", "x" * 300, "module", "9lives", "é"]
    derived = [default_unit_name(n) for n in odd]
    assert len(set(derived)) == len(odd)
    from exactbn.hw.names import name_problem

    assert all(name_problem(d) is None and len(d) <= MAX_NAME for d in derived), derived
