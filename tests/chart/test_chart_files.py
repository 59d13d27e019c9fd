"""Chart.yaml and .helmignore name only files that exist (a stale name hides a real file from the
package, or points Artifact Hub at nothing)."""

from __future__ import annotations

import re

import yaml

from cogniverse_chart import CHART_DIR, REPO_ROOT

#: Entries every chart's .helmignore carries for editors and VCS: they name nothing of this chart.
GENERIC = re.compile(r"^(\.|\*)")


def test_helmignore_names_files_of_the_chart():
    entries = [line.strip() for line in (CHART_DIR / ".helmignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    specific = [e for e in entries if not GENERIC.match(e)]
    assert specific, "no chart-specific .helmignore entry left to check"
    missing = [e for e in specific if not (CHART_DIR / e.rstrip("/")).exists()]
    assert not missing, f".helmignore names {missing}, which charts/cogniverse does not have: remove them"


def test_chart_icon_is_a_file_of_this_repository():
    meta = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    m = re.search(r"/main/(.+)$", meta["icon"])
    assert m, f"Chart.yaml icon {meta['icon']} does not point into this repository's main branch"
    assert (REPO_ROOT / m.group(1)).is_file(), f"Chart.yaml icon names {m.group(1)}, which does not exist"


def test_the_chart_ci_runs_check():
    """`cogniverse-chart check` is the chart CI job: the workflow users copy runs it (scripts/check_chart.sh)."""
    workflow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "chart-ci.yaml").read_text())
    runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert any(r.split("#")[0].strip() == "scripts/check_chart.sh" for r in runs), runs
    assert "cogniverse-chart\" check" in (REPO_ROOT / "scripts" / "check_chart.sh").read_text()
