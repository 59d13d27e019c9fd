"""Every lint rule: a manifest that triggers it (bad.yaml) and its corrected form (good.yaml).

Fixtures live in tests/fixtures/lint/<rule id with '/' as '__'>/. bad.yaml starts with
`# expect: <text the message must contain>` and optionally `# path: <JSON path of the finding>`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cogniverse_chart.documents import read_paths
from cogniverse_chart.lint import RULES, lint

FIXTURES = Path(__file__).parent / "fixtures" / "lint"


def _dir(rule_id: str) -> Path:
    return FIXTURES / rule_id.replace("/", "__")


def _header(path: Path, key: str) -> str | None:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(f"# {key}: "):
            return line[len(key) + 4:]
    return None


def test_every_rule_has_fixtures() -> None:
    missing = [r for r in RULES if not (_dir(r) / "bad.yaml").exists() or not (_dir(r) / "good.yaml").exists()]
    assert not missing, f"rules without bad/good fixtures: {missing}"
    stray = [d.name for d in FIXTURES.iterdir()
             if d.is_dir() and not d.name.startswith("_") and d.name.replace("__", "/") not in RULES]
    assert not stray, f"fixture directories for unknown rules: {stray}"


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_triggers_on_bad_manifest(rule_id: str) -> None:
    bad = _dir(rule_id) / "bad.yaml"
    findings = [f for f in lint(list(read_paths([str(bad)]))) if f.rule == rule_id]
    assert findings, f"{rule_id} did not fire on {bad}"
    expect = _header(bad, "expect")
    assert expect, f"{bad} needs an '# expect:' line"
    assert any(expect in f.message for f in findings), [f.message for f in findings]
    path = _header(bad, "path")
    if path:
        assert path in [f.path for f in findings], [f.path for f in findings]
    for f in findings:  # every finding names the object and where inside it
        assert f.kind and f.name and f.path.startswith("$") and f.source == str(bad)


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_quiet_on_corrected_manifest(rule_id: str) -> None:
    good = _dir(rule_id) / "good.yaml"
    findings = [f for f in lint(list(read_paths([str(good)]))) if f.rule == rule_id]
    assert not findings, [f.format() for f in findings]


def test_disable_skips_a_rule_and_a_family() -> None:
    docs = list(read_paths([str(_dir("policy/image-tag") / "bad.yaml")]))
    assert any(f.rule == "policy/image-tag" for f in lint(docs))
    assert not any(f.rule == "policy/image-tag" for f in lint(docs, disable=["policy/image-tag"]))
    assert not any(f.rule.startswith("policy/") for f in lint(docs, disable=["policy/"]))
