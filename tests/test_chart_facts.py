"""Facts the chart states once and derives everywhere else: every copy agrees with its source.

Service wiring: the Services the chart renders are the truth a client meets. Everything that names a
service (the runtime's environment, every workflow step's environment, NOTES.txt, the NetworkPolicies,
the helm test Pod) derives from one helper, `cogniverse.services`; these tests check each consumer
against the rendered Services and workloads for every profile and with services switched off.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from cogniverse_chart import CHART_DIR
from cogniverse_chart.documents import Document
from cogniverse_chart.helm import find_helm
from cogniverse_chart.render import profiles

#: The address variables of docs/step-contract.md: variable -> (Service component, Service port name).
ADDRESS_VARIABLES = {
    "COGNIVERSE_RUNTIME_URL": ("runtime", "http"),
    "VESPA_URL": ("vespa", "http-query"),
    "VESPA_CONFIG_URL": ("vespa-config", "http-config"),
    "PHOENIX_URL": ("phoenix", "http"),
    "PHOENIX_OTLP_ENDPOINT": ("phoenix", "grpc-otlp"),
    "LLM_URL": ("llm", "http"),
}
SERVICE_COMPONENTS = ("runtime", "vespa", "phoenix", "llm")

#: (id, profile, values): every profile, and the defaults with services toggled and renamed.
CASES = [(f"profile-{p}", p, {}) for p in sorted(profiles())] + [
    ("all-on", None, {"llm": {"enabled": True}, "networkPolicy": {"enabled": True}}),
    ("no-runtime", None, {"runtime": {"enabled": False}, "networkPolicy": {"enabled": True}}),
    ("no-vespa-phoenix", None, {"vespa": {"enabled": False}, "phoenix": {"enabled": False},
                                "llm": {"enabled": True}, "networkPolicy": {"enabled": True}}),
    ("none", None, {c: {"enabled": False} for c in ("runtime", "vespa", "phoenix")} | {"networkPolicy": {"enabled": True}}),
    ("moved-ports", None, {"fullnameOverride": "search", "llm": {"enabled": True, "service": {"port": 21434}},
                           "runtime": {"containerPort": 9000, "service": {"port": 9999}},
                           "vespa": {"service": {"queryPort": 18080, "configPort": 29071}},
                           "phoenix": {"service": {"uiPort": 16006, "otlpPort": 14317}},
                           "networkPolicy": {"enabled": True}}),
]


def _component(obj: dict[str, Any]) -> str | None:
    return ((obj.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/component")


def service_addresses(docs: list[Document]) -> dict[str, str]:
    """The address variables a client needs, built from the rendered Services (not the templates)."""
    services = {d.name: d.obj for d in docs if d.kind == "Service" and d.obj["spec"].get("clusterIP") != "None"}
    out = {}
    for var, (suffix, port_name) in ADDRESS_VARIABLES.items():
        for name, svc in services.items():
            if not name.endswith(f"-{suffix}"):
                continue
            for p in svc["spec"]["ports"]:
                if p["name"] == port_name:
                    out[var] = f"http://{name}.{svc['metadata']['namespace']}.svc:{p['port']}"
    return out


def container_ports(docs: list[Document]) -> dict[str, set[int]]:
    """component -> the ports its workload's containers listen on."""
    out: dict[str, set[int]] = {}
    for d in docs:
        if d.kind in ("Deployment", "StatefulSet") and _component(d.obj) in SERVICE_COMPONENTS:
            for c in d.obj["spec"]["template"]["spec"]["containers"]:
                out.setdefault(_component(d.obj), set()).update(p["containerPort"] for p in c.get("ports", []))
    return out


def addresses_in(env: list[dict[str, Any]]) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in env if e["name"] in ADDRESS_VARIABLES}


def step_containers(docs: list[Document]):
    for d in docs:
        if d.kind not in ("WorkflowTemplate", "CronWorkflow"):
            continue
        spec = d.obj["spec"].get("workflowSpec", d.obj["spec"])
        for t in spec["templates"]:
            if "container" in t:
                yield f"{d.kind}/{d.name}/{t['name']}", t["container"]


@pytest.fixture(params=CASES, ids=[c[0] for c in CASES])
def case(request, render_chart):
    _, profile, values = request.param
    return render_chart(values, profile=profile)


def test_every_workflow_step_gets_the_address_of_every_enabled_service(case):
    want = service_addresses(case)
    steps = list(step_containers(case))
    for where, container in steps:
        assert addresses_in(container.get("env", [])) == want, where


def test_the_runtime_gets_the_address_of_every_enabled_service(case):
    want = service_addresses(case)
    runtime = [d.obj for d in case if d.kind == "Deployment" and _component(d.obj) == "runtime"]
    for dep in runtime:
        env = dep["spec"]["template"]["spec"]["containers"][0]["env"]
        assert addresses_in(env) == want
        otel = {e["name"]: e["value"] for e in env}.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        assert otel == want.get("PHOENIX_OTLP_ENDPOINT"), "traces go to Phoenix's OTLP port, or nowhere"


def test_network_policies_open_exactly_the_ports_each_enabled_workload_listens_on(case):
    ports = container_ports(case)
    policies = {_component(d.obj): d.obj for d in case if d.kind == "NetworkPolicy"}
    if not policies:
        return
    assert set(policies) == set(ports), "one NetworkPolicy per enabled service component"
    for component, pol in policies.items():
        opened = {p["port"] for rule in pol["spec"]["ingress"] for p in rule["ports"]}
        assert opened == ports[component], component


def test_every_service_targets_a_port_its_workload_listens_on(case):
    named: dict[str, dict[str, int]] = {}
    for d in case:
        if d.kind in ("Deployment", "StatefulSet") and _component(d.obj) in SERVICE_COMPONENTS:
            for c in d.obj["spec"]["template"]["spec"]["containers"]:
                named.setdefault(_component(d.obj), {}).update({p["name"]: p["containerPort"] for p in c.get("ports", [])})
    for d in case:
        if d.kind == "Service" and _component(d.obj) in SERVICE_COMPONENTS:
            pod_ports = named[_component(d.obj)]
            for p in d.obj["spec"]["ports"]:
                assert p["targetPort"] in pod_ports, f"Service {d.name} port {p['name']}"
                if d.obj["spec"].get("clusterIP") == "None":  # headless: pod DNS names, pod ports
                    assert p["port"] == pod_ports[p["targetPort"]], f"headless Service {d.name}"


def test_the_helm_test_pod_calls_the_rendered_services(case):
    want = service_addresses(case)
    pods = [d.obj for d in case if d.kind == "Pod"]
    for pod in pods:
        urls = [c["command"][-1] for c in pod["spec"]["containers"]]
        assert urls, "a helm test Pod with no check"
        for url in urls:
            assert any(url.startswith(base + "/") for base in want.values()), url


# --- NOTES.txt ----------------------------------------------------------------------------------

def notes_for(tmp_path: Path, profile: str | None, values: dict[str, Any]) -> str:
    """NOTES.txt as `helm install` prints it (Helm 4's client-only dry run; it assumes a Kubernetes
    newer than Chart.yaml's kubeVersion allows, so a copy of the chart without that line is used)."""
    chart = shutil.copytree(CHART_DIR, tmp_path / "cogniverse")
    meta = chart / "Chart.yaml"
    meta.write_text("".join(line for line in meta.read_text().splitlines(True) if not line.startswith("kubeVersion:")))
    extra = tmp_path / "extra.yaml"
    extra.write_text(yaml.safe_dump(values))
    files = (["-f", str(CHART_DIR.parents[1] / "values" / f"{profile}.yaml")] if profile else []) + ["-f", str(extra)]
    out = find_helm(4).run(["install", "cogniverse", str(chart), "--dry-run=client", "-n", "cogniverse", *files]).stdout
    return out[out.index("NOTES:"):]


@pytest.mark.parametrize("_id, profile, values", [CASES[0], CASES[-5], CASES[-3], CASES[-1]],
                         ids=[CASES[i][0] for i in (0, -5, -3, -1)])
def test_notes_list_exactly_the_rendered_services(tmp_path, render_chart, _id, profile, values):
    docs = render_chart(values, profile=profile)
    want = service_addresses(docs)
    notes = notes_for(tmp_path, profile, values)
    listed = dict(re.findall(r"(?m)^  ([A-Z_]+) += (\S+)$", notes))
    assert listed == want
    services = {d.name: {p["port"] for p in d.obj["spec"]["ports"]} for d in docs if d.kind == "Service"}
    forwards = re.findall(r"kubectl port-forward -n cogniverse svc/(\S+) (\d+):(\d+)", notes)
    assert {name for name, _, _ in forwards} == {n for n in services if not n.endswith("-headless")}
    for name, local, remote in forwards:
        assert int(remote) in services[name] and local == remote, name
