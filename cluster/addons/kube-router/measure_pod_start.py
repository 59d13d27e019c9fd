"""Pod start on the node, for the cost of kube-router's policy controller (docs/local-cluster.md, NetworkPolicy):
create N toolbox pods one after another in a fresh namespace and time each from create to Ready (client wall
clock, through a watch). Run it with the controller running and again with it stopped:
  KUBECONFIG=$(scripts/local_cluster.sh kubeconfig) .venv/bin/python cluster/addons/kube-router/measure_pod_start.py 10
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid

from kubernetes import client, config, watch


def main(argv: list[str]) -> int:
    if len(argv) > 1 or (argv and not argv[0].isdigit()) or (argv and not 1 <= int(argv[0]) <= 100):
        print("usage: measure_pod_start.py [N]   (N pods, 1 to 100; default 10)", file=sys.stderr)
        return 2
    n = int(argv[0]) if argv else 10
    try:
        config.load_kube_config()
    except (config.ConfigException, OSError) as exc:
        print(f"measure_pod_start.py: no usable kubeconfig ({exc}); set KUBECONFIG", file=sys.stderr)
        return 2
    v1 = client.CoreV1Api()
    ns = f"podstart-{uuid.uuid4().hex[:6]}"
    v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    while not v1.list_namespaced_service_account(ns, field_selector="metadata.name=default").items:
        time.sleep(0.2)  # pods are refused until the namespace's default account exists
    times = []
    try:
        for i in range(n):
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}"},
                   "spec": {"terminationGracePeriodSeconds": 0, "automountServiceAccountToken": False,
                            "containers": [{"name": "c", "image": "cogniverse/toolbox:1.0", "imagePullPolicy": "Never",
                                            "command": ["sleep", "600"],
                                            "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 1}}]}}
            w = watch.Watch()
            start = time.monotonic()
            v1.create_namespaced_pod(ns, pod)
            for ev in w.stream(v1.list_namespaced_pod, ns, field_selector=f"metadata.name=p{i}", timeout_seconds=120):
                if any(c.type == "Ready" and c.status == "True" for c in ev["object"].status.conditions or []):
                    times.append(time.monotonic() - start)
                    w.stop()
        print(f"{len(times)} pods, create->Ready: median {statistics.median(times):.2f}s, mean {statistics.mean(times):.2f}s, "
              f"min {min(times):.2f}s, max {max(times):.2f}s; load {open('/proc/loadavg').read().split()[0]}")
    finally:
        v1.delete_namespace(ns)
    return 0 if len(times) == n else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
