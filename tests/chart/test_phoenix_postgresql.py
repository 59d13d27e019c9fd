"""Phoenix on PostgreSQL (values phoenix.database): what the chart renders for the in-chart server and an
external one, that no password ever reaches a manifest but the chart's own Secret, that bad combinations
fail with one line naming the key (Helm 3 and 4), and that files/phoenix-backup.py's PostgreSQL path runs
pg_dump and pg_restore with an argument list and the password only in their environment
(test_phoenix_backup_postgresql.py). The chart renders with real helm.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from chart_utils import render_chart, strings, templates
from cogniverse_chart.errors import HelmError
from test_backup_restore import SCRIPT_FILES

IN_CHART = {"phoenix": {"database": {"type": "postgresql", "postgresql": {"inChart": {"enabled": True}}}}}


def external(fmt: str = "url", secret: str = "phoenix-db") -> dict[str, Any]:
    return {"phoenix": {"database": {"type": "postgresql", "postgresql": {
        "external": {"enabled": True, "existingSecret": secret, "secretFormat": fmt}}}}}


def objects(values: dict[str, Any] | None, profile: str = "local") -> dict[str, dict[str, Any]]:
    return {f"{d.kind}/{d.name}": d.obj for d in render_chart(values, profile=profile)}


def env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def phoenix_container(objs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return objs["Deployment/cogniverse-phoenix"]["spec"]["template"]["spec"]["containers"][0]


def phoenix_steps(objs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [templates(objs["WorkflowTemplate/daily-backup"])["backup-phoenix"],
            templates(objs["WorkflowTemplate/restore"])["restore-phoenix"]]


# ---- the chart -----------------------------------------------------------------------------------

def test_sqlite_stays_the_default_with_no_postgresql_object():
    objs = objects(None)
    assert not [k for k in objs if "postgresql" in k]
    assert not [n for n in env(phoenix_container(objs)) if n.startswith(("PHOENIX_POSTGRES", "PHOENIX_SQL"))]
    assert phoenix_steps(objs)[0]["container"]["image"].startswith("arizephoenix/phoenix:")


def test_in_chart_postgresql_is_a_restricted_statefulset_with_its_claim_probe_and_service():
    objs = objects(IN_CHART)
    sts = objs["StatefulSet/cogniverse-postgresql"]["spec"]
    pod = sts["template"]["spec"]
    (c,) = pod["containers"]
    assert c["image"] == "cogniverse/postgresql:15.20-0_deb12u1"
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 65532
    assert c["securityContext"]["allowPrivilegeEscalation"] is False and c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    # ready only once it accepts TCP connections: initdb's temporary server listens on a socket only
    assert c["readinessProbe"]["exec"]["command"][:3] == ["pg_isready", "--quiet", "--host=127.0.0.1"]
    assert env(c)["POSTGRES_PASSWORD_FILE"] == "/etc/cogniverse/postgresql/password"
    assert {v["name"]: v for v in pod["volumes"]}["password"]["secret"]["secretName"] == "cogniverse-postgresql"
    (claim,) = sts["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "local-path" and claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    svc = objs["Service/cogniverse-postgresql"]["spec"]
    assert svc["ports"][0]["port"] == 5432 and svc["selector"]["app.kubernetes.io/component"] == "postgresql"
    assert objs["Secret/cogniverse-postgresql"]["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_only_phoenix_and_its_backup_steps_may_reach_postgresql():
    objs = objects(IN_CHART)
    np = objs["NetworkPolicy/cogniverse-postgresql"]["spec"]
    assert np["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "postgresql"
    (rule,) = np["ingress"]
    peers = [p["podSelector"]["matchLabels"] for p in rule["from"]]
    assert [p["app.kubernetes.io/component"] for p in peers] == ["phoenix", "phoenix-database-client"]
    assert all(p["app.kubernetes.io/instance"] == "cogniverse" for p in peers)
    for step in phoenix_steps(objs):  # the steps carry exactly the labels the policy admits
        assert step["metadata"]["labels"] == peers[1]
    phoenix_pod = objs["Deployment/cogniverse-phoenix"]["spec"]["template"]["metadata"]["labels"]
    assert phoenix_pod.items() >= peers[0].items()
    others = [t for n, o in objs.items() if n.startswith("WorkflowTemplate/") for t in templates(o).values()
              if t.get("metadata", {}).get("labels") == peers[1] and t["name"] not in ("backup-phoenix", "restore-phoenix")]
    assert not others, "only Phoenix's backup and restore steps may carry the client labels"


SECRET_REF = {
    "in-chart": (IN_CHART, {"PHOENIX_POSTGRES_PASSWORD": ("cogniverse-postgresql", "password")}),
    "in-chart-existing": ({"phoenix": {"database": {"type": "postgresql", "postgresql": {
        "inChart": {"enabled": True, "existingSecret": "my-pg"}}}}}, {"PHOENIX_POSTGRES_PASSWORD": ("my-pg", "password")}),
    "external-url": (external("url"), {"PHOENIX_SQL_DATABASE_URL": ("phoenix-db", "url")}),
    "external-fields": (external("fields"), {f"PHOENIX_POSTGRES_{v}": ("phoenix-db", k) for v, k in
                                             (("HOST", "host"), ("USER", "user"), ("PASSWORD", "password"),
                                              ("PORT", "port"), ("DB", "database"))}),
}


@pytest.mark.parametrize("mode", list(SECRET_REF))
def test_phoenix_and_its_steps_get_the_connection_only_by_secret_reference(mode):
    values, refs = SECRET_REF[mode]
    objs = objects(values)
    for c in [phoenix_container(objs)] + [s["container"] for s in phoenix_steps(objs)]:
        got = env(c)
        for var, (secret, key) in refs.items():
            assert got[var]["secretKeyRef"]["name"] == secret and got[var]["secretKeyRef"]["key"] == key, (mode, var)
        assert not [n for n, v in got.items() if ("PASSWORD" in n or n.endswith("_URL") and "SQL" in n)
                    and not isinstance(v, dict)], "a credential as a plain value"
    if mode == "external-fields":  # port and database may be left out of the Secret
        assert env(phoenix_container(objs))["PHOENIX_POSTGRES_PORT"]["secretKeyRef"]["optional"] is True
        assert "optional" not in env(phoenix_container(objs))["PHOENIX_POSTGRES_PASSWORD"]["secretKeyRef"]
    assert ("Secret/cogniverse-postgresql" in objs) == (mode == "in-chart")


def test_the_generated_password_is_written_only_in_its_secret():
    docs = render_chart(IN_CHART, profile="local")
    (secret,) = [d for d in docs if d.kind == "Secret" and d.name == "cogniverse-postgresql"]
    encoded = secret.obj["data"]["password"]
    password = base64.b64decode(encoded).decode()
    assert len(password) == 32 and password.isalnum()
    leaks = [(d.kind, d.name, path) for d in docs if d is not secret for path, s in strings(d.obj)
             if password in s or encoded in s]
    assert not leaks


def test_postgresql_steps_run_the_script_in_the_postgresql_image_without_phoenix_claim():
    objs = objects(IN_CHART)
    for t in phoenix_steps(objs):
        c = t["container"]
        assert c["image"] == "cogniverse/postgresql:15.20-0_deb12u1" and "affinity" not in t
        assert c["command"] == ["/usr/bin/python3", "/opt/cogniverse/phoenix-backup.py"]
        assert c["args"][0] in ("backup-phoenix", "restore-phoenix") and c["args"][1:] == [
            "--backup-dir", "{{inputs.parameters.backup-dir}}", "--backup-id", "{{inputs.parameters.backup-id}}"]
        assert {m["name"] for m in c["volumeMounts"]} == {"tmp", "outputs", "backups", "backup-scripts"}
    for wft in ("WorkflowTemplate/daily-backup", "WorkflowTemplate/restore"):
        assert {v["name"] for v in objs[wft]["spec"]["volumes"]} == {"backups", "backup-scripts"}
    assert objs["ConfigMap/cogniverse-phoenix-backup"]["data"] == {f.name: f.read_text() for f in SCRIPT_FILES}
    # the restore still stops Phoenix's writers first and starts them in its exit handler
    groups = [[s["name"] for s in g] for g in templates(objs["WorkflowTemplate/restore"])["restore"]["steps"]]
    assert groups[:3] == [["verify-backup"], ["stop-phoenix"], ["restore-phoenix"]]


BAD = [
    ("in-chart-without-type", {"phoenix": {"database": {"postgresql": {"inChart": {"enabled": True}}}}},
     "phoenix.database.postgresql.inChart.enabled is true but phoenix.database.type is \"sqlite\""),
    ("postgresql-without-server", {"phoenix": {"database": {"type": "postgresql"}}},
     "neither phoenix.database.postgresql.inChart.enabled nor phoenix.database.postgresql.external.enabled"),
    ("both-servers", {"phoenix": {"database": {"type": "postgresql", "postgresql": {
        "inChart": {"enabled": True}, "external": {"enabled": True, "existingSecret": "x"}}}}},
     "inChart.enabled and external.enabled are both true"),
    ("external-without-secret", external(secret=""), "phoenix.database.postgresql.external.existingSecret is empty"),
    ("url-in-extra-env", {"phoenix": {"extraEnv": [{"name": "PHOENIX_SQL_DATABASE_URL", "value": "postgresql://u:p@h/d"}]}},
     "phoenix.extraEnv[0] sets PHOENIX_SQL_DATABASE_URL"),
    ("password-in-extra-env", {**IN_CHART, "phoenix": {**IN_CHART["phoenix"], "extraEnv": [
        {"name": "PHOENIX_POSTGRES_PASSWORD", "value": "hunter2"}]}}, "phoenix.extraEnv[0] sets PHOENIX_POSTGRES_PASSWORD"),
    ("postgresql-as-root", {"phoenix": {"database": {"type": "postgresql", "postgresql": {"inChart": {
        "enabled": True, "podSecurityContext": {"runAsNonRoot": False}}}}}}, "phoenix.database.postgresql.inChart.podSecurityContext"),
    ("unknown-type", {"phoenix": {"database": {"type": "mysql"}}}, "phoenix.database.type"),
    ("unknown-secret-format", external("json"), "secretFormat"),
    ("bad-user-name", {"phoenix": {"database": {"postgresql": {"inChart": {"user": "Bad-Name"}}}}}, "user"),
    ("limit-below-request", {"phoenix": {"database": {"type": "postgresql", "postgresql": {"inChart": {
        "enabled": True, "resources": {"requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}}}}},
     "phoenix.database.postgresql.inChart.resources.limits.cpu (1) is below"),
    # null drops a key in Helm (attack22 P04-P08, P16, P17): the schema names it, never a nil pointer or a
    # Phoenix rendered with `PHOENIX_POSTGRES_USER: null`
    *[(f"reserved-{key}", {"phoenix": {"database": {"type": "postgresql", "postgresql": {"inChart": {
        "enabled": True, key: name}}}}}, message) for key, name, message in (
        ("user", "pg_monitor", 'inChart.user "pg_monitor": PostgreSQL reserves role names starting with pg_'),
        ("user", "postgres", 'inChart.user "postgres" is the server\'s superuser'),
        ("database", "template1", 'inChart.database "template1" is one of PostgreSQL\'s template databases'))],
    ("null-database", {"phoenix": {"database": None}}, "database is required"),
    ("null-in-chart", {"phoenix": {"database": {"postgresql": {"inChart": None}}}}, "inChart is required"),
    *[(f"null-{key}", {"phoenix": {"database": {"type": "postgresql", "postgresql": {
        "inChart": {"enabled": True, key: None}}}}}, f"{key} is required") for key in ("user", "database", "resources")],
    ("null-secret-format", {"phoenix": {"database": {"type": "postgresql", "postgresql": {
        "external": {"enabled": True, "existingSecret": "x", "secretFormat": None}}}}}, "secretFormat is required"),
]


@pytest.mark.parametrize("case,values,message", BAD, ids=[b[0] for b in BAD])
def test_bad_database_values_fail_with_one_line_naming_the_key(helm, case, values, message):
    with pytest.raises(HelmError) as err:
        render_chart(values, helm=helm)
    text = str(err.value).replace("at '/phoenix/database/type'", "phoenix.database.type")
    text = re.sub(r"missing property '([^']+)'", r"\1 is required", text)  # Helm 4's words for Helm 3's
    assert message in text or message.replace(".", "/") in text, f"{helm.label}: {text}"
    assert "Traceback" not in text and "goroutine" not in text


@pytest.mark.parametrize("values", [IN_CHART, external("url"), external("fields")], ids=["in-chart", "url", "fields"])
def test_postgresql_modes_validate_strictly(strict_validator, values):
    findings = strict_validator.validate(render_chart(values, profile="local"))
    assert not findings, "\n".join(f.format() for f in findings)


