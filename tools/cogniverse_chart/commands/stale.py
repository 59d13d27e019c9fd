"""The staleness checks (`docs/generate/schema/annotations --check`) in the CI formats: each stale file is
a finding with its file, so `-o sarif/junit/github` is a report code scanning, a test view or the pull
request's annotations can read (it was empty, or plain text in the SARIF file; attack24c E45)."""

from __future__ import annotations

import argparse

from ..findings import Finding, Severity
from ..report import emit

#: output formats that are read by a machine as a findings report
REPORT_FORMATS = ("sarif", "junit", "github")


def report(args: argparse.Namespace, command: str, rule: str, stale: list[str], message: str, checked: int) -> int | None:
    """The exit code after emitting the report, for a CI format; None for human and JSON output (the
    command prints those as before)."""
    if args.output not in REPORT_FORMATS:
        return None
    findings = [Finding(rule, Severity.ERROR, message, path) for path in stale]
    return emit(findings, args.output, command=command, checked=checked)
