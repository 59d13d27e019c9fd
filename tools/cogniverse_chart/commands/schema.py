"""`schema`: regenerate values.schema.json from charts/cogniverse/schema/ (or --check it)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import CHART_DIR, values_schema


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schema", help="build values.schema.json from the authored schema parts")
    p.add_argument("--chart", type=Path, default=CHART_DIR)
    p.add_argument("--check", action="store_true", help="fail (exit 1) when the committed file is stale")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.check:
        if values_schema.is_current(args.chart):
            print(f"{args.chart / values_schema.SCHEMA_FILE} is up to date")
            return 0
        print(f"{args.chart / values_schema.SCHEMA_FILE} is stale: run `cogniverse-chart schema`", file=sys.stderr)
        return 1
    print(f"wrote {values_schema.write(args.chart)}")
    return 0
