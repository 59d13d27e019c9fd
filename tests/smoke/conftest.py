"""Fixtures of the smoke suite: a fresh namespace with the chart installed from values/smoke.yaml.

Needs KUBECONFIG pointing at a cluster with Argo Workflows running and the smoke-runner image
imported into the node's containerd (docs/smoke.md). Without KUBECONFIG every test here is
skipped by tests/conftest.py with one line saying so. Settings: see smokelib.py.
"""

from __future__ import annotations

import os
from typing import Any, Iterator

import pytest

from cogniverse_chart.argo.client import load_kube_config
from cogniverse_chart.helm import find_helm
from figures import SessionFigures
from serviceslib import Services, Tenant, close_services, open_services, provision_tenant
from smokelib import (SESSION_NAMESPACES, GuideRun, SmokeRelease, install_release, record_session_namespaces,
                      remove_release)


def _is_guide(item: pytest.Item) -> bool:
    return item.path.name == "test_guide_run.py" and item.path.parent.name == "smoke"


def _starts_early(item: pytest.Item) -> bool:
    return hasattr(getattr(item, "module", None), "start_early")


def _after_guide(item: pytest.Item) -> bool:
    return getattr(getattr(item, "module", None), "after_guide", False)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Modules that start their workflows at the beginning of the session (`start_early`, see
    `early_scenarios`) after the others, and the guide's tests last: their workflows go on beside the
    other tests meanwhile, so their waits overlap. Modules that look at what the guide left
    (`after_guide`, e.g. test_browser.py) come after the guide's tests. The order inside each module is kept."""
    items.sort(key=lambda i: (_after_guide(i), _is_guide(i), _starts_early(i)))


_FIGURES: list[SessionFigures] = []


@pytest.fixture(scope="session", autouse=True)
def session_figures() -> None:
    """The session's pods and their CPU-seconds on the node, printed at its end (figures.py)."""
    if os.environ.get("KUBECONFIG") and not _FIGURES:
        from kubernetes import client

        load_kube_config(os.environ["KUBECONFIG"])
        _FIGURES.append(SessionFigures(client.CoreV1Api()))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _FIGURES:
        row = _FIGURES[0].row(terminalreporter.stats)
        _FIGURES[0].record(row)
        terminalreporter.write_line(_FIGURES[0].line(row))


@pytest.fixture(scope="session")
def session_namespaces(session_figures: None) -> set[str]:
    """The namespaces that existed before any smoke test ran (recorded once; see smokelib)."""
    if os.environ.get("KUBECONFIG"):
        record_session_namespaces(os.environ["KUBECONFIG"])
    return SESSION_NAMESPACES


@pytest.fixture(scope="session", autouse=True)
def early_scenarios(request: pytest.FixtureRequest, session_namespaces: set[str]) -> Iterator[None]:
    """Every selected smoke module with a `start_early(kubeconfig)` function starts its workflows now,
    in the background (install, submit, chains of dependent runs), so they run beside the rest of the
    session; its tests then wait for their results. Only with a cluster configured."""
    kubeconfig = os.environ.get("KUBECONFIG")
    if kubeconfig:
        modules = []
        for item in request.session.items:
            mod = getattr(item, "module", None)
            if _starts_early(item) and not item.get_closest_marker("skip") and mod not in modules:
                modules.append(mod)
        for mod in modules:
            mod.start_early(kubeconfig)
    yield


@pytest.fixture(scope="session", autouse=True)
def guide_run(request: pytest.FixtureRequest, session_namespaces: set[str]) -> Iterator[GuideRun | None]:
    """docs/guide.md, started at the beginning of the session so it runs beside the other smoke tests
    (only when tests/smoke/test_guide_run.py is selected and a cluster is configured)."""
    wanted = [i for i in request.session.items if _is_guide(i) and not i.get_closest_marker("skip")]
    if not wanted or not os.environ.get("KUBECONFIG"):
        yield None
        return
    run = GuideRun(os.environ["KUBECONFIG"], find_helm())
    try:
        yield run
    finally:
        run.cleanup()
        _record_guide(run)


def _record_guide(run: GuideRun) -> None:
    """Each guide command's seconds, for the leg's table (benchmarks/bench_smoke.py --sessions): the guide
    is a leg's critical path, and this says which of its commands took the time."""
    target = os.environ.get("COGNIVERSE_SESSION_FIGURES")
    if target:
        name = os.environ.get("COGNIVERSE_SESSION_NAME") or "pytest"
        with open(f"{target}.guide", "a") as out:
            out.writelines(f"{name}\t{r.seconds:.1f}\t{r.command.line}\t{(r.ran or r.command.text)[:100]}\n"
                           for r in run.results if not r.not_run)


@pytest.fixture(scope="module")
def core_api(kube_cluster: Any) -> Any:
    """CoreV1Api for the cluster of pytest-helm-charts' kube_cluster fixture (KUBECONFIG)."""
    from kubernetes import client

    load_kube_config(kube_cluster.kube_config_path)
    return client.CoreV1Api()


@pytest.fixture(scope="module")
def smoke(kube_cluster: Any, core_api: Any) -> Iterator[SmokeRelease]:
    """Install the chart into a fresh namespace (helm upgrade --install --wait) and remove it afterwards."""
    rel = install_release(kube_cluster.kube_config_path)
    try:
        yield rel
    finally:
        remove_release(rel)


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    """Phoenix and Ollama from the service images (values/local.yaml) in a namespace of their own: one release
    per session, for every test that needs the services (serviceslib.open_services)."""
    s = open_services(os.environ["KUBECONFIG"])
    try:
        yield s
    finally:
        close_services(s)


@pytest.fixture(scope="session")
def phoenix_tenant(services: Services) -> Tenant:
    """One tenant-provisioning run in the service release, for every test of the session that needs a tenant
    with its Phoenix project (test_services.py checks the run)."""
    return provision_tenant(services)
