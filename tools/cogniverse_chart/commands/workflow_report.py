"""What `submit`, `trigger` and `wait` print about a Workflow: its name once submitted, or (waiting) its
progress on stderr and, when it finishes, its phase, outputs and steps.

Every text here comes from the cluster (names, messages, output parameters, which any pod of the namespace
may write through its WorkflowTaskResult), so the human output shows it through `report.printable`: a
control character is printed as `\\x1b`, never sent to the terminal (attack21d #17: a forged "Workflow
succeeded" line, a screen clear, an OSC 52 clipboard write). JSON output is escaped by `json` itself."""

from __future__ import annotations

import argparse
import json
import sys

from ..argo.client import ArgoClient
from ..argo.manifests import WaitTimeout, WorkflowResult
from ..report import printable as shown


def announce(argo: ArgoClient, name: str, args: argparse.Namespace) -> int:
    """After submit/trigger: wait and report (--wait), or print the new Workflow's name."""
    if args.wait:
        return wait_and_report(argo, name, args)
    if args.output == "json":
        print(json.dumps({"name": name, "namespace": argo.namespace}))
    else:
        print(f"submitted Workflow {shown(name)} in namespace {argo.namespace}")
        print(f"  follow it: cogniverse-chart wait {shown(name)} -n {argo.namespace}")
    return 0


def wait_and_report(argo: ArgoClient, name: str, args: argparse.Namespace) -> int:
    progress = None if args.quiet else (lambda line: print(shown(line), file=sys.stderr, flush=True))
    try:
        # what is left of the command's deadline (--timeout), which also bounded connecting and submitting
        result = argo.wait(name, timeout=max(0.0, min(args.timeout, argo.deadline.left())), poll=args.poll,
                           on_progress=progress)
    except WaitTimeout as exc:
        report(exc.result, args, timed_out=True)
        print(f"cogniverse-chart wait: {shown(str(exc))}", file=sys.stderr)
        return 1
    report(result, args)
    return 0 if result.succeeded else 1


def report(result: WorkflowResult, args: argparse.Namespace, *, timed_out: bool = False) -> None:
    if args.output == "json":
        d = result.to_dict()
        d["timedOut"] = timed_out
        print(json.dumps(d, indent=2))
        return
    print(f"Workflow {shown(result.name)} (namespace {shown(result.namespace)}): {shown(result.phase)}")
    if result.message:
        print(f"Message: {shown(result.message)}")
    if result.outputs:
        print("Outputs:")
        for k, v in result.outputs.items():
            print(f"  {shown(k)} = {shown(v)}")
    steps = result.steps()
    if steps:
        print("Steps:")
        names = [shown(n.display_name) for n in steps]
        width = max(len(n) for n in names)
        for name, n in zip(names, steps):
            outs = " ".join(f"{shown(k)}={shown(v)}" for k, v in n.outputs.items())
            extra = f"  {shown(n.message)}" if n.message and n.phase not in ("Succeeded",) else ""
            print(f"  {name:<{width}}  {shown(n.phase):<9} {outs}{extra}".rstrip())
