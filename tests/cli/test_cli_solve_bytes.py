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
