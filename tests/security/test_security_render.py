"""Render-time security on values as Helm merged them, on Helm 3 and Helm 4 (templates/_security.tpl,
_checks.tpl, the schema's bounds).

A `null` in a values file deletes the chart's default before the schema sees it, so Pod Security is
checked on each pod's contexts as rendered; baseline items (AppArmor, SELinux, sysctls) are refused
too. Numbers reach manifests as integers up to the schema's maxima, which stay within what Go
durations and Kubernetes accept; a 10 MB string is refused by the schema before it is rendered into
every step. The privileged accounts cannot be `default` or another role's; Phoenix and Ollama are not
exposed without an acknowledgement.
"""

from __future__ import annotations

import json
import re
import resource

import pytest
import yaml

from chart_utils import render_chart
from cogniverse_chart import CHART_DIR
from cogniverse_chart.helm import HelmError


def _refused(values: dict, match: str, helm) -> None:
    with pytest.raises(HelmError, match=match):
        render_chart(values, helm=helm)


@pytest.mark.parametrize("values, match", [
    # a null removes the chart's default: the rendered pod would lose the key
    ({"containerSecurityContext": {"allowPrivilegeEscalation": None}}, r"runtime\.containerSecurityContext: restricted Pod Security needs allowPrivilegeEscalation: false .*a null in a values file removes"),
    ({"podSecurityContext": {"seccompProfile": None}}, "needs seccompProfile.type RuntimeDefault or Localhost"),
    ({"podSecurityContext": None}, "needs seccompProfile.type RuntimeDefault or Localhost"),
    ({"containerSecurityContext": None}, "needs allowPrivilegeEscalation: false"),
    ({"podSecurityContext": {"runAsNonRoot": None}, "containerSecurityContext": {"runAsNonRoot": None}}, "needs runAsNonRoot: true"),
    ({"containerSecurityContext": {"capabilities": None}}, r"needs capabilities.drop \[ALL\]"),
    ({"workflows": {"securityContext": {"allowPrivilegeEscalation": None}}}, r"workflows\.podSecurityContext/workflows\.securityContext: restricted"),
    ({"workflows": {"podSecurityContext": {"seccompProfile": None}, "securityContext": {"seccompProfile": None}}}, "seccompProfile"),
    ({"phoenix": {"containerSecurityContext": {"allowPrivilegeEscalation": None}}, "containerSecurityContext": {"allowPrivilegeEscalation": None}},
     "allowPrivilegeEscalation"),
    # baseline, for every component (Vespa's escape hatch included)
    ({"podSecurityContext": {"appArmorProfile": {"type": "Unconfined"}}}, "appArmorProfile"),
    ({"vespa": {"unrestrictedSecurityContext": True, "containerSecurityContext": {"appArmorProfile": {"type": "Unconfined"}}}},
     "appArmorProfile"),
    ({"podSecurityContext": {"seLinuxOptions": {"type": "spc_t"}}}, "seLinuxOptions"),
    ({"containerSecurityContext": {"seLinuxOptions": {"user": "system_u"}}}, "seLinuxOptions"),
    ({"podSecurityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}}, "sysctls|sysctl"),
    ({"vespa": {"unrestrictedSecurityContext": True, "containerSecurityContext": {"privileged": True}}}, "privileged"),
    # the AppArmor annotation the kubelet still honours (attack21 R01, R23), and a Localhost seccomp without its profile (R25)
    ({"runtime": {"podAnnotations": {"container.apparmor.security.beta.kubernetes.io/runtime": "unconfined"}}},
     r"runtime\.podAnnotations: container\.apparmor\.security\.beta\.kubernetes\.io/runtime: unconfined is refused"),
    ({"vespa": {"unrestrictedSecurityContext": True, "podAnnotations": {"container.apparmor.security.beta.kubernetes.io/vespa": "Unconfined"}}},
     "vespa.podAnnotations: container.apparmor"),
    ({"podSecurityContext": {"seccompProfile": {"type": "Localhost"}}}, "seccompProfile.type Localhost needs localhostProfile"),
])
def test_pod_security_holds_after_merging(helm, values, match):
    _refused(values, match, helm)


def test_legitimate_contexts_render(helm):
    ok = {"runtime": {"podAnnotations": {"container.apparmor.security.beta.kubernetes.io/runtime": "runtime/default",
                                         "container.apparmor.security.beta.kubernetes.io/x": "localhost/k8s-x"}},
          "vespa": {"podSecurityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/vespa.json"}}},
          "podSecurityContext": {"appArmorProfile": {"type": "RuntimeDefault"}, "seLinuxOptions": {"type": "container_t", "level": "s0:c1"},
                                 "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "80"}]}}
    docs = render_chart(ok, helm=helm)
    pods = [d for d in docs if d.kind in ("Deployment", "StatefulSet")]
    assert pods and all(d.obj["spec"]["template"]["spec"]["securityContext"]["appArmorProfile"] == {"type": "RuntimeDefault"}
                        for d in pods)


def test_no_pod_uses_host_namespaces_ports_or_paths(helm):
    text = json.dumps([d.obj for d in render_chart({"llm": {"enabled": True}}, helm=helm)])
    for key in ("hostNetwork", "hostPID", "hostIPC", "hostPath", "hostPort", "hostUsers"):
        assert f'"{key}"' not in text, key


@pytest.mark.parametrize("purpose, name, match", [
    ("tenantProvisioner", "cogniverse-workflow", "also workflows.serviceAccounts.steps"),
    ("deadlineWatchdog", "cogniverse", "also serviceAccount"),
    ("deadlineWatchdog", "cogniverse-tenant-provisioner", "also workflows.serviceAccounts.tenantProvisioner"),
    # the restore account's Role scales Phoenix, and any Workflow may name it (attack21 R08)
    ("tenantProvisioner", "cogniverse-workflow-restore", "also workflows.serviceAccounts.restore"),
])
def test_privileged_accounts_are_their_own(helm, purpose, name, match):
    _refused({"workflows": {"serviceAccounts": {purpose: {"create": False, "name": name}}}},
             f"workflows.serviceAccounts.{purpose}: the account \"{name}\" is {match}", helm)


@pytest.mark.parametrize("purpose", ["tenantProvisioner", "deadlineWatchdog", "restore"])
def test_privileged_accounts_are_never_default(helm, purpose):
    """The schema refuses `default` (every pod without an account runs as it), naming the key (Helm 3
    and Helm 4 word it differently); the render check says why for any other shared account."""
    _refused({"workflows": {"serviceAccounts": {purpose: {"create": False, "name": "default"}}}},
             f"(workflows.serviceAccounts.{purpose}|/workflows/serviceAccounts/{purpose})", helm)


@pytest.mark.parametrize("component", ["phoenix", "llm"])
@pytest.mark.parametrize("kind", ["NodePort", "LoadBalancer"])
def test_unauthenticated_services_need_an_acknowledgement(helm, component, kind):
    values = {component: {"enabled": True, "service": {"type": kind}}}
    _refused(values, f"{component}.service.type {kind} puts an unauthenticated .* {component}.service.exposeUnauthenticated=true", helm)
    values[component]["service"]["exposeUnauthenticated"] = True
    svc = [d for d in render_chart(values, helm=helm) if d.kind == "Service" and d.name.endswith(f"-{component}")]
    assert svc and svc[0].obj["spec"]["type"] == kind


def _integer_maxima() -> dict:
    """Every integer of values.yaml set to its schema maximum."""
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    defaults = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    out: dict = {}

    def walk(node, path, default):
        if not isinstance(node, dict):
            return
        if "$ref" in node:
            target = schema
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            walk(target, path, default)
        if node.get("type") == "integer" and "maximum" in node and isinstance(default, int) and not isinstance(default, bool):
            target = out
            for p in path[:-1]:
                target = target.setdefault(p, {})
            target[path[-1]] = int(node["maximum"])
        for key, sub in node.get("properties", {}).items():
            if isinstance(default, dict) and key in default:
                walk(sub, path + [key], default[key])
        for sub in node.get("allOf", []) + node.get("anyOf", []):
            walk(sub, path, default)

    walk(schema, [], defaults)
    return out


def test_integers_render_as_integers_at_their_maxima(helm):
    maxima = _integer_maxima()
    assert maxima["workflows"]["heavyJobs"]["maxHoldSeconds"] == 31536000
    text = "\n".join(yaml.safe_dump(d.obj) for d in render_chart({**maxima, "llm": {"enabled": True}}, helm=helm))
    assert not re.search(r"\d[eE][+-]?\d", text), re.findall(r".{40}\d[eE][+-]?\d.{10}", text)[:5]
    assert "activeDeadlineSeconds: 31536000" in text and "value: '1000000'" in text


@pytest.mark.parametrize("values, key", [
    ({"workflows": {"heavyJobs": {"maxHoldSeconds": 2**63}}}, "maxHoldSeconds"),
    ({"workflows": {"cronWorkflows": {"deadlineWatchdog": {"parameters": {"terminate-after-seconds": 10_000_000_000}}}}},
     "terminate-after-seconds"),
    ({"workflows": {"templates": {"tenantProvisioning": {"activeDeadlineSeconds": 31536001}}}}, "activeDeadlineSeconds"),
    ({"workflows": {"ttl": {"secondsAfterCompletion": 2**40}}}, "secondsAfterCompletion"),
    ({"workflows": {"templates": {"tenantProvisioning": {"parameters": {"cpu-quota": 1000000}}}}}, r"cpu-quota \(1000000\) is above .*quota.max.cpu \(64\)"),
])
def test_numbers_beyond_what_go_and_kubernetes_accept_are_refused(helm, values, key):
    _refused(values, key, helm)


def test_a_10_mb_value_is_refused_by_the_schema_before_rendering(helm):
    """Rendered into every step, a 10 MB extraEnv value took Helm over 100 s and 2 GB; the schema's
    bound refuses it before any template runs (about 3 s, mostly reading the file)."""
    _refused({"workflows": {"runner": {"extraEnv": {"FOO": "a" * 10_000_000}}}}, r"extraEnv.FOO", helm)


def test_many_bounded_values_are_refused_in_total(helm):
    """300 extraEnv values of 30 KB each (9 MB, each within its own bound) rendered into every step took
    Helm 79 s and 2.3 GB for 343 MB of manifests (attack21 S01): the total is bounded, refused at once."""
    env = {f"V{i}": "x" * 30_000 for i in range(300)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    _refused({"workflows": {"runner": {"extraEnv": env}}}, r"workflows\.runner\.extraEnv: 9002891 bytes in all, more than 65536", helm)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Helm's CPU time, not wall time: a loaded machine stretches the wall clock, never the work done.
    # Refused at once it is ~3 s; rendered it was 79 s.
    assert (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime) < 30
    render_chart({"workflows": {"runner": {"extraEnv": {f"V{i}": "x" * 1000 for i in range(60)}}}}, helm=helm)
