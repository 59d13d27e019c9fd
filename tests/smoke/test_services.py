"""The services run for real (issue 14): Phoenix and Ollama pods from the images built on this machine
(images/phoenix, images/ollama; imported into the node by scripts/local_cluster.sh), installed from
values/local.yaml into a namespace of their own. The service pods must pass the `restricted` Pod
Security Standard (checked with a server-side dry run of the namespace label, before any workflow
runs); the namespace itself enforces `baseline`, because Argo's executor containers (`init`, `wait`)
carry no securityContext and `restricted` would refuse every workflow pod.

Checked: the pods become Ready under the chart's security context, their volumes bind on local-path,
the probes answer on the chart's paths and ports, `helm test` passes, Ollama's API serves the pinned
version with an empty model store, a tenant-provisioning workflow creates the tenant's Phoenix project
through the chart's PHOENIX_URL (cluster DNS) and a later step reads it back, and the project survives
`helm upgrade` and `helm uninstall` + reinstall (the data PVC is kept).

The tests run in file order on one release. Requests to the services go through the API server's
Service proxy (the node's API server reaches pod IPs over its bridge), never a port-forward.
SERVICES_RUNNER_TAG=T installs the workflows with smoke-runner tag T instead of the profile's (to try
a runner build on a shared cluster without replacing the image other runs use).
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from cogniverse_chart import versions
from serviceslib import CLAIMS, LLM, NAMESPACE, PHOENIX, PSA, SUFFIX, TENANT, Services, Tenant, pod_state
from smokelib import RELEASE, explain

pytestmark = [pytest.mark.smoke, pytest.mark.group("services")]


@pytest.fixture(scope="module")
def svc(services: Services) -> Services:
    """The session's service release (conftest.py `services`); the tests below run on it in file order, and
    what they leave (the upgrade, the reinstall) is what the session's later tests see."""
    return services


def test_service_images_are_imported_into_the_node(svc: Services):
    """Both images exist on the node under the exact references the chart renders (pullPolicy Never)."""
    names = {n for node in svc.core.list_node().items for img in node.status.images or [] for n in img.names or []}
    for dep in (PHOENIX, LLM):
        image = svc.apps.read_namespaced_deployment(dep, NAMESPACE).spec.template.spec.containers[0].image
        assert image in names or f"docker.io/{image}" in names, (
            f"{image} (deployment {dep}) is not on the node: build and import it with scripts/local_cluster.sh up "
            f"(images/phoenix/build.sh, images/ollama/build.sh)")


@pytest.mark.parametrize("deployment", [PHOENIX, LLM])
def test_pod_becomes_ready_under_the_restricted_security_context(svc: Services, deployment: str):
    pod = svc.wait_ready(deployment)
    print(f"services: {deployment} Ready {svc.startup[deployment]:.0f}s after its pod was created")
    spec = pod.spec
    assert spec.security_context.run_as_non_root is True and spec.security_context.run_as_user not in (None, 0)
    for c in spec.containers:
        sc = c.security_context
        assert sc.read_only_root_filesystem is True, f"{deployment}/{c.name}: root filesystem is writable"
        assert sc.allow_privilege_escalation is False and sc.capabilities.drop == ["ALL"], f"{deployment}/{c.name}"
    restarts = sum(cs.restart_count for cs in pod.status.container_statuses)
    assert restarts == 0, f"{deployment}: {pod_state(pod)}"


def test_service_pods_pass_the_restricted_pod_security_standard(svc: Services):
    """The API server's own PodSecurity check: a dry-run `enforce=restricted` label lists every running
    pod that would violate it (run before any workflow pod exists in the namespace)."""
    for dep in (PHOENIX, LLM):
        svc.wait_ready(dep)
    proc = subprocess.run(["kubectl", "label", "--dry-run=server", "--overwrite", "namespace", NAMESPACE,
                           f"{PSA}=restricted"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "KUBECONFIG": svc.rel.kubeconfig})
    assert proc.returncode == 0, proc.stderr
    assert "violate" not in proc.stderr, f"pods that `restricted` would refuse:\n{proc.stderr}"


@pytest.mark.parametrize("deployment", [PHOENIX, LLM])
def test_data_volume_is_bound_on_local_path(svc: Services, deployment: str):
    svc.wait_ready(deployment)
    pvc = svc.core.read_namespaced_persistent_volume_claim(CLAIMS[deployment], NAMESPACE)
    assert pvc.status.phase == "Bound", f"{CLAIMS[deployment]} is {pvc.status.phase}"
    assert pvc.spec.storage_class_name == "local-path"
    assert (pvc.metadata.annotations or {}).get("helm.sh/resource-policy") == "keep"


@pytest.mark.parametrize("deployment,path", [(PHOENIX, "/healthz"), (LLM, "/api/version")])
def test_probes_answer_on_the_charts_paths_and_ports(svc: Services, deployment: str, path: str):
    pod = svc.wait_ready(deployment)
    c = pod.spec.containers[0]
    for probe in (c.readiness_probe, c.liveness_probe):
        assert probe.http_get.path == path and probe.http_get.port == "http"
    port = next(p.container_port for p in c.ports if p.name == "http")
    assert port == {PHOENIX: 6006, LLM: 11434}[deployment]
    status, body = svc.proxy(deployment, path)
    assert status == 200, f"{deployment} {path}: HTTP {status}: {body[:200]}"


def test_ollama_serves_the_pinned_version_with_an_empty_model_store(svc: Services):
    svc.wait_ready(LLM)
    status, body = svc.proxy(LLM, "/api/version")
    assert status == 200 and json.loads(body) == {"version": versions.get("OLLAMA_VERSION")}, body
    status, body = svc.proxy(LLM, "/api/tags")
    assert status == 200 and json.loads(body) == {"models": []}, body


def test_helm_test_passes_for_phoenix_and_ollama(svc: Services):
    for dep in (PHOENIX, LLM):
        svc.wait_ready(dep)
    proc = svc.rel.helm_run("test", RELEASE, "--timeout", "3m", check=False)
    assert proc.returncode == 0, f"helm test failed:\n{proc.stdout}\n{proc.stderr}"
    pod = svc.core.read_namespaced_pod(f"{RELEASE}-test", NAMESPACE)
    assert {c.name for c in pod.spec.containers} == {"check-phoenix", "check-llm"}
    assert pod.status.phase == "Succeeded"


def test_workflow_creates_the_tenants_phoenix_project_through_cluster_dns(svc: Services, phoenix_tenant: Tenant):
    # The session's one provisioning run (conftest.py phoenix_tenant): the project did not exist before it.
    assert phoenix_tenant.project_before is None
    result, rel = phoenix_tenant.result, svc.rel
    assert result.succeeded, explain(result)
    steps = result.nodes_by_display_name()
    assert steps["create-phoenix-project"].outputs.get("project") == TENANT
    assert steps["verify-tenant"].phase == "Succeeded"  # it reads the project back through PHOENIX_URL
    tmpl = rel.argo.get("workflowtemplates", "tenant-provisioning")
    env = {e["name"]: e.get("value") for t in tmpl["spec"]["templates"]
           if t["name"] == "create-phoenix-project" for e in t["container"].get("env", [])}
    assert env.get("PHOENIX_URL") == f"http://{PHOENIX}.{NAMESPACE}.svc:6006", env
    project = svc.project(TENANT)
    assert project and project["description"] == "Services Tenant", project


def test_phoenix_project_survives_helm_upgrade(svc: Services):
    before = svc.project(TENANT)
    assert before, "the workflow test did not create the project"
    old = svc.wait_ready(PHOENIX).metadata.uid
    svc.install("--reuse-values", "--set-string", f"phoenix.podAnnotations.cogniverse\\.dev/upgrade={SUFFIX}")
    pod = svc.wait_ready(PHOENIX)
    assert pod.metadata.uid != old, "helm upgrade did not replace the Phoenix pod"
    assert svc.project(TENANT) == before


def test_phoenix_project_survives_uninstall_and_reinstall(svc: Services):
    before = svc.project(TENANT)
    assert before, "the workflow test did not create the project"
    volume = svc.core.read_namespaced_persistent_volume_claim(CLAIMS[PHOENIX], NAMESPACE).spec.volume_name
    svc.rel.helm_run("uninstall", RELEASE, "--wait", "--timeout", "5m")
    kept = svc.core.read_namespaced_persistent_volume_claim(CLAIMS[PHOENIX], NAMESPACE)
    assert kept.spec.volume_name == volume and kept.metadata.deletion_timestamp is None
    svc.install()
    svc.wait_ready(PHOENIX)
    svc.wait_ready(LLM)
    print("services: start-up after reinstall " + ", ".join(f"{k} {v:.0f}s" for k, v in svc.startup.items()))
    assert svc.project(TENANT) == before
