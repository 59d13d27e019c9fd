"""backup-phoenix and restore-phoenix for Phoenix on PostgreSQL (phoenix-backup.py chooses): pg_dump and
pg_restore run as programs with an argument list (no shell), the connection in libpq's environment, never
in argv. Standard library only; the chart mounts it beside phoenix-backup.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from phoenix_backup_manifest import Failure, verified

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
