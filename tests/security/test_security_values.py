"""Hostile values (issue 11): every class of attack on the chart's values fails, on Helm 3 and Helm 4,
with a message that names the key and the problem; the safe neighbour of each case still renders.

Classes: 2 YAML injection through values, 3 backups that would silently vanish, 4 restricted Pod
Security, 7 secrets by reference, 8 values the API rejects or that never take effect. (Class 1 and 5,
the provisioner and tenant namespaces, are in test_security_workflows.py and tests/smoke/test_security.py.)
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from chart_utils import names_key, nest
from cogniverse_chart.errors import HelmError

NL = "\n"

# (id, class, dotted key, hostile value, what the message must say besides the key)
# The message check: the key (Helm 3 dotted or Helm 4 JSON pointer) and a regex for the problem.
SCHEMA_CASES: list[tuple[str, int, str, Any, str]] = [
    # 2. YAML injection: a newline plus a key would add fields to the rendered object
    ("inject-image-repository", 2, "runtime.image.repository", "cogniverse/runtime" + NL + "command: [sh]", r"want e\.g\. team/app"),
    ("inject-image-registry", 2, "global.imageRegistry", "reg.example.com" + NL + "  command: [sh]", "want e.g. reg.example.com"),
    ("inject-component-registry", 2, "vespa.image.registry", "reg.example.com\"\nx", "want e.g. reg.example.com"),
    ("inject-image-tag", 2, "phoenix.image.tag", "1.0" + NL + "command: [sh]", r"want e\.g\. 1\.4\.2"),
    ("inject-runner-repository", 2, "workflows.runner.image.repository", "a/b" + NL + "volumeName: x", r"want e\.g\. team/app"),
    ("inject-storage-class", 2, "global.storageClass", "local-path" + NL + "volumeName: stolen", "pattern|match|anyOf|any of"),
    ("inject-backups-storage-class", 2, "workflows.volumes.backups.storageClass", "fast" + NL + "volumeName: x", "pattern|match|anyOf|any of"),
    ("inject-tenant-storage-class", 2, "workflows.templates.tenantProvisioning.storageClass", "a b", "pattern|match|anyOf|any of"),
    ("inject-pvc-name", 2, "workflows.templates.tenantProvisioning.pvcs", [{"name": "data" + NL + "x: y", "size": "1Gi"}], "pattern|match"),
    ("inject-common-label-value", 2, "commonLabels", {"team": "a" + NL + "b: c"}, "pattern|match|maxLength|length"),
    ("inject-label-key", 2, "runtime.podLabels", {"bad key": "x"}, "Additional property|additional properties"),
    ("inject-annotation-key", 2, "runtime.service.annotations", {"x" + NL + "y": "v"}, "Additional property|additional properties"),
    ("inject-node-selector", 2, "vespa.nodeSelector", {"disk": "ssd" + NL + "hostNetwork: true"}, "pattern|match|maxLength|length"),
    # 3. backups that would vanish with the pod
    ("backup-dir-tmp", 3, "workflows.cronWorkflows.dailyBackup.parameters.backup-dir", "/tmp", "pattern|match"),
    ("backup-dir-root", 3, "workflows.cronWorkflows.dailyBackup.parameters.backup-dir", "/", "pattern|match"),
    ("backup-dir-escape", 3, "workflows.cronWorkflows.dailyBackup.parameters.backup-dir", "/backups/../tmp", "not|must not"),
    ("backup-dir-prefix-trick", 3, "workflows.cronWorkflows.dailyBackup.parameters.backup-dir", "/backupsx", "pattern|match"),
    # 4. restricted Pod Security
    ("restricted-run-as-root", 4, "podSecurityContext.runAsUser", 0, "greater than or equal to 1|minimum"),
    ("restricted-run-as-root-container", 4, "runtime.containerSecurityContext.runAsUser", 0, "greater than or equal to 1|minimum"),
    ("restricted-privileged", 4, "containerSecurityContext.privileged", True, "false|enum|value must be"),
    ("restricted-escalation", 4, "phoenix.containerSecurityContext.allowPrivilegeEscalation", True, "false|enum|value must be"),
    ("restricted-seccomp-unconfined", 4, "podSecurityContext.seccompProfile.type", "Unconfined", "RuntimeDefault|enum|value must be"),
    ("restricted-capabilities-add", 4, "llm.containerSecurityContext.capabilities", {"drop": ["ALL"], "add": ["SYS_ADMIN"]}, "NET_BIND_SERVICE"),
    ("restricted-capabilities-no-drop", 4, "runtime.containerSecurityContext.capabilities", {"add": ["NET_BIND_SERVICE"]}, "drop"),
    ("restricted-vespa-without-hatch", 4, "vespa.containerSecurityContext.runAsUser", 0, "greater than or equal to 1|minimum"),
    ("restricted-workflow-steps", 4, "workflows.securityContext.privileged", True, "false|enum|value must be"),
    ("restricted-workflow-pods", 4, "workflows.podSecurityContext.runAsNonRoot", False, "true|enum|value must be"),
    # 7. secrets by reference: a reference must be a real one
    ("secret-ref-without-key", 7, "runtime.extraEnv", [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds"}}}], "key"),
    ("secret-value-and-ref", 7, "phoenix.extraEnv", [{"name": "DB", "value": "x", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}}], "not|must not"),
    ("secret-runner-ref-bad-name", 7, "workflows.runner.extraEnv", {"TOKEN": {"valueFrom": {"secretKeyRef": {"name": "Bad Name", "key": "t"}}}}, "pattern|match|anyOf|any of"),
    ("secret-existing-bad-name", 7, "workflows.runner.existingSecret", "creds" + NL + "x", "pattern|match|anyOf|any of"),
    # 8. values the API rejects or that never take effect
    ("api-zero-memory", 8, "runtime.resources.requests.memory", "0", "not|must not|anyOf|any of|above 0"),
    ("api-zero-storage", 8, "phoenix.persistence.size", "0Gi", "not|must not"),
    ("api-zero-quota", 8, "workflows.templates.tenantProvisioning.parameters.cpu-quota", 0, "anyOf|any of|greater|exclusiveMinimum|minimum|above 0"),
    ("api-exa-storage", 8, "vespa.persistence.size", "1Ei", "pattern|match"),
    ("api-exa-memory", 8, "llm.resources.limits.memory", "1Ei", "anyOf|any of|pattern|match|want a quantity"),
    ("api-image-with-space", 8, "llm.image.repository", "ollama/ollama latest", r"want e\.g\. team/app"),
    ("api-timezone-local", 8, "workflows.cronWorkflows.dailyCleanup.timezone", "Local", "not|must not"),
    ("api-cron-day-name", 8, "workflows.cronWorkflows.weeklyOptimization.schedules", ["30 3 * * fry"], "pattern|match|is not 0-6"),
    ("api-cron-day-seven", 8, "workflows.cronWorkflows.weeklyDspyOptimization.schedules", ["0 3 * * 7"], "pattern|match|is not 0-6"),
    ("api-cron-month-name", 8, "workflows.cronWorkflows.monthlyReports.schedules", ["0 5 1 foo *"], "pattern|match|is not 1-12"),
]


def _schema_error(helm, render_chart, key: str, value: Any) -> str:
    with pytest.raises(HelmError) as err:
        render_chart(nest(key, value), helm=helm)
    return str(err.value)


@pytest.mark.parametrize(("cls", "key", "value", "problem"), [c[1:] for c in SCHEMA_CASES],
                         ids=[c[0] for c in SCHEMA_CASES])
def test_hostile_value_is_refused_by_the_schema_naming_the_key(helm, render_chart, cls, key, value, problem):
    message = _schema_error(helm, render_chart, key, value)
    # the schema, or the chart's value-format checks (templates/_values_formats.tpl, readable messages)
    assert "schema" in message or "values-checks.yaml" in message, message
    assert names_key(message, key, on_parent=False) or names_key(message, key, on_parent=True), (
        f"class {cls}, {helm.label}: message does not name {key}:\n{message}")
    assert re.search(problem, message, re.I), f"class {cls}, {helm.label}: message does not say /{problem}/:\n{message}"


# Cross-field rules JSON Schema cannot express: a template `fail` with one line naming the key(s).
FAIL_CASES: list[tuple[str, int, dict[str, Any], str]] = [
    ("limits-below-requests", 8, {"runtime": {"resources": {"requests": {"cpu": "250m", "memory": "512Mi"},
                                                             "limits": {"cpu": "1", "memory": "256Mi"}}}},
     r"runtime\.resources\.limits\.memory \(256Mi\) is below runtime\.resources\.requests\.memory \(512Mi\)"),
    ("cpu-limit-below-request-decimal", 8, {"vespa": {"resources": {"requests": {"cpu": 2.5, "memory": "2Gi"},
                                                                    "limits": {"cpu": "2", "memory": "4Gi"}}}},
     r"vespa\.resources\.limits\.cpu \(2\) is below vespa\.resources\.requests\.cpu \(2\.5\)"),
    ("step-limit-below-request", 8, {"workflows": {"steps": {"run-optimization": {"resources": {
        "requests": {"cpu": "1", "memory": "4Gi"}, "limits": {"cpu": "500m", "memory": "8Gi"}}}}}},
     r"workflows\.steps\.run-optimization\.resources\.limits\.cpu \(500m\) is below "
     r"workflows\.steps\.run-optimization\.resources\.requests\.cpu \(1\)"),
    ("workflow-limit-below-request", 8, {"workflows": {"resources": {"requests": {"cpu": "100m", "memory": "2Gi"},
                                                                     "limits": {"cpu": "1", "memory": "1Gi"}}}},
     r"workflows\.resources\.limits\.memory \(1Gi\) is below workflows\.resources\.requests\.memory \(2Gi\)"),
    ("schedule-30-february", 3, {"workflows": {"cronWorkflows": {"dailyBackup": {"schedules": ["0 2 30 2 *"]}}}},
     r'workflows\.cronWorkflows\.dailyBackup\.schedules\[0\] "0 2 30 2 \*" never fires'),
    ("schedule-31-april-june", 3, {"workflows": {"cronWorkflows": {"monthlyReports": {"schedules": ["0 5 1 * *", "0 5 31 apr,jun *"]}}}},
     r'workflows\.cronWorkflows\.monthlyReports\.schedules\[1\] "0 5 31 apr,jun \*" never fires'),
    ("schedule-30-31-february-range", 3, {"workflows": {"cronWorkflows": {"dailyCleanup": {"schedules": ["0 4 30-31 feb *"]}}}},
     r'workflows\.cronWorkflows\.dailyCleanup\.schedules\[0\] "0 4 30-31 feb \*" never fires'),
    ("backups-emptydir", 3, {"workflows": {"volumes": {"backups": {"create": False, "existingClaim": ""}}}},
     r"workflows\.volumes\.backups: create is false and existingClaim is empty, so daily-backup would write to "
     r"a volume that vanishes with its pod"),
]


@pytest.mark.parametrize(("cls", "values", "message"), [c[1:] for c in FAIL_CASES], ids=[c[0] for c in FAIL_CASES])
def test_cross_field_rule_fails_with_one_line_naming_the_key(helm, render_chart, cls, values, message):
    with pytest.raises(HelmError) as err:
        render_chart(values, helm=helm)
    text = str(err.value)
    assert re.search(message, text), f"class {cls}, {helm.label}:\n{text}"
    line = next(ln for ln in text.splitlines() if re.search(message, ln))
    assert "execution error" in line or "Error" in line, line


# The safe neighbours: what a user legitimately writes still renders (the rules are not too wide).
ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("registry-with-port-and-path", {"global": {"imageRegistry": "registry.example.com:5000/mirror"}}),
    ("repository-with-host", {"runtime": {"image": {"repository": "localhost:5000/team/runtime"}}}),
    ("image-reference-edges", {"global": {"imageRegistry": "Mirror-1.example.com:65535/a/b_c"},
                               "runtime": {"image": {"registry": "", "repository": "Host.Example:5000/team/app_x.y--z",
                                                     "tag": "_V1.2-rc" + "x" * 120, "digest": "sha256:" + "0a" * 32}},
                               "vespa": {"image": {"registry": "localhost", "tag": "", "digest": ""}}}),
    ("label-with-prefix", {"commonLabels": {"example.com/team": "search_1.a"}}),
    ("annotation-free-text", {"runtime": {"service": {"annotations": {"example.com/note": "any text: with\nnewlines"}}}}),
    ("limits-equal-requests", {"runtime": {"resources": {"requests": {"cpu": "1", "memory": "1Gi"},
                                                         "limits": {"cpu": "1000m", "memory": "1024Mi"}}}}),
    ("schedule-29-february", {"workflows": {"cronWorkflows": {"dailyBackup": {"schedules": ["0 2 29 2 *"]}}}}),
    ("schedule-31-any-month", {"workflows": {"cronWorkflows": {"dailyBackup": {"schedules": ["0 2 31 * *"]}}}}),
    ("schedule-31-february-or-monday", {"workflows": {"cronWorkflows": {"dailyBackup": {"schedules": ["0 2 31 2 mon"]}}}}),
    ("schedule-day-names", {"workflows": {"cronWorkflows": {"weeklyOptimization": {"schedules": ["30 3 * * SUN", "30 3 * * Mon-Fri"]}}}}),
    ("timezone-berlin", {"workflows": {"cronWorkflows": {"dailyBackup": {"timezone": "Europe/Berlin"}}}}),
    ("backup-dir-subfolder", {"workflows": {"cronWorkflows": {"dailyBackup": {"parameters": {"backup-dir": "/backups/nightly"}}}}}),
    ("backups-existing-claim", {"workflows": {"volumes": {"backups": {"create": False, "existingClaim": "my-backups"}}}}),
    ("net-bind-service", {"runtime": {"containerSecurityContext": {"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}}}),
    ("vespa-escape-hatch", {"vespa": {"unrestrictedSecurityContext": True,
                                      "podSecurityContext": {"runAsUser": 0, "runAsNonRoot": False},
                                      "containerSecurityContext": {"runAsUser": 0, "runAsNonRoot": False,
                                                                   "capabilities": {"add": ["SYS_PTRACE"]}}}}),
    ("secret-refs", {"runtime": {"existingSecret": "runtime-creds",
                                 "extraEnv": [{"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "k", "key": "api"}}}]},
                     "workflows": {"runner": {"existingSecret": "runner-creds", "extraEnv": {
                         "PLAIN": "x", "TOKEN": {"valueFrom": {"secretKeyRef": {"name": "tok", "key": "t"}}},
                         "MODE": {"valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode"}}}}}}}),
]


@pytest.mark.parametrize("values", [c[1] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_legitimate_neighbour_still_renders(helm, render_chart, values):
    assert render_chart(values, helm=helm)


def test_every_class_has_cases():
    classes = {c[1] for c in SCHEMA_CASES} | {c[1] for c in FAIL_CASES}
    assert classes == {2, 3, 4, 7, 8}
