"""A chart's values.schema.json is input from the chart (a pull request can change it), so checking values
against it must neither reach out nor run without end:
- `$ref`s resolve inside the document only: no network fetch and no file:// read (attack24c E38); an
  unresolvable one is one line naming values.schema.json and the reference;
- a `pattern` that can backtrack (a quantified group, as in `^(a|a)*$`, or two unbounded quantifiers, as
  in `[a-z]*[a-z]*!`) is matched in a worker process with a time bound (Python's `re` has none; Helm's RE2
  is linear), reported as too slow (E39), and not run again on other values;
- a `$ref` loop is one line, not "input nested too deeply" (E40).
"""

from __future__ import annotations

import functools
import multiprocessing
import re
import warnings
from typing import Any, Iterator

from .errors import ToolkitError

#: seconds one pattern may take on one value
PATTERN_SECONDS = 2.0
#: a quantifier that repeats without bound; two of them (`[a-z]*[a-z]*...!`, `\w+\w+$`) or one after a
#: group (`(a|a)*`) can backtrack for hours in Python's `re` (attack24d F4): such patterns run in the worker
_UNBOUNDED = re.compile(r"(?<!\\)(?:[*+]|\{\d*,\})")
#: Go's POSIX classes (ASCII), as they appear inside a bracket expression: `[[:alpha:]_]`
_POSIX = {"alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": r"\x00-\x7f", "blank": r"\t ",
          "cntrl": r"\x00-\x1f\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~",
          "punct": r"!-/:-@\[-`{-~", "space": r"\t\n\v\f\r ", "upper": "A-Z", "word": "0-9A-Za-z_",
          "xdigit": "0-9A-Fa-f"}
_GO_SPACE = r"\t\n\f\r "  # Go's \s: no vertical tab (Python's ASCII \s has one)


class NotGo(ValueError):
    """A pattern Go's regexp refuses (lookaround, atomic groups): Helm refuses the schema."""


class Unreadable(re.error):
    """A pattern Go reads that has no Python equivalent here (a Unicode script such as \\p{Greek}): only
    Helm can check values against it."""


#: Go's flag groups (`(?U)`, `(?i-U:`): ungreedy (U) changes which text a match takes, never whether one
#: exists, so it is dropped; the other flags mean the same in Python
_FLAGS = re.compile(r"\(\?([imsU]*)(?:-([imsU]*))?([:)])")
_NOT_GO = ("(?=", "(?!", "(?<=", "(?<!", "(?>")


def _risky(pattern: str) -> bool:
    return len(_UNBOUNDED.findall(pattern)) >= 2 or re.search(r"\)[*+?{]", pattern) is not None


def _search(pattern: str, value: str) -> bool:
    try:
        return go_regexp(pattern).search(value) is not None
    except Unreadable:
        raise
    except re.error:  # a pattern Python cannot read in Go's way: its own reading
        return re.search(pattern, value) is not None


def _escape(pattern: str, i: int, in_class: bool) -> tuple[str, int]:
    """Go's meaning of the escape at pattern[i] (a backslash) in Python's syntax, and where it ends."""
    c = pattern[i + 1:i + 2]
    if c == "z":
        return r"\Z", i + 2
    if c == "Q":  # \Q...\E: a literal
        end = pattern.find(r"\E", i + 2)
        text = pattern[i + 2:] if end < 0 else pattern[i + 2:end]
        return re.escape(text), len(pattern) if end < 0 else end + 2
    if c == "x" and pattern.startswith("{", i + 2):
        end = pattern.find("}", i + 3)
        try:
            return re.escape(chr(int(pattern[i + 3:end], 16))), end + 1
        except ValueError:
            pass
    if c in "pP":
        return _unicode_class(pattern, i, in_class)
    if c == "s":
        return (_GO_SPACE if in_class else f"[{_GO_SPACE}]"), i + 2
    if c == "S" and not in_class:
        return f"[^{_GO_SPACE}]", i + 2
    return pattern[i:i + 2], i + 2


def _unicode_class(pattern: str, i: int, in_class: bool) -> tuple[str, int]:
    """Go's `\\pL`, `\\p{Lu}`, `\\PN`, `\\p{^L}` (Unicode general categories) as a Python class (attack24d
    F3: such patterns were skipped without Helm); a script name (`\\p{Greek}`) is Unreadable."""
    negate = pattern[i + 1] == "P"
    if pattern.startswith("{", i + 2):
        end = pattern.find("}", i + 3)
        if end < 0:
            raise NotGo(f"missing '}}' after {pattern[i:i + 3]}")
        name, after = pattern[i + 3:end], end + 1
    else:
        name, after = pattern[i + 2:i + 3], i + 3
    if name.startswith("^"):
        negate, name = not negate, name[1:]
    ranges = _category(name)
    if ranges is None:
        raise Unreadable(f"\\p{{{name}}} is a Unicode class Python's re cannot express")
    if not in_class:
        return f"[{'^' if negate else ''}{ranges}]", after
    if negate:
        raise Unreadable(f"a negated Unicode class \\P{{{name}}} inside [...]")
    return ranges, after


def _category(name: str) -> str | None:
    """The code points of a Unicode general category (`L`, `Lu`, `Nd`...; `Any`), as class ranges."""
    if name == "Any":
        return "\\x00-\\U0010ffff"
    if not re.fullmatch(r"[A-Z][a-z]?", name):
        return None
    ranges = sorted(r for cat, rs in _categories().items() if cat.startswith(name) for r in rs)
    return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges) or None


@functools.lru_cache(maxsize=1)
def _categories() -> dict[str, list[tuple[int, int]]]:
    """{two-letter category: [(first, last) code point]}, built in one pass over Unicode (about 0.4 s, once:
    a schema naming many categories costs no more than one)."""
    import unicodedata

    out: dict[str, list[tuple[int, int]]] = {}
    start, prev = 0, unicodedata.category("\x00")
    for cp in range(1, 0x110001):
        cat = unicodedata.category(chr(cp)) if cp < 0x110000 else ""
        if cat != prev:
            out.setdefault(prev, []).append((start, cp - 1))
            start, prev = cp, cat
    return out


def go_regexp(pattern: str) -> "re.Pattern[str]":
    """A JSON Schema pattern with the meaning Go's regexp gives it (Helm checks values.schema.json with Go):
    `$` is the end of the text only, not also before a final newline; \\s, \\d, \\w are ASCII and \\s has no
    vertical tab (D21: a value "1.0\\n" passed `^...$` here and failed in Helm); `[[:alpha:]]`, `\\z`,
    `\\Q...\\E` and `\\x{41}` are read as Go reads them (attack24d F2/F3: Python took `[[:alpha:]]` for the
    set `[:alph` followed by `]`, and refused "abc")."""
    out, i, in_class = [], 0, False
    multiline = re.search(r"\(\?[a-zA-Z]*m", pattern) is not None
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            text, i = _escape(pattern, i, in_class)
            out.append(text)
            continue
        if in_class and pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            name = pattern[i + 2:end] if end > 0 else ""
            if name in _POSIX:
                out.append(_POSIX[name])
                i = end + 2
                continue
            if name[1:] in _POSIX and name.startswith("^") and out and out[-1] == "[" \
                    and pattern.startswith("]", end + 2):  # `[[:^alpha:]]`: the whole class negated
                out[-1] = "[^"
                out.append(_POSIX[name[1:]])
                i = end + 2
                continue
        if not in_class and c == "(" and pattern.startswith(_NOT_GO, i):
            what = next(g for g in _NOT_GO if pattern.startswith(g, i))
            raise NotGo(f"{what} (lookaround and atomic groups) is not in Go's syntax")
        if not in_class and c == "(" and (flags := _FLAGS.match(pattern, i)):
            on, off = flags[1].replace("U", ""), (flags[2] or "").replace("U", "")
            group = f"(?{on}{'-' + off if off else ''}{flags[3]}" if on or off or flags[3] == ":" else ""
            out.append(group if group != "(?:" or flags[3] == ":" else "")
            i = flags.end()
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":  # `[]a]`, `[^]a]`: a ] right after the opening is a literal
            in_class = True
            end = i + 1 + pattern.startswith("^", i + 1)
            end += pattern.startswith("]", end)
            out.append(pattern[i:end])
            i = end
            continue
        elif c == "$" and not multiline:
            c = r"\Z"
        out.append(c)
        i += 1
    with warnings.catch_warnings():  # Python's "possible nested set" warning is no concern of the user's
        warnings.simplefilter("ignore")
        return re.compile("".join(out), re.ASCII)


class _Patterns:
    """Pattern matches: simple patterns in process, risky ones in a worker process killed after the bound."""

    def __init__(self) -> None:
        self._pool: Any = None
        self._seen: dict[tuple[str, str], bool | None] = {}
        #: patterns that ran out of time once: not run again on other values (attack24d F5: 2 s per value
        #: made a list of 300 strings a 10-minute run)
        self._slow: set[str] = set()

    def search(self, pattern: str, value: str) -> bool | None:
        """True/False, or None when the match took longer than PATTERN_SECONDS (or the pattern did so
        on an earlier value)."""
        if not _risky(pattern):
            return _search(pattern, value)
        if pattern in self._slow:
            return None
        key = (pattern, value)
        if key not in self._seen:
            if self._pool is None:
                self._pool = multiprocessing.get_context("fork").Pool(1)
            try:
                self._seen[key] = self._pool.apply_async(_search, key).get(PATTERN_SECONDS)
            except multiprocessing.TimeoutError:
                self.close()
                self._seen[key] = None
                self._slow.add(pattern)
        return self._seen[key]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None


def iter_errors(values: Any, schema: dict[str, Any], schema_file: str, helm_checks: bool = False) -> Iterator[Any]:
    """jsonschema errors of values against the chart's schema (Draft 7), within the bounds above. A pattern
    Go refuses is an error (Helm refuses the schema); one only Go reads is an error too unless `helm_checks`
    (Helm renders the values next and checks it): never a silent pass (attack24d F3)."""
    import jsonschema
    from referencing import Registry
    from referencing.exceptions import Unresolvable

    patterns = _Patterns()

    def pattern(validator: Any, patrn: str, instance: Any, _schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "string"):
            return
        try:
            found = patterns.search(patrn, instance)
        except NotGo as exc:
            yield jsonschema.ValidationError(f"pattern {patrn[:80]!r} is not a regular expression Helm reads "
                                             f"({exc}); fix it in {schema_file}", validator="pattern-not-go",
                                             validator_value=patrn)
            return
        except re.error as exc:
            if not helm_checks:
                yield jsonschema.ValidationError(f"cannot check the value against pattern {patrn[:80]!r} without "
                                                 f"Helm ({str(exc)[:80]}): put helm on PATH", validator="pattern-unread",
                                                 validator_value=patrn)
            return
        if found is None:
            yield jsonschema.ValidationError(f"pattern {patrn[:80]!r} took longer than {PATTERN_SECONDS:g} s on a "
                                             f"value (it backtracks without bound); simplify it in {schema_file}",
                                             validator="pattern-time-bound", validator_value=patrn)
        elif not found:
            yield jsonschema.ValidationError(f"{instance!r} does not match {patrn!r}")

    cls = jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": pattern})
    # without Helm, `format` is checked as Helm 3 does (email, ipv4, date...; attack24d F13); with it, Helm decides
    formats = None if helm_checks else jsonschema.Draft7Validator.FORMAT_CHECKER
    try:
        yield from cls(schema, registry=Registry(), format_checker=formats).iter_errors(values)  # an empty registry: nothing is retrieved
    except Unresolvable as exc:
        ref = getattr(exc, "ref", "")
        raise ToolkitError(f"{schema_file}: $ref {str(ref)[:200]!r} cannot be resolved: only references inside "
                           f"the file are followed (nothing is fetched from the network or read from disk)") from None
    except RecursionError:
        raise ToolkitError(f"{schema_file}: a $ref loop (a reference that leads back to itself without a "
                           f"value in between); break it") from None
    finally:
        patterns.close()

