"""Facts the chart states once and derives everywhere else: every copy agrees with its source.

Service wiring: the Services the chart renders are the truth a client meets. Everything that names a
service (the runtime's environment, every workflow step's environment, NOTES.txt, the NetworkPolicies,
the helm test Pod) derives from one helper, `cogniverse.services`; these tests check each consumer
against the rendered Services and workloads for every profile and with services switched off.

The optimizer catalogue: charts/cogniverse/files/optimizers.yaml is the one list; the templates and the
values schema are generated from it, the smoke runner and the step contract are checked against it.

Value descriptions: the schema parts are the one source; values.yaml's `# --` comments are generated
from them (`cogniverse-chart docs`), as the README values table is.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from cogniverse_chart import CHART_DIR, REPO_ROOT, docs
from cogniverse_chart.documents import Document
from cogniverse_chart.errors import ToolkitError
from cogniverse_chart.helm import find_helm
from cogniverse_chart.render import profiles
from cogniverse_chart.values_comments import key_description, with_descriptions
from cogniverse_chart.values_schema import optimizer_catalogue

#: The address variables of docs/step-contract.md: variable -> (Service component, Service port name).
ADDRESS_VARIABLES = {
    "COGNIVERSE_RUNTIME_URL": ("runtime", "http"),
    "VESPA_URL": ("vespa", "http-query"),
    "VESPA_CONFIG_URL": ("vespa-config", "http-config"),
    "PHOENIX_URL": ("phoenix", "http"),
    "PHOENIX_OTLP_ENDPOINT": ("phoenix", "grpc-otlp"),
    "LLM_URL": ("llm", "http"),
}
SERVICE_COMPONENTS = ("runtime", "vespa", "phoenix", "llm")

#: (id, profile, values): every profile, and the defaults with services toggled and renamed.
CASES = [(f"profile-{p}", p, {}) for p in sorted(profiles())] + [
    ("all-on", None, {"llm": {"enabled": True}, "networkPolicy": {"enabled": True}}),
    ("no-runtime", None, {"runtime": {"enabled": False}, "networkPolicy": {"enabled": True}}),
    ("no-vespa-phoenix", None, {"vespa": {"enabled": False}, "phoenix": {"enabled": False},
                                "llm": {"enabled": True}, "networkPolicy": {"enabled": True}}),
    ("none", None, {c: {"enabled": False} for c in ("runtime", "vespa", "phoenix")} | {"networkPolicy": {"enabled": True}}),
    ("moved-ports", None, {"fullnameOverride": "search", "llm": {"enabled": True, "service": {"port": 21434}},
                           "runtime": {"containerPort": 9000, "service": {"port": 9999}},
                           "vespa": {"service": {"queryPort": 18080, "configPort": 29071}},
                           "phoenix": {"service": {"uiPort": 16006, "otlpPort": 14317}},
                           "networkPolicy": {"enabled": True}}),
]


def _component(obj: dict[str, Any]) -> str | None:
    return ((obj.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/component")


def service_addresses(docs: list[Document]) -> dict[str, str]:
    """The address variables a client needs, built from the rendered Services (not the templates)."""
    services = {d.name: d.obj for d in docs if d.kind == "Service" and d.obj["spec"].get("clusterIP") != "None"}
    out = {}
    for var, (suffix, port_name) in ADDRESS_VARIABLES.items():
        for name, svc in services.items():
            if not name.endswith(f"-{suffix}"):
                continue
            for p in svc["spec"]["ports"]:
                if p["name"] == port_name:
                    out[var] = f"http://{name}.{svc['metadata']['namespace']}.svc:{p['port']}"
    return out


def container_ports(docs: list[Document]) -> dict[str, set[int]]:
    """component -> the ports its workload's containers listen on."""
    out: dict[str, set[int]] = {}
    for d in docs:
        if d.kind in ("Deployment", "StatefulSet") and _component(d.obj) in SERVICE_COMPONENTS:
            for c in d.obj["spec"]["template"]["spec"]["containers"]:
                out.setdefault(_component(d.obj), set()).update(p["containerPort"] for p in c.get("ports", []))
    return out


def addresses_in(env: list[dict[str, Any]]) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in env if e["name"] in ADDRESS_VARIABLES}


def step_containers(docs: list[Document]):
    for d in docs:
        if d.kind not in ("WorkflowTemplate", "CronWorkflow"):
            continue
        spec = d.obj["spec"].get("workflowSpec", d.obj["spec"])
        for t in spec.get("templates") or []:  # a CronWorkflow's are in the WorkflowTemplate it runs
            if "container" in t:
                yield f"{d.kind}/{d.name}/{t['name']}", t["container"]


@pytest.fixture(params=CASES, ids=[c[0] for c in CASES])
def case(request, render_chart):
    _, profile, values = request.param
    return render_chart(values, profile=profile)


def test_every_workflow_step_gets_the_address_of_every_enabled_service(case):
    want = service_addresses(case)
    steps = list(step_containers(case))
    for where, container in steps:
        assert addresses_in(container.get("env", [])) == want, where


def test_the_runtime_gets_the_address_of_every_enabled_service(case):
    want = service_addresses(case)
    runtime = [d.obj for d in case if d.kind == "Deployment" and _component(d.obj) == "runtime"]
    for dep in runtime:
        env = dep["spec"]["template"]["spec"]["containers"][0]["env"]
        assert addresses_in(env) == want
        otel = {e["name"]: e["value"] for e in env}.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        assert otel == want.get("PHOENIX_OTLP_ENDPOINT"), "traces go to Phoenix's OTLP port, or nowhere"


def test_network_policies_open_exactly_the_ports_each_enabled_workload_listens_on(case):
    ports = container_ports(case)
    policies = {_component(d.obj): d.obj for d in case if d.kind == "NetworkPolicy"}
    if not policies:
        return
    assert set(policies) == set(ports), "one NetworkPolicy per enabled service component"
    for component, pol in policies.items():
        opened = {p["port"] for rule in pol["spec"]["ingress"] for p in rule["ports"]}
        assert opened == ports[component], component


def test_every_service_targets_a_port_its_workload_listens_on(case):
    named: dict[str, dict[str, int]] = {}
    for d in case:
        if d.kind in ("Deployment", "StatefulSet") and _component(d.obj) in SERVICE_COMPONENTS:
            for c in d.obj["spec"]["template"]["spec"]["containers"]:
                named.setdefault(_component(d.obj), {}).update({p["name"]: p["containerPort"] for p in c.get("ports", [])})
    for d in case:
        if d.kind == "Service" and _component(d.obj) in SERVICE_COMPONENTS:
            pod_ports = named[_component(d.obj)]
            for p in d.obj["spec"]["ports"]:
                assert p["targetPort"] in pod_ports, f"Service {d.name} port {p['name']}"
                if d.obj["spec"].get("clusterIP") == "None":  # headless: pod DNS names, pod ports
                    assert p["port"] == pod_ports[p["targetPort"]], f"headless Service {d.name}"


def test_servers_are_told_to_listen_on_their_container_ports(case):
    """Phoenix and Ollama read their ports from env: it must name the port the pod declares for it."""
    told = {"PHOENIX_PORT": "http", "PHOENIX_GRPC_PORT": "grpc-otlp", "OLLAMA_HOST": "http"}
    for d in case:
        if d.kind == "Deployment" and _component(d.obj) in ("phoenix", "llm"):
            container = d.obj["spec"]["template"]["spec"]["containers"][0]
            named = {p["name"]: p["containerPort"] for p in container["ports"]}
            env = {e["name"]: e["value"] for e in container["env"] if e["name"] in told}
            assert env, d.name
            for name, value in env.items():
                assert int(value.rsplit(":", 1)[-1]) == named[told[name]], (d.name, name)


def test_the_helm_test_pod_calls_the_rendered_services(case):
    want = service_addresses(case)
    pods = [d.obj for d in case if d.kind == "Pod"]
    for pod in pods:
        urls = [c["command"][-1] for c in pod["spec"]["containers"]]
        assert urls, "a helm test Pod with no check"
        for url in urls:
            assert any(url.startswith(base + "/") for base in want.values()), url


@pytest.mark.parametrize("doc, start", [("docs/step-contract.md", "- Environment (set by the chart"),
                                        ("docs/workflows.md", "Environment of every step:")])
def test_the_docs_name_exactly_the_environment_a_step_gets(render_chart, doc, start):
    docs_text = (REPO_ROOT / doc).read_text(encoding="utf-8")
    paragraph = docs_text[docs_text.index(start):].split("\n\n")[0].split("\n- ")[0]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)(?:=[^`]*)?`", paragraph))
    docs = render_chart({"llm": {"enabled": True}})
    got = {e["name"] for _, c in step_containers(docs) for e in c.get("env", [])}
    assert documented == got, f"{doc}: documents {sorted(documented)}, steps get {sorted(got)}"


# --- NOTES.txt ----------------------------------------------------------------------------------

def notes_for(tmp_path: Path, profile: str | None, values: dict[str, Any]) -> str:
    """NOTES.txt as `helm install` prints it (Helm 4's client-only dry run; it assumes a Kubernetes
    newer than Chart.yaml's kubeVersion allows, so a copy of the chart without that line is used)."""
    chart = shutil.copytree(CHART_DIR, tmp_path / "cogniverse")
    meta = chart / "Chart.yaml"
    meta.write_text("".join(line for line in meta.read_text().splitlines(True) if not line.startswith("kubeVersion:")))
    extra = tmp_path / "extra.yaml"
    extra.write_text(yaml.safe_dump(values))
    files = (["-f", str(CHART_DIR.parents[1] / "values" / f"{profile}.yaml")] if profile else []) + ["-f", str(extra)]
    out = find_helm(4).run(["install", "cogniverse", str(chart), "--dry-run=client", "-n", "cogniverse", *files]).stdout
    return out[out.index("NOTES:"):]


@pytest.mark.parametrize("_id, profile, values", [CASES[0], CASES[-5], CASES[-3], CASES[-1]],
                         ids=[CASES[i][0] for i in (0, -5, -3, -1)])
def test_notes_list_exactly_the_rendered_services(tmp_path, render_chart, _id, profile, values):
    docs = render_chart(values, profile=profile)
    want = service_addresses(docs)
    notes = notes_for(tmp_path, profile, values)
    listed = dict(re.findall(r"(?m)^  ([A-Z_]+) += (\S+)$", notes))
    assert listed == want
    services = {d.name: {p["port"] for p in d.obj["spec"]["ports"]} for d in docs if d.kind == "Service"}
    forwards = re.findall(r"kubectl port-forward -n cogniverse svc/(\S+) (\d+):(\d+)", notes)
    assert {name for name, _, _ in forwards} == {n for n in services if not n.endswith("-headless")}
    for name, local, remote in forwards:
        assert int(remote) in services[name] and local == remote, name


# --- the optimizer catalogue --------------------------------------------------------------------

CATALOGUE = optimizer_catalogue()


def test_the_catalogue_lists_each_optimizer_type_once():
    types = [t for ts in CATALOGUE.values() for t in ts]
    assert CATALOGUE and len(types) == len(set(types))


def test_the_smoke_runner_implements_exactly_the_catalogue():
    src = (REPO_ROOT / "images" / "smoke-runner" / "formats.go").read_text(encoding="utf-8")
    block = re.search(r"(?s)var optimizerTypes = map\[string\]\[\]string\{(.*?)\n\}", src)
    assert block, "formats.go: no `var optimizerTypes = map[string][]string{...}` table"
    runner = {cat: re.findall(r'"([^"]+)"', types) for cat, types in re.findall(r'"(\w+)":\s*\{([^}]*)\}', block.group(1))}
    assert runner == CATALOGUE, "images/smoke-runner/formats.go's optimizerTypes differs from charts/cogniverse/files/optimizers.yaml"


def test_the_step_contract_lists_the_catalogue():
    doc = (REPO_ROOT / "docs" / "step-contract.md").read_text(encoding="utf-8")
    line = "; ".join(f"`{cat}`: {', '.join(types)}" for cat, types in CATALOGUE.items())
    assert f"| `--optimizer-category` / `--optimizer-type` | {line} |" in doc, \
        f"docs/step-contract.md: the optimizer formats line must read {line!r} (charts/cogniverse/files/optimizers.yaml)"


def test_batch_optimization_offers_exactly_the_catalogue(render_chart):
    wt = {d.name: d.obj for d in render_chart() if d.kind == "WorkflowTemplate"}["batch-optimization"]
    params = {p["name"]: p for p in wt["spec"]["arguments"]["parameters"]}
    assert params["optimizer-category"]["enum"] == sorted(CATALOGUE)
    assert params["optimizer-type"]["enum"] == [t for c in sorted(CATALOGUE) for t in CATALOGUE[c]]


def test_the_values_schema_takes_its_optimizer_enums_from_the_catalogue():
    defs = json.loads((CHART_DIR / "values.schema.json").read_text())["definitions"]
    assert defs["optimizerCategory"]["enum"] == list(CATALOGUE)
    for cat, types in CATALOGUE.items():
        assert defs[f"{cat}OptimizerType"]["enum"] == types


@pytest.mark.parametrize("values, message", [
    ({"workflows": {"cronWorkflows": {"weeklyOptimization": {"optimizers": [{"category": "dspy", "type": "modality"}]}}}},
     "weeklyOptimization.optimizers.0.type"),
    ({"workflows": {"templates": {"batchOptimization": {"parameters": {"optimizer-category": "routing",
                                                                      "optimizer-type": "GEPA"}}}}},
     "batchOptimization.parameters: optimizer-type GEPA is not a routing optimizer"),
])
def test_an_optimizer_outside_its_category_is_refused_naming_the_key(render_chart, values, message):
    with pytest.raises(ToolkitError) as err:
        render_chart(values)
    assert message in str(err.value)


# --- the scheduled optimizations: one template, driven by values ---------------------------------

@pytest.mark.parametrize("key, name", [("weeklyOptimization", "weekly-optimization"),
                                       ("dailyOptimizationCheck", "daily-optimization-check")])
def test_a_scheduled_optimization_runs_the_optimizers_and_window_its_values_name(render_chart, key, name):
    optimizers = [{"category": "dspy", "type": "SIMBA"}, {"category": "routing", "type": "unified"}]
    docs = render_chart({"workflows": {"cronWorkflows": {key: {"optimizers": optimizers, "annotationWindow": "36h"}}}})
    template = {d.name: d.obj for d in docs if d.kind == "WorkflowTemplate"}[name]  # what cronwf/<name> runs
    steps = {s["name"]: s for t in template["spec"]["templates"] if t["name"] == "check-and-optimize"
             for group in t["steps"] for s in group}
    assert steps["optimize"]["withItems"] == optimizers
    since = {p["name"]: p["value"] for p in steps["check-annotations"]["arguments"]["parameters"]}["since"]
    assert since == "36h"


@pytest.mark.parametrize("key, name, other", [("weeklyOptimization", "weekly-optimization", "daily-optimization-check"),
                                              ("dailyOptimizationCheck", "daily-optimization-check", "weekly-optimization")])
def test_each_scheduled_optimization_has_its_own_switch(render_chart, key, name, other):
    docs = render_chart({"workflows": {"cronWorkflows": {key: {"enabled": False}}}})
    for kind in ("CronWorkflow", "WorkflowTemplate"):  # the schedule and the template it runs
        names = {d.name for d in docs if d.kind == kind}
        assert name not in names and other in names, kind


def test_a_bad_annotation_window_is_refused_naming_the_key(render_chart):
    with pytest.raises(ToolkitError) as err:
        render_chart({"workflows": {"cronWorkflows": {"dailyOptimizationCheck": {"annotationWindow": "1 day"}}}})
    assert "dailyOptimizationCheck.annotationWindow" in str(err.value)


# --- one helper per shared block --------------------------------------------------------------------

def test_workflows_and_service_pods_pull_with_the_same_secrets(render_chart):
    docs = render_chart({"global": {"imagePullSecrets": ["regcred", "mirror"]}})
    want = [{"name": "regcred"}, {"name": "mirror"}]
    specs = [d.obj["spec"] for d in docs if d.kind == "WorkflowTemplate"]  # CronWorkflows run these
    specs += [d.obj["spec"]["template"]["spec"] for d in docs if d.kind in ("Deployment", "StatefulSet")]
    assert specs and all(s.get("imagePullSecrets") == want for s in specs)


def test_a_cron_workflow_labels_its_workflows_as_the_template_it_runs_does(render_chart):
    docs = render_chart()
    templates = {d.name: d.obj for d in docs if d.kind == "WorkflowTemplate"}
    for d in docs:
        if d.kind == "CronWorkflow":
            ran = templates[d.obj["spec"]["workflowSpec"]["workflowTemplateRef"]["name"]]
            assert d.obj["spec"]["workflowMetadata"]["labels"] == ran["spec"]["workflowMetadata"]["labels"], d.name


def test_every_object_tenant_provisioning_creates_carries_the_tenant_labels(render_chart):
    wt = {d.name: d.obj for d in render_chart() if d.kind == "WorkflowTemplate"}["tenant-provisioning"]
    manifests = [t["resource"]["manifest"] for t in wt["spec"]["templates"] if "resource" in t]
    assert len(manifests) >= 3
    labels = ("  labels:\n    app.kubernetes.io/part-of: cogniverse\n"
              "    app.kubernetes.io/managed-by: cogniverse-tenant-provisioning\n"
              "    cogniverse.dev/tenant: {{=toJson(inputs.parameters['tenant-id'])}}\n")
    for m in manifests:  # Argo expressions inside: text, not YAML, until Argo substitutes them
        assert labels in m, m


# --- value descriptions: the schema parts are the one source ------------------------------------

SAMPLE_SCHEMA = {
    "definitions": {"port": {"description": "A TCP port.", "type": "integer"}},
    "properties": {
        "svc": {"description": "The service.", "type": "object", "properties": {
            "port": {"$ref": "#/definitions/port"},
            "name": {"description": "Its name, which is long enough to be wrapped onto a second comment line "
                                    "when the generator writes it above the key in values.yaml.", "type": "string"},
            "hosts": {"type": "array"},
            "extra": {"type": "string"},
        }},
    },
}
SAMPLE = """\
# File header, kept.

# -- A stale description.
svc:
  # A note about this default, kept.
  # -- Old text that the schema replaces,
  # over two lines.
  port: 8080
  name: web
  # -- Undescribed in the schema: dropped.
  extra: ""
  hosts:
    # -- inside a list item: left alone
    - host: a
      # -- also left alone
      path: /
"""


def test_values_descriptions_come_from_the_schema_and_notes_stay():
    out = with_descriptions(SAMPLE, SAMPLE_SCHEMA)
    assert yaml.safe_load(out) == yaml.safe_load(SAMPLE)
    assert out.startswith("# File header, kept.\n\n# -- The service.\nsvc:\n  # A note about this default, kept.\n"
                          "  # -- A TCP port.\n  port: 8080\n")
    name = out[out.index("  # -- Its name"):out.index("  name: web")].splitlines()
    assert len(name) == 2 and name[1].startswith("  # ") and " ".join(name).count("values.yaml") == 1
    assert "stale" not in out and "Old text" not in out and "dropped" not in out
    assert "    # -- inside a list item: left alone\n" in out and "      # -- also left alone\n" in out
    assert with_descriptions(out, SAMPLE_SCHEMA) == out, "the generator is idempotent"


def test_committed_values_yaml_carries_the_schema_descriptions():
    f = docs.values_file()
    assert not f.stale, "charts/cogniverse/values.yaml's `# --` comments differ from schema/: run `cogniverse-chart docs`"


def test_every_key_of_the_default_values_is_described_in_the_schema():
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    missing: list[str] = []

    def walk(node: Any, path: list[str]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if key_description(schema, [*path, k]) is None:
                    missing.append(".".join([*path, k]))
                walk(v, [*path, k])

    walk(values, [])
    assert missing == [], f"describe these keys in charts/cogniverse/schema/: {missing}"


def test_a_key_defined_in_several_allof_parts_shows_its_first_description():
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    # fields part: what the key does; restricted part: the rule on it (README table and error messages)
    assert key_description(schema, ["podSecurityContext", "runAsNonRoot"]) == \
        "Refuse to start a container whose image would run as root."
