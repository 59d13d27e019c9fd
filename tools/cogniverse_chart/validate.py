"""Strict schema validation of manifest streams (like kubeconform, offline).

Every object is checked against the bundled Kubernetes OpenAPI schemas of the chosen versions, and
Argo objects against Argo's own CRD schemas (see schemas.py for how they are made strict).

    v = Validator(kube_versions=("1.30", "1.37"), argo_versions=("3.7", "4.0"))
    findings = v.validate(docs)

Speed: one Validator holds one fast compiled check per (bundle, kind), built on first use and
reused for every later document. Kinds whose schema is identical across the chosen versions
(most of them) are checked once per object. Only objects that fail are re-checked with jsonschema
(the reference implementation), which produces the detailed error messages.

Rule ids: schema/k8s-<minor>, schema/argo-<minor>, schema/unknown-kind, schema/duplicate-key (values files,
schema/values: values_check.py).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from typing import TYPE_CHECKING

from . import schemas, versions
from .documents import Document, json_path, no_cyclic_gc
from .perf.schema_compiler import Check, Compiler
from .errors import ToolkitError
from .findings import Finding, Severity

if TYPE_CHECKING:  # jsonschema is imported when first needed: most runs never explain a failure
    import jsonschema
    from jsonschema.exceptions import ValidationError

#: Defaults from versions.env: the floor and the newest Kubernetes minor (a field or API valid on both
#: existed since the floor and was not removed by the newest), and the Argo minors the chart runs on.
DEFAULT_KUBE_VERSIONS = ("%d.%d" % versions.kube_floor_minor(), "%d.%d" % versions.kube_newest_minor())
DEFAULT_ARGO_VERSIONS = tuple(dict.fromkeys(schemas.minor(versions.get(k)) for k in ("ARGO_VERSION", "ARGO_V4_VERSION")))
ARGO_GROUP = "argoproj.io"


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__  # e.g. a YAML timestamp the loader turned into a datetime


def _short(v: Any, limit: int = 60) -> str:
    text = json.dumps(v, default=str) if not isinstance(v, str) else json.dumps(v)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _quantity_message(q: str) -> str:
    """Why a string is no Kubernetes quantity, with the spelling that was probably meant."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([kKMGTPE])(i?)[bB]?\s*", q)
    if m:
        n, unit = m[1], m[2].upper() if m[2] != "k" else "k"
        hint = f"{n}{'Ki' if unit == 'k' else unit + 'i'} (binary) or {n}{'k' if unit in 'kK' else unit} (decimal)"
    else:
        hint = "512Mi, 1Gi, 500m or 2"
    return f"{_short(q, 40)} is not a Kubernetes quantity: write e.g. {hint}, no space and no B"


def describe_error(e: "ValidationError") -> list[tuple[str, str]]:
    """A jsonschema error -> [(json path, message)], worded for people writing manifests."""
    path = list(e.absolute_path)
    kw = e.validator
    if kw == "additionalProperties" and isinstance(e.instance, dict):
        import difflib  # only when explaining a failure

        known = list((e.schema.get("properties") or {}).keys())
        out = []
        for key in e.instance:
            if key in known:
                continue
            # a null, number or boolean key (`~: 1`) is named as YAML wrote it, never handed to difflib (D45)
            key = key if isinstance(key, str) else json.dumps(key, default=str)
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else "; remove it"
            out.append((json_path([*path, key]), f"unknown field '{key}'{hint}"))
        if out:
            return out
    if kw == "required":
        m = re.match(r"'(.*)' is a required property", e.message)
        field = m.group(1) if m else e.message
        return [(json_path(path), f"missing required field '{field}'")]
    if kw == "type":
        want = e.validator_value if isinstance(e.validator_value, list) else [e.validator_value]
        got = "null" if e.instance is None else f"{_json_type(e.instance)} {_short(e.instance)}"  # not `null null`
        return [(json_path(path), f"expected {' or '.join(want)}, got {got}")]
    if kw == "enum":
        return [(json_path(path), f"{_short(e.instance)} is not one of {', '.join('null' if v is None else str(v) for v in e.validator_value)}")]
    if kw in ("anyOf", "oneOf") and e.context:
        from jsonschema.exceptions import best_match

        return describe_error(best_match(e.context))
    if kw == "pattern" and e.validator_value == schemas.QUANTITY_PATTERN:
        return [(json_path(path), _quantity_message(e.instance))]
    if kw == "pattern" and e.validator_value == schemas.BASE64_PATTERN:
        plain = "stringData" if len(path) >= 2 and path[-2] == "data" else "a text field"
        return [(json_path(path), f"{_short(e.instance, 40)} is not base64: these bytes are written base64-encoded "
                                  f"(`base64 -w0`); for plain text use {plain} instead")]
    if kw == "pattern":
        return [(json_path(path), f"{_short(e.instance)} does not match the pattern {e.validator_value}")]
    return [(json_path(path), e.message if len(e.message) < 200 else e.message[:197] + "...")]


@dataclass
class _Target:
    """One schema an object is checked against: (bundle, kind) with its rule id."""

    rule: str
    label: str  # "Kubernetes 1.35"
    fast: Check
    name: str
    definitions: dict[str, Any]
    _reference: "jsonschema.protocols.Validator | None" = None

    @property
    def reference(self) -> "jsonschema.protocols.Validator":
        """jsonschema's validator for the same schema (the reference implementation), built on first use."""
        if self._reference is None:
            import jsonschema

            self._reference = jsonschema.Draft7Validator({"$ref": f"#/definitions/{self.name}",
                                                          "definitions": self.definitions})
        return self._reference


class _Bundle:
    """One schema bundle, read on first use: a stream without Argo objects never loads the Argo bundle
    (time and memory), but a version that is not bundled is refused at once."""

    def __init__(self, family: str, version: str, dirs: tuple[Path, ...] = ()) -> None:
        self.family = family
        self.version = schemas.minor(version)
        here = [d for d in dirs if schemas.bundle_path(family, self.version, d).is_file()]
        self._dir = here[:1]
        if not schemas.bundle_path(family, self.version, *self._dir).is_file():
            schemas.load_bundle(family, self.version, *self._dir)  # raises, naming the bundled versions
        self.rule = f"schema/{family}-{self.version}"
        self.label = f"{'Kubernetes' if family == 'k8s' else 'Argo Workflows'} {self.version}"
        self._targets: dict[str, _Target] = {}

    @functools.cached_property
    def _data(self) -> dict[str, Any]:
        return schemas.load_bundle(self.family, self.version, *self._dir)

    @functools.cached_property
    def definitions(self) -> dict[str, Any]:
        return self._data["definitions"]

    @functools.cached_property
    def kinds(self) -> dict[str, str]:
        return self._data["kinds"]

    @functools.cached_property
    def compiler(self) -> Compiler:
        return Compiler(self.definitions)

    def target(self, key: str) -> _Target | None:
        t = self._targets.get(key)
        if t is None and key in self.kinds:
            name = self.kinds[key]
            t = _Target(self.rule, self.label, self.compiler.definition(name), name, self.definitions)
            self._targets[key] = t
        return t


class Validator:
    """Strict schema validation for Kubernetes and Argo objects. Build once, call validate() many times."""

    def __init__(self, kube_versions: Iterable[str] = DEFAULT_KUBE_VERSIONS,
                 argo_versions: Iterable[str] = DEFAULT_ARGO_VERSIONS, allow_unknown_kinds: bool = False,
                 extra_schemas: dict[str, dict[str, Any]] | None = None, schema_dirs: Iterable[Path] = ()) -> None:
        dirs = tuple(schema_dirs)  # bundles there (schemas fetch --dest) win over the packaged ones
        for d in dirs:  # a typo in the folder must not validate silently against the packaged bundles (D16)
            if not Path(d).is_dir() or not any(Path(d).glob("*-*.json.gz")):
                what = "holds no schema bundles (*.json.gz)" if Path(d).is_dir() else "no such folder"
                raise ToolkitError(f"--schemas-dir {d}: {what}; build them with `cogniverse-chart schemas fetch "
                                   f"--dest {d}`")
        self.k8s = [_Bundle("k8s", v, dirs) for v in dict.fromkeys(schemas.minor(v) for v in kube_versions)]
        self.argo = [_Bundle("argo", v, dirs) for v in dict.fromkeys(schemas.minor(v) for v in argo_versions)]
        self.allow_unknown_kinds = allow_unknown_kinds
        #: "<apiversion>/<kind>" (lower case) -> JSON Schema of the user's own resources (--schema-location)
        self.extra_schemas = extra_schemas or {}
        self._extra_checks: dict[str, Any] = {}
        self._plans: dict[str, tuple[list[tuple[_Bundle, _Target | None, int]], tuple[Check, ...] | None]] = {}

    def preload(self) -> None:
        """Read the Kubernetes bundles now (perf.parallel calls this before it forks, so both processes share
        one copy); the Argo bundles stay lazy: most streams hold no Argo object."""
        for b in self.k8s:
            b.kinds  # noqa: B018 - reads the bundle

    def validate(self, docs: Iterable[Document]) -> list[Finding]:
        findings: list[Finding] = []
        for doc in docs:
            findings.extend(self.validate_doc(doc))
        return findings

    def validate_stream(self, docs: Iterable[Document]) -> tuple[list[Finding], int]:
        """(findings, objects checked) for a stream consumed one document at a time: memory stays
        bounded by the largest document (plus the findings), however long the stream."""
        findings: list[Finding] = []
        n = 0
        with no_cyclic_gc():
            for doc in docs:
                found = self.validate_doc(doc)
                n += 1
                if found:
                    findings.extend(found)
                    if len(findings) % 1000 < len(found):
                        gc.collect(0)  # error reports may hold reference cycles; free them now and then
        return findings, n

    def validate_doc(self, doc: Document) -> list[Finding]:
        obj = doc.obj
        api, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api, str) or not isinstance(kind, str) or not api or not kind:
            missing = " and ".join(k for k, v in (("apiVersion", api), ("kind", kind)) if not isinstance(v, str) or not v)
            return [Finding.for_doc(doc, "schema/unknown-kind", Severity.ERROR,
                                    f"object has no {missing}; every manifest needs apiVersion and kind")]
        dups = [Finding.for_doc(doc, "schema/duplicate-key", Severity.ERROR,
                                f"key {d} is given twice in the same mapping: kubectl rejects the object "
                                f"and Helm silently keeps the last value; remove one")
                for d in doc.duplicate_keys]
        found = dups + self._validate_known(doc, api, kind)
        if kind == "Secret" and found:  # its values never reach a log or report
            from .redact import redact_secret

            return redact_secret(obj, found)
        return found

    def _plan(self, api: str, key: str) -> tuple[list[tuple[_Bundle, _Target | None, int]], tuple[Check, ...] | None]:
        """For one apiVersion/kind, once: [(bundle, its target or None, schema number)], where bundles whose
        schemas of the kind are identical (most kinds, across Kubernetes minors) share a number and are checked
        once; and, when every bundle has the kind, the distinct fast checks (all pass: the object is valid)."""
        plan = self._plans.get(key)
        if plan is None:
            bundles = self.argo if api.split("/")[0] == ARGO_GROUP else self.k8s
            found: list[tuple[_Bundle, _Target | None, int]] = []
            schemas_seen: list[tuple[str, dict[str, Any]]] = []  # (name, closure): compared only with 2+ bundles
            for b in bundles:
                t = b.target(key)
                number = len(schemas_seen)
                if t is not None and len(bundles) > 1:
                    schema = (t.name, schemas.closure(b.definitions, t.name))
                    number = schemas_seen.index(schema) if schema in schemas_seen else number
                    if number == len(schemas_seen):
                        schemas_seen.append(schema)
                found.append((b, t, number))
            distinct = {n: t.fast for _, t, n in found if t is not None}
            complete = all(t is not None for _, t, _ in found) and bool(found)
            plan = self._plans[key] = (found, tuple(distinct.values()) if complete else None)
        return plan

    def _validate_known(self, doc: Document, api: str, kind: str) -> list[Finding]:
        obj = doc.obj
        key = f"{api}/{kind}"
        found, checks = self._plan(api, key)
        if checks is not None:  # the common case: every version has the kind, and the object is valid
            for check in checks:
                if not check(obj):
                    break
            else:
                return []
        if not any(t for _, t, _ in found):
            if key.lower() in self.extra_schemas:
                return self._validate_extra(doc, key.lower())
            return self._unknown(doc, api, kind, [b for b, _, _ in found])
        findings: list[Finding] = []
        verdicts: dict[int, bool] = {}  # per schema number: identical schemas are checked once
        errors: dict[int, list[tuple[str, str]]] = {}
        for b, t, number in found:
            if t is None:
                others = self._api_versions_of(kind, [b])
                alt = f"; use {' or '.join(others)}" if others else ""
                findings.append(Finding.for_doc(doc, b.rule, Severity.ERROR,
                                                f"{api} {kind} does not exist in {b.label}{alt}", "$.apiVersion"))
                continue
            ok = verdicts.get(number)
            if ok is None:
                ok = verdicts[number] = t.fast(obj)
            if ok:
                continue
            if number not in errors:
                errors[number] = self._errors(t, obj)
            for path, msg in errors[number]:
                findings.append(Finding.for_doc(doc, t.rule, Severity.ERROR, f"{msg} ({t.label} {kind} schema)", path))
        return findings

    @contextlib.contextmanager
    def with_extra_schemas(self, found: dict[str, dict[str, Any]]) -> Iterator[None]:
        """While the block runs, also know the kinds of `found` (a chart's CRDs in one scenario); the
        schemas given at construction (--schema-location) win over these."""
        saved = self.extra_schemas, self._extra_checks
        if found:
            self.extra_schemas, self._extra_checks = {**found, **saved[0]}, {}
        try:
            yield
        finally:
            self.extra_schemas, self._extra_checks = saved

    def _validate_extra(self, doc: Document, key: str) -> list[Finding]:
        """An object of a user-supplied schema (a CRD's openAPIV3Schema), checked with jsonschema."""
        check = self._extra_checks.get(key)
        if check is None:
            import jsonschema

            schema = self.extra_schemas[key]
            meta = schema.get("properties", {}).get("metadata")
            if isinstance(meta, dict) and meta.get("$ref") == "#/definitions/" + schemas.OBJECT_META:
                # a CRD's metadata is ObjectMeta: checked as strictly as in the bundled kinds
                defs = schemas.closure(self.k8s[0].definitions, schemas.OBJECT_META) if self.k8s else \
                    {schemas.OBJECT_META: {"type": "object"}}
                schema = {**schema, "definitions": {**schema.get("definitions", {}), **defs}}
            check = self._extra_checks[key] = jsonschema.Draft7Validator(schema)
        from referencing.exceptions import Unresolvable

        out = []
        try:
            errors = sorted(check.iter_errors(doc.obj), key=lambda e: list(map(str, e.absolute_path)))
        except Unresolvable as exc:  # load_locations refuses these; a safety net for what it cannot see
            raise ToolkitError(f"--schema-location schema of {key}: a $ref does not resolve ({exc})"[:400]) from None
        except RecursionError:  # $refs that loop through allOf/anyOf without consuming the object
            raise ToolkitError(f"--schema-location schema of {key}: its $refs loop without end") from None
        for e in errors:
            for path, msg in describe_error(e):
                out.append(Finding.for_doc(doc, "schema/custom", Severity.ERROR, f"{msg} ({key} schema)", path))
        return out

    def _errors(self, t: _Target, obj: dict[str, Any]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for e in sorted(t.reference.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
            out.extend(describe_error(e))
        return out

    def _api_versions_of(self, kind: str, bundles: list[_Bundle]) -> list[str]:
        return sorted({k.rsplit("/", 1)[0] for b in bundles for k in b.kinds if k.rsplit("/", 1)[1] == kind})

    def _unknown(self, doc: Document, api: str, kind: str, bundles: list[_Bundle]) -> list[Finding]:
        others = self._api_versions_of(kind, bundles)
        versions = ", ".join(b.label for b in bundles) or "no schema versions selected"
        if others:  # a real kind under an apiVersion no chosen version serves: always an error
            return [Finding.for_doc(doc, "schema/unknown-kind", Severity.ERROR,
                                    f"{api} {kind} is not served by {versions}; use {' or '.join(others)}",
                                    "$.apiVersion")]
        if self.allow_unknown_kinds:
            return [Finding.for_doc(doc, "schema/unknown-kind", Severity.INFO,
                                    f"not validated: no schema for {api} {kind} (allowed by --allow-unknown-kinds)")]
        return [Finding.for_doc(doc, "schema/unknown-kind", Severity.ERROR,
                                f"no schema for {api} {kind} in {versions}; check apiVersion/kind, or pass "
                                f"--allow-unknown-kinds for custom resources")]
