"""`check` validates the CRDs Helm installs, wherever they come from (attack24d F7-F9): a packaged subchart
(every chart after `helm dependency build`), a nested subchart, a packaged chart given to `--chart`, a
linked crds/ folder; a subchart disabled by its condition is not reported (Helm does not install it). A
custom resource of a subchart's kind is validated against that subchart's CRD. Real Helm 3 and Helm 4
render each chart (`helm template --include-crds`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cogniverse_chart.helm import find_helm
from toolkit_utils import CRD, helm_create, run_json

BAD = '"yes"'  # `served` must be a boolean: the API server refuses the CRD at install
SERVED_PATH = "$.spec.versions[0].served"


def _chart(where: Path, name: str, served: str | None = None) -> Path:
    """A minimal chart NAME (with a CRD in crds/ when `served` is given)."""
    (where / name / "templates").mkdir(parents=True)
    (where / name / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n")
    if served is not None:
        (where / name / "crds").mkdir()
        (where / name / "crds" / "w.yaml").write_text(CRD.replace("SERVED", served))
    return where / name


def _parent(tmp_path: Path, *deps: str) -> Path:
    """`helm create parent` with maintainers and the given dependencies (`name` or `name:condition`); the
    Cogniverse policy rules (which Helm's starter chart does not meet) off in the config the tests run with."""
    (tmp_path / ".cogniverse-chart.toml").write_text('[rules]\n"policy/" = "off"\n')
    chart = helm_create(tmp_path, "parent")
    text = (chart / "Chart.yaml").read_text() + "maintainers: [{name: me, email: me@example.com}]\n"
    if deps:
        text += "dependencies:\n" + "".join(
            f"- name: {d.split(':')[0]}\n  version: 0.1.0\n" + (f"  condition: {d.split(':')[1]}\n" if ":" in d else "")
            for d in deps)
    (chart / "Chart.yaml").write_text(text)
    return chart


def _package(chart: Path, dest: Path) -> Path:
    proc = find_helm().run(["package", str(chart), "-d", str(dest)])
    assert proc.returncode == 0, proc.stderr
    return dest / f"{chart.name}-0.1.0.tgz"


def _served(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in result["findings"] if f["path"] == SERVED_PATH and f["kind"] == "CustomResourceDefinition"]


@pytest.mark.parametrize("helm", ["3", "4"])
def test_a_packaged_subcharts_bad_crd_is_found(tmp_path: Path, capsys: pytest.CaptureFixture[str], helm: str) -> None:
    """F7: charts/sub-0.1.0.tgz's invalid CRD gave `check: ok` (crds/ folders were read on disk only)."""
    parent = _parent(tmp_path, "sub")
    _package(_chart(tmp_path / "src", "sub", BAD), parent / "charts")
    code, result = run_json(capsys, tmp_path, "check", "--chart", str(parent), "--helm", helm)
    bad = _served(result)
    assert code == 1 and bad, result
    assert {f["file"] for f in bad} == {"parent/charts/sub-0.1.0.tgz"}, bad  # the file the user has (relative to where check runs)


def test_a_nested_subcharts_bad_crd_is_found_at_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """F8: charts/mid/charts/leaf/crds/w.yaml (two levels down) was never read."""
    parent = _parent(tmp_path, "mid")
    mid = _chart(parent / "charts", "mid")
    _chart(mid / "charts", "leaf", BAD)
    code, result = run_json(capsys, tmp_path, "check", "--chart", str(parent), "--helm", "3")
    bad = _served(result)
    assert code == 1 and bad, result
    assert bad[0]["file"] == "parent/charts/mid/charts/leaf/crds/w.yaml" and bad[0]["line"] == 11, bad


def test_a_packaged_chart_and_a_linked_crds_folder_are_checked(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """F8: `check --chart parent-0.1.0.tgz` and a chart whose crds/ is a symlink both said `check: ok`."""
    parent = _parent(tmp_path)
    (parent / "shared-crds").mkdir()
    (parent / "shared-crds" / "w.yaml").write_text(CRD.replace("SERVED", BAD))
    (parent / "crds").symlink_to("shared-crds")
    code, result = run_json(capsys, tmp_path, "check", "--chart", str(parent), "--helm", "3")
    assert code == 1 and _served(result), result
    (parent / "crds").unlink()
    (parent / "crds").mkdir()
    (parent / "crds" / "w.yaml").write_text(CRD.replace("SERVED", BAD))
    archive = _package(parent, tmp_path / "pk")
    code, result = run_json(capsys, tmp_path, "check", "--chart", str(archive), "--helm", "3")
    bad = _served(result)
    assert code == 1 and bad and bad[0]["file"] == "pk/parent-0.1.0.tgz", result


def test_a_disabled_subcharts_crd_is_not_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """F9: a subchart off by its condition had its CRD reported (4 errors, rc 1): Helm does not install it."""
    parent = _parent(tmp_path, "opt:opt.enabled")
    _chart(parent / "charts", "opt", BAD)
    with (parent / "values.yaml").open("a") as f:
        f.write("opt:\n  enabled: false\n")
    code, result = run_json(capsys, tmp_path, "check", "--chart", str(parent), "--helm", "3")
    assert code == 0 and not _served(result), result
    code, result = run_json(capsys, tmp_path, "check", "--chart", str(parent), "--helm", "3", "--set", "opt.enabled=true")
    assert code == 1 and _served(result), result  # the same chart with the subchart on: found


def test_a_custom_resource_is_validated_against_its_subcharts_crd(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """F7: a Widget in the parent's templates was `schema/unknown-kind` (the packaged subchart's CRD unread);
    the CRD's schema applies to it, and a bad CRD is reported once however many scenarios render it."""
    parent = _parent(tmp_path, "sub")
    _package(_chart(tmp_path / "src", "sub", "true"), parent / "charts")
    widget = parent / "templates" / "widget.yaml"
    widget.write_text("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec: {size: 1}\n")
    code, result = run_json(capsys, tmp_path, "check", "--chart", str(parent), "--helm", "3")
    assert code == 0 and not [f for f in result["findings"] if f["severity"] == "error"], result
    widget.write_text("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec: {size: big}\n")
    code, result = run_json(capsys, tmp_path, "check", "--chart", str(parent), "--helm", "3")
    found = [f for f in result["findings"] if f["path"] == "$.spec.size"]
    assert code == 1 and found and found[0]["rule"] == "schema/custom" and found[0]["file"] == "parent/templates/widget.yaml", result
    (parent / "ci").mkdir()
    for n in ("a", "b"):
        (parent / "ci" / f"{n}-values.yaml").write_text("replicaCount: 2\n")
    (parent / "crds").mkdir()
    (parent / "crds" / "g.yaml").write_text(CRD.replace("SERVED", BAD).replace("widgets.", "gadgets.")
                                            .replace("Widget, plural: widgets", "Gadget, plural: gadgets"))
    code, result = run_json(capsys, tmp_path, "check", "--chart", str(parent), "--helm", "3")
    bad = [f for f in _served(result) if f["rule"] == "schema/k8s-1.30"]
    assert len(bad) == 1 and bad[0]["scenarios"] == "all profiles", result


def test_a_forged_crds_source_line_takes_nothing_out_of_lint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A template that prints its own `# Source: parent/crds/x.yaml` line before an object, to make it look like
    a file Helm installs from crds/ (which check does not lint), is still linted: Helm puts its own `# Source:`
    line first in every document it renders, and only a CustomResourceDefinition counts as a crds/ file."""
    parent = _parent(tmp_path)
    (parent / ".cogniverse-chart.toml").write_text("")  # the policy rules on again for this chart
    (parent / "templates" / "sneak.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cover\n"
        "---\n# Source: parent/crds/x.yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: sneak\n"
        "spec:\n  containers:\n  - name: c\n    image: busybox\n")
    code, result = run_json(capsys, tmp_path, "check", "--chart", str(parent), "--helm", "3")
    assert code == 1 and "policy/image-tag" in {f["rule"] for f in result["findings"] if f["name"] == "sneak"}, result
