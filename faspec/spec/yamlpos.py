"""The YAML front end of a spec: text -> JSON-like data, with the position of every value.

Promise: `Doc(filename, text)` either holds `data` made only of JSON types (dict with string
keys, list, str, int, finite float, bool, None) and a map from JSON pointer
(`/experiments/depth/sweep/model.blocks/0`) to the YAML nodes it came from, or raises
`SpecError` located at `file:line:col`. No input text makes it raise anything else or run longer
than linear time in the text (times the alias expansion, itself capped at MAX_NODES):

* characters YAML forbids (NUL, other control characters) are located errors, not reader crashes;
* nesting deeper than MAX_DEPTH (in the text or through aliases) is refused before anything
  recursive walks it; a recursive alias (`&a [*a]`) is refused;
* YAML types that JSON lacks (`!!binary`, `!!set`, `!!omap`, `!!pairs`, `!!timestamp`) are
  refused; an unquoted date such as `2024-05-01` is read as the string it looks like;
* numbers must be finite (no `.inf` / `.nan`, no `1e999`) and integers fit in 64 bits
  (|n| <= MAX_INT), so that no later stage meets a number Python cannot print or convert;
* the text is at most MAX_BYTES long.

Positions come from *composing* the YAML (not just loading it) so every node keeps its marks.
Duplicate keys and non-string keys are collected in `Doc.errors` rather than raised, so that the
loader can report them together with later errors.
"""

from __future__ import annotations

import bisect
import copy
import re
from typing import Any

import yaml

from faspec.spec.errors import SpecError, choices_hint, raise_all
from faspec.spec.model import Where

# A real spec is a few kB; PyYAML composes about 300 kB/s, so this bounds a load to seconds.
MAX_BYTES = 1_000_000
MAX_NODES = 50_000  # far above any real spec (a few hundred to a few thousand values)
# A real spec nests 6-8 deep; recursive walks (schema, merge) stay far from Python's limit.
MAX_DEPTH = 64
MAX_INT = 2**63 - 1  # what torch, numpy and the store's JSON readers hold exactly
PROFILE_KEYS = ("defaults", "experiments", "stats")  # what `profiles.<name>` may override

_TAG = "tag:yaml.org,2002:"
_MERGE_TAG = _TAG + "merge"
_JSON_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "seq", "map")}


class _TooDeep(Exception):
    def __init__(self, mark: Any) -> None:
        self.mark = mark


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads `1e-3` as a float (YAML 1.1 demands `1.0e-3`; people don't), reads
    dates as strings, and refuses nesting deeper than MAX_DEPTH while composing (the composer
    recurses once per level)."""

    def __init__(self, stream: str) -> None:
        self._depth = 0
        super().__init__(stream)

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in lst if tag not in (_TAG + "float", _TAG + "timestamp")]
    for ch, lst in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _TAG + "float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))\Z""",
        re.X,
    ),
    list("-+0123456789."),
)


def ptr(parent: str, key: str | int) -> str:
    """The JSON pointer of `key` under `parent` (RFC 6901 escaping)."""
    k = str(key).replace("~", "~0").replace("/", "~1")
    return f"{parent}/{k}"


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` merged into a copy of `base`: mappings merge, anything else replaces."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _char_name(ch: str) -> str:
    names = {"\x00": "a NUL byte", "\x1b": "an escape character", "\x7f": "a DEL character"}
    return f"U+{ord(ch):04X}" + (f" ({names[ch]})" if ch in names else " (a control character)")


class Doc:
    """The composed YAML of one file: data plus pointer -> (key node, value node) for locating."""

    def __init__(self, filename: str, text: str) -> None:
        self.filename = filename
        self.text = text
        self.nodes: dict[str, tuple[yaml.Node | None, yaml.Node]] = {}
        self.errors: list[SpecError] = []
        self._lines: list[int] | None = None
        self._scalars: dict[int, tuple[int, list[int], list[int]]] = {}  # by id(node)
        if len(text) > MAX_BYTES:
            raise SpecError(
                Where(filename, 1, 1),
                f"the spec is {len(text)} characters long; at most {MAX_BYTES} are read",
                "a spec is a few kB; split it into several files",
            )
        loader: _Loader | None = None
        try:
            loader = _Loader(text)  # the reader checks for forbidden characters right here
            root = loader.get_single_node()
            if root is None:
                raise SpecError(
                    Where(filename, 1, 1), "the file is empty", "a spec starts with `faspec: 1`"
                )
            bad: list[SpecError] = []
            self._loader = loader
            self._index(None, root, "", set(), 1, bad)
            if bad:
                raise_all(bad + self.errors)
            self.data = loader.construct_document(root)
        except yaml.reader.ReaderError as e:
            ch = e.character if isinstance(e.character, str) else chr(e.character)
            raise SpecError(
                self.at_index(e.position),
                f"the character {_char_name(ch)} is not allowed in a YAML file",
                "a spec is plain text; remove the character (or write it as an escape in a quoted string)",
            ) from None
        except _TooDeep as e:
            raise SpecError(
                self.at_index(e.mark.index),
                f"values are nested more than {MAX_DEPTH} levels deep",
                "a spec nests a few levels; check the brackets and indentation",
            ) from None
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            problem = e.problem or e.context or "invalid YAML"
            raise SpecError(
                Where(filename, line, col), f"invalid YAML: {problem}", _yaml_hint(e)
            ) from None
        except yaml.YAMLError as e:  # pragma: no cover - no unmarked error is known to reach here
            raise SpecError(Where(filename, 1, 1), f"invalid YAML: {e}") from None
        finally:
            if loader is not None:
                loader.dispose()

    # -- the checks every node passes before it is constructed
    def _scalar(self, node: yaml.ScalarNode, at: str, bad: list[SpecError]) -> None:
        field = ".".join(p.replace("~1", "/").replace("~0", "~") for p in at.split("/")[1:])
        named = f"{field}: " if field else ""
        tag, text = node.tag, node.value
        if tag == _TAG + "int":
            digits = text.lstrip("+-").replace("_", "").replace(":", "")
            value = None
            if len(digits) <= 40:  # also bounds the base-60 form `1:30:00`
                try:
                    value = int(self._loader.construct_yaml_int(node))
                except (ValueError, IndexError):
                    value = None
            if value is None or abs(value) > MAX_INT:
                bad.append(
                    SpecError(
                        self.at_node(node),
                        named + f"{_short(text)} is not an integer a spec can hold",
                        f"integers are at most {MAX_INT} in size; quote it if it is meant as text",
                    )
                )
        elif tag == _TAG + "bool" and text.lower() not in yaml.SafeLoader.bool_values:
            bad.append(SpecError(self.at_node(node), named + f"{_short(text)!r} is not a boolean"))
        elif tag == _TAG + "float":
            low = text.lower().lstrip("+-")
            try:
                value = float(text.replace("_", "")) if len(text) <= 400 else float("inf")
            except ValueError:
                value = float("nan")
            if low in (".inf", ".nan") or value != value or value in (float("inf"), float("-inf")):
                bad.append(
                    SpecError(
                        self.at_node(node),
                        named + f"{_short(text)} is not a finite number",
                        "numbers in a spec must be finite; quote it if it is meant as text",
                    )
                )

    def _index(
        self,
        key: yaml.Node | None,
        node: yaml.Node,
        at: str,
        stack: set[int],
        depth: int,
        bad: list[SpecError],
    ) -> None:
        if at in self.nodes:
            return  # a merged (`<<:`) key that the mapping itself overrides
        self.nodes[at] = (key, node)
        if (
            len(self.nodes) > MAX_NODES
        ):  # nested aliases can expand exponentially ("billion laughs")
            raise SpecError(
                self.at_node(node),
                f"the spec expands to more than {MAX_NODES} values",
                "are YAML aliases (*name) nested inside each other?",
            )
        if depth > MAX_DEPTH:  # through aliases: the text itself is checked while composing
            raise SpecError(
                self.at_node(node),
                f"values are nested more than {MAX_DEPTH} levels deep",
                "are YAML aliases (*name) nested inside each other?",
            )
        if id(node) in stack:
            raise SpecError(
                self.at_node(node),
                "a YAML alias refers to a value that contains it (a recursive structure)",
                "a spec is a tree: replace the alias by a copy of what it should hold",
            )
        if node.tag not in _JSON_TAGS and node.tag != _MERGE_TAG:
            shown = node.tag.replace(_TAG, "!!")
            bad.append(
                SpecError(
                    self.at_node(node),
                    f"the YAML type {shown} is not allowed in a spec",
                    "a spec holds strings, numbers, booleans, null, lists and mappings",
                )
            )
            return
        if isinstance(node, yaml.ScalarNode):
            self._scalar(node, at, bad)
            return
        stack = stack | {id(node)}
        if isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._index(None, item, ptr(at, i), stack, depth + 1, bad)
        elif isinstance(node, yaml.MappingNode):
            seen: dict[str, yaml.Node] = {}
            merges: list[yaml.Node] = []
            for k, v in node.value:
                if k.tag == _MERGE_TAG:
                    merges.append(v)
                    continue
                if not isinstance(k, yaml.ScalarNode) or k.tag != _TAG + "str":
                    shown = _short(k.value) if isinstance(k, yaml.ScalarNode) else "a collection"
                    hint = "quote it" if isinstance(k, yaml.ScalarNode) else ""
                    # refused before construction: the key may be unhashable or of a type
                    # (a malformed `!!timestamp`) whose constructor crashes
                    bad.append(SpecError(self.at_node(k), f"key {shown!r} is not a string", hint))
                    continue
                if k.value in seen:
                    first = seen[k.value].start_mark.line + 1
                    self.errors.append(
                        SpecError(
                            self.at_node(k),
                            f"duplicate key {_short(k.value)!r} (first given on line {first})",
                            "YAML keeps only the last one; remove or rename one of them",
                        )
                    )
                seen[k.value] = k
                self._index(k, v, ptr(at, k.value), stack, depth + 1, bad)
            for m in merges:
                for sub in m.value if isinstance(m, yaml.SequenceNode) else [m]:
                    if isinstance(sub, yaml.MappingNode):
                        for k, v in sub.value:
                            if isinstance(k, yaml.ScalarNode):
                                self._index(k, v, ptr(at, k.value), stack, depth + 1, bad)

    # -- profiles
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
            hint = choices_hint(name, known, "profiles") or (
                f"add `profiles: {{{name}: {{defaults: {{...}}}}}}` to the spec"
            )
            return [SpecError(where, f"profile '{name}' is not defined in this spec", hint)]
        prefix = ptr("/profiles", name)
        over = profiles[name]
        if not isinstance(over, dict):
            return [SpecError(self.where(prefix), f"profile '{name}' must be a mapping")]
        errors = [
            SpecError(
                self.where(ptr(prefix, k), key=True),
                f"a profile cannot override '{k}'",
                f"a profile may override {', '.join(PROFILE_KEYS)}",
            )
            for k in over
            if k not in PROFILE_KEYS
        ]
        exps = data.get("experiments")
        over_exps = over.get("experiments")
        for exp in over_exps if isinstance(over_exps, dict) else {}:
            if isinstance(exps, dict) and exp not in exps:
                errors.append(
                    SpecError(
                        self.where(ptr(ptr(prefix, "experiments"), exp), key=True),
                        f"profile '{name}' overrides experiment '{exp}', which does not exist",
                        choices_hint(exp, exps, "experiments"),
                    )
                )
        if errors:
            return errors
        self.data = deep_merge(data, over)
        for p, entry in list(self.nodes.items()):
            if p.startswith(prefix + "/"):
                self.nodes[p[len(prefix) :]] = entry
        return []

    # -- positions
    def at_index(self, index: int) -> Where:
        """The position of character `index` of the text (1-based line and column)."""
        if self._lines is None:
            self._lines = [0] + [m.end() for m in re.finditer("\n", self.text)]
        index = max(0, min(index, len(self.text)))
        line = bisect.bisect_right(self._lines, index) - 1
        return Where(self.filename, line + 1, index - self._lines[line] + 1)

    def at_node(self, node: yaml.Node) -> Where:
        return Where(self.filename, node.start_mark.line + 1, node.start_mark.column + 1)

    def node(self, at: str) -> yaml.Node | None:
        entry = self.nodes.get(at)
        return entry[1] if entry else None

    def where(self, at: str, key: bool = False) -> Where:
        """Position of the value (or its key) at `at`, else of the nearest enclosing node."""
        p = at
        while True:
            entry = self.nodes.get(p)
            if entry is not None:
                k, v = entry
                return self.at_node(k if key and k is not None else v)
            if not p:
                return Where(self.filename, 1, 1)
            p = p.rsplit("/", 1)[0]
            key = False

    def scalar_text(self, at: str) -> str | None:
        node = self.node(at)
        return node.value if isinstance(node, yaml.ScalarNode) else None

    def where_in_scalar(self, at: str, offset: int) -> Where:
        """Where character `offset` of the string value at `at` lies in the file.

        Exact for plain and quoted one-line scalars (the usual `expect: fa > dfa`); for
        multi-line and block scalars the n-th non-blank character of the value is matched
        to the n-th non-blank character of the source, which is right unless escapes are used.
        The non-blank positions are computed once per scalar, so locating every operand of a
        long claim costs O(n log n), not O(n^2).
        """
        node = self.node(at)
        if not isinstance(node, yaml.ScalarNode):
            return self.where(at)
        value = node.value
        if id(node) not in self._scalars:
            start = node.start_mark.index
            if node.style in ('"', "'"):
                start += 1
            elif node.style in ("|", ">"):
                nl = self.text.find("\n", start)
                start = nl + 1 if nl >= 0 else start
            src_nb = [i for i in range(start, node.end_mark.index) if not self.text[i].isspace()]
            val_nb = [i for i, ch in enumerate(value) if not ch.isspace()]
            self._scalars[id(node)] = (start, src_nb, val_nb)
        start, src_nb, val_nb = self._scalars[id(node)]
        offset = max(0, min(offset, len(value)))
        before = bisect.bisect_left(val_nb, offset)
        if offset < len(value) and not value[offset].isspace() and before < len(src_nb):
            src = src_nb[before]
        elif before and before - 1 < len(src_nb):
            src = src_nb[before - 1] + (offset - val_nb[before - 1])
        else:
            src = start + offset
        return self.at_index(src)


def _short(text: str, n: int = 40) -> str:
    """`text`, cut to `n` characters for a message (a 5,000-digit number is not repeated)."""
    return text if len(text) <= n else f"{text[:n]}… ({len(text)} characters)"


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
