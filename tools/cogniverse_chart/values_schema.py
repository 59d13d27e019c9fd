"""Build charts/cogniverse/values.schema.json from its authored parts.

The authored source is charts/cogniverse/schema/:
  _root.yaml         top-level keywords ($schema, title, additionalProperties: false, ...)
  _definitions.yaml  shared definitions, referenced as {"$ref": "#/definitions/<name>"}
  <key>.yaml         the schema of the top-level values key <key> (one file per component)

values.schema.json is generated (and committed, since Helm reads it); `cogniverse-chart schema --check`
and the tests fail when it is stale. Draft-07 with `definitions` works with every Helm >= 3.14.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from . import CHART_DIR
from .errors import ToolkitError

SCHEMA_SOURCE = "schema"
SCHEMA_FILE = "values.schema.json"


def _load(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ToolkitError(f"{path}: invalid YAML: {exc}") from None


def build(chart: Path = CHART_DIR) -> dict[str, Any]:
    src = chart / SCHEMA_SOURCE
    if not (src / "_root.yaml").exists():
        raise ToolkitError(f"{src}/_root.yaml not found")
    schema: dict[str, Any] = _load(src / "_root.yaml")
    defs = src / "_definitions.yaml"
    if defs.exists():
        schema["definitions"] = _load(defs)
    props: dict[str, Any] = {}
    for part in sorted(src.glob("*.yaml")):
        if part.name.startswith("_"):
            continue
        props[part.stem] = _load(part)
    schema["properties"] = props
    return schema


def dumps(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write(chart: Path = CHART_DIR) -> Path:
    out = chart / SCHEMA_FILE
    out.write_text(dumps(build(chart)), encoding="utf-8")
    return out


def is_current(chart: Path = CHART_DIR) -> bool:
    out = chart / SCHEMA_FILE
    return out.exists() and out.read_text(encoding="utf-8") == dumps(build(chart))
