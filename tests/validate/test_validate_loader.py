"""The manifest loader: fast path (yaml_rs) and YAML 1.1 path (PyYAML) read manifests the same way
Kubernetes tooling does; sources, line numbers and List objects are handled."""

from __future__ import annotations

from pathlib import Path

import json
import re
import math
import subprocess

import pytest
import yaml

from cogniverse_chart.perf import yaml_loader
from cogniverse_chart.documents import load_document, parse_stream, read_paths
from cogniverse_chart.errors import ToolkitError

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.mark.parametrize("text,expected", [
    ("a: yes\nb: off\n", {"a": True, "b": False}),           # YAML 1.1 booleans, as Go's yaml.v2 reads them
    ("mode: 0644\n", {"mode": 420}),                         # octal file modes (defaultMode)
    ("a: [on, 'no']\n", {"a": [True, "no"]}),
    ("on: push\n", {"true": "push"}),                       # a bool key is the text Go's JSON gives it
    ("t: 2024-01-01T00:00:00Z\nd: 2024-01-01\n", {"t": "2024-01-01T00:00:00Z", "d": "2024-01-01"}),  # no datetimes
    ("b: &x {c: 1}\nd: {<<: *x, e: 2}\n", {"b": {"c": 1}, "d": {"c": 1, "e": 2}}),  # merge keys
    ("q: \"yes\"\nn: noon\nv: 1.5\n", {"q": "yes", "false": "noon", "v": 1.5}),  # Go reads the key `n` as false
    ("a:\n  on: 1\n  b: [1, no]\n", {"a": {"true": 1, "b": [1, False]}}),     # nested keys, flow items
    ("d: restarted on\n  and off\n", {"d": "restarted on and off"}),         # prose stays a string
    ("a: 'on'\nb: \"0644\"\n", {"a": "on", "b": "0644"}),                    # quoted: strings
])
def test_yaml_semantics(text: str, expected: dict) -> None:
    assert load_document(text) == [expected]


def test_fast_path_matches_pyyaml_on_every_fixture() -> None:
    for path in sorted(FIXTURES.rglob("*.yaml")):
        if "hostile" in path.parts:  # refused on purpose: tests/security/test_hostile_yaml.py
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
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: z}\n")
    first, second = parse_stream(text, "f.yaml")
    assert first.obj["data"] == {"a": "2"} and first.duplicate_keys == ("'a' at line 6",)
    assert second.duplicate_keys == ()
    [f] = Validator().validate([first, second])
    assert f.rule == "schema/duplicate-key" and f.name == "x"
    assert "key 'a' at line 6 is given twice" in f.message


CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"


@pytest.mark.parametrize("data,where,what", [
    ("data: {? [a, b] : c}\n", "5:10", "a sequence as a mapping key"),        # explicit key, flow style
    ("data: {? {a: 1} : c}\n", "5:10", "a mapping as a mapping key"),
    ("data:\n  ? [a, b]\n  : c\n", "6:5", "a sequence as a mapping key"),     # explicit key, block style
    ("data:\n  [a, b]: c\n", "6:3", "a sequence as a mapping key"),           # implicit flow-collection keys
    ("data:\n  {a: 1} : c\n", "6:3", "a mapping as a mapping key"),
    ("data: {[a]: c, d: e}\n", "5:8", "a sequence as a mapping key"),
    ("  labels: &l [a]\ndata:\n  *l : c\n", "7:3", "an alias of a sequence at line 5 as a mapping key"),
    ("data: {<<: {a: '1'}, ? [x] : y}\n", "5:24", "a sequence or mapping as a mapping key"),  # PyYAML's constructor
])
def test_a_collection_as_a_mapping_key_is_refused_with_its_place(capsys, tmp_path: Path, data: str, where: str,
                                                                 what: str) -> None:
    """YAML admits a sequence or mapping as a key; JSON, so kubectl and Helm ("invalid map key"), does not.
    The fast path read them as tuples and frozensets, and `validate` said ok (attack24 C10)."""
    from cogniverse_chart.cli import main

    (tmp_path / "k.yaml").write_text(CM + data)
    for command in ("validate", "lint"):
        assert main([command, str(tmp_path / "k.yaml")]) == 2
        [line] = capsys.readouterr().err.strip().splitlines()
        assert f"k.yaml:{where}: {what}; Kubernetes keys are strings" in line, line
    if data.startswith("data"):  # as a values file (Helm refuses it as well)
        (tmp_path / "values.yaml").write_text(data)
        assert main(["validate", "--values", str(tmp_path / "values.yaml")]) == 2
        assert f"values.yaml:{int(where.split(':')[0]) - 4}:" in capsys.readouterr().err


@pytest.mark.parametrize("text,expected", [
    ("u: http://a/?b=c\nq: '? [a]'\nk: \"{{x}}: y\"\n", {"u": "http://a/?b=c", "q": "? [a]", "k": "{{x}}: y"}),
    ("? plain\n: 1\n? |\n  block\n: 2\n", {"plain": 1, "block\n": 2}),     # explicit scalar keys stay fine
    ("a: [b, c]\nd: {e: f}\n", {"a": ["b", "c"], "d": {"e": "f"}}),
])
def test_scalar_keys_near_the_collection_key_signs_are_read(text: str, expected: dict) -> None:
    assert load_document(text) == [expected]


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
    ('s: "x, n"\nt: n\n', {"s": "x, n", "t": False}),          # the same word also as a whole plain scalar
    ("a: 'x, 0644'\nm: 0644\n", {"a": "x, 0644", "m": 420}),
])
def test_a_yaml11_word_as_a_whole_scalar_still_reads_as_yaml_11(text: str, expected: dict) -> None:
    assert load_document(text) == [expected] == [yaml.load(text, Loader=yaml_loader.ManifestLoader)]


def test_flow_nesting_just_past_the_limit_is_refused_with_its_line() -> None:
    with pytest.raises(ToolkitError, match=r"^f\.yaml:3:\d+: nested more than 100 levels deep"):
        parse_stream("a: 1\n---\nb: " + "[" * 101 + "]" * 101 + "\n", "f.yaml")
    assert load_document("b: " + "[" * 99 + "]" * 99 + "\n")


# ---- what Kubernetes reads: every value form, compared with kubectl's own reader ----------------------

#: Plain scalars where YAML 1.1 (Go's yaml.v2), YAML 1.2 (the fast path) and PyYAML disagree somewhere.
SCALARS = ("y Y yes Yes YES n N no No NO true True TRUE false False FALSE on On ON off Off OFF ~ null Null NULL "
           "0644 0o10 0x1F 0X1F 0b101 0B101 0O17 08 09 012_3 1_000 +12 -12 0 00 -0 +0 1:20 190:20:30 1e3 12e03 1E3 "
           "1.5 .5 1. 6.8523015e+5 685.230_15e+03 1_000.5 190:20:30.15 1.0e+3 1e+3 1e-3 0.1e3 +1e3 = << 2001-12-14 "
           "0x_1F 0_7 -0644 +0644 0000 0.0 1__0 0b1_0 0o1_0 0x1_F 1e 1e+ e3 .e3 yES nO oN oFF -0b11 .5_0 "
           "18446744073709551615 "
           # underscores Go keeps (a leading `_` is text; ParseFloat wants digits around one), infinity and NaN
           # (JSON has neither: kubectl refuses the document)
           "_1 _1_ __1 1_ _ +_1 -_1 ._5 .5_0 1._5 1e_3 _1.5 _.5 _0x1 inf nan -.nan +.nan .inf .Inf .INF -.inf +.inf "
           ".nan .NaN .NAN").split()
#: Numbers out of Go's range (a float, or the text, in Go): read as Go reads them on PyYAML's path (an anchor
#: sends the document there); the fast path reads them as Python numbers (no verdict changes: a schema's
#: integer or string type says the same of both), which a scan of every digit run would cost 10% to avoid.
OUT_OF_RANGE = "99999999999999999999 -9223372036854775809 0x10000000000000000 1e999".split()
#: Keys Go reads as booleans, numbers or null (D6): the text its JSON gives them ("true", "420", float keys as
#: float32 in %g: "1e+06", "1.2345679e+08", ".inf"); a null key is refused.
KEYS = ("y Y yes n NO on Off 0644 08 -0644 true False TRUE 1 -1 0x10 0o10 1_0 _1 1.0 1.5 -1.5 1e3 1e6 1.0e+6 1e20 "
        "0.1 .5 3.14 .inf -.inf .nan 1e-7 100000.0 1000000.0 1234567.0 123456789.0 -0.0 0.0 2.5e-5 1e39 ~ null Null "
        "NULL").split()
KEY_CONTEXTS = ("{v}: x\n", "a:\n  {v}: x\n", "a: {{{v}: x, b: 1}}\n", "a: [{{{v}: x}}]\n", "b: 1\n{v}:\n  c: 2\n")
#: Where a value stands: aligned after its key, after a tab, on the next line, in block and flow sequences
#: and mappings (also across lines), before a comment.
CONTEXTS = ("a: {v}\n", "a:   {v}\n", "a:\t{v}\n", "a:\n  {v}\n", "a:\n- {v}\n", "a:\n-   {v}\n", "a: [{v}]\n",
            "a: [x,  {v}]\n", "a: {{b:  {v}}}\n", "a: [\n  {v}]\n", "a: [x,\n   {v}]\n", "a: {v} # c\n",
            "a:  {v}  # c\n", "a: [{v},{v}]\n", "a: {{b: {v},c: 1}}\n", "a: &x [{v}]\nb: *x\n")


def _same_json(x: object) -> object:
    """A parsed value as JSON has it: a whole float is the integer Go's JSON writes for it."""
    if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and abs(x) > 2 ** 53:
        return float(x)  # Go's JSON writes a float64 in its shortest form: compare the doubles
    if isinstance(x, float) and math.isfinite(x) and x.is_integer():
        return int(x)
    if isinstance(x, dict):
        return {k: _same_json(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_same_json(v) for v in x]
    return x


@pytest.fixture(scope="module")
def kube_yaml() -> str:
    from cogniverse_dev import gobuild

    return str(gobuild.kube_yaml(quiet=True))


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_every_value_form_reads_as_kubectl_reads_it(kube_yaml: str, newline: str) -> None:
    """D1-D4: aligned values (`KEY:   yes`), values after a line break, CRLF files, `y`/`n`, Go's number forms
    (08, 12e03, 0o10, 1_000, -0644, 1:20 as a string): the reader gives what k8s.io/apimachinery's YAMLReader
    and ToJSON give (tools/kube-yaml), on the fast path and on PyYAML's; `_1`, `.inf`/`.nan` (refused, as
    kubectl refuses them), null keys (refused) and bool, integer and float keys (D6) too."""
    texts = [c.format(v=v).replace("\n", newline) for c in CONTEXTS for v in SCALARS]
    texts += [c.format(v=v).replace("\n", newline) for c in CONTEXTS if "&" in c for v in OUT_OF_RANGE]
    texts += [c.format(v=v).replace("\n", newline) for c in KEY_CONTEXTS for v in KEYS]
    texts += [t.replace("\n", newline) for t in ("? \n: x\n", "a: 1\n? ~\n: x\n", "a: &x 1\n~: *x\n")]
    proc = subprocess.run([kube_yaml], input="".join("---" + newline + t for t in texts), capture_output=True,
                          text=True, timeout=120)
    theirs = proc.stdout.splitlines()
    assert proc.returncode == 0 and len(theirs) == len(texts), proc.stderr
    differ = []
    for text, line in zip(texts, theirs):
        try:
            ours = [_same_json(o) for o in load_document(text)]
        except ToolkitError as exc:
            ours = [f"ERROR {exc}"]
        want = [line if line.startswith("ERROR") else _same_json(json.loads(line))]
        if ours != want and not (want[0] == line and ours[0].startswith("ERROR") if isinstance(ours[0], str) else 0):
            differ.append((text, ours, line))
    assert not differ, f"{len(differ)} of {len(texts)} read differently from kubectl: {differ[:5]}"



@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_validate_and_check_refuse_what_kubectl_refuses_in_aligned_and_crlf_files(capsys, tmp_path: Path,
                                                                                 newline: str) -> None:
    """D1/D2: `validate` passed aligned (`ENABLE_X:    yes`) and CRLF (`a: yes\\r\\n`) values kubectl refuses
    (bool in ConfigMap.data), and read CRLF `0755` as 755; `check` passed a chart template saved with CRLF."""
    from toolkit_utils import helm_create, run_json

    cm = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: flags}\ndata:\n  LOG_LEVEL:   info\n"
          "  ENABLE_X:    yes\n  DEBUG: y\n  MODE:\n    off\n  RETRIES: 08\n")
    (tmp_path / "cm.yaml").write_bytes(cm.replace("\n", newline).encode())
    code, result = run_json(capsys, tmp_path, "validate", "--kube-version", "1.37", "cm.yaml")
    assert code == 1 and {f["path"] for f in result["findings"]} == \
        {"$.data.ENABLE_X", "$.data.DEBUG", "$.data.MODE", "$.data.RETRIES"}, result["findings"]
    pod = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: n\n  containers: [{name: c, "
           "image: 'a:1'}]\n  volumes: [{name: v, configMap: {name: x, defaultMode:   0755}}]\n")
    (tmp_path / "pod.yaml").write_bytes(pod.replace("\n", newline).encode())
    [doc] = read_paths([str(tmp_path / "pod.yaml")])
    assert doc.obj["spec"]["hostNetwork"] is False and doc.obj["spec"]["volumes"][0]["configMap"]["defaultMode"] == 0o755
    chart = helm_create(tmp_path / "charts")
    (chart / "templates" / "flags.yaml").write_bytes(cm.replace("\n", newline).encode())
    code, result = run_json(capsys, chart, "check", "--helm", "3")
    assert code == 1 and "$.data.ENABLE_X" in {f["path"] for f in result["findings"] if f["name"] == "flags"}


@pytest.mark.parametrize("value,shown", [(".inf", ".inf"), ("-.Inf", "-.inf"), (".NaN", ".nan")])
def test_infinity_and_nan_are_refused_naming_the_value(value: str, shown: str) -> None:
    """kubectl and Helm cannot turn .inf or .nan into JSON and refuse the document; so does the reader, with
    the document's line and the value's path (a quoted ".inf" is text, and fine)."""
    for anchor in ("", "x: &a 1\n"):
        with pytest.raises(ToolkitError, match=rf"^f\.yaml:2: \$\.spec\.r\[1\] is {re.escape(shown)}, which JSON"):
            parse_stream(f"a: 1\n---\n{anchor}kind: K\nspec: {{r: [1, {value}], s: '.inf'}}\n", "f.yaml")
    assert parse_stream("kind: K\nspec: {s: '.inf', t: \".nan\"}\n", "f.yaml")[0].obj["spec"] == {"s": ".inf", "t": ".nan"}


@pytest.mark.parametrize("stream", [
    "a: 1\n---\n\ufeffb: 1\n",                   # D7: a BOM starting a later document (files joined with cat)
    "a: 1\r\n---\r\n\ufeffb: 1\r\n",
    "a: 1\n---\n\n  \ufeffb: 1\n",               # ... not at the document's start: part of the key, as in Go
    "a: 1\n--- {b: 1}\n",                        # D8: content on the separator line
    "a: 1\n---x\nb: 1\n",
    "a: 1\n----\nb: 1\n",
    "a: 1\n--- |\n  text\n",
    "a: 1\n---   # a comment\nb: 1\n",
    "a: 1\n---\t\r\nb: 1\n",
])
def test_separators_and_byte_order_marks_read_as_kubectl_reads_them(kube_yaml: str, stream: str,
                                                                    tmp_path: Path) -> None:
    proc = subprocess.run([kube_yaml], input=stream, capture_output=True, text=True, timeout=60)
    theirs = proc.stdout.splitlines()
    (tmp_path / "s.yaml").write_bytes(stream.encode())
    for read in (lambda: [d.obj for d in parse_stream(stream, "s.yaml")],
                 lambda: [d.obj for d in read_paths([str(tmp_path / "s.yaml")])]):
        if theirs[-1].startswith("ERROR"):
            with pytest.raises(ToolkitError, match=r"s\.yaml:2: invalid document separator: .* follows `---`"):
                read()
        else:
            assert read() == [json.loads(line) for line in theirs]


def test_an_explicit_timestamp_tag_is_the_text_kubectl_reads() -> None:
    """E31: `!!timestamp 2001-12-14` in a ConfigMap's data was a date ("expected string, got date"); kubectl
    (sigs.k8s.io/yaml) hands the API server the string, as for the plain form."""
    from cogniverse_chart.documents import parse_stream
    from cogniverse_chart.validate import Validator

    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ts}\ndata: {a: !!timestamp 2001-12-14, b: 2001-12-14}\n"
    [doc] = parse_stream(text, "ts.yaml")
    assert doc.obj["data"] == {"a": "2001-12-14", "b": "2001-12-14"}
    assert Validator(("1.37",), ()).validate([doc]) == []
