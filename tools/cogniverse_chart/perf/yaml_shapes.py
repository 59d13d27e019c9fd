"""What the fast manifest reader looks for in a document's text and in the fast parse's result before it
trusts yaml_rs (YAML 1.2) with it: the words Go's YAML 1.1 reads differently, keys that are no strings, nesting
deeper than the limits, numbers too long to convert. Split from yaml_loader (which uses them in
load_chunk) to keep each file short; every function here is pure and cheap.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

MAX_DEPTH = 100  # nesting of mappings/sequences; real objects (CRDs included) stay under 40

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
        import yaml_rs  # loaded already: only a fast parse leads here

        return yaml_rs.loads("a: " + word, parse_datetime=False)["a"]
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
