"""The disaster drill (issue 22): real Phoenix data is backed up by daily-backup, destroyed, and brought back
by the restore WorkflowTemplate, on the node, with the Phoenix image built here (values/local.yaml).

1. 10,000 spans (1,000 traces of 10) reach Phoenix over OTLP/HTTP, a project and a dataset are created
   through Phoenix's REST API; the test reads back every span id, project id, dataset id and example id.
2. daily-backup runs (Phoenix's SQLite online backup in the Phoenix image, beside the running Phoenix).
3. The disaster: Phoenix stopped and its data claim deleted (the volume goes with it); helm upgrade
   recreates an empty claim and Phoenix starts on an empty database.
4. restore (backup-id = the daily-backup run) stops Phoenix, restores, starts it; every id read back is
   the same. A second restore (backup-id=latest) gives the same result.
5. A corrupted backup (one byte flipped) is refused, naming it, with Phoenix never stopped and its data
   unchanged. A full backups volume (a small tmpfs over the volume's folder on the node) fails
   daily-backup with "the backups volume is full" and leaves the previous complete backup intact.

Requests go through the API server's Service proxy (OTLP too), never a port-forward. Steps 4 and 5 edit
the backups volume's folder on the node's host (local-path), as an operator with disk access would: the
drill runs on the local node (scripts/test.sh runs it in the last Argo leg, beside test_services.py).
Figures (sizes, durations) are printed with the prefix `drill:`.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from cogniverse_chart.argo import ArgoClient
from cogniverse_chart.argo.client import load_kube_config
from cogniverse_chart.helm import find_helm
from serviceslib import CLAIMS, PHOENIX, Services
from smokelib import RELEASE, SmokeRelease, WorkflowWatcher, explain

pytestmark = pytest.mark.smoke

SUFFIX = secrets.token_hex(3)
NAMESPACE = f"cvdrill-{SUFFIX}"
TRACE_PROJECT = f"drill-traces-{SUFFIX}"
API_PROJECT = f"drill-api-{SUFFIX}"
DATASET = f"drill-dataset-{SUFFIX}"
TRACES, SPANS_PER_TRACE = 1000, 10
BACKUPS_CLAIM = f"{RELEASE}-workflow-backups"
# Fast retries: a refused restore or a full volume must fail in seconds, not after the 7-minute backoff.
OVERRIDES = ("--set", "llm.enabled=false", "--set", "tests.enabled=false", "--set", "workflows.retry.limit=1",
             "--set-string", "workflows.retry.backoff.duration=2s", "--set-string", "workflows.retry.backoff.maxDuration=10s")


class Drill(Services):
    """The release plus Phoenix's REST API through the Service proxy."""

    state: dict[str, Any] = {}

    def call(self, method: str, path: str, body: Any = None, query: list[tuple[str, Any]] | None = None) -> Any:
        cfg, session = api_session()
        resp = session.request(method, f"{cfg.host}/api/v1/namespaces/{NAMESPACE}/services/{PHOENIX}:http/proxy/"
                               f"{path.lstrip('/')}", params=query or [], json=body, timeout=120)
        assert resp.status_code < 300, f"{method} {path} on Phoenix: HTTP {resp.status_code}: {resp.text[:300]}"
        return resp.json() if resp.content else None

    def snapshot(self) -> dict[str, Any]:
        """Every id the drill checks: projects, datasets with their example ids, the trace project's spans."""
        projects = {p["name"]: p["id"] for p in self.call("GET", "v1/projects", query=[("limit", 100)])["data"]}
        datasets = {}
        for d in self.call("GET", "v1/datasets", query=[("limit", 100)])["data"]:
            examples = self.call("GET", f"v1/datasets/{d['id']}/examples")["data"]["examples"]
            datasets[d["name"]] = {"id": d["id"], "examples": sorted(e["id"] for e in examples)}
        spans: list[str] = []
        cursor = None
        while TRACE_PROJECT in projects:
            q = [("limit", 1000)] + ([("cursor", cursor)] if cursor else [])
            page = self.call("GET", f"v1/projects/{TRACE_PROJECT}/spans", query=q)
            spans += [s["context"]["span_id"] for s in page["data"]]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return {"projects": projects, "datasets": datasets, "spans": sorted(spans)}

    def run(self, template: str, params: dict[str, str] | None = None, cron: bool = False) -> tuple[Any, float]:
        start = time.monotonic()
        argo = self.rel.argo
        name = argo.trigger(template) if cron else argo.submit(template, params or {})
        return self.rel.wait(name), time.monotonic() - start

    def backups_dir(self) -> Path:
        """The backups volume's folder on the node's host (local-path)."""
        pvc = self.core.read_namespaced_persistent_volume_claim(BACKUPS_CLAIM, NAMESPACE)
        pv = self.core.read_persistent_volume(pvc.spec.volume_name)
        path = Path((pv.spec.host_path or pv.spec.local).path)
        assert path.is_dir(), f"{path} (the backups volume {pv.metadata.name}) is not on this host: the drill runs on the local node"
        return path


def api_session() -> tuple[Any, Any]:
    """The kubernetes client's configuration and a requests session with its credentials. The session
    ignores REQUESTS_CA_BUNDLE, which requests would otherwise put in place of the API server's CA."""
    import requests
    from kubernetes import client

    cfg = client.Configuration.get_default_copy()
    session = requests.Session()
    session.trust_env = False
    session.verify = cfg.ssl_ca_cert or True
    if cfg.cert_file:
        session.cert = (cfg.cert_file, cfg.key_file)
    auth = cfg.api_key.get("authorization") or cfg.api_key.get("BearerToken")
    if auth:
        session.headers["Authorization"] = auth
    return cfg, session


def send_spans() -> set[str]:
    """TRACES traces of SPANS_PER_TRACE spans to Phoenix's OTLP/HTTP endpoint through the API server."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    cfg, session = api_session()
    exporter = OTLPSpanExporter(
        endpoint=f"{cfg.host}/api/v1/namespaces/{NAMESPACE}/services/{PHOENIX}:http/proxy/v1/traces",
        certificate_file=cfg.ssl_ca_cert or True, timeout=60, session=session)
    provider = TracerProvider(resource=Resource.create({"openinference.project.name": TRACE_PROJECT,
                                                        "service.name": "restore-drill"}))
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=TRACES * SPANS_PER_TRACE,
                                                   max_export_batch_size=500, schedule_delay_millis=200))
    tracer = provider.get_tracer("restore-drill")
    ids = set()
    for t in range(TRACES):
        with tracer.start_as_current_span(f"request-{t}") as root:
            ids.add(format(root.get_span_context().span_id, "016x"))
            for s in range(SPANS_PER_TRACE - 1):
                with tracer.start_as_current_span(f"step-{s}", attributes={"drill.trace": t}) as span:
                    ids.add(format(span.get_span_context().span_id, "016x"))
    assert provider.force_flush(120_000), "the OTLP exporter did not flush its spans within 120 s"
    provider.shutdown()
    return ids


@pytest.fixture(scope="module")
def drill(kube_cluster: Any) -> Iterator[Drill]:
    from kubernetes import client

    load_kube_config(kube_cluster.kube_config_path)
    core, apps = client.CoreV1Api(), client.AppsV1Api()
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
        name=NAMESPACE, labels={"pod-security.kubernetes.io/enforce": "baseline"})))
    rel = SmokeRelease(NAMESPACE, RELEASE, find_helm(), kube_cluster.kube_config_path,
                       ArgoClient(client.CustomObjectsApi(), NAMESPACE), 0.0)
    d = Drill(rel, core, apps)
    try:
        d.install(*OVERRIDES)
        rel.watcher = WorkflowWatcher(rel.argo.api, NAMESPACE)
        d.wait_ready(PHOENIX)
        yield d
    finally:
        if rel.watcher:
            rel.watcher.stop()
        rel.helm_run("uninstall", RELEASE, "--wait", "--timeout", "5m", check=False)
        try:
            core.delete_namespace(NAMESPACE)
        except client.exceptions.ApiException as exc:
            if exc.status != 404:
                raise


def test_spans_projects_and_datasets_are_in_phoenix(drill: Drill):
    start = time.monotonic()
    sent = send_spans()
    drill.call("POST", "v1/projects", {"name": API_PROJECT, "description": "created by the restore drill"})
    inputs = [{"question": f"question {i}"} for i in range(50)]
    outputs = [{"answer": f"answer {i}"} for i in range(50)]
    drill.call("POST", "v1/datasets/upload", {"action": "create", "name": DATASET, "inputs": inputs, "outputs": outputs},
               query=[("sync", "true")])
    deadline = time.monotonic() + 600
    while True:  # Phoenix inserts spans in the background
        snap = drill.snapshot()
        if len(snap["spans"]) >= len(sent) or time.monotonic() > deadline:
            break
        time.sleep(3)
    print(f"drill: {len(snap['spans'])} spans in Phoenix {time.monotonic() - start:.0f}s after the first was sent")
    assert set(snap["spans"]) == sent, f"Phoenix holds {len(snap['spans'])} of the {len(sent)} spans sent"
    assert API_PROJECT in snap["projects"] and TRACE_PROJECT in snap["projects"]
    assert len(snap["datasets"][DATASET]["examples"]) == 50
    Drill.state["before"] = snap


def test_daily_backup_saves_phoenix_while_it_runs(drill: Drill):
    assert "before" in Drill.state, "the spans test did not record Phoenix's data"
    result, seconds = drill.run("daily-backup", cron=True)
    assert result.succeeded, explain(result)
    folder = drill.backups_dir() / result.name
    manifest = json.loads((folder / "phoenix.complete").read_text())
    db = folder / manifest["files"][0]["path"]
    assert hashlib.sha256(db.read_bytes()).hexdigest() == manifest["files"][0]["sha256"]
    step = next(n for n in result.steps() if n.display_name == "backup-phoenix")
    print(f"drill: daily-backup {result.name} in {seconds:.0f}s; Phoenix {manifest['version']} backup "
          f"{manifest['size']} bytes ({len(Drill.state['before']['spans'])} spans), step started {step.started_at}")
    Drill.state.update(backup=result.name, manifest=manifest)


def test_restore_after_the_claim_is_lost_brings_back_the_same_ids(drill: Drill):
    assert "backup" in Drill.state, "daily-backup did not complete"
    drill.apps.patch_namespaced_deployment_scale(PHOENIX, NAMESPACE, {"spec": {"replicas": 0}})
    # Finished backup pods keep the claim in use (Argo deletes them after podGC's delay): remove them first.
    for pod in drill.core.list_namespaced_pod(NAMESPACE).items:
        if any(v.persistent_volume_claim and v.persistent_volume_claim.claim_name == CLAIMS[PHOENIX] for v in pod.spec.volumes or []):
            drill.core.delete_namespaced_pod(pod.metadata.name, NAMESPACE)
    drill.core.delete_namespaced_persistent_volume_claim(CLAIMS[PHOENIX], NAMESPACE)
    deadline = time.monotonic() + 180
    while [p for p in drill.core.list_namespaced_persistent_volume_claim(NAMESPACE).items
           if p.metadata.name == CLAIMS[PHOENIX]]:  # the claim, and with it the volume, goes
        assert time.monotonic() < deadline, f"{CLAIMS[PHOENIX]} still exists 180 s after it was deleted"
        time.sleep(1)
    drill.install("--reuse-values")  # an empty claim; Phoenix back at one replica
    drill.wait_ready(PHOENIX)
    empty = drill.snapshot()
    assert TRACE_PROJECT not in empty["projects"] and DATASET not in empty["datasets"], "the data survived the disaster"
    result, seconds = drill.run("restore", {"backup-id": Drill.state["backup"]})
    assert result.succeeded, explain(result)
    pod = drill.wait_ready(PHOENIX)
    after = drill.snapshot()
    print(f"drill: restore of {Drill.state['backup']} in {seconds:.0f}s, Phoenix Ready "
          f"{drill.startup[PHOENIX]:.0f}s after its pod was created; before/after: "
          f"{len(Drill.state['before']['spans'])}/{len(after['spans'])} spans, "
          f"{len(Drill.state['before']['projects'])}/{len(after['projects'])} projects, "
          f"{len(Drill.state['before']['datasets'])}/{len(after['datasets'])} datasets")
    assert after == Drill.state["before"]
    again, _ = drill.run("restore", {"backup-id": "latest"})
    assert again.succeeded, explain(again)
    assert again.node("verify-backup").outputs.get("backup-id") == Drill.state["backup"]
    drill.wait_ready(PHOENIX)
    assert drill.snapshot() == Drill.state["before"], "a second restore changed the data"
    Drill.state["restored_pod"] = pod.metadata.name


def test_a_corrupted_backup_is_refused_and_nothing_changes(drill: Drill):
    assert "backup" in Drill.state, "daily-backup did not complete"
    db = drill.backups_dir() / Drill.state["backup"] / Drill.state["manifest"]["files"][0]["path"]
    pod = drill.wait_ready(PHOENIX).metadata.uid
    raw = bytearray(db.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    db.write_bytes(bytes(raw))
    try:
        result, _ = drill.run("restore", {"backup-id": Drill.state["backup"]})
    finally:
        raw[len(raw) // 2] ^= 0xFF
        db.write_bytes(bytes(raw))
    assert result.phase == "Failed", explain(result)
    message = " ".join(n.message for n in result.nodes if n.display_name.startswith("verify-backup"))
    assert "is corrupted" in message and "nothing changed" in message, explain(result)
    assert result.node("stop-phoenix") is None or result.node("stop-phoenix").phase in ("Skipped", "Omitted")
    assert drill.wait_ready(PHOENIX).metadata.uid == pod, "Phoenix was restarted for a refused restore"
    assert drill.snapshot() == Drill.state["before"]


def test_a_full_backups_volume_fails_clearly_and_keeps_the_previous_backup(drill: Drill):
    assert "backup" in Drill.state, "daily-backup did not complete"
    folder = drill.backups_dir()
    used = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    saved = tempfile.mkdtemp(prefix="drill-backups-")
    subprocess.run(["cp", "-a", f"{folder}/.", saved], check=True)
    # Room for what is there plus a little: the next Phoenix backup (several MB) cannot fit.
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={used + (1 << 20)},mode=0777", "tmpfs", str(folder)], check=True)
    try:
        subprocess.run(["cp", "-a", f"{saved}/.", str(folder)], check=True)
        result, _ = drill.run("daily-backup", cron=True)
        assert result.phase == "Failed", explain(result)
        message = " ".join(n.message for n in result.nodes if n.display_name.startswith("backup-"))
        assert "the backups volume is full" in message and "earlier complete backups are untouched" in message, explain(result)
        previous = folder / Drill.state["backup"]
        manifest = json.loads((previous / "phoenix.complete").read_text())
        for f in manifest["files"]:
            assert hashlib.sha256((previous / f["path"]).read_bytes()).hexdigest() == f["sha256"], f["path"]
        assert not (folder / result.name / "phoenix.complete").exists()
    finally:
        subprocess.run(["umount", str(folder)], check=False)
        subprocess.run(["rm", "-rf", saved], check=False)
    print(f"drill: a full backups volume failed {result.name}: {message[:200]}")


def test_the_restore_account_may_only_scale_phoenix_to_0_or_1(drill: Drill):
    """The API server's RBAC and the chart's admission policy, with the restore account's own token."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    token = drill.core.create_namespaced_service_account_token(
        f"{RELEASE}-workflow-restore", NAMESPACE, {"spec": {"expirationSeconds": 600}}).status.token
    cfg = client.Configuration.get_default_copy()
    cfg.cert_file = cfg.key_file = None
    cfg.api_key = {"authorization": f"Bearer {token}"}
    apps = client.AppsV1Api(client.ApiClient(cfg))
    with pytest.raises(ApiException) as refused:
        apps.patch_namespaced_deployment_scale(PHOENIX, NAMESPACE, {"spec": {"replicas": 2}})
    assert "only to 0 or 1 replicas" in str(refused.value.body), refused.value
    apps.patch_namespaced_deployment_scale(PHOENIX, NAMESPACE, {"spec": {"replicas": 1}})  # admitted (unchanged)
    with pytest.raises(ApiException) as forbidden:
        apps.patch_namespaced_deployment(PHOENIX, NAMESPACE, {"metadata": {"labels": {"drill": "x"}}})
    assert forbidden.value.status == 403
