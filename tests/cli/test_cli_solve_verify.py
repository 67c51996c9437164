"""`exactbn solve` and `exactbn verify`, including every bad-input path (exit 2, no output)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from exactbn.cli.main import main

EXAMPLE = Path(__file__).resolve().parents[2] / "exactbn" / "data" / "example_layers.json"


def _layer(**over):
    layer = {
        "name": "bn1",
        "input": {"bits": 12, "signed": True, "scale": 0.01, "zero_point": 0},
        "output": {"bits": 8, "signed": True, "scale": 0.05, "zero_point": 0,
                   "rounding": "half_even"},
        "bn": {"gamma": [1.0, 0.5], "beta": [0.1, -0.2], "mean": [0.0, 1.0],
               "var": [1.0, 2.0], "eps": 1e-5},
    }
    for path, value in over.items():
        obj = layer
        keys = path.split(".")
        for k in keys[:-1]:
            obj = obj[k]
        obj[keys[-1]] = value
    return layer


def _write(tmp_path, obj, raw: str | None = None) -> Path:
    p = tmp_path / "layers.json"
    p.write_text(raw if raw is not None else json.dumps(obj, allow_nan=True))
    return p


def test_solve_then_verify_the_examples(tmp_path, capsys):
    out = tmp_path / "solved.json"
    assert main(["solve", str(EXAMPLE), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "conv1_bn" in text and "TFLite" in text
    solved = json.loads(out.read_text())
    assert all(isinstance(m, int) for layer in solved["layers"] for m in layer["M"])
    assert main(["verify", str(EXAMPLE), str(out), "--exhaustive"]) == 0
    assert "verify: PASS" in capsys.readouterr().out


def test_verify_fails_with_exit_1_on_a_wrong_parameter(tmp_path, capsys):
    out = tmp_path / "solved.json"
    assert main(["solve", str(EXAMPLE), "-o", str(out), "--layer", "conv2_bn_relu"]) == 0
    d = json.loads(out.read_text())
    d["layers"][0]["B"][3] += 1 << 12
    out.write_text(json.dumps(d))
    assert main(["verify", str(EXAMPLE), str(out)]) == 1
    assert "channel 3" in capsys.readouterr().out


BAD = [
    ("bn.gamma", [1.0, math.nan], "channel 1", "bn.gamma"),
    ("bn.beta", [math.inf, 0.0], "channel 0", "bn.beta"),
    ("bn.var", [1.0, -1.0], "channel 1", "bn.var"),
    ("input.scale", 0.0, "layer 'bn1'", "input.scale"),
    ("output.scale", -1.0, "layer 'bn1'", "output.scale"),
    ("input.range", [5, -5], "lo 5 > hi -5", "input.range"),
    ("output.clip", [10, -10], "qmin 10 > qmax -10", "output.clip"),
    ("output.clip", [0, 300], "outside the 8-bit", "output.clip"),
    ("bn.mean", [0.0], "expected 2", "bn.mean"),
    ("output.rounding", "stochastic", "unknown rounding", "output.rounding"),
    ("input.range", [[0, 5]], "expected 2", "input.range"),
]


@pytest.mark.parametrize("path,value,needle,fld", BAD,
                         ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_layer_files_exit_2_naming_the_place(tmp_path, capsys, path, value, needle, fld):
    src = _write(tmp_path, _layer(**{path: value}))
    out = tmp_path / "solved.json"
    assert main(["solve", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(src) in err and needle in err and fld in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".solved.json*"))


@pytest.mark.parametrize("raw,needle", [("{not json", "malformed JSON"), ("", "malformed JSON"),
                                        ("[]", "expected a layer")])
def test_unreadable_files_exit_2(tmp_path, capsys, raw, needle):
    src = _write(tmp_path, None, raw)
    out = tmp_path / "solved.json"
    assert main(["solve", str(src), "-o", str(out)]) == 2
    assert needle in capsys.readouterr().err and not out.exists()


def test_missing_file_and_bad_options_exit_2(tmp_path, capsys):
    out = tmp_path / "s.json"
    assert main(["solve", str(tmp_path / "nope.json"), "-o", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["solve", str(EXAMPLE), "-o", str(out), "--budget", "20,x,3"]) == 2
    assert "--budget" in capsys.readouterr().err
    assert main(["solve", str(EXAMPLE), "-o", str(out), "--layer", "nope"]) == 2
    assert "no layer named 'nope'" in capsys.readouterr().err
    assert not out.exists()


def test_existing_output_survives_a_failed_run(tmp_path):
    out = tmp_path / "solved.json"
    out.write_text("previous")
    src = _write(tmp_path, _layer(**{"bn.var": [1.0, -3.0]}))
    assert main(["solve", str(src), "-o", str(out)]) == 2
    assert out.read_text() == "previous"


def test_console_script_usage_error_has_no_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "exactbn", "solve"], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "usage" in r.stderr


@pytest.mark.parametrize("edit,needle", [
    (lambda d: d["layers"][0]["certificate"].__setitem__(2, "junk"),
     "channel 2, field 'certificate'"),
    (lambda d: d["layers"][0]["certificate"][1]["points"].__setitem__(0, [1.5, "x"]),
     "field 'certificate.points'"),
    (lambda d: d["layers"][0]["certificate"][0].__setitem__("alpha_lo", [1, 0]),
     "field 'certificate.alpha_lo'"),
    (lambda d: d["layers"][0]["M"].__setitem__(0, 2.5), "field 'M'"),
    (lambda d: d["layers"][0].pop("B"), "field 'B'"),
    (lambda d: d["layers"][0].__setitem__("hw_rounding", "up"), "field 'hw_rounding'"),
], ids=["cert-junk", "cert-point", "cert-alpha", "M-float", "B-missing", "hw-rounding"])
def test_garbled_solved_files_exit_2(tmp_path, capsys, edit, needle):
    out = tmp_path / "solved.json"
    assert main(["solve", str(EXAMPLE), "-o", str(out), "--layer", "conv2_bn_relu",
                 "--no-summary"]) == 0
    d = json.loads(out.read_text())
    edit(d)
    out.write_text(json.dumps(d))
    capsys.readouterr()
    assert main(["verify", str(EXAMPLE), str(out)]) == 2
    err = capsys.readouterr().err
    assert needle in err and str(out) in err and "Traceback" not in err
