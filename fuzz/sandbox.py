"""A fresh directory per case, and what changed in it outside -o."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PLACEHOLDER", "Sandbox"]

PLACEHOLDER = b"@SANDBOX@"  # replaced by the sandbox root in mutant bytes and arguments


def _digest(p: Path) -> str:
    try:
        if p.is_symlink():
            return "link:" + os.readlink(p)
        if p.is_dir():
            return "dir"
        st = p.stat()
        if not stat.S_ISREG(st.st_mode):
            return f"special:{stat.S_IFMT(st.st_mode)}"  # never open a FIFO or device
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    except OSError as e:
        return f"error:{e.__class__.__name__}"


@dataclass
class Sandbox:
    """root/a/b/c is the working directory (so '../../x' names stay inside root); inputs go
    in work/in, outputs in work/out."""

    root: Path
    work: Path
    inputs: dict[str, Path] = field(default_factory=dict)
    keep: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, base: str | os.PathLike) -> Sandbox:
        Path(base).mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix="case-", dir=base)).resolve()
        work = root / "a" / "b" / "c"
        (work / "in").mkdir(parents=True)
        (work / "out").mkdir()
        return cls(root, work)

    def sub(self, text: str) -> str:
        return text.replace(PLACEHOLDER.decode(), str(self.root))

    def add_input(self, name: str, data: bytes) -> Path:
        p = self.work / "in" / name
        p.write_bytes(data.replace(PLACEHOLDER, str(self.root).encode()))
        self.inputs[name] = p
        return p

    def snapshot(self, exclude: list[Path]) -> dict[str, str]:
        """relative path -> digest of everything under root but the inputs and ``exclude``."""
        skip = {p.resolve() for p in self.inputs.values()}
        ex = [p.resolve() if p.exists() else p for p in exclude]
        snap: dict[str, str] = {}
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            d = Path(dirpath)
            dirnames[:] = [n for n in dirnames if not _under(d / n, ex)]
            for n in dirnames:
                snap[str((d / n).relative_to(self.root)) + "/"] = "dir"
            for n in filenames:
                p = d / n
                if p in skip or _under(p, ex):
                    continue
                snap[str(p.relative_to(self.root))] = _digest(p)
        return snap

    def input_digests(self) -> dict[str, str]:
        return {n: _digest(p) for n, p in self.inputs.items()}

    def remove(self) -> None:
        for dirpath, dirnames, _ in os.walk(self.root):
            for n in dirnames:  # a case may leave read-only directories behind
                try:
                    os.chmod(os.path.join(dirpath, n), 0o755)
                except OSError:
                    pass
        shutil.rmtree(self.root, ignore_errors=True)


def _under(p: Path, roots: list[Path]) -> bool:
    return any(p == r or r in p.parents for r in roots)
