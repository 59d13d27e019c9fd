"""CronWorkflows: schedules and time zones parse for real; concurrency policy; heavy jobs apart."""

from __future__ import annotations

import bisect
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Any, Iterator

from ..cronexpr import CronError, parse, zone
from ..findings import Severity
from ..documents import json_path
from ..argo.model import Cron, cron_of, workflow_specs
from .registry import Hit, LintContext, rule

#: Annotation marking a CronWorkflow as light (it may start in the same minute as others).
HEAVY_ANNOTATION = "workflows.cogniverse.io/heavy"
#: The window compared for same-minute starts: a leap year, so Feb 29 schedules count too.
OVERLAP_START, OVERLAP_DAYS = date(2028, 1, 1), 366


def _crons(ctx: LintContext) -> list[Cron]:
    return [c for d in ctx.of_kind("CronWorkflow") if (c := cron_of(d)) is not None]


@rule("argo/cron-schedule", Severity.ERROR, "CronWorkflow schedules must be valid cron expressions")
def cron_schedule(ctx: LintContext) -> Iterator[Hit]:
    for c in _crons(ctx):
        for expr, path in c.schedules:
            try:
                parse(expr)
            except CronError as e:
                yield Hit(c.doc, json_path(path), f"invalid cron expression '{expr}': {e}")
        if "schedule" in (c.doc.obj.get("spec") or {}) and not ctx.argo4:  # 4.0: argo/cron-spec, an error
            yield Hit(c.doc, "$.spec.schedule", "spec.schedule (singular) was removed in Argo Workflows 4.0; "
                                                "use spec.schedules: [\"...\"]", Severity.WARNING)


@rule("argo/cron-no-schedule", Severity.ERROR,
      "a CronWorkflow has a schedule (Argo 3.x accepts none and never runs it; 4.0: argo/cron-spec)",
      beyond_argo=True)
def cron_no_schedule(ctx: LintContext) -> Iterator[Hit]:
    if ctx.argo4:
        return
    for c in _crons(ctx):
        if not c.schedules:
            yield Hit(c.doc, "$.spec.schedules", f"no schedule: Argo {ctx.argo_version} accepts this CronWorkflow but "
                                                 f"never runs it; set spec.schedules (a list of cron expressions)")


@rule("argo/cron-timezone", Severity.ERROR, "CronWorkflow time zones must be IANA zone names")
def cron_timezone(ctx: LintContext) -> Iterator[Hit]:
    for c in _crons(ctx):
        if c.timezone:
            try:
                zone(c.timezone)
            except CronError as e:
                yield Hit(c.doc, "$.spec.timezone", str(e))


@rule("policy/cron-concurrency", Severity.ERROR, "CronWorkflows must set concurrencyPolicy explicitly")
def cron_concurrency(ctx: LintContext) -> Iterator[Hit]:
    for c in _crons(ctx):
        if not (c.doc.obj.get("spec") or {}).get("concurrencyPolicy"):
            yield Hit(c.doc, "$.spec.concurrencyPolicy",
                      "no concurrencyPolicy: the default (Allow) lets a slow run overlap the next one; "
                      "set Forbid or Replace")


def _mapping(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _locks(ctx: LintContext, c: Cron) -> set[str]:
    """Workflow-level semaphores and mutexes a CronWorkflow's runs hold (those of the WorkflowTemplate it
    runs, for a workflowTemplateRef: its own workflowSpec's synchronization, if any, takes precedence)."""
    spec = _mapping(_mapping(c.doc.obj.get("spec")).get("workflowSpec"))  # a list there: the schema says so
    sync: Any = _mapping(spec.get("synchronization"))
    if not sync:
        for w in workflow_specs(c.doc):
            sync = _mapping(ctx.run_spec(w).spec.get("synchronization"))
    out = set()
    sems = list(sync.get("semaphores") or []) + ([sync["semaphore"]] if sync.get("semaphore") else [])
    for s in sems:
        ref = (s or {}).get("configMapKeyRef") or {}
        if ref:
            out.add(f"semaphore {ref.get('name')}/{ref.get('key')}")
        elif (s or {}).get("database"):
            out.add(f"semaphore db/{s['database'].get('key')}")
    mxs = list(sync.get("mutexes") or []) + ([sync["mutex"]] if sync.get("mutex") else [])
    for m in mxs:
        if (m or {}).get("name"):
            out.add(f"mutex {m['name']}")
    return out


@lru_cache(maxsize=256)
def _starts(expr: str, tz: str) -> frozenset[int]:
    """UTC minutes (epoch // 60) at which a schedule starts within the comparison window."""
    return frozenset(int(t.timestamp()) // 60 for t in parse(expr).fire_times(tz, OVERLAP_START, OVERLAP_DAYS))


@rule("policy/cron-overlap", Severity.ERROR,
      "heavy CronWorkflows must not start in the same minute unless serialised by a shared semaphore/mutex")
def cron_overlap(ctx: LintContext) -> Iterator[Hit]:
    heavy: list[tuple[Cron, frozenset[int], set[str]]] = []
    for c in _crons(ctx):
        ann = ((c.doc.obj.get("metadata") or {}).get("annotations") or {}).get(HEAVY_ANNOTATION)
        if str(ann).lower() == "false":
            continue
        try:
            zone(c.timezone)
            sets = [_starts(expr, c.timezone) for expr, _ in c.schedules]
        except CronError:
            continue  # reported by argo/cron-schedule / argo/cron-timezone
        # one schedule: keep the cached set object itself, so identical schedules share it (see below)
        starts = sets[0] if len(sets) == 1 else frozenset().union(*sets)
        heavy.append((c, starts, _locks(ctx, c)))
    # One finding per CronWorkflow, naming the earlier ones it collides with. CronWorkflows with the
    # same start times, locks and namespace form a group and groups are compared once, so streams with
    # hundreds of schedules stay fast.
    groups: dict[tuple[int, frozenset[str], str], list[int]] = {}
    group_of: list[tuple[int, frozenset[str], str]] = []
    for i, (c, starts, locks) in enumerate(heavy):
        key = (id(starts), frozenset(locks), c.doc.namespace)
        groups.setdefault(key, []).append(i)
        group_of.append(key)
    group_starts = {key: heavy[members[0]][1] for key, members in groups.items()}
    clash: dict[tuple[tuple[int, frozenset[str], str], tuple[int, frozenset[str], str]], bool] = {}

    def clashes(ga: tuple[int, frozenset[str], str], gb: tuple[int, frozenset[str], str]) -> bool:
        if (ga, gb) not in clash:
            ns_ok = not ga[2] or not gb[2] or ga[2] == gb[2]
            clash[(ga, gb)] = ns_ok and not (ga[1] & gb[1]) and not group_starts[ga].isdisjoint(group_starts[gb])
        return clash[(ga, gb)]

    # only CronWorkflows of the same namespace (or without one) can clash: compare within those
    by_ns: dict[str, list[tuple[int, frozenset[str], str]]] = {}
    for key in groups:
        by_ns.setdefault(key[2], []).append(key)
    for j, (b, sb, _) in enumerate(heavy):
        gb = group_of[j]
        earlier: list[int] = []
        count = 0
        candidates = list(groups) if not gb[2] else by_ns.get(gb[2], []) + (by_ns.get("", []) if gb[2] else [])
        for ga in candidates:
            members = groups[ga]
            if not clashes(ga, gb):
                continue
            n = bisect.bisect_left(members, j)
            count += n
            earlier += members[:min(n, 4)]
        if not count:
            continue
        earlier.sort()
        a, sa, _ = heavy[earlier[0]]
        common = sa & sb
        first = datetime.fromtimestamp(min(common) * 60, timezone.utc).strftime("%a %Y-%m-%d %H:%M UTC")
        others = "".join(f", '{heavy[i][0].doc.name}'" for i in earlier[1:4])
        more = f" and {count - 4} more" if count > 4 else ""
        yield Hit(b.doc, "$.spec.schedules",
                  f"starts in the same minute as CronWorkflow '{a.doc.name}'{others}{more} ({len(common)} times "
                  f"a year with '{a.doc.name}', first {first}); move one schedule, put both under the same "
                  f"semaphore or mutex, or annotate the light one {HEAVY_ANNOTATION}: \"false\"")
