"""The fast manifest reader: YAML streams split into documents and parsed, as Kubernetes tooling reads
them (YAML 1.1, timestamps as strings), with limits for hostile input. See `cogniverse_chart.perf`
for why it is built this way; `documents.py` is its public face (Document, parse_stream, read_paths).
"""

from __future__ import annotations

import codecs
import gc
import math
import os
import re
from typing import Any, Callable, Iterator

from ..errors import ToolkitError
from .yaml_shapes import MAX_DEPTH, _YAML11_QUICK, _UNDERSCORE_NUMBER, _ODD_KEY, \
    _crashes_fast_path, _depth, _holds_any, _long_number, _may_nest_deep, _odd_key, _yaml11_readings

_SPLIT_RE = re.compile(r"^---[ \t\r]*(?:#.*)?$", re.M)  # blanks as kubectl's YAMLReader trims them (CRLF too)
#: Infinity and NaN: JSON has neither, so sigs.k8s.io/yaml refuses the document ("json: unsupported value").
_NONFINITE = re.compile(r"\.(?:inf|Inf|INF|nan|NaN|NAN)").search
_YAML11_START = tuple("yYnNoO0<")
#: Characters YAML does not allow in a stream. yaml_rs silently stops at NUL and accepts the others;
#: PyYAML (like Go's yaml, so kubectl and Helm) refuses them with their position.
_NON_PRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")
#: An anchor (`&name`); aliases can only repeat what an anchor names. `&&` (shell, CEL) does not match.
#: The pattern starts with the `&` itself: the engine jumps from one `&` to the next (a leading class or
#: `^` alternative is tried at every character, which cost 20x more on policy-heavy streams).
_ANCHOR_RE = re.compile(r"&(?:(?<=^&)|(?<=[\s\[{,]&))[A-Za-z0-9_.\-]", re.M)

#: A sequence or mapping as a mapping key needs an explicit key (`? [a, b]`) or a flow collection before a
#: colon (`[a, b]: c`, `{a: 1}: c`). yaml_rs reads such keys as tuples and frozensets, which kubectl and
#: Helm refuse ("invalid map key"). Only text with one of these signs (CEL's `a ? b : c` and f-strings'
#: `{x}: ` have them too) has its keys looked at after the fast parse; a document that does hold such a
#: key takes PyYAML's path, which refuses it with its position. Each search has a one-character literal
#: prefix and runs only when `in` (memchr) saw that character: a character class would scan far slower.
_SEQ_KEY = re.compile(r"\]\s*:").search
_MAP_KEY = re.compile(r"\}\s*:").search

#: Limits for hostile input (Helm and kubectl refuse such documents too).
MAX_ALIAS_NODES = 10_000  # nodes that aliases may add to one document when expanded
MAX_DOCUMENT_CHARS = 32 * 1024 * 1024  # one document; the API server stores objects of at most ~1.5 MB
_READ_BLOCK = 1 << 17  # 128 kB: each block is held three times over (bytes, text, carry + text) while it is cut

#: yaml_rs carries its own allocator (mimalloc 3), which by default keeps freed memory for a second
#: (purge_delay 1000 ms) and commits whole arena chunks eagerly: one 200 kB document left 12 MB resident for
#: the rest of the run, more than the reader itself needs. Freed pages go back after 10 ms and arenas are
#: committed as used. benchmarks/bench_validate.py's core stream, run memory of both processes: 60 MB before,
#: 38 MB with these options, 27 MB with them and 128 kB read blocks (1 MB before); CPU time the same. The
#: options are read when the library loads; a user's own setting wins.
for _option, _value in (("MIMALLOC_PURGE_DELAY", "10"), ("MIMALLOC_ARENA_EAGER_COMMIT", "0")):
    os.environ.setdefault(_option, _value)

try:  # a Rust YAML parser, ~7x faster than libyaml through PyYAML; optional
    import yaml_rs as _yaml_rs

    _ERROR = _yaml_rs.DuplicateKeyPolicy.Error
except ImportError:  # pragma: no cover - the toolkit depends on it, but works without it
    _yaml_rs = None  # type: ignore[assignment]


Chunk = tuple[str, int, "bool | None"]  # (document text, its first line, True if known free of control chars)


def split_text(text: str, source: str = "<string>") -> Iterator[Chunk]:
    """(document text, its first line number, None) for each part between `---` separators."""
    pos, line = 0, 0
    try:
        for start, end in _separators(text):
            yield text[pos:start], line, None
            line += text.count("\n", pos, end)
            pos = end
    except _BadSeparator as bad:
        raise bad.error(source, line + text.count("\n", pos, bad.at) + 1) from None
    yield text[pos:], line, None


class _BadSeparator(Exception):
    """A line that starts with `---` followed by more than blanks or a comment (`--- {a: 1}`, `--- |`,
    `----`): kubectl's YAMLReader refuses the whole stream ("invalid Yaml document separator")."""

    def __init__(self, at: int, rest: str) -> None:
        super().__init__(rest)
        self.at, self.rest = at, rest

    def error(self, source: str, line: int) -> ToolkitError:
        return ToolkitError(f"{source}:{line}: invalid document separator: {self.rest[:40]!r} follows `---` on its "
                            f"line (kubectl refuses the stream): only blanks or a comment may; start the content on "
                            f"the next line")


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
        tail = text[pos + 3:end].strip(" \t\r")  # `---` of a CRLF file ends in \r
        if not tail or tail[0] == "#":
            yield pos, end
        else:
            raise _BadSeparator(pos, tail)
        if eol < 0:
            return
        pos = find("\n---", eol)
        if pos < 0:
            return
        pos += 1


def split_stream(read: Callable[[int], bytes], source: str, line: int = 0) -> Iterator[Chunk]:
    """As split_text, from a binary reader, holding at most one document (plus one block) in memory.
    Control characters are looked for in the raw bytes (fast); only documents from blocks that hold
    some are checked character by character. `line`: the first line's number (a reader that starts
    inside a file, at a separator: perf.parallel)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    parts: list[str] = []
    size = 0
    carry = ""
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
        try:
            for start, end in _separators(complete):
                parts.append(complete[pos:start])
                chunk = "".join(parts)
                yield chunk, line, not dirty
                line += chunk.count("\n")
                parts, size, dirty = [], 0, block_dirty
                pos = end
        except _BadSeparator as bad:
            before = sum(p.count("\n") for p in parts) + complete.count("\n", pos, bad.at)
            raise bad.error(source, line + before + 1) from None
        if pos < len(complete):
            parts.append(complete[pos:])
            size += len(complete) - pos
        if size + len(carry) > MAX_DOCUMENT_CHARS:
            raise ToolkitError(f"{source}:{line + 1}: a document larger than {MAX_DOCUMENT_CHARS:,} characters; "
                               f"Kubernetes objects are far smaller: split it, or is this not a manifest?")
        if not block:
            break
    yield "".join(parts), line, not dirty


def load_document(chunk: str, source: str = "<string>", offset: int = 0) -> list[Any]:
    """The objects of one document's text (see load_chunk)."""
    return load_chunk(chunk, source, offset)[0]


def load_chunk(chunk: str, source: str, offset: int, clean: bool | None = None) -> tuple[list[Any], list[str]]:
    """(objects, repeated keys as "'key' at line N") of one document's text (see _load_chunk); a document
    holding infinity or NaN (`.inf`, `.nan`) is refused as kubectl and Helm refuse it."""
    objs, dups = _load_chunk(chunk, source, offset, clean)
    if _NONFINITE(chunk):
        _refuse_nonfinite(objs, source, offset)
    return objs, dups


def _refuse_nonfinite(objs: list[Any], source: str, offset: int) -> None:
    stack: list[tuple[Any, str]] = [(o, "$") for o in objs]
    while stack:
        node, path = stack.pop()
        if type(node) is float and node != node or node in (math.inf, -math.inf) and type(node) is float:
            text = ".nan" if node != node else ".inf" if node > 0 else "-.inf"
            raise ToolkitError(f"{source}:{offset + 1}: {path} is {text}, which JSON (so Kubernetes) cannot hold: "
                               f"kubectl and Helm refuse the document (json: unsupported value); quote it if "
                               f"text is meant")
        if type(node) is dict:
            stack.extend((v, f"{path}.{k}") for k, v in node.items())
        elif type(node) is list:
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(node))


def _load_chunk(chunk: str, source: str, offset: int, clean: bool | None = None) -> tuple[list[Any], list[str]]:
    """(objects, repeated keys as "'key' at line N") of one document's text.

    Fast path: yaml_rs, used only when the text has none of the constructs where YAML 1.1 and 1.2
    differ, no anchors (aliases go through the expansion limit), no key that is a sequence or mapping
    (refused with its position) and no key is repeated; otherwise
    PyYAML's YAML 1.1, which is what Kubernetes tooling reads. Timestamps stay strings on both paths.
    Nesting deeper than MAX_DEPTH and aliases expanding past MAX_ALIAS_NODES raise ToolkitError.
    The PyYAML side lives in pyyaml_loader.py, imported on first use: most streams never need it, and
    importing PyYAML is a tenth of the start-up of `cogniverse-chart validate`.

    Two checks are made after the fast parse rather than before it, where they are cheaper:
    - the nesting of a document with many brackets (CEL expressions have them) is measured on the parsed
      object (yaml_rs refuses flow nesting past 256 levels itself); only a document that is really too deep
      (or that the fast path does not take) goes through PyYAML's exact check, which names the line. What
      could crash yaml_rs (_crashes_fast_path) is checked exactly before any parse;
    - a document where the regex found words YAML 1.1 reads differently (`on`, `no`, `0644`) is read with
      PyYAML only if the fast parse holds one of them as a whole scalar: inside a longer string (a script
      in a quoted value, prose) they read the same under both."""
    checked = _crashes_fast_path(chunk)
    if checked:
        from .pyyaml_loader import check_depth

        check_depth(chunk, source, offset)  # refuses what is too deep; what passes cannot crash yaml_rs
    deep = False
    if (_yaml_rs is not None and not chunk.startswith(_YAML11_START)
            and (clean if clean is not None else not _NON_PRINTABLE.search(chunk))
            and not ("&" in chunk and _ANCHOR_RE.search(chunk)) and not _long_number(chunk)):
        obj: Any
        try:
            obj = _yaml_rs.loads(chunk, parse_datetime=False, duplicate_key_policy=_ERROR)
        except Exception:  # noqa: BLE001 - PyYAML gives the precise error, or reports the duplicate
            obj = ...
        if obj is None or isinstance(obj, dict):
            deep = not checked and _may_nest_deep(chunk) and _depth(obj) > MAX_DEPTH
            quick = _YAML11_QUICK.search(chunk)
            under = _UNDERSCORE_NUMBER.search(chunk)
            keyed = obj is not None and (
                "?" in chunk or ("]" in chunk and _SEQ_KEY(chunk)) or ("}" in chunk and _MAP_KEY(chunk))
                or _ODD_KEY(chunk)
            ) and _odd_key(obj)
            if not deep and not keyed and not (
                    (quick or under) and _holds_any(obj, _yaml11_readings(chunk, quick, under))):
                return [obj], []
    if deep or (not checked and _may_nest_deep(chunk)):
        from .pyyaml_loader import check_depth

        check_depth(chunk, source, offset)
    from .pyyaml_loader import load_slow  # PyYAML is imported only when a document needs it

    return load_slow(chunk, source, offset)


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


def __getattr__(name: str) -> Any:
    """`ManifestLoader` (the PyYAML loader) from pyyaml_loader, imported when first asked for."""
    if name == "ManifestLoader":
        from .pyyaml_loader import ManifestLoader

        return ManifestLoader
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
