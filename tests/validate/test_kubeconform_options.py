"""What a kubeconform user reaches for: --skip/--reject by kind, --summary, --schema-location for their own
CRDs, every Kubernetes minor the chart admits, and schemas fetched into a folder of theirs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cogniverse_chart import schemas
from toolkit_utils import run_cli, run_json

STREAM = """\
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {a: b}
---
apiVersion: example.org/v1
kind: Widget
metadata: {name: w}
spec: {size: "large", colour: red}
"""


def _crd(kind: str, plural: str, spec_schema: str, more_versions: str = "") -> str:
    """A namespaced CustomResourceDefinition of group example.org whose served v1 has `spec_schema` (YAML lines
    under `spec:`, indented 12) for its spec; `more_versions` adds entries to `versions`."""
    return f"""\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: {plural}.example.org}}
spec:
  group: example.org
  names: {{kind: {kind}, plural: {plural}}}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
{spec_schema}{more_versions}"""


CRD = _crd("Widget", "widgets", """\
            additionalProperties: false
            properties:
              size: {type: integer}
""")


@pytest.fixture
def stream(tmp_path: Path) -> Path:
    (tmp_path / "all.yaml").write_text(STREAM)
    (tmp_path / "crds").mkdir()
    (tmp_path / "crds" / "widget.yaml").write_text(CRD)
    return tmp_path


def test_skip_reject_and_summary(capsys, stream: Path) -> None:
    code, out, _ = run_cli(capsys, stream, "validate", "all.yaml", "--skip", "Widget", "--reject", "Secret",
                           "--summary")
    assert code == 1 and "error[schema/rejected-kind]" in out and "Secret/s" in out
    assert "Summary: 3 resources found - Valid: 1, Invalid: 1, Skipped: 1" in out
    assert "findings by rule: schema/rejected-kind=1" in out  # not a Python dict
    code, result = run_json(capsys, stream, "validate", "all.yaml", "--skip", "Widget", "--reject", "Secret",
                            "--summary")  # the summary in the JSON (it went to stderr as text)
    assert result["resources"] == {"found": 3, "valid": 1, "invalid": 1, "skipped": 1, "suppressed": 0,
                                   "findings_by_rule": {"schema/rejected-kind": 1}}, result
    code, result = run_json(capsys, stream, "validate", "all.yaml", "--skip", "example.org/v1/Widget,Secret")
    assert code == 0 and result["checked"] == 1 and result["skipped"] == 2


def test_schema_location_validates_the_users_own_kinds(capsys, stream: Path) -> None:
    code, _, err = run_cli(capsys, stream, "validate", "all.yaml")
    assert code == 1  # no schema for Widget
    code, result = run_json(capsys, stream, "validate", "all.yaml", "--schema-location", "crds")
    msgs = [f["message"] for f in result["findings"] if f["rule"] == "schema/custom"]
    assert code == 1 and any("expected integer" in m for m in msgs) and any("'colour'" in m for m in msgs)
    # kubeconform's catalog layout: GROUP/KIND_VERSION.json
    (stream / "catalog" / "example.org").mkdir(parents=True)
    (stream / "catalog" / "example.org" / "widget_v1.json").write_text(json.dumps({"type": "object"}))
    code, result = run_json(capsys, stream, "validate", "all.yaml", "--schema-location", "catalog")
    assert code == 0, result["findings"]
    code, _, err = run_cli(capsys, stream, "validate", "all.yaml", "--schema-location", "all.yaml")
    assert code == 2 and "no CustomResourceDefinition manifests" in err


STRICT_CRD = _crd("Gadget", "gadgets", """\
            properties:
              color: {type: string, nullable: true}
              mode: {type: string, enum: [fast, slow], nullable: true}
              ports: {type: array, items: {type: object, properties: {port: {type: integer}}}}
              extra: {type: object, x-kubernetes-preserve-unknown-fields: true, properties: {known: {type: string}}}
              labels: {type: object, additionalProperties: {type: string}}
""", """\
  - name: v2
    served: false
    storage: false
    schema:
      openAPIV3Schema: {type: object}
""")


@pytest.mark.parametrize("body,errors", [
    ("metadata: {name: g}\nspec: {color: null, mode: null, extra: {anything: [1]}, labels: {a: b}}\n", []),
    ("metadata: {name: g}\nspec: {colour: red}\n", ["$.spec.colour: unknown field 'colour'; did you mean 'color'?"]),
    ("metadata: {name: g, nmae: x}\n", ["$.metadata.nmae: unknown field 'nmae'; did you mean 'name'?"]),
    ("metadata: {name: g, labels: {a: 1}}\n", ["$.metadata.labels.a: expected string"]),
    ("metadata: {name: g}\nspec: {ports: [{port: 80, prot: TCP}]}\n", ["$.spec.ports[0].prot: unknown field"]),
    ("metadata: {name: g}\nunknownTop: 1\n", ["$.unknownTop: unknown field"]),
    ("metadata: {name: g}\nspec: {mode: medium}\n", ['$.spec.mode: "medium" is not one of fast, slow, null'] ),
])
def test_crd_schemas_are_strict_as_the_api_server(capsys, tmp_path: Path, body: str, errors: list[str]) -> None:
    """D24/D25: a custom resource is checked as the API server's strict field validation (kubectl's default)
    checks it: unknown fields (also in metadata) are errors unless the CRD preserves them; nullable admits null."""
    (tmp_path / "crd.yaml").write_text(STRICT_CRD)
    (tmp_path / "cr.yaml").write_text("apiVersion: example.org/v1\nkind: Gadget\n" + body)
    code, result = run_json(capsys, tmp_path, "validate", "cr.yaml", "--schema-location", "crd.yaml")
    found = [f"{f['path']}: {f['message']}" for f in result["findings"]]
    assert code == (1 if errors else 0) and len(found) == len(errors), found
    for want, got in zip(errors, found):
        assert got.startswith(want), (want, found)


def test_a_crd_version_that_is_not_served_has_no_schema(capsys, tmp_path: Path) -> None:
    (tmp_path / "crd.yaml").write_text(STRICT_CRD)
    (tmp_path / "cr.yaml").write_text("apiVersion: example.org/v2\nkind: Gadget\nmetadata: {name: g}\n")
    code, result = run_json(capsys, tmp_path, "validate", "cr.yaml", "--schema-location", "crd.yaml")
    assert code == 1 and [f["rule"] for f in result["findings"]] == ["schema/unknown-kind"], result


@pytest.mark.parametrize("minor", [f"1.{m}" for m in range(30, 38)])
def test_every_minor_the_chart_admits_is_bundled(capsys, stream: Path, minor: str) -> None:
    code, out, err = run_cli(capsys, stream, "validate", "all.yaml", "--skip", "Widget", "--kube-version", minor)
    assert code == 0, out + err


def test_schemas_fetch_writes_only_where_the_user_says(capsys, tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, tmp_path, "schemas", "fetch")
    assert code == 2 and "--dest" in err
    (tmp_path / "file").write_text("x")
    code, _, err = run_cli(capsys, tmp_path, "schemas", "fetch", "--dest", "file")
    assert code == 2 and "not a directory" in err
    for empty in ("", " ", "."):  # an unset variable (--dest "$DIR") wrote the bundles into the current folder
        code, _, err = run_cli(capsys, tmp_path, "schemas", "fetch", "--dest", empty)
        assert code == 2 and "name a folder of its own" in err, err
    code, out, _ = run_cli(capsys, tmp_path, "schemas", "list", "--dir", str(schemas.DATA_DIR), "-o", "json")
    assert code == 0 and len(json.loads(out)) == len(list(schemas.DATA_DIR.glob("*.json.gz")))
    (tmp_path / "nobundles").mkdir()  # E30: a folder without bundles is an input error, not an empty list
    code, out, err = run_cli(capsys, tmp_path, "schemas", "list", "--dir", "nobundles")
    assert code == 2 and "nobundles: no schema bundles" in err and "provenance" not in out, out + err


@pytest.mark.parametrize("where", ["data", "package", "data/sub", "data/../templates", "link-to-data",
                                   "link-to-package/new"])
@pytest.mark.parametrize("in_checkout", [False, True])
def test_schemas_fetch_never_writes_into_the_installed_package(capsys, monkeypatch, tmp_path: Path, where: str,
                                                              in_checkout: bool) -> None:
    """Any folder inside the package, however named, is refused before anything is built (the bundler
    would write *.json.gz and PROVENANCE there); only a checkout may refresh data/ itself."""
    from cogniverse_chart import schema_bundles
    from cogniverse_chart.commands import schemas as command

    monkeypatch.setattr(command, "_in_checkout", lambda: in_checkout)
    monkeypatch.setattr(schema_bundles, "fetch", lambda *a, **kw: pytest.fail(f"fetch ran for {kw}"))
    package = schemas.DATA_DIR.parent
    (tmp_path / "link-to-data").symlink_to(schemas.DATA_DIR)
    (tmp_path / "link-to-package").symlink_to(package)
    dest = {"data": str(schemas.DATA_DIR), "package": str(package), "data/sub": str(schemas.DATA_DIR / "sub"),
            "data/../templates": f"{schemas.DATA_DIR}/../templates"}.get(where, where)
    if in_checkout and where in ("data", "link-to-data"):
        return  # the maintainer's refresh (not run here: it builds from module sources)
    code, _, err = run_cli(capsys, tmp_path, "schemas", "fetch", "--dest", dest)
    assert code == 2 and "inside the installed package" in err, err
    assert not (schemas.DATA_DIR / "sub").exists()


def test_an_invalid_user_schema_is_named(capsys, stream: Path) -> None:
    (stream / "bad" / "example.org").mkdir(parents=True)
    (stream / "bad" / "example.org" / "widget_v1.json").write_text(json.dumps({"type": 5}))
    code, _, err = run_cli(capsys, stream, "validate", "all.yaml", "--schema-location", "bad")
    assert code == 2 and "widget_v1.json: not a valid JSON Schema" in err and "Traceback" not in err


@pytest.mark.parametrize("broken,needle", [
    (("group: example.org\n  names", "group: [example.org]\n  names"), "spec.group must be a string"),
    (("names: {kind: Widget, plural: widgets}", "names: [Widget]"), "spec.names.kind must be a string"),
    (("  versions:\n  - name: v1\n", '  versions: ["v1"]\n  other:\n  - name: v1\n'), "spec.versions[0] must be a mapping"),
    (("  versions:\n  - name: v1\n", "  versions:\n  - name: 1\n"), "spec.versions[0] must be a mapping with a name"),
    (("spec:\n  group", "spec: [1]\nx:\n  group"), "spec must be a mapping"),
    (("      openAPIV3Schema:\n", "      openAPIV3Schema: [1]\n      x:\n"), "spec.versions[0].schema.openAPIV3Schema must be a mapping"),
])
def test_a_malformed_crd_is_one_line_naming_its_file(capsys, stream: Path, broken: tuple[str, str],
                                                     needle: str) -> None:
    assert broken[0] in CRD
    (stream / "crds" / "widget.yaml").write_text(CRD.replace(*broken))
    code, _, err = run_cli(capsys, stream, "validate", "all.yaml", "--schema-location", "crds")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "crds/widget.yaml: CustomResourceDefinition widgets.example.org: " + needle in err


@pytest.mark.parametrize("ref", ["file:///etc/hostname#/x", "http://127.0.0.1:9/x.json", "#/definitions/nothing",
                                 "other.json#/x"])
def test_a_schema_whose_ref_does_not_resolve_is_named_and_nothing_is_fetched(capsys, stream: Path, ref: str) -> None:
    (stream / "cat" / "example.org").mkdir(parents=True)
    schema = {"type": "object", "properties": {"spec": {"$ref": ref}}, "definitions": {"size": {"type": "integer"}}}
    (stream / "cat" / "example.org" / "widget_v1.json").write_text(json.dumps(schema))
    code, _, err = run_cli(capsys, stream, "validate", "all.yaml", "--schema-location", "cat")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert f"widget_v1.json: $ref {ref!r} does not resolve" in err
    schema["properties"]["spec"]["$ref"] = "#/definitions/size"  # a reference inside the file is followed
    (stream / "cat" / "example.org" / "widget_v1.json").write_text(json.dumps(schema))
    code, out, _ = run_cli(capsys, stream, "validate", "all.yaml", "--schema-location", "cat", "--skip", "Secret")
    assert code == 1 and "error[schema/custom] all.yaml: Widget/w $.spec: expected integer" in out, out


@pytest.mark.parametrize("definitions,needle", [
    ({"s": {"$ref": "#/definitions/s"}}, "$ref '#/definitions/s' loops back to itself"),
    ({"s": {"$ref": "#/definitions/t"}, "t": {"$ref": "#/definitions/s"}}, "loops back to itself through 2"),
    ({"s": {"allOf": [{"$ref": "#/definitions/s"}]}}, "example.org/v1/widget: its $refs loop without end"),
])
def test_a_schema_whose_refs_loop_is_named(capsys, stream: Path, definitions: dict, needle: str) -> None:
    """A $ref cycle ended in "input nested too deeply to process", naming neither the file nor the option."""
    (stream / "cat" / "example.org").mkdir(parents=True)
    schema = {"type": "object", "properties": {"spec": {"$ref": "#/definitions/s"}}, "definitions": definitions}
    (stream / "cat" / "example.org" / "widget_v1.json").write_text(json.dumps(schema))
    code, _, err = run_cli(capsys, stream, "validate", "all.yaml", "--schema-location", "cat", "--skip", "Secret")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "--schema-location " in err and needle in err, err


@pytest.mark.parametrize("content,needle", [
    (b"garbage", "not a schema bundle (Not a gzipped file"),
    ("bomb", "inflates to more than 64 MiB: not a schema bundle"),
    ("json:[1]", "not a schema bundle (expected a JSON object)"),
    ("json:{\"format\": 1, \"kinds\": []}", "not a schema bundle (kinds, definitions and sources"),
    ("json:{", "not a schema bundle (not JSON"),
])
def test_a_bad_bundle_in_schemas_dir_is_one_line_naming_it(capsys, tmp_path: Path, content, needle: str) -> None:
    """A --schemas-dir bundle that is not gzip, not a bundle, or a gzip bomb (2 GB of zeros in 2 MB took 3.9 GB
    of memory, then a traceback) is one line naming the file, in little memory."""
    import gzip
    import resource

    bundle = tmp_path / "dir" / "k8s-1.30.json.gz"
    bundle.parent.mkdir()
    if content == "bomb":
        with gzip.open(bundle, "wb", compresslevel=1) as f:
            for _ in range(80):
                f.write(bytes(2**20))
    elif isinstance(content, str):
        bundle.write_bytes(gzip.compress(content.removeprefix("json:").encode()))
    else:
        bundle.write_bytes(content)
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code, out, err = run_cli(capsys, tmp_path, "validate", "--kube-version", "1.30", "--schemas-dir", "dir", "cm.yaml")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert f"dir/k8s-1.30.json.gz: {needle}" in err
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KiB: never the whole bomb


@pytest.mark.parametrize("folder", ["missing", "empty", "cm.yaml"])
def test_a_schemas_dir_without_bundles_is_refused_not_ignored(capsys, tmp_path: Path, folder: str) -> None:
    """D16: a typo in --schemas-dir validated silently against the packaged bundles; now one line names it."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    code, _, err = run_cli(capsys, tmp_path, "validate", "--schemas-dir", folder, "cm.yaml")
    assert code == 2 and err.count("\n") == 1 and f"--schemas-dir {folder}: " in err and "schemas fetch" in err, err


def test_a_skipped_object_has_its_suppressions_left_unjudged(capsys, tmp_path: Path) -> None:
    """E44: `--skip ConfigMap` (the Action's `args:`) still warned config/suppression-unknown-rule about the
    annotations of the ConfigMap it did not validate; validated, the same object gets the warning."""
    (tmp_path / "s2.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s2\n  annotations:\n"
                                      "    cogniverse-chart.io/ignore.nosuch: \"a reason\"\n")
    code, out, _ = run_cli(capsys, tmp_path, "-o", "json", "validate", "--skip", "ConfigMap", "s2.yaml")
    result = json.loads(out)
    assert code == 0 and result["findings"] == [] and result["skipped"] == 1, out
    code, out, _ = run_cli(capsys, tmp_path, "-o", "json", "validate", "s2.yaml")
    assert code == 0 and [f["rule"] for f in json.loads(out)["findings"]] == ["config/suppression-unknown-rule"]


@pytest.mark.parametrize("entry, said", [
    ("configmap", "--skip 'configmap' matches no kind (kinds are case-sensitive); did you mean ConfigMap?"),
    ("*", "--skip '*' is neither a Kind nor apiVersion/Kind"),
    ("v1/ConfigMap/extra", "--skip 'v1/ConfigMap/extra' is neither a Kind nor apiVersion/Kind"),
    (",", "--skip ',' names no kind; it skips nothing"),
])
def test_a_skip_entry_that_matches_nothing_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str], entry: str,
                                                    said: str) -> None:
    """attack24c E32: each of these silently skipped nothing; a custom kind the schemas lack stays quiet."""
    (tmp_path / "s.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  port: 1\n")
    code, _, err = run_cli(capsys, tmp_path, "validate", "--skip", entry, "s.yaml")
    assert code == 1 and f"warning: {said}" in err, err
    code, _, err = run_cli(capsys, tmp_path, "validate", "--skip", "MyWidget", "--reject", "apps/v1/Deployment", "s.yaml")
    assert code == 1 and "warning" not in err, err
