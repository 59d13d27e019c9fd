"""The Argo UI that argo server embeds (built from Argo's ui/ by cluster/argo/ui.sh), opened in a real
browser as the guide says: `kubectl port-forward -n argo svc/argo-server 2746:2746`, then the page.

Headless Chromium from Debian (`chromium`, installed by scripts/local_cluster.sh with the node's
packages) driven by Playwright's Python client through its executable path (Playwright's own browser
download is not used). Through the port-forward the UI lists the workflows of namespace `cogniverse`
(those the API lists there), opens a workflow's graph with its steps and their status, and shows a
step's logs. Every page fails its test on a console error, an uncaught exception or a failed request
(a refused connection or an HTTP error status), and saves a screenshot under
$COGNIVERSE_TEST_OUTPUT/screenshots (default .tools/test-output/screenshots; the path is printed).

Namespace `cogniverse` is the guide's (tests/smoke/test_guide_run.py): when the guide runs in this
session, these tests run after it (conftest.py) and see its workflows; they add one workflow of their
own there, whose steps and logs they know. If argo server asks for a token (--auth-mode=client), the
test logs in on the UI's login page with `Bearer <token>` ($ARGO_TOKEN, else a token of a ServiceAccount
bound to the `view` role in `cogniverse`).

Phoenix's UI (through `kubectl port-forward` to its Service) shows the project that tenant provisioning
created: the module installs Phoenix from values/local.yaml (the image built on this machine) in a
namespace of its own and provisions a tenant. Phoenix's page asks two hosts outside the cluster for
things it can do without (PHOENIX_OFFLINE_HOSTS, each with its reason); only their failures are excused
(`Page`; its rule is tested in test_browser_page.py). scripts/test.sh runs that test in the leg that has
the service images, as it runs test_services.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from urllib.parse import urlsplit
from pathlib import Path
from typing import Any, Iterator

import pytest

from kubelib import KUBECTL, TASK_RESULTS, account, account_token, kubectl

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("COGNIVERSE_CHROMIUM", "/usr/bin/chromium")
# Flags that work on these machines (no sandbox for root, no GPU, nothing fetched in the background).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(os.environ.get("COGNIVERSE_TEST_OUTPUT", ROOT / ".tools" / "test-output")) / "screenshots"
NAMESPACE = "cogniverse"
TOOLBOX_IMAGE = "cogniverse/toolbox:1.0"
GREETING = f"hello-from-the-browser-test-{uuid.uuid4().hex[:6]}"
UI_WAIT_MS = 60_000

pytestmark = pytest.mark.smoke
after_guide = True  # tests/smoke/conftest.py runs this module after docs/guide.md's run


@pytest.fixture(scope="module")
def namespace(guide_run: Any) -> Iterator[str]:
    """Namespace `cogniverse` once the guide (if it runs in this session) is done with it, plus a
    ServiceAccount for this module's workflow; the namespace is removed afterwards only if created here."""
    if guide_run is not None:
        try:
            guide_run.join(1800)
        except BaseException as exc:  # the guide's own test reports it; the UI is still worth checking
            print(f"browser tests: the guide run ended with {exc!r}")
    created = kubectl("get", "namespace", NAMESPACE, check=False).returncode != 0
    if created:
        kubectl("create", "namespace", NAMESPACE)
    kubectl("-n", NAMESPACE, "apply", "-f", "-", input=account("browser-test", TASK_RESULTS) + """\
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: browser-test-view}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: browser-test}]
""")
    yield NAMESPACE
    if created:
        kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)
    else:
        kubectl("-n", NAMESPACE, "delete", "workflows", "-l", "cogniverse.dev/browser-test", check=False)
        kubectl("-n", NAMESPACE, "delete", "serviceaccount/browser-test", "role/browser-test",
                "rolebinding/browser-test", "rolebinding/browser-test-view", "--ignore-not-found", check=False)


@pytest.fixture(scope="module")
def workflow(namespace: str) -> str:
    """A finished two-step workflow in `cogniverse` whose first step prints GREETING."""
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"generateName": "browser-", "labels": {"cogniverse.dev/browser-test": "true"}},
        "spec": {"entrypoint": "main", "serviceAccountName": "browser-test", "templates": [
            {"name": "main", "steps": [[{"name": "greet", "template": "say", "arguments": {"parameters": [
                {"name": "text", "value": GREETING}]}}],
                [{"name": "part", "template": "say", "arguments": {"parameters": [{"name": "text", "value": "bye"}]}}]]},
            {"name": "say", "inputs": {"parameters": [{"name": "text"}]},
             "container": {"image": TOOLBOX_IMAGE, "imagePullPolicy": "IfNotPresent",
                           "command": ["sh", "-c", "echo {{inputs.parameters.text}}"]}}]}}
    name = kubectl("-n", namespace, "create", "-o", "name", "-f", "-", input=json.dumps(manifest)).stdout.strip()
    name = name.rpartition("/")[2]
    kubectl("-n", namespace, "wait", f"workflow/{name}", "--for=jsonpath={.status.phase}=Succeeded", "--timeout=240s")
    return name


@pytest.fixture(scope="module")
def running_version() -> str:
    """The Argo version argo-server runs (its image tag)."""
    image = kubectl("-n", "argo", "get", "deployment", "argo-server",
                    "-o", "jsonpath={.spec.template.spec.containers[0].image}").stdout
    return image.rpartition(":")[2]


@contextlib.contextmanager
def port_forward(namespace: str, service: str, port: int) -> Iterator[str]:
    """`kubectl port-forward -n NAMESPACE svc/SERVICE :PORT` on a free loopback port; yields its base URL."""
    proc = subprocess.Popen([KUBECTL, "-n", namespace, "port-forward", "--address", "127.0.0.1", f"svc/{service}",
                             f":{port}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline() if ready else ""
        assert line.startswith("Forwarding from 127.0.0.1:"), f"port-forward to svc/{service} did not start: {line!r}"
        yield f"http://127.0.0.1:{int(line.split('127.0.0.1:', 1)[1].split()[0])}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The guide's `kubectl port-forward -n argo svc/argo-server 2746:2746`, on a free port."""
    with port_forward("argo", "argo-server", 2746) as url:
        yield url


def token_if_asked(server: str, namespace: str) -> str | None:
    """None when argo server serves the API without a token (--auth-mode=server), else the token to log in with."""
    try:
        urllib.request.urlopen(f"{server}/api/v1/workflows/{namespace}?listOptions.limit=1", timeout=30).close()
        return None
    except urllib.error.HTTPError as exc:
        if exc.code != 401:
            raise AssertionError(f"argo server answered {exc.code} to a workflow list: {exc.read()[:300]!r}")
    if os.environ.get("ARGO_TOKEN"):
        return os.environ["ARGO_TOKEN"].removeprefix("Bearer ")
    return account_token(namespace, "browser-test", "1h")


class Page:
    """One browser page with every console error, page error and failed request recorded.

    `offline_hosts` ({host: why}): hosts outside the cluster that this offline machine cannot reach and
    that the page asks for anyway. Their failed requests, the console errors those failures log, and
    as many uncaught `Failed to fetch` errors as such requests failed are excused (and printed); a
    failure of any other request, in-cluster ones above all, still fails the test."""

    def __init__(self, context: Any, server: str, offline_hosts: dict[str, str] | None = None):
        self.server, self.offline = server, offline_hosts or {}
        self.problems: list[str] = []
        self.excused: list[str] = []
        self.fetch_errors: list[str] = []
        self.page = context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self._record(
            f"console error: {m.text}", (m.location or {}).get("url", "")))
        self.page.on("pageerror", lambda e: (self.fetch_errors if str(e.message) == "Failed to fetch"
                                             else self.problems).append(f"uncaught exception: {e}"))
        # A stream the page itself closes when it leaves a view (EventSource watches) ends as
        # net::ERR_ABORTED: that is not a failure; every other error is.
        self.page.on("requestfailed", lambda r: (r.failure or "") != "net::ERR_ABORTED" and self._record(
            f"request failed: {r.method} {r.url}: {r.failure}", r.url))
        self.page.on("response", lambda r: r.status >= 400 and self._record(
            f"HTTP {r.status}: {r.request.method} {r.url}", r.url))

    def _record(self, problem: str, url: str) -> None:
        host = urlsplit(url).hostname or ""
        if host in self.offline:
            self.excused.append(f"{problem} (allowed: {host}: {self.offline[host]})")
        else:
            self.problems.append(problem)

    def open(self, path: str) -> Any:
        self.page.goto(self.server + path, wait_until="domcontentloaded")
        return self.page

    def finish(self, name: str) -> Path:
        """Screenshot to SCREENSHOTS/NAME.png; then fail on anything recorded and not excused."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(shot))
        print(f"screenshot: {shot}")
        failed_offline = sum(e.startswith("request failed:") for e in self.excused)
        for e in self.fetch_errors[:failed_offline]:
            self.excused.append(f"{e} (allowed: a request to an offline host failed)")
        problems = self.problems + self.fetch_errors[failed_offline:]
        print("excused:\n  " + "\n  ".join(self.excused) if self.excused else "excused: nothing")
        assert not problems, "the page reported:\n" + "\n".join(problems)
        return shot


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright import sync_api as playwright
    except ImportError:
        pytest.fail("playwright missing: scripts/bootstrap.sh installs the dev dependencies (pyproject.toml)")
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} missing: apt-get install chromium (scripts/local_cluster.sh up installs it)")
    with playwright.sync_playwright() as p, tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=FLAGS, viewport={"width": 1400, "height": 900},
            permissions=["clipboard-read", "clipboard-write"])
        yield context
        context.close()


@pytest.fixture(scope="module")
def ui(browser: Any, server: str, namespace: str) -> Iterator[Page]:
    """A page that has logged in on the UI's login page if argo server asks for a token."""
    page = Page(browser, server)
    token = token_if_asked(server, namespace)
    if token:
        log_in(page, token)
    dismiss_modals(page, namespace)
    yield page


def dismiss_modals(page: Page, namespace: str) -> None:
    """Close, with its ×, each modal the UI opens on a first visit ("Tell us what you want to use Argo for",
    then what is new in this version), as a new user does: they cover the page and take its clicks. The
    browser remembers it (local storage), so the module's pages open without them."""
    p = page.open(f"/workflows/{namespace}")
    close = p.locator(".modal .modal-close")
    try:
        close.first.wait_for(timeout=10_000)
    except Exception:  # Playwright's TimeoutError: no modal
        return
    for _ in range(5):  # one modal after the other: each × shows the next
        if not close.count():
            return
        close.first.click()
        p.wait_for_timeout(1000)
    raise AssertionError("the UI's modals stay open after their × was clicked five times")


def log_in(page: Page, token: str) -> None:
    """What a user of --auth-mode=client does: paste `Bearer <token>` on the login page, press Login."""
    p = page.open("/login")
    p.fill("textarea#token", f"Bearer {token}")
    p.locator("a.argo-button", has=p.locator("i.fa-sign-in-alt")).last.click()
    p.wait_for_url(lambda url: "/login" not in url)
    page.problems.clear()  # the 401s that sent the browser to the login page are the point of it


def listed(namespace: str) -> set[str]:
    out = kubectl("-n", namespace, "get", "workflows", "-o", "jsonpath={.items[*].metadata.name}").stdout
    return set(out.split())


def test_the_ui_lists_the_workflows_of_namespace_cogniverse(ui, namespace, workflow, running_version):
    before = listed(namespace)  # the guide's CronWorkflows may add runs meanwhile: compare with both ends
    assert workflow in before
    page = ui.open(f"/workflows/{namespace}")
    page.locator(".workflows-list__row-container").first.wait_for(timeout=UI_WAIT_MS)
    deadline = time.monotonic() + UI_WAIT_MS / 1000
    shown: set[str] = set()
    while not before <= shown and time.monotonic() < deadline:  # rows arrive through a watch
        shown = {s.strip() for s in page.locator(".workflows-list__row-container a > div").all_inner_texts()}
        time.sleep(0.5)
    after = listed(namespace)
    version = page.locator(".nav-bar__version").inner_text().strip()
    ui.finish("argo-ui-workflows")
    assert version == running_version, f"the UI's navigation bar says {version!r}, argo-server runs {running_version}"
    assert before <= shown <= before | after, f"the UI lists {sorted(shown)}, the API {sorted(before | after)}"


def graph_nodes(page: Any) -> dict[str, str]:
    """{node label: its phase class} of the workflow graph."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.graph g.node')].map(n =>
        [n.parentElement.querySelector('text.node-label').textContent.trim(),
         [...n.classList].filter(c => c !== 'node' && c !== 'selected').join(' ')]))""")


def test_a_workflow_opens_as_a_graph_of_its_steps_with_their_status(ui, namespace, workflow):
    page = ui.open(f"/workflows/{namespace}/{workflow}")
    page.locator(".graph g.node").first.wait_for(timeout=UI_WAIT_MS)
    page.wait_for_function("document.querySelectorAll('.graph g.node.Succeeded').length >= 3", timeout=UI_WAIT_MS)
    nodes = graph_nodes(page)
    ui.finish("argo-ui-workflow-graph")
    assert nodes.get("greet") == "Succeeded" and nodes.get("part") == "Succeeded", nodes
    assert nodes.get(workflow) == "Succeeded", nodes  # the root node carries the workflow's name


def test_a_step_shows_its_logs(ui, namespace, workflow):
    page = ui.open(f"/workflows/{namespace}/{workflow}")
    page.locator(".graph g.node").first.wait_for(timeout=UI_WAIT_MS)
    page.locator("xpath=//*[name()='text' and @class='node-label' and normalize-space()='greet']/../..").locator(
        "g.node").click()
    page.locator(".workflow-details__step-info").get_by_role("button", name="LOGS").first.click()
    screen = page.locator(".workflow-logs-viewer .xterm-screen")
    screen.wait_for(timeout=UI_WAIT_MS)
    # The log viewer is an xterm.js terminal drawn on a canvas: read it the way a user copies it
    # (select the text, Ctrl+C: the viewer copies the selection to the clipboard).
    text = ""
    deadline = time.monotonic() + UI_WAIT_MS / 1000
    while GREETING not in text and time.monotonic() < deadline:
        box = screen.bounding_box()
        page.mouse.move(box["x"] + 2, box["y"] + 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] - 2, steps=5)
        page.mouse.up()
        page.keyboard.press("Control+C")
        text = page.evaluate("navigator.clipboard.readText()")
        time.sleep(0.5)
    ui.finish("argo-ui-step-logs")
    assert GREETING in text, f"the log viewer of step greet shows {text[:500]!r}"


# Phoenix's UI may ask for these whatever its settings (PHOENIX_ALLOW_EXTERNAL_RESOURCES=false drops the web
# fonts, the tracking pixel and, from Phoenix 20, the release check); this machine is offline, so they fail.
# Nothing else may.
PHOENIX_OFFLINE_HOSTS = {
    "api.github.com": "the navigation bar's 'Star on GitHub' fetches the repository's star count",
}
PHOENIX_TENANT = f"browser_{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def phoenix() -> Iterator[tuple[str, str]]:
    """The chart from values/local.yaml (Phoenix from the image built on this machine, installed as
    tests/smoke/test_services.py installs it; Ollama and `helm test` off, not looked at here) in a namespace
    of its own, and tenant provisioning run for PHOENIX_TENANT. Yields (namespace, Phoenix's Service)."""
    from kubernetes import client

    from cogniverse_chart import CHART_DIR, PROFILES_DIR
    from cogniverse_chart.argo import ArgoClient
    from cogniverse_chart.argo.client import load_kube_config
    from cogniverse_chart.helm import find_helm
    from smokelib import RELEASE, SmokeRelease, explain, remove_release

    kubeconfig = os.environ["KUBECONFIG"]
    load_kube_config(kubeconfig)
    ns = f"cvbrowser-{PHOENIX_TENANT.rpartition('_')[2]}"
    rel = SmokeRelease(ns, RELEASE, find_helm(), kubeconfig, ArgoClient(client.CustomObjectsApi(), ns), 0.0)
    rel.tenant_namespaces.add("cogniverse-" + PHOENIX_TENANT.replace("_", "-"))
    kubectl("create", "namespace", ns)
    try:
        # No --wait: the backups claim binds only when daily-backup first mounts it (values/local.yaml).
        rel.helm_run("upgrade", "--install", RELEASE, str(CHART_DIR), "--values", str(PROFILES_DIR / "local.yaml"),
                     "--set", "llm.enabled=false", "--set", "tests.enabled=false", "--timeout", "10m")
        kubectl("-n", ns, "rollout", "status", f"deployment/{RELEASE}-phoenix", "--timeout=600s", timeout=620)
        name = rel.argo.submit("tenant-provisioning", {"tenant-id": PHOENIX_TENANT, "tenant-name": "Browser Tenant",
                                                       "cpu-quota": "1", "memory-quota": "1Gi", "storage-quota": "1Gi"})
        result = rel.wait(name)
        assert result.succeeded, explain(result)
        yield ns, f"{RELEASE}-phoenix"
    finally:
        remove_release(rel)


@pytest.mark.argo_leg("last")
@pytest.mark.service_images
def test_phoenix_shows_the_project_that_tenant_provisioning_created(browser, phoenix):
    namespace, service = phoenix
    with port_forward(namespace, service, 6006) as url:
        with urllib.request.urlopen(f"{url}/v1/projects", timeout=30) as resp:
            projects = {p["name"] for p in json.load(resp)["data"]}
        assert PHOENIX_TENANT in projects, f"Phoenix's API lists {sorted(projects)}"
        ui = Page(browser, url, PHOENIX_OFFLINE_HOSTS)
        page = ui.open("/projects")
        page.get_by_text(PHOENIX_TENANT, exact=True).first.wait_for(timeout=UI_WAIT_MS)
        page.wait_for_load_state("networkidle", timeout=UI_WAIT_MS)  # the star count and release check have answered
        shown = set(page.locator("main, body").first.inner_text().split())
        ui.finish("phoenix-projects")
    assert projects <= shown, f"the projects page shows none of {sorted(projects - shown)}"
