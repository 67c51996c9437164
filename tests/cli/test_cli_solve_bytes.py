"""The fast solve path (whole layers from arrays, certificates as numba-written bytes, one
certificate per line by two byte replacements) writes exactly the bytes the straightforward
path writes: solve_channel per channel, certificates encoded entry by entry."""

from __future__ import annotations

import numpy as np
from exactbn.golden.solver import solve_layer
from exactbn.golden.synthetic import random_affine

from exactbn import formats
from exactbn.cli.main import main


def _layers() -> dict:
    layers = []
    for i, (bits, rounding) in enumerate([(16, "half_up"), (12, "half_even"), (10, "floor")]):
        a, b = random_affine(100, seed=60 + i)
        a[:3] = [-0.75, 0.0, 3.0]  # mirrored, constant, steep
        layers.append({"name": f"l{i}", "input": {"bits": bits, "signed": True},
                       "output": {"bits": 8, "signed": True, "rounding": rounding},
                       "affine": {"a": a.tolist(), "b": b.tolist()}})
    return {"format": "exactbn-layers", "layers": layers}


def test_cli_solve_file_is_byte_identical_to_the_straightforward_solve(tmp_path, monkeypatch,
                                                                        capsys):
    src = tmp_path / "layers.json"
    formats.write_json_atomic(src, _layers())
    out = tmp_path / "fast.json"
    assert main(["solve", str(src), "-o", str(out)]) == 0
    monkeypatch.setenv("EXACTBN_FAST_MIN_CHANNELS", str(10**9))  # solve_channel everywhere
    slow = [solve_layer(lay) for lay in formats.load_layers(src)]
    enc = formats._encoder()
    obj = formats.dump_solved(slow)
    assert out.read_bytes() == formats.dumps_solved(obj)
    for lay in obj["layers"]:  # one certificate per line, as the per-entry join writes it
        certs = list(lay["certificate"])
        certs[5] = None
        certs[6] = None
        assert formats._lines(enc, certs) == b",\n    ".join(enc(e) for e in certs)
    assert np.all([lay["exact"] for lay in obj["layers"]])


def test_cli_batched_solve_and_verify_match_layer_by_layer(tmp_path, monkeypatch, capsys):
    """The CLI solves (and verifies) all wide layers with one kernel call per output spec:
    a file mixing roundings, a BN layer with per-channel ranges, a narrow layer and an
    inexact one gives the bytes of the per-layer solve, the summaries of layer_summary, and
    verify's per-layer verdicts; a wrong certificate or M in one layer is still refused."""
    from exactbn.golden.summary import layer_summary, layers_summary
    from exactbn.golden.verify import verify_layer, verify_layers

    obj = _layers()
    rng = np.random.default_rng(3)
    c = 90
    obj["layers"].append({
        "name": "bn", "input": {"bits": 12, "signed": True, "scale": 0.01, "zero_point": 3,
                                "range": [[-2000 + int(v), 2000] for v in rng.integers(0, 99, c)]},
        "output": {"bits": 8, "signed": False, "scale": 0.05, "zero_point": 128,
                   "rounding": "half_even"},
        "bn": {"gamma": rng.uniform(0.5, 2, c).tolist(), "beta": rng.normal(size=c).tolist(),
               "mean": rng.normal(size=c).tolist(), "var": rng.uniform(0.5, 2, c).tolist(),
               "eps": 1e-5}})
    obj["layers"].append({"name": "narrow", "input": {"bits": 8, "signed": True},
                          "output": {"bits": 8, "signed": True, "rounding": "half_up"},
                          "affine": {"a": [0.3, -0.2], "b": [1.0, 2.0]}})
    a, b = random_affine(70, seed=2)
    a[0] = 1e-9  # a channel without exact folded parameters: the layer takes the rounding stage
    b[0] = 0.5
    obj["layers"].append({"name": "tie", "input": {"bits": 16, "signed": True},
                          "output": {"bits": 8, "signed": True, "rounding": "half_even"},
                          "affine": {"a": a.tolist(), "b": b.tolist()}})
    src = tmp_path / "layers.json"
    formats.write_json_atomic(src, obj)
    out = tmp_path / "fast.json"
    assert main(["solve", str(src), "-o", str(out)]) == 0
    layers = formats.load_layers(src)
    each = [solve_layer(lay) for lay in layers]
    assert out.read_bytes() == formats.dumps_solved(formats.dump_solved(each))
    assert layers_summary(each, layers) == [layer_summary(s, lay)
                                            for s, lay in zip(each, layers, strict=True)]
    back = formats.load_solved(out)
    many = verify_layers(back, layers)
    one = [verify_layer(s, lay) for s, lay in zip(back, layers, strict=True)]
    assert [(v.ok, len(v.channels)) for v in many] == [(v.ok, len(v.channels)) for v in one]
    assert all(v.ok for v in many)
    capsys.readouterr()
    assert main(["verify", str(src), str(out)]) == 0
    assert capsys.readouterr().out.strip().endswith("verify: PASS")
    # tampered: a certificate end in layer l1, M in layer bn: verify FAILs naming both
    d = formats._parse_text(out.read_text(), out)
    d["layers"][1]["certificate"][40]["alpha_lo"][0] -= 1
    m = d["layers"][3]["M"][7]
    d["layers"][3]["M"][7] = m - 1 if m > 0 else m + 1  # toward 0: widths.M still holds it
    bad = tmp_path / "bad.json"
    formats.write_solved(bad, d)
    assert main(["verify", str(src), str(bad)]) == 1
    text = capsys.readouterr().out
    assert "FAIL layer 'l1' channel 40" in text and "FAIL layer 'bn' channel 7" in text
    failed = {ln.split(":")[0] for ln in text.splitlines() if ln.startswith("  FAIL")}
    assert failed == {"  FAIL layer 'l1' channel 40", "  FAIL layer 'bn' channel 7"}
    assert "verify: FAIL" in text
