"""The service release of the smoke suite's service modules (test_services.py, test_restore_drill.py):
Phoenix and Ollama from the images built on this machine, installed from values/local.yaml into a
namespace of their own. Requests go through the API server's Service proxy, never a port-forward."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from cogniverse_chart import CHART_DIR, PROFILES_DIR
from smokelib import RELEASE, SmokeRelease

LOCAL_VALUES = PROFILES_DIR / "local.yaml"
PHOENIX = f"{RELEASE}-phoenix"
LLM = f"{RELEASE}-llm"
CLAIMS = {PHOENIX: f"{RELEASE}-phoenix-data", LLM: f"{RELEASE}-llm-models"}
READY_TIMEOUT = 600  # a cold node unpacks the Phoenix image (about 1 GB) before the first start


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
