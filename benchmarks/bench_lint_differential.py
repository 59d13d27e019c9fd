"""Lint against Argo's own validator on every mutant (prints the agreement table and timings).

    .venv/bin/python benchmarks/bench_lint_differential.py [--versions 3.7,4.0] [--limit N]

Builds (or finds cached) Argo's validator for each version, generates every mutant of the seed
workflows (cogniverse_dev.differential), runs them through Argo (one process per version)
and through lint's argo/ rules, and prints per version: the 2x2 agreement table, the per-operator
split, the wall time of each side, and the lint time of the chart's own profiles. Exit 1 when a
mutant Argo rejects passes lint, or lint rejects one Argo accepts by a rule not listed as beyond Argo.
"""

from __future__ import annotations

import argparse
import os
import time

from cogniverse_chart.chart import render_profiles
from cogniverse_dev import differential as D
from cogniverse_chart.lint import lint


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--versions", default="3.7,4.0")
    ap.add_argument("--limit", type=int, default=0, help="a fixed-seed sample of this size (0: every mutant)")
    args = ap.parse_args()
    rendered = render_profiles()
    t = time.perf_counter()
    objects = 0
    for docs in rendered.values():
        lint(docs)
        objects += len(docs)
    chart_s = time.perf_counter() - t
    print(f"lint of the chart: {len(rendered)} profiles, {objects} objects, {chart_s:.2f}s "
          f"(cpus: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f})")
    t = time.perf_counter()
    muts = D.mutants()
    if args.limit:
        muts = D.sample(muts, args.limit)
    print(f"{len(muts)} mutants generated in {time.perf_counter() - t:.1f}s")
    bad = 0
    if not args.limit and len(muts) < 2000:
        print(f"  TOO FEW: the full set must hold >= 2,000 mutants, has {len(muts)}")
        bad += 1
    for version in args.versions.split(","):
        table = D.compare(version, muts)
        print(table.format())
        print(f"  lint per mutant: {1000 * table.lint_seconds / len(muts):.1f} ms; "
              f"Argo per mutant: {1000 * table.argo_seconds / len(muts):.1f} ms")
        for o in table.missed:
            bad += 1
            print(f"  MISSED {o.mutant.id} ({o.mutant.what}): Argo: {o.argo_error}")
        for o in table.unexplained:
            bad += 1
            print(f"  UNEXPLAINED {o.mutant.id} ({o.mutant.what}): {o.lint_messages[0]}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
