"""Wall time of a full chart check (prints figures; never fails on time).

    .venv/bin/python benchmarks/bench_check.py [--repeat 5]

Runs `cogniverse-chart --output json check` as a fresh process --repeat times: render every profile
in values/ with Helm (in parallel), validate every object against Kubernetes 1.30/1.35 and Argo
3.7/4.0, lint, and check values.schema.json and the generated docs are current. Prints the process
wall time (min / median / max, including Python start-up and imports) and the in-process split
reported by the command itself.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    cmd = [sys.executable, "-m", "cogniverse_chart.cli", "--output", "json", "check"]
    walls, reports = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        walls.append(time.perf_counter() - t)
        if proc.returncode == 2:
            print(proc.stderr.strip())
            return 2
        reports.append(json.loads(proc.stdout))
    last = reports[-1]
    objects = last["checked"]
    print(f"full check: {len(last['profiles'])} profiles ({', '.join(last['profiles'])}), {objects} objects; "
          f"cpus: {os.cpu_count()}; load average: {os.getloadavg()[0]:.1f}")
    print(f"result: {'ok' if last['ok'] else 'FAILED'} ({last['summary']['error']} errors, "
          f"{last['summary']['warning']} warnings)")
    print(f"process wall time: min {min(walls):.2f} s, median {statistics.median(walls):.2f} s, "
          f"max {max(walls):.2f} s over {len(walls)} runs")
    for key, label in (("render_s", "render (helm template, all profiles)"), ("validate_lint_s", "validate + lint"),
                       ("total_s", "in-process total")):
        vals = [r["timing"][key] for r in reports]
        print(f"  {label:<38} median {statistics.median(vals):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
