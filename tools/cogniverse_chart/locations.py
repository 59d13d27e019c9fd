"""Where a finding is in the files a user edits: (file, line, column) for CI annotations.

- A rendered object names its template through Helm's `# Source: CHART/templates/x.yaml` line (the
  document's `source`): the file is that template inside the chart, and the line is the first line of the
  template that sets the last key of the finding's JSON path (line 1 when the key is not written there,
  e.g. it comes from a helper).
- A plain manifest file gives the exact line and column of the node the JSON path points at (or of the
  deepest part of the path that exists, e.g. the mapping a required field is missing from).
"""

from __future__ import annotations

import functools
import json
import re
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

_TOKEN = re.compile(r'\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


@dataclass(frozen=True)
class Location:
    file: str = ""  # "" when the finding has no file (stdin, a whole check)
    line: int = 0  # 1-based; 0 unknown
    column: int = 0


def path_parts(path: str) -> list[str | int]:
    """'$.spec.containers[0]["a.b"]' -> ['spec', 'containers', 0, 'a.b']; unparsable rest is dropped."""
    parts: list[str | int] = []
    pos = 1 if path.startswith("$") else 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m:
            break
        parts.append(m[1] if m[1] is not None else int(m[2]) if m[2] is not None else json.loads(m[3]))
        pos = m.end()
    return parts


def _key(path: str) -> tuple[str, int, int] | None:
    """A cache key that changes with the file: its absolute path, modification time and size."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return str(Path(path).resolve()), st.st_mtime_ns, st.st_size


def _text(path: str) -> str | None:
    key = _key(path)
    return _read(key) if key else None


@functools.lru_cache(maxsize=64)
def _read(key: tuple[str, int, int]) -> str | None:
    try:
        p = Path(key[0])
        if not p.is_file() or key[2] > 64 * 1024 * 1024:
            return None
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeError):
        return None


@functools.lru_cache(maxsize=16)
def _line_starts(key: tuple[str, int, int]) -> array:
    """Offsets in the file's text where each line starts (built once per file)."""
    text = _read(key) or ""
    starts = array("q", [0])
    starts.extend(m.end() for m in _NEWLINE.finditer(text))
    return starts


_NEWLINE = re.compile("\n")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


#: A finding that knows where its document starts has that document composed once, from its own text (a finding
#: in a 22 MB stream composed the whole file: minutes); composing from there to the end of the file for every
#: finding made `lint -o json` on 3,700 findings of a 0.9 MB stream take 59 s instead of 9. A finding that does
#: not know its document has the whole file composed once, for files up to this size.
WHOLE_FILE_BYTES = 4 * 1024 * 1024
#: A line that starts a document: where the document a finding is in ends.
_SEPARATOR = re.compile(r"^---(?=[ \t\r\n]|$)", re.M)


def _nodes(path: str, first_line: int = 0) -> Iterator[tuple[Any, int]]:
    """(document node, line offset) of the file's documents: first the one that starts at `first_line` (when
    given), then the rest from there on."""
    key = _key(path)
    text = _read(key) if key else None
    if text is None:
        return
    starts = _line_starts(key)  # type: ignore[arg-type]
    first_line = first_line if 0 <= first_line < len(starts) else 0
    if first_line:
        yield from _document(key, first_line)  # type: ignore[arg-type]
    elif key[2] <= WHOLE_FILE_BYTES:  # type: ignore[index]
        yield from _composed(key)  # type: ignore[arg-type]
        return
    try:
        for node in yaml.compose_all(text[starts[first_line]:] if first_line else text, Loader=_LOADER):
            if node is not None:
                yield node, first_line
    except (yaml.YAMLError, RecursionError):
        return


@functools.lru_cache(maxsize=4)
def _composed(key: tuple[str, int, int]) -> tuple[tuple[Any, int], ...]:
    try:
        return tuple((node, 0) for node in yaml.compose_all(_read(key) or "", Loader=_LOADER) if node is not None)
    except (yaml.YAMLError, RecursionError):
        return ()


@functools.lru_cache(maxsize=256)
def _document(key: tuple[str, int, int], first_line: int) -> tuple[tuple[Any, int], ...]:
    """The document that starts at `first_line`, composed from its own text only (up to the next `---`)."""
    text = _read(key) or ""
    starts = _line_starts(key)
    after = starts[first_line + 1] if first_line + 1 < len(starts) else len(text)
    end = m.start() if (m := _SEPARATOR.search(text, after)) else len(text)
    try:
        return tuple((node, first_line) for node in yaml.compose_all(text[starts[first_line]:end], Loader=_LOADER)
                     if node is not None)
    except (yaml.YAMLError, RecursionError):
        return ()


def _get(node: Any, key: str | int, want_key: bool = False) -> Any:
    """The value under `key` (or, with want_key, the key node itself: where a person reads `key:`)."""
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return k if want_key else v
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key]
    return None


def _names(node: Any) -> tuple[str, str, str]:
    kind = _get(node, "kind")
    meta = _get(node, "metadata")
    name = _get(meta, "name") or _get(meta, "generateName")
    namespace = _get(meta, "namespace")
    return tuple(n.value if isinstance(n, yaml.ScalarNode) and not n.tag.endswith(":null") else ""  # type: ignore[return-value]
                 for n in (kind, name, namespace))


def _objects(docs: Iterable[tuple[Any, int]]) -> Iterator[tuple[Any, int]]:
    """Each document's node, then, for a `kind: *List`, its items: the reader checks those as objects of
    their own (a List item's finding was looked for in the rest of the file, composed node by node)."""
    for doc, offset in docs:
        yield doc, offset
        kind = _get(doc, "kind")
        items = _get(doc, "items")
        if isinstance(kind, yaml.ScalarNode) and kind.value.endswith("List") and isinstance(items, yaml.SequenceNode):
            yield from ((item, offset) for item in items.value if isinstance(item, yaml.MappingNode))


def _in_manifest(file: str, kind: str, name: str, path: str, namespace: str = "", first_line: int = 0) -> Location:
    for doc, offset in _objects(_nodes(file, first_line)):
        if (kind or name) and _names(doc) != (kind, name, namespace):
            continue
        node = mark = doc
        for part in path_parts(path):
            child = _get(node, part)
            if child is None:
                break
            mark = _get(node, part, want_key=True) if isinstance(part, str) else child
            node = child
        return Location(file, mark.start_mark.line + offset + 1, mark.start_mark.column + 1)
    return Location(file, 1, 1)


def _in_template(file: str, path: str) -> Location:
    keys = [p for p in path_parts(path) if isinstance(p, str)]
    text = _text(file) or ""
    if keys:
        key = re.compile(r"^(\s*(?:-\s+)?)" + re.escape(keys[-1]) + r"\s*:", re.M)
        m = key.search(text)
        if m:
            return Location(file, text.count("\n", 0, m.start()) + 1, len(m[1]) + 1)
    return Location(file, 1, 1)


def locate(source: str, kind: str, name: str, path: str, chart: Path | None = None, namespace: str = "",
           first_line: int = 0) -> Location:
    """The file, line and column of one finding (see the module docstring)."""
    if not source or source.startswith("<"):
        return Location()
    first, _, rest = source.partition("/")
    if chart is not None and rest.startswith(("templates/", "charts/", "crds/")):
        if chart.is_file():  # `--chart x.tgz`: the archive is the file the user has
            return Location(str(chart))
        found = chart_file(chart, rest) if chart.is_dir() else None
        if found is not None and found.suffix == ".tgz":  # a packaged subchart's file: its archive
            return Location(str(found))
        if found is not None and found.is_file():
            from .chart_crds import is_crd_file

            if is_crd_file(source):  # a crds/ file is installed as written: the exact line
                return _in_manifest(str(found), kind, name, path, namespace)
            return _in_template(str(found), path)
    src = source.split(" [", 1)[0]  # merged findings name their scenarios after the file
    if _text(src) is None:
        return Location(src)
    if src.endswith((".yaml", ".yml", ".json")):
        return _in_manifest(src, kind, name, path, namespace, first_line)
    return Location(src, 1, 1)


def chart_file(chart: Path, rest: str) -> Path | None:
    """The file on disk of a `# Source:` path inside the chart (`rest` after the chart's name): each
    `charts/NAME/` is the subchart folder of that name, else the folder whose Chart.yaml names it (E17),
    else its packaged archive `charts/NAME-VERSION.tgz` (returned as it is)."""
    parts = rest.split("/")
    here = chart
    while len(parts) > 2 and parts[0] == "charts":
        sub = _subchart(here / "charts", parts[1])
        if sub is None or sub.suffix == ".tgz":
            return sub
        here, parts = sub, parts[2:]
    return here.joinpath(*parts)


def _subchart(charts: Path, name: str) -> Path | None:
    if (charts / name / "Chart.yaml").is_file():
        return charts / name
    try:
        entries = sorted(charts.iterdir())
    except OSError:
        return None
    for d in entries:
        if (d / "Chart.yaml").is_file() and _chart_name(d / "Chart.yaml") == name:
            return d
    return next((a for a in entries if a.name.startswith(name + "-") and a.name.endswith(".tgz")
                 and a.name[len(name) + 1:][:1].isdigit()), None)


def _chart_name(path: Path) -> str:
    try:
        with open(path, "rb") as f:  # a subchart's name is near the top: never read a huge file whole
            data = yaml.load(f.read(65536).decode("utf-8", "replace"), Loader=_SAFE)
    except (OSError, yaml.YAMLError, RecursionError):
        return ""
    return str(data.get("name", "")) if isinstance(data, dict) else ""


_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
