"""Generated documentation: the chart README's values table and the workflow diagrams page.

- values table: every leaf key of values.schema.json (following $ref and allOf), its type, its
  default from values.yaml and its description, rendered with jinja2 between
  `<!-- values-table:start -->` and `<!-- values-table:end -->` in charts/cogniverse/README.md.
  Nothing outside the markers is touched.
- values.yaml: the `# --` description above each key, from the schema parts (values_comments).
- docs/workflows-diagrams.md: a Mermaid flowchart of each WorkflowTemplate/CronWorkflow (steps,
  DAG, conditions, nested templates, exit handler) and a weekly calendar of the CronWorkflows
  (diagrams.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import CHART_DIR, REPO_ROOT, chart_facts, io_limits
from .documents import Document
from .errors import ToolkitError
from .diagrams import TEMPLATES, calendar, workflow_docs  # noqa: F401 - calendar: part of this module's API
from .render import RenderRequest, render
from .values_comments import with_descriptions

START, END = "<!-- values-table:start -->", "<!-- values-table:end -->"
README = CHART_DIR / "README.md"
DIAGRAMS = REPO_ROOT / "docs" / "workflows-diagrams.md"

# --------------------------------------------------------------------------- values table

@dataclass
class Row:
    key: str
    type: str
    default: str
    description: str


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow $ref and fold allOf into one schema (later non-empty keywords win)."""
    seen = 0
    while "$ref" in schema and seen < 20:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            break
        node: Any = root
        for part in ref[2:].split("/"):
            node = node[part]
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
        seen += 1
    if "allOf" in schema:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        props: dict[str, Any] = dict(merged.get("properties") or {})
        for sub in schema["allOf"]:
            sub = _resolve(sub, root)
            for k, v in (sub.get("properties") or {}).items():
                if v or k not in props:
                    props[k] = v
            for k, v in sub.items():
                if k != "properties":
                    merged.setdefault(k, v)
        if props:
            merged["properties"] = props
        schema = merged
    return schema


def _type(s: dict[str, Any]) -> str:
    t = s.get("type")
    if "enum" in s:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in s["enum"])
    if isinstance(t, list):
        return " or ".join(t)
    if t == "array":
        item = s.get("items") or {}
        return f"list of {item.get('type', 'objects') if isinstance(item.get('type'), str) else 'values'}"
    if t == "object" or "additionalProperties" in s:
        return "map"
    return str(t or "any")


def _default(values: Any, path: list[str]) -> str:
    node = values
    for p in path:
        if not isinstance(node, dict) or p not in node:
            return "—"
        node = node[p]
    text = json.dumps(node, ensure_ascii=False)
    if len(text) > 60:
        text = text[:57] + "..."
    return "`" + text.replace("|", "\\|").replace("`", "'").replace("<!--", "&lt;!--") + "`"  # no marker (D54)


def _desc(s: dict[str, Any]) -> str:
    """A schema description as one table cell: one line, pipes escaped, no HTML comment (D54: a description
    holding `<!-- values-table:end -->` ended the table early, so `docs` was never idempotent)."""
    return " ".join(str(s.get("description", "")).split()).replace("|", "\\|").replace("<!--", "&lt;!--")


def value_rows(schema: dict[str, Any], values: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []

    def walk(s: dict[str, Any], path: list[str]) -> None:
        ref = s.get("$ref", "")
        if path and ref.startswith("#/definitions/"):
            # a shared definition (image, resources, ...) is one row named after it
            target = _resolve(s, schema)
            desc = _desc(s) or _desc(target)
            rows.append(Row(".".join(path), f"{ref.rsplit('/', 1)[1]} ({_type(target)})" if _type(target) != "map"
                            else ref.rsplit("/", 1)[1], _default(values, path), desc))
            return
        s = _resolve(s, schema)
        props = s.get("properties")
        if path and (not props or s.get("type") not in (None, "object")):
            rows.append(Row(".".join(path), _type(s), _default(values, path), _desc(s)))
            return
        for k, sub in (props or {}).items():
            walk(sub, [*path, k])

    walk(schema, [])
    return rows


def schema_is_empty(chart: Path) -> bool:
    """Whether the chart's values.schema.json exists and describes no value at all."""
    try:
        schema = json.loads(io_limits.read_text(chart / "values.schema.json"))
    except (OSError, ToolkitError, json.JSONDecodeError):
        return False  # missing or unreadable: values_table names the problem
    return isinstance(schema, dict) and not value_rows(schema, {})


def values_table(chart: Path = CHART_DIR) -> str:
    schema_path, values_path = chart / "values.schema.json", chart / "values.yaml"
    try:
        schema = json.loads(io_limits.read_text(schema_path))
        values = yaml.safe_load(io_limits.read_text(values_path)) or {}
    except (OSError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ToolkitError(f"cannot read the chart's values schema or values: {exc}") from None
    return TEMPLATES.get_template("values-table.md.j2").render(rows=value_rows(schema, values))


def values_file(chart: Path = CHART_DIR) -> DocFile:
    """values.yaml with its `# --` key descriptions generated from the schema (values_comments)."""
    path = chart / "values.yaml"
    try:
        schema = json.loads(io_limits.read_text(chart / "values.schema.json"))
        current = io_limits.read_text(path)
    except (OSError, json.JSONDecodeError) as exc:
        raise ToolkitError(f"cannot read the chart's values schema or values: {exc}") from None
    return DocFile(path, current, with_descriptions(current, schema))


def readme_with_table(readme: str, table: str, path: Path = README) -> str:
    if START not in readme or END not in readme or readme.index(START) > readme.index(END):
        raise ToolkitError(f"{path}: no `{START}` ... `{END}` markers; add them where the values table goes")
    if readme.count(START) > 1 or readme.count(END) > 1:
        raise ToolkitError(f"{path}: the `{START}` ... `{END}` markers appear more than once; keep one pair (the "
                           f"table goes between them)")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}{END}{tail}"



def default_render(chart: Path = CHART_DIR) -> list[Document]:
    return render(RenderRequest(chart=chart))


@dataclass
class DocFile:
    path: Path
    current: str | None  # None: missing
    wanted: str

    @property
    def stale(self) -> bool:
        return self.current != self.wanted


def has_markers(chart: Path) -> bool:
    """The chart's README carries the values-table markers (the Cogniverse docs layout)."""
    readme = chart / "README.md"
    return readme.is_file() and START in readme.read_text(encoding="utf-8", errors="replace")


def plan(chart: Path = CHART_DIR, readme: Path = README, diagrams: Path | None = DIAGRAMS,
         docs: list[Document] | None = None) -> list[DocFile]:
    """The generated files and their wanted content (nothing is written)."""
    if not readme.exists():
        raise ToolkitError(f"{readme} does not exist; the values table goes between markers in it")
    current = io_limits.read_text(readme)
    wanted_readme = readme_with_table(current, values_table(chart), readme)
    if chart_facts.START in current:  # the install facts block (chart_facts.py), where the README has one
        wanted_readme = chart_facts.with_facts(wanted_readme, chart, readme)
    files = [DocFile(readme, current, wanted_readme), values_file(chart)]
    if diagrams is None:
        return files
    wanted = workflow_docs(docs if docs is not None else default_render(chart))
    files.append(DocFile(diagrams, io_limits.read_text(diagrams) if diagrams.exists() else None, wanted))
    return files

