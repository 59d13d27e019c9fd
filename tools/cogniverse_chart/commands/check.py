"""`check`: the chart CI job in one command. Render every profile (Helm, in parallel), validate every
object against the strict schemas, lint it, and check the generated files (values.schema.json, docs)
are current. One summary; exit 0 clean, 1 on any error finding, 2 on bad input."""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .. import CHART_DIR, docs, schemas, values_schema
from ..chart import merge, render_profiles
from ..documents import Document
from ..errors import ToolkitError
from ..helm import available_helms, find_helm
from ..findings import Finding, Severity
from ..lint import check_rule_ids, lint
from ..report import counts, emit
from .validate import add_schema_args, validator_from_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="render every profile, validate, lint, and check generated files",
                       description=__doc__)
    p.add_argument("--profile", "-p", action="append", default=None,
                   help="check only this profile; repeatable (default: every values/*.yaml)")
    p.add_argument("--disable", action="append", default=[], metavar="RULE", help="lint rule id to skip; repeatable")
    p.add_argument("--no-docs", action="store_true", help="skip the generated-docs staleness check")
    p.add_argument("--helm", choices=["3", "4", "all"], default="all",
                   help="render with Helm 3, Helm 4, or every Helm major found (default: all)")
    p.add_argument("--chart", type=Path, default=CHART_DIR)
    add_schema_args(p)
    p.set_defaults(func=run)


def generated_files(chart: Path, with_docs: bool) -> list[Finding]:
    out = []
    if not values_schema.is_current(chart):
        out.append(Finding("generated/values-schema", Severity.ERROR,
                           "values.schema.json is stale: run `cogniverse-chart schema`",
                           str(chart / values_schema.SCHEMA_FILE)))
    if with_docs:
        try:
            for f in docs.plan(chart, readme=chart / "README.md"):
                if f.stale:
                    out.append(Finding("generated/docs", Severity.ERROR,
                                       "generated documentation is stale: run `cogniverse-chart docs`", str(f.path)))
        except ToolkitError as exc:
            readme = str(chart / "README.md")
            out.append(Finding("generated/docs", Severity.ERROR, str(exc).replace(f"{readme}: ", ""), readme))
    return out


def _render(args: argparse.Namespace) -> dict[str, list[Document]]:
    """{profile: docs}, or {profile@helmN: docs} when rendering with several Helm majors."""
    helms = available_helms() if args.helm == "all" else [find_helm(int(args.helm))]
    if not helms:
        helms = [find_helm()]  # raises with how to get one
    if len(helms) == 1:
        return render_profiles(args.profile, chart=args.chart, helm=helms[0])
    with ThreadPoolExecutor(max_workers=len(helms)) as pool:
        parts = list(pool.map(lambda h: (h, render_profiles(args.profile, chart=args.chart, helm=h)), helms))
    return {f"{name}@helm{h.major}": docs for h, found in parts for name, docs in found.items()}


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    check_rule_ids(args.disable)
    if args.argo_version is None:  # the chart targets every bundled Argo version (3.6, 3.7, 4.0)
        args.argo_version = schemas.available("argo")
    validator = validator_from_args(args)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # the generated-docs check renders the chart's defaults: let that helm run overlap the profiles'
        generated = pool.submit(generated_files, args.chart, not args.no_docs)
        rendered = _render(args)
        t_render = time.perf_counter()
        per_profile: dict[str, list[Finding]] = {}
        for name, objs in rendered.items():
            per_profile[name] = validator.validate(objs) + lint(objs, args.disable)
        findings = merge(per_profile)
        t_checks = time.perf_counter()
        findings += generated.result()
    elapsed = time.perf_counter() - started
    checked = sum(len(v) for v in rendered.values())
    summary = {name: {"objects": len(rendered[name]), **counts(per_profile[name])} for name in rendered}
    timing = {"render_s": round(t_render - started, 3), "validate_lint_s": round(t_checks - t_render, 3),
              "total_s": round(elapsed, 3)}
    if args.output != "json":
        for name, s in summary.items():
            print(f"profile {name}: {s['objects']} objects, {s['error']} errors, {s['warning']} warnings")
        print(f"timing: render {timing['render_s']:.2f}s, validate+lint {timing['validate_lint_s']:.2f}s, "
              f"total {elapsed:.2f}s (generated-file checks run alongside)")
    return emit(findings, args.output, command="check", checked=checked,
                extra={"profiles": summary, "timing": timing})
