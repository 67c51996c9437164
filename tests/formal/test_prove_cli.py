"""``exactbn prove`` CLI: exit 0 proven, 1 failed with a summary and a VCD, 2 bad arguments."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from exactbn.cli.main import main
from exactbn.formats import dump_solved

sys.path.insert(0, str(Path(__file__).parent))
from formal_layers import ignore_stall, small_layer  # noqa: E402

pytestmark = [pytest.mark.formal, pytest.mark.xdist_group("formal")]


def _solved(tmp_path: Path, **kw) -> Path:
    p = tmp_path / "solved.json"
    p.write_text(json.dumps(dump_solved([small_layer(**kw)])))
    return p


def test_cli_proves_tie_layer_and_fails_on_edited_verilog(tmp_path, capsys):
    solved = _solved(tmp_path, hw_rounding="half_even")
    assert main(["prove", str(solved), "--lanes", "2", "--pipeline", "shallow",
                 "-o", str(tmp_path / "ok")]) == 0
    out = capsys.readouterr().out
    assert "PROVEN" in out
    # hand-made parameters (no certificates, not minimal): the proof holds, exactness is
    # not claimed
    assert "proven; not claimed exact" in out and "fail the solver re-check" in out
    # An edited copy with one ROM word off: exit 1, summary naming the channel, a VCD.
    from exactbn.hw import to_verilog

    from exactbn.generate import unit_config_from_solved

    wrong = small_layer("half_even", B=(1, -199, 3))
    v = tmp_path / "edited.v"
    v.write_text(to_verilog(unit_config_from_solved(wrong, lanes=2, pipeline="shallow")))
    rc = main(["prove", str(solved), "--lanes", "2", "--pipeline", "shallow", "--verilog", str(v),
               "--name", "exactbn_bn", "-o", str(tmp_path / "bad")])
    out = capsys.readouterr().out
    assert rc == 1
    line = [ln for ln in out.splitlines() if ln.startswith("FAIL:")][0]
    assert "channel 1" in line and "expected" in line and "got" in line
    assert list((tmp_path / "bad").rglob("cex_datapath.vcd"))


@pytest.mark.parametrize("argv, needle", [
    (["--depth", "0"], "--depth"),
    (["--layer", "nope"], "no layer named"),
    (["--verilog", "missing.v"], "missing.v"),
    (["--pipeline", "mult=7"], "--pipeline"),
])
def test_cli_bad_arguments_exit_2(tmp_path, capsys, argv, needle):
    solved = _solved(tmp_path)
    argv = [a if a != "missing.v" else str(tmp_path / "missing.v") for a in argv]
    with pytest.raises(SystemExit) if argv[0] == "--depth" else _nullcontext():
        rc = main(["prove", str(solved), *argv, "-o", str(tmp_path / "o")])
        assert rc == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_cli_reads_manifest_beside_generated_verilog(tmp_path, capsys):
    solved = _solved(tmp_path, hw_rounding="half_even", shift_mode="shared")
    kit = tmp_path / "kit"
    assert main(["generate", str(solved), "-o", str(kit), "--lanes", "3", "--store", "ram",
                 "--name", "bn_shared", "--pipeline", "shallow", "-q"]) == 0
    capsys.readouterr()
    # No unit options given: lanes, store and name come from kit/bn_shared.json.
    rc = main(["prove", str(solved), "--verilog", str(kit / "bn_shared.v"),
               "-o", str(tmp_path / "p")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "L=3" in out and "ram" in out and "PROVEN" in out


def test_cli_states_exact_and_proven_for_a_solved_layer(tmp_path, capsys):
    from importlib.resources import files

    from exactbn.golden.solver import solve_layer

    from exactbn.formats import load_layers, select_layer

    layer = select_layer(load_layers(files("exactbn.data") / "example_layers.json"),
                         "tie_affine")
    p = tmp_path / "tie.json"
    p.write_text(json.dumps(dump_solved([solve_layer(layer)])))
    assert main(["prove", str(p), "--pipeline", "shallow", "-o", str(tmp_path / "out")]) == 0
    assert ("layer tie_affine: exact for every x in [lo, hi] of every channel (certificates "
            "re-checked), and the Verilog equals the integer model for every input, proven."
            in capsys.readouterr().out)


def _edited_unit(tmp_path: Path) -> Path:
    """A unit whose partial-product register ignores the stall: the hold proof fails fast."""
    from exactbn.hw import to_verilog

    from exactbn.generate import unit_config_from_solved

    v = to_verilog(unit_config_from_solved(small_layer(), lanes=2))
    p = tmp_path / "edited.v"
    p.write_text(ignore_stall(v, "core.mul0", "pp_0_0"))
    return p


@pytest.mark.parametrize("name", [
    "../../escaped",
    pytest.param("/abs/escaped", marks=pytest.mark.slow),
    pytest.param("a/../../b\\c", marks=pytest.mark.slow),
])
def test_cli_layer_name_never_leaves_out(tmp_path, capsys, name):
    """Layer names (from ONNX node names) become one safe file name inside -o."""
    layer = small_layer()
    obj = dump_solved([layer])
    obj["layers"][0]["name"] = name
    solved = tmp_path / "in" / "solved.json"
    solved.parent.mkdir()
    solved.write_text(json.dumps(obj))
    out = tmp_path / "in" / "o"
    rc = main(["prove", str(solved), "--lanes", "2", "--verilog", str(_edited_unit(tmp_path)),
               "--name", "exactbn_bn", "-o", str(out)])
    assert rc == 1, capsys.readouterr()
    assert not Path("/abs").exists()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    outside = [p for p in written if out not in p.parents
               and p not in (solved, tmp_path / "edited.v")]
    assert not outside, outside
    (sub,) = list(out.iterdir())
    assert "/" not in sub.name and not sub.name.startswith(".")


def test_cli_never_deletes_a_directory_it_did_not_create(tmp_path, capsys):
    solved = _solved(tmp_path)
    out = tmp_path / "o"
    mine = out / "small-exactbn_bn" / "hold"
    mine.mkdir(parents=True)
    (mine / "keep.txt").write_text("user data")
    rc = main(["prove", str(solved), "--lanes", "2", "--name", "exactbn_bn", "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "not created by exactbn prove" in err, err
    assert (mine / "keep.txt").read_text() == "user data"
