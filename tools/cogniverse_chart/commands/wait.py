"""`wait`: follow a Workflow until it finishes; print phase, outputs and steps. Exit 0 only on Succeeded.

Also holds the options and the report format shared by `submit`, `trigger` and `list`.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..argo import ArgoClient, WaitTimeout, WorkflowResult


def add_connection_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--namespace", "-n", default="cogniverse", help="namespace of the workflows (default: cogniverse)")
    p.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
    p.add_argument("--context", help="kubeconfig context")
    # Also accepted after the subcommand (the global option works before it).
    p.add_argument("--output", "-o", choices=["human", "json"], default=argparse.SUPPRESS,
                   help="output format (default: human)")


def add_wait_args(p: argparse.ArgumentParser, *, optional: bool) -> None:
    if optional:
        p.add_argument("--wait", "-w", action="store_true", help="wait for the workflow to finish")
    p.add_argument("--timeout", type=float, default=1800, help="seconds to wait (default: 1800)")
    p.add_argument("--poll", type=float, default=2.0, help=argparse.SUPPRESS)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines while waiting")


def client(args: argparse.Namespace) -> ArgoClient:
    return ArgoClient.connect(args.namespace, args.kubeconfig, args.context)


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
