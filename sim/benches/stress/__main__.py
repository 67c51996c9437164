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
    a = p.parse_args(argv)
    r = run_stress(a.solved, a.out, layer=a.layer, beats=a.beats, seed=a.seed,
                   pipeline=a.pipeline, cfg_in_reset=a.cfg_in_reset)
    print(r.line)
    print(f"{r.seconds:.1f} s (compile + run) in {r.workdir}")
    return 0 if r.passed else 1


if __name__ == "__main__":
    sys.exit(main())
