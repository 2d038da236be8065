"""Spec loading: YAML -> validated, merged, expanded `Spec` dataclasses.

Every error a user can make in a spec is reported as `SpecError` with `file:line:col` and, where
we can guess the intent, a hint ("did you mean 'dfa'?"); the CLI prints it and exits 2, never a
traceback. To locate errors, the YAML is *composed* (not just loaded) so every node keeps its
position, and a map from JSON pointer (`/experiments/depth/sweep/model.blocks/0`) to node is
built alongside the data. All errors of a spec are collected (`SpecError.errors`); the exception
itself is the first one by position.

Validation runs in layers, each only when the previous one is clean (later layers rely on the
shape the earlier ones guarantee): YAML syntax -> JSON Schema (schema.json) -> names and
semantics (registered methods and metrics, experiments, claim expressions, sweeps, margins).
"""

from __future__ import annotations

import copy
import difflib
import itertools
import json
import math
import re
from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema.exceptions import ValidationError, best_match

from faspec.spec import expr as E
from faspec.spec.model import (
    DEFAULT_ALPHA,
    DEFAULT_METRIC_STATS,
    DEFAULT_TEST,
    Claim,
    Experiment,
    MethodEntry,
    MetricStats,
    Point,
    Reported,
    Spec,
    Stats,
    Where,
)

__all__ = [
    "DEFAULT_METRIC_STATS",
    "SpecError",
    "load",
    "load_many",
    "load_text",
    "schema",
]

SECTIONS = ("data", "model", "train", "measure")  # deep-merged from defaults
PROFILE_KEYS = ("defaults", "experiments", "stats")  # what `profiles.<name>` may override
MAX_NODES = 50_000  # far above any real spec (a few hundred to a few thousand)
REPLACED = ("methods", "seeds", "resources")  # replaced as a whole


class SpecError(Exception):
    """An invalid spec, located: `str()` is `file:line:col: message (hint: ...)`.

    `errors` holds every error found in the spec (this one first), so the CLI can print all of
    them at once instead of making the user fix them one run at a time.
    """

    def __init__(self, where: Where, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.where = where
        self.message = message
        self.hint = hint
        self.errors: list[SpecError] = [self]

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" + (f" (hint: {self.hint})" if self.hint else "")

    def format_all(self) -> str:
        return "\n".join(str(e) for e in self.errors)


# --------------------------------------------------------------------------------------- schema


@cache
def _schema_text() -> str:
    return resources.files("faspec.spec").joinpath("schema.json").read_text(encoding="utf-8")


def schema() -> dict[str, Any]:
    """The JSON Schema of spec language v1 (a fresh copy; safe to modify)."""
    return json.loads(_schema_text())


# Draft 2020-12 counts 42.0 as an integer; a seed written 42.0 is a typo we want to catch.
_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, x: isinstance(x, int) and not isinstance(x, bool)
    ),
)


@cache
def _validator() -> Any:
    return _Validator(schema())


# ----------------------------------------------------------------------------------------- YAML


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads `1e-3` as a float (YAML 1.1 demands `1.0e-3`; people don't)."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in lst if tag != "tag:yaml.org,2002:float"]
    for ch, lst in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)

_MERGE_TAG = "tag:yaml.org,2002:merge"


def _ptr(parent: str, key: str | int) -> str:
    k = str(key).replace("~", "~0").replace("/", "~1")
    return f"{parent}/{k}"


class _Doc:
    """The composed YAML of one file: data plus pointer -> (key node, value node) for locating."""

    def __init__(self, filename: str, text: str) -> None:
        self.filename = filename
        self.text = text
        self.nodes: dict[str, tuple[yaml.Node | None, yaml.Node]] = {}
        self.errors: list[SpecError] = []
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                raise SpecError(
                    Where(filename, 1, 1), "the file is empty", "a spec starts with `faspec: 1`"
                )
            self.data = loader.construct_document(root)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            problem = e.problem or e.context or "invalid YAML"
            raise SpecError(
                Where(filename, line, col), f"invalid YAML: {problem}", _yaml_hint(e)
            ) from None
        except yaml.YAMLError as e:  # pragma: no cover - unmarked reader errors
            raise SpecError(Where(filename, 1, 1), f"invalid YAML: {e}") from None
        finally:
            loader.dispose()
        self._index(None, root, "", set())

    def _index(self, key: yaml.Node | None, node: yaml.Node, ptr: str, stack: set[int]) -> None:
        if ptr in self.nodes:
            return  # a merged (`<<:`) key that the mapping itself overrides
        self.nodes[ptr] = (key, node)
        if (
            len(self.nodes) > MAX_NODES
        ):  # nested aliases can expand exponentially ("billion laughs")
            raise SpecError(
                self.at_node(node),
                f"the spec expands to more than {MAX_NODES} values",
                "are YAML aliases (*name) nested inside each other?",
            )
        if id(node) in stack:  # a recursive alias; the schema will reject the data anyway
            return
        stack = stack | {id(node)}
        if isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._index(None, item, _ptr(ptr, i), stack)
        elif isinstance(node, yaml.MappingNode):
            seen: dict[str, yaml.Node] = {}
            merges: list[yaml.Node] = []
            for k, v in node.value:
                if k.tag == _MERGE_TAG:
                    merges.append(v)
                    continue
                if not isinstance(k, yaml.ScalarNode) or k.tag != "tag:yaml.org,2002:str":
                    shown = k.value if isinstance(k, yaml.ScalarNode) else "a collection"
                    hint = "quote it" if isinstance(k, yaml.ScalarNode) else ""
                    self.errors.append(
                        SpecError(self.at_node(k), f"key {shown!r} is not a string", hint)
                    )
                    continue
                if k.value in seen:
                    first = seen[k.value].start_mark.line + 1
                    self.errors.append(
                        SpecError(
                            self.at_node(k),
                            f"duplicate key {k.value!r} (first given on line {first})",
                            "YAML keeps only the last one; remove or rename one of them",
                        )
                    )
                seen[k.value] = k
                self._index(k, v, _ptr(ptr, k.value), stack)
            for m in merges:
                for sub in m.value if isinstance(m, yaml.SequenceNode) else [m]:
                    if isinstance(sub, yaml.MappingNode):
                        for k, v in sub.value:
                            if isinstance(k, yaml.ScalarNode):
                                self._index(k, v, _ptr(ptr, k.value), stack)

    def apply_profile(self, name: str) -> list[SpecError]:
        """Deep-merge `profiles.<name>` over the document (see PROFILE_KEYS), keeping positions.

        A profile is a partial spec: mappings merge, anything else (lists, scalars) replaces.
        Overridden values are located at the profile's own lines, so errors they cause point
        there.
        """
        data = self.data if isinstance(self.data, dict) else {}
        profiles = data.get("profiles")
        if not isinstance(profiles, dict) or name not in profiles:
            known = list(profiles) if isinstance(profiles, dict) else []
            where = self.where("/profiles", key=True) if known else Where(self.filename, 1, 1)
            hint = _choices_hint(name, known, "profiles") or (
                f"add `profiles: {{{name}: {{defaults: {{...}}}}}}` to the spec"
            )
            return [SpecError(where, f"profile '{name}' is not defined in this spec", hint)]
        prefix = _ptr("/profiles", name)
        over = profiles[name]
        if not isinstance(over, dict):
            return [SpecError(self.where(prefix), f"profile '{name}' must be a mapping")]
        errors = [
            SpecError(
                self.where(_ptr(prefix, k), key=True),
                f"a profile cannot override '{k}'",
                f"a profile may override {', '.join(PROFILE_KEYS)}",
            )
            for k in over
            if k not in PROFILE_KEYS
        ]
        exps = data.get("experiments")
        for exp in over.get("experiments") or {}:
            if isinstance(exps, dict) and exp not in exps:
                errors.append(
                    SpecError(
                        self.where(_ptr(_ptr(prefix, "experiments"), exp), key=True),
                        f"profile '{name}' overrides experiment '{exp}', which does not exist",
                        _choices_hint(exp, exps, "experiments"),
                    )
                )
        if errors:
            return errors
        self.data = _deep_merge(data, over)
        for ptr, entry in list(self.nodes.items()):
            if ptr.startswith(prefix + "/"):
                self.nodes[ptr[len(prefix) :]] = entry
        return []

    def at_node(self, node: yaml.Node) -> Where:
        return Where(self.filename, node.start_mark.line + 1, node.start_mark.column + 1)

    def node(self, ptr: str) -> yaml.Node | None:
        entry = self.nodes.get(ptr)
        return entry[1] if entry else None

    def where(self, ptr: str, key: bool = False) -> Where:
        """Position of the value (or its key) at `ptr`, else of the nearest enclosing node."""
        p = ptr
        while True:
            entry = self.nodes.get(p)
            if entry is not None:
                k, v = entry
                return self.at_node(k if key and k is not None else v)
            if not p:
                return Where(self.filename, 1, 1)
            p = p.rsplit("/", 1)[0]
            key = False

    def scalar_text(self, ptr: str) -> str | None:
        node = self.node(ptr)
        return node.value if isinstance(node, yaml.ScalarNode) else None

    def where_in_scalar(self, ptr: str, offset: int) -> Where:
        """Where character `offset` of the string value at `ptr` lies in the file.

        Exact for plain and quoted one-line scalars (the usual `expect: fa > dfa`); for
        multi-line and block scalars the n-th non-blank character of the value is matched
        to the n-th non-blank character of the source, which is right unless escapes are used.
        """
        node = self.node(ptr)
        if not isinstance(node, yaml.ScalarNode):
            return self.where(ptr)
        value = node.value
        start = node.start_mark.index
        if node.style in ('"', "'"):
            start += 1
        elif node.style in ("|", ">"):
            nl = self.text.find("\n", start)
            start = nl + 1 if nl >= 0 else start
        offset = max(0, min(offset, len(value)))
        src_nb = [i for i in range(start, node.end_mark.index) if not self.text[i].isspace()]
        val_nb = [i for i, ch in enumerate(value) if not ch.isspace()]
        before = sum(1 for i in val_nb if i < offset)
        if offset < len(value) and not value[offset].isspace() and before < len(src_nb):
            src = src_nb[before]
        elif before and before - 1 < len(src_nb):
            src = src_nb[before - 1] + (offset - val_nb[before - 1])
        else:
            src = start + offset
        line = self.text.count("\n", 0, src)
        col = src - (self.text.rfind("\n", 0, src) + 1)
        return Where(self.filename, line + 1, col + 1)


def _yaml_hint(e: yaml.MarkedYAMLError) -> str:
    problem = e.problem or ""
    if "mapping values are not allowed" in problem:
        return "a value containing ': ' must be quoted, or an indentation is off"
    if "found character '\\t'" in problem or "\\t" in problem:
        return "YAML does not allow tabs for indentation; use spaces"
    if "could not find expected ':'" in problem:
        return "a key needs ': ' after it; check the indentation of this line"
    if e.context and e.context_mark:
        return f"{e.context} started at line {e.context_mark.line + 1}"
    return "check the indentation and quoting around this position"


# ------------------------------------------------------------------------------- schema errors


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


def _closest(word: str, options: Iterable[str]) -> str:
    hits = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.5)
    return f"did you mean '{hits[0]}'?" if hits else ""


def _choices_hint(word: str, options: Iterable[str], what: str) -> str:
    opts = sorted(options)
    close = _closest(word, opts)
    if close:
        return close
    return f"{what}: {', '.join(opts)}" if opts else ""


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


def _schema_error(err: ValidationError, doc: _Doc) -> SpecError:
    err = _pick(err)
    path = list(err.absolute_path)
    ptr = "".join(_ptr("", p) for p in path)
    label = _path_label(path) or "the spec"
    schema_ = err.schema if isinstance(err.schema, dict) else {}
    custom = schema_.get("x-message")
    v = err.validator
    inst = err.instance
    where = doc.where(ptr)
    hint = ""
    if v in ("anyOf", "oneOf"):
        msg = f"{label}: {custom or 'does not have any of the allowed forms'} (got {_json_type(inst)})"
    elif "propertyNames" in err.schema_path:
        where = doc.where(_ptr(ptr, inst), key=True)
        msg = f"{label}: key {inst!r} is not allowed: {custom or err.message}"
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
        where = doc.where(_ptr(ptr, name), key=True)
        msg = f"{label}: unknown key '{name}'"
        hint = _choices_hint(name, allowed, "allowed keys")
    elif v == "type":
        want = (
            err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        )
        words = " or ".join(_TYPE_WORDS.get(w, w) for w in want)
        msg = f"{label}: {custom or 'must be ' + words} (got {_json_type(inst)} {inst!r})"
        if isinstance(inst, str) and "integer" in want and re.fullmatch(r"-?\d+", inst.strip()):
            hint = "remove the quotes"
    elif v == "const":
        msg = f"{label}: {custom or f'must be {err.validator_value!r}'} (got {inst!r})"
    elif v == "enum":
        opts = [str(o) for o in err.validator_value]
        msg = f"{label}: {inst!r} is not one of {', '.join(opts)}"
        hint = _closest(str(inst), opts)
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
        where = doc.where(_ptr(ptr, dup_i))
        msg = f"{label}: {inst[dup_i]!r} is repeated"
    elif v == "pattern":
        msg = f"{label}: {inst!r} is not valid: {custom or 'must match ' + err.validator_value}"
    elif v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        rel = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[
            v
        ]
        msg = f"{label}: must be {rel} {err.validator_value} (got {inst!r})"
    elif v == "minLength":
        msg = f"{label}: must not be empty"
    else:
        msg = f"{label}: {custom or err.message}"
    return SpecError(where, msg, hint)


# ------------------------------------------------------------------------------------ registry


def _registry() -> Any:
    """The component registry, read at call time: plug-ins and tests register into it.

    `faspec.components` declares the built-in components (and loads entry-point plug-ins)
    without torch.
    """
    import faspec.components  # noqa: F401  (declares the built-ins)
    from faspec import registry

    return registry


def _validate_run_options(config: dict[str, Any], where: Callable[[str], Where]) -> list[SpecError]:
    """Validate one run's options (names, types, choices) with the trainer's own rules.

    `config` is a RunConfig as in docs/internals.md (seed, method, data, model, train, measure)
    before normalisation; `where(dotted_path)` locates a dotted key such as "model.blocks" in
    the spec. The trainer is the authority on its options, so its `ConfigError(path, message,
    hint)` is turned into a located SpecError instead of duplicating its rules here.
    """
    from faspec.config import ConfigError, normalize_config

    try:
        normalize_config(copy.deepcopy(config))
    except ConfigError as e:
        path = str(e.path or "")
        return [SpecError(where(path), f"{path}: {e.message}" if path else e.message, e.hint)]
    return []


# ----------------------------------------------------------------------------------- building


# The key that names a section's component: options of one dataset or architecture mean nothing
# to another, so an experiment that names a different one starts from its own options alone.
_COMPONENT_KEY = {"data": "name", "model": "arch"}


def _merge_section(section: str, base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    key = _COMPONENT_KEY.get(section)
    if key and key in over and key in base and over[key] != base[key]:
        return dict(over)
    return _deep_merge(base, over)


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _set_dotted(cfg: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    d = cfg
    for p in parts[:-1]:
        if not isinstance(d.get(p), dict):
            d[p] = {}
        d = d[p]
    d[parts[-1]] = copy.deepcopy(value)


_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_REPORTED_RE = re.compile(
    rf"^\s*(?P<mean>{_NUM})\s*(?:(?:±|\+-|\+/-)\s*(?P<std>{_NUM}))?\s*"
    r"(?:\(\s*n\s*=\s*(?P<n>\d+)\s*\))?\s*$"
)


def _decimals(text: str) -> int | None:
    """Decimal places a number was printed with (`0.401` -> 3, `4.0e-3` -> 4), None if unknown."""
    m = re.fullmatch(r"\s*[-+]?(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?\s*", text)
    if not m or not (m.group(1) or m.group(2)):
        return None
    places = len(m.group(2) or "")
    return places - int(m.group(3) or 0)


def parse_reported(value: Any, text: str | None = None, std_text: str | None = None) -> Reported:
    """A printed value -> Reported; raises ValueError with a readable message on bad syntax."""
    if isinstance(value, bool):
        raise ValueError("a reported value must be a number, not a boolean")
    if isinstance(value, int | float):
        src = text if text is not None else repr(value)
        return Reported(float(value), text=src, decimals=_decimals(src))
    if isinstance(value, dict):
        mean = value["mean"]
        std = value.get("std")
        n = value.get("n")
        src = text if text is not None else str(mean)
        std_src = std_text if std_text is not None else str(std)
        shown = (
            src
            + (f" ± {std_src}" if std is not None else "")
            + (f" (n={n})" if n is not None else "")
        )
        return Reported(
            float(mean),
            None if std is None else float(std),
            n,
            text=shown,
            decimals=_decimals(src),
            std_decimals=None if std_text is None else _decimals(std_text),
        )
    if isinstance(value, str):
        m = _REPORTED_RE.match(value)
        if not m:
            raise ValueError(f"cannot read {value!r} as a reported value")
        std = m.group("std")
        n = m.group("n")
        return Reported(
            float(m.group("mean")),
            None if std is None else float(std),
            None if n is None else int(n),
            text=value.strip(),
            decimals=_decimals(m.group("mean")),
            std_decimals=None if std is None else _decimals(std),
        )
    raise ValueError(f"cannot read {value!r} as a reported value")


class _Builder:
    """Turns schema-valid data into a Spec, collecting every semantic error with its position."""

    def __init__(self, doc: _Doc, path: Path) -> None:
        self.doc = doc
        self.data: dict[str, Any] = doc.data
        self.path = path
        self.errors: list[SpecError] = []
        self.registry = _registry()
        self.methods = sorted(self.registry.METHODS)
        self.metrics = list(self.registry.metric_names())

    def err(self, where: Where, message: str, hint: str = "") -> None:
        self.errors.append(SpecError(where, message, hint))

    def at(self, ptr: str, key: bool = False) -> Where:
        return self.doc.where(ptr, key)

    # -- stats
    def stats(self) -> Stats:
        raw = self.data.get("stats") or {}
        metrics = {k: copy.copy(v) for k, v in DEFAULT_METRIC_STATS.items()}
        for name, fields in (raw.get("metrics") or {}).items():
            if name not in self.metrics:
                self.err(
                    self.at(_ptr("/stats/metrics", name), key=True),
                    f"stats for unknown metric '{name}'",
                    _choices_hint(name, self.metrics, "metrics"),
                )
                continue
            base = metrics.get(name, MetricStats())
            metrics[name] = MetricStats(**{**base.to_dict(), **fields})
        return Stats(
            alpha=float(raw.get("alpha", DEFAULT_ALPHA)),
            test=str(raw.get("test", DEFAULT_TEST)),
            metrics=metrics,
        )

    # -- experiments
    def method_entries(self, items: list[Any], ptr: str) -> list[MethodEntry]:
        out: list[MethodEntry] = []
        labels: dict[str, int] = {}
        for i, item in enumerate(items):
            iptr = _ptr(ptr, i)
            if isinstance(item, str):
                entry = MethodEntry(label=item, name=item)
                name_ptr = label_ptr = iptr
            else:
                opts = {k: v for k, v in item.items() if k not in ("method", "as")}
                entry = MethodEntry(
                    label=item.get("as", item["method"]), name=item["method"], options=opts
                )
                name_ptr = _ptr(iptr, "method")
                label_ptr = _ptr(iptr, "as") if "as" in item else name_ptr
            if entry.name not in self.registry.METHODS:
                hint = _choices_hint(entry.name, self.methods, "registered methods")
                if not self.methods:
                    hint = "no methods are registered (is faspec.train importable?)"
                self.err(self.at(name_ptr), f"unknown method '{entry.name}'", hint)
            if entry.label in E.KEYWORDS:
                self.err(
                    self.at(label_ptr),
                    f"'{entry.label}' is a keyword of the claim language and cannot be a label",
                    "give the entry another label with `as:`",
                )
            if entry.label in labels:
                self.err(
                    self.at(label_ptr),
                    f"duplicate method label '{entry.label}' (also entry {labels[entry.label]} of this list)",
                    "give one of them another label with `as:`",
                )
            labels.setdefault(entry.label, i)
            out.append(entry)
        return out

    def experiment(self, name: str, raw: dict[str, Any]) -> Experiment:
        defaults = self.data.get("defaults") or {}
        eptr = _ptr("/experiments", name)
        sections = {s: _merge_section(s, defaults.get(s) or {}, raw.get(s) or {}) for s in SECTIONS}
        protocol = self.protocol(eptr, defaults, raw)
        if protocol is not None:
            sections["measure"] = {**sections["measure"], "protocol": protocol}
        picked: dict[str, tuple[Any, str]] = {}
        for key in REPLACED:
            if key in raw:
                picked[key] = (raw[key], _ptr(eptr, key))
            elif key in defaults:
                picked[key] = (defaults[key], _ptr("/defaults", key))
        methods: list[MethodEntry] = []
        if "methods" in picked:
            methods = self.method_entries(*picked["methods"])
        else:
            self.err(
                self.at(eptr, key=True),
                f"experiment '{name}' has no methods",
                "add `methods: [...]` to it or to defaults",
            )
        seeds = list(picked["seeds"][0]) if "seeds" in picked else []
        if not seeds:
            self.err(
                self.at(eptr, key=True),
                f"experiment '{name}' has no seeds",
                "add `seeds: [42, ...]` to it or to defaults",
            )
        sweep = {k: list(v) for k, v in (raw.get("sweep") or {}).items()}
        points = []
        axes = list(sweep)
        for values in itertools.product(*(sweep[a] for a in axes)):
            config = copy.deepcopy(sections)
            config["method"] = {}
            for axis, value in zip(axes, values, strict=True):
                _set_dotted(config, axis, value)
            points.append(Point(key=tuple(zip(axes, values, strict=True)), config=config))
        resources_ = dict(picked["resources"][0]) if "resources" in picked else {}
        exp = Experiment(
            name=name,
            methods=methods,
            seeds=seeds,
            sweep=sweep,
            points=points,
            where=self.at(eptr, key=True),
            resources=resources_,
        )
        self.check_run_options(exp, picked)
        return exp

    def protocol(
        self, eptr: str, defaults: dict[str, Any], raw: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The experiment's `measure.protocol`: `protocol:` is short for `measure: {protocol:}`.

        Merged in the order defaults.measure.protocol, defaults.protocol,
        experiment.measure.protocol, experiment.protocol (later keys win); giving both forms at
        one level is an error. None when there is nothing to merge, or when a value is not a
        mapping (the trainer's check then reports it, located).
        """
        parts: list[Any] = []
        for base, level in (("/defaults", defaults), (eptr, raw)):
            measure = level.get("measure") or {}
            nested = measure.get("protocol") if isinstance(measure, dict) else None
            short = level.get("protocol")
            if nested is not None and short is not None:
                self.err(
                    self.at(_ptr(base, "protocol"), key=True),
                    "the protocol is given twice here: as `protocol:` and as `measure.protocol`",
                    "keep one of them (`protocol:` is short for `measure: {protocol: ...}`)",
                )
            parts += [p for p in (nested, short) if p is not None]
        if not parts or not all(isinstance(p, dict) for p in parts):
            return None
        out: dict[str, Any] = {}
        for p in parts:
            out = _deep_merge(out, p)
        return out

    def config_where(
        self, exp: Experiment, method_index: int | None, picked: dict[str, Any]
    ) -> Callable[[str], Where]:
        """Locate a dotted RunConfig path of `exp` in the file (sweep, then experiment, then defaults)."""
        eptr = _ptr("/experiments", exp.name)

        def where(path: str) -> Where:
            if not path or path == "<config>":
                return exp.where
            if path == "seed" and "seeds" in picked:
                return self.at(picked["seeds"][1])
            if path in exp.sweep:
                return self.at(_ptr(_ptr(eptr, "sweep"), path), key=True)
            parts = path.split(".")
            if parts[0] == "method":
                if method_index is not None and "methods" in picked:
                    mptr = _ptr(picked["methods"][1], method_index)
                    opt = parts[1] if len(parts) > 1 and parts[1] != "name" else "method"
                    if _ptr(mptr, opt) in self.doc.nodes:
                        return self.at(_ptr(mptr, opt), key=True)
                    return self.at(mptr)
                return exp.where
            if parts[:2] == ["measure", "protocol"]:  # `protocol:` is short for measure.protocol
                for base in (eptr, "/defaults"):
                    for spelled in (parts[1:], parts):
                        for depth in range(len(spelled), len(spelled) - len(parts) + 1, -1):
                            ptr = base + "".join(_ptr("", p) for p in spelled[:depth])
                            if ptr in self.doc.nodes:
                                return self.at(ptr, key=depth == len(spelled))
            for base in (eptr, "/defaults"):
                for depth in range(len(parts), 0, -1):
                    ptr = base + "".join(_ptr("", p) for p in parts[:depth])
                    if ptr in self.doc.nodes:
                        return self.at(ptr, key=depth == len(parts))
            return exp.where

        return where

    def check_run_options(self, exp: Experiment, picked: dict[str, Any]) -> None:
        """Every (point, method) config is checked once; every seed once, with the first of them."""
        if not exp.seeds:
            return
        for p, point in enumerate(exp.points):
            for i, m in enumerate(exp.methods):
                if m.name not in self.registry.METHODS:
                    continue  # already reported as an unknown method
                for seed in exp.seeds if p == 0 and i == 0 else exp.seeds[:1]:
                    config = {
                        "seed": seed,
                        "method": {"name": m.name, **m.options, **point.config["method"]},
                        **{s: point.config[s] for s in SECTIONS},
                    }
                    self.errors += _validate_run_options(config, self.config_where(exp, i, picked))

    # -- claims
    def claim(
        self, i: int, raw: dict[str, Any], exps: dict[str, Experiment], stats: Stats
    ) -> Claim | None:
        cptr = _ptr("/claims", i)
        cid = raw["id"]
        exp_name = raw["in"]
        metric = raw.get("metric", "test_acc")
        ok = True
        if metric not in self.metrics:
            self.err(
                self.at(_ptr(cptr, "metric")),
                f"unknown metric '{metric}'",
                _choices_hint(metric, self.metrics, "metrics"),
            )
            ok = False
        exp = exps.get(exp_name)
        if exp is None:
            self.err(
                self.at(_ptr(cptr, "in")),
                f"claim '{cid}' is in experiment '{exp_name}', which does not exist",
                _choices_hint(exp_name, exps, "experiments"),
            )
        eptr = _ptr(cptr, "expect")
        try:
            node = E.parse(raw["expect"])
        except E.ExprError as e:
            self.err(self.doc.where_in_scalar(eptr, e.col), f"bad claim expression: {e.message}")
            return None
        if exp is None:
            return None
        labels = [m.label for m in exp.methods]
        for pred in E.predicates(node):
            if pred.method not in labels:
                self.err(
                    self.doc.where_in_scalar(eptr, pred.col),
                    f"method '{pred.method}' is not in experiment '{exp.name}'",
                    _closest(pred.method, labels)
                    or f"experiment '{exp.name}' has {', '.join(labels)}",
                )
                ok = False
        for op in E.operands(node):
            where = self.doc.where_in_scalar(eptr, op.col)
            if op.method not in labels:
                hint = (
                    _closest(op.method, labels)
                    or f"experiment '{exp.name}' has {', '.join(labels)}"
                )
                self.err(where, f"method '{op.method}' is not in experiment '{exp.name}'", hint)
                ok = False
            m = op.metric_or(metric)
            if op.metric is not None and m not in self.metrics:
                self.err(
                    self.doc.where_in_scalar(eptr, op.col + len(op.method) + 1),
                    f"unknown metric '{m}'",
                    _choices_hint(m, self.metrics, "metrics"),
                )
                ok = False
                continue
            layered = m.endswith("_layers")
            if op.index is not None and not layered:
                self.err(
                    where,
                    f"'{op.text(metric)}': {m} is a scalar metric and cannot be indexed",
                    "per-layer metrics end in _layers, e.g. cos_layers[0]",
                )
                ok = False
            if op.index is None and layered:
                self.err(
                    where,
                    f"'{op.text(metric)}' is a per-layer list; pick a layer",
                    f"write {op.text(metric)}[0]",
                )
                ok = False
        if ok:
            self.check_links(node, metric, stats, eptr)
        seeds = raw.get("seeds")
        if isinstance(seeds, str) and "/" in seeds:
            k, n = (int(x) for x in seeds.split("/"))
            sptr = _ptr(cptr, "seeds")
            if k > n:
                self.err(
                    self.at(sptr),
                    f"seeds: {seeds} asks for more seeds than there are",
                    "k/n needs k <= n",
                )
            elif n != len(exp.seeds):
                self.err(
                    self.at(sptr),
                    f"seeds: {seeds} but experiment '{exp.name}' has {len(exp.seeds)} seeds",
                    f"write {k}/{len(exp.seeds)}, or change the experiment's seeds",
                )
        for_each = raw.get("for_each")
        at = dict(raw.get("at") or {})
        axes = list(exp.sweep)
        if for_each is not None and for_each not in exp.sweep:
            hint = _closest(for_each, axes) or (
                f"experiment '{exp.name}' sweeps {', '.join(axes)}"
                if axes
                else f"experiment '{exp.name}' has no sweep"
            )
            self.err(
                self.at(_ptr(cptr, "for_each")),
                f"for_each: '{for_each}' is not a sweep axis of experiment '{exp.name}'",
                hint,
            )
        for axis, value in at.items():
            aptr = _ptr(_ptr(cptr, "at"), axis)
            if axis not in exp.sweep:
                hint = _closest(axis, axes) or (
                    f"experiment '{exp.name}' sweeps {', '.join(axes)}"
                    if axes
                    else f"experiment '{exp.name}' has no sweep"
                )
                self.err(
                    self.at(aptr, key=True),
                    f"at: '{axis}' is not a sweep axis of experiment '{exp.name}'",
                    hint,
                )
            elif not any(_same(value, v) for v in exp.sweep[axis]):
                self.err(
                    self.at(aptr),
                    f"at: {axis} = {value!r} is not among its values {exp.sweep[axis]}",
                )
            if axis == for_each:
                self.err(
                    self.at(aptr, key=True), f"'{axis}' is both for_each and at", "keep one of them"
                )
        open_axes = [a for a in axes if a != for_each and a not in at and len(exp.sweep[a]) > 1]
        selection_valid = (for_each is None or for_each in exp.sweep) and all(
            a in exp.sweep for a in at
        )
        if open_axes and selection_valid:  # an invalid for_each/at is reported already
            a = open_axes[0]
            self.err(
                self.at(_ptr(cptr, "in")),
                f"experiment '{exp.name}' sweeps {a} ({len(exp.sweep[a])} values); claim '{cid}' must pick its points",
                f"add `for_each: {a}` (decide at every value) or `at: {{{a}: {exp.sweep[a][0]!r}}}`",
            )
        reported: dict[str, Reported] = {}
        rptr = _ptr(cptr, "reported")
        if raw.get("reported") and for_each is not None:
            self.err(
                self.at(rptr, key=True),
                "reported: cannot be checked on a for_each claim (one number, many points)",
                "state the paper's number in a separate claim with `at:`",
            )
        for key, value in (raw.get("reported") or {}).items():
            kptr = _ptr(rptr, key)
            label, _, rmetric = key.partition(".")
            if label not in labels:
                self.err(
                    self.at(kptr, key=True),
                    f"reported: method '{label}' is not in experiment '{exp.name}'",
                    _closest(label, labels) or f"experiment '{exp.name}' has {', '.join(labels)}",
                )
            if rmetric and rmetric not in self.metrics:
                self.err(
                    self.at(kptr, key=True),
                    f"reported: unknown metric '{rmetric}'",
                    _choices_hint(rmetric, self.metrics, "metrics"),
                )
            elif rmetric.endswith("_layers") or (not rmetric and metric.endswith("_layers")):
                self.err(
                    self.at(kptr, key=True),
                    "reported: per-layer metrics cannot be reported as one number",
                )
            text = self.doc.scalar_text(_ptr(kptr, "mean") if isinstance(value, dict) else kptr)
            std_text = self.doc.scalar_text(_ptr(kptr, "std")) if isinstance(value, dict) else None
            try:
                reported[key] = parse_reported(value, text, std_text)
            except ValueError as e:
                self.err(
                    self.at(kptr),
                    f"reported: {e}",
                    'write "0.401 ± 0.009", "0.401 +- 0.009 (n=3)", 0.401 or {mean: 0.401, std: 0.009, n: 3}',
                )
        return Claim(
            id=cid,
            expect=raw["expect"],
            expr=node,
            experiment=exp_name,
            metric=metric,
            where_paper=raw.get("where", ""),
            seeds=seeds,
            for_each=for_each,
            at=at,
            reported=reported,
            covers=list(raw.get("covers") or []),
            where=self.at(cptr),
            expect_where=self.at(eptr),
            baseline=baseline_label(exp),
        )

    def check_links(self, node: E.Node, metric: str, stats: Stats, eptr: str) -> None:
        """Margins exist where the relation needs them; constants make sense on the metric's scale."""
        for cmp in E.comparisons(node):
            for j, (left, op, right) in enumerate(cmp.links()):
                where = self.doc.where_in_scalar(eptr, cmp.op_cols[j])
                ops = [t for t in (left, right) if isinstance(t, E.Operand)]
                if not ops:
                    self.err(
                        where,
                        f"'{left} {op} {right}' compares two numbers",
                        "one side must be a method, e.g. dfa.g_norm < 1e-7",
                    )
                    continue
                names = [t.metric_or(metric) for t in ops]
                ms = [stats.metric(n) for n in names]
                if len(ms) == 2 and ms[0].scale != ms[1].scale:
                    self.err(
                        where,
                        f"'{op}' compares {names[0]} ({ms[0].scale} scale) with {names[1]} ({ms[1].scale} scale)",
                    )
                    continue
                if len(names) == 2 and names[0] != names[1] and op in ("~=", ">>", "<<"):
                    self.err(
                        where,
                        f"'{op}' needs one metric on both sides (margins are per metric); got {names[0]} and {names[1]}",
                    )
                    continue
                m, name = ms[0], names[0]
                log = m.scale == "log"
                if op == "~=" and (m.close_ratio if log else m.close) is None:
                    field_ = "close_ratio" if log else "close"
                    self.err(
                        where,
                        f"'~=' on {name}, which has no {field_} margin",
                        f"set stats.metrics.{name}.{field_}",
                    )
                if op in (">>", "<<") and (m.much_ratio if log else m.much) is None:
                    field_ = "much_ratio" if log else "much"
                    self.err(
                        where,
                        f"'{op}' on {name}, which has no {field_} margin",
                        f"set stats.metrics.{name}.{field_}",
                    )
                for t in (left, right):
                    if isinstance(t, E.Const) and log and not t.value > 0:
                        self.err(
                            self.doc.where_in_scalar(eptr, t.col),
                            f"{name} is compared on a log10 scale; the constant {t} must be positive",
                            f"norms are positive anyway; or set stats.metrics.{name}.scale: linear",
                        )
                    elif isinstance(t, E.Const) and not math.isfinite(t.value):
                        self.err(
                            self.doc.where_in_scalar(eptr, t.col), f"the constant {t} is not finite"
                        )

    def build(self) -> Spec:
        stats = self.stats()
        exps = {name: self.experiment(name, raw) for name, raw in self.data["experiments"].items()}
        claims: list[Claim] = []
        ids: dict[str, int] = {}
        for i, raw in enumerate(self.data.get("claims") or []):
            cid = raw["id"]
            if cid in ids:
                first = self.at(_ptr(_ptr("/claims", ids[cid]), "id"))
                self.err(
                    self.at(_ptr(_ptr("/claims", i), "id")),
                    f"duplicate claim id '{cid}' (first on line {first.line})",
                    "claim ids must be unique within a spec",
                )
            ids.setdefault(cid, i)
            c = self.claim(i, raw, exps, stats)
            if c is not None:
                claims.append(c)
        return Spec(
            name=self.data["name"],
            title=self.data.get("title", ""),
            path=self.path,
            experiments=exps,
            claims=claims,
            stats=stats,
            raw=self.data,
        )


BASELINE_METHOD = "frozen"  # the registered method of protocol diagnostic (d)'s baseline


def baseline_label(exp: Experiment) -> str:
    """The label of the frozen-blocks baseline that diagnostic (d) compares an experiment's runs
    with: its own entry labelled `frozen` (method frozen), else its first method-`frozen` entry
    without options, else the label the plan adds it under (`frozen`, or `frozen_baseline` when
    another method already uses that label)."""
    plain = [m for m in exp.methods if m.name == BASELINE_METHOD and not m.options]
    for m in plain:
        if m.label == BASELINE_METHOD:
            return m.label
    if plain:
        return plain[0].label
    labels = {m.label for m in exp.methods}
    label, i = BASELINE_METHOD, 1
    while label in labels:
        label = f"{BASELINE_METHOD}_baseline" + (str(i) if i > 1 else "")
        i += 1
    return label


def _same(a: Any, b: Any) -> bool:
    """Sweep value equality without True == 1 surprises."""
    return (
        type(a) is type(b)
        and a == b
        or (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and not isinstance(a, bool)
            and not isinstance(b, bool)
            and a == b
        )
    )


def _raise(errors: list[SpecError]) -> None:
    unique = {
        (str(e.where), e.message, e.hint): e for e in errors
    }  # defaults repeat per experiment
    errors = sorted(unique.values(), key=lambda e: (e.where.line, e.where.col))
    if errors:
        first = errors[0]
        first.errors = errors
        raise first


# --------------------------------------------------------------------------------------- public


def load_text(text: str, filename: str = "<spec>", profile: str | None = None) -> Spec:
    """Load a spec from YAML text; `filename` is used in error positions and as Spec.path.

    `profile` names an entry of the spec's `profiles:` to apply first (e.g. a cheap `smoke`
    variant with fewer epochs and seeds); a spec without that profile is an error, so that a
    smoke run never silently becomes a full one.
    """
    doc = _Doc(filename, text)
    _raise(doc.errors)
    if profile is not None:
        _raise(doc.apply_profile(profile))
    errors = sorted(
        _validator().iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path))
    )
    _raise([_schema_error(e, doc) for e in errors])
    builder = _Builder(doc, Path(filename))
    spec = builder.build()
    _raise(builder.errors)
    spec.profile = profile
    return spec


def load(path: str | Path, profile: str | None = None) -> Spec:
    """Load one spec file (see load_text for `profile`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(Where(str(p), 0, 0), "no such spec file") from None
    except IsADirectoryError:
        raise SpecError(
            Where(str(p), 0, 0), "is a directory", "use load_many for directories"
        ) from None
    except UnicodeDecodeError as e:
        raise SpecError(Where(str(p), 1, 1), f"not UTF-8 text: {e.reason}") from None
    return load_text(text, str(p), profile)


def load_many(paths: Iterable[str | Path] | str | Path, profile: str | None = None) -> list[Spec]:
    """Load files and directories (a directory: its *.yaml / *.yml, sorted, not recursive).

    Spec names must be unique across everything loaded together, since plans and the store
    key cells by spec name.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.suffix in (".yaml", ".yml") and f.is_file())
        else:
            files.append(p)
    specs: list[Spec] = []
    names: dict[str, Spec] = {}
    for f in files:
        spec = load(f, profile)
        if spec.name in names:
            raise SpecError(
                Where(str(f), *_name_pos(spec)),
                f"spec name '{spec.name}' is already used by {names[spec.name].path}",
                "spec names must be unique; rename one of them",
            )
        names[spec.name] = spec
        specs.append(spec)
    return specs


def _name_pos(spec: Spec) -> tuple[int, int]:
    try:
        doc = _Doc(str(spec.path), spec.path.read_text(encoding="utf-8"))
        w = doc.where("/name")
        return w.line, w.col
    except (OSError, SpecError):
        return 0, 0
