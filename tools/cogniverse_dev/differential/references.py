"""Operators that break names and references: typos in references and template names, a removed
template, names Argo forbids, names declared twice."""

from __future__ import annotations

import copy
import re
from typing import Iterator

from .walk import Obj, _calls, _rename, _set, _specs, _string_paths, _tindex, _variants, operator


@operator("reference-typo")
def reference_typo(objs: list[Obj], i: int) -> Iterator[tuple[str, list[Obj]]]:
    """One segment of a {{a.b.c}} reference misspelt (a typo, or '-' written as '_')."""
    for path, s in _string_paths(objs[i]):
        if "{{" not in s:
            continue
        for m in re.finditer(r"\{\{\s*([A-Za-z][\w.-]*)\s*\}\}", s):
            parts = m.group(1).split(".")
            for pi in range(len(parts)):
                if pi == 0 and parts[0] in ("item",):
                    continue
                for variant in sorted({parts[pi] + "x"} | ({parts[pi].replace("-", "_")} - {parts[pi]})):
                    new, o = _variants(objs, i)
                    ref = ".".join(parts[:pi] + [variant] + parts[pi + 1:])
                    _set(o, path, s.replace(m.group(0), "{{" + ref + "}}", 1))
                    yield f"{{{{{m.group(1)}}}}} -> {{{{{ref}}}}}", new


@operator("template-typo")
def template_typo(objs: list[Obj], i: int) -> Iterator[tuple[str, list[Obj]]]:
    for ti, t in enumerate(_tindex(objs[i])):
        for ci, c in enumerate(_calls(t)):
            if isinstance(c.get("template"), str):
                new, o = _variants(objs, i)
                call = list(_calls(_tindex(o)[ti]))[ci]
                call["template"] += "-x"
                yield f"{c.get('name')} calls {call['template']}", new
            if isinstance(c.get("templateRef"), dict):
                for key in ("name", "template"):
                    new, o = _variants(objs, i)
                    call = list(_calls(_tindex(o)[ti]))[ci]
                    call["templateRef"][key] = str(call["templateRef"].get(key)) + "-x"
                    yield f"{c.get('name')} templateRef.{key} typo", new
    for spec_key in ("entrypoint", "onExit"):
        new, o = _variants(objs, i)
        for spec in _specs(o):
            if isinstance(spec.get(spec_key), str):
                spec[spec_key] += "-x"
                yield f"{spec_key} typo", new


@operator("template-removed")
def template_removed(objs: list[Obj], i: int) -> Iterator[tuple[str, list[Obj]]]:
    for ti, t in enumerate(_tindex(objs[i])):
        new, o = _variants(objs, i)
        for spec in _specs(o):
            del spec["templates"][ti]
        yield f"template {t.get('name')} removed", new


@operator("forbidden-name")
def forbidden_name(objs: list[Obj], i: int) -> Iterator[tuple[str, list[Obj]]]:
    """Template, step, task and parameter names with '_', a leading digit, or a dot."""
    names: list[str] = []
    for t in _tindex(objs[i]):
        names.append(str(t.get("name")))
        names += [str(c.get("name")) for c in _calls(t)]
        for p in ((t.get("inputs") or {}).get("parameters") or []) + ((t.get("outputs") or {}).get("parameters") or []):
            names.append(str(p.get("name")))
    for n in dict.fromkeys(names):
        if len(n) < 3:
            continue
        for new_name in (n.replace("-", "_") if "-" in n else n + "_x", "1" + n, n + ".v2"):
            yield f"{n} renamed {new_name}", [*objs[:i], _rename(objs[i], n, new_name), *objs[i + 1:]]


@operator("duplicate")
def duplicate(objs: list[Obj], i: int) -> Iterator[tuple[str, list[Obj]]]:
    for ti, t in enumerate(_tindex(objs[i])):
        new, o = _variants(objs, i)
        for spec in _specs(o):
            spec["templates"].append(copy.deepcopy(spec["templates"][ti]))
        yield f"template {t.get('name')} twice", new
        for section in ("inputs", "outputs"):
            for pi, p in enumerate((t.get(section) or {}).get("parameters") or []):
                new, o = _variants(objs, i)
                ps = _tindex(o)[ti][section]["parameters"]
                ps.append(copy.deepcopy(ps[pi]))
                yield f"{section} parameter {p.get('name')} twice in {t.get('name')}", new
        for ci, c in enumerate(_calls(t)):
            new, o = _variants(objs, i)
            tt = _tindex(o)[ti]
            if "dag" in tt:
                tt["dag"]["tasks"].append(copy.deepcopy(tt["dag"]["tasks"][ci]))
            else:
                call = list(_calls(tt))[ci]
                tt["steps"].append([copy.deepcopy(call)])
            yield f"{c.get('name')} twice in {t.get('name')}", new
            for ai, a in enumerate((c.get("arguments") or {}).get("parameters") or []):
                new, o = _variants(objs, i)
                ps = list(_calls(_tindex(o)[ti]))[ci]["arguments"]["parameters"]
                ps.append(copy.deepcopy(ps[ai]))
                yield f"argument {a.get('name')} twice in {c.get('name')}", new
    for spec in _specs(objs[i]):
        for ai, a in enumerate((spec.get("arguments") or {}).get("parameters") or []):
            new, o = _variants(objs, i)
            ps = list(_specs(o))[0]["arguments"]["parameters"]
            ps.append(copy.deepcopy(ps[ai]))
            yield f"workflow parameter {a.get('name')} twice", new


#: Fields with a fixed set of values, and wrong spellings people write.
