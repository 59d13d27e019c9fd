"""What a `<placeholder>` of a guide's command names: the newest matching object in a namespace, via kubectl."""

from __future__ import annotations

from typing import Callable

from cogniverse_chart.catalogue import catalogue

from .markdown import GuideCommand


class Lookup:
    """Fills `<...>` placeholders with the newest matching object in a namespace, via kubectl."""

    #: CronWorkflows the chart runs every few minutes beside whatever the user does (the deadline
    #: watchdog, every 5 minutes). A user following the guide never means one of their runs: a
    #: `<workflow-name>` after `argo watch` is the workflow just watched, not a watchdog run that
    #: started meanwhile (its logs still empty). From the chart's catalogue; tests/test_guide.py checks
    #: it against every profile's render.
    BACKGROUND_CRON_WORKFLOWS = catalogue().background

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
