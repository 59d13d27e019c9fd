"""Build charts/cogniverse/values.schema.json from its authored parts.

The authored source is charts/cogniverse/schema/:
  _root.yaml         top-level keywords ($schema, title, additionalProperties: false, ...)
  _definitions.yaml  shared definitions, referenced as {"$ref": "#/definitions/<name>"}
  <key>.yaml         the schema of the top-level values key <key> (one file per component)
and the optimizer catalogue files/optimizers.yaml (category -> types, also read by the templates), from
which the definitions optimizerCategory, optimizerType, <category>OptimizerType and optimizer (a
{category, type} pair) are generated.

values.schema.json is generated (and committed, since Helm reads it); `cogniverse-chart schema --check`
and the tests fail when it is stale. Draft-07 with `definitions` works with every Helm >= 3.14.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from . import CHART_DIR, io_limits, safe_write
from .errors import ToolkitError

SCHEMA_SOURCE = "schema"


def authored_in_parts(chart: Path) -> bool:
    """The chart authors its values schema in parts (schema/_root.yaml, what `schema` builds from); any
    other schema/ folder (a JSON schema of the application's own config) is not this layout."""
    return (chart / SCHEMA_SOURCE / "_root.yaml").is_file()
SCHEMA_FILE = "values.schema.json"
OPTIMIZERS_FILE = "files/optimizers.yaml"


def _load(path: Path) -> Any:
    try:
        return yaml.safe_load(io_limits.read_text(path))
    except yaml.YAMLError as exc:
        raise ToolkitError(f"{path}: invalid YAML: {exc}") from None


def optimizer_catalogue(chart: Path = CHART_DIR) -> dict[str, list[str]]:
    """The optimizer catalogue: {category: [type, ...]}, in file order."""
    path = chart / OPTIMIZERS_FILE
    if not path.exists():
        raise ToolkitError(f"{path} not found: the optimizer catalogue (category -> list of types)")
    data = _load(path)
    if not isinstance(data, dict) or not data or not all(
            isinstance(k, str) and isinstance(v, list) and v and all(isinstance(t, str) for t in v)
            for k, v in data.items()):
        raise ToolkitError(f"{path}: expected a map of category -> non-empty list of optimizer type names")
    return data


def optimizer_definitions(catalogue: dict[str, list[str]]) -> dict[str, Any]:
    """Schema definitions generated from the catalogue (referenced by the authored parts)."""
    listing = "; ".join(f"{cat}: {', '.join(types)}" for cat, types in catalogue.items())
    defs: dict[str, Any] = {
        "optimizerCategory": {"description": f"Optimizer category: {', '.join(catalogue)}.",
                              "type": "string", "enum": list(catalogue)},
        "optimizerType": {"description": f"Optimizer type of its category ({listing}).", "type": "string",
                          "enum": [t for types in catalogue.values() for t in types]},
    }
    for cat, types in catalogue.items():
        defs[f"{cat}OptimizerType"] = {"description": f"A {cat} optimizer: {', '.join(types)}.",
                                       "type": "string", "enum": list(types)}
    defs["optimizer"] = {
        "description": "One optimizer, a category and one of its types (" + listing + ").",
        "type": "object", "additionalProperties": False, "required": ["category", "type"],
        "properties": {"category": {"$ref": "#/definitions/optimizerCategory"},
                       "type": {"$ref": "#/definitions/optimizerType"}},
        "oneOf": [{"properties": {"category": {"const": cat}, "type": {"$ref": f"#/definitions/{cat}OptimizerType"}}}
                  for cat in catalogue],
    }
    return defs


def build(chart: Path = CHART_DIR) -> dict[str, Any]:
    src = chart / SCHEMA_SOURCE
    if not (src / "_root.yaml").exists():
        raise ToolkitError(f"{src}/_root.yaml not found")
    schema: dict[str, Any] = _load(src / "_root.yaml")
    defs = src / "_definitions.yaml"
    schema["definitions"] = _load(defs) if defs.exists() else {}
    generated = optimizer_definitions(optimizer_catalogue(chart))
    clash = sorted(set(generated) & set(schema["definitions"] or {}))
    if clash:
        raise ToolkitError(f"{defs}: {', '.join(clash)} are generated from {OPTIMIZERS_FILE}; remove them")
    schema["definitions"] = {**(schema["definitions"] or {}), **generated}
    props: dict[str, Any] = {}
    for part in sorted(src.glob("*.yaml")):
        if part.name.startswith("_"):
            continue
        props[part.stem] = _load(part)
    schema["properties"] = props
    values = chart / "values.yaml"
    if values.exists():
        _add_defaults(schema, _load(values) or {})
    return schema


def _add_defaults(node: dict[str, Any], values: Any) -> None:
    """`default` of every property from values.yaml (what an editor shows and fills in), unless the schema
    sets one: leaves and lists get the value; objects are walked into."""
    for key, prop in (node.get("properties") or {}).items():
        if not isinstance(prop, dict) or not isinstance(values, dict) or key not in values:
            continue
        value = values[key]
        if isinstance(value, dict) and value:
            _add_defaults(prop, value)
        elif "default" not in prop and value is not None:
            prop["default"] = value


def dumps(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write(chart: Path = CHART_DIR) -> Path:
    out = chart / SCHEMA_FILE
    safe_write.write_text(out, dumps(build(chart)), root=chart)
    if (chart / TIMEZONES_FILE).exists():
        safe_write.write_text(chart / TIMEZONES_FILE, timezones_text(), root=chart)
    return out


def is_current(chart: Path = CHART_DIR) -> bool:
    out = chart / SCHEMA_FILE
    if not safe_write.is_regular(out) or out.read_text(encoding="utf-8") != dumps(build(chart)):
        return False
    tz = chart / TIMEZONES_FILE
    if safe_write.link_on_way(tz, chart):
        return False
    return not tz.exists() or tz.read_text(encoding="utf-8") == timezones_text()


#: The IANA zone names the chart's time zone check accepts (templates/workflows/_timezone.tpl), kept
#: current beside values.schema.json when the chart has the file.
TIMEZONES_FILE = "files/timezones.txt"


def timezones_text() -> str:
    """Every zone of the tz database (the `tzdata` package: the same list on every machine), one a line."""
    import importlib.resources

    try:
        zones = importlib.resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()
    except ModuleNotFoundError:
        raise ToolkitError("the tzdata package is needed to write files/timezones.txt: pip install tzdata") from None
    return "".join(f"{z}\n" for z in sorted(set(zones) - {"Factory"}))
