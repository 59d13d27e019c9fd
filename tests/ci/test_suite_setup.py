"""How the suite runs: the fast tests spread over the cores, anything that may reach the cluster in one
process (the smoke tests share one cluster and its semaphores)."""

from __future__ import annotations

import os

import pytest

from suite import workers


@pytest.mark.parametrize("markexpr", ["smoke", "", "smoke and not slow", "scale"])
def test_cluster_runs_use_one_process(monkeypatch, markexpr):
    monkeypatch.delenv("COGNIVERSE_TEST_WORKERS", raising=False)
    assert workers(markexpr) == 0


def test_the_fast_suite_uses_every_core_up_to_four(monkeypatch):
    monkeypatch.delenv("COGNIVERSE_TEST_WORKERS", raising=False)
    assert workers("not smoke") == min(4, os.cpu_count() or 1)
    assert workers("not  smoke ") == min(4, os.cpu_count() or 1)


def test_the_worker_count_can_be_set(monkeypatch):
    monkeypatch.setenv("COGNIVERSE_TEST_WORKERS", "0")
    assert workers("not smoke") == 0
