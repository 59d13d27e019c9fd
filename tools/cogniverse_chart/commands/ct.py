"""`ct`: chart-testing's chart checks (what `ct lint` checks besides rendering), on the chart in front of
the toolkit: Chart.yaml against chart-testing's schema, the maintainers, and the version bump against the
target branch. Every output format; exit 0 clean, 1 on findings, 2 on bad input."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import ct
from ..errors import ToolkitError
from ..findings import Policy
from ..report import emit
from .options import add_chart_arg, chart_of, config_of

CHECKS = ("chart-yaml", "maintainers", "version-bump")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ct", help="chart-testing's checks: Chart.yaml schema, maintainers, version bump",
                       description=__doc__)
    add_chart_arg(p)
    p.add_argument("--target-branch", default=None, metavar="BRANCH",
                   help="branch the version bump is checked against, or origin/BRANCH when there is no local one "
                        "(ct's --target-branch; default: main, and without one the chart's previous commit)")
    p.add_argument("--only", action="append", choices=CHECKS, default=None,
                   help="run only this check; repeatable (default: all)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    chart = chart_of(args)
    if not chart.is_dir():
        raise ToolkitError(f"--chart {chart}: ct checks a chart's folder (its Chart.yaml and git history), "
                           f"not a packaged chart; give the folder it was packaged from")
    chosen = args.only or list(CHECKS)
    findings = []
    extra = {"chart": str(chart), "checks": chosen}
    if "chart-yaml" in chosen:
        findings += ct.chart_yaml(chart)
    if "maintainers" in chosen:
        findings += ct.maintainers(chart)
    if "version-bump" in chosen:
        _check_target_branch(chart, args.target_branch)
        bump, extra["version_bump"] = ct.version_bump(chart, args.target_branch or "main")
        findings += bump
    policy = Policy(config_of(args))
    findings = policy.apply(findings)
    return emit(findings, args.output, command="ct", checked=1, extra=extra, policy=policy)


def _check_target_branch(chart: Path, branch: str | None) -> None:
    """A --target-branch that names no branch here is a typo or a missing fetch, not "compare with whatever"."""
    from ..release import _git, target_ref

    if branch is None or _git(chart, "rev-parse", "--show-toplevel") is None:
        return
    if target_ref(chart, branch)[1] is None:
        raise ToolkitError(f"--target-branch {branch}: no such branch here, nor origin/{branch}; fetch it "
                           f"(git fetch origin {branch}, or actions/checkout with fetch-depth: 0)"[:300])
