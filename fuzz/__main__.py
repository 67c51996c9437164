"""``python -m fuzz``: build the seeds, the cases, run them and write the summary."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fuzz.campaign import run_cases
from fuzz.cases import all_cases, sample
from fuzz.classify import BAD
from fuzz.report import summarize, write_summary
from fuzz.seeds import build_seeds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__)
    p.add_argument("--seed", type=int, default=1, help="mutation and sampling seed")
    p.add_argument("--cases", type=int, default=None,
                   help="run a sample of this many cases (default: every case)")
    p.add_argument("--slow", action="store_true",
                   help="also run sim, prove and synth (validation stage, short timeouts)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes")
    p.add_argument("--max-generate", type=int, default=None,
                   help="at most this many generate cases (about 1 s each)")
    p.add_argument("--max-slow", type=int, default=40,
                   help="at most this many cases of each of sim, prove and synth (--slow)")
    p.add_argument("--only", default=None,
                   help="only cases whose 'input kind/command/mutation class|mutation' (e.g. "
                   "'solved/prove/name|name:dotdot') contains one of these comma-separated "
                   "texts")
    p.add_argument("-o", "--out", default="/tmp/fuzz", help="summary, repro/ and work/ here")
    p.add_argument("-q", "--quiet", action="store_true")
    args = p.parse_args(argv)
    out = Path(args.out)
    seeds = build_seeds(out / "seeds")
    cases = all_cases(seeds, args.seed, slow=args.slow)
    if args.only:
        cases = [c for c in cases
                 if any(o in f"{c.group}|{c.mutant.kind}" for o in args.only.split(","))]
    caps = {c: args.max_slow for c in ("sim", "prove", "synth")}
    if args.max_generate is not None:
        caps["generate"] = args.max_generate
    cases = sample(cases, args.cases, args.seed, max_per_command=caps)
    outcomes, secs = run_cases(cases, out, jobs=args.jobs, quiet=args.quiet)
    summary = summarize(outcomes, secs, ["python -m fuzz", *(argv or sys.argv[1:])])
    write_summary(summary, out)
    bad = {c: summary["bad_flags"][c] for c in BAD if summary["bad_flags"][c]}
    print(f"fuzz: {len(outcomes)} cases in {secs:.0f} s; " + ", ".join(
        f"{c} {n}" for c, n in summary["per_class"].items() if n) + f"; summary in {out}/"
          "summary.md")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
