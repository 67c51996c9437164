"""Small helpers shared by the subcommands: console output and option parsing."""

from __future__ import annotations

import sys

from rich.console import Console

from exactbn.cli.main import UsageError

__all__ = ["console", "err_console", "parse_int_triple", "without_gc"]

# Tables are read in terminals and in CI logs alike: never squeeze them below 160 columns.
# markup=False: layer names and paths come from users' files; "[/]" in one is just text.
console = Console(highlight=False, markup=False, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, highlight=False, markup=False)


def without_gc(run, args) -> int:
    """run(args) with the cyclic garbage collector off: solve and verify make many small
    acyclic objects (certificates), where the collector only costs time."""
    import gc

    gc.disable()
    try:
        return run(args)
    finally:
        gc.enable()


TRIPLE_MAX = 4096


def parse_int_triple(text: str, option: str, names: tuple[str, str, str]) -> tuple:
    """'20,32,31' -> (20, 32, 31); '-' or an empty part means unlimited (None)."""
    parts = text.split(",")
    if len(parts) != 3:
        raise UsageError(f"{option} expects {','.join(names)} (three comma-separated values), "
                         f"got {text!r}")
    out = []
    for name, p in zip(names, parts, strict=True):
        p = p.strip()
        if p in ("", "-"):
            out.append(None)
            continue
        try:
            v = int(p)
        except ValueError:
            raise UsageError(f"{option}: {name} must be an integer, got {p!r}") from None
        if v < (0 if name == "N" else 1):
            raise UsageError(f"{option}: {name} must be {'>= 0' if name == 'N' else '>= 1'}, "
                             f"got {v}")
        if v > TRIPLE_MAX:  # bit widths and shifts: anything larger is a typo, not hardware
            raise UsageError(f"{option}: {name} must be at most {TRIPLE_MAX}, got {v}")
        out.append(v)
    return tuple(out)


def is_tty() -> bool:
    return sys.stderr.isatty()
