#!/usr/bin/env bash
# The chart check (CI job): render every profile in values/ with Helm 3 and Helm 4, validate every
# object against strict Kubernetes 1.30/1.35 and Argo 3.6/3.7/4.0 schemas, lint (Argo semantics and
# policy), and check the generated files (values.schema.json, README values table, diagrams).
# Sets up what it needs first (scripts/bootstrap.sh). Arguments go to `cogniverse-chart check`
# (see --help); exit 0 clean, 1 on any error finding, 2 on bad input.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/bootstrap.sh" >&2
export PATH="$ROOT/.tools/bin:$ROOT/.venv/bin:$PATH"
exec "$ROOT/.venv/bin/cogniverse-chart" check "$@"
