"""`lint [PATH... | -]`: Argo semantics and policy; without paths, every profile of the chart."""

from __future__ import annotations

import argparse
import json

from ..chart import merge, render_profiles
from ..documents import read_paths
from ..lint import ARGO_VERSIONS, RULES, check_rule_ids, default_argo_version, lint, lint_stream
from ..lint.stream import Progress
from ..report import emit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lint", help="Argo semantics and policy checks (the chart's profiles by default)",
                       description="Lint manifests (files, directories, '-' for stdin), or without paths "
                                   "render every profile in values/ and lint each. Exit 0 clean, 1 on any "
                                   "error finding, 2 on bad input.")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("--disable", action="append", default=[], metavar="RULE",
                   help="rule id (or family prefix like policy/) to skip; repeatable")
    p.add_argument("--profile", "-p", action="append", default=None,
                   help="lint only this chart profile; repeatable (default: all in values/)")
    p.add_argument("--argo-version", choices=ARGO_VERSIONS, default=None,
                   help="apply the rules of this Argo Workflows version (default: the version the chart pins in "
                        "versions.env)")
    p.add_argument("--list-rules", action="store_true",
                   help="print every rule id, severity, whether it goes beyond Argo's own validator, and summary")
    p.set_defaults(func=run)


def list_rules(output: str) -> int:
    if output == "json":
        print(json.dumps([{"id": r.id, "severity": r.severity.value, "beyond_argo": r.beyond_argo,
                            "summary": r.summary} for r in RULES.values()], indent=2))
    else:
        width = max(len(r) for r in RULES)
        for r in RULES.values():
            origin = "beyond" if r.beyond_argo else "argo"
            print(f"{r.id:<{width}}  {r.severity.value:<7}  {origin:<6}  {r.summary}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.list_rules:
        return list_rules(args.output)
    check_rule_ids(args.disable)  # bad ids are usage errors, before any work
    version = args.argo_version or default_argo_version()
    if args.paths:
        # document by document, in bounded memory; progress on a terminal for long runs
        findings, checked = lint_stream(read_paths(args.paths), args.disable, version, Progress.for_terminal())
        return emit(findings, args.output, command="lint", checked=checked, extra={"argo_version": version})
    rendered = render_profiles(args.profile)
    findings = merge({p: lint(docs, args.disable, version) for p, docs in rendered.items()})
    checked = sum(len(d) for d in rendered.values())
    return emit(findings, args.output, command="lint", checked=checked,
                extra={"profiles": list(rendered), "argo_version": version})
