"""Manifest streams -> Document objects (the unit every check works on).

The reading itself (splitting a stream, the YAML fast path, limits for hostile input) is
`cogniverse_chart.perf.yaml_loader`.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from . import io_limits
from .errors import ToolkitError
from .perf.yaml_loader import Chunk, split_text, load_chunk, split_stream, load_document, no_cyclic_gc

__all__ = ["Document", "json_path", "walk_strings", "load_document", "no_cyclic_gc", "parse_stream",
           "iter_documents", "path_files", "read_file", "read_paths", "read_text"]

_SOURCE_RE = re.compile(r"^# Source: (.+)$", re.M)
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def json_path(parts: Iterable[Any]) -> str:
    """['spec', 'containers', 0, 'image'] -> $.spec.containers[0].image"""
    out = "$"
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif _PLAIN_KEY.match(str(p)):
            out += f".{p}"
        else:
            out += f"[{json.dumps(str(p))}]"
    return out


def walk_strings(obj: Any, path: list[Any], needle: str) -> list[tuple[list[Any], str]]:
    """(path, string) for every string under obj that contains `needle` (e.g. "{{", "://"), in document
    order. A recursive walk that builds one list (a recursive generator pays for every level of nesting
    on every string it passes up; this is twice as fast as an explicit stack); an object nested deeper than
    the interpreter's recursion limit (the reader refuses such documents) takes the explicit stack."""
    try:
        return _walk_recursive(obj, path, needle)
    except RecursionError:
        return list(_walk_stack(obj, path, needle))


def _walk_recursive(obj: Any, path: list[Any], needle: str) -> list[tuple[list[Any], str]]:
    out: list[tuple[list[Any], str]] = []
    if type(obj) is str:
        if needle in obj:
            out.append((list(path), obj))
    elif type(obj) is dict:
        _visit(obj.items(), path, [], needle, out)
    elif type(obj) is list:
        _visit(enumerate(obj), path, [], needle, out)
    return out


def _visit(items: Iterable[tuple[Any, Any]], path: list[Any], keys: list[Any], needle: str,
           out: list[tuple[list[Any], str]]) -> None:
    # a module function, not a closure: a closure that calls itself is a reference cycle, which streaming
    # lint (the cyclic collector paused) would never free, nor the strings it found
    for k, v in items:
        t = type(v)
        if t is str:
            if needle in v:
                out.append(([*path, *keys, k], v))
        elif t is dict:
            keys.append(k)
            _visit(v.items(), path, keys, needle, out)
            keys.pop()
        elif t is list:
            keys.append(k)
            _visit(enumerate(v), path, keys, needle, out)
            keys.pop()


_CONTAINERS = (str, dict, list)


def _walk_stack(obj: Any, path: list[Any], needle: str) -> Iterator[tuple[list[Any], str]]:
    """walk_strings with an explicit stack, for any depth."""
    # paths are linked (parent link, key) pairs, turned into lists only for the strings that match
    stack: list[tuple[Any, Any]] = [(obj, None)]
    while stack:
        node, link = stack.pop()
        if type(node) is str:
            if needle in node:
                keys = []
                while link is not None:
                    link, key = link
                    keys.append(key)
                yield [*path, *reversed(keys)], node
        elif type(node) is dict:
            for k, v in reversed(node.items()):
                if type(v) in _CONTAINERS:
                    stack.append((v, (link, k)))
        elif type(node) is list:
            for i in range(len(node) - 1, -1, -1):
                if type(node[i]) in _CONTAINERS:
                    stack.append((node[i], (link, i)))


@dataclass(frozen=True)
class Document:
    """One Kubernetes object plus where it came from."""

    obj: dict[str, Any]
    source: str  # file path or chart template path
    index: int = 0  # position of the document in its source stream
    #: keys given twice in one mapping, as "'key' at line N": kubectl rejects them, Helm keeps the last
    duplicate_keys: tuple[str, ...] = ()
    #: 0-based line of its source where the document's text starts (its `---` line): CI formats look up
    #: a finding's line in this document alone, not in the whole file (cogniverse_chart.locations)
    line: int = 0

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion", ""))

    @property
    def _meta(self) -> dict[str, Any]:
        meta = self.obj.get("metadata")
        return meta if type(meta) is dict else {}  # `metadata: 5` is the schema's to report, not a crash

    @property
    def name(self) -> str:
        meta = self._meta
        return str(meta.get("name") or meta.get("generateName") or "")

    @property
    def namespace(self) -> str:
        return str(self._meta.get("namespace") or "")

    @property
    def ref(self) -> str:
        """Human reference: `Kind/name (source)`."""
        return f"{self.kind or '?'}/{self.name or '?'} ({self.source})"


def iter_documents(chunks: Iterable[Chunk], source: str,
                   on_error: Callable[[ToolkitError, int], None] | None = None) -> Iterator[Document]:
    """Documents of (text, first line, clean) chunks: see parse_stream. With `on_error`, a document that
    cannot be read (invalid YAML, not a mapping) is handed to it with its first line and the documents
    after it are still read, as kubeconform does (attack24d F1); limits (io_limits.LimitExceeded) and
    problems of the stream itself (not UTF-8, a bad separator) still end the file."""
    for i, (chunk, first_line, clean) in enumerate(chunks):
        if not chunk or chunk.isspace():  # (strip() would copy every document)
            continue
        if chunk.startswith("\n\ufeff"):  # a BOM that starts a document (files joined with cat): Go's YAML drops it
            chunk = "\n" + chunk[2:]
        m = _SOURCE_RE.search(chunk) if "# Source:" in chunk else None
        where = m.group(1).strip() if m else source
        try:
            objs, dups = load_chunk(chunk, source, first_line, clean)
            bad = next((o for o in objs if o is not None and not isinstance(o, dict)), None)
            if bad is not None:
                raise ToolkitError(f"{where}: document {i}: expected a mapping (a Kubernetes object), "
                                   f"got {type(bad).__name__}")
        except io_limits.LimitExceeded:
            raise
        except ToolkitError as exc:
            if on_error is None:
                raise
            on_error(exc, first_line)
            continue
        repeated = tuple(dups) if dups else ()
        for obj in objs:
            if obj is None:
                continue
            kind = obj.get("kind")
            if type(kind) is str and kind.endswith("List") and isinstance(obj.get("items"), list):
                yield from (Document(item, where, i, repeated, first_line)
                            for item in obj["items"] if isinstance(item, dict))
                continue
            yield Document(obj, where, i, repeated, first_line)


def parse_stream(text: str, source: str) -> list[Document]:
    """Split a multi-document YAML stream into Documents. `# Source:` comments (helm template) name
    each part. `kind: *List` objects are flattened into their items. Invalid YAML raises
    ToolkitError naming the file, line and column; so do hostile inputs (see MAX_DEPTH, MAX_ALIAS_NODES)."""
    with no_cyclic_gc():
        return list(iter_documents(split_text(text, source), source))


def _describe_os_error(exc: OSError) -> str:
    return exc.strerror or str(exc)


def read_file(path: Path, source: str | None = None,
              on_error: Callable[[ToolkitError, int], None] | None = None) -> Iterator[Document]:
    """Documents of one file (or '-' for stdin), read in blocks: memory stays bounded by the largest
    document, however long the stream. `on_error`: see iter_documents."""
    name = source or str(path)
    if str(path) == "-":
        yield from iter_documents(split_stream(sys.stdin.buffer.read, "<stdin>"), "<stdin>", on_error)
        return
    if not path.is_dir():  # a FIFO or a device is refused before open() (which would wait for a writer)
        io_limits.check_file(path, "")
    try:
        f = open(path, "rb")
    except IsADirectoryError:
        raise ToolkitError(f"{name}: is a directory; give files, or the directory itself to read every "
                           f"*.yaml, *.yml and *.json in it") from None
    except OSError as exc:
        raise ToolkitError(f"{name}: cannot read: {_describe_os_error(exc)}") from None
    with f:
        try:
            yield from iter_documents(split_stream(f.read, name), name, on_error)
        except IsADirectoryError:
            raise ToolkitError(f"{name}: is a directory, not a manifest file") from None
        except OSError as exc:
            raise ToolkitError(f"{name}: cannot read: {_describe_os_error(exc)}") from None


def _read(path: Path) -> str:
    """A whole (small) text file, with one-line errors (used for values files and the like); FIFOs and
    devices refused, and at most io_limits.MAX_TEXT_BYTES."""
    return io_limits.read_text(path, "")


def read_text(path: Path) -> str:
    """Public name of _read: a whole text file as UTF-8, or a one-line ToolkitError."""
    return _read(path)


def _walk(path: Path) -> list[Path]:
    def fail(exc: OSError) -> None:
        raise ToolkitError(f"{exc.filename or path}: cannot read this directory: {_describe_os_error(exc)}")

    found = []
    for root, dirs, files in os.walk(path, onerror=fail):  # does not follow symlinked directories (no loops)
        dirs.sort()
        for name in sorted(files):
            if name.endswith((".yaml", ".yml", ".json")):
                f = Path(root) / name
                if f.is_file():
                    found.append(f)
    return found


def path_files(p: str) -> list[Path]:
    """The files one PATH argument names: '-' (stdin) itself, a file, or a directory's *.yaml, *.yml and
    *.json (recursively); a path that names none is a one-line error."""
    if p == "-":
        return [Path("-")]
    path = Path(p)
    if path.is_dir():
        files = _walk(path)
        if not files:
            raise ToolkitError(f"{p}: no *.yaml, *.yml or *.json files in this directory")
        return files
    if path.exists():
        return [path]
    if path.is_symlink():
        raise ToolkitError(f"{p}: a symbolic link to {os.readlink(path)}, which does not exist or loops back")
    raise ToolkitError(f"{p}: no such file or directory")


def read_paths(paths: Iterable[str]) -> Iterator[Document]:
    """Documents from files, directories (*.yaml, *.yml, *.json, recursively) or '-' (stdin), streamed."""
    for p in paths:
        for f in path_files(p):
            yield from read_file(f, "<stdin>" if p == "-" else None)
