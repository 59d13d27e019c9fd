"""Fast tests for the cluster's image tools: archives written by cluster/images/oci_image.py (the one OCI
archive writer: the cluster and service images through its CLI, the smoke-runner image through
images/smoke-runner/pack_oci.py), named for ctr by oci_names.py, and imported once per containerd root by
import.sh (with a stand-in ctr). Digests are content addresses a node caches images by: the same inputs
give the same digests as before the two writers became one (the pinned digests were written by the two
separate writers)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from cluster_utils import OCI_IMAGE, OCI_NAMES, ROOT, blob, build_image


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


# `ctr` here is a stand-in script (no containerd runs in the fast tests): it records each call and lists
# the references in $FAKE_CTR_LISTED. The real import runs on every `up` of the smoke suite.
FAKE_CTR = """#!/bin/sh
echo "$*" >>"$FAKE_CTR_CALLS"
case "$*" in
  *"images ls -q"*) cat "$FAKE_CTR_LISTED" ;;
  *"images import -"*) cat >/dev/null ;;
esac
"""


def import_archives(tmp_path: Path, *archives: Path, listed: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    (bindir / "ctr").write_text(FAKE_CTR)
    (bindir / "ctr").chmod(0o755)
    (tmp_path / "listed").write_text(listed)
    calls = tmp_path / "calls"
    calls.write_text("")
    proc = subprocess.run(["bash", "-c", f'source {ROOT}/cluster/images/import.sh && import_archives SOCK "$1" "${{@:2}}"',
                           "x", str(tmp_path / "state"), *map(str, archives)], capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "FAKE_CTR_CALLS": str(calls),
                               "FAKE_CTR_LISTED": str(tmp_path / "listed")}, timeout=60)
    return proc, [c for c in calls.read_text().splitlines() if "images import" in c]


def test_an_archive_is_imported_once_per_containerd_root(tmp_path):
    archive = build_image(tmp_path, "example/tool:1.0")
    listed = "docker.io/example/tool:1.0\n"
    proc, imports = import_archives(tmp_path, archive, listed=listed)
    assert proc.returncode == 0, proc.stderr
    assert len(imports) == 1 and proc.stdout.startswith("imported: example/tool:1.0")
    proc, imports = import_archives(tmp_path, archive, listed=listed)  # a version swap: nothing to do
    assert proc.returncode == 0 and not imports and proc.stdout.startswith("already imported: example/tool:1.0")


def test_an_archive_is_imported_again_when_its_image_is_gone_or_the_archive_changed(tmp_path):
    archive = build_image(tmp_path, "example/tool:1.0")
    import_archives(tmp_path, archive, listed="docker.io/example/tool:1.0\n")
    _, imports = import_archives(tmp_path, archive, listed="docker.io/example/other:1.0\n")  # removed from containerd
    assert len(imports) == 1
    os.utime(archive, (1, 1))  # rebuilt in place
    _, imports = import_archives(tmp_path, archive, listed="docker.io/example/tool:1.0\n")
    assert len(imports) == 1
    # down --purge drops containerd's root, and the markers with it
    shutil.rmtree(tmp_path / "state")
    _, imports = import_archives(tmp_path, archive, listed="docker.io/example/tool:1.0\n")
    assert len(imports) == 1


@pytest.mark.parametrize("name, ref", [("busybox:1", "docker.io/library/busybox:1"),
                                       ("argoproj/argoexec:v4.0.7", "docker.io/argoproj/argoexec:v4.0.7"),
                                       ("registry.example:5000/a/b:1", "registry.example:5000/a/b:1"),
                                       ("localhost/a:1", "localhost/a:1")])
def test_plain_names_are_matched_as_containerd_lists_them(name, ref):
    proc = subprocess.run(["bash", "-c", f'source {ROOT}/cluster/images/import.sh && _normalised_ref "$1"', "x", name],
                          capture_output=True, text=True, timeout=30)
    assert proc.stdout.strip() == ref


# ---------------------------------------------------------------- digests of both users of the writer
PACK_OCI = ROOT / "images" / "smoke-runner" / "pack_oci.py"


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def pack_smoke_runner(tmp_path: Path, binary: bytes = b"fixed binary") -> tuple[Path, Path]:
    (tmp_path / "bin").write_bytes(binary)
    oci, imp = tmp_path / "runner.oci.tar", tmp_path / "runner.import.tar"
    subprocess.run([sys.executable, str(PACK_OCI), "--binary", str(tmp_path / "bin"), "--image", "cogniverse/smoke-runner",
                    "--tag", "0.1.0", "--arch", "amd64", "--output", str(oci), "--import-output", str(imp)],
                   check=True, capture_output=True, text=True)
    return oci, imp


def test_the_smoke_runner_image_keeps_its_digests(tmp_path):
    oci, imp = pack_smoke_runner(tmp_path)
    layout = members(oci)
    (entry,) = json.loads(layout["index.json"])["manifests"]
    assert entry["digest"] == "sha256:ab65ded45adfc08ee8de01f2da834c716c37eea4d3788370fcbae98a7115dff6"
    assert entry["platform"] == {"architecture": "amd64", "os": "linux"}
    assert entry["annotations"] == {"org.opencontainers.image.ref.name": "cogniverse/smoke-runner:0.1.0"}
    assert "manifest.json" not in layout  # an OCI index only: containerd would not expand its name
    (docker,) = json.loads(members(imp)["manifest.json"])
    assert docker == {"Config": "blobs/sha256/b3d36f74bd57fc8b0336cf6b690925811ca023f3d53e3c4b2ad6278f00cf7542",
                      "RepoTags": ["cogniverse/smoke-runner:0.1.0"],
                      "Layers": ["blobs/sha256/ac0568de2064cf2ebc6cd87ab3c1c1c12c20fb74fef11877cc68dc081a45272c"]}
    # the import archive holds the same config and layer blobs as the OCI layout, and no other
    assert {n for n in members(imp) if n.startswith("blobs/")} == {docker["Config"], *docker["Layers"]}
    assert all(layout[n] == members(imp)[n] for n in (docker["Config"], *docker["Layers"]))
    manifest = json.loads(layout["blobs/sha256/" + entry["digest"].split(":")[1]])
    assert manifest["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"


def test_a_cluster_image_keeps_its_digests(tmp_path):
    (tmp_path / "x").write_bytes(b"fixed binary")
    with tarfile.open(tmp_path / "lower.tar", "w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("etc/motd")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    out = tmp_path / "svc.tar"
    proc = subprocess.run([sys.executable, str(OCI_IMAGE), "--name", "svc:2", "--out", str(out), "--entrypoint", '["/x"]',
                           "--user", "65532:65532", "--workdir", "/w", "--env", "A=B", "--expose", "80/tcp",
                           "--dir", "/tmp:1777", "--symlink", "/bin/y=/x", "--layer-tar", str(tmp_path / "lower.tar"),
                           f"{tmp_path}/x=/x:0755"], check=True, capture_output=True, text=True)
    digest = "sha256:2b82ad5a8f9eb3c4ef144c2e4cf4b870ee82064ec607ee7be034cd6fcc0489a1"
    assert proc.stdout.split() == ["svc:2", digest, str(out)]
    got = members(out)
    (entry,) = json.loads(got["index.json"])["manifests"]
    assert entry["digest"] == digest
    assert entry["annotations"] == {"org.opencontainers.image.ref.name": "svc:2", "io.containerd.image.name": "svc:2"}
    assert json.loads(got["manifest.json"]) == [{
        "Config": "blobs/sha256/3e10c621404396b21293b2deed56fad2549a5d217e4eb374863a062cf4b20a07", "RepoTags": ["svc:2"],
        "Layers": ["blobs/sha256/bc446e5b92bd7095fbf0914f95960f4b94c5ab0e6fa245e0624b5606718d0cbe",
                   "blobs/sha256/88226bbf7a30cf8564ddb1767627e79cfcc6ab71d2078523d2f1411226f5c4bc"]}]


def test_both_users_write_reproducible_archives(tmp_path):
    first = [p.read_bytes() for p in pack_smoke_runner(tmp_path)]
    assert [p.read_bytes() for p in pack_smoke_runner(tmp_path)] == first
    other = [p.read_bytes() for p in pack_smoke_runner(tmp_path, b"another binary")]
    assert other[0] != first[0] and other[1] != first[1]


def test_pack_oci_names_a_missing_binary(tmp_path):
    proc = subprocess.run([sys.executable, str(PACK_OCI), "--binary", str(tmp_path / "nope"), "--image", "x/y", "--tag", "1",
                           "--output", str(tmp_path / "o.tar"), "--import-output", str(tmp_path / "i.tar")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "--binary" in proc.stderr and "not a file" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "o.tar").exists()
