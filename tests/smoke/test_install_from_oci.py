"""Install the chart the way users do: from a signed package in an OCI registry (the loopback Distribution
registry with TLS and basic auth of tests/lib/registrylib.py), with Helm 3 and Helm 4, and compare what was
installed with what the working tree installs (`helm upgrade --dry-run=server` of the tree over the same
release: the cluster renders both with the same capabilities).

Helm 3.18.0 cannot pull a chart carrying a provenance layer (upstream helm/helm#30890); with it the
package is pulled and verified by Helm 4 and installed by Helm 3 from the verified .tgz.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from pathlib import Path

import pytest

from cogniverse_chart import CHART_DIR
from cogniverse_chart import package as pkg
from cogniverse_chart.helm import Helm, available_helms, find_helm
from cogniverse_chart.release import chart_version
from registrylib import key, registry, registry_binary  # noqa: F401 (fixtures)
from smokelib import RELEASE, SMOKE_VALUES

pytestmark = [pytest.mark.smoke, pytest.mark.group("node")]
HELMS = available_helms()


def _helm(helm: Helm, kubeconfig: str, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([helm.path, *args], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "KUBECONFIG": kubeconfig})
    assert proc.returncode == 0, f"{helm.label} {' '.join(args[:2])} failed:\n{proc.stderr}"
    return proc


@pytest.mark.parametrize("helm", HELMS, ids=[h.label for h in HELMS])
def test_install_from_oci_matches_install_from_tree(helm, key, registry, kube_cluster, tmp_path):
    kubeconfig = kube_cluster.kube_config_path
    reg = pkg.Registry(registry.url, registry.username, registry.password, registry.ca_file,
                       tmp_path / "registry-config.json")
    pkg.run_pipeline(helm, tmp_path / "dist", signing=pkg.Signing(key.name, key.secring),
                     verify_keyring=key.pubring, registry=reg)
    puller = find_helm(4) if helm.version == (3, 18, 0) else helm
    pkg.login(puller, reg)  # the push logged in for itself only (no credentials left on disk)
    t0 = time.monotonic()
    tgz = pkg.pull(puller, f"{registry.url}/cogniverse", chart_version(), tmp_path / "pulled",
                   registry=reg, keyring=key.pubring)
    namespace = f"cvoci-{secrets.token_hex(3)}"
    try:
        _helm(helm, kubeconfig, "install", RELEASE, str(tgz), "--namespace", namespace, "--create-namespace",
              "--values", str(SMOKE_VALUES), "--wait", "--timeout", "5m")
        seconds = time.monotonic() - t0
        print(f"\n{helm.label}: pulled (verified) and installed {tgz.name} from OCI in {seconds:.1f}s")
        installed = _helm(helm, kubeconfig, "get", "manifest", RELEASE, "--namespace", namespace).stdout
        from_tree = json.loads(_helm(helm, kubeconfig, "upgrade", RELEASE, str(CHART_DIR), "--namespace", namespace,
                                     "--values", str(SMOKE_VALUES), "--dry-run=server", "-o", "json").stdout)
        assert installed.count("\nkind: ") >= 5, f"{helm.label}: the release from OCI installed almost nothing"
        assert installed.strip() == from_tree["manifest"].strip(), \
            f"{helm.label}: the chart installed from OCI differs from the working tree's"
    finally:
        subprocess.run([helm.path, "uninstall", RELEASE, "--namespace", namespace, "--wait"],
                       capture_output=True, env={**os.environ, "KUBECONFIG": kubeconfig}, timeout=600)
        subprocess.run([str(Path(CHART_DIR).parents[1] / ".tools" / "bin" / "kubectl"), "delete", "namespace",
                        namespace, "--wait=false"], capture_output=True,
                       env={**os.environ, "KUBECONFIG": kubeconfig}, timeout=120)
