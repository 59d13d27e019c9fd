"""The `cogniverse-chart` command line: a thin layer that parses arguments and formats results.

Each subcommand lives in its own module under cogniverse_chart.commands and exposes
`register(subparsers)`; the parser it adds sets `func(args) -> int`.
Exit codes: 0 ok, 1 findings/failure, 2 usage or input errors (one line, no traceback).
"""

from __future__ import annotations

import argparse
import importlib
import os
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
    "ct",
    "generate",
    "submit",
    "trigger",
    "wait",
    "list",
    "package",
    "annotations",
]


OUTPUTS = ["human", "json", "junit", "sarif", "github"]
#: Global options that take a value (for finding the subcommand in argv).
_VALUED = {"-o", "--output", "--config"}
_ARGV: list[str] = []  # the arguments main() parses (for the format of a usage error)


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter without its `import shutil` (and zlib, bz2, lzma behind it) on every
    add_argument: the terminal width comes from os, which is loaded already. Start-up matters for
    `validate` in pipelines (benchmarks/bench_validate.py)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        if width is None:
            try:
                width = int(os.environ["COLUMNS"])
            except (KeyError, ValueError):
                try:
                    width = os.get_terminal_size(sys.__stdout__.fileno()).columns
                except (OSError, AttributeError, ValueError):
                    width = 80
            width -= 2
        super().__init__(prog, indent_increment, max_help_position, width)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2), like every other input error of the toolkit."""

    def __init__(self, *args, **kw) -> None:  # type: ignore[no-untyped-def]
        kw.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kw)

    def error(self, message: str) -> NoReturn:
        _fail(self.prog, f"{message} (see {self.prog} --help)", _requested_output(_ARGV))
        self.exit(2)


def _requested_output(argv: list[str]) -> str:
    out = "human"
    for i, arg in enumerate(argv):
        name, eq, value = arg.partition("=")
        long = len(name) >= 4 and "--output".startswith(name)  # argparse takes --out, --outp... for --output
        if (arg == "-o" or (long and not eq)) and i + 1 < len(argv):
            out = argv[i + 1]
        elif long and eq:
            out = value
        elif arg.startswith("-o") and len(arg) > 2:
            out = arg[2:]
    return out if out in OUTPUTS else "human"


def _fail(prog: str, message: str, output: str, chart: str | None = None) -> None:
    """One error line on stderr; in the machine formats also the error in that format on stdout, with the
    file and line the message names (a template Helm failed on in `chart`, an unreadable input file)."""
    from .report import error_location, failure

    failure(prog, message, output, error_location(message, chart) if output != "human" else None)


def _chosen_command(argv: list[str]) -> str | None:
    """The subcommand named in argv (the first argument that is not a global option), if known."""
    it = iter(argv)
    for arg in it:
        if arg in _VALUED:
            next(it, None)
        elif not arg.startswith("-"):
            return arg if arg in COMMANDS else None
        elif arg in ("-h", "--help", "--"):  # `--` before the command: argparse's error lists every command (E28)
            return None
    return None


def add_global_args(p: argparse.ArgumentParser, *, top: bool = False) -> None:
    """--output and --config: accepted before the subcommand and anywhere after it (`validate x.yaml -o json`).
    Only the top-level parser sets defaults, so a value given before the subcommand is not reset."""
    default: dict = {"default": "human"} if top else {"default": argparse.SUPPRESS}
    if "--output" not in p._option_string_actions:
        p.add_argument("--output", "-o", choices=OUTPUTS, **default,
                       help="output format: human, json, junit, sarif, github (default: human)")
    if "--config" not in p._option_string_actions:
        p.add_argument("--config", metavar="FILE", **({"default": None} if top else default),
                       help="config file (default: the nearest .cogniverse-chart.toml or pyproject.toml "
                            "[tool.cogniverse-chart])")


def _every_subparser(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for p in dict.fromkeys(action.choices.values()):
                yield p
                yield from _every_subparser(p)


def _version() -> str:
    from . import __version__

    return f"cogniverse-chart {__version__}"


class _VersionAction(argparse.Action):
    def __init__(self, option_strings, dest, **kw):  # type: ignore[no-untyped-def]
        super().__init__(option_strings, dest, nargs=0, help="print the toolkit's version and exit")

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        print(_version())
        parser.exit(0)


def _skip_argparse_catalogue() -> None:
    """argparse passes every help and error text through gettext, which looks for a translation catalogue
    of the default domain on each call (locale names expanded and normalised: a tenth of the parser's
    start-up in `validate`). Where no catalogue is installed the lookups can only return the text itself,
    so they are skipped; where one is, argparse translates as always."""
    import gettext

    if gettext.find(gettext.textdomain()) is None:
        argparse._ = lambda message: message  # type: ignore[attr-defined]
        argparse.ngettext = lambda singular, plural, n: singular if n == 1 else plural  # type: ignore[attr-defined]


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given argv naming a subcommand, only that subcommand's module is imported (each
    imports its own libraries: jinja2, the lint rules, the kubernetes client), which keeps start-up short
    for scripts and pipelines. Help and unknown commands still see every subcommand."""
    _skip_argparse_catalogue()
    parser = _Parser(prog="cogniverse-chart", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action=_VersionAction)
    add_global_args(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    chosen = _chosen_command(argv) if argv is not None else None
    for name in [chosen] if chosen else COMMANDS:
        importlib.import_module(f"cogniverse_chart.commands.{name}").register(sub)
    for p in _every_subparser(parser):
        add_global_args(p)
    return parser


def _pre_commit_argv(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """`validate --pre-commit [ARGS] FILE...` (the pre-commit hook's entry): pre-commit passes the file names
    last, after the hook's args, and as they are; the trailing ones that exist are files, even when they
    look like options (a file named `--skip=ConfigMap,x.yaml` must not switch validation off). A hook arg
    that is an option's value (`--values values.yaml`) stays with its option."""
    if "--pre-commit" not in argv or "--" in argv:
        return argv
    valued = {o for p in [parser, *_every_subparser(parser)] for a in p._actions if a.nargs != 0
              for o in a.option_strings}
    first, end = argv.index("--pre-commit") + 1, len(argv)
    while end > first and os.path.lexists(argv[end - 1]) and not (end - 2 >= first and argv[end - 2] in valued):
        end -= 1
    return [*argv[:end], "--", *argv[end:]]


def main(argv: list[str] | None = None) -> int:
    """Run one command. In a GitHub Actions job (GITHUB_ACTIONS=true) stderr is the job log whatever the
    output format (`-o sarif` writes the report to a file, its errors to the log): no line on it may be read
    as a workflow command, so a file name with a newline cannot inject `::add-mask::` or `::error::`."""
    if sys.stderr is None:  # started with stderr closed (2>&-): errors go nowhere, the exit code still tells
        sys.stderr = open(os.devnull, "w")
    if sys.stdout is None:  # stdout closed (>&-): no report can be written; exit 2, never "1 = findings"
        print("cogniverse-chart: error: standard output is closed: the report cannot be written", file=sys.stderr)
        return 2
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return _main(argv)
    from .github_log import GithubLog

    sys.stderr = GithubLog(sys.stderr)
    try:
        return _main(argv)
    finally:
        sys.stderr = sys.stderr.finish()


def _main(argv: list[str] | None) -> int:
    global _ARGV
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    argv = _ARGV = _pre_commit_argv(argv, parser)
    from . import ARGV

    ARGV[:] = argv
    args = parser.parse_args(argv)
    prog = f"cogniverse-chart {args.command}"
    if args.output != "github":
        return _run(args, prog)
    from .github_log import GithubLog  # every line the run prints is kept from being read as a workflow command

    wrap_err = not isinstance(sys.stderr, GithubLog)  # wrapped already in an Actions job (main)
    sys.stdout = GithubLog(sys.stdout)
    if wrap_err:
        sys.stderr = GithubLog(sys.stderr)
    try:
        return _run(args, prog)
    finally:
        sys.stdout = sys.stdout.finish()
        if wrap_err:
            sys.stderr = sys.stderr.finish()


#: Commands whose output is not a findings report: SARIF and JUnit of them would be YAML or text in a file
#: the CI reads as a report (the Action's `output-file: results.sarif`).
_NO_REPORT = {"render", "package", "schemas", "list"}


def _run(args: argparse.Namespace, prog: str) -> int:
    if args.output in ("sarif", "junit") and (args.command in _NO_REPORT or getattr(args, "list_rules", False)):
        _fail(prog, f"{args.command} reports no findings, so it has no {args.output} output; -o {args.output} is for "
                    f"validate, lint, check and ct (use -o json or human here)", args.output)
        return 2
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # the report reached its file (a full disk is an error here, not at exit)
        return code
    except ToolkitError as exc:
        _fail(prog, str(exc), args.output, getattr(exc, "chart", None))
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early: 141 (128 + SIGPIPE), as a shell tool
        # killed by the signal would give; never 1, which means findings (D58)
        try:
            sys.stdout = open(os.devnull, "w")  # the interpreter's flush at exit must not fail again
        except OSError:
            pass
        return 141
    # Safety nets: the commands turn these into precise ToolkitErrors where they can arise; anything
    # that slips through still ends as one line and exit 2, never a traceback.
    except UnicodeError as exc:
        _fail(prog, f"input is not UTF-8 text ({exc.reason}); save it as UTF-8", args.output)
        return 2
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else "cannot write the output or read an input: "
        _fail(prog, f"{where}{exc.strerror or exc}", args.output)
        return 2
    except RecursionError:
        _fail(prog, "input nested too deeply to process", args.output)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
