"""The chart's service components (runtime, Vespa, Phoenix, LLM server): each behind its switch, named
for the release, wired to the others' addresses; and every own values key in the schema, documented."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from cogniverse_chart import CHART_DIR
from chart_utils import ALL_ON, COMPONENTS, WORKLOAD_KINDS, by_kind, component_docs, env_of, workloads


# --- enable switches and names ----------------------------------------------------------------

@pytest.mark.parametrize("component", COMPONENTS)
def test_each_component_is_behind_its_enabled_switch(render_chart, component):
    on = component_docs(render_chart({**ALL_ON}), component)
    assert any(d.kind in WORKLOAD_KINDS for d in on) and any(d.kind == "Service" for d in on)
    off = render_chart({**ALL_ON, component: {"enabled": False}})
    assert component_docs(off, component) == []


def test_llm_is_off_by_default(render_chart):
    assert component_docs(render_chart(), "llm") == []


@pytest.mark.parametrize("release, expected_prefix", [("acme", "acme-cogniverse-"), ("cogniverse-dev", "cogniverse-dev-")])
def test_object_names_derive_from_the_release(helm, render_chart, release, expected_prefix):
    docs = render_chart(ALL_ON, helm=helm, release=release)
    for d in docs:
        if d.source.startswith("cogniverse/templates/workflows/"):
            continue
        assert d.name.startswith(expected_prefix.rstrip("-")), d.ref
    names = {d.name for d in docs if d.kind == "Service"}
    assert {f"{expected_prefix}{c}" for c in COMPONENTS} | {f"{expected_prefix}vespa-config"} <= names
    assert not any(d.name.startswith("cogniverse-vespa") for d in docs if release == "acme")


def test_fullname_override_names_everything(render_chart):
    docs = render_chart({**ALL_ON, "fullnameOverride": "cv"})
    assert {"cv-runtime", "cv-vespa", "cv-vespa-config", "cv-phoenix", "cv-llm"} <= set(by_kind(docs, "Service"))


# --- service addresses -----------------------------------------------------------------------

@pytest.mark.parametrize("ports", [
    {},
    {"runtime": {"service": {"port": 9000}}, "vespa": {"service": {"queryPort": 18080, "configPort": 29071}},
     "phoenix": {"service": {"uiPort": 16006, "otlpPort": 14317}}, "llm": {"service": {"port": 21434}}},
], ids=["default-ports", "custom-ports"])
def test_runtime_addresses_point_at_rendered_services_and_ports(render_chart, ports):
    values = yaml.safe_load(yaml.safe_dump(ALL_ON))
    for k, v in ports.items():
        values.setdefault(k, {}).update(v)
    docs = render_chart(values, namespace="team-a")
    services = by_kind(docs, "Service")
    runtime = by_kind(docs, "Deployment")["cogniverse-runtime"]
    env = env_of(runtime["spec"]["template"]["spec"]["containers"][0])
    expected = {"COGNIVERSE_RUNTIME_URL", "VESPA_URL", "VESPA_CONFIG_URL", "PHOENIX_URL",
                "PHOENIX_OTLP_ENDPOINT", "LLM_URL"}
    assert expected <= set(env)
    for name in expected:
        url = urlparse(env[name])
        svc_name, ns, svc = url.hostname.split(".")
        assert (ns, svc) == ("team-a", "svc"), env[name]
        assert svc_name in services, f"{name}={env[name]}: no Service {svc_name}"
        svc_ports = {p["port"]: p for p in services[svc_name]["spec"]["ports"]}
        assert url.port in svc_ports, f"{name}={env[name]}: Service {svc_name} has ports {list(svc_ports)}"
    # every Service port reaches a named port the selected container declares
    for svc in services.values():
        sel = svc["spec"]["selector"]
        pods = [w for w in workloads(docs) if all(w["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in sel.items())]
        assert pods, f"Service {svc['metadata']['name']} selects no pods"
        declared = {p["name"] for w in pods for c in w["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
        for p in svc["spec"]["ports"]:
            assert p["targetPort"] in declared, f"{svc['metadata']['name']}:{p['port']} -> {p['targetPort']}"


def test_disabled_components_are_not_advertised_to_the_runtime(render_chart):
    docs = render_chart({"phoenix": {"enabled": False}, "vespa": {"enabled": False}})
    env = env_of(by_kind(docs, "Deployment")["cogniverse-runtime"]["spec"]["template"]["spec"]["containers"][0])
    assert not {"VESPA_URL", "PHOENIX_URL", "LLM_URL"} & set(env)


def test_vespa_statefulset_has_its_governing_headless_service(render_chart):
    docs = render_chart()
    sts = by_kind(docs, "StatefulSet")["cogniverse-vespa"]
    headless = by_kind(docs, "Service")[sts["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None"


# --- values documentation and schema coverage ------------------------------------------------

OWN_KEYS = ("podSecurityContext", "containerSecurityContext", "serviceAccount", "runtime", "vespa", "phoenix",
            "llm", "networkPolicy", "tests")


def _leaf_paths(node: Any, prefix: str = "") -> list[str]:
    if isinstance(node, dict) and node:
        out = [prefix] if prefix else []
        for k, v in node.items():
            out += _leaf_paths(v, f"{prefix}.{k}" if prefix else k)
        return out
    return [prefix]


def _schema_at(root: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The sub-schema describing the values key `path` (follows $ref and allOf), or None."""
    node: dict[str, Any] | None = root
    for part in path.split("."):
        branches, found = [node], None
        while branches:
            b = branches.pop(0)
            while "$ref" in b:
                target = root
                for r in b["$ref"].lstrip("#/").split("/"):
                    target = target[r]
                b = target
            if part in (b.get("properties") or {}):
                found = b["properties"][part]
                break
            branches += b.get("allOf", [])
        if found is None:
            return None
        node = found
    return node


def test_every_own_values_key_is_in_the_schema():
    import json

    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    free = ("annotations", "podAnnotations", "podLabels", "nodeSelector", "affinity")
    missing = []
    for key in OWN_KEYS:
        for path in _leaf_paths(values[key], key):
            if any(f".{f}." in f"{path}." and not path.endswith(f".{f}") for f in free):
                continue
            if _schema_at(schema, path) is None:
                missing.append(path)
    assert not missing, f"values.yaml keys without a schema: {missing}"


def test_every_own_values_key_is_documented():
    """Each key of the chart's own sections has a comment block starting with `# --` right above it
    (keys inside list items are documented by their list's comment)."""
    lines = (CHART_DIR / "values.yaml").read_text().splitlines()
    undocumented, section, list_indent = [], None, None
    for i, line in enumerate(lines):
        top = re.match(r"^([A-Za-z]\w*):", line)
        if top:
            section = top.group(1)
        m = re.match(r"^(\s*)(- )?([A-Za-z][\w./-]*):", line)
        if section not in OWN_KEYS or not m:
            continue
        indent = len(m.group(1))
        if list_indent is not None and indent <= list_indent and not m.group(2):
            list_indent = None
        if m.group(2):
            list_indent = indent if list_indent is None else min(list_indent, indent)
        if list_indent is not None:
            continue
        j = i - 1
        while j >= 0 and lines[j].strip().startswith("#") and not lines[j].strip().startswith("# --"):
            j -= 1
        if j < 0 or not lines[j].strip().startswith("# --"):
            undocumented.append(f"line {i + 1}: {line.strip()}")
    assert not undocumented, undocumented


def test_every_own_schema_key_has_a_description():
    """The README values table is generated from the schema, so a key without a description is a blank row."""
    schema_dir = CHART_DIR / "schema"
    missing = []
    shared = yaml.safe_load((schema_dir / "_definitions.yaml").read_text())

    def walk(node: dict[str, Any], path: str) -> None:
        for key, sub in (node.get("properties") or {}).items():
            ref = str(sub.get("$ref", "")).rsplit("/", 1)[-1]
            if not sub.get("description") and not (shared.get(ref) or {}).get("description"):
                missing.append(f"{path}.{key}")
            walk(sub, f"{path}.{key}")

    for key in OWN_KEYS:
        part = yaml.safe_load((schema_dir / f"{key}.yaml").read_text())
        if not part.get("description"):
            missing.append(key)
        walk(part, key)
    assert not missing, f"schema keys without a description: {missing}"
