"""Argo's checks of scalar fields: a CronWorkflow's schedule fields, integer fields, and durations
(suspend, timeouts, retry backoff) in Go's or Argo's duration format, and loop item fields."""

from __future__ import annotations

import re
from typing import Iterator

from ...documents import json_path
from ...findings import Severity
from ..registry import Hit, LintContext, rule

@rule("argo/cron-spec", Severity.ERROR,
      "CronWorkflow: one of schedule/schedules (Argo 4.0: schedules only), startingDeadlineSeconds >= 0")
def cron_spec(ctx: LintContext) -> Iterator[Hit]:
    for d in ctx.of_kind("CronWorkflow"):
        spec = d.obj.get("spec") or {}
        if not isinstance(spec, dict):
            continue
        has_one = bool(spec.get("schedule"))
        has_list = bool(spec.get("schedules"))
        if ctx.argo4 and "schedule" in spec:
            yield Hit(d, "$.spec.schedule", "Argo 4.0 removed spec.schedule (singular) and rejects it: write "
                                            "spec.schedules: [\"...\"]")
        elif has_one and has_list:
            yield Hit(d, "$.spec.schedule", f"sets both spec.schedule and spec.schedules, which Argo "
                                            f"{ctx.argo_version} rejects; keep spec.schedules")
        if ctx.argo4 and not has_list:
            yield Hit(d, "$.spec.schedules", "Argo 4.0 requires at least one entry in spec.schedules")
        sds = spec.get("startingDeadlineSeconds")
        if isinstance(sds, int) and sds < 0:
            yield Hit(d, "$.spec.startingDeadlineSeconds", f"startingDeadlineSeconds {sds} must be >= 0")


#: Integer fields of a workflow spec (a string there fails Argo's strict decoding).
INT_FIELDS = ("activeDeadlineSeconds", "parallelism", "priority")
CRON_INT_FIELDS = ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit")


@rule("argo/field-type", Severity.ERROR, "integer fields (activeDeadlineSeconds, parallelism, history limits, ...) "
                                         "hold integers")
def field_type(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        for key in INT_FIELDS:
            v = w.spec.get(key)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
                yield Hit(w.doc, w.path(key), f"spec {key} '{v}' must be an integer (seconds for a deadline: "
                                              f"write 300, not '5m')")
        for t in w.template_list:
            v = t.get("parallelism")
            if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
                yield Hit(w.doc, json_path(w.tpath(str(t.get("name")), "parallelism")),
                          f"template '{t.get('name')}': parallelism '{v}' must be an integer")
    for d in ctx.of_kind("CronWorkflow"):
        spec = d.obj.get("spec") or {}
        for key in CRON_INT_FIELDS:
            v = spec.get(key)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
                yield Hit(d, f"$.spec.{key}", f"{key} '{v}' must be an integer")


_GO_DURATION = re.compile(r"[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+")


def go_duration(v: str) -> bool:
    """Go's time.ParseDuration accepts it ('30s', '1h30m', '0'; no spaces, no days)."""
    return v == "0" or bool(_GO_DURATION.fullmatch(v))


def argo_duration(v: str) -> bool:
    """Argo's ParseStringToDuration accepts it: whole seconds or a Go duration."""
    return bool(re.fullmatch(r"[-+]?\d+", v)) or go_duration(v)


@rule("argo/suspend-duration", Severity.ERROR,
      "suspend.duration is seconds or a Go duration ('30s', '1h'); Argo's validator passes any text and the "
      "node fails when it resumes", beyond_argo=True)
def suspend_duration(ctx: LintContext) -> Iterator[Hit]:
    for w, tn, t in ctx.templates():
        sus = t.get("suspend")
        if not isinstance(sus, dict) or sus.get("duration") in (None, ""):
            continue
        v = str(sus["duration"])
        if "{{" not in v and not argo_duration(v):
            yield Hit(w.doc, json_path(w.tpath(tn, "suspend", "duration")),
                      f"suspend template '{t.get('name')}': duration '{v}' is not a number of seconds or a "
                      f"duration like 30s, 5m, 1h (no spaces, no days)")


@rule("argo/duration-format", Severity.ERROR,
      "template timeout and retryStrategy.backoff durations parse as Argo parses them at run time "
      "('30s', '1h30m'; backoff also whole seconds); Argo's validator passes them unchecked", beyond_argo=True)
def duration_format(ctx: LintContext) -> Iterator[Hit]:
    for w, tn, t in ctx.templates():
        timeout = t.get("timeout")
        if isinstance(timeout, str) and timeout and "{{" not in timeout \
                and not re.fullmatch(r"[+-]?\d+", timeout.strip()) and not go_duration(timeout):
            yield Hit(w.doc, json_path(w.tpath(tn, "timeout")),
                      f"template '{tn}': timeout '{timeout}' is not a duration like 30s, 5m, 1h30m (no spaces, "
                      f"no days); the node fails when it starts")
        backoff = (t.get("retryStrategy") or {}).get("backoff") if isinstance(t.get("retryStrategy"), dict) else None
        if isinstance(backoff, dict):
            for key in ("duration", "maxDuration"):
                v = backoff.get(key)
                if v is None or isinstance(v, int) or "{{" in str(v):
                    continue
                if not argo_duration(str(v)):
                    yield Hit(w.doc, json_path(w.tpath(tn, "retryStrategy", "backoff", key)),
                              f"template '{tn}': retryStrategy.backoff.{key} '{v}' is not seconds or a duration "
                              f"like 30s, 5m, 1h (no spaces, no days); the retry fails at run time")


@rule("argo/item-field", Severity.ERROR,
      "{{item.KEY}} in a withItems loop names a key the items have (withParam items are only known at run time)")
def item_field(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        for s in w.sites:
            if s.expr or s.var[0] != "item" or len(s.var) < 2 or s.call is None:
                continue
            node = s.call.node
            if node.get("withParam") or not isinstance(node.get("withItems"), list) or not node["withItems"]:
                if isinstance(node.get("withSequence"), dict) and not node.get("withItems") and not node.get("withParam"):
                    yield Hit(w.doc, json_path(s.path), f"{{{{{'.'.join(s.var)}}}}} in {s.call.owner} '{s.call.name}': "
                                                        f"withSequence items are numbers; use {{{{item}}}}")
                continue
            keys: set[str] = set()
            for j, item in enumerate(node["withItems"]):
                if isinstance(item, dict):
                    keys |= {str(k) for k in item}
                elif isinstance(item, list):
                    keys |= {f"[{k}]" for k in range(len(item))}
            if s.var[1] not in keys:
                have = ", ".join(sorted(keys)) or "none: the items are plain values, use {{item}}"
                yield Hit(w.doc, json_path(s.path),
                          f"{{{{{'.'.join(s.var)}}}}} in {s.call.owner} '{s.call.name}': the withItems items have no "
                          f"key '{s.var[1]}' (keys: {have})")
