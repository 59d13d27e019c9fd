"""The names and modes the docs state are the ones the chart and the node use (attack21d #21: docs/workflows.md
named the policies `<namespace>-<fullname>-...` while the render names them `<namespace>.<fullname>-...`;
cluster/argo/README.md said argo-server runs `--auth-mode=server`, argo.sh runs `--auth-mode=client`)."""

from __future__ import annotations

import re

from chart_utils import render_chart
from cogniverse_chart import REPO_ROOT

CLUSTER_KINDS = ("ClusterRole", "ClusterRoleBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
WORKFLOWS_DOC = REPO_ROOT / "docs" / "workflows.md"


def _rbac_rows() -> list[tuple[str, list[str]]]:
    """(kinds cell, the `<...>` names of its names cell) of every row of the RBAC section's tables."""
    section = WORKFLOWS_DOC.read_text(encoding="utf-8").split("## RBAC", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[1].startswith("`"):
            rows.append((cells[0], re.findall(r"`([^`]+)`", cells[1])))
    return rows


def test_the_rbac_tables_name_what_the_chart_renders():
    docs = render_chart(release="cv", namespace="cogniverse-prod")
    fullname = "cv-cogniverse"
    rendered = {(d.kind, d.name) for d in docs}
    stated = set()
    for kinds, names in _rbac_rows():
        for name in names:
            concrete = name.replace("<namespace>", "cogniverse-prod").replace("<fullname>", fullname)
            for kind in [k.strip() for k in kinds.split("+")]:
                kind = {"Binding": kinds.split("+")[0].strip() + "Binding"}.get(kind, kind)
                stated.add((kind, concrete))
    assert stated, "no rows found in the RBAC section of docs/workflows.md"
    assert stated <= rendered, f"docs/workflows.md names objects the chart does not render: {sorted(stated - rendered)}"
    cluster = {(k, n) for k, n in rendered if k in CLUSTER_KINDS}
    assert cluster <= stated, f"cluster-scoped objects missing from docs/workflows.md: {sorted(cluster - stated)}"


def test_the_argo_server_auth_mode_is_stated_as_argo_sh_runs_it():
    script = (REPO_ROOT / "cluster" / "argo" / "argo.sh").read_text(encoding="utf-8")
    modes = set(re.findall(r"value: \[server, --auth-mode=(\w+)", script))
    assert len(modes) == 1, modes
    (mode,) = modes
    for doc in ("cluster/argo/README.md", "docs/local-cluster.md", "docs/deploy.md"):
        text = " ".join((REPO_ROOT / doc).read_text(encoding="utf-8").split())
        # what the node runs ("`argo server --auth-mode=X", "`argo server` runs with `--auth-mode=X`"), not history
        stated = set(re.findall(r"argo server(?:` runs with `| )--auth-mode=(\w+)", text))
        assert stated <= {mode} and ("README" not in doc or stated), f"{doc} states --auth-mode={stated}, argo.sh runs {mode}"
