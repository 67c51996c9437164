"""The repository stands alone: no tracked file cites design or style notes that are not in
it (the project's own docs say what a reader relies on)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# built from pieces so that this file does not match itself
CITES = re.compile("|".join([r"DESIGN" + r"\.md", r"STYLE" + r"\.md", r"\.\./" + "shared/",
                             r"/work/" + "shared"]), re.IGNORECASE)


def test_no_tracked_file_cites_outside_notes():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    hits = []
    for name in filter(None, files):
        path = ROOT / name
        try:
            text = path.read_text(errors="replace")
        except (OSError, UnicodeDecodeError):
            continue
        for k, line in enumerate(text.splitlines(), 1):
            if CITES.search(line):
                hits.append(f"{name}:{k}: {line.strip()[:80]}")
    assert not hits, "\n".join(hits)
