"""Phoenix's SQLite backup and restore (charts/cogniverse/files/phoenix-backup.py) and the chart's restore
WorkflowTemplate. The script runs here on real SQLite databases in WAL mode, as Phoenix keeps them; the
drill on the node (tests/smoke/test_restore_drill.py) runs it in the Phoenix image against Phoenix itself."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from chart_utils import by_kind, render_chart, steps, templates
from cogniverse_chart import CHART_DIR

SCRIPT = CHART_DIR / "files" / "phoenix-backup.py"
#: What the chart mounts in /opt/cogniverse: the script and the two modules beside it that it imports.
SCRIPT_FILES = (SCRIPT, SCRIPT.with_name("phoenix_backup_manifest.py"), SCRIPT.with_name("phoenix_backup_postgresql.py"))


@pytest.fixture
def tool(tmp_path, monkeypatch):
    """The script as a module, its /backups, /data and outputs moved under tmp_path (its folder first on
    sys.path, as when python3 runs it: it imports the modules beside it)."""
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("phoenix_backup", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name, sub in (("BACKUPS", "backups"), ("DATA", "data"), ("OUTPUTS", "outputs")):
        (tmp_path / sub).mkdir()
        monkeypatch.setattr(mod, name, tmp_path / sub)
    return mod


def live_db(data: Path, rows: int = 2000) -> sqlite3.Connection:
    con = sqlite3.connect(data / "phoenix.db", check_same_thread=False)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("CREATE TABLE alembic_version (version_num TEXT)")
    con.execute("INSERT INTO alembic_version VALUES ('rev42')")
    con.execute("CREATE TABLE spans (id INTEGER PRIMARY KEY, name TEXT)")
    con.executemany("INSERT INTO spans (name) VALUES (?)", [(f"span-{i}" * 20,) for i in range(rows)])
    con.commit()
    return con


def run(tool, step: str, backups: Path, backup_id: str, capsys) -> tuple[int, str]:
    code = tool.main([step, "--backup-dir", str(backups), "--backup-id", backup_id])
    return code, capsys.readouterr().err


def spans(db: Path) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT id, name FROM spans ORDER BY id").fetchall()
    finally:
        con.close()


def test_backup_of_a_live_database_is_consistent_and_its_manifest_is_written_last(tool, tmp_path, capsys):
    con = live_db(tool.DATA)
    stop = threading.Event()

    def writer():  # Phoenix keeps writing while the backup runs
        while not stop.is_set():
            con.execute("INSERT INTO spans (name) VALUES ('late')")
            con.commit()

    t = threading.Thread(target=writer)
    t.start()
    try:
        code, err = run(tool, "backup-phoenix", tool.BACKUPS, "b1", capsys)
    finally:
        stop.set()
        t.join()
    assert code == 0, err
    folder = tool.BACKUPS / "b1"
    manifest = json.loads((folder / "phoenix.complete").read_text())
    copy = folder / "phoenix" / "phoenix.db"
    assert manifest["component"] == "phoenix" and manifest["format"] == "sqlite" and manifest["schema-revision"] == "rev42"
    assert manifest["files"] == [{"path": "phoenix/phoenix.db", "size": copy.stat().st_size,
                                  "sha256": hashlib.sha256(copy.read_bytes()).hexdigest()}]
    assert manifest["size"] == copy.stat().st_size and manifest["time"].endswith("Z") and manifest["version"]
    assert sqlite3.connect(copy).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert len(spans(copy)) >= 2000
    assert (tool.OUTPUTS / "backup-path").read_text() == f"{tool.BACKUPS}/b1/phoenix"
    assert sorted(p.name for p in (folder / "phoenix").iterdir()) == ["phoenix.db"]  # no -wal, -shm or .partial


def test_restore_after_the_database_is_lost_brings_back_the_same_rows_and_twice_is_the_same(tool, capsys):
    live_db(tool.DATA).close()
    before = spans(tool.DATA / "phoenix.db")
    assert run(tool, "backup-phoenix", tool.BACKUPS, "b1", capsys)[0] == 0
    for f in tool.DATA.iterdir():  # the disaster
        f.unlink()
    for attempt in (1, 2):
        code, err = run(tool, "restore-phoenix", tool.BACKUPS, "b1", capsys)
        assert code == 0, err
        assert spans(tool.DATA / "phoenix.db") == before, f"attempt {attempt}"
        assert not (tool.DATA / "phoenix.db-wal").exists()
        assert sorted(p.name for p in tool.DATA.iterdir()) == ["phoenix.db", "pre-restore"]
    assert (tool.OUTPUTS / "restored-id").read_text() == "b1"


def test_restore_onto_a_full_phoenix_volume_fails_in_one_line_and_changes_nothing(tool, capsys, monkeypatch):
    """attack22 P45: staging the copy on a full /data was a Python traceback that left phoenix.db.restoring."""
    live_db(tool.DATA).close()
    assert run(tool, "backup-phoenix", tool.BACKUPS, "b1", capsys)[0] == 0
    before = {p.name: p.read_bytes() for p in tool.DATA.iterdir()}

    def full(src, dst, **kw):
        Path(dst).write_bytes(b"half a copy")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tool.shutil, "copyfile", full)
    code, err = run(tool, "restore-phoenix", tool.BACKUPS, "b1", capsys)
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert "Phoenix's volume is full" in err and err.rstrip().endswith("nothing changed")
    assert {p.name: p.read_bytes() for p in tool.DATA.iterdir()} == before


def backup_then_write(tool, capsys, sql: str) -> None:
    """Backup b1 of a live Phoenix database, then SQL committed on it (what Phoenix wrote after the backup)."""
    con = live_db(tool.DATA)
    assert run(tool, "backup-phoenix", tool.BACKUPS, "b1", capsys)[0] == 0
    con.execute(sql)
    con.commit()
    con.close()


def test_a_second_restore_keeps_the_database_the_first_one_set_aside(tool, capsys):
    """attack22 P46: the second restore deleted pre-restore/, the only copy of the data as it was before the first."""
    backup_then_write(tool, capsys, "INSERT INTO spans (name) VALUES ('written after the backup')")
    before_first = spans(tool.DATA / "phoenix.db")
    for _ in range(2):
        assert run(tool, "restore-phoenix", tool.BACKUPS, "b1", capsys)[0] == 0
    kept = sorted((tool.DATA / "pre-restore").iterdir())
    assert len(kept) == 2 and spans(kept[0] / "phoenix.db") == before_first
    assert len(spans(kept[1] / "phoenix.db")) == 2000 == len(spans(tool.DATA / "phoenix.db"))


def test_restore_moves_the_old_database_and_its_wal_aside(tool, capsys):
    backup_then_write(tool, capsys, "DELETE FROM spans")
    (tool.DATA / "phoenix.db-wal").write_bytes(b"stale wal of the old database")
    assert run(tool, "restore-phoenix", tool.BACKUPS, "b1", capsys)[0] == 0
    assert len(spans(tool.DATA / "phoenix.db")) == 2000
    (aside,) = (tool.DATA / "pre-restore").iterdir()
    assert (aside / "phoenix.db-wal").read_bytes() == b"stale wal of the old database"
    assert not (tool.DATA / "phoenix.db-wal").exists()


@pytest.mark.parametrize("damage, message", [
    ("flip", "backup b1 is corrupted: phoenix/phoenix.db has sha256"),
    ("manifest", "backup b1 is incomplete (no phoenix.complete manifest)"),
    ("garbled", "the manifest phoenix.complete of backup b1 is unreadable"),
    ("missing-set", "no backup b2"),
])
def test_an_incomplete_or_corrupted_backup_is_refused_and_nothing_changes(tool, capsys, damage, message):
    live_db(tool.DATA).close()
    assert run(tool, "backup-phoenix", tool.BACKUPS, "b1", capsys)[0] == 0
    copy = tool.BACKUPS / "b1" / "phoenix" / "phoenix.db"
    if damage == "flip":
        raw = bytearray(copy.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        copy.write_bytes(bytes(raw))
    elif damage == "manifest":
        (tool.BACKUPS / "b1" / "phoenix.complete").unlink()
    elif damage == "garbled":
        (tool.BACKUPS / "b1" / "phoenix.complete").write_text("{not json")
    live = {p.name: p.read_bytes() for p in tool.DATA.iterdir()}
    code, err = run(tool, "restore-phoenix", tool.BACKUPS, "b2" if damage == "missing-set" else "b1", capsys)
    assert code == 1 and message in err and "nothing changed" in err, err
    assert {p.name: p.read_bytes() for p in tool.DATA.iterdir()} == live


def test_a_full_backup_volume_fails_clearly_and_keeps_the_previous_backup(tool, capsys, monkeypatch):
    live_db(tool.DATA).close()
    assert run(tool, "backup-phoenix", tool.BACKUPS, "b1", capsys)[0] == 0
    previous = (tool.BACKUPS / "b1").rglob("*")
    before = {p: p.read_bytes() for p in previous if p.is_file()}
    real = sqlite3.connect

    class FullDisk:  # SQLite's answer when the volume has no room for the copy's next page
        def __init__(self, con):
            self.con = con

        def backup(self, *_: Any, **__: Any):
            raise sqlite3.OperationalError("database or disk is full")

        def close(self):
            self.con.close()

    monkeypatch.setattr(tool.sqlite3, "connect", lambda *a, **k: FullDisk(real(*a, **k)))
    code, err = run(tool, "backup-phoenix", tool.BACKUPS, "b2", capsys)
    assert code == 1 and "the backups volume is full" in err and "earlier complete backups are untouched" in err, err
    assert not (tool.BACKUPS / "b2" / "phoenix.complete").exists() and not (tool.BACKUPS / "b2" / "phoenix").exists()
    assert {p: p.read_bytes() for p in before} == before


@pytest.mark.parametrize("argv, message", [
    (["backup-phoenix", "--backup-dir", "/tmp", "--backup-id", "b"], "--backup-dir '/tmp' must be"),
    (["backup-phoenix", "--backup-dir", "{backups}/../x", "--backup-id", "b"], "must be"),
    (["restore-phoenix", "--backup-dir", "{backups}", "--backup-id", "../b"], "--backup-id '../b' must be a backup id"),
    (["restore-phoenix", "--backup-dir", "{backups}", "--backup-id", ".."], "must be a backup id"),
    (["restore-phoenix", "--backup-dir", "{backups}"], "--backup-id is required"),
    (["restore-phoenix", "--backup-dir", "{backups}", "--backup-id", "b", "--x", "y"], "unknown argument --x"),
    (["drop-tables"], "the first argument must be a step"),
])
def test_bad_arguments_exit_2_naming_the_argument(tool, capsys, argv, message):
    argv = [a.replace("{backups}", str(tool.BACKUPS)) for a in argv]
    assert tool.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1, err


def test_backup_without_a_database_names_the_problem(tool, capsys):
    code, err = run(tool, "backup-phoenix", tool.BACKUPS, "b1", capsys)
    assert code == 1 and "phoenix.db does not exist" in err


# ---- the chart -----------------------------------------------------------------------------------

def _restore(values: dict[str, Any] | None = None, profile: str = "local") -> tuple[dict, dict]:
    docs = render_chart(values, profile=profile)
    return by_kind(docs, "WorkflowTemplate"), {d.kind + "/" + d.name: d.obj for d in docs}


def test_restore_stops_phoenix_restores_and_always_brings_it_back():
    wft, _ = _restore()
    r = wft["restore"]
    main = templates(r)["restore"]
    groups = [[s["name"] for s in g] for g in main["steps"]]
    assert groups == [["verify-backup"], ["stop-phoenix"], ["restore-phoenix"], ["restore-vespa"]]
    st = steps(main)
    assert st["restore-phoenix"]["arguments"]["parameters"][1]["value"] == "{{steps.verify-backup.outputs.parameters.backup-id}}"
    assert st["stop-phoenix"]["when"] == "{{steps.verify-backup.outputs.parameters.phoenix}} == true"
    exit_steps = {s["name"]: s for g in templates(r)["exit-handler"]["steps"] for s in g}
    assert {p["name"]: p["value"] for p in exit_steps["start-phoenix"]["arguments"]["parameters"]} == \
        {"deployment": "cogniverse-phoenix", "replicas": "1"}
    assert main["synchronization"] == {"mutexes": [{"name": "cogniverse-workflow-backups"}]}
    # --entrypoint verify: the check alone, nothing stopped
    assert [[s["name"] for s in g] for g in templates(r)["verify"]["steps"]] == [["verify-backup"]]


def test_phoenix_steps_run_the_phoenix_image_on_its_claim_beside_or_apart_from_phoenix():
    wft, objs = _restore()
    backup = templates(wft["daily-backup"])["backup-phoenix"]
    restore = templates(wft["restore"])["restore-phoenix"]
    for t, kind in ((backup, "podAffinity"), (restore, "podAntiAffinity")):
        assert t["container"]["image"].startswith("arizephoenix/phoenix:")
        assert t["container"]["command"] == ["/usr/bin/python3", "/opt/cogniverse/phoenix-backup.py"]
        assert {m["name"]: m["mountPath"] for m in t["container"]["volumeMounts"]}.items() >= {"phoenix-data": "/data", "backups": "/backups"}.items()
        term = t["affinity"][kind]["requiredDuringSchedulingIgnoredDuringExecution"][0]
        assert term["topologyKey"] == "kubernetes.io/hostname"
        assert term["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == "phoenix"
    volumes = {v["name"]: v for v in wft["restore"]["spec"]["volumes"]}
    assert volumes["phoenix-data"]["persistentVolumeClaim"]["claimName"] == "cogniverse-phoenix-data"
    assert objs["ConfigMap/cogniverse-phoenix-backup"]["data"] == {f.name: f.read_text() for f in SCRIPT_FILES}


def test_the_mounted_configmap_holds_everything_the_script_imports(tmp_path):
    """The kubelet mounts the ConfigMap as symlinks into a `..data` folder and the steps run the script from
    there (python3 /opt/cogniverse/phoenix-backup.py, nothing written beside it): with only the rendered
    ConfigMap's files, it starts, imports its modules and names a missing argument in one line."""
    data = by_kind(render_chart(), "ConfigMap")["cogniverse-phoenix-backup"]["data"]
    mount, stamp = tmp_path / "opt" / "cogniverse", tmp_path / "opt" / "cogniverse" / "..2026_12_07_00_00_00.1"
    stamp.mkdir(parents=True)
    for name, text in data.items():
        (stamp / name).write_text(text)
        (mount / name).symlink_to(f"..data/{name}")
    (mount / "..data").symlink_to(stamp.name)
    proc = subprocess.run([sys.executable, "-B", str(mount / "phoenix-backup.py"), "backup-phoenix", "--backup-dir",
                           "/backups"], capture_output=True, text=True, timeout=60, env={"PATH": os.environ["PATH"]})
    assert (proc.returncode, proc.stderr.strip()) == (2, "backup-phoenix: --backup-id is required")


def test_the_restore_account_may_only_scale_phoenix():
    _, objs = _restore()
    role = objs["Role/cogniverse-workflow-restore"]
    assert role["rules"] == [
        {"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]},
        {"apiGroups": ["apps"], "resources": ["deployments/scale"], "resourceNames": ["cogniverse-phoenix"], "verbs": ["get", "patch"]},
    ]
    assert objs["RoleBinding/cogniverse-workflow-restore"]["subjects"][0]["name"] == "cogniverse-workflow-restore"
    wft, _ = _restore()
    assert wft["restore"]["spec"]["serviceAccountName"] == "cogniverse-workflow-restore"
    policy = objs["ValidatingAdmissionPolicy/cogniverse.cogniverse-workflow-restore"]["spec"]
    assert policy["matchConstraints"]["resourceRules"][0]["resources"] == ["deployments/scale"]
    assert "system:serviceaccount:cogniverse:cogniverse-workflow-restore" in policy["matchConditions"][0]["expression"]
    assert policy["validations"][0]["expression"] == "!has(object.spec.replicas) || object.spec.replicas <= 1"
    assert objs["ValidatingAdmissionPolicyBinding/cogniverse.cogniverse-workflow-restore"]["spec"]["validationActions"] == ["Deny"]


def test_phoenix_without_a_volume_or_off_gets_runner_steps_and_no_claim():
    # Phoenix on PostgreSQL: tests/chart/test_phoenix_postgresql.py
    wft, objs = _restore({"phoenix": {"persistence": {"enabled": False}}})
    t = templates(wft["daily-backup"])["backup-phoenix"]
    assert t["container"]["image"].startswith("cogniverse/smoke-runner") and "affinity" not in t
    assert "phoenix-data" not in {v["name"] for v in wft["restore"]["spec"]["volumes"]}
    assert "ConfigMap/cogniverse-phoenix-backup" not in objs
    wft, objs = _restore(profile="smoke")
    assert [[s["name"] for s in g] for g in templates(wft["restore"])["restore"]["steps"]] == [["verify-backup"], ["restore-vespa"]]
    assert all("deployments/scale" not in r["resources"] for r in objs["Role/cogniverse-workflow-restore"]["rules"])
