"""Rules that mirror the checks of Argo's own `workflow/validate` package (3.7 and 4.0), so nothing that
Argo rejects at submit passes lint. Each message names the object, the JSON path and the fix; where
Argo 3.x and 4.0 differ the message says which version the finding is about.

tests/lint/test_lint_differential.py proves the parity: mutants of valid workflows go through Argo's
validator and through lint, and every mutant Argo rejects must be rejected by lint.

- names.py      enum values, name formats and lengths, names declared twice
- templates.py  one template: its type, its fields, a leaf template's contents, outputs, arguments
- flow.py       loops, hooks, template references, DAG structure, metrics
- scalars.py    CronWorkflow fields, integer fields, durations, loop item fields
"""

# Importing the modules registers their rules, in this order (`lint --list-rules`).
from . import names, templates, flow, scalars  # noqa: E402,F401
