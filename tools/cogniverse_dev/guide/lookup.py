"""What a `<placeholder>` of a guide's command names: the newest object in a namespace, via kubectl, that
matches what the guide declares it means (meaning.py). A command whose block declares nothing (the user's
own guide declares nothing) takes the meaning docs/guide.md declares for that name."""

from __future__ import annotations

import functools
from pathlib import Path

from cogniverse_chart import REPO_ROOT
from cogniverse_chart.catalogue import catalogue

from .markdown import GuideCommand, read
from .meaning import Meaning, table

#: The guide whose declarations are the meanings of placeholders a command does not declare.
DECLARING_GUIDE = REPO_ROOT / "docs" / "guide.md"


@functools.cache
def guide_meanings(path: Path = DECLARING_GUIDE) -> dict[str, Meaning]:
    """What each placeholder means, as a guide's placeholder table declares it; every declaration comment
    of the guide must say the same (a name means one thing in one guide)."""
    meanings = table(path.read_text(encoding="utf-8"))
    for cmd in read(path):
        for name, meaning in cmd.declared:
            if meanings.get(name) != meaning:
                raise LookupError(f"{path}: line {cmd.line} declares <{name}> other than the placeholder table "
                                  f"does" if name in meanings else f"{path}: <{name}> (line {cmd.line}) is not in "
                                  f"the placeholder table")
    return meanings


class Lookup:
    """Fills `<...>` placeholders with the newest matching object in a namespace, via kubectl."""

    #: CronWorkflows the chart runs every few minutes beside whatever the user does (the deadline
    #: watchdog, every 5 minutes). A user following the guide never means one of their runs: a
    #: `<workflow-name>` after `argo watch` is the workflow just watched, not a watchdog run that
    #: started meanwhile (its logs still empty). From the chart's catalogue; tests/guide/test_guide.py checks
    #: it against every profile's render.
    BACKGROUND_CRON_WORKFLOWS = catalogue().background

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
                 poll: float = 2, meanings: dict[str, Meaning] | None = None):
        """`wait`: seconds a lookup that finds no match waits while objects that could still become one
        (unfinished workflows of the placeholder's selector, Pending pods) exist, as a user waits for a
        submitted optimization to finish before reading its output."""
        self.namespace = namespace
        self.env = env
        self.kubectl = kubectl
        self.wait = wait
        self.poll = poll
        self.meanings = meanings

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

    @staticmethod
    def meaning_of(name: str, meanings: dict[str, Meaning] | None = None) -> Meaning:
        """What `name` means: in `meanings`, else as docs/guide.md declares it."""
        known = meanings if meanings is not None else guide_meanings()
        if name not in known:
            raise LookupError(f"unknown placeholder <{name}>: no declaration (known: "
                              f"{', '.join(f'<{n}>' for n in known)})")
        return known[name]

    @classmethod
    def choose(cls, name: str | Meaning, items: list[dict]) -> str | None:
        """The newest of `items` (objects of the placeholder's kind) that the placeholder means."""
        meaning = name if isinstance(name, Meaning) else cls.meaning_of(name)
        matching = [o for o in items if meaning.keep(o)]
        matching.sort(key=lambda o: o["metadata"].get("creationTimestamp") or "", reverse=True)
        return matching[0]["metadata"]["name"] if matching else None

    @classmethod
    def meaning(cls, name: str, cmd: GuideCommand) -> str:
        """The placeholder this command means by `name` (see CONTEXT); `name` itself otherwise."""
        return next((to for text, generic, to in cls.CONTEXT if generic == name and text in cmd.text), name)

    def _candidates(self, resource: str, selector: str = "") -> list[dict]:
        """The objects a placeholder may name: those of the namespace, less the background runs."""
        return [o for o in self._items(resource, selector) if not self.background(o)]

    def _find(self, meaning: Meaning) -> tuple[str | None, list[str]]:
        """(the object the placeholder means or None, objects that may still become it: Pending pods,
        unfinished workflows of its template or CronWorkflow)."""
        items = self._candidates(meaning.resource, meaning.selector)
        if meaning.kind == "pod":
            maybe = [p for p in items if (p.get("status") or {}).get("phase") == "Pending"]
        elif meaning.kind == "workflow":
            maybe = [w for w in items if not (w.get("status") or {}).get("finishedAt")]
        else:
            maybe = []
        return self.choose(meaning, items), [o["metadata"]["name"] for o in maybe]

    def __call__(self, name: str, cmd: GuideCommand) -> str:
        import time

        declared = dict(cmd.declared)
        if name in declared:
            meaning = declared[name]
        else:
            name = self.meaning(name, cmd)
            meaning = self.meaning_of(name, self.meanings)
        deadline = time.monotonic() + self.wait
        while True:
            chosen, maybe = self._find(meaning)
            if chosen is not None:
                return chosen
            if not maybe or time.monotonic() >= deadline:
                waited = f" (waited {self.wait:.0f}s for {', '.join(maybe[:3])})" if maybe and self.wait else ""
                raise LookupError(f"no object in namespace {self.namespace} matches <{name}>{waited}")
            time.sleep(self.poll)
