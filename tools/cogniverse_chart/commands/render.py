"""`render`: helm template for a profile or values files, to stdout or one file per object."""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

import yaml

from ..documents import Document, parse_stream
from ..errors import ToolkitError
from ..render import render, render_text
from .options import add_helm_arg, add_render_args, helms_of, request_from_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render the chart with helm template")
    add_render_args(p)
    add_helm_arg(p, one=True)
    p.add_argument("--out-dir", type=Path, help="write one file per object into this directory")
    p.set_defaults(func=run)


def _filename(kind: str, name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{kind.lower()}-{name}") + ".yaml"


def _unique_names(docs: list[Document]) -> list[str]:
    """kind-name.yaml for each object; objects that would share a file (one name in two namespaces, or in
    two API groups: D38, where the second silently overwrote the first) add their namespace, then their
    apiVersion, then their position."""
    def names(parts) -> list[str]:  # type: ignore[no-untyped-def]
        return [_filename(d.kind, "-".join(p for p in parts(d) if p)) for d in docs]

    out = names(lambda d: (d.name,))
    for parts in (lambda d: (d.namespace, d.name), lambda d: (d.namespace, d.api_version, d.name)):
        seen = Counter(out)
        if all(n == 1 for n in seen.values()):
            return out
        better = names(parts)
        out = [b if seen[o] > 1 else o for o, b in zip(out, better)]
    seen = Counter(out)
    return [f"{o[:-5]}-{i}.yaml" if seen[o] > 1 else o for i, o in enumerate(out)]


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
    for d, name in zip(docs, _unique_names(docs)):
        path = out_dir / name
        try:
            path.write_text(yaml.safe_dump(d.obj, sort_keys=False), encoding="utf-8")
        except OSError as exc:
            raise ToolkitError(f"--out-dir {out_dir}: cannot write {path.name}: {exc.strerror or exc}") from None
        written.append(str(path))
    return written


def run(args: argparse.Namespace) -> int:
    req = request_from_args(args)
    [helm] = helms_of(args)
    if args.out_dir:
        _make_dir(args.out_dir)  # before rendering: a bad --out-dir fails fast
        written = write_objects(render(req, helm), args.out_dir)
        if args.output == "json":
            print(json.dumps({"files": written}))
        else:
            print(f"wrote {len(written)} objects to {args.out_dir}")
        return 0
    text = render_text(req, helm)
    if args.output == "json":
        print(json.dumps([d.obj for d in parse_stream(text, str(req.chart))]))
    else:
        print(text, end="")
    return 0
