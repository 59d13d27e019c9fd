"""Upgrade path without a cluster: the previous released chart (from git history) and the tree, rendered
with the previous release's own profiles, keep every field the API server refuses to change in place."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from cogniverse_chart import upgrade
from cogniverse_chart.documents import Document
from cogniverse_chart.errors import ToolkitError
from cogniverse_chart.render import RenderRequest, render


@pytest.fixture(scope="module")
def previous(tmp_path_factory) -> upgrade.PreviousRelease:
    if shutil.which("git") is None:
        pytest.skip("git not installed: the previous release is rebuilt from git history")
    return upgrade.previous_release(tmp_path_factory.mktemp("previous"))


@pytest.mark.parametrize("profile", ["smoke", "production", "k3s"])
def test_upgrade_from_previous_release_keeps_immutable_fields(previous, profile, helm):
    values = previous.profiles / f"{profile}.yaml"
    if not values.is_file():
        pytest.skip(f"release {previous.version} had no values/{profile}.yaml")
    old = render(RenderRequest(values_files=[values], chart=previous.chart), helm)
    new = render(RenderRequest(values_files=[values]), helm)   # the same values the user already has
    problems = upgrade.immutable_changes(old, new)
    assert not problems, f"upgrading from {previous.version} ({previous.commit[:12]}) with values/{profile}.yaml " \
                         f"would be refused:\n" + "\n".join(problems)


def _doc(kind: str, name: str, **spec) -> Document:
    return Document({"apiVersion": "v1", "kind": kind, "metadata": {"name": name}, "spec": spec}, "test")


@pytest.mark.parametrize("kind, old, new, path", [
    ("Deployment", {"selector": {"matchLabels": {"app": "a"}}}, {"selector": {"matchLabels": {"app": "b"}}}, "spec.selector"),
    ("StatefulSet", {"volumeClaimTemplates": [{"spec": {"storage": "1Gi"}}]},
     {"volumeClaimTemplates": [{"spec": {"storage": "2Gi"}}]}, "spec.volumeClaimTemplates"),
    ("StatefulSet", {"serviceName": "vespa"}, {"serviceName": "vespa-headless"}, "spec.serviceName"),
    ("PersistentVolumeClaim", {"storageClassName": "a"}, {"storageClassName": "b"}, "spec.storageClassName"),
])
def test_immutable_change_is_named(kind, old, new, path):
    problems = upgrade.immutable_changes([_doc(kind, "x", **old)], [_doc(kind, "x", **new)])
    assert len(problems) == 1 and problems[0].startswith(f"{kind}/x: `{path}` changes") and "helm upgrade" in problems[0]


def test_mutable_changes_and_new_objects_pass():
    old = [_doc("Deployment", "x", replicas=1, selector={"app": "a"})]
    new = [_doc("Deployment", "x", replicas=3, selector={"app": "a"}), _doc("StatefulSet", "new", serviceName="s")]
    assert upgrade.immutable_changes(old, new) == []


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                   check=True, capture_output=True)


def test_previous_release_is_the_commit_before_the_bump(tmp_path):
    chart = tmp_path / "charts" / "demo"
    (tmp_path / "values").mkdir()
    chart.mkdir(parents=True)
    (tmp_path / "values" / "smoke.yaml").write_text("a: 1\n")
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("a: 1\n")
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "0.1.0")
    (chart / "values.yaml").write_text("a: 2\n")
    _git(tmp_path, "commit", "-qam", "late change of 0.1.0")
    with pytest.raises(ToolkitError, match="no earlier chart version than 0.1.0"):
        upgrade.previous_release(tmp_path / "out0", chart)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.2.0\n")
    got = upgrade.previous_release(tmp_path / "out1", chart)     # bump not committed yet: HEAD
    assert got.commit == "HEAD" and got.version == "0.1.0" and (got.chart / "values.yaml").read_text() == "a: 2\n"
    _git(tmp_path, "commit", "-qam", "0.2.0")
    (chart / "values.yaml").write_text("a: 3\n")
    _git(tmp_path, "commit", "-qam", "more 0.2.0 work")
    got = upgrade.previous_release(tmp_path / "out2", chart)
    assert got.version == "0.1.0" and (got.chart / "values.yaml").read_text() == "a: 2\n"
    assert (got.profiles / "smoke.yaml").is_file()
    _git(tmp_path, "tag", "demo-0.1.0", "HEAD~3")                 # the release as tagged: a: 1
    got = upgrade.previous_release(tmp_path / "out3", chart)
    assert got.version == "0.1.0" and (got.chart / "values.yaml").read_text() == "a: 1\n"
