"""Who talks to the service components: the service account, and the network policies."""

from __future__ import annotations

from chart_utils import ALL_ON, by_kind, pod_specs


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
