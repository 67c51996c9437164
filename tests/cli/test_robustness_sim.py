"""`exactbn sim` writes only under -o, whatever the layer is called."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from exactbn.cli.main import main

LAYER = {"name": "../../evil", "input": {"bits": 4, "signed": True, "scale": 0.01},
         "output": {"bits": 4, "signed": True, "scale": 0.1},
         "affine": {"a": [0.3, -0.2], "b": [1.5, 0.25]}}


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_sim_writes_nothing_outside_its_output_dir(tmp_path):
    cwd = tmp_path / "a" / "b" / "c"
    cwd.mkdir(parents=True)
    (cwd / "layer.json").write_text(json.dumps(LAYER))
    assert main(["solve", str(cwd / "layer.json"), "-o", str(cwd / "s.json"),
                 "--no-summary"]) == 0
    before = _tree(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "EXACTBN_SIM_CACHE"}
    r = subprocess.run([sys.executable, "-m", "exactbn", "sim", "s.json", "--simulator", "icarus",
                        "--vectors", "1", "--scenarios", "full_rate", "-o", "out"],
                       cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    new = sorted(set(_tree(tmp_path)) - set(before))
    assert new and all(n.startswith("a/b/c/out") for n in new), new
    runs = [p.name for p in (cwd / "out").iterdir()]
    assert "build-cache" in runs and not any(n.startswith(".") for n in runs)
