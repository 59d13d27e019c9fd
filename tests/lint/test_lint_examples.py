"""Argo's own examples/ folder, at both pinned Argo versions, as a lint corpus.

The examples come from the argo-workflows module zips (versions.env ARGO_VERSION, ARGO_V4_VERSION),
extracted once per version into ~/.cache/cogniverse/argo-examples by `python -m cogniverse_dev`
(scripts/test.sh's go-helpers stage). Argo's validator (tools/argo-validate) is the oracle: every file it
accepts gets no lint error outside the policy/ rules, and every file it rejects is rejected by lint or
validate. Without a Go toolchain the fetch fails with a message saying so; these tests never skip.
"""

from __future__ import annotations

import time

import pytest

from cogniverse_dev import examples as E

MAJORS = ("3", "4")
#: (Argo version judging, Argo version whose examples): each version on its own examples, and on the
#: other's (3.x examples under Argo 4 give files Argo rejects, which lint or validate must reject too).
PAIRS = [("3", "3"), ("4", "4"), ("4", "3"), ("3", "4")]


@pytest.fixture(scope="module", params=PAIRS, ids=[f"argo-v{a}-on-v{b}-examples" for a, b in PAIRS])
def rows(request) -> tuple[str, list[E.Row]]:
    major, of = request.param
    return major, of, E.agreement(major, examples_of=of)


def test_lint_agrees_with_argo_on_its_examples(rows, capsys) -> None:
    major, of, found = rows
    with capsys.disabled():
        print("\n" + E.table(found, major, of))
    assert len(found) >= 200, "the corpus lost its examples: check the module zip and fetch()"
    false = [f"{r.rel}: {r.lint_errors[0]}" for r in found if r.false_error]
    assert not false, "lint errors on files Argo accepts:\n" + "\n".join(false)
    missed = [f"{r.rel}: Argo says {r.argo_errors[0]}" for r in found if r.missed]
    assert not missed, "Argo rejects, lint and validate accept:\n" + "\n".join(missed)
    if (major, of) == ("4", "3"):  # guard: the rejecting half of the comparison is exercised
        assert sum(bool(r.argo_errors) for r in found) >= 3


def test_policy_rules_do_fire_on_the_examples(rows) -> None:
    """Guard against a vacuous pass: lint did look at the files (the examples are written for
    clarity, not for our policy, so policy rules report on most of them)."""
    from cogniverse_chart.lint import lint

    major, of, found = rows
    files = {f.rel: f for f in E.load(of)}
    hits = {f.rule for rel in ("scripts-bash.yaml", "hello-world.yaml") for f in lint(files[rel].docs)}
    assert {"policy/shell-injection", "policy/resources"} <= hits


def test_library_references_ride_along_as_context() -> None:
    files = {f.rel: f for f in E.load("3")}
    caller = files["workflow-template/workflow-template-ref.yaml"]
    assert {d.kind for d in caller.context} <= set(E.LIBRARY_KINDS) and caller.context
    consumer = files["workflow-event-binding/event-consumer-workflowtemplate.yaml"]
    assert [d.kind for d in consumer.context] == ["WorkflowEventBinding"]


def test_fetch_is_cached_by_version() -> None:
    """A warm fetch finds the extracted folder and runs no download."""
    for major in MAJORS:
        root = E.fetch(major)
        started = time.monotonic()
        assert E.fetch(major) == root and time.monotonic() - started < 0.05
        assert E.pinned(major)[1] in str(root) and (root.parent / ".complete").exists()
