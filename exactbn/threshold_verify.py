"""``exactbn verify LAYERS SOLVED --thresholds NAME.json``: check a threshold unit's
thresholds (its manifest) like verify checks (M, B, N), after the solved file.

The thresholds are checked against the exact staircase re-derived from the solved layer's
a, b and output spec (golden/thresholds.py: a count of thresholds met is monotone, so both
ends of every output level decide every input of the range), not compared with a
re-derivation, so any exact set passes and one threshold off by one fails.
"""

from __future__ import annotations

import argparse

__all__ = ["verify_thresholds"]


def verify_thresholds(args: argparse.Namespace, run_verify) -> int:
    """``run_verify(args)`` on the solved file, then every ``--thresholds`` manifest; exit 1
    if any check fails."""
    from exactbn import formats
    from exactbn.cli.common import console
    from exactbn.golden.thresholds import layer_threshold_problems

    paths, args.thresholds = args.thresholds, None
    rc = run_verify(args)
    solved = {sl.name: sl for sl in formats.load_solved(args.solved)}
    ok = True
    for path in paths:
        name, dirs, ts = formats.load_threshold_manifest(path)
        if name not in solved:
            raise formats.FormatError(f"layer {name!r} is not in {args.solved}", file=path,
                                      layer=name, field="layer")
        layer = solved[name]
        bad = layer_threshold_problems(layer, dirs, ts)
        n = layer.channels
        exact = 0 if bad and bad[0][0] < 0 else n - len(bad)
        console.print(f"{name}: thresholds of {path}: {exact}"
                      f"/{n} channels exact on their range")
        for c, why in bad:
            ok = False
            where = f"channel {c}" if c >= 0 else "manifest"
            console.print(f"  FAIL layer {name!r} {where}: thresholds: {why}")
    console.print("thresholds: PASS" if ok else "thresholds: FAIL")
    return rc if ok else 1
