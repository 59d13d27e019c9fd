"""Where people run linters: the hooks of .pre-commit-hooks.yaml, run by pre-commit itself (`pre-commit
try-repo` installs this repository into its own environment, as a user's `repos:` entry would), and the
GitHub Action's steps (action.yml), run by bash as the runner would run them.

The Action stand-in: GitHub's runner cannot run here, so the test substitutes `${{ inputs.* }}` and
`${{ github.action_path }}` in each step's `env:` and `working-directory:` and runs its `run:` script
with `bash --noprofile --norc -eo pipefail` (the runner's shell for `shell: bash`), RUNNER_TEMP and
GITHUB_OUTPUT set as the runner sets them. pip installs from the cached
wheels of the package index (toolkit_utils.dependency_wheels).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cogniverse_chart.helm import available_helms
from toolkit_utils import ROOT, dependency_wheels, helm_create, run_cli

HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
BAD_MANIFEST = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: {a: b}\nbinaryDta: {}\n"


def _env(tmp: Path) -> dict[str, str]:
    helm = available_helms()[-1].path
    bin_dir = tmp / "helm-bin"
    bin_dir.mkdir(exist_ok=True)
    if not (bin_dir / "helm").exists():
        (bin_dir / "helm").symlink_to(helm)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_", "GIT_"))}
    env.update(PATH=f"{bin_dir}:{Path(sys.executable).parent}:{env['PATH']}", PIP_NO_INDEX="1",
               PIP_FIND_LINKS=str(dependency_wheels()), PRE_COMMIT_HOME=str(tmp / "pre-commit-home"),
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


@pytest.fixture
def chart_repo(tmp_path: Path) -> Path:
    """A git repository with a `helm create` chart in charts/demo and a Kubernetes manifest."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    helm_create(repo / "charts")
    (repo / "deploy").mkdir()
    (repo / "deploy" / "configmap.yaml").write_text(BAD_MANIFEST)
    for name, text in OTHER_YAML.items():  # what an ordinary repository holds besides manifests (E10)
        (repo / name).parent.mkdir(exist_ok=True)
        (repo / name).write_text(text)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    return repo


#: YAML files of other tools: no apiVersion and kind, or kustomize's own API group.
OTHER_YAML = {"mkdocs.yml": "site_name: demo\nnav: [index.md]\n",
              "docker-compose.yaml": "services:\n  web: {image: nginx}\n",
              ".yamllint": "extends: default\n",
              "deploy/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                                           "resources: [configmap.yaml]\n"}


def test_hook_definitions_name_real_commands() -> None:
    from cogniverse_chart.cli import COMMANDS

    assert {h["id"] for h in HOOKS} == {"cogniverse-chart-lint", "cogniverse-chart-validate", "cogniverse-chart-check"}
    for hook in HOOKS:
        prog, command = hook["entry"].split()[:2]
        assert prog == "cogniverse-chart" and command in COMMANDS and hook["language"] == "python"


@pytest.mark.parametrize("path", ["Chart.yaml", "charts/demo/Chart.lock", "charts/demo/values.yaml",
                                  "charts/demo/templates/_helpers.tpl", "charts/demo/ci/ha-values.yaml",
                                  "charts/demo/crds/widget.yaml", "charts/demo/files/app.conf",
                                  "charts/demo/README.md", "charts/demo/.helmignore", "charts/demo/charts/sub-1.0.0.tgz",
                                  ".cogniverse-chart.toml"])
def test_lint_and_check_hooks_run_on_every_file_that_changes_the_chart(path: str) -> None:
    """A change to a CRD, a file a template reads (.Files.Get), the dependency lock, .helmignore or the README
    whose values table `check` verifies changes what the chart installs or what check reports: the hooks run."""
    for hook in HOOKS:
        if hook["id"] != "cogniverse-chart-validate":
            assert re.search(hook["files"], path), (hook["id"], path)
    assert not re.search(next(h for h in HOOKS if h["id"] == "cogniverse-chart-check")["files"], "src/app.py")


def test_pre_commit_try_repo_runs_every_hook(chart_repo: Path, tmp_path: Path) -> None:
    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    assert pre_commit, "pre-commit is in the dev extra (pyproject.toml)"
    proc = subprocess.run([pre_commit, "try-repo", str(ROOT), "--all-files", "--verbose"], cwd=chart_repo,
                          env=_env(tmp_path), capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-4000:]
    status = dict(re.findall(r"^cogniverse-chart (lint|validate|check)\.+\s*(Passed|Failed)", out, re.M))
    assert status == {"lint": "Failed", "validate": "Failed", "check": "Failed"}, out[-4000:]
    assert "unknown field 'binaryDta'; did you mean 'binaryData'?" in out  # validate on deploy/configmap.yaml
    validate_log = re.search(r"^cogniverse-chart validate\.+.*?(?=^cogniverse-chart \w+\.+|\Z)", out, re.M | re.S)[0]
    skipped = re.findall(r"note: (\d+) YAML document\(s\) without apiVersion and kind \(or kustomize files\) skipped",
                         validate_log)  # pre-commit may split the files into one batch per core
    assert sum(map(int, skipped)) == len(OTHER_YAML), validate_log
    assert not any(name in validate_log for name in OTHER_YAML), validate_log  # none of them is a finding
    assert "policy/security-context" in out and "ct/maintainers" in out  # lint and check on charts/demo


def _substitute(text: str, inputs: dict[str, str]) -> str:
    def value(m: re.Match[str]) -> str:
        expr = m[1].strip()
        if expr == "github.action_path":
            return str(ROOT)
        assert expr.startswith("inputs."), f"action.yml uses {expr!r}, which the stand-in does not provide"
        return inputs[expr.removeprefix("inputs.")]
    return re.sub(r"\$\{\{(.*?)\}\}", value, text)


def run_action(inputs: dict[str, str], workspace: Path, tmp: Path) -> tuple[int, str, str]:
    """Every step of the composite action, in order, as the runner runs it; (exit code, stdout, GITHUB_OUTPUT)."""
    values = {k: str(v.get("default", "")) for k, v in ACTION["inputs"].items()} | inputs
    env = _env(tmp) | {"RUNNER_TEMP": str(tmp / "runner-temp"), "GITHUB_OUTPUT": str(tmp / "github-output"),
                       "GITHUB_WORKSPACE": str(workspace)}
    Path(env["RUNNER_TEMP"]).mkdir(exist_ok=True)
    Path(env["GITHUB_OUTPUT"]).write_text("")
    out = ""
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step["run"], "inputs reach the script through env: only"
        step_env = env | {k: _substitute(str(v), values) for k, v in step.get("env", {}).items()}
        cwd = workspace / _substitute(step.get("working-directory", "."), values)
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=cwd, env=step_env, capture_output=True,
                              text=True, timeout=900)
        out += proc.stdout
        if proc.returncode:
            return proc.returncode, out + proc.stderr, Path(env["GITHUB_OUTPUT"]).read_text()
    return 0, out, Path(env["GITHUB_OUTPUT"]).read_text()


def test_action_annotates_findings_and_writes_sarif(chart_repo: Path, tmp_path: Path) -> None:
    assert ACTION["runs"]["using"] == "composite"
    code, out, outputs = run_action({"command": "lint", "working-directory": "charts/demo"}, chart_repo, tmp_path)
    assert code == 1 and "exit-code=1" in outputs
    # D20: the runner reads file= from the repository root (GITHUB_WORKSPACE), not from working-directory
    assert re.search(r"^::error file=charts/demo/templates/deployment\.yaml,line=\d+,col=\d+,title=policy/", out,
                     re.M), out
    code, out, outputs = run_action({"command": "lint", "working-directory": "charts/demo", "output": "sarif",
                                     "output-file": "lint.sarif"}, chart_repo, tmp_path)
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for r in json.loads(
        (chart_repo / "charts" / "demo" / "lint.sarif").read_text())["runs"][0]["results"] for loc in r["locations"]}
    assert code == 1 and "charts/demo/templates/deployment.yaml" in uris and all(
        (chart_repo / u).is_file() for u in uris), uris
    code, out, outputs = run_action({"command": "validate", "args": "deploy --kube-version 1.33", "output": "sarif",
                                     "output-file": "results.sarif"}, chart_repo, tmp_path)
    sarif = (chart_repo / "results.sarif").read_text()
    assert code == 1 and '"uri": "deploy/configmap.yaml"' in sarif and "exit-code=1" in outputs


def test_validate_hook_takes_option_like_file_names_as_files_and_skips_only_chart_sources(capsys, chart_repo) -> None:
    """The hook's argv as pre-commit builds it (entry, args, then the file names): a committed file named
    `--skip=ConfigMap,x.yaml` stays a file, so it cannot switch validation off; manifests under a `ci/`
    folder or named values-*.yaml outside a chart are validated, the chart's own sources are not."""
    hook = next(h for h in HOOKS if h["id"] == "cogniverse-chart-validate")
    planted = chart_repo / "--skip=ConfigMap,x.yaml"
    planted.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: planted}\n")
    (chart_repo / "deploy" / "ci").mkdir()
    (chart_repo / "deploy" / "ci" / "prod.yaml").write_text(BAD_MANIFEST.replace("name: x", "name: in-ci"))
    (chart_repo / "k8s").mkdir()
    (chart_repo / "k8s" / "values-configmap.yaml").write_text(BAD_MANIFEST.replace("name: x", "name: values"))
    files = [planted.name, "deploy/configmap.yaml", "deploy/ci/prod.yaml", "k8s/values-configmap.yaml",
             "charts/demo/Chart.yaml", "charts/demo/values.yaml", "charts/demo/templates/service.yaml"]
    argv = [*hook["entry"].split()[1:], "--kube-version", "1.33", *files]
    code, out, err = run_cli(capsys, chart_repo, "-o", "json", *argv)
    result = json.loads(out)
    assert code == 1 and result["checked"] == 4, (out, err)
    assert {f["name"] for f in result["findings"]} == {"x", "in-ci", "values"}
    assert {f["rule"] for f in result["findings"]} == {"schema/k8s-1.33"}
    code, out, _ = run_cli(capsys, chart_repo, *hook["entry"].split()[1:], "charts/demo/templates/service.yaml")
    assert code == 0 and "0 objects checked" in out  # only chart sources: nothing to validate is fine
    # a hook arg that names an existing file as an option's value stays that option's value
    (chart_repo / "charts" / "demo" / "values.schema.json").write_text('{"type": "object"}')
    code, out, err = run_cli(capsys, chart_repo, *hook["entry"].split()[1:], "--chart", "charts/demo",
                             "--values", "charts/demo/values.yaml", planted.name)
    assert code == 0 and "2 objects checked" in out, out + err  # the values file and the planted ConfigMap


def test_validate_hook_skips_yaml_that_is_no_manifest_and_counts_it(capsys, chart_repo) -> None:
    """E10: pre-commit hands every YAML file to the hook; mkdocs.yml, docker-compose.yaml, .yamllint and a
    kustomization are skipped with a count; an object that has only one of apiVersion and kind is a manifest
    with a mistake and still fails; without --pre-commit such files stay errors (validate was asked for them)."""
    hook = next(h for h in HOOKS if h["id"] == "cogniverse-chart-validate")
    (chart_repo / "half.yaml").write_text("kind: ConfigMap\nmetadata: {name: half}\n")
    code, out, err = run_cli(capsys, chart_repo, "-o", "json", *hook["entry"].split()[1:], *OTHER_YAML)
    result = json.loads(out)
    assert code == 0 and result["checked"] == 0 and result["not_manifests"] == 4, (out, err)
    code, out, err = run_cli(capsys, chart_repo, "-o", "json", *hook["entry"].split()[1:], *OTHER_YAML, "half.yaml")
    result = json.loads(out)
    assert code == 1 and [f["name"] for f in result["findings"]] == ["half"] and result["not_manifests"] == 4
    code, out, err = run_cli(capsys, chart_repo, "validate", "mkdocs.yml")
    assert code == 1 and "object has no apiVersion and kind" in out, out + err


def _run_action_step(tmp_path: Path, stub_body: str, args: str = "", output: str = "github",
                     output_file: str = "") -> subprocess.CompletedProcess[str]:
    """action.yml's run step (command `check`) in bash as a runner runs it, with a stand-in for the installed
    tool whose body is STUB_BODY (a shell script) and $GITHUB_OUTPUT in tmp_path."""
    step = next(s for s in ACTION["runs"]["steps"] if "INPUT_ARGS" in s.get("env", {}))
    stub = tmp_path / "runner-temp" / "cogniverse-chart" / "bin" / "cogniverse-chart"
    stub.parent.mkdir(parents=True)
    stub.write_text(f"#!/bin/sh\n{stub_body}\n")
    stub.chmod(0o755)
    (tmp_path / "github-output").write_text("")
    env = {"PATH": os.environ["PATH"], "RUNNER_TEMP": str(tmp_path / "runner-temp"), "INPUT_ARGS": args,
           "GITHUB_OUTPUT": str(tmp_path / "github-output"), "INPUT_COMMAND": "check", "INPUT_OUTPUT": output,
           "INPUT_OUTPUT_FILE": output_file}
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args,argv", [
    ("--helm 3\n--strict --kube-version 1.33\n", ["--helm", "3", "--strict", "--kube-version", "1.33"]),
    ("$(touch PWNED) `id` *", ["$(touch", "PWNED)", "`id`", "*"]),
    ("", []),
])
def test_action_passes_every_line_of_args_as_words_and_runs_none(tmp_path: Path, args: str, argv: list[str]) -> None:
    """The run step with a stand-in for the installed tool that prints its arguments: a multi-line `args: |`
    loses no line, and nothing in the input is executed or globbed."""
    proc = _run_action_step(tmp_path, 'for a in "$@"; do echo "[$a]"; done', args=args, output="github")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [f"[{a}]" for a in ["--output", "github", "check", *argv]]
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("output_file,code,written", [("reports/sub/results.sarif", 0, True),
                                                       ("blocker/results.sarif", 2, False)])
def test_action_makes_the_output_file_folder_and_calls_an_unwritable_one_bad_input(
        tmp_path: Path, output_file: str, code: int, written: bool) -> None:
    """`output-file: reports/results.sarif` failed in bash ("No such file or directory") and reported
    exit-code=1, which means findings; the folder is now made, and a path that cannot be written is exit 2."""
    (tmp_path / "blocker").write_text("a file where a folder belongs")
    proc = _run_action_step(tmp_path, "echo report", output="sarif", output_file=output_file)
    assert proc.returncode == code and f"exit-code={code}" in (tmp_path / "github-output").read_text(), proc.stderr
    assert (tmp_path / output_file).is_file() == written
    if written:
        assert (tmp_path / output_file).read_text() == "report\n"
    else:
        assert "output-file blocker/results.sarif cannot be written" in proc.stderr
