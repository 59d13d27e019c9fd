"""backup-phoenix and restore-phoenix for Phoenix on SQLite or PostgreSQL (docs/step-contract.md,
docs/operations.md). Standard library only; the chart mounts this file from a ConfigMap.

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

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

BACKUPS = Path("/backups")
DATA = Path(os.environ.get("PHOENIX_WORKING_DIR", "/data"))
DB_NAME = "phoenix.db"
DUMP_NAME = "phoenix.dump"
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


# ---- PostgreSQL ----------------------------------------------------------------------------------

def pg_env() -> dict[str, str] | None:
    """libpq's environment for the database Phoenix uses, or None when Phoenix is on SQLite."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    url, host = os.environ.get("PHOENIX_SQL_DATABASE_URL", ""), os.environ.get("PHOENIX_POSTGRES_HOST", "")
    if url:
        u = urlsplit(url)
        if u.scheme.split("+")[0] not in ("postgresql", "postgres"):
            raise Failure("PHOENIX_SQL_DATABASE_URL is not a postgresql:// URL: this step backs up SQLite on "
                          "Phoenix's claim or PostgreSQL", 2)
        try:
            port = u.port
        except ValueError:
            raise Failure("PHOENIX_SQL_DATABASE_URL has a port that is not a number", 2) from None
        env = {"PGHOST": u.hostname or "", "PGPORT": str(port or 5432), "PGUSER": unquote(u.username or ""),
               "PGPASSWORD": unquote(u.password or ""), "PGDATABASE": unquote(u.path.lstrip("/"))}
        query = dict(parse_qsl(u.query))
        if "sslmode" in query or "ssl" in query:
            mode = query.get("sslmode") or query["ssl"]
            # asyncpg's ssl=true/false (Phoenix's driver) are no libpq sslmode
            env["PGSSLMODE"] = {"true": "require", "1": "require", "false": "disable", "0": "disable"}.get(mode.lower(), mode)
    elif host:
        env = {"PGHOST": host.rstrip("/"), "PGPORT": os.environ.get("PHOENIX_POSTGRES_PORT") or "5432",
               "PGUSER": os.environ.get("PHOENIX_POSTGRES_USER", ""),
               "PGPASSWORD": os.environ.get("PHOENIX_POSTGRES_PASSWORD", ""),
               "PGDATABASE": os.environ.get("PHOENIX_POSTGRES_DB", "")}
    else:
        return None
    if not env["PGHOST"] or not env["PGUSER"]:
        raise Failure("the PostgreSQL connection names no host or no user (the Secret's url, or its host and user "
                      "keys)", 2)
    env["PGDATABASE"] = env["PGDATABASE"] or env["PGUSER"]  # libpq's and Phoenix's default alike
    if "=" in env["PGDATABASE"] or "://" in env["PGDATABASE"]:
        raise Failure(f"the database name {env['PGDATABASE']!r} is not a plain name", 2)
    env["PGCONNECT_TIMEOUT"] = "20"
    return env


def pg_run(argv: list[str], pg: dict[str, str], what: str) -> str:
    """Run a PostgreSQL client program (argv, no shell) with libpq's environment; its stdout, else Failure."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOENIX_", "PG"))} | pg
    try:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=6 * 3600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Failure(f"{what}: {argv[0]} could not run: {e}") from e
    if proc.returncode != 0:
        err = " ".join(proc.stderr.split())[-600:] or f"exit code {proc.returncode}"
        if "No space left" in err:
            raise OSError(28, "No space left on device")
        raise Failure(f"{what}: {argv[0]} failed on {pg['PGHOST']}:{pg['PGPORT']}/{pg['PGDATABASE']}: {err}")
    return proc.stdout


#: How long a step waits for PostgreSQL to take its connection: a new pod may be refused until the node's
#: NetworkPolicy controller has seen its address (kube-router rejects it meanwhile), and a server may be restarting.
CONNECT_WAIT_SECONDS = 120
UNREACHABLE = ("Connection refused", "could not connect", "timeout expired", "No route to host",
               "the database system is starting up", "the database system is shutting down")


def pg_server_version(pg: dict[str, str], what: str) -> str:
    """The server's version, once it takes connections (within CONNECT_WAIT_SECONDS); any other error at once."""
    deadline = time.monotonic() + CONNECT_WAIT_SECONDS
    while True:
        try:
            return pg_run(["psql", "--no-psqlrc", "--no-password", "--tuples-only", "--no-align", "--command",
                           "SHOW server_version"], pg, what).strip()
        except Failure as e:
            if not any(u in str(e) for u in UNREACHABLE) or time.monotonic() >= deadline:
                raise
            print(f"{what}: PostgreSQL at {pg['PGHOST']}:{pg['PGPORT']} is not reachable yet; retrying", file=sys.stderr)
            time.sleep(3)


def pg_dump(copy: Path, pg: dict[str, str]) -> tuple[str, str, str]:
    """pg_dump in custom format into copy (one snapshot), read back: (software, server version, revision)."""
    what = "backup-phoenix"
    server = pg_server_version(pg, what)
    try:  # Phoenix's Alembic revision, when its tables are in the search path
        revision = pg_run(["psql", "--no-psqlrc", "--no-password", "--tuples-only", "--no-align", "--command",
                           "SELECT version_num FROM alembic_version"], pg, what).strip() or "unknown"
    except Failure:
        revision = "unknown"
    pg_run(["pg_dump", "--format=custom", "--no-password", "--file", str(copy)], pg, what)
    listing = pg_run(["pg_restore", "--list", str(copy)], pg, what)
    if "TABLE DATA" not in listing:
        raise Failure(f"{what}: the dump of {pg['PGDATABASE']} holds no table data: is Phoenix using this database?")
    return "postgresql", server, revision


# Run first in the restore's transaction: the tables, views, sequences and types that Phoenix's role owns in
# the schema holding Phoenix's alembic_version (its own schema) are dropped (another role's objects stay), so objects a later Phoenix made after the backup
# (a newer migration's tables and enums) do not survive beside the restored, older revision.
DROP_PHOENIX_SCHEMA = """
DO $cogniverse$
DECLARE s text; r record;
BEGIN
  FOR s IN SELECT DISTINCT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relname = 'alembic_version' AND c.relkind = 'r' LOOP
    FOR r IN SELECT format('DROP %s IF EXISTS %I.%I CASCADE', CASE c.relkind WHEN 'v' THEN 'VIEW'
                WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                n.nspname, c.relname) AS q
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = s AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND NOT c.relispartition
               AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                               AND d.deptype IN ('e', 'a', 'i'))
             ORDER BY c.relkind = 'S' LOOP
      EXECUTE r.q;
    END LOOP;
    FOR r IN SELECT format('DROP %s IF EXISTS %I.%I CASCADE', CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END,
                n.nspname, t.typname) AS q
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname = s AND t.typtype IN ('e', 'd', 'r')
               AND t.typowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                               AND d.deptype = 'e') LOOP
      EXECUTE r.q;
    END LOOP;
  END LOOP;
END $cogniverse$;
"""


def pg_restore(args: dict[str, str], pg: dict[str, str]) -> dict[str, str]:
    """pg_restore's script of the dump fed to psql inside BEGIN ... COMMIT, after DROP_PHOENIX_SCHEMA.

    COMMIT is written only once pg_restore read the whole dump and psql met no error (ON_ERROR_STOP):
    a dump that breaks off, an error, or this process dying closes psql's input without COMMIT, and
    the server rolls the transaction back: the database is as it was. Twice gives the same database."""
    import tempfile

    manifest = verified(args, "pg-custom")
    dump = Path(args["backup-dir"]) / args["backup-id"] / manifest["files"][0]["path"]
    what, start = "restore-phoenix", time.monotonic()
    pg_server_version(pg, what)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOENIX_", "PG"))} | pg
    with tempfile.TemporaryFile() as script_err, tempfile.TemporaryFile() as psql_err:
        try:
            script = subprocess.Popen(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
                                       "--file=-", str(dump)], env=env, stdout=subprocess.PIPE, stderr=script_err)
            psql = subprocess.Popen(["psql", "--no-psqlrc", "--no-password", "--quiet", "--set=ON_ERROR_STOP=1",
                                     "--file=-", f"--dbname={pg['PGDATABASE']}"], env=env, stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=psql_err)
        except OSError as e:
            raise Failure(f"{what}: pg_restore or psql could not run: {e}") from e
        try:
            psql.stdin.write(b"BEGIN;\nSET client_min_messages = warning;\n" + DROP_PHOENIX_SCHEMA.encode())
            shutil.copyfileobj(script.stdout, psql.stdin, 1 << 20)
            read_all = script.wait() == 0
            if read_all:
                psql.stdin.write(b"COMMIT;\n")
            psql.stdin.close()
        except BrokenPipeError:  # psql stopped at an error
            script.kill()
            script.wait()
            read_all = False
        code = psql.wait()
        for proc, err, name in ((script, script_err, "pg_restore"), (psql, psql_err, "psql")):
            err.seek(0)
            text = " ".join(err.read().decode(errors="replace").split())[-600:]
            if proc.returncode != 0:
                raise Failure(f"{what}: {name} failed on {pg['PGHOST']}:{pg['PGPORT']}/{pg['PGDATABASE']}: "
                              f"{text or f'exit code {proc.returncode}'}: the transaction was rolled back, nothing "
                              "changed")
        if not read_all or code != 0:
            raise Failure(f"{what}: the restore stopped before its end: the transaction was rolled back, nothing changed")
    print(f"restore-phoenix: backup {args['backup-id']} ({manifest['size']} bytes, PostgreSQL "
          f"{manifest['version']}, schema {manifest.get('schema-revision')}) restored into "
          f"{pg['PGHOST']}/{pg['PGDATABASE']} in {time.monotonic() - start:.1f}s", file=sys.stderr)
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
