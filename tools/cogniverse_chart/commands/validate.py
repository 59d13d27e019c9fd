"""`validate PATH... | -`: strict schema validation of any manifest stream, and of values files."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import CHART_DIR
from ..documents import read_paths
from ..errors import ToolkitError
from ..report import emit
from ..validate import check_values_files
from .options import add_schema_args, validator_from_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="validate manifests against strict Kubernetes and Argo schemas",
                       description="Validate every object in the given files/directories ('-' = stdin) "
                                   "against bundled strict schemas. Exit 0 valid, 1 invalid, 2 bad input.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="manifest file, directory, or '-' for stdin")
    add_schema_args(p)
    p.add_argument("--values", action="append", default=[], type=Path, metavar="FILE",
                   help="also validate a values file against the chart's values.schema.json; repeatable")
    p.add_argument("--chart", type=Path, default=CHART_DIR, help="chart whose values.schema.json to use")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.paths and not args.values:
        raise ToolkitError("nothing to validate: give manifest paths, '-' for stdin, or --values FILE")
    validator = validator_from_args(args)
    findings, checked = validator.validate_stream(read_paths(args.paths))
    findings += check_values_files(args.values, args.chart)
    return emit(findings, args.output, command="validate", checked=checked + len(args.values))
