"""Time to render and strictly validate every profile with each Helm (prints figures; never fails on time).

    .venv/bin/python benchmarks/bench_render.py [--repeat N]

For each Helm major and profile: the median wall time of `helm template` (render + parse into
documents) over N runs, then of strict validation against Kubernetes 1.30/1.35 and Argo 3.7/4.0
with one Validator reused across runs (its first use, which compiles the schemas, is reported apart).
Also prints the memory requests per profile (Deployments/StatefulSets x replicas).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from kubernetes.utils import parse_quantity

from cogniverse_chart.helm import available_helms
from cogniverse_chart.render import RenderRequest, profiles, render

GIB = 1024**3


def memory_requests(docs) -> int:
    hpa_min = {d.obj["spec"]["scaleTargetRef"]["name"]: d.obj["spec"]["minReplicas"]
               for d in docs if d.kind == "HorizontalPodAutoscaler"}
    total = 0
    for d in docs:
        if d.kind not in ("Deployment", "StatefulSet"):
            continue
        spec = d.obj["spec"]["template"]["spec"]
        per_pod = sum(parse_quantity(c.get("resources", {}).get("requests", {}).get("memory", 0)) for c in spec["containers"])
        total += int(per_pod) * hpa_min.get(d.name, d.obj["spec"].get("replicas", 1))
    return total


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="runs per measurement (median reported)")
    args = ap.parse_args(argv)

    try:
        from cogniverse_chart.validate import Validator
    except ImportError:  # the validator lands separately; render times are still useful
        Validator = None  # type: ignore[assignment]

    helms = available_helms()
    if not helms:
        print("no helm found: run scripts/bootstrap.sh", file=sys.stderr)
        return 2
    found = profiles()
    validator = None
    if Validator is not None:
        t0 = time.perf_counter()
        validator = Validator(kube_versions=("1.30", "1.35"), argo_versions=("3.7", "4.0"))
        first = render(RenderRequest(values_files=[found["k3s"]]), helms[0])
        validator.validate(first)
        print(f"validator first use (build + compile schemas, k3s docs): {time.perf_counter() - t0:.3f} s")

    print(f"{'helm':<14} {'profile':<12} {'docs':>5} {'render s':>9} {'validate s':>11} {'mem requests':>13}")
    total_render = total_validate = 0.0
    for helm in helms:
        for name, path in found.items():
            req = RenderRequest(values_files=[Path(path)])
            t_render, docs = timed(lambda: render(req, helm), args.repeat)
            t_validate = 0.0
            if validator is not None:
                t_validate, findings = timed(lambda: validator.validate(docs), args.repeat)
                if findings:
                    print(f"  {name}: {len(findings)} validation findings (run tests/chart/test_profiles.py)")
            total_render += t_render
            total_validate += t_validate
            mem = memory_requests(docs) / GIB
            print(f"{helm.label:<14} {name:<12} {len(docs):>5} {t_render:>9.3f} "
                  f"{(f'{t_validate:.3f}' if validator else 'n/a'):>11} {mem:>9.2f} GiB")
    print(f"all profiles, all helms: render {total_render:.3f} s, validate {total_validate:.3f} s "
          f"(medians of {args.repeat} runs, summed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
