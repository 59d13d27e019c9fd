"""Strict schema validation: Kubernetes OpenAPI (the floor 1.30 and every supported minor) and Argo 3.7/4.0
CRD schemas, offline. The default validator checks the floor and the newest minor (versions.env)."""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from cogniverse_chart import schema_bundles, schemas, versions
from cogniverse_chart.documents import Document, parse_stream, read_paths
from cogniverse_chart.errors import ToolkitError
from cogniverse_chart.perf.schema_compiler import Compiler
from cogniverse_chart.findings import Severity
from cogniverse_chart.validate import DEFAULT_KUBE_VERSIONS, Validator

FIXTURES = Path(__file__).parents[1] / "fixtures"
NEWEST = "%d.%d" % versions.kube_newest_minor()

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, creationTimestamp: null, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports: [{name: http, containerPort: 80}]
          resources: {requests: {cpu: 1, memory: 1Gi}, limits: {cpu: 0.5, memory: 2Gi}}
          livenessProbe: {httpGet: {port: http, path: /}}
          readinessProbe: {httpGet: {port: 8080, path: /}}
"""

CRON = """
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: nightly}
spec:
  schedules: ["0 2 * * *"]
  concurrencyPolicy: Forbid
  workflowSpec:
    entrypoint: main
    templates:
      - name: main
        steps:
          - - {name: each, template: work, withItems: [{tenant: acme, n: 1}, {tenant: globex, n: 2}]}
      - name: work
        container: {image: "alpine:3.20", command: ["true"]}
      - name: plug
        plugin: {slack: {text: "anything goes here", nested: {x: 1}}}
"""


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator()


def docs(text: str) -> list[Document]:
    return parse_stream(text, "test.yaml")


def edit(text: str, fn: Any) -> list[Document]:
    obj = yaml.safe_load(text)
    fn(obj)
    return [Document(obj, "test.yaml")]


def test_valid_objects_pass_every_version(validator: Validator) -> None:
    # int-or-string ports, numeric quantities, creationTimestamp: null, free-form withItems and plugin
    assert validator.validate(docs(DEPLOYMENT) + docs(CRON)) == []


def test_unknown_field_is_an_error_in_each_version_with_path_and_suggestion(validator: Validator) -> None:
    found = validator.validate(edit(DEPLOYMENT, lambda o: o["spec"]["template"]["spec"]["containers"][0]
                                    .update(imagePullPolcy="Always")))
    assert {f.rule for f in found} == {f"schema/k8s-{v}" for v in DEFAULT_KUBE_VERSIONS}
    f = found[0]
    assert f.severity is Severity.ERROR and f.kind == "Deployment" and f.name == "web"
    assert f.path == "$.spec.template.spec.containers[0].imagePullPolcy"
    assert "unknown field 'imagePullPolcy'" in f.message and "did you mean 'imagePullPolicy'" in f.message


def test_wrong_type_and_missing_required_field(validator: Validator) -> None:
    def broken(o: dict[str, Any]) -> None:
        c = o["spec"]["template"]["spec"]["containers"][0]
        c["ports"][0]["containerPort"] = "eighty"
        del c["name"]
    found = validator.validate(edit(DEPLOYMENT, broken))
    msgs = {(f.path, f.message.split(" (")[0]) for f in found if f.rule == f"schema/k8s-{NEWEST}"}
    assert ("$.spec.template.spec.containers[0].ports[0].containerPort",
            'expected integer, got string "eighty"') in msgs
    assert ("$.spec.template.spec.containers[0]", "missing required field 'name'") in msgs


#: (quantity, accepted): the verdicts of Kubernetes' own decoder (k8s.io/apimachinery v0.35.4 through
#: client-go's strict UniversalDeserializer, what kubectl and the API server run) on a container's memory limit.
QUANTITIES = [("512MB", False), ("1 Gi", False), ("1x", False), ("1K", False), ("1e", False), ("1ei", False),
              ("", False), ("0x10", False), ("1_000", False), ("1.2.3", False), ("1EE", False),
              ("1.", True), (".5", True), ("+1", True), ("-1", True), ("1e3", True), ("1E3", True), ("1Ki", True),
              ("1k", True), ("1Mi", True), ("1.5Gi", True), ("1e+3", True), ("1m", True), ("1n", True), ("1u", True),
              ("1Ei", True), ("+.5", True), ("1e-3", True), ("1E+3", True), ("1Mi ", True), ("1.Mi", True)]


@pytest.mark.parametrize("quantity,accepted", QUANTITIES)
def test_quantities_follow_kubernetes_grammar_with_a_readable_message(validator: Validator, quantity: str,
                                                                        accepted: bool) -> None:
    """D28: `memory: 512MB` passed, though the API server cannot decode it. The patterns stay RE2 (no
    look-around): kubeconform (Go) reads the exported bundles in benchmarks/bench_validate.py."""
    import re
    import time

    for pattern in (schemas.QUANTITY_PATTERN, schemas.BASE64_PATTERN):
        assert "(?" not in pattern.replace("(?:", ""), pattern
        start = time.process_time()  # a hostile value: a megabyte of digits that fails at its end
        assert re.search(pattern, "1" * 1_000_000 + "x!") is None and time.process_time() - start < 2
    found = validator.validate(edit(DEPLOYMENT, lambda o: o["spec"]["template"]["spec"]["containers"][0]
                                    ["resources"]["limits"].update(memory=quantity)))
    assert (found == []) is accepted, [f.message for f in found]
    if not accepted:
        assert found[0].path == "$.spec.template.spec.containers[0].resources.limits.memory"
        assert "is not a Kubernetes quantity" in found[0].message and len(found[0].message) < 200, found[0].message
    if quantity == "512MB":
        assert "512Mi (binary) or 512M (decimal)" in found[0].message


#: (value, accepted) of Secret data as Go's encoding/json decodes []byte (same decoder as above).
SECRET_DATA = [("aGVsbG8=", True), ("aGVsbG8", False), ("aGVs\nbG8=", True), ("aGVs bG8=", False), ("", True),
               ("aGVsbG8=\n", True), ("aG==", True), ("aGV=", True), ("a===", False), ("aGVsbB==", True),
               ("====", False), ("aGVs\rbG8=", True), ("hunter2", False)]


@pytest.mark.parametrize("value,accepted", SECRET_DATA)
def test_secret_data_must_be_base64_and_the_message_points_at_string_data(validator: Validator, value: str,
                                                                          accepted: bool) -> None:
    """D29: `data: {password: hunter2}` passed; the API server cannot decode it (illegal base64 data)."""
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"password": value}}
    found = validator.validate([Document(secret, "s.yaml")])
    assert (found == []) is accepted, [f.message for f in found]
    if not accepted:
        assert found[0].path == "$.data.password" and "is not base64" in found[0].message
        assert "use stringData instead" in found[0].message
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "binaryData": {"b": value}}
    assert (validator.validate([Document(cm, "c.yaml")]) == []) is accepted


@pytest.mark.parametrize("text,path,message", [
    ("metadata: 5\n", "$.metadata", "expected object, got integer 5"),  # D44: AttributeError in Document.name
    ("metadata: [x]\n", "$.metadata", "expected object, got array"),
    ("metadata: true\n", "$.metadata", "expected object, got boolean"),
    ("metadata: {name: c}\n1: 1\n", "$[\"1\"]", "unknown field '1'"),
])
def test_odd_metadata_and_keys_are_findings_not_tracebacks(validator: Validator, text: str, path: str,
                                                           message: str) -> None:
    for found in (validator.validate(docs("apiVersion: v1\nkind: ConfigMap\n" + text)),
                  validator.validate(docs("apiVersion: v1\nkind: ConfigMap\nx: &a 1\n" + text))):  # PyYAML path
        assert [f.path for f in found if message in f.message][:1] == [path], [(f.path, f.message) for f in found]


@pytest.mark.parametrize("key", ["~", "null", "NULL", "? "])
def test_a_null_key_is_refused_with_its_line_as_kubectl_refuses_it(key: str) -> None:
    """D45/D6: a null key reached difflib (a traceback), then read as the field 'null'; sigs.k8s.io/yaml refuses
    the document (unsupported map key), and so does the reader now, naming the line, on both paths."""
    for extra in ("", "x: &a 1"):  # the fast path, PyYAML's
        with pytest.raises(ToolkitError, match=r"^c\.yaml:5:[12]: a null key .*quote the key"):
            parse_stream(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\n{extra or 'y2: 1'}\n"
                         f"{key}{chr(10) if key == '? ' else ''}: 1\n", "c.yaml")


def test_argo_objects_checked_against_each_argo_version(validator: Validator) -> None:
    found = validator.validate(edit(CRON, lambda o: o["spec"]["workflowSpec"]["templates"][1]["container"]
                                    .update(comand=["sh"])))
    assert {f.rule for f in found} == {"schema/argo-3.7", "schema/argo-4.0"}
    assert all(f.path == "$.spec.workflowSpec.templates[1].container.comand" for f in found)
    # metadata is strict too (Kubernetes ObjectMeta substituted into the CRD schema)
    found = validator.validate(edit(CRON, lambda o: o["metadata"].update(lables={"a": "b"})))
    assert any("did you mean 'labels'" in f.message for f in found)


def test_singular_schedule_was_removed_in_argo_4(validator: Validator) -> None:
    def singular(o: dict[str, Any]) -> None:
        o["spec"]["schedule"] = o["spec"].pop("schedules")[0]
    found = validator.validate(edit(CRON, singular))
    assert {f.rule for f in found} == {"schema/argo-4.0"}
    assert any(f.path == "$.spec.schedule" for f in found)


def test_unknown_kind_is_an_error_unless_allowed() -> None:
    cert = docs("apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c}\n")
    [f] = Validator().validate(cert)
    assert f.rule == "schema/unknown-kind" and f.severity is Severity.ERROR
    assert "--allow-unknown-kinds" in f.message
    [f] = Validator(allow_unknown_kinds=True).validate(cert)
    assert f.severity is Severity.INFO


def test_removed_api_version_names_the_replacement_even_when_unknown_kinds_allowed() -> None:
    old = docs("apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: c}\n")
    [f] = Validator(allow_unknown_kinds=True).validate(old)
    assert f.severity is Severity.ERROR and "use batch/v1" in f.message


def test_kind_served_by_only_some_versions() -> None:
    claim = docs("apiVersion: resource.k8s.io/v1\nkind: DeviceClass\nmetadata: {name: gpu}\nspec: {}\n")
    found = Validator(kube_versions=("1.30", "1.35")).validate(claim)
    assert [f.rule for f in found] == ["schema/k8s-1.30"]
    assert "does not exist in Kubernetes 1.30" in found[0].message
    assert Validator(kube_versions=("1.35", "1.36", "1.37")).validate(claim) == []


def test_missing_kind_and_unbundled_version() -> None:
    [f] = Validator().validate(docs("metadata: {name: x}\n"))
    assert "no apiVersion and kind" in f.message
    with pytest.raises(Exception, match="no bundled Kubernetes 1.20 schemas"):
        Validator(kube_versions=("1.20",))


def test_validators_are_built_once_and_reused(validator: Validator) -> None:
    bundle = validator.k8s[0]
    validator.validate(docs(DEPLOYMENT))
    target = bundle.target("apps/v1/Deployment")
    compiled = len(bundle.compiler._compiled)
    validator.validate(docs(DEPLOYMENT) * 50)
    assert bundle.target("apps/v1/Deployment") is target
    assert len(bundle.compiler._compiled) == compiled


def _mutations(obj: Any, rng: random.Random, n: int) -> list[Any]:
    """Random single edits: unknown keys, wrong types, deleted keys, nulls, at random depths."""
    out = []
    for _ in range(n):
        o = copy.deepcopy(obj)
        node, parent, key = o, None, None
        for _depth in range(rng.randint(1, 8)):
            if isinstance(node, dict) and node:
                key = rng.choice(list(node))
            elif isinstance(node, list) and node:
                key = rng.randrange(len(node))
            else:
                break
            parent, node = node, node[key]
        if parent is None:
            continue
        op = rng.choice(["unknown", "type", "delete", "null", "int"])
        if op == "unknown" and isinstance(node, dict):
            node["bogusField"] = 1
        elif op == "type":
            parent[key] = [] if not isinstance(node, list) else "x"
        elif op == "delete" and isinstance(parent, dict):
            del parent[key]
        elif op == "null":
            parent[key] = None
        else:
            parent[key] = 7
        out.append(o)
    return out


def test_fast_validator_agrees_with_jsonschema_reference(validator: Validator) -> None:
    """The compiled hot path and jsonschema must give the same verdict on every object."""
    rng = random.Random(4)
    base = [d.obj for d in docs(DEPLOYMENT) + docs(CRON)]
    base += [d.obj for p in sorted((FIXTURES / "lint").glob("*/good.yaml")) for d in read_paths([str(p)])]
    checked = 0
    for obj in base:
        key = f"{obj['apiVersion']}/{obj['kind']}"
        for b in validator.k8s + validator.argo:
            t = b.target(key)
            if t is None:
                continue
            for variant in [obj, *_mutations(obj, rng, 40)]:
                assert t.fast(variant) == t.reference.is_valid(variant), (b.label, key, json.dumps(variant)[:300])
                checked += 1
    assert checked > 1000


def test_compiler_rejects_keywords_it_does_not_implement() -> None:
    with pytest.raises(ValueError, match="unsupported keywords"):
        Compiler({}).compile({"type": "string", "format": "date-time"})


def test_bundles_have_provenance_matching_their_bytes() -> None:
    text = schemas.PROVENANCE_FILE.read_text()
    for family in ("k8s", "argo"):
        for v in schemas.available(family):
            path = schemas.bundle_path(family, v)
            assert f"{path.name}: sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}" in text
            b = json.loads(gzip.decompress(path.read_bytes()))
            for s in b["sources"]:
                assert s["module"] in text and len(s["sha256"]) == 64
    for v in versions.csv("SCHEMA_KUBERNETES_SOURCES"):
        assert f"from k8s.io/kubernetes@{v} " in text, v
    for v in versions.csv("SCHEMA_ARGO_SOURCES"):
        assert f"argo-workflows/v{v.lstrip('v')[0]}@{v} " in text, v


def test_bundles_cover_every_kubernetes_minor_the_chart_admits() -> None:
    """versions.env is the source: every minor from the floor (Chart.yaml's kubeVersion) to the newest, so
    `validate --kube-version 1.33` works; and the pinned patches of the node and of the oldest supported
    minor are the sources."""
    floor, newest = versions.kube_floor_minor(), versions.kube_newest_minor()
    want = {f"1.{m}" for m in range(floor[1], newest[1] + 1)}
    assert set(schemas.available("k8s")) == want
    sources = versions.csv("SCHEMA_KUBERNETES_SOURCES")
    assert versions.get("KUBERNETES_VERSION") in sources
    assert versions.get("KUBERNETES_OLDEST_SUPPORTED_VERSION") in sources
    argo = {schemas.minor(versions.get(k)) for k in ("ARGO_VERSION", "ARGO_V4_VERSION")}
    assert argo <= set(schemas.available("argo"))
    assert {versions.get("ARGO_VERSION"), versions.get("ARGO_V4_VERSION")} <= set(versions.csv("SCHEMA_ARGO_SOURCES"))


def test_schemas_fetch_regenerates_identical_bundles(tmp_path: Path) -> None:
    """`schemas fetch` rebuilds every bundle and PROVENANCE from the Go module sources byte for byte
    (modules come from the Go module cache, or `go mod download`)."""
    written = schema_bundles.fetch(data_dir=tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in schemas.DATA_DIR.glob("*.json.gz"))
    for p in [*written, tmp_path / "PROVENANCE"]:
        assert p.read_bytes() == (schemas.DATA_DIR / p.name).read_bytes(), p.name


def test_every_bundled_definition_compiles() -> None:
    """Every pattern and keyword of every bundle compiles (a Go regexp Python cannot read would fail here)."""
    count = 0
    for family in ("k8s", "argo"):
        for v in schemas.available(family):
            b = schemas.load_bundle(family, v)
            compiler = Compiler(b["definitions"])
            for name in b["definitions"]:
                compiler.definition(name)
                count += 1
            assert set(b["kinds"].values()) <= set(b["definitions"])
    assert count > 1500


def test_a_null_where_a_type_belongs_is_named_once(validator: Validator) -> None:
    """D22: `expected string, got null null` repeated the value's type as its text."""
    found = validator.validate(docs("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: null}\n"))
    assert found and all(f.message.startswith("expected string, got null (") for f in found), found
