"""Format findings for people (one line each plus a summary) or machines (`--output json`)."""

from __future__ import annotations

import json
import sys
from typing import Any, Iterable, TextIO

from .findings import Finding, Severity, has_errors

_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    c = {s.value: 0 for s in Severity}
    for f in findings:
        c[f.severity.value] += 1
    return c


def exit_code(findings: list[Finding]) -> int:
    """0 clean (warnings allowed), 1 when any error-severity finding."""
    return 1 if has_errors(findings) else 0


def emit(findings: list[Finding], output: str, *, command: str, checked: int,
         extra: dict[str, Any] | None = None, out: TextIO | None = None) -> int:
    """Print findings and a summary line; return the exit code."""
    out = out or sys.stdout
    c = counts(findings)
    if output == "json":
        doc: dict[str, Any] = {"command": command, "ok": not has_errors(findings), "checked": checked,
                               "summary": c, "findings": [f.to_dict() for f in findings]}
        doc.update(extra or {})
        print(json.dumps(doc, indent=2), file=out)
    else:
        for f in sorted(findings, key=lambda f: (_ORDER[f.severity], f.source, f.kind, f.name, f.path)):
            print(f.format(), file=out)
        verdict = "FAILED" if has_errors(findings) else "ok"
        print(f"{command}: {verdict}: {checked} objects checked, {c['error']} errors, {c['warning']} warnings"
              + (f", {c['info']} notes" if c["info"] else ""), file=out)
    return exit_code(findings)
