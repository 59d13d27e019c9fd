"""No workflow or input parameter pasted into shell/interpreter source (command injection)."""

from __future__ import annotations

import posixpath
import re
from typing import Any, Iterator

from ..findings import Severity
from ..documents import json_path
from ..argo.model import variables
from .registry import Hit, LintContext, rule

#: Interpreters and the flag after which the next argument is program text.
_INTERPRETERS = {"sh": "c", "bash": "c", "ash": "c", "dash": "c", "zsh": "c", "ksh": "c",
                 "python": "c", "python3": "c", "python2": "c", "perl": "e", "ruby": "e", "node": "e"}
_TAINTED_ROOTS = {"inputs", "workflow", "steps", "tasks", "item"}
_SAFE_WORKFLOW = {"name", "namespace", "uid", "serviceAccountName", "creationTimestamp", "mainEntrypoint",
                  "duration", "priority", "scheduledTime", "status"}


def tainted(text: str) -> list[str]:
    """Parameter-like variables in a string (workflow metadata such as workflow.name is fine)."""
    out = []
    for var in variables(text):
        if var[0] not in _TAINTED_ROOTS:
            continue
        if var[0] == "workflow" and (len(var) < 2 or var[1] in _SAFE_WORKFLOW):
            continue
        out.append("{{" + ".".join(var) + "}}")
    return out


def program_index(argv: list[Any]) -> int | None:
    """Index of the program-text argument in e.g. [bash, -euc, SCRIPT, ...] / [env, python3, -c, CODE]."""
    i = 0
    if argv and isinstance(argv[0], str) and posixpath.basename(argv[0]) == "env":
        i = 1
    if i >= len(argv) or not isinstance(argv[i], str):
        return None
    prog = re.sub(r"[\d.]+$", "", posixpath.basename(argv[i])) or posixpath.basename(argv[i])
    flag = _INTERPRETERS.get(posixpath.basename(argv[i])) or _INTERPRETERS.get(prog)
    if flag is None:
        return None
    for j in range(i + 1, len(argv)):
        a = argv[j]
        if not isinstance(a, str) or not a.startswith("-"):
            return None
        if a.startswith("--"):
            continue
        if flag in a[1:]:
            return j + 1 if j + 1 < len(argv) else None
    return None


def _containers(t: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for key in ("container", "script"):
        if isinstance(t.get(key), dict):
            yield key, t[key]
    for i, c in enumerate((t.get("containerSet") or {}).get("containers") or []):
        if isinstance(c, dict):
            yield f"containerSet.containers[{i}]", c
    for key in ("initContainers", "sidecars"):
        for i, c in enumerate(t.get(key) or []):
            if isinstance(c, dict):
                yield f"{key}[{i}]", c


@rule("policy/shell-injection", Severity.ERROR,
      "no parameter in `sh -c`/`bash -c`/`python -c` program text or script source; pass it as an argument "
      "(Argo documents pasting parameters into scripts: a policy judgement, formerly argo/shell-injection)",
      beyond_argo=True)
def shell_injection(ctx: LintContext) -> Iterator[Hit]:
    for w, tn, t in ctx.templates():
        for where, c in _containers(t):
            base = w.tpath(tn, *where.replace("[", ".").replace("]", "").split("."))
            base = [int(p) if isinstance(p, str) and p.isdigit() else p for p in base]
            argv = list(c.get("command") or []) + list(c.get("args") or [])
            n_cmd = len(c.get("command") or [])
            idx = program_index(argv)
            if idx is not None and isinstance(argv[idx], str):
                bad = tainted(argv[idx])
                if bad:
                    field = ["command", idx] if idx < n_cmd else ["args", idx - n_cmd]
                    yield Hit(w.doc, json_path([*base, *field]),
                              f"template '{tn}' pastes {', '.join(bad)} into {posixpath.basename(str(argv[0]))} "
                              f"program text: a value with quotes or `;` runs as code. Pass it as a separate "
                              f"argument (e.g. sh -c 'cmd \"$1\"' -- VALUE) or an environment variable")
            if where == "script" and isinstance(c.get("source"), str):
                bad = tainted(c["source"])
                if bad:
                    yield Hit(w.doc, json_path([*base, "source"]),
                              f"script template '{tn}' pastes {', '.join(bad)} into its source: a value "
                              f"with quotes runs as code. Read it from an environment variable or argument")
