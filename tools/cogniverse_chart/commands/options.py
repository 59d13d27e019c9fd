"""Command-line options shared by several commands, and the objects built from them.

- `add_schema_args` / `validator_from_args`: the schema versions of `validate` and `check`;
- `add_connection_args` / `client`: the cluster connection of `submit`, `trigger`, `wait` and `list`;
- `add_wait_args`, `add_run_args`: waiting, and `-p`/`-l` of every command that starts a Workflow;
- `add_render_args` / `request_from_args`: the chart, profiles, values and `--set` of `render` and `generate`;
- `parse_pairs`: NAME=VALUE lists (`-p`, `-l`, `generate --from ... -p`).
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

import yaml

from .. import CHART_DIR
from ..documents import load_document, read_text
from ..errors import ToolkitError

if TYPE_CHECKING:
    from ..argo.client import ArgoClient
    from ..render import RenderRequest
    from ..validate import Validator

# Start-up: each command imports only what it runs. The schema modules are imported by the two commands
# that validate, the cluster client by the commands that connect, the renderer by those that render.

MAX_TIMEOUT = 7 * 24 * 3600.0  # a week: longer waits are a typo (ms for s), not a plan
MAX_POLL = 300.0


def parse_pairs(items: Iterable[str], what: str) -> dict[str, str]:
    """['a=1', 'b=x=y'] -> {'a': '1', 'b': 'x=y'}; a bad item raises naming it."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ToolkitError(f"{what} {item!r} must be NAME=VALUE")
        out[key] = value
    return out


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


def add_schema_args(p: argparse.ArgumentParser) -> None:
    from ..validate import DEFAULT_ARGO_VERSIONS, DEFAULT_KUBE_VERSIONS

    p.add_argument("--kube-version", action="append", default=None, metavar="X.Y",
                   help=f"Kubernetes schema version; repeatable (default: {', '.join(DEFAULT_KUBE_VERSIONS)})")
    p.add_argument("--argo-version", action="append", default=None, metavar="X.Y",
                   help=f"Argo Workflows schema version; repeatable (default: {', '.join(DEFAULT_ARGO_VERSIONS)})")
    p.add_argument("--allow-unknown-kinds", action="store_true",
                   help="report kinds without a bundled schema (custom resources) as notes, not errors")


def validator_from_args(args: argparse.Namespace) -> "Validator":
    from ..validate import DEFAULT_ARGO_VERSIONS, DEFAULT_KUBE_VERSIONS, Validator

    return Validator(kube_versions=tuple(args.kube_version or DEFAULT_KUBE_VERSIONS),
                     argo_versions=tuple(args.argo_version or DEFAULT_ARGO_VERSIONS),
                     allow_unknown_kinds=args.allow_unknown_kinds)


def add_timeout_arg(p: argparse.ArgumentParser, default: float) -> None:
    """--timeout: the whole deadline of a command that talks to the cluster (every call and wait under it)."""
    p.add_argument("--timeout", type=seconds(MAX_TIMEOUT), default=default,
                   help=f"seconds the whole command may take, > 0 and at most {MAX_TIMEOUT:.0f} (default: {default:g})")


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
    add_timeout_arg(p, 1800)
    p.add_argument("--poll", type=seconds(MAX_POLL), default=2.0, help=argparse.SUPPRESS)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines while waiting")


def add_run_args(p: argparse.ArgumentParser, parameter_help: str) -> None:
    """-p/-l, the cluster connection and --wait: shared by every command that starts a Workflow."""
    p.add_argument("--parameter", "-p", action="append", default=[], metavar="NAME=VALUE", help=parameter_help)
    p.add_argument("--label", "-l", action="append", default=[], metavar="KEY=VALUE", help="label; repeatable")
    add_connection_args(p)
    add_wait_args(p, optional=True)


def client(args: argparse.Namespace) -> ArgoClient:
    """The ArgoClient of --namespace/--kubeconfig/--context, after checking each kubeconfig file."""
    from ..argo.client import ArgoClient
    from ..io_limits import Deadline

    deadline = Deadline(args.timeout)  # the command's --timeout is a whole deadline, from here on
    check_kubeconfigs(args.kubeconfig)
    try:
        return ArgoClient.connect(args.namespace, args.kubeconfig, args.context, deadline)
    except (UnicodeError, ValueError, yaml.YAMLError) as exc:  # what the kubernetes client lets through
        raise ToolkitError(f"kubeconfig: unusable: {' '.join(str(exc).split())[:200]}; "
                           f"check --kubeconfig / $KUBECONFIG") from None


def check_kubeconfigs(flag: str | None) -> None:
    """Each kubeconfig file of --kubeconfig / $KUBECONFIG / ~/.kube/config (see `_check_kubeconfig`)."""
    for f in _kubeconfig_files(flag):
        _check_kubeconfig(f)


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
    from ..argo.client import check_kubeconfig_refs

    objs = load_document(read_text(path), str(path))
    if not objs or not isinstance(objs[0], dict):
        raise ToolkitError(f"{path}: not a kubeconfig (expected a YAML mapping with clusters, users, contexts)")
    check_kubeconfig_refs(path, objs[0])


def add_render_args(p: argparse.ArgumentParser, *, profile_short: bool = True) -> None:
    """Options shared by every command that renders the chart (`generate` keeps -p for --parameter, as argo
    does: profile_short=False)."""
    from ..render import DEFAULT_KUBE_VERSION

    p.add_argument("--profile", *(["-p"] if profile_short else []), action="append", default=[],
                   help="environment profile from values/ (k3s, production, smoke, ...); repeatable")
    p.add_argument("--values", "-f", action="append", default=[], type=Path, help="values file; repeatable")
    p.add_argument("--set", action="append", default=[], dest="set_values", help="helm --set; repeatable")
    p.add_argument("--set-string", action="append", default=[], dest="set_string_values")
    p.add_argument("--kube-version", default=DEFAULT_KUBE_VERSION)
    p.add_argument("--api-versions", action="append", default=None,
                   help="extra API versions for .Capabilities (default: argoproj.io/v1alpha1)")
    p.add_argument("--release", default="cogniverse")
    p.add_argument("--namespace", "-n", default="cogniverse")
    p.add_argument("--chart", type=Path, default=CHART_DIR)


def request_from_args(args: argparse.Namespace) -> RenderRequest:
    from ..render import RenderRequest, profile_path

    req = RenderRequest(
        values_files=[profile_path(p) for p in args.profile] + list(args.values),
        set_values=args.set_values,
        set_string_values=args.set_string_values,
        kube_version=args.kube_version,
        release=args.release,
        namespace=args.namespace,
        chart=args.chart,
    )
    if args.api_versions is not None:
        req.api_versions = tuple(args.api_versions)
    return req
