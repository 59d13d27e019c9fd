"""Format findings for people (one line each plus a summary) or machines: `json`, `junit` (test reports),
`sarif` (code scanning, SARIF 2.1.0) and `github` (workflow annotations). The machine formats give the
file, line and column of every finding (cogniverse_chart.locations)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, TextIO

from .findings import Finding, Severity, has_errors

if TYPE_CHECKING:
    from .locations import Location

_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    c = {s.value: 0 for s in Severity}
    for f in findings:
        c[f.severity.value] += 1
    return c


def exit_code(findings: list[Finding]) -> int:
    """0 clean (warnings allowed), 1 when any error-severity finding."""
    return 1 if has_errors(findings) else 0


def _relative(file: str) -> str:
    """A path relative to the current directory when it lies inside it (CI annotations want repo paths)."""
    path = Path(file)
    if file and path.is_absolute():
        try:
            return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
        except ValueError:
            return path.as_posix()
    return path.as_posix() if file else file


def _where(f: Finding, chart: Path | None) -> "Location":
    from .locations import Location, locate  # only the machine formats look up lines

    loc = locate(f.source, f.kind, f.name, f.path, chart)
    return Location(_relative(loc.file), loc.line, loc.column)


def _object(f: Finding) -> str:
    return f"{f.kind}/{f.name}" if f.kind or f.name else ""


def _json(findings: list[Finding], command: str, checked: int, chart: Path | None) -> dict[str, Any]:
    out = []
    for f in findings:
        d = f.to_dict()
        loc = _where(f, chart)
        d.update(file=loc.file, line=loc.line, column=loc.column)
        out.append(d)
    return {"command": command, "ok": not has_errors(findings), "checked": checked,
            "summary": counts(findings), "findings": out}


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """Text XML 1.0 can hold: characters it forbids (control characters) become U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def _junit(findings: list[Finding], command: str, checked: int, chart: Path | None) -> str:
    """One test case per finding (errors fail; warnings and notes pass with their text), or one passing
    case for the clean run: every CI test-report viewer shows the file and line in the case's text."""
    from xml.sax.saxutils import escape, quoteattr  # imports urllib.request: only when asked for

    cases = []
    for f in findings:
        loc = _where(f, chart)
        at = f"{loc.file}:{loc.line}:{loc.column}" if loc.file else "-"
        name = quoteattr(f"{f.rule} {_object(f)} {f.path}".strip())
        body = escape(f"{at}: {_object(f)} {f.path}: {f.message}")
        classname = quoteattr(loc.file or command)
        if f.severity is Severity.ERROR:
            cases.append(f'    <testcase name={name} classname={classname} file={quoteattr(loc.file)} line="{loc.line}">'
                         f'<failure type={quoteattr(f.rule)} message={quoteattr(f.message)}>{body}</failure></testcase>')
        else:
            cases.append(f'    <testcase name={name} classname={classname} file={quoteattr(loc.file)} line="{loc.line}">'
                         f'<system-out>{escape(f.severity.value)}: {body}</system-out></testcase>')
    if not findings:
        cases.append(f'    <testcase name={quoteattr(f"{checked} objects checked")} classname="{command}"/>')
    failures = sum(f.severity is Severity.ERROR for f in findings)
    suite = quoteattr(f"cogniverse-chart {command}")
    return _xml_text("\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name={suite} tests="{len(cases)}" failures="{failures}" errors="0">',
        f'  <testsuite name={suite} tests="{len(cases)}" failures="{failures}" errors="0" skipped="0">',
        *cases, "  </testsuite>", "</testsuites>"]))


def _sarif(findings: list[Finding], command: str, chart: Path | None) -> dict[str, Any]:
    from . import __version__

    rules: dict[str, dict[str, Any]] = {}
    results = []
    for f in findings:
        rules.setdefault(f.rule, {"id": f.rule, "shortDescription": {"text": f.rule},
                                  "defaultConfiguration": {"level": _SARIF_LEVEL[f.severity]}})
        loc = _where(f, chart)
        location: dict[str, Any] = {}
        if loc.file:
            region = {"startLine": max(loc.line, 1), "startColumn": max(loc.column, 1)}
            location["physicalLocation"] = {"artifactLocation": {"uri": loc.file}, "region": region}
        if _object(f):
            location["logicalLocations"] = [{"fullyQualifiedName": f"{_object(f)}{f.path.lstrip('$')}",
                                             "kind": "object"}]
        result: dict[str, Any] = {"ruleId": f.rule, "level": _SARIF_LEVEL[f.severity],
                                  "message": {"text": f.message}}
        if location:
            result["locations"] = [location]
        if f.scenarios:
            result["properties"] = {"scenarios": f.scenarios}
        results.append(result)
    driver = {"name": "cogniverse-chart", "version": __version__, "rules": list(rules.values())}
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0",
            "runs": [{"tool": {"driver": driver}, "results": results,
                      "invocations": [{"executionSuccessful": True, "commandLine": f"cogniverse-chart {command}"}]}]}


def _github_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def _github(findings: list[Finding], chart: Path | None) -> list[str]:
    lines = []
    for f in findings:
        loc = _where(f, chart)
        props = [f"file={_github_escape(loc.file, True)}"] if loc.file else []
        if loc.line:
            props += [f"line={loc.line}", f"col={loc.column or 1}"]
        props.append(f"title={_github_escape(f.rule, True)}")
        text = " ".join(x for x in (_object(f), f.path if f.path != "$" else "", f.message) if x)
        lines.append(f"::{_GITHUB_LEVEL[f.severity]} {','.join(props)}::{_github_escape(text)}")
    return lines


def emit(findings: list[Finding], output: str, *, command: str, checked: int,
         extra: dict[str, Any] | None = None, out: TextIO | None = None, chart: Path | None = None,
         summary: bool = True) -> int:
    """Print findings (and, for people, a summary line) in `output` format; return the exit code.
    `chart`: the rendered chart, whose templates the findings on rendered objects point at."""
    out = out or sys.stdout
    c = counts(findings)
    ordered = sorted(findings, key=lambda f: (_ORDER[f.severity], f.source, f.kind, f.name, f.path))
    if output == "json":
        doc = _json(ordered, command, checked, chart)
        doc.update(extra or {})
        print(json.dumps(doc, indent=2), file=out)
    elif output == "junit":
        print(_junit(ordered, command, checked, chart), file=out)
    elif output == "sarif":
        print(json.dumps(_sarif(ordered, command, chart), indent=2), file=out)
    elif output == "github":
        for line in _github(ordered, chart):
            print(line, file=out)
        print(_summary_line(command, findings, checked, c), file=sys.stderr)
    else:
        for f in ordered:
            print(f.format(), file=out)
        if summary:
            print(_summary_line(command, findings, checked, c), file=out)
    return exit_code(findings)


def _summary_line(command: str, findings: list[Finding], checked: int, c: dict[str, int]) -> str:
    verdict = "FAILED" if has_errors(findings) else "ok"
    return (f"{command}: {verdict}: {checked} objects checked, {c['error']} errors, {c['warning']} warnings"
            + (f", {c['info']} notes" if c["info"] else ""))
