"""Shared helpers of the tests/test_workflows_*.py files (no tests here).

`rendered(values, helm=..., ...)` runs real `helm template` once per distinct input and caches the
documents, so the many small tests stay fast.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import tempfile
from pathlib import Path
from typing import Any, Iterator

import yaml

from cogniverse_chart import CHART_DIR, PROFILES_DIR
from cogniverse_chart.documents import Document
from cogniverse_chart.helm import Helm, find_helm
from cogniverse_chart.render import RenderRequest, render

WORKFLOW_TEMPLATES = ("video-ingestion", "batch-optimization", "tenant-provisioning")
CRON_WORKFLOWS = ("daily-backup", "weekly-dspy-optimization", "daily-cleanup", "monthly-reports",
                  "weekly-optimization", "daily-optimization-check")
ARGO_KINDS = ("WorkflowTemplate", "CronWorkflow", "Workflow")
ARGO_REF = re.compile(r"\{\{\s*([^}]*?)\s*\}\}")


@functools.lru_cache(maxsize=64)
def _render_cached(helm_path: str, helm_version: tuple[int, int, int], values_json: str, profile: str,
                   api_versions: tuple[str, ...], release: str, namespace: str) -> tuple[Document, ...]:
    files = []
    if profile:
        files.append(PROFILES_DIR / f"{profile}.yaml")
    tmp = None
    if values_json != "null":
        tmp = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        yaml.safe_dump(json.loads(values_json), tmp)
        tmp.close()
        files.append(Path(tmp.name))
    try:
        req = RenderRequest(values_files=files, api_versions=api_versions, release=release,
                            namespace=namespace, chart=CHART_DIR)
        return tuple(render(req, Helm(helm_path, helm_version)))
    finally:
        if tmp:
            Path(tmp.name).unlink()


def rendered(values: dict[str, Any] | None = None, *, helm: Helm | None = None, profile: str = "",
             api_versions: tuple[str, ...] = ("argoproj.io/v1alpha1",), release: str = "cogniverse",
             namespace: str = "cogniverse") -> list[Document]:
    h = helm or find_helm()
    # Deep copies: a test may change the objects it gets without touching the cache.
    return [Document(copy.deepcopy(d.obj), d.source, d.index) for d in _render_cached(h.path, h.version, json.dumps(values, sort_keys=True), profile,
                                                                          api_versions, release, namespace)]


def objects(docs: list[Document], kind: str) -> dict[str, dict[str, Any]]:
    return {d.name: d.obj for d in docs if d.kind == kind}


def workflow_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """The workflow spec of a WorkflowTemplate, Workflow or CronWorkflow."""
    return obj["spec"]["workflowSpec"] if obj["kind"] == "CronWorkflow" else obj["spec"]


def templates(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in workflow_spec(obj)["templates"]}


def entry(obj: dict[str, Any]) -> dict[str, Any]:
    spec = workflow_spec(obj)
    return templates(obj)[spec["entrypoint"]]


def step_groups(template: dict[str, Any]) -> list[list[str]]:
    """[['validate-config'], ['prepare-dataset'], ...]: the step names of a steps template, by group."""
    return [[s["name"] for s in group] for group in template.get("steps") or []]


def steps(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for group in template.get("steps") or [] for s in group}


def arguments(step: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p.get("value") for p in (step.get("arguments") or {}).get("parameters") or []}


def parameters(obj: dict[str, Any]) -> dict[str, Any]:
    """Workflow parameters -> default value (None when the parameter has no default)."""
    return {p["name"]: p.get("value") for p in (workflow_spec(obj).get("arguments") or {}).get("parameters") or []}


def container_templates(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for t in workflow_spec(obj)["templates"]:
        if "container" in t:
            yield t


def all_argo(docs: list[Document]) -> Iterator[dict[str, Any]]:
    for d in docs:
        if d.kind in ARGO_KINDS:
            yield d.obj


def strings(node: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    """Every string in a nested object with its JSON path."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from strings(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from strings(v, f"{path}[{i}]")
    elif isinstance(node, str):
        yield path, node
