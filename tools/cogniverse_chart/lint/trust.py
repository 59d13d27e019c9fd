"""What Argo's controller trusts in a manifest, and host access (attack21d #1, #3, #20).

A Workflow is written by whoever may create Workflows, yet Argo's controller acts on parts of it as if it had
written them itself: a node of `status` names the account an artifact-GC pod runs as, `status.
persistentVolumeClaims` are deleted at the end, a `workflows.argoproj.io/completed` label or finalizer changes
how the run is handled. `spec.artifactGC.podSpecPatch` shapes that GC pod. And a pod spec (or a podSpecPatch,
which the API server sees only once Argo has applied it) with hostPath volumes, host namespaces, privileged
containers or added capabilities reaches the node and every other pod's token on it.

- `policy/workflow-status`: an Argo manifest that carries `status`;
- `policy/argo-metadata`: a `workflows.argoproj.io/*` label or finalizer set by the author;
- `policy/host-access`: hostPath, hostNetwork/hostPID/hostIPC in pods and workflows, and in every podSpecPatch
  (parsed) also privileged containers and added capabilities;
- `policy/artifact-gc-patch`: an `artifactGC.podSpecPatch`.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..documents import Document, json_path, load_document
from ..errors import ToolkitError
from ..findings import Severity
from ..argo.model import WorkflowSpec
from .policy import POD_SPEC_AT, _dig
from .registry import Hit, LintContext, rule

ARGO_KINDS = ("Workflow", "CronWorkflow", "WorkflowTemplate", "ClusterWorkflowTemplate")
ARGO_PREFIX = "workflows.argoproj.io/"
#: Labels of Argo's prefix a submitter writes: the two Argo's docs ask authors to set (the controller instance a
#: run belongs to, opting out of the archive), and the three `argo submit --from` (and `cogniverse-chart
#: submit`/`trigger`, `generate`) put on a run to name what it was made from.
AUTHOR_LABELS = frozenset({"workflows.argoproj.io/controller-instanceid", "workflows.argoproj.io/archive-strategy",
                           "workflows.argoproj.io/workflow-template", "workflows.argoproj.io/cluster-workflow-template",
                           "workflows.argoproj.io/cron-workflow"})
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")
CONTAINER_KEYS = ("containers", "initContainers", "ephemeralContainers")


def _argo_docs(ctx: LintContext) -> Iterator[Document]:
    return (d for d in ctx.of_kind(*ARGO_KINDS) if d.api_version.startswith("argoproj.io/"))


@rule("policy/workflow-status", Severity.ERROR,
      "Argo manifests carry no status: Argo's controller trusts it (artifact-GC accounts, claims it deletes)")
def workflow_status(ctx: LintContext) -> Iterator[Hit]:
    for d in _argo_docs(ctx):
        if "status" in d.obj:
            yield Hit(d, "$.status",
                      f"this {d.kind} carries a status: the API server stores it as written (Workflows have no "
                      f"status subresource) and Argo's controller acts on it (an artifact-GC pod runs as the account "
                      f"a node's outputs name; status.persistentVolumeClaims are deleted); remove it, only the "
                      f"controller writes status")


def _metadata_places(d: Document) -> Iterator[tuple[list[Any], dict[str, Any]]]:
    """The object's metadata, and the metadata it gives its runs (workflowMetadata of a spec)."""
    if isinstance(d.obj.get("metadata"), dict):
        yield ["metadata"], d.obj["metadata"]
    for base in (["spec"], ["spec", "workflowSpec"]):
        meta = _dig(d.obj, (*base, "workflowMetadata"))
        if isinstance(meta, dict):
            yield [*base, "workflowMetadata"], meta


@rule("policy/argo-metadata", Severity.ERROR,
      "no workflows.argoproj.io/* labels or finalizers set by the author (Argo's controller owns them)")
def argo_metadata(ctx: LintContext) -> Iterator[Hit]:
    for d in _argo_docs(ctx):
        for path, meta in _metadata_places(d):
            labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
            for key in labels:
                if str(key).lower().startswith(ARGO_PREFIX) and key not in AUTHOR_LABELS:
                    yield Hit(d, json_path([*path, "labels", key]),
                              f"label '{key}' is Argo's own: its controller sets it (`completed: \"true\"` makes a run "
                              f"Argo never starts or releases its locks; `phase` forges its state); remove it")
            finalizers = meta.get("finalizers") if isinstance(meta.get("finalizers"), list) else []
            for i, f in enumerate(finalizers):
                if isinstance(f, str) and f.lower().startswith(ARGO_PREFIX):
                    yield Hit(d, json_path([*path, "finalizers", i]),
                              f"finalizer '{f}' is Argo's own: with a forged status it makes the controller run "
                              f"artifact garbage collection (a pod of the account the status names) and keeps the "
                              f"object, and its namespace, from being deleted; remove it")


def pod_host_problems(spec: dict[str, Any], *, containers: bool) -> Iterator[tuple[list[Any], str]]:
    """(path inside the pod spec, what) for host access: host namespaces, hostPath volumes, and (with
    `containers`: a podSpecPatch, which policy/security-context does not read) privileged containers and added
    capabilities."""
    for key in HOST_NAMESPACES:
        if spec.get(key) is True:
            yield [key], f"{key}: true (the node's {key[4:].lower()} namespace)"
    for i, v in enumerate(spec.get("volumes") if isinstance(spec.get("volumes"), list) else []):
        if isinstance(v, dict) and v.get("hostPath") is not None:
            where = _dig(v, ("hostPath", "path"))
            yield ["volumes", i, "hostPath"], f"volume '{v.get('name')}' is a hostPath ({where or 'a node path'})"
    if not containers:
        return
    for key in CONTAINER_KEYS:
        for i, c in enumerate(spec.get(key) if isinstance(spec.get(key), list) else []):
            sc = c.get("securityContext") if isinstance(c, dict) else None
            if not isinstance(sc, dict):
                continue
            if sc.get("privileged") is True:
                yield [key, i, "securityContext", "privileged"], f"{key}[{i}] is privileged"
            added = _dig(sc, ("capabilities", "add"))
            extra = sorted({str(a).upper() for a in added} - {"NET_BIND_SERVICE"}) if isinstance(added, list) else []
            if extra:
                yield [key, i, "securityContext", "capabilities", "add"], f"{key}[{i}] adds {', '.join(extra)}"


def patch_of(text: Any) -> dict[str, Any] | None:
    """A podSpecPatch as a mapping, or None when it is not text, still templated (`{{`), or not a YAML/JSON
    mapping (argo/pod-spec-patch reports those). The toolkit's hardened loader: no alias bomb is expanded."""
    if not isinstance(text, str) or "{{" in text:
        return None
    try:
        docs = load_document(text, "podSpecPatch")
    except ToolkitError:
        return None
    return docs[0] if len(docs) == 1 and isinstance(docs[0], dict) else None


def _patch_holders(w: WorkflowSpec) -> Iterator[tuple[list[Any], str, Any]]:
    """(path of the holder, who, podSpecPatch text) for the workflow, each template, and artifact GC."""
    yield list(w.base), "the workflow", w.spec.get("podSpecPatch")
    if isinstance(w.spec.get("templateDefaults"), dict):
        yield [*w.base, "templateDefaults"], "templateDefaults", w.spec["templateDefaults"].get("podSpecPatch")
    for t in w.template_list:
        yield w.tpath(str(t.get("name"))), f"template '{t.get('name')}'", t.get("podSpecPatch")
    if isinstance(w.spec.get("artifactGC"), dict):
        yield [*w.base, "artifactGC"], "artifact GC", w.spec["artifactGC"].get("podSpecPatch")


def _advice(problems: list[str]) -> str:
    return (f"{'; '.join(problems)}: a pod with host access reads every other pod's token on its node (Argo's "
            f"controller's among them) and the node itself; Pod Security baseline refuses it")


@rule("policy/host-access", Severity.ERROR,
      "no hostPath, host namespaces, privileged or added capabilities (also inside podSpecPatch text)")
def host_access(ctx: LintContext) -> Iterator[Hit]:
    for d in ctx.docs:
        at = POD_SPEC_AT.get(d.kind)
        spec = _dig(d.obj, at) if at and not d.api_version.startswith("argoproj.io/") else None
        if isinstance(spec, dict) and (found := list(pod_host_problems(spec, containers=False))):
            yield Hit(d, json_path([*at, *found[0][0]]), _advice([what for _, what in found]))
    for w in ctx.workflows:
        found = list(pod_host_problems(w.spec, containers=False))
        defaults = w.spec.get("templateDefaults")
        if isinstance(defaults, dict) and isinstance(defaults.get("volumes"), list):
            found += [(["templateDefaults", *p], f"templateDefaults: {what}")
                      for p, what in pod_host_problems({"volumes": defaults["volumes"]}, containers=False)]
        for t in w.template_list:
            vols = {"volumes": t["volumes"]} if isinstance(t.get("volumes"), list) else {}
            found += [(w.tpath(str(t.get("name")), *p)[len(w.base):], f"template '{t.get('name')}': {what}")
                      for p, what in pod_host_problems(vols, containers=False)]
        if found:
            yield Hit(w.doc, w.path(*found[0][0]), _advice([what for _, what in found]))
        for path, who, text in _patch_holders(w):
            patch = patch_of(text)
            if patch and (found := list(pod_host_problems(patch, containers=True))):
                yield Hit(w.doc, json_path([*path, "podSpecPatch"]),
                          _advice([f"podSpecPatch of {who}: {what}" for _, what in found]))


@rule("policy/artifact-gc-patch", Severity.ERROR,
      "no artifactGC.podSpecPatch: it shapes a pod Argo's controller creates, with the account it chooses")
def artifact_gc_patch(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        gc = w.spec.get("artifactGC")
        if isinstance(gc, dict) and gc.get("podSpecPatch"):
            yield Hit(w.doc, w.path("artifactGC", "podSpecPatch"),
                      "artifactGC.podSpecPatch sets the image, command and pod of the artifact-GC pod that Argo's "
                      "controller creates (its account from the artifacts' artifactGC.serviceAccountName): code of "
                      "the author's choice under an account the controller picks; remove it")
