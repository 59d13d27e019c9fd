"""The rule registry and the shared, precomputed view of a manifest stream (LintContext)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from ..documents import Document
from ..findings import Finding, Severity
from ..argo.model import Call, Site, WorkflowSpec, names, resolved_run, workflow_specs


#: The Argo minor versions lint knows the rules of (lint --argo-version).
ARGO_VERSIONS = ("3.6", "3.7", "4.0")


def default_argo_version() -> str:
    """The Argo minor the chart pins: ARGO_VERSION in versions.env (v3.7.18 -> "3.7")."""
    from .. import versions

    pinned = versions.load().get("ARGO_VERSION", "")
    minor = ".".join(pinned.lstrip("v").split(".")[:2])
    if minor not in ARGO_VERSIONS:
        raise ValueError(f"versions.env ARGO_VERSION={pinned}: lint knows Argo {', '.join(ARGO_VERSIONS)}")
    return minor


class Hit(NamedTuple):
    """What a rule reports: the object, the JSON path inside it, and the message."""

    doc: Document
    path: str
    message: str
    severity: Severity | None = None  # None: the rule's default severity


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    check: Callable[["LintContext"], Iterable[Hit]]
    #: True for rules that catch what Argo's own validator lets through (a run-time fault, or policy);
    #: False for rules that mirror a check of Argo's `workflow/validate` package.
    beyond_argo: bool = False

    def run(self, ctx: "LintContext") -> Iterator[Finding]:
        for hit in self.check(ctx):
            yield Finding.for_doc(hit.doc, self.id, hit.severity or self.severity, hit.message, hit.path)


RULES: dict[str, Rule] = {}


def rule(rule_id: str, severity: Severity, summary: str, beyond_argo: bool = False) -> Callable[[Callable[["LintContext"], Iterable[Hit]]], Callable[["LintContext"], Iterable[Hit]]]:
    def register(fn: Callable[["LintContext"], Iterable[Hit]]) -> Callable[["LintContext"], Iterable[Hit]]:
        if rule_id in RULES:
            raise ValueError(f"duplicate lint rule id {rule_id}")
        RULES[rule_id] = Rule(rule_id, severity, summary, fn, beyond_argo or not rule_id.startswith("argo/"))
        return fn

    return register


class LintContext:
    """Indexes over one stream, computed once and shared by every rule."""

    def __init__(self, docs: list[Document], argo_version: str = "") -> None:
        self.docs = docs
        #: "3.6", "3.7" or "4.0": the Argo version whose rules apply (lint --argo-version).
        self.argo_version = argo_version or default_argo_version()
        self._memo: dict[Any, Any] = {}
        self._runs: dict[Any, WorkflowSpec] = {}

    def shared(self, key: Any, compute: Callable[[], Any]) -> Any:
        """A fact of the whole stream, computed once (streaming lint shares it across documents)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def stream_of_kind(self, *kinds: str) -> list[Document]:
        """Documents of these kinds anywhere in the stream (the rules that compare documents use it; streaming
        lint keeps the small kinds it serves in memory: see lint/stream.py KEEP)."""
        return list(self.of_kind(*kinds))

    @property
    def argo4(self) -> bool:
        return self.argo_version.startswith("4.")

    @cached_property
    def workflows(self) -> list[WorkflowSpec]:
        """Every Argo workflow spec: Workflow, WorkflowTemplate, ClusterWorkflowTemplate, CronWorkflow."""
        return [w for d in self.docs for w in workflow_specs(d)]

    def templates(self) -> Iterator[tuple[WorkflowSpec, str, dict[str, Any]]]:
        """(spec, template name, template) for every template of every workflow spec."""
        for w in self.workflows:
            for t in w.template_list:
                yield w, str(t.get("name")), t

    def calls(self) -> Iterator[tuple[WorkflowSpec, Call]]:
        """(spec, call) for every step, task, hook and onExit of every workflow spec."""
        for w in self.workflows:
            for c in w.calls:
                yield w, c

    def sites(self, expr: bool) -> Iterator[tuple[WorkflowSpec, Site]]:
        """(spec, site) for every `{{...}}` use. The reference rules run twice: with expr=False over the uses
        Argo's validator resolves too, with expr=True over those it never looks at (Site.beyond_argo)."""
        for w in self.workflows:
            for s in w.sites_by_scope[expr]:
                yield w, s

    @cached_property
    def library(self) -> dict[tuple[bool, str], WorkflowSpec]:
        """(cluster scoped?, name) -> WorkflowTemplate / ClusterWorkflowTemplate spec, for templateRef."""
        out = {}
        for w in self.workflows:
            if w.doc.kind == "WorkflowTemplate":
                out[(False, w.doc.name)] = w
            elif w.doc.kind == "ClusterWorkflowTemplate":
                out[(True, w.doc.name)] = w
        return out

    def _event_parameters(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for d in self.stream_of_kind("WorkflowEventBinding"):
            submit = (d.obj.get("spec") or {}).get("submit") or {}
            ref = submit.get("workflowTemplateRef") if isinstance(submit, dict) else None
            if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                params = names((submit.get("arguments") or {}).get("parameters"))
                out.setdefault(ref["name"], set()).update(params)
        return out

    def event_parameters(self, template: str) -> set[str]:
        """Parameters that WorkflowEventBindings of the stream pass when they submit WorkflowTemplate `template`."""
        return self.shared("event-parameters", self._event_parameters).get(template, set())

    def referenced(self, w: WorkflowSpec) -> WorkflowSpec | None:
        """The (Cluster)WorkflowTemplate a `workflowTemplateRef` spec runs, when it is in the stream."""
        ref = w.spec.get("workflowTemplateRef")
        if not isinstance(ref, dict):
            return None
        return self.library.get((bool(ref.get("clusterScope")), str(ref.get("name", ""))))

    def run_spec(self, w: WorkflowSpec) -> WorkflowSpec:
        """What a spec executes: itself, or for a `workflowTemplateRef` run whose template is in the stream,
        that template's spec with the run's arguments merged in (model.resolved_run)."""
        lib = self.referenced(w)
        if lib is None:
            return w
        key = ("run-spec", id(w), id(lib))
        if key not in self._runs:  # several rules ask for it: merge (a deep copy) once
            self._runs[key] = resolved_run(w, lib)
        return self._runs[key]

    def of_kind(self, *kinds: str) -> Iterator[Document]:
        return (d for d in self.docs if d.kind in kinds)

    def resolve(self, w: WorkflowSpec, call: dict[str, Any]) -> tuple[WorkflowSpec, dict[str, Any]] | None:
        """The (spec, template) a step/task/hook calls with `template:` or `templateRef:`; None if
        it is not in this stream (or the call is inline)."""
        if isinstance(call.get("template"), str):
            t = w.templates.get(call["template"])
            return (w, t) if t is not None else None
        ref = call.get("templateRef")
        if isinstance(ref, dict):
            lib = self.library.get((bool(ref.get("clusterScope")), str(ref.get("name", ""))))
            if lib is not None:
                t = lib.templates.get(str(ref.get("template", "")))
                if t is not None:
                    return (lib, t)
        return None
