"""`list`: Workflows in a namespace, filtered by label selector and phase (like `argo list`)."""

from __future__ import annotations

import argparse
import json

from ..argo.manifests import PHASES
from ..report import printable as shown
from .options import add_connection_args, add_timeout_arg, client


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list Workflows (newest first)")
    p.add_argument("--selector", "-l", help="label selector, e.g. workflow-type=optimization")
    p.add_argument("--phase", "--status", choices=PHASES, help="only workflows in this phase")
    p.add_argument("--limit", type=int, default=0, help="show at most this many (0 = all)")
    add_connection_args(p)
    add_timeout_arg(p, 60)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    results = client(args).list_workflows(args.selector, args.phase)
    if args.limit > 0:
        results = results[: args.limit]
    if args.output == "json":
        print(json.dumps([{"name": r.name, "phase": r.phase, "startedAt": r.started_at,
                           "finishedAt": r.finished_at, "message": r.message, "labels": r.labels,
                           "outputs": r.outputs} for r in results], indent=2))
        return 0
    if not results:
        print("no workflows")
        return 0
    # names and times come from the cluster: control characters shown as \\xNN (workflow_report's docstring)
    rows = [[shown(str(v)) for v in (r.name, r.phase, r.started_at or "-", r.finished_at or "-")] for r in results]
    width = max(len(row[0]) for row in rows)
    print(f"{'NAME':<{width}}  {'PHASE':<9}  {'STARTED':<20}  FINISHED")
    for name, phase, started, finished in rows:
        print(f"{name:<{width}}  {phase:<9}  {started:<20}  {finished}")
    return 0
