"""Upgrade path, checked without a cluster: the previous released chart (rebuilt from git history) and the
working tree are rendered with the same values, and every object present in both is compared on the
fields the API server refuses to change in place (a `helm upgrade` would fail on them).

    old = previous_release(tmp)                       # charts/cogniverse as of the last other version
    immutable_changes(render(old...), render(tree...))  # -> [Finding-like strings]
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import CHART_DIR
from .documents import Document
from .errors import ToolkitError
from .release import _git, chart_version

#: kind -> paths (dotted) the API server keeps immutable after creation.
IMMUTABLE: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec.selector",),
    "ReplicaSet": ("spec.selector",),
    "DaemonSet": ("spec.selector",),
    "StatefulSet": ("spec.selector", "spec.serviceName", "spec.volumeClaimTemplates", "spec.podManagementPolicy"),
    "Job": ("spec.selector", "spec.template"),
    "PersistentVolumeClaim": ("spec.storageClassName", "spec.accessModes", "spec.volumeName", "spec.selector"),
    "RoleBinding": ("roleRef",),
    "ClusterRoleBinding": ("roleRef",),
    "Service": ("spec.clusterIP",),
}


@dataclass(frozen=True)
class PreviousRelease:
    commit: str
    version: str
    chart: Path
    profiles: Path   # values/ as of that commit (the values users of that release have)


def previous_release(dest: Path, chart: Path = CHART_DIR) -> PreviousRelease:
    """Export charts/cogniverse and values/ of the release before the working tree's version: the tag
    `NAME-VERSION` when there is one, else the commit just before the bump to the current version (with no
    release tags, the previous version's last state)."""
    top = _git(chart, "rev-parse", "--show-toplevel")
    if top is None:
        raise ToolkitError(f"{chart} is not in a git checkout: the previous release is rebuilt from git history")
    repo = Path(top)
    rel = chart.resolve().relative_to(repo.resolve()).as_posix()
    current = chart_version(chart)

    def version_at(commit: str | None) -> str | None:
        text = _git(repo, "show", f"{commit}:{rel}/Chart.yaml") if commit else None
        meta = yaml.safe_load(text) if text else None
        return str(meta.get("version")) if isinstance(meta, dict) else None

    found: tuple[str, str] | None = None
    if (head := version_at("HEAD")) and head != current:          # bumped in the working tree
        found = ("HEAD", head)
    else:                                                         # the commit before the bump
        for commit in (_git(repo, "log", "--first-parent", "--format=%H", "--", f"{rel}/Chart.yaml") or "").split():
            parent = _git(repo, "rev-parse", "--verify", "-q", f"{commit}^1")
            version = version_at(parent)
            if parent and version and version != current:
                found = (parent, version)
                break
    if found is None:
        raise ToolkitError(f"no earlier chart version than {current} in the git history of {rel}")
    commit, version = found
    # A release tag (`NAME-VERSION`, as chart-releaser names them) is the released content itself.
    name = str((yaml.safe_load((chart / "Chart.yaml").read_text(encoding="utf-8")) or {}).get("name", ""))
    if tagged := _git(repo, "rev-parse", "--verify", "-q", f"refs/tags/{name}-{version}^{{commit}}"):
        commit = tagged
    proc = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", commit, rel, "values"],
                          capture_output=True)
    if proc.returncode != 0:
        raise ToolkitError(f"git archive {commit[:12]} failed: {proc.stderr.decode(errors='replace').strip()}")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return PreviousRelease(commit, version, dest / rel, dest / "values")


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _key(doc: Document) -> tuple[str, str, str]:
    return doc.kind, doc.namespace, doc.name


def immutable_changes(old: list[Document], new: list[Document]) -> list[str]:
    """One line per object whose immutable field differs between the two renders."""
    before = {_key(d): d for d in old}
    problems = []
    for doc in new:
        prev = before.get(_key(doc))
        if prev is None:
            continue
        for path in IMMUTABLE.get(doc.kind, ()):
            a, b = _get(prev.obj, path), _get(doc.obj, path)
            if a != b and not (doc.kind == "Service" and not a and not b):
                problems.append(f"{doc.kind}/{doc.name}: `{path}` changes from {_short(a)} to {_short(b)}; the API "
                                f"server refuses this on `helm upgrade` (rename the object or keep the field)")
    return problems


def _short(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text if len(text) <= 120 else text[:117] + "..."
