"""The workflow catalogue (cogniverse_chart.catalogue) is read from the chart's values.yaml; `generate`, the
test helpers and the guide runner derive their lists from it. These tests check it against what the chart
renders, so a WorkflowTemplate or CronWorkflow added, renamed or moved to another file shows up here."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from chart_utils import CRON_WORKFLOWS, OWN_CRON_WORKFLOWS, WORKFLOW_TEMPLATES, by_kind, render_chart
from cogniverse_chart import CHART_DIR
from cogniverse_chart.catalogue import catalogue, kebab
from cogniverse_chart.errors import ToolkitError
from cogniverse_dev import guide

VALUES = yaml.safe_load((CHART_DIR / "values.yaml").read_text(encoding="utf-8"))["workflows"]


def test_each_values_block_renders_the_object_the_catalogue_names():
    """A distinct deadline per block: the object of each name carries its own block's deadline."""
    deadlines = {"templates": {k: {"activeDeadlineSeconds": 1000 + i} for i, k in enumerate(VALUES["templates"])},
                 "cronWorkflows": {k: {"activeDeadlineSeconds": 2000 + i}
                                   for i, k in enumerate(VALUES["cronWorkflows"])}}
    wft = by_kind(render_chart({"workflows": deadlines}), "WorkflowTemplate")
    for part, names in (("templates", catalogue().templates), ("cronWorkflows", catalogue().cron_workflows)):
        for name, (key, block) in zip(names, deadlines[part].items(), strict=True):
            assert wft[name]["spec"]["activeDeadlineSeconds"] == block["activeDeadlineSeconds"], (key, name)
    assert sorted(wft) == sorted(catalogue().templates + catalogue().cron_workflows)


@pytest.mark.parametrize("profile", [None, "k3s", "smoke", "production", "local"])
def test_the_catalogue_is_what_every_profile_renders(profile):
    docs = render_chart(profile=profile)
    crons = by_kind(docs, "CronWorkflow")
    assert sorted(crons) == sorted(catalogue().cron_workflows)
    assert sorted(by_kind(docs, "WorkflowTemplate")) == sorted(catalogue().templates + catalogue().cron_workflows)
    # the scheduled optimizations are the CronWorkflows of their own template file
    from_file = sorted(d.name for d in docs if d.kind == "CronWorkflow" and d.source.endswith(
        "templates/workflows/scheduled-optimization.yaml"))
    assert from_file == sorted(catalogue().cron_files["scheduled-optimization"])
    assert sorted(sum(catalogue().cron_files.values(), ())) == sorted(catalogue().cron_workflows)


def test_the_derived_lists_are_the_catalogue():
    assert WORKFLOW_TEMPLATES == catalogue().templates == ("video-ingestion", "batch-optimization",
                                                           "tenant-provisioning", "restore")
    assert set(CRON_WORKFLOWS) | set(OWN_CRON_WORKFLOWS) == set(catalogue().cron_workflows)
    assert OWN_CRON_WORKFLOWS == guide.Lookup.BACKGROUND_CRON_WORKFLOWS == ("deadline-watchdog",)
    assert "deadline-watchdog" not in CRON_WORKFLOWS


@pytest.mark.parametrize("key, name", [("videoIngestion", "video-ingestion"), ("restore", "restore"),
                                       ("weeklyDspyOptimization", "weekly-dspy-optimization"),
                                       ("dailyOptimizationCheck", "daily-optimization-check")])
def test_kebab_is_sprig_kebabcase(key, name):
    assert kebab(key) == name


@pytest.mark.parametrize("text", ["workflows: {}\n", "workflows: [1]\n", "a: [\n", "",
                                  "workflows: {templates: [a], cronWorkflows: {}}\n",
                                  "workflows: {templates: {}, cronWorkflows: {x: 1}}\n"])
def test_a_chart_without_the_workflow_blocks_is_named(tmp_path: Path, text: str):
    chart = tmp_path / "chart"
    shutil.copytree(CHART_DIR, chart, ignore=shutil.ignore_patterns("templates", "files", "schema", "ci"))
    (chart / "values.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ToolkitError, match=r"values\.yaml: expected workflows\.templates and workflows\.cronWorkflows"):
        catalogue(chart)
