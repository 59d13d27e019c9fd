"""The local cluster's test helpers (scripts/local_cluster.sh and cluster/): its paths and pins, running
the script or its functions without a cluster, and building a small image with cluster/images/oci_image.py.
Not a test file."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

from cogniverse_chart import versions

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "local_cluster.sh"  # the entry point: exec cluster/node.sh
NODE = ROOT / "cluster" / "node.sh"  # the command line, sourcing cluster/lib.sh and one file per component
HOST = ROOT / "cluster" / "host" / "host.sh"  # the Debian packages, the bridge, what down removes
OCI_IMAGE = ROOT / "cluster" / "images" / "oci_image.py"
OCI_NAMES = ROOT / "cluster" / "images" / "oci_names.py"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=60)


def module_require(gomod: Path, module: str) -> str:
    match = re.search(rf"^(?:require )?\s*{re.escape(module)} (v\S+)", gomod.read_text(), re.M)
    assert match, f"{gomod} does not require {module}"
    return match.group(1)


PINS = versions.load()
K8S_VERSION = PINS["KUBERNETES_VERSION"]
ARGO_VERSION = module_require(ROOT / "cluster" / "argo" / "go.mod", "github.com/argoproj/argo-workflows/v3")


def script(body: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run BODY in bash with cluster/node.sh's functions and settings loaded (its last line, the
    call of main, dropped)."""
    prelude = f'set -euo pipefail; source <(sed -e "\\$d" -e "s|^ROOT=.*|ROOT={ROOT}|" "{NODE}")\n'
    return subprocess.run(["bash", "-c", prelude + body], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=240)


def build_image(tmp_path: Path, name: str = "example/tool:1.0") -> Path:
    payload = tmp_path / "tool"
    payload.write_bytes(b"#!/bin/sh\necho hi\n")
    out = tmp_path / "image.tar"
    proc = subprocess.run([sys.executable, str(OCI_IMAGE), "--name", name, "--out", str(out),
                           "--entrypoint", '["/bin/tool"]', "--env", "A=b", "--dir", "/tmp:1777",
                           "--symlink", "/bin/alias=tool", f"{payload}=/bin/tool:0755"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out


def blob(tar: tarfile.TarFile, digest: str) -> bytes:
    data = tar.extractfile(f"blobs/sha256/{digest.split(':', 1)[1]}").read()
    assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
    return data
