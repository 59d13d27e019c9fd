"""benchmarks/bench_tenants.py's verdict on one tenant: it names every object that came out wrong (the
benchmark fails on them), and accepts exactly what the values ask for."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_tenants as bench  # noqa: E402

VALUES = {"workflows": {"templates": {"tenantProvisioning": {
    "quota": {"pods": 50, "persistentVolumeClaims": 10},
    "pvcs": [{"name": "tenant-data", "size": "10Mi", "accessModes": ["ReadWriteOnce"]}]}}}}


def _state(**over):
    state = {"labels": {"cogniverse.dev/tenant": "bt1_0001"}, "versions": {},
             "quotas": [{"requests.cpu": "2", "requests.memory": "4Gi", "requests.storage": "10Gi", "pods": "50",
                         "persistentvolumeclaims": "10"}],
             "pvcs": {"tenant-data": ("10Mi", ("ReadWriteOnce",))}}
    state.update(over)
    return state


def test_a_correct_tenant_passes():
    assert bench.check_tenant(_state(), "bt1_0001", VALUES) == []
    assert bench.namespace_of("bt1_0001") == "cogniverse-bt1-0001"


def test_each_wrong_object_is_named():
    assert bench.check_tenant({}, "bt1_0001", VALUES) == ["bt1_0001: namespace cogniverse-bt1-0001 missing"]
    wrong_quota = _state(quotas=[{**_state()["quotas"][0], "requests.cpu": "20"}])
    assert bench.check_tenant(wrong_quota, "bt1_0001", VALUES) == ["bt1_0001: quota requests.cpu=20, expected 2"]
    assert "2 ResourceQuotas" in bench.check_tenant(_state(quotas=_state()["quotas"] * 2), "bt1_0001", VALUES)[0]
    assert "PVCs {}" in bench.check_tenant(_state(pvcs={}), "bt1_0001", VALUES)[0]
    assert "label" in bench.check_tenant(_state(labels={}), "bt1_0001", VALUES)[0]


def test_tenant_ids_are_valid_and_distinct():
    import re

    ids = bench.tenant_ids("ab12", 200)
    assert len(set(ids)) == 200
    assert all(re.fullmatch(r"[a-z][a-z0-9_]{1,46}[a-z0-9]", t) for t in ids)
