"""`render`: helm template for a profile or values files, to stdout or one file per object."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import yaml

from .. import CHART_DIR
from ..documents import Document, parse_stream
from ..errors import ToolkitError
from ..render import DEFAULT_KUBE_VERSION, RenderRequest, profile_path, render, render_text


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render the chart with helm template")
    add_render_args(p)
    p.add_argument("--out-dir", type=Path, help="write one file per object into this directory")
    p.set_defaults(func=run)


def add_render_args(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that renders the chart."""
    p.add_argument("--profile", "-p", action="append", default=[],
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


def _filename(kind: str, name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{kind.lower()}-{name}") + ".yaml"


def _make_dir(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ToolkitError(f"--out-dir {out_dir}: exists and is not a directory") from None
    except OSError as exc:
        raise ToolkitError(f"--out-dir {out_dir}: cannot create it: {exc.strerror or exc}") from None


def write_objects(docs: list[Document], out_dir: Path) -> list[str]:
    """One file per object; a directory that cannot be created or written is a one-line error."""
    _make_dir(out_dir)
    written = []
    for d in docs:
        path = out_dir / _filename(d.kind, d.name)
        try:
            path.write_text(yaml.safe_dump(d.obj, sort_keys=False), encoding="utf-8")
        except OSError as exc:
            raise ToolkitError(f"--out-dir {out_dir}: cannot write {path.name}: {exc.strerror or exc}") from None
        written.append(str(path))
    return written


def run(args: argparse.Namespace) -> int:
    req = request_from_args(args)
    if args.out_dir:
        _make_dir(args.out_dir)  # before rendering: a bad --out-dir fails fast
        written = write_objects(render(req), args.out_dir)
        if args.output == "json":
            print(json.dumps({"files": written}))
        else:
            print(f"wrote {len(written)} objects to {args.out_dir}")
        return 0
    text = render_text(req)
    if args.output == "json":
        print(json.dumps([d.obj for d in parse_stream(text, str(req.chart))]))
    else:
        print(text, end="")
    return 0
