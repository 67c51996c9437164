"""verify and the certified lower bound of budget-mode channels (``mismatches_lower_bound``).

The bound is not re-derived by verify (that would be the budget search again): the reader
refuses a bound above the channel's mismatch count (verify recounts that count), and
verify's output says plainly that the bound itself is the file's.
"""

from __future__ import annotations

import json

import pytest

from exactbn.cli.main import main

LAYERS = {"layers": [
    {"name": "bn.a", "input": {"bits": 6, "signed": True, "scale": 0.01},
     "output": {"bits": 4, "signed": True, "scale": 0.1},
     "affine": {"a": [0.3, -0.2], "b": [1.5, 0.25]}},
    {"name": "bn_b", "input": {"bits": 5, "signed": False, "scale": 0.02},
     "output": {"bits": 4, "signed": True, "scale": 0.05},
     "affine": {"a": [0.7, 0.11, 0.4], "b": [0.0, 0.3, -0.2]}},
]}


@pytest.fixture(scope="module")
def solved_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("bounds")
    (d / "layers.json").write_text(json.dumps(LAYERS))
    assert main(["solve", str(d / "layers.json"), "-o", str(d / "t.json"), "--budget", "3,3,2",
                 "--no-summary"]) == 0
    assert main(["solve", str(d / "layers.json"), "-o", str(d / "s.json"), "--no-summary"]) == 0
    return d


@pytest.fixture
def budget_file(solved_dir, monkeypatch):
    monkeypatch.chdir(solved_dir)
    doc = json.loads((solved_dir / "t.json").read_text())
    lay = doc["layers"][1]
    assert lay["mismatches"][1] > 0 and lay["mismatches_lower_bound"][1] is not None
    return doc


def test_verify_says_the_bound_is_not_re_derived(budget_file, capsys):
    capsys.readouterr()
    assert main(["verify", "layers.json", "t.json"]) == 0
    out = capsys.readouterr().out
    assert "verify: PASS" in out
    assert "mismatches_lower_bound" in out and "not re-derived" in out, out


@pytest.mark.parametrize("value", ["+5", -1, 1.5, "one"])
def test_a_bound_above_the_count_or_not_a_count_is_refused(budget_file, capsys, value):
    lay = budget_file["layers"][1]
    m = lay["mismatches"][1]
    lay["mismatches_lower_bound"][1] = m + 5 if value == "+5" else value
    with open("bad.json", "w") as fh:
        json.dump(budget_file, fh)
    capsys.readouterr()
    rc = main(["verify", "layers.json", "bad.json"])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and "Traceback" not in err, err
    for w in ("bad.json", "bn_b", "channel 1", "mismatches_lower_bound"):
        assert w in lines[0], err


def test_an_exact_channel_cannot_carry_a_positive_bound(solved_dir, monkeypatch, capsys):
    """An exact channel (0 mismatches) with a bound of 1: a claim that no parameters reach 0."""
    monkeypatch.chdir(solved_dir)
    doc = json.loads((solved_dir / "s.json").read_text())
    lay = doc["layers"][0]
    assert lay["mismatches"] == [0, 0]
    lay["mismatches_lower_bound"] = [None, 1]
    with open("bad0.json", "w") as fh:
        json.dump(doc, fh)
    capsys.readouterr()
    assert main(["verify", "layers.json", "bad0.json"]) == 2
    err = capsys.readouterr().err
    assert "channel 1" in err and "above the channel's 0 mismatches" in err, err
