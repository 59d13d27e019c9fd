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
drill runs on the local node (scripts/test.sh runs it in a session of its own beside the last Argo leg).
Figures (sizes, durations) are printed with the prefix `drill:`. The same drill on PostgreSQL:
test_restore_drill_postgres.py (both use drilllib.py).
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from drilllib import (Drill, backup, corrupted_backup_is_refused, delete_claim, full_volume_fails_clearly, drill_names,
                      open_drill, restore_lost_data, write_data)
from serviceslib import CLAIMS, PHOENIX
from smokelib import RELEASE

pytestmark = [pytest.mark.smoke, pytest.mark.group("restore-drill")]

NAMESPACE, TRACE_PROJECT, API_PROJECT, DATASET = drill_names("cvdrill")


@pytest.fixture(scope="module")
def drill(kube_cluster: Any) -> Iterator[Drill]:
    with open_drill(kube_cluster, NAMESPACE, TRACE_PROJECT) as d:
        yield d


def test_spans_projects_and_datasets_are_in_phoenix(drill: Drill):
    drill.state["before"] = write_data(drill, API_PROJECT, DATASET)


def test_daily_backup_saves_phoenix_while_it_runs(drill: Drill):
    assert "before" in drill.state, "the spans test did not record Phoenix's data"
    result, manifest = backup(drill)
    assert manifest["format"] == "sqlite"
    drill.state.update(backup=result.name, manifest=manifest)


def test_restore_after_the_claim_is_lost_brings_back_the_same_ids(drill: Drill):
    assert "backup" in drill.state, "daily-backup did not complete"
    drill.apps.patch_namespaced_deployment_scale(PHOENIX, NAMESPACE, {"spec": {"replicas": 0}})
    # Finished backup pods keep the claim in use (Argo deletes them after podGC's delay): remove them first.
    for pod in drill.core.list_namespaced_pod(NAMESPACE).items:
        if any(v.persistent_volume_claim and v.persistent_volume_claim.claim_name == CLAIMS[PHOENIX] for v in pod.spec.volumes or []):
            drill.core.delete_namespaced_pod(pod.metadata.name, NAMESPACE)
    delete_claim(drill, CLAIMS[PHOENIX])  # the claim, and with it the volume, goes
    drill.install("--reuse-values")  # an empty claim; Phoenix back at one replica
    restore_lost_data(drill, DATASET)


def test_a_corrupted_backup_is_refused_and_nothing_changes(drill: Drill):
    corrupted_backup_is_refused(drill)


def test_a_full_backups_volume_fails_clearly_and_keeps_the_previous_backup(drill: Drill):
    full_volume_fails_clearly(drill)


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
