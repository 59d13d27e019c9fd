"""The chart's own CustomResourceDefinitions (crds/, and each unpacked subchart's charts/*/crds/): `helm
template` leaves them out, so `check` validates them as plain manifests (an invalid CRD fails the
install), and their schemas validate the chart's custom resources (a chart that ships a CRD and an
object of its kind checks out of the box, as `--schema-location crds/` would)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .documents import read_paths
from .errors import ToolkitError

if TYPE_CHECKING:
    from .findings import Finding
    from .validate import Validator

SUFFIXES = (".yaml", ".yml", ".json")


def crd_files(chart: Path) -> list[Path]:
    """The files Helm installs from crds/ (of the chart and its unpacked subcharts), in a stable order."""
    if not chart.is_dir():
        return []
    folders = [chart / "crds", *sorted(p / "crds" for p in (chart / "charts").glob("*") if p.is_dir())]
    return [p for d in folders if d.is_dir() and not d.is_symlink()
            for p in sorted(d.rglob("*")) if p.suffix in SUFFIXES and p.is_file() and not p.is_symlink()]


def check_crds(chart: Path, validator: "Validator") -> list["Finding"]:
    """Validate the chart's CRD files (findings point at their file and line), then add the schemas they
    define to the validator's own-kinds schemas (a CRD too broken to give one leaves its kind unknown,
    and its own findings say why)."""
    files = crd_files(chart)
    if not files:
        return []
    findings, _ = validator.validate_stream(read_paths([str(p) for p in files]))
    from .schemas import load_locations

    for f in files:
        try:
            found = load_locations([f])
        except ToolkitError:
            continue
        for key, schema in found.items():
            validator.extra_schemas.setdefault(key, schema)
    return findings
