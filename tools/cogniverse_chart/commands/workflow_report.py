"""What `submit`, `trigger` and `wait` print about a Workflow: its name once submitted, or (waiting) its
progress on stderr and, when it finishes, its phase, outputs and steps."""

from __future__ import annotations

import argparse
import json
import sys

from ..argo.client import ArgoClient
from ..argo.manifests import WaitTimeout, WorkflowResult


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


def wait_and_report(argo: ArgoClient, name: str, args: argparse.Namespace) -> int:
    progress = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    try:
        # what is left of the command's deadline (--timeout), which also bounded connecting and submitting
        result = argo.wait(name, timeout=max(0.0, min(args.timeout, argo.deadline.left())), poll=args.poll,
                           on_progress=progress)
    except WaitTimeout as exc:
        report(exc.result, args, timed_out=True)
        print(f"cogniverse-chart wait: {exc}", file=sys.stderr)
        return 1
    report(result, args)
    return 0 if result.succeeded else 1


def report(result: WorkflowResult, args: argparse.Namespace, *, timed_out: bool = False) -> None:
    if args.output == "json":
        d = result.to_dict()
        d["timedOut"] = timed_out
        print(json.dumps(d, indent=2))
        return
    print(f"Workflow {result.name} (namespace {result.namespace}): {result.phase}")
    if result.message:
        print(f"Message: {result.message}")
    if result.outputs:
        print("Outputs:")
        for k, v in result.outputs.items():
            print(f"  {k} = {v}")
    steps = result.steps()
    if steps:
        print("Steps:")
        width = max(len(n.display_name) for n in steps)
        for n in steps:
            outs = " ".join(f"{k}={v}" for k, v in n.outputs.items())
            extra = f"  {n.message}" if n.message and n.phase not in ("Succeeded",) else ""
            print(f"  {n.display_name:<{width}}  {n.phase:<9} {outs}{extra}".rstrip())
