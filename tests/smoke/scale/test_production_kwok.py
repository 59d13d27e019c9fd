"""The production profile on a simulated multi-node cluster: 60 KWOK nodes (16 CPU, 64 GiB) in three zones
beside the real node, the chart installed from values/production.yaml into a namespace of its own.

Extra values (the only ones beside the profile): every component tolerates the fake nodes' taint and
selects them (`type: kwok`), so nothing of this install lands on the real node; the persistent volumes use
a StorageClass of static local PVs bound to nine fake nodes (KWOK nodes run no provisioner: a local-path
helper pod would never run there); and the runtime's HPA is on with minReplicas 3 (the profile's replica
count) and maxReplicas 6, because the profile itself renders none.

Checked, on the real API server, scheduler, controller-manager (HPA, disruption, StatefulSet controllers):
- the three runtime replicas are on three distinct nodes in three distinct zones (anti-affinity, spread);
- `kubectl drain` of a node holding a replica evicts it while the PDB allows one disruption, and a drain of
  a second replica's node is refused by the PDB while the first replacement cannot be scheduled;
- the HPA puts the Deployment back inside [minReplicas, maxReplicas] when it is scaled outside them;
- Vespa's StatefulSet pod (and Phoenix's pod) run on a node whose static PV is bound to their claim.

Run: `flock /run/lock/cogniverse-smoke.lock .venv/bin/python -m pytest -m scale tests/smoke/scale -s`.
Everything created (nodes, PVs, StorageClass, namespace) is deleted at the end, also after a failure.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections import Counter
from typing import Any, Iterator

import pytest
import yaml

from cogniverse_chart import CHART_DIR, PROFILES_DIR, REPO_ROOT
from cogniverse_chart.argo.client import load_kube_config
from cogniverse_chart.helm import find_helm
from kwoklib import RUN_LABEL, TAINT, ZONE, Kwok

pytestmark = pytest.mark.scale

ZONES = ["kwok-zone-a", "kwok-zone-b", "kwok-zone-c"]
PER_ZONE = 20
PV_NODES_PER_ZONE = 3
RELEASE = "cvscale"
MIN_REPLICAS, MAX_REPLICAS = 3, 6
KUBECTL = str(REPO_ROOT / ".tools" / "bin" / "kubectl")
FIGURES: dict[str, Any] = {}


def _kubectl(kubeconfig: str, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KUBECTL, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "KUBECONFIG": kubeconfig})


def _wait(what: str, check: Any, timeout: float = 180, every: float = 1.0) -> float:
    """Seconds until check() is truthy; fails naming `what` after timeout."""
    start = time.monotonic()
    while not (last := check()):
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what}: not reached after {timeout:.0f}s (last: {last!r})")
        time.sleep(every)
    return time.monotonic() - start


class Scale:
    def __init__(self, kubeconfig: str, namespace: str, kwok: Kwok, storage_class: str):
        from kubernetes import client

        load_kube_config(kubeconfig)
        self.kubeconfig, self.namespace, self.kwok, self.sc = kubeconfig, namespace, kwok, storage_class
        self.core, self.apps = client.CoreV1Api(), client.AppsV1Api()
        self.policy, self.autoscaling = client.PolicyV1Api(), client.AutoscalingV2Api()
        self.storage = client.StorageV1Api()
        self.helm = find_helm()
        self.manifest: list[dict[str, Any]] = []

    def pods(self, component: str) -> list[Any]:
        sel = f"app.kubernetes.io/component={component}"
        return [p for p in self.core.list_namespaced_pod(self.namespace, label_selector=sel).items
                if not p.metadata.deletion_timestamp]

    def ready(self, component: str) -> list[Any]:
        return [p for p in self.pods(component) if p.spec.node_name and any(
            c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])]

    def zone(self, node: str) -> str:
        return self.core.read_node(node).metadata.labels.get(ZONE, "")

    def rendered(self, kind: str, component: str) -> dict[str, Any]:
        docs = [d for d in self.manifest if d["kind"] == kind
                and d["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component]
        assert len(docs) == 1, f"expected one {kind} of {component} in the release, found {len(docs)}"
        return docs[0]


def _extra_values(storage_class: str) -> dict[str, Any]:
    placement = {"tolerations": [{**TAINT, "operator": "Equal"}], "nodeSelector": {"type": "kwok"}}
    return {
        "global": {"storageClass": storage_class},
        "runtime": {**placement, "autoscaling": {"enabled": True, "minReplicas": MIN_REPLICAS,
                                                  "maxReplicas": MAX_REPLICAS}},
        "vespa": placement, "phoenix": placement, "llm": placement,
    }


def _static_volumes(s: Scale, run: str) -> list[str]:
    """A no-provisioner StorageClass (WaitForFirstConsumer) and one 1Ti local PV on each of nine fake nodes
    (three per zone): the scheduler binds a claim to a PV of the node it picks, as on bare metal."""
    s.storage.create_storage_class({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": s.sc, "labels": {RUN_LABEL: run}},
        "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "WaitForFirstConsumer"})
    names = []
    for zone in ZONES:
        for node in [n for n in s.kwok.nodes if n.endswith(tuple(f"{zone[-1]}{i:02d}" for i in range(PV_NODES_PER_ZONE)))]:
            name = f"{node}-pv"
            s.core.create_persistent_volume({
                "apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": name, "labels": {RUN_LABEL: run}},
                "spec": {"capacity": {"storage": "1Ti"}, "accessModes": ["ReadWriteOnce"],
                         "persistentVolumeReclaimPolicy": "Delete", "storageClassName": s.sc,
                         "local": {"path": "/mnt/disks/data"},
                         "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                             {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}}})
            names.append(name)
    return names


@pytest.fixture(scope="module")
def scale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scale]:
    kubeconfig = os.environ["KUBECONFIG"]
    run = secrets.token_hex(3)
    workdir = tmp_path_factory.mktemp("kwok")
    kwok = Kwok(kubeconfig, workdir, run)
    s = Scale(kubeconfig, f"cvscale-{run}", kwok, f"cvscale-static-{run}")
    try:
        t0 = time.monotonic()
        kwok.start()
        kwok.add_nodes(s.core, ZONES, PER_ZONE)
        FIGURES["nodes"] = len(kwok.nodes)
        FIGURES["nodes created (s)"] = round(time.monotonic() - t0, 1)
        FIGURES["nodes Ready (s)"] = round(kwok.wait_ready(s.core) + FIGURES["nodes created (s)"], 1)
        _static_volumes(s, run)
        values = workdir / "kwok-values.yaml"
        values.write_text(yaml.safe_dump(_extra_values(s.sc)), encoding="utf-8")
        t1 = time.monotonic()
        # No --wait: the backups claim has no consumer until a backup runs, and helm would wait for it.
        proc = s.helm.run(["install", RELEASE, str(CHART_DIR), "--namespace", s.namespace, "--create-namespace",
                           "--kubeconfig", kubeconfig, "--values", str(PROFILES_DIR / "production.yaml"),
                           "--values", str(values)], check=False)
        assert proc.returncode == 0, f"helm install of the production profile failed:\n{proc.stderr}"
        s.manifest = [d for d in yaml.safe_load_all(
            s.helm.run(["get", "manifest", RELEASE, "--namespace", s.namespace, "--kubeconfig", kubeconfig]).stdout) if d]
        _wait("3 runtime pods, Vespa and Phoenix Ready", lambda: len(s.ready("runtime")) >= MIN_REPLICAS
              and s.ready("vespa") and s.ready("phoenix"), timeout=240)
        FIGURES["install to all pods Ready (s)"] = round(time.monotonic() - t1, 1)
        yield s
    finally:
        _cleanup(s, run)
        print("\nscale figures:\n" + "\n".join(f"  {k}: {v}" for k, v in FIGURES.items()))


def _cleanup(s: Scale, run: str) -> None:
    from kubernetes.client.exceptions import ApiException

    t = time.monotonic()
    s.helm.run(["uninstall", RELEASE, "--namespace", s.namespace, "--kubeconfig", s.kubeconfig], check=False)
    _kubectl(s.kubeconfig, "delete", "namespace", s.namespace, "--ignore-not-found", "--timeout=120s")
    for pv in s.core.list_persistent_volume(label_selector=f"{RUN_LABEL}={run}").items:
        try:
            s.core.delete_persistent_volume(pv.metadata.name)
        except ApiException as exc:
            if exc.status != 404:
                raise
    _kubectl(s.kubeconfig, "delete", "storageclass", s.sc, "--ignore-not-found")
    left = s.kwok.cleanup(s.core)
    FIGURES["cleanup (s)"] = round(time.monotonic() - t, 1)
    assert not left, f"simulated nodes left on the shared cluster: {left}"


def test_fake_nodes_are_ready_tainted_and_spread_over_three_zones(scale):
    nodes = scale.core.list_node(label_selector=f"{RUN_LABEL}={scale.kwok.run}").items
    assert len(nodes) == len(ZONES) * PER_ZONE >= 50
    assert Counter(n.metadata.labels[ZONE] for n in nodes) == {z: PER_ZONE for z in ZONES}
    for n in nodes:
        assert any(t.key == TAINT["key"] and t.effect == "NoSchedule" for t in n.spec.taints or []), n.metadata.name
        assert n.status.allocatable["cpu"] == "15890m" and n.status.allocatable["memory"] == "62Gi"
    # Nothing without the toleration landed there (the real workloads of the shared cluster).
    strays = [f"{p.metadata.namespace}/{p.metadata.name}" for p in scale.core.list_pod_for_all_namespaces().items
              if p.spec.node_name in scale.kwok.nodes and p.metadata.namespace != scale.namespace]
    assert not strays, f"pods of other namespaces scheduled on simulated nodes: {strays}"


def test_runtime_replicas_land_on_distinct_nodes_and_zones(scale):
    pods = scale.ready("runtime")
    placement = {p.metadata.name: (p.spec.node_name, scale.zone(p.spec.node_name)) for p in pods}
    FIGURES["runtime placement"] = sorted(placement.values())
    assert len(pods) == MIN_REPLICAS, placement
    assert all(node in scale.kwok.nodes for node, _ in placement.values()), f"replicas off the fake nodes: {placement}"
    assert len({node for node, _ in placement.values()}) == MIN_REPLICAS, f"replicas share a node: {placement}"
    assert {zone for _, zone in placement.values()} == set(ZONES), f"replicas not one per zone: {placement}"


@pytest.mark.parametrize("component", ["vespa", "phoenix"])
def test_stateful_pods_run_with_their_claims_bound_on_their_node(scale, component):
    (pod,) = scale.ready(component)
    claims = [v.persistent_volume_claim.claim_name for v in pod.spec.volumes or [] if v.persistent_volume_claim]
    assert claims, f"{component} pod mounts no PVC"
    for claim in claims:
        pvc = scale.core.read_namespaced_persistent_volume_claim(claim, scale.namespace)
        assert pvc.status.phase == "Bound" and pvc.spec.storage_class_name == scale.sc, (claim, pvc.status.phase)
        pv = scale.core.read_persistent_volume(pvc.spec.volume_name)
        (term,) = pv.spec.node_affinity.required.node_selector_terms
        assert term.match_expressions[0].values == [pod.spec.node_name], \
            f"{component}: claim {claim} bound to {pv.metadata.name}, not on the pod's node {pod.spec.node_name}"
        FIGURES[f"{component} claim {claim}"] = f"{pv.metadata.name} on {pod.spec.node_name} ({scale.zone(pod.spec.node_name)})"
    if component == "vespa":
        sts = scale.rendered("StatefulSet", "vespa")
        templates = [t["metadata"]["name"] for t in sts["spec"].get("volumeClaimTemplates", [])]
        assert templates and all(any(c.startswith(f"{t}-") for c in claims) for t in templates), (templates, claims)


def test_drain_respects_the_pod_disruption_budget(scale):
    pdb = scale.rendered("PodDisruptionBudget", "runtime")
    assert str(pdb["spec"]["maxUnavailable"]) == "1"
    holders = sorted({p.spec.node_name for p in scale.ready("runtime")})
    assert len(holders) == MIN_REPLICAS
    kc = scale.kubeconfig
    # No node may take a replacement: the first eviction uses the budget's one disruption, the second must wait.
    for node in scale.kwok.nodes:
        _kubectl(kc, "cordon", node)
    try:
        t = time.monotonic()
        first = _kubectl(kc, "drain", holders[0], "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=90s")
        FIGURES["drain with budget (s)"] = round(time.monotonic() - t, 1)
        assert first.returncode == 0, f"draining {holders[0]} failed although the PDB allows one disruption:\n{first.stderr}"
        _wait("the PDB to count the eviction", lambda: scale.policy.read_namespaced_pod_disruption_budget(
            pdb["metadata"]["name"], scale.namespace).status.disruptions_allowed == 0, timeout=60)
        second = _kubectl(kc, "drain", holders[1], "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=20s")
        assert second.returncode != 0, "a second replica was evicted while another was down: the PDB was not respected"
        assert "disruption budget" in second.stderr, second.stderr[-1500:]
        on_second = [p for p in scale.ready("runtime") if p.spec.node_name == holders[1]]
        assert on_second, f"the replica on {holders[1]} was evicted despite the PDB"
        # Capacity back (except the first drained node): the replacement schedules, the budget frees, the drain passes.
        for node in scale.kwok.nodes:
            if node != holders[0]:
                _kubectl(kc, "uncordon", node)
        _wait("the replacement replica Ready", lambda: len(scale.ready("runtime")) >= MIN_REPLICAS, timeout=120)
        t = time.monotonic()
        third = _kubectl(kc, "drain", holders[1], "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=120s")
        FIGURES["drain after the replacement is Ready (s)"] = round(time.monotonic() - t, 1)
        assert third.returncode == 0, third.stderr[-1500:]
        _wait("3 runtime replicas Ready after the drains", lambda: len(scale.ready("runtime")) >= MIN_REPLICAS, timeout=120)
    finally:
        for node in scale.kwok.nodes:
            _kubectl(kc, "uncordon", node)


def _deployment_replicas(scale: Scale, name: str) -> int:
    return scale.apps.read_namespaced_deployment_scale(name, scale.namespace).spec.replicas


def test_hpa_holds_the_rendered_replica_bounds(scale):
    hpa_doc = scale.rendered("HorizontalPodAutoscaler", "runtime")
    assert (hpa_doc["spec"]["minReplicas"], hpa_doc["spec"]["maxReplicas"]) == (MIN_REPLICAS, MAX_REPLICAS)
    hpa = scale.autoscaling.read_namespaced_horizontal_pod_autoscaler(hpa_doc["metadata"]["name"], scale.namespace)
    assert (hpa.spec.min_replicas, hpa.spec.max_replicas) == (MIN_REPLICAS, MAX_REPLICAS)
    deploy = hpa.spec.scale_target_ref.name
    for forced, bound in ((MAX_REPLICAS + 3, MAX_REPLICAS), (1, MIN_REPLICAS)):
        scale.apps.patch_namespaced_deployment_scale(deploy, scale.namespace, {"spec": {"replicas": forced}})
        seconds = _wait(f"the HPA to bring {deploy} from {forced} back to {bound} replicas",
                        lambda: _deployment_replicas(scale, deploy) == bound, timeout=120)
        FIGURES[f"HPA {forced} -> {bound} replicas (s)"] = round(seconds, 1)
    _wait("runtime pods back to minReplicas", lambda: len(scale.ready("runtime")) == MIN_REPLICAS, timeout=120)
    events = json.loads(_kubectl(scale.kubeconfig, "get", "events", "-n", scale.namespace, "-o", "json",
                                 "--field-selector", "involvedObject.kind=HorizontalPodAutoscaler").stdout or "{}")
    FIGURES["HPA events"] = sorted({e.get("reason", "") for e in events.get("items", [])})
