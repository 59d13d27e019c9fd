"""Seeds, mutants and the comparison: every mutant goes through Argo's validator (oracle.py) and through
lint's argo/ rules, and the Table tallies where they agree."""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

import yaml

from cogniverse_chart import REPO_ROOT
from cogniverse_chart.chart import render_profiles
from cogniverse_chart.documents import Document
from cogniverse_chart.findings import Severity
from cogniverse_chart.lint import RULES, lint

from ..oracle import validate_cases
from .walk import OPERATORS, Obj

SEEDS = REPO_ROOT / "tests" / "fixtures" / "lint" / "_differential" / "seeds.yaml"


@dataclass
class Mutant:
    id: str  # "<seed>/<operator>/<n>"
    seed: str
    operator: str
    what: str  # the change, for reports
    objects: list[Obj]


def load_seeds(with_chart: bool = True) -> dict[str, list[Obj]]:
    """case name -> stream. The chart contributes one case per rendered Argo object."""
    cases: dict[str, list[Obj]] = {}
    name = ""
    chunks: dict[str, list[str]] = {}
    for line in SEEDS.read_text(encoding="utf-8").splitlines(keepends=True):
        m = re.match(r"# case: (\S+)", line)
        if m:
            name = m.group(1)
            chunks[name] = []
        elif name:
            chunks[name].append(line)
    for n, lines in chunks.items():
        cases[n] = [d for d in yaml.safe_load_all("".join(lines)) if d]
    if with_chart:

        docs = [d for d in render_profiles(["k3s"])["k3s"] if d.kind in ("WorkflowTemplate", "CronWorkflow")]
        library = [d.obj for d in docs if d.kind == "WorkflowTemplate"]
        for d in docs:  # the mutated object first, then the chart's WorkflowTemplates its templateRefs name
            cases[f"chart-{d.name}"] = [d.obj] + [o for o in library if o is not d.obj]
    return cases


def mutants(seeds: dict[str, list[Obj]] | None = None) -> list[Mutant]:
    """Every mutant of every seed, in a stable order (ids are stable across runs)."""
    seeds = load_seeds() if seeds is None else seeds
    out: list[Mutant] = []
    for seed, objs in seeds.items():
        for i in range(1 if seed.startswith("chart-") else len(objs)):
            for op_name, op in OPERATORS.items():
                for n, (what, new) in enumerate(op(objs, i)):
                    out.append(Mutant(f"{seed}/{i}/{op_name}/{n}", seed, op_name, what, new))
    return out


def sample(muts: list[Mutant], k: int, seed: int = 20261201) -> list[Mutant]:
    """A fixed-seed sample that keeps every operator represented."""
    if k >= len(muts):
        return list(muts)
    rng = random.Random(seed)
    by_op: dict[str, list[Mutant]] = {}
    for m in muts:
        by_op.setdefault(m.operator, []).append(m)
    per = max(1, k // len(by_op))
    return [m for ms in by_op.values() for m in rng.sample(ms, min(per, len(ms)))]


def beyond_argo_rules() -> set[str]:
    return {r.id for r in RULES.values() if r.beyond_argo}


def lint_errors(objects: list[Obj], argo_version: str) -> list[Any]:
    docs = [Document(o, f"mutant#{j}") for j, o in enumerate(objects)]
    off = [r for r in RULES if not r.startswith("argo/")]
    return [f for f in lint(docs, disable=off, argo_version=argo_version) if f.severity is Severity.ERROR]


@dataclass
class Outcome:
    mutant: Mutant
    argo_error: str  # "" when Argo accepts
    lint_rules: list[str]
    lint_messages: list[str]


@dataclass
class Table:
    argo_version: str
    outcomes: list[Outcome] = field(default_factory=list)
    argo_seconds: float = 0.0
    lint_seconds: float = 0.0

    def cell(self, argo_rejects: bool, lint_rejects: bool) -> list[Outcome]:
        return [o for o in self.outcomes if bool(o.argo_error) == argo_rejects and bool(o.lint_rules) == lint_rejects]

    @property
    def missed(self) -> list[Outcome]:
        """Argo rejects, lint accepts: must be empty."""
        return self.cell(True, False)

    @property
    def unexplained(self) -> list[Outcome]:
        """Lint rejects, Argo accepts, and no beyond-Argo rule fired: must be empty."""
        beyond = beyond_argo_rules()
        return [o for o in self.cell(False, True) if not set(o.lint_rules) & beyond]

    def format(self) -> str:
        rows = [("", "lint rejects", "lint accepts"),
                ("Argo rejects", len(self.cell(True, True)), len(self.cell(True, False))),
                ("Argo accepts", len(self.cell(False, True)), len(self.cell(False, False)))]
        out = [f"Argo {self.argo_version}: {len(self.outcomes)} mutants "
               f"(Argo {self.argo_seconds:.1f}s, lint {self.lint_seconds:.1f}s)"]
        out += [f"  {a:<14}{b!s:>14}{c!s:>14}" for a, b, c in rows]
        ops: dict[str, list[int]] = {}
        for o in self.outcomes:
            row = ops.setdefault(o.mutant.operator, [0, 0, 0, 0])
            row[(0 if o.argo_error else 2) + (0 if o.lint_rules else 1)] += 1
        out.append(f"  {'operator':<18}{'both':>6}{'argo-only':>10}{'lint-only':>10}{'neither':>8}")
        for op, (both, argo_only, lint_only, neither) in sorted(ops.items()):
            out.append(f"  {op:<18}{both:>6}{argo_only:>10}{lint_only:>10}{neither:>8}")
        return "\n".join(out)


def compare(argo_version: str, muts: list[Mutant]) -> Table:
    table = Table(argo_version)
    t0 = time.perf_counter()
    argo = validate_cases(argo_version, {m.id: m.objects for m in muts},
                          {m.id: [0] for m in muts if m.seed.startswith("chart-")})
    table.argo_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    for m in muts:
        errs = lint_errors(m.objects, argo_version)
        first = next((e for _, _, e in argo[m.id] if e), "")
        table.outcomes.append(Outcome(m, first, sorted({f.rule for f in errs}), [f.format() for f in errs]))
    table.lint_seconds = time.perf_counter() - t0
    return table
