"""`annotations`: generate Chart.yaml's artifacthub.io/changes and artifacthub.io/images (or --check them)."""

from __future__ import annotations

import argparse
import json
import sys

from .. import release

from .stale import report as stale_report
from .options import add_chart_arg, chart_of


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("annotations", help="generate the Artifact Hub annotations from CHANGELOG.md and the "
                                           "pinned images (--check: fail when Chart.yaml is stale)")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 when Chart.yaml is stale")
    add_chart_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    stale = release.write_annotations(chart_of(args), check=args.check)
    path = chart_of(args) / "Chart.yaml"
    if args.check:
        code = stale_report(args, "annotations", "generated/annotations", [str(path)] if stale else [],
                            "artifacthub.io annotations are stale: run `cogniverse-chart annotations`", 1)
        if code is not None:
            return code
    if args.output == "json":
        print(json.dumps({"path": str(path), "stale": stale, "written": stale and not args.check}))
    elif args.check and stale:
        print(f"{path}: artifacthub.io annotations are stale: run `cogniverse-chart annotations`", file=sys.stderr)
    else:
        print(f"wrote {path}" if stale else "annotations are up to date")
    return 1 if (args.check and stale) else 0
