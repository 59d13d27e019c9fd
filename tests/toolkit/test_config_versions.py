"""The config file's rule ids and versions name only what the package has, and a mistake names the file and
key (attack24c E24, E25); a config beside the chart is found from the repository root (E43)."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit_utils import run_cli

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  port: 1\n"


@pytest.mark.parametrize("rule", ["schema/k8s-1.3", "schema/argo-99.99", "schema/k8s-1.29"])
def test_a_templated_rule_id_names_a_bundled_minor(tmp_path: Path, capsys: pytest.CaptureFixture[str], rule: str) -> None:
    """E24: `"schema/k8s-1.3" = "off"` was accepted and switched nothing off."""
    (tmp_path / "s1.yaml").write_text(CM)
    (tmp_path / ".cogniverse-chart.toml").write_text(f'[rules]\n"{rule}" = "off"\n')
    code, _, err = run_cli(capsys, tmp_path, "validate", "s1.yaml")
    assert code == 2 and f"rules.'{rule}': no such rule or family" in err and ".cogniverse-chart.toml" in err, err
    (tmp_path / ".cogniverse-chart.toml").write_text('[rules]\n"schema/k8s-1.30" = "off"\n')
    code, out, err = run_cli(capsys, tmp_path, "validate", "--kube-version", "1.30", "s1.yaml")
    assert code == 0, out + err  # a bundled minor is taken, and turns its findings off


@pytest.mark.parametrize("setting, command, said", [
    ('kube-versions = ["1.29"]', "validate", "kube-versions: no Kubernetes 1.29 schemas (bundled: 1.30"),
    ('argo-versions = ["9.9"]', "validate", "argo-versions: no Argo Workflows 9.9 schemas (bundled: 3.6"),
    ('argo-versions = ["9.9"]', "lint", "argo-versions: lint knows Argo 3.6, 3.7, 4.0, not 9.9"),
])
def test_versions_outside_the_bundles_name_the_config_file_and_key(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                  setting: str, command: str, said: str) -> None:
    """E25: `kube-versions = ["1.29"]` said "no bundled Kubernetes 1.29 schemas" naming no file or key, and lint
    blamed an `--argo-version 9.9` the user never passed."""
    (tmp_path / "s1.yaml").write_text(CM)
    (tmp_path / ".cogniverse-chart.toml").write_text(setting + "\n")
    code, _, err = run_cli(capsys, tmp_path, command, "s1.yaml")
    assert code == 2 and said in err and ".cogniverse-chart.toml" in err and "--argo-version" not in err, err
    assert len(err.strip().splitlines()) == 1


def test_the_config_beside_the_chart_is_read_from_the_repository_root(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """E43: charts/demo/.cogniverse-chart.toml turned policy/ off inside the chart's folder only; from the
    repository root (where pre-commit and the Action run), with or without --chart, it was never read."""
    from toolkit_utils import helm_create

    (tmp_path / ".git").mkdir()
    chart = helm_create(tmp_path / "charts")
    code, _, _ = run_cli(capsys, tmp_path, "lint")
    assert code == 1  # Helm's starter chart breaks the Cogniverse policy
    (chart / ".cogniverse-chart.toml").write_text('[rules]\n"policy/" = "off"\n')
    for cwd, args in ((chart, ()), (tmp_path, ()), (tmp_path, ("--chart", "charts/demo"))):
        code, out, err = run_cli(capsys, cwd, "lint", *args)
        assert code == 0 and "Traceback" not in err, (cwd, args, out + err)
    (tmp_path / ".cogniverse-chart.toml").write_text('[rules]\n"policy/" = "warning"\n')  # the nearer one still wins
    code, out, _ = run_cli(capsys, tmp_path, "lint", "--chart", "charts/demo")
    assert code == 0 and "charts/demo/.cogniverse-chart.toml turns off policy/" in out, out


def test_manifests_named_on_the_command_line_keep_the_working_directorys_config(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The chart's own config (E43) is for the chart's checks: `validate FILE` from the repository root still
    reads the root's config (here none), not the one beside the only chart in charts/."""
    from toolkit_utils import helm_create

    (tmp_path / ".git").mkdir()
    chart = helm_create(tmp_path / "charts")
    (chart / ".cogniverse-chart.toml").write_text('[rules]\n"schema/" = "off"\n')
    (tmp_path / "s1.yaml").write_text(CM)
    code, out, _ = run_cli(capsys, tmp_path, "validate", "s1.yaml")
    assert code == 1 and "port" in out, out
