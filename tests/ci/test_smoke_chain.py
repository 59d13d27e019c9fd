"""The upgrade/rollback smoke module runs its steps as a background chain (tests/smoke/test_upgrade_rollback.py):
a step runs only when the step before it passed, and says which one stopped it. No cluster: the steps here
are plain functions."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

SMOKE_DIR = Path(__file__).resolve().parents[1] / "smoke"


@pytest.fixture
def chain_module(monkeypatch):
    monkeypatch.syspath_prepend(str(SMOKE_DIR))
    mod = importlib.import_module("test_upgrade_rollback")
    monkeypatch.setattr(mod, "_early", {})
    monkeypatch.setattr(mod, "_state", {"core": "core-api"})
    return mod, sys.modules["smokelib"].Background


def _fails():
    raise AssertionError("helm install failed: boom")


def test_a_step_after_a_failed_step_does_not_run_and_names_it(chain_module):
    mod, background = chain_module
    ran = []
    mod._early["install"] = background("install", _fails)
    step = background("previous", mod._step("previous", lambda rel, core: ran.append(rel)))
    with pytest.raises(AssertionError, match=r"^not run: the step before it \(install\) failed: helm install failed: boom"):
        step.join(30)
    assert not ran


def test_a_step_runs_after_the_step_before_it_with_the_installed_release(chain_module):
    mod, background = chain_module
    mod._early["install"] = background("install", lambda: "the release")
    mod._early["previous"] = background("previous", mod._step("previous", lambda rel, core: (rel, core)))
    upgrade = background("upgrade", mod._step("upgrade", lambda rel, core: "upgraded"))
    assert mod._early["previous"].join(30) == ("the release", "core-api")
    assert upgrade.join(30) == "upgraded"
