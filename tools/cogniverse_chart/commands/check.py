"""`check`: the chart CI job in one command. Render every scenario of the chart (its ci/*-values.yaml, or
the config's `scenarios`) with every Helm major, validate every object against the strict schemas, lint
it, and check that the generated files the chart has (values.schema.json from schema/, the README values
table, the guide workflows) are current, and run chart-testing's Chart.yaml and maintainers checks
(`ct` adds its version-bump check), and `helm lint` each scenario as `ct lint` does. One summary; exit 0 clean, 1 on any error finding, 2 on bad input."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import ct, schemas
from ..chart import Generated, check, merge, summary
from ..findings import Policy
from ..lint import check_rule_ids, not_disabled
from ..report import emit
from .options import add_chart_arg, add_helm_arg, add_schema_args, add_set_args, chart_of, config_of, \
    helms_of, kube_version_of, release_of, scenarios_of, validator_from_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="render every scenario, validate, lint, and check generated files",
                       description=__doc__)
    p.add_argument("--profile", action="append", default=None, metavar="SCENARIO",
                   help="check only this scenario; repeatable (default: every one)")
    p.add_argument("--values", "-f", action="append", default=[], type=Path, metavar="FILE",
                   help="values file applied on top of every scenario; repeatable")
    p.add_argument("--disable", action="append", default=[], metavar="RULE", help="lint rule id to skip; repeatable")
    p.add_argument("--no-docs", action="store_true", help="skip the generated-docs staleness check")
    add_set_args(p)
    add_helm_arg(p, default="all")
    add_chart_arg(p)
    add_schema_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_rule_ids(args.disable)
    cfg = config_of(args)
    chart = chart_of(args)
    scenarios = scenarios_of(args, args.profile)
    if args.argo_version is None and not cfg.get("argo-versions"):  # every bundled Argo version (3.6 to 4.0)
        args.argo_version = schemas.available("argo")
    helms = helms_of(args)
    validator = validator_from_args(args)
    result = check(validator, chart=chart, helms=helms, disable=args.disable,
                   with_docs=Generated.for_chart(chart, cfg, with_docs=not args.no_docs),
                   scenarios=scenarios, extra_values=args.values, kube_version=kube_version_of(args),
                   set_values=args.set_values, set_string_values=args.set_string_values, **_names(args))
    policy = Policy(cfg)
    for docs in result.rendered.values():
        for doc in docs:
            policy.note(doc)
    linted = merge(ct.helm_lint(chart, helms[0], scenarios, args.values, args.set_values, args.set_string_values))
    findings = policy.apply(not_disabled(result.findings + linted + ct.chart_yaml(chart) + ct.maintainers(chart),
                                        args.disable))
    profiles = summary(result)
    timing = result.timing
    used = [h.label for h in helms]
    missing = [f"Helm {m}" for m in (3, 4) if args.helm == "all" and m not in {h.major for h in helms}]
    if args.output == "human":  # which Helms rendered: `--helm all` with one major found says so (D53)
        print(f"rendered with {', '.join(used)}" + (f" ({', '.join(missing)} not found)" if missing else ""))
        for name, s in profiles.items():
            print(f"profile {name}: {s['objects']} objects, {s['error']} errors, {s['warning']} warnings")
        print(f"timing: render {timing['render_s']:.2f}s, validate+lint {timing['validate_lint_s']:.2f}s, "
              f"total {timing['total_s']:.2f}s (generated-file checks run alongside)")
    return emit(findings, args.output, command="check", checked=sum(len(v) for v in result.rendered.values()),
                extra={"chart": str(chart), "profiles": profiles, "timing": timing, "helm": used,
                       "helm_missing": missing,
                       "suppressed": len(policy.suppressed)}, chart=chart, policy=policy)


def _names(args: argparse.Namespace) -> dict[str, str]:
    release, namespace = release_of(args)
    return {"release": release, "namespace": namespace}
