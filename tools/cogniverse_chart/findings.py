"""Finding: what every check (schema validation, lint rule) returns. The CLI only formats them.

`Policy` applies the user's settings to findings: severities from the config file (`off` drops a rule)
and suppressions of one finding on one object, by an annotation that must say why:

    metadata:
      annotations:
        cogniverse-chart.io/ignore.policy.image-tag: "pinned by digest in the mirror"   # rule policy/image-tag
        cogniverse-chart.io/ignore.schema: "CRD validated by the operator"              # every schema/* rule
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from .documents import Document

if TYPE_CHECKING:
    from .config import Config

SUPPRESS_PREFIX = "cogniverse-chart.io/ignore."
_BARE = SUPPRESS_PREFIX[:-1]  # `cogniverse-chart.io/ignore`: a suppression without its rule is reported too


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
    scenarios: str = ""  # where a merged finding was seen: "all profiles", "profile a, b" (chart.merge)
    namespace: str = ""  # the object's metadata.namespace: tells namesakes in one file apart (locations)
    api_version: str = ""  # the object's apiVersion: with namespace, kind and name, which object it is
    doc_line: int = 0  # 0-based line of the source where the object's document starts (not in the JSON)

    @classmethod
    def for_doc(cls, doc: Document, rule: str, severity: Severity, message: str, path: str = "$") -> "Finding":
        return cls(rule, severity, message, doc.source, doc.kind, doc.name, path, namespace=doc.namespace,
                   api_version=doc.api_version, doc_line=doc.line)

    def format(self) -> str:
        where = f"{self.kind}/{self.name}" if self.kind or self.name else ""
        source = f"{self.source} [{self.scenarios}]" if self.scenarios else self.source
        inside = " ".join(x for x in (where, self.path) if x)
        loc = f"{source}: {inside}" if source and inside else source or inside
        return f"{self.severity.value}[{self.rule}] {loc}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        del d["doc_line"]  # internal: the line of the finding itself is given by the machine formats
        d["severity"] = self.severity.value
        return d


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


#: What the person running the command asked for (`validate --reject KIND`), and the findings about the
#: suppressions themselves: an object cannot exempt itself from these.
UNSUPPRESSIBLE = frozenset({"schema/rejected-kind", "config/suppression-reason", "config/suppression-unknown-rule"})


def _suppressed(rule: str, ignored: dict[str, str]) -> str | None:
    """The reason an object's annotations give for ignoring `rule` (its exact id, or its whole family), if any."""
    for key, reason in ignored.items():
        if rule == key or ("/" not in key and rule.startswith(key + "/")):
            return reason
    return None


#: A suppression's reason is a sentence or two; beyond this it is refused (the API server caps all annotations
#: of an object at 256 KiB together)
MAX_REASON = 1024


def annotation_rule(name: str) -> str:
    """The rule id an annotation names after the prefix: `policy.image-tag` -> policy/image-tag (the first
    dot ends the family; later dots belong to the id, as in schema.k8s-1.30), `schema` -> the family."""
    return name.replace(".", "/", 1)


@dataclass
class Policy:
    """The config's severities and the objects' suppression annotations, applied to findings."""

    config: "Config | None" = None
    # (source, apiVersion, kind, namespace, name) -> {rule: reason}: an annotation speaks for its own object
    # only, never for a namesake in another file, namespace or API group, nor for every object without a
    # kind or name
    ignored: dict[tuple[str, str, str, str, str], dict[str, str]] = field(default_factory=dict)
    bad: list[Finding] = field(default_factory=list)  # suppressions without a reason
    suppressed: list[tuple[Finding, str]] = field(default_factory=list)
    hidden: int = 0  # findings of rules the config turns off

    def config_note(self) -> dict[str, Any] | None:
        """The config file in effect when it turns rules off (D59: a config beside a chart switched every
        family off without a word): {"file", "rules_off", "hidden"}, or None."""
        if self.config is None or self.config.path is None:
            return None
        off = sorted(rule for rule, setting in self.config.rules.items() if setting == "off")
        return {"file": self.config.label, "rules_off": off, "hidden": self.hidden} if off else None

    def watch(self, docs: Iterable[Document]) -> Iterator[Document]:
        """Pass documents through, noting their suppression annotations (for streams read once)."""
        for doc in docs:
            self.note(doc)
            yield doc

    def note(self, doc: Document) -> None:
        meta = doc.obj.get("metadata")
        annotations = meta.get("annotations") if type(meta) is dict else None  # noqa: E721 - the hot path
        if not annotations or type(annotations) is not dict:  # noqa: E721
            return
        if not any(str(k).startswith(_BARE) for k in annotations):
            return
        if not doc.kind or not doc.name:
            return  # an object with no kind or name cannot be told apart from others: it suppresses nothing
        mine = self.ignored.setdefault((doc.source, doc.api_version, doc.kind, doc.namespace, doc.name), {})
        for key, reason in annotations.items():
            key = str(key)
            if not key.startswith(_BARE):
                continue
            rule = key[len(SUPPRESS_PREFIX):] if key.startswith(SUPPRESS_PREFIX) else ""
            problem = self._suppression_problem(key, rule, reason)
            if problem:
                rule_id, severity, message = problem
                self.bad.append(Finding.for_doc(doc, rule_id, severity, message, f"$.metadata.annotations[{key!r}]"))
                continue
            mine[annotation_rule(rule)] = reason.strip()

    @staticmethod
    def _suppression_problem(key: str, rule: str, reason: Any) -> tuple[str, Severity, str] | None:
        """What is wrong with one suppression annotation (rule id, severity, message), or None."""
        from .config import known_rule

        if not rule:  # `.../ignore.`, and `.../ignore` or `.../ignore-schema` that look like one
            return ("config/suppression-reason", Severity.ERROR,
                    f"annotation {key} names no rule: write {SUPPRESS_PREFIX}FAMILY.RULE (e.g. "
                    f"{SUPPRESS_PREFIX}policy.image-tag)")
        if not isinstance(reason, str) or not any(c.isalnum() for c in reason):
            return ("config/suppression-reason", Severity.ERROR,
                    f"annotation {key} must say why the finding is ignored (a reason in words); "
                    f"it suppresses nothing until it does")
        if len(reason) > MAX_REASON:  # E22: a 300,000-character "reason" suppressed; the API server refuses such
            return ("config/suppression-reason", Severity.ERROR,  # annotations (256 KiB for all of them)
                    f"annotation {key}: its reason has {len(reason):,} characters; say why in at most "
                    f"{MAX_REASON:,}; it suppresses nothing until it does")
        named = annotation_rule(rule)
        if named.endswith("/") or "//" in named:  # `ignore.schema.`: an empty rule part matches no finding (E21)
            return ("config/suppression-unknown-rule", Severity.WARNING,
                    f"annotation {key} has an empty rule part: write {SUPPRESS_PREFIX}{named.split('/')[0]} for the "
                    f"whole family or {SUPPRESS_PREFIX}{named.split('/')[0]}.RULE; it suppresses nothing")
        if not known_rule(named):
            return ("config/suppression-unknown-rule", Severity.WARNING,
                    f"annotation {key} names no rule or family the toolkit has (see `cogniverse-chart lint "
                    f"--list-rules`; write {SUPPRESS_PREFIX}FAMILY.RULE); it suppresses nothing")
        if named in UNSUPPRESSIBLE or named.rstrip("/") == "config":
            return ("config/suppression-unknown-rule", Severity.WARNING,
                    f"annotation {key}: {named} findings cannot be suppressed by an annotation "
                    f"(they are what the run was asked to enforce, or about suppressions); it suppresses nothing")
        return None

    def apply(self, findings: Iterable[Finding]) -> list[Finding]:
        from .config import rule_setting

        out: list[Finding] = []
        findings = list(findings)
        for f in findings + [b for b in self.bad if b not in findings]:
            mine = self.ignored.get((f.source, f.api_version, f.kind, f.namespace, f.name), {})
            reason = None if f.rule in UNSUPPRESSIBLE else _suppressed(f.rule, mine)
            if reason is not None:
                self.suppressed.append((f, reason))
                continue
            if self.config is not None and self.config.rules:
                setting, _ = rule_setting(f.rule, self.config)
                if setting == "off":
                    self.hidden += 1
                    continue
                if setting is not None and setting != f.severity.value:
                    f = replace(f, severity=Severity(setting))
            out.append(f)
        return out
