"""``python -m fuzz.reliability --fuzz S.json ... --stress R.json ...``: write
bench/results/reliability.md and .json from fuzz summaries and stress-bench results."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fuzz.classify import BAD, CLASSES

OUT = Path(__file__).resolve().parents[1] / "bench" / "results" / "reliability"


def render(fuzz: list[dict], stress: list[dict], notes: list[str]) -> str:
    lines = ["# Reliability: fuzzing and stream stress", "",
             "Produced by `python -m fuzz.reliability` from the runs below (commands as run). "
             "Fuzz classes: `exit2` clean refusal (one line, exit 2), `check-failed` exit 1, "
             "`success`, `slow` (a slow command timed out on an input it may accept), and the "
             "bad ones: " + ", ".join(f"`{c}`" for c in BAD) + ".", ""]
    for s in fuzz:
        lines += [f"## Fuzz: {s['cases']} cases in {s['seconds']:.0f} s", "", f"`{s['command']}`"
                  + (f" (at {s['when']})" if s.get("when") else ""), "",
                  "| command | " + " | ".join(CLASSES) + " |", "|---" * (len(CLASSES) + 1) + "|"]
        for cmd, v in s["per_command"].items():
            lines.append(f"| {cmd} | " + " | ".join(str(v.get(c, 0)) for c in CLASSES) + " |")
        lines.append("| **all** | " + " | ".join(str(s["per_class"].get(c, 0)) for c in CLASSES)
                     + " |")
        if s["findings"]:
            lines += ["", f"Distinct bad outcomes ({len(s['findings'])}):", ""]
            lines += [f"- [{f['class']}] {f['command']} ({f['count']}x, {f.get('file_kind', '')}"
                      f" {f['kind']}): {f['desc']} -> {f['detail'][:160]}"
                      for f in s["findings"]]
        lines.append("")
    if stress:
        lines += ["## Stream stress bench (Icarus, plain Verilog)", "",
                  "`sim/benches/stress/stress_tb.v` on a RAM-store unit from `exactbn generate`; "
                  "every output beat checked against golden's integer model.", "",
                  "| layer | result | beats | cycles | resets | cfg writes | cfg handshakes in "
                  "reset | bad-address writes | 1,000-cycle stalls | withdrawn valids | s |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in stress:
            st = r["stats"]
            lines.append(f"| {r['layer']} | {'PASS' if r['passed'] else 'FAIL'} | "
                         f"{st.get('beats', '-')} | {st.get('cycles', '-')} | "
                         f"{st.get('resets', '-')} | {st.get('cfg_writes', '-')} | "
                         f"{st.get('cfg_handshakes_in_reset', '-')} | "
                         f"{st.get('bad_addr_writes', '-')} | {st.get('stalls_1000', '-')} | "
                         f"{st.get('withdrawn', '-')} | {r['seconds']:.0f} |")
        lines += [""] + [f"- `{r['command']}`" for r in stress] + [""]
    lines += [f"- {n}" for n in notes]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fuzz.reliability", description=__doc__)
    p.add_argument("--fuzz", nargs="*", default=[], help="fuzz summary.json files")
    p.add_argument("--stress", nargs="*", default=[], help="stress result .json files")
    p.add_argument("--note", action="append", default=[], help="a line for the notes")
    p.add_argument("-o", "--out", default=str(OUT), help="path without .md/.json")
    a = p.parse_args(argv)
    fuzz = [json.loads(Path(f).read_text()) for f in a.fuzz]
    for s in fuzz:  # reproduction paths are local to the machine that ran it
        for f in s["findings"]:
            f.pop("repro", None)
    stress = [json.loads(Path(f).read_text()) for f in a.stress]
    out = Path(a.out)
    out.with_suffix(".json").write_text(json.dumps({"fuzz": fuzz, "stress": stress,
                                                    "notes": a.note}, indent=1) + "\n")
    out.with_suffix(".md").write_text(render(fuzz, stress, a.note))
    return 0


if __name__ == "__main__":
    sys.exit(main())
