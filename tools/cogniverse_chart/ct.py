"""chart-testing's (`ct lint`) chart checks, as findings:

- ct/chart-yaml: Chart.yaml against chart-testing's schema (its yamale chart_schema.yaml, written here as
  JSON Schema: the same keys, types and required fields; unknown keys are errors, as yamale's strict mode);
- ct/maintainers: every maintainer has a name, and an email and url that look like one (ct's
  --validate-maintainers asks GitHub whether the name is an account: that needs the network and is left out);
- ct/version-bump: a chart that changed since the target branch has a new `version`
  (ct's --check-version-increment; cogniverse_chart.release.check_version_bump);
- helm/lint: `helm lint` of the chart with each scenario's values, as `ct lint` runs it; its [INFO],
  [WARNING] and [ERROR] lines become findings of those severities.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .chart_yaml import CHART_NAME
from .documents import load_document, read_text
from .findings import Finding, Severity
from .io_limits import check_chart_file

if TYPE_CHECKING:
    from .helm import Helm

_STR = {"type": "string"}
_STRS = {"type": "array", "items": _STR}
CHART_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "version", "apiVersion"],
    "additionalProperties": False,
    "properties": {
        "name": _STR, "home": _STR, "version": _STR, "apiVersion": _STR,
        "appVersion": {"type": ["string", "number"]}, "description": _STR, "keywords": _STRS, "sources": _STRS,
        "maintainers": {"type": "array", "items": {
            "type": "object", "required": ["name"], "additionalProperties": False,
            "properties": {"name": _STR, "email": _STR, "url": _STR}}},
        "dependencies": {"type": "array", "items": {
            "type": "object", "required": ["name", "version"], "additionalProperties": False,
            "properties": {"name": _STR, "version": _STR, "repository": _STR, "condition": _STR, "tags": _STRS,
                           "enabled": {"type": "boolean"}, "alias": _STR,
                           "import-values": {"type": "array", "items": {"anyOf": [_STR, {
                               "type": "object", "required": ["child", "parent"], "additionalProperties": False,
                               "properties": {"child": _STR, "parent": _STR}}]}}}}},
        "icon": _STR, "engine": _STR, "condition": _STR, "tags": _STR, "deprecated": {"type": "boolean"},
        "kubeVersion": _STR, "annotations": {"type": "object", "additionalProperties": _STR}, "type": _STR,
    },
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://[^\s/]+")


def _chart_yaml(chart: Path) -> tuple[str, Any]:
    """(where, content) of the chart's Chart.yaml: in its folder, or inside a packaged chart (.tgz)."""
    if chart.is_file():
        return _packaged_chart_yaml(chart)
    path = chart / "Chart.yaml"
    check_chart_file(path)
    # a UTF-8 BOM is no part of the first key: Helm and chart-testing's yamale read past it (E18)
    objs = load_document(read_text(path).removeprefix("\ufeff"), str(path))
    return str(path), (objs[0] if objs else None)


def duplicate_keys(chart: Path) -> list[Finding]:
    """Keys given twice in Chart.yaml (E19: a merge of two branches' bumps leaves two `version:` lines; Helm
    keeps the last, the version-bump check read that one, and nothing said so)."""
    from .perf.yaml_loader import load_chunk

    if chart.is_file():
        return []
    path = chart / "Chart.yaml"
    _, dups = load_chunk(read_text(path).removeprefix("\ufeff"), str(path), 0)
    return [Finding("ct/chart-yaml", Severity.ERROR, f"key {d} is given twice: Helm keeps the last one silently; "
                    f"remove one", str(path)) for d in dups]


def _packaged_chart_yaml(package: Path) -> tuple[str, Any]:
    """Chart.yaml at the top folder of a packaged chart (`helm package` writes NAME/Chart.yaml first),
    read up to the size limit of every text file."""
    import tarfile

    from .errors import ToolkitError
    from .io_limits import MAX_CHART_FILE_BYTES, decode

    try:
        with tarfile.open(package, "r:gz") as tar:
            for member in tar:
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isfile():
                    if member.size > MAX_CHART_FILE_BYTES:
                        break
                    data = tar.extractfile(member).read(MAX_CHART_FILE_BYTES + 1)  # type: ignore[union-attr]
                    where = f"{package}/{member.name}"
                    objs = load_document(decode(data, where), where)
                    return where, (objs[0] if objs else None)
    except (OSError, EOFError, tarfile.TarError) as exc:
        raise ToolkitError(f"{package}: not a packaged chart ({exc})") from None
    raise ToolkitError(f"{package}: no NAME/Chart.yaml (of at most 5 MiB, Helm's limit) in it: not a packaged chart")


def chart_yaml(chart: Path) -> list[Finding]:
    import jsonschema

    from .validate import describe_error

    source, meta = _chart_yaml(chart)
    out = duplicate_keys(chart)
    name = meta.get("name") if isinstance(meta, dict) else None
    if isinstance(name, str) and name and not CHART_NAME.fullmatch(name):  # Helm accepts it; its best practice does not
        out.append(Finding("ct/chart-yaml", Severity.WARNING, f"name {name[:80]!r}: Helm's best practice is lowercase "
                           f"letters, digits and '-' (the release name here defaults to a cleaned copy)",
                           source, path="$.name"))
    for e in sorted(jsonschema.Draft7Validator(CHART_SCHEMA).iter_errors(meta),
                    key=lambda e: list(map(str, e.absolute_path))):
        for path, msg in describe_error(e):
            out.append(Finding("ct/chart-yaml", Severity.ERROR, f"{msg} (chart-testing's Chart.yaml schema)",
                               source, path=path))
    return out


def maintainers(chart: Path) -> list[Finding]:
    source, meta = _chart_yaml(chart)
    people = meta.get("maintainers") if isinstance(meta, dict) else None
    if not people:
        return [Finding("ct/maintainers", Severity.ERROR, "no maintainers: list at least one (name, email or url)",
                        source, path="$")]
    out = []
    for i, m in enumerate(people if isinstance(people, list) else []):
        if not isinstance(m, dict):
            continue
        where = f"$.maintainers[{i}]"
        if not str(m.get("name") or "").strip():
            out.append(Finding("ct/maintainers", Severity.ERROR, "a maintainer needs a name", source, path=where))
        if "email" in m and not _EMAIL.match(str(m["email"])):
            out.append(Finding("ct/maintainers", Severity.ERROR, f"email {m['email']!r} is not an address like "
                               f"name@example.org", source, path=f"{where}.email"))
        if "url" in m and not _URL.match(str(m["url"])):
            out.append(Finding("ct/maintainers", Severity.ERROR, f"url {m['url']!r} is not an http(s) URL",
                               source, path=f"{where}.url"))
    return out


def version_bump(chart: Path, target_branch: str = "main") -> tuple[list[Finding], str]:
    """(findings, how the comparison was made)."""
    from .release import SHALLOW, bump_message, check_version_bump

    result = check_version_bump(chart, target_branch)
    how = f"compared with {result.base[:12]} ({result.how})" if result.base else f"not compared: {result.how}"
    if result.how == SHALLOW:  # the check could not run where CI runs it: say so where CI shows findings
        return [Finding("ct/version-bump", Severity.WARNING, f"version bump not checked: {SHALLOW}",
                        str(chart / "Chart.yaml"), path="$.version")], how
    if result.how in ("not a git checkout", "no git history"):  # nothing to compare with: a note, not silence
        return [Finding("ct/version-bump", Severity.INFO, f"version bump not checked: {result.how} (ct compares "
                        f"the chart with its target branch in git)", str(chart / "Chart.yaml"), path="$.version")], how
    if result.ok:
        return [], how
    return [Finding("ct/version-bump", Severity.ERROR, bump_message(result, chart), str(chart / "Chart.yaml"),
                    path="$.version")], how


_LINT_LINE = re.compile(r"^\[(INFO|WARNING|ERROR)\] ([^:]*): ?(.*)$")
_LINT_SEVERITY = {"INFO": Severity.INFO, "WARNING": Severity.WARNING, "ERROR": Severity.ERROR}


def parse_helm_lint(output: str, chart: Path) -> list[Finding]:
    """helm lint's `[LEVEL] path: message` lines (with their indented continuation lines) as findings."""
    found: list[list[str]] = []
    for line in output.splitlines():
        m = _LINT_LINE.match(line)
        if m:
            found.append([m[1], m[2], m[3].strip()])
        elif found and line[:1].isspace() and line.strip():
            found[-1][2] = f"{found[-1][2]} {line.strip()}".strip()
    out = []
    for level, where, message in found:
        template = re.match(r"(\S+/templates/[^\s:]+)", message)  # a template error names its file
        source = template[1] if template else str(chart / where) if where else str(chart)
        out.append(Finding("helm/lint", _LINT_SEVERITY[level], message, source))
    return out


def helm_lint(chart: Path, helm: "Helm", scenarios: dict[str, Path | None], extra_values: list[Path] = (),
              set_values: list[str] = (), set_string_values: list[str] = ()) -> dict[str, list[Finding]]:  # type: ignore[assignment]
    """{scenario: findings} of `helm lint CHART --values ... --set ...` for each scenario, as `ct lint` runs it."""
    out = {}
    for name, values in scenarios.items():
        args = ["lint", f"./{chart}" if str(chart).startswith("-") else str(chart)]  # values joined: render.py
        args += [f"--values={f}" for f in ([values] if values else []) + list(extra_values)]
        args += [f"--set={s}" for s in set_values] + [f"--set-string={s}" for s in set_string_values]
        proc = helm.run(args, check=False)
        out[name] = parse_helm_lint(proc.stdout, chart)
    return out
