"""The one OCI archive writer (cluster/images/oci_image.py) and its two users: the cluster and service
images (its CLI) and the smoke-runner image (images/smoke-runner/pack_oci.py, through its library part).
Digests are content addresses a node caches images by: the same inputs give the same digests as before
the two writers became one (the pinned digests were written by the two separate writers)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OCI_IMAGE = ROOT / "cluster" / "images" / "oci_image.py"
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

