#!/usr/bin/env python3
"""Write an OCI image archive from local files, without docker: the one OCI archive writer of the
repository (images/smoke-runner/pack_oci.py uses its library part: Blob, Layer, image, write_tar).

The archive holds an OCI layout (oci-layout, index.json, blobs/sha256/...) whose index names
the image (`io.containerd.image.name` and `org.opencontainers.image.ref.name`, both the plain
name, e.g. `argoproj/argoexec:v3.7.9`), plus a docker-save style manifest.json over the same
blobs for tools that read that. Import it with oci_names.py (see there why).

Usage:
  oci_image.py --name NAME:TAG --out FILE.tar [--entrypoint JSON] [--cmd JSON] [--env K=V]...
               [--workdir DIR] [--user UID] [--dir PATH[:MODE]]... [--symlink LINK=TARGET]...
               [--layer-tar FILE.tar]... [--expose PORT/PROTO]... SRC=DEST[:MODE] ...
The files, dirs and symlinks make the top layer, reproducible (fixed mtimes, sorted entries,
uid/gid 0). Each --layer-tar is an existing uncompressed layer tar (for example a root
filesystem written by mmdebstrap) placed below it, in order; those are streamed, never loaded.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
from dataclasses import dataclass

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
#: Annotations of an index entry that name the image.
REF_NAME, CONTAINERD_NAME = "org.opencontainers.image.ref.name", "io.containerd.image.name"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _info(name: str, kind: bytes, mode: int, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.linkname = link
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def build_layer(files: list[tuple[str, str, int]], dirs: list[tuple[str, int]],
                links: list[tuple[str, str]]) -> bytes:
    entries: dict[str, tuple] = {}

    def add_parents(path: str) -> None:
        parts = path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parent = "/".join(parts[:i])
            entries.setdefault(parent, ("dir", 0o755))

    for path, mode in dirs:
        add_parents(path)
        entries[path.strip("/")] = ("dir", mode)
    for src, dest, mode in files:
        add_parents(dest)
        entries[dest.strip("/")] = ("file", mode, src)
    for link, target in links:
        add_parents(link)
        entries[link.strip("/")] = ("link", 0o777, target)

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(entries):
            entry = entries[name]
            if entry[0] == "dir":
                tar.addfile(_info(name + "/", tarfile.DIRTYPE, entry[1]))
            elif entry[0] == "link":
                tar.addfile(_info(name, tarfile.SYMTYPE, 0o777, link=entry[2]))
            else:
                size = os.path.getsize(entry[2])
                with open(entry[2], "rb") as fh:
                    tar.addfile(_info(name, tarfile.REGTYPE, entry[1], size=size), fh)
    return buf.getvalue()


def dumps(obj: object) -> bytes:
    """Canonical JSON (sorted keys, no spaces): the bytes a config or manifest digest is taken of."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Blob:
    """A content-addressed blob: its bytes, or the path of a file streamed into the archive."""

    digest: str  # hex sha256
    size: int
    data: bytes | None = None
    path: str | None = None

    @property
    def name(self) -> str:
        return f"blobs/sha256/{self.digest}"

    @classmethod
    def of(cls, data: bytes) -> "Blob":
        return cls(hashlib.sha256(data).hexdigest(), len(data), data=data)

    @classmethod
    def of_file(cls, path: str) -> "Blob":
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return cls(h.hexdigest(), os.path.getsize(path), path=path)


@dataclass(frozen=True)
class Layer:
    blob: Blob
    diff_id: str  # hex sha256 of the uncompressed tar (the blob's own digest when uncompressed)
    media_type: str = LAYER_TAR

    @classmethod
    def uncompressed(cls, blob: Blob) -> "Layer":
        return cls(blob, blob.digest)


def gzip_layer(tar: bytes) -> Layer:
    """A layer stored gzip-compressed, reproducibly (no name, mtime 0, level 9)."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(tar)
    return Layer(Blob.of(buf.getvalue()), hashlib.sha256(tar).hexdigest(), LAYER_TAR + "+gzip")


@dataclass(frozen=True)
class Image:
    """One image's config, manifest and layers, from which the archives are written."""

    name: str  # NAME:TAG
    config: Blob
    manifest: Blob
    layers: tuple[Layer, ...]

    def oci_layout(self, annotations: tuple[str, ...] = (REF_NAME, CONTAINERD_NAME),
                   platform: dict | None = None) -> tuple[list[Blob], dict[str, bytes]]:
        """(blobs, other members) of an OCI image layout whose index names the image with `annotations`."""
        entry = {"mediaType": MANIFEST, "digest": f"sha256:{self.manifest.digest}", "size": self.manifest.size,
                 "annotations": {a: self.name for a in annotations}}
        if platform:
            entry["platform"] = platform
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [entry]}
        return ([self.config, self.manifest, *(la.blob for la in self.layers)],
                {"oci-layout": dumps({"imageLayoutVersion": "1.0.0"}), "index.json": dumps(index)})

    def docker_manifest(self) -> bytes:
        """The docker-save style manifest.json over the config and layer blobs."""
        return dumps([{"Config": self.config.name, "RepoTags": [self.name],
                       "Layers": [la.blob.name for la in self.layers]}])


def image(name: str, config: dict, layers: list[Layer]) -> Image:
    """The image of `config` (its rootfs is set from `layers`, bottom first)."""
    config = {**config, "rootfs": {"type": "layers", "diff_ids": [f"sha256:{la.diff_id}" for la in layers]}}
    config_blob = Blob.of(dumps(config))
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": f"sha256:{config_blob.digest}", "size": config_blob.size},
                "layers": [{"mediaType": la.media_type, "digest": f"sha256:{la.blob.digest}", "size": la.blob.size}
                           for la in layers]}
    return Image(name, config_blob, Blob.of(dumps(manifest)), tuple(layers))


def write_tar(out: str, blobs: list[Blob], members: dict[str, bytes]) -> None:
    """The archive: blobs/sha256/ (by digest), then the other members by name; written beside and renamed."""
    tmp = out + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_info("blobs/", tarfile.DIRTYPE, 0o755))
        tar.addfile(_info("blobs/sha256/", tarfile.DIRTYPE, 0o755))
        for b in sorted({b.digest: b for b in blobs}.values(), key=lambda b: b.digest):
            info = _info(b.name, tarfile.REGTYPE, 0o644, size=b.size)
            if b.path is not None:
                with open(b.path, "rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info, io.BytesIO(b.data or b""))
        for member in sorted(members):
            tar.addfile(_info(member, tarfile.REGTYPE, 0o644, size=len(members[member])),
                        io.BytesIO(members[member]))
    os.replace(tmp, out)


def write_archive(out: str, name: str, layer: bytes, config: dict, lower: list[str] | None = None) -> str:
    """The archive of the cluster images: an OCI layout plus manifest.json over the same blobs; `lower`
    are layer tar files below `layer`. Returns the manifest digest."""
    layers = [Layer.uncompressed(Blob.of_file(p)) for p in lower or []]
    img = image(name, config, [*layers, Layer.uncompressed(Blob.of(layer))])
    blobs, members = img.oci_layout()
    write_tar(out, blobs, {**members, "manifest.json": img.docker_manifest()})
    return f"sha256:{img.manifest.digest}"


def _mode(text: str | None, default: int) -> int:
    return int(text, 8) if text else default


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a single-layer OCI image archive from local files.")
    parser.add_argument("--name", required=True, help="image name with tag, e.g. argoproj/argoexec:v3.7.9")
    parser.add_argument("--out", required=True, help="archive to write")
    parser.add_argument("--entrypoint", default=None, help="JSON list")
    parser.add_argument("--cmd", default=None, help="JSON list")
    parser.add_argument("--env", action="append", default=[], help="K=V (PATH defaults to the usual list)")
    parser.add_argument("--workdir", default="/")
    parser.add_argument("--user", default="")
    parser.add_argument("--dir", action="append", default=[], help="PATH[:MODE] empty directory")
    parser.add_argument("--symlink", action="append", default=[], help="LINK=TARGET")
    parser.add_argument("--layer-tar", action="append", default=[],
                        help="uncompressed layer tar placed below the files layer (repeatable, bottom first)")
    parser.add_argument("--expose", action="append", default=[], help="PORT/PROTO the image listens on")
    parser.add_argument("files", nargs="*", help="SRC=DEST[:MODE]")
    args = parser.parse_args(argv)

    files = []
    for spec in args.files:
        if "=" not in spec:
            parser.error(f"file spec {spec!r} is not SRC=DEST[:MODE]")
        src, dest = spec.split("=", 1)
        dest, _, mode = dest.partition(":")
        if not os.path.isfile(src):
            parser.error(f"file spec {spec!r}: {src} is not a file")
        files.append((src, dest, _mode(mode, os.stat(src).st_mode & 0o7777)))
    dirs = []
    for spec in args.dir:
        path, _, mode = spec.partition(":")
        dirs.append((path, _mode(mode, 0o755)))
    for path in args.layer_tar:
        if not os.path.isfile(path):
            parser.error(f"--layer-tar {path}: not a file")
        if not tarfile.is_tarfile(path):
            parser.error(f"--layer-tar {path}: not a tar archive (layers must be uncompressed tar)")
    for port in args.expose:
        number, sep, proto = port.partition("/")
        if not (number.isdigit() and 0 < int(number) < 65536 and sep and proto in ("tcp", "udp")):
            parser.error(f"--expose {port!r} is not PORT/tcp or PORT/udp")
    links = []
    for spec in args.symlink:
        link, sep, target = spec.partition("=")
        if not sep:
            parser.error(f"symlink spec {spec!r} is not LINK=TARGET")
        links.append((link, target))

    env = [e for e in args.env]
    if not any(e.startswith("PATH=") for e in env):
        env.insert(0, f"PATH={DEFAULT_PATH}")
    cfg: dict = {"Env": env, "WorkingDir": args.workdir}
    if args.entrypoint:
        cfg["Entrypoint"] = json.loads(args.entrypoint)
    if args.cmd:
        cfg["Cmd"] = json.loads(args.cmd)
    if args.user:
        cfg["User"] = args.user
    if args.expose:
        cfg["ExposedPorts"] = {port: {} for port in args.expose}
    config = {"architecture": "amd64", "os": "linux", "config": cfg, "created": "1970-01-01T00:00:00Z",
              "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "cluster/images/oci_image.py"}]}
    layer = build_layer(files, dirs, links)
    digest = write_archive(args.out, args.name, layer, config, args.layer_tar)
    print(f"{args.name} {digest} {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
