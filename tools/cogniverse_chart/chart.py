"""Run checks over the chart itself: render every profile in values/ (in parallel), then merge the
findings so one problem present in several profiles is reported once, naming the profiles.

`check()` is the chart CI job (`cogniverse-chart check`): every profile rendered with every Helm
major, validated against the strict schemas, linted, and the generated files checked for drift.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import CHART_DIR
from .documents import Document
from .errors import ToolkitError
from .findings import Finding, Severity
from .helm import Helm, available_helms, find_helm
from .render import DEFAULT_KUBE_VERSION, DEFAULT_NAMESPACE, DEFAULT_RELEASE, RenderRequest, profile_path, profiles, render

if TYPE_CHECKING:
    from .config import Config
    from .validate import Validator


def select_profiles(names: list[str] | None) -> dict[str, Path | None]:
    """The checkout's values/ profiles (the library's default scenarios), or those named."""
    if names:
        return {n: profile_path(n) for n in names}
    found = profiles()
    if not found:
        raise ToolkitError("no profiles in values/*.yaml to render; pass manifest paths instead")
    return dict(found)


def render_profiles(names: list[str] | None = None, *, chart: Path = CHART_DIR, helm: Helm | None = None,
                    kube_version: str = DEFAULT_KUBE_VERSION, scenarios: dict[str, Path | None] | None = None,
                    extra_values: list[Path] | None = None, release: str = DEFAULT_RELEASE,
                    namespace: str = DEFAULT_NAMESPACE, set_values: list[str] | None = None,
                    set_string_values: list[str] | None = None, include_crds: bool = False) -> dict[str, list[Document]]:
    """{scenario: documents} for each scenario (helm template runs in parallel). `scenarios` maps a name
    to its values file (None: the chart's defaults); without it, the checkout's values/ profiles `names`.
    `extra_values` (-f), then `set_values` (--set) and `set_string_values`, apply on top of every scenario;
    `include_crds`: the files of the crds/ folders Helm installs too (see chart_crds)."""
    chosen = scenarios if scenarios is not None else select_profiles(names)
    from .chart_yaml import is_library

    if is_library(chart):  # nothing to render (helm template refuses it); ct, helm lint and maintainers still run
        return {name: [] for name in chosen}
    helm = helm or find_helm()

    def one(item: tuple[str, Path | None]) -> tuple[str, list[Document]]:
        name, path = item
        req = RenderRequest(values_files=([path] if path else []) + list(extra_values or []), chart=chart,
                            kube_version=kube_version, release=release, namespace=namespace,
                            set_values=list(set_values or []), set_string_values=list(set_string_values or []),
                            include_crds=include_crds)
        return name, render(req, helm)

    with ThreadPoolExecutor(max_workers=max(1, min(4, len(chosen)))) as pool:
        return dict(pool.map(one, chosen.items()))


def merge(per_profile: dict[str, list[Finding]]) -> list[Finding]:
    """Findings of several profiles: identical ones once, with the profiles named in `source`."""
    seen: dict[Finding, list[str]] = {}
    for profile, findings in per_profile.items():
        for f in findings:
            seen.setdefault(f, []).append(profile)
    out = []
    everywhere = len(per_profile)
    for f, profs in seen.items():
        label = "all profiles" if len(profs) == everywhere and everywhere > 1 else "profile " + ", ".join(profs)
        out.append(replace(f, scenarios=label))
    return out


def render_with_helms(names: list[str] | None, *, chart: Path = CHART_DIR, helms: list[Helm] | None = None,
                      **kw: Any) -> dict[str, list[Document]]:
    """{profile: docs}, or {profile@helmN: docs} when rendering with several Helm majors (in parallel).
    Default: every Helm major found. Keyword arguments go to render_profiles."""
    helms = helms if helms is not None else available_helms()
    if not helms:
        helms = [find_helm()]  # raises with how to get one
    if len(helms) == 1:
        return render_profiles(names, chart=chart, helm=helms[0], **kw)
    with ThreadPoolExecutor(max_workers=len(helms)) as pool:
        parts = list(pool.map(lambda h: (h, render_profiles(names, chart=chart, helm=h, **kw)), helms))
    return {f"{name}@helm{h.major}": docs for h, found in parts for name, docs in found.items()}


@dataclass(frozen=True)
class Generated:
    """Which generated files `check` compares with their sources (the Cogniverse layout; see config)."""

    values_schema: bool = True
    docs: bool = True
    diagrams: Path | None = None
    workflows_dir: Path | None = None
    workflows_values: Path | None = None  # the scenario the guide workflows are generated for

    @classmethod
    def for_chart(cls, chart: Path, cfg: "Config", with_docs: bool = True) -> "Generated":
        from . import docs, values_schema

        return cls(values_schema=cfg.get("values-schema", values_schema.authored_in_parts(chart)),
                   docs=with_docs and cfg.get("docs", docs.has_markers(chart)),
                   diagrams=cfg.relpath("diagrams") if with_docs else None,
                   workflows_dir=cfg.relpath("workflows-dir"),
                   workflows_values=_guide_values(chart, cfg) if cfg.get("workflows-dir") else None)


def _guide_values(chart: Path, cfg: "Config") -> Path | None:
    from .config import scenarios
    from .generate import DEFAULT_PROFILE

    return scenarios(chart, cfg).get(DEFAULT_PROFILE)


def generated_files(chart: Path, with_docs: bool | Generated) -> list[Finding]:
    """values.schema.json, the generated documentation and the guide workflows are current."""
    from . import docs, safe_write, values_schema

    want = with_docs if isinstance(with_docs, Generated) else Generated(docs=with_docs, diagrams=docs.DIAGRAMS)
    out = []
    if want.values_schema and not values_schema.is_current(chart):
        out.append(Finding("generated/values-schema", Severity.ERROR,
                           "values.schema.json is stale: run `cogniverse-chart schema` (or set "
                           "values-schema = false in the config when schema/ is not its source)",
                           str(chart / values_schema.SCHEMA_FILE)))
    if want.docs and not (chart / "values.schema.json").exists():  # E16: said only "values.schema.json: not found"
        out.append(Finding("generated/docs", Severity.ERROR,
                           "README.md has a values table but the chart has no values.schema.json, which the table is "
                           "made from: add one, or set docs = false in the config", str(chart / "README.md")))
    elif want.docs:
        try:
            for f in docs.plan(chart, readme=chart / "README.md", diagrams=want.diagrams):
                # `docs` refuses to write through a link (safe_write): a linked file could never be brought
                # up to date, so check calls it stale, as `docs --check` does
                link = f.path.parent == chart and safe_write.link_on_way(f.path, chart)
                if link:
                    out.append(Finding("generated/docs", Severity.ERROR,
                                       f"{link} is a symbolic link, which `cogniverse-chart docs` refuses to write "
                                       f"through: replace it with a regular file", str(f.path)))
                elif f.stale:
                    out.append(Finding("generated/docs", Severity.ERROR,
                                       "generated documentation is stale: run `cogniverse-chart docs`", str(f.path)))
        except ToolkitError as exc:
            readme = str(chart / "README.md")
            out.append(Finding("generated/docs", Severity.ERROR, str(exc).replace(f"{readme}: ", ""), readme))
    if want.workflows_dir is not None:
        from . import generate

        values = [want.workflows_values] if want.workflows_values else []
        files = generate.guide_files(render(RenderRequest(values_files=values, chart=chart)), generate.Target(), chart)
        for name in generate.drift(files, want.workflows_dir):
            out.append(Finding("generated/workflows", Severity.ERROR,
                               "out of date with the chart: run `cogniverse-chart generate`",
                               str(want.workflows_dir / name)))
    return out


@dataclass
class CheckResult:
    findings: list[Finding]
    rendered: dict[str, list[Document]]
    per_profile: dict[str, list[Finding]]
    timing: dict[str, float]  # render_s, validate_lint_s, total_s


def check(validator: "Validator", names: list[str] | None = None, *, chart: Path = CHART_DIR,
          helms: list[Helm] | None = None, disable: list[str] | None = None, with_docs: bool | Generated = True,
          **render_kw: Any) -> CheckResult:
    """Render every selected profile with every Helm (with the CRDs Helm installs), validate each (its CRDs
    too) and lint its templates' objects, check generated files."""
    from .chart_crds import own_kinds, split
    from .lint import lint

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=1) as pool:
        # the generated-docs check renders the chart's defaults: let that helm run overlap the profiles'
        generated = pool.submit(generated_files, chart, with_docs)
        rendered = render_with_helms(names, chart=chart, helms=helms, include_crds=True, **render_kw)
        t_render = time.perf_counter()
        per_profile: dict[str, list[Finding]] = {}
        for name, objs in rendered.items():
            crds, templates = split(objs)  # the CRDs Helm installs in this scenario define kinds for its objects
            with own_kinds(validator, crds):
                per_profile[name] = validator.validate(objs) + lint(templates, disable or [])
        findings = merge(per_profile)
        t_checks = time.perf_counter()
        findings += generated.result()
    timing = {"render_s": round(t_render - started, 3), "validate_lint_s": round(t_checks - t_render, 3),
              "total_s": round(time.perf_counter() - started, 3)}
    return CheckResult(findings, rendered, per_profile, timing)


def summary(result: CheckResult) -> dict[str, dict[str, Any]]:
    """{profile: {objects, error, warning, info}}."""
    from .report import counts

    return {name: {"objects": len(objs), **counts(result.per_profile[name])} for name, objs in result.rendered.items()}
