"""``python -m sim.benches.stress SOLVED.json [--layer L] --beats N -o DIR``."""

from __future__ import annotations

import argparse
import sys

from .run import CFG_IN_RESET, run_stress


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sim.benches.stress", description=__doc__)
    p.add_argument("solved")
    p.add_argument("--layer")
    p.add_argument("--beats", type=int, default=20_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--pipeline", default="default")
    p.add_argument("--cfg-in-reset", choices=("applied", "ignored"), default=CFG_IN_RESET)
    p.add_argument("-o", "--out", default="/tmp/exactbn-stress")
    p.add_argument("--json", help="also write the result (line, counters, seconds) here")
    a = p.parse_args(argv)
    r = run_stress(a.solved, a.out, layer=a.layer, beats=a.beats, seed=a.seed,
                   pipeline=a.pipeline, cfg_in_reset=a.cfg_in_reset)
    print(r.line)
    if a.json:
        import json
        cmd = "python -m sim.benches.stress " + " ".join(argv if argv is not None else sys.argv[1:])
        with open(a.json, "w") as f:
            json.dump({"command": cmd, "layer": a.layer, "passed": r.passed, "line": r.line,
                       "stats": r.stats, "seconds": round(r.seconds, 1),
                       "cfg_in_reset": a.cfg_in_reset}, f, indent=1)
    print(f"{r.seconds:.1f} s (compile + run) in {r.workdir}")
    return 0 if r.passed else 1


if __name__ == "__main__":
    sys.exit(main())
