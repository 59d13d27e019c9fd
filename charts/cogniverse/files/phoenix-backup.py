"""backup-phoenix and restore-phoenix for Phoenix on SQLite or PostgreSQL (docs/step-contract.md,
docs/operations.md). Standard library only; the chart mounts this file from a ConfigMap, beside
phoenix_backup_manifest.py (what a backup is, and the checks before a restore) and
phoenix_backup_postgresql.py (the PostgreSQL path below).

Which database: the one Phoenix itself would use, from the same environment variables the chart gives
Phoenix (from a Secret): PHOENIX_SQL_DATABASE_URL, or PHOENIX_POSTGRES_HOST with _USER, _PASSWORD and
optionally _PORT and _DB, mean PostgreSQL; neither means SQLite.

SQLite: run by the Phoenix image's own python3, in a pod that mounts Phoenix's data claim at /data and
the backups claim at /backups.

  backup-phoenix  --backup-dir /backups --backup-id ID
      SQLite's online backup API copies /data/phoenix.db while Phoenix keeps running (one read
      transaction in WAL mode: a consistent snapshot that does not block writers), checks the copy
      (PRAGMA integrity_check), then writes the manifest <ID>/phoenix.complete last: component,
      software version, schema revision, time, and every file's size and sha256.
  restore-phoenix --backup-dir /backups --backup-id ID
      Refuses an incomplete backup (no manifest) or a corrupted one (a size or sha256 that differs
      from the manifest), changing nothing. Otherwise copies the backup beside the live database,
      checks it, moves the current database and its WAL aside to /data/pre-restore/<time>/ and puts the
      copy in place with one rename. Phoenix must be stopped (the restore workflow scales it to 0).
      Running it twice gives the same database.

PostgreSQL: run by the PostgreSQL image's python3 (pg_dump and pg_restore beside it), mounting only
/backups. pg_dump and pg_restore are run as programs with an argument list (no shell); the
connection goes to them in libpq's environment (PGHOST, PGPASSWORD...), never in argv.
  backup-phoenix   pg_dump --format=custom into phoenix/phoenix.dump (one transaction snapshot;
      Phoenix keeps running), read back with pg_restore --list, then the manifest, last.
  restore-phoenix  the same checks against the manifest, then pg_restore's SQL of the dump run by
      psql in one transaction that first drops what Phoenix's schema holds (DROP_PHOENIX_SCHEMA),
      committed only after the whole dump (an error leaves the database as it was); running it twice
      gives the same database.

Every argument is one argv element (no shell); exit 2 = invalid argument, 1 = failure, with one
line on stderr that names the problem.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import sys
import time
from pathlib import Path

# Beside this file in the ConfigMap (the script's folder is the first entry of sys.path):
import phoenix_backup_postgresql as postgresql  # noqa: F401  (tests set its CONNECT_WAIT_SECONDS)
from phoenix_backup_manifest import COMPONENT, DB_NAME, DUMP_NAME, TAG, Failure, fsync_write, sha256, verified
from phoenix_backup_postgresql import pg_dump, pg_env, pg_restore

BACKUPS = Path("/backups")
DATA = Path(os.environ.get("PHOENIX_WORKING_DIR", "/data"))
OUTPUTS = Path(os.environ.get("COGNIVERSE_OUTPUT_DIR", "/tmp/outputs"))
RE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,253}$")


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


def sqlite_copy(copy: Path) -> tuple[str, str, str]:
    """SQLite's online backup of Phoenix's live database into copy: (software, version, schema revision)."""
    try:
        src = sqlite3.connect(str(DATA / DB_NAME), timeout=30)
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
    except sqlite3.Error as e:
        raise OSError(str(e)) from e
    return "arize-phoenix", phoenix_version(), check(copy)


def backup(args: dict[str, str]) -> dict[str, str]:
    pg = pg_env()
    fmt, name = ("pg-custom", DUMP_NAME) if pg is not None else ("sqlite", DB_NAME)
    if pg is None and not (DATA / DB_NAME).is_file():
        raise Failure(f"backup-phoenix: {DATA / DB_NAME} does not exist: is this Phoenix's data claim, and Phoenix "
                      "on SQLite?")
    target = Path(args["backup-dir"]) / args["backup-id"]
    marker = target / f"{COMPONENT}.complete"
    folder = target / COMPONENT
    start = time.monotonic()
    try:
        marker.unlink(missing_ok=True)  # a retry starts over: never "complete" while half written
        folder.mkdir(parents=True, exist_ok=True)
        (target / TAG).write_text(args["backup-id"])
        copy = folder / (name + ".partial")
        copy.unlink(missing_ok=True)
        software, version, revision = pg_dump(copy, pg) if pg is not None else sqlite_copy(copy)
        with copy.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(copy, folder / name)
        files = [{"path": f"{COMPONENT}/{name}", "size": (folder / name).stat().st_size,
                  "sha256": sha256(folder / name)}]
        manifest = {"component": COMPONENT, "backup-id": args["backup-id"], "format": fmt,
                    "software": software, "version": version, "schema-revision": revision,
                    "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "size": sum(f["size"] for f in files), "files": files}
        fsync_write(marker, json.dumps(manifest, indent=1).encode())
    except OSError as e:
        raise incomplete(args, folder, e) from e
    except Failure:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    print(f"backup-phoenix: {fmt} {manifest['size']} bytes in {time.monotonic() - start:.1f}s, "
          f"schema {revision}, sha256 {files[0]['sha256']}", file=sys.stderr)
    return {"backup-path": f"{args['backup-dir'].rstrip('/')}/{args['backup-id']}/{COMPONENT}"}


def incomplete(args: dict[str, str], folder: Path, e: Exception) -> Failure:
    """Remove this run's own folder (earlier backups stay untouched) and say why the backup failed."""
    shutil.rmtree(folder, ignore_errors=True)
    full = isinstance(e, OSError) and e.errno == 28 or "disk is full" in str(e) or "No space" in str(e)
    why = "the backups volume is full" if full else f"writing the backup failed: {e}"
    return Failure(f"backup-phoenix: {why}; backup {args['backup-id']} is incomplete (no manifest) and "
                   f"its phoenix folder was removed; earlier complete backups are untouched")


def restore(args: dict[str, str]) -> dict[str, str]:
    pg = pg_env()
    if pg is not None:
        return pg_restore(args, pg)
    manifest = verified(args, "sqlite")
    source = Path(args["backup-dir"]) / args["backup-id"] / manifest["files"][0]["path"]
    start = time.monotonic()
    staged = DATA / (DB_NAME + ".restoring")
    try:
        shutil.copyfile(source, staged)
        with staged.open("rb") as f:
            os.fsync(f.fileno())
        check(staged)
    except (OSError, Failure) as e:
        staged.unlink(missing_ok=True)
        why = "Phoenix's volume is full" if isinstance(e, OSError) and e.errno == 28 else str(e)
        raise Failure(f"restore-phoenix: staging backup {args['backup-id']} beside the database failed ({why}): "
                      "nothing changed") from None
    # Every replaced database is kept, each in its own folder: a second restore must not delete what the
    # first one set aside (the only copy of the data as it was before the first restore).
    stamp = time.strftime("%Y-%m-%dT%H-%M-%SZ", time.gmtime())
    aside, n = DATA / "pre-restore" / stamp, 1
    while aside.exists():
        aside, n = DATA / "pre-restore" / f"{stamp}.{n}", n + 1
    aside.mkdir(parents=True)
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
