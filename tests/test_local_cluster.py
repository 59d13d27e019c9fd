"""Fast tests for scripts/local_cluster.sh and its image tools; no cluster, no root actions."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "local_cluster.sh"
OCI_IMAGE = ROOT / "cluster" / "images" / "oci_image.py"
OCI_NAMES = ROOT / "cluster" / "images" / "oci_names.py"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=60)


def module_require(gomod: Path, module: str) -> str:
    match = re.search(rf"^(?:require )?\s*{re.escape(module)} (v\S+)", gomod.read_text(), re.M)
    assert match, f"{gomod} does not require {module}"
    return match.group(1)


K8S_VERSION = module_require(ROOT / "cluster" / "k8s" / "go.mod", "k8s.io/kubernetes")
ARGO_VERSION = module_require(ROOT / "cluster" / "argo" / "go.mod", "github.com/argoproj/argo-workflows/v3")


def test_help_lists_commands_and_pinned_versions():
    proc = run("--help")
    assert proc.returncode == 0, proc.stderr
    for word in ("build", "up", "down", "status", "kubeconfig", "COGNIVERSE_CLUSTER_CACHE", K8S_VERSION, ARGO_VERSION):
        assert word in proc.stdout


@pytest.mark.parametrize("args, message", [
    ((), "a command is required"),
    (("start",), "unknown command or option: start"),
    (("up", "--bogus"), "unknown command or option: --bogus"),
    (("up", "down"), "more than one command"),
    (("up", "--purge"), "--purge only goes with down"),
])
def test_bad_usage_exits_2_and_names_the_problem(args, message):
    proc = run(*args)
    assert proc.returncode == 2
    assert message in proc.stderr


def test_kubeconfig_prints_the_admin_kubeconfig_under_the_state_dir(tmp_path):
    proc = run("kubeconfig", env={"COGNIVERSE_CLUSTER_STATE": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(tmp_path / "admin.kubeconfig")


def test_status_without_a_cluster_reports_every_component_stopped(tmp_path):
    proc = run("status", env={"COGNIVERSE_CLUSTER_STATE": str(tmp_path), "COGNIVERSE_CLUSTER_RUN": str(tmp_path / "run")})
    assert proc.returncode == 1
    for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "containerd",
                      "kubelet", "kube-proxy", "workflow-controller"):
        assert re.search(rf"^{component}\s+stopped$", proc.stdout, re.M), proc.stdout


def test_status_ignores_a_pid_file_of_a_foreign_process(tmp_path):
    """down/status trust only PID files that name a process started from our own paths."""
    (tmp_path / "pids").mkdir()
    (tmp_path / "pids" / "etcd.pid").write_text(f"{os.getpid()}\n")  # pytest itself: alive, not ours
    proc = run("status", env={"COGNIVERSE_CLUSTER_STATE": str(tmp_path)})
    assert re.search(r"^etcd\s+stopped$", proc.stdout, re.M), proc.stdout


def test_kubernetes_wrapper_replaces_every_staging_module_at_the_matching_version():
    gomod = (ROOT / "cluster" / "k8s" / "go.mod").read_text()
    staging = f"v0.{K8S_VERSION.split('.', 1)[1]}"
    replaces = re.findall(r"^\s*(k8s\.io/\S+) => (k8s\.io/\S+) (v\S+)$", gomod, re.M)
    assert len(replaces) >= 25
    for old, new, version in replaces:
        assert old == new and version == staging, (old, new, version)


def test_argo_wrapper_pins_tablewriter_like_argo_itself():
    gomod = (ROOT / "cluster" / "argo" / "go.mod").read_text()
    assert re.search(r"^replace github.com/olekukonko/tablewriter => github.com/olekukonko/tablewriter v0\.0\.5$",
                     gomod, re.M)


# ---------------------------------------------------------------- image tools
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


def test_oci_image_writes_a_valid_named_oci_layout(tmp_path):
    archive = build_image(tmp_path)
    with tarfile.open(archive) as tar:
        assert json.loads(tar.extractfile("oci-layout").read()) == {"imageLayoutVersion": "1.0.0"}
        index = json.loads(tar.extractfile("index.json").read())
        (desc,) = index["manifests"]
        assert desc["annotations"]["org.opencontainers.image.ref.name"] == "example/tool:1.0"
        manifest = json.loads(blob(tar, desc["digest"]))
        config = json.loads(blob(tar, manifest["config"]["digest"]))
        (layer_desc,) = manifest["layers"]
        layer = blob(tar, layer_desc["digest"])
    assert config["config"]["Entrypoint"] == ["/bin/tool"]
    assert "A=b" in config["config"]["Env"] and any(e.startswith("PATH=") for e in config["config"]["Env"])
    assert config["rootfs"]["diff_ids"] == [layer_desc["digest"]]  # uncompressed layer
    with tarfile.open(fileobj=io.BytesIO(layer)) as lt:
        members = {m.name: m for m in lt.getmembers()}
    assert members["bin/tool"].mode == 0o755 and members["bin/tool"].uid == 0
    assert members["tmp"].mode == 0o1777
    assert members["bin/alias"].issym() and members["bin/alias"].linkname == "tool"


def test_oci_image_is_reproducible(tmp_path):
    first = build_image(tmp_path).read_bytes()
    assert build_image(tmp_path).read_bytes() == first


def test_oci_image_rejects_a_missing_source_file(tmp_path):
    proc = subprocess.run([sys.executable, str(OCI_IMAGE), "--name", "x/y:1", "--out", str(tmp_path / "o.tar"),
                           f"{tmp_path}/nope=/bin/nope"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "nope is not a file" in proc.stderr


def test_oci_names_repacks_for_ctr_with_the_plain_name(tmp_path):
    archive = build_image(tmp_path, "argoproj/argoexec:v0.0.1")
    listed = subprocess.run([sys.executable, str(OCI_NAMES), "--list", str(archive)], capture_output=True, text=True)
    assert listed.stdout.split() == ["argoproj/argoexec:v0.0.1"]
    stream = tmp_path / "stream.tar"
    with stream.open("wb") as out:
        subprocess.run([sys.executable, str(OCI_NAMES), str(archive)], stdout=out, check=True)
    with tarfile.open(stream) as tar:
        (entry,) = json.loads(tar.extractfile("manifest.json").read())
        assert entry["RepoTags"] == ["argoproj/argoexec:v0.0.1"]
        for path in [entry["Config"], *entry["Layers"]]:
            assert tar.getmember(path).size > 0
        assert "oci-layout" not in tar.getnames()  # else containerd would take the OCI (un-normalised) path


def test_oci_names_rejects_an_archive_without_a_name(tmp_path):
    archive = build_image(tmp_path)
    unnamed = tmp_path / "unnamed.tar"
    with tarfile.open(archive) as src, tarfile.open(unnamed, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read() if member.isfile() else None
            if member.name == "manifest.json":
                continue
            if member.name == "index.json":
                index = json.loads(data)
                index["manifests"][0].pop("annotations")
                data = json.dumps(index).encode()
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
    proc = subprocess.run([sys.executable, str(OCI_NAMES), "--list", str(unnamed)], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "image has no name" in proc.stderr
