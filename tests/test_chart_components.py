"""The chart's service components: what a user relies on when installing the runtime, Vespa,
Phoenix and the LLM server (names, addresses, images, security, storage, scaling, tests, NOTES)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from cogniverse_chart import CHART_DIR
from cogniverse_chart.documents import Document


def by_kind(docs: list[Document], kind: str) -> dict[str, dict[str, Any]]:
    """{metadata.name: object} for every document of one kind (as conftest's helper; imported by
    name, `conftest` is ambiguous once tests/ has sub-folders with their own conftest.py)."""
    return {d.name: d.obj for d in docs if d.kind == kind}


COMPONENTS = ("runtime", "vespa", "phoenix", "llm")
ALL_ON = {"llm": {"enabled": True}}
WORKLOAD_KINDS = ("Deployment", "StatefulSet")
UPSTREAM_REPOS = ("vespaengine/vespa", "arizephoenix/phoenix", "ollama/ollama")


def workloads(docs) -> list[dict[str, Any]]:
    return [d.obj for d in docs if d.kind in WORKLOAD_KINDS]


def component_docs(docs, component: str) -> list:
    """Objects of the service component (workflow objects are owned by templates/workflows/)."""
    return [d for d in docs if not d.source.startswith("cogniverse/templates/workflows/")
            and (d.obj["metadata"].get("labels") or {}).get("app.kubernetes.io/component") == component]


def pod_specs(docs) -> list[tuple[str, dict[str, Any]]]:
    """(name, pod spec) of every service workload and the helm test Pod."""
    out = [(w["metadata"]["name"], w["spec"]["template"]["spec"]) for w in workloads(docs)
           if w["metadata"]["labels"].get("app.kubernetes.io/component") in COMPONENTS]
    out += [(d.name, d.obj["spec"]) for d in docs if d.kind == "Pod"]
    return out


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


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


# --- images ----------------------------------------------------------------------------------

def test_images_are_pinned_and_name_no_registry_host(render_chart):
    docs = render_chart(ALL_ON)
    images = {c["image"] for _, spec in pod_specs(docs) for c in spec["containers"]}
    assert images, "no containers rendered"
    for image in images:
        repo, sep, tag = image.rpartition(":")
        assert sep and tag and tag != "latest", image
        assert "." not in repo.split("/")[0], f"{image}: registry host written in the chart"
    assert "cogniverse/runtime:1.0.0" in images  # runtime tag = Chart appVersion
    assert {i.split(":")[0] for i in images} >= set(UPSTREAM_REPOS)


def test_digest_wins_and_global_registry_prefixes(render_chart):
    digest = "sha256:" + "b" * 64
    docs = render_chart({"global": {"imageRegistry": "mirror.example.test:5000"}, "vespa": {"image": {"digest": digest}}})
    sts = by_kind(docs, "StatefulSet")["cogniverse-vespa"]
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == f"mirror.example.test:5000/vespaengine/vespa@{digest}"


# --- resources, probes, security -------------------------------------------------------------

def test_every_service_container_has_requests_limits_and_probes(render_chart):
    docs = render_chart(ALL_ON)
    for name, spec in pod_specs(docs):
        for c in spec["containers"]:
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"].get(part, {})), f"{name}/{c['name']} {part}"
            if spec.get("restartPolicy") == "Never":
                continue  # the helm test Pod runs to completion; probes do not apply
            declared = {p["name"] for p in c.get("ports", [])}
            for probe in ("readinessProbe", "livenessProbe"):
                assert probe in c, f"{name}/{c['name']} has no {probe}"
                assert c[probe]["httpGet"]["port"] in declared


@pytest.mark.parametrize("values", [ALL_ON, {**ALL_ON, "networkPolicy": {"enabled": True}}], ids=["defaults", "netpol"])
def test_pods_meet_pod_security_restricted(render_chart, values):
    docs = render_chart(values)
    specs = pod_specs(docs)
    assert len(specs) == 5  # runtime, vespa, phoenix, llm, helm test
    for name, spec in specs:
        psc = spec["securityContext"]
        assert psc["runAsNonRoot"] is True and psc["seccompProfile"]["type"] == "RuntimeDefault", name
        assert psc.get("runAsUser", 1) != 0 and "fsGroup" in psc, name
        assert spec["automountServiceAccountToken"] is False, name
        assert not {"hostNetwork", "hostPID", "hostIPC"} & set(spec), name
        restricted_volumes = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                              "persistentVolumeClaim", "projected", "secret"}
        for v in spec.get("volumes", []):
            assert set(v) - {"name"} <= restricted_volumes, f"{name}: volume {v}"
        for c in spec["containers"] + spec.get("initContainers", []):
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, f"{name}/{c['name']}"
            assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add"), f"{name}/{c['name']}"
            assert not sc.get("privileged"), f"{name}/{c['name']}"


def test_read_only_root_filesystem_with_writable_tmp(render_chart):
    docs = render_chart(ALL_ON)
    for name, spec in pod_specs(docs):
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for c in spec["containers"]:
            if c["securityContext"].get("readOnlyRootFilesystem"):
                mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
                if spec.get("restartPolicy") != "Never":
                    assert "/tmp" in mounts and "emptyDir" in volumes[mounts["/tmp"]], f"{name}: no writable /tmp"
            else:
                assert name == "cogniverse-vespa", f"{name}: root filesystem writable"


def test_component_security_context_overrides_only_that_component(render_chart):
    docs = render_chart({"vespa": {"podSecurityContext": {"runAsUser": 2000},
                                   "containerSecurityContext": {"readOnlyRootFilesystem": True}}})
    sts = by_kind(docs, "StatefulSet")["cogniverse-vespa"]["spec"]["template"]["spec"]
    assert sts["securityContext"]["runAsUser"] == 2000
    assert sts["securityContext"]["runAsNonRoot"] is True  # untouched keys keep the shared default
    assert sts["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    runtime = by_kind(docs, "Deployment")["cogniverse-runtime"]["spec"]["template"]["spec"]
    assert runtime["securityContext"]["runAsUser"] == 1000


# --- storage ---------------------------------------------------------------------------------

def pvc_specs(docs) -> dict[str, dict[str, Any]]:
    """Data claims: standalone PVCs and StatefulSet volumeClaimTemplates (name -> object)."""
    out = {d.name: d.obj for d in docs if d.kind == "PersistentVolumeClaim"
           and not d.source.startswith("cogniverse/templates/workflows/")}
    for sts in by_kind(docs, "StatefulSet").values():
        for t in sts["spec"].get("volumeClaimTemplates", []):
            out[f"{t['metadata']['name']}-{sts['metadata']['name']}"] = t
    return out


def test_data_volumes_are_kept_on_uninstall(render_chart):
    claims = pvc_specs(render_chart(ALL_ON))
    assert set(claims) == {"data-cogniverse-vespa", "cogniverse-phoenix-data", "cogniverse-llm-models"}
    for name, pvc in claims.items():
        assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep", name
    sts = by_kind(render_chart(), "StatefulSet")["cogniverse-vespa"]
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}


@pytest.mark.parametrize("global_class, vespa_class, expected", [
    ("", "", None),                   # cluster default: no storageClassName at all
    ("local-path", "", "local-path"),  # global default
    ("local-path", "fast-ssd", "fast-ssd"),  # the component wins
    ("local-path", "-", ""),          # "-" = explicitly no class
])
def test_storage_class_falls_back_to_global(render_chart, global_class, vespa_class, expected):
    docs = render_chart({**ALL_ON, "global": {"storageClass": global_class},
                         "vespa": {"persistence": {"storageClass": vespa_class}}})
    claims = pvc_specs(docs)
    assert claims["data-cogniverse-vespa"]["spec"].get("storageClassName") == expected
    assert claims["cogniverse-phoenix-data"]["spec"].get("storageClassName") == (global_class or None)


def test_persistence_off_uses_emptydir_and_no_claims(render_chart):
    off = {"persistence": {"enabled": False}}
    docs = render_chart({"llm": {"enabled": True, **off}, "vespa": off, "phoenix": off})
    assert pvc_specs(docs) == {}
    sts = by_kind(docs, "StatefulSet")["cogniverse-vespa"]["spec"]["template"]["spec"]
    assert {"name": "data", "emptyDir": {}} in sts["volumes"]


# --- scaling, disruption budgets, ingress ----------------------------------------------------

@pytest.mark.parametrize("values, pdb", [
    ({}, False),
    ({"runtime": {"replicas": 2}}, True),
    ({"runtime": {"replicas": 2, "pdb": {"enabled": False}}}, False),
    ({"runtime": {"autoscaling": {"enabled": True, "minReplicas": 2}}}, True),
    ({"runtime": {"autoscaling": {"enabled": True, "minReplicas": 1}}}, False),
])
def test_pdb_only_when_more_than_one_replica(render_chart, values, pdb):
    docs = render_chart(values)
    assert ("cogniverse-runtime" in by_kind(docs, "PodDisruptionBudget")) is pdb
    assert not [d for d in component_docs(docs, "vespa") + component_docs(docs, "phoenix") if d.kind == "PodDisruptionBudget"]


def test_hpa_owns_replicas_when_enabled(render_chart):
    docs = render_chart({"runtime": {"replicas": 4, "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 5,
                                                                    "targetMemoryUtilizationPercentage": 80}}})
    assert "replicas" not in by_kind(docs, "Deployment")["cogniverse-runtime"]["spec"]
    hpa = by_kind(docs, "HorizontalPodAutoscaler")["cogniverse-runtime"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "cogniverse-runtime"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 5)
    assert {m["resource"]["name"] for m in hpa["spec"]["metrics"]} == {"cpu", "memory"}


@pytest.mark.parametrize("preset, key", [("soft", "preferredDuringSchedulingIgnoredDuringExecution"),
                                         ("hard", "requiredDuringSchedulingIgnoredDuringExecution")])
def test_anti_affinity_presets_select_the_runtime_pods(render_chart, preset, key):
    docs = render_chart({"runtime": {"replicas": 2, "podAntiAffinity": preset}})
    spec = by_kind(docs, "Deployment")["cogniverse-runtime"]["spec"]
    terms = spec["template"]["spec"]["affinity"]["podAntiAffinity"][key]
    term = terms[0].get("podAffinityTerm", terms[0])
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"] == spec["selector"]["matchLabels"]


def test_ingress_routes_to_the_runtime_service(render_chart):
    docs = render_chart({"runtime": {"ingress": {"enabled": True, "className": "traefik",
                                                 "hosts": [{"host": "cv.example.test", "paths": [{"path": "/api"}]}]}}})
    ing = by_kind(docs, "Ingress")["cogniverse-runtime"]
    path = ing["spec"]["rules"][0]["http"]["paths"][0]
    assert ing["spec"]["ingressClassName"] == "traefik" and path["path"] == "/api" and path["pathType"] == "Prefix"
    assert path["backend"]["service"]["name"] in by_kind(docs, "Service")


# --- service account, network policies -------------------------------------------------------

def test_service_account_created_without_token_automount(render_chart):
    docs = render_chart()
    sa = by_kind(docs, "ServiceAccount")["cogniverse"]
    assert sa["automountServiceAccountToken"] is False
    assert {spec["serviceAccountName"] for _, spec in pod_specs(docs)} == {"cogniverse"}


def test_existing_service_account_is_used_not_created(render_chart):
    docs = render_chart({"serviceAccount": {"create": False, "name": "team-sa"}})
    assert "team-sa" not in by_kind(docs, "ServiceAccount")
    assert {spec["serviceAccountName"] for _, spec in pod_specs(docs)} == {"team-sa"}


def test_network_policies_off_by_default(render_chart):
    assert [d for d in render_chart(ALL_ON) if d.kind == "NetworkPolicy"
            and not d.source.startswith("cogniverse/templates/workflows/")] == []


def test_network_policy_per_enabled_component_on_its_ports(render_chart):
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}
    docs = render_chart({"networkPolicy": {"enabled": True, "extraFrom": [peer]}, "phoenix": {"enabled": False}})
    policies = by_kind(docs, "NetworkPolicy")
    expected = {"cogniverse-runtime": {8000}, "cogniverse-vespa": {8080, 19071}}
    assert {n: p for n, p in policies.items() if n in expected or n.startswith("cogniverse-phoenix")}.keys() == expected.keys()
    for name, ports in expected.items():
        rule = policies[name]["spec"]["ingress"][0]
        assert {p["port"] for p in rule["ports"]} == ports
        assert rule["from"] == [{"podSelector": {}}, peer]


def test_network_policy_without_same_namespace_still_admits_the_release(render_chart):
    docs = render_chart({"networkPolicy": {"enabled": True, "allowSameNamespace": False}})
    rule = by_kind(docs, "NetworkPolicy")["cogniverse-vespa"]["spec"]["ingress"][0]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "cogniverse",
                                                             "app.kubernetes.io/instance": "cogniverse"}}}]


# --- helm test hook and NOTES ----------------------------------------------------------------

def test_helm_test_pod_checks_every_enabled_service_without_a_shell(render_chart):
    docs = render_chart()
    pod = by_kind(docs, "Pod")["cogniverse-test"]
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["spec"]["restartPolicy"] == "Never"
    urls = {c["name"]: c["command"][-1] for c in pod["spec"]["containers"]}
    assert urls == {"check-runtime": "http://cogniverse-runtime.cogniverse.svc:8000/health",
                    "check-vespa-config": "http://cogniverse-vespa-config.cogniverse.svc:19071/state/v1/health",
                    "check-phoenix": "http://cogniverse-phoenix.cogniverse.svc:6006/healthz"}
    for c in pod["spec"]["containers"]:
        assert c["command"][0] == "wget" and "sh" not in c["command"]


@pytest.mark.parametrize("values, checks", [
    ({"runtime": {"enabled": False}}, {"check-vespa-config", "check-phoenix"}),
    ({"vespa": {"enabled": False}}, {"check-runtime", "check-phoenix"}),
    ({"runtime": {"enabled": False}, "vespa": {"enabled": False}}, {"check-phoenix"}),
    ({"runtime": {"enabled": False}, "vespa": {"enabled": False}, "llm": {"enabled": True}}, {"check-phoenix", "check-llm"}),
    ({"runtime": {"enabled": False}, "vespa": {"enabled": False}, "phoenix": {"enabled": False}}, None),
    ({"tests": {"enabled": False}}, None),
])
def test_helm_test_pod_checks_only_enabled_services(render_chart, values, checks):
    pod = by_kind(render_chart(values), "Pod").get("cogniverse-test")
    assert (None if pod is None else {c["name"] for c in pod["spec"]["containers"]}) == checks


def render_notes(helm, tmp_path: Path, values: dict[str, Any], release: str = "acme") -> str:
    """NOTES.txt as `helm install` prints it. Helm 4's client-only dry run needs no cluster but
    assumes Kubernetes 1.36, outside Chart.yaml's kubeVersion, so a copy without that line is used."""
    chart = tmp_path / "chart"
    shutil.copytree(CHART_DIR, chart)
    meta = chart / "Chart.yaml"
    meta.write_text(re.sub(r"(?m)^kubeVersion:.*\n", "", meta.read_text()))
    vf = tmp_path / "notes-values.yaml"
    vf.write_text(yaml.safe_dump(values))
    out = helm.run(["install", release, str(chart), "--dry-run=client", "-n", "search", "-f", str(vf)]).stdout
    return out[out.index("NOTES:"):]


def test_notes_tell_how_to_reach_every_enabled_service_and_argo(tmp_path):
    from cogniverse_chart.helm import find_helm

    notes = render_notes(find_helm(4), tmp_path, {"llm": {"enabled": True}, "workflows": {"enabled": False}})
    for cmd in ("kubectl port-forward -n search svc/acme-cogniverse-runtime 8000:8000",
                "kubectl port-forward -n search svc/acme-cogniverse-vespa 8080:8080",
                "kubectl port-forward -n search svc/acme-cogniverse-vespa-config 19071:19071",
                "kubectl port-forward -n search svc/acme-cogniverse-phoenix 6006:6006",
                "kubectl port-forward -n search svc/acme-cogniverse-llm 11434:11434",
                "kubectl port-forward -n argo svc/argo-server 2746:2746",
                "helm test acme -n search"):
        assert cmd in notes, f"missing: {cmd}\n{notes}"


def test_notes_leave_out_disabled_services(tmp_path):
    from cogniverse_chart.helm import find_helm

    notes = render_notes(find_helm(4), tmp_path, {"vespa": {"enabled": False}, "workflows": {"enabled": False}})
    assert "acme-cogniverse-vespa" not in notes and "acme-cogniverse-llm" not in notes
    assert "svc/argo-server 2746:2746" in notes


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


def test_notes_for_the_smoke_profile_only_point_at_argo(tmp_path):
    from cogniverse_chart import PROFILES_DIR
    from cogniverse_chart.helm import find_helm

    values = yaml.safe_load((PROFILES_DIR / "smoke.yaml").read_text())
    notes = render_notes(find_helm(4), tmp_path, {**values, "workflows": {"enabled": False}})
    assert "svc/argo-server 2746:2746" in notes
    for absent in ("svc/acme-cogniverse", "In-cluster addresses", "helm test", "resource-policy"):
        assert absent not in notes, f"{absent!r} in smoke NOTES:\n{notes}"


def test_every_own_schema_key_has_a_description():
    """The README values table is generated from the schema, so a key without a description is a blank row."""
    schema_dir = CHART_DIR / "schema"
    missing = []

    def walk(node: dict[str, Any], path: str) -> None:
        for key, sub in (node.get("properties") or {}).items():
            if not sub.get("description"):
                missing.append(f"{path}.{key}")
            walk(sub, f"{path}.{key}")

    for key in OWN_KEYS:
        part = yaml.safe_load((schema_dir / f"{key}.yaml").read_text())
        if not part.get("description"):
            missing.append(key)
        walk(part, key)
    assert not missing, f"schema keys without a description: {missing}"


def test_notes_list_the_enabled_workflows_and_how_to_run_them(tmp_path):
    from cogniverse_chart.helm import find_helm

    values = {"argo": {"requireCRDs": False},  # a client-only dry run sees no Argo API
              "workflows": {"templates": {"tenantProvisioning": {"enabled": False}},
                            "cronWorkflows": {"monthlyReports": {"enabled": False},
                                              "dailyBackup": {"suspend": True}}}}
    notes = render_notes(find_helm(4), tmp_path, values)
    templates = next(line for line in notes.splitlines() if "WorkflowTemplates:" in line).split()[1:]
    crons = next(line for line in notes.splitlines() if "CronWorkflows:" in line).split(":", 1)[1]
    assert templates == ["video-ingestion", "batch-optimization"]
    assert crons.split() == ["daily-backup", "(suspended)", "daily-cleanup", "daily-optimization-check",
                             "weekly-dspy-optimization", "weekly-optimization"]
    assert "argo submit --from workflowtemplate/video-ingestion -n search" in notes
    assert "cogniverse-chart submit video-ingestion -n search" in notes
    assert "cogniverse-newcorp-inc" in notes
    assert "Argo Workflows in namespace" not in render_notes(find_helm(4), tmp_path / "off",
                                                             {"workflows": {"enabled": False}})
