"""`submit`: run a WorkflowTemplate with parameters and labels (like `argo submit --from workflowtemplate/NAME`)."""

from __future__ import annotations

import argparse
import json

from ..argo.client import ArgoClient
from .options import add_run_args, client, parse_pairs
from .wait import wait_and_report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("submit", help="submit a Workflow from a WorkflowTemplate")
    p.add_argument("template", help="WorkflowTemplate name (video-ingestion, batch-optimization, tenant-provisioning)")
    add_run_args(p, "workflow parameter; repeatable")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    parameters = parse_pairs(args.parameter, "--parameter")
    labels = parse_pairs(args.label, "--label")
    argo = client(args)
    name = argo.submit(args.template, parameters, labels)
    return announce(argo, name, args)


def announce(argo: ArgoClient, name: str, args: argparse.Namespace) -> int:
    """After submit/trigger: wait and report (--wait), or print the new Workflow's name."""
    if args.wait:
        return wait_and_report(argo, name, args)
    if args.output == "json":
        print(json.dumps({"name": name, "namespace": argo.namespace}))
    else:
        print(f"submitted Workflow {name} in namespace {argo.namespace}")
        print(f"  follow it: cogniverse-chart wait {name} -n {argo.namespace}")
    return 0
