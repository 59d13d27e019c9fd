"""Seconds to package+sign, verify, log in, push and pull --verify the chart, per Helm, against the
loopback OCI registry of the tests (prints figures; never fails on time).

    .venv/bin/python benchmarks/bench_package.py [--repeat 3]

Builds (or reuses from ~/.cache/cogniverse-registry) the Distribution registry, starts it with TLS and
htpasswd auth on 127.0.0.1, and runs cogniverse_chart.package's steps --repeat times per Helm. Helm 3.18.0
cannot pull charts that carry a provenance layer (upstream helm/helm#30890): its pull is reported as such.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "lib"))

import registrylib  # noqa: E402

from cogniverse_chart import package as pkg  # noqa: E402
from cogniverse_chart.errors import ToolkitError  # noqa: E402
from cogniverse_chart.helm import available_helms  # noqa: E402
from cogniverse_chart.release import chart_version  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    binary, seconds, cached = registrylib.build_registry()
    print(f"registry {registrylib.pinned_version()}: {'cached (warm)' if cached else f'built in {seconds:.1f}s'}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-package-"))
    key = registrylib.make_gpg_key(tmp)
    with registrylib.LocalRegistry(binary, tmp / "registry") as reg:
        for helm in available_helms():
            times: dict[str, list[float]] = {}
            for n in range(args.repeat):
                r = pkg.Registry(reg.url, reg.username, reg.password, reg.ca_file, tmp / f"cfg-{helm.major}-{n}.json")
                res = pkg.run_pipeline(helm, tmp / f"out-{helm.major}-{n}", signing=pkg.Signing(key.name, key.secring),
                                       verify_keyring=key.pubring, registry=r)
                for k, v in res.seconds.items():
                    times.setdefault(k, []).append(v)
                pkg.login(helm, r)  # the push logged in for itself only (no credentials left on disk)
                t0 = time.perf_counter()
                try:
                    pkg.pull(helm, f"{reg.url}/cogniverse", chart_version(), tmp / f"pull-{helm.major}-{n}",
                             registry=r, keyring=key.pubring)
                    times.setdefault("pull --verify", []).append(time.perf_counter() - t0)
                except ToolkitError as exc:
                    times["pull --verify"] = []
                    print(f"{helm.label}: pull failed: {str(exc)[:160]}")
            cells = ", ".join(f"{k} {statistics.median(v):.2f}s" if v else f"{k} n/a" for k, v in times.items())
            print(f"{helm.label} (median of {args.repeat}): {cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
