"""``exactbn synth --target asic`` and ``exactbn sim --netlist``: a small unit and a baseline
mapped to OSU018 and timed by OpenSTA; the kit bench on the gate-level netlist passes, and
fails for a netlist made from parameters off by one in one channel; bad libraries exit 2.

The tools (OpenSTA, the OSU libraries in .venv/asic) are installed by ``make setup``: these
tests fail, not skip, when they are missing.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from importlib.resources import files

import numpy as np
import pytest
from exactbn.golden.model import integer_model
from exactbn.golden.solver import solve_layer

from exactbn.cli.main import main
from exactbn.formats import dump_solved, load_layers, select_layer, write_json_atomic
from exactbn.generate import unit_config_from_solved
from exactbn.synth import libraries, sta
from exactbn.synth.gatesim import gate_sim
from exactbn.synth.libraries import LibraryError, resolve_library

pytestmark = [pytest.mark.synth, pytest.mark.xdist_group("asic")]

LAYER = "conv2_bn_relu"  # 8 channels, 16-bit inputs, uint4 outputs


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    layer = select_layer(load_layers(files("exactbn.data") / "example_layers.json"), LAYER)
    path = tmp_path_factory.mktemp("solved") / "solved.json"
    s = solve_layer(layer, shift_mode="per-channel", hw_rounding="auto")
    write_json_atomic(path, dump_solved([s]))
    return path, s


def test_unit_and_ceiling_mapped_to_osu018_and_timed(solved, tmp_path):
    path, s = solved
    out = tmp_path / "rep"
    rc = main(["synth", str(path), "--target", "asic", "--designs", "exactbn,ceiling",
               "--breakdown", "-q", "-o", str(out)])
    assert rc == 0
    rep = json.loads((out / "report.json").read_text())
    by = {e["kind"]: e for e in rep["designs"]}
    assert set(by) == {"exactbn", "ceiling"} and rep["meta"]["device"] == "osu018"
    for kind, e in by.items():
        assert e["target"] == "asic" and e["area_um2"] > 0 and e["cells"] > 0, kind
        assert e["ff"] > 0 and e["comb"] > 0 and sum(e["cells_by_name"].values()) == e["cells"]
        assert 0.5 < e["min_period_ns"] < 50 and e["critical_path"]["delay_ns"] > 0, kind
        assert e["sequential_area_um2"] < e["area_um2"]
        assert (out / e["netlist"]).is_file()
    mods = by["exactbn"]["area_by_module"]  # --breakdown: where the area goes
    assert {"core.mul*", "core.store", "core.shift*"} <= set(mods), mods
    assert all(r["area_um2"] > 0 for r in mods.values())
    assert 0.9 < sum(r["share"] for r in mods.values()) < 1.1
    st = by["exactbn"]["param_storage"]
    assert st["bits"] == 8 * (s.widths.M + s.widths.B + s.widths.N) and "logic" in st["as"]
    (r,) = rep["ratios"]
    assert r["period_vs_ceiling"] == round(by["exactbn"]["min_period_ns"]
                                           / by["ceiling"]["min_period_ns"], 3)
    md = (out / "report.md").read_text()
    assert "ASIC synthesis report" in md and "period/ceiling" in md and "um2" in md
    assert "Where the area goes (by module" in md and "core.mul*" in md
    assert "## What limits each design" in md and "area: core.mul*" in md


def test_user_liberty_file_works_like_a_named_library(solved, tmp_path):
    path, _ = solved
    lib = tmp_path / "mycells.lib"
    shutil.copyfile(resolve_library("osu018").liberty, lib)
    out = tmp_path / "rep"
    rc = main(["synth", str(path), "--target", "asic", "--library", str(lib), "--designs",
               "ceiling", "--freq", "100", "-q", "-o", str(out)])
    assert rc == 0
    (e,) = json.loads((out / "report.json").read_text())["designs"]
    assert e["device"] == "mycells" and e["area_um2"] > 0 and e["freq_target_mhz"] == 100.0


def test_gate_level_netlist_from_wrong_parameters_fails_the_kit_bench(solved, tmp_path):
    _, s = solved
    cfg = unit_config_from_solved(s)
    lib = resolve_library("osu018")
    c = 3  # channel 3's B off by one changes its outputs (the model says so, below)
    lo, hi = s.ranges()[c]
    xs = np.arange(lo, hi + 1).astype(object)
    q = [integer_model(s.M[c], s.B[c] + d, s.N[c], xs, cfg.qmin, cfg.qmax, s.hw_rounding)
         for d in (0, 1)]
    assert np.any(np.asarray(q[0]) != np.asarray(q[1]))
    b = list(cfg.B)
    b[c] += 1
    bad = gate_sim(s, cfg, lib, tmp_path / "bad", netlist_cfg=dataclasses.replace(cfg, B=tuple(b)))
    assert not bad.passed and "FAIL vector" in bad.summary, bad.summary


def test_gate_level_netlist_of_the_asic_multiplier_passes_the_kit_bench(solved, tmp_path):
    _, s = solved  # the carry-save tree (hw/asic_multiplier.py) mapped and simulated
    cfg = unit_config_from_solved(s, family="asic", pipeline="asic")
    assert cfg.stages["mult"] >= 3  # the tree's registers, not Yosys's multiplier
    res = gate_sim(s, cfg, resolve_library("osu018"), tmp_path / "csa")
    assert res.passed and res.summary.startswith("PASS"), res.summary


def test_gate_level_netlist_of_the_small_multiplier_form_passes(solved, tmp_path, monkeypatch):
    """The smallest form (Booth, one tree register, ripple final add: bench_asic --csa-form
    booth=1,tree=1,final=ripple) mapped and simulated gate by gate."""
    from exactbn.hw import asic_multiplier as am

    monkeypatch.setattr(am, "FORM", am.CsaForm(booth=True, tree=1, final="ripple"))
    _, s = solved
    cfg = unit_config_from_solved(s, family="asic", pipeline="asic")
    assert cfg.stages["mult"] == 2  # one tree register and the final add's
    res = gate_sim(s, cfg, resolve_library("osu018"), tmp_path / "small")
    assert res.passed and res.summary.startswith("PASS"), res.summary


@pytest.mark.slow  # a C++ build of the whole netlist: minutes
def test_gate_level_netlist_under_verilator(solved, tmp_path):
    _, s = solved
    cfg = unit_config_from_solved(s, family="asic", pipeline="asic")
    lib = resolve_library("osu018")
    res = gate_sim(s, cfg, lib, tmp_path / "ok", simulator="verilator")
    assert res.passed and res.summary.startswith("PASS"), res.summary
    b = list(cfg.B)
    b[3] += 1  # as in the Icarus test above: channel 3's outputs change
    bad = gate_sim(s, cfg, lib, tmp_path / "bad", simulator="verilator",
                   netlist_cfg=dataclasses.replace(cfg, B=tuple(b)))
    assert not bad.passed and "FAIL vector" in bad.summary, bad.summary


def test_sim_netlist_passes_the_kit_bench_and_cocotb(solved, tmp_path, capsys):
    path, _ = solved
    rc = main(["sim", str(path), "--netlist", "asic", "--vectors", "10", "--scenarios",
               "backpressure", "-o", str(tmp_path / "runs")])
    out = capsys.readouterr().out
    assert rc == 0 and "kit bench:" in out and "PASS" in out and "0 mismatches" in out, out
    assert out.rstrip().endswith("sim: PASS")


def test_sim_netlist_refuses_an_fpga_target(solved, tmp_path, capsys):
    """--netlist maps the asic unit: an FPGA --target was silently replaced by asic."""
    path, _ = solved
    out = tmp_path / "runs"
    rc = main(["sim", str(path), "--netlist", "osu018", "--target", "ecp5", "-o", str(out)])
    assert rc == 2 and "--target ecp5 does not apply" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("args, msg", [
    (["--library", "osu999"], "unknown library 'osu999'"),
    (["--library", "/no/such.lib"], "Liberty file not found"),
    (["--device", "osu018"], "takes --library"),
])
def test_bad_library_exits_2_without_output(solved, tmp_path, capsys, args, msg):
    path, _ = solved
    out = tmp_path / "rep"
    rc = main(["synth", str(path), "--target", "asic", *args, "-o", str(out)])
    assert rc == 2 and msg in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("text, msg", [
    ("library (x) { cell (A) { area : 1; ", "unbalanced braces"),
    ("not liberty at all", "not a Liberty file"),
    ("library (x) { cell (A) { pin (Y) { } } }", "cell A has no area"),
    ("library (x) { cell (A) { area : 1; } }", "no flip-flop"),
])
def test_malformed_liberty_exits_2(solved, tmp_path, capsys, text, msg):
    path, _ = solved
    lib = tmp_path / "bad.lib"
    lib.write_text(text)
    rc = main(["synth", str(path), "--target", "asic", "--library", str(lib), "-o",
               str(tmp_path / "rep")])
    err = capsys.readouterr().err
    assert rc == 2 and msg in err and str(lib) in err


def test_missing_tools_name_what_to_install(solved, tmp_path, capsys, monkeypatch):
    path, _ = solved
    monkeypatch.setattr(sta, "STA", "sta-not-installed")
    rc = main(["synth", str(path), "--target", "asic", "-o", str(tmp_path / "rep")])
    assert rc == 2 and "apt-get install opensta" in capsys.readouterr().err
    monkeypatch.setattr(libraries, "search_dirs", lambda: [tmp_path])
    with pytest.raises(LibraryError, match="make setup.*qflow-tech-osu035"):
        resolve_library("osu035")
    rc = main(["synth", str(path), "--target", "asic", "--library", "osu050", "-o",
               str(tmp_path / "rep2")])
    assert rc == 2 and "qflow-tech-osu050" in capsys.readouterr().err
    assert not (tmp_path / "rep2").exists()
    rc = main(["sim", str(path), "--netlist", "osu018", "-o", str(tmp_path / "runs")])
    assert rc == 2 and "qflow-tech-osu018" in capsys.readouterr().err


def test_report_checks_parser():
    text = """Startpoint: _1_ (rising edge-triggered flip-flop clocked by clk)
Endpoint: _2_ (rising edge-triggered flip-flop clocked by clk)
   0.000    0.000 ^ _1_/CLK (DFFPOSX1)
   0.160    0.160 v _1_/Q (DFFPOSX1)
   0.500    0.660 ^ _3_/Y (NAND2X1)
   0.000    0.660 ^ _2_/D (DFFPOSX1)
            0.660   data arrival time
  -0.180    4.820   library setup time
            4.160   slack (MET)
tns 0.000
"""
    t = sta.parse_report_checks(text, 5.0)
    assert t["slack_ns"] == 4.16 and t["min_period_ns"] == 0.84 and t["met"] is True
    assert t["critical_path"]["from"] == "_1_" and t["critical_path"]["logic_cells"] == 3
    assert sta.parse_report_checks("No paths found.", 5.0)["min_period_ns"] is None


def test_asic_small_preset_and_its_ceiling_share_the_multiplier_form(solved, tmp_path):
    """``--pipeline asic-small``: the unit and the ceiling multiplier are built with one tree
    register group and a ripple final add (no prefix nodes in either), the ceiling's latency
    is that form's, and the module-level default form is left as it was."""
    from exactbn.hw import asic_multiplier as am

    from exactbn.synth.designs import build_designs
    from exactbn.synth.targets import resolve_target

    _, s = solved
    before = am.FORM
    texts, lat = {}, {}
    for pipe in ("asic", "asic-small"):
        srcs = build_designs(s, resolve_target("asic"), tmp_path / pipe,
                             kinds=("exactbn", "ceiling"), pipeline=pipe)
        by = {d.kind: d for d in srcs}
        texts[pipe] = {k: "".join(f.read_text() for f in d.files) for k, d in by.items()}
        lat[pipe] = by["ceiling"].config["latency"]
    assert by["exactbn"].config["pipeline"].endswith("tree=1,cpa=ripple")
    assert lat["asic-small"] == lat["asic"] - 1  # one register group in the tree, not two
    assert am.FORM is before
    for kind in ("exactbn", "ceiling"):
        assert "cpa_g1_" in texts["asic"][kind], kind  # the kept Sklansky nodes
        assert "cpa_g1_" not in texts["asic-small"][kind], kind
