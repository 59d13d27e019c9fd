"""`-o github` in an Actions job (cogniverse_chart.github_log): a file name, a chart's text or an error message
never becomes a workflow command the runner acts on, in any output format, and annotations stay short."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolkit_utils import helm_create, run_cli


def _runner_lines(text: str) -> list[str]:
    """Lines as an Actions runner reads a step's output (CR, LF and CRLF each end one)."""
    return [line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if line]


def _workflow_commands(text: str) -> list[str]:
    """The lines a runner would act on: `::cmd::` at the start (after blanks) or the legacy `##[cmd]` anywhere."""
    return [line for line in _runner_lines(text) if line.lstrip().startswith("::") or "##[" in line]


@pytest.mark.parametrize("name", ["y\n::add-mask::SECRETX\n::error file=evil.yaml::INJECTED\n.yaml",
                                  "z\r::error::CR.yaml", "pct%0A::error::PCT.yaml", "legacy ##[add-mask]S.yaml"])
def test_github_output_of_an_input_error_injects_no_workflow_command(capsys, tmp_path: Path, name: str) -> None:
    """A file name is data: on stdout and stderr the only workflow command is the tool's own annotation, and
    its message keeps `%`, CR and LF escaped (GitHub unescapes `%0A` into a new line). stderr is plain log
    text, not an annotation: a newline in the message is a new line there (each kept from being a command),
    and `%` stays `%` (attack24 C16: it used to be escaped as in the annotation, `%0A` in the log)."""
    (tmp_path / name).write_text("a: [\n")
    code, out, err = run_cli(capsys, tmp_path, "-o", "github", "validate", name)
    assert code == 2
    commands = _workflow_commands(out + err)
    assert len(commands) == 1 and commands[0].startswith("::error file="), out + err
    assert ",line=2,col=1,title=cogniverse-chart validate::" in commands[0]
    assert "invalid YAML" in commands[0] and len(_runner_lines(err)) == name.count("\n") + 1, err
    if "\n" in name:
        assert "\n%3A%3Aadd-mask::SECRETX\n%3A%3Aerror file=evil.yaml::INJECTED\n" in err, err
    if "%" in name:
        assert "pct%250A" in commands[0] and "pct%0A%3A%3A" not in err and "pct%0A::error::PCT.yaml" in err


@pytest.mark.parametrize("output", ["human", "json", "sarif", "junit"])
def test_in_an_actions_job_no_output_format_lets_a_file_name_write_a_workflow_command(
        capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str) -> None:
    """The Action's `output: sarif` + `output-file` sends the report to a file and the error line to the job
    log: in a job (GITHUB_ACTIONS=true) that line, and a usage error naming the file, inject no command either;
    the report on stdout is unchanged."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    name = "n\n::add-mask::SECRETX\n::error file=evil.yaml::INJECTED\n.yaml"
    (tmp_path / name).write_text("a: [\n")
    code, out, err = run_cli(capsys, tmp_path, "-o", output, "validate", name)
    assert code == 2 and _workflow_commands(err) == [] and "invalid YAML" in err, err
    if output == "sarif":
        assert "invalid YAML" in json.loads(out)["runs"][0]["invocations"][0]["toolExecutionNotifications"][0][
            "message"]["text"]
    code, out, err = run_cli(capsys, tmp_path, "-o", output, "ct", name)  # ct takes no file: a usage error
    assert code == 2 and _workflow_commands(err) == [] and "unrecognized arguments: n" in err, err
    monkeypatch.delenv("GITHUB_ACTIONS")
    code, _, err = run_cli(capsys, tmp_path, "-o", output, "validate", name)
    assert code == 2 and "\n::add-mask::SECRETX" in err  # outside Actions the message is left as it is


def test_github_output_of_any_command_neutralises_commands_in_printed_text(capsys, tmp_path: Path) -> None:
    """`render -o github` prints the chart's text: a line of it that would be a workflow command is not one."""
    chart = helm_create(tmp_path)
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata:\n  a: |\n    ::add-mask::SECRETX\n"
        "    x ##[error]legacy\n  b: \"\\r::warning::cr\"\n")
    code, out, err = run_cli(capsys, chart, "-o", "github", "render")
    assert code == 0 and _workflow_commands(out + err) == [], out
    assert "    %3A%3Aadd-mask::SECRETX" in out and "x ##%5Berror]legacy" in out
    code, human, _ = run_cli(capsys, chart, "render")
    assert "    ::add-mask::SECRETX" in human  # only the github output is rewritten


def test_github_annotations_stay_short_whatever_the_input(capsys, tmp_path: Path) -> None:
    """An object named with 300,000 characters made one 300 KB annotation; each is now at most a few KB and
    keeps the rule and the end of the message."""
    name = "x" * 300_000
    (tmp_path / "big.yaml").write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{y: 2}}\n")
    code, out, _ = run_cli(capsys, tmp_path, "-o", "github", "validate", "--kube-version", "1.37", "big.yaml")
    lines = out.splitlines()
    assert code == 1 and lines and all(len(line) < 4500 for line in lines), [len(line) for line in lines]
    assert any("expected string, got integer 2" in line for line in lines)
