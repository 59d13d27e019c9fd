"""The chart test helpers (as Airflow's helm-tests `chart_utils`): one cached `render_chart`, one
`by_kind`, a `show_only` selector, and accessors for the Argo objects the chart renders. Not a test file.

`render_chart(values, profile=..., helm=...)` runs real `helm template` once per distinct request for the
whole session (rendering is deterministic for the same chart, values, flags and helm binary) and returns
fresh Document objects on every call, so a test may edit what it gets. Failed renders are not cached:
each raises HelmError with Helm's message.
"""

from __future__ import annotations

import pickle
import re
import tempfile
from pathlib import Path
from typing import Any, Iterator

import yaml

from cogniverse_chart import CHART_DIR, PROFILES_DIR
from cogniverse_chart.argo import model
from cogniverse_chart.catalogue import catalogue
from cogniverse_chart.documents import Document
from cogniverse_chart.helm import Helm, find_helm
from cogniverse_chart.render import DEFAULT_KUBE_VERSION, RenderRequest, render

#: The chart's workflow catalogue (cogniverse_chart.catalogue, read from the chart's values.yaml):
#: the WorkflowTemplates a user submits, the guide's CronWorkflows, and those the chart adds beyond the
#: guide's (each CronWorkflow also runs a WorkflowTemplate of its name).
WORKFLOW_TEMPLATES = catalogue().templates
CRON_WORKFLOWS = catalogue().guide_crons
OWN_CRON_WORKFLOWS = catalogue().background
ARGO_KINDS = ("WorkflowTemplate", "CronWorkflow", "Workflow")
ARGO_REF = re.compile(r"\{\{\s*([^}]*?)\s*\}\}")

#: request -> the rendered documents, pickled (unpickling is a cheap deep copy).
_RENDERED: dict[tuple[Any, ...], bytes] = {}


def render_chart(values: dict[str, Any] | None = None, *, profile: str | None = None,
                 show_only: list[str] | None = None, kube_version: str = DEFAULT_KUBE_VERSION,
                 api_versions: tuple[str, ...] = ("argoproj.io/v1alpha1",), helm: Helm | None = None,
                 release: str = "cogniverse", namespace: str = "cogniverse") -> list[Document]:
    """`helm template` of the chart with a profile (values/<profile>.yaml) and values on top.
    `show_only=["templates/x.yaml", ...]` keeps the documents of those templates (from the same cached
    render, like `helm template --show-only`)."""
    helm = helm or find_helm()
    dumped = yaml.safe_dump(values) if values else ""
    key = (helm.path, profile or "", dumped, kube_version, tuple(api_versions), release, namespace)
    cached = _RENDERED.get(key)
    if cached is None:
        files = [PROFILES_DIR / f"{profile}.yaml"] if profile else []
        with tempfile.TemporaryDirectory() as tmp:
            if values:
                f = Path(tmp) / "values.yaml"
                f.write_text(dumped, encoding="utf-8")
                files.append(f)
            req = RenderRequest(values_files=files, kube_version=kube_version, api_versions=tuple(api_versions),
                                release=release, namespace=namespace, chart=CHART_DIR)
            cached = _RENDERED[key] = pickle.dumps(render(req, helm), protocol=pickle.HIGHEST_PROTOCOL)
    docs: list[Document] = pickle.loads(cached)
    return select(docs, show_only) if show_only else docs


def select(docs: list[Document], templates: list[str]) -> list[Document]:
    """The documents rendered from the given chart templates ('templates/runtime/deployment.yaml');
    a template that rendered nothing is an error, as with `helm template --show-only`."""
    prefix = f"{CHART_DIR.name}/"
    out = []
    for t in templates:
        found = [d for d in docs if d.source == prefix + t]
        assert found, f"could not find template {t} in the rendered chart"
        out += found
    return out


# --- the service components (runtime, Vespa, Phoenix, LLM server) -----------------------------------

COMPONENTS = ("runtime", "vespa", "phoenix", "llm")
ALL_ON = {"llm": {"enabled": True}}
WORKLOAD_KINDS = ("Deployment", "StatefulSet")
UPSTREAM_REPOS = ("vespaengine/vespa", "arizephoenix/phoenix", "ollama/ollama")


def workloads(docs: list[Document]) -> list[dict[str, Any]]:
    return [d.obj for d in docs if d.kind in WORKLOAD_KINDS]


def component_docs(docs: list[Document], component: str) -> list[Document]:
    """Objects of the service component (workflow objects are owned by templates/workflows/)."""
    return [d for d in docs if not d.source.startswith("cogniverse/templates/workflows/")
            and (d.obj["metadata"].get("labels") or {}).get("app.kubernetes.io/component") == component]


def pod_specs(docs: list[Document]) -> list[tuple[str, dict[str, Any]]]:
    """(name, pod spec) of every service workload and the helm test Pod."""
    out = [(w["metadata"]["name"], w["spec"]["template"]["spec"]) for w in workloads(docs)
           if w["metadata"]["labels"].get("app.kubernetes.io/component") in COMPONENTS]
    out += [(d.name, d.obj["spec"]) for d in docs if d.kind == "Pod"]
    return out


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def by_kind(docs: list[Document], kind: str) -> dict[str, dict[str, Any]]:
    """{metadata.name: object} for every document of one kind."""
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
    """[['validate-config'], ['prepare-dataset'], ...]: the step names of a steps template, by group
    (the groups as the toolkit reads them: cogniverse_chart.argo.model.step_groups)."""
    return [model.names(group) for group in model.step_groups(template)]


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
    """Every Argo object that defines a workflow (a CronWorkflow runs a WorkflowTemplate: see scheduled)."""
    for d in docs:
        if d.kind in ARGO_KINDS and "workflowTemplateRef" not in workflow_spec(d.obj):
            yield d.obj


def scheduled(docs: list[Document]) -> dict[str, dict[str, Any]]:
    """{CronWorkflow name: the WorkflowTemplate it runs}; each chart CronWorkflow runs the one of its name."""
    wft = by_kind(docs, "WorkflowTemplate")
    out = {}
    for name, cron in by_kind(docs, "CronWorkflow").items():
        ref = cron["spec"]["workflowSpec"]["workflowTemplateRef"]["name"]
        assert ref == name, f"CronWorkflow {name} runs WorkflowTemplate {ref}, not the one of its name"
        out[name] = wft[ref]
    return out


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


def nest(path: str, value: Any) -> dict[str, Any]:
    """"runtime.service.port", 1 -> {"runtime": {"service": {"port": 1}}}; a "0" part is a one-item list:
    "a.schedules.0", "x" -> {"a": {"schedules": ["x"]}}."""
    out: Any = value
    for part in reversed(path.split(".")):
        out = [out] if part == "0" else {part: out}
    return out


def names_key(message: str, path: str, *, on_parent: bool) -> bool:
    """Does helm's message name `path` (dotted)? Helm 4's JSON pointers are normalised to dots."""
    text = re.sub(r"at '/([^']*)'", lambda m: "at '" + m.group(1).replace("/", ".") + "'", message)
    text = re.sub(r"\[(\d+)\]", r".\1", text)  # the chart's own checks write list items as key[0]
    if not on_parent:
        return re.search(rf"(^|[\s'(]){re.escape(path)}(['):.]|$)", text, re.M) is not None
    parent, _, leaf = path.rpartition(".")
    parent_named = (not parent) or re.search(rf"(^|[\s'(]){re.escape(parent)}(['):.]|$)", text, re.M) is not None
    return parent_named and re.search(rf"\b{re.escape(leaf)}\b", text) is not None
