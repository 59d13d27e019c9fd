"""Scaling of the service components: disruption budgets, autoscaling, anti-affinity, ingress."""

from __future__ import annotations

import pytest

from chart_utils import by_kind, component_docs


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
