"""Module boundaries: hw/ is generated from plain parameters and
imports nothing from golden/ (reference, integer model, solver) or from the flows."""

from __future__ import annotations

import ast
from pathlib import Path

HW = Path(__file__).resolve().parents[2] / "hw"
FORBIDDEN = ("exactbn.golden", "exactbn.generate", "exactbn.sim", "exactbn.synth")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level >= 2 and path.parent == HW:  # relative import out of hw/
                names.append("exactbn." + (node.module or ""))
            elif node.level >= 3:
                names.append("exactbn." + (node.module or ""))
            elif node.level == 0 and node.module:
                names.append(node.module)
    return names


def test_hw_imports_no_golden_or_flow_code():
    files = sorted(HW.rglob("*.py"))
    assert len(files) > 10
    bad = {str(f.relative_to(HW)): n for f in files for n in _imports(f)
           if n.startswith(FORBIDDEN) or n.startswith("golden")}
    assert not bad, bad
