"""Standard-cell libraries for the ASIC flow: the OSU libraries by name, or a user's Liberty.

The OSU 0.18/0.35/0.5 um libraries come from Debian's ``qflow-tech-osu018`` (``-osu035``,
``-osu050``) packages. ``make setup`` extracts them (``apt-get download`` + ``dpkg-deb -x``,
without installing qflow, whose own old Yosys would land on PATH) into ``.venv/asic``; an
installed ``/usr/share/qflow/tech`` or ``$EXACTBN_ASIC_LIBS`` work too. A library is its
Liberty file (areas, timing, cell functions) and, for gate-level simulation, the Verilog
models of its cells (``osuXXX_stdcells.v``; for a user's ``X.lib``, a ``X.v`` beside it).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from .targets import TargetError

__all__ = ["LIBRARIES", "Library", "LibraryError", "resolve_library", "search_dirs"]

# name -> (directory under .../qflow/tech, Liberty file, Verilog cell models, Debian package)
LIBRARIES = {
    "osu018": ("osu018", "osu018_stdcells.lib", "osu018_stdcells.v", "qflow-tech-osu018"),
    "osu035": ("osu035", "osu035_stdcells.lib", "osu035_stdcells.v", "qflow-tech-osu035"),
    "osu050": ("osu050", "osu05_stdcells.lib", "osu05_stdcells.v", "qflow-tech-osu050"),
}
_INSTALL_HINT = ("run `make setup` (it extracts Debian's {pkg} into .venv/asic without "
                 "installing qflow), or set EXACTBN_ASIC_LIBS to a directory holding {d}/")


class LibraryError(TargetError):
    """A library name, path or file that cannot be used: one clear message."""


@dataclass(frozen=True)
class Library:
    """One Liberty library: its cells' areas, which cells are sequential, the time unit."""

    name: str
    liberty: Path
    cells_v: Path | None
    areas: dict[str, float] = field(default_factory=dict)
    sequential: frozenset[str] = frozenset()
    time_unit_ns: float = 1.0
    inverter: str | None = None  # smallest inverter: ABC's driving cell for buffering
    inverter_cap: float | None = None  # its input capacitance (library units)

    def classify(self, cells: dict[str, int]) -> dict[str, int]:
        """Cell counts as ``ff`` (flip-flops and latches), ``comb`` and ``other`` (unknown)."""
        out = {"ff": 0, "comb": 0, "other": 0}
        for c, n in cells.items():
            key = "ff" if c in self.sequential else "comb" if c in self.areas else "other"
            out[key] += int(n)
        return out


def search_dirs() -> list[Path]:
    """Where named libraries are looked for, first match wins."""
    dirs = []
    if os.environ.get("EXACTBN_ASIC_LIBS"):
        dirs.append(Path(os.environ["EXACTBN_ASIC_LIBS"]))
    dirs.append(Path(sys.prefix) / "asic" / "usr" / "share" / "qflow" / "tech")
    dirs.append(Path.home() / ".cache" / "exactbn" / "asic" / "usr" / "share" / "qflow" / "tech")
    dirs.append(Path("/usr/share/qflow/tech"))
    return dirs


_CELL = re.compile(r"\bcell\s*\(\s*\"?([A-Za-z0-9_$.\[\]]+)\"?\s*\)\s*\{")
_AREA = re.compile(r"\barea\s*:\s*([0-9.eE+-]+)\s*;")
_SEQ = re.compile(r"\b(ff|latch|ff_bank|latch_bank|statetable)\s*\(")
_INV = re.compile(r"\bfunction\s*:\s*\"\s*\(?\s*(?:!\s*\w+|\w+\s*')\s*\)?\s*\"")
_CAP = re.compile(r"\bcapacitance\s*:\s*([0-9.eE+-]+)\s*;")
_TIME = re.compile(r"\btime_unit\s*:\s*\"?\s*1\s*(ps|ns)\s*\"?\s*;")


def _parse_liberty(path: Path, name: str) -> Library:
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        raise LibraryError(f"{path}: cannot read the Liberty file ({e.strerror})") from None
    if not re.search(r"\blibrary\s*\(", text):
        raise LibraryError(f"{path}: not a Liberty file (no 'library (...)' group)")
    if text.count("{") != text.count("}"):
        raise LibraryError(f"{path}: malformed Liberty file (unbalanced braces)")
    starts = [(m.start(), m.group(1)) for m in _CELL.finditer(text)]
    areas: dict[str, float] = {}
    seq: set[str] = set()
    inv: tuple[float, str, float | None] | None = None
    for i, (pos, cell) in enumerate(starts):
        body = text[pos:starts[i + 1][0] if i + 1 < len(starts) else len(text)]
        a = _AREA.search(body)
        if a is None:
            raise LibraryError(f"{path}: cell {cell} has no area")
        try:
            areas[cell] = float(a.group(1))
        except ValueError:
            raise LibraryError(f"{path}: cell {cell}: bad area {a.group(1)!r}") from None
        if _SEQ.search(body):
            seq.add(cell)
        elif _INV.search(body) and (inv is None or areas[cell] < inv[0]):
            cap = _CAP.search(body)
            inv = (areas[cell], cell, float(cap.group(1)) if cap else None)
    if not areas:
        raise LibraryError(f"{path}: Liberty file without cells")
    if not seq:
        raise LibraryError(f"{path}: the library has no flip-flop (no cell with an ff group)")
    t = _TIME.search(text)
    unit = 1e-3 if t and t.group(1) == "ps" else 1.0
    models = path.with_suffix(".v")
    return Library(name, path, models if models.is_file() else None, areas, frozenset(seq),
                   unit, inv[1] if inv else None, inv[2] if inv else None)


def resolve_library(spec: str) -> Library:
    """A named OSU library (osu018, osu035, osu050) or a Liberty file path (``*.lib``).

    Raises :class:`LibraryError` naming what is missing and what to install.
    """
    if spec in LIBRARIES:
        d, lib, v, pkg = LIBRARIES[spec]
        for base in search_dirs():
            if (base / d / lib).is_file():
                found = _parse_liberty(base / d / lib, spec)
                models = base / d / v
                return replace(found, cells_v=models if models.is_file() else None)
        raise LibraryError(f"standard-cell library {spec} not found (looked in "
                           f"{', '.join(str(b) for b in search_dirs())}): "
                           + _INSTALL_HINT.format(pkg=pkg, d=d))
    if not spec.endswith(".lib"):
        raise LibraryError(f"unknown library {spec!r}; expected one of "
                           f"{', '.join(LIBRARIES)} or a Liberty file path ending in .lib")
    path = Path(spec)
    if not path.is_file():
        raise LibraryError(f"{spec}: Liberty file not found")
    return _parse_liberty(path.resolve(), path.stem)
