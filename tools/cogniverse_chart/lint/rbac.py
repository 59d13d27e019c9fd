"""RBAC: no wildcards, no cluster-admin bindings, and workflow service accounts can report results."""

from __future__ import annotations

from typing import Any, Iterator

from ..documents import Document, json_path
from ..findings import Severity
from .registry import Hit, LintContext, rule

_ROLE_KINDS = ("Role", "ClusterRole")
_BINDING_KINDS = ("RoleBinding", "ClusterRoleBinding")
_ADMIN_ROLES = {"cluster-admin", "admin"}


@rule("policy/rbac-wildcard", Severity.ERROR, "Roles and ClusterRoles list apiGroups, resources and verbs explicitly")
def rbac_wildcard(ctx: LintContext) -> Iterator[Hit]:
    for d in ctx.of_kind(*_ROLE_KINDS):
        for i, r in enumerate(d.obj.get("rules") or []):
            if not isinstance(r, dict):
                continue
            for field in ("apiGroups", "resources", "verbs", "nonResourceURLs", "resourceNames"):
                vals = r.get(field) or []
                if any(isinstance(v, str) and "*" in v for v in vals):
                    yield Hit(d, json_path(["rules", i, field]),
                              f"rule {i} grants '*' in {field}; list exactly what the workload needs")


@rule("policy/rbac-admin-binding", Severity.ERROR, "no bindings to cluster-admin or admin")
def rbac_admin_binding(ctx: LintContext) -> Iterator[Hit]:
    for d in ctx.of_kind(*_BINDING_KINDS):
        ref = d.obj.get("roleRef") or {}
        if ref.get("kind") == "ClusterRole" and ref.get("name") in _ADMIN_ROLES:
            yield Hit(d, "$.roleRef.name", f"binds the built-in '{ref.get('name')}' ClusterRole; define a "
                                           f"Role with only the permissions needed")


def _grants(role: Document, group: str, resource: str, verbs: set[str]) -> set[str]:
    got: set[str] = set()
    for r in role.obj.get("rules") or []:
        if not isinstance(r, dict):
            continue
        if group in (r.get("apiGroups") or []) and resource in (r.get("resources") or []):
            got |= set(r.get("verbs") or []) & verbs
    return got


def _bindings_by_account(ctx: LintContext) -> dict[tuple[str, str], list[Document]]:
    """Bindings by (namespace, name) of each service account among their subjects (in stream order)."""
    out: dict[tuple[str, str], list[Document]] = {}
    for b in ctx.stream_of_kind(*_BINDING_KINDS):
        for key in dict.fromkeys((str(s.get("namespace") or b.namespace), str(s.get("name")))
                                 for s in b.obj.get("subjects") or []
                                 if isinstance(s, dict) and s.get("kind") == "ServiceAccount"):
            out.setdefault(key, []).append(b)
    return out


@rule("policy/workflow-rbac", Severity.ERROR,
      "a workflow service account defined in the stream can create/patch workflowtaskresults (Argo >= 3.4)")
def workflow_rbac(ctx: LintContext) -> Iterator[Hit]:
    accounts = ctx.shared("service-accounts", lambda: {(d.namespace, d.name) for d in ctx.stream_of_kind("ServiceAccount")})
    if not accounts:
        return
    roles: dict[tuple[str, str, str], Document] = ctx.shared("roles", lambda: {
        (d.kind, d.namespace if d.kind == "Role" else "", d.name): d for d in ctx.stream_of_kind(*_ROLE_KINDS)})
    bindings = ctx.shared("bindings-by-account", lambda: _bindings_by_account(ctx))
    need = {"create", "patch"}
    done: set[tuple[str, str]] = ctx.shared("workflow-rbac-reported", set)  # one finding per account
    for w in ctx.workflows:
        sa = w.spec.get("serviceAccountName")
        ns = w.doc.namespace
        if not isinstance(sa, str) or (ns, sa) not in accounts or (ns, sa) in done:
            continue
        done.add((ns, sa))
        granted: set[str] = set()
        for b in bindings.get((ns, sa), []):
            subjects: list[Any] = b.obj.get("subjects") or []
            if not any(isinstance(s, dict) and s.get("kind") == "ServiceAccount" and s.get("name") == sa
                       and (s.get("namespace") or b.namespace) == ns for s in subjects):
                continue
            if b.kind == "RoleBinding" and b.namespace != ns:
                continue
            ref = b.obj.get("roleRef") or {}
            key = (str(ref.get("kind")), b.namespace if ref.get("kind") == "Role" else "", str(ref.get("name")))
            if key in roles:
                granted |= _grants(roles[key], "argoproj.io", "workflowtaskresults", need)
        if granted != need:
            lacking = ", ".join(sorted(need - granted))
            yield Hit(w.doc, w.path("serviceAccountName"),
                      f"service account '{sa}' cannot {lacking} workflowtaskresults (argoproj.io): Argo >= 3.4 "
                      f"executors report step outputs that way, so steps fail; bind a Role granting it")
