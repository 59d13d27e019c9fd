"""A chart folder's Chart.yaml as the toolkit reads it outside the release checks: its mapping (within Helm's
size limit), whether it is a library chart, and the release name its `name` gives."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .errors import ToolkitError


def chart_meta(chart: Path) -> dict[str, Any]:
    """The chart folder's Chart.yaml as a mapping ({} when it is no mapping), read within Helm's size limit."""
    import yaml

    from .io_limits import check_chart_file

    path = chart / "Chart.yaml"
    check_chart_file(path)
    try:
        meta = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeError, yaml.YAMLError) as exc:
        raise ToolkitError(f"{path}: cannot read the chart's name: {exc}"[:400]) from None
    return meta if isinstance(meta, dict) else {}


def is_library(chart: Path) -> bool:
    """A library chart (`type: library`): Helm renders nothing from it (`helm template` refuses it)."""
    return chart.is_dir() and chart_meta(chart).get("type") == "library"


#: Helm's best practice for chart names, which are also the default release name here
CHART_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def chart_name(chart: Path) -> str:
    """The release name the chart's `name` gives (a packaged .tgz: its file name up to the version): a name
    Helm accepts but a release cannot carry (`My_Chart`) becomes `my-chart` (ct reports the name itself;
    attack24c E20: the whole run was lost)."""
    if chart.is_file():
        return re.sub(r"-\d+\.\d+\.\d+.*$", "", chart.name.removesuffix(".tgz"))
    name = chart_meta(chart).get("name")
    if not isinstance(name, str) or not name.strip():
        raise ToolkitError(f"{chart / 'Chart.yaml'}: `name` must be a chart name (lowercase letters, digits, '-')")
    return name if CHART_NAME.fullmatch(name) else re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:53] or "release"
