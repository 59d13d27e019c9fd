"""`validate PATH... | -`: strict schema validation of any manifest stream, and of values files."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from ..documents import Document, path_files, read_file
from ..errors import ToolkitError
from ..io_limits import LimitExceeded
from ..findings import Finding, Policy, Severity
from ..perf.parallel import sharded
from ..report import emit

if TYPE_CHECKING:
    from ..validate import Validator
from .options import add_chart_arg, add_kind_filter_args, add_schema_args, chart_of, config_of, kinds, \
    validator_from_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="validate manifests against strict Kubernetes and Argo schemas",
                       description="Validate every object in the given files/directories ('-' = stdin) "
                                   "against bundled strict schemas. Exit 0 valid, 1 invalid, 2 bad input.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="manifest file, directory, or '-' for stdin")
    add_schema_args(p)
    add_kind_filter_args(p)
    p.add_argument("--values", "-f", action="append", default=[], type=Path, metavar="FILE",
                   help="also validate a values file against the chart's values.schema.json; repeatable")
    add_chart_arg(p, "chart whose values.schema.json checks --values")
    p.add_argument("--pre-commit", action="store_true",
                   help="run as the pre-commit hook: the file names come last and are files even when they look "
                        "like options; a Helm chart's own sources (Chart.yaml, values*.yaml, templates/, ci/, "
                        "charts/ beside a Chart.yaml) are skipped, so are YAML documents with neither apiVersion nor "
                        "kind (mkdocs.yml, docker-compose.yaml) and kustomize files, and no file left is fine")
    p.set_defaults(func=run)


def chart_source(path: Path) -> bool:
    """Whether a file is a source of the nearest Helm chart above it, not a manifest: its Chart.yaml, a
    values*.yaml at its root, or anything under its templates/, ci/ or charts/ (crds/ holds manifests)."""
    path = Path(os.path.abspath(path))
    for chart in path.parents:
        if (chart / "Chart.yaml").is_file():
            first, *rest = path.relative_to(chart).parts
            return first in ("templates", "ci", "charts") or (not rest and (
                first == "Chart.yaml" or first.startswith("values")))
    return False


class KindFilter:
    """kubeconform's --skip and --reject (by Kind or apiVersion/Kind), and the suppression annotations the
    policy notes, in one pass over the stream (one generator per object is the cheapest)."""

    def __init__(self, skip: set[str], reject: set[str], policy: Policy, manifests_only: bool = False) -> None:
        self.skip, self.reject, self.policy = skip, reject, policy
        self.skipped = 0
        self.rejected: list[Finding] = []
        #: the pre-commit hook sees every YAML file of a repository (mkdocs.yml, docker-compose.yaml, .yamllint,
        #: kustomization.yaml): documents that are no Kubernetes objects are counted, not validated (E10)
        self.manifests_only = manifests_only
        self.not_manifests = 0

    def _not_a_manifest(self, doc: Document) -> bool:
        """Neither apiVersion nor kind (a config file of another tool), or a kustomize file (its own API
        group, read by kustomize, never sent to a cluster). An object with one of the two is a manifest with a
        mistake, and is validated."""
        obj = doc.obj
        api = obj.get("apiVersion")
        if "apiVersion" not in obj and "kind" not in obj:
            return True
        return isinstance(api, str) and api.startswith(_KUSTOMIZE)

    @staticmethod
    def _matches(doc: Document, names: set[str]) -> bool:
        return doc.kind in names or f"{doc.api_version}/{doc.kind}" in names

    def __call__(self, docs: Iterable[Document]) -> Iterator[Document]:
        note = self.policy.note
        if self.manifests_only:
            docs = self._manifests(docs)
        if not (self.skip or self.reject):
            for doc in docs:
                note(doc)
                yield doc
            return
        for doc in docs:  # only objects that are validated have their suppressions noted and judged (E44)
            if self.reject and self._matches(doc, self.reject):
                self.rejected.append(Finding.for_doc(doc, "schema/rejected-kind", Severity.ERROR,
                                                     f"kind {doc.kind} is rejected (--reject)", "$.kind"))
            elif self.skip and self._matches(doc, self.skip):
                self.skipped += 1
            else:
                note(doc)
                yield doc


    def _manifests(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            if self._not_a_manifest(doc):
                self.not_manifests += 1
            else:
                yield doc


_KUSTOMIZE = "kustomize.config.k8s.io/"
_AT = re.compile(r"^(.*?):(\d+):(\d+): (.*)$", re.S)


def read_each(paths: list[Path], unreadable: list[tuple[Finding, str]]) -> Iterator[Document]:
    """The documents of every file; a file that cannot be parsed becomes a finding (schema/invalid-yaml,
    at its line) and the other files are still validated, as kubeconform does (attack24c E11). A path
    that names nothing stays an input error (exit 2)."""
    for f in paths:
        source = "<stdin>" if str(f) == "-" else str(f)

        def bad_document(exc: ToolkitError, first_line: int, source: str = source) -> None:
            unreadable.append((_invalid(exc, source, first_line), str(exc)))

        try:  # a bad document is a finding and the next one is read (attack24d F1); a bad stream ends the file
            yield from read_file(f, source if source == "<stdin>" else None, bad_document)
        except LimitExceeded:
            raise
        except ToolkitError as exc:
            unreadable.append((_invalid(exc, source, 0), str(exc)))


#: what --skip/--reject take: a Kind, or apiVersion/Kind (`v1/ConfigMap`, `apps/v1/Deployment`)
_KIND_ENTRY = re.compile(r"(?:(?:[a-z0-9.-]+/)?v\d[a-z0-9]*/)?[A-Za-z][A-Za-z0-9]*")


def kind_warnings(option: str, raw: list[str], names: set[str], validator: "Validator") -> list[str]:
    """What is wrong with --skip/--reject entries that would match nothing (attack24c E32: `--skip configmap`,
    `'*'`, `v1/ConfigMap/extra` and `','` silently skipped nothing); a kind the schemas do not know is fine
    (a custom resource), unless it differs from one they know only in case."""
    if raw and not names:
        return [f"{option} {','.join(raw)!r} names no kind; it skips nothing"[:300]]
    if not names:
        return []
    known = {key.rsplit("/", 1)[1] for b in validator.k8s + validator.argo for key in b.kinds}
    out = []
    for name in sorted(names):
        kind = name.rsplit("/", 1)[-1]
        if not _KIND_ENTRY.fullmatch(name):
            out.append(f"{option} {name!r} is neither a Kind nor apiVersion/Kind (e.g. ConfigMap, apps/v1/Deployment); "
                       f"it matches nothing"[:300])
        elif kind not in known and (same := sorted(k for k in known if k.lower() == kind.lower())):
            out.append(f"{option} {name!r} matches no kind (kinds are case-sensitive); did you mean {same[0]}?"[:300])
    return out


def unreadable_findings(unreadable: list[tuple[Finding, str]], checked: int, files: list[Path]) -> list[Finding]:
    """The findings of what read_each could not read; when nothing at all could be read, the input is bad (exit 2)."""
    if unreadable and not checked and len({f.source for f, _ in unreadable}) == len(files):
        raise ToolkitError(unreadable[0][1] if len(unreadable) == 1 else
                           f"no file could be read: {'; '.join(raw for _, raw in unreadable)}"[:600])
    return [f for f, _ in unreadable]


def _invalid(exc: ToolkitError, source: str, first_line: int) -> Finding:
    """The schema/invalid-yaml finding of a file or document that cannot be read, at the parser's line
    (else the document's first line)."""
    m = _AT.match(str(exc))
    line = int(m[2]) - 1 if m and m[1] == source else first_line
    message = f"line {m[2]}, column {m[3]}: {m[4]}" if m and m[1] == source else \
        re.sub(r"^.*?: (document \d+: )", r"\1", str(exc).removeprefix(f"{source}: "))
    return Finding("schema/invalid-yaml", Severity.ERROR, message, source, doc_line=max(line, 0))


def run(args: argparse.Namespace) -> int:
    if args.pre_commit:
        args.paths = [p for p in args.paths if p == "-" or not chart_source(Path(p))]
        if not args.paths and not args.values:
            return emit([], args.output, command="validate", checked=0)
    if not args.paths and not args.values:
        raise ToolkitError("nothing to validate: give manifest paths, '-' for stdin, or --values FILE")
    validator = validator_from_args(args)
    config, skip, reject = config_of(args), kinds(args.skip), kinds(args.reject)
    for option, raw, names in (("--skip", args.skip, skip), ("--reject", args.reject, reject)):
        for warning in kind_warnings(option, raw, names, validator):
            print(f"warning: {warning}", file=sys.stderr)
    unreadable: list[tuple[Finding, str]] = []
    files = [f for p in args.paths for f in path_files(p)]

    def check(docs: Iterable[Document]) -> tuple[list[Finding], int, KindFilter]:
        kind_filter = KindFilter(skip, reject, Policy(config), manifests_only=args.pre_commit)
        findings, checked = validator.validate_stream(kind_filter(docs))
        return findings, checked, kind_filter

    findings, checked, kind_filter = sharded(args.paths, check, _join,
                                             one_pass=lambda: read_each(files, unreadable),
                                             before_fork=validator.preload)
    policy = kind_filter.policy
    findings += unreadable_findings(unreadable, checked, files) + kind_filter.rejected
    if args.values:
        from ..values_check import check_values_files

        findings += check_values_files(args.values, chart_of(args), _helm_or_none())
    findings = policy.apply(findings)
    total = checked + len(kind_filter.rejected)
    extra: dict = {"skipped": kind_filter.skipped, "suppressed": len(policy.suppressed)}
    if args.pre_commit:
        extra["not_manifests"] = kind_filter.not_manifests
    invalid = len({(f.source, f.kind, f.name) for f in findings if f.severity is Severity.ERROR and f.kind})
    by_rule = dict(sorted(Counter(f.rule for f in findings).items()))
    if args.summary:  # kubeconform's --summary; in JSON as a key of its own
        extra["resources"] = {"found": total + kind_filter.skipped, "valid": total - invalid, "invalid": invalid,
                              "skipped": kind_filter.skipped, "suppressed": len(policy.suppressed),
                              "findings_by_rule": by_rule}
    code = emit(findings, args.output, command="validate", checked=checked + len(args.values), extra=extra,
                summary=not args.summary, policy=policy)
    if args.pre_commit and kind_filter.not_manifests and args.output == "human":
        print(f"note: {kind_filter.not_manifests} YAML document(s) without apiVersion and kind (or kustomize "
              f"files) skipped: not Kubernetes manifests", file=sys.stderr)
    if args.summary and args.output != "json":
        rules = ", ".join(f"{rule}={n}" for rule, n in by_rule.items()) or "none"
        line = (f"Summary: {total + kind_filter.skipped} resources found - Valid: {total - invalid}, "
                f"Invalid: {invalid}, Skipped: {kind_filter.skipped}, Suppressed: {len(policy.suppressed)}, "
                f"findings by rule: {rules}")
        print(line, file=sys.stdout if args.output == "human" else sys.stderr)
    return code


def _join(first: tuple[list[Finding], int, KindFilter],
          second: tuple[list[Finding], int, KindFilter]) -> tuple[list[Finding], int, KindFilter]:
    """The results of two consecutive parts of a stream (perf.parallel), as one pass over both gives them."""
    (found, checked, kf), (found2, checked2, kf2) = first, second
    kf.skipped += kf2.skipped
    kf.not_manifests += kf2.not_manifests
    kf.rejected += kf2.rejected
    for key, rules in kf2.policy.ignored.items():
        kf.policy.ignored.setdefault(key, {}).update(rules)
    kf.policy.bad += kf2.policy.bad
    return found + found2, checked + checked2, kf


def _helm_or_none():  # type: ignore[no-untyped-def]
    """A helm for the chart's own value checks (--values); without one, the schema alone checks them."""
    from ..helm import find_helm

    try:
        return find_helm()
    except ToolkitError:
        return None
