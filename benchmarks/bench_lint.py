"""Lint on large streams: time and peak memory of `lint`, `validate` and Argo's own validator (prints
figures; never fails on time).

    .venv/bin/python benchmarks/bench_lint.py [--mb 50 200] [--argo-version 3.7] [--keep DIR]

The stream: copies of everything the chart renders for its k3s profile (Deployments, Services, RBAC,
ConfigMaps, WorkflowTemplates, CronWorkflows ...), each copy moved to a namespace of its own (`bench-N`:
objects, service URLs, RBAC subjects), so references resolve as in a real release, until the stream
reaches the size asked for. For each size:
  lint      `cogniverse-chart lint FILE` (document by document; wall time, CPU time, peak RSS)
  validate  `cogniverse-chart validate FILE` (strict schemas) on the same file
  read      the manifest reader alone (split + YAML parse of every document, nothing checked): the floor
            under both lint and validate, which read the stream with it
  argo      tools/argo-validate (Argo's `workflow/validate`, the lint oracle) on the same objects, one
            case per copy, fed as JSON lines (the conversion to JSON is not timed)
Peak RSS is each process's own (wait4 rusage), measured through a small helper process so that the
benchmark's memory is not counted. CPU seconds (user + system) are the fair comparison on a shared
machine (the `load` column: the machine's 1-minute load average after each run); the `x validate` column is each tool's
CPU time over validate's. Targets (issue 25): lint peaks
under 100 MB on 200 MB, and its time is within 2x validate's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from bench_validate import run_measured_cpu  # noqa: E402  (the shared wall/CPU-time, peak-RSS helper)

from cogniverse_chart.chart import render_profiles  # noqa: E402
from cogniverse_dev import oracle  # noqa: E402

CLI = [sys.executable, "-m", "cogniverse_chart.cli"]
ARGO_KINDS = ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")
#: The reader alone: what lint and validate both spend before checking anything.
READ_ONLY = ("import sys\nfrom cogniverse_chart.documents import no_cyclic_gc, read_paths\n"
             "with no_cyclic_gc():\n    n = sum(1 for _ in read_paths(sys.argv[1:]))\nprint(f'read: {n} objects')")


def copies(base: list[dict], namespace: str, target_bytes: int) -> tuple[list[str], int]:
    """YAML texts of the copies (one string per copy, each moved to namespace bench-N: its objects, service
    URLs and RBAC subjects) reaching target_bytes, and the object count."""
    text = yaml.safe_dump_all(base, sort_keys=False)
    texts, size = [], 0
    while size < target_bytes:
        ns = f"bench-{len(texts)}"
        texts.append(text.replace(f"namespace: {namespace}\n", f"namespace: {ns}\n")
                     .replace(f".{namespace}.svc", f".{ns}.svc"))
        size += len(texts[-1].encode())
    return texts, len(base) * len(texts)


def write_stream(path: Path, mb: int) -> int:
    docs = render_profiles(["k3s"])["k3s"]
    namespace = next(d.namespace for d in docs if d.namespace)
    texts, n = copies([d.obj for d in docs], namespace, mb * 2**20)
    with open(path, "w", encoding="utf-8") as f:
        for text in texts:
            f.write("---\n" + text)
    return n


def write_argo_input(stream: Path, out: Path) -> int:
    """JSON lines for argo-validate: one case per copy (namespace), validating its Argo objects."""
    from cogniverse_chart.documents import read_paths

    cases: dict[str, list[dict]] = {}
    for d in read_paths([str(stream)]):
        cases.setdefault(d.namespace, []).append(d.obj)
    with open(out, "w", encoding="utf-8") as f:
        for ns, objs in cases.items():
            only = [i for i, o in enumerate(objs) if o.get("kind") in ARGO_KINDS]
            f.write(json.dumps({"id": ns, "objects": objs, "validate": only}, ensure_ascii=False) + "\n")
    return sum(1 for objs in cases.values() for o in objs if o.get("kind") in ARGO_KINDS)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, nargs="+", default=[50, 200])
    ap.add_argument("--argo-version", default="3.7", choices=["3.7", "4.0"])
    ap.add_argument("--keep", type=Path, help="write the streams here and keep them")
    args = ap.parse_args()
    exe = oracle.build(args.argo_version.split(".")[0])
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-lint-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"{'stream':>8} {'objects':>8}  {'tool':<9} {'seconds':>8} {'cpu s':>7} {'x validate':>10} "
          f"{'peak MB':>8} {'load':>5}  result")
    for mb in args.mb:
        stream = work / f"chart-{mb}mb.yaml"
        n = write_stream(stream, mb)
        size = stream.stat().st_size / 2**20
        runs = {
            "validate": CLI + ["validate", "--argo-version", args.argo_version, str(stream)],
            "lint": CLI + ["lint", "--argo-version", args.argo_version, str(stream)],
            "read": [sys.executable, "-c", READ_ONLY, str(stream)],
        }
        base = 0.0
        for name, cmd in runs.items():
            wall, cpu, rss, done = run_measured_cpu(cmd)
            base = base or cpu
            tail = (done.stdout.strip().splitlines() or [f"exit {done.returncode}"])[-1]
            print(f"{size:7.0f}M {n:>8}  {name:<9} {wall:8.1f} {cpu:7.1f} {cpu / base:9.2f}x {rss:8d} "
                  f"{os.getloadavg()[0]:5.1f}  {tail[:80]}", flush=True)
        jsonl = work / f"chart-{mb}mb.jsonl"
        argo_objects = write_argo_input(stream, jsonl)
        wall, cpu, rss, done = run_measured_cpu(["sh", "-c", f"exec {exe} < {jsonl}"])
        rejected = sum(1 for line in done.stdout.splitlines() for r in json.loads(line)["results"] if r["error"])
        print(f"{size:7.0f}M {n:>8}  {'argo':<9} {wall:8.1f} {cpu:7.1f} {cpu / base:9.2f}x {rss:8d} "
              f"{os.getloadavg()[0]:5.1f}  {argo_objects} Argo objects, {rejected} rejected", flush=True)
        if not args.keep:
            stream.unlink()
            jsonl.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
