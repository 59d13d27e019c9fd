"""Hostile and broken input to the new lint surface: streaming lint, podSpecPatch, depends, when, labels.
Each gives one clear finding or error, never a traceback, a hang or a blown-up memory."""

from __future__ import annotations

import subprocess
import sys
import time

from cogniverse_chart.documents import parse_stream
from cogniverse_chart.lint import lint
from cogniverse_chart.lint.runtime import admits_skipped, when_problems
from cogniverse_chart.lint.runtime_values import patch_problem

CLI = [sys.executable, "-m", "cogniverse_chart.cli"]
WORKFLOW = """apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: w-}
spec:
  entrypoint: main
  templates:
    - name: main
      container: {image: "alpine:3.20", command: ["true"]}
"""


def test_alias_bomb_in_pod_spec_patch_is_refused_not_expanded() -> None:
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdef", "bcdefg"))
    assert "alias bomb" in patch_problem(bomb)
    assert "nested more than" in patch_problem("[" * 500)
    assert patch_problem("containers: [{name: main, resources: {limits: {cpu: 1}}}]") == ""
    assert "several YAML documents" in patch_problem("a: 1\n---\nb: 2\n")


def test_absurd_depends_and_when_say_nothing_quickly() -> None:
    assert admits_skipped("(" * 3000 + "a" + ")" * 3000, "a") is False
    assert admits_skipped(" || ".join(f"t{i}" for i in range(40)) + " || a", "a") is False  # too many to try
    assert admits_skipped("a.Succeeded || b.Failed", "a") is True
    assert admits_skipped("a.Succeeded && b", "a") is False
    started = time.monotonic()
    found = list(when_problems("'" * 5000 + " == 5 " + "{{" * 2000))  # 2,500 empty strings, the last one '' == 5
    assert time.monotonic() - started < 1 and len(found) == 1 and "the string ''" in found[0]
    assert list(when_problems("{{steps.a.outputs.result}} == 5")) == []  # unquoted placeholder: decided at run time


def test_label_keys_and_values_with_odd_types() -> None:
    text = WORKFLOW.replace("  entrypoint: main", "  entrypoint: main\n  podMetadata: {labels: {ok: 1, '-bad': x, "
                            "'a/b/c': y, long: " + "x" * 70 + "}}")
    found = [f.message for f in lint(parse_stream(text, "w.yaml")) if f.rule == "argo/label-value"]
    assert len(found) == 4, found  # 1 is no string; '-bad' and 'a/b/c' are no keys; 70 characters is too long


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, text=True, timeout=120)


def test_a_list_where_a_cron_workflow_spec_belongs_is_no_crash() -> None:
    """D46: `workflowSpec: [x]` (or a list synchronization) ended lint in an AttributeError traceback."""
    for spec in ("workflowSpec: [x]", "workflowSpec: {synchronization: [x]}", "workflowSpec: 5"):
        text = ("apiVersion: argoproj.io/v1alpha1\nkind: CronWorkflow\nmetadata: {name: c}\nspec:\n"
                f"  schedules: ['0 1 * * *']\n  concurrencyPolicy: Forbid\n  {spec}\n---\n"
                "apiVersion: argoproj.io/v1alpha1\nkind: CronWorkflow\nmetadata: {name: d}\nspec:\n"
                "  schedules: ['0 1 * * *']\n  workflowSpec: {entrypoint: m, templates: [{name: m, container: {image: a:1}}]}\n")
        found = lint(parse_stream(text, "cw.yaml"))
        assert "policy/cron-concurrency" in {f.rule for f in found}, found  # the other object is still linted


def test_broken_yaml_in_the_middle_of_a_stream_is_one_clear_finding(tmp_path) -> None:
    """The broken document is one schema/invalid-yaml finding naming the file, and the workflows on both sides
    of it are still linted (attack24d F14: the whole file was an input error, nothing linted)."""
    path = tmp_path / "s.yaml"
    path.write_text(WORKFLOW + "---\nkind: [unclosed\n---\n" + WORKFLOW, encoding="utf-8")
    proc = _run("lint", "--disable", "policy/", str(path))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    assert proc.stdout.count("error[schema/invalid-yaml] " + str(path)) == 1 and "2 objects checked" in proc.stdout


def test_stdin_streams_and_progress_stays_off_a_pipe() -> None:
    proc = _run("lint", "--disable", "policy/", "-", stdin=WORKFLOW * 1 + ("---\n" + WORKFLOW) * 200)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "201 objects checked" in proc.stdout and "\r" not in proc.stderr


def test_cron_schedules_take_ascii_digits_only() -> None:
    """D41: str.isdigit() and int() take fullwidth digits ('０ 5 * * *', '@every １h'); Argo's parser refuses
    them, so lint's cron rule must too (the Argo 3.7 schema has no pattern to catch them)."""
    import pytest

    from cogniverse_chart.cronexpr import CronError, parse

    for bad in ("\uff10 5 * * *", "*/\uff15 * * * *", "@every \uff11h", "@every \uff11\uff10m"):
        with pytest.raises(CronError):
            parse(bad)
    assert parse("0 5 * * *") and parse("*/5 * * * *") and parse("@every 1h30m")
