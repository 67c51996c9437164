"""``exactbn prove`` stopped by SIGTERM (``timeout``) or Ctrl-C leaves no tool running.

sby starts each solver in a process group of its own, so a signal to prove's group does not
reach them: prove must end the whole tree itself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from exactbn.formats import dump_solved

sys.path.insert(0, str(Path(__file__).parent))
from formal_layers import small_layer  # noqa: E402

pytestmark = [pytest.mark.formal, pytest.mark.xdist_group("formal")]


def _tools_in(root: Path) -> list[int]:
    """Processes whose working directory lies under ``root`` (the proof work dirs)."""
    pids = []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{e}/cwd")
        except OSError:
            continue
        if cwd == str(root) or cwd.startswith(str(root) + os.sep):
            pids.append(int(e))
    return pids


@pytest.mark.parametrize("sig, code", [
    (signal.SIGTERM, 143),
    pytest.param(signal.SIGINT, 130, marks=pytest.mark.slow),
])
def test_signal_ends_every_tool_process(tmp_path, sig, code):
    solved = tmp_path / "solved.json"
    solved.write_text(json.dumps(dump_solved([small_layer("half_even")])))
    out = tmp_path / "o"
    proc = subprocess.Popen([sys.executable, "-m", "exactbn", "prove", str(solved),
                             "--lanes", "2", "-o", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    seen: list[int] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            seen = _tools_in(out)
            names = []
            for p in seen:
                try:
                    names.append(Path(f"/proc/{p}/cmdline").read_bytes())
                except OSError:
                    pass
            if any(b"yices" in n for n in names):
                break
            time.sleep(0.2)
        assert proc.poll() is None and seen, "the proof tools never started"
        os.kill(proc.pid, sig)  # the prove process only, as `timeout` does
        rc = proc.wait(timeout=15)
        left = []
        for _ in range(25):
            left = _tools_in(out)
            if not left:
                break
            time.sleep(0.2)
        assert not left, f"tool processes survived: {left}"
        assert rc == code
    finally:
        for p in _tools_in(out) + ([proc.pid] if proc.poll() is None else []):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        proc.wait(timeout=10)
