"""Running a guide's commands in order on a cluster, the way a user would: what must not run here
(downloads, desktop programs, marked commands) is recorded, not run."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .markdown import GuideCommand, fill



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
