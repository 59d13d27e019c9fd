#!/usr/bin/env python3
"""Pack one static binary into a minimal OCI image archive, without Docker (stdlib only).

Writes two archives of the same image (same config and layer blobs):
- `--output`: an OCI image layout (oci-layout, index.json, blobs/sha256/...), tagged with the
  `org.opencontainers.image.ref.name` annotation: for OCI tools and registries;
- `--import-output`: the same blobs with a Docker-style manifest.json whose RepoTags name
  `<image>:<tag>`. containerd's importer (`ctr images import`, K3s airgap images) expands
  RepoTags to the fully qualified reference the kubelet asks for; it does not do that for an
  OCI index (an index entry would be registered under an `import-<date>:<tag>` name).
One gzip layer holds the binary at /usr/local/bin/cogniverse-workflow and an empty /tmp
(mode 1777). Everything is deterministic: the same binary gives the same digests.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

BINARY_PATH = "usr/local/bin/cogniverse-workflow"
EPOCH = 0  # fixed mtimes: reproducible layers
NONROOT = 65532


def _dir(name: str, mode: int = 0o755) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    info.mtime = EPOCH
    return info


def build_layer(binary: bytes) -> bytes:
    """The uncompressed layer tar: /tmp, /usr/local/bin/cogniverse-workflow."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_dir("tmp", 0o1777))
        tar.addfile(_dir("tmp/outputs", 0o1777))
        for d in ("usr", "usr/local", "usr/local/bin"):
            tar.addfile(_dir(d))
        info = tarfile.TarInfo(BINARY_PATH)
        info.mode = 0o755
        info.size = len(binary)
        info.mtime = EPOCH
        tar.addfile(info, io.BytesIO(binary))
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return buf.getvalue()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def dumps(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def pack(binary: bytes, image: str, tag: str, arch: str) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Return the members ({name: content}) of the OCI layout archive and of the import archive."""
    layer_tar = build_layer(binary)
    layer_gz = gzip_bytes(layer_tar)
    config = dumps({
        "architecture": arch,
        "os": "linux",
        "config": {
            "User": f"{NONROOT}:{NONROOT}",
            "Entrypoint": ["/usr/local/bin/cogniverse-workflow"],
            "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "COGNIVERSE_OUTPUT_DIR=/tmp/outputs"],
            "WorkingDir": "/tmp",
            "Labels": {
                "org.opencontainers.image.title": "cogniverse smoke runner",
                "org.opencontainers.image.version": tag,
                "org.opencontainers.image.description": "Implements docs/step-contract.md with fixed outputs",
            },
        },
        "rootfs": {"type": "layers", "diff_ids": [sha256(layer_tar)]},
        "history": [{"created_by": "images/smoke-runner/pack_oci.py"}],
    })
    manifest = dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": sha256(layer_gz), "size": len(layer_gz)}],
    })
    index = dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha256(manifest), "size": len(manifest),
            "platform": {"architecture": arch, "os": "linux"},
            "annotations": {"org.opencontainers.image.ref.name": f"{image}:{tag}"},
        }],
    })
    blob = lambda data: "blobs/sha256/" + hashlib.sha256(data).hexdigest()  # noqa: E731
    docker_manifest = dumps([{
        "Config": blob(config),
        "RepoTags": [f"{image}:{tag}"],
        "Layers": [blob(layer_gz)],
    }])
    blobs = {blob(config): config, blob(manifest): manifest, blob(layer_gz): layer_gz}
    oci = {"oci-layout": dumps({"imageLayoutVersion": "1.0.0"}), "index.json": index, **blobs}
    importable = {"manifest.json": docker_manifest, blob(config): config, blob(layer_gz): layer_gz}
    return oci, importable


def write_archive(members: dict[str, bytes], output: Path) -> None:
    tmp = output.with_suffix(output.suffix + ".tmp")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for d in ("blobs", "blobs/sha256"):
            tar.addfile(_dir(d))
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            info.mode = 0o644
            info.mtime = EPOCH
            tar.addfile(info, io.BytesIO(members[name]))
    tmp.replace(output)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", type=Path, required=True)
    p.add_argument("--image", required=True, help="repository, e.g. cogniverse/smoke-runner")
    p.add_argument("--tag", required=True)
    p.add_argument("--arch", default="amd64")
    p.add_argument("--output", type=Path, required=True, help="OCI image layout archive")
    p.add_argument("--import-output", type=Path, required=True, help="archive for ctr images import")
    args = p.parse_args()
    oci, importable = pack(args.binary.read_bytes(), args.image, args.tag, args.arch)
    write_archive(oci, args.output)
    write_archive(importable, args.import_output)
    index = json.loads(oci["index.json"])
    print(f"packed {args.image}:{args.tag} manifest {index['manifests'][0]['digest']} -> "
          f"{args.output} (OCI layout), {args.import_output} (for ctr images import)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
