"""generate --all-layers: one kit per layer + network.json/README/core; bad input exit 2."""

from __future__ import annotations

import json
import subprocess

from exactbn.cli.main import main
from exactbn.formats import safe_name


def _refused(capsys, argv, *words):
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in lines[0], err


def test_bundle_holds_each_layers_kit_and_the_network_files(work, capsys):
    assert main(["generate", "s.json", "--all-layers", "-o", "net", "-q"]) == 0
    assert main(["generate", "s.json", "--layer", "bn.a", "-o", "one", "-q"]) == 0
    net = json.loads((work / "net/network.json").read_text())
    assert [u["layer"] for u in net["units"]] == ["bn.a", "bn_b"]
    a, b = net["units"]
    assert a["dir"] == safe_name("bn.a") and b["dir"] == "bn_b"
    # exactly the single-layer kit (same files, same Verilog)
    one = sorted(p.name for p in (work / "one").iterdir() if p.name != ".exactbn-output")
    assert sorted(p.name for p in (work / "net" / a["dir"]).iterdir()) == one
    assert (work / "net" / a["verilog"]).read_text() == \
        (work / "one" / f"{a['name']}.v").read_text()
    assert a["channels"] == 2 and b["channels"] == 3
    assert a["parameter_bits"] == 2 * (a["widths"]["M"] + a["widths"]["B"] + a["widths"]["N"])
    assert net["totals"]["channels"] == 5 and net["totals"]["exact_units"] == 2
    assert {p["name"] for p in a["ports"]} >= {"s_axis_tdata", "m_axis_tdata", "clk"}
    readme = (work / "net/README.md").read_text()
    assert a["name"] in readme and b["name"] in readme
    core = (work / "net" / net["core"]).read_text()
    assert a["verilog"] in core and b["verilog"] in core and f"lint_{b['name']}" in core


def test_bundle_layers_subset_in_order(work):
    assert main(["generate", "s.json", "--layers", "bn_b,bn.a", "-o", "net", "-q"]) == 0
    net = json.loads((work / "net/network.json").read_text())
    assert [u["layer"] for u in net["units"]] == ["bn_b", "bn.a"]


def test_bundle_jobs_2_writes_the_same_files(work):
    """generate --all-layers --jobs 2 builds kits in worker processes: same bytes."""
    assert main(["generate", "s.json", "--all-layers", "-o", "j1", "-q"]) == 0
    assert main(["generate", "s.json", "--all-layers", "--jobs", "2", "-o", "j2", "-q"]) == 0
    files = sorted(p.relative_to(work / "j1") for p in (work / "j1").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(work / "j2") for p in (work / "j2").rglob("*")
                           if p.is_file())
    for f in files:
        if f.name != ".exactbn-output":
            assert (work / "j1" / f).read_bytes() == (work / "j2" / f).read_bytes(), f


def test_bundle_rtl_compiles_together_and_each_kit_bench_passes(work):
    """All units in one compilation (no module name clashes), each kit's own bench PASSes."""
    assert main(["generate", "s.json", "--all-layers", "-o", "net", "-q"]) == 0
    net = json.loads((work / "net/network.json").read_text())
    rtl = [str(work / "net" / u["verilog"]) for u in net["units"]]
    subprocess.run(["iverilog", "-g2005", "-o", str(work / "all.vvp"), *rtl], check=True)
    for u in net["units"]:
        d = work / "net" / u["dir"]
        exe = work / f"{u['dir']}.vvp"
        subprocess.run(["iverilog", "-g2005", "-o", str(exe), f"{u['name']}.v",
                        f"{u['name']}_tb.v"], cwd=d, check=True)
        out = subprocess.run(["vvp", "-n", str(exe)], cwd=d, capture_output=True, text=True,
                             timeout=120).stdout
        assert "PASS" in out, (u["layer"], out[-500:])


def test_bad_bundle_options_exit_2_and_write_nothing(work, capsys):
    _refused(capsys, ["generate", "s.json", "--all-layers", "--name", "x", "-o", "n1"], "--name")
    _refused(capsys, ["generate", "s.json", "--layers", "bn_b,nope", "-o", "n2"],
             "nope", "s.json")
    _refused(capsys, ["generate", "s.json", "--layers", "bn_b,bn_b", "-o", "n3"], "twice")
    _refused(capsys, ["generate", "s.json", "--layers", "bn_b,", "-o", "n3"], "empty")
    _refused(capsys, ["generate", "s.json", "--all-layers", "--layer", "bn_b", "-o", "n4"],
             "--layer")
    _refused(capsys, ["generate", "s.json", "--all-layers", "--widths", "2,,", "-o", "n5"],
             "bn.a")
    assert not any((work / n).exists() for n in ("n1", "n2", "n3", "n4", "n5"))


def test_an_inexact_layer_stops_the_bundle_naming_it(work, capsys):
    assert main(["solve", "layers.json", "-o", "tight.json", "--budget", "2,2,0",
                 "--no-summary"]) == 0
    capsys.readouterr()
    _refused(capsys, ["generate", "tight.json", "--all-layers", "-o", "n"], "layer")
    assert not (work / "n").exists()
    assert main(["generate", "tight.json", "--all-layers", "--allow-inexact", "-o", "n",
                 "-q"]) == 0
    net = json.loads((work / "n/network.json").read_text())
    assert net["totals"]["exact_units"] < 2 and net["totals"]["differing_outputs"] > 0
