"""The KWOK controller of the `scale` tests (cluster/kwok): its wrapper module requires exactly the version
versions.env pins, and the fake nodes it is given cannot attract real workloads."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cogniverse_chart import versions
from cogniverse_dev import gobuild
from cogniverse_chart.errors import ToolkitError

sys.path.insert(0, str(Path(__file__).parents[1] / "smoke" / "scale"))
import kwoklib  # noqa: E402


def test_kwok_wrapper_requires_the_pinned_version():
    assert gobuild.required_version(kwoklib.KWOK_DIR, "sigs.k8s.io/kwok") == versions.get("KWOK_VERSION")
    assert gobuild.check_pin(kwoklib.KWOK_DIR, "sigs.k8s.io/kwok", "KWOK_VERSION") == versions.get("KWOK_VERSION")


def test_a_drifted_kwok_pin_is_named(monkeypatch):
    real = versions.get
    monkeypatch.setattr(versions, "get", lambda key: "v0.0.1" if key == "KWOK_VERSION" else real(key))
    with pytest.raises(ToolkitError, match=r"cluster/kwok/go.mod requires sigs.k8s.io/kwok v\S+ but versions.env pins "
                                           r"KWOK_VERSION=v0.0.1"):
        gobuild.check_pin(kwoklib.KWOK_DIR, "sigs.k8s.io/kwok", "KWOK_VERSION")


def test_fake_nodes_are_tainted_managed_and_zoned():
    node = kwoklib.fake_node("kwok-x-a00", "kwok-zone-a", "x")
    assert node["spec"]["taints"] == [{"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}]
    assert node["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
    labels = node["metadata"]["labels"]
    assert labels["topology.kubernetes.io/zone"] == "kwok-zone-a" and labels[kwoklib.RUN_LABEL] == "x"
    assert labels["kubernetes.io/hostname"] == "kwok-x-a00"
