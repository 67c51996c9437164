"""Tampered solved files: refused with one located line (exit 2), or re-derived, never trusted.

One test per class: unknown (typo'd) keys, missing keys, bad header/values, duplicate JSON
keys, tampered M/B/N, a changed by one ulp, a hardware rounding that is not the solved one
(generate refuses, or labels the kit truthfully with --allow-inexact), a solved file made
from another layer (verify names the field), and prove's "(certificates re-checked)".
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from exactbn.golden.model import integer_model
from exactbn.golden.reference import reference
from exactbn.golden.solver import solve_layer

from exactbn.cli.main import main
from exactbn.formats import (
    SOLVED_KEYS,
    dump_solved,
    load_layers,
    load_solved,
    parse_solved,
    select_layer,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "exactbn" / "data" / "example_layers.json"
RELEASE1 = Path(__file__).resolve().parent / "data" / "solved_release1_tie_affine.json"


@pytest.fixture(scope="module")
def solved_obj() -> dict:
    layers = load_layers(EXAMPLE)
    return dump_solved([solve_layer(select_layer(layers, n))
                        for n in ("conv2_bn_relu", "tie_affine")])


def _write(tmp_path: Path, obj, name: str = "solved.json") -> Path:
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return p


def _run(capsys, *argv) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _refused(capsys, tmp_path, obj, *needles, cmd="verify"):
    path = _write(tmp_path, obj)
    argv = ["verify", EXAMPLE, path] if cmd == "verify" else ["generate", path, "--layer",
                                                                 "tie_affine", "-o",
                                                                 tmp_path / "kit"]
    rc, _, err = _run(capsys, *argv)
    assert rc == 2, err
    assert str(path) in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    for n in needles:
        assert n in err, err
    assert not (tmp_path / "kit").exists()
    return err


def _rename(d, layer, old, new):
    lay = d["layers"][layer]
    lay[new] = lay.pop(old)


@pytest.mark.parametrize("where,old,new", [
    (None, "hw_rounding", "hw_roundng"), (None, "exact", "exactt"),
    (None, "certificate", "certificat"), (None, "widths", "Widths"), (None, "M", "M "),
    ("widths", "n_max", "nmax"), ("certificate", "alpha_hi", "alpha_hy"),
])
def test_unknown_keys_are_refused(capsys, tmp_path, solved_obj, where, old, new):
    d = json.loads(json.dumps(solved_obj))
    lay = d["layers"][1]
    if where is None:
        _rename(d, 1, old, new)
    elif where == "widths":
        lay["widths"][new] = lay["widths"].pop(old)
    else:
        lay["certificate"][2][new] = lay["certificate"][2].pop(old)
    err = _refused(capsys, tmp_path, d, "unknown key", repr(new).strip("'"), "tie_affine")
    if where == "certificate":
        assert "channel 2" in err


@pytest.mark.parametrize("key", ["exact", "mismatches", "hw_rounding", "certificate",
                                 "shift_mode", "a", "widths", "input.range", "output.clip",
                                 "output.rounding"])
def test_missing_keys_are_refused_not_defaulted(capsys, tmp_path, solved_obj, key):
    d = json.loads(json.dumps(solved_obj))
    obj, _, k = ((d["layers"][1], None, key) if "." not in key else
                 (d["layers"][1][key.split(".")[0]], None, key.split(".")[1]))
    del obj[k]
    _refused(capsys, tmp_path, d, "missing", f"field '{key}'", "layer 'tie_affine'")


@pytest.mark.parametrize("edit,needle", [
    (lambda d: d.__setitem__("version", 99), "unsupported version 99"),
    (lambda d: d.__setitem__("format", "exactbn-layers"), "field 'format'"),
    (lambda d: d.pop("version"), "field 'version'"),
    (lambda d: d.__setitem__("extra_top", 1), "unknown key"),
    (lambda d: d["layers"][1]["mismatches"].__setitem__(0, -5), "channel 0, field 'mismatches'"),
    (lambda d: d["layers"][1].__setitem__("name", 5), "field 'name'"),
    (lambda d: d["layers"][1].__setitem__("name", ""), "field 'name'"),
    (lambda d: d["layers"][1]["exact"].__setitem__(1, False), "exact is false but mismatches"),
    (lambda d: d["layers"][1].__setitem__("budget", {"M": "20", "B": None, "N": None}),
     "field 'budget.M'"),
    (lambda d: d["layers"][1].__setitem__("n_min", ["x"] * 4), "field 'n_min'"),
    (lambda d: d["layers"][1]["certificate"][0].__setitem__("hw_rounding", "up"),
     "certificate.hw_rounding"),
])
def test_bad_values_are_refused(capsys, tmp_path, solved_obj, edit, needle):
    d = json.loads(json.dumps(solved_obj))
    edit(d)
    _refused(capsys, tmp_path, d, needle)


def test_duplicate_json_keys_are_refused(capsys, tmp_path, solved_obj):
    text = json.dumps(solved_obj).replace('"shift_mode":', '"exact": [true], "shift_mode":', 1)
    _refused(capsys, tmp_path, text, "duplicate key 'exact'")
    layer_text = EXAMPLE.read_text().replace('"name": "tie_affine"',
                                             '"name": "tie_affine", "name": "x"')
    lp = _write(tmp_path, layer_text, "layers.json")
    rc, _, err = _run(capsys, "solve", lp, "-o", tmp_path / "s.json")
    assert rc == 2 and "duplicate key 'name'" in err and str(lp) in err
    assert not (tmp_path / "s.json").exists()


def _differing(layer: dict, c: int) -> int:
    """Brute force over the channel's whole range: inputs where the model is not BN."""
    sl = parse_solved({"layers": [layer]})[0]
    lo, hi = sl.ranges()[c]
    xs = np.arange(lo, hi + 1, dtype=np.int64)
    out = sl.output
    ref = reference(sl.a[c], sl.b[c], xs, out.rounding, out.qmin, out.qmax)
    got = integer_model(sl.M[c], sl.B[c], sl.N[c], xs, out.qmin, out.qmax, sl.hw_rounding)
    return int((ref != got).sum())


def _tamper_m(lay):
    lay["M"][2] += 1


def _tamper_b(lay):
    lay["B"][2] += 1 << max(lay["N"][2] - 1, 0)


def _tamper_n(lay):
    lay["N"][2] += 1
    lay["widths"]["n_max"] = max(lay["N"])
    lay["widths"]["N"] = max(lay["widths"]["N"], max(lay["N"]).bit_length())


def _tamper_a(lay):
    lay["a"][0] = math.nextafter(lay["a"][0], math.inf)


@pytest.mark.parametrize("tamper,channel", [(_tamper_m, 2), (_tamper_b, 2), (_tamper_n, 2),
                                            (_tamper_a, 0)], ids=["M", "B", "N", "a+1ulp"])
def test_generate_rederives_exactness_of_tampered_parameters(capsys, tmp_path, solved_obj,
                                                            tamper, channel):
    d = json.loads(json.dumps(solved_obj))
    lay = d["layers"][1]
    lay["M"] = list(lay["M"])
    tamper(lay)
    lay["widths"]["M"] = max(lay["widths"]["M"], max(abs(m) for m in lay["M"]).bit_length() + 1)
    lay["widths"]["B"] = max(lay["widths"]["B"], max(abs(b) for b in lay["B"]).bit_length() + 1)
    n = _differing(lay, channel)
    assert n > 0 and all(lay["exact"])  # the file still claims exact
    _refused(capsys, tmp_path, d, f"1 channel(s) are not exact ({channel})",
             f"{n} input value(s) give a different output", "the file calls 1 of them exact",
             cmd="generate")


def test_hw_rounding_edit_refused_or_labelled_truthfully(capsys, tmp_path, solved_obj):
    """A tie layer solved with a half_even rounding stage, edited to a floor unit."""
    d = json.loads(json.dumps(solved_obj))
    lay = d["layers"][1]
    assert lay["hw_rounding"] == "half_even"
    lay["hw_rounding"] = "floor"
    for cert in lay["certificate"]:
        if cert is not None:
            cert["hw_rounding"] = "floor"
    counts = [_differing(lay, c) for c in range(4)]
    bad = [c for c, k in enumerate(counts) if k]
    assert bad
    _refused(capsys, tmp_path, d, f"{len(bad)} channel(s) are not exact",
             f"{sum(counts)} input value(s)", cmd="generate")
    path = _write(tmp_path, d)
    rc, out, err = _run(capsys, "generate", path, "--layer", "tie_affine", "--allow-inexact",
                        "--name", "u", "-o", tmp_path / "kit")
    assert rc == 0, err
    assert f"INEXACT: {len(bad)} channel(s), {sum(counts)} input value(s) differ" in out
    man = json.loads((tmp_path / "kit" / "u.json").read_text())
    ex = man["exactness"]
    assert ex["exact"] is False and ex["inexact_channels"] == bad
    assert ex["differing_outputs"] == sum(counts) and ex["hw_rounding"] == "floor"
    title = (tmp_path / "kit" / "README.md").read_text().splitlines()[0]
    assert "NOT exact" in title and f"{sum(counts)} input value(s)" in title


def test_verify_names_the_first_differing_spec_field(capsys, tmp_path):
    obj = json.loads(EXAMPLE.read_text())
    lay = [x for x in obj["layers"] if x["name"] == "conv2_bn_relu"][0]
    lay["output"]["rounding"] = "half_even"  # the example says half_up; a and b are unchanged
    other = _write(tmp_path, obj, "other_layers.json")
    solved = tmp_path / "solved.json"
    assert _run(capsys, "solve", other, "--layer", "conv2_bn_relu", "--no-summary",
                "-o", solved)[0] == 0
    rc, out, _ = _run(capsys, "verify", EXAMPLE, solved)
    assert rc == 1 and "output.rounding is 'half_even' in the solved file" in out
    assert "verify: FAIL" in out


def test_prove_claims_certificates_only_when_they_hold(solved_obj):
    from exactbn.cli.cmd_prove import _exactness_statement

    good = parse_solved(solved_obj)[0]
    assert "(certificates re-checked)" in _exactness_statement(good)
    d = json.loads(json.dumps(solved_obj))
    d["layers"][0]["certificate"][1]["points"] = d["layers"][0]["certificate"][1]["points"][:1]
    cut = parse_solved(d)[0]
    text = _exactness_statement(cut)
    assert "(certificates re-checked)" not in text and "fail the solver re-check" in text


def test_solve_writes_every_required_key_and_release1_files_still_load(tmp_path, capsys):
    out = tmp_path / "s.json"
    assert _run(capsys, "solve", EXAMPLE, "--layer", "tie_affine", "--no-summary",
                "-o", out)[0] == 0
    d = json.loads(out.read_text())
    assert d["format"] == "exactbn-solved" and d["version"] == 1
    assert set(SOLVED_KEYS) <= set(d["layers"][0])
    old = load_solved(RELEASE1)
    assert old[0].name == "tie_affine" and old[0].exact == load_solved(out)[0].exact
    rc, text, _ = _run(capsys, "verify", EXAMPLE, RELEASE1)
    assert rc == 0 and "verify: PASS" in text
