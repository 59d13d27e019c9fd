"""Values files checked as `helm install -f FILE` sees them (validate --values): merged over the chart's
values.yaml, against its values.schema.json, then rendered so the chart's own `fail` checks report too.

Rule id: schema/values.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .documents import load_document, read_text
from .errors import ToolkitError
from .findings import Finding, Severity
from .validate import describe_error

if TYPE_CHECKING:
    from .helm import Helm


def validate_values(values: dict[str, Any], schema: dict[str, Any], source: str,
                    schema_file: str = "values.schema.json", helm_checks: bool = False) -> list[Finding]:
    """A values file against the chart's values.schema.json (rule schema/values): no $ref is fetched, and a
    pattern runs within a time bound (values_schema_check; `helm_checks`: Helm renders the values next)."""
    from .values_schema_check import iter_errors

    from .redact import hide_in

    out = []
    for e in sorted(iter_errors(values, schema, schema_file, helm_checks), key=lambda e: list(map(str, e.absolute_path))):
        secret = any(_SECRET_KEY.search(str(k)) for k in e.absolute_path)
        for path, msg in describe_error(e):
            out.append(Finding("schema/values", Severity.ERROR, hide_in(msg, e.instance) if secret else msg,
                               source, "", "", path))
    return out


#: keys whose values are credentials: their values never reach a message (attack24d F6: `validate --values`
#: printed a password that did not match its pattern into the log and SARIF; Helm names only the key)
_SECRET_KEY = re.compile(r"pass(word|wd|phrase)?|secret|token|credential|private|api[-_]?key|auth|cert|"
                         r"(^|[-_.])key$", re.I)


def load_values_schema(chart: Path) -> dict:
    path = chart / "values.schema.json"
    if not path.exists():
        what = ("the chart has no values schema, so there is nothing to check --values against"
                if (chart / "Chart.yaml").is_file() else "is --chart a chart directory?")
        raise ToolkitError(f"{path}: not found: {what}")
    try:
        return json.loads(read_text(path))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ToolkitError(f"{path}: invalid JSON: {exc}") from None


def _load_values(f: Path) -> dict[str, Any]:
    """A values file, read like a manifest (YAML 1.1, alias and nesting limits, one-line errors)."""
    if not f.exists():
        raise ToolkitError(f"{f}: no such file")
    objs = load_document(read_text(f), str(f))
    values = (objs[0] if objs else None) or {}
    if len(objs) > 1:
        raise ToolkitError(f"{f}: a values file holds one YAML document, found {len(objs)}")
    if not isinstance(values, dict):
        raise ToolkitError(f"{f}: a values file must be a mapping, got {type(values).__name__}")
    return values


def merge_values(base: Any, override: Any) -> Any:
    """Helm's coalescing: maps merge key by key, null removes a key of the chart's defaults (a null for a key
    the defaults do not have stays, and the schema sees it, as Helm's does: attack24d F13), anything else
    replaces."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override
    out = dict(base)
    for k, v in override.items():
        if v is None and k not in base:
            out[k] = None
        elif v is None:
            out.pop(k, None)
        else:
            out[k] = merge_values(base.get(k), v)
    return out


def check_values_files(files: list[Path], chart: Path, helm: "Helm | None" = None) -> list[Finding]:
    """Each file merged over the chart's values.yaml (as `helm install -f FILE` sees it), then checked
    against values.schema.json; with `helm`, a file the schema accepts is also rendered, so the chart's
    own value checks (its templates' `fail` messages: cron fields, time zones, quantities...) report too."""
    if not files:
        return []
    schema = load_values_schema(chart)
    defaults = _load_values(chart / "values.yaml") if (chart / "values.yaml").exists() else {}
    findings: list[Finding] = []
    for f in files:
        found = validate_values(merge_values(defaults, _load_values(f)), schema, str(f),
                                str(chart / "values.schema.json"), helm is not None)
        if not found and helm is not None:
            found = _template_checks(f, chart, helm)
        findings += found
    return findings


_FAIL = re.compile(r"execution error at \([^)]*\): (.+)")


def _template_checks(values: Path, chart: Path, helm: "Helm") -> list[Finding]:
    """The chart's `fail` messages for one values file, as findings on the key they name."""
    from .errors import HelmError
    from .render import RenderRequest, render_text

    try:
        render_text(RenderRequest(values_files=[values], chart=chart), helm)
    except HelmError as exc:
        m = _FAIL.search(str(exc))
        if not m:
            return [Finding("schema/values", Severity.ERROR, str(exc).splitlines()[-1][:300], str(values))]
        message = m[1].strip()
        key = re.match(r"[A-Za-z0-9_.\[\]-]+", message)
        path = "$." + key[0] if key and ("." in key[0] or "[" in key[0]) else ""
        if path and message.startswith(key[0] + ": "):  # the path column names the key already
            message = message[len(key[0]) + 2:]
        return [Finding("schema/values", Severity.ERROR, message, str(values), "", "", path)]
    return []
