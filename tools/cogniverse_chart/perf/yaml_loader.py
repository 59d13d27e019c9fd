"""The fast manifest reader: YAML streams split into documents and parsed, as Kubernetes tooling reads
them (YAML 1.1, timestamps as strings), with limits for hostile input. See `cogniverse_chart.perf`
for why it is built this way; `documents.py` is its public face (Document, parse_stream, read_paths).
"""

from __future__ import annotations

import codecs
import gc
import itertools
import math
import re
from typing import Any, Callable, Iterator

from ..errors import ToolkitError

_SPLIT_RE = re.compile(r"^---[ \t\r]*(?:#.*)?$", re.M)  # blanks as kubectl's YAMLReader trims them (CRLF too)
#: Plain scalars that Go's yaml.v2 (YAML 1.1, which kubectl and Helm use) reads differently from the YAML 1.2
#: fast path: y/n/yes/no/on/off booleans, 0-prefixed octals (also signed: -0644), other 0-prefixed numbers
#: (0b101, 0X1F), numbers with underscores (1_000), merge keys `<<`; after any run of blanks or a line
#: break, before a line end (LF or CRLF), a comment or a flow indicator.
#: This check runs over every byte of every manifest, so it starts with a single character class (the regex
#: engine skips ahead on it; a leading look-behind made the old check cost more than the parse itself) and
#: over-matches (prose such as "restarted on" at a line end, a word in a quoted script). Where it matches,
#: load_chunk looks whether the fast parse holds one of the words it found as a whole scalar.
_W = r"(?:(?<=[yY])(?:es|ES)?|(?<=[nN])[oO]?|(?<=[oO])(?:[nN]|ff|FF)|(?<=0)[0-9_xXoObB][0-9a-fA-F_]*|(?<=<)<)"
_END = r"[ \t]*(?:\r?$|[,\]}#:])"
_YAML11_QUICK = re.compile(r"[yYnNoO0<](?<=[\s\[{,+-][yYnNoO0<])" + _W + _END, re.M)
#: A number with underscores (1_000): a regex of its own that starts with the '_' (a literal the engine jumps
#: to; as an alternative of the one above it doubled that one's cost).
#: yaml_rs also drops underscores that Go keeps: a scalar starting with `_` (`_1`) is a string in Go, and so is
#: `._5` (strconv.ParseFloat wants digits around an underscore); those are found after a blank or flow sign.
_UNDERSCORE_NUMBER = re.compile(r"_(?<=[0-9\s\[{,.+-]_)[0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9_]+)?" + _END, re.M)
#: A key YAML reads as no string: a number, null, a boolean (`1.0:`, `~:`, `true:`); sigs.k8s.io/yaml writes
#: numbers and booleans as Go formats them and refuses a null key. Starts with the `:` (the engine jumps to it).
_ODD_KEY = re.compile(r":(?<=[0-9.~lLeEfFnN]:)(?:(?<=[0-9.~]:)|(?<=(?:ull|ULL|rue|RUE|lse|LSE|inf|Inf|INF|nan|NaN|NAN):))"
                      r"(?:[ \t\r\n]|\Z)").search
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


def _bracket_depth(chunk: str, enough: int) -> int:
    """An upper bound of the nesting of brackets and braces in the text (quoted ones too), or a number over
    `enough` once it is known to exceed it: innermost pairs are removed a round at a time (in C, so text full
    of balanced `{{ }}` costs two rounds), then the openers left unclosed are added."""
    rest = _NOT_BRACKETS.sub("", chunk)
    rounds = 0
    while rounds <= enough:
        rest, pairs = _BRACKET_PAIR.subn("", rest)
        if not pairs:
            break
        rounds += 1
    return rounds + rest.count("[") + rest.count("{")


_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_BRACKET_PAIR = re.compile(r"[\[{][\]}]")


def _may_nest_deep(chunk: str) -> bool:
    """Cheap signs that a document may nest deeper than MAX_DEPTH: deep flow brackets, or many sequence/key
    indicators on one line. The fast path measures the nesting of such a document on the parsed object
    (_depth); PyYAML's exact check (pyyaml_loader.check_depth) looks at those it does not take."""
    return ((chunk.count("[") + chunk.count("{") > MAX_DEPTH and _bracket_depth(chunk, MAX_DEPTH // 2) > MAX_DEPTH // 2)
            or "- - - " in chunk or "? ? " in chunk)


def _crashes_fast_path(chunk: str) -> bool:
    """Whether yaml_rs might not survive the document: it builds block nesting by recursion and crashes the
    process (a segfault, no exception) past a few thousand levels (fewer on a smaller stack), which take deep
    indentation or long runs of `-`/`?` indicators on one line (`- ? - ? ...`: 20,000 in 80 kB). Flow
    nesting it refuses itself (past 256 levels). Such a document goes through the exact check (check_depth)
    before any parse; the others nest at most a few hundred levels."""
    return _DEEP_INDENT in chunk or (chunk.count("- ") + chunk.count("? ") > 5 * MAX_DEPTH
                                     and _COMPACT_RUN.search(chunk) is not None)


_DEEP_INDENT = "\n" + " " * MAX_DEPTH
_COMPACT_RUN = re.compile(r"[-?][ \t]+[-?][ \t]+[-?][ \t]|\?[ \t]+\?[ \t]")

#: Python converts integers of at most 4300 decimal digits to text (sys.get_int_max_str_digits); a hex
#: integer reaches that with about 3570 digits. Documents with a run of that many hex digits take PyYAML's
#: path, which refuses such a number in one line (pyyaml_loader.ManifestLoader.construct_yaml_int).
LONG_NUMBER = 3500
_HEX = frozenset("0123456789abcdefABCDEF")
_HEX_RUN = re.compile(r"[0-9a-fA-F]+")
_LONG_HEX = re.compile(r"[0-9a-fA-F]{%d}" % LONG_NUMBER)


def _long_number(chunk: str) -> bool:
    """Whether the text may hold a number too long to convert, cheaply: a run of LONG_NUMBER hex digits holds
    a whole window between two adjacent multiples of LONG_NUMBER // 2; only where such a window is all hex
    digits (its ends first) is the text searched."""
    if len(chunk) < LONG_NUMBER:
        return False
    step = LONG_NUMBER // 2
    sample = chunk[::step]
    return any(sample[i] in _HEX and sample[i + 1] in _HEX
               and _HEX_RUN.fullmatch(chunk, i * step, (i + 1) * step + 1) is not None
               for i in range(len(sample) - 1)) and _LONG_HEX.search(chunk) is not None


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


def _odd_key(obj: dict) -> bool:
    """Whether a key anywhere in the fast path's result is no string: a tuple or frozenset (a YAML sequence
    or mapping), a number, a boolean or None; PyYAML's path refuses the first and the last with their
    position and writes the others as Go does. Looks at keys only (a quarter of the cost of json.dumps)."""
    stack: list[Any] = [obj]
    pop, push = stack.pop, stack.extend
    while stack:
        node = pop()
        if type(node) is dict:
            for k in node:
                if type(k) is not str:
                    return True
            push(node.values())
        elif type(node) is list:
            push(node)
    return False


def _yaml11_readings(chunk: str, quick: "re.Match[str] | None", under: "re.Match[str] | None") -> set[Any]:
    """What yaml_rs (YAML 1.2) makes of each word, from the first match on, that Go's YAML 1.1 may read
    differently (the quick regexes, which over-match): the word itself (`on`, `no`, `<<`, `1_000`, `0b101`:
    strings in YAML 1.2) and, for 0-prefixed digits, the integers YAML 1.2 reads (`0644` as 644, or octal),
    with either sign."""
    found: set[Any] = set()
    matches = itertools.chain(_YAML11_QUICK.finditer(chunk, quick.start()) if quick else (),
                              _UNDERSCORE_NUMBER.finditer(chunk, under.start()) if under else ())
    for m in matches:
        begin = m.start()
        if chunk[begin] == "_":  # the whole plain number the underscore is in
            while begin and chunk[begin - 1] in _NUMBER_CHARS:
                begin -= 1
        word = chunk[begin:m.end()].rstrip(" \t\r,]}#:")
        found.add(word)
        if word[0] in "_." and "_" in word:  # Go: a string (`_1`, `._5`); yaml_rs: the number without the `_`
            found.add(_rs_number(word))
        sign = chunk[begin - 1] if begin and chunk[begin - 1] in "+-" else ""
        if sign:
            found.add(sign + word)
        if word[0] == "0":
            digits = word.replace("_", "")
            if digits.isdigit():
                for value in (int(digits), int(digits, 8) if "8" not in digits and "9" not in digits else None):
                    if value is not None:
                        found.update((value, -value))
    return found


_NUMBER_CHARS = frozenset("0123456789_.+-eE")


def _rs_number(word: str) -> Any:
    """What the fast path makes of a plain scalar (a number, or the text)."""
    try:
        return _yaml_rs.loads("a: " + word, parse_datetime=False)["a"]
    except Exception:  # noqa: BLE001 - whatever it is, the word itself is already looked for
        return word


def _holds_any(obj: Any, wanted: set[Any]) -> bool:
    """Whether any key or scalar value in obj is in `wanted` (an explicit stack: no recursion)."""
    stack = [obj] if wanted and type(obj) in (dict, list) else []
    while stack:
        node = stack.pop()
        items = node.items() if type(node) is dict else ((None, v) for v in node)
        for k, v in items:
            if k is not None and k in wanted:
                return True
            t = type(v)
            if t is dict or t is list:
                stack.append(v)
            elif v in wanted:
                return True
    return False


def _depth(obj: Any) -> int:
    """Nesting of mappings and sequences in a parsed document (an explicit stack: no recursion)."""
    deepest = 0
    stack = [(obj, 1)] if type(obj) in (dict, list) else []
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        for v in node.values() if type(node) is dict else node:
            if type(v) is dict or type(v) is list:
                stack.append((v, depth + 1))
    return deepest


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
