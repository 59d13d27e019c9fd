"""What a guide declares a `<placeholder>` means: the newest object of a kind that matches some conditions.

docs/guide.md declares, in an HTML comment right above a shell block (hidden where the guide is read):

    <!-- placeholders: ingestion-workflow-name = workflow template=video-ingestion phase=Succeeded;
         started-pod-name = pod phase=Running,Succeeded,Failed -->

A declaration is a kind (workflow, pod, pvc) and conditions, all of which must hold:
- template=NAME   the workflow's WorkflowTemplate (label workflows.argoproj.io/workflow-template)
- cron=NAME       the workflow's CronWorkflow (label workflows.argoproj.io/cron-workflow)
- phase=A,B       status.phase is one of them
- finished=yes|no the workflow has finished (status.finishedAt) or not
- output=NAME     the workflow has an output parameter of that name
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = {"workflow": "workflows.argoproj.io", "pod": "pods", "pvc": "persistentvolumeclaims"}
LABELS = {"template": "workflows.argoproj.io/workflow-template", "cron": "workflows.argoproj.io/cron-workflow"}
CONDITIONS = (*LABELS, "phase", "finished", "output")
#: A declaration comment: `<!-- placeholders: NAME = KIND COND...; NAME = ... -->`.
DECLARATION = re.compile(r"^<!--\s*placeholders:(.*?)-->\s*$", re.S)
NAME = re.compile(r"^[a-z][a-z0-9-]*$")
#: A row of a guide's placeholder table: | `<NAME>` | what it is replaced by | `DECLARATION` |
TABLE_ROW = re.compile(r"^\| `<([a-z][a-z0-9-]*)>` \|.*\| `([^`]+)` \|\s*$", re.M)
VALUE = re.compile(r"^[A-Za-z0-9_.,-]+$")
#: A label value (template=, cron=): one name, no list (a comma would add a term to kubectl's selector).
LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Meaning:
    kind: str
    labels: tuple[tuple[str, str], ...] = ()
    phases: tuple[str, ...] = ()
    finished: bool | None = None
    output: str = ""

    @property
    def resource(self) -> str:
        return KINDS[self.kind]

    @property
    def selector(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.labels)

    def keep(self, obj: dict) -> bool:
        """Whether `obj` (an object of the kind) is one the placeholder may name."""
        status = obj.get("status") or {}
        labels = obj.get("metadata", {}).get("labels") or {}
        if any(labels.get(k) != v for k, v in self.labels):
            return False
        if self.phases and status.get("phase") not in self.phases:
            return False
        if self.finished is not None and bool(status.get("finishedAt")) != self.finished:
            return False
        outputs = (status.get("outputs") or {}).get("parameters") or []
        return not self.output or any(p.get("name") == self.output for p in outputs)

    @classmethod
    def parse(cls, text: str) -> Meaning:
        """`workflow template=video-ingestion phase=Succeeded` -> Meaning; ValueError naming the problem."""
        kind, *conditions = text.split() or [""]
        if kind not in KINDS:
            raise ValueError(f"{text.strip()!r}: the kind must be one of {', '.join(KINDS)}")
        fields: dict = {"labels": []}
        for cond in conditions:
            key, sep, value = cond.partition("=")
            if not sep or key not in CONDITIONS or not VALUE.match(value):
                raise ValueError(f"{text.strip()!r}: {cond!r} is not KEY=VALUE with KEY one of {', '.join(CONDITIONS)}")
            if key in LABELS or key == "finished" or key == "output":
                if kind != "workflow":
                    raise ValueError(f"{text.strip()!r}: {key}= applies to a workflow, not a {kind}")
            if key in LABELS:
                if not LABEL_VALUE.match(value):
                    raise ValueError(f"{text.strip()!r}: {key}= takes one name (a label value), not {value!r}")
                fields["labels"].append((LABELS[key], value))
            elif key == "phase":
                fields["phases"] = tuple(value.split(","))
            elif key == "finished":
                if value not in ("yes", "no"):
                    raise ValueError(f"{text.strip()!r}: finished= is yes or no, not {value!r}")
                fields["finished"] = value == "yes"
            else:
                fields["output"] = value
        return cls(kind, labels=tuple(fields.pop("labels")), **fields)


def declarations(comment: str) -> dict[str, Meaning]:
    """The placeholders a declaration comment declares; ValueError naming a malformed one."""
    match = DECLARATION.match(comment.strip())
    if not match:
        raise ValueError("expected <!-- placeholders: NAME = KIND CONDITION...; ... -->")
    out: dict[str, Meaning] = {}
    for part in filter(str.strip, match.group(1).split(";")):
        name, sep, text = part.partition("=")
        name = name.strip().strip("<>")
        if not sep or not NAME.match(name):
            raise ValueError(f"{part.strip()!r} is not NAME = KIND CONDITION...")
        if name in out:
            raise ValueError(f"<{name}> is declared twice")
        out[name] = Meaning.parse(text)
    return out


def table(markdown: str) -> dict[str, Meaning]:
    """The placeholder table of a guide (its rows `| `<NAME>` | ... | `DECLARATION` |`): what each name means
    throughout it, and in the user's guide, which declares nothing."""
    out: dict[str, Meaning] = {}
    for m in TABLE_ROW.finditer(markdown):
        try:
            out[m.group(1)] = Meaning.parse(m.group(2))
        except ValueError as exc:
            raise ValueError(f"the table's row <{m.group(1)}>: {exc}") from None
    return out
