"""Hostile input to the CLI (issue 11, class 6): every class ends in one line naming the problem and
exit 2, quickly and in little memory; never a traceback, a hang or gigabytes.

The corpus is tests/fixtures/hostile/ (one file per class); the cases below say what each one tries.
"""

from __future__ import annotations

import io
import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from cogniverse_chart import documents
from cogniverse_chart.perf import yaml_loader
from cogniverse_chart.cli import main
from cogniverse_chart.errors import ToolkitError

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
CLI = [sys.executable, "-m", "cogniverse_chart.cli"]


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the CLI in process; assert exit 2 with exactly one line on stderr, no traceback; return it."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_alias_bomb_is_refused_fast_in_little_memory() -> None:
    """394 bytes whose aliases expand to 926 million nodes (Helm refuses it; it once took 2.4 GB and 100 s).
    A subprocess with a timeout: a regression must fail the test, not hang the suite."""
    bomb = HOSTILE / "alias-bomb.yaml"
    assert bomb.stat().st_size < 400
    p = subprocess.run([*CLI, "validate", str(bomb)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert f"{bomb}:1: YAML aliases expand this document to 926,177,125 nodes" in p.stderr
    assert "alias bomb" in p.stderr


def test_small_aliases_and_merge_keys_still_work(tmp_path: Path) -> None:
    f = tmp_path / "anchors.yaml"
    f.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: &l {app: x}, annotations: *l}\n"
                 "data: {<<: {a: '1'}, b: '2'}\n")
    [doc] = documents.read_paths([str(f)])
    assert doc.obj["metadata"]["annotations"] == {"app": "x"} and doc.obj["data"] == {"a": "1", "b": "2"}


def test_recursive_alias_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    line = one_line_error(capsys, ["validate", str(HOSTILE / "recursive-alias.yaml")])
    assert "recursive-alias.yaml:3: a YAML alias refers to the node that contains it" in line


@pytest.mark.parametrize("name,where", [
    ("nested-brackets.yaml", ":4:"),    # 500 [ in flow style (once a RecursionError)
    ("nested-braces.json", ":1:"),      # 500 { in JSON
    ("nested-sequences.yaml", ":6:"),   # "- - - ..." 500 block sequences on one line
])
def test_deep_nesting_is_a_clear_error(capsys: pytest.CaptureFixture[str], name: str, where: str) -> None:
    line = one_line_error(capsys, ["validate", str(HOSTILE / name)])
    assert f"{name}{where}" in line and "nested more than 100 levels deep" in line


def test_real_crd_depth_is_well_within_the_nesting_limit() -> None:
    """The limit must not refuse real objects: the deepest bundled schema source (Argo's CRDs) is < 40."""
    assert yaml_loader.MAX_DEPTH >= 100
    text = "a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 60)) + "  " * 60 + "leaf: 1\n"
    assert documents.load_document(text)  # 60 levels of block mappings load fine


def test_non_utf8_file_names_the_byte(capsys: pytest.CaptureFixture[str]) -> None:
    line = one_line_error(capsys, ["validate", str(HOSTILE / "latin1.yaml")])
    assert "latin1.yaml: not UTF-8 text (byte 51)" in line


def test_non_utf8_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO((HOSTILE / "latin1.yaml").read_bytes())))
    line = one_line_error(capsys, ["validate", "-"])
    assert "<stdin>: not UTF-8 text (byte 51)" in line


def test_control_characters_are_refused_not_truncated(capsys: pytest.CaptureFixture[str]) -> None:
    """A NUL byte once made the fast parser stop reading silently; kubectl refuses the file."""
    line = one_line_error(capsys, ["validate", str(HOSTILE / "nul-bytes.yaml")])
    assert "nul-bytes.yaml" in line and "unacceptable character #x0000" in line


@pytest.mark.parametrize("argv,needle", [
    (["validate", "--values", "{dir}"], "{dir}: is a directory, not a file"),
    (["render", "--values", "{dir}"], "values file {dir}: is a directory, not a file"),
    (["wait", "x", "--kubeconfig", "{dir}"], "{dir}: is a directory, not a kubeconfig file"),
])
def test_directories_where_files_belong(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                        argv: list[str], needle: str) -> None:
    line = one_line_error(capsys, [a.format(dir=tmp_path) for a in argv])
    assert needle.format(dir=tmp_path) in line


def test_unwritable_out_dir_fails_before_rendering(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    line = one_line_error(capsys, ["render", "--out-dir", str(blocker)])
    assert f"--out-dir {blocker}: exists and is not a directory" in line
    line = one_line_error(capsys, ["render", "--out-dir", str(blocker / "sub")])
    assert f"--out-dir {blocker / 'sub'}: cannot create it: Not a directory" in line


@pytest.mark.parametrize("name,needle", [
    ("kubeconfig-latin1", "kubeconfig-latin1: not UTF-8 text (byte 61)"),
    ("kubeconfig-not-a-mapping", "kubeconfig-not-a-mapping: not a kubeconfig"),
])
def test_bad_kubeconfig(capsys: pytest.CaptureFixture[str], name: str, needle: str) -> None:
    for argv in (["wait", "x"], ["submit", "video-ingestion"]):
        line = one_line_error(capsys, [*argv, "--kubeconfig", str(HOSTILE / name)])
        assert needle in line


@pytest.mark.parametrize("option,value", [
    ("--poll", "-1"), ("--poll", "0"), ("--timeout", "nan"), ("--timeout", "inf"), ("--timeout", "-5"),
    ("--timeout", "1e12"), ("--timeout", "soon"),
])
def test_numeric_options_are_range_checked(capsys: pytest.CaptureFixture[str], option: str, value: str) -> None:
    """`wait --timeout nan` never returned and `--poll -1` ended in a traceback; now argparse refuses them."""
    line = one_line_error(capsys, ["wait", "x", option, value])
    assert f"argument {option}:" in line and repr(value) in line and "--help" in line


def test_oversized_document_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """One document larger than the limit (32 MiB; here lowered) is refused as it streams in: an endless
    stream without `---` (such as /dev/zero piped in) cannot exhaust memory."""
    monkeypatch.setattr(yaml_loader, "MAX_DOCUMENT_CHARS", 4096)
    monkeypatch.setattr(yaml_loader, "_READ_BLOCK", 1024)
    f = tmp_path / "big.yaml"
    f.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n" + "  k: v\n" * 2000)
    with pytest.raises(ToolkitError, match=r"big\.yaml:1: a document larger than 4,096 characters"):
        list(documents.read_paths([str(f)]))


def test_streams_are_read_incrementally() -> None:
    """`validate` consumes a stream document by document: the first documents of an endless stream
    arrive after reading a block or two, so memory is bounded by the largest document, not the stream
    (benchmarks/bench_validate.py prints the peak RSS for a 200 MB stream)."""
    doc = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n"
    reads = 0

    def endless(size: int) -> bytes:
        nonlocal reads
        reads += 1
        return doc * (size // len(doc) + 1)

    first = list(itertools.islice(documents.iter_documents(yaml_loader.split_stream(endless, "s"), "s"), 3))
    assert [d.kind for d in first] == ["ConfigMap"] * 3 and reads <= 2


@pytest.mark.parametrize("text", [
    "a: 1\n---\nb: 2\n", "---\na: 1\n--- # c\nb: 2\n---", "a: 1\n----\nb\n---x\n--- \t\n",
    "a: |\n  ---\n---\r\nb: 1\n", "", "---", "x\n---   #\n\n---\n",
])
def test_separator_search_matches_the_regex(text: str) -> None:
    assert list(yaml_loader._separators(text)) == [m.span() for m in yaml_loader._SPLIT_RE.finditer(text)]


def test_stream_chunks_match_whole_text_splitting() -> None:
    """Block boundaries anywhere (even inside a `---` line) split documents exactly as the whole text does."""
    text = "".join(f"# Source: t{i}.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n---\n"
                   for i in range(50)) + "---   # trailing\n"
    whole = [(c, n) for c, n, _ in yaml_loader.split_text(text)]
    for block in (1, 7, 64, 1000):
        raw = io.BytesIO(text.encode())
        orig = yaml_loader._READ_BLOCK
        try:
            yaml_loader._READ_BLOCK = block
            streamed = [(c, n) for c, n, _ in yaml_loader.split_stream(raw.read, "s")]
        finally:
            yaml_loader._READ_BLOCK = orig
        assert streamed == whole, block
