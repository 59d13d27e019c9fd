"""`trigger`: run a CronWorkflow now (like `argo submit --from cronwf/NAME`)."""

from __future__ import annotations

import argparse

from ..argo import parse_pairs
from .submit import announce
from .wait import add_connection_args, add_wait_args, client


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("trigger", help="run a CronWorkflow now")
    p.add_argument("cron", help="CronWorkflow name (daily-backup, weekly-optimization, ...)")
    p.add_argument("--parameter", "-p", action="append", default=[], metavar="NAME=VALUE",
                   help="override one of the CronWorkflow's parameters; repeatable")
    p.add_argument("--label", "-l", action="append", default=[], metavar="KEY=VALUE", help="label; repeatable")
    add_connection_args(p)
    add_wait_args(p, optional=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    argo = client(args)
    name = argo.trigger(args.cron, parse_pairs(args.label, "--label"), parse_pairs(args.parameter, "--parameter"))
    return announce(argo, name, args)
