"""`submit`: run a WorkflowTemplate with parameters and labels (like `argo submit --from workflowtemplate/NAME`)."""

from __future__ import annotations

import argparse

from .options import add_run_args, check_object_name, client, parse_pairs
from .workflow_report import announce


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("submit", help="submit a Workflow from a WorkflowTemplate")
    p.add_argument("template", help="WorkflowTemplate name (video-ingestion, batch-optimization, tenant-provisioning)")
    add_run_args(p, "workflow parameter; repeatable")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_object_name("the WorkflowTemplate name", args.template)
    parameters = parse_pairs(args.parameter, "--parameter")
    labels = parse_pairs(args.label, "--label")
    argo = client(args)
    name = argo.submit(args.template, parameters, labels)
    return announce(argo, name, args)
