"""Hostile input to the CLI (issue 11, class 6): every class ends in one line naming the problem and
exit 2, quickly and in little memory; never a traceback, a hang or gigabytes. Hostile YAML: test_hostile_yaml.py.

The corpus is tests/fixtures/hostile/ (one file per class); the cases below say what each one tries.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from cogniverse_chart import CHART_DIR, REPO_ROOT, io_limits
from cogniverse_chart.cli import main
from standin_servers import StandinServer, kubeconfig
from toolkit_utils import CLI, FIXTURES, helm_create, one_line_error, run_cli

HOSTILE = FIXTURES / "hostile"


@pytest.mark.parametrize("argv,needle", [
    (["validate", "--values", "{dir}"], "{dir}: is a directory, not a file"),
    (["render", "--values", "{dir}"], "values file {dir}: is a directory, not a file"),
    (["wait", "x", "--kubeconfig", "{dir}"], "{dir}: is a directory, not a kubeconfig file"),
])
def test_directories_where_files_belong(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                        argv: list[str], needle: str) -> None:
    line = one_line_error(capsys, [a.format(dir=tmp_path) for a in argv])
    assert needle.format(dir=tmp_path) in line


def test_a_symlink_loop_or_dangling_link_is_named_as_one(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`validate loop` said "no such file or directory" for a link that is there."""
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    line = one_line_error(capsys, ["validate", str(tmp_path / "a")])
    assert f"{tmp_path / 'a'}: a symbolic link to {tmp_path / 'b'}, which does not exist or loops back" in line


def test_unwritable_out_dir_fails_before_rendering(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    line = one_line_error(capsys, ["render", "--out-dir", str(blocker)])
    assert f"--out-dir {blocker}: exists and is not a directory" in line
    line = one_line_error(capsys, ["render", "--out-dir", str(blocker / "sub")])
    assert f"--out-dir {blocker / 'sub'}: cannot create it: Not a directory" in line


def test_render_out_dir_keeps_namesakes_in_files_of_their_own(capsys: pytest.CaptureFixture[str],
                                                               tmp_path: Path) -> None:
    """D38: one ConfigMap name in two namespaces (a `range` over namespaces) and in two API groups wrote one
    file, the last object silently overwriting the first; each object now has a file of its own."""
    chart = helm_create(tmp_path / "c")
    (chart / "templates" / "shared.yaml").write_text(
        '{{- range list "team-a" "team-b" "team-b" }}\n---\napiVersion: v1\nkind: ConfigMap\n'
        'metadata: {name: shared, namespace: {{ . }}}\ndata: {ns: {{ . }}}\n{{- end }}\n'
        "---\napiVersion: example.com/v1\nkind: ConfigMap\nmetadata: {name: shared, namespace: team-a}\n")
    code, out, err = run_cli(capsys, tmp_path, "render", "--chart", str(chart), "--out-dir", "out")
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert code == 0 and "wrote 8 objects" in out and len(files) == 8, (out, err, files)
    assert "deployment-demo.yaml" in files and "configmap-team-a-v1-shared.yaml" in files, files
    assert "configmap-team-a-example.com_v1-shared.yaml" in files, files
    assert {p.read_text().count("ns: team-b") for p in (tmp_path / "out").glob("configmap-team-b*")} == {1}


@pytest.mark.parametrize("output", ["human", "json", "sarif", "junit", "github"])
def test_a_report_that_cannot_be_written_is_one_line_and_exit_2(tmp_path: Path, output: str) -> None:
    """The Action's output-file on a full disk: the report's write failed, writing the error report failed
    again, and the run ended in a traceback with exit 1 (read as "findings")."""
    (tmp_path / "bad.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {y: 2}\n")
    with open("/dev/full", "w") as full:
        proc = subprocess.run([*CLI, "-o", output, "validate", "bad.yaml"], cwd=tmp_path, stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "cogniverse-chart validate: error: cannot write the output or read an input: No space left on device"]


@pytest.mark.parametrize("option", ["--release", "--namespace"])
def test_a_release_or_namespace_that_looks_like_an_option_never_reaches_helm(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, option: str) -> None:
    """The release is Helm's positional argument: `--release=--post-renderer=X` made Helm run X on the
    rendered chart. Both names are checked as Helm and Kubernetes check them before Helm starts."""
    marker = tmp_path / "ran"
    script = tmp_path / "post.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\ncat\n")
    script.chmod(0o755)
    line = one_line_error(capsys, ["render", f"{option}=--post-renderer={script}"])
    assert f"{option} '--post-renderer={script}': expected a " in line
    assert not marker.exists()


def test_a_chart_folder_named_like_an_option_is_rendered_as_a_folder(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(helm_create(tmp_path / "made"), tmp_path / "--debug")
    monkeypatch.chdir(tmp_path)
    assert main(["render", "--chart=--debug", "--release", "demo"]) == 0
    assert "kind: Deployment" in capsys.readouterr().out


@pytest.mark.parametrize("name,needle", [
    ("kubeconfig-latin1", "kubeconfig-latin1: not UTF-8 text (byte 61)"),
    ("kubeconfig-not-a-mapping", "kubeconfig-not-a-mapping: not a kubeconfig"),
])
def test_bad_kubeconfig(capsys: pytest.CaptureFixture[str], name: str, needle: str) -> None:
    for argv in (["wait", "x"], ["submit", "video-ingestion"]):
        line = one_line_error(capsys, [*argv, "--kubeconfig", str(HOSTILE / name)])
        assert needle in line


def test_kubeconfig_fields_of_the_wrong_type_and_kubeconfig_lists(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """attack24c E34: `clusters: 5` said "no usable kubeconfig ('int' object is not iterable)"; a missing file in
    a $KUBECONFIG list was an error (kubectl skips it); a list of nothing but missing files still is."""
    bad = tmp_path / "badkc.yaml"
    bad.write_text("apiVersion: v1\nkind: Config\nclusters: 5\n")
    line = one_line_error(capsys, ["wait", "x", "--kubeconfig", str(bad)])
    assert f"{bad}: clusters must be a list of mappings (each with a name), got int" in line
    monkeypatch.setenv("KUBECONFIG", f"{bad}:{tmp_path / 'nonexist'}")
    assert "clusters must be a list" in one_line_error(capsys, ["wait", "x"])  # the missing one is skipped
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'none1'}:{tmp_path / 'none2'}")
    assert "none1: kubeconfig not found" in one_line_error(capsys, ["wait", "x"])


@pytest.mark.parametrize("option,value", [
    ("--poll", "-1"), ("--poll", "0"), ("--timeout", "nan"), ("--timeout", "inf"), ("--timeout", "-5"),
    ("--timeout", "1e12"), ("--timeout", "soon"),
])
def test_numeric_options_are_range_checked(capsys: pytest.CaptureFixture[str], option: str, value: str) -> None:
    """`wait --timeout nan` never returned and `--poll -1` ended in a traceback; now argparse refuses them."""
    line = one_line_error(capsys, ["wait", "x", option, value])
    assert f"argument {option}:" in line and repr(value) in line and "--help" in line


# --- every subcommand over a hostile corpus (issue 21): files, charts and servers ---------------------------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A FIFO (opening it waits for a writer), /dev/zero (never ends), a sparse file one byte over the
    16 MiB bound (read whole it would be 16 MiB; refused by its size), non-UTF-8 text, a directory, and two
    charts: one whose Chart.yaml is a FIFO, one whose values.yaml is /dev/zero."""
    d = tmp_path_factory.mktemp("hostile")
    os.mkfifo(d / "fifo.yaml")
    with open(d / "huge.yaml", "wb") as f:
        f.truncate(io_limits.MAX_TEXT_BYTES + 1)
    (d / "dir").mkdir()
    for name, bad, make in (("chart-fifo", "Chart.yaml", os.mkfifo),
                            ("chart-zero", "values.yaml", lambda p: os.symlink("/dev/zero", p))):
        shutil.copytree(CHART_DIR, d / name)
        (d / name / bad).unlink()
        make(d / name / bad)
    return {"fifo": d / "fifo.yaml", "device": Path("/dev/zero"), "huge": d / "huge.yaml",
            "latin1": HOSTILE / "latin1.yaml", "dir": d / "dir",
            "chart-fifo": d / "chart-fifo", "chart-zero": d / "chart-zero"}


#: every place a subcommand takes a file: {x} is the hostile input, {out} a scratch directory
FILE_ARGS = {
    "validate": ["validate", "{x}"], "validate --values": ["validate", "--values", "{x}"],
    "lint": ["lint", "{x}"], "render -f": ["render", "-f", "{x}"], "generate -f": ["generate", "--check", "-f", "{x}"],
    "wait --kubeconfig": ["wait", "wf", "--kubeconfig", "{x}"], "list --kubeconfig": ["list", "--kubeconfig", "{x}"],
    "submit --kubeconfig": ["submit", "video-ingestion", "--kubeconfig", "{x}"],
    "trigger --kubeconfig": ["trigger", "daily-backup", "--kubeconfig", "{x}"],
    "generate --from-release": ["generate", "--from-release", "--check", "--kubeconfig", "{x}", "--out-dir", "{out}"],
    "package --ca-file": ["package", "-d", "{out}", "--push", "oci://127.0.0.1:9/c", "--ca-file", "{x}"],
    "package --verify-keyring": ["package", "-d", "{out}", "--verify-keyring", "{x}"],
}
CHART_ARGS = {
    "render": ["render", "--chart", "{x}"], "check": ["check", "--chart", "{x}", "--no-docs", "--helm", "3"],
    "docs": ["docs", "--check", "--chart", "{x}"], "annotations": ["annotations", "--check", "--chart", "{x}"],
    "schema": ["schema", "--check", "--chart", "{x}"], "package": ["package", "-d", "{out}", "--chart", "{x}"],
    "validate --values": ["validate", "--values", str(REPO_ROOT / "values" / "smoke.yaml"), "--chart", "{x}"],
}


def _alarm(signum: int, frame: object) -> None:
    raise TimeoutError("the command hung")


def refused(capsys: pytest.CaptureFixture[str], argv: list[str], *, within: float = 20, ok: bool = False) -> str:
    """Run the CLI in process under an alarm: it must end within `within` s, exit 1 or 2 (or 0 when `ok`:
    the command does not read what is hostile), with an error on stderr and no traceback; returns stderr."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(int(within))
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    err = capsys.readouterr().err
    assert "Traceback" not in err and ((ok and code == 0) or (code in (1, 2) and err.strip())), (argv, code, err)
    return err


#: what the message says of each kind; validate and lint stream their files (bounded per document), so a
#: huge file is refused by its content there (and they take directories); Helm, not the toolkit, reads a CA
#: bundle's or keyring's content, so non-UTF-8 text there is not the toolkit's to refuse
SAYS = {"fifo": "named pipe (FIFO)", "device": "is a device", "huge": "larger than", "dir": "is a directory"}


@pytest.mark.parametrize("command, kind", [(c, k) for c in FILE_ARGS for k in ("fifo", "device", "huge", "latin1", "dir")
                                           if not (k == "latin1" and c.startswith("package"))])
def test_every_file_argument_refuses_hostile_files(capsys, tmp_path, corpus, command: str, kind: str) -> None:
    x = corpus[kind]
    err = refused(capsys, [a.format(x=x, out=tmp_path) for a in FILE_ARGS[command]])
    assert str(x) in err or x.name in err, err
    if kind in SAYS and not (kind in ("huge", "dir") and command in ("validate", "lint")):
        assert SAYS[kind] in err, err


@pytest.mark.parametrize("kind", ["fifo", "device", "huge", "chart-fifo", "chart-zero"])
@pytest.mark.parametrize("command", CHART_ARGS)
def test_every_chart_argument_refuses_hostile_charts(capsys, tmp_path, corpus, command: str, kind: str) -> None:
    x = corpus[kind]
    # `schema` reads the chart's schema/ sources and `validate --values` its values.schema.json only
    unread = kind.startswith("chart-") and command in ("schema", "validate --values")
    err = refused(capsys, [a.format(x=x, out=tmp_path) for a in CHART_ARGS[command]], within=60, ok=unread)
    assert unread or str(x) in err or "irregular file" in err, err


@pytest.mark.parametrize("mode, timeout, needle", [
    ("stall", 3, "the API server did not answer in time (--timeout 3 s)"),
    ("trickle", 3, "no result within --timeout 3 s"),
    # the bound, not the deadline, ends these: a deadline that a loaded machine cannot make is no test of it
    ("endless", 60, "larger than 64 MiB, the limit for this answer"),
    ("gzip-bomb", 60, "larger than 64 MiB, the limit for this answer"),  # counted after decompression
    ("garbage", 60, "the API server's answer is not JSON"),
])
@pytest.mark.parametrize("argv", [["wait", "wf"], ["list"], ["submit", "video-ingestion"], ["trigger", "daily-backup"]],
                         ids=["wait", "list", "submit", "trigger"])
def test_hostile_api_servers_end_within_the_timeout(capsys, tmp_path, mode: str, timeout: int, needle: str,
                                                    argv: list[str]) -> None:
    """Stand-in API servers on loopback (see standin_servers): a stalled one kept `wait --timeout 15` running
    past 45 s and an endless answer took 1.8 GB; now each command ends by its --timeout, naming why."""
    with StandinServer(mode) as srv:
        t0 = time.monotonic()
        err = refused(capsys, [*argv, "--kubeconfig", str(kubeconfig(tmp_path, srv.url)), "--timeout", str(timeout)],
                      within=timeout + 10)
        took = time.monotonic() - t0
    assert needle in err and len(err.strip().splitlines()) == 1, err
    assert took < timeout + 2, took


def test_a_stalled_api_server_ends_generate_from_release(capsys, tmp_path) -> None:
    with StandinServer("stall") as srv:
        t0 = time.monotonic()
        err = refused(capsys, ["generate", "--from-release", "--check", "--kubeconfig", str(kubeconfig(tmp_path, srv.url)),
                               "--timeout", "3", "--out-dir", str(tmp_path)])
    assert "get values did not finish within 3 s and was stopped" in err and time.monotonic() - t0 < 8, err


@pytest.mark.parametrize("field", ["tokenFile", "client-certificate", "client-key", "certificate-authority"])
def test_kubeconfig_files_are_bounded(capsys, tmp_path, corpus, field: str) -> None:
    """The client reads them whole: a tokenFile on /dev/zero took 1.8 GB; each is checked before."""
    kc = kubeconfig(tmp_path, "https://127.0.0.1:9")
    text = kc.read_text()
    if field == "certificate-authority":
        text = text.replace("insecure-skip-tls-verify: true", f"certificate-authority: {corpus['fifo']}")
    else:
        text = text.replace("token: standin", f"{field}: /dev/zero")
    kc.write_text(text)
    err = refused(capsys, ["list", "--kubeconfig", str(kc)])
    assert f"{field}" in err and ("is a device" in err or "named pipe" in err), err


def test_a_wrong_typed_workflow_field_is_a_finding_not_a_traceback(capsys, tmp_path) -> None:
    """`lint` once ended in a traceback on `templates: 5` or `metadata: [1]`; now the Argo schema names it."""
    f = tmp_path / "wf.yaml"
    f.write_text("apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {name: t}\n"
                 "spec: {entrypoint: main, templates: 5}\n---\n"
                 "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: [1]\nspec: {}\n")
    assert main(["lint", str(f)]) == 1
    out = capsys.readouterr().out
    assert "WorkflowTemplate/t $.spec.templates: expected array, got integer 5" in out, out
    assert "$.metadata: metadata must be a mapping" in out, out


def test_a_credential_plugin_that_hangs_is_stopped_at_the_timeout(capsys, tmp_path) -> None:
    """The kubernetes client waits for a users[].exec plugin without a timeout (`sleep 60` here kept
    `list --timeout 3` for 60 s, then logged an error and went on without credentials)."""
    kc = kubeconfig(tmp_path, "http://127.0.0.1:9")
    kc.write_text(kc.read_text().replace("token: standin", "exec: {apiVersion: client.authentication.k8s.io/v1beta1, "
                                                          "command: sleep, args: ['60'], interactiveMode: Never}"))
    t0 = time.monotonic()
    err = refused(capsys, ["list", "--kubeconfig", str(kc), "--timeout", "3"])
    assert "the kubeconfig's credential plugin (users[].exec: sleep): no result within --timeout 3 s" in err, err
    assert len(err.strip().splitlines()) == 1 and time.monotonic() - t0 < 7


@pytest.mark.parametrize("argv", [["wait", "wf"], ["list"]], ids=["wait", "list"])
def test_an_api_server_sending_wrong_typed_workflows_is_named(capsys, tmp_path, argv: list[str]) -> None:
    with StandinServer("wrong-types") as srv:
        err = refused(capsys, [*argv, "--kubeconfig", str(kubeconfig(tmp_path, srv.url)), "--timeout", "5"])
    assert "the API server sent a Workflow with fields of the wrong type" in err and len(err.strip().splitlines()) == 1, err


def test_helm_output_is_read_back_up_to_a_bound(capsys, monkeypatch) -> None:
    """Helm's output goes to a temporary file and is read back only up to helm.MAX_OUTPUT_BYTES (256 MiB;
    lowered here): values that multiply the chart's objects cannot fill the toolkit's memory."""
    from cogniverse_chart import helm

    monkeypatch.setattr(helm, "MAX_OUTPUT_BYTES", 10_000)
    err = refused(capsys, ["render", "--profile", "smoke"])
    assert "template cogniverse printed more than 10,000 bytes; refused" in err, err


@pytest.mark.parametrize("argv,needle", [
    (["--label", "a b=c"], "--label 'a b=c': a label key is [PREFIX/]NAME"),
    (["--label", "app=bad value!"], "a label value is empty or at most 63"),
    (["--label", "x/y/z=1"], "a label key is [PREFIX/]NAME"),
    (["-p", "a=1", "-p", "a=2"], "--parameter a is given twice ('1' and '2')"),
    (["--label", "k=1", "--label", "k=1"], "--label k is given twice"),
    (["--namespace", "Bad_NS"], "--namespace 'Bad_NS': expected a namespace name"),
])
def test_submit_refuses_labels_namespaces_and_repeats_before_the_cluster(capsys, tmp_path: Path, argv: list[str],
                                                                         needle: str) -> None:
    """D37: bad label keys and values and a bad namespace went to the API server, and a repeated -p silently kept
    the last value; each is now one line before any connection (the kubeconfig points nowhere)."""
    config = kubeconfig(tmp_path, "https://127.0.0.1:1")
    for command in (["submit", "video-ingestion"], ["trigger", "daily-backup"]):
        line = one_line_error(capsys, [*command, "--kubeconfig", str(config), "--timeout", "2", *argv])
        assert needle in line, line


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/v.yaml", "https://example.invalid/values.yaml"])
def test_a_values_url_is_refused_as_a_url(capsys, url: str) -> None:
    """D14: `-f URL` said `values file not found: http:/127...` (the `//` folded); it now says URLs are not fetched."""
    line = one_line_error(capsys, ["render", "-f", url])
    assert "a URL, and URLs are not fetched" in line and "download the values file" in line, line

