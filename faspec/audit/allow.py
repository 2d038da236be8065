r"""Allowances: numbers a paper may print without a stored result, each with the reason why.

Some printed numbers are not results and not spec configuration either: a p-value threshold, a
constant of a formula, a figure read off another paper. `faspec audit` would flag them as
unsourced; an allowance says "this one is fine, because ...". The reason is required, so that
every exemption is a reviewed decision that stays readable in the diff, never a silent mute.

Two places hold allowances, with the same entries:

``audit.yaml`` (a list, or a mapping with an ``allow:`` list)::

    - value: 0.05
      reason: significance threshold, not a result
    - text: "10^{-8}"
      file: sections/appendix.tex
      reason: Adam epsilon, quoted from the PyTorch defaults
    - pattern: "20\\d\\d"
      reason: years in the related-work table

``pyproject.toml``::

    [tool.faspec.audit]
    allow = [
      {value = 0.05, reason = "significance threshold"},
    ]
    # or one [[tool.faspec.audit.allow]] table per entry

Matching (every key given must hold):

* ``value``: the hit's value equals it (relative tolerance 1e-9); a string such as ``"1e-7"``
  is accepted, since YAML 1.1 reads ``1e-7`` (no dot) as a string.
* ``text``: the hit's source snippet equals it, ignoring whitespace.
* ``pattern``: a regular expression that must match the whole snippet (``re.fullmatch``), so
  that ``0.5`` cannot allow ``10.55`` by accident.
* ``file`` (optional): a glob matched against the hit's file and against each of its path
  tails, so ``sections/a.tex`` matches ``paper/sections/a.tex``.
* ``line`` (optional): the hit's line.
"""

from __future__ import annotations

import difflib
import fnmatch
import math
import os
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import yaml

from faspec.audit.errors import AuditInputError

__all__ = [
    "Allowance",
    "Allowances",
    "discover",
    "load_allowances",
    "load_audit_yaml",
    "load_pyproject",
]

_KEYS = ("value", "text", "pattern", "file", "line", "reason")
_MATCHERS = ("value", "text", "pattern")


class _Hit(Protocol):
    file: str
    line: int
    text: str
    value: float


@dataclass(frozen=True)
class Allowance:
    """One entry: what it matches, why it is allowed, and where it was written."""

    reason: str
    value: float | None = None
    text: str | None = None
    pattern: re.Pattern[str] | None = None
    file: str | None = None
    line: int | None = None
    where: tuple[str, int, int] = ("", 0, 0)

    def matches(self, hit: _Hit) -> bool:
        """Does this entry cover `hit` (every key given must hold)?"""
        if self.value is not None and not math.isclose(hit.value, self.value, rel_tol=1e-9):
            return False
        if self.text is not None and _squash(hit.text) != _squash(self.text):
            return False
        if self.pattern is not None and not self.pattern.fullmatch(hit.text):
            return False
        if self.line is not None and hit.line != self.line:
            return False
        if self.file is not None and not _file_matches(self.file, hit.file):
            return False
        return True


@dataclass
class Allowances:
    """The allowances of a paper, in file order; remembers which were used."""

    entries: list[Allowance] = field(default_factory=list)
    _used: set[int] = field(default_factory=set, repr=False)

    def is_allowed(self, hit: _Hit) -> str | None:
        """The reason of the first entry that covers `hit`, or None when none does."""
        for k, entry in enumerate(self.entries):
            if entry.matches(hit):
                self._used.add(k)
                return entry.reason
        return None

    def unused(self) -> list[Allowance]:
        """Entries no hit has matched so far: stale exemptions worth removing."""
        return [e for k, e in enumerate(self.entries) if k not in self._used]

    def __len__(self) -> int:
        return len(self.entries)


def load_allowances(paths: Iterable[str | os.PathLike[str]]) -> Allowances:
    """Load every file in `paths`: ``*.toml`` as pyproject, anything else as audit YAML."""
    entries: list[Allowance] = []
    for p in paths:
        name = os.fspath(p)
        entries += load_pyproject(name) if name.endswith(".toml") else load_audit_yaml(name)
    return Allowances(entries)


def discover(paper: str | os.PathLike[str]) -> list[Path]:
    """The allowance files that apply to a paper: ``audit.yaml`` (or ``.yml``) beside it, and
    the nearest ``pyproject.toml`` at or above its directory if it has a
    ``[tool.faspec.audit]`` table."""
    start = Path(paper).resolve().parent
    found: list[Path] = []
    for name in ("audit.yaml", "audit.yml"):
        if (start / name).is_file():
            found.append(start / name)
            break
    for d in (start, *start.parents):
        py = d / "pyproject.toml"
        if py.is_file():
            try:
                data = tomllib.loads(py.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError):
                data = {"tool": {"faspec": {"audit": {}}}}  # let load_pyproject report it
            if "audit" in data.get("tool", {}).get("faspec", {}):
                found.append(py)
            break
    return found


# ----------------------------------------------------------------------------------------------
# YAML


class _MarkLoader(yaml.SafeLoader):
    """A safe loader that remembers where each mapping starts, for file:line errors."""


def _construct_mapping(loader: _MarkLoader, node: yaml.MappingNode) -> dict[str, Any]:
    data = loader.construct_mapping(node, deep=True)
    data["__where__"] = (node.start_mark.line + 1, node.start_mark.column + 1)
    return data


_MarkLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_audit_yaml(path: str | os.PathLike[str]) -> list[Allowance]:
    """Entries of an ``audit.yaml``; errors carry the file, line and column of the entry."""
    file = os.fspath(path)
    try:
        text = Path(file).read_text(encoding="utf-8")
    except OSError as e:
        raise AuditInputError(file, 0, 0, f"cannot read allowance file: {e.strerror}") from e
    try:
        data = yaml.load(text, Loader=_MarkLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise AuditInputError(file, line, col, f"invalid YAML: {getattr(e, 'problem', e)}") from e
    if data is None:
        return []
    if isinstance(data, dict):
        where = data.pop("__where__", (1, 1))
        unknown = sorted(set(data) - {"allow"})
        if unknown:
            raise AuditInputError(
                file, *where, f"unknown top-level key {unknown[0]!r}", hint="expected 'allow:'"
            )
        data = data.get("allow") or []
    if not isinstance(data, list):
        raise AuditInputError(file, 1, 1, "an allowance file is a list of entries")
    out = []
    for k, raw in enumerate(data):
        if not isinstance(raw, dict):
            raise AuditInputError(file, 0, 0, f"entry {k + 1} is not a mapping")
        where = raw.pop("__where__", (0, 0))
        out.append(_entry(raw, file, *where))
    return out


# ----------------------------------------------------------------------------------------------
# pyproject.toml


def load_pyproject(path: str | os.PathLike[str]) -> list[Allowance]:
    """Entries of ``[tool.faspec.audit] allow = [...]`` (or ``[[tool.faspec.audit.allow]]``).

    tomllib gives no positions, so lines are found in the text: exact for one entry per line
    or one table per entry, the ``allow`` line otherwise.
    """
    file = os.fspath(path)
    try:
        text = Path(file).read_text(encoding="utf-8")
    except OSError as e:
        raise AuditInputError(file, 0, 0, f"cannot read {file}: {e.strerror}") from e
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+), column (\d+)", str(e))
        line, col = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        raise AuditInputError(file, line, col, f"invalid TOML: {e}") from e
    audit = data.get("tool", {}).get("faspec", {}).get("audit")
    if audit is None:
        return []
    allow = audit.get("allow", [])
    if not isinstance(allow, list):
        line = _toml_allow_line(text)
        raise AuditInputError(file, line, 1, "[tool.faspec.audit] allow must be a list of tables")
    places = _toml_entry_places(text, len(allow))
    out = []
    for k, raw in enumerate(allow):
        if not isinstance(raw, dict):
            raise AuditInputError(file, *places[k], f"allow entry {k + 1} is not a table")
        out.append(_entry(dict(raw), file, *places[k]))
    return out


def _toml_allow_line(text: str) -> int:
    lines = text.splitlines()
    header = next(
        (i for i, ln in enumerate(lines) if re.match(r"\s*\[tool\.faspec\.audit\]\s*(#.*)?$", ln)),
        None,
    )
    if header is not None:
        for i in range(header + 1, len(lines)):
            if re.match(r"\s*\[", lines[i]) and not re.match(r"\s*allow\s*=", lines[i]):
                break
            if re.match(r"\s*allow\s*=", lines[i]):
                return i + 1
        return header + 1
    return 0


def _toml_entry_places(text: str, count: int) -> list[tuple[int, int]]:
    """(line, col) of each entry: each [[tool.faspec.audit.allow]] header, or each top-level '{' of the
    inline `allow = [...]` array (strings and comments skipped)."""
    heads = [
        (i + 1, 1)
        for i, ln in enumerate(text.splitlines())
        if re.match(r"\s*\[\[\s*tool\.faspec\.audit\.allow\s*\]\]", ln)
    ]
    if len(heads) == count:
        return heads
    start_line = _toml_allow_line(text)
    found: list[tuple[int, int]] = []
    if start_line:
        offsets = [0]
        for ln in text.splitlines(keepends=True):
            offsets.append(offsets[-1] + len(ln))
        i = text.index("=", offsets[start_line - 1]) + 1
        depth, line = 0, start_line
        while i < len(text) and len(found) < count:
            c = text[i]
            if c == "\n":
                line += 1
            elif c == "#":
                while i < len(text) and text[i] != "\n":
                    i += 1
                continue
            elif c in "\"'":
                q = text[i : i + 3] if text[i : i + 3] in ('"""', "'''") else c
                j = text.find(q, i + len(q))
                while c == '"' and j > 0 and text[j - 1] == "\\" and len(q) == 1:
                    j = text.find(q, j + 1)
                j = len(text) if j < 0 else j
                line += text.count("\n", i, j)
                i = j + len(q)
                continue
            elif c in "[{":
                if c == "{" and depth == 1:
                    found.append((line, i - text.rfind("\n", 0, i)))
                depth += 1
            elif c in "]}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
    return found + [(start_line, 1)] * (count - len(found))


# ----------------------------------------------------------------------------------------------
# One entry


def _entry(raw: dict[str, Any], file: str, line: int, col: int) -> Allowance:
    unknown = [k for k in raw if k not in _KEYS]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), _KEYS, n=1)
        raise AuditInputError(
            file, line, col, f"unknown allowance key {unknown[0]!r}",
            hint=f"did you mean {close[0]!r}?" if close else f"keys are {', '.join(_KEYS)}",
        )  # fmt: skip
    reason = raw.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise AuditInputError(
            file, line, col, "allowance without a reason",
            hint="add `reason:` saying why this number needs no stored result",
        )  # fmt: skip
    if not any(raw.get(k) is not None for k in _MATCHERS):
        raise AuditInputError(
            file, line, col, "allowance matches nothing", hint="give value, text or pattern"
        )
    value = raw.get("value")
    if value is not None:
        try:
            if isinstance(value, bool):
                raise ValueError
            value = float(str(value).replace("\u2212", "-")) if isinstance(value, str) else value
            value = float(value)
        except (TypeError, ValueError):
            msg = f"value {raw['value']!r} is not a number"
            raise AuditInputError(file, line, col, msg) from None
    text = raw.get("text")
    if text is not None and not isinstance(text, (str, int, float)):
        raise AuditInputError(file, line, col, "text must be a string")
    pattern = raw.get("pattern")
    compiled = None
    if pattern is not None:
        try:
            compiled = re.compile(str(pattern))
        except re.error as e:
            raise AuditInputError(file, line, col, f"invalid pattern {pattern!r}: {e}") from e
    where_file = raw.get("file")
    if where_file is not None and not isinstance(where_file, str):
        raise AuditInputError(file, line, col, "file must be a string (a path or glob)")
    at_line = raw.get("line")
    if at_line is not None and (not isinstance(at_line, int) or isinstance(at_line, bool)):
        raise AuditInputError(file, line, col, "line must be an integer")
    return Allowance(
        reason=reason.strip(),
        value=value,
        text=None if text is None else str(text),
        pattern=compiled,
        file=where_file,
        line=at_line,
        where=(file, line, col),
    )


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def _file_matches(glob: str, file: str) -> bool:
    parts: Sequence[str] = PurePosixPath(file.replace(os.sep, "/")).parts
    glob = glob.replace(os.sep, "/").removeprefix("./")
    return any(fnmatch.fnmatchcase("/".join(parts[k:]), glob) for k in range(len(parts)))
