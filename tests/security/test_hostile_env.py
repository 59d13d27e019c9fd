"""The environment a CI job hands the tool (attack24c): a KUBECONFIG or Helm file that never ends for
commands that need no cluster (E13), and closed standard streams (E29)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit_utils import helm_create

CLI = [sys.executable, "-m", "cogniverse_chart.cli"]


def _run(cwd: Path, env: dict[str, str], *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=120, **kw)  # type: ignore[call-overload]


@pytest.mark.parametrize("command", [["lint"], ["render"], ["check", "--helm", "3"]])
@pytest.mark.parametrize("kubeconfig", ["/dev/zero", "FIFO"])
def test_commands_without_a_cluster_ignore_a_kubeconfig_that_never_ends(tmp_path: Path, command: list[str],
                                                                        kubeconfig: str) -> None:
    """KUBECONFIG=/dev/zero made `helm template` (and `helm version`) grow to gigabytes; a FIFO hung them."""
    chart = helm_create(tmp_path)
    if kubeconfig == "FIFO":
        kubeconfig = str(tmp_path / "kfifo")
        os.mkfifo(kubeconfig)
    proc = _run(chart, {"KUBECONFIG": kubeconfig}, *command)
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
    assert "kind: Service" in proc.stdout if command == ["render"] else "objects checked" in proc.stdout


def test_a_helm_config_that_is_a_device_is_refused_by_name(tmp_path: Path) -> None:
    chart = helm_create(tmp_path)
    proc = _run(chart, {"HELM_REPOSITORY_CONFIG": "/dev/zero"}, "render", "--out-dir", str(tmp_path / "out"))
    assert proc.returncode == 2 and "$HELM_REPOSITORY_CONFIG=/dev/zero: not a regular file" in proc.stderr


def test_closed_stdout_is_exit_2_not_a_traceback(tmp_path: Path) -> None:
    """E29: `validate x.yaml >&-` ended in a traceback and exit 1 (= findings); stderr closed and stdout full: 2."""
    cm = tmp_path / "cm.yaml"
    cm.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  port: 8080\n")
    for fmt in ("human", "sarif"):
        proc = subprocess.run([*CLI, "-o", fmt, "validate", str(cm)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, timeout=60, pass_fds=(), close_fds=True,
                              preexec_fn=lambda: os.close(1))
        assert proc.returncode == 2 and "standard output is closed" in proc.stderr and "Traceback" not in proc.stderr
    with open("/dev/full", "w") as full:
        proc = subprocess.run([*CLI, "validate", str(cm)], stdout=full, stderr=subprocess.DEVNULL, timeout=60,
                              preexec_fn=lambda: os.close(2))
    assert proc.returncode == 2
