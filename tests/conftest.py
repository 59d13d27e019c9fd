"""Shared fixtures: a `render_chart` helper (airflow helm-tests style) and the Helm matrix.

Fast tests need no cluster. Tests marked `smoke` need KUBECONFIG pointing at a cluster with
Argo Workflows; without one they are skipped with one line saying so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from cogniverse_chart import CHART_DIR, PROFILES_DIR
from cogniverse_chart.documents import Document, parse_stream
from cogniverse_chart.helm import Helm, available_helms, find_helm
from cogniverse_chart.render import DEFAULT_KUBE_VERSION, RenderRequest, render_text

HELMS = available_helms()


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


RenderChart = Callable[..., list[Document]]

#: `helm template` output per distinct request, shared by every test of the session. Rendering is
#: deterministic for the same chart, values, flags and helm binary; each call re-parses the text, so
#: tests that edit the objects they get cannot affect each other. Failed renders are not cached.
_RENDERED: dict[tuple[Any, ...], str] = {}


def _render_chart(
    values: dict[str, Any] | None = None,
    *,
    profile: str | None = None,
    show_only: list[str] | None = None,
    kube_version: str = DEFAULT_KUBE_VERSION,
    api_versions: tuple[str, ...] = ("argoproj.io/v1alpha1",),
    helm: Helm | None = None,
    tmp_path: Path,
    release: str = "cogniverse",
    namespace: str = "cogniverse",
) -> list[Document]:
    helm = helm or find_helm()
    files: list[Path] = []
    if profile:
        files.append(PROFILES_DIR / f"{profile}.yaml")
    dumped = yaml.safe_dump(values) if values else ""
    key = (helm.path, profile, dumped, tuple(show_only or ()), kube_version, tuple(api_versions), release, namespace)
    text = _RENDERED.get(key)
    if text is None:
        if values:
            f = tmp_path / f"values-{len(list(tmp_path.glob('values-*.yaml')))}.yaml"
            f.write_text(dumped, encoding="utf-8")
            files.append(f)
        req = RenderRequest(values_files=files, kube_version=kube_version, api_versions=api_versions,
                            show_only=show_only or [], release=release, namespace=namespace, chart=CHART_DIR)
        text = _RENDERED[key] = render_text(req, helm)
    return parse_stream(text, str(CHART_DIR))


@pytest.fixture
def render_chart(tmp_path: Path) -> RenderChart:
    """render_chart(values={...}, profile="k3s", show_only=[...], helm=...) -> list[Document]."""

    def _call(values: dict[str, Any] | None = None, **kw: Any) -> list[Document]:
        return _render_chart(values, tmp_path=tmp_path, **kw)

    return _call


def by_kind(docs: list[Document], kind: str) -> dict[str, dict[str, Any]]:
    """{metadata.name: object} for every document of one kind."""
    return {d.name: d.obj for d in docs if d.kind == kind}
