"""`wait`: follow a Workflow until it finishes; print phase, outputs and steps. Exit 0 only on Succeeded.

`submit --wait` and `trigger --wait` report through `wait_and_report` too.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..argo.client import ArgoClient
from ..argo.manifests import WaitTimeout, WorkflowResult
from .options import add_connection_args, add_wait_args, client


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("wait", help="wait for a Workflow to finish and show its outputs (exit 1 unless Succeeded)")
    p.add_argument("name", help="Workflow name")
    add_connection_args(p)
    add_wait_args(p, optional=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return wait_and_report(client(args), args.name, args)


def wait_and_report(argo: ArgoClient, name: str, args: argparse.Namespace) -> int:
    progress = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    try:
        result = argo.wait(name, timeout=args.timeout, poll=args.poll, on_progress=progress)
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
