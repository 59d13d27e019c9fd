"""The `scale` tests run only when asked for (`pytest -m scale tests/smoke/scale`): they add dozens of simulated
nodes to the shared cluster and take minutes. Without `-m scale` they are deselected (not skipped);
with it but without KUBECONFIG they are skipped with one line saying so.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    scale = [i for i in items if i.get_closest_marker("scale")]
    if "scale" not in (config.option.markexpr or ""):
        config.hook.pytest_deselected(items=scale)
        items[:] = [i for i in items if not i.get_closest_marker("scale")]
        return
    if not (os.environ.get("KUBECONFIG") and Path(os.environ["KUBECONFIG"]).exists()):
        skip = pytest.mark.skip(reason="scale: no cluster configured (set KUBECONFIG to run against one)")
        for item in scale:
            item.add_marker(skip)
