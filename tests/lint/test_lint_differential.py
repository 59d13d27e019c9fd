"""Lint against Argo's own validator (3.7 and 4.0), on mutants of valid workflows.

Argo's `workflow/validate` package runs as tools/argo-validate/<major> (built once per version and
source hash into ~/.cache/cogniverse/argo-validate; `python -m cogniverse_dev`
builds it ahead, scripts/test.sh does so before the fast tests). Without a Go toolchain the build, and so
these tests, fail with a message saying what is missing; they never skip.

The fast suite runs a fixed-seed sample of the mutants; benchmarks/bench_lint_differential.py runs
every mutant (>= 2,000, checked there) and prints the agreement table.
"""

from __future__ import annotations

import re

import pytest

from cogniverse_chart.lint import RULES
from cogniverse_dev import differential as D
from cogniverse_chart import versions
from cogniverse_dev import oracle
from chart_utils import CRON_WORKFLOWS, OWN_CRON_WORKFLOWS, WORKFLOW_TEMPLATES

VERSIONS = ("3.7", "4.0")
SAMPLE = 48  # mutants per Argo version in the fast suite (every operator represented)


@pytest.fixture(scope="module")
def seeds() -> dict:
    return D.load_seeds()


#: The chart seeds the fast sample draws from (generating every chart mutant takes seconds; the
#: benchmark does that); the varied seeds are always all in.
FAST_CHART_SEEDS = ("chart-video-ingestion", "chart-daily-optimization-check", "chart-weekly-dspy-optimization")


@pytest.fixture(scope="module")
def fast_mutants(seeds) -> list[D.Mutant]:
    return D.mutants({k: v for k, v in seeds.items() if not k.startswith("chart-") or k in FAST_CHART_SEEDS})


def test_validator_programs_require_the_pinned_argo_versions() -> None:
    """The go.mod of each validator program is a derived copy of versions.env: checked here."""
    pinned = versions.load()
    for major, (_, key, _) in oracle.PROGRAMS.items():
        assert oracle.required_version(major) == pinned[key], (major, key)


def test_default_argo_version_is_the_pinned_one() -> None:
    from cogniverse_chart.lint import default_argo_version

    pinned = versions.load()["ARGO_VERSION"]
    assert pinned.startswith("v" + default_argo_version() + ".")


@pytest.mark.parametrize("version", VERSIONS)
def test_seeds_are_valid_for_argo_and_clean_for_lint(seeds, version) -> None:
    """Guards the differential: every seed is accepted by Argo and by lint, so a rejected mutant is
    rejected because of its mutation."""
    results = oracle.validate_cases(version, seeds, {c: [0] for c in seeds if c.startswith("chart-")})
    rejected = [(cid, k, n, e) for cid, rs in results.items() for k, n, e in rs if e]
    assert not rejected, rejected
    linted = {cid: D.lint_errors(objs, version) for cid, objs in seeds.items()}
    assert not any(linted.values()), {c: [f.format() for f in fs] for c, fs in linted.items() if fs}
    chart_templates = len(WORKFLOW_TEMPLATES + CRON_WORKFLOWS + OWN_CRON_WORKFLOWS)
    assert sum(c.startswith("chart-") for c in seeds) == chart_templates and len(seeds) >= 17


def test_the_mutant_set_is_varied_and_stable(fast_mutants) -> None:
    """Every operator yields mutants, ids are unique, and generation is deterministic (the benchmark
    checks the full set holds >= 2,000)."""
    assert len(fast_mutants) >= 1000
    assert set(D.OPERATORS) == {m.operator for m in fast_mutants}
    assert len({m.id for m in fast_mutants}) == len(fast_mutants)
    assert [m.id for m in D.sample(fast_mutants, SAMPLE)] == [m.id for m in D.sample(fast_mutants, SAMPLE)]


@pytest.mark.parametrize("version", VERSIONS)
def test_lint_rejects_every_sampled_mutant_argo_rejects(fast_mutants, version, capsys) -> None:
    table = D.compare(version, D.sample(fast_mutants, SAMPLE))
    with capsys.disabled():
        print("\n" + table.format())
    missed = [f"{o.mutant.id} ({o.mutant.what}): Argo says {o.argo_error}" for o in table.missed]
    assert not missed, "Argo rejects, lint accepts:\n" + "\n".join(missed)
    extra = [f"{o.mutant.id} ({o.mutant.what}): {o.lint_messages[0]}" for o in table.unexplained]
    assert not extra, "lint rejects what Argo accepts, by a rule not listed as beyond Argo:\n" + "\n".join(extra)
    assert table.cell(True, True), "the sample holds no mutant Argo rejects: the comparison proves nothing"


def test_beyond_argo_rules_are_documented() -> None:
    """docs/lint.md lists exactly the rules that reject more than Argo's validator does."""
    doc = (oracle.REPO_ROOT / "docs" / "lint.md").read_text(encoding="utf-8")
    section = doc.split("## Rules beyond Argo's validator", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^- `((?:argo|policy)/[a-z0-9-]+)`", section, re.M))
    assert listed == {r.id for r in RULES.values() if r.beyond_argo}


def test_an_invalid_task_result_is_named_as_such() -> None:
    """`a.Success` is an invalid result of task a, not an unknown task 'a.Success'."""
    from cogniverse_chart.documents import parse_stream
    from cogniverse_chart.lint import lint

    text = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: r-}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: t}
          - {name: b, template: t, depends: "a.Success || a.failed"}
    - name: t
      container: {image: "alpine:3.20", command: ["true"]}
"""
    found = {(f.rule, f.message) for f in lint(parse_stream(text, "r.yaml"))}
    rules = {r for r, _ in found}
    assert "argo/dag-dependency" not in rules
    msgs = [m for r, m in found if r == "argo/dag-structure"]
    assert any("'Success' is not a valid task result" in m and "a.Succeeded" in m for m in msgs), msgs
    assert any("'failed' is not a valid task result" in m and "a.Failed" in m for m in msgs), msgs


@pytest.mark.parametrize("version,expect", [("3.7", "which Argo 3.7 rejects"), ("4.0", "Argo 4.0 removed spec.schedule")])
def test_schedule_and_schedules_is_an_error_naming_the_version(version, expect) -> None:
    from cogniverse_chart.documents import parse_stream
    from cogniverse_chart.findings import Severity
    from cogniverse_chart.lint import lint

    text = """
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: c}
spec:
  schedule: "0 1 * * *"
  schedules: ["0 1 * * *"]
  concurrencyPolicy: Forbid
  workflowSpec:
    entrypoint: m
    templates: [{name: m, container: {image: "alpine:3.20", command: ["true"]}}]
"""
    [f] = [f for f in lint(parse_stream(text, "c.yaml"), argo_version=version) if f.rule == "argo/cron-spec"]
    assert f.severity is Severity.ERROR and expect in f.message and f.path == "$.spec.schedule"
