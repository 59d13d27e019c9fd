"""`check`: the chart CI job in one command. Render every profile (Helm, in parallel), validate every
object against the strict schemas, lint it, and check the generated files (values.schema.json, docs)
are current. One summary; exit 0 clean, 1 on any error finding, 2 on bad input."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import CHART_DIR, schemas
from ..chart import check, summary
from ..helm import available_helms, find_helm
from ..lint import check_rule_ids
from ..report import emit
from .options import add_schema_args, validator_from_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="render every profile, validate, lint, and check generated files",
                       description=__doc__)
    p.add_argument("--profile", "-p", action="append", default=None,
                   help="check only this profile; repeatable (default: every values/*.yaml)")
    p.add_argument("--disable", action="append", default=[], metavar="RULE", help="lint rule id to skip; repeatable")
    p.add_argument("--no-docs", action="store_true", help="skip the generated-docs staleness check")
    p.add_argument("--helm", choices=["3", "4", "all"], default="all",
                   help="render with Helm 3, Helm 4, or every Helm major found (default: all)")
    p.add_argument("--chart", type=Path, default=CHART_DIR)
    add_schema_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_rule_ids(args.disable)
    if args.argo_version is None:  # the chart targets every bundled Argo version (3.6, 3.7, 4.0)
        args.argo_version = schemas.available("argo")
    helms = available_helms() if args.helm == "all" else [find_helm(int(args.helm))]
    result = check(validator_from_args(args), args.profile, chart=args.chart, helms=helms,
                   disable=args.disable, with_docs=not args.no_docs)
    profiles = summary(result)
    timing = result.timing
    if args.output != "json":
        for name, s in profiles.items():
            print(f"profile {name}: {s['objects']} objects, {s['error']} errors, {s['warning']} warnings")
        print(f"timing: render {timing['render_s']:.2f}s, validate+lint {timing['validate_lint_s']:.2f}s, "
              f"total {timing['total_s']:.2f}s (generated-file checks run alongside)")
    return emit(result.findings, args.output, command="check", checked=sum(len(v) for v in result.rendered.values()),
                extra={"profiles": profiles, "timing": timing})
