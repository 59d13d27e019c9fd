"""Where scripts/test.sh runs each cluster test (tests/placement.py): the legs' plans, the tests each leg's
sessions keep, and a misplaced or misspelt marker failing collection with a message that names it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import placement

pytest_plugins = ("pytester",)

ROOT = Path(__file__).resolve().parents[2]
PLACEMENT = ROOT / "tests" / "placement.py"


def plan(version: str, matrix: str) -> list[str]:
    proc = subprocess.run([sys.executable, str(PLACEMENT), "groups", version], capture_output=True, text=True,
                          env={**os.environ, "COGNIVERSE_ARGO_MATRIX": matrix})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_each_leg_runs_its_groups_beside_the_suite_then_the_ones_alone():
    assert plan("3.7", "3.7 4.0") == ["beside node smoke -", "beside postgresql smoke images", "beside upgrade smoke -",
                                      "after template-referencing smoke -"]
    assert plan("4.0", "3.7 4.0") == ["beside services smoke images", "beside restore-drill smoke images",
                                      "after chaos chaos -"]
    # a leg between the first and the last runs its suite only; a matrix of one runs every group
    assert plan("3.9", "3.7 3.9 4.0") == []
    assert len(plan("4.0", "4.0")) == len([g for g in placement.GROUPS.values() if g.leg in ("first", "last")])


def test_the_default_matrix_is_the_argo_versions_of_versions_env(monkeypatch):
    from cogniverse_chart import versions

    monkeypatch.delenv("COGNIVERSE_ARGO_MATRIX", raising=False)
    wanted = [".".join(versions.get(k).lstrip("v").split(".")[:2]) for k in ("ARGO_VERSION", "ARGO_V4_VERSION")]
    assert placement.matrix() == wanted
    proc = subprocess.run([sys.executable, str(PLACEMENT), "matrix"], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "COGNIVERSE_ARGO_MATRIX"})
    assert proc.stdout.split() == wanted


def test_a_version_outside_the_matrix_is_refused_naming_the_matrix():
    proc = subprocess.run([sys.executable, str(PLACEMENT), "groups", "3.9"], capture_output=True, text=True,
                          env={**os.environ, "COGNIVERSE_ARGO_MATRIX": "3.7 4.0"})
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("placement: --argo-leg 3.9: not an Argo version of the matrix 3.7 4.0 "
                                   "(COGNIVERSE_ARGO_MATRIX)")
    # scripts/test.sh --leg checks its value with the same command: a version with a space is no entry
    proc = subprocess.run([sys.executable, str(PLACEMENT), "groups", "3.7 4.0"], capture_output=True, text=True,
                          env={**os.environ, "COGNIVERSE_ARGO_MATRIX": "3.7 4.0"})
    assert proc.returncode == 2 and "--argo-leg 3.7 4.0: not an Argo version of the matrix" in proc.stderr
    assert 'tests/placement.py groups "$leg_only"' in (ROOT / "scripts" / "test.sh").read_text()


PROJECT = {
    "tests/smoke/test_suite.py": """
import pytest
pytestmark = pytest.mark.smoke
def test_every_leg(): pass
@pytest.mark.argo_leg("first")
def test_first_leg(): pass
@pytest.mark.argo_leg("last")
@pytest.mark.service_images
def test_last_leg_with_images(): pass
""",
    "tests/smoke/test_beside.py": """
import pytest
pytestmark = [pytest.mark.smoke, pytest.mark.group("node")]
def test_in_node(): pass
""",
    "tests/test_fast.py": "def test_fast(): pass\n",
}


def collect(pytester: pytest.Pytester, files: dict[str, str], *args: str) -> pytest.RunResult:
    """`pytest --collect-only -q ARGS` in a project of `files` with the placement plugin, as scripts/test.sh
    runs it (in this process: pytester)."""
    pytester.makeini("[pytest]\nfilterwarnings =\n  ignore::pytest.PytestUnknownMarkWarning\n  ignore:cannot discover fixture\n")
    for name, text in files.items():
        (pytester.path / name).parent.mkdir(parents=True, exist_ok=True)
        (pytester.path / name).write_text(text)
    return pytester.runpytest_inprocess("-p", "placement", "-p", "no:cacheprovider", "--collect-only", "-q", *args)


def kept(result: pytest.RunResult) -> set[str]:
    assert result.ret in (0, 5), result.outlines + result.errlines  # 5: no test kept
    return {line.rpartition("::")[2] for line in result.outlines if "::" in line and " " not in line}


@pytest.fixture
def matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGNIVERSE_ARGO_MATRIX", "3.7 3.9 4.0")


def test_each_session_keeps_the_tests_placed_in_its_leg_and_group(pytester, matrix):
    assert kept(collect(pytester, PROJECT, "-m", "smoke", "--argo-leg", "3.7")) == {"test_every_leg", "test_first_leg"}
    assert kept(collect(pytester, PROJECT, "-m", "smoke", "--argo-leg", "3.9")) == {"test_every_leg"}
    assert kept(collect(pytester, PROJECT, "-m", "smoke", "--argo-leg", "4.0")) == {"test_every_leg",
                                                                                   "test_last_leg_with_images"}
    assert kept(collect(pytester, PROJECT, "-m", "smoke", "--argo-leg", "4.0", "--no-service-images")) == {"test_every_leg"}
    assert kept(collect(pytester, PROJECT, "-m", "smoke", "--argo-leg", "3.7", "--smoke-group", "node")) == {"test_in_node"}
    assert kept(collect(pytester, PROJECT, "-m", "smoke", "--argo-leg", "4.0", "--smoke-group", "node")) == set()
    # without --argo-leg nothing is left out: `pytest -m smoke` on any cluster runs every smoke test
    assert len(kept(collect(pytester, PROJECT, "-m", "smoke"))) == 4
    # the fast tests are no one's business here
    assert kept(collect(pytester, PROJECT, "-m", "not smoke", "--argo-leg", "3.9")) == {"test_fast"}


def test_the_other_legs_tests_are_named_in_the_output(pytester, matrix):
    out = "\n".join(collect(pytester, PROJECT, "-m", "smoke", "--argo-leg", "4.0").outlines)
    assert ("placement: on Argo 4.0, 1 test(s) of group suite left out (another leg's, tests/placement.py): "
            "tests/smoke/test_suite.py::test_first_leg") in out


@pytest.mark.parametrize("files, args, message", [
    ({"tests/smoke/test_x.py": "import pytest\n@pytest.mark.smoke\n@pytest.mark.group('nodes')\ndef test_x(): pass\n"},
     (), "tests/smoke/test_x.py::test_x: unknown group 'nodes'; tests/placement.py GROUPS has suite, node,"),
    ({"tests/smoke/test_x.py": "import pytest\n@pytest.mark.smoke\n@pytest.mark.argo_leg('middle')\ndef test_x(): pass\n"},
     (), "tests/smoke/test_x.py::test_x: argo_leg('middle'); expected one of first, last"),
    ({"tests/smoke/test_x.py": "import pytest\n@pytest.mark.smoke\n@pytest.mark.group('node')\n"
                               "@pytest.mark.argo_leg('first')\ndef test_x(): pass\n"},
     (), "tests/smoke/test_x.py::test_x: argo_leg and group together; a group's leg is in GROUPS"),
    ({"tests/smoke/test_x.py": "import pytest\n@pytest.mark.smoke\n@pytest.mark.group\ndef test_x(): pass\n"},
     (), "tests/smoke/test_x.py::test_x: @pytest.mark.group takes one name, got ()"),
    ({"tests/test_x.py": "import pytest\n@pytest.mark.smoke\ndef test_x(): pass\n"},
     (), "cluster tests (marked smoke, chaos, scale) outside tests/smoke: tests/test_x.py::test_x"),
    ({"tests/scale/test_x.py": "import pytest\n@pytest.mark.scale\ndef test_x(): pass\n"},
     (), "cluster tests (marked smoke, chaos, scale) outside tests/smoke: tests/scale/test_x.py::test_x"),
    ({"tests/test_x.py": "import pytest\n@pytest.mark.group('node')\ndef test_x(): pass\n"},
     (), "placed but not marked smoke or chaos (group and argo_leg place cluster tests only): tests/test_x.py::test_x"),
    (PROJECT, ("--smoke-group", "node"), "--smoke-group needs --argo-leg VERSION (the leg whose group runs)"),
    (PROJECT, ("--argo-leg", "3.7", "--smoke-group", "nodes"), "--smoke-group nodes: unknown;"),
    (PROJECT, ("--argo-leg", "5.0"), "--argo-leg 5.0: not an Argo version of the matrix 3.7 3.9 4.0"),
], ids=["unknown-group", "unknown-leg", "leg-and-group", "group-without-name", "outside-the-smoke-tree",
        "scale-outside-the-smoke-tree", "placed-fast-test", "group-without-leg", "unknown-session-group", "version-outside-the-matrix"])
def test_a_misplaced_test_or_a_misspelt_name_fails_collection_naming_it(pytester, matrix, files, args, message):
    result = collect(pytester, files, *args)
    assert result.ret == 4, result.outlines + result.errlines
    err = "\n".join(result.errlines)
    assert f"ERROR: {message}" in err, err
    assert "Traceback" not in err
