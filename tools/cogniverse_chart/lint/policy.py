"""Policy for pods (workloads and Argo templates) and workflow specs: resources, restricted
security context, pinned images, retries, deadlines, service accounts, TTL and pod GC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ..documents import Document, json_path, walk_strings
from ..findings import Severity
from ..argo.model import WorkflowSpec, template_type
from .registry import Hit, LintContext, rule

#: Where the pod spec lives in each workload kind.
POD_SPEC_AT = {"Pod": ("spec",), "Deployment": ("spec", "template", "spec"), "StatefulSet": ("spec", "template", "spec"),
               "DaemonSet": ("spec", "template", "spec"), "ReplicaSet": ("spec", "template", "spec"),
               "Job": ("spec", "template", "spec"), "CronJob": ("spec", "jobTemplate", "spec", "template", "spec")}


@dataclass
class PodContainer:
    """One container with the pod-level settings that apply to it."""

    doc: Document
    path: list[Any]
    container: dict[str, Any]
    pod_security: dict[str, Any]
    label: str  # "container 'x' of template 'y'"
    defaults: dict[str, Any]  # Argo templateDefaults container fields


def _dig(obj: Any, keys: tuple[str, ...]) -> Any:
    for k in keys:
        obj = obj.get(k) if isinstance(obj, dict) else None
    return obj


def _merge(*dicts: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for d in dicts:
        if isinstance(d, dict):
            out.update({k: v for k, v in d.items() if v is not None})
    return out


def pod_containers(ctx: LintContext) -> Iterator[PodContainer]:
    for d in ctx.docs:
        at = POD_SPEC_AT.get(d.kind)
        if at and not d.api_version.startswith("argoproj.io/"):
            spec = _dig(d.obj, at)
            if not isinstance(spec, dict):
                continue
            for key in ("initContainers", "containers"):
                for i, c in enumerate(spec.get(key) or []):
                    if isinstance(c, dict):
                        yield PodContainer(d, [*at, key, i], c, spec.get("securityContext") or {},
                                           f"{key[:-1]} '{c.get('name')}'", {})
    for w in ctx.workflows:
        if "_containers" not in w.__dict__:  # several rules ask: found once per spec
            w.__dict__["_containers"] = list(_workflow_containers(w))
        yield from w.__dict__["_containers"]


def _workflow_containers(w: WorkflowSpec) -> Iterator[PodContainer]:
    defaults = w.spec.get("templateDefaults") or {}
    for t in w.template_list:
        tn = str(t.get("name"))
        pod_sc = _merge(w.spec.get("securityContext"), defaults.get("securityContext"), t.get("securityContext"))
        for key in ("container", "script"):
            if isinstance(t.get(key), dict):
                yield PodContainer(w.doc, w.tpath(tn, key), t[key], pod_sc, f"{key} of template '{tn}'",
                                   defaults.get(key) or {})
        for i, c in enumerate((t.get("containerSet") or {}).get("containers") or []):
            if isinstance(c, dict):
                yield PodContainer(w.doc, w.tpath(tn, "containerSet", "containers", i), c, pod_sc,
                                   f"container '{c.get('name')}' of template '{tn}'", {})
        for key in ("initContainers", "sidecars"):
            for i, c in enumerate(t.get(key) or []):
                if isinstance(c, dict):
                    yield PodContainer(w.doc, w.tpath(tn, key, i), c, pod_sc,
                                       f"{key[:-1]} '{c.get('name')}' of template '{tn}'", {})


@rule("policy/resources", Severity.ERROR, "every container sets requests.cpu, requests.memory and limits.memory")
def resources(ctx: LintContext) -> Iterator[Hit]:
    for pc in pod_containers(ctx):
        res = _merge(pc.defaults.get("resources"), pc.container.get("resources"))
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        missing = [n for n, ok in (("requests.cpu", "cpu" in req), ("requests.memory", "memory" in req),
                                   ("limits.memory", "memory" in lim)) if not ok]
        if missing:
            yield Hit(pc.doc, json_path([*pc.path, "resources"]),
                      f"{pc.label} does not set {', '.join(missing)}; unbounded pods get evicted or starve "
                      f"their neighbours")


@rule("policy/security-context", Severity.ERROR,
      "containers run restricted: runAsNonRoot, no privilege escalation, drop ALL capabilities, seccomp RuntimeDefault")
def security_context(ctx: LintContext) -> Iterator[Hit]:
    for pc in pod_containers(ctx):
        sc = _merge(pc.defaults.get("securityContext"), pc.container.get("securityContext"))
        pod = pc.pod_security
        problems = []
        non_root = sc.get("runAsNonRoot", pod.get("runAsNonRoot"))
        uid = sc.get("runAsUser", pod.get("runAsUser"))
        if non_root is not True:
            problems.append("runAsNonRoot: true")
        if uid == 0:
            problems.append("a non-zero runAsUser")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append("allowPrivilegeEscalation: false")
        if sc.get("privileged") is True:
            problems.append("no privileged: true")
        drop = [str(x).upper() for x in ((sc.get("capabilities") or {}).get("drop") or [])]
        if "ALL" not in drop:
            problems.append("capabilities.drop: [ALL]")
        added = {str(x).upper() for x in ((sc.get("capabilities") or {}).get("add") or [])}
        if added - {"NET_BIND_SERVICE"}:
            problems.append(f"no capabilities.add but NET_BIND_SERVICE (adds {', '.join(sorted(added))})")
        seccomp = (sc.get("seccompProfile") or pod.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append("seccompProfile.type: RuntimeDefault (container or pod level)")
        if problems:
            yield Hit(pc.doc, json_path([*pc.path, "securityContext"]),
                      f"{pc.label} is not restricted: needs {'; '.join(problems)}")


def image_problem(image: str) -> str | None:
    if "{{" in image or "@" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag (it means :latest)"
    if last.rsplit(":", 1)[1] == "latest":
        return "uses the :latest tag"
    return None


@rule("policy/image-tag", Severity.ERROR, "images are pinned: no :latest and no untagged images")
def image_tag(ctx: LintContext) -> Iterator[Hit]:
    for pc in pod_containers(ctx):
        image = pc.container.get("image") or pc.defaults.get("image")
        if isinstance(image, str) and (problem := image_problem(image)):
            yield Hit(pc.doc, json_path([*pc.path, "image"]),
                      f"{pc.label}: image '{image}' {problem}; pin a version tag or digest so every node "
                      f"runs the same code")


def _specs(ctx: LintContext) -> Iterator[WorkflowSpec]:
    """Workflow specs that define their own templates (not `workflowTemplateRef` runs)."""
    return (w for w in ctx.workflows if "workflowTemplateRef" not in w.spec)


@rule("policy/retry-strategy", Severity.ERROR,
      "workflows retry transient failures: retryStrategy on pod templates (error when none anywhere)")
def retry_strategy(ctx: LintContext) -> Iterator[Hit]:
    for w in _specs(ctx):
        if w.spec.get("retryStrategy") or (w.spec.get("templateDefaults") or {}).get("retryStrategy"):
            continue
        leaves = [t for t in w.template_list if template_type(t) in ("container", "script", "containerSet", "resource")]
        without = [t for t in leaves if not t.get("retryStrategy")]
        if not leaves or not without:
            continue
        if len(without) == len(leaves):
            yield Hit(w.doc, w.path("templates"),
                      "no retryStrategy anywhere: one transient failure fails the whole run; set it on the "
                      "templates (or spec.templateDefaults.retryStrategy)")
            continue
        for t in without:
            yield Hit(w.doc, json_path(w.tpath(str(t.get("name")), "retryStrategy")),
                      f"template '{t.get('name')}' has no retryStrategy (fine only for steps that must not be retried)", Severity.INFO)


#: The "the spec must set X" rules, one table: (rule id, summary, the keys that must hold a value, the
#: field a finding points at, what goes wrong without it).
SPEC_MUST_SET: tuple[tuple[str, str, tuple[str, ...], str, str], ...] = (
    ("policy/active-deadline", "workflows set spec.activeDeadlineSeconds",
     ("activeDeadlineSeconds",), "activeDeadlineSeconds",
     "no activeDeadlineSeconds: a stuck run holds its resources (and any semaphore) forever"),
    ("policy/service-account", "workflows set spec.serviceAccountName",
     ("serviceAccountName",), "serviceAccountName",
     "no serviceAccountName: pods run as the namespace's default account, which lacks the "
     "RBAC the Argo executor needs (and should have none)"),
    ("policy/ttl-strategy", "workflows set spec.ttlStrategy so finished runs are cleaned up",
     ("ttlStrategy",), "ttlStrategy",
     "no ttlStrategy: finished Workflow objects pile up in etcd; set secondsAfterCompletion "
     "or secondsAfterSuccess/Failure"),
    ("policy/pod-gc", "workflows set spec.podGC so completed pods are deleted",
     ("podGC", "strategy"), "podGC",
     "no podGC strategy: completed pods stay forever; set podGC.strategy (e.g. OnPodSuccess)"),
)


def _spec_must_set(keys: tuple[str, ...], at: str, message: str) -> Callable[[LintContext], Iterator[Hit]]:
    def check(ctx: LintContext) -> Iterator[Hit]:
        for w in _specs(ctx):
            if not _dig(w.spec, keys):
                yield Hit(w.doc, w.path(at), message)
    return check


for _id, _summary, _keys, _at, _message in SPEC_MUST_SET:
    rule(_id, Severity.ERROR, _summary)(_spec_must_set(_keys, _at, _message))


#: An in-cluster URL after a word boundary (checked in _url_hosts: a pattern that starts with `\b` is tried at
#: every character; one that starts with the scheme skips ahead to its letters, 3x faster on scripts).
_URL_HOST = re.compile(r"(?:https?|grpc|tcp)://([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9-]+)?(\.svc(?:\.cluster\.local)?)?[:/]")
_LOCAL_HOSTS = {"localhost"}


def _url_hosts(text: str) -> Iterator[re.Match[str]]:
    """What `\\b` + _URL_HOST finds with finditer: the leftmost match at a word boundary, then on after it."""
    pos = 0
    while (m := _URL_HOST.search(text, pos)) is not None:
        start = m.start()
        if start and (text[start - 1].isalnum() or text[start - 1] == "_"):  # a word character: no boundary
            pos = start + 1
            continue
        yield m
        pos = m.end()


def _service_hosts(text: str) -> Iterator[tuple[str, str]]:
    """(service name, namespace or '') for in-cluster URLs: http://svc:80, http://svc.ns.svc:80/."""
    for m in _url_hosts(text):
        name, ns, svc = m.group(1), (m.group(3) or "")[1:], m.group(4)
        if ns and not svc:
            continue  # a dotted external host name (example.com), not a Service
        if name in _LOCAL_HOSTS:
            continue
        yield name, ns


def _service_index(ctx: LintContext) -> tuple[set[tuple[str, str]], set[str], dict[str, list[str]]]:
    services = {(d.namespace, d.name) for d in ctx.stream_of_kind("Service")}
    names_only = {n for _, n in services}
    by_suffix: dict[str, list[str]] = {}
    for n in sorted(names_only):
        by_suffix.setdefault(n.split("-")[-1], []).append(n)
    return services, names_only, by_suffix


@rule("policy/service-reference", Severity.ERROR,
      "in-cluster URLs name Services of the same stream (no hard-coded release names)")
def service_reference(ctx: LintContext) -> Iterator[Hit]:
    services, names_only, by_suffix = ctx.shared("services", lambda: _service_index(ctx))
    if not services:
        return  # nothing to compare with (a single manifest, or services managed elsewhere)
    own = {n for n, _ in services}  # the namespaces this release puts Services in ('' = the release's own)
    for d in ctx.docs:
        if d.kind in ("Service", "Ingress", "HTTPRoute"):
            continue
        for path, text in walk_strings(d.obj, [], "://"):
            for name, ns in _service_hosts(text):
                if ns and ns not in own and ns != d.namespace:
                    continue  # a shared service of another namespace (monitoring, kube-system): not the release's (E48)
                known = (ns, name) in services if ns else name in names_only
                if not known and ns and ns != d.namespace and name in names_only:
                    known = False
                if not known:
                    close = by_suffix.get(name.split("-")[-1], [])[:3]
                    hint = f"; did you mean {', '.join(close)}?" if close else ""
                    yield Hit(d, json_path(path),
                              f"URL '{text if len(text) < 80 else text[:77] + '...'}' points at Service "
                              f"'{name}'{' in namespace ' + ns if ns else ''}, which this release does not "
                              f"define{hint or '.'} Derive service names from the release instead of hard-coding them")
