"""The pinned versions in versions.env, read as KEY=value lines.

The package reads its own copy, data/versions.env: in the source tree a symbolic link to the repository's
versions.env (the one source), which the wheel and sdist carry as a plain file (tests/toolkit/test_wheel.py).

    from cogniverse_chart import versions
    versions.get("KUBERNETES_VERSION")      # "v1.37.2"
    versions.kube_floor_minor()             # (1, 30)

versions.env is the one source for every version; code derives what it needs from it here.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from . import DATA_DIR
from .errors import ToolkitError

VERSIONS_FILE = DATA_DIR / "versions.env"
_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=(\S*)$")


@functools.cache
def load(path: Path = VERSIONS_FILE) -> dict[str, str]:
    """{KEY: value} of every assignment; `#` comments and blank lines are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ToolkitError(f"{path}: cannot read the version pins: {exc.strerror or exc}") from None
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            raise ToolkitError(f"{path}:{n}: expected KEY=value without spaces or quotes, got {line!r}")
        out[m[1]] = m[2]
    return out


def get(key: str) -> str:
    pins = load()
    if key not in pins:
        raise ToolkitError(f"{VERSIONS_FILE}: no {key}= line")
    return pins[key]


def _minor(text: str) -> tuple[int, int]:
    m = re.match(r"v?(\d+)\.(\d+)", text)
    if not m:
        raise ToolkitError(f"{VERSIONS_FILE}: '{text}' is not a MAJOR.MINOR version")
    return int(m[1]), int(m[2])


def kube_floor_minor() -> tuple[int, int]:
    """The oldest Kubernetes minor the chart admits (KUBERNETES_FLOOR_MINOR)."""
    return _minor(get("KUBERNETES_FLOOR_MINOR"))


def kube_newest_minor() -> tuple[int, int]:
    """The newest supported Kubernetes minor (that of KUBERNETES_VERSION)."""
    return _minor(get("KUBERNETES_VERSION"))


def kube_version() -> str:
    """KUBERNETES_VERSION without the leading v: what `helm template --kube-version` gets by default."""
    return get("KUBERNETES_VERSION").lstrip("v")


def csv(key: str) -> tuple[str, ...]:
    """A comma-separated value (for lists such as the schema bundle sources)."""
    return tuple(v for v in get(key).split(",") if v)
