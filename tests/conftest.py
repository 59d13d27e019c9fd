"""Shared fixtures: `render_chart` (tests/lib/chart_utils.py, airflow helm-tests style) and the Helm matrix.

Fast tests need no cluster. Tests marked `smoke` need KUBECONFIG pointing at a cluster with
Argo Workflows; without one they are skipped with one line saying so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import pytest

import chart_utils
import suite
from chart_utils import by_kind  # noqa: F401 - re-exported: test files of other branches import it from conftest
from cogniverse_chart.documents import Document
from cogniverse_chart.helm import Helm, available_helms

HELMS = available_helms()
# Where each cluster test runs in scripts/test.sh (--argo-leg, --smoke-group): tests/placement.py.
pytest_plugins = ("placement",)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Workers for `-n auto` (pyproject addopts): see suite.workers."""
    return suite.workers(config.option.markexpr)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("KUBECONFIG") and Path(os.environ["KUBECONFIG"]).exists():
        return
    skip = pytest.mark.skip(reason="smoke: no cluster configured (set KUBECONFIG to run against one)")
    for item in items:
        if item.get_closest_marker("smoke"):  # the marker, not any keyword/param id named "smoke"
            item.add_marker(skip)


@pytest.fixture(params=HELMS, ids=[h.label for h in HELMS] or None)
def helm(request: pytest.FixtureRequest) -> Helm:
    """Every Helm major version we have (Helm 3 and Helm 4 after scripts/bootstrap.sh)."""
    return request.param


@pytest.fixture
def render_chart() -> Callable[..., list[Document]]:
    """render_chart(values={...}, profile="k3s", show_only=[...], helm=...) -> list[Document]
    (chart_utils.render_chart: one cached render per distinct request for the whole session)."""
    return chart_utils.render_chart


@pytest.fixture
def docs(helm: Helm) -> list[Document]:
    """The chart rendered with its default values, by each Helm of the matrix (one cached render each)."""
    return chart_utils.render_chart(helm=helm)


@pytest.fixture(scope="session")
def strict_validator() -> Any:
    """One strict validator over every bundled Kubernetes schema and both Argo versions (compiled once)."""
    from cogniverse_chart import schemas
    from cogniverse_chart.validate import Validator

    return Validator(kube_versions=schemas.available("k8s"), argo_versions=("3.7", "4.0"))
