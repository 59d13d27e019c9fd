"""docs/guide.md declares what each placeholder means, in an HTML comment right above each shell block
(hidden where the guide is rendered) and in its placeholder table; the guide runner reads those
declarations and names no WorkflowTemplate or CronWorkflow itself."""

from __future__ import annotations

import pytest

from cogniverse_chart import REPO_ROOT
from cogniverse_dev import guide

OUR_GUIDE = REPO_ROOT / "docs" / "guide.md"
USER_GUIDE = REPO_ROOT / "tests" / "fixtures" / "guide" / "argo-workflows-guide.md"


class _Scripted(guide.Lookup):
    """Lookup over fixed `kubectl get` answers, no cluster."""

    def __init__(self, items: list[dict]):
        super().__init__("cogniverse", {})
        self.items, self.selectors = items, []

    def _items(self, resource: str, selector: str = "") -> list[dict]:
        self.selectors.append((resource, selector))
        return self.items


def _wf(name: str, created: str, phase: str = "Succeeded", **labels: str) -> dict:
    return {"metadata": {"name": name, "creationTimestamp": created, "labels": labels},
            "status": {"phase": phase, "finishedAt": created}}


def test_every_placeholder_of_our_guide_is_declared_next_to_its_command_as_the_table_says():
    cmds = guide.read(OUR_GUIDE)
    table = guide.guide_meanings(OUR_GUIDE)  # also: every block's declaration is the table's
    used = [(c.line, name) for c in cmds for name in c.placeholders]
    assert len(used) >= 30
    assert not [(line, n) for line, n in used if n not in dict(next(c for c in cmds if c.line == line).declared)]
    assert {n for _, n in used} <= set(table)


def test_declarations_stay_out_of_what_a_reader_sees():
    text = OUR_GUIDE.read_text(encoding="utf-8")
    declared = [line for line in text.splitlines() if line.startswith("<!-- placeholders:")]
    assert len(declared) >= 10
    assert not [c.text for c in guide.read(OUR_GUIDE) if "placeholders:" in c.text or "<!--" in c.text]


def test_every_placeholder_of_the_users_guide_has_a_meaning():
    lookup = guide.Lookup
    for cmd in guide.read(USER_GUIDE):
        assert not cmd.declared
        for name in cmd.placeholders:
            assert lookup.meaning_of(lookup.meaning(name, cmd)), (cmd.line, name)


def test_a_blocks_declaration_is_what_the_runner_looks_up():
    md = ("<!-- placeholders: workflow-name = workflow template=restore phase=Succeeded -->\n```bash\n"
          "argo logs <workflow-name> -n cogniverse\n```\n")
    (cmd,) = guide.commands(md)
    restore = _wf("restore-abc", "1", **{"workflows.argoproj.io/workflow-template": "restore"})
    newer = _wf("video-ingestion-x", "2", **{"workflows.argoproj.io/workflow-template": "video-ingestion"})
    lookup = _Scripted([restore, newer])
    assert lookup("workflow-name", cmd) == "restore-abc"
    assert lookup.selectors == [("workflows.argoproj.io", "workflows.argoproj.io/workflow-template=restore")]
    undeclared = guide.GuideCommand("argo logs <workflow-name>", 1, "")
    assert _Scripted([restore, newer])("workflow-name", undeclared) == "video-ingestion-x"  # the table's


def test_the_runner_knows_no_placeholder_it_is_not_told():
    """No meaning is built in: with no declarations, even the guide's own names are unknown."""
    blank = _Scripted([_wf("video-ingestion-x", "1", **{"workflows.argoproj.io/workflow-template": "video-ingestion"})])
    blank.meanings = {}
    for name in ("ingestion-workflow-name", "workflow-name", "pod-name"):
        with pytest.raises(LookupError, match=rf"unknown placeholder <{name}>: no declaration"):
            blank(name, guide.GuideCommand(f"argo logs <{name}>", 1, ""))


@pytest.mark.parametrize("md, message", [
    ("<!-- placeholders: x = deployment -->\n```bash\necho <x>\n```\n", r"line 1: 'deployment': the kind must be one of"),
    ("<!-- placeholders: x = workflow colour=red -->\n```bash\necho <x>\n```\n", r"'colour=red' is not KEY=VALUE"),
    ("<!-- placeholders: x = pod template=a -->\n```bash\necho <x>\n```\n", r"template= applies to a workflow, not a pod"),
    ("<!-- placeholders: x = workflow finished=maybe -->\n```bash\necho <x>\n```\n", r"finished= is yes or no"),
    ("<!-- placeholders: x = workflow phase=$(rm) -->\n```bash\necho <x>\n```\n", r"is not KEY=VALUE"),
    ("<!-- placeholders: x = workflow template=a,b -->\n```bash\necho <x>\n```\n", r"template= takes one name"),
    ("<!-- placeholders: x = pod; x = pvc -->\n```bash\necho <x>\n```\n", r"<x> is declared twice"),
    ("<!-- placeholders: x workflow -->\n```bash\necho <x>\n```\n", r"'x workflow' is not NAME = KIND"),
    ("<!-- placeholders: x = pod; y = pod -->\n```bash\necho <x>\n```\n", r"line 1: declares <y>, which no command"),
    ("<!-- placeholders: x = pod -->\nSome text.\n```bash\necho <x>\n```\n", r"right above the code block"),
    ("<!-- placeholders: x = pod\n```bash\necho <x>\n```\n", r"line 1: the placeholders comment is not closed"),
])
def test_a_malformed_declaration_is_named_with_its_line(md, message):
    with pytest.raises(guide.GuideError, match=message):
        guide.commands(md)


def test_the_cli_names_a_malformed_guide_without_a_traceback(tmp_path, capsys):
    from cogniverse_dev.guide.__main__ import main

    bad = tmp_path / "g.md"
    bad.write_text("<!-- placeholders: x = deployment -->\n```bash\necho <x>\n```\n", encoding="utf-8")
    assert main(["list", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: line 1:" in err and "Traceback" not in err


def test_a_block_declaring_other_than_the_table_is_named(tmp_path):
    md = OUR_GUIDE.read_text(encoding="utf-8").replace(
        "<!-- placeholders: running-workflow-name = workflow finished=no -->",
        "<!-- placeholders: running-workflow-name = workflow phase=Running -->", 1)
    path = tmp_path / "guide.md"
    path.write_text(md, encoding="utf-8")
    with pytest.raises(LookupError, match=r"declares <running-workflow-name> other than the placeholder table"):
        guide.guide_meanings(path)
