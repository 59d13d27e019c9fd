"""`wait`: follow a Workflow until it finishes; print phase, outputs and steps. Exit 0 only on Succeeded."""

from __future__ import annotations

import argparse

from .options import add_connection_args, add_wait_args, check_object_name, client
from .workflow_report import wait_and_report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("wait", help="wait for a Workflow to finish and show its outputs (exit 1 unless Succeeded)")
    p.add_argument("name", help="Workflow name")
    add_connection_args(p)
    add_wait_args(p, optional=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_object_name("the Workflow name", args.name)
    return wait_and_report(client(args), args.name, args)
