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
