"""The fast manifest reader: YAML streams split into documents and parsed, as Kubernetes tooling reads
them (YAML 1.1, timestamps as strings), with limits for hostile input. See `cogniverse_chart.perf`
for why it is built this way; `documents.py` is its public face (Document, parse_stream, read_paths).
"""

from __future__ import annotations

import codecs
import gc
import re
from typing import Any, Callable, Iterator

import yaml

from ..errors import ToolkitError

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

    source = "<string>"
    offset = 0

    def get_data(self) -> Any:  # used by yaml.load_all
        node = self.get_node()
        self._check_aliases(node)
        return self._fast(node)

    def get_single_data(self) -> Any:  # used by yaml.load
        node = self.get_single_node()
        if node is None:
            return None
        self._check_aliases(node)
        return self._fast(node)

    def _check_aliases(self, root: yaml.Node) -> None:
        """Refuse documents whose aliases would expand past MAX_ALIAS_NODES extra nodes (the
        "billion laughs" alias bomb: a few hundred bytes that expand to gigabytes), or that refer to
        themselves. The composed node graph shares aliased nodes, so this counts without expanding."""
        size: dict[int, int] = {}
        own = 0
        stack: list[tuple[yaml.Node, bool]] = [(root, False)]
        active: set[int] = set()
        while stack:
            node, done = stack.pop()
            key = id(node)
            if done:
                active.discard(key)
                kids = _children(node)
                size[key] = 1 + sum(size[id(k)] for k in kids)
                continue
            if key in size:
                continue
            if key in active:
                raise ToolkitError(f"{self.source}:{node.start_mark.line + 1 + self.offset}: a YAML alias refers to "
                                   f"the node that contains it (a recursive structure); Kubernetes objects "
                                   f"cannot hold one: write the value out")
            own += 1
            active.add(key)
            stack.append((node, True))
            stack.extend((k, False) for k in _children(node))
        if size[id(root)] - own > MAX_ALIAS_NODES:
            raise ToolkitError(f"{self.source}:{root.start_mark.line + 1 + self.offset}: YAML aliases expand this "
                               f"document to {size[id(root)]:,} nodes from {own:,} written (limit: "
                               f"{MAX_ALIAS_NODES:,} more): refused as an alias bomb, as Helm does; "
                               f"write the repeated values out")

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


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for kv in node.value for n in kv]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


#: Plain scalars that YAML 1.1 (Go's yaml.v2, which kubectl and Helm use, and PyYAML) reads differently
#: from the YAML 1.2 fast path: y/n/yes/no/on/off booleans, 0-prefixed octals, merge keys `<<`.
#: This check runs over every byte of every manifest, so it comes in two steps. The quick one starts
#: with a single character class (the regex engine skips ahead on it; a leading look-behind made the old
#: check cost more than the parse itself) and over-matches (prose such as "restarted on" at a line end);
#: the precise one runs only where the quick one matched: a value position (after ": ", "- ", "[", "{",
#: ",") or a mapping key (followed by ": ").
_W = r"(?:(?<=[yY])(?:es|ES)?|(?<=[nN])[oO]?|(?<=[oO])(?:[nN]|ff|FF)|(?<=0)[0-9_]+|(?<=<)<)"
_YAML11_QUICK = re.compile(r"[yYnNoO0<](?<=[\s\[{,][yYnNoO0<])" + _W + r"[ \t]*(?:$|[,\]}#:])", re.M)
_YAML11_RE = re.compile(r"[yYnNoO0<](?:(?:(?<=[:\-] .)|(?<=[\[{,\n].)|(?<=[\[{,] .))" + _W
                        + r"[ \t]*(?:$|[,\]}#:])|(?<=\s.)" + _W + r"[ \t]*:(?:[ \t]|$))", re.M)
_YAML11_START = tuple("yYnNoO0<")
#: Characters YAML does not allow in a stream. yaml_rs silently stops at NUL and accepts the others;
#: PyYAML (like Go's yaml, so kubectl and Helm) refuses them with their position.
_NON_PRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")
#: An anchor (`&name`); aliases can only repeat what an anchor names. `&&` (shell) does not match.
_ANCHOR_RE = re.compile(r"(?:^|[\s\[{,])&[A-Za-z0-9_.\-]", re.M)

#: Limits for hostile input (Helm and kubectl refuse such documents too).
MAX_DEPTH = 100  # nesting of mappings/sequences; real objects (CRDs included) stay under 40
MAX_ALIAS_NODES = 10_000  # nodes that aliases may add to one document when expanded
MAX_DOCUMENT_CHARS = 32 * 1024 * 1024  # one document; the API server stores objects of at most ~1.5 MB
_READ_BLOCK = 1 << 20

try:  # a Rust YAML parser, ~7x faster than libyaml through PyYAML; optional
    import yaml_rs as _yaml_rs

    _ERROR = _yaml_rs.DuplicateKeyPolicy.Error
except ImportError:  # pragma: no cover - the toolkit depends on it, but works without it
    _yaml_rs = None  # type: ignore[assignment]


Chunk = tuple[str, int, "bool | None"]  # (document text, its first line, True if known free of control chars)


def split_text(text: str) -> Iterator[Chunk]:
    """(document text, its first line number, None) for each part between `---` separators."""
    pos, line = 0, 0
    for start, end in _separators(text):
        yield text[pos:start], line, None
        line += text.count("\n", pos, end)
        pos = end
    yield text[pos:], line, None


#: Bytes that are not ASCII control characters (tab, newline and carriage return are allowed).
_CLEAN_BYTES = bytes(b for b in range(256) if b >= 32 and b != 127 or b in (9, 10, 13))


def _separators(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each `---` separator line (`---`, blanks, an optional comment; end = the line
    end), exactly what _SPLIT_RE matches, but by substring search: a `^` regex is tried at every byte,
    str.find jumps from line to line."""
    find = text.find
    if text.startswith("---"):
        pos = 0
    else:
        pos = find("\n---")
        if pos < 0:
            return
        pos += 1
    while True:
        eol = find("\n", pos)
        end = len(text) if eol < 0 else eol
        tail = text[pos + 3:end].lstrip(" \t")
        if not tail or tail[0] == "#":
            yield pos, end
        if eol < 0:
            return
        pos = find("\n---", eol)
        if pos < 0:
            return
        pos += 1


def split_stream(read: Callable[[int], bytes], source: str) -> Iterator[Chunk]:
    """As split_text, from a binary reader, holding at most one document (plus one block) in memory.
    Control characters are looked for in the raw bytes (fast); only documents from blocks that hold
    some are checked character by character."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    parts: list[str] = []
    size = 0
    carry = ""
    line = 0
    consumed = 0
    first = True
    dirty = False
    while True:
        block = read(_READ_BLOCK)
        try:
            text = decoder.decode(block, final=not block)
        except UnicodeDecodeError as exc:
            raise ToolkitError(f"{source}: not UTF-8 text (byte {consumed + exc.start}); is it a manifest? "
                               f"Save it as UTF-8") from None
        consumed += len(block)
        block_dirty = bool(block.translate(None, _CLEAN_BYTES))
        dirty = dirty or block_dirty
        if first and text.startswith("\ufeff"):
            text = text[1:]
        first = False
        text = carry + text
        cut = len(text) if not block else text.rfind("\n") + 1
        complete, carry = text[:cut], text[cut:]
        pos = 0
        for start, end in _separators(complete):
            parts.append(complete[pos:start])
            chunk = "".join(parts)
            yield chunk, line, not dirty
            line += chunk.count("\n")
            parts, size, dirty = [], 0, block_dirty
            pos = end
        if pos < len(complete):
            parts.append(complete[pos:])
            size += len(complete) - pos
        if size + len(carry) > MAX_DOCUMENT_CHARS:
            raise ToolkitError(f"{source}:{line + 1}: a document larger than {MAX_DOCUMENT_CHARS:,} characters; "
                               f"Kubernetes objects are far smaller: split it, or is this not a manifest?")
        if not block:
            break
    yield "".join(parts), line, not dirty


def _yaml_error(exc: yaml.YAMLError, source: str, offset: int) -> ToolkitError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    where = f"{source}:{mark.line + 1 + offset}:{mark.column + 1}" if mark else source
    what = f"{context}: {problem}" if context else problem
    return ToolkitError(f"{where}: invalid YAML: {what}")


def load_document(chunk: str, source: str = "<string>", offset: int = 0) -> list[Any]:
    """The objects of one document's text (see load_chunk)."""
    return load_chunk(chunk, source, offset)[0]


def _bracket_depth(chunk: str) -> int:
    """Deepest nesting of brackets and braces in the text (quoted ones too: an over-estimate)."""
    depth = deepest = 0
    for ch in _NOT_BRACKETS.sub("", chunk):
        if ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif depth:
            depth -= 1
    return deepest


_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def _too_deep(chunk: str) -> bool:
    """Cheap signs that a document may nest deeper than MAX_DEPTH (checked exactly by _check_depth):
    deep flow brackets, deep indentation, or many sequence/key indicators on one line."""
    return ((chunk.count("[") + chunk.count("{") > MAX_DEPTH and _bracket_depth(chunk) > MAX_DEPTH // 2)
            or _DEEP_INDENT in chunk or "- - - " in chunk or "? ? " in chunk)


_DEEP_INDENT = "\n" + " " * MAX_DEPTH


def _check_depth(chunk: str, source: str, offset: int) -> None:
    """Refuse nesting deeper than MAX_DEPTH, from libyaml's event stream (no recursion, no objects built)."""
    loader = ManifestLoader(chunk)
    depth = 0
    try:
        while loader.check_event():
            ev = loader.get_event()
            if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ToolkitError(f"{source}:{ev.start_mark.line + 1 + offset}:{ev.start_mark.column + 1}: "
                                       f"nested more than {MAX_DEPTH} levels deep; Kubernetes objects are never "
                                       f"this deep: is this input generated by mistake?")
            elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source, offset) from None
    finally:
        loader.dispose()


def load_chunk(chunk: str, source: str, offset: int, clean: bool | None = None) -> tuple[list[Any], list[str]]:
    """(objects, repeated keys as "'key' at line N") of one document's text.

    Fast path: yaml_rs, used only when the text has none of the constructs where YAML 1.1 and 1.2
    differ, no anchors (aliases go through the expansion limit) and no key is repeated; otherwise
    PyYAML's YAML 1.1, which is what Kubernetes tooling reads. Timestamps stay strings on both paths.
    Nesting deeper than MAX_DEPTH and aliases expanding past MAX_ALIAS_NODES raise ToolkitError."""
    if _too_deep(chunk):
        _check_depth(chunk, source, offset)
    if (_yaml_rs is not None and not (_YAML11_QUICK.search(chunk) and _YAML11_RE.search(chunk))
            and not chunk.startswith(_YAML11_START)
            and (clean if clean is not None else not _NON_PRINTABLE.search(chunk))
            and not ("&" in chunk and _ANCHOR_RE.search(chunk))):
        obj: Any
        try:
            obj = _yaml_rs.loads(chunk, parse_datetime=False, duplicate_key_policy=_ERROR)
        except Exception:  # noqa: BLE001 - PyYAML gives the precise error, or reports the duplicate
            obj = ...
        if obj is None or isinstance(obj, dict):
            return [obj], []
    loader = ManifestLoader(chunk)
    loader.source, loader.offset = source, offset
    try:
        objs = []
        while loader.check_data():
            objs.append(loader.get_data())
        dups = [f"'{k}' at line {line + 1 + offset}" for k, line in loader.duplicates]
        return objs, dups
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source, offset) from None
    except RecursionError:  # a safety net behind MAX_DEPTH
        raise ToolkitError(f"{source}:{offset + 1}: nested too deeply to read") from None
    finally:
        loader.dispose()


class no_cyclic_gc:
    """Pause Python's cyclic garbage collector while building large trees of dicts and lists.

    Parsed manifests hold no reference cycles (recursive aliases are refused), so reference counting
    frees everything; the collector would only rescan the growing heap again and again (it cost about
    a fifth of the time on large streams)."""

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was_enabled:
            gc.enable()
