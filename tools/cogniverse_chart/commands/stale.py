"""The staleness checks (`docs/generate/schema/annotations --check`) in the CI formats: each stale file is
a finding with its file, so `-o sarif/junit/github` is a report code scanning, a test view or the pull
request's annotations can read (it was empty, or plain text in the SARIF file; attack24c E45). The config's
severities apply as in `check` (attack24d F12: `[rules] "generated/docs" = "off"` was honoured by check and
ignored by `docs --check`)."""

from __future__ import annotations

import argparse

from ..findings import Finding, Policy, Severity
from ..report import emit
from .options import config_of

#: output formats that are read by a machine as a findings report
REPORT_FORMATS = ("sarif", "junit", "github")


def report(args: argparse.Namespace, command: str, rule: str, stale: list[str], message: str, checked: int) -> int | None:
    """The exit code after emitting the report, for a CI format or when the config changes the verdict
    (the findings, with the config named, in any format); None when the command prints its own human or
    JSON output, as before."""
    findings = [Finding(rule, Severity.ERROR, message, path) for path in stale]
    policy = Policy(config_of(args))
    kept = policy.apply(findings)
    if args.output not in REPORT_FORMATS and kept == findings:
        return None
    return emit(kept, args.output, command=command, checked=checked, policy=policy)
