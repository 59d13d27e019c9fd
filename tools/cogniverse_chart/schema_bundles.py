"""The maintainer's bundle builder: strict JSON Schemas for Kubernetes and Argo Workflows objects,
converted from their module sources into data/*.json.gz (`cogniverse-chart schemas fetch`); the
run-time loader is `cogniverse_chart.schemas`.

Sources (read from the Go module cache; `fetch()` runs `go mod download` to get them):
  Kubernetes  k8s.io/kubernetes@vX.Y.Z  api/openapi-spec/swagger.json (OpenAPI v2 definitions)
  Argo        github.com/argoproj/argo-workflows/vN@vX.Y.Z  manifests/base/crds/full/*.yaml
              (each CRD's openAPIV3Schema)

Conversion rules (the same for both, so a bundle is plain draft-07 JSON Schema):
  - objects that declare `properties` get `additionalProperties: false` (unknown fields are errors),
    except where the source says `x-kubernetes-preserve-unknown-fields: true`;
  - int-or-string (`format: int-or-string`, `x-kubernetes-int-or-string`) -> type [integer, string];
  - resource.Quantity accepts numbers (`cpu: 1` is valid YAML for the API server) and strings of
    Kubernetes' quantity grammar (QUANTITY_PATTERN: `512MB` is refused as the API server refuses it);
  - `format: byte` strings (Secret data, ConfigMap binaryData) must be base64 (BASE64_PATTERN);
  - meta.v1.Time / MicroTime also accept null (`creationTimestamp: null` from kubectl dry runs);
  - descriptions, defaults, formats, CEL rules and list/map hints are dropped: only the keywords in
    SUPPORTED_KEYWORDS remain, which both jsonschema and the fast validator (perf/schema_compiler.py) implement;
  - Argo CRDs declare `metadata: {type: object}`; the bundle substitutes Kubernetes' strict ObjectMeta
    (from the newest Kubernetes source given) so typos in metadata are caught too;
  - identical object sub-schemas inside the (fully inlined) CRDs are stored once in `definitions`.

The bundle format is described in schemas.py.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from . import versions
from .errors import ToolkitError
from .schemas import (BASE64_PATTERN, DATA_DIR, FORMAT, QUANTITY_PATTERN, available, bundle_path, closure, load_bundle,
                      minor)


#: The versions `schemas fetch` bundles by default (full module versions, from versions.env).
DEFAULT_KUBE_SOURCES = tuple(v.lstrip("v") for v in versions.csv("SCHEMA_KUBERNETES_SOURCES"))
DEFAULT_ARGO_SOURCES = tuple(v.lstrip("v") for v in versions.csv("SCHEMA_ARGO_SOURCES"))

#: Argo kinds that are validated (the CRDs users write; the controller's own CRDs are left out).
ARGO_KINDS = ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow", "WorkflowEventBinding")


_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_K8S_REF = "#/definitions/"
_OBJECT_META = _META + "ObjectMeta"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- Kubernetes (OpenAPI v2)

def _convert_k8s_schema(s: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "$ref" in s:
        return {"$ref": s["$ref"]}
    typ = s.get("type")
    if s.get("format") == "int-or-string":
        typ = ["integer", "string"]
    if s.get("format") == "byte":
        out["pattern"] = BASE64_PATTERN
    if typ is not None:
        out["type"] = typ
    if "properties" in s:
        out["properties"] = {k: _convert_k8s_schema(v) for k, v in s["properties"].items()}
        out["additionalProperties"] = False
    elif isinstance(s.get("additionalProperties"), dict):
        out["additionalProperties"] = _convert_k8s_schema(s["additionalProperties"])
    if s.get("required"):
        out["required"] = list(s["required"])
    if isinstance(s.get("items"), dict):
        out["items"] = _convert_k8s_schema(s["items"])
    for k in ("enum", "pattern", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"):
        if k in s:
            out[k] = s[k]
    return out


def convert_k8s(swagger: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """swagger.json -> (definitions, kinds) with the strictness rules of this module."""
    defs: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    for name, s in swagger["definitions"].items():
        defs[name] = _convert_k8s_schema(s)
        gvks = s.get("x-kubernetes-group-version-kind") or []
        if len(gvks) == 1 and "properties" in s and "kind" in s["properties"]:
            g = gvks[0]
            api = f"{g['group']}/{g['version']}" if g.get("group") else g["version"]
            kinds[f"{api}/{g['kind']}"] = name
    q = "io.k8s.apimachinery.pkg.api.resource.Quantity"
    if q in defs:
        defs[q] = {"type": ["string", "number"], "pattern": QUANTITY_PATTERN}
    for t in ("Time", "MicroTime"):
        if _META + t in defs:
            defs[_META + t] = {"type": ["string", "null"]}
    return defs, kinds


# --------------------------------------------------------------------------- Argo (CRD openAPIV3Schema)

def _convert_crd_schema(s: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if s.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    elif "type" in s:
        out["type"] = s["type"]
    preserve = bool(s.get("x-kubernetes-preserve-unknown-fields"))
    if "properties" in s:
        out["properties"] = {k: _convert_crd_schema(v) for k, v in s["properties"].items()}
        if not preserve:
            out["additionalProperties"] = False
    if isinstance(s.get("additionalProperties"), dict):
        out["additionalProperties"] = _convert_crd_schema(s["additionalProperties"])
    if s.get("required"):
        out["required"] = list(s["required"])
    if isinstance(s.get("items"), dict):
        out["items"] = _convert_crd_schema(s["items"])
    for k in ("enum", "pattern", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"):
        if k in s:
            out[k] = s[k]
    for k in ("anyOf", "oneOf", "allOf"):
        if k in s and not s.get("x-kubernetes-int-or-string"):
            out[k] = [_convert_crd_schema(x) for x in s[k]]
    if s.get("nullable") and "type" in out:
        t = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*t, "null"]
    return out


#: json.dumps of a str (ensure_ascii), without json.dumps' per-call overhead.
_json_str = json.encoder.encode_basestring_ascii


class _Deduper:
    """Move object sub-schemas that occur more than once into shared definitions."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.defs: dict[str, Any] = {}
        self.names: dict[str, str] = {}
        self._keys: dict[int, tuple[Any, str]] = {}

    def _key(self, s: Any) -> str:
        """Canonical JSON of s (as json.dumps with sorted keys and no spaces), memoised per object and
        built from the children's keys, so nested schemas are not re-encoded at every level."""
        if isinstance(s, dict):
            hit = self._keys.get(id(s))
            if hit is not None and hit[0] is s:
                return hit[1]
            key = "{" + ",".join(f"{_json_str(k)}:{self._key(s[k])}" for k in sorted(s)) + "}"
            self._keys[id(s)] = (s, key)
            return key
        if isinstance(s, list):
            return "[" + ",".join(self._key(x) for x in s) + "]"
        if type(s) is str:
            return _json_str(s)
        return json.dumps(s)

    def count(self, s: Any) -> None:
        for sub in _subschemas(s):
            self.count(sub)
        if isinstance(s, dict) and "properties" in s:
            k = self._key(s)
            self.counts[k] = self.counts.get(k, 0) + 1

    def rewrite(self, s: Any, hint: str) -> Any:
        if not isinstance(s, dict):
            return s
        key = self._key(s) if "properties" in s else ""
        out = dict(s)
        if "properties" in s:
            out["properties"] = {k: self.rewrite(v, k) for k, v in s["properties"].items()}
        for k in ("items", "additionalProperties"):
            if isinstance(s.get(k), dict):
                out[k] = self.rewrite(s[k], hint)
        for k in ("anyOf", "oneOf", "allOf"):
            if k in s:
                out[k] = [self.rewrite(x, hint) for x in s[k]]
        if key and self.counts.get(key, 0) > 1:
            name = self.names.get(key)
            if name is None:
                name = f"argo.{hint}.{hashlib.sha1(key.encode()).hexdigest()[:8]}"
                self.names[key] = name
                self.defs[name] = out
            return {"$ref": _K8S_REF + name}
        return out


def _subschemas(s: Any) -> list[Any]:
    if not isinstance(s, dict):
        return []
    subs = list(s.get("properties", {}).values())
    for k in ("items", "additionalProperties"):
        if isinstance(s.get(k), dict):
            subs.append(s[k])
    for k in ("anyOf", "oneOf", "allOf"):
        subs += s.get(k, [])
    return subs


def convert_argo(crds: dict[str, dict[str, Any]], object_meta: dict[str, Any] | None
                 ) -> tuple[dict[str, Any], dict[str, str]]:
    """{kind: CRD object} -> (definitions, kinds). `object_meta`: k8s ObjectMeta closure to substitute."""
    roots: dict[str, Any] = {}
    for kind, crd in crds.items():
        group = crd["spec"]["group"]
        for ver in crd["spec"]["versions"]:
            if not ver.get("served", True):
                continue
            schema = _convert_crd_schema(ver["schema"]["openAPIV3Schema"])
            if object_meta and "metadata" in schema.get("properties", {}):
                schema["properties"]["metadata"] = {"$ref": _K8S_REF + _OBJECT_META}
            roots[f"{group}/{ver['name']}/{kind}"] = schema
    dedup = _Deduper()
    for s in roots.values():
        dedup.count(s)
    defs: dict[str, Any] = dict(object_meta or {})
    kinds: dict[str, str] = {}
    for gvk, s in roots.items():
        name = "argo." + gvk.rsplit("/", 1)[1]
        defs[name] = dedup.rewrite(s, name)
        if "$ref" in defs[name]:  # the whole root was shared: keep a named alias
            defs[name] = dedup.defs[defs[name]["$ref"][len(_K8S_REF):]]
        kinds[gvk] = name
    defs.update(dedup.defs)
    return defs, kinds


# --------------------------------------------------------------------------- module download + bundles

@functools.cache
def _go_mod_cache() -> Path | None:
    try:
        out = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(out) if out else None


def _escape(module: str) -> str:
    """Go's module cache path escaping: upper-case letters become '!' + lower case."""
    return re.sub(r"[A-Z]", lambda m: "!" + m[0].lower(), module)


def go_mod_dir(module: str, version: str) -> Path:
    """Directory of `module@vVERSION` in the Go module cache, downloading it with `go mod download`."""
    spec = f"{module}@v{version.lstrip('v')}"
    cache = _go_mod_cache()
    if cache is not None:
        extracted = cache / f"{_escape(module)}@v{version.lstrip('v')}"
        # go writes the .ziphash beside the zip only after verifying the download against go.sum data
        if extracted.is_dir() and (cache / "cache" / "download" / _escape(module) / "@v" /
                                   f"v{version.lstrip('v')}.ziphash").exists():
            return extracted
    try:
        proc = subprocess.run(["go", "mod", "download", "-json", spec], capture_output=True, text=True,
                              timeout=900, env=_go_env())
    except FileNotFoundError:
        raise ToolkitError("`go` not found: install Go to fetch schema sources (go mod download)") from None
    except subprocess.TimeoutExpired:
        raise ToolkitError(f"go mod download {spec} timed out") from None
    try:
        info = json.loads(proc.stdout or "{}")
    except json.JSONDecodeError:
        info = {}
    if proc.returncode != 0 or not info.get("Dir"):
        err = info.get("Error") or proc.stderr.strip() or "no module directory reported"
        raise ToolkitError(f"go mod download {spec} failed: {err}")
    return Path(info["Dir"])


def _go_env() -> dict[str, str]:
    import os
    env = dict(os.environ)
    env.setdefault("GOFLAGS", "-mod=mod")
    env["GO111MODULE"] = "on"
    return env


@dataclass(frozen=True)
class SourceFile:
    module: str
    version: str
    file: str
    sha256: str

    def as_dict(self) -> dict[str, str]:
        return {"module": self.module, "version": self.version, "file": self.file, "sha256": self.sha256}


def build_k8s_bundle(version: str) -> dict[str, Any]:
    mod = "k8s.io/kubernetes"
    path = go_mod_dir(mod, version) / "api" / "openapi-spec" / "swagger.json"
    return _k8s_bundle_from(path, SourceFile(mod, "v" + version.lstrip("v"), "api/openapi-spec/swagger.json",
                                              _sha256(path)))


def _k8s_bundle_from(path: Path, src: SourceFile) -> dict[str, Any]:
    defs, kinds = convert_k8s(json.loads(path.read_text(encoding="utf-8")))
    return {"format": FORMAT, "family": "k8s", "version": minor(src.version), "sources": [src.as_dict()],
            "definitions": defs, "kinds": kinds}


def build_argo_bundle(version: str, k8s_bundle: dict[str, Any] | None) -> dict[str, Any]:
    v = version.lstrip("v")
    mod = f"github.com/argoproj/argo-workflows/v{v.split('.')[0]}"
    root = go_mod_dir(mod, v)
    crds: dict[str, Any] = {}
    sources = []
    from .documents import load_document  # the manifest loader: Rust fast path, YAML 1.1 where it matters

    for kind in ARGO_KINDS:
        rel = f"manifests/base/crds/full/argoproj.io_{kind.lower()}s.yaml"
        f = root / rel
        if not f.exists():
            raise ToolkitError(f"{mod}@v{v}: {rel} not found")
        crds[kind] = load_document(f.read_text(encoding="utf-8"), str(f))[0]
        sources.append(SourceFile(mod, "v" + v, rel, _sha256(f)).as_dict())
    meta = closure(k8s_bundle["definitions"], _OBJECT_META) if k8s_bundle else None
    if k8s_bundle:
        sources += [dict(s, note="metadata: ObjectMeta") for s in k8s_bundle["sources"]]
    defs, kinds = convert_argo(crds, meta)
    return {"format": FORMAT, "family": "argo", "version": minor(v), "sources": sources,
            "definitions": defs, "kinds": kinds}


def write_bundle(bundle: dict[str, Any], data_dir: Path = DATA_DIR) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = bundle_path(bundle["family"], bundle["version"], data_dir)
    raw = json.dumps(bundle, sort_keys=True, separators=(",", ":")).encode()
    # mtime=0 keeps the gzip bytes reproducible, so regenerating unchanged schemas changes nothing.
    path.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    return path


def write_provenance(data_dir: Path = DATA_DIR) -> Path:
    lines = ["# Schema bundles in this directory and the sources they were converted from.",
             "# Regenerate: cogniverse-chart schemas fetch --dest DIR  (runs `go mod download` for each module)", ""]
    for path in sorted(data_dir.glob("*.json.gz")):
        b = json.loads(gzip.decompress(path.read_bytes()))
        lines.append(f"{path.name}: sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}")
        for s in b["sources"]:
            note = f"  ({s['note']})" if s.get("note") else ""
            lines.append(f"  from {s['module']}@{s['version']} {s['file']} sha256 {s['sha256']}{note}")
        lines.append(f"  kinds: {len(b['kinds'])}, definitions: {len(b['definitions'])}")
        lines.append("")
    out = data_dir / "PROVENANCE"
    out.write_text("\n".join(lines), encoding="utf-8")
    return out


def fetch(kube_versions: tuple[str, ...] = DEFAULT_KUBE_SOURCES, argo_versions: tuple[str, ...] = DEFAULT_ARGO_SOURCES,
          data_dir: Path = DATA_DIR) -> list[Path]:
    """Build bundles from the Go module proxy/cache into data_dir. Versions must be full (1.35.4, 4.0.5).
    The CLI always names data_dir (`schemas fetch --dest DIR`): an installed package is never written to."""
    for v in (*kube_versions, *argo_versions):
        if not re.fullmatch(r"v?\d+\.\d+\.\d+", v):
            raise ToolkitError(f"schemas fetch needs full module versions like 1.35.4, got '{v}'")
    written = []
    newest = None
    for v in sorted(kube_versions, key=lambda x: tuple(int(p) for p in x.lstrip("v").split("."))):
        newest = build_k8s_bundle(v)
        written.append(write_bundle(newest, data_dir))
    if newest is None and argo_versions:
        have = data_dir if available("k8s", data_dir) else DATA_DIR  # else the bundles the package ships
        newest = load_bundle("k8s", available("k8s", have)[-1], have) if available("k8s", have) else None
    for v in argo_versions:
        written.append(write_bundle(build_argo_bundle(v, newest), data_dir))
    write_provenance(data_dir)
    load_bundle.cache_clear()
    return written


