"""``exactbn verify``: re-check a solved file against its layer file, independently."""

from __future__ import annotations

import argparse

from exactbn import formats


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "verify",
        help="re-check solved parameters (exactness, minimality, certificates)",
        description="Recompute every level transition from a and b, check the integer model "
        "at every constraint, re-derive minimality, check certificates and mismatch counts.",
    )
    p.add_argument("layers", metavar="LAYERS.json")
    p.add_argument("solved", metavar="SOLVED.json")
    p.add_argument("--layer", metavar="NAME", help="verify only this layer")
    p.add_argument("--exhaustive", action="store_true",
                   help="also compare every input of every channel (ranges up to 2^24)")
    p.add_argument("--thresholds", nargs="+", metavar="NAME.json",
                   help="also check threshold units' thresholds (the manifests of generate "
                   "--unit threshold) against the exact staircase of their solved layer")
    return p


def run(args) -> int:
    if getattr(args, "thresholds", None):  # exactbn/threshold_verify.py, then this run
        from exactbn.threshold_verify import verify_thresholds

        return verify_thresholds(args, run)
    from exactbn.cli.common import without_gc

    return without_gc(_run, args)


def _run(args) -> int:
    # Imported here, not at start-up: `exactbn --help` needs none of numba or numpy.
    from exactbn.cli.common import console
    from exactbn.cli.progress import Progress
    from exactbn.golden.verify import EXHAUSTIVE_LIMIT, exhaustive_check, verify_layers

    layers = {lay.name: lay for lay in formats.load_layers(args.layers)}
    if any(lay.channels >= 64 for lay in layers.values()):  # numba checks them anyway: load
        import exactbn.golden.fast_verify  # noqa: F401  it first, the reader then scans in bulk
    scans: dict = {}  # the reader's certificate scans: verify does not scan them again
    solved = formats.load_solved(args.solved, scans=scans)
    if args.layer is not None:
        solved = [formats.select_layer(solved, args.layer, args.solved)]
    ok = True
    for sl in solved:
        if sl.name not in layers:
            raise formats.FormatError(f"layer {sl.name!r} is not in {args.layers}",
                                      file=args.solved, layer=sl.name)
    lines: list[str] = []  # printed at once: one console call, not one per layer
    with Progress("verifying", sum(sl.channels for sl in solved)) as prog:
        # the kernels run once for every wide folded-form layer (golden/verify.py)
        checks = verify_layers(solved, [layers[sl.name] for sl in solved], scans)
        for sl, check in zip(solved, checks, strict=True):
            msg = (f"{sl.name}: {len(check.channels) - len(check.failures())}/{sl.channels} ok"
                   if check.channels else f"{sl.name}: channels not checked")
            if args.exhaustive and check.channels:
                done = 0
                for c in range(sl.channels):
                    lo, hi = sl.ranges()[c]
                    if hi - lo + 1 <= EXHAUSTIVE_LIMIT:
                        bad = exhaustive_check(sl, c)
                        done += hi - lo + 1
                        if bad != sl.mismatches[c]:
                            check.channels[c].ok = False
                            check.channels[c].problems.append(
                                f"exhaustive sweep: {bad} inputs differ, file says "
                                f"{sl.mismatches[c]}")
                msg += f", {done} inputs compared exhaustively"
            prog.advance(sl.channels, sl.name)
            lines.append(msg)
            lines += [f"  note: layer {sl.name!r}: {n}" for n in check.notes]
            for p in check.problems:
                ok = False
                lines.append(f"  FAIL layer {sl.name!r}: {p}")
            for f in check.failures():
                ok = False
                for p in f.problems:
                    lines.append(f"  FAIL layer {sl.name!r} channel {f.channel}: {p}")
    lines.append("verify: PASS" if ok else "verify: FAIL")
    console.print("\n".join(lines))
    return 0 if ok else 1
