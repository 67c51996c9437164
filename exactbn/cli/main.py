"""The ``exactbn`` command: parses arguments and hands each subcommand to its module.

Each subcommand lives in ``exactbn.cli.cmd_<name>`` with ``add_parser(subparsers)`` and
``run(args) -> int``. Exit status: 0 success, 1 a check failed, 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from exactbn.formats import FormatError

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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="exactbn",
        description="Exact fixed-point batch-normalization hardware: solve, generate, "
        "simulate, prove, synthesize.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"exactbn.cli.cmd_{name}")
        except ModuleNotFoundError as e:
            if e.name == f"exactbn.cli.cmd_{name}":
                continue
            raise
        p = mod.add_parser(sub)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except FormatError as e:
        print(f"exactbn: error: {e}", file=sys.stderr)
        return 2
    except UsageError as e:
        print(f"exactbn: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("exactbn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
