"""The lint fixture pairs against Argo's own validator (3.7 and 4.0): every corrected manifest
(good*.yaml) is one Argo accepts, and every bad*.yaml of a parity rule (one that mirrors Argo's
validator, not marked beyond Argo) is one Argo rejects. So a fixture pair can never teach lint a rule
Argo does not have, nor a "fix" Argo refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from cogniverse_chart.documents import read_paths
from cogniverse_chart.lint import RULES
from cogniverse_dev import oracle

FIXTURES = Path(__file__).parents[1] / "fixtures" / "lint"


def _cases() -> dict[str, list[dict]]:
    return {str(f.relative_to(FIXTURES)): [d.obj for d in read_paths([str(f)])]
            for d in sorted(FIXTURES.iterdir()) if d.is_dir() and not d.name.startswith("_")
            for f in sorted(d.glob("*.yaml"))}


@pytest.mark.parametrize("version", ("3.7", "4.0"))
def test_fixtures_agree_with_argo(version: str) -> None:
    cases = _cases()
    assert len(cases) >= 2 * len(RULES)
    results = oracle.validate_cases(version, cases)
    wrong = []
    for rel, rs in results.items():
        errors = [e for _, _, e in rs if e]
        rule_id = Path(rel).parent.name.replace("__", "/")
        if Path(rel).name.startswith("good") and errors:
            wrong.append(f"{rel}: Argo rejects the corrected manifest: {errors[0]}")
        elif Path(rel).name.startswith("bad") and not errors and not RULES[rule_id].beyond_argo:
            wrong.append(f"{rel}: {rule_id} mirrors Argo's validator, but Argo accepts this manifest")
    assert not wrong, "\n".join(wrong)
