"""Argo's own validator as an oracle: build tools/argo-validate/<major> (a small Go program over Argo's
`workflow/validate` package) once per Argo version and source hash, cache the binary, and run many
manifest streams through it in one process.

    python -m cogniverse_dev                      # build (or find cached) 3.x and 4.x, with the other Go helpers
    results = validate_cases("4.0", {"case-1": [obj, ...]})  # {"case-1": [(kind, name, error), ...]}

The Argo versions come from versions.env (ARGO_VERSION, ARGO_V4_VERSION); the go.mod of each
program must require exactly that version (checked here and by tests/lint/test_lint_differential.py).
Binaries live under $XDG_CACHE_HOME/cogniverse/argo-validate (default ~/.cache/...).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from cogniverse_chart import REPO_ROOT
from cogniverse_chart.errors import ToolkitError

from . import gobuild

SOURCE_ROOT = REPO_ROOT / "tools" / "argo-validate"
#: Argo minor (the lint --argo-version value) -> (program directory, versions.env key, Go module).
PROGRAMS = {
    "3": ("v3", "ARGO_VERSION", "github.com/argoproj/argo-workflows/v3"),
    "4": ("v4", "ARGO_V4_VERSION", "github.com/argoproj/argo-workflows/v4"),
}


def _major(argo_version: str) -> str:
    major = argo_version.lstrip("v").split(".")[0]
    if major not in PROGRAMS:
        raise ToolkitError(f"no Argo validator program for Argo {argo_version}; have {', '.join(PROGRAMS)}.x")
    return major


def required_version(major: str) -> str:
    """The Argo module version the program's go.mod requires."""
    subdir, _, module = PROGRAMS[major]
    return gobuild.required_version(SOURCE_ROOT / subdir, module)


def build(major: str, quiet: bool = False) -> Path:
    """The cached validator binary for this Argo major version; built (niced) if missing."""
    subdir, key, module = PROGRAMS[major]
    tag = gobuild.check_pin(SOURCE_ROOT / subdir, module, key)
    return gobuild.build(SOURCE_ROOT / subdir, "argo-validate", f"{subdir}-{tag}", quiet)


def validate_cases(argo_version: str, cases: dict[str, list[dict[str, Any]]],
                   only: dict[str, list[int]] | None = None) -> dict[str, list[tuple[str, str, str]]]:
    """Run every case (a stream of manifests) through Argo's validator in one process.

    `only` limits, per case, which objects are validated (the others are the library templateRefs
    resolve against). Returns case id -> [(kind, name, error)] for every validated object; error ""
    means Argo accepts it."""
    exe = build(_major(argo_version))
    only = only or {}
    stdin = "".join(json.dumps({"id": cid, "objects": objs, **({"validate": only[cid]} if cid in only else {})},
                               ensure_ascii=False) + "\n"
                    for cid, objs in cases.items())
    proc = subprocess.run([str(exe)], input=stdin, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolkitError(f"Argo's validator failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    out: dict[str, list[tuple[str, str, str]]] = {}
    for line in proc.stdout.splitlines():
        rec = json.loads(line)
        out[rec["id"]] = [(r["kind"], r["name"], r["error"]) for r in rec["results"]]
    missing = set(cases) - set(out)
    if missing:
        raise ToolkitError(f"Argo's validator returned no result for {len(missing)} case(s), e.g. {sorted(missing)[0]}")
    return out
