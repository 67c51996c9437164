"""Run one case in a fresh sandbox and classify what happened."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from fuzz.cases import SLOW_COMMANDS, Case
from fuzz.classify import classify
from fuzz.runner import Result, run_inprocess, run_subprocess
from fuzz.sandbox import Sandbox

__all__ = ["Outcome", "execute"]


@dataclass
class Outcome:
    id: str
    command: str
    group: str
    kind: str
    path: str
    desc: str
    verdict: str
    classes: list[str]
    detail: str
    rc: int | None
    seconds: float
    argv: list[str]

    def to_json(self) -> dict:
        return asdict(self)


def _diff(before: dict, after: dict) -> list[str]:
    out = []
    for p in sorted(set(before) | set(after)):
        if p not in before:
            out.append(f"+{p}")
        elif p not in after:
            out.append(f"-{p}")
        elif before[p] != after[p]:
            out.append(f"~{p}")
    return out


def _manifest_exact(kit: Path) -> bool | None:
    for p in sorted(kit.glob("*.json")) if kit.is_dir() else []:
        try:
            obj = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(obj, dict) and isinstance(obj.get("exactness"), dict):
            return bool(obj["exactness"].get("exact"))
    return None


def _kit_compiles(kit: Path) -> str | None:
    """None when the kit's unit and bench compile under Icarus (or Icarus is absent)."""
    if not shutil.which("iverilog") or not kit.is_dir():
        return None
    tbs = sorted(kit.glob("*_tb.v"))
    units = [p for p in kit.glob("*.v") if not p.name.endswith(("_tb.v", "_inst.v"))]
    if not tbs or not units:
        return "kit has no unit or bench"
    r = subprocess.run(["iverilog", "-g2005", "-o", os.devnull, *map(str, units), str(tbs[0])],
                       capture_output=True, text=True, timeout=60, cwd=kit)
    return None if r.returncode == 0 else f"kit does not compile: {r.stderr.strip()[:160]}"


def _garbage(case: Case, res: Result, box: Sandbox) -> str | None:
    if res.rc != 0 and not res.timed_out:
        return None
    out = box.work / case.output if case.output else None
    if res.timed_out:
        # still working on a mutant that must be refused: it got past validation
        return "not refused within the timeout" if case.verdict == "refuse" else None
    if case.verdict == "refuse":
        return f"exit 0 on a mutant that must be refused ({case.mutant.kind})"
    if case.verdict in ("inexact", "verify") and case.command == "verify":
        return f"verify passed a file that is wrong ({case.verdict}: {case.mutant.kind})"
    if case.verdict == "inexact" and case.command == "prove":
        return "prove passed parameters that are not exact"
    if case.verdict == "inexact" and case.command == "generate" and out is not None:
        if _manifest_exact(out):
            return "generate wrote a manifest saying exact for parameters that are not"
    if case.command == "import" and out is not None and out.is_file():
        from exactbn import formats
        try:
            formats.load_layers(out)
        except formats.FormatError as e:
            return f"import wrote a layer file exactbn refuses: {str(e)[:160]}"
        except Exception as e:  # noqa: BLE001
            return f"import wrote a layer file that crashes the loader: {e!r}"[:200]
    if "compile-kit" in case.setup and out is not None:
        return _kit_compiles(out)
    return None


def execute(case: Case, base: str | os.PathLike, *, keep: bool = False
            ) -> tuple[Outcome, Sandbox]:
    """Run ``case``; the sandbox is removed unless ``keep`` (the caller saves repros first)."""
    box = Sandbox.create(base)
    for name, data in case.inputs.items():
        box.add_input(name, data)
    if "fifo" in case.setup:
        os.mkfifo(box.work / "in" / "fifo")
    argv = [box.sub(a) for a in case.argv]
    out = box.work / case.output if case.output else None
    exclude = [out] if out is not None else []
    before = box.snapshot(exclude)
    inputs_before = box.input_digests()
    if case.subprocess or case.command in SLOW_COMMANDS:
        mem = None if case.command in SLOW_COMMANDS else 4 << 30
        res = run_subprocess(argv, str(box.work), case.timeout, max_mem=mem)
    else:
        res = run_inprocess(argv, str(box.work), case.timeout)
    after = box.snapshot(exclude)
    changed = _diff(before, after)
    changed += [f"input {n} changed" for n, d in box.input_digests().items()
                if inputs_before.get(n) != d]
    classes, detail = classify(res, garbage=_garbage(case, res, box), outside=changed,
                               may_be_slow=case.command in SLOW_COMMANDS)
    oc = Outcome(case.id, case.command, case.group, case.mutant.kind, case.mutant.path,
                 case.mutant.desc, case.verdict, classes, detail, res.rc,
                 round(res.seconds, 3), argv)
    oc._stderr = (res.exception or "") + res.stderr[-4000:]  # type: ignore[attr-defined]
    if not keep:
        box.remove()
    return oc, box
