"""One release of the chart per namespace (docs/workflows.md, attack21d #21): a render connected to the cluster
fails, naming the other release, when the namespace holds this chart's WorkflowTemplates or CronWorkflows
owned by another release (templates/workflows/one-release-check.yaml). Helm's `lookup` answers only a render
that talks to a cluster, so this is a cluster test: `helm template --dry-run=server` with each Helm major, in a
namespace of its own holding one WorkflowTemplate labelled and annotated as release `first` of the chart.
"""

from __future__ import annotations

import json
import secrets
import subprocess

import pytest

from cogniverse_chart import CHART_DIR
from cogniverse_chart.helm import available_helms
from kubelib import kubectl

pytestmark = [pytest.mark.smoke, pytest.mark.argo_leg("first")]
#: Helm 3's `template` takes the cluster's API versions (.Capabilities) only with --validate, as an install does;
#: Helm 4's with --dry-run=server alone.
SEES_CLUSTER = {3: ["--validate"], 4: []}


@pytest.fixture(scope="module")
def namespace():
    ns = f"cvone-{secrets.token_hex(3)}"
    kubectl("create", "namespace", ns)
    template = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate",
        "metadata": {"name": "video-ingestion", "namespace": ns,
                     "labels": {"app.kubernetes.io/part-of": "cogniverse", "app.kubernetes.io/managed-by": "Helm"},
                     "annotations": {"meta.helm.sh/release-name": "first", "meta.helm.sh/release-namespace": ns}},
        "spec": {"entrypoint": "main", "templates": [{"name": "main", "suspend": {}}]},
    }
    try:
        kubectl("apply", "-f", "-", input=json.dumps(template))
        yield ns
    finally:
        kubectl("delete", "namespace", ns, "--wait=false", check=False)


def _render(helm, release: str, namespace: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm.path), "template", release, str(CHART_DIR), "-n", namespace, "--dry-run=server",
                           *SEES_CLUSTER[helm.major]],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("major", [3, 4])
def test_a_second_release_in_the_namespace_is_refused_naming_the_first(namespace, major):
    helm = next((h for h in available_helms() if h.major == major), None)
    assert helm is not None, f"no Helm {major} (scripts/bootstrap.sh puts both in .tools/bin)"
    second = _render(helm, "second", namespace)
    assert second.returncode != 0, second.stdout[-500:]
    assert (f"namespace {namespace} already holds release first of this chart (its WorkflowTemplate video-ingestion)"
            in second.stderr), second.stderr[-2000:]
    first = _render(helm, "first", namespace)  # the owner itself (an upgrade) renders
    assert first.returncode == 0, first.stderr[-2000:]
    assert "kind: CronWorkflow" in first.stdout
