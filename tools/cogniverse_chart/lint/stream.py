"""Lint a stream of any length document by document, in bounded memory.

    findings, checked = lint_stream(read_paths(["big.yaml"]), progress=Progress.for_terminal())

One pass reads the stream and spools every document (see Spool) to a temporary file; memory
keeps only the small kinds the cross-document rules compare (KEEP: Services, service accounts, RBAC,
event bindings, ConfigMaps without their values), the position of each WorkflowTemplate and
ClusterWorkflowTemplate, and each CronWorkflow's schedule facts. A second pass reads the spool back and
lints each document with the library templates it references (transitively, from a small cache): the
same findings `lint(list(docs))` reports (tests/lint/test_lint_stream.py compares them), with memory bounded
by the largest document, the library cache and the kept kinds, whatever the length of the stream.
"""

from __future__ import annotations

import gc
import sys
import time
from collections import OrderedDict
from typing import Any, Callable, Iterable, Iterator

from ..documents import Document, no_cyclic_gc
from ..findings import Finding
from ..argo.model import ARGO_API_PREFIX, WorkflowSpec, workflow_specs
from . import RULES, check_rule_ids, default_argo_version
from .registry import ARGO_VERSIONS, LintContext
from ..errors import ToolkitError
from .cron import HEAVY_ANNOTATION
from .spool import Compact, Spool

KEEP = ("Service", "ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
        "WorkflowEventBinding", "ConfigMap")
LIBRARY_KINDS = ("WorkflowTemplate", "ClusterWorkflowTemplate")
#: Rules that compare every CronWorkflow with every other: run once, at the end, over the kept cron facts.
GLOBAL_RULES = ("policy/cron-overlap",)
#: Rules that check a workflowTemplateRef run as the template's spec with the run's arguments merged in,
#: and so report inside the template because of the run (references.unknown_workflow_parameter).
RUN_RULES = ("argo/unknown-workflow-parameter", "argo/expression-reference")
LIBRARY_CACHE = 64
#: Documents between two collections of reference cycles while checking (a collection costs a few ms: the
#: heap is small when streaming).
GC_EVERY = 2048
#: Documents without a workflow spec linted together (_lint_batch).
BATCH = 256


def refs(obj: Any) -> set[tuple[bool, str]]:
    """(cluster scoped?, name) of every templateRef / workflowTemplateRef under obj."""
    found: set[tuple[bool, str]] = set()
    todo = [obj]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            for key in ("templateRef", "workflowTemplateRef"):
                ref = node.get(key)
                if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                    found.add((bool(ref.get("clusterScope")), ref["name"]))
            todo += [v for v in node.values() if isinstance(v, (dict, list))]
        elif isinstance(node, list):
            todo += [v for v in node if isinstance(v, (dict, list))]
    return found


def _spec_refs(specs: list[WorkflowSpec]) -> set[tuple[bool, str]]:
    """refs() of Argo workflow specs, read from their calls and workflowTemplateRef (not a full walk)."""
    out: set[tuple[bool, str]] = set()
    for w in specs:
        for node in [w.spec] + [c.node for c in w.calls]:
            for key in ("templateRef", "workflowTemplateRef"):
                ref = node.get(key)
                if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                    out.add((bool(ref.get("clusterScope")), ref["name"]))
    return out


#: What the cross-document rules read of each kept kind (besides apiVersion, kind, name and namespace).
KEPT_FIELDS = {"Role": ("rules",), "ClusterRole": ("rules",), "RoleBinding": ("subjects", "roleRef"),
               "ClusterRoleBinding": ("subjects", "roleRef"), "WorkflowEventBinding": ("spec",)}


def _kept(doc: Document, c: Compact) -> Document:
    """A kept document reduced to what the rules comparing documents read (memory per document stays small)."""
    obj: dict[str, Any] = {"apiVersion": c.text(doc.obj.get("apiVersion")), "kind": c.text(doc.kind)}
    if doc.kind == "ConfigMap":  # its keys and annotations, never the values
        obj["metadata"] = c.meta(doc, None)
        for field in ("data", "binaryData"):
            if isinstance(doc.obj.get(field), dict):
                obj[field] = c.share(dict.fromkeys(doc.obj[field], ""))
    else:
        obj["metadata"] = c.meta(doc)
        obj.update((k, c.share(doc.obj[k])) for k in KEPT_FIELDS.get(doc.kind, ()) if k in doc.obj)
    return Document(obj, doc.source, doc.index, doc.duplicate_keys)


def _cron_facts(doc: Document, c: Compact) -> Document:
    """A CronWorkflow without its templates: what cron-overlap reads (schedules, time zone, annotations,
    namespace, synchronization, workflowTemplateRef)."""
    spec = {k: v for k, v in (doc.obj.get("spec") or {}).items()
            if k in ("schedule", "schedules", "timezone", "concurrencyPolicy", "workflowSpec")}
    wf = spec.get("workflowSpec")
    if isinstance(wf, dict):
        spec["workflowSpec"] = {k: v for k, v in wf.items() if k in ("synchronization", "workflowTemplateRef")}
    obj = {"apiVersion": c.text(doc.api_version), "kind": c.text(doc.kind), "metadata": c.meta(doc, (HEAVY_ANNOTATION,)),
           "spec": c.share(spec)}
    return Document(obj, doc.source, doc.index, doc.duplicate_keys)


class Shared:
    """What every document's lint may consult: kept kinds, the library index and cache, shared facts."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self.kept: dict[str, list[Document]] = {k: [] for k in KEEP}
        self.library: dict[tuple[bool, str], int] = {}
        self.crons: list[Document] = []
        self.memo: dict[Any, Any] = {}
        self.cache: OrderedDict[tuple[bool, str], WorkflowSpec] = OrderedDict()
        self.own: dict[tuple[bool, str], set[tuple[str, str, str]]] = {}
        self.compact = Compact()

    def add(self, doc: Document, at: int) -> None:
        if doc.kind in self.kept:
            self.kept[doc.kind].append(_kept(doc, self.compact))
        if doc.api_version.startswith(ARGO_API_PREFIX):
            if doc.kind in LIBRARY_KINDS:
                self.library[(doc.kind == "ClusterWorkflowTemplate", doc.name)] = at
            elif doc.kind == "CronWorkflow":
                self.crons.append(_cron_facts(doc, self.compact))

    def load(self, key: tuple[bool, str]) -> WorkflowSpec | None:
        """The spec of a library template (cached: its indexes, e.g. `sites`, are computed once)."""
        if key in self.cache:
            self.cache.move_to_end(key)
            return self.cache[key]
        at = self.library.get(key)
        if at is None:
            return None
        specs = workflow_specs(self.spool.get(at))
        if not specs:
            return None
        spec = self.cache[key] = specs[0]
        if len(self.cache) > LIBRARY_CACHE:
            self.cache.popitem(last=False)
        return spec

    def context_for(self, doc: Document, specs: list[WorkflowSpec] | None = None) -> list[WorkflowSpec]:
        """The library templates `doc` (whose workflow_specs are `specs`) references, transitively (not doc itself)."""
        out: list[WorkflowSpec] = []
        seen: set[tuple[bool, str]] = set()
        if doc.kind in LIBRARY_KINDS:
            seen.add((doc.kind == "ClusterWorkflowTemplate", doc.name))
        todo = _spec_refs(workflow_specs(doc) if specs is None else specs)
        while todo:
            key = todo.pop()
            if key in seen:
                continue
            seen.add(key)
            lib = self.load(key)
            if lib is not None:
                out.append(lib)
                todo |= _spec_refs([lib]) - seen
        return out


class _LibraryView(dict):
    """ctx.library of a streamed document: the loaded templates by key; iterating lists every name."""

    def __init__(self, local: dict[tuple[bool, str], WorkflowSpec], names: Iterable[tuple[bool, str]]) -> None:
        super().__init__(local)
        self.names = names

    def __iter__(self) -> Iterator[tuple[bool, str]]:
        return iter(self.names)


class StreamContext(LintContext):
    """The view of one document: rules iterate it alone; templateRefs resolve against `libs`, the library
    templates it references; the kinds that rules compare across documents come from `shared`."""

    def __init__(self, docs: list[Document], libs: list[WorkflowSpec], shared: Shared, argo_version: str,
                 workflows: list[WorkflowSpec] | None = None) -> None:
        super().__init__(docs, argo_version)
        if workflows is not None:  # the documents' specs, built already (their indexes are computed once)
            self.__dict__["workflows"] = workflows
        self._memo = shared.memo
        self._shared = shared
        self._libs = libs

    def stream_of_kind(self, *kinds: str) -> list[Document]:
        if all(k in KEEP for k in kinds):
            return [d for k in kinds for d in self._shared.kept[k]]
        if kinds == ("CronWorkflow",):
            return list(self._shared.crons)
        raise ValueError(f"streaming lint keeps no {kinds} documents; add the kind to KEEP")

    @property
    def library(self) -> dict[tuple[bool, str], WorkflowSpec]:  # type: ignore[override]
        if "_library" not in self.__dict__:
            local = {(w.doc.kind == "ClusterWorkflowTemplate", w.doc.name): w for w in [*self._libs, *self.workflows]
                     if w.doc.kind in LIBRARY_KINDS}
            self.__dict__["_library"] = _LibraryView(local, self._shared.library)
        return self.__dict__["_library"]


class Progress:
    """Progress on a terminal (stderr) for runs over a few seconds; silent elsewhere."""

    def __init__(self, write: Callable[[str], Any] | None, after: float = 2.0) -> None:
        self.write, self.after, self.start, self.last = write, after, time.monotonic(), 0.0

    @classmethod
    def for_terminal(cls) -> "Progress":
        return cls(sys.stderr.write if sys.stderr.isatty() else None)

    def __call__(self, phase: str, done: int, total: int = 0) -> None:
        now = time.monotonic()
        if self.write is None or now - self.start < self.after or now - self.last < 0.5:
            return
        self.last = now
        of = f"/{total:,}" if total else ""
        self.write(f"\rlint: {phase} {done:,}{of} documents, {now - self.start:.0f}s ")

    def done(self) -> None:
        if self.write is not None and self.last:
            self.write("\r\x1b[K")


def lint_stream(docs: Iterable[Document], disable: Iterable[str] = (), argo_version: str = "",
                progress: Progress | None = None) -> tuple[list[Finding], int]:
    """(findings, documents checked): what lint(list(docs)) reports, read and checked one document at a time."""
    from . import MALFORMED, malformed  # the package imports this module at its end
    if argo_version and argo_version not in ARGO_VERSIONS:
        raise ToolkitError(f"--argo-version {argo_version}: lint knows Argo {', '.join(ARGO_VERSIONS)}")
    version = argo_version or default_argo_version()
    off = check_rule_ids(disable)
    rules = [r for r in RULES.values() if r.id not in off]
    tick = progress or Progress(None)
    spool = Spool()
    shared = Shared(spool)
    findings: list[Finding] = []
    try:
        with no_cyclic_gc():
            unreadable: set[int] = set()  # documents whose fields have the wrong type: reported, not checked
            for doc in docs:
                at = spool.put(doc)
                try:
                    shared.add(doc, at)
                except MALFORMED as exc:
                    unreadable.add(len(spool.offsets) - 1)
                    findings += malformed([doc], version, exc)
                tick("read", len(spool.offsets))
            total = len(spool.offsets)
            batch: list[Document] = []  # documents without a workflow spec, checked together (_lint_batch)
            for i, doc in enumerate(spool):
                if i in unreadable:
                    pass
                elif doc.api_version.startswith(ARGO_API_PREFIX):
                    findings += _lint_alone(doc, shared, rules, version)
                else:
                    batch.append(doc)
                    if len(batch) == BATCH:
                        findings += _lint_batch(batch, shared, rules, version)
                        batch = []
                tick("checked", i + 1, total)
                if i % GC_EVERY == GC_EVERY - 1:
                    # cycles some rules leave (closures that recurse): the paused collector misses them. They are
                    # younger than the last collection, so the young generations are scanned (a full collection,
                    # of the kept kinds and caches too, costs ten times more), and everything every 8th time
                    gc.collect(2 if i % (8 * GC_EVERY) == 8 * GC_EVERY - 1 else 1)
            findings += _lint_batch(batch, shared, rules, version)
            crons = [r for r in rules if r.id in GLOBAL_RULES]
            if crons and shared.crons:
                ctx = StreamContext(shared.crons, _libraries(shared, shared.crons), shared, version)
                findings += [f for r in crons for f in r.run(ctx)]
    finally:
        spool.close()
        tick.done()
    return findings, total


def _libraries(shared: Shared, docs: list[Document]) -> list[WorkflowSpec]:
    out: dict[int, WorkflowSpec] = {}
    for d in docs:
        out.update((id(lib), lib) for lib in shared.context_for(d))
    return list(out.values())


def _hits(doc: Document, shared: Shared, rules: list, version: str) -> Iterator[tuple[Any, Any]]:
    specs = workflow_specs(doc)
    ctx = StreamContext([doc], shared.context_for(doc, specs), shared, version, specs)
    for r in rules:
        if r.id in GLOBAL_RULES:
            continue
        for hit in r.check(ctx):
            yield r, hit


def _own(shared: Shared, key: tuple[bool, str], rules: list, version: str) -> set[tuple[str, str, str]]:
    """What a library document reports in its own turn (to tell apart what a run of it adds)."""
    if key not in shared.own:
        lib = shared.load(key)
        run_rules = [r for r in rules if r.id in RUN_RULES]
        shared.own[key] = set() if lib is None else \
            {(r.id, h.path, h.message) for r, h in _hits(lib.doc, shared, run_rules, version) if h.doc is lib.doc}
    return shared.own[key]


def _lint_alone(doc: Document, shared: Shared, rules: list, version: str) -> list[Finding]:
    """One document's findings; a document whose fields have the wrong type gets malformed()'s instead."""
    from . import MALFORMED, malformed

    try:
        return _lint_one(doc, shared, rules, version)
    except MALFORMED as exc:
        return malformed([doc], version, exc)


def _lint_batch(docs: list[Document], shared: Shared, rules: list, version: str) -> list[Finding]:
    """Documents without a workflow spec (Services, ConfigMaps, RBAC, Deployments ...), in one context: each
    rule runs once for the batch instead of once per document. The findings are those of linting each alone,
    in the same order: no rule compares two documents of its context (the rules that compare documents read
    the kept kinds, `stream_of_kind`), and without a workflow spec there are no library templates. A batch
    with a malformed document is linted document by document, as before."""
    from . import MALFORMED

    if not docs:
        return []
    at = {id(d): i for i, d in enumerate(docs)}
    found: list[tuple[int, Finding]] = []
    try:
        ctx = StreamContext(docs, [], shared, version, [])
        for r in rules:
            if r.id not in GLOBAL_RULES:
                for hit in r.check(ctx):
                    if id(hit.doc) in at:
                        found.append((at[id(hit.doc)], Finding.for_doc(hit.doc, r.id, hit.severity or r.severity,
                                                                       hit.message, hit.path)))
    except MALFORMED:
        return [f for doc in docs for f in _lint_alone(doc, shared, rules, version)]
    found.sort(key=lambda pair: pair[0])  # stable: each document's findings in rule order, as alone
    return [f for _, f in found]


def _lint_one(doc: Document, shared: Shared, rules: list, version: str) -> list[Finding]:
    out = []
    for r, hit in _hits(doc, shared, rules, version):
        if hit.doc is not doc:
            # a finding inside a library template that this document's run causes (its arguments merged
            # in); the template's own findings come in its own turn
            key = (hit.doc.kind == "ClusterWorkflowTemplate", hit.doc.name)
            if r.id not in RUN_RULES or hit.doc.kind not in LIBRARY_KINDS \
                    or (r.id, hit.path, hit.message) in _own(shared, key, rules, version):
                continue
        out.append(Finding.for_doc(hit.doc, r.id, hit.severity or r.severity, hit.message, hit.path))
    return out
