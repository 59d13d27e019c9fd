"""One name per port (docs/ports.md): the container port, the Service port and its targetPort carry the
same name, the table of docs/ports.md maps each name to its values key and environment variables, and
both follow the rendered chart, with the default and with moved ports."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from chart_utils import by_kind, render_chart
from cogniverse_chart import CHART_DIR, REPO_ROOT

ROW = re.compile(r"^\| (runtime|vespa|phoenix|llm) \|(.*)\|$", re.M)
#: (component, Service, port name, container port, Service port's values key, steps' variable, server's setting)
TABLE = [(m[1], *(c.strip().strip("`") for c in m[2].split("|")))
         for m in ROW.finditer((REPO_ROOT / "docs" / "ports.md").read_text(encoding="utf-8"))]
VALUES = yaml.safe_load((CHART_DIR / "values.yaml").read_text(encoding="utf-8"))
MOVED = {"llm": {"enabled": True, "service": {"port": 21434}}, "runtime": {"containerPort": 9000, "service": {"port": 9999}},
         "vespa": {"service": {"queryPort": 18080, "configPort": 29071}},
         "phoenix": {"service": {"uiPort": 16006, "otlpPort": 14317}}}


def value(values: dict[str, Any], dotted: str) -> Any:
    for key in dotted.split("."):
        values = values[key]
    return values


def merged(path: str, moved: bool) -> Any:
    try:
        return value(MOVED, path) if moved else value(VALUES, path)
    except KeyError:
        return value(VALUES, path)


def workload(docs, component: str) -> dict:
    return next(d.obj for d in docs if d.kind in ("Deployment", "StatefulSet")
                and d.obj["metadata"]["labels"].get("app.kubernetes.io/component") == component)


def test_the_table_lists_every_port_of_every_component():
    assert len(TABLE) == 6
    docs = render_chart({"llm": {"enabled": True}})
    rendered = {(c, p["name"]) for c in ("runtime", "vespa", "phoenix", "llm")
                for p in workload(docs, c)["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert rendered == {(component, name) for component, _, name, *_ in TABLE}


@pytest.mark.parametrize("moved", [False, True], ids=["defaults", "moved-ports"])
def test_each_port_has_one_name_from_container_to_service_to_the_steps_address(moved):
    docs = render_chart({"llm": {"enabled": True}, **(MOVED if moved else {})})
    services = by_kind(docs, "Service")
    step_env = {e["name"]: e["value"] for d in docs if d.kind == "WorkflowTemplate"
                for t in d.obj["spec"]["templates"] if "container" in t for e in t["container"].get("env", [])}
    for component, service, name, container_port, service_key, variable, own in TABLE:
        container = workload(docs, component)["spec"]["template"]["spec"]["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        number = merged(container_port, moved) if not container_port.isdigit() else int(container_port)
        assert ports[name] == number, (component, name)
        svc = services[f"cogniverse-{service}"]
        (port,) = [p for p in svc["spec"]["ports"] if p["name"] == name]
        assert port["targetPort"] == name and port["port"] == merged(service_key, moved), (service, name)
        assert step_env[variable] == f"http://cogniverse-{service}.cogniverse.svc:{port['port']}", variable
        if own:
            env = {e["name"]: e.get("value") for e in container["env"]}
            assert str(number) in env[own], (component, own)


def test_every_service_port_targets_the_container_port_of_its_own_name():
    docs = render_chart({"llm": {"enabled": True}}, profile="production") + render_chart({"llm": {"enabled": True}})
    for d in docs:
        if d.kind == "Service":
            for p in d.obj["spec"]["ports"]:
                assert p["targetPort"] in (p["name"], p["port"]), (d.name, p)


def test_the_runtime_sends_traces_to_phoenixs_otlp_port():
    docs = render_chart(MOVED)
    env = {e["name"]: e.get("value") for e in workload(docs, "runtime")["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == env["PHOENIX_OTLP_ENDPOINT"] == "http://cogniverse-phoenix.cogniverse.svc:14317"
