"""The manifest loader: fast path (yaml_rs) and YAML 1.1 path (PyYAML) read manifests the same way
Kubernetes tooling does; sources, line numbers and List objects are handled."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cogniverse_chart.perf import yaml_loader
from cogniverse_chart.documents import load_document, parse_stream
from cogniverse_chart.errors import ToolkitError

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("text,expected", [
    ("a: yes\nb: off\n", {"a": True, "b": False}),           # YAML 1.1 booleans, as Go's yaml.v2 reads them
    ("mode: 0644\n", {"mode": 420}),                         # octal file modes (defaultMode)
    ("a: [on, 'no']\n", {"a": [True, "no"]}),
    ("on: push\n", {True: "push"}),
    ("t: 2024-01-01T00:00:00Z\nd: 2024-01-01\n", {"t": "2024-01-01T00:00:00Z", "d": "2024-01-01"}),  # no datetimes
    ("b: &x {c: 1}\nd: {<<: *x, e: 2}\n", {"b": {"c": 1}, "d": {"c": 1, "e": 2}}),  # merge keys
    ("q: \"yes\"\nn: noon\nv: 1.5\n", {"q": "yes", "n": "noon", "v": 1.5}),
    ("a:\n  on: 1\n  b: [1, no]\n", {"a": {True: 1, "b": [1, False]}}),       # nested keys, flow items
    ("d: restarted on\n  and off\n", {"d": "restarted on and off"}),         # prose stays a string
    ("a: 'on'\nb: \"0644\"\n", {"a": "on", "b": "0644"}),                    # quoted: strings
])
def test_yaml_semantics(text: str, expected: dict) -> None:
    assert load_document(text) == [expected]


def test_fast_path_matches_pyyaml_on_every_fixture() -> None:
    for path in sorted(FIXTURES.rglob("*.yaml")):
        if "hostile" in path.parts:  # refused on purpose: tests/test_hostile_input.py
            continue
        text = path.read_text()
        fast = [d.obj for d in parse_stream(text, str(path))]
        slow = [o for o in yaml.load_all(text, Loader=yaml_loader.ManifestLoader) if o is not None]
        flat = []
        for o in slow:
            flat += o["items"] if str(o.get("kind", "")).endswith("List") and "items" in o else [o]
        assert fast == flat, path


def test_helm_source_comments_name_each_document() -> None:
    text = "---\n# Source: chart/templates/a.yaml\nkind: A\n---\n# Source: chart/templates/b.yaml\nkind: B\n---\nkind: C\n"
    docs = parse_stream(text, "stream.yaml")
    assert [(d.kind, d.source) for d in docs] == [("A", "chart/templates/a.yaml"), ("B", "chart/templates/b.yaml"),
                                                  ("C", "stream.yaml")]


def test_list_objects_are_flattened() -> None:
    docs = parse_stream("apiVersion: v1\nkind: List\nitems:\n- {kind: A}\n- {kind: B}\n", "l.yaml")
    assert [d.kind for d in docs] == ["A", "B"]


def test_errors_name_file_line_and_column() -> None:
    with pytest.raises(ToolkitError, match=r"^f\.yaml:6:1: invalid YAML: while parsing a flow mapping"):
        parse_stream("a: 1\n---\n# Source: t.yaml\nb: {\n  c: d\n", "f.yaml")
    with pytest.raises(ToolkitError, match="expected a mapping"):
        parse_stream("- a\n", "f.yaml")


def test_duplicate_keys_are_reported_with_their_line() -> None:
    from cogniverse_chart.validate import Validator

    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a: '1'\n  a: '2'\n"
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\n")
    first, second = parse_stream(text, "f.yaml")
    assert first.obj["data"] == {"a": "2"} and first.duplicate_keys == ("'a' at line 6",)
    assert second.duplicate_keys == ()
    [f] = Validator().validate([first, second])
    assert f.rule == "schema/duplicate-key" and f.name == "x"
    assert "key 'a' at line 6 is given twice" in f.message


@pytest.mark.parametrize("run", ["- ? ", "? - ", "- - ", "? ? ", "-  ?  "])
def test_runs_of_block_indicators_are_refused_not_a_crash(tmp_path: Path, run: str) -> None:
    """Runs of `-`/`?` indicators on one line nest one level each: 20,000 of them once crashed the process
    in the Rust parser (a segfault, no message); they are refused by the nesting limit, naming the line."""
    import subprocess
    import sys

    f = tmp_path / "deep.yaml"
    f.write_text("apiVersion: v1\nkind: List\nitems:\n" + run * 20_000 + "x\n")
    done = subprocess.run([sys.executable, "-m", "cogniverse_chart.cli", "validate", str(f)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, (done.returncode, done.stderr[-300:])
    assert "deep.yaml:4:" in done.stderr and "nested more than 100 levels deep" in done.stderr


def _fast_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the PyYAML side fail if called: the document must be read by the fast path alone."""
    from cogniverse_chart.perf import pyyaml_loader

    def refuse(*_: object) -> None:
        raise AssertionError("read with PyYAML")

    monkeypatch.setattr(pyyaml_loader, "load_slow", refuse)
    monkeypatch.setattr(pyyaml_loader, "check_depth", refuse)


@pytest.mark.parametrize("text", [
    's: "print(f\\"{a}.{n}\\", n\\\n  \\ , on)"\n',           # YAML 1.1 words inside a quoted script
    "d: restarted on\n  and off\n",                              # ... inside folded prose
    "e: " + repr("{{" * 60) + "\nf: " + repr("[[" * 60) + "\n",  # brackets in quoted text (CEL, templates)
])
def test_yaml11_look_alikes_and_quoted_brackets_take_the_fast_path(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = yaml.load(text, Loader=yaml_loader.ManifestLoader)
    _fast_only(monkeypatch)
    assert load_document(text) == [expected]


@pytest.mark.parametrize("text,expected", [
    ('s: "x, n"\nt: n\n', {"s": "x, n", "t": "n"}),            # the same word also as a whole plain scalar
    ("a: 'x, 0644'\nm: 0644\n", {"a": "x, 0644", "m": 420}),
])
def test_a_yaml11_word_as_a_whole_scalar_still_reads_as_yaml_11(text: str, expected: dict) -> None:
    assert load_document(text) == [expected] == [yaml.load(text, Loader=yaml_loader.ManifestLoader)]


def test_flow_nesting_just_past_the_limit_is_refused_with_its_line() -> None:
    with pytest.raises(ToolkitError, match=r"^f\.yaml:3:\d+: nested more than 100 levels deep"):
        parse_stream("a: 1\n---\nb: " + "[" * 101 + "]" * 101 + "\n", "f.yaml")
    assert load_document("b: " + "[" * 99 + "]" * 99 + "\n")
