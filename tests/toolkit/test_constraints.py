"""The runtime dependencies are pinned where users install them (attack24b D60): constraints.txt pins every
runtime dependency of pyproject.toml and theirs, at the versions this suite runs with, and the Action and
scripts/bootstrap.sh install with it (a new release of pyyaml or kubernetes changes nobody's CI unasked)."""

from __future__ import annotations

import importlib.metadata as md
import re

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from toolkit_utils import PYPROJECT, ROOT

CONSTRAINTS = ROOT / "constraints.txt"


def _runtime_closure() -> dict[str, str]:
    """{name: installed version} of pyproject's dependencies and everything they need (markers of this Python)."""
    seen: dict[str, str] = {}
    todo = [Requirement(d) for d in PYPROJECT["project"]["dependencies"]]
    while todo:
        req = todo.pop()
        if req.marker and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name not in seen:
            dist = md.distribution(req.name)
            seen[name] = dist.version
            todo += [Requirement(r) for r in dist.requires or []]
    return seen


def test_constraints_pin_the_runtime_dependencies_the_suite_runs_with() -> None:
    pinned = dict(re.findall(r"^([a-z0-9-]+)==(\S+)$", CONSTRAINTS.read_text(), re.M))
    want = _runtime_closure()
    assert pinned == want, "constraints.txt is stale; its pins should be:\n" + "\n".join(
        f"{n}=={v}" for n, v in sorted(want.items()))


def test_the_action_and_bootstrap_install_with_the_constraints() -> None:
    action = (ROOT / "action.yml").read_text()
    assert re.search(r'pip install [^\n]*\\\n\s*-c "\$ACTION_PATH/constraints.txt" "\$ACTION_PATH"', action), action
    bootstrap = (ROOT / "scripts" / "bootstrap.sh").read_text()
    assert '-c "$ROOT/constraints.txt" -e "${ROOT}[dev]"' in bootstrap
    assert '"$ROOT/constraints.txt" | sha256sum' in bootstrap  # a changed pin reinstalls the venv
