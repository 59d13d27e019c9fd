"""Fixtures of the smoke suite: a fresh namespace with the chart installed from values/smoke.yaml.

Needs KUBECONFIG pointing at a cluster with Argo Workflows running and the smoke-runner image
imported into the node's containerd (docs/smoke.md). Without KUBECONFIG every test here is
skipped by tests/conftest.py with one line saying so. Settings: see smokelib.py.
"""

from __future__ import annotations

import os
import secrets
import time
from typing import Any, Iterator

import pytest

from cogniverse_chart import CHART_DIR
from cogniverse_chart.argo import ArgoClient
from cogniverse_chart.helm import find_helm
from smokelib import BACKUPS_CLAIM, RELEASE, SMOKE_VALUES, GuideRun, SmokeRelease, WorkflowWatcher, create_backups_claim


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The guide's tests last: they wait for the guide run, which goes on beside the others meanwhile."""
    items.sort(key=lambda i: i.path.name == "test_guide_run.py" and i.path.parent.name == "smoke")


@pytest.fixture(scope="session", autouse=True)
def guide_run(request: pytest.FixtureRequest) -> Iterator[GuideRun | None]:
    """docs/guide.md, started at the beginning of the session so it runs beside the other smoke tests
    (only when tests/smoke/test_guide_run.py is selected and a cluster is configured)."""
    wanted = [i for i in request.session.items if i.path.name == "test_guide_run.py" and i.path.parent.name == "smoke"
              and not i.get_closest_marker("skip")]
    if not wanted or not os.environ.get("KUBECONFIG"):
        yield None
        return
    run = GuideRun(os.environ["KUBECONFIG"], find_helm())
    try:
        yield run
    finally:
        run.cleanup()


@pytest.fixture(scope="module")
def core_api(kube_cluster: Any) -> Any:
    """CoreV1Api for the cluster of pytest-helm-charts' kube_cluster fixture (KUBECONFIG)."""
    from kubernetes import client, config

    config.load_kube_config(config_file=kube_cluster.kube_config_path)
    return client.CoreV1Api()


@pytest.fixture(scope="module")
def smoke(kube_cluster: Any, core_api: Any) -> Iterator[SmokeRelease]:
    """Install the chart into a fresh namespace (helm upgrade --install --wait) and remove it afterwards."""
    from kubernetes import client

    assert SMOKE_VALUES.is_file(), f"{SMOKE_VALUES} is missing: the smoke install needs the smoke profile"
    kubeconfig = kube_cluster.kube_config_path
    namespace = f"cvsmoke-{secrets.token_hex(3)}"
    helm = find_helm()
    argo = ArgoClient(client.CustomObjectsApi(), namespace)
    rel = SmokeRelease(namespace, RELEASE, helm, kubeconfig, argo, 0.0)
    rel.watcher = WorkflowWatcher(argo.api, namespace)  # one watch stream; tests wait on its events
    start = time.monotonic()
    create_backups_claim(core_api, namespace, BACKUPS_CLAIM)
    rel.helm_run("upgrade", "--install", RELEASE, str(CHART_DIR), "--create-namespace",
                 "--values", str(SMOKE_VALUES), "--wait", "--timeout", "5m")
    rel.install_seconds = time.monotonic() - start
    print(f"smoke: installed release {RELEASE} in namespace {namespace} in {rel.install_seconds:.1f}s")
    try:
        yield rel
    finally:
        rel.watcher.stop()
        for ns in sorted(rel.tenant_namespaces):
            _delete_namespace(core_api, ns)
        if os.environ.get("SMOKE_KEEP_NAMESPACE") == "1":
            print(f"smoke: keeping namespace {namespace} (SMOKE_KEEP_NAMESPACE=1)")
        else:
            rel.helm_run("uninstall", RELEASE, "--wait", check=False)
            _delete_namespace(core_api, namespace)


def _delete_namespace(core_api: Any, name: str) -> None:
    from kubernetes.client.exceptions import ApiException

    try:
        core_api.delete_namespace(name)
    except ApiException as exc:
        if exc.status != 404:
            raise
