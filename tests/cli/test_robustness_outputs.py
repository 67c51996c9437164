"""-o never overwrites an input and never deletes a directory exactbn did not write."""

from __future__ import annotations

import json
import os
import stat

import pytest

from exactbn.cli.main import main

LAYER = {"name": "L", "input": {"bits": 6, "signed": True, "scale": 0.01},
         "output": {"bits": 4, "signed": True, "scale": 0.1},
         "affine": {"a": [0.3, -0.2], "b": [1.5, 0.25]}}


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "layer.json").write_text(json.dumps(LAYER))
    assert main(["solve", "layer.json", "-o", "s.json", "--no-summary"]) == 0
    return tmp_path


def _snapshot(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _refused(capsys, argv, word):
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and word in lines[0], err


@pytest.mark.parametrize("argv,word", [
    (["solve", "layer.json", "-o", "layer.json"], "input file itself"),
    (["solve", "layer.json", "-o", "./sub/../layer.json"], "input file itself"),
    (["import", "layer.json", "-o", "layer.json"], "input file itself"),
    (["generate", "s.json", "-o", "."], "s.json"),
    (["generate", "s.json", "-o", ""], "empty"),
    (["generate", "mine/s.json", "-o", "mine"], "inside -o"),
    (["generate", "s.json", "-o", "mine"], "not written by exactbn"),
    (["synth", "s.json", "--target", "ecp5", "-o", "mine"], "not written by exactbn"),
    (["solve", "layer.json", "-o", ""], "empty"),
])
def test_outputs_that_would_destroy_inputs_are_refused(work, capsys, argv, word):
    (work / "sub").mkdir()
    (work / "mine").mkdir()
    (work / "mine" / "s.json").write_bytes((work / "s.json").read_bytes())
    before = _snapshot(work)
    _refused(capsys, argv, word)
    assert _snapshot(work) == before
    assert sorted(os.listdir(work)) == ["layer.json", "mine", "s.json", "sub"]


def test_generate_replaces_its_own_kit_with_the_umask_honoured(work, capsys):
    old = os.umask(0o022)
    try:
        assert main(["generate", "s.json", "-o", "kit", "-q"]) == 0
        assert main(["generate", "s.json", "-o", "kit", "-q", "--name", "u"]) == 0
    finally:
        os.umask(old)
    names = sorted(os.listdir(work / "kit"))
    assert "u.v" in names and "exactbn_bn.v" not in names
    assert stat.S_IMODE((work / "kit").stat().st_mode) == 0o755
    assert sorted(os.listdir(work)) == ["kit", "layer.json", "s.json"]


def test_a_5000_character_name_is_refused(work, capsys):
    _refused(capsys, ["generate", "s.json", "-o", "kit", "--name", "n" * 5000], "at most 64")
    assert not (work / "kit").exists()


@pytest.mark.parametrize("cmd", ["sim", "prove", "generate", "demo"])
@pytest.mark.parametrize("target", ["file", "under_a_file"])
def test_unwritable_directory_outputs_are_exit_2_before_any_work(work, capsys, cmd, target):
    (work / "f").write_text("x")
    out = "f" if target == "file" else "f/sub"
    argv = [cmd, "s.json", "-o", out] if cmd != "demo" else [cmd, "-o", out]
    before = _snapshot(work)
    _refused(capsys, argv, "f")
    assert _snapshot(work) == before
