"""CPU of the API server's own admission code (tools/vap-eval) per token-routes policy (prints figures; never fails on time).

    .venv/bin/python benchmarks/bench_admission.py [--ref REF]

For each policy of the chart as rendered from this tree (and, with --ref, as rendered from a git ref, say main):
the user+system CPU seconds of one vap-eval run (beyond its start, which compiles the policy) judging every WorkflowTemplate and CronWorkflow the chart
renders (as Helm writes them), and one judging the hostile shape of attack21d #8 (a 0.9 MB Workflow of
4,800 templates, each with a step holding an inline template with three mutexes), from another namespace and
from the release namespace.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import tempfile
from pathlib import Path

import yaml

from cogniverse_chart.helm import available_helms
from cogniverse_dev import gobuild

ROOT = Path(__file__).resolve().parents[1]
NS = "cogniverse-prod"
POLICIES = ("token-routes-argo", "token-routes-locks", "token-routes-state")


def hostile(namespace: str) -> dict:
    step = {"name": "s", "inline": {"container": {"image": "alpine", "command": ["true"]},
                                    "synchronization": {"mutexes": [{"name": f"m{i}"} for i in range(3)]}}}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "big", "namespace": namespace},
            "spec": {"entrypoint": "t0", "templates": [{"name": f"t{i}", "steps": [[step]]} for i in range(4800)]}}


def render(chart: Path) -> list[dict]:
    helm = available_helms()[0]
    out = subprocess.run([str(helm.path), "template", "cv", str(chart), "-n", NS], capture_output=True, text=True, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def cpu(policy: dict, requests: list[dict], workdir: Path) -> tuple[float, str]:
    path = workdir / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    lines = "".join(json.dumps(r) + "\n" for r in requests)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([str(gobuild.vap_eval()), str(path)], input=lines, capture_output=True, text=True, timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    verdicts = sorted({line.split(" ", 1)[0] for line in proc.stdout.splitlines()})
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, "/".join(verdicts) or proc.stderr[-200:]


def request(obj: dict, user: str, groups: list[str] | None = None) -> dict:
    return {"id": f"{obj['kind']}-{obj['metadata']['name']}-{obj['metadata'].get('namespace')}", "operation": "CREATE", "resource": obj["kind"].lower() + "s", "object": obj,
            "oldObject": None, "namespaceObject": None, "user": user, "namespace": obj["metadata"].get("namespace", NS),
            **({"groups": groups} if groups else {})}


def report(label: str, docs: list[dict], workdir: Path) -> None:
    policies = {d["metadata"]["name"].split(".cv-cogniverse-", 1)[1]: d for d in docs if d["kind"] == "ValidatingAdmissionPolicy"}
    own = [request({**d, "metadata": {**d["metadata"], "namespace": NS}}, "kubernetes-admin", ["system:masters"])
           for d in docs if d["kind"] in ("WorkflowTemplate", "CronWorkflow")]
    big = [request(hostile("team-b"), "system:serviceaccount:team-b:bob"), request(hostile(NS), f"system:serviceaccount:{NS}:alice")]
    print(f"{label}: {len(own)} chart objects; hostile {len(json.dumps(big[0]['object'])) // 1024} kB")
    for name in POLICIES:
        if name not in policies:
            print(f"  {name:20s} (not in this render)")
            continue
        own_s, own_v = cpu(policies[name], own, workdir)
        big_s, big_v = cpu(policies[name], big, workdir)
        base_s, _ = cpu(policies[name], [], workdir)
        print(f"  {name:20s} start (compile) {base_s:5.2f} s CPU; beyond it: chart's own {own_s - base_s:5.2f} s ({own_v}),"
              f" hostile {big_s - base_s:5.2f} s ({big_v})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", help="also measure the chart at this git ref (e.g. main)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.ref:
            old = work / "old"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), args.ref], check=True, capture_output=True)
            try:
                report(f"chart at {args.ref}", render(old / "charts" / "cogniverse"), work)
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=True, capture_output=True)
        report("chart in this tree", render(ROOT / "charts" / "cogniverse"), work)


if __name__ == "__main__":
    main()
