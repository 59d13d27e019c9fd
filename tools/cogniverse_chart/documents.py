"""Manifest streams -> Document objects (the unit every check works on)."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

from .errors import ToolkitError

try:  # libyaml is several times faster; fall back to the pure-Python loader.
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader

_SOURCE_RE = re.compile(r"^# Source: (.+)$", re.M)
_SPLIT_RE = re.compile(r"^---[ \t]*(?:#.*)?$", re.M)


@dataclass(frozen=True)
class Document:
    """One Kubernetes object plus where it came from."""

    obj: dict[str, Any]
    source: str  # file path or chart template path
    index: int = 0  # position of the document in its source stream

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion", ""))

    @property
    def name(self) -> str:
        meta = self.obj.get("metadata") or {}
        return str(meta.get("name") or meta.get("generateName") or "")

    @property
    def namespace(self) -> str:
        return str((self.obj.get("metadata") or {}).get("namespace") or "")

    @property
    def ref(self) -> str:
        """Human reference: `Kind/name (source)`."""
        return f"{self.kind or '?'}/{self.name or '?'} ({self.source})"


def parse_stream(text: str, source: str) -> list[Document]:
    """Split a multi-document YAML stream. `# Source:` comments (helm template) name each part."""
    docs: list[Document] = []
    for i, chunk in enumerate(_SPLIT_RE.split(text)):
        if not chunk.strip():
            continue
        m = _SOURCE_RE.search(chunk)
        where = m.group(1) if m else source
        try:
            obj = yaml.load(chunk, Loader=_Loader)
        except yaml.YAMLError as exc:
            raise ToolkitError(f"{where}: document {i}: invalid YAML: {exc}") from None
        if obj is None:
            continue
        if not isinstance(obj, dict):
            raise ToolkitError(f"{where}: document {i}: expected a mapping, got {type(obj).__name__}")
        if obj.get("kind", "").endswith("List") and isinstance(obj.get("items"), list):
            docs.extend(Document(item, where, i) for item in obj["items"] if isinstance(item, dict))
            continue
        docs.append(Document(obj, where, i))
    return docs


def read_paths(paths: Iterable[str]) -> Iterator[Document]:
    """Documents from files, directories (*.yaml, *.yml, *.json, recursively) or '-' (stdin)."""
    for p in paths:
        if p == "-":
            yield from parse_stream(sys.stdin.read(), "<stdin>")
            continue
        path = Path(p)
        if path.is_dir():
            files = sorted(f for f in path.rglob("*") if f.suffix in {".yaml", ".yml", ".json"})
        elif path.exists():
            files = [path]
        else:
            raise ToolkitError(f"{p}: no such file or directory")
        for f in files:
            yield from parse_stream(f.read_text(encoding="utf-8"), str(f))
