"""The ``exactbn`` command: parses arguments and hands each subcommand to its module.

Each subcommand lives in ``exactbn.cli.cmd_<name>`` with ``add_parser(subparsers)`` and
``run(args) -> int``. Exit status: 0 success, 1 a check failed, 2 bad input or usage,
3 an internal error (a bug in exactbn: one line, never mistaken for a failed check).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from pathlib import Path

from exactbn.formats import FormatError
from exactbn.toolchain import ToolError

__all__ = ["main", "UsageError", "COMMANDS"]

# Order shown in --help; a module that is absent is simply not offered.
COMMANDS = ("solve", "verify", "generate", "sim", "synth", "prove", "import", "demo")


class UsageError(Exception):
    """A bad option value: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own usage errors also exit 2, without traceback
        self.print_usage(sys.stderr)
        print(f"exactbn: error: {message}", file=sys.stderr)
        sys.exit(2)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or (``only``: a command name) just that command's: its module alone
    is imported, so `exactbn solve ...` does not load the hardware modules."""
    parser = _Parser(
        prog="exactbn",
        description="Exact fixed-point batch-normalization hardware: solve, generate, "
        "simulate, prove, synthesize.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS if only not in COMMANDS else (only,):
        try:
            mod = importlib.import_module(f"exactbn.cli.cmd_{name}")
        except ModuleNotFoundError as e:
            if e.name == f"exactbn.cli.cmd_{name}":
                continue
            raise
        p = mod.add_parser(sub)
        p.set_defaults(_run=mod.run)
    return parser


EXIT_INTERNAL = 3


def _say(text: str) -> None:
    """One line on stderr that never fails (lone surrogates, odd encodings, closed pipes)."""
    line = " ".join(text.split("\n"))
    try:
        enc = getattr(sys.stderr, "encoding", None) or "utf-8"
        print(line.encode(enc, "backslashreplace").decode(enc, "replace"), file=sys.stderr)
    except (OSError, ValueError):
        pass


# Commands whose -o is a directory, and those that replace that directory whole.
_DIR_OUTPUTS = {"generate", "synth", "sim", "prove", "demo"}
_REPLACED_DIRS = {"generate", "synth"}


def check_outputs(args: argparse.Namespace) -> None:
    """Every command's -o, before anything runs: a path, never an input file, and (for a
    directory replaced whole) one exactbn wrote, holding no input."""
    from exactbn.formats import check_output_path, check_replaceable_dir, check_writable

    outs = [getattr(args, a) for a in ("output", "out") if getattr(args, a, None) is not None]
    inputs = []
    for a in ("layers", "solved", "model"):  # prove's --model is a list of files
        v = getattr(args, a, None)
        inputs += v if isinstance(v, list) else [v]
    for out in outs:
        is_dir = args.command in _DIR_OUTPUTS
        replaced = args.command in _REPLACED_DIRS
        check_output_path(out, inputs, is_dir=is_dir, replaced=replaced)
        check_writable(out, is_dir=is_dir)
        if replaced:
            check_replaceable_dir(out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    try:
        check_outputs(args)
        return int(args._run(args) or 0)
    except FormatError as e:
        _say(f"exactbn: error: {e}")
        return 2
    except (UsageError, ToolError) as e:
        _say(f"exactbn: error: {e}")
        return 2
    except KeyboardInterrupt:
        _say("exactbn: interrupted")
        return 130
    except BrokenPipeError:  # e.g. `exactbn verify ... | head`: never a success status
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python flushes it at exit
        except OSError:
            pass
        return 141
    except Exception as e:  # noqa: BLE001 - the last line of defence, never a traceback
        if os.environ.get("EXACTBN_TRACEBACK"):
            raise
        where = traceback.extract_tb(e.__traceback__)[-1]
        _say(f"exactbn: internal error: {type(e).__name__}: {str(e)[:300]} (at "
             f"{Path(where.filename).name}:{where.lineno}; please report; EXACTBN_TRACEBACK=1 "
             "shows the traceback)")
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
