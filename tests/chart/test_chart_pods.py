"""The service pods: pinned images, requests/limits and probes, Pod Security `restricted`."""

from __future__ import annotations

import pytest

from chart_utils import ALL_ON, UPSTREAM_REPOS, by_kind, pod_specs


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
