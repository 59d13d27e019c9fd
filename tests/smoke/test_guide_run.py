"""docs/guide.md, every shell command in order, on the cluster (started by conftest.py's `guide_run` at the
beginning of the session, in namespace `cogniverse` as the guide says, beside the other smoke tests).

Placeholders such as `<workflow-name>` are filled with the newest matching object; commands marked
`[internet]` are counted, not run (`[services]`: need the service pods the smoke profile turns off).
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from cogniverse_chart import REPO_ROOT, generate
from cogniverse_dev import guide
from chart_utils import CRON_WORKFLOWS, OWN_CRON_WORKFLOWS
from smokelib import GUIDE_NAMESPACE, RELEASE

pytestmark = pytest.mark.smoke

GUIDE_TIMEOUT = float(os.environ.get("SMOKE_GUIDE_TIMEOUT", "1200"))


@pytest.fixture(scope="module")
def results(guide_run):
    assert guide_run is not None, "the guide run did not start (conftest.py guide_run)"
    res = guide_run.join(GUIDE_TIMEOUT)
    print(f"\ndocs/guide.md on the cluster in {guide_run.seconds:.0f}s: {guide.summary(res)}")
    return res


def test_every_command_of_the_guide_succeeds(results):
    failed = [r for r in results if r.status == "failed"]  # the guide stops at the first failure
    assert not failed, "\n\n".join(f"line {r.command.line}: {r.ran or r.command.text}\n{r.output[-1500:]}"
                                   for r in failed)
    ran = [r for r in results if r.status == "ok"]
    assert len(ran) >= 80, f"only {len(ran)} commands ran"


def test_only_internet_and_service_commands_are_left_out(results):
    left_out = {r.status for r in results if r.not_run}
    assert left_out <= {"internet", "services"}, left_out
    internet = [r.command.text for r in results if r.status == "internet"]
    print(f"\n{len(internet)} command(s) need the internet (not run): {internet}")
    assert internet == ["./scripts/deploy_k3s.sh --install-k3s --install-argo"]


def test_applying_the_files_generated_for_the_release_changes_no_cron_workflow(guide_run, results):
    """After `generate --from-release`, the guide's kubectl apply leaves every CronWorkflow as Helm
    installed it."""
    assert set(guide_run.specs_installed) == set(CRON_WORKFLOWS + OWN_CRON_WORKFLOWS), \
        f"the install created the CronWorkflows {sorted(guide_run.specs_installed)}"
    assert guide_run.specs_after_apply == guide_run.specs_installed


def test_the_committed_files_would_reset_a_release_with_other_values(results):
    """workflows/ as committed is for the k3s profile: on the smoke release the templates its
    CronWorkflows run differ (the backups claim, the optimizer lists), and `generate --check
    --from-release` names them instead of letting kubectl apply reset the release."""
    docs, target = generate.render_for_release(RELEASE, GUIDE_NAMESPACE)
    stale = generate.drift(generate.guide_files(docs, target), REPO_ROOT / "workflows", objects_only=True)
    assert {"templates/daily-backup.yaml", "scheduled-optimization.yaml"} <= set(stale), stale
    proc = subprocess.run([str(REPO_ROOT / ".venv" / "bin" / "cogniverse-chart"), "generate", "--check",
                           "--from-release", "-n", GUIDE_NAMESPACE], capture_output=True, text=True)
    assert proc.returncode == 1 and "templates/daily-backup.yaml" in proc.stderr, proc.stderr


def test_argo_logs_reads_a_finished_workflows_steps(results):
    """Pods stay after the workflow finished (podGC delay), so the guide's log commands had output."""
    logs = [r for r in results if r.status == "ok" and r.ran.startswith("argo logs")]
    assert logs and all(r.output.strip() for r in logs), [(r.ran, r.output[-300:]) for r in logs]
    step = next(r for r in logs if "-ingest-videos-" in r.ran)
    assert "ingest-videos ok" in step.output, step.output[-500:]


def test_the_guides_tenant_namespace_is_the_mapped_name(results):
    out = subprocess.run(["kubectl", "get", "namespace", "-l", "cogniverse.dev/tenant=newcorp_inc", "-o", "json"],
                         capture_output=True, text=True, check=True,
                         env=guide.environment(REPO_ROOT, dict(os.environ))).stdout
    assert [n["metadata"]["name"] for n in json.loads(out)["items"]] == ["cogniverse-newcorp-inc"]
