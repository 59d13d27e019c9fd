"""The `cogniverse-chart` command line: a thin layer that parses arguments and formats results.

Each subcommand lives in its own module under cogniverse_chart.commands and exposes
`register(subparsers)`; the parser it adds sets `func(args) -> int`.
Exit codes: 0 ok, 1 findings/failure, 2 usage or input errors (one line, no traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys

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
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cogniverse-chart", description=__doc__.splitlines()[0])
    parser.add_argument("--output", "-o", choices=["human", "json"], default="human",
                        help="output format (default: human)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"cogniverse_chart.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
