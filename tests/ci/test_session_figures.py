"""The figures every leg prints (issue 26 item 6): each smoke session appends its row (tests/smoke/figures.py)
and `benchmarks/bench_smoke.py --sessions FILE --leg NAME` prints the leg's table and its critical path."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location("smoke_figures", ROOT / "tests" / "smoke" / "figures.py")
figures = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(figures)  # by path: tests/smoke stays off sys.path for the fast suite


def _row(name: str, start: float, wall: float, pods_cpu: tuple[float, float], slowest: str) -> dict:
    return {"name": name, "start": start, "wall": wall, "pods": 2, "pods_cpu": pods_cpu[1] - pods_cpu[0],
            "node_cpu": 10.0, "pods_cpu_at": list(pods_cpu), "node_cpu_at": [100.0, 110.0], "pytest_cpu": 5.0,
            "passed": 3, "failed": 0, "slowest": [slowest, wall - 1]}


def test_a_legs_table_names_its_sessions_union_and_the_session_that_ended_last(tmp_path):
    target = tmp_path / "sessions.jsonl"
    rows = [_row("argo 3.7 suite", 1000, 600, (50, 450), "test_guide_run.py::test_every_command"),
            _row("argo 3.7 upgrade", 1010, 640, (60, 470), "test_upgrade_rollback.py::test_rollback"),
            _row("argo 4.0 suite", 2000, 100, (500, 600), "x")]
    target.write_text("".join(json.dumps(r) + "\n" for r in rows))
    Path(f"{target}.pods").write_text("argo 3.7 suite\tu1\nargo 3.7 suite\tu2\nargo 3.7 upgrade\tu2\n"
                                      "argo 3.7 upgrade\tu3\nargo 4.0 suite\tu9\n")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_smoke.py"), "--sessions", str(target),
                          "--leg", "argo 3.7"], capture_output=True, text=True, check=True).stdout.splitlines()
    assert [ln.split()[0] for ln in out[1:3]] == ["suite", "upgrade"]  # in the order they started
    assert out[2].split()[1:4] == ["+10s", "640s", "2"]
    # the union: wall from the first start to the last end, 3 distinct pods, the pods' CPU counter's growth
    assert out[3].split()[4:9] == ["650s", "3", "420", "10", "10"], out[3]
    assert out[4] == ("  critical path: argo 3.7 upgrade, ended last at +650s; its slowest test "
                      "test_upgrade_rollback.py::test_rollback 639s")
    Path(f"{target}.guide").write_text("argo 3.7 suite\t2.0\t50\targo version\nargo 3.7 suite\t95.5\t223\t"
                                       "argo submit --from cronwf/daily-backup -n cogniverse --wait\n"
                                       "argo 4.0 suite\t300.0\t39\t./scripts/deploy_k3s.sh\n")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_smoke.py"), "--sessions", str(target),
                          "--leg", "argo 3.7"], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[5:] == ["  docs/guide.md: 2 commands run, 98s; the slowest:",
                       "      95.5s  line 223: argo submit --from cronwf/daily-backup -n cogniverse --wait",
                       "       2.0s  line 50: argo version"]


def test_a_missing_or_broken_figures_file_is_one_line_not_a_traceback(tmp_path):
    bench = [sys.executable, str(ROOT / "benchmarks" / "bench_smoke.py"), "--sessions"]
    missing = subprocess.run([*bench, str(tmp_path / "none.jsonl")], capture_output=True, text=True)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n")
    bad = subprocess.run([*bench, str(broken)], capture_output=True, text=True)
    foreign = tmp_path / "foreign.jsonl"
    foreign.write_text('{"name": "argo 3.7 suite"}\n[1, 2]\n')
    other = subprocess.run([*bench, str(foreign)], capture_output=True, text=True)
    assert "row 1 lacks one of name, start, wall, pods, pytest_cpu" in other.stdout
    for proc in (missing, bad, other):
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        assert len(proc.stdout.splitlines()) == 1 and "not readable" in proc.stdout


class _NoCluster:
    def list_pod_for_all_namespaces(self):
        raise RuntimeError("no API server here")


def test_a_session_appends_its_row_and_its_pods_for_the_leg_table(tmp_path, monkeypatch):
    target = tmp_path / "sessions.jsonl"
    monkeypatch.setenv("COGNIVERSE_SESSION_FIGURES", str(target))
    monkeypatch.setenv("COGNIVERSE_SESSION_NAME", "argo 4.0 restore-drill")
    session = figures.SessionFigures(_NoCluster())
    session.pods.update({"uid-b", "uid-a"})
    passed = type("Report", (), {"when": "call", "duration": 4.5, "nodeid": "t.py::test_slow"})()
    row = session.row({"passed": [passed], "failed": []})
    session.record(row)
    session.record({**row, "name": "argo 4.0 services"})
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["name"] for r in rows] == ["argo 4.0 restore-drill", "argo 4.0 services"]
    assert rows[0]["passed"] == 1 and rows[0]["slowest"] == ["t.py::test_slow", 4.5] and rows[0]["pytest_cpu"] > 0
    assert Path(f"{target}.pods").read_text().splitlines()[:2] == ["argo 4.0 restore-drill\tuid-a",
                                                                   "argo 4.0 restore-drill\tuid-b"]
    assert "2 pods started on the node" in session.line(row)


def test_the_node_processes_cpu_seconds_come_from_the_pid_files_of_running_processes(tmp_path, monkeypatch):
    monkeypatch.setattr(figures, "NODE_PIDS", tmp_path)
    assert figures.node_cpu_seconds() is None  # no node here: not readable, not zero
    (tmp_path / "gone.pid").write_text("999999999")
    assert figures.node_cpu_seconds() is None
    (tmp_path / "me.pid").write_text(str(os.getpid()))
    own = os.times()
    assert figures.node_cpu_seconds() == pytest.approx(own.user + own.system + own.children_user
                                                       + own.children_system, abs=0.5)
