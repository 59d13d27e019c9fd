"""`python -m cogniverse_dev`: build every Go helper the tests run (Argo's validator for each pinned Argo
version, with Argo's examples/ as a lint corpus; kube-apiserver's admission code; the OCI registry; Argo's
template substitution; the smoke runner), each cached by version and source hash."""

from __future__ import annotations

import sys

from cogniverse_chart.errors import ToolkitError

from . import examples, oracle
from .gobuild import argo_subst, kube_yaml, registry, vap_eval, warm_smoke_runner


def main() -> int:
    try:
        for major in oracle.PROGRAMS:
            print(oracle.build(major))
            print(examples.fetch(major))  # Argo's examples/ (a lint test corpus), extracted once per version
        print(vap_eval())
        print(kube_yaml())
        print(registry())
        print(argo_subst())
        print(warm_smoke_runner())
    except ToolkitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
