"""Generic validation of a spec's data against the JSON Schema (schema.json), located.

Promise: `schema_errors(doc)` returns every schema violation of `doc.data` as a `SpecError` at
the position of the offending value (or key), worded for a person ("model.d: must be an
integer (got a string '64')", "unknown key 'lr'... did you mean ...?"). It knows nothing of
methods, metrics or claims (the loader checks those afterwards, on data of the shape the schema
guarantees).

`pattern` keywords are matched as JSON Schema says (ECMA-262): `$` is the end of the string.
Python's `re` lets `$` match before a final newline, which would let a name such as "tiny\\n"
through and on into report file names; here `$` is read as `\\Z`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from faspec.spec.errors import SpecError, choices_hint, closest
from faspec.spec.yamlpos import Doc, ptr

# --------------------------------------------------------------------------------------- schema


@cache
def _schema_text() -> str:
    return resources.files("faspec.spec").joinpath("schema.json").read_text(encoding="utf-8")


def schema() -> dict[str, Any]:
    """The JSON Schema of spec language v1 (a fresh copy; safe to modify)."""
    return json.loads(_schema_text())


@cache
def _ecma(pattern: str) -> re.Pattern[str]:
    """An ECMA-262 pattern as Python reads it: an unescaped `$` outside a class becomes `\\Z`."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if ch == "[":
            in_class = True
        elif ch == "]":
            in_class = False
        out.append(r"\Z" if ch == "$" and not in_class else ch)
        i += 1
    return re.compile("".join(out))


def _pattern(validator: Any, pattern: str, instance: Any, schema_: Any) -> Any:
    if isinstance(instance, str) and not _ecma(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# Draft 2020-12 counts 42.0 as an integer; a seed written 42.0 is a typo we want to catch.
_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    validators={"pattern": _pattern},
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, x: isinstance(x, int) and not isinstance(x, bool)
    ),
)


@cache
def _validator() -> Any:
    return _Validator(schema())


def schema_errors(doc: Doc) -> list[SpecError]:
    """Every schema violation of `doc.data`, located (ordered by the path of the value)."""
    errors = sorted(
        _validator().iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path))
    )
    return [schema_error(e, doc) for e in errors]


# ------------------------------------------------------------------------------- schema errors


def _r(x: Any, n: int = 60) -> str:
    """repr of a value for a message, cut to about `n` characters."""
    text = repr(x)
    return text if len(text) <= n else text[:n] + "…"


def _path_label(path: Iterable[Any]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _json_type(x: Any) -> str:
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "a boolean"
    if isinstance(x, int):
        return "an integer"
    if isinstance(x, float):
        return "a number"
    if isinstance(x, str):
        return "a string"
    if isinstance(x, list):
        return "a list"
    if isinstance(x, dict):
        return "a mapping"
    return type(x).__name__


_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean (true/false)",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}


def _pick(err: ValidationError) -> ValidationError:
    """For anyOf/oneOf, descend to the branch the user evidently meant (by the value's type).

    Branches whose `type` does not fit the value are dropped; if one branch is left and its
    error lies deeper than the value itself (or the alternatives carry no `x-message`), that
    error is the useful one. Otherwise the alternatives' own `x-message` says it best.
    """
    while err.validator in ("anyOf", "oneOf") and err.context:
        typed = [e for e in err.context if not (e.validator == "type" and not e.relative_path)]
        if not typed or len({e.relative_schema_path[0] for e in typed}) != 1:
            return err
        sub = best_match(typed)
        if not sub.relative_path and isinstance(err.schema, dict) and "x-message" in err.schema:
            return err
        err = sub
    return err


def schema_error(err: ValidationError, doc: Doc) -> SpecError:
    err = _pick(err)
    path = list(err.absolute_path)
    at = "".join(ptr("", p) for p in path)
    label = _path_label(path) or "the spec"
    schema_ = err.schema if isinstance(err.schema, dict) else {}
    custom = schema_.get("x-message")
    v = err.validator
    inst = err.instance
    where = doc.where(at)
    hint = ""
    if v in ("anyOf", "oneOf"):
        msg = f"{label}: {custom or 'does not have any of the allowed forms'} (got {_json_type(inst)})"
    elif "propertyNames" in err.schema_path:
        where = doc.where(ptr(at, inst), key=True)
        msg = f"{label}: key {_r(inst)} is not allowed: {custom or err.message}"
    elif v == "required":
        missing = [k for k in err.validator_value if isinstance(inst, dict) and k not in inst]
        name = missing[0] if missing else "?"
        msg = f"{label}: missing required key '{name}'"
        hint = f"{'a spec' if not path else label} needs {', '.join(err.validator_value)}"
        if path == [] and name == "faspec":
            hint = "a spec starts with `faspec: 1`"
    elif v == "additionalProperties":
        allowed = set(schema_.get("properties", {}))
        extra = [k for k in inst if k not in allowed] if isinstance(inst, dict) else []
        name = extra[0] if extra else "?"
        where = doc.where(ptr(at, name), key=True)
        msg = f"{label}: unknown key '{name}'"
        hint = choices_hint(name, allowed, "allowed keys")
    elif v == "type":
        want = (
            err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        )
        words = " or ".join(_TYPE_WORDS.get(w, w) for w in want)
        msg = f"{label}: {custom or 'must be ' + words} (got {_json_type(inst)} {_r(inst)})"
        if isinstance(inst, str) and "integer" in want and re.fullmatch(r"-?\d+", inst.strip()):
            hint = "remove the quotes"
    elif v == "const":
        msg = f"{label}: {custom or f'must be {err.validator_value!r}'} (got {_r(inst)})"
    elif v == "enum":
        opts = [str(o) for o in err.validator_value]
        msg = f"{label}: {_r(inst)} is not one of {', '.join(opts)}"
        hint = closest(str(inst), opts)
    elif v == "minItems":
        if len(path) >= 2 and path[-2] == "sweep":
            msg = f"sweep axis '{path[-1]}' has no values"
            hint = "give at least one value, e.g. [4], or remove the axis"
        else:
            msg = f"{label}: must not be empty"
    elif v == "minProperties":
        msg = f"{label}: must not be empty"
    elif v == "uniqueItems":
        seen: set[Any] = set()
        dup_i = 0
        for i, x in enumerate(inst):
            key = json.dumps(x, sort_keys=True)
            if key in seen:
                dup_i = i
                break
            seen.add(key)
        where = doc.where(ptr(at, dup_i))
        msg = f"{label}: {_r(inst[dup_i])} is repeated"
    elif v == "pattern":
        msg = f"{label}: {_r(inst)} is not valid: {custom or 'must match ' + err.validator_value}"
    elif v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        rel = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[
            v
        ]
        msg = f"{label}: must be {rel} {err.validator_value} (got {_r(inst)})"
    elif v == "minLength":
        msg = f"{label}: must not be empty"
    else:
        msg = f"{label}: {custom or err.message}"
    return SpecError(where, msg, hint)
