"""Differential testing of lint against Argo's own validator.

Valid seed workflows (the chart's rendered WorkflowTemplates and CronWorkflows, plus a varied set in
tests/fixtures/lint/_differential/seeds.yaml) are mutated the way people break workflows: renamed or
removed references, wrong enum case, durations without units, names Argo forbids, duplicates, mixed DAG
fields, missing values, misplaced fields. Each mutant goes through Argo's validator (oracle.py) and
through lint's argo/ rules; `compare` tallies the agreement.

    seeds = load_seeds()
    muts = mutants(seeds)                          # every mutant, in a stable order
    table = compare("4.0", sample(muts, 200, seed=7))

- walk.py        walking the objects; the operator registry
- references.py  fields.py  placement.py   the operators, registered in this order
- compare.py     seeds, mutants, samples, and the comparison with Argo's validator
"""

from . import references, fields, placement  # noqa: F401  the operators, in their order
from .compare import SEEDS, Mutant, Outcome, Table, beyond_argo_rules, compare, lint_errors, load_seeds, mutants, sample
from .walk import OPERATORS, Obj, operator

__all__ = ["OPERATORS", "SEEDS", "Mutant", "Obj", "Outcome", "Table", "beyond_argo_rules", "compare", "lint_errors",
           "load_seeds", "mutants", "operator", "sample"]
