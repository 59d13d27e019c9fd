"""Bad values fail `helm template` with a message that names the offending key, in Helm 3 and Helm 4.

Helm 3 reports schema errors with dotted paths (`runtime.replicas: ...`), Helm 4 with JSON pointers
(`at '/runtime/replicas': ...`); `names_key` (chart_utils) accepts either. For an unknown or missing key the
error is reported on the parent object, so the parent path and the key's own name must both appear.
"""

from __future__ import annotations

from typing import Any

import pytest

from chart_utils import names_key, nest
from cogniverse_chart.errors import HelmError


# (id, dotted key, value at that key, error reported on the parent object?)
CASES: list[tuple[str, str, Any, bool]] = [
    # typos in keys (unknown keys are errors, not silently ignored)
    ("typo-top-level", "runtimes", {"enabled": True}, True),
    ("typo-runtime-replica", "runtime.replica", 2, True),
    ("typo-vespa-persistance", "vespa.persistance", {"size": "10Gi"}, True),
    ("typo-phoenix-uiport", "phoenix.service.uiport", 6006, True),
    ("typo-llm-enable", "llm.enable", True, True),
    ("typo-container-privilaged", "vespa.containerSecurityContext.privilaged", False, True),
    ("typo-networkpolicy-peer", "networkPolicy.extraFrom", [{"podSelectr": {}}], False),
    # wrong types
    ("type-replicas-string", "runtime.replicas", "two", False),
    ("type-enabled-string", "vespa.enabled", "yes", False),
    ("type-port-string", "vespa.service.configPort", "19071", False),
    ("type-size-number", "phoenix.persistence.size", 10, False),
    ("type-drop-not-list", "containerSecurityContext.capabilities.drop", "ALL", False),
    # negative and out-of-range numbers
    ("range-replicas-negative", "runtime.replicas", -1, False),
    ("range-replicas-too-many", "runtime.replicas", 101, False),
    ("range-port-too-high", "runtime.service.port", 70000, False),
    ("range-port-zero", "phoenix.service.otlpPort", 0, False),
    ("range-cpu-target-over-100", "runtime.autoscaling.targetCPUUtilizationPercentage", 150, False),
    ("range-min-replicas-zero", "runtime.autoscaling.minReplicas", 0, False),
    ("range-pdb-percent", "runtime.pdb.maxUnavailable", "150%", False),
    ("range-run-as-user-negative", "podSecurityContext.runAsUser", -1, False),
    ("range-probe-threshold-zero", "vespa.startupProbe.failureThreshold", 0, False),
    ("range-test-timeout-zero", "tests.timeoutSeconds", 0, False),
    # invalid quantities and storage sizes
    ("quantity-memory-words", "runtime.resources.requests.memory", "lots", False),
    ("quantity-cpu-negative", "vespa.resources.limits.cpu", "-1", False),
    ("storage-size-gb", "vespa.persistence.size", "20GB", False),
    ("storage-size-negative", "phoenix.persistence.size", "-5Gi", False),
    ("resources-limits-missing", "runtime.resources.limits", None, True),
    ("resources-memory-request-missing", "vespa.resources.requests.memory", None, True),
    ("resources-cpu-limit-missing", "tests.resources.limits.cpu", None, True),
    ("probe-removed", "phoenix.livenessProbe", None, True),
    ("service-removed", "llm.service", None, True),
    # images: latest, bad digests, pull policies, empty repositories
    ("image-tag-latest", "vespa.image.tag", "latest", False),
    ("image-test-tag-latest", "tests.image.tag", "latest", False),
    ("image-digest-short", "runtime.image.digest", "sha256:abc", False),
    ("image-digest-algo", "llm.image.digest", "md5:" + "a" * 32, False),
    ("image-pull-policy", "phoenix.image.pullPolicy", "Sometimes", False),
    ("image-repository-empty", "llm.image.repository", "", False),
    # invalid DNS names and enums
    ("dns-storage-class", "vespa.persistence.storageClass", "Local_Path", False),
    ("dns-service-account", "serviceAccount.name", "My_Account", False),
    ("dns-ingress-host", "runtime.ingress.hosts", [{"host": "bad_host!", "paths": [{"path": "/"}]}], False),
    ("dns-priority-class", "runtime.priorityClassName", "High_Priority", False),
    ("dns-pull-secret", "global.imagePullSecrets", ["Bad Secret"], False),
    ("enum-access-mode", "vespa.persistence.accessModes", ["ReadWriteSometimes"], False),
    ("enum-path-type", "runtime.ingress.hosts", [{"host": "a.test", "paths": [{"path": "/", "pathType": "Regex"}]}], False),
    ("enum-anti-affinity", "runtime.podAntiAffinity", "always", False),
    ("enum-seccomp", "podSecurityContext.seccompProfile.type", "Default", False),
    ("enum-service-type", "runtime.service.type", "Ingress", False),
    ("pattern-probe-path", "runtime.readinessProbe.path", "health", False),
    ("pattern-env-name", "runtime.extraEnv", [{"name": "1BAD NAME", "value": "x"}], False),
    ("required-env-name", "runtime.extraEnv", [{"value": "x"}], False),
    # workflows: schedules, parameters, steps, images, retries
    ("wf-malformed-cron", "workflows.cronWorkflows.dailyBackup.schedules.0", "61 2 * * *", False),
    ("wf-cron-with-4-fields", "workflows.cronWorkflows.dailyCleanup.schedules.0", "0 4 * *", False),
    ("wf-singular-schedule", "workflows.cronWorkflows.dailyCleanup.schedule", "0 4 * * *", True),
    ("wf-bad-timezone", "workflows.cronWorkflows.monthlyReports.timezone", "not a zone", False),
    ("wf-bad-concurrency", "workflows.cronWorkflows.monthlyReports.concurrencyPolicy", "Sometimes", False),
    ("wf-tenant-with-dash", "workflows.cronWorkflows.weeklyDspyOptimization.tenants.0", "acme-corp", False),
    ("wf-tenant-injection", "workflows.cronWorkflows.weeklyOptimization.parameters.tenant-id", "x; rm -rf /", False),
    ("wf-tenant-upper-case", "workflows.cronWorkflows.dailyOptimizationCheck.parameters.tenant-id", "Acme", False),
    ("wf-negative-threshold", "workflows.templates.batchOptimization.parameters.improvement-threshold", -1, False),
    ("wf-threshold-over-100", "workflows.cronWorkflows.weeklyOptimization.parameters.improvement-threshold", 101, False),
    ("wf-negative-annotation-threshold", "workflows.cronWorkflows.weeklyOptimization.parameters.annotation-threshold",
     -5, False),
    ("wf-retention-0", "workflows.cronWorkflows.dailyBackup.parameters.retention-days", 0, False),
    ("wf-cleanup-retention-0", "workflows.cronWorkflows.dailyCleanup.parameters.retention-days", 0, False),
    ("wf-keep-latest-0", "workflows.cronWorkflows.dailyBackup.parameters.keep-latest", 0, False),
    ("wf-video-dir-dotdot", "workflows.templates.videoIngestion.parameters.video-dir", "/data/../etc", False),
    ("wf-unknown-step", "workflows.steps.run-optimisation", {"command": ["x"]}, True),
    ("wf-unknown-cron-key", "workflows.cronWorkflows.dailyBackup.schedulez", ["0 2 * * *"], True),
    ("wf-runner-tag-latest", "workflows.runner.image.tag", "latest", False),
    ("wf-retry-factor-0", "workflows.retry.backoff.factor", 0, False),
    ("wf-hold-bound-too-small", "workflows.heavyJobs.maxHoldSeconds", 5, False),
    ("wf-exit-handler-deadline-0", "workflows.exitHandler.activeDeadlineSeconds", 0, False),
    ("wf-bad-pod-gc-delay", "workflows.podGC.deleteDelayDuration", "an hour", False),
    ("wf-bad-optimizer-type", "workflows.cronWorkflows.weeklyOptimization.optimizers.0",
     {"category": "dspy", "type": "Adam"}, False),
]


@pytest.mark.parametrize(("key", "value", "on_parent"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_value_fails_naming_the_key(helm, render_chart, key, value, on_parent):
    with pytest.raises(HelmError) as err:
        render_chart(nest(key, value), helm=helm)
    message = str(err.value)
    # the schema, or (for formats whose schema messages were unreadable) the chart's value checks
    assert "schema" in message or "values-checks.yaml" in message, message
    assert names_key(message, key, on_parent=on_parent), f"{helm.label}: message does not name {key}:\n{message}"


def test_corpus_is_large_enough():
    assert len(CASES) >= 30


def test_autoscaling_min_above_max_fails_naming_both_keys(helm, render_chart):
    """A cross-field rule JSON Schema cannot express: the template fails with both key names."""
    values = {"runtime": {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 3}}}
    with pytest.raises(HelmError, match=r"runtime\.autoscaling\.minReplicas \(5\) must not exceed "
                                        r"runtime\.autoscaling\.maxReplicas \(3\)"):
        render_chart(values, helm=helm)


@pytest.mark.parametrize("message, path, on_parent, expected", [
    ("- runtime.replicas: Must be greater than or equal to 0", "runtime.replicas", False, True),
    ("- at '/runtime/replicas': minimum: got -1, want 0", "runtime.replicas", False, True),
    ("- at '/runtime/replicas': minimum: got -1, want 0", "runtime.replica", False, False),
    ("- runtime: Additional property replica is not allowed", "runtime.replica", True, True),
    ("- at '/runtime': additional properties 'replica' not allowed", "runtime.replica", True, True),
    ("- at '/vespa': additional properties 'replica' not allowed", "runtime.replica", True, False),
])
def test_names_key_matcher(message, path, on_parent, expected):
    """The matcher itself: both Helm formats are recognised, and a different key is not."""
    assert names_key(message, path, on_parent=on_parent) is expected
