"""values.yaml's key descriptions, generated from the values schema (charts/cogniverse/schema/).

The schema parts are the one source of every value's description: values.schema.json, the README
values table and the `# --` comment above each key of values.yaml all come from them. This module
rewrites only those `# --` blocks (the `# --` line and the comment lines after it, up to the key);
everything else in values.yaml stays as written: the keys and their defaults, blank lines, and plain
`#` comments, which are notes about a default (why 03:00, why this much memory), not descriptions.
Keys inside list items are left alone. `cogniverse-chart docs` writes the result and `docs --check`
(and the docs test) fail when values.yaml is stale.

Which description a key shows: its property's own `description`, else that of the shared definition
it refers to ($ref), as in the README table; where a key is defined in several allOf parts, the first
part that describes it.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

MARK = "# --"
WIDTH = 110
_KEY = re.compile(r"^(?P<indent> *)(?P<item>- )?(?P<key>[A-Za-z0-9_.\-/]+):(?:\s|$)")


def _deref(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow $ref chains (JSON pointers into root)."""
    for _ in range(20):
        ref = node.get("$ref") if isinstance(node, dict) else None
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return node
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def _branches(node: Any, root: dict[str, Any]) -> list[dict[str, Any]]:
    """node and, through $ref and allOf, every schema it is made of (in order)."""
    if not isinstance(node, dict):
        return []
    out = [node]
    target = _deref(node, root)
    if target is not node:
        out += _branches(target, root)
    for sub in node.get("allOf") or []:
        out += _branches(sub, root)
    return out


def _description(nodes: list[dict[str, Any]], root: dict[str, Any]) -> str | None:
    """The first description among the nodes: a node's own, else its $ref target's."""
    for n in nodes:
        if n.get("description"):
            return str(n["description"])
        ref = _deref(n, root) if "$ref" in n else None
        if ref is not None and ref.get("description"):
            return str(ref["description"])
        for sub in n.get("allOf") or []:  # {allOf: [<shared fields>, {<own fields>}]}
            if sub.get("description"):
                return str(sub["description"])
    return None


def key_description(schema: dict[str, Any], path: list[str]) -> str | None:
    """The description of the values key at path, or None (unknown key, or none written). Where a
    key is defined in several allOf parts (fields, then the restricted profile's rules), the first
    part that describes it wins."""
    nodes: list[dict[str, Any]] = [schema]
    for part in path:
        nodes = [c for n in nodes for b in _branches(n, schema)
                 for c in [(b.get("properties") or {}).get(part)] if isinstance(c, dict)]
        if not nodes:
            return None
    own = _description(nodes, schema)
    return " ".join(own.split()) if own else None


def _comment(indent: str, text: str) -> list[str]:
    lines = textwrap.wrap(text, width=max(40, WIDTH - len(indent) - 5), break_long_words=False,
                          break_on_hyphens=False)
    return [f"{indent}{MARK} {lines[0]}"] + [f"{indent}# {line}" for line in lines[1:]]


def with_descriptions(values_text: str, schema: dict[str, Any]) -> str:
    """values.yaml text with every key's `# --` block replaced by its schema description."""
    out: list[str] = []
    pending: list[str] = []  # comment lines directly above the current line
    stack: list[tuple[int, str]] = []  # (indent, key) of the enclosing mapping keys
    list_indent: int | None = None  # inside a list item deeper than this: leave alone
    for line in values_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(line)
            continue
        m = _KEY.match(line) if stripped else None
        indent = len(line) - len(line.lstrip(" "))
        if stripped and list_indent is not None and indent <= list_indent and not line.lstrip().startswith("- "):
            list_indent = None
        if stripped.startswith("- ") and (list_indent is None or indent < list_indent):
            list_indent = indent
        if not m or m.group("item") or list_indent is not None:
            out += pending + [line]
            pending = []
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m.group("key")))
        marks = [i for i, c in enumerate(pending) if c.strip().startswith(MARK)]
        notes = pending[:marks[0]] if marks else pending
        desc = key_description(schema, [k for _, k in stack])
        out += notes + (_comment(m.group("indent"), desc) if desc else []) + [line]
        pending = []
    out += pending
    return "\n".join(out) + ("\n" if values_text.endswith("\n") else "")
