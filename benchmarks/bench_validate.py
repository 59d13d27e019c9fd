"""Validation speed and memory, side by side with kubeconform (prints figures; never fails on time).

    .venv/bin/python benchmarks/bench_validate.py [--objects 10000] [--repeat 3]
        [--stream configmaps|core|chart|all] [--big-mb 200] [--no-kubeconform] [--one-core]

Streams (each at least --objects objects, distinct names):
  configmaps  small ConfigMaps
  core        the plain Kubernetes objects the chart renders (Deployments, Services, RBAC, ...)
  chart       everything the chart renders for every profile, in its real proportions, including the
              WorkflowTemplates / CronWorkflows (8-17 kB of YAML each)
For each stream, with one Kubernetes and one Argo version (KUBERNETES_VERSION's minor, Argo 4.0):
  ours        `cogniverse-chart validate FILE`: process wall time (median of --repeat), its CPU seconds (user +
              system, median, its forked child's included), peak RSS (of the larger of the two processes: a
              stream of 1 MB or more is checked in two halves on two cores, see cogniverse_chart.perf.parallel),
              and the run memory: the peak of the whole process tree's memory (one sampled run, _TREE_MEMORY)
  one core    with --one-core, the same with COGNIVERSE_CHART_JOBS=1 (one process, as before the split)
  kubeconform `kubeconform -strict` on the same file against the same strict schemas (the bundles
              exported to kubeconform's file layout); built from its Go module at KUBECONFORM_VERSION
              (versions.env) into .tools/bin on first use (`go install`, cached)
  ratio       kubeconform wall time / ours (>1: we are faster), the same in CPU seconds, our run memory /
              kubeconform's (<=1: we use no more), and the same for the peak RSS of one process
The machine's load average is printed before and after each tool: wall times on a shared machine count the
time other work took the CPU (kubeconform's goroutines use every core; we use one), CPU seconds do not.
Then the bounded-memory check: a --big-mb MB stream of ConfigMaps through `cogniverse-chart validate`,
printing its peak RSS (the stream is never held whole in memory).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from cogniverse_chart import REPO_ROOT, schemas, versions
from cogniverse_chart.chart import render_profiles

TOOLS_BIN = REPO_ROOT / ".tools" / "bin"
KUBE_MINOR = "%d.%d" % versions.kube_newest_minor()
ARGO_MINOR = "4.0"
OURS = [sys.executable, "-m", "cogniverse_chart.cli", "validate", "--kube-version", KUBE_MINOR,
        "--argo-version", ARGO_MINOR]


def configmap(i: int) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"settings-{i}", "namespace": "bench", "labels": {"app": "bench", "shard": str(i % 7)}},
            "data": {"LOG_LEVEL": "info", "WORKERS": str(i % 16), "ENDPOINT": f"http://svc-{i}.bench:8080/api"}}


def build_stream(min_objects: int, kind: str) -> tuple[str, int]:
    if kind == "configmaps":
        return "---\n".join(yaml.safe_dump(configmap(i), sort_keys=False) for i in range(min_objects)), min_objects
    base = [d.obj for docs in render_profiles().values() for d in docs]
    if kind == "core":
        base = [o for o in base if not str(o.get("apiVersion", "")).startswith("argoproj.io/")]
    dumped = []
    for obj in base:
        dumped.append((yaml.safe_dump(obj, sort_keys=False), (obj.get("metadata") or {}).get("name", "x")))
    chunks, n, copy = [], 0, 0
    while n < min_objects:
        for text, name in dumped:  # same object, distinct name: `name: x` is the first metadata.name line
            chunks.append(text.replace(f"\n  name: {name}\n", f"\n  name: {name}-{copy}\n", 1))
            n += 1
        copy += 1
    return "---\n".join(chunks), n


#: Runs one command and prints "wall_seconds peak_rss_kb exit_code cpu_seconds". A small helper process starts the
#: command, so the command is forked from a ~10 MB interpreter, not from this benchmark (which holds the
#: streams): Linux counts a child's pre-exec memory in its peak RSS.
_HELPER = """
import json, os, subprocess, sys, time
cmd, out, err = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(out, "wb") as o, open(err, "wb") as e:
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=o, stderr=e)
    _, status, usage = os.wait4(p.pid, 0)
    print(time.perf_counter() - t, usage.ru_maxrss, os.waitstatus_to_exitcode(status),
          usage.ru_utime + usage.ru_stime)
"""

#: The whole run's memory, sampled: the command's process tree (a validate of 1 MB or more forks a child, see
#: cogniverse_chart.perf.parallel) read from /proc/PID/smaps_rollup every 2 ms, and the largest
#:     sum over the tree of Pss_Anon  +  the largest file-backed RSS (Rss - Anonymous) of one process in it
#: Why this figure: anonymous pages (heap, stacks) are what a run allocates; a page a forked child still shares
#: copy-on-write with its parent is split between them by PSS, so the sum counts it once. File-backed pages
#: (the interpreter and its libraries, kubeconform's binary) are counted whole, never divided among other
#: processes of the machine that map the same library (plain PSS would make a Python tool look smaller on a
#: machine where other Python processes run), and once for the tree (parent and child map the same files).
#: The same rule for both tools. A cgroup's max_usage_in_bytes would also charge the page cache of the stream
#: read (80 MB for the big streams) to whichever tool read the file first. Sampling costs CPU, so this runs
#: once per tool, apart from the timed runs.
_TREE_MEMORY = """
import json, os, subprocess, sys, time
def tree(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out
def rollup(pid):
    fields = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                k, _, v = line.partition(":")
                if v.strip().endswith("kB"):
                    fields[k] = int(v.split()[0])
    except OSError:
        pass
    return fields
cmd, out = json.loads(sys.argv[1]), sys.argv[2]
with open(out, "wb") as o:
    p = subprocess.Popen(cmd, stdout=o, stderr=subprocess.DEVNULL)
    peak = peak_anon = peak_file = procs = 0
    while p.poll() is None:
        rolls = [r for r in map(rollup, tree(p.pid)) if r]
        anon = sum(r.get("Pss_Anon", 0) for r in rolls)
        file = max((r.get("Rss", 0) - r.get("Anonymous", 0) for r in rolls), default=0)
        if anon + file > peak:
            peak, peak_anon, peak_file = anon + file, anon, file
        procs = max(procs, len(rolls))
        time.sleep(0.002)
print(peak, peak_anon, peak_file, procs, p.returncode)
"""


def run_tree_memory(cmd: list[str]) -> tuple[int, int, int, int]:
    """(run memory MB, of it anonymous MB, file-backed MB, most processes seen at once) of one run of `cmd`
    (see _TREE_MEMORY)."""
    with tempfile.TemporaryDirectory() as d:
        helper = subprocess.run([sys.executable, "-c", _TREE_MEMORY, json.dumps(cmd), str(Path(d) / "out")],
                                capture_output=True, text=True, check=True)
        peak, anon, file, procs, code = (int(x) for x in helper.stdout.split())
    assert code == 0, f"{cmd[0]} exited {code} under the memory sampler"
    return peak // 1024, anon // 1024, file // 1024, procs


def run_measured_cpu(cmd: list[str]) -> tuple[float, float, int, subprocess.CompletedProcess]:
    """(wall seconds, CPU seconds (user + system), peak RSS in MB, result) of one process. On a shared
    machine CPU seconds compare two tools fairly; wall time also counts the time other work took the CPU."""
    with tempfile.TemporaryDirectory() as d:
        out, err = Path(d) / "out", Path(d) / "err"
        helper = subprocess.run([sys.executable, "-c", _HELPER, json.dumps(cmd), str(out), str(err)],
                                capture_output=True, text=True, check=True)
        wall, rss_kb, code, cpu = helper.stdout.split()
        done = subprocess.CompletedProcess(cmd, int(code), out.read_text(errors="replace"),
                                           err.read_text(errors="replace"))
    return float(wall), float(cpu), int(rss_kb) // 1024, done


def median_run(cmd: list[str], repeat: int) -> tuple[float, float, int, subprocess.CompletedProcess]:
    """(median wall seconds, median CPU seconds, peak RSS in MB, last result) of --repeat runs."""
    runs = [run_measured_cpu(cmd) for _ in range(repeat)]
    return (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), max(r[2] for r in runs),
            runs[-1][3])


def _memory(m: tuple[int, int, int, int]) -> str:
    return f"{m[0]:4d} MB (anon {m[1]} + file {m[2]}, {m[3]} process{'es' if m[3] > 1 else ''})"


def _load() -> str:
    return "load %.1f %.1f %.1f" % os.getloadavg()


def kubeconform_binary() -> Path | None:
    """.tools/bin/kubeconform at KUBECONFORM_VERSION, built with `go install` when missing."""
    version = versions.get("KUBECONFORM_VERSION")
    binary = TOOLS_BIN / "kubeconform"
    stamp = TOOLS_BIN / "kubeconform.version"
    if binary.exists() and stamp.exists() and stamp.read_text().strip() == version:
        return binary
    if shutil.which("go") is None:
        print("kubeconform: `go` not found; skipping the comparison")
        return None
    TOOLS_BIN.mkdir(parents=True, exist_ok=True)
    print(f"building kubeconform {version} from its Go module (cached by Go after the first build) ...", flush=True)
    proc = subprocess.run(["nice", "-n", "10", "go", "install", f"github.com/yannh/kubeconform/cmd/kubeconform@{version}"],
                          env=dict(os.environ, GOBIN=str(TOOLS_BIN)), capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"kubeconform: go install failed; skipping the comparison:\n{proc.stderr[-2000:]}")
        return None
    stamp.write_text(version + "\n")
    return binary


def export_schemas(dest: Path) -> str:
    """Our bundles (one Kubernetes, one Argo version) in kubeconform's layout; returns -schema-location."""
    for family, version in (("k8s", KUBE_MINOR), ("argo", ARGO_MINOR)):
        bundle = schemas.load_bundle(family, version)
        for gvk, name in bundle["kinds"].items():
            api, kind = gvk.rsplit("/", 1)
            group, _, ver = api.rpartition("/")
            suffix = f"-{group.split('.')[0]}-{ver}" if group else f"-{ver}"
            doc = {"$schema": "http://json-schema.org/draft-07/schema#", "$ref": f"#/definitions/{name}",
                   "definitions": schemas.closure(bundle["definitions"], name)}
            (dest / f"{kind.lower()}{suffix.lower()}.json").write_text(json.dumps(doc))
    return str(dest / "{{ .ResourceKind }}{{ .KindSuffix }}.json")


def bench(kind: str, objects: int, repeat: int, kubeconform: Path | None, tmp: Path, location: str,
          one_core: bool = False) -> None:
    text, n = build_stream(objects, kind)
    path = tmp / f"{kind}.yaml"
    path.write_text(text)
    mb = len(text) / 1e6
    print(f"\n== stream '{kind}': {n} objects, {mb:.1f} MB ({len(text) / n / 1000:.1f} kB/object); "
          f"Kubernetes {KUBE_MINOR} + Argo {ARGO_MINOR}; cpus {os.cpu_count()}; load {os.getloadavg()[0]:.1f}")
    wall, cpu, rss, proc = median_run([*OURS, str(path)], repeat)
    assert proc.returncode == 0, proc.stdout[-800:] + proc.stderr[-800:]
    mem = run_tree_memory([*OURS, str(path)])
    print(f"ours:        {wall:6.2f} s  {n / wall:8.0f} objects/s  {mb / wall:5.1f} MB/s  cpu {cpu:6.2f} s  "
          f"peak RSS {rss:5d} MB  run memory {_memory(mem)}  ({_load()})")
    if one_core:
        os.environ["COGNIVERSE_CHART_JOBS"] = "1"
        try:
            wall1, cpu1, rss1, proc1 = median_run([*OURS, str(path)], repeat)
        finally:
            del os.environ["COGNIVERSE_CHART_JOBS"]
        assert proc1.stdout == proc.stdout and proc1.returncode == proc.returncode  # the same result
        print(f"one core:    {wall1:6.2f} s  {n / wall1:8.0f} objects/s  {mb / wall1:5.1f} MB/s  cpu {cpu1:6.2f} s  "
              f"peak RSS {rss1:5d} MB")
    if kubeconform is None:
        return
    cmd = [str(kubeconform), "-strict", "-summary", "-kubernetes-version", f"{KUBE_MINOR}.0",
           "-schema-location", location, str(path)]
    kwall, kcpu, krss, kproc = median_run(cmd, repeat)
    assert kproc.returncode == 0, kproc.stdout[-800:] + kproc.stderr[-800:]
    kmem = run_tree_memory(cmd)
    print(f"kubeconform: {kwall:6.2f} s  {n / kwall:8.0f} objects/s  {mb / kwall:5.1f} MB/s  cpu {kcpu:6.2f} s  "
          f"peak RSS {krss:5d} MB  run memory {_memory(kmem)}  ({_load()})  "
          f"({kproc.stdout.strip().splitlines()[-1]})")
    print(f"ratio:       throughput {kwall / wall:.2f}x kubeconform's (CPU seconds: {kcpu / max(cpu, 1e-9):.2f}x), "
          f"run memory {mem[0] / max(kmem[0], 1):.2f}x kubeconform's (peak RSS of one process {rss / max(krss, 1):.2f}x)")


def big_stream(megabytes: int, tmp: Path) -> None:
    path = tmp / "big.yaml"
    with path.open("w") as f:
        i, size = 0, 0
        while size < megabytes * 1_000_000:
            chunk = yaml.safe_dump(configmap(i), sort_keys=False) + "---\n"
            f.write(chunk * 200)  # 200 copies per dump keeps building the file fast; names repeat
            size += len(chunk) * 200
            i += 1
    wall, cpu, rss, proc = run_measured_cpu([*OURS, str(path)])
    assert proc.returncode == 0, proc.stdout[-800:] + proc.stderr[-800:]
    print(f"\n== bounded memory: {size / 1e6:.0f} MB stream of ConfigMaps: {wall:.1f} s ({cpu:.1f} s CPU), peak RSS {rss} MB "
          f"({proc.stdout.strip().splitlines()[-1]})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--stream", choices=["configmaps", "core", "chart", "all"], default="all")
    ap.add_argument("--big-mb", type=int, default=200, help="size of the bounded-memory stream; 0 skips it")
    ap.add_argument("--no-kubeconform", action="store_true")
    ap.add_argument("--one-core", action="store_true", help="also time validate on one core (COGNIVERSE_CHART_JOBS=1)")
    args = ap.parse_args()
    kc = None if args.no_kubeconform else kubeconform_binary()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        (tmp / "schemas").mkdir()
        location = export_schemas(tmp / "schemas")
        for kind in (["configmaps", "core", "chart"] if args.stream == "all" else [args.stream]):
            bench(kind, args.objects, args.repeat, kc, tmp, location, args.one_core)
        if args.big_mb:
            big_stream(args.big_mb, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
