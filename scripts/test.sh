#!/usr/bin/env bash
# Run every test. Sets up everything first (venv, packages, pinned helm 3 and 4) via bootstrap.sh.
# Arguments are passed to pytest (e.g. scripts/test.sh -m smoke, scripts/test.sh -k schema).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/bootstrap.sh"
export PATH="$ROOT/.tools/bin:$ROOT/.venv/bin:$PATH"
cd "$ROOT"
set +e
"$ROOT/.venv/bin/python" -m pytest "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
  # pytest exit 5 = no tests collected: treat as a failure, a test run that ran nothing proves nothing.
  echo "test.sh: pytest collected no tests (exit 5); failing on purpose" >&2
  exit 1
fi
exit $rc
