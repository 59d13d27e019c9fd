"""The disaster drills' shared parts (test_restore_drill.py on SQLite, test_restore_drill_postgres.py on the
in-chart PostgreSQL): a release of values/local.yaml in a namespace of its own, Phoenix's REST API and
OTLP/HTTP endpoint through the API server's Service proxy (never a port-forward), the data the drill writes
and reads back, and the checks both databases must pass (a corrupted backup refused with nothing changed, a
full backups volume failing clearly). Not a test file."""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

from cogniverse_chart.argo import ArgoClient
from cogniverse_chart.argo.client import load_kube_config
from cogniverse_chart.helm import find_helm
from serviceslib import PHOENIX, Services
from smokelib import RELEASE, SmokeRelease, WorkflowWatcher, explain

TRACES, SPANS_PER_TRACE = 1000, 10
BACKUPS_CLAIM = f"{RELEASE}-workflow-backups"
# Fast retries: a refused restore or a full volume must fail in seconds, not after the 7-minute backoff.
OVERRIDES = ("--set", "llm.enabled=false", "--set", "tests.enabled=false", "--set", "workflows.retry.limit=1",
             "--set-string", "workflows.retry.backoff.duration=2s", "--set-string", "workflows.retry.backoff.maxDuration=10s")


def drill_names(prefix: str) -> tuple[str, str, str, str]:
    """A run's own names: namespace <prefix>-<hex>, the trace project, the API project, the dataset."""
    suffix = secrets.token_hex(3)
    return f"{prefix}-{suffix}", f"drill-traces-{suffix}", f"drill-api-{suffix}", f"drill-dataset-{suffix}"


class Drill(Services):
    """The release plus Phoenix's REST API through the Service proxy; `trace_project` receives the spans."""

    def __init__(self, rel: SmokeRelease, core: Any, apps: Any, trace_project: str, traces: int = TRACES):
        super().__init__(rel, core, apps)
        self.trace_project = trace_project
        self.traces = traces  # traces of SPANS_PER_TRACE spans that write_data sends
        self.state: dict[str, Any] = {}

    def call(self, method: str, path: str, body: Any = None, query: list[tuple[str, Any]] | None = None) -> Any:
        cfg, session = api_session()
        resp = session.request(method, f"{cfg.host}/api/v1/namespaces/{self.rel.namespace}/services/{PHOENIX}:http/proxy/"
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
        while self.trace_project in projects:
            q = [("limit", 1000)] + ([("cursor", cursor)] if cursor else [])
            page = self.call("GET", f"v1/projects/{self.trace_project}/spans", query=q)
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
        pvc = self.core.read_namespaced_persistent_volume_claim(BACKUPS_CLAIM, self.rel.namespace)
        pv = self.core.read_persistent_volume(pvc.spec.volume_name)
        path = Path((pv.spec.host_path or pv.spec.local).path)
        assert path.is_dir(), f"{path} (the backups volume {pv.metadata.name}) is not on this host: the drill runs on the local node"
        return path


def delete_claim(drill: Drill, claim: str, timeout: float = 180) -> None:
    """Delete a PersistentVolumeClaim (local-path then deletes its volume) and wait until it is gone."""
    drill.core.delete_namespaced_persistent_volume_claim(claim, drill.rel.namespace)
    deadline = time.monotonic() + timeout
    while [p for p in drill.core.list_namespaced_persistent_volume_claim(drill.rel.namespace).items
           if p.metadata.name == claim]:
        assert time.monotonic() < deadline, f"{claim} still exists {timeout:.0f} s after it was deleted"
        time.sleep(1)


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


@contextlib.contextmanager
def open_drill(kube_cluster: Any, namespace: str, trace_project: str, *install_args: str,
               traces: int = TRACES) -> Iterator[Drill]:
    """values/local.yaml (plus OVERRIDES and install_args) in a new namespace, Phoenix Ready; removed after."""
    from kubernetes import client

    load_kube_config(kube_cluster.kube_config_path)
    core, apps = client.CoreV1Api(), client.AppsV1Api()
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
        name=namespace, labels={"pod-security.kubernetes.io/enforce": "baseline"})))
    rel = SmokeRelease(namespace, RELEASE, find_helm(), kube_cluster.kube_config_path,
                       ArgoClient(client.CustomObjectsApi(), namespace), 0.0)
    d = Drill(rel, core, apps, trace_project, traces)
    try:
        d.install(*OVERRIDES, *install_args)
        rel.watcher = WorkflowWatcher(rel.argo.api, namespace)
        d.wait_ready(PHOENIX)
        yield d
    finally:
        if rel.watcher:
            rel.watcher.stop()
        rel.helm_run("uninstall", RELEASE, "--wait", "--timeout", "5m", check=False)
        try:
            core.delete_namespace(namespace)
        except client.exceptions.ApiException as exc:
            if exc.status != 404:
                raise


def send_spans(drill: Drill) -> set[str]:
    """drill.traces traces of SPANS_PER_TRACE spans to Phoenix's OTLP/HTTP endpoint through the API server."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    cfg, session = api_session()
    exporter = OTLPSpanExporter(
        endpoint=f"{cfg.host}/api/v1/namespaces/{drill.rel.namespace}/services/{PHOENIX}:http/proxy/v1/traces",
        certificate_file=cfg.ssl_ca_cert or True, timeout=60, session=session)
    provider = TracerProvider(resource=Resource.create({"openinference.project.name": drill.trace_project,
                                                        "service.name": "restore-drill"}))
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=drill.traces * SPANS_PER_TRACE,
                                                   max_export_batch_size=500, schedule_delay_millis=200))
    tracer = provider.get_tracer("restore-drill")
    ids = set()
    for t in range(drill.traces):
        with tracer.start_as_current_span(f"request-{t}") as root:
            ids.add(format(root.get_span_context().span_id, "016x"))
            for s in range(SPANS_PER_TRACE - 1):
                with tracer.start_as_current_span(f"step-{s}", attributes={"drill.trace": t}) as span:
                    ids.add(format(span.get_span_context().span_id, "016x"))
    assert provider.force_flush(120_000), "the OTLP exporter did not flush its spans within 120 s"
    provider.shutdown()
    return ids


def write_data(drill: Drill, api_project: str, dataset: str) -> dict[str, Any]:
    """Spans over OTLP, a project and a 50-example dataset through the REST API; what Phoenix then holds."""
    start = time.monotonic()
    sent = send_spans(drill)
    drill.call("POST", "v1/projects", {"name": api_project, "description": "created by the restore drill"})
    inputs = [{"question": f"question {i}"} for i in range(50)]
    outputs = [{"answer": f"answer {i}"} for i in range(50)]
    drill.call("POST", "v1/datasets/upload", {"action": "create", "name": dataset, "inputs": inputs, "outputs": outputs},
               query=[("sync", "true")])
    deadline = time.monotonic() + 600
    while True:  # Phoenix inserts spans in the background
        snap = drill.snapshot()
        if len(snap["spans"]) >= len(sent) or time.monotonic() > deadline:
            break
        time.sleep(3)
    print(f"drill: {len(snap['spans'])} spans in Phoenix {time.monotonic() - start:.0f}s after the first was sent")
    assert set(snap["spans"]) == sent, f"Phoenix holds {len(snap['spans'])} of the {len(sent)} spans sent"
    assert api_project in snap["projects"] and drill.trace_project in snap["projects"]
    assert len(snap["datasets"][dataset]["examples"]) == 50
    return snap


def backup(drill: Drill) -> tuple[Any, dict[str, Any]]:
    """daily-backup, its Phoenix manifest checked against the file on the backups volume."""
    result, seconds = drill.run("daily-backup", cron=True)
    assert result.succeeded, explain(result)
    folder = drill.backups_dir() / result.name
    manifest = json.loads((folder / "phoenix.complete").read_text())
    data = folder / manifest["files"][0]["path"]
    assert hashlib.sha256(data.read_bytes()).hexdigest() == manifest["files"][0]["sha256"]
    print(f"drill: daily-backup {result.name} in {seconds:.0f}s; {manifest['software']} {manifest['version']} "
          f"{manifest['format']} backup {manifest['size']} bytes ({len(drill.state['before']['spans'])} spans)")
    return result, manifest


def restore_lost_data(drill: Drill, dataset: str) -> None:
    """After the disaster: Phoenix Ready on an empty database; restore by id, then by `latest`: both give back
    exactly what Phoenix held before."""
    assert "backup" in drill.state, "daily-backup did not complete"
    backup_id = drill.state["backup"]
    drill.wait_ready(PHOENIX)
    empty = drill.snapshot()
    assert drill.trace_project not in empty["projects"] and dataset not in empty["datasets"], "the data survived the disaster"
    result, seconds = drill.run("restore", {"backup-id": backup_id})
    assert result.succeeded, explain(result)
    drill.wait_ready(PHOENIX)
    after = drill.snapshot()
    before = drill.state["before"]
    print(f"drill: restore of {backup_id} in {seconds:.0f}s, Phoenix Ready {drill.startup[PHOENIX]:.0f}s after its "
          f"pod was created; before/after: {len(before['spans'])}/{len(after['spans'])} spans, "
          f"{len(before['projects'])}/{len(after['projects'])} projects, "
          f"{len(before['datasets'])}/{len(after['datasets'])} datasets")
    assert after == before
    again, _ = drill.run("restore", {"backup-id": "latest"})
    assert again.succeeded, explain(again)
    assert again.node("verify-backup").outputs.get("backup-id") == backup_id
    drill.wait_ready(PHOENIX)
    assert drill.snapshot() == before, "a second restore changed the data"


def corrupted_backup_is_refused(drill: Drill) -> None:
    """One byte flipped in the backup: restore fails at verify-backup, Phoenix is never stopped, data unchanged."""
    assert "backup" in drill.state, "daily-backup did not complete"
    backup_id, manifest = drill.state["backup"], drill.state["manifest"]
    data = drill.backups_dir() / backup_id / manifest["files"][0]["path"]
    pod = drill.wait_ready(PHOENIX).metadata.uid
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    try:
        result, _ = drill.run("restore", {"backup-id": backup_id})
    finally:
        raw[len(raw) // 2] ^= 0xFF
        data.write_bytes(bytes(raw))
    assert result.phase == "Failed", explain(result)
    message = " ".join(n.message for n in result.nodes if n.display_name.startswith("verify-backup"))
    assert "is corrupted" in message and "nothing changed" in message, explain(result)
    assert result.node("stop-phoenix") is None or result.node("stop-phoenix").phase in ("Skipped", "Omitted")
    assert drill.wait_ready(PHOENIX).metadata.uid == pod, "Phoenix was restarted for a refused restore"
    assert drill.snapshot() == drill.state["before"]


def full_volume_fails_clearly(drill: Drill, room: int = 1 << 20) -> str:
    """A tmpfs with `room` bytes to spare over the backups volume's folder: daily-backup fails naming the full
    volume, and the previous complete backup stays intact. Returns the failure message."""
    assert "backup" in drill.state, "daily-backup did not complete"
    backup_id = drill.state["backup"]
    folder = drill.backups_dir()
    used = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    saved = tempfile.mkdtemp(prefix="drill-backups-")
    subprocess.run(["cp", "-a", f"{folder}/.", saved], check=True)
    # Room for what is there plus a little: the next Phoenix backup cannot fit.
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={used + room},mode=0777", "tmpfs", str(folder)], check=True)
    try:
        subprocess.run(["cp", "-a", f"{saved}/.", str(folder)], check=True)
        result, _ = drill.run("daily-backup", cron=True)
        assert result.phase == "Failed", explain(result)
        message = " ".join(n.message for n in result.nodes if n.display_name.startswith("backup-"))
        assert "the backups volume is full" in message and "earlier complete backups are untouched" in message, explain(result)
        previous = folder / backup_id
        manifest = json.loads((previous / "phoenix.complete").read_text())
        for f in manifest["files"]:
            assert hashlib.sha256((previous / f["path"]).read_bytes()).hexdigest() == f["sha256"], f["path"]
        assert not (folder / result.name / "phoenix.complete").exists()
    finally:
        subprocess.run(["umount", str(folder)], check=False)
        subprocess.run(["rm", "-rf", saved], check=False)
    print(f"drill: a full backups volume failed {result.name}: {message[:200]}")
    return message
