"""Summaries (JSON, Markdown) and one reproduction directory per bad outcome."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import time
from collections import Counter
from pathlib import Path

from fuzz.classify import BAD, CLASSES

__all__ = ["save_repro", "signature", "summarize", "write_summary"]


def signature(oc) -> str:
    """What makes two bad outcomes 'the same finding': class, command, mutation class, field
    (indices dropped) and the error text with numbers and quoted values blanked."""
    field = re.sub(r"/\d+", "", oc.path)
    det = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", oc.detail)
    det = re.sub(r"\d+", "N", det)[:90]
    return f"{oc.classes[0]}|{oc.command}|{oc.kind.split('-')[0]}|{field}|{det}"


def save_repro(oc, box, repro_dir: Path) -> Path:
    """Copy the case's inputs, the command and the outcome into repro_dir/<id>/."""
    d = repro_dir / f"{oc.id}-{oc.command}-{oc.classes[0]}"
    if d.exists():
        shutil.rmtree(d)
    (d / "in").mkdir(parents=True)
    for name, p in box.inputs.items():
        shutil.copyfile(p, d / "in" / name) if p.exists() else None
    argv = [a.replace(str(box.root), "$SANDBOX") for a in oc.argv]
    (d / "cmd.sh").write_text(
        "#!/bin/sh\n# run from this directory; SANDBOX only matters for absolute names\n"
        f"SANDBOX=${{SANDBOX:-$(mktemp -d)}}\nmkdir -p out\n"
        f"exactbn {' '.join(shlex.quote(a) if '$SANDBOX' not in a else a for a in argv)}\n")
    info = oc.to_json()
    info["stderr_tail"] = getattr(oc, "_stderr", "")[-3000:]
    (d / "outcome.json").write_text(json.dumps(info, indent=1, ensure_ascii=True))
    return d


def summarize(outcomes: list, seconds: float, argv: list[str]) -> dict:
    per_class = Counter(o.classes[0] for o in outcomes)
    flags = Counter(c for o in outcomes for c in o.classes)
    per_cmd: dict[str, Counter] = {}
    for o in outcomes:
        per_cmd.setdefault(o.command, Counter())[o.classes[0]] += 1
    findings: dict[str, dict] = {}
    for o in outcomes:
        bad = [c for c in o.classes if c in BAD]
        if not bad:
            continue
        sig = signature(o)
        f = findings.setdefault(sig, {"class": bad[0], "command": o.command, "kind": o.kind,
                                      "file_kind": o.group.split("/")[0],
                                      "path": o.path, "desc": o.desc, "detail": o.detail,
                                      "count": 0, "example": o.id,
                                      "repro": getattr(o, "_repro", None)})
        f["count"] += 1
    return {
        "command": " ".join(argv), "cases": len(outcomes), "seconds": round(seconds, 1),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "per_class": {c: per_class.get(c, 0) for c in CLASSES},
        "bad_flags": {c: flags.get(c, 0) for c in BAD},
        "per_command": {k: {c: v.get(c, 0) for c in CLASSES if v.get(c, 0)}
                        for k, v in sorted(per_cmd.items())},
        "findings": sorted(findings.values(), key=lambda f: (f["class"], f["command"],
                                                            -f["count"])),
    }


def write_summary(summary: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=True))
    lines = [f"# exactbn fuzz: {summary['cases']} cases in {summary['seconds']} s", "",
             f"`{summary['command']}`", "", "| class | cases |", "|---|---|"]
    lines += [f"| {c} | {n} |" for c, n in summary["per_class"].items()]
    cols = [c for c in CLASSES if any(v.get(c) for v in summary["per_command"].values())]
    lines += ["", "| command | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for cmd, v in summary["per_command"].items():
        lines.append(f"| {cmd} | " + " | ".join(str(v.get(c, 0)) for c in cols) + " |")
    lines += ["", f"## Distinct bad outcomes ({len(summary['findings'])})", ""]
    for f in summary["findings"]:
        lines.append(f"- [{f['class']}] {f['command']} ({f['count']}x, {f['file_kind']} "
                     f"{f['kind']}): {f['desc']} -> "
                     f"{f['detail'][:200]}; repro: {f['repro']}")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
