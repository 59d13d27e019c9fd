"""`schema`: regenerate the chart's values.schema.json from its schema/ folder (or --check it)."""

from __future__ import annotations

import argparse
import json
import sys

from .. import values_schema
from ..errors import ToolkitError
from .stale import report as stale_report
from .options import add_chart_arg, chart_of


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schema", help="build values.schema.json from the authored schema parts")
    add_chart_arg(p)
    p.add_argument("--check", action="store_true", help="fail (exit 1) when the committed file is stale")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    chart = chart_of(args)
    if not values_schema.authored_in_parts(chart):
        raise ToolkitError(f"{chart}: no {values_schema.SCHEMA_SOURCE}/_root.yaml to build values.schema.json from "
                           f"(this command is for charts that author their schema in parts)")
    path = chart / values_schema.SCHEMA_FILE
    if args.check:
        current = values_schema.is_current(chart)
        code = stale_report(args, "schema", "generated/values-schema", [] if current else [str(path)],
                            "values.schema.json is stale: run `cogniverse-chart schema`", 1)
        if code is not None:
            return code
        if args.output == "json":
            print(json.dumps({"command": "schema", "ok": current, "path": str(path), "stale": not current}))
        elif current:
            print(f"{path} is up to date")
        else:
            print(f"{path} is stale: run `cogniverse-chart schema`", file=sys.stderr)
        return 0 if current else 1
    written = values_schema.write(chart)
    if args.output == "json":
        print(json.dumps({"command": "schema", "ok": True, "written": str(written)}))
    else:
        print(f"wrote {written}")
    return 0
