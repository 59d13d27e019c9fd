"""scripts/test.sh (what .ci/run runs) names every host tool no pipeline step installs before it starts a
stage: a fresh CI machine without one fails in a second with the list, not deep inside a long stage."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "test.sh"


def _path_with(tmp_path: Path, *tools: str) -> str:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("bash", "dirname", *tools):
        found = shutil.which(tool)
        assert found, f"{tool} is needed to run this test"
        (bindir / tool).symlink_to(found)
    return str(bindir)


def _run(path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCRIPT, "--fast"], capture_output=True, text=True, timeout=60,
                          env={"PATH": path, "HOME": "/nonexistent"})


def test_every_missing_prerequisite_is_named_with_its_package_in_one_line(tmp_path):
    proc = _run(_path_with(tmp_path))
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if "missing prerequisites" in line]
    assert len(lines) == 1, proc.stderr
    for named in ("python3 (apt-get install python3 python3-venv)", "npm (apt-get install npm)",
                  "git (apt-get install git)", "gpg (apt-get install gnupg)", "go (a Go toolchain"):
        assert named in lines[0], lines[0]
    assert "=== test.sh: bootstrap" not in proc.stderr  # no stage started


def test_only_the_missing_tool_is_named(tmp_path):
    proc = _run(_path_with(tmp_path, "python3", "npm", "git", "go"))
    assert proc.returncode == 1
    assert "missing prerequisites: gpg (apt-get install gnupg)\n" in proc.stderr, proc.stderr
