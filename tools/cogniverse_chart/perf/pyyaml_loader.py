"""The PyYAML side of the manifest reader (yaml_loader.py): the YAML 1.1 loader used for documents the
fast path does not take (YAML 1.1-only scalars, anchors and aliases, repeated keys, control characters),
the exact nesting check, and PyYAML's errors as one-line ToolkitErrors. Imported on first use."""

from __future__ import annotations

import functools
import math
import re
import struct
from typing import Any

import yaml

from ..errors import ToolkitError
from .yaml_loader import MAX_ALIAS_NODES, MAX_DEPTH

_STR, _BOOL, _INT, _FLOAT, _NULL, _MERGE = (f"tag:yaml.org,2002:{t}" for t in ("str", "bool", "int", "float", "null",
                                                                           "merge"))

#: How Go's yaml.v2 (sigs.k8s.io/yaml: kubectl, Helm, the API server's YAML) reads a plain scalar; a port of
#: its resolve(): a table of words, then for text starting with a sign or digit the timestamp check, integers
#: as strconv.ParseInt(s, 0, 64) / ParseUint after dropping every '_', floats as yamlStyleFloat, and
#: for text starting with '.' strconv.ParseFloat. Anything else (and any number out of range) is a string.
_GO_WORDS: dict[str, tuple[str, Any]] = {
    **{w: (_BOOL, True) for w in ("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON")},
    **{w: (_BOOL, False) for w in ("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF")},
    **{w: (_NULL, None) for w in ("", "~", "null", "Null", "NULL")},
    **{w: (_FLOAT, math.nan) for w in (".nan", ".NaN", ".NAN")},
    **{w: (_FLOAT, math.inf) for w in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")},
    **{w: (_FLOAT, -math.inf) for w in ("-.inf", "-.Inf", "-.INF")},
    "<<": (_MERGE, "<<"),
}
_GO_INT = re.compile(r"([+-]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|(0[0-7]*)|([1-9][0-9]*))")
_GO_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")  # yamlStyleFloat
_GO_DOT_FLOAT = re.compile(r"\.[0-9](?:_?[0-9])*(?:[eE][-+]?[0-9](?:_?[0-9])*)?")  # ParseFloat of ".5e3"
_GO_TIMESTAMP = re.compile(r"[0-9]{4}-")
_INT64 = (-(1 << 63), (1 << 63) - 1)


def go_scalar(text: str) -> tuple[str, Any]:
    """(tag, value) of a plain scalar as Go's yaml.v2 resolves it (see _GO_WORDS); short ones memoised
    (manifests repeat them; a long one kept in the memo would hold its memory)."""
    return _go_scalar_memo(text) if len(text) <= 64 else _go_scalar(text)


@functools.lru_cache(maxsize=4096)
def _go_scalar_memo(text: str) -> tuple[str, Any]:
    return _go_scalar(text)


def _go_scalar(text: str) -> tuple[str, Any]:
    hit = _GO_WORDS.get(text)
    if hit is not None:
        return hit
    first = text[:1]
    if first == ".":
        if _GO_DOT_FLOAT.fullmatch(text):
            return _FLOAT, float(text.replace("_", ""))
    elif first and first in "+-0123456789":
        if _GO_TIMESTAMP.match(text):
            return _STR, text  # a timestamp: Kubernetes reads it as the string it is
        plain = text.replace("_", "")
        value = _go_int(plain)
        if value is not None:
            return _INT, value
        if _GO_FLOAT.fullmatch(plain):
            f = float(plain)
            if not math.isinf(f):  # strconv.ParseFloat refuses what overflows: the text stays a string
                return _FLOAT, f
    return _STR, text


def _go_int(plain: str) -> int | None:
    """strconv.ParseInt(plain, 0, 64), then ParseUint(plain, 0, 64) (no sign): None when neither reads it."""
    m = _GO_INT.fullmatch(plain)
    if m is None or len(plain) > 70:  # 64 binary digits and a prefix: longer is out of range anyway
        return None
    sign, hex_, oct_, bin_, zero, dec = m.groups()
    if hex_ is not None:
        value = int(hex_, 16)
    elif oct_ is not None:
        value = int(oct_, 8)
    elif bin_ is not None:
        value = int(bin_, 2)
    elif zero is not None:
        value = int(zero, 8)  # a leading 0 is octal (0644); 08 is no integer (a float, below)
    else:
        value = int(dec)
    if sign == "-":
        value = -value
    if _INT64[0] <= value <= _INT64[1] or (not sign and value < (1 << 64)):
        return value
    return None



def _base_loader() -> Any:
    try:  # libyaml parses several times faster; fall back to the pure-Python loader.
        return yaml.CSafeLoader
    except AttributeError:  # pragma: no cover - depends on the PyYAML build
        return yaml.SafeLoader


class ManifestLoader(_base_loader()):  # type: ignore[misc]
    """Safe YAML loader for manifests, faster than PyYAML's and reading what Kubernetes reads.

    - Plain scalars resolve as Go's yaml.v2 resolves them (go_scalar): `y`/`n` are booleans, `08` and
      `12e03` numbers, `0o10` octal, `1:20` a string, `=` a string, timestamps strings.
    - Plain mappings, sequences and str/int/float/bool/null scalars are built by one tight
      recursive function instead of PyYAML's generic constructor (about twice as fast);
      anything else (merge keys `<<`, explicit tags) goes through the standard safe constructor.
    """

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            return go_scalar(value)[0] if implicit[0] else _STR
        return super().resolve(kind, value, implicit)

    def construct_go_scalar(self, node: yaml.ScalarNode) -> Any:
        """A bool, int, float or null scalar (plain, or tagged `!!int "0644"`) as Go reads it; a tag its text
        does not fit (`!!int abc`) is an error, as in Go (`cannot decode !!str as a !!int`)."""
        tag, value = go_scalar(node.value)
        if tag == node.tag or (node.tag == _FLOAT and tag == _INT):
            return float(value) if node.tag == _FLOAT else value
        raise yaml.constructor.ConstructorError(None, None, f"cannot read {node.value[:40]!r} as {node.tag}",
                                                node.start_mark)

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
                elif type(k) is not yaml.ScalarNode:
                    what = "a sequence" if type(k) is yaml.SequenceNode else "a mapping"
                    mark = k.start_mark
                    if mark.index < node.start_mark.index:  # an alias: the node stands where its anchor is
                        what, mark = f"an alias of {what} at line {mark.line + 1 + self.offset}", node.start_mark
                    raise _collection_key(mark, what, self.source, self.offset)
                elif k.tag == "tag:yaml.org,2002:merge":
                    return self.construct_document(node)
                else:
                    key = self._fast(k)
                    if key is None:
                        raise ToolkitError(f"{self.source}:{k.start_mark.line + 1 + self.offset}:"
                                           f"{k.start_mark.column + 1}: a null key ({k.value or 'empty'}); Kubernetes "
                                           f"keys are strings (kubectl refuses it: unsupported map key): quote the key")
                    out[_go_key(key)] = self._fast(v)
            return out
        if tag == "tag:yaml.org,2002:seq":
            return [self._fast(v) for v in node.value]
        return self.construct_document(node)


for _tag in (_BOOL, _INT, _FLOAT, _NULL):
    ManifestLoader.add_constructor(_tag, ManifestLoader.construct_go_scalar)
#: `<<` is a merge only as a key (PyYAML merges those before construction); as a value it is the string
ManifestLoader.add_constructor(_MERGE, lambda loader, node: node.value)
#: an explicit `!!timestamp 2001-12-14`: sigs.k8s.io/yaml hands Kubernetes the text, as for a plain timestamp
#: (E31: it was a date object, "expected string, got date")
ManifestLoader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: node.value)


def _go_key(key: Any) -> Any:
    """A bool or number key as the text sigs.k8s.io/yaml gives it (`on:` -> "true", `0644:` -> "420", `08:`
    -> "8", `1.0:` -> "1", `1e6:` -> "1e+06", `.inf:` -> ".inf"); null keys are refused by the caller."""
    t = type(key)
    if t is bool:
        return "true" if key else "false"
    if t is int:
        return str(key)
    if t is float:
        return go_float_key(key)
    return key


def go_float_key(f: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 32) with ±Inf and NaN as `.inf`, `-.inf`, `.nan`: how
    sigs.k8s.io/yaml turns a float key into text (the shortest digits of the float32, Go's %g layout)."""
    if math.isnan(f):
        return ".nan"
    try:
        f32 = struct.unpack("f", struct.pack("f", f))[0]
    except OverflowError:  # past float32's range: Go's float32() makes it infinite
        f32 = math.copysign(math.inf, f)
    if math.isinf(f32):
        return ".inf" if f32 > 0 else "-.inf"
    sign = "-" if math.copysign(1.0, f32) < 0 else ""
    for precision in range(9):  # the fewest digits that read back as the same float32
        text = "%.*e" % (precision, abs(f32))
        if struct.unpack("f", struct.pack("f", float(text)))[0] == abs(f32):
            break
    mantissa, exp_text = text.split("e")
    digits, exp = mantissa.replace(".", ""), int(exp_text)
    if exp < -4 or exp >= 6:  # Go's %g with the shortest digits: eprec 6
        return f"{sign}{digits[0]}{'.' + digits[1:] if len(digits) > 1 else ''}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    point = exp + 1
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for kv in node.value for n in kv]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []



def _collection_key(mark: Any, what: str, source: str, offset: int) -> ToolkitError:
    """A sequence or mapping used as a mapping key: YAML allows it, JSON (so Kubernetes) has no such key."""
    return ToolkitError(f"{source}:{mark.line + 1 + offset}:{mark.column + 1}: {what} as a mapping key; "
                        f"Kubernetes keys are strings (kubectl refuses it): quote the key")


def _yaml_error(exc: yaml.YAMLError, source: str, offset: int) -> ToolkitError:
    if getattr(exc, "problem", None) == "found unhashable key":  # under an explicit tag, PyYAML's constructor
        return _collection_key(exc.problem_mark, "a sequence or mapping", source, offset)
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    where = f"{source}:{mark.line + 1 + offset}:{mark.column + 1}" if mark else source
    what = f"{context}: {problem}" if context else problem
    return ToolkitError(f"{where}: invalid YAML: {what}")


def check_depth(chunk: str, source: str, offset: int) -> None:
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


def load_slow(chunk: str, source: str, offset: int) -> tuple[list[Any], list[str]]:
    """(objects, repeated keys) of one document with PyYAML's YAML 1.1 (see yaml_loader.load_chunk)."""
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
