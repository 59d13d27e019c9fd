"""A small compiler from the bundled JSON Schemas to Python closures that answer "valid or not".

This is the hot path of `validate`: most objects are valid, and a closure tree is 20-50x faster than
walking the schema with jsonschema for every object. It implements exactly the keywords kept in the
bundles (schemas.SUPPORTED_KEYWORDS) with draft-07 semantics; compiling anything else raises, so the
two can never silently disagree. When an object is invalid, validate.py asks jsonschema (the reference
implementation) for the detailed errors; tests check both agree.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from ..schemas import SUPPORTED_KEYWORDS

Check = Callable[[Any], bool]
_REF_PREFIX = "#/definitions/"


def _is_integer(v: Any) -> bool:
    t = type(v)
    return t is int or (t is float and v.is_integer())


def _is_number(v: Any) -> bool:
    t = type(v)
    return t is int or t is float


_TYPE_TESTS: dict[str, Check] = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str,
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
}
_SIMPLE_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,), "null": (type(None),),
    "number": (int, float),
}


def _json_equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but True != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _list_of(item: Check) -> Check:
    def check(v: Any) -> bool:
        if type(v) is not list:
            return False
        for x in v:
            if not item(x):
                return False
        return True
    return check


def _items(item: Check) -> Check:
    def check(v: Any) -> bool:
        if type(v) is list:
            for x in v:
                if not item(x):
                    return False
        return True
    return check


def _any_of(checks: tuple[Check, ...]) -> Check:
    def check(v: Any) -> bool:
        for c in checks:
            if c(v):
                return True
        return False
    return check


def _all_of(checks: tuple[Check, ...]) -> Check:
    def check(v: Any) -> bool:
        for c in checks:
            if not c(v):
                return False
        return True
    return check


class Compiler:
    """Compile schemas that refer to one shared `definitions` table. Reuse one Compiler per bundle."""

    def __init__(self, definitions: dict[str, Any]) -> None:
        self.definitions = definitions
        self._compiled: dict[str, Check] = {}

    def definition(self, name: str) -> Check:
        """The check for definitions[name]; compiled once, recursion-safe."""
        got = self._compiled.get(name)
        if got is not None:
            return got
        cell: list[Check] = []
        self._compiled[name] = lambda v: cell[0](v)  # placeholder while compiling recursive schemas
        check = self.compile(self.definitions[name])
        cell.append(check)
        self._compiled[name] = check
        return check

    def compile(self, schema: Any) -> Check:
        if schema is True or schema == {}:
            return lambda v: True
        if schema is False:
            return lambda v: False
        unknown = set(schema) - SUPPORTED_KEYWORDS
        if unknown:
            raise ValueError(f"schema compiler: unsupported keywords {sorted(unknown)}")
        if "$ref" in schema:  # draft-07: siblings of $ref are ignored
            ref = schema["$ref"]
            if not ref.startswith(_REF_PREFIX):
                raise ValueError(f"schema compiler: unsupported $ref {ref}")
            name = ref[len(_REF_PREFIX):]
            if name in self._compiled:
                return self._compiled[name]
            return self._lazy(name)
        checks: list[Check] = []
        typ = schema.get("type")
        obj = self._object(schema)
        if typ is not None:
            types = typ if isinstance(typ, list) else [typ]
            if obj is not None and types == ["object"]:
                checks.append(obj)  # the object check includes the type test
                obj = None
            elif "integer" in types or "number" in types:
                tests = tuple(_TYPE_TESTS[t] for t in types)
                if len(tests) == 1:
                    checks.append(tests[0])
                else:
                    checks.append(_any_of(tests))
            else:
                pytypes = tuple(t for name in types for t in _SIMPLE_TYPES[name])
                if typ == "array" and "items" in schema:  # the common case: the type test fused into the loop
                    checks.append(_list_of(self.compile(schema["items"])))
                elif len(pytypes) == 1:
                    checks.append(lambda v, p=pytypes[0]: type(v) is p)
                else:
                    checks.append(lambda v, p=pytypes: type(v) in p)
        if obj is not None:
            checks.append(lambda v, o=obj: type(v) is not dict or o(v))
        if "items" in schema and typ != "array":
            checks.append(_items(self.compile(schema["items"])))
        if "enum" in schema:
            values = schema["enum"]
            if all(type(x) is str for x in values):
                allowed = frozenset(values)
                checks.append(lambda v, a=allowed: type(v) is str and v in a)
            else:
                checks.append(lambda v, a=values: any(_json_equal(v, x) for x in a))
        if "pattern" in schema:
            rx = re.compile(schema["pattern"])
            checks.append(lambda v, r=rx: type(v) is not str or r.search(v) is not None)
        for kw, op in (("minimum", "ge"), ("maximum", "le")):
            if kw in schema:
                lim = schema[kw]
                if op == "ge":
                    checks.append(lambda v, m=lim: not _is_number(v) or v >= m)
                else:
                    checks.append(lambda v, m=lim: not _is_number(v) or v <= m)
        for kw, tp in (("minLength", str), ("minItems", list)):
            if kw in schema:
                checks.append(lambda v, m=schema[kw], t=tp: type(v) is not t or len(v) >= m)
        for kw, tp in (("maxLength", str), ("maxItems", list)):
            if kw in schema:
                checks.append(lambda v, m=schema[kw], t=tp: type(v) is not t or len(v) <= m)
        if "allOf" in schema:
            subs = [self.compile(s) for s in schema["allOf"]]
            checks.append(lambda v, ss=subs: all(s(v) for s in ss))
        if "anyOf" in schema:
            subs = [self.compile(s) for s in schema["anyOf"]]
            checks.append(lambda v, ss=subs: any(s(v) for s in ss))
        if "oneOf" in schema:
            subs = [self.compile(s) for s in schema["oneOf"]]
            checks.append(lambda v, ss=subs: sum(1 for s in ss if s(v)) == 1)
        if not checks:
            return lambda v: True
        if len(checks) == 1:
            return checks[0]
        if len(checks) == 2:
            first, second = checks
            return lambda v: first(v) and second(v)
        return _all_of(tuple(checks))

    def _lazy(self, name: str) -> Check:
        slot: list[Check] = []

        def check(v: Any) -> bool:
            if not slot:
                slot.append(self.definition(name))
            return slot[0](v)

        return check

    def _object(self, schema: dict[str, Any]) -> Check | None:
        """Check for properties/additionalProperties/required (applies to dicts; includes the type test)."""
        props_schema = schema.get("properties")
        addl_schema = schema.get("additionalProperties", True)
        required = tuple(schema.get("required", ()))
        if props_schema is None and addl_schema is True and not required:
            return None
        props = {k: self.compile(v) for k, v in (props_schema or {}).items()}
        closed = addl_schema is False
        addl = None if isinstance(addl_schema, bool) else self.compile(addl_schema)

        def check(v: Any) -> bool:
            if type(v) is not dict:
                return False
            get = props.get
            for k, x in v.items():
                c = get(k)
                if c is None:
                    if closed:
                        return False
                    if addl is not None and not addl(x):
                        return False
                elif not c(x):
                    return False
            for r in required:
                if r not in v:
                    return False
            return True

        return check
