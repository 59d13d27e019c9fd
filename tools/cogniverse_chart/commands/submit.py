"""`submit`: run a WorkflowTemplate with parameters and labels (like `argo submit --from workflowtemplate/NAME`)."""

from __future__ import annotations

import argparse
import json

from ..argo import parse_pairs
from .wait import add_connection_args, add_wait_args, client, wait_and_report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("submit", help="submit a Workflow from a WorkflowTemplate")
    p.add_argument("template", help="WorkflowTemplate name (video-ingestion, batch-optimization, tenant-provisioning)")
    add_run_args(p, "workflow parameter; repeatable")
    p.set_defaults(func=run)


def add_run_args(p: argparse.ArgumentParser, parameter_help: str) -> None:
    """-p/-l, the cluster connection and --wait: shared by every command that starts a Workflow."""
    p.add_argument("--parameter", "-p", action="append", default=[], metavar="NAME=VALUE", help=parameter_help)
    p.add_argument("--label", "-l", action="append", default=[], metavar="KEY=VALUE", help="label; repeatable")
    add_connection_args(p)
    add_wait_args(p, optional=True)


def run(args: argparse.Namespace) -> int:
    parameters = parse_pairs(args.parameter, "--parameter")
    labels = parse_pairs(args.label, "--label")
    argo = client(args)
    name = argo.submit(args.template, parameters, labels)
    return announce(argo, name, args)


def announce(argo, name: str, args: argparse.Namespace) -> int:
    if args.wait:
        return wait_and_report(argo, name, args)
    if args.output == "json":
        print(json.dumps({"name": name, "namespace": argo.namespace}))
    else:
        print(f"submitted Workflow {name} in namespace {argo.namespace}")
        print(f"  follow it: cogniverse-chart wait {name} -n {argo.namespace}")
    return 0
