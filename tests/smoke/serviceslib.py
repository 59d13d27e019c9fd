"""The service release of the smoke suite's service modules (test_services.py, test_restore_drill.py):
Phoenix and Ollama from the images built on this machine, installed from values/local.yaml into a
namespace of their own. Requests go through the API server's Service proxy, never a port-forward.

The session's service release (`open_services`, `close_services`) and its one tenant-provisioning run
(`provision_tenant`) are conftest.py's session fixtures `services` and `phoenix_tenant`: every test of the
session that needs Phoenix with a provisioned tenant (test_services.py) shares them."""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

from cogniverse_chart import CHART_DIR, PROFILES_DIR
from smokelib import RELEASE, SmokeRelease, WorkflowWatcher

LOCAL_VALUES = PROFILES_DIR / "local.yaml"
PHOENIX = f"{RELEASE}-phoenix"
LLM = f"{RELEASE}-llm"
CLAIMS = {PHOENIX: f"{RELEASE}-phoenix-data", LLM: f"{RELEASE}-llm-models"}
READY_TIMEOUT = 600  # a cold node unpacks the Phoenix image (about 1 GB) before the first start
PSA = "pod-security.kubernetes.io/enforce"
SUFFIX = secrets.token_hex(3)
#: The session's service release and its tenant.
NAMESPACE = f"cvsvc-{SUFFIX}"
TENANT = f"svc_{SUFFIX}"
TENANT_NS = f"cogniverse-svc-{SUFFIX}"


class Services:
    """The release, plus the pod start-up times measured while waiting."""

    def __init__(self, rel: SmokeRelease, core: Any, apps: Any):
        self.rel, self.core, self.apps = rel, core, apps
        self.startup: dict[str, float] = {}

    def install(self, *extra: str) -> None:
        # No --wait: the backups claim binds only when daily-backup mounts it (WaitForFirstConsumer).
        runner = os.environ.get("SERVICES_RUNNER_TAG")
        tag = ("--set-string", f"workflows.runner.image.tag={runner}") if runner else ()
        self.rel.helm_run("upgrade", "--install", RELEASE, str(CHART_DIR), "--values", str(LOCAL_VALUES),
                          "--timeout", "10m", *tag, *extra)

    def wait_ready(self, deployment: str, timeout: float = READY_TIMEOUT) -> Any:
        """The Deployment's one pod once it is Ready (and its rollout finished); records its start-up time."""
        deadline = time.monotonic() + timeout
        last = "no pod yet"
        while time.monotonic() < deadline:
            dep = self.apps.read_namespaced_deployment(deployment, self.rel.namespace)
            st = dep.status
            done = (st.observed_generation or 0) >= dep.metadata.generation and (st.updated_replicas or 0) == 1 \
                and (st.ready_replicas or 0) == 1 and (st.replicas or 0) == 1
            selector = ",".join(f"{k}={v}" for k, v in dep.spec.selector.match_labels.items())
            pods = [p for p in self.core.list_namespaced_pod(self.rel.namespace, label_selector=selector).items
                    if p.metadata.deletion_timestamp is None]
            if done and len(pods) == 1:
                pod = pods[0]
                ready = next(c for c in pod.status.conditions if c.type == "Ready")
                if ready.status == "True":
                    self.startup[deployment] = (ready.last_transition_time - pod.metadata.creation_timestamp).total_seconds()
                    return pod
            last = "; ".join(pod_state(p) for p in pods) or "no pod yet"
            time.sleep(2)
        events = [f"{e.involved_object.name}: {e.reason}: {e.message}" for e in
                  self.core.list_namespaced_event(self.rel.namespace).items if e.type == "Warning"][-8:]
        raise AssertionError(f"deployment {deployment} not Ready after {timeout:.0f}s: {last}\n" + "\n".join(events))

    def proxy(self, service: str, path: str) -> tuple[int, str]:
        """GET http://<service>:http/<path> through the API server's Service proxy: (status, body)."""
        from kubernetes.client.exceptions import ApiException

        try:
            resp = self.core.connect_get_namespaced_service_proxy_with_path(
                f"{service}:http", self.rel.namespace, path.lstrip("/"), _preload_content=False)
            return resp.status, resp.data.decode()
        except ApiException as exc:
            return exc.status, exc.body.decode() if isinstance(exc.body, bytes) else str(exc.body)

    def project(self, name: str) -> dict[str, Any] | None:
        status, body = self.proxy(PHOENIX, f"v1/projects/{name}")
        if status == 404:
            return None
        assert status == 200, f"GET /v1/projects/{name} on Phoenix: HTTP {status}: {body[:300]}"
        return json.loads(body)["data"]


def pod_state(pod: Any) -> str:
    parts = [f"{pod.metadata.name} {pod.status.phase}"]
    for cs in pod.status.container_statuses or []:
        if cs.state.waiting:
            parts.append(f"{cs.name} waiting {cs.state.waiting.reason}: {cs.state.waiting.message or ''}".strip())
        if cs.last_state and cs.last_state.terminated:
            t = cs.last_state.terminated
            parts.append(f"{cs.name} restarted {cs.restart_count}x, last exit {t.exit_code} {t.reason}")
    return ", ".join(parts)


def open_services(kubeconfig: str) -> Services:
    """The service release in namespace NAMESPACE (Pod Security `baseline`: Argo's executor containers carry
    no securityContext), installed from values/local.yaml; `close_services` removes it."""
    from kubernetes import client

    from cogniverse_chart.argo import ArgoClient
    from cogniverse_chart.argo.client import load_kube_config
    from cogniverse_chart.helm import find_helm

    assert LOCAL_VALUES.is_file(), f"{LOCAL_VALUES} is missing: the services need the offline node's profile"
    load_kube_config(kubeconfig)
    core, apps = client.CoreV1Api(), client.AppsV1Api()
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE, labels={PSA: "baseline"})))
    rel = SmokeRelease(NAMESPACE, RELEASE, find_helm(), kubeconfig, ArgoClient(client.CustomObjectsApi(), NAMESPACE), 0.0)
    rel.tenant_namespaces.add(TENANT_NS)
    s = Services(rel, core, apps)
    start = time.monotonic()
    s.install()
    rel.install_seconds = time.monotonic() - start
    return s


def close_services(s: Services) -> None:
    from kubernetes import client

    if s.rel.watcher:
        s.rel.watcher.stop()
    s.rel.helm_run("uninstall", RELEASE, "--wait", "--timeout", "5m", check=False)
    for ns in (TENANT_NS, NAMESPACE):  # the kept PVCs go with the namespace
        try:
            s.core.delete_namespace(ns)
        except client.exceptions.ApiException as exc:
            if exc.status != 404:
                raise


@dataclass
class Tenant:
    """The session's one provisioned tenant of the service release: its run, and Phoenix's answer for its
    project just before the run (None: the project did not exist)."""

    id: str
    result: Any
    project_before: dict[str, Any] | None


def provision_tenant(s: Services) -> Tenant:
    """One tenant-provisioning run for TENANT, once Phoenix is Ready, waited for on the namespace's watch."""
    s.wait_ready(PHOENIX)
    before = s.project(TENANT)
    if s.rel.watcher is None:
        s.rel.watcher = WorkflowWatcher(s.rel.argo.api, NAMESPACE)
    name = s.rel.argo.submit("tenant-provisioning", {"tenant-id": TENANT, "tenant-name": "Services Tenant",
                                                     "cpu-quota": "1", "memory-quota": "1Gi", "storage-quota": "1Gi"})
    return Tenant(TENANT, s.rel.wait(name), before)
