"""The chaos suite (tests/smoke/chaos) runs only when asked for: any `-m` that does not name `chaos` deselects it
(the fast suite's `-m "not smoke"`, the smoke legs' `-m smoke`), and `-m chaos` without a cluster that answers
skips each scenario with one line saying so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAOS = ROOT / "tests" / "smoke" / "chaos"


def _pytest(*args: str, kubeconfig: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": kubeconfig, "COGNIVERSE_TEST_WORKERS": "0"}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", *args, str(CHAOS)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


@pytest.mark.parametrize("expr", ["not smoke", "smoke"])
def test_the_chaos_scenarios_are_deselected_unless_asked_for(expr, tmp_path):
    proc = _pytest("-m", expr, "--collect-only", kubeconfig=str(tmp_path / "none"))
    assert "no tests collected" in proc.stdout and "deselected" in proc.stdout, proc.stdout + proc.stderr
    assert proc.returncode == 5


def test_without_a_cluster_each_scenario_is_skipped_in_one_line(tmp_path):
    proc = _pytest("-m", "chaos", kubeconfig=str(tmp_path / "none"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    skips = [line for line in proc.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skips and all("chaos: no cluster answers (set KUBECONFIG to the node of scripts/local_cluster.sh)" in line
                         for line in skips), proc.stdout
    assert " skipped" in proc.stdout and " passed" not in proc.stdout and " failed" not in proc.stdout, proc.stdout
