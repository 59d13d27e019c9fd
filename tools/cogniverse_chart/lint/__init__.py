"""Lint: Argo Workflows semantics that schema validation cannot see, plus policy.

Layout: one small module per rule family; each rule is a function `check(ctx) -> Iterable[Hit]`
registered with `@rule(id, severity, summary)`. `lint(docs)` builds one LintContext (indexes of the
stream: workflows, templates, RBAC) and runs every enabled rule over it.

    findings = lint(docs, disable={"policy/image-tag"})
"""

from __future__ import annotations

from typing import Iterable

from ..documents import Document
from ..errors import ToolkitError
from ..findings import Finding
from .registry import ARGO_VERSIONS, RULES, LintContext, Rule, default_argo_version, rule

# Importing the rule modules registers their rules (in this order in `lint --list-rules`).
from . import references, structure, parity, fields, runtime, runtime_values, cron, injection, policy, trust, rbac  # noqa: E402,F401

__all__ = ["ARGO_VERSIONS", "RULES", "LintContext", "Rule", "rule", "lint", "lint_stream", "check_rule_ids", "not_disabled",
           "default_argo_version"]


#: Old rule ids that still work in --disable (and config files), mapped to their current ids.
RENAMED = {"argo/shell-injection": "policy/shell-injection"}


def check_rule_ids(ids: Iterable[str]) -> set[str]:
    """Validate --disable ids (a family like `policy/` or `policy` disables the whole family) and return the
    lint rules among them; ids of the other checks that `lint --list-rules` lists (`ct/maintainers`,
    `schema/k8s-1.30`, `helm/`) are accepted too: the commands drop their findings (not_disabled; E23)."""
    from ..config import known_rule

    out: set[str] = set()
    for rid in ids:
        rid = RENAMED.get(rid, rid)
        if "/" not in rid and known_rule(rid):
            rid += "/"
        if not any(r.id.startswith(rid) or r.id == rid for r in RULES.values()) and known_rule(rid):
            continue
        if rid.endswith("/"):
            if not any(r.id.startswith(rid) for r in RULES.values()):
                raise ToolkitError(f"--disable {rid}: no rules in that family; see `lint --list-rules`")
            out.update(r.id for r in RULES.values() if r.id.startswith(rid))
        elif rid not in RULES:
            raise ToolkitError(f"--disable {rid}: unknown rule id; see `lint --list-rules`")
        else:
            out.add(rid)
    return out


def not_disabled(findings: Iterable[Finding], ids: Iterable[str]) -> list[Finding]:
    """The findings whose rule no --disable id (a rule or a family) names: for the checks other than lint."""
    off = [RENAMED.get(i, i) for i in ids]
    off = [i if "/" in i else i + "/" for i in off]
    return [f for f in findings if not any(f.rule == i or (i.endswith("/") and f.rule.startswith(i)) for i in off)]


# What a rule raises on an object whose fields have the wrong type (the rules read well-typed objects only).
MALFORMED = (TypeError, AttributeError, KeyError, IndexError, ValueError, OSError)


def lint(docs: list[Document], disable: Iterable[str] = (), argo_version: str = "") -> list[Finding]:
    """Every enabled rule over the stream; argo_version ("3.6", "3.7", "4.0", default: the pinned one)
    selects which Argo version's rules apply."""
    if argo_version and argo_version not in ARGO_VERSIONS:
        raise ToolkitError(f"--argo-version {argo_version}: lint knows Argo {', '.join(ARGO_VERSIONS)}")
    off = check_rule_ids(disable)
    findings: list[Finding] = []
    try:
        ctx = LintContext(docs, argo_version)
        for r in RULES.values():
            if r.id not in off:
                findings.extend(r.run(ctx))
    except MALFORMED as exc:
        return malformed(docs, argo_version, exc)  # the rules read well-typed objects only
    return findings


def malformed(docs: list[Document], argo_version: str, exc: Exception) -> list[Finding]:
    """Why lint could not read the stream (a field of the wrong type: a number where Argo wants a list,
    a list where it wants a name): the Argo schema's findings for each Argo object, else one finding
    naming the failure. Never a traceback."""
    from ..findings import Severity
    from ..validate import Validator

    validator = Validator(kube_versions=(), argo_versions=(argo_version or default_argo_version(),),
                          allow_unknown_kinds=True)
    out: list[Finding] = []
    for d in docs:
        if not isinstance(d.obj.get("metadata", {}), dict):
            out.append(Finding("lint/malformed", Severity.ERROR, "metadata must be a mapping", d.source,
                               str(d.obj.get("kind", "")), "?", "$.metadata"))
        elif str(d.obj.get("apiVersion", "")).startswith("argoproj.io/"):
            out.extend(f for f in validator.validate_doc(d) if f.severity == Severity.ERROR)
    if not out:
        out.append(Finding("lint/malformed", Severity.ERROR,
                           f"lint could not read these objects ({type(exc).__name__}: {' '.join(str(exc).split())[:150]}); "
                           f"a field has a type or size Argo would refuse: check them with `cogniverse-chart validate`",
                           docs[0].source if docs else ""))
    return out


from .stream import lint_stream  # noqa: E402  (streams of any length, document by document)
