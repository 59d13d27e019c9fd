"""files/phoenix-backup.py's PostgreSQL path (values phoenix.database): pg_dump and pg_restore run with an
argument list and the password only in their environment, waits for a server not reachable yet, gives up
on a wrong password at once, restores in one transaction, refuses a bad backup before touching the
database; the URL Phoenix reads becomes the libpq environment. What the chart renders: test_phoenix_postgresql.py.

The script runs against stand-ins of psql, pg_dump and pg_restore (small Python programs written here that
record their argv and environment): a PostgreSQL server cannot run in the fast suite. The real ones run in
the PostgreSQL image against the in-chart server on the node (tests/smoke/test_restore_drill_postgres.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from test_backup_restore import tool  # noqa: F401 - the fixture: the script as a module, its folders under tmp_path


STANDIN = '''#!{python}
"""Stand-in for {name}: records argv and the libpq environment, acts as the real one would for the script."""
import json, os, sys
log = os.environ["STANDIN_LOG"]
stdin = sys.stdin.read() if "--file=-" in sys.argv and sys.argv[0].endswith("psql") else None
with open(log, "a") as f:
    f.write(json.dumps({{"argv": sys.argv, "env": {{k: v for k, v in os.environ.items() if k.startswith("PG")}}, "stdin": stdin,
                        "manifests": sorted(p for p in os.listdir(os.environ["STANDIN_BACKUPS"] + "/b1")
                                            if p.endswith(".complete")) if os.path.isdir(os.environ["STANDIN_BACKUPS"] + "/b1") else []}}) + "\\n")
fail = os.environ.get("STANDIN_FAIL", "")
if fail and fail == os.path.basename(sys.argv[0]):
    sys.exit("{name}: error: could not write to output file: No space left on device")
name = os.path.basename(sys.argv[0])
refused = log + ".refused"  # STANDIN_REFUSE=N: the first N connections are refused (a server not reachable yet)
count = int(open(refused).read()) if os.path.exists(refused) else 0
if name == "psql" and count < int(os.environ.get("STANDIN_REFUSE", "0")):
    open(refused, "w").write(str(count + 1))
    sys.exit('psql: error: connection to server at "db" (10.0.0.9), port 5432 failed: Connection refused')
if name == "psql" and os.environ.get("STANDIN_AUTH"):
    sys.exit('psql: error: connection to server at "db" (10.0.0.9), port 5432 failed: FATAL:  password authentication failed')
if name == "psql":
    print("15.20" if "server_version" in sys.argv[-1] else "rev42")
elif name == "pg_dump":
    open(sys.argv[sys.argv.index("--file") + 1], "wb").write(b"PGDMP" + os.urandom(64))
elif name == "pg_restore" and "--list" in sys.argv:
    print("215; 0 16390 TABLE DATA public spans phoenix")
elif name == "pg_restore":  # --file=-: the dump as SQL on stdout
    print("DROP TABLE IF EXISTS public.spans;\\nCREATE TABLE public.spans (id integer);")
elif name == "psql" and stdin is not None and "COMMIT;" in stdin:
    open(os.environ["STANDIN_LOG"] + ".committed", "a").write(stdin)
'''


@pytest.fixture
def pg(tool, tmp_path, monkeypatch):
    """The script (test_backup_restore's `tool`), PHOENIX_POSTGRES_* as the chart sets them, stand-in clients on PATH."""
    mod = tool
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("psql", "pg_dump", "pg_restore"):
        (bin_dir / name).write_text(STANDIN.format(python=sys.executable, name=name))
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STANDIN_LOG", str(tmp_path / "calls.jsonl"))
    monkeypatch.setenv("STANDIN_BACKUPS", str(tmp_path / "backups"))
    for k, v in {"HOST": "cogniverse-postgresql.cogniverse.svc", "PORT": "5432", "USER": "phoenix",
                 "PASSWORD": "s3cret:@/pw", "DB": "phoenix"}.items():
        monkeypatch.setenv(f"PHOENIX_POSTGRES_{k}", v)
    mod.calls = lambda: [json.loads(line) for line in (tmp_path / "calls.jsonl").read_text().splitlines()] \
        if (tmp_path / "calls.jsonl").exists() else []
    return mod


def step(mod, name: str, capsys, backup_id: str = "b1") -> tuple[int, str]:
    code = mod.main([name, "--backup-dir", str(mod.BACKUPS), "--backup-id", backup_id])
    return code, capsys.readouterr().err


def test_pg_backup_dumps_with_argv_and_the_password_only_in_the_environment(pg, capsys):
    code, err = step(pg, "backup-phoenix", capsys)
    assert code == 0, err
    manifest = json.loads((pg.BACKUPS / "b1" / "phoenix.complete").read_text())
    dump = pg.BACKUPS / "b1" / "phoenix" / "phoenix.dump"
    assert manifest["format"] == "pg-custom" and manifest["software"] == "postgresql" and manifest["version"] == "15.20"
    assert manifest["schema-revision"] == "rev42" and manifest["size"] == dump.stat().st_size
    assert manifest["files"] == [{"path": "phoenix/phoenix.dump", "size": dump.stat().st_size,
                                  "sha256": hashlib.sha256(dump.read_bytes()).hexdigest()}]
    calls = pg.calls()
    dumps = [c for c in calls if c["argv"][0].endswith("pg_dump")]
    assert len(dumps) == 1 and dumps[0]["argv"][1:3] == ["--format=custom", "--no-password"]
    for c in calls:
        assert not any("s3cret" in a for a in c["argv"]), f"password in argv: {c['argv']}"
        assert c["env"]["PGPASSWORD"] == "s3cret:@/pw" and c["env"]["PGHOST"] == "cogniverse-postgresql.cogniverse.svc"
        assert c["manifests"] == [], "the manifest must be written after every client ran"
    assert (pg.OUTPUTS / "backup-path").read_text() == f"{pg.BACKUPS}/b1/phoenix"


def _server_checks(mod) -> int:
    return sum(1 for c in mod.calls() if c["argv"][0].endswith("psql") and "server_version" in c["argv"][-1])


def test_pg_backup_waits_for_a_server_not_reachable_yet(pg, capsys, monkeypatch):
    """A new step pod may be refused until the node's NetworkPolicy controller has seen its address (kube-router
    rejects it meanwhile), or the server may be restarting: the step retries its connection for a while."""
    monkeypatch.setattr(pg.time, "sleep", lambda s: None)
    monkeypatch.setenv("STANDIN_REFUSE", "2")
    code, err = step(pg, "backup-phoenix", capsys)
    assert code == 0, err
    assert _server_checks(pg) == 3 and err.count("not reachable yet; retrying") == 2, err


@pytest.mark.parametrize("case", ["wrong password", "never reachable"])
def test_pg_backup_gives_up_on_a_wrong_password_at_once_and_on_an_unreachable_server_in_time(pg, capsys, monkeypatch, case):
    monkeypatch.setattr(pg.time, "sleep", lambda s: None)
    if case == "wrong password":
        monkeypatch.setenv("STANDIN_AUTH", "1")
    else:
        monkeypatch.setenv("STANDIN_REFUSE", "1000")
        monkeypatch.setattr(pg.postgresql, "CONNECT_WAIT_SECONDS", 0)
    code, err = step(pg, "backup-phoenix", capsys)
    assert code != 0 and _server_checks(pg) == 1, err
    assert ("password authentication failed" if case == "wrong password" else "Connection refused") in err
    assert "cogniverse-postgresql.cogniverse.svc:5432/phoenix" in err and "s3cret" not in err
    assert not (pg.BACKUPS / "b1" / "phoenix.complete").exists()


def _restores(pg) -> list[dict[str, Any]]:
    return [c for c in pg.calls() if c["argv"][0].endswith("psql") and "--file=-" in c["argv"]]


def test_pg_restore_drops_phoenix_schema_and_recreates_it_in_one_transaction(pg, capsys):
    """pg_restore's script goes to psql inside BEGIN ... COMMIT, after a block that drops what Phoenix's schema
    holds: a table or enum a newer Phoenix made after the backup cannot survive beside the older revision
    (attack22 P28, seen with the real PostgreSQL 15 tools)."""
    assert step(pg, "backup-phoenix", capsys)[0] == 0
    for _ in range(2):  # twice: the same command, the same result
        code, err = step(pg, "restore-phoenix", capsys)
        assert code == 0, err
    scripts = [c["argv"][1:] for c in pg.calls() if c["argv"][0].endswith("pg_restore") and "--list" not in c["argv"]]
    assert scripts == 2 * [["--clean", "--if-exists", "--no-owner", "--no-privileges", "--file=-",
                            str(pg.BACKUPS / "b1/phoenix/phoenix.dump")]]
    restores = _restores(pg)
    assert len(restores) == 2 and restores[0]["argv"][1:] == ["--no-psqlrc", "--no-password", "--quiet",
                                                              "--set=ON_ERROR_STOP=1", "--file=-", "--dbname=phoenix"]
    sql = restores[0]["stdin"]
    assert sql.startswith("BEGIN;\n") and sql.endswith("CREATE TABLE public.spans (id integer);\nCOMMIT;\n")
    assert sql.index("WHERE c.relname = 'alembic_version'") < sql.index("DROP TABLE IF EXISTS public.spans")
    assert "DROP %s IF EXISTS %I.%I CASCADE" in sql and "'e', 'a', 'i'" in sql  # never an extension's object
    assert sql.count("rolname = current_user") == 2  # nor another role's (a shared external server)
    assert all("s3cret" not in a for c in restores for a in c["argv"])


def test_pg_restore_of_a_dump_that_breaks_off_never_commits(pg, capsys, monkeypatch):
    assert step(pg, "backup-phoenix", capsys)[0] == 0
    monkeypatch.setenv("STANDIN_FAIL", "pg_restore")
    code, err = step(pg, "restore-phoenix", capsys)
    assert code == 1 and "pg_restore failed on" in err and err.rstrip().endswith("rolled back, nothing changed")
    (restore,) = _restores(pg)
    assert restore["stdin"].startswith("BEGIN;") and "COMMIT" not in restore["stdin"]
    assert not Path(os.environ["STANDIN_LOG"] + ".committed").exists()


def _manifest(backup: Path, edit) -> None:
    manifest = json.loads((backup / "phoenix.complete").read_text())
    edit(manifest)
    (backup / "phoenix.complete").write_text(json.dumps(manifest))


def _link_outside(backup: Path) -> None:
    """The dump replaced by a link to a file outside the backup, the manifest rewritten to match it."""
    outside = backup.parent.parent / "outside.bin"
    outside.write_bytes(b"PGDMP not this backup's")
    (backup / "phoenix" / "phoenix.dump").unlink()
    (backup / "phoenix" / "phoenix.dump").symlink_to(outside)
    _manifest(backup, lambda m: m["files"][0].update(size=outside.stat().st_size,
                                                     sha256=hashlib.sha256(outside.read_bytes()).hexdigest()))


@pytest.mark.parametrize("damage,message", [
    (lambda b: (b / "phoenix" / "phoenix.dump").write_bytes(b"PGDMP tampered"), "is corrupted: phoenix/phoenix.dump"),
    (lambda b: (b / "phoenix.complete").unlink(), "is incomplete (no phoenix.complete manifest)"),
    # a manifest naming a file outside the backup (here the dump's own absolute path) is not followed
    (lambda b: (b / "phoenix.complete").write_text((b / "phoenix.complete").read_text().replace(
        '"phoenix/phoenix.dump"', json.dumps(str(b / "phoenix" / "phoenix.dump")))), "not phoenix/phoenix.dump"),
    # hostile manifests (attack22 P31-P36): one line, never a traceback, never a file outside the backup
    (lambda b: _manifest(b, lambda m: m.update(files=["phoenix/phoenix.dump"])), "lists a file without a path, size"),
    (lambda b: _manifest(b, lambda m: m["files"][0].pop("size")), "lists a file without a path, size"),
    (lambda b: _manifest(b, lambda m: m["files"][0].update(path=5)), "lists a file without a path, size"),
    (lambda b: _manifest(b, lambda m: m["files"].insert(0, dict(m["files"][0], path="phoenix/other.bin"))),
     "restores 'phoenix/other.bin', not phoenix/phoenix.dump"),
    (lambda b: _link_outside(b), "is missing phoenix/phoenix.dump (or it is a link)"),
])
def test_pg_restore_refuses_a_bad_backup_before_touching_the_database(pg, capsys, damage, message):
    assert step(pg, "backup-phoenix", capsys)[0] == 0
    damage(pg.BACKUPS / "b1")
    before = len(pg.calls())
    code, err = step(pg, "restore-phoenix", capsys)
    assert code == 1 and message in err and err.rstrip().endswith("nothing changed")
    assert len(pg.calls()) == before, "no client may run for a refused backup"


def test_a_sqlite_backup_is_not_restored_into_postgresql(pg, capsys):
    assert step(pg, "backup-phoenix", capsys)[0] == 0
    manifest = pg.BACKUPS / "b1" / "phoenix.complete"
    manifest.write_text(manifest.read_text().replace('"pg-custom"', '"sqlite"'))
    code, err = step(pg, "restore-phoenix", capsys)
    assert code == 1 and "is a sqlite backup and Phoenix now keeps its data in PostgreSQL" in err


def test_pg_backup_on_a_full_volume_fails_clearly_and_keeps_the_previous_backup(pg, capsys, monkeypatch):
    assert step(pg, "backup-phoenix", capsys, "b0")[0] == 0
    monkeypatch.setenv("STANDIN_FAIL", "pg_dump")
    code, err = step(pg, "backup-phoenix", capsys, "b1")
    assert code == 1 and "the backups volume is full" in err and "earlier complete backups are untouched" in err
    assert not (pg.BACKUPS / "b1" / "phoenix").exists() and not (pg.BACKUPS / "b1" / "phoenix.complete").exists()
    assert (pg.BACKUPS / "b0" / "phoenix.complete").is_file()


@pytest.mark.parametrize("url,expected", [
    ("postgresql://phoenix:p%40ss%3Aw%2Frd@db.example:6543/traces?sslmode=require",
     {"PGHOST": "db.example", "PGPORT": "6543", "PGUSER": "phoenix", "PGPASSWORD": "p@ss:w/rd",
      "PGDATABASE": "traces", "PGSSLMODE": "require"}),
    ("postgresql+asyncpg://u:pw@db/", {"PGHOST": "db", "PGPORT": "5432", "PGUSER": "u", "PGDATABASE": "u"}),
    # asyncpg's ssl=true is libpq's require (libpq refused "true", attack22 P40)
    ("postgresql://u:pw@db/d?ssl=true", {"PGSSLMODE": "require"}),
    ("postgresql://u:pw@db/d?ssl=false", {"PGSSLMODE": "disable"}),
])
def test_the_url_phoenix_reads_becomes_libpq_environment(pg, monkeypatch, url, expected):
    for k in ("HOST", "PORT", "USER", "PASSWORD", "DB"):
        monkeypatch.delenv(f"PHOENIX_POSTGRES_{k}")
    monkeypatch.setenv("PHOENIX_SQL_DATABASE_URL", url)
    assert pg.pg_env().items() >= expected.items()


@pytest.mark.parametrize("url,message", [
    ("mysql://u:p@h/d", "is not a postgresql:// URL"),
    ("postgresql://u:p@h:port/d", "port that is not a number"),
    ("postgresql://:p@h/d", "names no host or no user"),
    ("postgresql://u:p@h/host=evil", "is not a plain name"),
])
def test_a_bad_url_exits_2_naming_the_problem_without_the_password(pg, monkeypatch, capsys, url, message):
    monkeypatch.delenv("PHOENIX_POSTGRES_HOST")
    monkeypatch.setenv("PHOENIX_SQL_DATABASE_URL", url)
    code, err = step(pg, "backup-phoenix", capsys)
    assert code == 2 and message in err and ":p@" not in err
    assert pg.calls() == []
