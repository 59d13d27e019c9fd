"""Where a fast test goes: one folder per subject under tests/ (the map in docs/architecture.md), the helpers
every test imports in tests/lib. A module left flat in tests/, a folder the map does not name, or a helper
that another test module has to import from a test file would leave the next newcomer guessing."""

from __future__ import annotations

import ast
import re

from cogniverse_chart import REPO_ROOT

TESTS = REPO_ROOT / "tests"
# Beside the folders: the fixtures shared by every folder, and the placement plugin scripts/test.sh runs.
TOP_LEVEL = {"conftest.py", "placement.py"}


def _map_folders() -> set[str]:
    text = (REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## The test map", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `tests/([a-z_]+)/`", section, re.M))


def test_no_test_module_sits_flat_in_tests() -> None:
    flat = sorted(p.name for p in TESTS.glob("*.py") if p.name not in TOP_LEVEL)
    assert flat == [], f"move these into a subject folder (docs/architecture.md, the test map) or tests/lib: {flat}"


def test_every_subject_folder_is_on_the_map_and_every_folder_on_the_map_exists() -> None:
    folders = {p.parent.relative_to(TESTS).parts[0] for p in TESTS.glob("*/**/test_*.py")}
    on_map = _map_folders()
    assert folders - on_map == set(), f"test folders docs/architecture.md's test map does not name: {folders - on_map}"
    assert {f for f in on_map if not (TESTS / f).is_dir()} == set()


def test_a_test_module_imports_other_test_modules_only_from_its_own_folder() -> None:
    """pytest puts a test module's own folder on the import path, not its neighbours': a test module that
    imports one from another folder fails to collect after a move. What folders share belongs in tests/lib
    (or a fixture in tests/conftest.py)."""
    wrong = []
    for path in sorted(TESTS.glob("*/test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            wrong += [f"{path.relative_to(TESTS)} imports {n}" for n in names
                      if n.startswith("test_") and not (path.parent / f"{n}.py").exists()]
    assert wrong == [], wrong
