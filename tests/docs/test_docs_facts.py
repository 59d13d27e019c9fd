"""Docs that stay true: what `helm show readme` (Artifact Hub) says, docs/distribution.md and the GitHub
workflow's toolchains are checked against Chart.yaml, versions.env and the go.mod files."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from cogniverse_chart import CHART_DIR, REPO_ROOT, chart_facts, versions
from cogniverse_chart.helm import available_helms

META = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
WORKFLOW = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "chart-ci.yaml").read_text())


def test_helm_show_readme_states_the_range_chart_yaml_admits() -> None:
    floor = "%d.%d" % versions.kube_floor_minor()
    newest = "%d.%d" % versions.kube_newest_minor()
    assert chart_facts.kube_range(META["kubeVersion"]) == (floor, newest)
    for helm in available_helms():
        readme = helm.run(["show", "readme", str(CHART_DIR)]).stdout
        assert f"Kubernetes {floor} to {newest}" in readme, helm.label
        assert f"--version {META['version']}" in readme
        assert not re.search(r"^helm install .* -f values/", readme, re.M)  # no repository paths in commands
        assert not re.search(r"Kubernetes 1\.\d+ to (?!%s)" % re.escape(newest), readme)


def test_readme_describes_every_helm_test_check() -> None:
    checks = chart_facts.test_checks(CHART_DIR)
    assert set(checks) == {"runtime", "vespa-config", "phoenix", "llm"}
    readme = (CHART_DIR / "README.md").read_text()
    assert all(chart_facts._CHECKS[c] in readme for c in checks)


def test_kube_range_reads_chart_yaml_constraints() -> None:
    assert chart_facts.kube_range(">=1.30.0-0 <1.38.0-0") == ("1.30", "1.37")
    assert chart_facts.kube_range(">= v1.28.0 < 2.0.0") == ("1.28", "1.99")


def test_distribution_doc_uses_the_chart_version() -> None:
    text = (REPO_ROOT / "docs" / "distribution.md").read_text()
    found = re.findall(r"(?:cogniverse-|cogniverse:|--version )(\d+\.\d+\.\d+)", text)
    assert found and set(found) == {META["version"]}, f"docs/distribution.md names chart versions {set(found)}"


def _go_directive(mod: Path) -> tuple[int, ...]:
    m = re.search(r"^go (\d+)\.(\d+)(?:\.(\d+))?$", mod.read_text(), re.M)
    assert m, mod
    return tuple(int(x or 0) for x in m.groups())


def test_workflow_toolchains_come_from_the_pins() -> None:
    """setup-go reads the go.mod with the highest `go` line (every Go helper builds with it); setup-python
    gives at least pyproject's requires-python."""
    mods = [p for p in REPO_ROOT.rglob("go.mod") if ".venv" not in p.parts and ".tools" not in p.parts]
    highest = max(_go_directive(m) for m in mods)
    steps = [s for job in WORKFLOW["jobs"].values() for s in job["steps"]]
    go_steps = [s for s in steps if str(s.get("uses", "")).startswith("actions/setup-go")]
    assert go_steps
    for step in go_steps:
        assert "go-version" not in step["with"], "pin Go through go-version-file"
        assert _go_directive(REPO_ROOT / step["with"]["go-version-file"]) == highest
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    floor = tuple(int(x) for x in re.search(r'requires-python = ">=(\d+)\.(\d+)"', pyproject).groups())
    for step in (s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python")):
        assert tuple(int(x) for x in str(step["with"]["python-version"]).split(".")) >= floor
