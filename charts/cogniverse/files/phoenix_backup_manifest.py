"""What a Phoenix backup is (phoenix-backup.py): its folder and tag, its manifest (written last, with every
file's size and sha256), and the checks a restore makes before it changes anything. Standard library only;
the chart mounts it beside phoenix-backup.py."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

DB_NAME = "phoenix.db"
DUMP_NAME = "phoenix.dump"
TAG = ".cogniverse-backup"
COMPONENT = "phoenix"


class Failure(Exception):
    """A failure with the one line the step prints."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fsync_write(path: Path, data: bytes) -> None:
    """Write data to path atomically and durably (temporary file, fsync, rename)."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def verified(args: dict[str, str], fmt: str) -> dict:
    """The manifest of a complete, intact backup; Failure naming what is wrong otherwise."""
    target = Path(args["backup-dir"]) / args["backup-id"]
    marker = target / f"{COMPONENT}.complete"
    if not (target / TAG).is_file():
        raise Failure(f"restore-phoenix: no backup {args['backup-id']} in {args['backup-dir']}: nothing changed")
    try:
        manifest = json.loads(marker.read_text())
        files = manifest["files"]
        assert manifest["component"] == COMPONENT and isinstance(files, list) and files
    except FileNotFoundError:
        raise Failure(f"restore-phoenix: backup {args['backup-id']} is incomplete (no {marker.name} manifest): "
                      "nothing changed") from None
    except (ValueError, KeyError, TypeError, AssertionError):
        raise Failure(f"restore-phoenix: the manifest {marker.name} of backup {args['backup-id']} is unreadable "
                      "or lists no file: nothing changed") from None
    if manifest.get("format") != fmt:
        raise Failure(f"restore-phoenix: backup {args['backup-id']} is a {manifest.get('format')} backup and "
                      f"Phoenix now keeps its data in {'SQLite' if fmt == 'sqlite' else 'PostgreSQL'} ({fmt}): "
                      "nothing changed")
    if not all(isinstance(f, dict) and isinstance(f.get("path"), str) and type(f.get("size")) is int
               and isinstance(f.get("sha256"), str) for f in files):
        raise Failure(f"restore-phoenix: the manifest {marker.name} of backup {args['backup-id']} lists a file without "
                      "a path, size and sha256: nothing changed")
    own = f"{COMPONENT}/{DB_NAME if fmt == 'sqlite' else DUMP_NAME}"
    if files[0]["path"] != own:
        raise Failure(f"restore-phoenix: the manifest {marker.name} of backup {args['backup-id']} restores "
                      f"{files[0]['path']!r}, not {own}: nothing changed")
    for f in files:
        path = target / f["path"]
        # Never a link: a backup holds its own files, not a way to read others from the pod.
        if not f["path"].startswith(f"{COMPONENT}/") or ".." in f["path"].split("/") or not path.is_file() or \
                any(p.is_symlink() for p in (path, *list(path.parents)[:f["path"].count("/")])):
            raise Failure(f"restore-phoenix: backup {args['backup-id']} is missing {f['path']} (or it is a link): "
                          "nothing changed")
        size, digest = path.stat().st_size, sha256(path)
        if size != f["size"] or digest != f["sha256"]:
            raise Failure(f"restore-phoenix: backup {args['backup-id']} is corrupted: {f['path']} has sha256 "
                          f"{digest[:16]}... ({size} bytes), the manifest says {f['sha256'][:16]}... "
                          f"({f['size']} bytes): nothing changed")
    return manifest
