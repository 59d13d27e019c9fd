"""Validation throughput on a large manifest stream (prints figures; never fails on time).

    .venv/bin/python benchmarks/bench_validate.py [--objects 10000] [--repeat 3] [--stream chart|kubernetes|both]

Two streams, each at least --objects objects, built from every profile of the chart rendered once
and repeated with distinct names:
  chart       everything the chart renders, in its real proportions: Deployments, Services, RBAC,
              ... and the WorkflowTemplates / CronWorkflows, which are large (8-17 kB of YAML each)
  kubernetes  only the plain Kubernetes objects (no Argo), closer to a typical manifest stream
Figures, median of --repeat runs:
  parse      YAML stream -> documents (libyaml + the toolkit's loader)
  validate   strict schemas, Kubernetes 1.30 + 1.35 and Argo 3.7 + 4.0, one warm Validator
  end-to-end parse + validate, and the `cogniverse-chart validate FILE` process wall time
  reference  jsonschema alone on a sample (what the compiled fast path saves)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from cogniverse_chart.chart import render_profiles
from cogniverse_chart.documents import parse_stream
from cogniverse_chart.validate import Validator


def build_stream(min_objects: int, kind: str = "chart") -> tuple[str, int]:
    base = [d.obj for docs in render_profiles().values() for d in docs]
    if kind == "kubernetes":
        base = [o for o in base if not str(o.get("apiVersion", "")).startswith("argoproj.io/")]
    chunks, n, copy = [], 0, 0
    while n < min_objects:
        for obj in base:
            o = dict(obj, metadata=dict(obj.get("metadata") or {}, name=f"{(obj.get('metadata') or {}).get('name', 'x')}-{copy}"))
            chunks.append(yaml.safe_dump(o, sort_keys=False))
            n += 1
        copy += 1
    return "---\n".join(chunks), n


def median_time(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--stream", choices=["chart", "kubernetes", "both"], default="both")
    args = ap.parse_args()
    for kind in (["chart", "kubernetes"] if args.stream == "both" else [args.stream]):
        bench(kind, args.objects, args.repeat)
    return 0


def bench(kind: str, objects: int, repeat: int) -> None:
    text, n = build_stream(objects, kind)
    mb = len(text) / 1e6
    print(f"\n== stream '{kind}': {n} objects, {mb:.1f} MB of YAML ({len(text) / n / 1000:.1f} kB/object); "
          f"cpus: {os.cpu_count()}; load average: {os.getloadavg()[0]:.1f}")

    t_parse, docs = median_time(lambda: parse_stream(text, "bench.yaml"), repeat)
    print(f"parse:      {t_parse:6.2f} s  {n / t_parse:8.0f} objects/s  ({mb / t_parse:.1f} MB/s)")

    v = Validator()
    t0 = time.perf_counter()
    first = v.validate(docs)
    t_cold = time.perf_counter() - t0
    t_val, findings = median_time(lambda: v.validate(docs), repeat)
    assert not first and not findings, f"the chart stream should be valid: {findings[:3]}"
    print(f"validate:   {t_val:6.2f} s  {n / t_val:8.0f} objects/s  (first run, compiling schemas: {t_cold:.2f} s)")
    print(f"end-to-end: {t_parse + t_val:6.2f} s  {n / (t_parse + t_val):8.0f} objects/s  (parse + validate, in process)")

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    try:
        cli = [sys.executable, "-m", "cogniverse_chart.cli", "validate", f.name]
        t_cli, proc = median_time(lambda: subprocess.run(cli, capture_output=True, text=True), repeat)
        assert proc.returncode == 0, proc.stdout[-500:] + proc.stderr[-500:]
        print(f"cli:        {t_cli:6.2f} s  {n / t_cli:8.0f} objects/s  (`cogniverse-chart validate FILE`, whole process)")
    finally:
        Path(f.name).unlink()

    sample = docs[: min(500, n)]

    def reference() -> int:
        bad = 0
        for d in sample:
            for b in (v.argo if d.api_version.startswith("argoproj.io/") else v.k8s):
                t = b.target(f"{d.api_version}/{d.kind}")
                if t is not None and not t.reference.is_valid(d.obj):
                    bad += 1
        return bad

    t_ref, _ = median_time(reference, 1)
    print(f"reference:  {t_ref:6.2f} s  {len(sample) / t_ref:8.0f} objects/s  (jsonschema alone, first {len(sample)} objects)")


if __name__ == "__main__":
    sys.exit(main())
