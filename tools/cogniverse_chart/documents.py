"""Manifest streams -> Document objects (the unit every check works on)."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

from .errors import ToolkitError

_SOURCE_RE = re.compile(r"^# Source: (.+)$", re.M)
_SPLIT_RE = re.compile(r"^---[ \t]*(?:#.*)?$", re.M)
_TS_TAG = "tag:yaml.org,2002:timestamp"


def _base_loader() -> Any:
    try:  # libyaml parses several times faster; fall back to the pure-Python loader.
        return yaml.CSafeLoader
    except AttributeError:  # pragma: no cover - depends on the PyYAML build
        return yaml.SafeLoader


class ManifestLoader(_base_loader()):  # type: ignore[misc]
    """Safe YAML loader for manifests, faster than PyYAML's and closer to what Kubernetes reads.

    - Unquoted timestamps stay strings (Kubernetes reads YAML as JSON, where there are no dates).
    - Plain mappings, sequences and str/int/float/bool/null scalars are built by one tight
      recursive function instead of PyYAML's generic constructor (about twice as fast);
      anything else (merge keys `<<`, explicit tags) goes through the standard safe constructor.
    """

    yaml_implicit_resolvers = {
        ch: [(tag, rx) for tag, rx in resolvers if tag != _TS_TAG]
        for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    _tags: dict[str, str] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        """Tag resolution, memoised per plain scalar text (manifests repeat the same keys and values)."""
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return "tag:yaml.org,2002:str"
            tag = self._tags.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(self._tags) > 200_000:
                    self._tags.clear()
                self._tags[value] = tag
            return tag
        return super().resolve(kind, value, implicit)

    @property
    def duplicates(self) -> list[tuple[str, int]]:
        """(key, line) of keys repeated in a mapping, found while building plain mappings."""
        if "_dups" not in self.__dict__:
            self.__dict__["_dups"] = []
        return self.__dict__["_dups"]

    def get_data(self) -> Any:  # used by yaml.load_all
        return self._fast(self.get_node())

    def get_single_data(self) -> Any:  # used by yaml.load
        node = self.get_single_node()
        return None if node is None else self._fast(node)

    def _fast(self, node: yaml.Node) -> Any:
        tag = node.tag
        if tag == "tag:yaml.org,2002:str":
            return node.value
        if tag == "tag:yaml.org,2002:map":
            out: dict[Any, Any] = {}
            for k, v in node.value:
                if k.tag == "tag:yaml.org,2002:str":
                    if k.value in out:
                        self.duplicates.append((str(k.value), k.start_mark.line))
                    out[k.value] = self._fast(v)
                elif k.tag == "tag:yaml.org,2002:merge" or type(k) is not yaml.ScalarNode:
                    return self.construct_document(node)
                else:
                    out[self._fast(k)] = self._fast(v)
            return out
        if tag == "tag:yaml.org,2002:seq":
            return [self._fast(v) for v in node.value]
        return self.construct_document(node)


@dataclass(frozen=True)
class Document:
    """One Kubernetes object plus where it came from."""

    obj: dict[str, Any]
    source: str  # file path or chart template path
    index: int = 0  # position of the document in its source stream
    #: keys given twice in one mapping, as "'key' at line N": kubectl rejects them, Helm keeps the last
    duplicate_keys: tuple[str, ...] = ()

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


#: Plain scalars that YAML 1.1 (PyYAML, and Go's yaml.v2 that kubectl and Helm use) reads differently
#: from YAML 1.2: yes/no/on/off booleans, 0-prefixed octals, binary and sexagesimal numbers, merge keys.
_YAML11_RE = re.compile(
    r"(?<=[ \t\[{,\n])(?:[yYnN]|[Yy]es|YES|[Nn]o|NO|[Oo]n|ON|[Oo]ff|OFF|[-+]?0[0-9b_][0-9_]*|[0-9_]+(?::[0-9]+)+)"
    r"(?=[ \t]*(?:$|[,\]}#:]))|<<", re.M)

try:  # a Rust YAML parser, ~7x faster than libyaml through PyYAML; optional
    import yaml_rs as _yaml_rs

    _ERROR = _yaml_rs.DuplicateKeyPolicy.Error
except ImportError:  # pragma: no cover - the toolkit depends on it, but works without it
    _yaml_rs = None  # type: ignore[assignment]


def _chunks(text: str) -> Iterator[tuple[str, int]]:
    """(document text, its first line number) for each part between `---` separators."""
    pos, line = 0, 0
    for m in _SPLIT_RE.finditer(text):
        yield text[pos:m.start()], line
        line += text.count("\n", pos, m.end())
        pos = m.end()
    yield text[pos:], line


def _yaml_error(exc: yaml.YAMLError, source: str, offset: int) -> ToolkitError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    where = f"{source}:{mark.line + 1 + offset}:{mark.column + 1}" if mark else source
    what = f"{context}: {problem}" if context else problem
    return ToolkitError(f"{where}: invalid YAML: {what}")


def load_document(chunk: str, source: str = "<string>", offset: int = 0) -> list[Any]:
    """The objects of one document's text (see _load)."""
    return _load(chunk, source, offset)[0]


def _load(chunk: str, source: str, offset: int) -> tuple[list[Any], list[str]]:
    """(objects, repeated keys as "'key' at line N") of one document's text.

    Fast path: yaml_rs, used only when the text has none of the constructs where YAML 1.1 and 1.2
    differ and no key is repeated; otherwise PyYAML's YAML 1.1, which is what Kubernetes tooling
    reads. Timestamps stay strings on both paths."""
    if _yaml_rs is not None and not _YAML11_RE.search("\n" + chunk):
        obj: Any
        try:
            obj = _yaml_rs.loads(chunk, parse_datetime=False, duplicate_key_policy=_ERROR)
        except Exception:  # noqa: BLE001 - PyYAML gives the precise error, or reports the duplicate
            obj = ...
        if obj is None or isinstance(obj, dict):
            return [obj], []
    loader = ManifestLoader(chunk)
    try:
        objs = []
        while loader.check_data():
            objs.append(loader.get_data())
        dups = [f"'{k}' at line {line + 1 + offset}" for k, line in loader.duplicates]
        return objs, dups
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source, offset) from None
    finally:
        loader.dispose()


def parse_stream(text: str, source: str) -> list[Document]:
    """Split a multi-document YAML stream into Documents. `# Source:` comments (helm template) name
    each part. `kind: *List` objects are flattened into their items. Invalid YAML raises
    ToolkitError naming the file, line and column."""
    docs: list[Document] = []
    for i, (chunk, first_line) in enumerate(_chunks(text)):
        if not chunk.strip():
            continue
        m = _SOURCE_RE.search(chunk)
        where = m.group(1).strip() if m else source
        objs, dups = _load(chunk, source, first_line)
        for obj in objs:
            if obj is None:
                continue
            if not isinstance(obj, dict):
                raise ToolkitError(f"{where}: document {i}: expected a mapping (a Kubernetes object), "
                                   f"got {type(obj).__name__}")
            if str(obj.get("kind", "")).endswith("List") and isinstance(obj.get("items"), list):
                docs.extend(Document(item, where, i, tuple(dups)) for item in obj["items"] if isinstance(item, dict))
                continue
            docs.append(Document(obj, where, i, tuple(dups)))
    return docs


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ToolkitError(f"{path}: not UTF-8 text (byte {exc.start}); is it a manifest?") from None
    except OSError as exc:
        raise ToolkitError(f"{path}: cannot read: {exc.strerror or exc}") from None


def read_paths(paths: Iterable[str]) -> Iterator[Document]:
    """Documents from files, directories (*.yaml, *.yml, *.json, recursively) or '-' (stdin)."""
    for p in paths:
        if p == "-":
            try:
                text = sys.stdin.read()
            except UnicodeDecodeError:
                raise ToolkitError("<stdin>: not UTF-8 text") from None
            yield from parse_stream(text, "<stdin>")
            continue
        path = Path(p)
        if path.is_dir():
            files = sorted(f for f in path.rglob("*") if f.suffix in {".yaml", ".yml", ".json"} and f.is_file())
            if not files:
                raise ToolkitError(f"{p}: no *.yaml, *.yml or *.json files in this directory")
        elif path.exists():
            files = [path]
        else:
            raise ToolkitError(f"{p}: no such file or directory")
        for f in files:
            yield from parse_stream(_read(f), str(f))
