"""How the suite runs: the fast tests spread over the cores, anything that may reach the cluster in one
process (the smoke tests share one cluster and its semaphores)."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from conftest import pytest_xdist_auto_num_workers


def _config(markexpr: str) -> SimpleNamespace:
    return SimpleNamespace(option=SimpleNamespace(markexpr=markexpr))


@pytest.mark.parametrize("markexpr", ["smoke", "", "smoke and not slow", "scale"])
def test_cluster_runs_use_one_process(monkeypatch, markexpr):
    monkeypatch.delenv("COGNIVERSE_TEST_WORKERS", raising=False)
    assert pytest_xdist_auto_num_workers(_config(markexpr)) == 0


def test_the_fast_suite_uses_every_core_up_to_four(monkeypatch):
    monkeypatch.delenv("COGNIVERSE_TEST_WORKERS", raising=False)
    assert pytest_xdist_auto_num_workers(_config("not smoke")) == min(4, os.cpu_count() or 1)
    assert pytest_xdist_auto_num_workers(_config("not  smoke ")) == min(4, os.cpu_count() or 1)


def test_the_worker_count_can_be_set(monkeypatch):
    monkeypatch.setenv("COGNIVERSE_TEST_WORKERS", "0")
    assert pytest_xdist_auto_num_workers(_config("not smoke")) == 0
