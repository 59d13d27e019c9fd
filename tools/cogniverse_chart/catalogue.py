"""The chart's workflow catalogue, read from the chart itself: its one source is `workflows.templates` and
`workflows.cronWorkflows` in the chart's values.yaml, where every WorkflowTemplate and CronWorkflow the chart
renders has its block (the templates name each object `kebabcase <key>`).

- templates        the WorkflowTemplates a user submits (video-ingestion, ...), values order
- cron_workflows   every CronWorkflow (each also renders a WorkflowTemplate of its name)
- background       the CronWorkflows scheduled more often than hourly (the chart's deadline-watchdog): the
                   chart's own, not the guide's; they run beside whatever a user does and send no notice
- guide_crons      the others: the guide's CronWorkflows
- cron_files       the guide's `workflows/scheduled-*.yaml` files and the CronWorkflows of each: the scheduled
                   optimizations (a block with `optimizers`) in scheduled-optimization, the rest in
                   scheduled-maintenance

`generate`, the test helpers (tests/lib/chart_utils.py) and the guide runner read it from here;
tests/workflows/test_catalogue.py checks it against what the chart renders.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import CHART_DIR
from .errors import ToolkitError

#: The guide's CronWorkflow files: (file name, whether a CronWorkflow of that file runs optimizers).
CRON_FILE_NAMES = (("scheduled-maintenance", False), ("scheduled-optimization", True))


@dataclass(frozen=True)
class Catalogue:
    templates: tuple[str, ...]
    cron_workflows: tuple[str, ...]
    background: tuple[str, ...]
    cron_files: dict[str, tuple[str, ...]]

    @property
    def guide_crons(self) -> tuple[str, ...]:
        return tuple(n for n in self.cron_workflows if n not in self.background)


def kebab(key: str) -> str:
    """Sprig's `kebabcase` of a values key: videoIngestion -> video-ingestion."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", key).lower()


def more_often_than_hourly(schedules: list[str]) -> bool:
    """A schedule whose minute field is not one number (*/5, 0,30, *) fires more than once an hour."""
    return any(not str(s).split()[0].isdigit() for s in schedules)


@functools.cache
def catalogue(chart: Path = CHART_DIR) -> Catalogue:
    path = chart / "values.yaml"
    try:
        workflows = (yaml.safe_load(path.read_text(encoding="utf-8")) or {})["workflows"]
        templates, crons = workflows["templates"], workflows["cronWorkflows"]
        if not (isinstance(templates, dict) and isinstance(crons, dict)
                and all(isinstance(c, dict) for c in crons.values())):
            raise TypeError("each must be a mapping of blocks")
    except (OSError, yaml.YAMLError, KeyError, TypeError) as e:
        raise ToolkitError(f"{path}: expected workflows.templates and workflows.cronWorkflows ({e})") from None
    background = tuple(kebab(k) for k, c in crons.items() if more_often_than_hourly(c.get("schedules") or []))
    files = {name: tuple(kebab(k) for k, c in crons.items() if ("optimizers" in c) == optimizes)
             for name, optimizes in CRON_FILE_NAMES}
    return Catalogue(templates=tuple(kebab(k) for k in templates), cron_workflows=tuple(kebab(k) for k in crons),
                     background=background, cron_files=files)
