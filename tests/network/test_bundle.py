"""generate --all-layers: one kit per layer + network.json/README/core; bad input exit 2."""

from __future__ import annotations

import json
import subprocess

import pytest

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


# --- the kit's test vectors: the numpy path writes the Vector path's text ----------------


def test_fast_vectors_hex_equals_the_vector_path(work):
    """kit_files' vectors (numpy, channels mode, lines up to 63 bits) are byte-identical to
    kit.vectors_hex(build_vectors(...)) for 1-3 lanes (padding lanes and the padding beat),
    the range flag, and the pixels-mode fallback."""
    from exactbn.hw import kit
    from exactbn.hw.kit import vector_width

    from exactbn.formats import load_solved
    from exactbn.generate import build_vectors, unit_config_from_solved, vectors_hex_text

    ranged = {"layers": [{"name": "r", "input": {"bits": 7, "signed": True, "scale": 0.01,
                                                 "range": [[-60, 50], [-20, 20], [0, 40]]},
                          "output": {"bits": 4, "signed": True, "scale": 0.1},
                          "affine": {"a": [0.3, -0.2, 0.5], "b": [1.5, 0.25, -1.0]}}]}
    (work / "r.json").write_text(json.dumps(ranged))
    assert main(["solve", "r.json", "-o", "rs.json", "--no-summary"]) == 0
    fast = 0
    for lay in load_solved("s.json") + load_solved("rs.json"):
        for opts in ({}, {"range_check": True}, {"lanes": 2}, {"lanes": 3, "range_check": True},
                     {"lanes": 2, "lane_mode": "pixels"}):
            cfg = unit_config_from_solved(lay, name=None, **opts)
            vecs = build_vectors(lay, cfg, seed=3)
            text, n = vectors_hex_text(lay, cfg, seed=3)
            assert (text, n) == (kit.vectors_hex(cfg, vecs), len(vecs)), (lay.name, opts)
            fast += cfg.lane_mode == "channels" and vector_width(cfg) <= 63
    assert fast >= 9  # the numpy path itself was compared, not only the fallback


# --- sim/prove --bundle: the bundle's Verilog, only when it is the unit asked for --------


def _bundle(work):
    assert main(["generate", "s.json", "--all-layers", "-o", "B", "-q"]) == 0
    return json.loads((work / "B/network.json").read_text())


def test_prove_bundle_proves_the_kits_own_file(work, monkeypatch, capsys):
    """prove --layer L --bundle B hands the kit's Verilog text to the proof (no
    regeneration: to_verilog is never called)."""
    import exactbn.hw
    import exactbn.sim.formal.prove as fp

    net = _bundle(work)
    seen = {}

    class Res:
        status, tasks, seconds, summary, vcd = "PASS", [], 0.0, "", None

        def to_json(self):
            return {"status": "PASS"}

    def fake_prove(layer, cfg, verilog, out, **kw):
        seen["verilog"] = verilog
        return Res()

    monkeypatch.setattr(fp, "prove_unit", fake_prove)
    monkeypatch.setattr(exactbn.hw, "to_verilog", lambda cfg: pytest.fail("regenerated"))
    assert main(["prove", "s.json", "--layer", "bn_b", "--bundle", "B", "-o", "P"]) == 0
    u = net["units"][1]
    assert seen["verilog"] == (work / "B" / u["verilog"]).read_text()
    assert "the Verilog of B" in capsys.readouterr().out


def test_an_edited_kit_is_refused_and_nothing_runs(work, capsys, monkeypatch):
    """One changed byte in a kit's Verilog: prove/sim --all-layers --bundle exit 2 naming
    the layer and file before any layer runs; --layer refuses the same way."""
    from exactbn import network

    net = _bundle(work)
    u = net["units"][0]
    v = work / "B" / u["verilog"]
    v.write_text(v.read_text().replace("assign", "assign ", 1))
    calls = []
    monkeypatch.setattr(network.subprocess, "call", lambda *a, **k: calls.append(a) or 0)
    _refused(capsys, ["prove", "s.json", "--all-layers", "--bundle", "B", "-o", "P"],
             "bn.a", u["verilog"], "edited")
    _refused(capsys, ["sim", "s.json", "--all-layers", "--bundle", "B", "-o", "S"],
             "bn.a", "edited")
    _refused(capsys, ["prove", "s.json", "--layer", "bn.a", "--bundle", "B", "-o", "P"],
             "edited")
    assert calls == []


def test_a_stale_kit_is_refused(work, capsys, monkeypatch):
    """The bundle was generated from other parameters (a changed M in the solved file) or
    the run asks for other unit options: refused, not proven against the new constants."""
    from exactbn import network

    _bundle(work)
    monkeypatch.setattr(network.subprocess, "call", lambda *a, **k: pytest.fail("ran"))
    _refused(capsys, ["prove", "s.json", "--all-layers", "--bundle", "B", "--lanes", "2",
                      "-o", "P"], "bn.a", "not the one")
    doc = json.loads((work / "s.json").read_text())
    doc["layers"][1]["M"][0] += 2  # a different unit (the re-check decides if it is exact)
    (work / "s2.json").write_text(json.dumps(doc))
    rc = main(["sim", "s2.json", "--layers", "bn_b", "--bundle", "B", "--allow-inexact",
               "-o", "S"])
    err = capsys.readouterr().err
    assert rc == 2 and "bn_b" in err and "not the one" in err, err


# --- hostile bundles: network.json's names are data, never paths; bad input exits 2 ------


def _no_prove(monkeypatch):
    import exactbn.sim.formal.prove as fp

    monkeypatch.setattr(fp, "prove_unit", lambda *a, **k: pytest.fail("proved"))


def _write_net(work, net):
    (work / "B/network.json").write_text(json.dumps(net))


def test_the_kit_path_is_built_from_the_layer_not_read_from_network_json(work, capsys,
                                                                        monkeypatch):
    """network.json pointing at a file outside the bundle (absolute or ..), with a matching
    sha256, is refused; so is a kit file that is a symlink leading outside, or a FIFO."""
    import hashlib
    import os

    _no_prove(monkeypatch)
    net = _bundle(work)
    u = net["units"][1]
    kit = work / "B" / u["verilog"]
    text = kit.read_text()
    (work / "outside").mkdir()
    (work / "outside/x.v").write_text(text)
    sha = hashlib.sha256(text.encode()).hexdigest()
    for entry in (str(work / "outside/x.v"), "../outside/x.v"):
        _write_net(work, {**net, "units": [net["units"][0],
                                           {**u, "verilog": entry, "verilog_sha256": sha}]})
        _refused(capsys, ["prove", "s.json", "--layer", "bn_b", "--bundle", "B", "-o", "P"],
                 "bn_b", "network.json", u["verilog"])
    _write_net(work, net)
    kit.unlink()
    kit.symlink_to(work / "outside/x.v")  # same bytes, same sha256: outside all the same
    _refused(capsys, ["prove", "s.json", "--layer", "bn_b", "--bundle", "B", "-o", "P"],
             "bn_b", "outside the bundle")
    kit.unlink()
    os.mkfifo(kit)  # reading it would block forever
    _refused(capsys, ["sim", "s.json", "--layer", "bn_b", "--bundle", "B", "-o", "S"],
             "bn_b", "not a regular file")
    assert not (work / "P").exists() and not (work / "S").exists()


@pytest.mark.parametrize("mode", ["null", "int", "badutf8", "dup", "units_str"])
def test_malformed_bundles_exit_2_naming_file_and_layer(work, capsys, monkeypatch, mode):
    """Wrong field types, a non-UTF-8 kit file, a layer listed twice: one line, exit 2,
    nothing written (was a TypeError/UnicodeDecodeError, exit 3; a duplicate was taken)."""
    _no_prove(monkeypatch)
    net = _bundle(work)
    u = net["units"][1]
    words = ["bn_b"]
    if mode in ("null", "int"):
        u["verilog"] = None if mode == "null" else 5
        words += ["network.json", "verilog"]
    elif mode == "badutf8":
        with open(work / "B" / u["verilog"], "ab") as fh:
            fh.write(b"// \xff\xfe\n")
        words += [u["verilog"], "UTF-8"]
    elif mode == "dup":
        net["units"].append(dict(u))
        words += ["network.json", "two units"]
    else:
        net["units"] = ["a"]
        words = ["network.json", "units[0]"]
    _write_net(work, net)
    for argv in (["prove", "s.json", "--layer", "bn_b", "--bundle", "B", "-o", "P"],
                 ["sim", "s.json", "--layer", "bn_b", "--bundle", "B", "-o", "S"],
                 ["prove", "s.json", "--all-layers", "--bundle", "B", "-o", "P"]):
        _refused(capsys, argv, *words)
    assert not (work / "P").exists() and not (work / "S").exists()


def test_a_bundle_of_another_exactbn_version_is_stale(work, capsys, monkeypatch):
    from exactbn import network

    _no_prove(monkeypatch)
    _bundle(work)
    monkeypatch.setattr(network, "exactbn_version", lambda: "0.0.0-other")
    _refused(capsys, ["prove", "s.json", "--layer", "bn_b", "--bundle", "B", "-o", "P"],
             "bn_b", "not the one", "exactbn version")


def test_an_edited_kit_with_its_sha256_updated_is_run_and_said_so(work, capsys, monkeypatch):
    """Edit the Verilog and network.json's sha256 together: the text is used (the verdict
    is re-derived for it), and the message claims only network.json's record."""
    import hashlib

    import exactbn.sim.formal.prove as fp

    net = _bundle(work)
    u = net["units"][1]
    kit = work / "B" / u["verilog"]
    text = kit.read_text().replace("endmodule", "// edited\nendmodule", 1)
    kit.write_text(text)
    u["verilog_sha256"] = hashlib.sha256(text.encode()).hexdigest()
    _write_net(work, net)
    seen = {}

    class Res:
        status, tasks, seconds, summary, vcd = "FAIL", [], 0.0, "planted", None

        def to_json(self):
            return {"status": "FAIL"}

    monkeypatch.setattr(fp, "prove_unit", lambda layer, cfg, verilog, out, **kw:
                        seen.setdefault("v", verilog) and Res())
    assert main(["prove", "s.json", "--layer", "bn_b", "--bundle", "B", "-o", "P"]) == 1
    out = capsys.readouterr().out
    assert seen["v"] == text
    assert "network.json's record" in out and "what generate wrote" not in out, out


def test_prove_all_layers_checks_the_input_before_warming_the_kernels(work, capsys,
                                                                     monkeypatch):
    """Bad options or a bad bundle exit 2 without the certificate re-check's CPU."""
    from exactbn import network
    from exactbn.cli import cmd_prove

    warmed = []
    monkeypatch.setattr(cmd_prove, "_warm_verify_kernels", lambda solved: warmed.append(solved))
    monkeypatch.setattr(network.subprocess, "call", lambda *a, **k: 0)
    _refused(capsys, ["prove", "s.json", "--all-layers", "--widths", "2,,", "-o", "P"], "bn.a")
    _refused(capsys, ["prove", "s.json", "--all-layers", "--bundle", "nope", "-o", "P"],
             "network.json")
    assert warmed == []
    assert main(["prove", "s.json", "--all-layers", "-o", "P"]) == 0
    assert warmed == ["s.json"]
