"""`trigger`: run a CronWorkflow now (like `argo submit --from cronwf/NAME`)."""

from __future__ import annotations

import argparse

from .options import add_run_args, check_object_name, client, parse_pairs
from .workflow_report import announce


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("trigger", help="run a CronWorkflow now")
    p.add_argument("cron", help="CronWorkflow name (daily-backup, weekly-optimization, ...)")
    add_run_args(p, "override one of the CronWorkflow's parameters; repeatable")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_object_name("the CronWorkflow name", args.cron)
    labels, parameters = parse_pairs(args.label, "--label"), parse_pairs(args.parameter, "--parameter")
    argo = client(args)
    name = argo.trigger(args.cron, labels, parameters)
    return announce(argo, name, args)
