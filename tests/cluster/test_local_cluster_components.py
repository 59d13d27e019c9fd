"""Fast tests for the node's component contract (cluster/NAME/NAME.sh, cluster/lib.sh): etcd's TLS and its CA
of its own, a changed command line restarting a daemon, a template's unset placeholder, and the docs' table
of folders. No cluster, no root: openssl, bash and a `sleep` stand in for nothing but themselves."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from cluster_utils import ROOT, script

CLUSTER = ROOT / "cluster"


def commands(body: str) -> dict[str, list[str]]:
    """The argv each start function hands start_daemon (stubbed to print it), by daemon name."""
    proc = script("K8S_BIN=/k; start_daemon() { printf '%s\\0' \"$@\"; echo; }; wait_for() { :; }\n" + body)
    assert proc.returncode == 0, proc.stderr
    return {argv[0]: argv[1:] for argv in (line.rstrip("\0").split("\0") for line in proc.stdout.splitlines())}


def flags(argv: list[str]) -> dict[str, str]:
    return {a: (b if not b.startswith("--") else "") for a, b in zip(argv, argv[1:] + [""]) if a.startswith("--")}


def test_etcd_serves_only_tls_with_client_certificates_of_its_own_ca():
    """attack21d #12: a plain-HTTP etcd on 127.0.0.1 let any hostNetwork pod read every Secret."""
    etcd = flags(commands("etcd_start")["etcd"][1:])
    urls = [u for k in ("--listen-client-urls", "--advertise-client-urls", "--listen-peer-urls",
                        "--initial-advertise-peer-urls") for u in etcd[k].split(",")]
    assert urls and all(u.startswith("https://127.0.0.1:") for u in urls), urls
    assert "--client-cert-auth" in etcd and "--peer-client-cert-auth" in etcd
    pki = script('echo "$PKI"').stdout.strip()
    assert etcd["--trusted-ca-file"] == etcd["--peer-trusted-ca-file"] == f"{pki}/etcd-ca.crt"
    assert etcd["--cert-file"] == f"{pki}/etcd-server.crt"


def test_api_server_reaches_etcd_over_tls_with_its_client_certificate():
    api = flags(commands("apiserver_start")["kube-apiserver"][1:])
    pki = script('echo "$PKI"').stdout.strip()
    assert api["--etcd-servers"] == "https://127.0.0.1:2379"
    assert (api["--etcd-cafile"], api["--etcd-certfile"], api["--etcd-keyfile"]) == (
        f"{pki}/etcd-ca.crt", f"{pki}/apiserver-etcd-client.crt", f"{pki}/apiserver-etcd-client.key")


def verifies(pki: Path, ca: str, cert: str, purpose: str) -> bool:
    proc = subprocess.run(["openssl", "verify", "-purpose", purpose, "-CAfile", str(pki / f"{ca}.crt"),
                           str(pki / f"{cert}.crt")], capture_output=True, text=True)
    return proc.returncode == 0


def test_only_the_etcd_ca_opens_etcd(tmp_path):
    """A certificate of the cluster CA (every kubeconfig's, kube-router's, or one the controller-manager signs
    for an approved CSR) must not pass etcd's client-certificate check, nor an etcd certificate the API's."""
    proc = script(f"STATE={tmp_path}; PKI={tmp_path}/pki; make_pki")
    assert proc.returncode == 0, proc.stderr
    pki = tmp_path / "pki"
    assert verifies(pki, "etcd-ca", "apiserver-etcd-client", "sslclient")
    assert verifies(pki, "etcd-ca", "etcd-server", "sslserver")
    assert verifies(pki, "etcd-ca", "etcd-peer", "sslclient") and verifies(pki, "etcd-ca", "etcd-peer", "sslserver")
    for cert in ("admin", "kubelet", "kube-proxy", "controller-manager", "apiserver-kubelet-client"):
        assert verifies(pki, "ca", cert, "sslclient") and not verifies(pki, "etcd-ca", cert, "sslclient"), cert
    assert not verifies(pki, "ca", "apiserver-etcd-client", "sslclient")  # nor does etcd's client open the API
    assert oct(pki.stat().st_mode & 0o777) == "0o700"
    again = script(f"STATE={tmp_path}; PKI={tmp_path}/pki; make_pki")  # kept: a second `up` makes nothing new
    assert again.returncode == 0 and verifies(pki, "etcd-ca", "apiserver-etcd-client", "sslclient")


def test_a_daemon_started_with_other_flags_is_restarted_and_an_unchanged_one_kept(tmp_path):
    """How a node that ran plain etcd switches on `up`: start_daemon compares the running command line.
    A Python sleeping stands in for a daemon (one process: no child to orphan when it is stopped)."""
    body = f"""PY={sys.executable}; STATE={tmp_path}; RUN={tmp_path}/run; CACHE={tmp_path}/cache
start_daemon demo "$PY" -c 'import time; time.sleep(300)' {tmp_path}/one; first=$(cat "$(pidfile demo)"); sleep 0.3
start_daemon demo "$PY" -c 'import time; time.sleep(300)' {tmp_path}/one; same=$(cat "$(pidfile demo)")
start_daemon demo "$PY" -c 'import time; time.sleep(300)' {tmp_path}/two; second=$(cat "$(pidfile demo)"); sleep 0.3
kill -0 "$first" 2>/dev/null && echo "first still runs"
tr '\\0' ' ' </proc/$second/cmdline; echo
stop_daemon demo; echo "$first $same $second"
"""
    proc = script(body)
    assert proc.returncode == 0, proc.stderr
    first, same, second = proc.stdout.split("\n")[-2].split()
    assert first == same != second
    assert "first still runs" not in proc.stdout
    assert f"{tmp_path}/two" in proc.stdout
    assert "demo already running" in proc.stderr and "demo runs with other flags than this tree gives it" in proc.stderr


def test_an_unset_placeholder_in_a_component_config_stops_up_and_writes_nothing(tmp_path):
    (tmp_path / "cni" / "net.d").mkdir(parents=True)
    proc = script(f"STATE={tmp_path}; CONTAINERD_SOCK=; containerd_configure; echo reached")
    assert proc.returncode == 1 and "reached" not in proc.stdout
    assert "cluster/containerd/config.toml uses @CONTAINERD_SOCK@ but $CONTAINERD_SOCK is not set" in proc.stderr
    assert not (tmp_path / "containerd.toml").exists()


def test_every_config_template_placeholder_is_a_setting_of_the_node():
    templates = [p for d in CLUSTER.iterdir() if d.is_dir() and d.name != "addons"
                 for p in d.iterdir() if p.suffix in (".yaml", ".toml", ".conflist")]
    assert {p.name for p in templates} >= {"config.toml", "cni.conflist", "kubelet.yaml", "kube-proxy.yaml", "kubeconfig.yaml"}
    names = {v for p in templates for v in re.findall(r"@([A-Z_][A-Z0-9_]*)@", p.read_text())} - {
        "KUBECONFIG_USER", "KUBECONFIG_NAMESPACE"}  # write_kubeconfig's arguments
    proc = script("".join(f'[[ -n "${{{n}:-}}" ]] || echo "unset {n}"\n' for n in sorted(names)))
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout + proc.stderr


def test_no_component_config_is_written_inline_in_the_command_line():
    """One manifest style: configs are template files in their component's folder, not heredocs."""
    for sh in [CLUSTER / "node.sh", CLUSTER / "lib.sh", *CLUSTER.glob("*/[a-z]*.sh")]:
        if sh.parent.name in ("argo", "services"):  # Argo's kustomization overlay: another helper's file
            continue
        heredocs = [ln for ln in sh.read_text().splitlines() if re.search(r"<<-?\s*'?EOF", ln) and "usage" not in ln]
        assert sh.name == "node.sh" and len(heredocs) == 1 or not heredocs, f"{sh.relative_to(ROOT)}: {heredocs}"


def test_docs_table_names_every_component_folder():
    doc = (ROOT / "docs" / "local-cluster.md").read_text()
    section = doc[doc.index("## Where each part lives"):]
    section = section[:section.index("\n## ")]
    named = set(re.findall(r"`cluster/([a-z0-9-]+)/", section))
    folders = {d.name for d in CLUSTER.iterdir() if d.is_dir()}
    assert named == folders, f"docs table lacks {sorted(folders - named)}, names missing {sorted(named - folders)}"
    for part in ("etcd", "apiserver", "controller-manager", "scheduler", "containerd", "kubelet", "kube-proxy", "pki"):
        assert (CLUSTER / part / f"{part}.sh").is_file(), part
    assert (ROOT / "scripts" / "local_cluster.sh").read_text().count("\n") <= 3  # the entry is one exec


def test_wait_for_gives_up_at_its_deadline_however_long_a_try_takes():
    """TIMEOUT is wall-clock seconds: a try that itself waits (kubectl wait --timeout=10s) must not stretch it."""
    proc = script("TIMEOUT=2; rc=0; start=$SECONDS; ( wait_for 'a slow probe' sh -c 'sleep 3; exit 1' ) || rc=$?\n"
                  "echo \"rc=$rc after $((SECONDS - start))\"")
    rc, after = re.search(r"rc=(\d+) after (\d+)", proc.stdout).groups()
    assert rc == "1" and int(after) <= 5, proc.stdout
    assert "timed out after 2s waiting for a slow probe" in proc.stderr


def test_a_daemon_that_ignores_sigterm_is_gone_when_stop_daemon_returns(tmp_path):
    """Its successor must find the port free: stop_daemon returns only after the SIGKILLed process ended."""
    body = f"""PY={sys.executable}; STATE={tmp_path}; RUN={tmp_path}/run; CACHE={tmp_path}/cache
start_daemon stubborn "$PY" -c 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)' {tmp_path}
sleep 1; pid=$(cat "$(pidfile stubborn)"); stop_daemon stubborn 1
if kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*Z' /proc/$pid/status; then echo "still alive"; kill -KILL "$pid"; fi
"""
    proc = script(body)
    assert proc.returncode == 0, proc.stderr
    assert "still alive" not in proc.stdout
    assert "stubborn did not stop within 1s; SIGKILL" in proc.stderr


def test_a_state_dir_with_shell_pattern_characters_renders_literally(tmp_path):
    """COGNIVERSE_CLUSTER_STATE is the user's: bash 5.2 reads & in a replacement as the matched text."""
    state = tmp_path / "a&b\\c*"
    (state / "cni" / "net.d").mkdir(parents=True)
    proc = script(f"STATE='{state}'; kube_proxy_configure; kubelet_configure")
    assert proc.returncode == 0, proc.stderr
    assert f"clientConnection: {{kubeconfig: {state}/kube-proxy.kubeconfig}}" in (state / "kube-proxy.yaml").read_text()
