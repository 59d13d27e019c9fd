"""Where each cluster test runs in scripts/test.sh: a pytest plugin (loaded by tests/conftest.py) that knows
the Argo matrix, the leg's Argo version and the session's group, and a command that lists a leg's groups.

scripts/test.sh names no test. It runs, once per Argo version of the matrix (`python tests/placement.py
matrix`: $COGNIVERSE_ARGO_MATRIX, by default the Argo versions of versions.env), `pytest -m smoke --argo-leg VERSION` (the leg's suite), the groups of that leg beside it
(`--smoke-group NAME`, each in a session of its own), and the groups that run alone after it.
`python tests/placement.py groups VERSION` prints them. Which tests a session keeps is decided here, from
three markers (registered in pyproject.toml, described in docs/smoke.md):

  group(NAME)         the test runs in group NAME's session (GROUPS: its leg, and beside or after the
                      suite), not in the leg's suite
  argo_leg(LEG)       LEG "first" or "last": the test does not depend on the Argo version and runs in
                      the suite of that leg of the matrix only
  service_images      the test needs the service images (Phoenix, Ollama, PostgreSQL) imported into the
                      node; --no-service-images leaves it out (their build or import failed)

Without --argo-leg nothing is left out (`pytest -m smoke` on any cluster runs every smoke test, as
before). Every test marked `smoke`, `chaos` or `scale` (a cluster test) lives under tests/smoke: collection fails
otherwise.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import pytest

LEGS = ("first", "last")
PLACEMENT_MARKERS = ("group", "argo_leg")
CLUSTER_MARKERS = ("smoke", "chaos", "scale")  # every test marked so lives under tests/smoke


@dataclass(frozen=True)
class Group:
    leg: str  # "every", "first", "last" (of the Argo matrix) or "none" (not run by scripts/test.sh)
    when: str  # "suite", "beside" (a session of its own beside the leg's suite) or "after" (alone, after it)
    marks: str  # the -m expression its session runs with
    images: bool  # its session waits for the service images' import
    what: str


GROUPS = {
    "suite": Group("every", "suite", "smoke", False, "the leg's suite: every smoke test without a group"),
    "node": Group("first", "beside", "smoke", False,
                  "the node alone: the chart from OCI with both Helms, NetworkPolicy enforcement, the token routes"),
    "postgresql": Group("first", "beside", "smoke", True, "the PostgreSQL restore drill"),
    "upgrade": Group("first", "beside", "smoke", False, "the previous release upgraded to the tree and rolled back"),
    "services": Group("last", "beside", "smoke", True, "Phoenix and Ollama from the service images"),
    "restore-drill": Group("last", "beside", "smoke", True, "the SQLite restore drill"),
    "template-referencing": Group("first", "after", "smoke", False,
                                  "templateReferencing: Strict is controller-wide: alone, after the suite"),
    "chaos": Group("last", "after", "chaos", False,
                   "the chaos suite's CI subset: faults injected into the node, alone after the last leg"),
    "by-hand": Group("none", "after", "smoke", False, "not run by scripts/test.sh (a check another test covers)"),
}


def matrix() -> list[str]:
    """$COGNIVERSE_ARGO_MATRIX, else the Argo versions the toolkit validates against (versions.env)."""
    from cogniverse_chart.validate import DEFAULT_ARGO_VERSIONS

    return os.environ.get("COGNIVERSE_ARGO_MATRIX", "").split() or list(DEFAULT_ARGO_VERSIONS)


def legs_of(version: str, versions: list[str]) -> set[str]:
    """The legs `version` is in the matrix: "every", and "first"/"last" (both for a matrix of one)."""
    if version not in versions:
        raise pytest.UsageError(f"--argo-leg {version}: not an Argo version of the matrix {' '.join(versions)} "
                                "(COGNIVERSE_ARGO_MATRIX)")
    return {"every"} | ({"first"} if version == versions[0] else set()) | ({"last"} if version == versions[-1] else set())


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("placement", "where cluster tests run (tests/placement.py)")
    group.addoption("--argo-leg", metavar="VERSION",
                    help="run the tests placed in this Argo version's leg of $COGNIVERSE_ARGO_MATRIX")
    group.addoption("--smoke-group", metavar="NAME", default="suite",
                    help=f"with --argo-leg: the group whose tests run ({', '.join(GROUPS)}; default suite)")
    group.addoption("--no-service-images", action="store_true",
                    help="leave out the tests marked service_images (the images were not imported)")


def _marker_arg(item: pytest.Item, name: str) -> str | None:
    mark = item.get_closest_marker(name)
    if mark is None:
        return None
    if len(mark.args) != 1 or not isinstance(mark.args[0], str):
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{name} takes one name, got {mark.args!r}")
    return mark.args[0]


def group_of(item: pytest.Item) -> str:
    name = _marker_arg(item, "group") or "suite"
    if name not in GROUPS:
        raise pytest.UsageError(f"{item.nodeid}: unknown group {name!r}; tests/placement.py GROUPS has {', '.join(GROUPS)}")
    return name


def leg_of(item: pytest.Item) -> str:
    group = group_of(item)
    leg = _marker_arg(item, "argo_leg")
    if leg is not None and leg not in LEGS:
        raise pytest.UsageError(f"{item.nodeid}: argo_leg({leg!r}); expected one of {', '.join(LEGS)}")
    if leg is not None and group != "suite":
        raise pytest.UsageError(f"{item.nodeid}: argo_leg and group together; a group's leg is in GROUPS")
    return leg or GROUPS[group].leg


def _is_cluster_test(item: pytest.Item) -> bool:
    return any(item.get_closest_marker(m) for m in ("smoke", "chaos"))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tree = config.rootpath / "tests" / "smoke"
    outside = [i.nodeid for i in items
               if any(i.get_closest_marker(m) for m in CLUSTER_MARKERS) and tree not in i.path.parents]
    if outside:
        raise pytest.UsageError(f"cluster tests (marked {', '.join(CLUSTER_MARKERS)}) outside tests/smoke: "
                                f"{', '.join(outside)}")
    stray = [i.nodeid for i in items if not _is_cluster_test(i) and any(i.get_closest_marker(m) for m in PLACEMENT_MARKERS)]
    if stray:
        raise pytest.UsageError(f"placed but not marked smoke or chaos (group and argo_leg place cluster tests only): "
                                f"{', '.join(stray)}")
    version = config.getoption("argo_leg")
    if config.getoption("smoke_group") != "suite" and not version:
        raise pytest.UsageError("--smoke-group needs --argo-leg VERSION (the leg whose group runs)")
    if not version:
        for item in items:
            if _is_cluster_test(item):
                leg_of(item)  # a misspelt marker fails every run, not only test.sh's
        return
    wanted = config.getoption("smoke_group")
    if wanted not in GROUPS:
        raise pytest.UsageError(f"--smoke-group {wanted}: unknown; tests/placement.py GROUPS has {', '.join(GROUPS)}")
    legs = legs_of(version, matrix())
    no_images = config.getoption("no_service_images")
    keep, drop, other_leg = [], [], []
    for item in items:
        if not _is_cluster_test(item):
            keep.append(item)
            continue
        ok = group_of(item) == wanted and leg_of(item) in legs
        if ok and no_images and item.get_closest_marker("service_images"):
            ok = False
        (keep if ok else drop).append(item)
        if not ok and group_of(item) == wanted and leg_of(item) not in legs:
            other_leg.append(item.nodeid)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    config.stash[_LEFT_OUT] = other_leg


_LEFT_OUT = pytest.StashKey[list]()


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    other_leg = config.stash.get(_LEFT_OUT, [])
    if not other_leg:
        return []
    return [f"placement: on Argo {config.getoption('argo_leg')}, {len(other_leg)} test(s) of group "
            f"{config.getoption('smoke_group')} left out (another leg's, tests/placement.py): " + " ".join(other_leg)]


def groups(version: str) -> list[str]:
    """scripts/test.sh's plan for one leg: one line `WHEN NAME MARKS NEEDS` per group other than the suite,
    beside groups first, in GROUPS order (NEEDS "images" or "-")."""
    legs = legs_of(version, matrix())
    rows = [(g.when, name, g.marks, "images" if g.images else "-") for name, g in GROUPS.items()
            if g.when != "suite" and g.leg in legs]
    return [" ".join(r) for r in sorted(rows, key=lambda r: r[0] != "beside")]


def main(argv: list[str]) -> int:
    if argv == ["matrix"]:
        print(" ".join(matrix()))
        return 0
    if len(argv) != 2 or argv[0] != "groups":
        print("usage: python tests/placement.py matrix | groups ARGO_VERSION", file=sys.stderr)
        return 2
    try:
        for line in groups(argv[1]):
            print(line)
    except pytest.UsageError as exc:
        print(f"placement: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
