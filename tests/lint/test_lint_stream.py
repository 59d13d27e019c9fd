"""Streaming lint (lint/stream.py) reports what whole-stream lint reports, in bounded memory.

The comparison runs over every lint fixture, Argo's examples (both versions, each file with its library
context) and the chart's rendered profiles, in the stream's own order and reversed (templates after the
workflows that reference them)."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest

from cogniverse_chart.chart import render_profiles
from cogniverse_chart.documents import Document, read_paths
from cogniverse_chart.lint import lint, lint_stream
from cogniverse_dev import examples
from cogniverse_chart.lint.stream import Progress, Spool

FIXTURES = Path(__file__).parents[1] / "fixtures" / "lint"


def _same(docs: list[Document], version: str = "") -> None:
    for order in (docs, docs[::-1]):
        whole = Counter(f.format() for f in lint(order, argo_version=version))
        streamed, checked = lint_stream(iter(order), argo_version=version)
        assert checked == len(order)
        assert Counter(f.format() for f in streamed) == whole


def test_stream_matches_whole_lint_on_fixtures() -> None:
    files = sorted(FIXTURES.glob("*/*.yaml"))
    assert len(files) > 100
    for f in files:
        _same(list(read_paths([str(f)])))
    _same([d for f in files for d in read_paths([str(f)])])  # one long stream of all of them


@pytest.mark.parametrize("major", ["3", "4"])
def test_stream_matches_whole_lint_on_argo_examples(major: str) -> None:
    version = ".".join(examples.pinned(major)[1].lstrip("v").split(".")[:2])
    for f in examples.load(major):
        _same(f.docs + f.context, version)


def test_stream_matches_whole_lint_on_the_chart() -> None:
    for docs in render_profiles().values():
        _same(docs)


def test_spool_round_trips_documents() -> None:
    spool = Spool()
    docs = [Document({"kind": "ConfigMap", "metadata": {"name": f"c{i}"}, "data": {"k": "é" * i}}, "s.yaml", i)
            for i in range(50)]
    offsets = [spool.put(d) for d in docs]
    assert list(spool) == docs and spool.get(offsets[7]) == docs[7]
    spool.close()


def test_progress_only_on_a_terminal_and_only_for_long_runs() -> None:
    out = io.StringIO()
    Progress(out.write, after=3600)("read", 10)
    assert out.getvalue() == ""
    p = Progress(out.write, after=0)
    p("checked", 5, 10)
    assert "checked 5/10 documents" in out.getvalue()
    p.done()
    quiet = Progress.for_terminal()  # pytest's stderr is not a terminal
    assert quiet.write is None


RUN_OF_TEMPLATE = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: run-}
spec:
  workflowTemplateRef: {name: lib}
  arguments: {parameters: [{name: other, value: x}]}
---
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: lib}
spec:
  entrypoint: main
  arguments: {parameters: [{name: region, value: eu}]}
  templates:
    - name: main
      container: {image: "alpine:3.20", command: [echo, "{{workflow.parameters.region}}", "{{workflow.parameters.tier}}"]}
"""


def test_findings_a_run_causes_inside_its_template_are_kept() -> None:
    """A workflowTemplateRef run is checked as the template's spec with its arguments merged in: the finding
    lands in the template, once per run, as whole-stream lint reports it (and the template's own findings
    once), whichever comes first in the stream."""
    from cogniverse_chart.documents import parse_stream

    docs = parse_stream(RUN_OF_TEMPLATE + "---\n" + RUN_OF_TEMPLATE.split("---")[0], "runs.yaml")
    found = [f for f in lint(docs) if f.rule == "argo/unknown-workflow-parameter"]
    assert len(found) == 2 and all(f.kind == "WorkflowTemplate" and "'tier'" in f.message for f in found)
    _same(docs)
