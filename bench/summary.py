"""Collect every benchmark's Markdown into bench/results/SUMMARY.md (run by `make bench`)."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from exactbn.formats import write_text_atomic

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parts = [
        "# exactbn benchmark summary",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}. Each section comes from the JSON beside it; rerun "
        "with the command named in the section.",
        "",
    ]
    for md in sorted(RESULTS.glob("*.md")):
        if md.name == "SUMMARY.md":
            continue
        parts += [md.read_text().rstrip(), ""]
    for js in sorted(RESULTS.glob("*.json")):
        try:
            json.loads(js.read_text())
        except json.JSONDecodeError as e:
            parts += [f"**{js.name} is not valid JSON: {e}**", ""]
    write_text_atomic(RESULTS / "SUMMARY.md", "\n".join(parts) + "\n")
    print(f"wrote {RESULTS / 'SUMMARY.md'}")


if __name__ == "__main__":
    main()
