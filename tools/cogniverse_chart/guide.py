"""Shell commands of a Markdown guide: extraction, placeholders, and what each needs.

Used three ways: a fast test checks that every parameter a guide passes to `argo submit` is one the
template declares; the smoke suite runs every command of docs/guide.md on a cluster; and
`python -m cogniverse_chart.guide` runs a guide's commands verbatim and reports which work.

A command is one logical line of a ```bash block: comment lines dropped, lines ending in `\\` joined.
`<workflow-name>`-style placeholders are filled by `fill()` from a lookup the caller provides.
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .errors import ToolkitError

FENCE = re.compile(r"^```(\w*)\s*$")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
PLACEHOLDER = re.compile(r"<([a-z][a-z0-9-]*)>")
URL = re.compile(r"https?://([A-Za-z0-9.-]+)(?::\d+)?")
#: Hosts that are the cluster itself (a port-forward or an in-cluster name), not the internet.
LOCAL_HOSTS = ("localhost", "127.0.0.1")
SHELL_BLOCKS = ("bash", "sh", "shell", "console")


@dataclass(frozen=True)
class GuideCommand:
    """One shell command of a guide, where it is, and what it says about itself."""

    text: str
    line: int  # 1-based line of the command's first line in the Markdown file
    section: str  # the nearest heading above it
    comment: str = ""  # the comment line right above it, if any

    @property
    def placeholders(self) -> list[str]:
        return PLACEHOLDER.findall(self.text)

    @property
    def argv(self) -> list[str]:
        """The words of the command (shell quoting removed); only meaningful for simple commands."""
        try:
            return shlex.split(self.text, comments=True)
        except ValueError:
            return self.text.split()

    def internet_hosts(self) -> list[str]:
        """Hosts outside the cluster that the command downloads from (it cannot run offline)."""
        hosts = [h for h in URL.findall(self.text) if h not in LOCAL_HOSTS and "." in h]
        return hosts


def commands(markdown: str) -> list[GuideCommand]:
    """Every command of the shell code blocks of a Markdown text, in order."""
    out: list[GuideCommand] = []
    section = ""
    in_block: str | None = None
    pending = ""
    start = 0
    comment = ""
    for number, raw in enumerate(markdown.splitlines(), 1):
        stripped = raw.strip()
        fence = FENCE.match(stripped)
        if in_block is None:
            if fence:
                in_block = fence.group(1) or "text"
                comment = ""
                continue
            heading = HEADING.match(raw)
            if heading:
                section = heading.group(2)
            continue
        if fence and not fence.group(1):
            in_block = None
            continue
        if in_block not in SHELL_BLOCKS:
            continue
        if not pending:
            if not stripped:
                comment = ""
                continue
            if stripped.startswith("#"):
                comment = stripped.lstrip("# ").strip()
                continue
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1].rstrip() + " "
            continue
        text = (pending + stripped).strip()
        pending = ""
        out.append(GuideCommand(text, start, section, comment))
        comment = ""  # a comment describes the one command below it
    return out


def read(path: Path) -> list[GuideCommand]:
    return commands(path.read_text(encoding="utf-8"))


def fill(cmd: GuideCommand, lookup: Callable[[str, GuideCommand], str]) -> str:
    """The command with every `<name>` placeholder replaced by lookup(name, cmd)."""
    return PLACEHOLDER.sub(lambda m: lookup(m.group(1), cmd), cmd.text)


# ---- argo submit ---------------------------------------------------------------------------------

@dataclass
class Submission:
    """What one `argo submit` command submits: a file or --from target, and its parameters."""

    command: GuideCommand
    source: str  # "workflows/batch-optimization.yaml" or "cronwf/daily-backup"
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def template(self) -> str:
        """The WorkflowTemplate/CronWorkflow name the submission runs (file stem or --from name)."""
        if "/" in self.source and not self.source.endswith((".yaml", ".yml")):
            return self.source.split("/", 1)[1]
        return Path(self.source).stem


def submissions(cmds: list[GuideCommand]) -> list[Submission]:
    """Every `argo submit` among the commands, with its `--parameter`/`-p` pairs."""
    out = []
    for cmd in cmds:
        words = cmd.argv
        if words[:2] != ["argo", "submit"]:
            continue
        source = ""
        params: dict[str, str] = {}
        i = 2
        while i < len(words):
            w = words[i]
            if w in ("--parameter", "-p") and i + 1 < len(words):
                key, _, value = words[i + 1].partition("=")
                params[key] = value
                i += 2
                continue
            if w.startswith("--parameter="):
                key, _, value = w[len("--parameter="):].partition("=")
                params[key] = value
            elif w == "--from" and i + 1 < len(words):
                source = words[i + 1]
                i += 2
                continue
            elif w in ("-n", "--namespace", "-l", "--labels", "-o", "--output", "--serviceaccount",
                       "--generate-name", "--name", "--entrypoint"):
                i += 2
                continue
            elif not w.startswith("-") and not source:
                source = w
            i += 1
        out.append(Submission(cmd, source, params))
    return out


def check_submissions(subs: list[Submission], docs: list, files_dir: Path | None = None) -> list[str]:
    """One message per parameter a submission passes that its template does not declare (Argo would
    ignore it silently), and per submission whose template is not in the rendered chart. `docs` are
    the rendered chart documents; a `workflows/X.yaml` file must reference WorkflowTemplate X."""
    declared: dict[tuple[str, str], list[str]] = {}
    for d in docs:
        if d.kind in ("WorkflowTemplate", "CronWorkflow"):
            spec = d.obj["spec"]["workflowSpec"] if d.kind == "CronWorkflow" else d.obj["spec"]
            declared[(d.kind, d.name)] = [p["name"] for p in (spec.get("arguments") or {}).get("parameters") or []]
    problems = []
    for s in subs:
        where = f"line {s.command.line} ({s.source or 'no file'})"
        if s.source.startswith(("cronwf/", "cronworkflow/")):
            key = ("CronWorkflow", s.template)
        else:
            key = ("WorkflowTemplate", s.template)
            if files_dir is not None and s.source.endswith((".yaml", ".yml")):
                import yaml

                path = files_dir / Path(s.source).name
                if not path.is_file():
                    problems.append(f"{where}: {path} does not exist")
                    continue
                refs = [(d or {}).get("spec", {}).get("workflowTemplateRef", {}).get("name")
                        for d in yaml.safe_load_all(path.read_text(encoding="utf-8"))]
                if refs != [s.template]:
                    problems.append(f"{where}: {path} does not submit WorkflowTemplate {s.template} (refs {refs})")
        if key not in declared:
            problems.append(f"{where}: the chart has no {key[0]} {key[1]!r}")
            continue
        for name in s.parameters:
            if name not in declared[key]:
                problems.append(f"{where}: {key[0]} {key[1]} has no parameter {name!r} "
                                f"(it declares: {', '.join(declared[key])}); Argo would ignore it")
    return problems


# ---- argo CLI flags, read from the Argo module's sources -----------------------------------------

FLAG_DEF = re.compile(r'Flags\(\)\.\w+\(\s*&?[^,]*,\s*"([A-Za-z0-9-]+)"(?:,\s*"([A-Za-z])")?')
#: kubectl's override flags every argo command has (clientcmd.BindOverrideFlags), and the root's own.
GLOBAL_FLAGS = {"namespace", "n", "kubeconfig", "context", "cluster", "user", "server", "s", "token",
                "loglevel", "gloglevel", "verbose", "v", "help", "h", "argo-server", "insecure-skip-verify",
                "secure", "e", "k", "instanceid", "argo-base-href", "argo-http1", "header", "H",
                "request-timeout", "as", "as-group", "as-uid", "certificate-authority", "client-certificate",
                "client-key", "disable-compression", "insecure-skip-tls-verify", "password", "proxy-url",
                "tls-server-name", "username"}
#: argo subcommands that take the submit options (workflow/util/util.go PopulateSubmitOpts).
SUBMIT_OPTS = {("submit",), ("cron", "create")}


def argo_module_dir(version: str, gopath: Path | None = None) -> Path:
    """Where the Go module cache holds the Argo module of a version (v3.x or v4.x)."""
    import os

    major = version.lstrip("v").split(".", 1)[0]
    root = gopath or Path(os.environ.get("GOMODCACHE") or Path(os.environ.get("GOPATH") or Path.home() / "go") / "pkg" / "mod")
    return root / "github.com" / "argoproj" / "argo-workflows" / f"v{major}@{version}"


def argo_flags(module: Path, subcommand: tuple[str, ...]) -> set[str]:
    """Long and short flag names `argo <subcommand>` accepts, from the module's Go sources."""
    base = module / "cmd" / "argo" / "commands"
    path = base.joinpath(*subcommand[:-1], f"{subcommand[-1]}.go")
    if not path.is_file():
        raise FileNotFoundError(f"no source for `argo {' '.join(subcommand)}` at {path}")
    sources = [path.read_text(encoding="utf-8")]
    if subcommand in SUBMIT_OPTS:
        sources.append((module / "workflow" / "util" / "util.go").read_text(encoding="utf-8"))
    names = set(GLOBAL_FLAGS)
    for text in sources:
        for long, short in FLAG_DEF.findall(text):
            names.add(long)
            if short:
                names.add(short)
    return names


ARGO_GROUPS = {"cron", "template", "archive", "clustertemplate", "auth", "cluster-template"}


def argo_usage(cmd: GuideCommand) -> list[tuple[tuple[str, ...], list[str]]]:
    """Each `argo` invocation of a command line (pipes and `$(...)` split): its subcommand and the
    flag names it passes (without dashes or values)."""
    out = []
    for segment in re.split(r"\||\$\(|;|&&", cmd.text):
        try:
            words = shlex.split(segment.strip().rstrip(")"), comments=True)
        except ValueError:
            continue
        if not words or words[0] != "argo" or len(words) < 2:
            continue
        sub = (words[1], words[2]) if words[1] in ARGO_GROUPS and len(words) > 2 else (words[1],)
        flags = [w.lstrip("-").split("=", 1)[0] for w in words[1 + len(sub):] if w.startswith("-") and w != "-"]
        out.append((sub, flags))
    return out


def unknown_argo_flags(cmds: list[GuideCommand], module: Path) -> list[tuple[GuideCommand, str]]:
    """(command, flag) for every flag the pinned argo CLI does not define for that subcommand."""
    out = []
    cache: dict[tuple[str, ...], set[str]] = {}
    for cmd in cmds:
        for sub, flags in argo_usage(cmd):
            if sub not in cache:
                cache[sub] = argo_flags(module, sub)
            out += [(cmd, f) for f in flags if f not in cache[sub]]
    return out


# ---- running a guide's commands on a cluster ------------------------------------------------------

#: Commands that need the internet although they name no URL (they download K3s/Argo themselves).
DOWNLOADING_FLAGS = ("--install-k3s", "--install-argo")
#: Programs that open a desktop browser: nothing to run on a node.
DESKTOP = ("open", "xdg-open")
#: Commands that serve until stopped: started in the background and checked to be alive.
SERVING = ("kubectl port-forward",)
#: Status of a command that was not run, by marker in the comment above it (docs/guide.md).
MARKERS = {"[internet]": "internet", "[services]": "services"}


@dataclass
class CommandResult:
    command: GuideCommand
    status: str  # ok | failed | internet | services | desktop
    ran: str = ""  # the command with placeholders filled
    returncode: int | None = None
    seconds: float = 0.0
    output: str = ""  # the tail of stdout+stderr, or why it did not run

    @property
    def not_run(self) -> bool:
        return self.status in ("internet", "services", "desktop")


def classify(cmds: list[GuideCommand]) -> dict[int, tuple[str, str]]:
    """index -> (status, reason) for commands that must not run here: explicit markers, downloads
    (URLs outside the cluster, the downloaded files, deploy_k3s.sh's install flags), desktop programs."""
    out: dict[int, tuple[str, str]] = {}
    downloaded: set[str] = set()
    for i, cmd in enumerate(cmds):
        hosts = cmd.internet_hosts()
        words = cmd.argv
        earlier_download = bool(downloaded) and any(w in downloaded for w in words)
        if hosts:
            for url in re.findall(r"https?://\S+", cmd.text):
                name = url.rstrip("\"'").rsplit("/", 1)[-1]
                downloaded |= {name, re.sub(r"\.(tar\.gz|tgz|gz)$", "", name)}
        for marker, status in MARKERS.items():
            if cmd.comment.startswith(marker):
                out[i] = (status, cmd.comment[len(marker):].strip() or marker)
        if i in out:
            continue
        if hosts:
            out[i] = ("internet", f"downloads from {', '.join(sorted(set(hosts)))}")
        elif any(f in words for f in DOWNLOADING_FLAGS):
            out[i] = ("internet", "downloads K3s / Argo Workflows (" + ", ".join(f for f in DOWNLOADING_FLAGS if f in words) + ")")
        elif earlier_download:
            out[i] = ("internet", "uses a file an earlier command downloads")
        elif words and words[0] in DESKTOP:
            out[i] = ("desktop", f"`{words[0]}` opens a desktop browser")
    return out


class Lookup:
    """Fills `<...>` placeholders with the newest matching object in a namespace, via kubectl."""

    #: CronWorkflows the chart runs every few minutes beside whatever the user does (the deadline
    #: watchdog, every 5 minutes). A user following the guide never means one of their runs: a
    #: `<workflow-name>` after `argo watch` is the workflow just watched, not a watchdog run that
    #: started meanwhile (its logs still empty). tests/test_guide.py checks this list against the chart.
    BACKGROUND_CRON_WORKFLOWS = ("deadline-watchdog",)

    WORKFLOW_FILTERS: dict[str, tuple[str, Callable[[dict], bool]]] = {
        "workflow-name": ("", lambda w: True),
        "running-workflow-name": ("", lambda w: not (w.get("status") or {}).get("finishedAt")),
        "failed-workflow-name": ("", lambda w: (w.get("status") or {}).get("phase") in ("Failed", "Error")),
        "ingestion-workflow-name": ("workflows.argoproj.io/workflow-template=video-ingestion",
                                    lambda w: (w.get("status") or {}).get("phase") == "Succeeded"),
        "optimization-workflow-name": ("workflows.argoproj.io/workflow-template=batch-optimization",
                                       lambda w: (w.get("status") or {}).get("phase") == "Succeeded"),
        "weekly-optimization-workflow-name": ("workflows.argoproj.io/cron-workflow=weekly-optimization",
                                              lambda w: True),
        "finished-check-workflow-name": ("",
                                         lambda w: any(p.get("name") == "annotation-count" for p in
                                                       ((w.get("status") or {}).get("outputs") or {}).get("parameters") or [])),
    }
    #: Pods a placeholder may name, by the pod's phase (a Pending pod has no logs yet).
    POD_FILTERS: dict[str, Callable[[dict], bool]] = {
        "started-pod-name": lambda p: (p.get("status") or {}).get("phase") in ("Running", "Succeeded", "Failed"),
    }
    OTHER = {"pod-name": "pods", "pvc-name": "persistentvolumeclaims"}
    #: What a generic placeholder means in a command that says more: (the command contains, the
    #: placeholder, what to fill in), first match wins. A user retries a failed workflow, reads
    #: `improvement` from a finished optimization and `annotation-count` from a finished check, takes
    #: the metrics of a running workflow and the logs of a pod that has started.
    CONTEXT: tuple[tuple[str, str, str], ...] = (
        ("argo retry", "workflow-name", "failed-workflow-name"),
        ('"improvement"', "workflow-name", "optimization-workflow-name"),
        ('"annotation-count"', "workflow-name", "finished-check-workflow-name"),
        ("kubectl top pods", "workflow-name", "running-workflow-name"),
        ("kubectl logs", "pod-name", "started-pod-name"),
    )

    def __init__(self, namespace: str, env: dict[str, str], kubectl: str = "kubectl", wait: float = 0,
                 poll: float = 2):
        """`wait`: seconds a lookup that finds no match waits while objects that could still become one
        (unfinished workflows of the placeholder's selector, Pending pods) exist, as a user waits for a
        submitted optimization to finish before reading its output."""
        self.namespace = namespace
        self.env = env
        self.kubectl = kubectl
        self.wait = wait
        self.poll = poll

    def _items(self, resource: str, selector: str = "") -> list[dict]:
        import json
        import subprocess

        args = [self.kubectl, "get", resource, "-n", self.namespace, "-o", "json"]
        if selector:
            args += ["-l", selector]
        proc = subprocess.run(args, capture_output=True, text=True, env=self.env, timeout=60)
        if proc.returncode != 0:
            raise LookupError(f"kubectl get {resource} failed: {proc.stderr.strip()}")
        items = json.loads(proc.stdout)["items"]
        return sorted(items, key=lambda o: o["metadata"].get("creationTimestamp") or "", reverse=True)

    @classmethod
    def background(cls, obj: dict) -> bool:
        """A run of a BACKGROUND_CRON_WORKFLOWS CronWorkflow (its label), or a pod of one: the pod names
        its workflow, which Argo names `<cron>-<scheduled unix time>`."""
        labels = obj["metadata"].get("labels") or {}
        if labels.get("workflows.argoproj.io/cron-workflow") in cls.BACKGROUND_CRON_WORKFLOWS:
            return True
        cron, _, stamp = (labels.get("workflows.argoproj.io/workflow") or "").rpartition("-")
        return cron in cls.BACKGROUND_CRON_WORKFLOWS and stamp.isdigit()

    @classmethod
    def choose(cls, name: str, items: list[dict]) -> str | None:
        """The newest of `items` (objects of the placeholder's kind) that the placeholder means."""
        selector, keep = cls.WORKFLOW_FILTERS.get(name, ("", lambda o: True))
        labels = dict(part.split("=", 1) for part in selector.split(",") if part)
        matching = [o for o in items if keep(o) and all(
            (o["metadata"].get("labels") or {}).get(k) == v for k, v in labels.items())]
        matching.sort(key=lambda o: o["metadata"].get("creationTimestamp") or "", reverse=True)
        return matching[0]["metadata"]["name"] if matching else None

    @classmethod
    def meaning(cls, name: str, cmd: GuideCommand) -> str:
        """The placeholder this command means by `name` (see CONTEXT); `name` itself otherwise."""
        return next((to for text, generic, to in cls.CONTEXT if generic == name and text in cmd.text), name)

    def _candidates(self, resource: str, selector: str = "") -> list[dict]:
        """The objects a placeholder may name: those of the namespace, less the background runs."""
        return [o for o in self._items(resource, selector) if not self.background(o)]

    def _find(self, name: str) -> tuple[str | None, list[str]]:
        """(the object the placeholder means or None, objects that may still become it)."""
        if name in self.POD_FILTERS:
            pods = self._candidates("pods")
            pending = [p["metadata"]["name"] for p in pods if (p.get("status") or {}).get("phase") == "Pending"]
            return self.choose(name, [p for p in pods if self.POD_FILTERS[name](p)]), pending
        if name in self.WORKFLOW_FILTERS:
            items = self._candidates("workflows.argoproj.io", self.WORKFLOW_FILTERS[name][0])
            unfinished = [w["metadata"]["name"] for w in items if not (w.get("status") or {}).get("finishedAt")]
            return self.choose(name, items), unfinished
        if name in self.OTHER:
            return self.choose(name, self._candidates(self.OTHER[name])), []
        raise LookupError(f"unknown placeholder <{name}> (known: "
                          f"{', '.join(f'<{n}>' for n in [*self.WORKFLOW_FILTERS, *self.POD_FILTERS, *self.OTHER])})")

    def __call__(self, name: str, cmd: GuideCommand) -> str:
        import time

        name = self.meaning(name, cmd)
        deadline = time.monotonic() + self.wait
        while True:
            chosen, maybe = self._find(name)
            if chosen is not None:
                return chosen
            if not maybe or time.monotonic() >= deadline:
                waited = f" (waited {self.wait:.0f}s for {', '.join(maybe[:3])})" if maybe and self.wait else ""
                raise LookupError(f"no object in namespace {self.namespace} matches <{name}>{waited}")
            time.sleep(self.poll)


def _sessions_alive(sids: set[int]) -> list[int]:
    """PIDs of live processes in the given sessions (the commands' own background jobs)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) in sids and fields[0] != "Z":  # fields[3]: session id
            out.append(int(stat.parent.name))
    return out


def run(cmds: list[GuideCommand], *, cwd: Path, env: dict[str, str], lookup: Callable[[str, GuideCommand], str],
        timeout: float = 300, on_result: Callable[[CommandResult], None] | None = None,
        stop_on_failure: bool = False) -> list[CommandResult]:
    """Run the commands in order, each in `bash -o pipefail`, carrying exported variables and the
    working directory from one to the next; background jobs are stopped at the end. Commands that
    must not run here (classify()) are recorded, not run. With stop_on_failure, the commands after
    the first failure are recorded as "not reached" (a user would stop there too: later commands
    build on it, and running them anyway can leave objects behind)."""
    import os
    import signal
    import subprocess
    import tempfile
    import time

    skip = classify(cmds)
    env = dict(env)
    env.setdefault("KUBE_EDITOR", "true")  # `kubectl edit` opens and closes the editor: no change
    env.setdefault("EDITOR", "true")
    sessions: set[int] = set()
    results: list[CommandResult] = []
    state = Path(tempfile.mkdtemp(prefix="guide-run-"))
    try:
        for i, cmd in enumerate(cmds):
            if stop_on_failure and results and results[-1].status in ("failed", "not reached"):
                results.append(CommandResult(cmd, "not reached", output="an earlier command failed"))
                continue
            if i in skip:
                result = CommandResult(cmd, skip[i][0], output=skip[i][1])
            else:
                result = _run_one(cmd, cwd, env, lookup, timeout, sessions, state)
                if result.status == "ok" and (state / "env").exists():
                    env = dict(line.split("=", 1) for line in
                               (state / "env").read_text().split("\0") if "=" in line)
                    cwd = Path((state / "pwd").read_text().strip() or cwd)
            results.append(result)
            if on_result:
                on_result(result)
    finally:
        for pid in _sessions_alive(sessions):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        while _sessions_alive(sessions) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in _sessions_alive(sessions):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for f in state.iterdir():
            f.unlink()
        state.rmdir()
    return results


def _run_one(cmd: GuideCommand, cwd: Path, env: dict[str, str], lookup: Callable[[str, GuideCommand], str],
             timeout: float, sessions: set[int], state: Path) -> CommandResult:
    import subprocess
    import tempfile
    import time

    try:
        text = fill(cmd, lookup)
    except LookupError as exc:
        return CommandResult(cmd, "failed", output=str(exc))
    serving = any(cmd.text.startswith(s) for s in SERVING) and not cmd.text.rstrip().endswith("&")
    script = f"{text}\n__rc=$?\nenv -0 > {shlex.quote(str(state / 'env'))}\npwd > {shlex.quote(str(state / 'pwd'))}\nexit $__rc\n"
    if serving:  # a verbatim `kubectl port-forward ...` blocks: run it in the background like a user's second terminal
        script = f"{text} &\nsleep 5\nkill -0 $! || exit 1\n" + script.split("\n", 1)[1]
    (state / "env").unlink(missing_ok=True)
    start = time.monotonic()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(["bash", "-o", "pipefail", "-c", script], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, text=True)
        sessions.add(proc.pid)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = None
        out.seek(0)
        tail = out.read()[-4000:]
    seconds = time.monotonic() - start
    if rc is None:
        return CommandResult(cmd, "failed", text, None, seconds, f"did not finish in {timeout:.0f}s\n{tail}")
    return CommandResult(cmd, "ok" if rc == 0 else "failed", text, rc, seconds, tail)


def summary(results: list[CommandResult]) -> str:
    """Figures and every command that did not run or failed, one line each."""
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    lines = [f"{len(results)} commands: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))]
    for r in results:
        if r.status != "ok":
            last = (r.output.strip().splitlines() or [""])[-1][:200]
            lines.append(f"  [{r.status}] line {r.command.line}: {r.command.text[:110]}  -- {last}")
    return "\n".join(lines)


# ---- the environment a guide runs in ----------------------------------------------------------------

#: What a guide's commands use from the repository (relative paths such as ./scripts/..., values/...).
WORKDIR_LINKS = ("scripts", "values", "charts", "tools", "images", "cluster", "versions.env", ".venv", ".tools",
                 "docs", "README.md")


def argo_cache() -> Path:
    """Where `local_cluster.sh build|up` puts its binaries: $COGNIVERSE_CLUSTER_CACHE/bin, as the script reads it."""
    import os

    return Path(os.environ.get("COGNIVERSE_CLUSTER_CACHE") or Path.home() / ".cache" / "cogniverse-local-cluster") / "bin"


def find_argo(path: str, version: str | None = None) -> str | None:
    """The directory of the `argo` CLI: on PATH, else the one `local_cluster.sh up` built (newest
    build of `version`, default ARGO_VERSION of versions.env)."""
    import os
    import shutil

    found = shutil.which("argo", path=path)
    if found:
        return os.path.dirname(found)
    if version is None:
        from . import versions

        version = versions.get("ARGO_VERSION")
    bare = (version or "").lstrip("v")
    cache = argo_cache()
    builds = sorted({*cache.glob(f"argo-v{bare}-*/argo"), *cache.glob(f"argo-{bare}-*/argo")},
                    key=lambda p: p.stat().st_mtime, reverse=True)
    return str(builds[0].parent) if builds else None


def workdir(repo: Path, into: Path) -> Path:
    """A working directory for a guide run: the repository's files by symlink and a copy of
    workflows/ (which the guide regenerates for the release), so the checkout is never changed."""
    import shutil

    into.mkdir(parents=True, exist_ok=True)
    for name in WORKDIR_LINKS:
        if (repo / name).exists() and not (into / name).exists():
            (into / name).symlink_to(repo / name)
    if not (into / "workflows").exists():
        shutil.copytree(repo / "workflows", into / "workflows")
    return into


def environment(repo: Path, base: dict[str, str], argo_version: str | None = None) -> dict[str, str]:
    """PATH with the repository's pinned tools (and the argo CLI) first; the rest of `base` as is."""
    import os

    env = dict(base)
    path = os.pathsep.join([str(repo / ".tools" / "bin"), str(repo / ".venv" / "bin"), env.get("PATH", "")])
    argo_dir = find_argo(path, argo_version or env.get("ARGO_VERSION") or None)
    if argo_dir:
        path = argo_dir + os.pathsep + path
    env["PATH"] = path
    return env


def main(argv: list[str] | None = None) -> int:
    """`python -m cogniverse_chart.guide verbatim|run GUIDE.md`: run a guide's commands on the cluster in
    KUBECONFIG (namespace cogniverse, the chart installed) and print which work."""
    import argparse
    import os
    import tempfile

    from . import REPO_ROOT

    p = argparse.ArgumentParser(prog="python -m cogniverse_chart.guide", description=main.__doc__)
    p.add_argument("mode", choices=["list", "run"], help="list: the commands and what each needs; run: run them")
    p.add_argument("guide", type=Path)
    p.add_argument("--namespace", "-n", default="cogniverse", help="namespace placeholders are looked up in")
    p.add_argument("--timeout", type=float, default=300,
                   help="seconds per command; a placeholder with no match yet waits as long for running "
                        "workflows or Pending pods to become one")
    p.add_argument("--release", default="cogniverse",
                   help="the installed release: workflows/ in the run's working directory is generated from it "
                        "first (as after deploy_k3s.sh, whose default values the committed files are for)")
    args = p.parse_args(argv)
    cmds = read(args.guide)
    if args.mode == "list":
        skip = classify(cmds)
        for i, c in enumerate(cmds):
            status = skip.get(i, ("run", ""))
            print(f"{c.line:4d} {status[0]:9s} {c.text}")
        print(f"{len(cmds)} commands, {len(cmds) - len(skip)} to run, {len(skip)} not run here")
        return 0
    if not os.environ.get("KUBECONFIG"):
        print("guide: set KUBECONFIG to the cluster the guide runs on", file=sys.stderr)
        return 2
    env = environment(REPO_ROOT, dict(os.environ))
    with tempfile.TemporaryDirectory(prefix="guide-") as tmp:
        from . import generate

        cwd = workdir(REPO_ROOT, Path(tmp))
        try:
            docs, target = generate.render_for_release(args.release, args.namespace)
            generate.write(generate.guide_files(docs, target), cwd / "workflows")
        except ToolkitError as exc:  # not installed yet: the guide installs it itself
            print(f"guide: workflows/ as committed ({exc})", flush=True)
        results = run(cmds, cwd=cwd, env=env,
                      lookup=Lookup(args.namespace, env, wait=args.timeout), timeout=args.timeout,
                      on_result=lambda r: print(f"[{r.status}] {r.ran or r.command.text}", flush=True))
    print(summary(results))
    return 0 if not [r for r in results if r.status == "failed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
