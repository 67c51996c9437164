"""golden/fast_verify.py clears a channel exactly when golden/verify.py's own checks pass, and
its counts are layer_exactness's, on clean and on tampered solved layers."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from exactbn.golden.fast_verify import verify_arrays
from exactbn.golden.recheck import layer_exactness
from exactbn.golden.solver import solve_layer
from exactbn.golden.synthetic import random_affine
from exactbn.golden.verify import _budget, _check_channel, verify_layer

from exactbn.formats import parse_layers


def _layer(a, b, rounding):
    return parse_layers({"name": "l", "input": {"bits": 12, "signed": True},
                         "output": {"bits": 8, "signed": True, "rounding": rounding},
                         "affine": {"a": [float(v) for v in a], "b": [float(v) for v in b]}})[0]


def _slow(sl):
    counts = layer_exactness(sl).mismatches
    return counts, [_check_channel(sl, c, counts[c], _budget(sl)).ok for c in range(sl.channels)]


def _tamper(sl, rng):
    """Each channel of a copy gets one change (or none): the slow checks decide the truth."""
    sl = copy.deepcopy(sl)
    for c in range(sl.channels):
        k = int(rng.integers(0, 10))
        cert = sl.certificate[c]
        if k == 1:
            sl.M[c] += 1
        elif k == 2:
            sl.B[c] -= 1
        elif k == 3 and sl.N[c] > 0:
            sl.N[c] += 1
            sl.M[c] *= 2
            sl.B[c] *= 2
        elif k == 4 and cert and cert["points"]:
            cert["points"][0][0] += 1
        elif k == 5 and cert and cert["alpha_lo"]:
            cert["alpha_lo"][0] -= 1
        elif k == 6 and cert:
            cert["points"] = cert["points"][:1]
        elif k == 7:
            sl.mismatches[c] += 3
            sl.exact[c] = False
        elif k == 8 and cert and cert["alpha_hi"]:
            cert["alpha_hi"] = [cert["alpha_hi"][0] * 3, cert["alpha_hi"][1] * 3]  # same value
    return sl


@pytest.mark.parametrize("rounding,shift", [
    ("half_up", "per-channel"), ("half_even", "shared"),
    pytest.param("floor", "per-channel", marks=pytest.mark.slow)])
def test_fast_verify_clears_exactly_what_verify_clears(rounding, shift):
    a, b = random_affine(72, seed=7, log2_scale=-4)
    a[:3], b[:3] = [0.25, -0.375, 0.0], [0.5, 0.25, 2.5]  # ties (inexact), a zero slope
    sl = solve_layer(_layer(a, b, rounding), shift_mode=shift, hw_rounding="floor")
    rng = np.random.default_rng(3)
    for layer in (sl, _tamper(sl, rng), _tamper(sl, rng)):
        count, ok = verify_arrays(layer)
        counts, slow_ok = _slow(layer)
        assert count.tolist() == list(counts)
        assert [bool(v) and s for v, s in zip(ok, slow_ok, strict=True)] == ok.tolist()
        wrong = [c for c in range(layer.channels) if ok[c] and not slow_ok[c]]
        assert not wrong  # never a pass where verify.py fails
        assert sum(ok) >= 0.6 * sum(slow_ok)  # and it clears most honest channels itself
    assert all(verify_arrays(sl)[1] == np.array(_slow(sl)[1]))
    assert verify_layer(sl).ok


def test_verify_layer_reports_a_tampered_certificate_in_a_wide_layer():
    a, b = random_affine(80, seed=8, log2_scale=-4)
    sl = solve_layer(_layer(a, b, "half_up"), hw_rounding="floor")
    sl.certificate[5]["alpha_lo"][0] -= 1
    check = verify_layer(sl)
    assert [f.channel for f in check.failures()] == [5]
    assert "slope interval" in " ".join(check.failures()[0].problems)


def test_shift_31_channels_are_cleared_by_the_kernel():
    """N = 31 keeps every product of the interval check below 2^62: the kernel clears such a
    channel itself (it used to hand them to the slow path at ~30 ms each)."""
    a, b = random_affine(500, seed=1)
    layer = parse_layers({"name": "l", "input": {"bits": 16, "signed": True},
                          "output": {"bits": 8, "signed": True, "rounding": "half_up"},
                          "affine": {"a": a.tolist(), "b": b.tolist()}})[0]
    sl = solve_layer(layer)
    wide = [c for c in range(sl.channels) if sl.N[c] == 31]
    assert wide
    count, ok = verify_arrays(sl)
    assert ok[wide].all()
    counts = layer_exactness(sl).mismatches
    assert all(_check_channel(sl, c, counts[c], _budget(sl)).ok for c in wide)


def test_cli_verify_reads_the_files_own_certificates_of_wide_layers(tmp_path, capsys):
    """`exactbn verify` checks wide layers against the certificate arrays its reader scanned
    (not scanned a second time): a tampered entry of the file, in the canonical shape the
    bulk scan accepts, still FAILs, naming its layer and channel; the others pass."""
    import json

    from exactbn.cli.main import main
    from exactbn.formats import write_json_atomic

    layers = []
    for i in range(2):
        a, b = random_affine(80, seed=20 + i, log2_scale=-4)
        layers.append({"name": f"l{i}", "input": {"bits": 12, "signed": True},
                       "output": {"bits": 8, "signed": True, "rounding": "half_up"},
                       "affine": {"a": a.tolist(), "b": b.tolist()}})
    src, dst = tmp_path / "layers.json", tmp_path / "solved.json"
    write_json_atomic(src, {"format": "exactbn-layers", "layers": layers})
    assert main(["solve", str(src), "-o", str(dst), "--no-summary"]) == 0
    assert main(["verify", str(src), str(dst)]) == 0
    obj = json.loads(dst.read_text())
    obj["layers"][1]["certificate"][5]["alpha_lo"][0] -= 1
    obj["layers"][0]["certificate"][7]["points"][0][0] += 1
    dst.write_text(json.dumps(obj, separators=(",", ":")))
    capsys.readouterr()
    assert main(["verify", str(src), str(dst)]) == 1
    out = capsys.readouterr().out
    fails = [ln for ln in out.splitlines() if "FAIL layer" in ln]
    assert any("'l1' channel 5" in ln for ln in fails), out
    assert any("'l0' channel 7" in ln for ln in fails), out
    assert {ln.split(" channel ")[1].split(":")[0] for ln in fails} == {"5", "7"}, out
