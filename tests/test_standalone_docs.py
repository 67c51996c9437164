"""The repository stands alone: no tracked file cites design or style notes that are not in
it (the project's own docs say what a reader relies on)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# built from pieces so that this file does not match itself
CITES = re.compile("|".join([r"DESIGN" + r"\.md", r"STYLE" + r"\.md", r"\.\./" + "shared/",
                             r"/work/" + "shared"]), re.IGNORECASE)


SKIP_DIRS = {".git", ".venv", "build", "demo", "__pycache__", ".pytest_cache", ".ruff_cache"}


def _project_files() -> list[str]:
    """Tracked files in a git checkout; otherwise (an unpacked source tree) every file but
    venvs, build output and caches."""
    if shutil.which("git") is not None and (ROOT / ".git").exists():
        return subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                              check=True).stdout.decode().split("\0")
    return [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
            if p.is_file() and not SKIP_DIRS & set(p.relative_to(ROOT).parts)]


def test_no_tracked_file_cites_outside_notes():
    files = _project_files()
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
