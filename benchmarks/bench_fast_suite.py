"""Wall and CPU time of the fast suite, in one process and spread over the cores (prints figures; never
fails on time).

    .venv/bin/python benchmarks/bench_fast_suite.py [--workers 0,auto] [--repeat 1]

Runs `pytest -m 'not smoke' -q -p no:cacheprovider --durations=10` as a fresh process per setting
(COGNIVERSE_TEST_WORKERS=0: one process; auto: tests/lib/suite.py's choice) and prints, per run, the wall
time, the CPU time of pytest and everything it started (helm, go, shellcheck), the load average before
and after (the machine may be shared: compare runs taken at similar load), and the ten slowest tests.
The targets (issue 12): under 60 s warm on a 2-core machine, under 150 s cold.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(workers: str) -> tuple[float, float, str]:
    env = {**os.environ}
    if workers == "auto":
        env.pop("COGNIVERSE_TEST_WORKERS", None)
    else:
        env["COGNIVERSE_TEST_WORKERS"] = workers
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-m", "not smoke", "-q", "-p", "no:cacheprovider",
                           "--durations=10"], cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-2000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"the fast suite failed (exit {proc.returncode}) with workers={workers}")
    lines = proc.stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if "slowest" in line), len(lines))
    return wall, cpu, "\n".join(lines[start:start + 12])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", default="0,auto", help="comma-separated: 0 (one process), N, auto")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    print(f"{'workers':<8} {'wall s':>8} {'cpu s':>8}  load before -> after (1 min)")
    slowest = ""
    for _ in range(args.repeat):
        for w in args.workers.split(","):
            load = os.getloadavg()[0]
            wall, cpu, slowest = run(w.strip())
            print(f"{w:<8} {wall:>8.1f} {cpu:>8.1f}  {load:.1f} -> {os.getloadavg()[0]:.1f}", flush=True)
    print(slowest)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
