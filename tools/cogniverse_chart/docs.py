"""Generated documentation: the chart README's values table and the workflow diagrams page.

- values table: every leaf key of values.schema.json (following $ref and allOf), its type, its
  default from values.yaml and its description, rendered with jinja2 between
  `<!-- values-table:start -->` and `<!-- values-table:end -->` in charts/cogniverse/README.md.
  Nothing outside the markers is touched.
- values.yaml: the `# --` description above each key, from the schema parts (values_comments).
- docs/workflows-diagrams.md: a Mermaid flowchart of each WorkflowTemplate/CronWorkflow (steps,
  DAG, conditions, nested templates, exit handler) and a weekly calendar of the CronWorkflows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from . import CHART_DIR, REPO_ROOT, chart_facts, io_limits
from .cronexpr import CronError, parse
from .documents import Document
from .errors import ToolkitError
from .argo.model import WorkflowSpec, dag_tasks, names, step_groups, template_type, workflow_specs
from .lint.structure import task_dependencies
from .render import RenderRequest, render
from .values_comments import with_descriptions

START, END = "<!-- values-table:start -->", "<!-- values-table:end -->"
README = CHART_DIR / "README.md"
DIAGRAMS = REPO_ROOT / "docs" / "workflows-diagrams.md"

_env = jinja2.Environment(loader=jinja2.PackageLoader("cogniverse_chart", "templates"),
                          keep_trailing_newline=True, autoescape=False, undefined=jinja2.StrictUndefined)


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
    return _env.get_template("values-table.md.j2").render(rows=value_rows(schema, values))


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


# --------------------------------------------------------------------------- workflow diagrams

def _id(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", "__".join(parts))


def _label(text: str) -> str:
    return _CONTROL.sub(" ", text.replace('"', "'"))


_CONTROL = re.compile("[\x00-\x1f\x7f\u2028\u2029]")


def _inline(text: Any) -> str:
    """Text for an inline code span of the page: a name the chart controls (a parameter named
    "x`\ntouch ...") cannot end the span or start a line of its own (D12)."""
    return _CONTROL.sub(lambda m: json.dumps(m[0])[1:-1], str(text)).replace("`", "'")


class _Flow:
    """Builds one Mermaid flowchart; nested templates become subgraphs."""

    def __init__(self, w: WorkflowSpec, lookup: dict[tuple[bool, str], WorkflowSpec]) -> None:
        self.w, self.lookup = w, lookup
        self.lines: list[str] = ["flowchart TD"]

    def template(self, w: WorkflowSpec, name: str, prefix: str, depth: int) -> tuple[list[str], list[str]]:
        """Draw template `name`; return (entry node ids, exit node ids)."""
        t = w.templates.get(name)
        ttype = template_type(t) if t else ""
        if t is None or ttype not in ("steps", "dag") or depth > 3:
            nid = _id(prefix, "leaf")
            shape = f'{nid}["{_label(name)}"]' if ttype != "resource" else f'{nid}[/"{_label(name)}"/]'
            self.lines.append("  " * depth + shape)
            return [nid], [nid]
        if ttype == "steps":
            return self._steps(w, t, prefix, depth)
        return self._dag(w, t, prefix, depth)

    def _call(self, w: WorkflowSpec, node: dict[str, Any], prefix: str, depth: int) -> tuple[list[str], list[str]]:
        name = str(node.get("name"))
        target_w, target = w, node.get("template")
        ref = node.get("templateRef")
        suffix = ""
        if isinstance(ref, dict):
            lib = self.lookup.get((bool(ref.get("clusterScope")), str(ref.get("name"))))
            target = str(ref.get("template"))
            suffix = f" ({ref.get('name')}/{target})"
            if lib is None:
                nid = _id(prefix)
                self.lines.append("  " * depth + f'{nid}["{_label(name + suffix)}"]')
                return [nid], [nid]
            target_w = lib
        loop = " ×N" if any(k in node for k in ("withItems", "withParam", "withSequence")) else ""
        t = target_w.templates.get(str(target))
        if t is not None and template_type(t) in ("steps", "dag") and depth < 3:
            sid = _id(prefix, "sub")
            self.lines.append("  " * depth + f'subgraph {sid}["{_label(name + loop + suffix)}"]')
            ins, outs = self.template(target_w, str(target), prefix, depth + 1)
            self.lines.append("  " * depth + "end")
            return ins, outs
        nid = _id(prefix)
        shown = name if str(target) == name else f"{name}: {target}"
        self.lines.append("  " * depth + f'{nid}["{_label(shown + loop + suffix)}"]')
        return [nid], [nid]

    def _edge(self, a: str, b: str, cond: str | None = None) -> None:
        if cond:
            self.lines.append(f'  {a} -.->|"{_label(_short_when(cond))}"| {b}')
        else:
            self.lines.append(f"  {a} --> {b}")

    def _steps(self, w: WorkflowSpec, t: dict[str, Any], prefix: str, depth: int) -> tuple[list[str], list[str]]:
        first: list[str] = []
        prev: list[str] = []
        for gi, group in enumerate(step_groups(t)):
            outs: list[str] = []
            for s in group:
                ins, o = self._call(w, s, _id(prefix, str(s.get("name"))), depth)
                for a in prev:
                    for b in ins:
                        self._edge(a, b, s.get("when"))
                if gi == 0:
                    first += ins
                outs += o
            prev = outs
        return first, prev

    def _dag(self, w: WorkflowSpec, t: dict[str, Any], prefix: str, depth: int) -> tuple[list[str], list[str]]:
        tasks = dag_tasks(t)
        ends: dict[str, tuple[list[str], list[str]]] = {}
        for task in tasks:
            ends[str(task.get("name"))] = self._call(w, task, _id(prefix, str(task.get("name"))), depth)
        depended = set()
        roots: list[str] = []
        for task in tasks:
            deps = [d for d in task_dependencies(task) if d in ends]
            depended.update(deps)
            if not deps:
                roots += ends[str(task.get("name"))][0]
            for d in deps:
                for a in ends[d][1]:
                    for b in ends[str(task.get("name"))][0]:
                        self._edge(a, b, task.get("when"))
        leaves = [n for name, (_, o) in ends.items() if name not in depended for n in o]
        return roots, leaves

    def build(self) -> str:
        ep = self.w.spec.get("entrypoint")
        ins, outs = self.template(self.w, str(ep), "main", 1) if ep else ([], [])
        self.lines.append('  start(["start"])')
        for n in ins:
            self._edge("start", n)
        on_exit = self.w.spec.get("onExit")
        if isinstance(on_exit, str):
            self.lines.append('  subgraph exit_handler["exit handler (always runs)"]')
            eins, _ = self.template(self.w, on_exit, "exit", 2)
            self.lines.append("  end")
            for a in outs:
                for b in eins:
                    self.lines.append(f"  {a} -.-> {b}")
        return "\n".join(self.lines)


def _short_when(expr: str) -> str:
    text = re.sub(r"\{\{\s*(?:steps|tasks)\.([\w-]+)\.outputs\.parameters\.([\w-]+)\s*\}\}", r"\1.\2", str(expr))
    text = re.sub(r"\{\{\s*(?:inputs|workflow)\.parameters\.([\w-]+)\s*\}\}", r"\1", text)
    return text if len(text) <= 60 else text[:57] + "..."


_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def calendar(docs: list[Document]) -> str:
    """A Markdown week grid: one row per start time, one column per weekday."""
    slots: dict[tuple[str, str], dict[int, list[str]]] = {}
    notes: list[str] = []
    for d in docs:
        if d.kind != "CronWorkflow":
            continue
        spec = d.obj.get("spec") or {}
        tz = spec.get("timezone") or "UTC"
        suspended = " (suspended)" if spec.get("suspend") else ""
        for expr in spec.get("schedules") or ([spec["schedule"]] if spec.get("schedule") else []):
            try:
                s = parse(str(expr))
            except CronError as e:
                notes.append(f"`{d.name}`: invalid schedule `{expr}` ({e})")
                continue
            if s.every is not None:
                notes.append(f"`{d.name}`: every {s.every} ({expr})")
                continue
            monthly = not s.dom_star and s.dow_star
            days = sorted(s.weekdays) if not monthly else list(range(7))
            label = f"{d.name}{suspended}"
            if monthly or len(s.months) < 12:
                dom = ",".join(map(str, sorted(s.days)))
                label += f" (day {dom} of month)" if monthly else " (some months)"
                if monthly:
                    days = []
                    notes.append(f"`{d.name}`: `{expr}` ({tz}), on day {dom} of the month")
            for h in sorted(s.hours):
                for m in sorted(s.minutes):
                    cell = slots.setdefault((f"{h:02d}:{m:02d}", tz), {})
                    for wd in days:
                        cell.setdefault((wd - 1) % 7, []).append(label)
    if not slots and not notes:
        return "No CronWorkflows are enabled in the default values."
    lines = ["| time | " + " | ".join(_DAYS) + " |", "| --- |" + " --- |" * 7]
    for (hm, tz), cells in sorted(slots.items()):
        if not cells:
            continue
        row = [", ".join(f"`{_inline(n)}`" for n in cells.get(i, [])) for i in range(7)]
        lines.append(f"| {hm} {tz} | " + " | ".join(row) + " |")
    out = "\n".join(lines)
    if notes:
        out += "\n\nMonthly and other schedules:\n\n" + "\n".join(f"- {n}" for n in notes)
    return out + "\n"


def workflow_docs(docs: list[Document]) -> str:
    specs = [w for d in docs for w in workflow_specs(d)]
    lookup = {(w.doc.kind == "ClusterWorkflowTemplate", w.doc.name): w for w in specs
              if w.doc.kind in ("WorkflowTemplate", "ClusterWorkflowTemplate")}
    # A run of a template in this stream (each chart CronWorkflow) is drawn as that template, once.
    runs: dict[str, list[str]] = {}
    for w in specs:
        ref = w.spec.get("workflowTemplateRef")
        if isinstance(ref, dict) and (bool(ref.get("clusterScope")), str(ref.get("name"))) in lookup:
            runs.setdefault(str(ref.get("name")), []).append(f"{w.doc.kind} `{_inline(w.doc.name)}`")
    items = []
    for w in sorted(specs, key=lambda w: (w.doc.kind != "WorkflowTemplate", w.doc.name)):
        if w.doc.kind not in ("WorkflowTemplate", "ClusterWorkflowTemplate") and "workflowTemplateRef" in w.spec \
                and str((w.spec.get("workflowTemplateRef") or {}).get("name")) in runs:
            continue
        params = ", ".join(f"`{_inline(p)}`" for p in names((w.spec.get("arguments") or {}).get("parameters")))
        by = runs.get(w.doc.name) if w.doc.kind == "WorkflowTemplate" else None
        items.append({"kind": _inline(w.doc.kind), "name": _inline(w.doc.name), "params": params, "mermaid": _Flow(w, lookup).build(),
                      "runs": ", ".join(by or [])})
    return _env.get_template("workflows-diagrams.md.j2").render(workflows=items, calendar=calendar(docs))


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
