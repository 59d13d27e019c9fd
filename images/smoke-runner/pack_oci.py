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
(mode 1777). Everything is deterministic: the same binary gives the same digests. The archives are
written by cluster/images/oci_image.py's library part; this file only makes the layer and the config.
"""

from __future__ import annotations

import argparse
import io
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "cluster" / "images"))
import oci_image  # noqa: E402  the one OCI archive writer of the repository

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


def pack(binary: bytes, image: str, tag: str, arch: str) -> oci_image.Image:
    """The image of `binary`: one gzip layer."""
    config = {
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
        "history": [{"created_by": "images/smoke-runner/pack_oci.py"}],
    }
    return oci_image.image(f"{image}:{tag}", config, [oci_image.gzip_layer(build_layer(binary))])


def write(img: oci_image.Image, arch: str, output: Path, import_output: Path) -> None:
    """The OCI layout (for OCI tools and registries) and the import archive (manifest.json only)."""
    blobs, members = img.oci_layout(annotations=(oci_image.REF_NAME,), platform={"architecture": arch, "os": "linux"})
    oci_image.write_tar(str(output), blobs, members)
    oci_image.write_tar(str(import_output), [img.config, *(la.blob for la in img.layers)],
                        {"manifest.json": img.docker_manifest()})


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", type=Path, required=True)
    p.add_argument("--image", required=True, help="repository, e.g. cogniverse/smoke-runner")
    p.add_argument("--tag", required=True)
    p.add_argument("--arch", default="amd64")
    p.add_argument("--output", type=Path, required=True, help="OCI image layout archive")
    p.add_argument("--import-output", type=Path, required=True, help="archive for ctr images import")
    args = p.parse_args()
    if not args.binary.is_file():
        p.error(f"--binary {args.binary}: not a file (build.sh builds it first)")
    img = pack(args.binary.read_bytes(), args.image, args.tag, args.arch)
    write(img, args.arch, args.output, args.import_output)
    print(f"packed {args.image}:{args.tag} manifest sha256:{img.manifest.digest} -> "
          f"{args.output} (OCI layout), {args.import_output} (for ctr images import)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
