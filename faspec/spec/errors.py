"""The located error every spec problem becomes, and the hints that go with it.

Promise: everything a user can get wrong in a spec file (bytes, YAML, schema, names, claims) is
raised as `SpecError`, whose `str()` is `file:line:col: message (hint: ...)`; the CLI prints it
and exits 2. Nothing here knows YAML or the schema: it is the vocabulary the front end
(`yamlpos`), the validation (`validate`) and the building (`build`, `build_claims`) share.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Protocol

from faspec.spec.model import Where


class Located(Protocol):
    """What a collector needs of a parsed document (`faspec.spec.yamlpos.Doc` is one): the
    position of a JSON pointer. A protocol, so that this module does not import the YAML front
    end that imports it."""

    def where(self, at: str, key: bool = False) -> Where: ...


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
        # line 0: about the file as a whole (missing, unreadable), which has no position
        at = self.where.file if not self.where.line else str(self.where)
        return f"{at}: {self.message}" + (f" (hint: {self.hint})" if self.hint else "")

    def format_all(self) -> str:
        return "\n".join(str(e) for e in self.errors)


def closest(word: str, options: Iterable[str]) -> str:
    """'did you mean ...?' for the option nearest to `word`, or '' when none is near."""
    hits = difflib.get_close_matches(str(word)[:200], list(options), n=1, cutoff=0.5)
    return f"did you mean '{hits[0]}'?" if hits else ""


def choices_hint(word: str, options: Iterable[str], what: str) -> str:
    """The nearest option, else the list of them (`what: a, b, c`), else ''."""
    opts = sorted(options)
    near = closest(word, opts)
    if near:
        return near
    return f"{what}: {', '.join(opts)}" if opts else ""


def raise_all(errors: list[SpecError]) -> None:
    """Raise the first of `errors` by position, carrying all of them (duplicates removed:
    defaults repeat per experiment); return when there are none."""
    unique = {(str(e.where), e.message, e.hint): e for e in errors}
    ordered = sorted(unique.values(), key=lambda e: (e.where.line, e.where.col))
    if ordered:
        first = ordered[0]
        first.errors = ordered
        raise first


class Collector:
    """Collects the located errors of one parsed document instead of stopping at the first.

    `errors` may be shared between collectors (the spec builder and its claim builder), so that
    `raise_all` reports every problem of the file in one go.
    """

    def __init__(self, doc: Located, errors: list[SpecError] | None = None) -> None:
        self.doc = doc
        self.errors: list[SpecError] = [] if errors is None else errors

    def err(self, where: Where, message: str, hint: str = "") -> None:
        self.errors.append(SpecError(where, message, hint))

    def at(self, ptr: str, key: bool = False) -> Where:
        """The position of JSON pointer `ptr` (of its key when `key`)."""
        return self.doc.where(ptr, key)
