"""Every lint rule: a manifest that triggers it (bad.yaml) and its corrected form (good.yaml).

Fixtures live in tests/fixtures/lint/<rule id with '/' as '__'>/. bad.yaml starts with
`# expect: <text the message must contain>` and optionally `# path: <JSON path of the finding>`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cogniverse_chart.documents import read_paths
from cogniverse_chart.lint import RULES, lint

FIXTURES = Path(__file__).parents[1] / "fixtures" / "lint"


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


def _pairs() -> list[tuple[str, str]]:
    """(rule id, case) for every bad/good pair: bad.yaml/good.yaml (case ""), and bad-CASE.yaml/good-CASE.yaml
    for the further cases of a rule (a fixed false finding, a fault found later)."""
    out = [(r, "") for r in sorted(RULES)]
    for r in sorted(RULES):
        out += [(r, p.name[4:-5]) for p in sorted(_dir(r).glob("bad-*.yaml"))]
    return out


PAIRS = _pairs()
IDS = [f"{r}{'-' + c if c else ''}" for r, c in PAIRS]


def test_every_extra_case_is_a_pair() -> None:
    for d in FIXTURES.iterdir():
        for f in d.glob("*-*.yaml") if d.is_dir() and not d.name.startswith("_") else []:
            other = f.with_name(("good" if f.name.startswith("bad-") else "bad") + f.name[f.name.index("-"):])
            assert other.exists(), f"{f} has no {other.name}"


@pytest.mark.parametrize("rule_id,case", PAIRS, ids=IDS)
def test_rule_triggers_on_bad_manifest(rule_id: str, case: str) -> None:
    bad = _dir(rule_id) / (f"bad-{case}.yaml" if case else "bad.yaml")
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


@pytest.mark.parametrize("rule_id,case", PAIRS, ids=IDS)
def test_rule_quiet_on_corrected_manifest(rule_id: str, case: str) -> None:
    good = _dir(rule_id) / (f"good-{case}.yaml" if case else "good.yaml")
    findings = [f for f in lint(list(read_paths([str(good)]))) if f.rule == rule_id]
    assert not findings, [f.format() for f in findings]


def test_disable_skips_a_rule_and_a_family() -> None:
    docs = list(read_paths([str(_dir("policy/image-tag") / "bad.yaml")]))
    assert any(f.rule == "policy/image-tag" for f in lint(docs))
    assert not any(f.rule == "policy/image-tag" for f in lint(docs, disable=["policy/image-tag"]))
    assert not any(f.rule.startswith("policy/") for f in lint(docs, disable=["policy/"]))
