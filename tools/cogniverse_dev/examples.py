"""Argo's own `examples/` folder as a lint corpus, at both pinned Argo versions.

The `github.com/argoproj/argo-workflows/v3` and `/v4` module zips (versions.env ARGO_VERSION,
ARGO_V4_VERSION) carry `examples/`. `fetch(major)` gets the zip through the Go toolchain's module
download (`go mod download -json`) and extracts the manifests once per version into
~/.cache/cogniverse/argo-examples/<version>/ (the go-helpers stage of scripts/test.sh calls it through
`python -m cogniverse_dev`; a warm run finds the directory and does nothing).

`agreement(major)` runs every example file through Argo's validator (oracle.py; the WorkflowTemplates
and ClusterWorkflowTemplates a file references ride along as context), through `lint` with default
settings and through `validate`, and sorts the files:

- false errors: Argo accepts the file, lint reports an error by a rule that is not policy;
- misses: Argo rejects the file and neither lint nor validate does.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from cogniverse_chart import versions
from cogniverse_chart.documents import Document, read_paths
from cogniverse_chart.errors import ToolkitError
from cogniverse_chart.findings import Severity
from cogniverse_chart.lint import RULES, lint
from cogniverse_chart.lint.stream import refs

from . import gobuild
from .oracle import PROGRAMS, validate_cases

LIBRARY_KINDS = ("WorkflowTemplate", "ClusterWorkflowTemplate")
ARGO_KINDS = ("Workflow", "CronWorkflow", *LIBRARY_KINDS)


def pinned(major: str) -> tuple[str, str]:
    """(Go module, version) of the Argo major version ("3" or "4")."""
    _, key, module = PROGRAMS[major]
    return module, versions.get(key)


def fetch(major: str, quiet: bool = False) -> Path:
    """The extracted examples/ folder of the pinned Argo module (cached by version)."""
    module, version = pinned(major)
    out = gobuild.cache_dir("argo-examples") / version
    done = out / ".complete"
    if done.exists():
        return out / "examples"
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            return out / "examples"
        started = time.monotonic()
        proc = subprocess.run([gobuild.go(), "mod", "download", "-json", f"{module}@{version}"],
                              cwd=out, capture_output=True, text=True)
        try:
            info = json.loads(proc.stdout or "{}")
        except json.JSONDecodeError:
            info = {}
        if proc.returncode != 0 or not info.get("Zip"):
            detail = info.get("Error") or proc.stderr.strip()[-2000:]
            raise ToolkitError(f"cannot download {module}@{version} (for Argo's examples/): {detail}")
        prefix = f"{module}@{version}/examples/"
        with zipfile.ZipFile(info["Zip"]) as z:
            for name in z.namelist():
                rel = name[len(prefix):] if name.startswith(prefix) else ""
                if rel.endswith((".yaml", ".yml")) and ".." not in rel.split("/"):
                    target = out / "examples" / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(z.read(name))
        done.write_text(f"{module}@{version}\n")
        if not quiet:
            print(f"argo examples {version}: extracted in {time.monotonic() - started:.1f}s into {out}", file=sys.stderr)
    return out / "examples"


@dataclass
class ExampleFile:
    rel: str
    docs: list[Document]
    context: list[Document] = field(default_factory=list)  # library objects the file references


def load(major: str) -> list[ExampleFile]:
    """Every example file with an Argo object, each with the library objects it references (transitively)."""
    root = fetch(major, quiet=True)
    files = [ExampleFile(str(p.relative_to(root)), list(read_paths([str(p)])))
             for p in sorted(root.rglob("*.y*ml"))]
    library: dict[tuple[bool, str], Document] = {}
    for f in files:
        for d in f.docs:
            if d.kind in LIBRARY_KINDS:
                library.setdefault((d.kind == "ClusterWorkflowTemplate", d.name), d)
    # WorkflowEventBindings submit a template with parameters of their own: they ride with it
    bindings: dict[str, list[Document]] = {}
    for f in files:
        for d in f.docs:
            ref = ((d.obj.get("spec") or {}).get("submit") or {}).get("workflowTemplateRef") \
                if d.kind == "WorkflowEventBinding" else None
            if isinstance(ref, dict):
                bindings.setdefault(str(ref.get("name")), []).append(d)
    for f in files:
        own = {id(d.obj) for d in f.docs}
        f.context += [b for d in f.docs if d.kind in LIBRARY_KINDS for b in bindings.get(d.name, [])
                      if id(b.obj) not in own]
        todo = set().union(*(refs(d.obj) for d in f.docs))
        seen: set[tuple[bool, str]] = set()
        while todo:
            key = todo.pop()
            seen.add(key)
            lib = library.get(key)
            if lib is not None and id(lib.obj) not in own:
                f.context.append(lib)
                todo |= refs(lib.obj) - seen
    return [f for f in files if any(d.kind in ARGO_KINDS for d in f.docs)]


@dataclass
class Row:
    rel: str
    argo_errors: list[str]
    lint_errors: list[str]  # errors of rules that are not policy
    validate_errors: list[str]

    @property
    def false_error(self) -> bool:
        return not self.argo_errors and bool(self.lint_errors)

    @property
    def missed(self) -> bool:
        return bool(self.argo_errors) and not self.lint_errors and not self.validate_errors


def is_policy(rule_id: str) -> bool:
    return rule_id.startswith("policy/")


def agreement(major: str, examples_of: str = "") -> list[Row]:
    """One row per example file: what Argo, lint (non-policy errors) and validate say. `examples_of` takes
    the files of another Argo major (e.g. 3.x examples judged by Argo 4's validator and lint's 4.0 rules)."""
    from cogniverse_chart.validate import Validator

    files = load(examples_of or major)
    minor = ".".join(pinned(major)[1].lstrip("v").split(".")[:2])
    cases = {f.rel: [d.obj for d in f.docs + f.context] for f in files}
    only = {f.rel: [i for i, d in enumerate(f.docs) if d.kind in ARGO_KINDS] for f in files}
    argo = validate_cases(minor, cases, only)
    validator = Validator(argo_versions=[minor], allow_unknown_kinds=True)
    rows = []
    for f in files:
        own = {d.source for d in f.docs}
        found = lint(f.docs + f.context, argo_version=minor)
        lint_errors = [fd.format() for fd in found if fd.severity is Severity.ERROR and not is_policy(fd.rule)
                       and fd.source in own]
        schema = [fd.format() for fd in validator.validate(f.docs) if fd.severity is Severity.ERROR]
        rows.append(Row(f.rel, [f"{k}/{n}: {e}" for k, n, e in argo[f.rel] if e], lint_errors, schema))
    return rows


def table(rows: list[Row], major: str, examples_of: str = "") -> str:
    accepted = [r for r in rows if not r.argo_errors]
    rejected = [r for r in rows if r.argo_errors]
    false = [r for r in rows if r.false_error]
    missed = [r for r in rows if r.missed]
    lines = [f"Argo {pinned(major)[1]} on the examples/ of {pinned(examples_of or major)[1]}: {len(rows)} files with Argo objects; "
             f"Argo accepts {len(accepted)}, rejects {len(rejected)}; "
             f"lint false errors {len(false)}, misses (neither lint nor validate rejects) {len(missed)}"]
    lines += [f"  false error {r.rel}: {r.lint_errors[0]}" for r in false]
    lines += [f"  missed {r.rel}: Argo says {r.argo_errors[0]}" for r in missed]
    return "\n".join(lines)


POLICY_RULES = [r for r in RULES if is_policy(r)]
