"""Hostile YAML (issue 11, class 6): alias bombs, deep nesting, bytes that are not UTF-8, control characters,
oversized documents, endless streams, bad separators and numbers too long for Go end in one line naming the
problem and exit 2, quickly and in little memory; never a traceback, a hang or gigabytes.

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
from toolkit_utils import CLI, FIXTURES, one_line_error, run_cli

HOSTILE = FIXTURES / "hostile"


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
    "a: 1\n---\nb: 2\n", "---\na: 1\n--- # c\nb: 2\n---", "a: 1\nb\n--- \t\n",
    "a: |\n  ---\n---\r\nb: 1\n", "", "---", "x\n---   #\n\n---\n", "a: 1\r\n--- \r\nb: 2\r\n---\r\n",
])
def test_separator_search_matches_the_regex(text: str) -> None:
    assert list(yaml_loader._separators(text)) == [m.span() for m in yaml_loader._SPLIT_RE.finditer(text)]


@pytest.mark.parametrize("line", ["----", "---x", "--- |", "--- {a: 1}"])
def test_a_line_that_starts_with_three_dashes_and_more_is_no_separator_but_an_error(line: str) -> None:
    """kubectl's YAMLReader refuses a `---` line followed by anything but blanks or a comment (D8)."""
    with pytest.raises(ToolkitError, match=r"^s:3: invalid document separator"):
        list(yaml_loader.split_text(f"a: 1\n---\n{line}\nb\n", "s"))


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


@pytest.mark.parametrize("name,text", [
    ("long.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {y: " + "1" * 200_000 + "}\n"),
    ("long.json", '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"y": -'
     + "9" * 5000 + "}}"),
    ("hex.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  y: 0x" + "f" * 3600 + "\n"),
])
def test_a_number_too_long_for_go_is_the_string_kubectl_reads(capsys, tmp_path: Path, name: str, text: str) -> None:
    """Python refuses to turn integers of over 4300 digits into text (the schema check's message, JSON output);
    Go's yaml reads a number out of its range as the text itself (kubectl accepts this ConfigMap): the reader
    does the same, in every output format, without building the huge integer."""
    (tmp_path / name).write_text(text)
    for output in ("human", "json", "sarif"):
        for command in ("validate", "lint"):
            code, out, err = run_cli(capsys, tmp_path, "-o", output, command, name)
            assert code == 0 and "Traceback" not in err, (command, output, err[-300:])


def test_long_quoted_digits_and_long_integers_below_the_limit_are_read(capsys, tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  y: \""
                                      + "1" * 9000 + "\"\n  z: \"" + "ab" * 5000 + "\"\n")
    assert main(["validate", str(tmp_path / "ok.yaml")]) == 0
    (tmp_path / "int.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {y: "
                                       + "1" * 300 + "}\n")  # a number (a float in Go), not text
    assert main(["validate", str(tmp_path / "int.yaml")]) == 1
    assert "expected string, got " in capsys.readouterr().out
