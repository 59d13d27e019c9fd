"""One runner for both CIs: `.ci/run` and .github/workflows/chart-ci.yaml run scripts/test.sh, the offline
node or K3s as its cluster provider (scripts/lib/cluster_provider.sh), and neither has a matrix or a test
selection of its own (the Argo matrix and each test's leg come from tests/placement.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "chart-ci.yaml").read_text())
PROVIDER = ROOT / "scripts" / "lib" / "cluster_provider.sh"


def _runs() -> list[str]:
    return [step.get("run", "") for job in WORKFLOW["jobs"].values() for step in job["steps"]]


def test_the_github_workflow_calls_the_runner_with_k3s_and_has_no_matrix_of_its_own():
    assert any(r.split("#")[0].strip() == "scripts/test.sh --provider k3s" for r in _runs()), _runs()
    for name, job in WORKFLOW["jobs"].items():
        assert "strategy" not in job, f"job {name}: a matrix of its own (the runner's is tests/placement.py)"
    selecting = [r for r in _runs() if "pytest" in r or "deploy_k3s.sh" in r or "ARGO_MATRIX" in r]
    assert not selecting, f"the workflow runs tests or installs clusters itself: {selecting}"


def test_ci_run_calls_the_same_runner_on_the_offline_node():
    lines = [ln.split("#")[0].strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert "exec scripts/test.sh" in lines
    out = subprocess.run(["bash", "-c", f'ROOT={ROOT}; source {PROVIDER}; echo "$PROVIDER"'], capture_output=True,
                         text=True, env={k: v for k, v in os.environ.items() if k != "COGNIVERSE_CLUSTER_PROVIDER"})
    assert out.stdout.strip() == "node", out.stderr


@pytest.mark.parametrize("args, env", [(["--provider", "kind"], {}), ([], {"COGNIVERSE_CLUSTER_PROVIDER": "kind"})])
def test_an_unknown_provider_is_refused_in_one_line_before_anything_runs(args, env):
    proc = subprocess.run([str(ROOT / "scripts" / "test.sh"), *args, "--fast"], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "test.sh: cluster provider 'kind' (COGNIVERSE_CLUSTER_PROVIDER or --provider): expected node or k3s"]


def _fake_checkout(tmp_path: Path) -> Path:
    """A checkout whose deploy_k3s.sh, smoke-runner build and `sudo k3s ctr` only record how they were called."""
    root = tmp_path / "root"
    for rel in ("versions.env", "scripts/lib/cluster_provider.sh", "cluster/lib.sh", "cluster/images/oci_names.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, root / rel)
    record = 'echo "$(basename "$0") $*" >>"$CALLS"\n'
    fakes = {"scripts/deploy_k3s.sh": record,
             "images/smoke-runner/build.sh": record + 'mkdir -p "$3/import"; : >"$3/import/smoke-runner-0.1.0-amd64.tar"\n',
             "bin/sudo": record + 'if [[ "$*" == *"images ls"* ]]; then cat "$CALLS.listed" 2>/dev/null; else cat >/dev/null; fi\n',
             "bin/python3": 'echo "$(basename "$0") $*" >>"$CALLS"\n'}
    for rel, body in fakes.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("#!/usr/bin/env bash\n" + body)
        (root / rel).chmod(0o755)
    return root


def test_the_k3s_provider_installs_each_argo_pin_and_imports_the_runner_image_once(tmp_path):
    from cogniverse_chart import versions

    root = _fake_checkout(tmp_path)
    calls = tmp_path / "calls"
    script = (f'ROOT={root}; COGNIVERSE_CLUSTER_PROVIDER=k3s; source {root}/scripts/lib/cluster_provider.sh; '
              f'provider_up 3.7 && echo smoke-runner >{calls}.listed && provider_up 4.0 && provider_build 4.0 '
              f'&& provider_down && provider_up 9.9')
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                          env={**os.environ, "CALLS": str(calls), "PATH": f"{root}/bin:{os.environ['PATH']}"})
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == "test.sh: no Argo pin in versions.env for the matrix entry 9.9"
    made = [c for c in calls.read_text().splitlines() if not c.startswith("python3")]
    k3s = [c for c in made if c.startswith("deploy_k3s.sh")]
    assert k3s == [f"deploy_k3s.sh --install-k3s --install-argo --argo-version {versions.get(k)} --skip-chart"
                   for k in ("ARGO_VERSION", "ARGO_V4_VERSION")]
    assert [c for c in made if c.startswith("build.sh")] == [f"build.sh --out {root}/build/smoke-runner"]
    assert sum("images import -" in c for c in made) == 1, made
