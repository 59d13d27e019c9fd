"""The bundled strict JSON Schemas (data/<family>-<major.minor>.json.gz), loaded at run time.

A bundle is
  {"format": 1, "family": "k8s"|"argo", "version": "1.35", "sources": [...provenance...],
   "definitions": {name: schema}, "kinds": {"<apiVersion>/<kind>": name}}
made by the maintainer's bundle builder, `cogniverse_chart.schema_bundles` (`cogniverse-chart schemas
fetch`), from the Kubernetes and Argo module sources.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from pathlib import Path
from typing import Any

from .errors import ToolkitError

DATA_DIR = Path(__file__).resolve().parent / "data"
PROVENANCE_FILE = DATA_DIR / "PROVENANCE"
FORMAT = 1
_REF = "#/definitions/"

#: Keywords kept in bundles; perf.schema_compiler implements exactly these.
SUPPORTED_KEYWORDS = frozenset({
    "$ref", "type", "properties", "additionalProperties", "required", "items", "enum",
    "pattern", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems",
    "anyOf", "oneOf", "allOf",
})


#: resource.Quantity strings as the API server parses them (k8s.io/apimachinery ParseQuantity after
#: UnmarshalJSON's TrimSpace): a decimal number, then a binary (Ki..Ei), decimal (n, u, m, k, M..E) or
#: exponent (e3, E-2) suffix. tests/validate/test_validate.py holds Kubernetes' own verdicts on 31 spellings. Bundle
#: patterns are RE2 (no look-around): kubeconform reads the bundles exported by benchmarks/bench_validate.py.
#: Each part is unambiguous (`[0-9]+\.?[0-9]*` backtracked quadratically on a long run of digits).
QUANTITY_PATTERN = r"^\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]*)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?\s*$"
#: `format: byte` strings (Secret data, ConfigMap binaryData, caBundle): standard base64 with padding, line
#: breaks ignored, as Go's encoding/json decodes []byte.
BASE64_PATTERN = (r"^(?:(?:[\r\n]*[A-Za-z0-9+/]){4})*(?:(?:[\r\n]*[A-Za-z0-9+/]){2}[\r\n]*=[\r\n]*="
                  r"|(?:[\r\n]*[A-Za-z0-9+/]){3}[\r\n]*=)?[\r\n]*$")


def minor(version: str) -> str:
    """'1.35.4' / 'v1.35' -> '1.35'; raises ToolkitError on anything else."""
    m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", version.strip())
    if not m:
        raise ToolkitError(f"bad version '{version}': expected MAJOR.MINOR or MAJOR.MINOR.PATCH (e.g. 1.35)")
    return f"{m[1]}.{m[2]}"


def closure(defs: dict[str, Any], root: str) -> dict[str, Any]:
    """The definitions reachable from `root` (root included)."""
    seen: dict[str, Any] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen[name] = defs[name]
        todo.extend(r[len(_REF):] for r in _refs(defs[name]))
    return seen


def _refs(s: Any) -> list[str]:
    found: list[str] = []
    if isinstance(s, dict):
        for k, v in s.items():
            if k == "$ref" and isinstance(v, str):
                found.append(v)
            elif k == "properties":
                for p in v.values():
                    found += _refs(p)
            else:
                found += _refs(v)
    elif isinstance(s, list):
        for v in s:
            found += _refs(v)
    return found


def bundle_path(family: str, version: str, data_dir: Path = DATA_DIR) -> Path:
    return data_dir / f"{family}-{minor(version)}.json.gz"


def available(family: str, data_dir: Path = DATA_DIR) -> list[str]:
    """Bundled MAJOR.MINOR versions of one family, oldest first."""
    vs = [p.name[len(family) + 1:-len(".json.gz")] for p in data_dir.glob(f"{family}-*.json.gz")]
    return sorted(vs, key=lambda v: tuple(int(x) for x in v.split(".")))


@functools.lru_cache(maxsize=None)
def load_bundle(family: str, version: str, data_dir: Path = DATA_DIR) -> dict[str, Any]:
    path = bundle_path(family, version, data_dir)
    if not path.exists():
        have = ", ".join(available(family, data_dir)) or "none"
        label = "Kubernetes" if family == "k8s" else "Argo Workflows"
        raise ToolkitError(f"no bundled {label} {minor(version)} schemas (bundled: {have}); "
                           f"build them with `cogniverse-chart schemas fetch --dest DIR` and pass --schemas-dir DIR")
    b = _read_bundle(path)
    if b.get("format") != FORMAT:
        raise ToolkitError(f"{path}: unsupported bundle format {b.get('format')!r:.40}; regenerate with `schemas fetch`")
    if not (isinstance(b.get("kinds"), dict) and isinstance(b.get("definitions"), dict)
            and isinstance(b.get("sources"), list)):
        raise ToolkitError(f"{path}: not a schema bundle (kinds, definitions and sources missing or of the wrong "
                           f"type); rebuild it with `cogniverse-chart schemas fetch --dest DIR`")
    return b


#: A bundle decompresses to well under 1 MB (the newest Kubernetes: 0.3 MB); a file that inflates past this
#: in a --schemas-dir is a gzip bomb or not a bundle, and is refused before it takes the machine's memory.
MAX_BUNDLE_BYTES = 64 * 2**20


def _read_bundle(path: Path) -> dict[str, Any]:
    import io
    import zlib

    from .io_limits import read_bytes

    try:
        with gzip.GzipFile(fileobj=io.BytesIO(read_bytes(path, "schema bundle"))) as f:
            data = f.read(MAX_BUNDLE_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise ToolkitError(f"{path}: not a schema bundle ({exc}); rebuild it with `cogniverse-chart schemas fetch "
                           f"--dest DIR`") from None
    if len(data) > MAX_BUNDLE_BYTES:
        raise ToolkitError(f"{path}: inflates to more than {MAX_BUNDLE_BYTES >> 20} MiB: not a schema bundle")
    try:
        b = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ToolkitError(f"{path}: not a schema bundle (not JSON: {str(exc)[:80]})") from None
    if not isinstance(b, dict):
        raise ToolkitError(f"{path}: not a schema bundle (expected a JSON object)")
    return b


# ---- the user's own schemas (validate --schema-location) ------------------------------------------

def _crd_schemas(path: Path, obj: dict[str, Any]) -> dict[str, Any]:
    """{"<group>/<version>/<kind>": openAPIV3Schema} of one CustomResourceDefinition; a malformed one (a
    list where a mapping belongs, a version without a name) is a one-line error naming the file."""
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None

    def bad(what: str) -> ToolkitError:
        return ToolkitError(f"--schema-location {path}: CustomResourceDefinition {name or '(no name)'}: {what}"[:400])

    spec = obj.get("spec")
    if not isinstance(spec, dict):
        raise bad("spec must be a mapping")
    group, names, versions = spec.get("group"), spec.get("names"), spec.get("versions")
    if not isinstance(group, str) or not group:
        raise bad("spec.group must be a string (the API group)")
    if not isinstance(names, dict) or not isinstance(names.get("kind"), str):
        raise bad("spec.names.kind must be a string")
    if not isinstance(versions, list):
        raise bad("spec.versions must be a list of versions")
    out = {}
    for i, v in enumerate(versions):
        if not isinstance(v, dict) or not isinstance(v.get("name"), str):
            raise bad(f"spec.versions[{i}] must be a mapping with a name")
        schema = v.get("schema") or {}
        schema = schema.get("openAPIV3Schema") if isinstance(schema, dict) else schema
        if not isinstance(schema, (dict, type(None))):
            raise bad(f"spec.versions[{i}].schema.openAPIV3Schema must be a mapping")
        if schema is not None and v.get("served", True) is not False:  # the API server serves no other
            out[f"{group}/{v['name']}/{names['kind']}".lower()] = schema
    return out


def crd_object_schemas(path: Path, obj: dict[str, Any]) -> dict[str, Any]:
    """{"<group>/<version>/<kind>" (lower case): strict JSON Schema} of one CustomResourceDefinition object
    (read from `path`); a malformed one is a ToolkitError naming the file."""
    out = {}
    for key, schema in _crd_schemas(path, obj).items():
        _check_schema(path, schema)
        out[key] = strict_crd_schema(schema)
    return out


def strict_crd_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A CRD's openAPIV3Schema checked as the API server does (strict field validation, kubectl's
    default): unknown fields are errors except under `x-kubernetes-preserve-unknown-fields: true`,
    `nullable: true` admits null, and the root's `metadata` is the ObjectMeta of the Kubernetes bundle
    (`$ref` to OBJECT_META, resolved by the validator)."""
    out = _strict(schema)
    props = out.setdefault("properties", {})
    for key in ("apiVersion", "kind"):
        props.setdefault(key, {"type": "string"})
    props["metadata"] = {"$ref": _REF + OBJECT_META}
    if not schema.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def _strict(s: Any) -> Any:
    """Strictness for the structural part (properties, items, additionalProperties); sub-schemas under
    anyOf/allOf/oneOf/not only add value checks in a CRD and stay as written."""
    if not isinstance(s, dict):
        return s
    out = dict(s)
    if isinstance(s.get("properties"), dict):
        out["properties"] = {k: _strict(v) for k, v in s["properties"].items()}
        if "additionalProperties" not in s and not s.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    for key in ("items", "additionalProperties"):
        if isinstance(s.get(key), dict):
            out[key] = _strict(s[key])
    if s.get("nullable") is True:
        if isinstance(s.get("type"), str):
            out["type"] = [s["type"], "null"]
        if isinstance(s.get("enum"), list) and None not in s["enum"]:
            out["enum"] = [*s["enum"], None]
    return out


def load_locations(locations: list[Path]) -> dict[str, Any]:
    """{"<apiversion>/<kind>" (lower case): JSON Schema} from CustomResourceDefinition manifests (the
    openAPIV3Schema of each served version) and from JSON Schema files laid out as kubeconform's CRD
    catalogs are, GROUP/KIND_VERSION.json; `locations` are files or folders (searched recursively)."""
    from .documents import load_document, read_text

    found: dict[str, Any] = {}
    for loc in locations:
        if not loc.exists():
            raise ToolkitError(f"--schema-location {loc}: no such file or directory")
        files = sorted(p for p in loc.rglob("*") if p.is_file()) if loc.is_dir() else [loc]
        for f in files:
            if f.suffix == ".json" and "_" in f.stem:
                try:
                    schema = json.loads(read_text(f))
                except (json.JSONDecodeError, RecursionError) as exc:
                    raise ToolkitError(f"--schema-location {f}: invalid JSON: {exc}") from None
                _check_schema(f, schema)
                kind, _, version = f.stem.rpartition("_")
                group = f.parent.name if f.parent != loc else ""
                found[(f"{group}/{version}" if group else version) + f"/{kind}".lower()] = schema
            elif f.suffix in (".yaml", ".yml"):
                for obj in load_document(read_text(f), str(f)):
                    if isinstance(obj, dict) and obj.get("kind") == "CustomResourceDefinition":
                        found.update(crd_object_schemas(f, obj))
    if not found:
        raise ToolkitError(f"--schema-location {', '.join(map(str, locations))}: no CustomResourceDefinition "
                           f"manifests nor GROUP/KIND_VERSION.json schemas found")
    return {k.lower(): v for k, v in found.items()}


def _check_schema(path: Path, schema: Any) -> None:
    """A user's schema must itself be valid JSON Schema: say which file when it is not."""
    import jsonschema

    try:
        jsonschema.Draft7Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ToolkitError(f"--schema-location {path}: not a valid JSON Schema: {exc.message[:200]}") from None
    for ref in _refs(schema):
        if not _resolves(schema, ref):
            raise ToolkitError(f"--schema-location {path}: $ref {ref[:200]!r} does not resolve: only references "
                               f"inside the same schema ('#/definitions/...') are followed, never files or URLs")
        seen, target = {ref}, _target(schema, ref)
        while isinstance(target, dict) and isinstance(target.get("$ref"), str) and _resolves(schema, target["$ref"]):
            if target["$ref"] in seen:  # a $ref that leads back to itself through $refs alone never ends
                raise ToolkitError(f"--schema-location {path}: $ref {ref[:200]!r} loops back to itself through "
                                   f"{len(seen)} $ref(s); point it at a schema that is not only a $ref")
            seen.add(target["$ref"])
            target = _target(schema, target["$ref"])


def _resolves(schema: Any, ref: str) -> bool:
    """Whether a $ref is a JSON pointer into `schema` itself that names an existing part of it."""
    return isinstance(_target(schema, ref), (dict, bool))


def _target(schema: Any, ref: str) -> Any:
    """The part of `schema` a '#/...' $ref points at (None when it points at nothing or elsewhere)."""
    from urllib.parse import unquote

    if not ref.startswith("#"):
        return None
    node = schema
    for token in unquote(ref[1:]).split("/")[1:] if ref[1:] else []:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node
