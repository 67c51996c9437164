"""--shared-unit: one datapath for several layers, tuser = {layer, group}; checked per layer."""

from __future__ import annotations

import dataclasses
import json
import subprocess

import pytest
from exactbn.golden.model import integer_model

from exactbn.cli.main import main
from exactbn.formats import load_solved
from exactbn.generate import unit_config_from_solved
from exactbn.shared import merge_layers


def test_layout_puts_each_layer_at_a_power_of_two_block(work):
    layers = load_solved("s.json")  # 2 and 3 channels
    merged, lay = merge_layers(layers, lanes=1)
    assert lay.k == 2 and lay.stride_channels == 4 and lay.w_layer == 1
    assert merged.channels == 4 + 3  # the last layer is not padded
    for base, la in ((0, layers[0]), (4, layers[1])):  # the layer's words, raised by 2^k
        for c in range(la.channels):
            k = merged.N[base + c] - la.N[c]
            assert k >= 0 and merged.M[base + c] == la.M[c] << k
            assert merged.B[base + c] == la.B[c] << k
    assert merged.M[2:4] == [0, 0] and merged.B[2:4] == [0, 0]
    assert merged.input.signed and merged.input.bits == 6  # uint5 fits int6
    cfg = unit_config_from_solved(merged, name="u")
    assert cfg.w_user == 3 and cfg.n_min >= min(n for la in layers for n in la.N)
    # every word computes its own layer's integer model
    for i, la in enumerate(layers):
        for c in range(la.channels):
            v = lay.channel_base(i) + c
            for x in range(*map(int, (la.ranges()[c][0], la.ranges()[c][1] + 1))):
                want = integer_model(la.M[c], la.B[c], la.N[c], x, la.qmin, la.qmax,
                                     la.hw_rounding)
                got = integer_model(merged.M[v], merged.B[v], merged.N[v], x, merged.qmin,
                                    merged.qmax, merged.hw_rounding)
                assert int(got) == int(want)


def test_lanes_change_the_group_field(work):
    merged, lay = merge_layers(load_solved("s.json"), lanes=2)
    assert lay.groups == [1, 2] and lay.k == 1 and lay.stride_channels == 4


def test_generate_shared_kit_bench_covers_every_layer(work, capsys):
    assert main(["generate", "s.json", "--shared-unit", "-o", "sh", "--name", "sh_u"]) == 0
    lj = json.loads((work / "sh/sh_u_layers.json").read_text())
    assert [x["layer"] for x in lj["layers"]] == ["bn.a", "bn_b"]
    assert lj["layers"][1]["tuser_base"] == 4 and lj["tuser"]["group_bits"] == 2
    man = json.loads((work / "sh/sh_u.json").read_text())
    assert man["exactness"]["exact"]
    assert "## Shared unit: layers" in (work / "sh/README.md").read_text()
    vec = (work / "sh/sh_u_vectors.hex").read_text().split()
    assert len(vec) == man["vectors"]
    subprocess.run(["iverilog", "-g2005", "-o", str(work / "t.vvp"), "sh_u.v", "sh_u_tb.v"],
                   cwd=work / "sh", check=True)
    out = subprocess.run(["vvp", "-n", str(work / "t.vvp")], cwd=work / "sh",
                         capture_output=True, text=True, timeout=120).stdout
    assert "PASS" in out, out[-400:]


def test_layers_whose_hw_rounding_cannot_share_a_datapath_are_refused(work, capsys):
    d = json.loads((work / "s.json").read_text())
    d["layers"][1]["hw_rounding"] = "half_even"
    (work / "s2.json").write_text(json.dumps(d))
    rc = main(["generate", "s2.json", "--shared-unit", "-o", "x"])
    err = capsys.readouterr().err
    assert rc == 2 and "bn_b" in err and "hw_rounding" in err and "s2.json" in err, err
    assert not (work / "x").exists()


@pytest.mark.parametrize("extra,word", [
    (["--all-layers"], "--all-layers"),
    (["--layer", "bn_b"], "--layer"),
    (["--layers", "nope"], "nope"),
])
def test_bad_shared_options_exit_2(work, capsys, extra, word):
    for cmd in (["generate", "s.json", "-o", "x"], ["sim", "s.json", "-o", "x"],
                ["prove", "s.json", "-o", "x"]):
        rc = main([*cmd, "--shared-unit", *extra])
        err = capsys.readouterr().err
        assert rc == 2 and word in err and "Traceback" not in err, (cmd, err)
    assert not (work / "x").exists() or not any((work / "x").iterdir())


def test_sim_shared_unit_interleaves_layers_and_reprograms(work, capsys):
    rc = main(["sim", "s.json", "--shared-unit", "--simulator", "icarus", "--store", "ram",
               "--vectors", "5", "--scenarios", "random_gaps,reset_mid_stream,reprogram",
               "-o", "runs"])
    out = capsys.readouterr().out
    assert rc == 0 and "sim: PASS" in out, out


def test_prove_shared_unit_and_a_planted_bug_in_one_layer_fails(work, capsys, tmp_path):
    from exactbn.hw import to_verilog
    from exactbn.sim.formal.prove import prove_unit

    rc = main(["prove", "s.json", "--shared-unit", "-o", "p"])
    out = capsys.readouterr().out
    assert rc == 0 and "PROVEN" in out and "layer bn.a" in out and "layer bn_b" in out, out
    merged, lay = merge_layers(load_solved("s.json"))
    cfg = unit_config_from_solved(merged, name="u")
    v = lay.channel_base(1) + 2  # layer bn_b, channel 2
    bad = list(cfg.M)
    bad[v] += 1
    res = prove_unit(merged, cfg, to_verilog(dataclasses.replace(cfg, M=tuple(bad))),
                     tmp_path / "bug")
    assert res.status == "FAIL", res.summary


def test_sim_shared_unit_catches_a_wrong_word_in_one_layer(work, tmp_path):
    """The cocotb scoreboard checks every beat against its own layer's words."""
    from exactbn.hw import to_verilog
    from exactbn.sim.regress import simulate_layer

    merged, lay = merge_layers(load_solved("s.json"))
    cfg = unit_config_from_solved(merged, name="u")
    bad_b = list(cfg.B)
    bad_b[lay.channel_base(1) + 1] += 1 << 6  # layer bn_b, channel 1
    bad = dataclasses.replace(cfg, B=tuple(bad_b), w_b=cfg.w_b + 1)
    res = simulate_layer(merged, cfg, "icarus", vectors=5, scenarios=["random_gaps"],
                         run_dir=tmp_path / "r", verilog=to_verilog(bad))
    assert not res.passed and sum(sc["mismatches"] for sc in res.scenarios.values()) > 0
    good = simulate_layer(merged, cfg, "icarus", vectors=5, scenarios=["random_gaps"],
                          run_dir=tmp_path / "g")
    assert good.passed
