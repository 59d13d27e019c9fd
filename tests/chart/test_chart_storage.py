"""The service components' storage: volumes kept on uninstall, storage classes, emptyDir without persistence."""

from __future__ import annotations

from typing import Any

import pytest

from chart_utils import ALL_ON, by_kind


# --- storage ---------------------------------------------------------------------------------

def pvc_specs(docs) -> dict[str, dict[str, Any]]:
    """Data claims: standalone PVCs and StatefulSet volumeClaimTemplates (name -> object)."""
    out = {d.name: d.obj for d in docs if d.kind == "PersistentVolumeClaim"
           and not d.source.startswith("cogniverse/templates/workflows/")}
    for sts in by_kind(docs, "StatefulSet").values():
        for t in sts["spec"].get("volumeClaimTemplates", []):
            out[f"{t['metadata']['name']}-{sts['metadata']['name']}"] = t
    return out


def test_data_volumes_are_kept_on_uninstall(render_chart):
    claims = pvc_specs(render_chart(ALL_ON))
    assert set(claims) == {"data-cogniverse-vespa", "cogniverse-phoenix-data", "cogniverse-llm-models"}
    for name, pvc in claims.items():
        assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep", name
    sts = by_kind(render_chart(), "StatefulSet")["cogniverse-vespa"]
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}


@pytest.mark.parametrize("global_class, vespa_class, expected", [
    ("", "", None),                   # cluster default: no storageClassName at all
    ("local-path", "", "local-path"),  # global default
    ("local-path", "fast-ssd", "fast-ssd"),  # the component wins
    ("local-path", "-", ""),          # "-" = explicitly no class
])
def test_storage_class_falls_back_to_global(render_chart, global_class, vespa_class, expected):
    docs = render_chart({**ALL_ON, "global": {"storageClass": global_class},
                         "vespa": {"persistence": {"storageClass": vespa_class}}})
    claims = pvc_specs(docs)
    assert claims["data-cogniverse-vespa"]["spec"].get("storageClassName") == expected
    assert claims["cogniverse-phoenix-data"]["spec"].get("storageClassName") == (global_class or None)


def test_persistence_off_uses_emptydir_and_no_claims(render_chart):
    off = {"persistence": {"enabled": False}}
    docs = render_chart({"llm": {"enabled": True, **off}, "vespa": off, "phoenix": off})
    assert pvc_specs(docs) == {}
    sts = by_kind(docs, "StatefulSet")["cogniverse-vespa"]["spec"]["template"]["spec"]
    assert {"name": "data", "emptyDir": {}} in sts["volumes"]
