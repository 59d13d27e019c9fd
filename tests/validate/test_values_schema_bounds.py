"""`validate --values` against a chart's values.schema.json that came with a pull request (attack24c):
its `$ref`s fetch nothing (network or file, E38), a backtracking `pattern` is cut off (E39), and a `$ref`
loop is one line (E40)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from pathlib import Path

import pytest

from toolkit_utils import helm_create, run_cli


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    return helm_create(tmp_path, "rf")


def _schema(chart: Path, schema: dict) -> Path:
    (chart / "values.schema.json").write_text(json.dumps(schema))
    values = chart.parent / "v.yaml"
    values.write_text('replicaCount: 2\nimage:\n  repository: "' + "a" * 40 + '!"\n')
    return values


def test_remote_and_file_refs_are_not_retrieved(chart: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"type": "string"}')

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for ref in (f"http://127.0.0.1:{server.server_port}/evil.json", "file:///etc/hostname"):
            values = _schema(chart, {"properties": {"replicaCount": {"$ref": ref}}})
            code, _, err = run_cli(capsys, chart.parent, "validate", "--chart", str(chart), "--values", str(values))
            assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
            assert f"values.schema.json: $ref '{ref}' cannot be resolved" in err
    finally:
        server.shutdown()
    assert hits == []


def test_a_backtracking_pattern_is_cut_off_and_named(chart: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = _schema(chart, {"properties": {"image": {"properties": {"repository": {"pattern": "^(a|a)*$"}}}}})
    started = time.monotonic()
    code, out, err = run_cli(capsys, chart.parent, "validate", "--chart", str(chart), "--values", str(values))
    assert time.monotonic() - started < 20
    assert code == 1 and "$.image.repository: pattern '^(a|a)*$' took longer than 2 s" in out, out + err
    values.write_text("image:\n  repository: aaaa\n")  # the same pattern still decides quick cases
    code, out, err = run_cli(capsys, chart.parent, "validate", "--chart", str(chart), "--values", str(values))
    assert code == 0, out + err
    values.write_text("image:\n  repository: b\n")
    code, out, err = run_cli(capsys, chart.parent, "validate", "--chart", str(chart), "--values", str(values))
    assert code == 1 and "does not match the pattern ^(a|a)*$" in out, out + err


def test_a_ref_loop_is_one_line_naming_the_schema(chart: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = _schema(chart, {"$ref": "#"})
    code, _, err = run_cli(capsys, chart.parent, "validate", "--chart", str(chart), "--values", str(values))
    assert code == 2 and "values.schema.json: a $ref loop" in err and "Traceback" not in err, err


def test_a_backtracking_pattern_without_a_group_is_cut_off(chart: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """attack24d F4: `[a-z]*[a-z]*...!` (no group) ran in process without a bound: killed after 100 s; Helm
    answers in 0.1 s."""
    values = _schema(chart, {"type": "object", "properties": {"image": {"type": "object", "properties": {
        "repository": {"type": "string", "pattern": "^" + "[a-z]*" * 12 + "!$"}}}}})
    values.write_text('image:\n  repository: "' + "a" * 40 + '?"\n')
    start = time.monotonic()
    code, out, err = run_cli(capsys, chart, "validate", "--values", str(values))
    assert code == 1 and "took longer than 2 s" in out, out + err
    assert time.monotonic() - start < 30


def test_a_slow_pattern_is_not_run_again_on_every_value(chart: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """attack24d F5: the bound was per value: 20 strings took 41 s, 300 would take 10 minutes."""
    values = _schema(chart, {"type": "object", "properties": {"names": {
        "type": "array", "items": {"type": "string", "pattern": "^(a|a)*$"}}}})
    values.write_text("names:\n" + "".join(f"- {'a' * 30}b{i}\n" for i in range(20)))
    start = time.monotonic()
    code, out, err = run_cli(capsys, chart, "validate", "--values", str(values))
    assert code == 1 and "took longer than 2 s" in out, out + err
    assert time.monotonic() - start < 15


@pytest.mark.parametrize("pattern, good, bad", [
    ("^[[:alpha:]]+$", "abc", "a]"),           # F2: Python read `[[:alpha:]]` as the set `[:alph` + `]`
    ("^[[:alnum:]_-]+$", "a_1-b", "a b"),
    ("^[[:^digit:]]+$", "abc", "a1"),
    ("^\\S+$", "a\vb", "a b"),                  # F2: Go's \s has no vertical tab
    ("^[a-z]+\\z", "abc", "ABC"),               # F3: Go-only syntax was skipped without Helm
    ("^\\Qa.b\\E$", "a.b", "axb"),
    ("^\\x{41}+$", "AA", "B"),
    ("^\\pL+$", "abc\u00e9", "123"),         # F3: Unicode classes and (?U) were skipped without Helm
    ("^\\p{Lu}[\\pN_]*$", "A1_", "a1"),
    ("^\\PL+$", "12", "a"),
    ("(?U)^a+$", "aaa", "bbb"),
])
def test_patterns_mean_what_go_makes_of_them(chart: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch, pattern: str, good: str,
                                              bad: str) -> None:
    """The values Helm (Go's regexp) accepts pass and those it refuses fail, with Helm on PATH and without
    (the schema alone then checks them)."""
    values = _schema(chart, {"type": "object", "properties": {"name": {"type": "string", "pattern": pattern}}})
    for helm in (True, False):
        if not helm:  # as with no helm installed (the checkout's own .tools/bin would be found otherwise)
            from cogniverse_chart.commands import validate

            monkeypatch.setattr(validate, "_helm_or_none", lambda: None)
        for value, want in ((good, 0), (bad, 1)):
            values.write_text(f"name: {json.dumps(value)}\n")
            code, out, err = run_cli(capsys, chart, "validate", "--values", str(values))
            assert code == want, (helm, value, out + err)
            assert "Warning" not in err


@pytest.mark.parametrize("fmt", ["human", "sarif", "github"])
def test_credentials_in_a_values_file_never_reach_the_report(chart: Path, capsys: pytest.CaptureFixture[str],
                                                            fmt: str) -> None:
    """attack24d F6: a password that failed its pattern was printed into the log and SARIF; Helm names only
    the key. Other keys keep their values (a readable message)."""
    values = _schema(chart, {"type": "object", "properties": {"db": {"type": "object", "properties": {
        "password": {"type": "string", "pattern": "^[A-Za-z0-9]+$"}, "apiToken": {"type": "string"},
        "replicas": {"type": "string"}}}}})
    values.write_text('db:\n  password: "hunter2!short"\n  apiToken: 123456789012\n  replicas: 987654\n')
    code, out, err = run_cli(capsys, chart, "-o", fmt, "validate", "--values", str(values))
    assert code == 1, out + err
    assert "hunter2" not in out + err and "123456789012" not in out + err
    assert "987654" in out and ("$.db.password" in out or fmt != "human")


def test_patterns_go_refuses_or_python_cannot_read_never_pass(chart: Path, capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """attack24d F3: a pattern Python could not compile was skipped (`validate: ok`). A lookahead, which Go's
    regexp (and so Helm) refuses, is named as such; a Unicode script class only Go reads is checked by Helm when
    it is on PATH and is a "cannot check without Helm" finding when it is not."""
    from cogniverse_chart.commands import validate

    def run(pattern: str, value: str) -> tuple[int, str]:
        values = _schema(chart, {"type": "object", "properties": {"name": {"type": "string", "pattern": pattern}}})
        values.write_text(f"name: {json.dumps(value)}\n")
        code, out, err = run_cli(capsys, chart, "validate", "--values", str(values))
        assert "Traceback" not in err
        return code, out + err

    for value in ("a", "b"):
        code, out = run("^(?=a)a$", value)
        assert code == 1 and "is not a regular expression Helm reads ((?= (lookaround" in out, out
    assert run("^\\p{Greek}+$", "\u03b1\u03b2")[0] == 0  # Helm on PATH decides
    code, out = run("^\\p{Greek}+$", "abc")
    assert code == 1 and ("Does not match pattern" in out or "does not match" in out), out
    monkeypatch.setattr(validate, "_helm_or_none", lambda: None)
    for value in ("\u03b1", "abc"):
        code, out = run("^\\p{Greek}+$", value)
        assert code == 1 and "cannot check the value against pattern '^\\\\p{Greek}+$' without Helm" in out, out


def test_without_helm_formats_and_nulls_get_helm_3s_verdict(chart: Path, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """attack24d F13: without Helm, `format: email` went unchecked and every null was dropped (`validate: ok`);
    Helm 3 refuses a malformed email and a null for a key the chart's values.yaml does not have, and drops a
    null for a key it has (so a required default may be unset)."""
    from cogniverse_chart.commands import validate

    values = _schema(chart, {"type": "object", "properties": {
        "replicaCount": {"type": "integer"}, "a": {"type": "string", "format": "email"}, "foo": {"type": "string"}}})
    monkeypatch.setattr(validate, "_helm_or_none", lambda: None)
    for text, want, said in (("a: notanemail", 1, "$.a"), ("a: me@example.com", 0, ""),
                             ("foo: null", 1, "$.foo: expected string, got null"), ("replicaCount: null", 0, "")):
        values.write_text(text + "\n")
        code, out, err = run_cli(capsys, chart, "validate", "--values", str(values))
        assert code == want and said in out and "Traceback" not in err, (text, out + err)


def test_many_unicode_categories_cost_one_pass(chart: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A schema naming every two-letter category (`\\p{Aa}` ... `\\p{Zz}`) must not cost a pass over Unicode each."""
    from cogniverse_chart.commands import validate

    names = [a + b for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" for b in "abcdefghijklmnopqrstuvwxyz"]
    props = {f"k{i}": {"type": "string", "pattern": f"^\\p{{{n}}}*$"} for i, n in enumerate(names)}
    values = _schema(chart, {"type": "object", "properties": props})
    values.write_text("".join(f"k{i}: x\n" for i in range(len(names))))
    monkeypatch.setattr(validate, "_helm_or_none", lambda: None)
    started = time.monotonic()
    code, out, err = run_cli(capsys, chart, "validate", "--values", str(values))
    assert code == 1 and "Traceback" not in err and time.monotonic() - started < 20, out + err
