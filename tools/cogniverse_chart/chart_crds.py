"""The CustomResourceDefinitions a chart installs, taken from what Helm installs: `check` renders with
`--include-crds`, and the documents whose `# Source:` path is a chart's `crds/` folder (`CHART/crds/x.yaml`,
`CHART/charts/SUB/crds/x.yaml`, nested deeper for nested subcharts) are the chart's CRDs. So packaged (.tgz)
and nested subcharts, a packaged chart given to `--chart` and a linked crds/ folder count, and a subchart
disabled by its condition does not (Helm leaves its CRDs out; attack24d F7-F9). They are validated as
every other object is (an invalid CRD fails the install), and the schemas they define validate the
chart's custom resources of their kinds (as `--schema-location` would), scenario by scenario."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from .errors import ToolkitError

if TYPE_CHECKING:
    from .documents import Document
    from .validate import Validator

#: `# Source:` of a file Helm installs from a crds/ folder: the chart, then `charts/NAME` per subchart level.
CRD_SOURCE = re.compile(r"^[^/]+(?:/charts/[^/]+)*/crds/")


def is_crd_file(source: str) -> bool:
    return bool(CRD_SOURCE.match(source))


def split(docs: Iterable["Document"]) -> tuple[list["Document"], list["Document"]]:
    """(the CRDs from crds/ folders, every other document). Only a CustomResourceDefinition counts: a template
    that prints a `# Source: CHART/crds/x.yaml` line of its own before a Workflow must not take it out of lint."""
    crds: list[Document] = []
    rest: list[Document] = []
    for doc in docs:
        (crds if doc.kind == "CustomResourceDefinition" and is_crd_file(doc.source) else rest).append(doc)
    return crds, rest


def schemas_of(crds: Iterable["Document"]) -> dict[str, dict]:
    """{"<group>/<version>/<kind>": schema} the CRDs define; a CRD too broken to give one leaves its kind
    unknown, and its own findings say why."""
    from .schemas import crd_object_schemas

    found: dict[str, dict] = {}
    for doc in crds:
        try:
            found.update(crd_object_schemas(Path(doc.source), doc.obj))
        except ToolkitError:
            continue
    return found


@contextmanager
def own_kinds(validator: "Validator", crds: Iterable["Document"]) -> Iterator[None]:
    """The validator knows the kinds these CRDs define while the block runs (the user's own
    --schema-location schemas win over a CRD of the same kind)."""
    with validator.with_extra_schemas(schemas_of(crds)):
        yield
