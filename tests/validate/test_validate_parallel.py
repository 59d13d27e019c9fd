"""`validate` on two cores (cogniverse_chart.perf.parallel): a large input is cut at a `---` line near its middle
and the second part checked by a forked child. What the user sees must not change: the same findings in the
same order, with the same lines in the CI formats, the same suppressions, --skip/--reject counts and errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cogniverse_chart.perf import parallel
from toolkit_utils import run_cli

IGNORE = "cogniverse-chart.io/ignore.schema"


def _cm(i: int, data: str = "{a: b}", annotations: str = "") -> str:
    return (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  namespace: n{i % 3}\n{annotations}"
            f"data: {data}\n")


def _stream(n: int, salt: str = "") -> str:
    """n documents: mostly valid ConfigMaps; every 97th invalid, every 131st suppressed (with a reason or
    without one), Secrets and Pods to skip or reject, a List, CRLF documents and comments on separators."""
    docs = []
    for i in range(n):
        if i % 131 == 0:
            reason = '"a tested exception"' if i % 2 else '""'
            docs.append(_cm(i, "{port: 8080}", f"  annotations:\n    {IGNORE}: {reason}\n"))
        elif i % 97 == 0:
            docs.append(_cm(i, "{port: 8080, bogus: {a: 1}}"))
        elif i % 89 == 0:
            docs.append(f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s-{i}}}\nstringData: {{a: b}}\n")
        elif i % 83 == 0:
            docs.append(f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p-{i}}}\nspec: {{containers: []}}\n")
        elif i % 79 == 0:
            docs.append(f"apiVersion: v1\nkind: List\nitems:\n- {_cm(i, 'yes').rstrip().replace(chr(10), chr(10) + '  ')}\n")
        elif i % 73 == 0:
            docs.append(_cm(i, "{x: " + salt + "y}").replace("\n", "\r\n"))
        else:
            docs.append(_cm(i, "{a: '" + "x" * 200 + "', b: '2'}"))
    return "".join(("--- # part\n" if i % 11 == 0 else "---\n") + d for i, d in enumerate(docs))


def _run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp: Path, jobs: str,
         *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("COGNIVERSE_CHART_JOBS", jobs)
    return run_cli(capsys, tmp, *args)


@pytest.mark.parametrize("output", ["json", "sarif"])
def test_two_cores_give_the_findings_of_one_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch, output: str) -> None:
    (tmp_path / "big.yaml").write_text(_stream(5000))
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "a.yaml").write_text(_stream(900, "z"))
    (tmp_path / "more" / "b.yaml").write_text(_stream(50))
    files = parallel._files([str(tmp_path / "big.yaml"), str(tmp_path / "more")])
    assert files and sum(s for _, s in files) >= parallel.MIN_BYTES
    first, second = parallel._cut(files)  # the input is really split, inside big.yaml
    assert first[-1][0] == second[0][0] == tmp_path / "big.yaml" and 0 < first[-1][2] == second[0][1]
    args = ("-o", output, "validate", "--kube-version", "1.37", "--skip", "Secret", "--reject", "Pod", "--summary",
            "big.yaml", "more")
    one = _run(capsys, monkeypatch, tmp_path, "1", *args)
    two = _run(capsys, monkeypatch, tmp_path, "2", *args)
    assert one == two and one[0] == 1
    if output == "json":
        report = json.loads(one[1])
        rules = {f["rule"] for f in report["findings"]}
        assert {"schema/k8s-1.37", "schema/rejected-kind", "config/suppression-reason"} <= rules, rules
        assert report["resources"]["skipped"] > 0 and report["suppressed"] > 0


def test_an_input_error_in_the_second_part_reads_as_before(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Invalid YAML, or a document that is no mapping, late in a large file: the same schema/invalid-yaml
    finding (its line counted over the whole file) beside the other findings, exit 1, split or not."""
    for bad in ("data: [unclosed\n", "- just\n- a list\n"):
        (tmp_path / "big.yaml").write_text(_stream(4000) + "---\n" + bad + _stream(300))
        one = _run(capsys, monkeypatch, tmp_path, "1", "validate", "big.yaml")
        two = _run(capsys, monkeypatch, tmp_path, "2", "validate", "big.yaml")
        assert one == two and one[0] == 1, one
        assert "error[schema/invalid-yaml] big.yaml: " in one[1] and "error[schema/k8s-" in one[1], one[1][:400]


def test_a_cut_falls_on_a_separator_line_only(tmp_path: Path) -> None:
    """`---` inside a line, a `---x` line and a block scalar's indented `---` are no cut; a `--- # c` line is."""
    body = "a: |\n  ---\n  x ---\nb: ---x\n"
    text = ("x: 1\n" + body) * 60000 + "--- # here\nc: 1\n" + body * 10
    path = tmp_path / "s.yaml"
    path.write_text(text)
    at = parallel._separator_at_or_after(path, len(text) // 2)
    assert at is None or text[at:at + 10] == "--- # here"
    assert parallel._separator_at_or_after(path, len(text) - 200) is None
    assert text[parallel._separator_at_or_after(path, text.index("--- # here") - 5000):].startswith("--- # here")


def test_small_inputs_stdin_and_one_core_read_in_one_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "small.yaml").write_text(_stream(50))
    (tmp_path / "big.yaml").write_text(_stream(5000))
    seen = []
    monkeypatch.setattr(parallel, "read_paths", lambda paths: seen.append(paths) or iter(()))
    monkeypatch.setenv("COGNIVERSE_CHART_JOBS", "2")
    for paths in ([str(tmp_path / "small.yaml")], ["-"], [str(tmp_path / "missing.yaml"), str(tmp_path / "big.yaml")]):
        parallel.sharded(paths, list, lambda a, b: a + b)
    monkeypatch.setenv("COGNIVERSE_CHART_JOBS", "1")
    parallel.sharded([str(tmp_path / "big.yaml")], list, lambda a, b: a + b)
    assert len(seen) == 4


_RETAINED = """
import time
from cogniverse_chart.perf import yaml_loader
def anon():
    with open("/proc/self/smaps_rollup") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Anonymous:"))
before = anon()
yaml_loader.load_document("kind: X\\n" + "".join(f"k{i}: v{i}\\n" for i in range(20000)))
time.sleep(0.05)
for _ in range(200):
    yaml_loader.load_document("a: 1\\n")
print(anon() - before)
"""


def test_the_fast_parser_gives_back_a_large_documents_memory() -> None:
    """yaml_rs's allocator (mimalloc) kept a 200 kB document's 12 MB for the rest of the run (purge delay 1 s,
    arenas committed eagerly): a validate run on two processes took more memory than kubeconform. With the
    loader's settings what stays is a few MB; a user's own MIMALLOC_PURGE_DELAY still wins."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("MIMALLOC_")}
    kept = int(subprocess.run([sys.executable, "-c", _RETAINED], env=env, capture_output=True, text=True,
                              check=True).stdout)
    assert kept < 6 * 1024, f"{kept} kB kept after one large document"
    env.update(MIMALLOC_PURGE_DELAY="100000", MIMALLOC_ARENA_EAGER_COMMIT="1")
    kept_default = int(subprocess.run([sys.executable, "-c", _RETAINED], env=env, capture_output=True, text=True,
                                      check=True).stdout)
    assert kept_default > kept + 4 * 1024, (kept_default, kept)  # the user's setting is honoured
