"""Format findings for people (one line each plus a summary) or machines: `json`, `junit` (test reports),
`sarif` (code scanning, SARIF 2.1.0) and `github` (workflow annotations). The machine formats give the
file, line and column of every finding (cogniverse_chart.locations)."""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, TextIO

from .findings import Finding, Policy, Severity, has_errors
from .github_log import github_command, github_escape, github_plain

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
    """A file's path relative to the repository root when it lies inside it: GitHub's runner reads a
    relative `file=` (and code scanning a SARIF uri) from the root of the checkout, whatever folder the
    step ran in (the Action's working-directory). Outside the repository: the path as given."""
    if not file:
        return file
    path = Path(file)
    try:
        return (path if path.is_absolute() else Path.cwd() / path).resolve().relative_to(
            _root(os.getcwd(), os.environ.get("GITHUB_WORKSPACE", ""))).as_posix()
    except (ValueError, OSError):
        return path.as_posix()


@functools.lru_cache(maxsize=8)
def _root(cwd: str, workspace: str) -> Path:
    """$GITHUB_WORKSPACE when the command runs inside it, else the git repository around the current
    folder (the nearest folder above holding .git), else the current folder."""
    here = Path(cwd).resolve()
    if workspace:
        top = Path(workspace).resolve()
        if top == here or top in here.parents:
            return top
    return next((d for d in [here, *here.parents] if (d / ".git").exists()), here)


def _where(f: Finding, chart: Path | None) -> "Location":
    from .locations import Location, locate  # only the machine formats look up lines

    parsed = _PARSER_AT.match(f.message) if f.rule == "schema/invalid-yaml" and not f.kind else None
    if parsed and f.source and not f.source.startswith("<"):  # the parser's own line and column, not line 1
        return Location(_relative(f.source), int(parsed[1]), int(parsed[2]))
    loc = locate(f.source, f.kind, f.name, f.path, chart, f.namespace, f.doc_line)
    return Location(_relative(loc.file), loc.line, loc.column)


#: An unreadable file's finding (commands/validate.read_each) starts with where the YAML parser stopped.
_PARSER_AT = re.compile(r"line (\d+), column (\d+): ")


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


#: XML 1.0's characters, as the pattern of what is not one (compiled on first use: its ranges up to U+10FFFF
#: take 5 ms to compile, a tenth of `validate`'s start-up, and only JUnit output needs it)
_NOT_XML = "[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"


def _xml_text(text: str) -> str:
    """Text XML 1.0 can hold: characters it forbids (control characters) become U+FFFD."""
    return re.sub(_NOT_XML, "\ufffd", text)


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
    return _junit_document(command, cases, failures=sum(f.severity is Severity.ERROR for f in findings))


def _junit_document(command: str, cases: list[str], *, failures: int = 0, errors: int = 0) -> str:
    from xml.sax.saxutils import quoteattr

    suite = quoteattr(f"cogniverse-chart {command}".strip())
    counts = f'tests="{len(cases)}" failures="{failures}" errors="{errors}"'
    return _xml_text("\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name={suite} {counts}>',
        f'  <testsuite name={suite} {counts} skipped="0">',
        *cases, "  </testsuite>", "</testsuites>"]))


def _sarif(findings: list[Finding], command: str, chart: Path | None) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for f in findings:
        rules.setdefault(f.rule, {"id": f.rule, "shortDescription": {"text": f.rule},
                                  "defaultConfiguration": {"level": _SARIF_LEVEL[f.severity]}})
        loc = _where(f, chart)
        location: dict[str, Any] = _sarif_location(loc) if loc.file else {}
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
    return _sarif_log(command, list(rules.values()), results, {"executionSuccessful": True})


def _sarif_location(loc: "Location") -> dict[str, Any]:
    """A SARIF physicalLocation; the uri is percent-encoded (a '#' or a space in a file name is no fragment),
    the bytes of a name that is not UTF-8 included (%FF)."""
    from urllib.parse import quote

    region = {"startLine": max(loc.line, 1), "startColumn": max(loc.column, 1)}
    uri = quote(loc.file, errors="surrogateescape")
    return {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}


def _sarif_log(command: str, rules: list[dict[str, Any]], results: list[dict[str, Any]],
               invocation: dict[str, Any]) -> dict[str, Any]:
    from . import __version__

    driver = {"name": "cogniverse-chart", "version": __version__, "rules": rules}
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0",
            "runs": [{"tool": {"driver": driver}, "results": results,
                      "invocations": [{**invocation, **_command_line(command)}]}]}


def _command_line(command: str) -> dict[str, Any]:
    """SARIF's commandLine with the arguments the run was given (E36: `--chart lib` was dropped), quoted as a
    shell would need them, and the same as `arguments`."""
    import shlex

    from . import ARGV

    if not ARGV:  # a report made by the library, not by the command line
        return {"commandLine": f"cogniverse-chart {command}".strip()}
    return {"commandLine": shlex.join(["cogniverse-chart", *ARGV]), "arguments": list(ARGV)}


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_OR_NEWLINE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")


def _shown(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a file name that is not UTF-8 (Python's surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str, *, newlines: bool = False) -> str:
    """Text for a terminal or a CI log: control characters from the input (an escape sequence in an object's
    name would recolour or rewrite the terminal) shown as \\xNN, as are the bytes of a file name that is not
    UTF-8 (which no UTF-8 stream can write); newlines kept only where asked for."""
    pattern = _CONTROL if newlines else _CONTROL_OR_NEWLINE
    text = pattern.sub(lambda m: _shown(m[0]), text)
    if text.isascii():
        return text
    # Unicode's format characters (category Cf): the bidirectional controls reorder what a terminal shows
    # ("Trojan Source": a message can display as another), the zero-width ones and tags hide text; and the
    # line and paragraph separators, which some terminals break a line at
    return "".join(_shown(c) if unicodedata.category(c) == "Cf" or c in "\u2028\u2029" else c for c in text)


#: characters of an annotation's text: a message stays readable and far below what GitHub keeps
_GITHUB_MAX = 4000


def _github(findings: list[Finding], chart: Path | None) -> list[str]:
    lines = []
    for f in findings:
        loc = _where(f, chart)
        props = [f"file={github_escape(printable(loc.file), True)}"] if loc.file else []
        if loc.line:
            props += [f"line={loc.line}", f"col={loc.column or 1}"]
        props.append(f"title={github_escape(f.rule, True)}")
        text = " ".join(x for x in (_object(f), f.path if f.path != "$" else "", f.message) if x)
        if len(text) > _GITHUB_MAX:  # a 300 KB object name was one 300 KB annotation (GitHub keeps 64 KB)
            text = f"{text[:_GITHUB_MAX // 2]} ... {text[-_GITHUB_MAX // 4:]}"
        lines.append(f"::{_GITHUB_LEVEL[f.severity]} {','.join(props)}::{github_escape(printable(text, newlines=True))}")
    return lines


def emit(findings: list[Finding], output: str, *, command: str, checked: int,
         extra: dict[str, Any] | None = None, out: TextIO | None = None, chart: Path | None = None,
         summary: bool = True, policy: Policy | None = None) -> int:
    """Print findings (and, for people, a summary line) in `output` format; return the exit code.
    `chart`: the rendered chart, whose templates the findings on rendered objects point at; `policy`: the
    config's settings, named (with what they hid) when they turn rules off."""
    out = out or sys.stdout
    c = counts(findings)
    ordered = sorted(findings, key=lambda f: (_ORDER[f.severity], f.source, f.kind, f.name, f.path))
    note = policy.config_note() if policy is not None else None
    said = printable(f"config: {note['file']} turns off {', '.join(note['rules_off'])} ({note['hidden']} findings "
                     f"hidden)") if note else None
    if output == "json":
        doc = _json(ordered, command, checked, chart)
        if note:
            doc["config"] = note
        doc.update(extra or {})
        print(json.dumps(doc, indent=2), file=out)
    elif output == "junit":
        print(_junit(ordered, command, checked, chart), file=out)
    elif output == "sarif":
        print(json.dumps(_sarif(ordered, command, chart), indent=2), file=out)
    elif output == "github":
        for line in _github(ordered, chart):
            github_command(line, out)
        for line in filter(None, (said, _summary_line(command, findings, checked, c))):
            print(line, file=sys.stderr)
    else:
        for f in ordered:
            print(printable(f.format()), file=out)
        if said:
            print(said, file=out)
        if summary:
            print(_summary_line(command, findings, checked, c), file=out)
    return exit_code(findings)


def _summary_line(command: str, findings: list[Finding], checked: int, c: dict[str, int]) -> str:
    verdict = "FAILED" if has_errors(findings) else "ok"
    return (f"{command}: {verdict}: {checked} objects checked, {c['error']} errors, {c['warning']} warnings"
            + (f", {c['info']} notes" if c["info"] else ""))


# A run that ends before it has findings (bad input, a template error): the error in the requested format.

#: Helm names the template a rendering error is in: `template: demo/templates/x.yaml:3:10:` (Helm 3),
#: `Error: demo/templates/x.yaml:3:10` (Helm 4), `error at (demo/templates/x.yaml:3:5)`, `parse error on ...`
#: Path segments exclude '/', so a long `a/a/a/...` without templates/ is read once, not in every split
#: (the former `[^...]+/` with '/' inside backtracked exponentially: 58 s for 30 segments).
_HELM_FILE = re.compile(r'(?:^|[\s("])([^\s:()"<>/]+/(?:[^\s:()"<>/]+/)*?(?:templates|charts)/[^\s:()"<>]+)'
                        r'(?::(\d+))?(?::(\d+))?')
#: Helm names the failing template near the start of its message; a chart can make the message long.
_SCAN_CHARS = 8192
#: the toolkit's own input errors start with FILE:LINE:COLUMN: (invalid YAML)
_FILE_LINE = re.compile(r"(.+?):(\d+):(\d+): ", re.S)


def error_location(message: str, chart: str | None = None) -> "Location | None":
    """The file (and line, column) an error message names: a chart template Helm failed on (the chart is
    the one Helm rendered), or an input file the toolkit could not read as YAML."""
    from .locations import Location

    if chart and Path(chart).is_dir():
        for m in _HELM_FILE.finditer(message[:_SCAN_CHARS]):
            file = Path(chart, *m[1].split("/")[1:])
            if file.is_file():
                return Location(_relative(str(file)), int(m[2] or 0), int(m[3] or 0))
    m = _FILE_LINE.match(message)
    if m and Path(m[1]).is_file():
        return Location(_relative(m[1]), int(m[2]), int(m[3]))
    return None


def failure(prog: str, message: str, output: str, where: "Location | None" = None) -> None:
    """The error on stderr (one line, or Helm's lines); in the machine formats also on stdout: a JSON
    object, a GitHub error annotation, a SARIF run whose invocation failed with a toolExecutionNotification,
    a JUnit suite with one errored case. A CI report then says why the run failed instead of being empty."""
    command = prog.removeprefix("cogniverse-chart").strip()
    text = printable(f"{prog}: error: {message}", newlines=True)
    if output == "github":  # plain log lines, not an annotation: %0A only in the annotation; no line is a command
        text = "\n".join(github_plain(line) for line in text.split("\n"))
    print(text, file=sys.stderr)
    try:
        _failure_report(prog, command, message, output, where)
        sys.stdout.flush()
    except OSError:  # the report cannot be written (a full disk, a closed pipe): the line on stderr says why
        _discard_stdout()


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that Python's last flush at exit does not fail (and print) again."""
    import os

    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError):  # no file descriptor (a test's capture): nothing is flushed at exit
        pass


def _failure_report(prog: str, command: str, message: str, output: str, where: "Location | None") -> None:
    at = {"file": where.file, "line": where.line, "column": where.column} if where else {}
    if output == "json":
        print(json.dumps({"command": command or None, "ok": False, "error": message, **at}))
    elif output == "github":
        props = [f"file={github_escape(printable(where.file), True)}"] if where else []
        if where and where.line:
            props += [f"line={where.line}", f"col={where.column or 1}"]
        props.append(f"title={github_escape(prog, True)}")
        github_command(f"::error {','.join(props)}::{github_escape(printable(message, newlines=True))}", sys.stdout)
    elif output == "sarif":
        note: dict[str, Any] = {"level": "error", "message": {"text": message}}
        if where:
            note["locations"] = [_sarif_location(where)]
        invocation = {"executionSuccessful": False, "toolExecutionNotifications": [note]}
        print(json.dumps(_sarif_log(command, [], [], invocation), indent=2))
    elif output == "junit":
        from xml.sax.saxutils import escape, quoteattr

        file = f" file={quoteattr(where.file)} line=\"{where.line}\"" if where else ""
        case = (f"    <testcase name={quoteattr(prog)} classname={quoteattr(where.file if where else command or prog)}"
                f"{file}><error type=\"error\" message={quoteattr(message.splitlines()[0] if message else '')}>"
                f"{escape(message)}</error></testcase>")
        print(_junit_document(command or "", [case], errors=1))
