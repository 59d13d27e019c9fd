"""`ct`, chart-testing's checks on any chart: the version bump against the target branch (local, remote,
shallow clone, outside git), the chart folder it wants, and `helm lint`'s output as findings."""

from __future__ import annotations

import subprocess
from pathlib import Path

from toolkit_utils import demo, rules_of, run_cli, run_json  # noqa: F401 (demo: fixture)


def _feature_branch(demo: Path) -> list[str]:
    """DEMO as a git repository: the chart committed on main, then branch `feature` checked out. Returns the
    git command prefix for further commits."""
    git = ["git", "-C", str(demo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(demo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "chart"], check=True)
    subprocess.run([*git, "checkout", "-qb", "feature"], check=True)
    return git


def test_ct_checks_the_version_bump_against_the_target_branch(capsys, demo: Path) -> None:
    _feature_branch(demo)
    (demo / "values.yaml").write_text((demo / "values.yaml").read_text() + "extra: 1\n")
    code, result = run_json(capsys, demo, "ct", "--only", "version-bump")
    assert code == 1 and rules_of(result) == {"ct/version-bump"} and "compared with" in result["version_bump"]
    # E33: the CHANGELOG/annotations advice only for a chart that keeps a CHANGELOG.md
    assert "CHANGELOG" not in result["findings"][0]["message"], result["findings"][0]["message"]
    (demo / "CHANGELOG.md").write_text("# Changelog\n")
    code, result = run_json(capsys, demo, "ct", "--only", "version-bump")
    assert code == 1 and "## NEW_VERSION` section to" in result["findings"][0]["message"]
    (demo / "CHANGELOG.md").unlink()
    chart_yaml = (demo / "Chart.yaml").read_text()
    # D47: chart-testing wants a greater version by SemVer precedence; D48: build metadata is SemVer too
    for version, greater in (("0.0.9", False), ("0.1.0-rc.1", False), ("0.1.0+build.7", False), ("0.1.1-rc.1", True),
                             ("0.1.1", True), ("0.1.1+build.7", True), ("0.10.0", True)):
        (demo / "Chart.yaml").write_text(chart_yaml.replace("version: 0.1.0", f"version: {version}"))
        code, result = run_json(capsys, demo, "ct", "--only", "version-bump")
        assert code == (0 if greater else 1), (version, result)
        if not greater and version != "0.1.0+build.7":
            assert f"is {version}, not above 0.1.0 by SemVer precedence" in result["findings"][0]["message"]


def test_ct_notes_a_version_bump_it_could_not_compare(capsys, demo: Path) -> None:
    """Outside git, `ct` said `ok` with no word that the version bump was never compared."""
    code, result = run_json(capsys, demo, "ct", "--only", "version-bump")
    [note] = result["findings"]
    assert code == 0 and note["severity"] == "info" and "not checked: not a git checkout" in note["message"]
    code, out, _ = run_cli(capsys, demo, "ct")
    assert "info[ct/version-bump]" in out and "not checked" in out, out


def test_ct_says_when_a_shallow_clone_leaves_the_version_bump_unchecked(capsys, demo: Path, tmp_path: Path) -> None:
    """actions/checkout fetches one commit by default: the chart's change is then its "first commit" and the
    missing bump passed silently. A shallow clone gets a warning naming the fix, in every format."""
    git = _feature_branch(demo)
    (demo / "values.yaml").write_text((demo / "values.yaml").read_text() + "extra: 1\n")
    subprocess.run([*git, "commit", "-qam", "change without a bump"], check=True)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", "feature", demo.as_uri(), str(clone)], check=True)
    code, result = run_json(capsys, clone, "ct", "--only", "version-bump")
    [finding] = result["findings"]
    assert code == 0 and finding["rule"] == "ct/version-bump" and finding["severity"] == "warning", result
    assert "shallow clone" in finding["message"] and "fetch-depth: 0" in finding["message"]
    code, out, _ = run_cli(capsys, clone, "-o", "github", "ct")
    assert "::warning file=Chart.yaml" in out and "shallow clone" in out
    code, result = run_json(capsys, demo, "ct", "--only", "version-bump")  # the full history: the real check
    assert code == 1 and rules_of(result) == {"ct/version-bump"} and "compared with" in result["version_bump"]


def test_ct_compares_with_the_remote_target_branch_and_refuses_an_unknown_one(capsys, demo: Path, tmp_path: Path) -> None:
    """A CI checkout has origin/main but no local main: a branch that bumped the version and then changed the
    chart again was compared with its own previous commit and failed. A --target-branch that exists neither
    locally nor on origin is an input error, not a silent comparison with something else."""
    git = _feature_branch(demo)
    chart_yaml = demo / "Chart.yaml"
    chart_yaml.write_text(chart_yaml.read_text().replace("version: 0.1.0", "version: 0.2.0"))
    subprocess.run([*git, "commit", "-qam", "bump"], check=True)
    (demo / "values.yaml").write_text((demo / "values.yaml").read_text() + "extra: 1\n")
    subprocess.run([*git, "commit", "-qam", "more"], check=True)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--branch", "feature", demo.as_uri(), str(clone)], check=True)
    code, result = run_json(capsys, clone, "ct", "--only", "version-bump")
    assert code == 0 and "merge base of HEAD and origin/main" in result["version_bump"], result
    code, out, err = run_cli(capsys, clone, "ct", "--target-branch", "mian")
    assert code == 2 and "--target-branch mian: no such branch here, nor origin/mian" in err, err


def test_helm_lint_output_becomes_findings(tmp_path: Path) -> None:
    from cogniverse_chart.ct import parse_helm_lint

    out = ("==> Linting .\n[WARNING] Chart.yaml: failed to strictly parse chart metadata file\n"
           "\terror unmarshaling JSON: unknown field \"extra\"\n[INFO] Chart.yaml: icon is recommended\n"
           "[ERROR] templates/: demo/templates/bad.yaml:1:10\n  executing \"demo/templates/bad.yaml\" at <.x>:\n\n"
           "1 chart(s) linted, 1 chart(s) failed\n")
    found = parse_helm_lint(out, tmp_path)
    assert [(f.severity.value, f.source) for f in found] == [
        ("warning", str(tmp_path / "Chart.yaml")), ("info", str(tmp_path / "Chart.yaml")),
        ("error", "demo/templates/bad.yaml")]
    assert found[0].message.endswith('unknown field "extra"') and "executing" in found[2].message


def test_ct_wants_the_chart_folder_not_a_package(capsys, demo: Path, tmp_path: Path) -> None:
    from cogniverse_chart.helm import find_helm

    find_helm().run(["package", str(demo), "-d", str(tmp_path)])
    code, _, err = run_cli(capsys, tmp_path, "ct", "--chart", "demo-0.1.0.tgz")
    assert code == 2 and "ct checks a chart's folder" in err, err


def test_ct_reads_past_a_bom_and_reports_a_key_given_twice(capsys, demo: Path) -> None:
    """E18: a UTF-8 BOM before `apiVersion:` (Helm renders the chart) gave two false ct/chart-yaml errors;
    E19: a second `version:` (two branches' bumps merged) passed, the version-bump check reading the last."""
    text = (demo / "Chart.yaml").read_text()
    (demo / "Chart.yaml").write_text("\ufeff" + text)
    code, result = run_json(capsys, demo, "ct", "--only", "chart-yaml")
    assert not [f for f in result["findings"] if "apiVersion" in f["message"]], result
    (demo / "Chart.yaml").write_text(text + "version: 9.9.9\n")
    code, result = run_json(capsys, demo, "ct", "--only", "chart-yaml")
    assert code == 1 and any("key 'version'" in f["message"] and "given twice" in f["message"]
                             for f in result["findings"]), result
