"""Releasing the chart: version discipline (chart-testing's rule: a changed chart has a new version) and the
Artifact Hub annotations Chart.yaml carries, generated from CHANGELOG.md and values.yaml. Packaging,
signing and pushing: test_package.py."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from cogniverse_chart import CHART_DIR, cli, release
from cogniverse_chart.errors import ToolkitError


# --- version discipline (chart-testing's rule) ---------------------------------------------------

def test_changed_chart_has_a_version_bump():
    """The chart in this checkout: changed against the base chosen by release.choose_base -> new version."""
    if shutil.which("git") is None:
        pytest.skip("git not installed: no history to compare the chart version with")
    result = release.check_version_bump()
    assert result.ok, release.bump_message(result)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                   check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with main holding chart version 0.1.0."""
    chart = tmp_path / "charts" / "demo"
    chart.mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("a: 1\n")
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "first")
    return tmp_path


def _bump(repo: Path, version: str) -> None:
    path = repo / "charts/demo/Chart.yaml"
    path.write_text(path.read_text().replace("version: 0.1.0", f"version: {version}"))


def test_branch_change_without_bump_fails_naming_what_to_bump(repo):
    _git(repo, "checkout", "-q", "-b", "feature")
    (repo / "charts/demo/values.yaml").write_text("a: 2\n")
    _git(repo, "commit", "-qam", "change values")
    result = release.check_version_bump(repo / "charts/demo")
    assert not result.ok and result.how == "merge base of HEAD and main"
    msg = release.bump_message(result, repo / "charts/demo")
    assert "still 0.1.0" in msg and "bump `version`" in msg
    # the CHANGELOG advice only where the chart keeps one (attack24c E33)
    assert ("CHANGELOG.md" in msg) == (repo / "charts/demo/CHANGELOG.md").is_file(), msg


def test_branch_change_with_bump_passes(repo):
    _git(repo, "checkout", "-q", "-b", "feature")
    (repo / "charts/demo/values.yaml").write_text("a: 2\n")
    _bump(repo, "0.2.0")
    _git(repo, "commit", "-qam", "change values, bump")
    assert release.check_version_bump(repo / "charts/demo").ok


def test_uncommitted_new_file_counts_as_a_change(repo):
    _git(repo, "checkout", "-q", "-b", "feature")
    (repo / "charts/demo/templates").mkdir()
    (repo / "charts/demo/templates/new.yaml").write_text("kind: ConfigMap\n")
    assert not release.check_version_bump(repo / "charts/demo").ok


def test_on_main_the_last_chart_commit_is_judged(repo):
    """On main (HEAD == main) the newest commit that changed the chart must have bumped the version."""
    (repo / "charts/demo/values.yaml").write_text("a: 3\n")
    _git(repo, "commit", "-qam", "change on main without bump")
    result = release.check_version_bump(repo / "charts/demo")
    assert not result.ok and "last commit that changed the chart" in result.how
    _bump(repo, "0.1.1")
    _git(repo, "commit", "-qam", "bump")
    # the bump commit changed the chart too and its parent had 0.1.0
    assert release.check_version_bump(repo / "charts/demo").ok


def test_first_commit_and_non_git_directories_pass(repo, tmp_path_factory):
    assert release.check_version_bump(repo / "charts/demo").ok
    plain = tmp_path_factory.mktemp("plain")
    shutil.copytree(repo / "charts/demo", plain / "demo")
    assert release.check_version_bump(plain / "demo").base is None

# --- Artifact Hub annotations --------------------------------------------------------------------

def test_artifacthub_annotations_match_changelog_and_values():
    current, wanted = release.render_chart_yaml()
    assert current == wanted, "Chart.yaml's artifacthub.io annotations are stale: run `cogniverse-chart annotations`"


def test_annotations_list_every_pinned_image_and_the_current_changes():
    import yaml
    meta = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    images = yaml.safe_load(meta["annotations"]["artifacthub.io/images"])
    refs = {i["image"] for i in images}
    assert f"cogniverse/runtime:{meta['appVersion']}" in refs  # empty tag = appVersion
    values = (CHART_DIR / "values.yaml").read_text()
    for name, ref in release.pinned_images():
        assert ref.split(":")[0].split("@")[0] in values
    changes = yaml.safe_load(meta["annotations"]["artifacthub.io/changes"])
    log = release.parse_changelog(CHART_DIR / "CHANGELOG.md")[meta["version"]]
    assert [c["description"] for c in changes] == [c.description for c in log]


def test_annotations_command_rewrites_a_stale_chart_yaml(tmp_path):
    chart = tmp_path / "cogniverse"
    shutil.copytree(CHART_DIR, chart, ignore=shutil.ignore_patterns("templates", "charts"))
    text = (chart / "CHANGELOG.md").read_text()
    version = release.chart_version(chart)
    text = text.replace(f"## {version}\n", f"## {version}\n- fixed: A fix written after the last generation.\n", 1)
    (chart / "CHANGELOG.md").write_text(text)
    assert cli.main(["annotations", "--check", "--chart", str(chart)]) == 1
    assert cli.main(["annotations", "--chart", str(chart)]) == 0
    assert "A fix written after the last generation." in (chart / "Chart.yaml").read_text()
    assert cli.main(["annotations", "--check", "--chart", str(chart)]) == 0


@pytest.mark.parametrize("text", ['Quotes " and \\ backslash', "Colon: and # hash", "{braces} [brackets] & *star", "|pipe >fold"])
def test_changelog_text_survives_into_chart_yaml_verbatim(tmp_path, text):
    """Any one-line description ends up in Chart.yaml as valid YAML with the same text."""
    import yaml
    chart = tmp_path / "cogniverse"
    shutil.copytree(CHART_DIR, chart, ignore=shutil.ignore_patterns("templates", "charts"))
    version = release.chart_version(chart)
    log = (chart / "CHANGELOG.md").read_text().replace(f"## {version}\n", f"## {version}\n- fixed: {text}\n", 1)
    (chart / "CHANGELOG.md").write_text(log)
    release.write_annotations(chart)
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    changes = yaml.safe_load(meta["annotations"]["artifacthub.io/changes"])
    assert changes[0] == {"kind": "fixed", "description": text}
    assert meta["version"] == version and meta["annotations"]["artifacthub.io/license"] == "Apache-2.0"


@pytest.mark.parametrize("line, problem", [
    ("- improved: Faster.", "KIND one of"),
    ("Faster.", "one line per change"),
    ("## 0.1", "must name a new SemVer version"),
])
def test_bad_changelog_lines_are_named(tmp_path, line, problem):
    log = tmp_path / "CHANGELOG.md"
    log.write_text(f"# Changelog\n\n## 1.0.0\n{line}\n")
    with pytest.raises(ToolkitError, match=problem) as err:
        release.parse_changelog(log)
    assert f"{log}:4" in str(err.value)


def test_version_without_changelog_section_is_refused(tmp_path):
    chart = tmp_path / "cogniverse"
    shutil.copytree(CHART_DIR, chart, ignore=shutil.ignore_patterns("templates", "charts"))
    (chart / "Chart.yaml").write_text((chart / "Chart.yaml").read_text().replace(
        f"version: {release.chart_version()}", "version: 9.9.9"))
    with pytest.raises(ToolkitError, match=r"no `## 9.9.9` section"):
        release.render_chart_yaml(chart)
