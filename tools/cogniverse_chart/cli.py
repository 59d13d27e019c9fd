"""The `cogniverse-chart` command line: a thin layer that parses arguments and formats results.

Each subcommand lives in its own module under cogniverse_chart.commands and exposes
`register(subparsers)`; the parser it adds sets `func(args) -> int`.
Exit codes: 0 ok, 1 findings/failure, 2 usage or input errors (one line, no traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from .errors import ToolkitError

#: Subcommand modules, in help order.
COMMANDS = [
    "render",
    "schema",
    "schemas",
    "validate",
    "lint",
    "docs",
    "check",
    "generate",
    "submit",
    "trigger",
    "wait",
    "list",
    "package",
    "annotations",
]


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2), like every other input error of the toolkit."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _chosen_command(argv: list[str]) -> str | None:
    """The subcommand named in argv (the first argument that is not a global option), if known."""
    it = iter(argv)
    for arg in it:
        if arg in ("-o", "--output"):
            next(it, None)
        elif not arg.startswith("-"):
            return arg if arg in COMMANDS else None
        elif arg in ("-h", "--help"):
            return None
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given argv naming a subcommand, only that subcommand's module is imported (each
    imports its own libraries: jinja2, the lint rules, the kubernetes client), which keeps start-up short
    for scripts and pipelines. Help and unknown commands still see every subcommand."""
    parser = _Parser(prog="cogniverse-chart", description=__doc__.splitlines()[0])
    parser.add_argument("--output", "-o", choices=["human", "json"], default="human",
                        help="output format (default: human)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = _chosen_command(argv) if argv is not None else None
    for name in [chosen] if chosen else COMMANDS:
        importlib.import_module(f"cogniverse_chart.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ToolkitError as exc:
        print(f"cogniverse-chart {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 1
    # Safety nets: the commands turn these into precise ToolkitErrors where they can arise; anything
    # that slips through still ends as one line and exit 2, never a traceback.
    except UnicodeError as exc:
        print(f"cogniverse-chart {args.command}: error: input is not UTF-8 text ({exc.reason}); "
              f"save it as UTF-8", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"cogniverse-chart {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except RecursionError:
        print(f"cogniverse-chart {args.command}: error: input nested too deeply to process", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
