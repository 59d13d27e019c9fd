"""A chart's values.schema.json is input from the chart (a pull request can change it), so checking values
against it must neither reach out nor run without end:
- `$ref`s resolve inside the document only: no network fetch and no file:// read (attack24c E38); an
  unresolvable one is one line naming values.schema.json and the reference;
- a `pattern` that can backtrack (a quantified group, as in `^(a|a)*$`) is matched in a worker process
  with a time bound (Python's `re` has none; Helm's RE2 is linear), reported as too slow (E39);
- a `$ref` loop is one line, not "input nested too deeply" (E40).
"""

from __future__ import annotations

import multiprocessing
import re
from typing import Any, Iterator

from .errors import ToolkitError

#: seconds one pattern may take on one value
PATTERN_SECONDS = 2.0
#: a group with a quantifier after it: the shape catastrophic backtracking needs
_RISKY = re.compile(r"\)[*+?{]")


def _search(pattern: str, value: str) -> bool:
    try:
        return go_regexp(pattern).search(value) is not None
    except re.error:  # a pattern Python cannot read in Go's way: its own reading
        return re.search(pattern, value) is not None


def go_regexp(pattern: str) -> "re.Pattern[str]":
    """A JSON Schema pattern with the meaning Go's regexp gives it (Helm checks values.schema.json with Go):
    `$` is the end of the text only, not also before a final newline, and \\s, \\d, \\w are ASCII (D21: a
    value "1.0\\n" passed `^...$` here and failed in Helm)."""
    out, i, in_class = [], 0, False
    multiline = re.search(r"\(\?[a-zA-Z]*m", pattern) is not None
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
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
    return re.compile("".join(out), re.ASCII)


class _Patterns:
    """Pattern matches: simple patterns in process, risky ones in a worker process killed after the bound."""

    def __init__(self) -> None:
        self._pool: Any = None
        self._seen: dict[tuple[str, str], bool | None] = {}

    def search(self, pattern: str, value: str) -> bool | None:
        """True/False, or None when the match took longer than PATTERN_SECONDS."""
        if not _RISKY.search(pattern):
            return _search(pattern, value)
        key = (pattern, value)
        if key not in self._seen:
            if self._pool is None:
                self._pool = multiprocessing.get_context("fork").Pool(1)
            try:
                self._seen[key] = self._pool.apply_async(_search, key).get(PATTERN_SECONDS)
            except multiprocessing.TimeoutError:
                self.close()
                self._seen[key] = None
        return self._seen[key]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None


def iter_errors(values: Any, schema: dict[str, Any], schema_file: str) -> Iterator[Any]:
    """jsonschema errors of values against the chart's schema (Draft 7), within the bounds above."""
    import jsonschema
    from referencing import Registry
    from referencing.exceptions import Unresolvable

    patterns = _Patterns()

    def pattern(validator: Any, patrn: str, instance: Any, _schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "string"):
            return
        try:
            found = patterns.search(patrn, instance)
        except re.error:
            return  # the metaschema check reports a bad pattern
        if found is None:
            yield jsonschema.ValidationError(f"pattern {patrn[:80]!r} took longer than {PATTERN_SECONDS:g} s on this "
                                             f"value (it backtracks without bound); simplify it in {schema_file}",
                                             validator="pattern-time-bound", validator_value=patrn)
        elif not found:
            yield jsonschema.ValidationError(f"{instance!r} does not match {patrn!r}")

    cls = jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": pattern})
    try:
        yield from cls(schema, registry=Registry()).iter_errors(values)  # an empty registry: nothing is retrieved
    except Unresolvable as exc:
        ref = getattr(exc, "ref", "")
        raise ToolkitError(f"{schema_file}: $ref {str(ref)[:200]!r} cannot be resolved: only references inside "
                           f"the file are followed (nothing is fetched from the network or read from disk)") from None
    except RecursionError:
        raise ToolkitError(f"{schema_file}: a $ref loop (a reference that leads back to itself without a "
                           f"value in between); break it") from None
    finally:
        patterns.close()

