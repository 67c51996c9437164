"""``exactbn verify --thresholds NAME.json``: a generated threshold unit's thresholds pass;
one threshold off by one, a flipped direction or a short list fail (exit 1, naming the
channel); a manifest that is not a threshold unit's is exit 2."""

from __future__ import annotations

import json

import pytest
from exactbn.golden.solver import solve_layer

from exactbn.cli.main import main
from exactbn.formats import dump_solved, parse_layers, write_json_atomic

LAYER = {"name": "thr", "input": {"bits": 7, "signed": True, "range": [[-60, 50], [-64, 63],
                                                                        [-20, 20], [0, 40]]},
         "output": {"bits": 2, "signed": False, "rounding": "half_even"},
         "affine": {"a": [0.05, -0.07, 0.0, 3.0], "b": [1.2, 1.5, 2.25, -40.0]}}


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    d = tmp_path_factory.mktemp("v")
    write_json_atomic(d / "layers.json", {"layers": [LAYER]})
    (layer,) = parse_layers({"layers": [LAYER]})
    write_json_atomic(d / "solved.json", dump_solved([solve_layer(layer)]))
    assert main(["generate", str(d / "solved.json"), "--unit", "threshold", "-q",
                 "-o", str(d / "kit")]) == 0
    return d


def _verify(d, manifest, capsys) -> tuple[int, str]:
    try:
        rc = main(["verify", str(d / "layers.json"), str(d / "solved.json"), "--thresholds",
                   str(manifest)])
    except SystemExit as e:
        rc = int(e.code)
    cap = capsys.readouterr()
    return rc, cap.out + cap.err


def test_generated_thresholds_pass(kit, capsys):
    rc, out = _verify(kit, kit / "kit" / "exactbn_thr.json", capsys)
    assert rc == 0 and "4/4 channels exact" in out and "thresholds: PASS" in out


@pytest.mark.parametrize("change,msg", [
    (lambda m: m["thresholds"][0].__setitem__(1, m["thresholds"][0][1] + 1), "channel 0"),
    (lambda m: m["directions"].__setitem__(1, 1), "channel 1"),
    (lambda m: m["thresholds"][3].pop(), "channel 3: thresholds: 2 thresholds"),
])
def test_planted_errors_fail(kit, tmp_path, change, msg, capsys):
    man = json.loads((kit / "kit" / "exactbn_thr.json").read_text())
    change(man)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(man))
    rc, out = _verify(kit, bad, capsys)
    assert rc == 1 and msg in out and "thresholds: FAIL" in out


def test_not_a_threshold_manifest_exit_2(kit, tmp_path, capsys):
    bad = tmp_path / "ms.json"
    bad.write_text(json.dumps({"format": "exactbn-unit", "layer": "thr"}))
    rc, out = _verify(kit, bad, capsys)
    assert rc == 2 and "field 'unit'" in out
