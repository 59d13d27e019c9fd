#!/usr/bin/env python3
"""Re-pack an OCI image archive as a docker-save style stream for `ctr images import -`.

Why: containerd 1.6's importer names images from an OCI index as written (so a plain name like
`argoproj/argoexec:v3.7.9` stays un-normalised), while the CRI plugin looks images up by their
normalised reference. For docker-save archives the importer normalises the RepoTags itself, so
re-packing makes kubelet find every image under the plain name the chart uses, and no registry
host name has to be written anywhere.

Usage: oci_names.py ARCHIVE > stream.tar    (names: index.json annotations io.containerd.image.name
       or a full org.opencontainers.image.ref.name, else the archive's own manifest.json RepoTags)
       oci_names.py --list ARCHIVE          print the image names only
"""

from __future__ import annotations

import io
import json
import sys
import tarfile


def _read(tar: tarfile.TarFile, name: str) -> bytes | None:
    for candidate in (name, "./" + name):
        try:
            member = tar.getmember(candidate)
        except KeyError:
            continue
        fh = tar.extractfile(member)
        return fh.read() if fh else None
    return None


def _blob_path(digest: str) -> str:
    algo, hexpart = digest.split(":", 1)
    return f"blobs/{algo}/{hexpart}"


def _manifests(tar: tarfile.TarFile, index: dict) -> list[tuple[dict, list[str]]]:
    """(manifest, names) for every image manifest reachable from the index (nested indexes too)."""
    out = []
    for desc in index.get("manifests", []):
        ann = desc.get("annotations") or {}
        names = []
        if ann.get("io.containerd.image.name"):
            names.append(ann["io.containerd.image.name"])
        ref = ann.get("org.opencontainers.image.ref.name", "")
        if ref and ("/" in ref or ":" in ref) and ref not in names:
            names.append(ref)
        data = _read(tar, _blob_path(desc["digest"]))
        if data is None:
            raise SystemExit(f"blob {desc['digest']} named in index.json is missing")
        doc = json.loads(data)
        if "manifests" in doc:  # nested index (e.g. multi-platform): take the linux/amd64 entry
            for sub, sub_names in _manifests(tar, doc):
                out.append((sub, sub_names or names))
            continue
        out.append((doc, names))
    return out


def images(path: str) -> list[tuple[dict, list[str]]]:
    with tarfile.open(path) as tar:
        index_raw = _read(tar, "index.json")
        docker_raw = _read(tar, "manifest.json")
        docker = json.loads(docker_raw) if docker_raw else []
        if index_raw is None:
            raise SystemExit(f"{path}: no index.json, not an OCI image archive")
        found = _manifests(tar, json.loads(index_raw))
    fallback = [tag for entry in docker for tag in entry.get("RepoTags") or []]
    result = []
    for manifest, names in found:
        names = names or fallback
        if not names:
            raise SystemExit(f"{path}: image has no name (set io.containerd.image.name or a full "
                             "org.opencontainers.image.ref.name in index.json)")
        result.append((manifest, names))
    return result


def repack(path: str, out) -> None:
    entries = []
    with tarfile.open(path) as tar, tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as dst:
        written = set()
        for manifest, names in images(path):
            blobs = [manifest["config"]["digest"]] + [layer["digest"] for layer in manifest["layers"]]
            for digest in blobs:
                if digest in written:
                    continue
                member = tar.getmember(_blob_path(digest)) if _blob_path(digest) in tar.getnames() \
                    else tar.getmember("./" + _blob_path(digest))
                info = tarfile.TarInfo(_blob_path(digest))
                info.size = member.size
                info.mode = 0o644
                dst.addfile(info, tar.extractfile(member))
                written.add(digest)
            entries.append({"Config": _blob_path(blobs[0]), "RepoTags": names,
                            "Layers": [_blob_path(d) for d in blobs[1:]]})
        data = json.dumps(entries).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        info.mode = 0o644
        dst.addfile(info, io.BytesIO(data))


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--list":
        for _, names in images(argv[1]):
            print("\n".join(names))
        return 0
    if len(argv) != 1 or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    repack(argv[0], sys.stdout.buffer)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
