"""How the test suite runs (not a test file; tests/conftest.py asks it)."""

from __future__ import annotations

import os


def workers(markexpr: str) -> int:
    """pytest-xdist workers for a run selected by `-m markexpr`: the fast suite (`-m 'not smoke'`) runs on
    every core (at most 4: most of its time is helm processes), each worker taking whole files (`--dist
    loadfile`, so module fixtures are built once); anything that may reach the cluster runs in one
    process. COGNIVERSE_TEST_WORKERS overrides (0 = no workers)."""
    if os.environ.get("COGNIVERSE_TEST_WORKERS"):
        return int(os.environ["COGNIVERSE_TEST_WORKERS"])
    if markexpr.replace(" ", "") != "notsmoke":
        return 0
    return min(4, os.cpu_count() or 1)
