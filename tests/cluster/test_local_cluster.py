"""Fast tests for scripts/local_cluster.sh (cluster/node.sh): its command line, status, and what it installs on the host
(pins from versions.env, the guide's host tools, the browser tests' Chromium); no cluster, no root actions."""

from __future__ import annotations

import os
import re

import pytest

from cluster_utils import ARGO_VERSION, HOST, K8S_VERSION, PINS, ROOT, module_require, run


def test_help_lists_commands_and_pinned_versions():
    proc = run("--help")
    assert proc.returncode == 0, proc.stderr
    for word in ("build", "up", "down", "status", "restart COMPONENT", "kubeconfig", "COGNIVERSE_CLUSTER_CACHE",
                 K8S_VERSION, ARGO_VERSION):
        assert word in proc.stdout


@pytest.mark.parametrize("args, message", [
    ((), "a command is required"),
    (("start",), "unknown command or option: start"),
    (("up", "--bogus"), "unknown command or option: --bogus"),
    (("up", "down"), "more than one command"),
    (("up", "--purge"), "--purge only goes with down"),
    (("restart",), "restart needs a component (apiserver etcd kubelet containerd node)"),
    (("restart", "--purge"), "restart needs a component (apiserver etcd kubelet containerd node)"),
    (("restart", "scheduler"), "restart: unknown component 'scheduler' (restartable: apiserver etcd kubelet containerd node)"),
    (("restart", "etcd kubelet"), "restart: unknown component 'etcd kubelet'"),
])
def test_bad_usage_exits_2_and_names_the_problem(args, message):
    proc = run(*args)
    assert proc.returncode == 2
    assert message in proc.stderr


def test_kubeconfig_prints_the_admin_kubeconfig_under_the_state_dir(tmp_path):
    proc = run("kubeconfig", env={"COGNIVERSE_CLUSTER_STATE": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(tmp_path / "admin.kubeconfig")


def test_status_without_a_cluster_reports_every_component_stopped(tmp_path):
    proc = run("status", env={"COGNIVERSE_CLUSTER_STATE": str(tmp_path), "COGNIVERSE_CLUSTER_RUN": str(tmp_path / "run")})
    assert proc.returncode == 1
    for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "containerd",
                      "kubelet", "kube-proxy", "workflow-controller"):
        assert re.search(rf"^{component}\s+stopped$", proc.stdout, re.M), proc.stdout


def test_status_ignores_a_pid_file_of_a_foreign_process(tmp_path):
    """down/status trust only PID files that name a process started from our own paths."""
    (tmp_path / "pids").mkdir()
    (tmp_path / "pids" / "etcd.pid").write_text(f"{os.getpid()}\n")  # pytest itself: alive, not ours
    proc = run("status", env={"COGNIVERSE_CLUSTER_STATE": str(tmp_path)})
    assert re.search(r"^etcd\s+stopped$", proc.stdout, re.M), proc.stdout


def test_bootstrap_takes_every_pin_from_versions_env():
    text = (ROOT / "scripts" / "bootstrap.sh").read_text()
    for key in ("HELM3_NPM", "HELM3_SHA256", "KUBECTL_SHA256", "HELM4_NPM", "HELM4_SHA256"):
        assert f"{key}=${{{key}:-$(pin {key})}}" in text
        assert PINS[key] not in text, f"{key}'s value is written in bootstrap.sh as well as versions.env"


@pytest.mark.parametrize("row, key", [
    ("| kube-apiserver, kube-controller-manager", "KUBERNETES_VERSION"),
    ("| kubectl |", "KUBERNETES_VERSION"),
    ("| CoreDNS |", "COREDNS_VERSION"),
    ("| local-path provisioner |", "LOCAL_PATH_PROVISIONER_VERSION"),
    ("| metrics-server |", "METRICS_SERVER_VERSION"),
])
def test_docs_component_table_names_the_pinned_versions(row, key):
    """docs/local-cluster.md's components table is a copy of versions.env: it must not drift."""
    line = next(ln for ln in (ROOT / "docs" / "local-cluster.md").read_text().splitlines() if ln.startswith(row))
    cells = line.split("|")
    assert PINS[key] in cells[2], f"docs/local-cluster.md row {row!r} says {cells[2].strip()!r}; versions.env pins {key}={PINS[key]}"


def test_docs_etcd_row_names_the_etcd_the_wrapper_builds():
    line = next(ln for ln in (ROOT / "docs" / "local-cluster.md").read_text().splitlines() if ln.startswith("| etcd |"))
    etcd = module_require(ROOT / "cluster" / "k8s" / "go.mod", "go.etcd.io/etcd/server/v3")
    assert etcd in line.split("|")[2]


def test_up_installs_every_host_tool_the_smoke_suites_guide_commands_use():
    """The smoke suite runs docs/guide.md's commands on the host after `up`: a tool they call that neither
    the project builds nor a base Debian system has must be among the packages ensure_packages installs,
    or a fresh CI machine fails the smoke run with 'command not found'."""
    from cogniverse_dev import guide

    base = {"echo", "grep", "head", "tail", "sed", "awk", "cat", "sort", "cut", "tr", "wc", "sleep", "test", "true",
            "false", "printf", "export", "cd", "mkdir", "rm", "ls", "env", "xargs", "tee", "date", "for", "while",
            "if", "do", "done", "then", "fi", "until"}
    built = {"argo", "kubectl", "helm", "cogniverse-chart"}  # local_cluster.sh builds argo/kubectl; bootstrap helm
    used = set()
    for command in guide.read(ROOT / "docs" / "guide.md"):
        for segment in re.split(r"\|\|?|&&|;|\$\(", command.text):
            words = segment.split()
            if words and re.fullmatch(r"[a-z][a-z0-9-]*", words[0]):
                used.add(words[0])
    host_tools = used - base - built
    assert {"jq", "curl"} <= host_tools, host_tools  # what the guide uses today: the parse still finds them
    text = HOST.read_text(encoding="utf-8")
    checked = set(re.search(r"^  for cmd in ([^;]+); do$", text, re.M).group(1).split())
    packages = set(re.search(r"^APT_PACKAGES=\(([^)]*)\)$", text, re.M).group(1).split())
    missing = sorted(t for t in host_tools if t not in checked or t not in packages)
    assert not missing, (f"docs/guide.md uses {missing} on the host but cluster/host/host.sh ensure_packages "
                         "does not check and install them: add each to its `for cmd in` list and APT_PACKAGES")


def test_the_browser_tests_chromium_is_checked_and_installed_with_the_nodes_packages():
    """tests/smoke/test_browser.py drives the Debian Chromium at /usr/bin/chromium through Playwright's
    Python client (a dev dependency): `up` must install the package when that binary is missing."""
    text = HOST.read_text(encoding="utf-8")
    browser = (ROOT / "tests" / "smoke" / "test_browser.py").read_text(encoding="utf-8")
    path = re.search(r'^CHROMIUM = os.environ.get\("COGNIVERSE_CHROMIUM", "([^"]+)"\)$', browser, re.M).group(1)
    assert f"[[ -x {path} ]] || missing+=(chromium)" in text
    assert "chromium" in re.search(r"^APT_PACKAGES=\(([^)]*)\)$", text, re.M).group(1).split()
    dev = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^  "playwright>=1\.65,<2",', dev, re.M), "pyproject.toml dev extras lack playwright"
