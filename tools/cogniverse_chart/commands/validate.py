"""`validate PATH... | -`: strict schema validation of any manifest stream, and of values files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .. import CHART_DIR
from ..documents import load_document, read_paths, read_text
from ..errors import ToolkitError
from ..findings import Finding
from ..report import emit
from ..validate import DEFAULT_ARGO_VERSIONS, DEFAULT_KUBE_VERSIONS, Validator, validate_values


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="validate manifests against strict Kubernetes and Argo schemas",
                       description="Validate every object in the given files/directories ('-' = stdin) "
                                   "against bundled strict schemas. Exit 0 valid, 1 invalid, 2 bad input.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="manifest file, directory, or '-' for stdin")
    add_schema_args(p)
    p.add_argument("--values", action="append", default=[], type=Path, metavar="FILE",
                   help="also validate a values file against the chart's values.schema.json; repeatable")
    p.add_argument("--chart", type=Path, default=CHART_DIR, help="chart whose values.schema.json to use")
    p.set_defaults(func=run)


def add_schema_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kube-version", action="append", default=None, metavar="X.Y",
                   help=f"Kubernetes schema version; repeatable (default: {', '.join(DEFAULT_KUBE_VERSIONS)})")
    p.add_argument("--argo-version", action="append", default=None, metavar="X.Y",
                   help=f"Argo Workflows schema version; repeatable (default: {', '.join(DEFAULT_ARGO_VERSIONS)})")
    p.add_argument("--allow-unknown-kinds", action="store_true",
                   help="report kinds without a bundled schema (custom resources) as notes, not errors")


def validator_from_args(args: argparse.Namespace) -> Validator:
    return Validator(kube_versions=tuple(args.kube_version or DEFAULT_KUBE_VERSIONS),
                     argo_versions=tuple(args.argo_version or DEFAULT_ARGO_VERSIONS),
                     allow_unknown_kinds=args.allow_unknown_kinds)


def load_values_schema(chart: Path) -> dict:
    path = chart / "values.schema.json"
    if not path.exists():
        raise ToolkitError(f"{path}: not found (is --chart a chart directory?)")
    try:
        return json.loads(read_text(path))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ToolkitError(f"{path}: invalid JSON: {exc}") from None


def _load_values(f: Path) -> dict[str, Any]:
    """A values file, read like a manifest (YAML 1.1, alias and nesting limits, one-line errors)."""
    if not f.exists():
        raise ToolkitError(f"{f}: no such file")
    objs = load_document(read_text(f), str(f))
    values = (objs[0] if objs else None) or {}
    if len(objs) > 1:
        raise ToolkitError(f"{f}: a values file holds one YAML document, found {len(objs)}")
    if not isinstance(values, dict):
        raise ToolkitError(f"{f}: a values file must be a mapping, got {type(values).__name__}")
    return values


def merge_values(base: Any, override: Any) -> Any:
    """Helm's coalescing: maps merge key by key, null removes a key, anything else replaces."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override
    out = dict(base)
    for k, v in override.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_values(base.get(k), v)
    return out


def check_values_files(files: list[Path], chart: Path) -> list[Finding]:
    """Each file merged over the chart's values.yaml (as `helm install -f FILE` sees it), then checked."""
    if not files:
        return []
    schema = load_values_schema(chart)
    defaults = _load_values(chart / "values.yaml") if (chart / "values.yaml").exists() else {}
    findings: list[Finding] = []
    for f in files:
        findings += validate_values(merge_values(defaults, _load_values(f)), schema, str(f))
    return findings


def run(args: argparse.Namespace) -> int:
    if not args.paths and not args.values:
        raise ToolkitError("nothing to validate: give manifest paths, '-' for stdin, or --values FILE")
    validator = validator_from_args(args)
    findings, checked = validator.validate_stream(read_paths(args.paths))
    findings += check_values_files(args.values, args.chart)
    return emit(findings, args.output, command="validate", checked=checked + len(args.values))
