"""The facts block of the chart README (what `helm show readme` and Artifact Hub show), generated from
Chart.yaml, versions.env and the chart's test template, between `<!-- chart-facts:start -->` and
`<!-- chart-facts:end -->`: the Kubernetes range Chart.yaml admits, the Argo Workflows and Helm versions,
an install command that works from the package (no repository paths), and what `helm test` checks.
`cogniverse-chart docs` writes it; `docs --check` (part of `check`) fails when it is stale."""

from __future__ import annotations

import re
from pathlib import Path

from . import versions
from .errors import ToolkitError

START, END = "<!-- chart-facts:start -->", "<!-- chart-facts:end -->"
_BOUND = re.compile(r"(>=|<)\s*v?(\d+)\.(\d+)")
TEST_TEMPLATE = "templates/tests/test-connection.yaml"
#: Check names of the test template -> what they ask, in words.
_CHECKS = {"runtime": "the runtime's readiness path", "vespa-config": "the Vespa config server's health",
           "phoenix": "Phoenix's readiness path", "llm": "the LLM server's readiness path"}


def kube_range(constraint: str) -> tuple[str, str]:
    """'>=1.30.0-0 <1.38.0-0' -> ('1.30', '1.37'): the oldest and newest minor Chart.yaml admits."""
    bounds = {op: (int(a), int(b)) for op, a, b in _BOUND.findall(constraint)}
    if ">=" not in bounds or "<" not in bounds:
        raise ToolkitError(f"kubeVersion {constraint!r}: expected '>=X.Y.0-0 <X.Z.0-0' to describe the range")
    lo, hi = bounds[">="], bounds["<"]
    newest = (hi[0], hi[1] - 1) if hi[1] > 0 else (hi[0] - 1, 99)
    return "%d.%d" % lo, "%d.%d" % newest


def test_checks(chart: Path) -> list[str]:
    """The checks of `helm test` (one container per check), in template order."""
    path = chart / TEST_TEMPLATE
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return re.findall(r'dict "name" "([a-z0-9-]+)"', text)


def facts(chart: Path) -> str:
    from .release import chart_meta

    meta = chart_meta(chart)
    lo, hi = kube_range(str(meta.get("kubeVersion", "")))
    argo = " and ".join(dict.fromkeys(".".join(versions.get(k).lstrip("v").split(".")[:2])
                                      for k in ("ARGO_VERSION", "ARGO_V4_VERSION")))
    helm3, helm4 = (versions.get(k).lstrip("v") for k in ("HELM3_VERSION", "HELM4_VERSION"))
    checks = [_CHECKS.get(c, c) for c in test_checks(chart)]
    name, version = meta["name"], meta["version"]
    return "\n".join([
        START,
        f"Chart {version} (app {meta.get('appVersion', '?')}) runs on Kubernetes {lo} to {hi} (Chart.yaml "
        f"`kubeVersion`) with Argo Workflows {argo}; it is tested with Helm {helm3} and Helm {helm4}.",
        "",
        "```bash",
        f"helm install {name} oci://REGISTRY/charts/{name} --version {version} -n {name} --create-namespace",
        f"helm test {name} -n {name}",
        "```",
        "",
        "`helm test` runs one container per enabled service, each fetching over HTTP: "
        + "; ".join(checks) + ". A failing container names the service that did not answer.",
        "The repository's environment profiles (`values/*.yaml`) are not in the package: take one from the "
        "repository and pass it with `-f`, or set values with `--set`.",
        END,
    ])


def with_facts(readme: str, chart: Path, path: Path) -> str:
    """The README with its facts block regenerated (nothing outside the markers changes)."""
    if START not in readme or END not in readme:
        raise ToolkitError(f"{path}: no `{START}` ... `{END}` markers; add them where the install facts go")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return head + facts(chart) + tail
