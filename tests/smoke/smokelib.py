"""Helpers of the smoke suite: the installed release, waiting, and explaining a workflow's result.

The fixtures that install the chart are in conftest.py. Environment:
  SMOKE_KEEP_NAMESPACE=1   keep the test namespace after the run (to look around)
  SMOKE_TIMEOUT            seconds to wait for one workflow (default 600)
  SMOKE_CRON_TIMEOUT       seconds for all six triggered CronWorkflows together (default 1800)
  SMOKE_VALUES             values file for the install (default values/smoke.yaml)
"""

from __future__ import annotations

import os
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from cogniverse_chart import CHART_DIR, PROFILES_DIR, REPO_ROOT
from cogniverse_chart.argo import ArgoClient, WorkflowResult, progress_line
from cogniverse_chart.argo.client import WorkflowStream, load_kube_config
from cogniverse_chart.helm import Helm, find_helm

RELEASE = "cogniverse"
WAIT_TIMEOUT = float(os.environ.get("SMOKE_TIMEOUT", "600"))
# All six CronWorkflows together (the heavy ones queue on one semaphore).
CRON_TIMEOUT = float(os.environ.get("SMOKE_CRON_TIMEOUT", "1800"))
SMOKE_VALUES = Path(os.environ.get("SMOKE_VALUES", PROFILES_DIR / "smoke.yaml"))
# The backups PVC values/smoke.yaml names (workflows.volumes.backups.existingClaim).
BACKUPS_CLAIM = "smoke-backups"
# The optimizing CronWorkflows' skip path (annotations below the threshold): every step up to the decision
# runs, none of the optimizers. For checks whose subject is not the optimizers (upgrade and rollback, the
# templateReferencing switch); test_workflows runs the optimizers. Pass only what a CronWorkflow declares.
SKIP_OPTIMIZATION_PARAMS = {"weekly-optimization": {"annotation-threshold": "1000000"},
                            "daily-optimization-check": {"annotation-threshold": "1000000"}}

# kubectl for pytest-helm-charts' kube_cluster.kubectl(): the pinned one first on PATH.
os.environ["PATH"] = f"{REPO_ROOT / '.tools' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"


@dataclass
class SmokeRelease:
    """The chart installed for this run."""

    namespace: str
    release: str
    helm: Helm
    kubeconfig: str
    argo: ArgoClient
    install_seconds: float
    tenant_namespaces: set[str] = field(default_factory=set)
    watcher: "WorkflowWatcher | None" = None

    def helm_run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": self.kubeconfig}
        proc = subprocess.run([self.helm.path, *args, "--namespace", self.namespace], capture_output=True,
                              text=True, env=env, timeout=900)
        if check and proc.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed:\n{proc.stderr}")
        return proc

    def wait(self, name: str, timeout: float = WAIT_TIMEOUT,
             until: Callable[[WorkflowResult], bool] | None = None) -> WorkflowResult:
        """Wait on the namespace's watch stream (no polling) for the workflow to finish."""
        if self.watcher is None:
            self.watcher = WorkflowWatcher(self.argo.api, self.namespace)
        result = self.watcher.wait(name, timeout, until)
        print(f"smoke: {progress_line(result, 0).split('] ', 1)[1]}", flush=True)
        return result


def explain(result: WorkflowResult) -> str:
    """Why a workflow ended as it did: phase, message and every node that did not succeed."""
    lines = [f"workflow {result.name}: {result.phase} {result.message}".rstrip()]
    for n in result.nodes:
        if n.phase not in ("Succeeded",):
            lines.append(f"  {n.display_name} [{n.type}] {n.phase}: {n.message}")
    return "\n".join(lines)


class WorkflowWatcher(WorkflowStream):
    """The toolkit's WorkflowStream with the smoke suite's default timeout."""

    def wait(self, name: str, timeout: float = WAIT_TIMEOUT, until: Callable[[WorkflowResult], bool] | None = None) -> WorkflowResult:
        return super().wait(name, timeout, until)


GUIDE = REPO_ROOT / "docs" / "guide.md"
#: The guide's own names (docs/guide.md): namespace and release `cogniverse`, tenant newcorp_inc.
GUIDE_NAMESPACE = "cogniverse"
GUIDE_TENANT_NAMESPACE = "cogniverse-newcorp-inc"


class GuideRun:
    """docs/guide.md run command by command on the cluster in a background thread, beside the rest of
    the suite (it uses its own namespace, `cogniverse`, as the guide does). `join()` returns the results."""

    def __init__(self, kubeconfig: str, helm: Any):
        from cogniverse_dev import guide

        self.kubeconfig = kubeconfig
        self.helm = helm
        self.cmds = guide.read(GUIDE)
        self.results: list[Any] = []
        self.error: BaseException | None = None
        self.seconds = 0.0
        self.specs_installed: dict[str, Any] = {}  # CronWorkflow specs right after the install ...
        self.specs_after_apply: dict[str, Any] = {}  # ... and after the guide's kubectl apply of workflows/
        self.existed_before = self._release_exists()
        self._thread = threading.Thread(target=self._main, name="guide-run", daemon=True)
        self._thread.start()

    def _env(self) -> dict[str, str]:
        from cogniverse_dev import guide

        return guide.environment(REPO_ROOT, {**os.environ, "KUBECONFIG": self.kubeconfig})

    def _release_exists(self) -> bool:
        proc = subprocess.run([self.helm.path, "status", RELEASE, "--namespace", GUIDE_NAMESPACE],
                              capture_output=True, text=True, env={**os.environ, "KUBECONFIG": self.kubeconfig})
        return proc.returncode == 0

    def _cron_specs(self) -> dict[str, Any]:
        import json

        out = subprocess.run(["kubectl", "get", "cronworkflows", "-n", GUIDE_NAMESPACE, "-o", "json"],
                             capture_output=True, text=True, env=self._env(), check=True).stdout
        return {c["metadata"]["name"]: c["spec"] for c in json.loads(out)["items"]}

    def _on_result(self, result: Any) -> None:
        print(f"guide: [{result.status}] {result.seconds:5.1f}s {result.ran or result.command.text}"[:220], flush=True)
        if result.status != "ok":
            print(f"guide:   {result.output[-800:]}", flush=True)
        text = result.command.text
        if text.startswith("./scripts/deploy_k3s.sh -f"):
            self.specs_installed = self._cron_specs()
        elif text.startswith("kubectl apply -f workflows/scheduled-optimization.yaml"):
            self.specs_after_apply = self._cron_specs()

    def _main(self) -> None:
        import tempfile

        from cogniverse_dev import guide

        start = time.monotonic()
        try:
            env = self._env()
            with tempfile.TemporaryDirectory(prefix="guide-") as tmp:
                self.results = guide.run(self.cmds, cwd=guide.workdir(REPO_ROOT, Path(tmp)), env=env,
                                         lookup=guide.Lookup(GUIDE_NAMESPACE, env), timeout=WAIT_TIMEOUT,
                                         on_result=self._on_result, stop_on_failure=True)
        except BaseException as exc:  # reported by the test that joins
            self.error = exc
        finally:
            self.seconds = time.monotonic() - start

    def join(self, timeout: float) -> list[Any]:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"docs/guide.md did not finish within {timeout:.0f}s")
        if self.error:
            raise self.error
        return self.results

    def cleanup(self) -> None:
        """Remove what the guide installed, unless the release was there before the suite."""
        self._thread.join(60)
        if self.existed_before or os.environ.get("SMOKE_KEEP_NAMESPACE") == "1":
            return
        env = {**os.environ, "KUBECONFIG": self.kubeconfig}
        subprocess.run([self.helm.path, "uninstall", RELEASE, "--namespace", GUIDE_NAMESPACE, "--wait"],
                       capture_output=True, text=True, env=env, timeout=300)
        for ns in (GUIDE_TENANT_NAMESPACE, GUIDE_NAMESPACE):
            subprocess.run(["kubectl", "delete", "namespace", ns, "--ignore-not-found", "--wait=false"],
                           capture_output=True, text=True, env=self._env(), timeout=60)


def create_backups_claim(core_api: Any, namespace: str, name: str, size: str = "16Mi") -> None:
    """Create the namespace and a ReadWriteOnce PVC on the default StorageClass for daily-backup."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        core_api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    except ApiException as exc:
        if exc.status != 409:
            raise
    pvc = client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PersistentVolumeClaimSpec(access_modes=["ReadWriteOnce"],
                                                resources=client.V1VolumeResourceRequirements(requests={"storage": size})))
    core_api.create_namespaced_persistent_volume_claim(namespace, pvc)


def default_storage_class(kubeconfig: str) -> str | None:
    """Name of the cluster's default StorageClass, or None."""
    from kubernetes import client

    load_kube_config(kubeconfig)
    for sc in client.StorageV1Api().list_storage_class().items:
        ann = sc.metadata.annotations or {}
        if ann.get("storageclass.kubernetes.io/is-default-class") == "true":
            return sc.metadata.name
    return None


#: Namespaces that existed before the session's first smoke test (conftest.py's session_namespaces).
#: The smoke modules run side by side, so a check that "nothing changed outside" its own namespaces
#: looks at these (kube-system, default, argo, ...) and its own, not at another module's namespaces.
SESSION_NAMESPACES: set[str] = set()


def record_session_namespaces(kubeconfig: str) -> None:
    from kubernetes import client

    if SESSION_NAMESPACES:
        return
    load_kube_config(kubeconfig)
    SESSION_NAMESPACES.update(n.metadata.name for n in client.CoreV1Api().list_namespace().items
                              if (n.status.phase or "Active") == "Active")
    if marker := os.environ.get("COGNIVERSE_SMOKE_SESSION_MARKER"):
        Path(marker).touch()  # scripts/test.sh starts the session beside this one now


class Background:
    """A function run in a daemon thread from the start of the session; `join()` returns its result or
    raises what it raised (tests report it)."""

    def __init__(self, name: str, fn: Callable[[], Any]):
        self.result: Any = None
        self.error: BaseException | None = None
        self.seconds = 0.0
        self._fn = fn
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        start = time.monotonic()
        try:
            self.result = self._fn()
        except BaseException as exc:  # reported by join()
            self.error = exc
        finally:
            self.seconds = time.monotonic() - start

    def join(self, timeout: float = WAIT_TIMEOUT) -> Any:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"{self._thread.name} did not finish within {timeout:.0f}s")
        if self.error is not None:
            raise self.error
        return self.result


def install_release(kubeconfig: str, prefix: str = "cvsmoke", overrides: tuple[str, ...] = ()) -> SmokeRelease:
    """The chart from values/smoke.yaml in a fresh namespace `<prefix>-<hex>` (helm upgrade --install
    --wait), with the backups PVC created first and one watch stream on its Workflows. `overrides`:
    `--set` arguments (key=value) on top of the profile."""
    from kubernetes import client

    assert SMOKE_VALUES.is_file(), f"{SMOKE_VALUES} is missing: the smoke install needs the smoke profile"
    load_kube_config(kubeconfig)
    namespace = f"{prefix}-{secrets.token_hex(3)}"
    argo = ArgoClient(client.CustomObjectsApi(), namespace)
    rel = SmokeRelease(namespace, RELEASE, find_helm(), kubeconfig, argo, 0.0)
    rel.watcher = WorkflowWatcher(argo.api, namespace)  # one watch stream; tests wait on its events
    start = time.monotonic()
    create_backups_claim(client.CoreV1Api(), namespace, BACKUPS_CLAIM)
    rel.helm_run("upgrade", "--install", RELEASE, str(CHART_DIR), "--create-namespace",
                 "--values", str(SMOKE_VALUES), *[a for kv in overrides for a in ("--set", kv)],
                 "--wait", "--timeout", "5m")
    rel.install_seconds = time.monotonic() - start
    print(f"smoke: installed release {RELEASE} in namespace {namespace} in {rel.install_seconds:.1f}s", flush=True)
    return rel


def remove_release(rel: SmokeRelease) -> None:
    """Uninstall and delete the namespaces (SMOKE_KEEP_NAMESPACE=1 keeps the release namespace)."""
    from kubernetes import client

    core_api = client.CoreV1Api()
    if rel.watcher:
        rel.watcher.stop()
    for ns in sorted(rel.tenant_namespaces):
        delete_namespace(core_api, ns)
    if os.environ.get("SMOKE_KEEP_NAMESPACE") == "1":
        print(f"smoke: keeping namespace {rel.namespace} (SMOKE_KEEP_NAMESPACE=1)")
    else:
        rel.helm_run("uninstall", rel.release, "--wait", check=False)
        delete_namespace(core_api, rel.namespace)


def delete_namespace(core_api: Any, name: str) -> None:
    from kubernetes.client.exceptions import ApiException

    try:
        core_api.delete_namespace(name)
    except ApiException as exc:
        if exc.status != 404:
            raise


def impersonating(user: str, groups: tuple[str, ...] = ()) -> Any:
    """A Kubernetes ApiClient that acts as `user` (Impersonate-User; the session's kubeconfig is a
    cluster admin): the API server authorizes and admits each request as that user would be, the way
    `kubectl --as` does. Wrap it in client.CoreV1Api(...) or client.CustomObjectsApi(...)."""
    from kubernetes import client

    api = client.ApiClient(client.Configuration.get_default_copy())
    api.set_default_header("Impersonate-User", user)
    for g in groups:
        api.set_default_header("Impersonate-Group", g)
    return api


def await_admission_policy(namespace: str, plural: str, obj: dict[str, Any], timeout: float = 120.0) -> None:
    """Wait until a server-side dry run of creating `obj` is refused. A ValidatingAdmissionPolicy that Helm has
    just created takes effect once the API server's policy informer has it and its binding and has compiled
    its expressions against the CRD's schema (about 2 s on a quiet node; in one CI run at load 25, with several
    releases of six policies installed at once, more than 30 s: why is not known yet, so the time is printed),
    so an attack sent right after the install could race it; every later attempt meets it."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    api = client.CustomObjectsApi()
    start = time.monotonic()
    deadline = start + timeout
    while True:
        try:
            api.create_namespaced_custom_object("argoproj.io", "v1alpha1", namespace, plural, obj, dry_run="All")
        except ApiException as exc:
            if exc.status in (403, 422):
                print(f"admission policies in force {time.monotonic() - start:.1f} s after the install")
                return
            raise
        assert time.monotonic() < deadline, f"no admission policy refused a dry run within {timeout:.0f} s"
        time.sleep(0.5)


def refusal(call: Callable[[], Any]) -> str:
    """The API server's message when `call` is refused (403 or 422); fails when it is admitted."""
    import json

    from kubernetes.client.exceptions import ApiException

    try:
        call()
    except ApiException as exc:
        assert exc.status in (403, 422), f"HTTP {exc.status}: {exc.body}"
        try:
            return str(json.loads(exc.body).get("message", exc.body))
        except ValueError:
            return str(exc.body)
    raise AssertionError("the API server admitted it")
