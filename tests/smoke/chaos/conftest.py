"""The chaos suite (`pytest -m chaos`): faults injected into the local node while the chart's workflows run.

Its tests carry the `chaos` marker only (not `smoke`): the smoke legs never run them, and any run whose `-m`
does not name `chaos` deselects them (the fast suite's `-m "not smoke"` included). With `-m chaos` but no
cluster answering at KUBECONFIG, they are skipped with one line saying so. It lives under tests/smoke because
it installs the chart exactly as the smoke suite does (smokelib.install_release), and the smoke conftest's
session fixtures do nothing for a session without smoke modules. One release serves every scenario; the
scenarios run one after another (each fault would disturb the others' figures).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterator

import pytest

from chaoslib import CHAOS_OVERRIDES, FIGURES, PodLedger
from kubelib import kubectl
from smokelib import SmokeRelease, install_release, remove_release


def _no_cluster() -> str | None:
    config = os.environ.get("KUBECONFIG", "")
    if not config or not os.path.exists(config.split(os.pathsep)[0]):
        return "set KUBECONFIG to the node of scripts/local_cluster.sh"
    proc = kubectl("get", "--raw", "/readyz", "--request-timeout=10s", check=False, timeout=30)
    return None if proc.returncode == 0 else f"the cluster at KUBECONFIG={config} does not answer /readyz"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chaos = [i for i in items if i.get_closest_marker("chaos")]
    if not chaos:
        return
    if "chaos" not in (config.option.markexpr or ""):
        config.hook.pytest_deselected(items=chaos)
        items[:] = [i for i in items if not i.get_closest_marker("chaos")]
        return
    if reason := _no_cluster():
        skip = pytest.mark.skip(reason=f"chaos: no cluster answers ({reason})")
        for item in chaos:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("chaos figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@dataclass
class Chaos:
    """The release the scenarios run their workflows in, its CoreV1Api and the ledger of its step pods."""

    rel: SmokeRelease
    core: Any
    ledger: PodLedger


@pytest.fixture(scope="session")
def chaos() -> Iterator[Chaos]:
    from kubernetes import client

    rel = install_release(os.environ["KUBECONFIG"], prefix="cvchaos", overrides=CHAOS_OVERRIDES)
    core = client.CoreV1Api()
    ledger = PodLedger(core, rel.namespace)
    try:
        yield Chaos(rel, core, ledger)
    finally:
        ledger.stop()
        remove_release(rel)
