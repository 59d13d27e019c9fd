"""Argo's own validator as an oracle: build tools/argo-validate/<major> (a small Go program over Argo's
`workflow/validate` package) once per Argo version and source hash, cache the binary, and run many
manifest streams through it in one process.

    python -m cogniverse_chart.lint.oracle --build          # build (or find cached) 3.x and 4.x
    results = validate_cases("4.0", {"case-1": [obj, ...]})  # {"case-1": [(kind, name, error), ...]}

The Argo versions come from versions.env (ARGO_VERSION, ARGO_V4_VERSION); the go.mod of each
program must require exactly that version (checked here and by tests/test_lint_differential.py).
Binaries live under $XDG_CACHE_HOME/cogniverse/argo-validate (default ~/.cache/...).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .. import REPO_ROOT, versions
from ..errors import ToolkitError

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
    text = (SOURCE_ROOT / subdir / "go.mod").read_text(encoding="utf-8")
    m = re.search(rf"^(?:require )?\s*{re.escape(module)} (v\S+)$", text, re.M)
    if not m:
        raise ToolkitError(f"{SOURCE_ROOT / subdir / 'go.mod'}: no `require {module} vX.Y.Z` line")
    return m.group(1)


def source_hash(major: str) -> str:
    subdir = PROGRAMS[major][0]
    h = hashlib.sha256()
    for name in ("go.mod", "go.sum", "main.go"):
        h.update(name.encode() + b"\0" + (SOURCE_ROOT / subdir / name).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cogniverse" / "argo-validate"


def binary_path(major: str) -> Path:
    subdir, key, _ = PROGRAMS[major]
    return cache_dir() / f"{subdir}-{required_version(major)}-{source_hash(major)}" / "argo-validate"


def _go() -> str:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if not go:
        raise ToolkitError("building Argo's validator needs a Go toolchain (go on PATH or /usr/local/go/bin/go)")
    return go


def build(major: str, quiet: bool = False) -> Path:
    """The cached validator binary for this Argo major version; built (niced) if missing."""
    subdir, key, module = PROGRAMS[major]
    pinned = versions.load().get(key)
    have = required_version(major)
    if pinned != have:
        raise ToolkitError(f"tools/argo-validate/{subdir}/go.mod requires {module} {have} but versions.env pins "
                           f"{key}={pinned}; update the go.mod require line (then `go mod tidy` there)")
    out = binary_path(major)
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs building at once: the second waits, then reuses
        if out.exists():
            return out
        if not quiet:
            print(f"building Argo {have} validator (once; cached in {out.parent})", file=sys.stderr)
        tmp = out.with_suffix(".tmp")
        env = {**os.environ, "CGO_ENABLED": "0"}
        proc = subprocess.run(["nice", "-n", "10", _go(), "build", "-trimpath", "-o", str(tmp), "."],
                              cwd=SOURCE_ROOT / subdir, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ToolkitError(f"building Argo's validator ({module} {have}) failed; fix the toolchain or module "
                               f"cache and rerun `python -m cogniverse_chart.lint.oracle --build`:\n"
                               f"{proc.stderr[-3000:]}")
        tmp.rename(out)
    return out


def validate_cases(argo_version: str, cases: dict[str, list[dict[str, Any]]],
                   only: dict[str, list[int]] | None = None) -> dict[str, list[tuple[str, str, str]]]:
    """Run every case (a stream of manifests) through Argo's validator in one process.

    `only` limits, per case, which objects are validated (the others are the library templateRefs
    resolve against). Returns case id -> [(kind, name, error)] for every validated object; error ""
    means Argo accepts it."""
    exe = build(_major(argo_version))
    only = only or {}
    stdin = "".join(json.dumps({"id": cid, "objects": objs, **({"validate": only[cid]} if cid in only else {})}) + "\n"
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m cogniverse_chart.lint.oracle",
                                description="Build (or find cached) Argo's own validator for every pinned Argo version.")
    p.add_argument("--build", action="store_true", help="build every version now (cached by version and source hash)")
    args = p.parse_args(argv)
    if not args.build:
        p.print_help()
        return 2
    try:
        for major in PROGRAMS:
            print(build(major))
    except ToolkitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
