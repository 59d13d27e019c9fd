"""Environment profiles (values/*.yaml) and chart-testing scenarios (charts/cogniverse/ci/*-values.yaml):
`helm lint --strict` passes at the floor and the newest Kubernetes minor, and every rendered object
validates strictly against every bundled Kubernetes minor (the floor 1.30 and each supported one) and
Argo 3.7 / 4.0, with Helm 3 and Helm 4; the k3s profile fits a 4 GiB laptop. Chart.yaml's kubeVersion
follows versions.env, so both Helms render and lint without flags."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from kubernetes.utils import parse_quantity

from cogniverse_chart import CHART_DIR, PROFILES_DIR, schemas, versions
from cogniverse_chart.documents import Document
from chart_utils import by_kind



PROFILES = ("k3s", "production", "smoke")
#: Test ids for profiles: a bare "smoke" id would make conftest treat the test as a cluster smoke test.
PROFILE_IDS = [f"profile-{p}" for p in PROFILES]
SCENARIOS = sorted(p.name for p in (CHART_DIR / "ci").glob("*-values.yaml"))
FLOOR, NEWEST = versions.kube_floor_minor(), versions.kube_newest_minor()
#: Rendered at both ends of the admitted range (the chart has no version-dependent templates).
KUBE_VERSIONS = ("%d.%d.0" % FLOOR, versions.kube_version())
GIB = 1024**3
UPSTREAM_IMAGES = ("vespaengine/vespa", "arizephoenix/phoenix", "ollama/ollama", "cogniverse/runtime")



def memory_requests(docs: list[Document]) -> dict[str, int]:
    """Bytes of memory requested by each long-running workload: per pod (max of the init containers and
    the sum of the containers) x replicas (an HPA's minReplicas when one targets the workload)."""
    hpa_min = {h["spec"]["scaleTargetRef"]["name"]: h["spec"]["minReplicas"]
               for h in by_kind(docs, "HorizontalPodAutoscaler").values()}
    out: dict[str, int] = {}
    for d in docs:
        if d.kind not in ("Deployment", "StatefulSet"):
            continue
        spec = d.obj["spec"]["template"]["spec"]

        def req(c: dict[str, Any]) -> int:
            return int(parse_quantity(c.get("resources", {}).get("requests", {}).get("memory", 0)))

        per_pod = max([sum(req(c) for c in spec["containers"])] + [req(c) for c in spec.get("initContainers", [])])
        replicas = hpa_min.get(d.name, d.obj["spec"].get("replicas", 1))
        out[f"{d.kind}/{d.name} x{replicas}"] = per_pod * replicas
    return out


def test_kube_version_range_follows_versions_env():
    """kubeVersion admits every minor from the floor through the newest pinned one, and no later one."""
    meta = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    assert meta["kubeVersion"] == ">=%d.%d.0-0 <%d.%d.0-0" % (*FLOOR, NEWEST[0], NEWEST[1] + 1)


def test_every_validated_minor_is_bundled():
    assert set(schemas.available("k8s")) >= {"%d.%d" % FLOOR, "%d.%d" % NEWEST}


def test_helm_template_and_lint_need_no_kube_version_flag(helm):
    """Helm 4 assumes a current Kubernetes (1.36 for 4.2) when no --kube-version is given; the range must
    admit it; the Argo API check runs only on a connected install, so no flag at all is needed."""
    proc = helm.run(["template", "x", str(CHART_DIR)], check=False)
    assert proc.returncode == 0 and "kind: Deployment" in proc.stdout and "kind: CronWorkflow" in proc.stdout, proc.stderr
    proc = helm.run(["lint", str(CHART_DIR)], check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_profiles_and_scenarios_exist():
    assert set(PROFILES) <= {p.stem for p in PROFILES_DIR.glob("*.yaml")}
    assert len(SCENARIOS) >= 3 and all(s.endswith("-values.yaml") for s in SCENARIOS)


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("values_file", [f"values/{p}.yaml" for p in PROFILES] + [f"ci/{s}" for s in SCENARIOS])
def test_helm_lint_strict(helm, values_file, kube_version):
    path = (PROFILES_DIR.parent / values_file) if values_file.startswith("values/") else CHART_DIR / values_file
    proc = helm.run(["lint", "--strict", str(CHART_DIR), "-f", str(path), "--kube-version", kube_version], check=False)
    assert proc.returncode == 0, f"{helm.label} lint --strict {values_file}:\n{proc.stdout}\n{proc.stderr}"


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("profile", PROFILES, ids=PROFILE_IDS)
def test_profile_validates_strictly(helm, render_chart, strict_validator, profile, kube_version):
    docs = render_chart(profile=profile, helm=helm, kube_version=kube_version)
    assert docs
    findings = strict_validator.validate(docs)
    assert not findings, "\n".join(f.format() for f in findings)


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_validates_strictly(helm, render_chart, strict_validator, tmp_path, scenario, kube_version):
    import yaml

    values = yaml.safe_load((CHART_DIR / "ci" / scenario).read_text()) or {}
    docs = render_chart(values, helm=helm, kube_version=kube_version)
    findings = strict_validator.validate(docs)
    assert not findings, "\n".join(f.format() for f in findings)


def test_memory_request_sums(render_chart, capsys):
    """Prints the sum per profile (visible without -s); the k3s profile must fit a 4 GiB laptop."""
    sums = {}
    for profile in PROFILES:
        parts = memory_requests(render_chart(profile=profile))
        sums[profile] = sum(parts.values())
        with capsys.disabled():
            print(f"\n[memory requests] {profile}: {sums[profile] / GIB:.2f} GiB "
                  f"({sums[profile] // 1024**2} Mi) = " + ", ".join(f"{k} {v // 1024**2}Mi" for k, v in sorted(parts.items())))
    assert sums["k3s"] <= 4 * GIB, f"k3s requests {sums['k3s'] / GIB:.2f} GiB > 4 GiB"
    assert sums["smoke"] <= sums["k3s"] <= sums["production"]


def test_k3s_volumes_use_local_path(render_chart):
    docs = render_chart(profile="k3s")
    claims = [d.obj for d in docs if d.kind == "PersistentVolumeClaim"]
    claims += [t for s in by_kind(docs, "StatefulSet").values() for t in s["spec"].get("volumeClaimTemplates", [])]
    assert claims
    for c in claims:
        assert c["spec"].get("storageClassName") == "local-path", c["metadata"]["name"]


def test_production_runs_the_runtime_highly_available(render_chart):
    docs = render_chart(profile="production")
    runtime = by_kind(docs, "Deployment")["cogniverse-runtime"]
    assert runtime["spec"]["replicas"] >= 2
    assert "podAntiAffinity" in runtime["spec"]["template"]["spec"]["affinity"]
    assert by_kind(docs, "PodDisruptionBudget")["cogniverse-runtime"]["spec"]["selector"]["matchLabels"] == \
        runtime["spec"]["selector"]["matchLabels"]
    assert {"cogniverse-runtime", "cogniverse-vespa", "cogniverse-phoenix"} <= set(by_kind(docs, "NetworkPolicy"))


def test_production_resources_are_larger_than_the_defaults(render_chart):
    default, prod = render_chart(), render_chart(profile="production")
    for kind, name in (("Deployment", "cogniverse-runtime"), ("StatefulSet", "cogniverse-vespa"),
                       ("Deployment", "cogniverse-phoenix")):
        def mem(docs):
            c = by_kind(docs, kind)[name]["spec"]["template"]["spec"]["containers"][0]
            return parse_quantity(c["resources"]["requests"]["memory"]), parse_quantity(c["resources"]["limits"]["memory"])
        assert all(p > d for p, d in zip(mem(prod), mem(default))), name


def test_smoke_profile_needs_no_upstream_service_image(render_chart):
    """The smoke cluster cannot pull images: no service workload, Service or test Pod is rendered."""
    docs = render_chart(profile="smoke")
    service_docs = [d for d in docs if not d.source.startswith("cogniverse/templates/workflows/")]
    assert not [d.ref for d in service_docs if d.kind in ("Deployment", "StatefulSet", "Pod", "Service",
                                                         "PersistentVolumeClaim")]
    images = [c["image"] for d in service_docs if d.kind in ("Deployment", "StatefulSet", "Pod")
              for c in d.obj["spec"].get("template", d.obj)["spec"]["containers"]]
    assert not [i for i in images if i.startswith(UPSTREAM_IMAGES)]


@pytest.mark.parametrize("profile", PROFILES, ids=PROFILE_IDS)
def test_helm3_and_helm4_render_the_same_objects(render_chart, profile):
    from cogniverse_chart.helm import available_helms

    helms = available_helms()
    if len(helms) < 2:
        pytest.fail(f"need Helm 3 and Helm 4 (scripts/bootstrap.sh), found {[h.label for h in helms]}")
    rendered = [sorted(((d.kind, d.name), d.obj) for d in render_chart(profile=profile, helm=h)) for h in helms]
    assert [k for k, _ in rendered[0]] == [k for k, _ in rendered[1]]
    for (key, a), (_, b) in zip(*rendered):
        assert a == b, f"{profile}: {key} differs between {helms[0].label} and {helms[1].label}"
