"""Hostile text from the cluster, and hostile names and labels given to the cluster commands (issue 21,
attack21d #17, #18, #19).

The API server is a loopback stand-in (tests/standin_servers.py, mode `json`): no real API server can be made
to answer with these strings on purpose without a Workflow pod forging its task result, which the smoke suite
covers. The stand-in answers every request with the attack's exact Workflow.
"""

from __future__ import annotations

import json
import re

import pytest

from cogniverse_chart.cli import main
from standin_servers import StandinServer, kubeconfig

# attack21d #17 (fakeapi.py): title change, screen clear, cursor up + CR to overwrite the real line with a forged
# one, and an OSC 52 clipboard write; plus a C1 CSI (0x9b), DEL and a newline that would start a forged line
ESC = "\x1b]0;pwned\x07\x1b[2J\x1b[1A\rFAKE: Workflow succeeded\x1b]52;c;ZWNobyBwd25lZA==\x07\x9b2J\x7f\nFAKE"
WORKFLOW = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
    "metadata": {"name": "w", "namespace": "cogniverse-prod", "creationTimestamp": "2026-01-01T00:00:00Z"},
    "status": {"phase": "Failed", "message": ESC, "startedAt": "2026-01-01T00:00:00Z" + ESC,
               "finishedAt": "2026-01-01T00:00:01Z",
               "outputs": {"parameters": [{"name": "x" + ESC, "value": ESC}]},
               "nodes": {"w-1": {"id": "w-1", "name": "w.s", "displayName": "s" + ESC, "type": "Pod", "phase": "Failed",
                                 "message": ESC, "outputs": {"parameters": [{"name": "o", "value": ESC}]}}}},
}
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def hostile(tmp_path):
    with StandinServer("json", body=WORKFLOW) as srv:
        srv.kubeconfig = str(kubeconfig(tmp_path, srv.url))
        yield srv


def _lines_without_forgery(text: str) -> list[str]:
    assert not RAW.search(text), repr(text)
    lines = text.splitlines()
    assert not any(line.startswith("FAKE") for line in lines), text  # no line the cluster started
    return lines


@pytest.mark.parametrize("argv", [["wait", "w"], ["submit", "w", "--wait"], ["trigger", "w", "--wait"]],
                         ids=["wait", "submit-wait", "trigger-wait"])
def test_cluster_text_reaches_the_terminal_escaped(capsys, hostile, argv):
    """Every text of the report (message, outputs, node names and messages, progress) is printed with its
    control characters as \\xNN; nothing from the cluster starts a line or moves the cursor."""
    wf = {**WORKFLOW, "spec": {"workflowSpec": {"entrypoint": "main"}}}  # trigger reads a CronWorkflow
    hostile.body = wf if argv[0] == "trigger" else WORKFLOW
    code = main([*argv, "-n", "cogniverse-prod", "--kubeconfig", hostile.kubeconfig, "--timeout", "20", "--poll", "0.1"])
    out, err = capsys.readouterr()
    assert code == 1, (out, err)  # Failed
    lines = _lines_without_forgery(out)
    _lines_without_forgery(err)
    assert "Message: \\x1b]0;pwned\\x07\\x1b[2J\\x1b[1A\\x0dFAKE: Workflow succeeded" in out
    assert "\\x9b2J\\x7f\\x0aFAKE" in out
    assert any(line.startswith("  x\\x1b]0;pwned") and " = \\x1b]0;pwned" in line for line in lines), out
    assert any(line.startswith("  s\\x1b]0;pwned") and "o=\\x1b]0;pwned" in line for line in lines), out


def test_json_output_keeps_the_cluster_text_exactly(capsys, hostile):
    code = main(["wait", "w", "-n", "cogniverse-prod", "--kubeconfig", hostile.kubeconfig, "-o", "json", "-q",
                 "--timeout", "20"])
    out = capsys.readouterr().out
    assert code == 1 and not RAW.search(out)
    assert json.loads(out)["message"] == ESC  # escaped by json, and read back exactly


def test_list_shows_cluster_names_and_times_escaped(capsys, hostile):
    hostile.body = {**WORKFLOW, "metadata": {**WORKFLOW["metadata"], "name": "w" + ESC}}
    assert main(["list", "-n", "cogniverse-prod", "--kubeconfig", hostile.kubeconfig, "--timeout", "20"]) == 0
    lines = _lines_without_forgery(capsys.readouterr().out)
    assert len(lines) == 2 and lines[1].startswith("w\\x1b]0;pwned") and "Failed" in lines[1], lines
    assert "2026-01-01T00:00:00Z\\x1b]0;pwned" in lines[1]


@pytest.mark.parametrize("argv, needle", [
    (["wait", "."], "the Workflow name '.'"),
    (["wait", ".."], "the Workflow name '..'"),
    (["wait", "a/../.."], "the Workflow name 'a/../..'"),
    (["wait", "W"], "the Workflow name 'W'"),
    (["trigger", ".."], "the CronWorkflow name '..'"),
    (["trigger", "daily-backup?watch=1"], "the CronWorkflow name 'daily-backup?watch=1'"),
    (["submit", "--", "-x" * 130], "the WorkflowTemplate name"),
    (["submit", "a" * 254], "the WorkflowTemplate name"),
    (["submit", "video-ingestion%2F.."], "the WorkflowTemplate name"),
    (["list", "-n", ".."], "--namespace '..'"),
    (["list", "-n", ""], "--namespace ''"),
    (["wait", "w", "-n", "a.b"], "--namespace 'a.b'"),
    (["submit", "w", "-n", "ns/x"], "--namespace 'ns/x'"),
    (["trigger", "w", "-n", "-"], "--namespace '-'"),
    (["generate", "--from-release", "--check", "-n", ".."], "--namespace '..'"),
    (["generate", "--from-release", "--check", "--release", "a/b", "-n", "x"], "--release 'a/b'"),
])
def test_bad_names_and_namespaces_are_refused_before_any_request(capsys, hostile, argv, needle):
    """`list -n ..` listed every namespace's Workflows, `wait .` the namespace's list, `trigger ..` the
    namespace (urllib3 removes dot segments): each is one message naming the argument, and nothing is sent."""
    code = main([*argv[:1], "--kubeconfig", hostile.kubeconfig, "--timeout", "5", *argv[1:]])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and needle in err[0], err
    assert hostile.lines == [], hostile.lines


@pytest.mark.parametrize("label, needle", [
    ("workflows.argoproj.io/completed=true", "are Argo's own"),
    ("workflows.argoproj.io/controller-instanceid=other", "are Argo's own"),
    ("Workflows.Argoproj.IO/phase=Running", "are Argo's own"),  # in any case
    ("x.workflows.argoproj.io/y=1", "are Argo's own"),
    ("bad label=x", "a label key is"),
    ("a=b c", "a label value is"),
    ("a=" + "v" * 64, "a label value is"),
    ("=x", "must be NAME=VALUE"),
    ("k=\x1b[2J", "a label value is"),
])
@pytest.mark.parametrize("command", ["submit", "trigger"])
def test_bad_labels_are_refused_naming_the_label(capsys, hostile, command, label, needle):
    code = main([command, "w", "-l", label, "--kubeconfig", hostile.kubeconfig, "--timeout", "5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and needle in err[0] and "--label" in err[0], err
    assert not RAW.search(err[0])
    assert hostile.lines == []


def test_good_names_and_labels_reach_the_api_server(capsys, hostile):
    """The checks refuse only what the API server would: a dotted name and a prefixed label are sent."""
    hostile.body = {**WORKFLOW, "metadata": {**WORKFLOW["metadata"], "name": "video-ingestion.v2"}, "spec": {}}
    code = main(["submit", "video-ingestion.v2", "-n", "cogniverse-prod", "-l", "team.example.com/owner=a_b-c.d",
                 "-l", "empty=", "--kubeconfig", hostile.kubeconfig, "--timeout", "20"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert hostile.lines[0].startswith(
        "GET /apis/argoproj.io/v1alpha1/namespaces/cogniverse-prod/workflowtemplates/video-ingestion.v2 ")
    assert hostile.lines[1].startswith("POST /apis/argoproj.io/v1alpha1/namespaces/cogniverse-prod/workflows ")


def test_bidirectional_controls_from_the_cluster_are_shown_not_obeyed(capsys, hostile):
    """A right-to-left override (U+202E) or isolate (U+2066..U+2069) in a message makes a terminal show the
    text in another order ("Trojan Source"); a U+2028 line separator starts a line in some terminals."""
    message = ("tenant acme \u202edeliaF\u202c ok\u2066x\u2069\u2028FAKE: Workflow succeeded"
               "\u200b\ufeff\u00ad\U000e0041 hidden")  # zero-width space, BOM, soft hyphen, a tag character
    hostile.body = {**WORKFLOW, "status": {**WORKFLOW["status"], "message": message}}
    main(["wait", "w", "-n", "cogniverse-prod", "--kubeconfig", hostile.kubeconfig, "--timeout", "20", "--poll", "0.1"])
    out = capsys.readouterr().out
    assert not re.search("[\u202a-\u202e\u2066-\u2069\u2028]", out), repr(out)
    assert "Message: tenant acme \\u202edeliaF\\u202c ok\\u2066x\\u2069\\u2028FAKE" in out, out
    assert "FAKE: Workflow succeeded\\u200b\\ufeff\\xad\\U000e0041 hidden" in out, out


def test_every_format_character_is_escaped_and_other_letters_are_not() -> None:
    """printable escapes exactly Unicode's format characters (category Cf, by the running Python's Unicode
    database) and the line/paragraph separators beyond the controls; letters of any script stay."""
    import sys
    import unicodedata

    from cogniverse_chart.report import printable

    chars = [chr(cp) for cp in range(0xA0, sys.maxunicode + 1) if not 0xD800 <= cp <= 0xDFFF]
    hidden = [c for c in chars if unicodedata.category(c) == "Cf" or c in "\u2028\u2029"]
    kept = set(hidden)
    shown = "".join(c for c in chars if c not in kept)
    assert len(hidden) > 150 and printable(shown) == shown
    assert all(printable(c).startswith("\\") for c in hidden), [hex(ord(c)) for c in hidden if printable(c) == c]
