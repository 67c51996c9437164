"""The valid inputs the mutants start from: layer files, solved files, an ONNX model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Seeds", "build_seeds", "LAYERS"]

DATA = Path(__file__).resolve().parents[1] / "exactbn" / "data"
# Cheap layers of the bundled example file: a BN layer with per-channel ranges and a
# rounding stage, and an affine layer with ties.
LAYERS = ("conv2_bn_relu", "tie_affine")


@dataclass
class Seeds:
    layers: dict[str, str]  # seed name -> layer file text
    solved: dict[str, str]  # seed name -> solved file text (solved from the layer above)
    onnx: dict[str, bytes]


def build_seeds(cache: str | Path) -> Seeds:
    """Write one-layer layer files, solve them with ``exactbn solve`` (in this process)."""
    from fuzz.runner import run_inprocess

    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    example = json.loads((DATA / "example_layers.json").read_text())
    layers, solved = {}, {}
    for lay in example["layers"]:
        if lay["name"] not in LAYERS:
            continue
        text = json.dumps({"layers": [lay]}, indent=1)
        lp = cache / f"{lay['name']}.layers.json"
        lp.write_text(text)
        sp = cache / f"{lay['name']}.solved.json"
        res = run_inprocess(["solve", str(lp), "-o", str(sp), "--no-summary"], str(cache), 120)
        if res.rc != 0:
            raise RuntimeError(f"seed {lay['name']}: exactbn solve failed: {res.stderr}"
                               f"{res.exception or ''}")
        layers[lay["name"]] = text
        solved[lay["name"]] = sp.read_text()
    return Seeds(layers, solved, {"digits_qdq": (DATA / "digits_qdq.onnx").read_bytes()})
