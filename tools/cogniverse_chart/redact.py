"""Secret values never reach a log or a report: a finding on a Secret names the key and what is wrong,
with each value under `data`/`stringData` replaced by its length (SARIF is uploaded to code scanning, and
annotations and job logs are read by anyone with access to the repository; attack24c E12). kubectl says
`illegal base64 data at input byte 7` without the value; so does this."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Iterator

SECRET_FIELDS = ("data", "stringData")


def _values(node: Any) -> Iterator[Any]:
    """Every value under node (the node too), the largest first, so a nested object is hidden whole."""
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from _values(v)
    elif isinstance(node, list):
        for v in node:
            yield from _values(v)


def _spellings(value: Any) -> set[str]:
    """How a message may spell the value: JSON (whole or cut as _short cuts it) or Python repr. A string is
    always quoted there, so a value such as "1.30" never hides the "Kubernetes 1.30" of a message."""
    text = json.dumps(value, default=str)
    out = {text, repr(value)} | {text[:limit - 3] + "..." for limit in (40, 60) if len(text) > limit}
    return {s for s in out if len(s) >= 3 and (isinstance(value, str) or len(s) >= 4)}


def hidden(value: Any) -> str:
    size = len(value) if isinstance(value, (str, dict, list)) else len(json.dumps(value, default=str))
    unit = "characters" if isinstance(value, str) else ("entries" if isinstance(value, (dict, list)) else "digits")
    return f"<hidden Secret value, {size} {unit}>"


def redact_secret(obj: dict[str, Any], findings: list[Any]) -> list[Any]:
    """The findings of one Secret, with its data/stringData values hidden in their messages."""
    if not findings:
        return findings
    pairs = sorted({(s, hidden(v)) for f in SECRET_FIELDS if obj.get(f) is not None
                    for v in _values(obj[f]) for s in _spellings(v)}, key=lambda p: -len(p[0]))
    if not pairs:
        return findings
    out = []
    for f in findings:
        message = f.message
        for spelled, instead in pairs:
            if spelled in message:
                message = message.replace(spelled, instead)
        out.append(f if message == f.message else dataclasses.replace(f, message=message))
    return out


def hide_in(message: str, value: Any) -> str:
    """message with every spelling of value (and of the values inside it) hidden."""
    pairs = sorted({(s, hidden(v)) for v in _values(value) for s in _spellings(v)}, key=lambda p: -len(p[0]))
    for spelled, instead in pairs:
        message = message.replace(spelled, instead)
    return message
