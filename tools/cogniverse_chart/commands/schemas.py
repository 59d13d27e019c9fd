"""`schemas`: list the bundled Kubernetes/Argo schemas, or regenerate them (`schemas fetch`)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .. import schema_bundles, schemas


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schemas", help="list or regenerate the bundled Kubernetes and Argo schemas")
    ssub = p.add_subparsers(dest="action", metavar="ACTION")
    f = ssub.add_parser("fetch", help="regenerate the bundles from module sources with `go mod download`")
    f.add_argument("--kube-version", action="append", default=None, metavar="X.Y.Z",
                   help=f"k8s.io/kubernetes module version; repeatable (default: {', '.join(schema_bundles.DEFAULT_KUBE_SOURCES)})")
    f.add_argument("--argo-version", action="append", default=None, metavar="X.Y.Z",
                   help=f"argo-workflows module version; repeatable (default: {', '.join(schema_bundles.DEFAULT_ARGO_SOURCES)})")
    f.set_defaults(func=run_fetch)
    ssub.add_parser("list", help="bundled versions and their sources (default)").set_defaults(func=run_list)
    p.set_defaults(func=run_list)


def run_list(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    for family in ("k8s", "argo"):
        for v in schemas.available(family):
            b = schemas.load_bundle(family, v)
            rows.append({"family": family, "version": v, "kinds": len(b["kinds"]),
                         "sources": [f"{s['module']}@{s['version']} {s['file']}" for s in b["sources"]]})
    if args.output == "json":
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        print(f"{r['family']}-{r['version']}: {r['kinds']} kinds, from {r['sources'][0].split(' ')[0]}")
    print(f"provenance: {schemas.PROVENANCE_FILE}")
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    written = schema_bundles.fetch(tuple(args.kube_version or schema_bundles.DEFAULT_KUBE_SOURCES),
                                   tuple(args.argo_version or schema_bundles.DEFAULT_ARGO_SOURCES))
    if args.output == "json":
        print(json.dumps({"written": [str(p) for p in written], "provenance": str(schemas.PROVENANCE_FILE)}))
    else:
        for p in written:
            print(f"wrote {p}")
        print(f"wrote {schemas.PROVENANCE_FILE}")
    return 0
