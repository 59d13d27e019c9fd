"""Phoenix on PostgreSQL (values phoenix.database): what the chart renders for the in-chart server and an
external one, that no password ever reaches a manifest but the chart's own Secret, that bad combinations
fail with one line naming the key (Helm 3 and 4), and that files/phoenix-backup.py's PostgreSQL path runs
pg_dump and pg_restore with an argument list and the password only in their environment.

The chart half renders with real helm. The script half runs the script against stand-ins of psql, pg_dump
and pg_restore (small Python programs written here that record their argv and environment): a PostgreSQL
server cannot run in the fast suite. The real ones run in the PostgreSQL image against the in-chart server
on the node (tests/smoke/test_restore_drill_postgres.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from chart_utils import by_kind, render_chart, strings, templates
from cogniverse_chart import CHART_DIR
from cogniverse_chart.errors import HelmError
from test_backup_restore import SCRIPT_FILES, tool  # noqa: F401 - the fixture: the script as a module, its folders under tmp_path

SCRIPT = CHART_DIR / "files" / "phoenix-backup.py"
IN_CHART = {"phoenix": {"database": {"type": "postgresql", "postgresql": {"inChart": {"enabled": True}}}}}


def external(fmt: str = "url", secret: str = "phoenix-db") -> dict[str, Any]:
    return {"phoenix": {"database": {"type": "postgresql", "postgresql": {
        "external": {"enabled": True, "existingSecret": secret, "secretFormat": fmt}}}}}


def objects(values: dict[str, Any] | None, profile: str = "local") -> dict[str, dict[str, Any]]:
    return {f"{d.kind}/{d.name}": d.obj for d in render_chart(values, profile=profile)}


def env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def phoenix_container(objs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return objs["Deployment/cogniverse-phoenix"]["spec"]["template"]["spec"]["containers"][0]


def phoenix_steps(objs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [templates(objs["WorkflowTemplate/daily-backup"])["backup-phoenix"],
            templates(objs["WorkflowTemplate/restore"])["restore-phoenix"]]


# ---- the chart -----------------------------------------------------------------------------------

def test_sqlite_stays_the_default_with_no_postgresql_object():
    objs = objects(None)
    assert not [k for k in objs if "postgresql" in k]
    assert not [n for n in env(phoenix_container(objs)) if n.startswith(("PHOENIX_POSTGRES", "PHOENIX_SQL"))]
    assert phoenix_steps(objs)[0]["container"]["image"].startswith("arizephoenix/phoenix:")


def test_in_chart_postgresql_is_a_restricted_statefulset_with_its_claim_probe_and_service():
    objs = objects(IN_CHART)
    sts = objs["StatefulSet/cogniverse-postgresql"]["spec"]
    pod = sts["template"]["spec"]
    (c,) = pod["containers"]
    assert c["image"] == "cogniverse/postgresql:15.20-0_deb12u1"
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 65532
    assert c["securityContext"]["allowPrivilegeEscalation"] is False and c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    # ready only once it accepts TCP connections: initdb's temporary server listens on a socket only
    assert c["readinessProbe"]["exec"]["command"][:3] == ["pg_isready", "--quiet", "--host=127.0.0.1"]
    assert env(c)["POSTGRES_PASSWORD_FILE"] == "/etc/cogniverse/postgresql/password"
    assert {v["name"]: v for v in pod["volumes"]}["password"]["secret"]["secretName"] == "cogniverse-postgresql"
    (claim,) = sts["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "local-path" and claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    svc = objs["Service/cogniverse-postgresql"]["spec"]
    assert svc["ports"][0]["port"] == 5432 and svc["selector"]["app.kubernetes.io/component"] == "postgresql"
    assert objs["Secret/cogniverse-postgresql"]["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_only_phoenix_and_its_backup_steps_may_reach_postgresql():
    objs = objects(IN_CHART)
    np = objs["NetworkPolicy/cogniverse-postgresql"]["spec"]
    assert np["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "postgresql"
    (rule,) = np["ingress"]
    peers = [p["podSelector"]["matchLabels"] for p in rule["from"]]
    assert [p["app.kubernetes.io/component"] for p in peers] == ["phoenix", "phoenix-database-client"]
    assert all(p["app.kubernetes.io/instance"] == "cogniverse" for p in peers)
    for step in phoenix_steps(objs):  # the steps carry exactly the labels the policy admits
        assert step["metadata"]["labels"] == peers[1]
    phoenix_pod = objs["Deployment/cogniverse-phoenix"]["spec"]["template"]["metadata"]["labels"]
    assert phoenix_pod.items() >= peers[0].items()
    others = [t for n, o in objs.items() if n.startswith("WorkflowTemplate/") for t in templates(o).values()
              if t.get("metadata", {}).get("labels") == peers[1] and t["name"] not in ("backup-phoenix", "restore-phoenix")]
    assert not others, "only Phoenix's backup and restore steps may carry the client labels"


SECRET_REF = {
    "in-chart": (IN_CHART, {"PHOENIX_POSTGRES_PASSWORD": ("cogniverse-postgresql", "password")}),
    "in-chart-existing": ({"phoenix": {"database": {"type": "postgresql", "postgresql": {
        "inChart": {"enabled": True, "existingSecret": "my-pg"}}}}}, {"PHOENIX_POSTGRES_PASSWORD": ("my-pg", "password")}),
    "external-url": (external("url"), {"PHOENIX_SQL_DATABASE_URL": ("phoenix-db", "url")}),
    "external-fields": (external("fields"), {f"PHOENIX_POSTGRES_{v}": ("phoenix-db", k) for v, k in
                                             (("HOST", "host"), ("USER", "user"), ("PASSWORD", "password"),
                                              ("PORT", "port"), ("DB", "database"))}),
}


@pytest.mark.parametrize("mode", list(SECRET_REF))
def test_phoenix_and_its_steps_get_the_connection_only_by_secret_reference(mode):
    values, refs = SECRET_REF[mode]
    objs = objects(values)
    for c in [phoenix_container(objs)] + [s["container"] for s in phoenix_steps(objs)]:
        got = env(c)
        for var, (secret, key) in refs.items():
            assert got[var]["secretKeyRef"]["name"] == secret and got[var]["secretKeyRef"]["key"] == key, (mode, var)
        assert not [n for n, v in got.items() if ("PASSWORD" in n or n.endswith("_URL") and "SQL" in n)
                    and not isinstance(v, dict)], "a credential as a plain value"
    if mode == "external-fields":  # port and database may be left out of the Secret
        assert env(phoenix_container(objs))["PHOENIX_POSTGRES_PORT"]["secretKeyRef"]["optional"] is True
        assert "optional" not in env(phoenix_container(objs))["PHOENIX_POSTGRES_PASSWORD"]["secretKeyRef"]
    assert ("Secret/cogniverse-postgresql" in objs) == (mode == "in-chart")


def test_the_generated_password_is_written_only_in_its_secret():
    docs = render_chart(IN_CHART, profile="local")
    (secret,) = [d for d in docs if d.kind == "Secret" and d.name == "cogniverse-postgresql"]
    encoded = secret.obj["data"]["password"]
    password = base64.b64decode(encoded).decode()
    assert len(password) == 32 and password.isalnum()
    leaks = [(d.kind, d.name, path) for d in docs if d is not secret for path, s in strings(d.obj)
             if password in s or encoded in s]
    assert not leaks


def test_postgresql_steps_run_the_script_in_the_postgresql_image_without_phoenix_claim():
    objs = objects(IN_CHART)
    for t in phoenix_steps(objs):
        c = t["container"]
        assert c["image"] == "cogniverse/postgresql:15.20-0_deb12u1" and "affinity" not in t
        assert c["command"] == ["/usr/bin/python3", "/opt/cogniverse/phoenix-backup.py"]
        assert c["args"][0] in ("backup-phoenix", "restore-phoenix") and c["args"][1:] == [
            "--backup-dir", "{{inputs.parameters.backup-dir}}", "--backup-id", "{{inputs.parameters.backup-id}}"]
        assert {m["name"] for m in c["volumeMounts"]} == {"tmp", "outputs", "backups", "backup-scripts"}
    for wft in ("WorkflowTemplate/daily-backup", "WorkflowTemplate/restore"):
        assert {v["name"] for v in objs[wft]["spec"]["volumes"]} == {"backups", "backup-scripts"}
    assert objs["ConfigMap/cogniverse-phoenix-backup"]["data"] == {f.name: f.read_text() for f in SCRIPT_FILES}
    # the restore still stops Phoenix's writers first and starts them in its exit handler
    groups = [[s["name"] for s in g] for g in templates(objs["WorkflowTemplate/restore"])["restore"]["steps"]]
    assert groups[:3] == [["verify-backup"], ["stop-phoenix"], ["restore-phoenix"]]


BAD = [
    ("in-chart-without-type", {"phoenix": {"database": {"postgresql": {"inChart": {"enabled": True}}}}},
     "phoenix.database.postgresql.inChart.enabled is true but phoenix.database.type is \"sqlite\""),
    ("postgresql-without-server", {"phoenix": {"database": {"type": "postgresql"}}},
     "neither phoenix.database.postgresql.inChart.enabled nor phoenix.database.postgresql.external.enabled"),
    ("both-servers", {"phoenix": {"database": {"type": "postgresql", "postgresql": {
        "inChart": {"enabled": True}, "external": {"enabled": True, "existingSecret": "x"}}}}},
     "inChart.enabled and external.enabled are both true"),
    ("external-without-secret", external(secret=""), "phoenix.database.postgresql.external.existingSecret is empty"),
    ("url-in-extra-env", {"phoenix": {"extraEnv": [{"name": "PHOENIX_SQL_DATABASE_URL", "value": "postgresql://u:p@h/d"}]}},
     "phoenix.extraEnv[0] sets PHOENIX_SQL_DATABASE_URL"),
    ("password-in-extra-env", {**IN_CHART, "phoenix": {**IN_CHART["phoenix"], "extraEnv": [
        {"name": "PHOENIX_POSTGRES_PASSWORD", "value": "hunter2"}]}}, "phoenix.extraEnv[0] sets PHOENIX_POSTGRES_PASSWORD"),
    ("postgresql-as-root", {"phoenix": {"database": {"type": "postgresql", "postgresql": {"inChart": {
        "enabled": True, "podSecurityContext": {"runAsNonRoot": False}}}}}}, "phoenix.database.postgresql.inChart.podSecurityContext"),
    ("unknown-type", {"phoenix": {"database": {"type": "mysql"}}}, "phoenix.database.type"),
    ("unknown-secret-format", external("json"), "secretFormat"),
    ("bad-user-name", {"phoenix": {"database": {"postgresql": {"inChart": {"user": "Bad-Name"}}}}}, "user"),
    ("limit-below-request", {"phoenix": {"database": {"type": "postgresql", "postgresql": {"inChart": {
        "enabled": True, "resources": {"requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}}}}},
     "phoenix.database.postgresql.inChart.resources.limits.cpu (1) is below"),
    # null drops a key in Helm (attack22 P04-P08, P16, P17): the schema names it, never a nil pointer or a
    # Phoenix rendered with `PHOENIX_POSTGRES_USER: null`
    *[(f"reserved-{key}", {"phoenix": {"database": {"type": "postgresql", "postgresql": {"inChart": {
        "enabled": True, key: name}}}}}, message) for key, name, message in (
        ("user", "pg_monitor", 'inChart.user "pg_monitor": PostgreSQL reserves role names starting with pg_'),
        ("user", "postgres", 'inChart.user "postgres" is the server\'s superuser'),
        ("database", "template1", 'inChart.database "template1" is one of PostgreSQL\'s template databases'))],
    ("null-database", {"phoenix": {"database": None}}, "database is required"),
    ("null-in-chart", {"phoenix": {"database": {"postgresql": {"inChart": None}}}}, "inChart is required"),
    *[(f"null-{key}", {"phoenix": {"database": {"type": "postgresql", "postgresql": {
        "inChart": {"enabled": True, key: None}}}}}, f"{key} is required") for key in ("user", "database", "resources")],
    ("null-secret-format", {"phoenix": {"database": {"type": "postgresql", "postgresql": {
        "external": {"enabled": True, "existingSecret": "x", "secretFormat": None}}}}}, "secretFormat is required"),
]


@pytest.mark.parametrize("case,values,message", BAD, ids=[b[0] for b in BAD])
def test_bad_database_values_fail_with_one_line_naming_the_key(helm, case, values, message):
    with pytest.raises(HelmError) as err:
        render_chart(values, helm=helm)
    text = str(err.value).replace("at '/phoenix/database/type'", "phoenix.database.type")
    text = re.sub(r"missing property '([^']+)'", r"\1 is required", text)  # Helm 4's words for Helm 3's
    assert message in text or message.replace(".", "/") in text, f"{helm.label}: {text}"
    assert "Traceback" not in text and "goroutine" not in text


@pytest.mark.parametrize("values", [IN_CHART, external("url"), external("fields")], ids=["in-chart", "url", "fields"])
def test_postgresql_modes_validate_strictly(strict_validator, values):
    findings = strict_validator.validate(render_chart(values, profile="local"))
    assert not findings, "\n".join(f.format() for f in findings)


# ---- the script's PostgreSQL path, against stand-in clients ---------------------------------------

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
