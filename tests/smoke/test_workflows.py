"""Every workflow of the chart on a real cluster with Argo Workflows, run by the smoke runner.

The chart is installed from values/smoke.yaml into a fresh namespace (conftest.py); the tests
run in file order and end with `helm uninstall`. Assertions follow the user's guide
(/work/shared/seed/argo-workflows-guide.md): its template, step and parameter names, its
label selectors and its jq paths.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Iterator

import pytest
import yaml

from cogniverse_chart.argo import WorkflowResult

from smokelib import CRON_TIMEOUT, WAIT_TIMEOUT, Background, SmokeRelease, explain, install_release, remove_release

from chart_utils import CRON_WORKFLOWS, OWN_CRON_WORKFLOWS, WORKFLOW_TEMPLATES

pytestmark = pytest.mark.smoke

TEMPLATES = set(WORKFLOW_TEMPLATES)
CRONS = set(CRON_WORKFLOWS + OWN_CRON_WORKFLOWS)
PROFILES = "video_colpali_smol500_mv_frame,video_videoprism_base_mv_chunk_30s"
TENANT = f"smoke_{secrets.token_hex(3)}"
TENANT_NS = "cogniverse-" + TENANT.replace("_", "-")
QUOTAS = {"cpu-quota": "4", "memory-quota": "8Gi", "storage-quota": "20Gi"}
BAD_TENANT = "x; rm -rf /"

# Workflow names submitted up front (they run in parallel), and finished results by key.
_submitted: dict[str, str] = {}
_results: dict[str, WorkflowResult] = {}
_early: dict[str, Background] = {}


def _optimization(iterations: int) -> dict[str, str]:
    return {"tenant-id": "acme_corp", "optimizer-category": "dspy", "optimizer-type": "GEPA",
            "dataset-name": "golden_eval_v1", "max-iterations": str(iterations)}


def start_early(kubeconfig: str) -> None:
    """Called by conftest.py when the session starts: install the release and submit every independent
    workflow at once, and trigger every CronWorkflow, so they all run side by side and beside the other
    modules (the smoke profile's heavy-jobs semaphore admits the five heavy ones together). The second
    provisioning of the tenant follows the first on its own (its objects' resourceVersions are read
    in between)."""
    _early["release"] = Background("workflows-release", lambda: _install_and_submit(kubeconfig))
    _early["rerun"] = Background("tenant-rerun", lambda: _rerun_tenant(kubeconfig))


def _install_and_submit(kubeconfig: str) -> SmokeRelease:
    rel = install_release(kubeconfig)
    a = rel.argo
    _submitted["video"] = a.submit("video-ingestion", {"tenant-id": "acme_corp", "video-dir": "/data/videos",
                                                       "profiles": PROFILES})
    _submitted["opt-100"] = a.submit("batch-optimization", _optimization(100))
    _submitted["opt-20"] = a.submit("batch-optimization", _optimization(20))
    _submitted["tenant-1"] = a.submit("tenant-provisioning", {"tenant-id": TENANT, "tenant-name": "Smoke Tenant",
                                                              "profiles": PROFILES, **QUOTAS})
    _submitted["bad-tenant"] = a.submit("tenant-provisioning", {"tenant-id": BAD_TENANT, "tenant-name": "Evil",
                                                                "profiles": PROFILES, **QUOTAS})
    for cron in sorted(CRONS):
        _submitted[f"cron:{cron}"] = a.trigger(cron)
    rel.tenant_namespaces.add(TENANT_NS)
    return rel


def _rerun_tenant(kubeconfig: str) -> dict[str, Any]:
    """After the first provisioning (not with it): the tenant's objects' resourceVersions, then a second
    provisioning of the same tenant."""
    import pykube

    rel = _early["release"].join()
    first = rel.wait(_submitted["tenant-1"])
    if first.phase != "Succeeded":
        return {"first": first}
    api = pykube.HTTPClient(pykube.KubeConfig.from_file(kubeconfig))
    before = _versions(_tenant_objects(api))
    name = rel.argo.submit("tenant-provisioning", {"tenant-id": TENANT, "tenant-name": "Smoke Tenant",
                                                   "profiles": PROFILES, **QUOTAS})
    return {"first": first, "before": before, "rerun": rel.wait(name)}


@pytest.fixture(scope="module")
def smoke(kube_cluster: Any) -> Iterator[SmokeRelease]:
    """The release start_early installed (conftest.py's `smoke` installs one per module; this module's
    starts with the session)."""
    if "release" not in _early:  # selected without the session hook (e.g. a module imported twice)
        start_early(kube_cluster.kube_config_path)
    rel = _early["release"].join()
    try:
        yield rel
    finally:
        remove_release(rel)


@pytest.fixture(scope="module")
def runs(smoke: SmokeRelease) -> dict[str, str]:
    return _submitted


def finished(smoke: SmokeRelease, runs: dict[str, str], key: str) -> WorkflowResult:
    if key not in _results:
        _results[key] = smoke.wait(runs[key])
    return _results[key]


def succeeded(smoke: SmokeRelease, runs: dict[str, str], key: str) -> WorkflowResult:
    r = finished(smoke, runs, key)
    assert r.phase == "Succeeded", explain(r)
    return r


def values(smoke: SmokeRelease) -> dict[str, Any]:
    """The release's computed values (chart defaults + smoke profile), as helm applied them."""
    return json.loads(smoke.helm_run("get", "values", smoke.release, "--all", "--output", "json").stdout)


def kebab(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "-" + m[1].lower(), name)


def quantity(q: str) -> Decimal:
    """A Kubernetes quantity as a number (enough for the suffixes used here)."""
    suffixes = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "m": Decimal("0.001")}
    for s, mult in suffixes.items():
        if q.endswith(s):
            return Decimal(q[: -len(s)]) * mult
    return Decimal(q)


def jq(obj: dict[str, Any], program: str) -> list[str]:
    exe = shutil.which("jq")
    assert exe, "jq is not installed: the guide's commands need it (apt-get install jq)"
    proc = subprocess.run([exe, "-r", program], input=json.dumps(obj), capture_output=True, text=True, check=True)
    return proc.stdout.split()


# ---- install ------------------------------------------------------------------------------------

def test_install_creates_every_template_and_cron_workflow(smoke: SmokeRelease):
    # Each CronWorkflow runs the WorkflowTemplate of its own name (templateReferencing Strict accepts it).
    assert smoke.argo.names("workflowtemplates") == TEMPLATES | CRONS
    assert smoke.argo.names("cronworkflows") == CRONS


# ---- video-ingestion ------------------------------------------------------------------------------

def test_video_ingestion_succeeds_with_every_step(smoke, runs):
    r = succeeded(smoke, runs, "video")
    for step in ("validate-input", "prepare-videos", "ingest-videos", "verify-ingestion", "notify-completion"):
        node = r.node(step)
        assert node is not None and node.phase == "Succeeded", f"{step}: {node}\n{explain(r)}"
    # two profiles, three videos each (the smoke runner's fixed numbers)
    assert r.node("ingest-videos").outputs["documents-ingested"] == "6"
    assert r.node("verify-ingestion").outputs["documents-found"] == "6"


# ---- batch-optimization ---------------------------------------------------------------------------

def test_batch_optimization_above_threshold_deploys(smoke, runs):
    r = succeeded(smoke, runs, "opt-100")
    assert r.outputs["improvement"] == "10"
    assert r.node("run-optimization").outputs["improvement"] == "10"
    assert r.node("evaluate-results").outputs["recommendation"] == "deploy"
    assert r.node("deploy-model").phase == "Succeeded", explain(r)


def test_batch_optimization_below_threshold_skips_deploy(smoke, runs):
    r = succeeded(smoke, runs, "opt-20")
    assert r.outputs["improvement"] == "2"
    assert r.node("evaluate-results").outputs["recommendation"] == "keep"
    deploy = r.node("deploy-model")
    assert deploy is not None and deploy.phase in ("Skipped", "Omitted"), explain(r)


@pytest.mark.parametrize("key, improvement", [("opt-100", "10"), ("opt-20", "2")])
def test_guide_jq_paths_find_improvement(smoke, runs, key, improvement):
    wf = smoke.argo.get("workflows", runs[key])  # what `argo get NAME -o json` prints
    assert jq(wf, '.status.outputs.parameters[] | select(.name=="improvement") | .value') == [improvement]
    assert jq(wf, '.status.nodes | .[] | select(.displayName=="run-optimization") | .outputs.parameters[] '
                  '| select(.name=="improvement") | .value') == [improvement]


def test_optimization_runs_are_listed_by_the_guides_selector(smoke, runs):
    for key in ("opt-100", "opt-20"):
        finished(smoke, runs, key)
    listed = {r.name for r in smoke.argo.list_workflows("workflow-type=optimization")}
    assert {runs["opt-100"], runs["opt-20"]} <= listed
    assert runs["video"] not in listed
    succeeded_names = {r.name for r in smoke.argo.list_workflows(phase="Succeeded")}
    assert {runs["opt-100"], runs["opt-20"]} <= succeeded_names


# ---- tenant-provisioning --------------------------------------------------------------------------

def _tenant_objects(api: Any) -> dict[str, Any]:
    """Namespace, ResourceQuotas and PVCs of the smoke tenant (pykube; pytest-helm-charts' client in tests)."""
    import pykube

    return {
        "namespace": pykube.Namespace.objects(api).get_or_none(name=TENANT_NS),
        "quotas": list(pykube.ResourceQuota.objects(api, namespace=TENANT_NS)),
        "pvcs": list(pykube.PersistentVolumeClaim.objects(api, namespace=TENANT_NS)),
    }


def _versions(objs: dict[str, Any]) -> dict[str, str]:
    out = {"namespace": objs["namespace"].obj["metadata"]["resourceVersion"]}
    for kind in ("quotas", "pvcs"):
        for o in objs[kind]:
            out[f"{kind}/{o.name}"] = o.obj["metadata"]["resourceVersion"]
    return out


def test_tenant_provisioning_creates_namespace_quota_and_pvcs(smoke, runs, kube_cluster):
    r = succeeded(smoke, runs, "tenant-1")
    objs = _tenant_objects(kube_cluster.kube_client)
    assert objs["namespace"] is not None, f"namespace {TENANT_NS} was not created\n{explain(r)}"
    assert objs["namespace"].labels.get("cogniverse.dev/tenant") == TENANT
    (quota,) = objs["quotas"]
    hard = quota.obj["spec"]["hard"]
    assert quantity(hard["requests.cpu"]) == quantity(QUOTAS["cpu-quota"])
    assert quantity(hard["requests.memory"]) == quantity(QUOTAS["memory-quota"])
    assert quantity(hard["requests.storage"]) == quantity(QUOTAS["storage-quota"])
    wanted = {p["name"] for p in values(smoke)["workflows"]["templates"]["tenantProvisioning"]["pvcs"]}
    assert {p.name for p in objs["pvcs"]} == wanted
    assert r.node("deploy-schemas").outputs["schema-count"] == "2"


def test_tenant_provisioning_rerun_succeeds_and_changes_nothing(smoke, runs, kube_cluster):
    # After the first run (not with it; _rerun_tenant): the objects' resourceVersions are compared across the rerun.
    facts = _early["rerun"].join(2 * WAIT_TIMEOUT)
    assert facts["first"].phase == "Succeeded", explain(facts["first"])
    r = facts["rerun"]
    assert r.phase == "Succeeded", explain(r)
    after = _versions(_tenant_objects(kube_cluster.kube_client))
    assert after == facts["before"], "a second provisioning of the same tenant changed objects"


def test_bad_tenant_id_fails_at_validation_and_creates_nothing(smoke, runs, core_api):
    r = finished(smoke, runs, "bad-tenant")
    assert r.phase == "Failed", explain(r)
    validate = r.node("validate-tenant")
    assert validate is not None and validate.phase == "Failed", explain(r)
    assert "tenant-id" in validate.message, f"the node message does not name the bad argument: {validate.message!r}"
    ran = {n.display_name for n in r.nodes if n.type == "Pod" or n.display_name in
           ("create-namespace", "setup-resource-quotas", "create-storage", "deploy-schemas")}
    assert ran <= {"validate-tenant", "validate-tenant(0)", "notify-completion", "notify-completion(0)"}, (
        f"steps after validation ran: {sorted(ran)}")
    # No namespace for the bad id: none of this release's (every object its provisioner writes carries the
    # release label `<namespace>.<fullname>`; its admission policy refuses any other) was created while it ran,
    # except this module's tenant. Other releases' namespaces (the guide's, the other modules') are not ours.
    start = datetime.fromisoformat(r.raw["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(r.finished_at.replace("Z", "+00:00"))
    ours = lambda n: (n.metadata.labels or {}).get("cogniverse.dev/release", "").startswith(f"{smoke.namespace}.")  # noqa: E731
    new = {n.metadata.name for n in core_api.list_namespace(label_selector="cogniverse.dev/release").items
           if ours(n) and start <= n.metadata.creation_timestamp <= end + timedelta(seconds=5)}
    unexpected = new - {TENANT_NS}
    assert not unexpected, sorted(unexpected)


# ---- CronWorkflows --------------------------------------------------------------------------------

def test_cron_schedules_and_timezones_on_the_cluster_equal_the_values(smoke):
    crons = values(smoke)["workflows"]["cronWorkflows"]
    expected = {kebab(k): v for k, v in crons.items() if v.get("enabled", True)}
    assert set(expected) == CRONS
    for name, v in expected.items():
        spec = smoke.argo.get("cronworkflows", name)["spec"]
        assert spec.get("schedules") == v["schedules"], name
        assert "schedule" not in spec, f"{name}: the singular schedule is gone in Argo 4.0"
        assert spec.get("timezone") == v["timezone"], name
        assert bool(spec.get("suspend", False)) == bool(v.get("suspend", False)), name


def test_every_cron_workflow_succeeds_when_triggered(smoke, runs):
    # Triggered with the other workflows at the start (as `argo submit --from cronwf/NAME` does); the
    # five heavy ones share the semaphore, whose smoke limit lets them run together.
    failures = []
    for cron in sorted(CRONS):
        r = smoke.wait(runs[f"cron:{cron}"], timeout=CRON_TIMEOUT)
        if r.phase != "Succeeded":
            failures.append(explain(r))
        assert r.labels.get("workflows.argoproj.io/cron-workflow") == cron
    assert not failures, "\n".join(failures)
    # the guide's history command: argo list --selector workflows.argoproj.io/cron-workflow=daily-backup
    history = smoke.argo.list_workflows("workflows.argoproj.io/cron-workflow=daily-backup")
    assert runs["cron:daily-backup"] in {r.name for r in history}


# ---- uninstall (last) -------------------------------------------------------------------------------

def test_helm_uninstall_removes_the_release_objects_and_keeps_data_volumes(smoke, core_api):
    from kubernetes import client, dynamic
    from kubernetes.dynamic.exceptions import NotFoundError

    manifest = [d for d in yaml.safe_load_all(smoke.helm_run("get", "manifest", smoke.release).stdout) if d]
    assert manifest, "helm get manifest returned nothing"
    keep = [d for d in manifest
            if (d["metadata"].get("annotations") or {}).get("helm.sh/resource-policy") == "keep"]
    pvcs_before = {(p.metadata.namespace, p.metadata.name)
                   for ns in (smoke.namespace, *smoke.tenant_namespaces)
                   for p in core_api.list_namespaced_persistent_volume_claim(ns).items}
    assert (TENANT_NS, "tenant-data") in pvcs_before

    smoke.helm_run("uninstall", smoke.release, "--wait", "--timeout", "5m")

    dyn = dynamic.DynamicClient(client.ApiClient())
    remaining = []
    deadline = time.monotonic() + 60
    for d in manifest:
        if d in keep:
            continue
        res = dyn.resources.get(api_version=d["apiVersion"], kind=d["kind"])
        ns = (d["metadata"].get("namespace") or smoke.namespace) if res.namespaced else None
        while True:
            try:
                res.get(name=d["metadata"]["name"], namespace=ns)
            except NotFoundError:
                break
            if time.monotonic() > deadline:
                remaining.append(f"{d['kind']}/{d['metadata']['name']}")
                break
            time.sleep(2)
    assert not remaining, f"helm uninstall left release objects behind: {remaining}"
    pvcs_after = {(p.metadata.namespace, p.metadata.name)
                  for ns in (smoke.namespace, *smoke.tenant_namespaces)
                  for p in core_api.list_namespaced_persistent_volume_claim(ns).items}
    assert pvcs_before <= pvcs_after, f"data volumes deleted by uninstall: {sorted(pvcs_before - pvcs_after)}"
    for d in keep:
        res = dyn.resources.get(api_version=d["apiVersion"], kind=d["kind"])
        res.get(name=d["metadata"]["name"], namespace=smoke.namespace if res.namespaced else None)
