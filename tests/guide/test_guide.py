"""The guides' commands, checked without a cluster: every parameter they pass is declared by the template
it goes to, and every argo flag docs/guide.md uses exists in the pinned argo CLI (Argo 3.7 and 4.0).

The user's guide is kept in tests/fixtures/guide/ (a copy of the user's document; the first test
checks it against the original when that is on the machine). docs/guide.md is ours.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cogniverse_chart import REPO_ROOT, versions
from cogniverse_dev import guide
from cogniverse_chart.documents import parse_stream
from chart_utils import render_chart

USER_GUIDE = REPO_ROOT / "tests" / "fixtures" / "guide" / "argo-workflows-guide.md"
# shared/ sits beside the repository (on developers' machines and in CI).
USER_GUIDE_ORIGINAL = Path(os.environ.get("USER_GUIDE_ORIGINAL", REPO_ROOT.parent / "shared" / "seed" / "argo-workflows-guide.md"))
OUR_GUIDE = REPO_ROOT / "docs" / "guide.md"
WORKFLOWS = REPO_ROOT / "workflows"


def test_user_guide_copy_is_the_users_document():
    if not USER_GUIDE_ORIGINAL.is_file():
        pytest.skip(f"the user's original guide is not on this machine ({USER_GUIDE_ORIGINAL}); the copy is used")
    assert USER_GUIDE.read_text() == USER_GUIDE_ORIGINAL.read_text(), (
        f"{USER_GUIDE} differs from {USER_GUIDE_ORIGINAL}: copy it again")


def test_the_user_guide_has_84_commands_and_they_are_parsed_whole():
    cmds = guide.read(USER_GUIDE)
    assert len(cmds) == 84
    first_submit = next(c for c in cmds if c.text.startswith("argo submit"))
    assert first_submit.text.endswith('--parameter profiles="video_colpali_smol500_mv_frame"'), "continuations joined"
    assert not [c for c in cmds if c.text.startswith("#")], "comment lines are not commands"
    assert [c.text for c in cmds if "<pod-name>" in c.text] == ["kubectl logs <pod-name> -n cogniverse",
                                                                 "kubectl describe pod <pod-name> -n cogniverse"]


def test_parser_joins_continuations_keeps_comments_and_skips_other_blocks():
    md = "# T\n## Sec\n```bash\n# say hi\necho a \\\n  b\n\nls\n```\n```yaml\nkind: X\n```\n"
    cmds = guide.commands(md)
    assert [(c.text, c.line, c.section, c.comment) for c in cmds] == [("echo a b", 5, "Sec", "say hi"), ("ls", 8, "Sec", "")]


@pytest.mark.parametrize("path", [USER_GUIDE, OUR_GUIDE], ids=["users-guide", "docs-guide"])
@pytest.mark.parametrize("profile", ["", "k3s", "smoke"], ids=["defaults", "profile-k3s", "profile-smoke"])
def test_every_parameter_a_guide_passes_is_declared_by_its_template(path, profile):
    subs = guide.submissions(guide.read(path))
    assert len(subs) >= 10, f"{path}: expected the guide's argo submit commands"
    passed = {name for s in subs for name in s.parameters}
    assert {"learning-rate", "profiles", "use-synthetic-data", "max-workers"} <= passed
    problems = guide.check_submissions(subs, render_chart(profile=profile), WORKFLOWS)
    assert not problems, "\n".join(problems)


def test_an_undeclared_parameter_is_reported_naming_it_and_the_template():
    md = ("```bash\nargo submit workflows/batch-optimization.yaml -n cogniverse \\\n"
          "  --parameter learning_rate=0.1\nargo submit --from cronwf/no-such -n cogniverse\n```\n")
    problems = guide.check_submissions(guide.submissions(guide.commands(md)), render_chart(), WORKFLOWS)
    assert len(problems) == 2, problems
    assert "WorkflowTemplate batch-optimization has no parameter 'learning_rate'" in problems[0]
    assert "line 2" in problems[0] and "Argo would ignore it" in problems[0]
    assert "no CronWorkflow 'no-such'" in problems[1]


def _module(version: str) -> Path:
    module = guide.argo_module_dir(version)
    if not (module / "cmd" / "argo" / "commands").is_dir():
        pytest.skip(f"the Argo module {version} is not in the Go module cache ({module}); "
                    "scripts/local_cluster.sh build fetches it")
    return module


@pytest.mark.parametrize("key", ["ARGO_VERSION", "ARGO_V4_VERSION"])
def test_the_user_guide_uses_exactly_two_flags_the_pinned_argo_cli_lacks(key):
    module = _module(versions.load()[key])
    unknown = sorted({(c.text.split()[1], flag) for c, flag in guide.unknown_argo_flags(guide.read(USER_GUIDE), module)})
    assert unknown == [("list", "limit"), ("logs", "node-field-selector")]


@pytest.mark.parametrize("key", ["ARGO_VERSION", "ARGO_V4_VERSION"])
def test_every_argo_flag_of_our_guide_exists_in_the_pinned_argo_cli(key):
    module = _module(versions.load()[key])
    unknown = guide.unknown_argo_flags(guide.read(OUR_GUIDE), module)
    assert not unknown, [f"line {c.line}: --{f} in {c.text}" for c, f in unknown]


def test_our_guide_submits_only_files_generated_for_the_release():
    """docs/guide.md regenerates workflows/ from the installed release before it applies anything."""
    cmds = [c.text for c in guide.read(OUR_GUIDE)]
    gen = next(i for i, c in enumerate(cmds) if "generate --from-release" in c)
    first_apply = next(i for i, c in enumerate(cmds) if c.startswith(("kubectl apply", "argo cron create")))
    assert gen < first_apply


def test_generated_submit_files_parse_as_workflows():
    for name in ("video-ingestion", "batch-optimization", "tenant-provisioning"):
        docs = parse_stream((WORKFLOWS / f"{name}.yaml").read_text(), f"{name}.yaml")
        assert [d.kind for d in docs] == ["Workflow"]


def test_runner_runs_in_order_carries_exports_fills_placeholders_and_stops_background_jobs(tmp_path):
    md = ("```bash\nexport GREETING=hello\ncd sub\necho \"$GREETING <thing>\" > out.txt\n"
          "sleep 300 >/dev/null 2>&1 & echo $! > bg.pid\ntrue\nfalse | cat\n# [internet] download\ncurl -sLO https://example.org/x.gz\n"
          "gunzip x.gz\nopen http://localhost:2746\nls <missing>\n```\n")
    (tmp_path / "sub").mkdir()
    results = guide.run(guide.commands(md), cwd=tmp_path, env=dict(os.environ),
                        lookup=lambda name, cmd: {"thing": "world"}[name] if name == "thing" else (_ for _ in ()).throw(LookupError(f"no <{name}>")))
    assert [r.status for r in results] == ["ok", "ok", "ok", "ok", "ok", "failed", "internet", "internet", "desktop", "failed"]
    assert (tmp_path / "sub" / "out.txt").read_text() == "hello world\n", "export and cd carry over"
    assert results[5].returncode == 1, "pipefail: a failing command in a pipe fails the command"
    assert "no <missing>" in results[9].output
    pid = int((tmp_path / "sub" / "bg.pid").read_text())
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0], \
        "background jobs of the guide are stopped at the end"
    text = guide.summary(results)
    assert text.startswith("10 commands: 1 desktop, 2 failed, 2 internet, 5 ok")


def _wf(name, created, phase=None, finished=False, **labels):
    status = {"phase": phase} if phase else {}
    if finished:
        status["finishedAt"] = created
    return {"metadata": {"name": name, "creationTimestamp": created, "labels": labels}, "status": status}


def test_placeholders_mean_the_newest_object_in_the_state_the_command_needs():
    items = [_wf("old-failed", "2026-01-01T00:00:01Z", "Failed", True),
             _wf("ingest-ok", "2026-01-01T00:00:02Z", "Succeeded", True,
                 **{"workflows.argoproj.io/workflow-template": "video-ingestion"}),
             _wf("running", "2026-01-01T00:00:03Z", "Running"),
             _wf("newest-done", "2026-01-01T00:00:04Z", "Succeeded", True)]
    choose = guide.Lookup.choose
    assert choose("workflow-name", items) == "newest-done"
    assert choose("running-workflow-name", items) == "running"
    assert choose("failed-workflow-name", items) == "old-failed"
    assert choose("ingestion-workflow-name", items) == "ingest-ok"
    assert choose("optimization-workflow-name", items) is None
    assert choose("pod-name", [{"metadata": {"name": "p1", "creationTimestamp": "1"}},
                               {"metadata": {"name": "p2", "creationTimestamp": "2"}}]) == "p2"


def test_placeholders_never_mean_a_run_of_the_charts_background_cron_workflows():
    """The deadline watchdog starts every 5 minutes: right after `argo watch` of the guide's workflow its
    newest run may be seconds old, with no logs yet. `<workflow-name>` is still the guide's workflow,
    a watchdog run neither is chosen nor makes a lookup wait, and neither is its pod."""
    guides = _wf("video-ingestion-abc", "2026-01-01T00:00:01Z", "Succeeded", True)
    watchdog = {"workflows.argoproj.io/cron-workflow": "deadline-watchdog"}
    newer = [_wf("deadline-watchdog-1796223900", "2026-01-01T00:00:02Z", "Running", **watchdog),
             _wf("deadline-watchdog-1796223600", "2026-01-01T00:00:03Z", "Failed", True, **watchdog)]

    def cmd(text: str) -> guide.GuideCommand:
        return guide.GuideCommand(text=text, line=1, section="")

    assert _ScriptedLookup([[guides, *newer]], wait=30)("workflow-name", cmd("argo logs <workflow-name>")) \
        == "video-ingestion-abc"
    for text, meant in (("argo retry <workflow-name>", "failed-workflow-name"),
                        ("kubectl top pods -l workflows.argoproj.io/workflow=<workflow-name>", "running-workflow-name")):
        lookup = _ScriptedLookup([[guides, *newer]], wait=30)
        with pytest.raises(LookupError, match=rf"matches <{meant}>$"):  # and no wait on the running watchdog
            lookup("workflow-name", cmd(text))
        assert lookup.calls == 1
    pod = {"metadata": {"name": "deadline-watchdog-1796223900-enforce-1", "creationTimestamp": "3",
                        "labels": {"workflows.argoproj.io/workflow": "deadline-watchdog-1796223900"}},
           "status": {"phase": "Running"}}
    mine = {"metadata": {"name": "video-ingestion-abc-ingest-2", "creationTimestamp": "1",
                         "labels": {"workflows.argoproj.io/workflow": "video-ingestion-abc"}}, "status": {"phase": "Succeeded"}}
    assert _ScriptedLookup([[pod, mine]], wait=30)("pod-name", cmd("kubectl logs <pod-name> -n cogniverse")) \
        == "video-ingestion-abc-ingest-2"
    # A workflow a user submits from the watchdog's template is theirs: only the CronWorkflow's runs are left out.
    submitted = {"metadata": {"name": "deadline-watchdog-x7k2p", "creationTimestamp": "4",
                              "labels": {"workflows.argoproj.io/workflow": "deadline-watchdog-x7k2p"}}}
    assert not guide.Lookup.background(submitted)


@pytest.mark.parametrize("profile", [None, "smoke", "production"])
def test_the_background_cron_workflows_are_those_the_chart_runs_more_often_than_hourly(profile):
    crons = [d.obj for d in render_chart(profile=profile) if d.obj.get("kind") == "CronWorkflow"]
    assert crons
    frequent = {c["metadata"]["name"] for c in crons
                if any(not s.split()[0].isdigit() for s in c["spec"].get("schedules") or [c["spec"]["schedule"]])}
    assert frequent == set(guide.Lookup.BACKGROUND_CRON_WORKFLOWS)


def test_a_generic_placeholder_means_what_its_command_needs():
    """The user's guide writes <workflow-name> and <pod-name> everywhere; a user retries a failed
    workflow, reads improvement from a finished optimization, and reads logs of a pod that started."""
    def meaning(text: str, name: str) -> str:
        return guide.Lookup.meaning(name, guide.GuideCommand(text=text, line=1, section=""))

    assert meaning("argo retry <workflow-name> -n cogniverse", "workflow-name") == "failed-workflow-name"
    assert meaning("argo get <workflow-name> -o json | jq '.. select(.name==\"improvement\")'",
                   "workflow-name") == "optimization-workflow-name"
    assert meaning("argo get <workflow-name> -o json | jq 'select(.name==\"annotation-count\")'",
                   "workflow-name") == "finished-check-workflow-name"
    assert meaning("kubectl top pods -l workflows.argoproj.io/workflow=<workflow-name>", "workflow-name") == \
        "running-workflow-name"
    assert meaning("kubectl logs <pod-name> -n cogniverse", "pod-name") == "started-pod-name"
    assert meaning("argo get <workflow-name>", "workflow-name") == "workflow-name"
    assert meaning("argo retry <failed-workflow-name>", "failed-workflow-name") == "failed-workflow-name"
    check = {"metadata": {"name": "check", "creationTimestamp": "1"},
             "status": {"outputs": {"parameters": [{"name": "annotation-count", "value": "60"}]}}}
    assert guide.Lookup.choose("finished-check-workflow-name", [check, {"metadata": {"name": "x", "creationTimestamp": "2"}}]) == "check"
    started = guide.Lookup.meaning_of("started-pod-name").keep
    assert started({"status": {"phase": "Succeeded"}}) and not started({"status": {"phase": "Pending"}})


class _ScriptedLookup(guide.Lookup):
    """Lookup over a scripted series of `kubectl get` answers (one per call), no cluster."""

    def __init__(self, answers: list[list[dict]], wait: float):
        super().__init__("cogniverse", {}, wait=wait, poll=0.01)
        self.answers, self.calls = answers, 0

    def _items(self, resource: str, selector: str = "") -> list[dict]:
        self.calls += 1
        return self.answers[min(self.calls, len(self.answers)) - 1]


def test_a_lookup_waits_for_a_running_workflow_to_become_what_the_command_needs():
    """`argo get <workflow-name> ... improvement` right after the guide submits an optimization: a user
    waits for it to finish; the runner does too (bounded), and fails at once when nothing could match."""
    cmd = guide.GuideCommand(text="argo get <workflow-name> -o json | jq 'select(.name==\"improvement\")'",
                             line=1, section="")
    opt = {"workflows.argoproj.io/workflow-template": "batch-optimization"}
    running, done = _wf("opt-1", "1", "Running", **opt), _wf("opt-1", "1", "Succeeded", True, **opt)
    waiting = _ScriptedLookup([[running], [running], [done]], wait=30)
    assert waiting("workflow-name", cmd) == "opt-1" and waiting.calls == 3
    with pytest.raises(LookupError, match=r"matches <optimization-workflow-name> \(waited 0s for opt-1\)"):
        _ScriptedLookup([[running]], wait=0.05)("workflow-name", cmd)
    never = _ScriptedLookup([[_wf("other", "1", "Failed", True, **opt)]], wait=30)
    with pytest.raises(LookupError, match=r"matches <optimization-workflow-name>$"):
        never("workflow-name", cmd)
    assert never.calls == 1
    pending = {"metadata": {"name": "p", "creationTimestamp": "1"}, "status": {"phase": "Pending"}}
    started = {"metadata": {"name": "p", "creationTimestamp": "1"}, "status": {"phase": "Running"}}
    logs = guide.GuideCommand(text="kubectl logs <pod-name> -n cogniverse", line=1, section="")
    assert _ScriptedLookup([[pending], [started]], wait=30)("pod-name", logs) == "p"


def test_runner_can_stop_at_the_first_failure(tmp_path):
    results = guide.run(guide.commands("```bash\ntrue\nfalse\ntouch later\n```\n"), cwd=tmp_path, env=dict(os.environ),
                        lookup=lambda n, c: n, stop_on_failure=True)
    assert [r.status for r in results] == ["ok", "failed", "not reached"]
    assert not (tmp_path / "later").exists()


def test_the_argo_cli_is_found_in_the_cluster_cache_the_build_used(tmp_path, monkeypatch):
    """local_cluster.sh builds into $COGNIVERSE_CLUSTER_CACHE when it is set: the guide runner looks there too."""
    older, newer = tmp_path / "bin" / "argo-3.7.18-aaaa", tmp_path / "bin" / "argo-3.7.18-bbbb"
    for d in (older, newer, tmp_path / "bin" / "argo-4.0.3-cccc"):
        d.mkdir(parents=True)
        (d / "argo").write_text("#!/bin/sh\n")
    os.utime(older / "argo", (1, 1))
    monkeypatch.setenv("COGNIVERSE_CLUSTER_CACHE", str(tmp_path))
    assert guide.find_argo(path=str(tmp_path / "empty"), version="v3.7.18") == str(newer)
    assert guide.find_argo(path=str(tmp_path / "empty"), version="v3.9.9") is None
