"""`schemas`: list the bundled Kubernetes/Argo schemas, or build bundles into a folder (`schemas fetch --dest
DIR`; `validate --schemas-dir DIR` then uses them). The installed package is never written to; a
maintainer refreshes the shipped bundles with `--dest tools/cogniverse_chart/data`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .. import schema_bundles, schemas
from ..errors import ToolkitError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schemas", help="list or regenerate the bundled Kubernetes and Argo schemas")
    ssub = p.add_subparsers(dest="action", metavar="ACTION")
    f = ssub.add_parser("fetch", help="build bundles from module sources (`go mod download`) into --dest DIR")
    f.add_argument("--dest", type=Path, required=True, metavar="DIR",
                   help="folder to write the bundles and PROVENANCE to (created; use with validate --schemas-dir)")
    f.add_argument("--kube-version", action="append", default=None, metavar="X.Y.Z",
                   help=f"k8s.io/kubernetes module version; repeatable (default: {', '.join(schema_bundles.DEFAULT_KUBE_SOURCES)})")
    f.add_argument("--argo-version", action="append", default=None, metavar="X.Y.Z",
                   help=f"argo-workflows module version; repeatable (default: {', '.join(schema_bundles.DEFAULT_ARGO_SOURCES)})")
    f.set_defaults(func=run_fetch)
    ls = ssub.add_parser("list", help="bundled versions and their sources (default)")
    ls.add_argument("--dir", type=Path, default=None, metavar="DIR", help="list the bundles in DIR instead")
    ls.set_defaults(func=run_list)
    p.set_defaults(func=run_list, dir=None)


def run_list(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    data_dir = args.dir or schemas.DATA_DIR
    if not data_dir.is_dir():
        raise ToolkitError(f"--dir {data_dir}: no such directory")
    for family in ("k8s", "argo"):
        for v in schemas.available(family, data_dir):
            b = schemas.load_bundle(family, v, data_dir)
            rows.append({"family": family, "version": v, "kinds": len(b["kinds"]),
                         "sources": [f"{s['module']}@{s['version']} {s['file']}" for s in b["sources"]]})
    if not rows:  # a folder without bundles is a typo or the wrong folder, not an empty list (E30)
        raise ToolkitError(f"--dir {data_dir}: no schema bundles (k8s-X.Y.json.gz, argo-X.Y.json.gz) in it; build them "
                           f"with `cogniverse-chart schemas fetch --dest {data_dir}`")
    if args.output == "json":
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        print(f"{r['family']}-{r['version']}: {r['kinds']} kinds, from {r['sources'][0].split(' ')[0]}")
    print(f"provenance: {data_dir / 'PROVENANCE'}")
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    if not str(args.dest).strip() or str(args.dest) == ".":  # Path("") is "." : the empty value of a variable
        raise ToolkitError(f"--dest {str(args.dest)!r}: name a folder of its own for the bundles (e.g. schemas/)")
    if args.dest.exists() and not args.dest.is_dir():
        raise ToolkitError(f"--dest {args.dest}: exists and is not a directory")
    _refuse_package_dest(args.dest)
    written = schema_bundles.fetch(tuple(args.kube_version or schema_bundles.DEFAULT_KUBE_SOURCES),
                                   tuple(args.argo_version or schema_bundles.DEFAULT_ARGO_SOURCES), data_dir=args.dest)
    provenance = args.dest / "PROVENANCE"
    if args.output == "json":
        print(json.dumps({"written": [str(p) for p in written], "provenance": str(provenance)}))
    else:
        for p in written:
            print(f"wrote {p}")
        print(f"wrote {provenance}")
    return 0


def _in_checkout() -> bool:
    from .. import IN_CHECKOUT

    return IN_CHECKOUT


def _refuse_package_dest(dest: Path) -> None:
    """No bundle is written into the installed package (its folder, data/, templates/, any folder below, a
    symlink to one); a source checkout's maintainer may refresh the shipped bundles in data/ itself."""
    package = schemas.DATA_DIR.resolve().parent
    target = dest.resolve()
    if target == schemas.DATA_DIR.resolve() and _in_checkout():
        return
    if target == package or package in target.parents:
        raise ToolkitError(f"--dest {dest}: inside the installed package ({package}); give a folder of your own "
                           f"and pass it to validate --schemas-dir")
