"""`wait`: follow a Workflow until it finishes; print phase, outputs and steps. Exit 0 only on Succeeded.

Also holds the options and the report format shared by `submit`, `trigger` and `list`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Callable

import yaml

from ..argo import ArgoClient, WaitTimeout, WorkflowResult
from ..documents import load_document, read_text
from ..errors import ToolkitError


MAX_TIMEOUT = 7 * 24 * 3600.0  # a week: longer waits are a typo (ms for s), not a plan
MAX_POLL = 300.0


def seconds(maximum: float) -> Callable[[str], float]:
    """argparse type: a finite number of seconds in (0, maximum]; nan, inf, 0 and negatives are refused."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
        if not math.isfinite(value) or not 0 < value <= maximum:
            raise argparse.ArgumentTypeError(f"must be a number of seconds > 0 and <= {maximum:.0f}, got {text!r}")
        return value
    return parse


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
    p.add_argument("--timeout", type=seconds(MAX_TIMEOUT), default=1800,
                   help=f"seconds to wait, > 0 and at most {MAX_TIMEOUT:.0f} (default: 1800)")
    p.add_argument("--poll", type=seconds(MAX_POLL), default=2.0, help=argparse.SUPPRESS)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines while waiting")


def client(args: argparse.Namespace) -> ArgoClient:
    for f in _kubeconfig_files(args.kubeconfig):
        _check_kubeconfig(f)
    try:
        return ArgoClient.connect(args.namespace, args.kubeconfig, args.context)
    except (UnicodeError, ValueError, yaml.YAMLError) as exc:  # what the kubernetes client lets through
        raise ToolkitError(f"kubeconfig: unusable: {' '.join(str(exc).split())[:200]}; "
                           f"check --kubeconfig / $KUBECONFIG") from None


def _kubeconfig_files(flag: str | None) -> list[Path]:
    if flag:
        return [Path(flag)]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    default = Path.home() / ".kube" / "config"
    return [default] if default.exists() else []


def _check_kubeconfig(path: Path) -> None:
    """A kubeconfig must be a readable UTF-8 YAML mapping; say which file and what is wrong with it."""
    if path.is_dir():
        raise ToolkitError(f"{path}: is a directory, not a kubeconfig file (--kubeconfig / $KUBECONFIG)")
    if not path.exists():
        raise ToolkitError(f"{path}: kubeconfig not found (--kubeconfig / $KUBECONFIG)")
    objs = load_document(read_text(path), str(path))
    if not objs or not isinstance(objs[0], dict):
        raise ToolkitError(f"{path}: not a kubeconfig (expected a YAML mapping with clusters, users, contexts)")


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
