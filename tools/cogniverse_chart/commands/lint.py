"""`lint [PATH... | -]`: Argo semantics and policy; without paths, every scenario of the chart in front
of the toolkit (its ci/*-values.yaml, or the config's `scenarios`)."""

from __future__ import annotations

import argparse
import json

from pathlib import Path

from ..chart import merge, render_with_helms
from ..documents import path_files
from ..errors import ToolkitError
from ..findings import Policy
from ..lint import ARGO_VERSIONS, RULES, check_rule_ids, default_argo_version, lint, lint_stream, \
    not_disabled
from ..lint.stream import Progress
from ..report import emit
from .options import add_chart_arg, add_helm_arg, add_set_args, chart_of, config_of, helms_of, kube_version_of, \
    release_of, scenarios_of


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lint", help="Argo semantics and policy checks (the chart's profiles by default)",
                       description="Lint manifests (files, directories, '-' for stdin), or without paths "
                                   "render every scenario of the chart and lint each. Exit 0 clean, 1 on any "
                                   "error finding, 2 on bad input.")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("--disable", action="append", default=[], metavar="RULE",
                   help="rule id (or family prefix like policy/) to skip; repeatable")
    p.add_argument("--profile", action="append", default=None, metavar="SCENARIO",
                   help="lint only this scenario of the chart; repeatable (default: every one)")
    p.add_argument("--values", "-f", action="append", default=[], type=Path, metavar="FILE",
                   help="values file applied on top of every scenario; repeatable")
    add_set_args(p)
    add_helm_arg(p)
    add_chart_arg(p)
    p.add_argument("--argo-version", choices=ARGO_VERSIONS, default=None,
                   help="apply the rules of this Argo Workflows version (default: the version the chart pins in "
                        "versions.env)")
    p.add_argument("--list-rules", action="store_true",
                   help="print every rule id, its severity and where that comes from (default or the config "
                        "file), whether it goes beyond Argo's own validator, and summary")
    p.set_defaults(func=run)


#: The rules of the other checks (validate, check, ct), which the config's `rules` and suppressions also set.
OTHER_RULES = [
    ("schema/k8s-<minor>", "the object against the strict Kubernetes schema of that minor (validate, check)"),
    ("schema/argo-<minor>", "Argo objects against the Argo Workflows CRD schema of that minor"),
    ("schema/unknown-kind", "a kind no chosen schema version serves (a note with --allow-unknown-kinds)"),
    ("schema/invalid-yaml", "a file that is no YAML (validate reports it and goes on with the other files)"),
    ("schema/duplicate-key", "a key given twice in one mapping (kubectl refuses it, Helm keeps the last)"),
    ("schema/custom", "your own kinds against --schema-location schemas"),
    ("schema/rejected-kind", "a kind named by --reject"),
    ("schema/values", "a values file against values.schema.json and the chart's own value checks"),
    ("ct/chart-yaml", "Chart.yaml against chart-testing's schema (ct, check)"),
    ("ct/maintainers", "maintainers with a name, and a well-formed email and url (ct, check)"),
    ("ct/version-bump", "a changed chart has a new version (ct --target-branch)"),
    ("helm/lint", "`helm lint` of each scenario, as ct lint runs it; its INFO/WARNING/ERROR keep their level (check)"),
    ("generated/values-schema", "values.schema.json is what `schema` builds from schema/ (check)"),
    ("generated/docs", "the README values table and install facts are what `docs` writes (check)"),
    ("generated/annotations", "Chart.yaml's Artifact Hub annotations are what `annotations` writes (its --check)"),
    ("generated/workflows", "the guide workflows are what `generate` writes (check, with workflows-dir)"),
    ("config/suppression-reason", "a suppression annotation names a rule and gives a reason"),
    ("config/suppression-unknown-rule", "a suppression annotation names a rule or family the toolkit has"),
]


def list_rules(args: argparse.Namespace) -> int:
    from ..config import rule_setting

    cfg = config_of(args)
    rows = []
    listed = [(r.id, r.severity.value, r.beyond_argo, r.summary) for r in RULES.values()]
    listed += [(rid, "warning" if rid == "config/suppression-unknown-rule" else "error", None, summary)
               for rid, summary in OTHER_RULES]
    for rid, severity, beyond, summary in listed:
        setting, origin = rule_setting(rid.split("<")[0].rstrip("-") if "<" in rid else rid, cfg)
        rows.append({"id": rid, "severity": setting or severity, "default_severity": severity,
                     "from": origin, "beyond_argo": beyond, "summary": summary})
    if args.output == "json":
        print(json.dumps(rows, indent=2))
    else:
        width = max(len(row["id"]) for row in rows)
        for row in rows:
            origin = {True: "beyond", False: "argo", None: "-"}[row["beyond_argo"]]
            where = "" if row["from"] == "default" else f"  (from {row['from']})"
            print(f"{row['id']:<{width}}  {row['severity']:<7}  {origin:<6}  {row['summary']}{where}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.list_rules:
        return list_rules(args)
    check_rule_ids(args.disable)  # bad ids are usage errors, before any work
    configured = config_of(args).get("argo-versions")
    if not args.argo_version and configured and configured[-1] not in ARGO_VERSIONS:  # E25: named --argo-version
        raise ToolkitError(f"{config_of(args).label}: argo-versions: lint knows Argo {', '.join(ARGO_VERSIONS)}, "
                           f"not {configured[-1]}"[:300])
    version = args.argo_version or (configured[-1] if configured else default_argo_version())
    policy = Policy(config_of(args))
    if args.paths:
        from .validate import read_each, unreadable_findings

        # document by document, in bounded memory; progress on a terminal for long runs. A document that cannot
        # be read is a finding and the rest are linted, as validate does (attack24d F14)
        files = [f for p in args.paths for f in path_files(p)]
        unreadable: list = []
        findings, checked = lint_stream(policy.watch(read_each(files, unreadable)), args.disable, version,
                                        Progress.for_terminal())
        findings += unreadable_findings(unreadable, checked, files)
        return emit(policy.apply(not_disabled(findings, args.disable)), args.output, command="lint", checked=checked,
                    extra={"argo_version": version, "suppressed": len(policy.suppressed)}, policy=policy)
    chart = chart_of(args)
    release, namespace = release_of(args)
    rendered = render_with_helms(None, chart=chart, helms=helms_of(args), scenarios=scenarios_of(args, args.profile),
                                 extra_values=args.values, set_values=args.set_values,
                                 set_string_values=args.set_string_values, kube_version=kube_version_of(args),
                                 release=release, namespace=namespace)
    for docs in rendered.values():
        for doc in docs:
            policy.note(doc)
    findings = policy.apply(merge({p: lint(docs, args.disable, version) for p, docs in rendered.items()}))
    checked = sum(len(d) for d in rendered.values())
    return emit(findings, args.output, command="lint", checked=checked, chart=chart,
                extra={"chart": str(chart), "profiles": list(rendered), "argo_version": version,
                       "suppressed": len(policy.suppressed)}, policy=policy)
