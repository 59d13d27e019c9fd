"""The CLI: exit codes (0 clean, 1 findings, 2 bad input), one-line errors, --output json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cogniverse_chart.cli import main
from cogniverse_chart.validate import DEFAULT_KUBE_VERSIONS
from toolkit_utils import run_cli

FIXTURES = Path(__file__).parents[1] / "fixtures"
GOOD = FIXTURES / "lint" / "policy__image-tag" / "good.yaml"
BAD = FIXTURES / "lint" / "policy__image-tag" / "bad.yaml"
CLI = [sys.executable, "-m", "cogniverse_chart.cli"]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI as a real process (for stdin and the process exit code)."""
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, text=True, timeout=120)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """The CLI in process (no interpreter start-up per case): (exit code, stdout, stderr)."""
    def call(*args: str) -> tuple[int, str, str]:
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err
    return call


@pytest.mark.parametrize("args,needle", [
    (["validate", "/no/such/file.yaml"], "/no/such/file.yaml: no such file or directory"),
    (["lint", "/no/such/dir"], "/no/such/dir: no such file or directory"),
    (["lint", "--profile", "nope"], "unknown profile 'nope'"),
    (["check", "--profile", "nope"], "unknown profile 'nope'"),
    (["lint", "--disable", "policy/nope", str(GOOD)], "--disable policy/nope: unknown rule id"),
    (["validate"], "nothing to validate"),
    (["validate", "--kube-version", "1.2", str(GOOD)], "no bundled Kubernetes 1.2 schemas"),
    (["validate", "--values", "/no/values.yaml"], "/no/values.yaml: no such file"),
])
def test_bad_input_is_one_line_and_exit_2(cli, args: list[str], needle: str) -> None:
    code, _, err = cli(*args)
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err


def test_binary_file_and_empty_directory_are_bad_input(cli, tmp_path: Path) -> None:
    (tmp_path / "blob.yaml").write_bytes(b"\xc2\x00\xff\xfe")
    code, _, err = cli("validate", str(tmp_path / "blob.yaml"))
    assert code == 2 and "Traceback" not in err and "not UTF-8 text" in err
    (tmp_path / "empty").mkdir()
    code, _, err = cli("lint", str(tmp_path / "empty"))
    assert code == 2 and "no *.yaml, *.yml or *.json files" in err


def test_bad_yaml_names_file_and_line(cli, tmp_path: Path) -> None:
    f = tmp_path / "broken.yaml"
    f.write_text("apiVersion: v1\nkind: ConfigMap\n---\nmetadata: {name: [x\n")
    code, out, err = cli("lint", str(f))  # the readable ConfigMap is linted, the broken document a finding (F14)
    assert code == 1 and "Traceback" not in err
    assert f"error[schema/invalid-yaml] {f}: line 5, column 1: invalid YAML" in out, out + err
    only = tmp_path / "only.yaml"
    only.write_text("metadata: {name: [x\n")  # nothing readable at all: bad input
    code, _, err = cli("lint", str(only))
    assert code == 2 and f"{only}:2:1: invalid YAML" in err and len(err.strip().splitlines()) == 1, err
    # validate read the first document: the broken one is a finding at its line, and the run goes on (E11)
    code, out, err = cli("validate", str(f))
    assert code == 1 and "Traceback" not in err
    assert f"error[schema/invalid-yaml] {f}: line 5, column 1: invalid YAML" in out, out


def test_non_mapping_document_is_bad_input(cli, tmp_path: Path) -> None:
    f = tmp_path / "list.yaml"
    f.write_text("- a\n- b\n")
    code, _, err = cli("validate", str(f))
    assert code == 2 and "expected a mapping" in err


def test_validate_exit_codes_and_stdin() -> None:
    assert main(["validate", str(GOOD)]) == 0
    p = run("validate", "-", stdin=GOOD.read_text().replace("image:", "imag:", 1))
    assert p.returncode == 1
    assert "<stdin>" in p.stdout and "unknown field" in p.stdout


def test_validate_json_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "cm.yaml"
    f.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: 1}\n")
    assert main(["--output", "json", "validate", str(f)]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["checked"] == 1 and out["summary"]["error"] == 2
    assert {x["path"] for x in out["findings"]} == {"$.data.a"}
    assert {x["rule"] for x in out["findings"]} == {f"schema/k8s-{v}" for v in DEFAULT_KUBE_VERSIONS}


def test_validate_values_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "values.yaml"
    f.write_text("runtimee: {replicas: 2}\n")
    assert main(["validate", "--values", str(f)]) == 1
    out = capsys.readouterr().out
    assert "schema/values" in out and "unknown field 'runtimee'" in out
    profiles = sorted((Path(__file__).parents[2] / "values").glob("*.yaml"))
    assert main(["validate", *[a for p in profiles for a in ("--values", str(p))]]) == 0


def test_validate_values_without_helm_reads_patterns_as_helm_does(tmp_path: Path, capsys, monkeypatch) -> None:
    """D21: without a helm on PATH, `fullnameOverride: "abc\\n"` passed (Python's `$` also matches before a final
    newline) while Helm 3 and 4 refuse it; and a no-break space, which Go's ASCII \\s does not match, was refused
    while Helm accepts it. The schema's patterns now mean what they mean in Go, with or without Helm."""
    from cogniverse_chart.commands import validate as validate_command
    from cogniverse_chart.values_check import validate_values

    monkeypatch.setattr(validate_command, "_helm_or_none", lambda: None)
    for value, code in (('"abc\\n"', 1), ('"abc"', 0)):
        (tmp_path / "v.yaml").write_text(f"fullnameOverride: {value}\n")
        assert main(["-o", "json", "validate", "--values", str(tmp_path / "v.yaml")]) == code
        found = json.loads(capsys.readouterr().out)["findings"]
        assert [x["path"] for x in found] == (["$.fullnameOverride"] if code else []), found
    schema = {"properties": {"t": {"type": "string", "pattern": "^[^\\s'\"]+$"}}}
    assert validate_values({"t": "a\u00a0b"}, schema, "v") == [] and validate_values({"t": "a b"}, schema, "v")


def test_lint_exit_codes_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--disable", "policy/", str(GOOD)]) == 0
    capsys.readouterr()
    assert main(["-o", "json", "lint", str(BAD)]) == 1
    out = json.loads(capsys.readouterr().out)
    hit = next(x for x in out["findings"] if x["rule"] == "policy/image-tag")
    assert hit["kind"] == "Deployment" and hit["path"].endswith(".image") and hit["severity"] == "error"
    assert main(["lint", "--disable", "policy/image-tag", "--disable", "policy/resources", str(BAD)]) == 0


def test_lint_list_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-o", "json", "lint", "--list-rules"]) == 0
    rules = json.loads(capsys.readouterr().out)
    assert {"policy/shell-injection", "policy/cron-overlap"} <= {r["id"] for r in rules}
    assert all(r["severity"] in ("error", "warning", "info") and r["summary"] for r in rules)


def test_lint_chart_profiles_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["-o", "json", "lint"])
    out = json.loads(capsys.readouterr().out)
    assert set(out["profiles"]) == {p.stem for p in (Path(__file__).parents[2] / "values").glob("*.yaml")}
    assert out["checked"] > 0 and code == (1 if out["summary"]["error"] else 0)


def test_schemas_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-o", "json", "schemas", "list"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {(r["family"], r["version"]) for r in rows} >= {("k8s", "1.30"), ("k8s", "1.35"), ("k8s", "1.36"),
                                                           ("k8s", "1.37"), ("argo", "3.7"), ("argo", "4.0")}


def test_check_runs_everything_with_one_summary(capsys: pytest.CaptureFixture[str]) -> None:
    from cogniverse_chart.helm import available_helms

    code = main(["-o", "json", "check"])
    out = json.loads(capsys.readouterr().out)
    names = {p.stem for p in (Path(__file__).parents[2] / "values").glob("*.yaml")}
    majors = [h.major for h in available_helms()]
    expected = {f"{n}@helm{m}" for n in names for m in majors} if len(majors) > 1 else names
    assert set(out["profiles"]) == expected  # every profile rendered with every Helm major found
    assert out["checked"] == sum(p["objects"] for p in out["profiles"].values()) > 0
    assert set(out["timing"]) == {"render_s", "validate_lint_s", "total_s"}
    assert code == (1 if out["summary"]["error"] else 0)
    main(["check", "--profile", "k3s", "--helm", "4"])
    human = capsys.readouterr().out
    assert "profile k3s:" in human and human.rstrip().splitlines()[-1].startswith("check: ")


def test_check_reports_stale_generated_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    from cogniverse_chart import CHART_DIR
    chart = tmp_path / "cogniverse"
    shutil.copytree(CHART_DIR, chart)
    schema = chart / "values.schema.json"
    schema.write_text(schema.read_text() + "\n")  # not what `cogniverse-chart schema` writes
    readme = chart / "README.md"
    head, table = readme.read_text().split("<!-- values-table:start -->", 1)
    readme.write_text(head + "<!-- values-table:start -->\n| hand-edited |" + table)
    assert main(["-o", "json", "check", "--chart", str(chart), "--profile", "k3s", "--helm", "3"]) == 1
    out = json.loads(capsys.readouterr().out)
    rules = {f["rule"] for f in out["findings"]}
    assert "generated/values-schema" in rules and "generated/docs" in rules


PROBE = """apiVersion: v1
kind: ConfigMap
metadata:
  name: probe
data:
  helm: {{ .Capabilities.HelmVersion.Version | quote }}
  marker: {{ .Values.marker | default "unset" | toString | quote }}
{{- if and .Values.failOn (hasPrefix (toString .Values.failOn) .Capabilities.HelmVersion.Version) }}
{{- fail (printf "rendered by %s" .Capabilities.HelmVersion.Version) }}
{{- end }}
{{- if .Values.unclosed }}
  unclosed: [{{ .Values.unclosed }}
{{- end }}
"""


@pytest.fixture(scope="module")
def probe_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`helm create` plus a ConfigMap that shows which Helm rendered it and a --set value, that fails on
    the Helm major named by `failOn`, and that is not YAML with `unclosed` set."""
    from toolkit_utils import helm_create

    chart = helm_create(tmp_path_factory.mktemp("probe"))
    (chart / "templates" / "probe.yaml").write_text(PROBE)
    return chart


@pytest.mark.parametrize("major", ["3", "4"])
def test_helm_and_set_reach_render_lint_and_check(capsys, probe_chart: Path, major: str) -> None:
    """`--helm N` renders with Helm N in render, lint and check, and `--set`/`--set-string` reach the render
    in each (one option definition: render had no --helm, lint and check no --set; attack24 C18)."""
    code, out, err = run_cli(capsys, probe_chart, "-o", "json", "render", "--helm", major, "--set", r"marker=a\,b",
                             "--set", "replicaCount=2,service.port=81")
    [probe] = [o for o in json.loads(out) if o["metadata"]["name"] == "probe"]
    assert code == 0 and probe["data"] == {"helm": probe["data"]["helm"], "marker": "a,b"}, err
    assert probe["data"]["helm"].startswith(f"v{major}.")
    code, out, _ = run_cli(capsys, probe_chart, "-o", "json", "render", "--helm", major, "--set-string", "marker=0123")
    assert [o["data"]["marker"] for o in json.loads(out) if o["metadata"]["name"] == "probe"] == ["0123"]
    other = "4" if major == "3" else "3"
    for command in ("lint", "check"):
        code, _, err = run_cli(capsys, probe_chart, command, "--helm", major, "--set", f"failOn=v{major}")
        assert code == 2 and f"rendered by v{major}." in err, (command, err)
        code, out, err = run_cli(capsys, probe_chart, "-o", "json", command, "--helm", other,
                                 "--set", f"failOn=v{major}", "--set", "image.tag=latest")
        assert code == 1 and "rendered by" not in err, (command, err)
        assert any(f["rule"] == "policy/image-tag" and "nginx:latest" in f["message"]
                   for f in json.loads(out)["findings"]), out


def test_helm_all_lints_with_every_major_and_render_takes_one(capsys, probe_chart: Path) -> None:
    from cogniverse_chart.helm import available_helms

    code, out, _ = run_cli(capsys, probe_chart, "-o", "json", "lint", "--helm", "all")
    majors = [h.major for h in available_helms()]
    assert json.loads(out)["profiles"] == ([f"default@helm{m}" for m in majors] if len(majors) > 1 else ["default"])
    for bad in ("all", "5", "/usr/bin/helm"):
        code, _, err = run_cli(capsys, probe_chart, "render", "--helm", bad)
        [line] = err.strip().splitlines()
        assert code == 2 and f"argument --helm: invalid choice: '{bad}' (choose from '3', '4')" in line, err


def test_check_gives_set_to_helm_lint_too(probe_chart: Path) -> None:
    """`check` runs `helm lint` of each scenario as `ct lint` does: with the same --set on top."""
    from cogniverse_chart import ct
    from cogniverse_chart.helm import find_helm

    def lint(**kw: list[str]) -> list[str]:
        return [f"{f.source}: {f.message}" for f in ct.helm_lint(probe_chart, find_helm(), {"default": None}, **kw)[
            "default"] if f.severity.value == "error"]

    assert not lint() and any("probe.yaml: unable to parse YAML" in m for m in lint(set_values=["unclosed=x"]))
    assert any("probe.yaml: unable to parse YAML" in m for m in lint(set_string_values=["unclosed=x"]))


@pytest.mark.parametrize("command", ["render", "lint", "check"])
def test_a_set_value_that_looks_like_a_helm_option_stays_a_value(capsys, probe_chart: Path, command: str) -> None:
    """`--set=--debug` used to reach helm as `--set --debug`, which Helm read as its own --debug option (and
    `--set=--post-renderer=PROG` would run PROG): values are joined to their option, so Helm parses it as
    --set data and says what is wrong with it."""
    code, out, err = run_cli(capsys, probe_chart, command, "--set=--debug")
    assert code == 2 and 'failed parsing --set data: key "--debug" has no value' in err, err
    assert "[debug]" not in out + err
    code, out, err = run_cli(capsys, probe_chart, "-o", "json", command, "--set-string=--kube-version=1.0", "--helm", "3")
    assert "Traceback" not in err and "kube-version" not in err, err  # a values key, not Helm's option


@pytest.mark.parametrize("argv", [["render", "--helm", "3"], ["lint", "--helm", "3"], ["lint", "--helm", "all"],
                                  ["check", "--helm", "3"], ["check"]], ids=" ".join)
def test_a_helm_variable_that_names_no_such_helm_is_an_error_not_a_fallback(capsys, monkeypatch, probe_chart: Path,
                                                                         tmp_path: Path, argv: list[str]) -> None:
    """`--helm 3` with $HELM3 naming something else (not helm, or Helm 4) used to fall back silently to
    another Helm 3; `--helm all` (check's default) left that major out. Both now say what $HELM3 is."""
    from cogniverse_chart.helm import find_helm

    fake = tmp_path / "not-helm"
    fake.write_text("#!/bin/sh\necho hello\n")
    fake.chmod(0o755)
    for value, says in ((str(fake), "`version --short` names no Helm 3"), (find_helm(4).path, "it is helm v4.")):
        monkeypatch.setenv("HELM3", value)
        code, _, err = run_cli(capsys, probe_chart, *argv)
        [line] = err.strip().splitlines()
        assert code == 2 and f"$HELM3={value!r}: not a Helm 3 binary ({says}" in line, err


@pytest.mark.parametrize("argv", [["render"], ["lint"]], ids=" ".join)
def test_a_helm_variable_without_a_major_that_names_no_helm_is_an_error(capsys, monkeypatch, probe_chart: Path,
                                                                       tmp_path: Path, argv: list[str]) -> None:
    """D35: $HELM naming a file that is no helm (a typo, /etc/passwd, a folder) was skipped without a word and
    the helm on PATH used; an empty $HELM still means unset."""
    for value in (str(tmp_path / "missing"), "/etc/passwd", str(tmp_path)):
        monkeypatch.setenv("HELM", value)
        code, _, err = run_cli(capsys, probe_chart, *argv)
        [line] = err.strip().splitlines()
        assert code == 2 and f"$HELM={value!r}: not a Helm (>= 3.14) binary" in line, err
    monkeypatch.setenv("HELM", "")
    assert run_cli(capsys, probe_chart, "render")[0] == 0


def test_a_helm_that_cannot_start_is_named_with_what_it_said(capsys, monkeypatch, probe_chart: Path) -> None:
    """E14: HELM_DRIVER=bogus made every helm fail `version`, and the error said no helm was on PATH."""
    from cogniverse_chart import helm

    monkeypatch.delenv("HELM", raising=False)
    monkeypatch.setenv("HELM_DRIVER", "bogus")
    helm._probe.cache_clear()
    try:
        code, _, err = run_cli(capsys, probe_chart, "render")
    finally:
        monkeypatch.delenv("HELM_DRIVER")
        helm._probe.cache_clear()
        helm._FAILED.clear()
    [line] = err.strip().splitlines()
    assert code == 2 and "is there but `helm version` failed" in line and 'unknown driver "bogus"' in line, err


def test_a_double_dash_before_the_command_lists_every_command(capsys, tmp_path: Path) -> None:
    """E28: `-o json -- validate` said "choose from 'validate'" (only the module the fast path imported)."""
    code, out, err = run_cli(capsys, tmp_path, "-o", "json", "--", "validate")
    assert code == 2 and "invalid choice: '--'" in err
    assert all(f"'{name}'" in err for name in ("render", "validate", "lint", "check", "ct")), err
    assert json.loads(out)["ok"] is False


def test_a_reader_that_closes_the_pipe_early_is_no_finding(tmp_path: Path) -> None:
    """D58: `validate ... | head -c 10` on a clean stream exited 1 (= findings). A closed pipe exits 141
    (128 + SIGPIPE, what a shell tool killed by the signal gives), quietly."""
    many = "".join(f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n" for i in range(3000))
    (tmp_path / "many.yaml").write_text(many)
    proc = subprocess.Popen([sys.executable, "-m", "cogniverse_chart.cli", "-o", "json", "validate", "--summary",
                             "many.yaml"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(1)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) in (0, 141) and "Traceback" not in err, err
    (tmp_path / "bad.yaml").write_text(many.replace("name: c", "data: {a: 1}, name: c"))
    proc = subprocess.Popen([sys.executable, "-m", "cogniverse_chart.cli", "validate", "bad.yaml"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(1)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141 and "Traceback" not in err, err
