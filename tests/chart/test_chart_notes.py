"""What `helm test` checks and what NOTES.txt tells the user after `helm install`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from cogniverse_chart import CHART_DIR
from chart_utils import by_kind


# --- helm test hook and NOTES ----------------------------------------------------------------

def test_helm_test_pod_checks_every_enabled_service_without_a_shell(render_chart):
    (test,) = render_chart(show_only=["templates/tests/test-connection.yaml"])
    assert test.name == "cogniverse-test"
    pod = test.obj
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["spec"]["restartPolicy"] == "Never"
    urls = {c["name"]: c["command"][-1] for c in pod["spec"]["containers"]}
    assert urls == {"check-runtime": "http://cogniverse-runtime.cogniverse.svc:8000/health",
                    "check-vespa-config": "http://cogniverse-vespa-config.cogniverse.svc:19071/state/v1/health",
                    "check-phoenix": "http://cogniverse-phoenix.cogniverse.svc:6006/healthz"}
    for c in pod["spec"]["containers"]:
        assert c["command"][0] == "wget" and "sh" not in c["command"]


@pytest.mark.parametrize("values, checks", [
    ({"runtime": {"enabled": False}}, {"check-vespa-config", "check-phoenix"}),
    ({"vespa": {"enabled": False}}, {"check-runtime", "check-phoenix"}),
    ({"runtime": {"enabled": False}, "vespa": {"enabled": False}}, {"check-phoenix"}),
    ({"runtime": {"enabled": False}, "vespa": {"enabled": False}, "llm": {"enabled": True}}, {"check-phoenix", "check-llm"}),
    ({"runtime": {"enabled": False}, "vespa": {"enabled": False}, "phoenix": {"enabled": False}}, None),
    ({"tests": {"enabled": False}}, None),
])
def test_helm_test_pod_checks_only_enabled_services(render_chart, values, checks):
    pod = by_kind(render_chart(values), "Pod").get("cogniverse-test")
    assert (None if pod is None else {c["name"] for c in pod["spec"]["containers"]}) == checks


def render_notes(helm, tmp_path: Path, values: dict[str, Any], release: str = "acme") -> str:
    """NOTES.txt as `helm install` prints it. Helm 4's client-only dry run needs no cluster but
    assumes Kubernetes 1.36, outside Chart.yaml's kubeVersion, so a copy without that line is used."""
    chart = tmp_path / "chart"
    shutil.copytree(CHART_DIR, chart)
    meta = chart / "Chart.yaml"
    meta.write_text(re.sub(r"(?m)^kubeVersion:.*\n", "", meta.read_text()))
    vf = tmp_path / "notes-values.yaml"
    vf.write_text(yaml.safe_dump(values))
    out = helm.run(["install", release, str(chart), "--dry-run=client", "-n", "search", "-f", str(vf)]).stdout
    return out[out.index("NOTES:"):]


def test_notes_tell_how_to_reach_every_enabled_service_and_argo(tmp_path):
    from cogniverse_chart.helm import find_helm

    notes = render_notes(find_helm(4), tmp_path, {"llm": {"enabled": True}, "workflows": {"enabled": False}})
    for cmd in ("kubectl port-forward -n search svc/acme-cogniverse-runtime 8000:8000",
                "kubectl port-forward -n search svc/acme-cogniverse-vespa 8080:8080",
                "kubectl port-forward -n search svc/acme-cogniverse-vespa-config 19071:19071",
                "kubectl port-forward -n search svc/acme-cogniverse-phoenix 6006:6006",
                "kubectl port-forward -n search svc/acme-cogniverse-llm 11434:11434",
                "kubectl port-forward -n argo svc/argo-server 2746:2746",
                "helm test acme -n search"):
        assert cmd in notes, f"missing: {cmd}\n{notes}"


def test_notes_leave_out_disabled_services(tmp_path):
    from cogniverse_chart.helm import find_helm

    notes = render_notes(find_helm(4), tmp_path, {"vespa": {"enabled": False}, "workflows": {"enabled": False}})
    assert "acme-cogniverse-vespa" not in notes and "acme-cogniverse-llm" not in notes
    assert "svc/argo-server 2746:2746" in notes


def test_notes_for_the_smoke_profile_only_point_at_argo(tmp_path):
    from cogniverse_chart import PROFILES_DIR
    from cogniverse_chart.helm import find_helm

    values = yaml.safe_load((PROFILES_DIR / "smoke.yaml").read_text())
    notes = render_notes(find_helm(4), tmp_path, {**values, "workflows": {"enabled": False}})
    assert "svc/argo-server 2746:2746" in notes
    for absent in ("svc/acme-cogniverse", "In-cluster addresses", "helm test", "resource-policy"):
        assert absent not in notes, f"{absent!r} in smoke NOTES:\n{notes}"


def test_notes_list_the_enabled_workflows_and_how_to_run_them(tmp_path):
    from cogniverse_chart.helm import find_helm

    values = {"argo": {"requireCRDs": False},  # a client-only dry run sees no Argo API
              "workflows": {"templates": {"tenantProvisioning": {"enabled": False}},
                            "cronWorkflows": {"monthlyReports": {"enabled": False},
                                              "dailyBackup": {"suspend": True}}}}
    notes = render_notes(find_helm(4), tmp_path, values)
    templates = next(line for line in notes.splitlines() if "WorkflowTemplates:" in line).split()[1:]
    crons = next(line for line in notes.splitlines() if "CronWorkflows:" in line).split(":", 1)[1]
    assert templates == ["video-ingestion", "batch-optimization"]
    assert crons.split() == ["daily-backup", "(suspended)", "daily-cleanup", "daily-optimization-check",
                             "deadline-watchdog", "weekly-dspy-optimization", "weekly-optimization"]
    assert "argo submit --from workflowtemplate/video-ingestion -n search" in notes
    assert "cogniverse-chart submit video-ingestion -n search" in notes
    assert "cogniverse-newcorp-inc" in notes
    assert "Argo Workflows in namespace" not in render_notes(find_helm(4), tmp_path / "off",
                                                             {"workflows": {"enabled": False}})


def test_notes_warn_when_phoenix_or_ollama_is_outside_the_cluster_unauthenticated(tmp_path):
    from cogniverse_chart.helm import find_helm

    exposed = {"service": {"type": "LoadBalancer", "exposeUnauthenticated": True}}
    notes = render_notes(find_helm(4), tmp_path, {"llm": {"enabled": True, **exposed}, "phoenix": exposed,
                                                  "workflows": {"enabled": False}})
    assert "puts Phoenix outside the cluster WITHOUT" in notes and "puts Ollama outside the cluster WITHOUT" in notes
    quiet = render_notes(find_helm(4), tmp_path / "q", {"llm": {"enabled": True}, "workflows": {"enabled": False}})
    assert "WITHOUT" not in quiet
