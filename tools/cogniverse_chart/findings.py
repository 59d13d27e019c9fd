"""Finding: what every check (schema validation, lint rule) returns. The CLI only formats them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from .documents import Document


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    rule: str  # rule id, e.g. "schema/k8s-1.35", "argo/undeclared-parameter"
    severity: Severity
    message: str  # what is wrong and what to do
    source: str = ""  # file or chart template
    kind: str = ""
    name: str = ""
    path: str = ""  # JSON path inside the object, e.g. $.spec.templates[2].container.args[1]

    @classmethod
    def for_doc(cls, doc: Document, rule: str, severity: Severity, message: str, path: str = "$") -> "Finding":
        return cls(rule, severity, message, doc.source, doc.kind, doc.name, path)

    def format(self) -> str:
        where = f"{self.kind}/{self.name}" if self.kind or self.name else ""
        loc = " ".join(x for x in (self.source and f"{self.source}:", where, self.path) if x)
        return f"{self.severity.value}[{self.rule}] {loc}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["severity"] = self.severity.value
        return d


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)
