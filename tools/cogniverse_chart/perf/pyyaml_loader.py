"""The PyYAML side of the manifest reader (yaml_loader.py): the YAML 1.1 loader used for documents the
fast path does not take (YAML 1.1-only scalars, anchors and aliases, repeated keys, control characters),
the exact nesting check, and PyYAML's errors as one-line ToolkitErrors. Imported on first use."""

from __future__ import annotations

from typing import Any

import yaml

from ..errors import ToolkitError
from .yaml_loader import MAX_ALIAS_NODES, MAX_DEPTH

_TS_TAG = "tag:yaml.org,2002:timestamp"
_MAX_INT_BITS = 14_000  # about 4200 decimal digits: below Python's int-to-text limit of 4300


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

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        """PyYAML's integers, with a one-line error for one too long for Python to convert to text (over 4300
        decimal digits: ValueError; hex digits convert, but the number then cannot be printed): no manifest
        holds such a number unquoted."""
        try:
            value = super().construct_yaml_int(node)
            if value.bit_length() <= _MAX_INT_BITS:
                return value
        except ValueError:
            pass
        mark = node.start_mark
        raise ToolkitError(f"{self.source}:{mark.line + 1 + self.offset}:"
                           f"{mark.column + 1}: an integer of {len(node.value):,} characters is too long to "
                           f"read; quote it if it is meant as text")

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
                    out[self._fast(k)] = self._fast(v)
            return out
        if tag == "tag:yaml.org,2002:seq":
            return [self._fast(v) for v in node.value]
        return self.construct_document(node)


ManifestLoader.add_constructor("tag:yaml.org,2002:int", ManifestLoader.construct_yaml_int)


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
