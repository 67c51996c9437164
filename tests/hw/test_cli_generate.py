"""`exactbn generate` bad input: one clear line, exit 2, nothing written; inexact layers are
refused without --allow-inexact (saying how many outputs differ) and accepted with it."""

from __future__ import annotations

import json

import pytest
from exactbn.golden.verify import exhaustive_check

from exactbn.cli.main import main
from exactbn.formats import dump_solved, parse_solved, write_json_atomic


@pytest.fixture(scope="module")
def solved_file(solved, tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    path = d / "solved.json"
    write_json_atomic(path, dump_solved([solved("conv2_bn_relu"), solved("tie_affine")]))
    return path


def _gen(capsys, *argv):
    try:
        rc = main(["generate", *map(str, argv)])
    except SystemExit as e:  # argparse's own usage errors
        rc = e.code
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _bad(capsys, tmp_path, *argv, expect: str):
    out = tmp_path / "out"
    rc, _, err = _gen(capsys, *argv, "-o", out)
    assert rc == 2
    assert expect in err, err
    assert "Traceback" not in err
    assert len([ln for ln in err.splitlines() if ln.startswith("exactbn: error")]) == 1
    assert not out.exists()
    assert not any(p.name.startswith(".out.") for p in tmp_path.iterdir())


def test_generates_kit(capsys, tmp_path, solved_file):
    rc, out, _ = _gen(capsys, solved_file, "--layer", "conv2_bn_relu", "-o", tmp_path / "k",
                      "--lanes", "2", "--store", "ram", "--pipeline", "mult=1,out=0")
    assert rc == 0 and "latency" in out
    man = json.loads((tmp_path / "k" / "exactbn_conv2_bn_relu.json").read_text())
    assert man["parameters"]["pipeline"] == "mult=1,shift=1,round=1,out=0"


def test_missing_and_garbled_files(capsys, tmp_path):
    _bad(capsys, tmp_path, tmp_path / "nope.json", expect="no such file")
    garbled = tmp_path / "g.json"
    garbled.write_text('{"layers": [ {"name": "x", ')
    _bad(capsys, tmp_path, garbled, expect="malformed JSON")
    wrong = tmp_path / "w.json"
    wrong.write_text('{"layers": [{"name": "x", "M": [1]}]}')
    _bad(capsys, tmp_path, wrong, expect="missing")


def test_layer_choice_widths_lanes_pipeline(capsys, tmp_path, solved_file):
    _bad(capsys, tmp_path, solved_file, expect="choose one with --layer")
    _bad(capsys, tmp_path, solved_file, "--layer", "nope", expect="no layer named 'nope'")
    _bad(capsys, tmp_path, solved_file, "--layer", "conv2_bn_relu", "--widths", "4,,",
         expect="channel 0, field 'M'")
    _bad(capsys, tmp_path, solved_file, "--layer", "conv2_bn_relu", "--widths", "x,1",
         expect="--widths")
    _bad(capsys, tmp_path, solved_file, "--layer", "conv2_bn_relu", "--widths", ",,2",
         expect="field 'N'")
    _bad(capsys, tmp_path, solved_file, "--layer", "conv2_bn_relu", "--lanes", "0",
         expect="--lanes")
    _bad(capsys, tmp_path, solved_file, "--layer", "conv2_bn_relu", "--lanes", "257",
         expect="--lanes")
    _bad(capsys, tmp_path, solved_file, "--layer", "conv2_bn_relu", "--pipeline", "mult=3",
         expect="pipeline mult")
    _bad(capsys, tmp_path, solved_file, "--layer", "conv2_bn_relu", "--pipeline", "fast",
         expect="bad pipeline spec")
    _bad(capsys, tmp_path, solved_file, "--layer", "conv2_bn_relu", "--name", "9bad",
         expect="--name")


def test_too_many_channels(capsys, tmp_path, solved):
    layer = solved("tie_affine")
    obj = dump_solved([layer])
    lay = obj["layers"][0]
    c = 65537
    for k in ("a", "b", "M", "B", "N", "exact", "mismatches", "certificate", "max_abs_error",
              "n_min", "exact_possible"):
        lay[k] = [lay[k][0]] * c
    path = tmp_path / "big.json"
    write_json_atomic(path, obj)
    _bad(capsys, tmp_path, path, expect="65537 channels")


def test_inexact_layer_refused_unless_allowed(capsys, tmp_path, solved):
    obj = dump_solved([solved("tie_affine")])
    lay = obj["layers"][0]
    for c in (1, 3):  # parameters off by one, with made-up counts: the tool recounts
        lay["B"][c] += 1
        lay["exact"][c], lay["mismatches"][c], lay["certificate"][c] = False, 1, None
    sl = parse_solved(obj)[0]
    n = exhaustive_check(sl, 1) + exhaustive_check(sl, 3)
    assert n > 2
    path = tmp_path / "inexact.json"
    write_json_atomic(path, obj)
    _bad(capsys, tmp_path, path, expect=f"2 channel(s) are not exact (1, 3): {n} input")
    rc, out, _ = _gen(capsys, path, "--allow-inexact", "-o", tmp_path / "k")
    assert rc == 0 and f"INEXACT: 2 channel(s), {n} input value(s) differ" in out
    man = json.loads((tmp_path / "k" / "exactbn_tie_affine.json").read_text())
    assert man["exactness"] == {**man["exactness"], "exact": False, "inexact_channels": [1, 3],
                                "differing_outputs": n}


def test_output_path_is_a_file(capsys, tmp_path, solved_file):
    f = tmp_path / "out"
    f.write_text("keep me")
    rc, _, err = _gen(capsys, solved_file, "--layer", "tie_affine", "-o", f)
    assert rc == 2 and "not a directory" in err
    assert f.read_text() == "keep me"


def test_existing_directory_replaced_whole(capsys, tmp_path, solved_file):
    d = tmp_path / "k"
    d.mkdir()
    (d / "stale.txt").write_text("old")
    (d / ".exactbn-output").write_text("")  # a kit exactbn wrote before: replaced whole
    rc, _, _ = _gen(capsys, solved_file, "--layer", "tie_affine", "-o", d, "--name", "u")
    assert rc == 0
    assert not (d / "stale.txt").exists() and (d / "u.v").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k"]
