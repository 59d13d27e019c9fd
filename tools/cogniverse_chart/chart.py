"""Run checks over the chart itself: render every profile in values/ (in parallel), then merge the
findings so one problem present in several profiles is reported once, naming the profiles."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from . import CHART_DIR
from .documents import Document
from .errors import ToolkitError
from .findings import Finding
from .helm import Helm, find_helm
from .render import DEFAULT_KUBE_VERSION, RenderRequest, profile_path, profiles, render


def select_profiles(names: list[str] | None) -> dict[str, Path]:
    if names:
        return {n: profile_path(n) for n in names}
    found = profiles()
    if not found:
        raise ToolkitError("no profiles in values/*.yaml to render; pass manifest paths instead")
    return found


def render_profiles(names: list[str] | None = None, *, chart: Path = CHART_DIR, helm: Helm | None = None,
                    kube_version: str = DEFAULT_KUBE_VERSION) -> dict[str, list[Document]]:
    """{profile: documents} for each selected profile (helm template runs in parallel)."""
    chosen = select_profiles(names)
    helm = helm or find_helm()

    def one(item: tuple[str, Path]) -> tuple[str, list[Document]]:
        name, path = item
        req = RenderRequest(values_files=[path], chart=chart, kube_version=kube_version)
        return name, render(req, helm)

    with ThreadPoolExecutor(max_workers=min(4, len(chosen))) as pool:
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
        out.append(replace(f, source=f"{f.source} [{label}]"))
    return out
