"""Hostile layer files end in one located line and exit 2: no traceback, nothing written."""

from __future__ import annotations

import json
import os
import stat

import pytest

from exactbn.cli.main import main

BASE = {"name": "L", "input": {"bits": 8, "signed": True, "scale": 0.01, "zero_point": 0},
        "output": {"bits": 4, "signed": True, "scale": 0.1, "zero_point": 0},
        "affine": {"a": [0.3, -0.2], "b": [1.5, 0.25]}}
BN = {"name": "B", "input": {"bits": 8, "signed": True, "scale": 1.0},
      "output": {"bits": 4, "signed": True, "scale": 1.0},
      "bn": {"gamma": [1.0], "beta": [0.0], "mean": [0.0], "var": [1.0]}}


def _with(base, path, value):
    obj = json.loads(json.dumps(base))
    *head, last = path
    cur = obj
    for k in head:
        cur = cur[k]
    cur[last] = value
    return json.dumps(obj)


def _solve(tmp_path, capsys, text: str):
    src = tmp_path / "layer.json"
    src.write_text(text)
    before = sorted(os.listdir(tmp_path))
    rc = main(["solve", str(src), "-o", str(tmp_path / "out.json"), "--no-summary"])
    err = capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == before, "nothing may be written"
    return rc, err


CASES = {
    "int_too_big_for_float": (_with(BASE, ["affine", "a", 0], 10**330), "float"),
    "4301_digit_integer": (json.dumps(BASE).replace('"zero_point": 0', '"zero_point": '
                                                     + "9" * 4301, 1), "digits"),
    "nesting_100000": ("[" * 100000 + "]" * 100000, "nested"),
    "lone_surrogate_name": (json.dumps(BASE).replace('"L"', '"\\udc80"'), "surrogate"),
    "zero_point_2_63": (_with(BASE, ["input", "zero_point"], 2**63), "input.zero_point"),
    "zero_point_2_1100": (_with(BN, ["input", "zero_point"], 2**1100), "input.zero_point"),
    "a_infinite_scale_1e308": (_with(BN, ["input", "scale"], 1e308)
                               .replace('"gamma": [1.0]', '"gamma": [1e300]'), "not finite"),
    "b_infinite_scale_5e-324": (_with(BN, ["output", "scale"], 5e-324)
                                .replace('"beta": [0.0]', '"beta": [1.0]'), "not finite"),
    # a layer wide enough for the batched kernel path (golden/fast.py solve_layers_fast)
    "wide_layer_a_infinite": (json.dumps({
        "name": "W", "input": {"bits": 8, "signed": True, "scale": 1.0},
        "output": {"bits": 8, "signed": True, "scale": 1e-300},
        "bn": {"gamma": [1.0] * 5 + [1e300] + [1.0] * 90, "beta": [0.0] * 96,
               "mean": [0.0] * 96, "var": [1.0] * 96}}), "not finite"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_layer_file_is_one_located_line(tmp_path, capsys, case):
    text, word = CASES[case]
    rc, err = _solve(tmp_path, capsys, text)
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert "layer.json" in lines[0] and word in lines[0]


def test_markup_in_a_layer_name_is_plain_text(tmp_path, capsys):
    src = tmp_path / "layer.json"
    src.write_text(_with(BASE, ["name"], "[/]x[bold"))
    rc = main(["solve", str(src), "-o", str(tmp_path / "out.json")])
    out = capsys.readouterr().out
    assert rc == 0 and "[/]x[bold" in out


def test_fifo_and_dev_zero_are_refused_without_reading(tmp_path, capsys):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    for path in (str(fifo), "/dev/zero"):
        rc = main(["solve", path, "-o", str(tmp_path / "out.json")])
        err = capsys.readouterr().err
        assert rc == 2 and "not a regular file" in err and path in err
    assert not (tmp_path / "out.json").exists()


def test_oversized_input_is_refused_before_reading(tmp_path, capsys, monkeypatch):
    import exactbn.formats as formats

    monkeypatch.setattr(formats, "MAX_INPUT_BYTES", 1000)
    src = tmp_path / "big.json"
    src.write_text(json.dumps(BASE) + " " * 2000)
    rc = main(["solve", str(src), "-o", str(tmp_path / "out.json")])
    assert rc == 2 and "input limit" in capsys.readouterr().err


@pytest.mark.parametrize("target", ["dir", "parent_is_file", "readonly", "dot", "empty"])
def test_unwritable_output_is_exit_2(tmp_path, capsys, target):
    src = tmp_path / "layer.json"
    src.write_text(json.dumps(BASE))
    (tmp_path / "f").write_text("x")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    out = {"dir": str(tmp_path), "parent_is_file": str(tmp_path / "f" / "out.json"),
           "readonly": str(ro / "out.json"), "dot": ".", "empty": ""}[target]
    try:
        if target == "readonly" and os.access(ro, os.W_OK):
            # root writes through mode bits: take a file system that refuses even root
            out = "/sys/exactbn-readonly-test/out.json"
        rc = main(["solve", str(src), "-o", out, "--no-summary"])
        err = capsys.readouterr().err
    finally:
        ro.chmod(0o755)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == ["f", "layer.json", "ro"] and not os.listdir(ro)


def test_output_files_honour_the_umask(tmp_path, capsys):
    src = tmp_path / "layer.json"
    src.write_text(json.dumps(BASE))
    old = os.umask(0o022)
    try:
        assert main(["solve", str(src), "-o", str(tmp_path / "out.json"), "--no-summary"]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.json").stat().st_mode) == 0o644


def test_internal_error_is_one_line_with_its_own_status(tmp_path, capsys, monkeypatch):
    import exactbn.cli.cmd_solve as cmd_solve

    def boom(*a, **k):
        raise ZeroDivisionError("planted")

    monkeypatch.delenv("EXACTBN_TRACEBACK", raising=False)
    monkeypatch.setattr(cmd_solve, "solve_layer", boom)
    src = tmp_path / "layer.json"
    src.write_text(json.dumps(BASE))
    rc = main(["solve", str(src), "-o", str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert rc == 3 and len(err.strip().splitlines()) == 1
    assert "internal error" in err and "report" in err


def test_too_many_channels_are_refused_before_solving(tmp_path, capsys, monkeypatch):
    import exactbn.formats as formats

    monkeypatch.setattr(formats, "MAX_LAYER_CHANNELS", 4)
    text = _with(BASE, ["affine"], {"a": [0.5] * 5, "b": [0.0] * 5})
    rc, err = _solve(tmp_path, capsys, text)
    assert rc == 2 and "5 channels; at most 4" in err and "affine.a" in err


@pytest.mark.parametrize("opt", [["--seed", "-5"], ["--seed", str(1 << 32)],
                                 ["--vectors", str(10**12)]])
def test_sim_options_the_bench_cannot_take_are_usage_errors(tmp_path, capsys, opt):
    """A negative seed used to crash inside the bench and print 'sim: FAIL' (exit 1)."""
    with pytest.raises(SystemExit) as e:
        main(["sim", str(tmp_path / "s.json"), *opt])
    assert e.value.code == 2 and opt[0] in capsys.readouterr().err


def test_a_bad_size_limit_variable_is_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EXACTBN_MAX_INPUT_MB", "lots")
    rc, err = _solve(tmp_path, capsys, json.dumps(BASE))
    assert rc == 2 and "EXACTBN_MAX_INPUT_MB" in err


def test_a_budget_beyond_any_hardware_is_a_usage_error(tmp_path, capsys):
    src = tmp_path / "layer.json"
    src.write_text(json.dumps(BASE))
    rc = main(["solve", str(src), "-o", str(tmp_path / "o.json"), "--budget",
               "99999999999999999999,2,3"])
    err = capsys.readouterr().err
    assert rc == 2 and "--budget" in err and "at most" in err
    assert not (tmp_path / "o.json").exists()


@pytest.mark.parametrize("top,word", [({"unknown_top": 1}, "unknown_top"),
                                      ({"format": "exactbn-solved"}, "format")])
def test_a_layer_file_with_unknown_top_level_keys_is_refused(tmp_path, capsys, top, word):
    rc, err = _solve(tmp_path, capsys, json.dumps({"layers": [BASE], **top}))
    assert rc == 2 and word in err


@pytest.mark.parametrize("name", ["a\u0000b", "a\nb", "\u001b[31mred"])
def test_layer_names_with_control_characters_are_refused(tmp_path, capsys, name):
    rc, err = _solve(tmp_path, capsys, _with(BASE, ["name"], name))
    assert rc == 2 and ("NUL" in err or "control characters" in err)
    assert len(err.strip().splitlines()) == 1


def test_imported_layer_names_with_control_characters_are_refused():
    from exactbn.formats import FormatError, parse_layers

    with pytest.raises(FormatError, match="control characters"):
        parse_layers({"layers": [json.loads(_with(BASE, ["name"], "conv\u0007"))]})
