"""The disaster drill on PostgreSQL (issue 22): Phoenix on the chart's own PostgreSQL (phoenix.database,
the cogniverse/postgresql image built by images/postgresql and imported with the other service images),
backed up by daily-backup with pg_dump, destroyed, and brought back by restore with pg_restore, on the node.

1. 2,000 spans over OTLP/HTTP, a project and a dataset through Phoenix's REST API, read back by id.
2. daily-backup: backup-phoenix runs pg_dump --format=custom in the PostgreSQL image while Phoenix writes;
   its pod reaches PostgreSQL through the chart's NetworkPolicy, which the node enforces (kube-router).
3. The disaster: Phoenix stopped, PostgreSQL stopped and its claim deleted (the volume goes with it);
   PostgreSQL starts on a new, empty volume (initdb with the password of the chart's Secret) and Phoenix
   creates its empty schema in it.
4. restore stops Phoenix, runs pg_restore --clean --if-exists, starts Phoenix: every id read back is the
   same; a second restore (backup-id=latest) gives the same result.
5. A corrupted dump is refused at verify-backup with nothing stopped or changed; a full backups volume
   fails daily-backup with "the backups volume is full" and keeps the previous backup intact.
6. No pod but Phoenix and its backup steps reaches PostgreSQL; the password is in no manifest.

It edits the backups volume's folder on the node's host, as test_restore_drill.py does (shared parts in
drilllib.py), so it runs on the local node. Figures are printed with the prefix `drill:`.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

import pytest

from drilllib import (Drill, backup, corrupted_backup_is_refused, delete_claim, full_volume_fails_clearly, drill_names,
                      open_drill, restore_lost_data, write_data)
from serviceslib import PHOENIX
from smokelib import RELEASE

pytestmark = [pytest.mark.smoke, pytest.mark.group("postgresql")]

NAMESPACE, TRACE_PROJECT, API_PROJECT, DATASET = drill_names("cvdrillpg")
SUFFIX = NAMESPACE.rsplit("-", 1)[1]
POSTGRESQL = f"{RELEASE}-postgresql"
CLAIM = f"data-{POSTGRESQL}-0"
IN_CHART = ("--set", "phoenix.database.type=postgresql", "--set", "phoenix.database.postgresql.inChart.enabled=true",
            "--set", "phoenix.database.postgresql.image.pullPolicy=Never",
            "--set", "phoenix.database.postgresql.inChart.persistence.size=1Gi",
            "--set", "phoenix.persistence.enabled=false")


def wait_postgresql(drill: Drill, replicas: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while True:
        st = drill.apps.read_namespaced_stateful_set(POSTGRESQL, NAMESPACE).status
        pods = drill.core.list_namespaced_pod(NAMESPACE, label_selector="app.kubernetes.io/component=postgresql").items
        if (st.ready_replicas or 0) == replicas and len(pods) == replicas:
            return
        assert time.monotonic() < deadline, f"{POSTGRESQL} not at {replicas} ready replicas after {timeout:.0f}s"
        time.sleep(2)


@pytest.fixture(scope="module")
def drill(kube_cluster: Any) -> Iterator[Drill]:
    # 2,000 spans: the SQLite drill sends 10,000 (the figures of docs/operations.md); this one proves the
    # PostgreSQL path, and the node's two cores run it beside a whole Argo leg.
    with open_drill(kube_cluster, NAMESPACE, TRACE_PROJECT, *IN_CHART, traces=200) as d:
        wait_postgresql(d, 1)
        yield d


def test_phoenix_runs_on_the_chart_postgresql_with_the_password_by_reference(drill: Drill):
    dep = drill.apps.read_namespaced_deployment(PHOENIX, NAMESPACE)
    env = {e.name: e for e in dep.spec.template.spec.containers[0].env}
    assert env["PHOENIX_POSTGRES_HOST"].value == f"{POSTGRESQL}.{NAMESPACE}.svc"
    assert env["PHOENIX_POSTGRES_PASSWORD"].value is None
    assert env["PHOENIX_POSTGRES_PASSWORD"].value_from.secret_key_ref.name == POSTGRESQL
    assert not [v for v in dep.spec.template.spec.volumes or [] if v.persistent_volume_claim], "Phoenix needs no claim"


def test_spans_projects_and_datasets_are_in_phoenix(drill: Drill):
    drill.state["before"] = write_data(drill, API_PROJECT, DATASET)


def test_daily_backup_dumps_postgresql_while_phoenix_runs(drill: Drill):
    assert "before" in drill.state, "the spans test did not record Phoenix's data"
    result, manifest = backup(drill)
    assert manifest["format"] == "pg-custom" and manifest["software"] == "postgresql"
    assert manifest["version"].startswith("15.") and manifest["schema-revision"] != "unknown"
    assert (drill.backups_dir() / result.name / "phoenix" / "phoenix.dump").read_bytes()[:5] == b"PGDMP"
    drill.state.update(backup=result.name, manifest=manifest)


def test_restore_after_the_database_volume_is_lost_brings_back_the_same_ids(drill: Drill):
    assert "backup" in drill.state, "daily-backup did not complete"
    drill.apps.patch_namespaced_deployment_scale(PHOENIX, NAMESPACE, {"spec": {"replicas": 0}})
    drill.apps.patch_namespaced_stateful_set_scale(POSTGRESQL, NAMESPACE, {"spec": {"replicas": 0}})
    wait_postgresql(drill, 0)
    delete_claim(drill, CLAIM)
    start = time.monotonic()
    drill.apps.patch_namespaced_stateful_set_scale(POSTGRESQL, NAMESPACE, {"spec": {"replicas": 1}})
    wait_postgresql(drill, 1)  # a new claim, initdb
    print(f"drill: PostgreSQL ready on an empty volume in {time.monotonic() - start:.0f}s")
    drill.apps.patch_namespaced_deployment_scale(PHOENIX, NAMESPACE, {"spec": {"replicas": 1}})
    restore_lost_data(drill, DATASET)


def test_a_corrupted_dump_is_refused_and_nothing_changes(drill: Drill):
    corrupted_backup_is_refused(drill)


def test_a_full_backups_volume_fails_the_dump_clearly_and_keeps_the_previous_backup(drill: Drill):
    full_volume_fails_clearly(drill, room=drill.state["manifest"]["size"] // 2)  # pg_dump compresses: half the last dump


def test_only_phoenix_and_its_backup_steps_reach_postgresql(drill: Drill):
    """Two pods of the release's own labels try PostgreSQL (pg_isready over TCP, in the PostgreSQL image) every
    2 s for about 50 s: the one labelled as the backup steps connects (once kube-router has its address), the
    one labelled as another component never does."""
    from kubernetes import client

    host = f"{POSTGRESQL}.{NAMESPACE}.svc"
    tries = f"for i in $(seq 10); do pg_isready --host={host} --port=5432 --timeout=3 && exit 0; sleep 2; done; exit 2"
    pods = {"phoenix-database-client": f"pg-client-{SUFFIX}", "runtime": f"pg-other-{SUFFIX}"}
    for component, name in pods.items():
        container = client.V1Container(
            name="probe", image="cogniverse/postgresql:15.20-0_deb12u1", image_pull_policy="Never",
            command=["/bin/sh", "-c", tries],
            security_context=client.V1SecurityContext(allow_privilege_escalation=False, run_as_non_root=True,
                                                      capabilities=client.V1Capabilities(drop=["ALL"])))
        labels = {"app.kubernetes.io/name": "cogniverse", "app.kubernetes.io/instance": RELEASE,
                  "app.kubernetes.io/component": component}
        drill.core.create_namespaced_pod(NAMESPACE, client.V1Pod(
            metadata=client.V1ObjectMeta(name=name, labels=labels),
            spec=client.V1PodSpec(containers=[container], restart_policy="Never", automount_service_account_token=False,
                                  security_context=client.V1PodSecurityContext(run_as_user=65532))))
    results = {}
    deadline = time.monotonic() + 180
    for component, name in pods.items():
        while (phase := drill.core.read_namespaced_pod(name, NAMESPACE).status.phase) not in ("Succeeded", "Failed"):
            assert time.monotonic() < deadline, f"{name} still {phase} after 180 s"
            time.sleep(1)
        log = drill.core.read_namespaced_pod_log(name, NAMESPACE).strip().splitlines()
        results[component] = f"{phase}: {log[-1] if log else ''}"
        drill.core.delete_namespaced_pod(name, NAMESPACE)
    print(f"drill: NetworkPolicy: {results}")
    assert results["phoenix-database-client"].startswith("Succeeded") and "accepting connections" in results["phoenix-database-client"]
    assert results["runtime"].startswith("Failed") and "no response" in results["runtime"]
