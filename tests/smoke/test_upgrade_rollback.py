"""Upgrade and rollback on the cluster, the way a user moves between releases.

The previous released chart version (rebuilt from git history by cogniverse_chart.upgrade) is installed
with the smoke profile into a namespace of its own (release `cvupgrade`, beside the main smoke release);
a tenant is provisioned and a backup written through the chart's own workflows; then `helm upgrade` to the
working tree with the same values, and `helm rollback` to the first revision. After each step: helm
reports the release deployed at the expected chart version (no immutable field refused the update),
every WorkflowTemplate and CronWorkflow runs once and succeeds, and the data is still there: the tenant's
namespace, quota and PVC are the same objects (uid and resourceVersion), and every backup written so far
is still a folder on the backups PVC (listed by a pod of the local node's busybox image,
`cogniverse/toolbox:1.0`, which mounts the claim read-only).

Values: the working tree's values/smoke.yaml for all three revisions, when the previous chart accepts it
(its schema validates it); otherwise the previous release's own values/smoke.yaml, which is what its users
have, and the test prints why. Argo: whichever controller the cluster runs (the local node's default,
3.7); this file runs on that one leg only.

The steps form one chain that starts with the session (`start_early`, see conftest.py) and runs beside the
other modules: install, provision and back up, upgrade, run everything, roll back, run everything. Each
test waits for its step and reports what that step found; a step runs only when the one before it passed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from cogniverse_chart import CHART_DIR, upgrade
from cogniverse_chart.argo import ArgoClient, WorkflowResult
from cogniverse_chart.argo.client import load_kube_config
from cogniverse_chart.documents import parse_stream
from cogniverse_chart.helm import find_helm
from cogniverse_chart.release import chart_version
from smokelib import (BACKUPS_CLAIM, SKIP_OPTIMIZATION_PARAMS, SMOKE_VALUES, WAIT_TIMEOUT, Background, SmokeRelease,
                      WorkflowWatcher, create_backups_claim, explain)

pytestmark = [pytest.mark.smoke, pytest.mark.group("upgrade")]
TOOLBOX_IMAGE = "cogniverse/toolbox:1.0"  # busybox, imported into the local node by scripts/local_cluster.sh

RELEASE = "cvupgrade"
TENANT = f"upg_{secrets.token_hex(3)}"
TENANT_NS = "cogniverse-" + TENANT.replace("_", "-")
TENANT_PARAMS = {"tenant-id": TENANT, "tenant-name": "Upgrade Tenant", "profiles": "video_colpali_smol500_mv_frame",
                 "cpu-quota": "2", "memory-quota": "4Gi", "storage-quota": "10Gi"}
# One cheap run per WorkflowTemplate (the tenant run re-provisions the existing tenant: idempotent).
TEMPLATE_RUNS = {
    "video-ingestion": {"tenant-id": "acme_corp", "video-dir": "/data/videos",
                        "profiles": "video_colpali_smol500_mv_frame"},
    "batch-optimization": {"tenant-id": "acme_corp", "optimizer-category": "dspy", "optimizer-type": "GEPA",
                           "dataset-name": "golden_eval_v1", "max-iterations": "20"},
    "tenant-provisioning": TENANT_PARAMS,
}

#: Figures of this run, printed at the end of the module.
FIGURES: dict[str, float] = {}
_state: dict[str, Any] = {}
#: The chain's steps, in order (started by start_early); each joins the one before it.
STEPS = ("install", "previous", "upgrade", "after-upgrade", "rollback", "after-rollback")
_early: dict[str, Background] = {}
CHAIN_TIMEOUT = 6 * WAIT_TIMEOUT  # the whole chain: an install, an upgrade, a rollback and three rounds of runs


def _helm_ok(rel: SmokeRelease, *args: str) -> subprocess.CompletedProcess[str]:
    proc = rel.helm_run(*args, check=False)
    assert proc.returncode == 0, (f"helm {' '.join(args[:2])} failed"
                                  + (" (an immutable field was changed: rename the object or keep the field)"
                                     if "field is immutable" in proc.stderr else "") + f":\n{proc.stderr[-3000:]}")
    return proc


def _values_file(previous: upgrade.PreviousRelease) -> Path:
    """The tree's smoke profile if the previous chart accepts it, else the previous release's own."""
    helm = find_helm()
    proc = helm.run(["template", RELEASE, str(previous.chart), "--values", str(SMOKE_VALUES)], check=False)
    if proc.returncode == 0:
        return SMOKE_VALUES
    own = previous.profiles / "smoke.yaml"
    print(f"\nupgrade: chart {previous.version} rejects the tree's values/smoke.yaml "
          f"({proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else 'no message'}); "
          f"using its own values/smoke.yaml for install, upgrade and rollback")
    assert own.is_file(), f"release {previous.version} has no values/smoke.yaml and rejects the tree's"
    return own


def _install(kubeconfig: str) -> SmokeRelease:
    """The previous release (rebuilt from git history) installed (revision 1) into a namespace of its own."""
    from kubernetes import client

    load_kube_config(kubeconfig)
    _state["core"] = core_api = client.CoreV1Api()
    _state["tmp"] = tmp = Path(tempfile.mkdtemp(prefix="cogniverse-upgrade-"))
    _state["previous"] = previous = upgrade.previous_release(tmp / "previous-release")
    _state["values"] = values_file = _values_file(previous)
    namespace = f"cvupg-{secrets.token_hex(3)}"
    argo = ArgoClient(client.CustomObjectsApi(), namespace)
    r = SmokeRelease(namespace, RELEASE, find_helm(), kubeconfig, argo, 0.0)
    r.tenant_namespaces.add(TENANT_NS)
    _state["release"] = r  # removed by the fixture even when the install fails
    create_backups_claim(core_api, namespace, BACKUPS_CLAIM)
    r.watcher = WorkflowWatcher(argo.api, namespace)
    start = time.monotonic()
    _helm_ok(r, "install", RELEASE, str(previous.chart), "--values", str(values_file), "--wait", "--timeout", "5m")
    r.install_seconds = FIGURES["install previous"] = time.monotonic() - start
    print(f"\nupgrade: installed chart {previous.version} ({previous.commit[:12]}) as {RELEASE} in {namespace} "
          f"in {r.install_seconds:.1f}s")
    return r


def _step(name: str, fn: Any) -> Any:
    """Step `name` of the chain: waits for the step before it (its failure stops the chain here), then runs."""
    i = STEPS.index(name)

    def run() -> Any:
        if i:
            try:
                _early[STEPS[i - 1]].join(CHAIN_TIMEOUT)
            except BaseException as exc:
                raise AssertionError(f"not run: the step before it ({STEPS[i - 1]}) failed: {exc}"[:3000]) from None
        rel = _early["install"].result
        return fn(rel, _state["core"])

    return run


def start_early(kubeconfig: str) -> None:
    """Called by conftest.py when the session starts: the whole chain, in the background."""
    _early["install"] = Background("upgrade-install", lambda: _install(kubeconfig))
    for name, fn in (("previous", _previous_step), ("upgrade", _upgrade_step),
                     ("after-upgrade", lambda rel, core: _every_workflow_runs_and_data_stays(rel, core, "after upgrade")),
                     ("rollback", _rollback_step),
                     ("after-rollback", lambda rel, core: _every_workflow_runs_and_data_stays(rel, core, "after rollback"))):
        _early[name] = Background(f"upgrade-{name}", _step(name, fn))


@pytest.fixture(scope="module")
def chain(kube_cluster: Any) -> Iterator[dict[str, Background]]:
    """The chain (started with the session); at the end, the release and its tenant namespace removed."""
    if "install" not in _early:  # selected without the session hook
        start_early(kube_cluster.kube_config_path)
    try:
        yield _early
    finally:
        for step in STEPS:  # nothing of the chain may still run while its release is removed
            try:
                _early[step].join(CHAIN_TIMEOUT)
            except BaseException:  # reported by the step's test
                pass
        if FIGURES:
            print("upgrade figures: " + ", ".join(f"{k} {v:.1f}s" for k, v in FIGURES.items()))
        r = _state.get("release")
        if r is not None:
            if r.watcher:
                r.watcher.stop()
            r.helm_run("uninstall", RELEASE, "--wait", check=False)
            for ns in (TENANT_NS, r.namespace):
                subprocess.run(["kubectl", "delete", "namespace", ns, "--ignore-not-found", "--wait=false"],
                               capture_output=True, env={**os.environ, "KUBECONFIG": r.kubeconfig}, timeout=120)
        if "tmp" in _state:
            shutil.rmtree(_state["tmp"], ignore_errors=True)


def _succeeded(rel: SmokeRelease, name: str) -> WorkflowResult:
    r = rel.wait(name)
    assert r.phase == "Succeeded", explain(r)
    return r


def _tenant_data(core_api: Any) -> dict[str, tuple[str, str]]:
    """uid and resourceVersion of the tenant's namespace, quotas and PVCs."""
    ns = core_api.read_namespace(TENANT_NS)
    out = {"namespace": (ns.metadata.uid, ns.metadata.resource_version)}
    for q in core_api.list_namespaced_resource_quota(TENANT_NS).items:
        out[f"quota/{q.metadata.name}"] = (q.metadata.uid, q.metadata.resource_version)
    for p in core_api.list_namespaced_persistent_volume_claim(TENANT_NS).items:
        out[f"pvc/{p.metadata.name}"] = (p.metadata.uid, p.metadata.resource_version)
    return out


def _backups_claim_uid(core_api: Any, rel: SmokeRelease) -> str:
    return core_api.read_namespaced_persistent_volume_claim(BACKUPS_CLAIM, rel.namespace).metadata.uid


def _run_everything(rel: SmokeRelease, stage: str) -> dict[str, WorkflowResult]:
    """Every WorkflowTemplate submitted once and every CronWorkflow triggered once, side by side; each must
    succeed. Returns the results by template/cron name."""
    templates, crons = rel.argo.names("workflowtemplates"), rel.argo.names("cronworkflows")
    assert set(TEMPLATE_RUNS) <= templates, f"{stage}: WorkflowTemplates missing: {sorted(set(TEMPLATE_RUNS) - templates)}"
    assert len(crons) >= 6, f"{stage}: only {sorted(crons)} CronWorkflows"
    start = time.monotonic()
    names = {t: rel.argo.submit(t, p) for t, p in TEMPLATE_RUNS.items()}
    for cron in sorted(crons):
        declared = {p["name"] for p in rel.argo.get("cronworkflows", cron)["spec"]["workflowSpec"]
                    .get("arguments", {}).get("parameters", [])}
        cheap = {k: v for k, v in SKIP_OPTIMIZATION_PARAMS.get(cron, {}).items() if k in declared}
        names[cron] = rel.argo.trigger(cron, parameters=cheap or None)
    results, failures = {}, []
    for what, name in names.items():
        results[what] = r = rel.wait(name)
        if r.phase != "Succeeded":
            failures.append(explain(r))
    FIGURES[f"all workflows {stage}"] = time.monotonic() - start
    assert not failures, f"{stage}: workflows failed:\n" + "\n".join(failures)
    return results


def _backups_on_claim(core_api: Any, rel: SmokeRelease) -> set[str]:
    """The backup ids (folders holding the .cogniverse-backup tag) on the backups PVC, listed by a pod."""
    from kubernetes import client

    name = f"list-backups-{secrets.token_hex(3)}"
    restricted = client.V1SecurityContext(run_as_non_root=True, run_as_user=65534, allow_privilege_escalation=False,
                                          capabilities=client.V1Capabilities(drop=["ALL"]),
                                          seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"))
    pod = client.V1Pod(metadata=client.V1ObjectMeta(name=name), spec=client.V1PodSpec(
        restart_policy="Never", termination_grace_period_seconds=1,
        containers=[client.V1Container(name="ls", image=TOOLBOX_IMAGE, image_pull_policy="Never",
                                       command=["sh", "-c", "find /b -name .cogniverse-backup"],
                                       security_context=restricted,
                                       volume_mounts=[client.V1VolumeMount(name="b", mount_path="/b", read_only=True)])],
        volumes=[client.V1Volume(name="b", persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(
            claim_name=BACKUPS_CLAIM, read_only=True))]))
    core_api.create_namespaced_pod(rel.namespace, pod)
    deadline, phase = time.monotonic() + 120, ""
    while time.monotonic() < deadline:
        phase = core_api.read_namespaced_pod(name, rel.namespace).status.phase
        if phase in ("Succeeded", "Failed"):
            break
        time.sleep(1)
    logs = core_api.read_namespaced_pod_log(name, rel.namespace) if phase else ""
    core_api.delete_namespaced_pod(name, rel.namespace, grace_period_seconds=0)
    assert phase == "Succeeded", f"listing the backups PVC failed ({phase or 'pod never started'}): {logs}"
    return {Path(line).parent.name for line in logs.split() if line.endswith("/.cogniverse-backup")}


def _revision(rel: SmokeRelease) -> dict[str, Any]:
    history = yaml.safe_load(_helm_ok(rel, "history", RELEASE, "--output", "yaml").stdout)
    return history[-1]


def _previous_step(rel: SmokeRelease, core_api: Any) -> None:
    previous = _state["previous"]
    tenant = rel.argo.submit("tenant-provisioning", TENANT_PARAMS)
    backup = rel.argo.trigger("daily-backup")
    _succeeded(rel, tenant)
    first = _succeeded(rel, backup)
    _state["data"] = _tenant_data(core_api)
    _state["claim"] = _backups_claim_uid(core_api, rel)
    _state["backups"] = {first.name}
    _state["manifest-1"] = _helm_ok(rel, "get", "manifest", RELEASE).stdout
    assert _backups_on_claim(core_api, rel) == {first.name}, "the backup is not on the backups PVC"
    assert any(k.startswith("pvc/") for k in _state["data"]), f"the tenant has no PVC: {_state['data']}"
    assert _revision(rel)["chart"] == f"cogniverse-{previous.version}"


def _upgrade_step(rel: SmokeRelease, core_api: Any) -> None:
    values_file, previous = _state["values"], _state["previous"]
    assert "data" in _state, "the previous release's data was not created (see the first test)"
    start = time.monotonic()
    _helm_ok(rel, "upgrade", RELEASE, str(CHART_DIR), "--values", str(values_file), "--wait", "--timeout", "5m")
    FIGURES["upgrade"] = time.monotonic() - start
    print(f"\nupgrade: {previous.version} -> {chart_version()} in {FIGURES['upgrade']:.1f}s")
    last = _revision(rel)
    assert (last["revision"], last["status"], last["chart"]) == (2, "deployed", f"cogniverse-{chart_version()}")
    # What the cluster now holds, compared with revision 1 on the fields the API server keeps immutable.
    before = parse_stream(_state["manifest-1"], "revision 1")
    after = parse_stream(_helm_ok(rel, "get", "manifest", RELEASE).stdout, "revision 2")
    assert not upgrade.immutable_changes(before, after)
    assert _tenant_data(core_api) == _state["data"], "the upgrade changed or replaced the tenant's objects"
    assert _backups_claim_uid(core_api, rel) == _state["claim"], "the backups PVC was replaced by the upgrade"
    if _before_release_labels():
        _label_tenant_for_this_release(rel, after)


def _before_release_labels() -> bool:
    """Whether the previous release predates 0.5.0, the first to label tenants with their release."""
    return tuple(int(p) for p in _state["previous"].version.split("-")[0].split(".")) < (0, 5, 0)


def _label_tenant_for_this_release(rel: SmokeRelease, manifest: list[Any]) -> None:
    """The upgrade step of CHANGELOG 0.5.0: a tenant provisioned before 0.5.0 gets its release's
    `cogniverse.dev/release` label (namespace, quotas, claims), which 0.5.0's provisioner may only update
    with; no admission policy can tell which release an unlabelled tenant belongs to."""
    wft = next(d.obj for d in manifest if d.kind == "WorkflowTemplate" and d.name == "tenant-provisioning")
    provision = next(t for t in wft["spec"]["templates"] if t["name"] == "provision")
    release_id = next(p["value"] for group in provision["steps"] for step in group
                      for p in step.get("arguments", {}).get("parameters", []) if p["name"] == "release-id")
    _label_tenant(rel, f"cogniverse.dev/release={release_id}")


def _label_tenant(rel: SmokeRelease, label: str) -> None:
    """`kubectl label` the tenant's namespace, quotas and claims (`key=value` adds, `key-` removes)."""
    env = {**os.environ, "KUBECONFIG": rel.kubeconfig}
    for args in (["namespace", TENANT_NS], ["resourcequota,persistentvolumeclaim", "--all", "-n", TENANT_NS]):
        subprocess.run(["kubectl", "label", "--overwrite", *args, label],
                       check=True, capture_output=True, env=env, timeout=60)
    _state["data"] = _tenant_data(_state["core"])  # relabelled on purpose: re-provisioning must replace nothing


def _every_workflow_runs_and_data_stays(rel, core_api, stage: str) -> None:
    results = _run_everything(rel, stage)
    _state["backups"].add(results["daily-backup"].name)
    assert _backups_on_claim(core_api, rel) == _state["backups"], "a backup is missing from the backups PVC"
    # Across chart versions the provisioner may update its own objects (0.5.0 adds the release label): what must
    # hold is that none was replaced or lost (same uids). Within one version, a second provisioning changing
    # nothing is test_workflows' idempotency check.
    uids = {k: uid for k, (uid, _) in _tenant_data(core_api).items()}
    assert uids == {k: uid for k, (uid, _) in _state["data"].items()}, f"re-provisioning the tenant {stage} replaced it"
    _state["data"] = _tenant_data(core_api)  # what the next step (a rollback) must leave exactly as it is


def _rollback_step(rel: SmokeRelease, core_api: Any) -> None:
    previous = _state["previous"]
    assert len(_state.get("backups", ())) >= 2, "the upgrade stage did not complete (see the tests before)"
    start = time.monotonic()
    _helm_ok(rel, "rollback", RELEASE, "1", "--wait", "--timeout", "5m")
    FIGURES["rollback"] = time.monotonic() - start
    print(f"\nrollback: {chart_version()} -> {previous.version} in {FIGURES['rollback']:.1f}s")
    last = _revision(rel)
    assert (last["revision"], last["status"], last["chart"]) == (3, "deployed", f"cogniverse-{previous.version}")
    manifest = _helm_ok(rel, "get", "manifest", RELEASE).stdout
    assert manifest.strip() == _state["manifest-1"].strip(), "the rollback did not restore revision 1's objects"
    assert _tenant_data(core_api) == _state["data"], "the rollback changed or replaced the tenant's objects"
    assert _backups_claim_uid(core_api, rel) == _state["claim"], "the backups PVC was replaced by the rollback"
    if _before_release_labels():
        _label_tenant(rel, "cogniverse.dev/release-")  # CHANGELOG 0.5.0: back before it, its policy wants the old labels


def test_previous_release_provisions_a_tenant_and_writes_a_backup(chain):
    chain["install"].join(CHAIN_TIMEOUT)
    chain["previous"].join(CHAIN_TIMEOUT)


def test_upgrade_to_the_tree_keeps_immutable_fields_and_data(chain):
    chain["upgrade"].join(CHAIN_TIMEOUT)


def test_after_upgrade_every_workflow_runs_and_the_backups_are_still_there(chain):
    chain["after-upgrade"].join(CHAIN_TIMEOUT)


def test_rollback_restores_the_previous_release_and_keeps_data(chain):
    chain["rollback"].join(CHAIN_TIMEOUT)


def test_after_rollback_every_workflow_runs_and_the_backups_are_still_there(chain):
    chain["after-rollback"].join(CHAIN_TIMEOUT)
