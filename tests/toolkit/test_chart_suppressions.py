"""Suppressions: an annotation `cogniverse-chart.io/ignore.RULE: "reason"` silences one rule on one object,
names a known rule exactly, says why, and is itself checked (the config's severity, never suppressed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit_utils import rules_of, run_json


def test_an_annotation_with_a_reason_suppresses_one_finding_on_one_object(capsys, tmp_path: Path) -> None:
    pod = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  annotations:\n    {ann}\n"
           "spec:\n  containers:\n  - name: c\n    image: nginx:latest\n")
    ann = 'cogniverse-chart.io/ignore.policy.image-tag: "a throwaway debugging pod"'
    (tmp_path / "pods.yaml").write_text(pod.format(name="quiet", ann=ann) + "---\n" +
                                        pod.format(name="loud", ann="team: x"))
    code, result = run_json(capsys, tmp_path, "lint", "pods.yaml")
    tags = [f for f in result["findings"] if f["rule"] == "policy/image-tag"]
    assert [f["name"] for f in tags] == ["loud"] and result["suppressed"] == 1
    assert any(f["name"] == "quiet" for f in result["findings"])  # its other findings stay
    (tmp_path / "pods.yaml").write_text(pod.format(name="quiet", ann='cogniverse-chart.io/ignore.policy: ""'))
    code, result = run_json(capsys, tmp_path, "lint", "pods.yaml")
    assert code == 1 and "config/suppression-reason" in rules_of(result) and "policy/image-tag" in rules_of(result)


def test_a_suppression_speaks_only_for_its_own_object(capsys, tmp_path: Path) -> None:
    """A namesake in another file, objects without a kind or name, and `--reject` stay checked."""
    quiet = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same\n  namespace: ns-a\n  annotations:\n"
             "    cogniverse-chart.io/ignore.schema: \"ours is fine\"\n")
    (tmp_path / "a.yaml").write_text(quiet)
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same\n  namespace: ns-b\n"
                                     "data:\n  bogus: {a: 1}\n")
    for order in (("a.yaml", "b.yaml"), ("b.yaml", "a.yaml")):
        code, result = run_json(capsys, tmp_path, "validate", *order)
        assert code == 1 and {f["source"] for f in result["findings"]} == {"b.yaml"}, result
    # D13: a namesake in the same file, in another namespace or another API group, stays checked too
    bad = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: same, namespace: NS}\ndata:\n  bogus: {a: 1}\n"
    other_group = quiet.replace("apiVersion: v1", "apiVersion: example.org/v1")
    for quiet_one, loud in ((quiet, bad.replace("NS", "ns-b")), (other_group, bad.replace("NS", "ns-a"))):
        for stream in (quiet_one + "---\n" + loud, loud + "---\n" + quiet_one):
            (tmp_path / "both.yaml").write_text(stream)
            code, result = run_json(capsys, tmp_path, "validate", "--skip", "example.org/v1/ConfigMap", "both.yaml")
            assert code == 1 and {f["path"] for f in result["findings"]} == {"$.data.bogus"}, (stream, result)
    (tmp_path / "nokind.yaml").write_text("metadata:\n  annotations:\n    cogniverse-chart.io/ignore.schema: \"x\"\n")
    (tmp_path / "c.yaml").write_text("apiVersion: v1\ndata: {a: 1}\n")
    code, result = run_json(capsys, tmp_path, "validate", "nokind.yaml", "c.yaml")
    assert code == 1 and any(f["source"] == "c.yaml" for f in result["findings"]), result
    (tmp_path / "secret.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  annotations:\n"
                                          "    cogniverse-chart.io/ignore.schema.rejected-kind: \"I want it\"\n")
    code, result = run_json(capsys, tmp_path, "validate", "--reject", "Secret", "secret.yaml")
    assert code == 1 and "schema/rejected-kind" in rules_of(result), result


def test_a_suppression_must_name_a_rule(capsys, tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  annotations:\n"
                                      "    cogniverse-chart.io/ignore.: everything please\n")
    code, result = run_json(capsys, tmp_path, "validate", "cm.yaml")
    assert code == 1 and "names no rule" in result["findings"][0]["message"]


SUPPRESSED = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sp\n  annotations:\n"
              "    cogniverse-chart.io/ignore.{key}: \"{reason}\"\ndata:\n  y: 2\n")


@pytest.mark.parametrize("key,reason,rule", [
    ("schema.k8s-1", "prefix of a versioned id", "config/suppression-unknown-rule"),  # not schema/k8s-1.30
    ("shcema", "typo", "config/suppression-unknown-rule"),
    ("schema", "\\u200b", "config/suppression-reason"),  # a zero-width space is no reason
    ("schema", "--", "config/suppression-reason"),
    ("config", "not ours to judge", "config/suppression-unknown-rule"),  # cannot be suppressed: said, not silent
    ("schema.rejected-kind", "we need it", "config/suppression-unknown-rule"),
    ("schema.", "a trailing dot", "config/suppression-unknown-rule"),  # E21: an empty rule part, said not silent
    ("schema", "why " * 300, "config/suppression-reason"),  # E22: 1,200 characters is no reason, it is a payload
])
def test_a_suppression_must_name_a_known_rule_exactly_and_say_why(capsys, tmp_path: Path, key: str, reason: str,
                                                                 rule: str) -> None:
    (tmp_path / "sp.yaml").write_text(SUPPRESSED.format(key=key, reason=reason))
    code, result = run_json(capsys, tmp_path, "validate", "--kube-version", "1.30", "sp.yaml")
    assert code == 1 and rules_of(result) == {"schema/k8s-1.30", rule}, result["findings"]
    assert result["suppressed"] == 0


@pytest.mark.parametrize("key", ["cogniverse-chart.io/ignore", "cogniverse-chart.io/ignore-schema"])
def test_a_suppression_without_its_rule_is_reported(capsys, tmp_path: Path, key: str) -> None:
    """`cogniverse-chart.io/ignore: "why"` (no `.RULE`) suppressed nothing and said nothing."""
    text = SUPPRESSED.replace("cogniverse-chart.io/ignore.{key}", key).format(reason="reason in words")
    (tmp_path / "sp.yaml").write_text(text)
    code, result = run_json(capsys, tmp_path, "validate", "--kube-version", "1.30", "sp.yaml")
    assert code == 1 and rules_of(result) == {"schema/k8s-1.30", "config/suppression-reason"}, result["findings"]
    assert any(f"annotation {key} names no rule" in f["message"] for f in result["findings"])


def test_an_exact_versioned_id_suppresses_that_version_only(capsys, tmp_path: Path) -> None:
    (tmp_path / "sp.yaml").write_text(SUPPRESSED.format(key="schema.k8s-1.30", reason="old clusters only"))
    code, result = run_json(capsys, tmp_path, "validate", "--kube-version", "1.30", "--kube-version", "1.37",
                            "sp.yaml")
    assert code == 1 and rules_of(result) == {"schema/k8s-1.37"} and result["suppressed"] == 1


def test_the_suppression_checks_follow_the_config_severity_but_cannot_be_suppressed(capsys, tmp_path: Path) -> None:
    (tmp_path / "sp.yaml").write_text(SUPPRESSED.format(key="schema", reason=" ").replace(
        "  annotations:\n", "  annotations:\n    cogniverse-chart.io/ignore.config: \"hide the complaint\"\n"))
    code, result = run_json(capsys, tmp_path, "validate", "--kube-version", "1.30", "sp.yaml")
    assert code == 1 and "config/suppression-reason" in rules_of(result)
    (tmp_path / ".cogniverse-chart.toml").write_text('[rules]\n"config/suppression-reason" = "warning"\n')
    code, result = run_json(capsys, tmp_path, "validate", "--kube-version", "1.30", "sp.yaml")
    severity = {f["rule"]: f["severity"] for f in result["findings"]}
    assert severity == {"config/suppression-reason": "warning", "schema/k8s-1.30": "error",
                        "config/suppression-unknown-rule": "warning"}  # ignore.config is said to do nothing
