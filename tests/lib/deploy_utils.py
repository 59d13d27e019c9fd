"""The test helpers of scripts/deploy_k3s.sh (tests/cluster/test_deploy_script*.py): its paths and pins, running it
(--dry-run plans), and PATHs of chosen tools or stand-ins. Not a test file."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from cogniverse_chart import REPO_ROOT, versions

SCRIPT = REPO_ROOT / "scripts" / "deploy_k3s.sh"
STEPS = REPO_ROOT / "scripts" / "deploy" / "steps.sh"  # the step functions deploy_k3s.sh sources


def source_text() -> str:
    """The script's whole source: the entry and the step functions it sources."""
    return SCRIPT.read_text() + STEPS.read_text()
VALUES = REPO_ROOT / "values"
#: a digest no file has: the download runs, and its check must refuse it
WRONG = "0" * 64


def pinned(key: str) -> str:
    """The version versions.env pins (the script's only source for its defaults)."""
    return versions.get(key)


K3S_VERSION = pinned("K3S_VERSION")
ARGO_VERSION = pinned("ARGO_VERSION")


def run(*args: str, env: dict[str, str] | None = None, path: str | None = None) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if k not in {"KUBECONFIG", "K3S_VERSION", "ARGO_VERSION",
                                                          "ARGO_MANIFEST", "NAMESPACE", "HELM"}}
    e.update(env or {})
    if path is not None:
        e["PATH"] = path
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=e, timeout=60)


def plan(*args: str, **kw) -> list[str]:
    proc = run("--dry-run", *args, **kw)
    assert proc.returncode == 0, proc.stderr
    assert "--dry-run: nothing was changed" in proc.stdout
    return [line.strip() for line in proc.stdout.splitlines() if line.strip()[:1].isdigit()]


def steps_with(lines: list[str], needle: str) -> list[str]:
    return [line for line in lines if needle in line]


def bare_path(tmp_path: Path, *tools: str) -> str:
    """A PATH with only the basic tools the script needs plus the named ones."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("bash", "dirname", "id", "uname", "env", "sort", "head", "awk", "sed", "mktemp", *tools):
        found = shutil.which(tool)
        if found:
            (bindir / tool).symlink_to(found)
    return str(bindir)


def stub_path(tmp_path: Path, **scripts: str) -> str:
    """A PATH of stand-ins (mocks, named so) before the system's: `sudo` runs its command, others as given."""
    d = tmp_path / "stubs"
    d.mkdir(exist_ok=True)
    for name, body in {"sudo": 'exec "$@"', **scripts}.items():
        (d / name).write_text(f"#!/bin/sh\n{body}\n")
        (d / name).chmod(0o755)
    return f"{d}:/usr/bin:/bin"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
