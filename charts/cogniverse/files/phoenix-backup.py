"""backup-phoenix and restore-phoenix for Phoenix on SQLite (docs/step-contract.md, docs/operations.md).

Run by the Phoenix image's own python3 (the chart mounts this file from a ConfigMap), in a pod that
mounts Phoenix's data claim at /data and the backups claim at /backups. Standard library only.

  backup-phoenix  --backup-dir /backups --backup-id ID
      SQLite's online backup API copies /data/phoenix.db while Phoenix keeps running (one read
      transaction in WAL mode: a consistent snapshot that does not block writers), checks the copy
      (PRAGMA integrity_check), then writes the manifest <ID>/phoenix.complete last: component,
      software version, schema revision, time, and every file's size and sha256.
  restore-phoenix --backup-dir /backups --backup-id ID
      Refuses an incomplete backup (no manifest) or a corrupted one (a size or sha256 that differs
      from the manifest), changing nothing. Otherwise copies the backup beside the live database,
      checks it, moves the current database and its WAL aside to /data/pre-restore/ and puts the
      copy in place with one rename. Phoenix must be stopped (the restore workflow scales it to 0).
      Running it twice gives the same database.

Every argument is one argv element (no shell); exit 2 = invalid argument, 1 = failure, with one
line on stderr that names the problem.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import sys
import time
from pathlib import Path

BACKUPS = Path("/backups")
DATA = Path(os.environ.get("PHOENIX_WORKING_DIR", "/data"))
DB_NAME = "phoenix.db"
TAG = ".cogniverse-backup"
COMPONENT = "phoenix"
OUTPUTS = Path(os.environ.get("COGNIVERSE_OUTPUT_DIR", "/tmp/outputs"))
RE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,253}$")


class Failure(Exception):
    """A failure with the one line the step prints."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def parse(argv: list[str]) -> tuple[str, dict[str, str]]:
    if not argv or argv[0] not in STEPS:
        raise Failure(f"the first argument must be a step: {', '.join(sorted(STEPS))}", 2)
    step, rest, args = argv[0], argv[1:], {}
    if len(rest) % 2:
        raise Failure(f"{step}: arguments come in --name value pairs", 2)
    for name, value in zip(rest[::2], rest[1::2]):
        if name not in ("--backup-dir", "--backup-id"):
            raise Failure(f"{step}: unknown argument {name} (expected --backup-dir and --backup-id)", 2)
        args[name[2:]] = value
    for name in ("backup-dir", "backup-id"):
        if name not in args:
            raise Failure(f"{step}: --{name} is required", 2)
    d = Path(os.path.normpath(args["backup-dir"]))
    if not args["backup-dir"].startswith("/") or ".." in args["backup-dir"].split("/") or \
            (d != BACKUPS and BACKUPS not in d.parents):
        raise Failure(f"{step}: --backup-dir {args['backup-dir']!r} must be {BACKUPS} or a folder under it", 2)
    if not RE_ID.match(args["backup-id"]) or args["backup-id"] in (".", ".."):
        raise Failure(f"{step}: --backup-id {args['backup-id']!r} must be a backup id of [A-Za-z0-9_.:-]", 2)
    return step, args


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


def phoenix_version() -> str:
    try:
        from importlib.metadata import version
        return version("arize-phoenix")
    except Exception:  # noqa: BLE001 - any failure means "not known here"
        return "unknown"


def check(db: Path) -> str:
    """PRAGMA integrity_check and the Alembic revision of a database file; Failure if it is damaged."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        result = con.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise Failure(f"{db.name} fails SQLite's integrity check: {result}")
        try:
            return con.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        except sqlite3.Error:
            return "unknown"
    except sqlite3.DatabaseError as e:
        raise Failure(f"{db.name} is not a readable SQLite database: {e}") from e
    finally:
        con.close()


def backup(args: dict[str, str]) -> dict[str, str]:
    live = DATA / DB_NAME
    if not live.is_file():
        raise Failure(f"backup-phoenix: {live} does not exist: is this Phoenix's data claim, and Phoenix on SQLite?")
    target = Path(args["backup-dir"]) / args["backup-id"]
    marker = target / f"{COMPONENT}.complete"
    folder = target / COMPONENT
    start = time.monotonic()
    try:
        marker.unlink(missing_ok=True)  # a retry starts over: never "complete" while half written
        folder.mkdir(parents=True, exist_ok=True)
        (target / TAG).write_text(args["backup-id"])
        copy = folder / (DB_NAME + ".partial")
        copy.unlink(missing_ok=True)
        src = sqlite3.connect(str(live), timeout=30)
        dst = sqlite3.connect(str(copy))
        try:
            # One step (pages=-1): one read transaction over the whole copy. In WAL mode it does not
            # block Phoenix's writers, and nothing they write can restart the copy.
            src.backup(dst, pages=-1)
            # The copy stands alone: one file, no -wal or -shm beside it (Phoenix turns WAL on again).
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
            src.close()
        revision = check(copy)
        with copy.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(copy, folder / DB_NAME)
        files = [{"path": f"{COMPONENT}/{DB_NAME}", "size": (folder / DB_NAME).stat().st_size,
                  "sha256": sha256(folder / DB_NAME)}]
        manifest = {"component": COMPONENT, "backup-id": args["backup-id"], "format": "sqlite",
                    "software": "arize-phoenix", "version": phoenix_version(), "schema-revision": revision,
                    "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "size": sum(f["size"] for f in files), "files": files}
        fsync_write(marker, json.dumps(manifest, indent=1).encode())
    except (OSError, sqlite3.Error) as e:
        shutil.rmtree(folder, ignore_errors=True)  # only this run's own folder; earlier backups untouched
        full = isinstance(e, OSError) and e.errno == 28 or "disk is full" in str(e) or "No space" in str(e)
        why = "the backups volume is full" if full else f"writing the backup failed: {e}"
        raise Failure(f"backup-phoenix: {why}; backup {args['backup-id']} is incomplete (no manifest) and "
                      f"its phoenix folder was removed; earlier complete backups are untouched") from e
    print(f"backup-phoenix: {manifest['size']} bytes in {time.monotonic() - start:.1f}s, "
          f"schema {revision}, sha256 {files[0]['sha256']}", file=sys.stderr)
    return {"backup-path": f"{args['backup-dir'].rstrip('/')}/{args['backup-id']}/{COMPONENT}"}


def verified(args: dict[str, str]) -> dict:
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
    if manifest.get("format") != "sqlite":
        raise Failure(f"restore-phoenix: backup {args['backup-id']} is a {manifest.get('format')} backup; this "
                      "step restores SQLite backups: nothing changed")
    for f in files:
        path = target / f["path"]
        if not path.is_file() or ".." in f["path"].split("/"):
            raise Failure(f"restore-phoenix: backup {args['backup-id']} is missing {f['path']}: nothing changed")
        size, digest = path.stat().st_size, sha256(path)
        if size != f["size"] or digest != f["sha256"]:
            raise Failure(f"restore-phoenix: backup {args['backup-id']} is corrupted: {f['path']} has sha256 "
                          f"{digest[:16]}... ({size} bytes), the manifest says {f['sha256'][:16]}... "
                          f"({f['size']} bytes): nothing changed")
    return manifest


def restore(args: dict[str, str]) -> dict[str, str]:
    manifest = verified(args)
    source = Path(args["backup-dir"]) / args["backup-id"] / manifest["files"][0]["path"]
    start = time.monotonic()
    staged = DATA / (DB_NAME + ".restoring")
    shutil.copyfile(source, staged)
    with staged.open("rb") as f:
        os.fsync(f.fileno())
    check(staged)
    aside = DATA / "pre-restore"
    shutil.rmtree(aside, ignore_errors=True)
    aside.mkdir()
    # The WAL and shared-memory files belong to the old database: left beside the new one, SQLite
    # would replay the old WAL onto it.
    for suffix in ("", "-wal", "-shm", "-journal"):
        old = DATA / (DB_NAME + suffix)
        if old.exists():
            os.replace(old, aside / old.name)
    os.replace(staged, DATA / DB_NAME)
    fd = os.open(DATA, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    print(f"restore-phoenix: backup {args['backup-id']} ({manifest['size']} bytes, Phoenix {manifest['version']}, "
          f"schema {manifest.get('schema-revision')}) restored in {time.monotonic() - start:.1f}s; the previous "
          f"database is in {aside}", file=sys.stderr)
    return {"restored-id": args["backup-id"]}


STEPS = {"backup-phoenix": backup, "restore-phoenix": restore}


def main(argv: list[str]) -> int:
    try:
        step, args = parse(argv)
        outputs = STEPS[step](args)
    except Failure as e:
        print(str(e), file=sys.stderr)
        return e.code
    OUTPUTS.mkdir(parents=True, exist_ok=True)
    for name, value in outputs.items():
        (OUTPUTS / name).write_text(value)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
