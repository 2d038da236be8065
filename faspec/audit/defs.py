r"""Macro definitions and results-macro uses, as the scanner meets them.

``\newcommand{\acc}{0.401}`` (and ``\def``, ``\NewDocumentCommand``, ...) prints its body
wherever the macro is used, so the numbers of its body are reported at each use site, with
that site's table cell, math mode and sentence (where their meaning is): "FA reaches \acc{}
accuracy" is judged as "FA reaches 0.401 accuracy". A macro never used prints nothing and
reports nothing. A number is reported at the use's ``file:line:col`` with its own text.
Redefinitions of
LaTeX internals (``\arraystretch``, ``\thefootnote``) print no result and are skipped. A use of
a results macro (``\fsv{claim}{method}{field}``) becomes a `MacroUse` with its arguments. A
mixin of `Scanner`.
"""

from __future__ import annotations

import dataclasses
import re

from faspec.audit.hits import Extraction, MacroUse, NumberHit, Source
from faspec.audit.texnames import (
    _INTERNAL_TARGET,
)
from faspec.audit.textscan import (
    _group_text,
    _read_cs,
    _skip_delimited,
    _skip_group,
    _skip_sig,
    _skip_ws,
)


class DefinitionReader:
    """Mixin of `Scanner`: definitions and results-macro uses."""

    macro_names: set[str]
    macro_arity: dict[str, int]
    pm_macros: set[str]
    result: Extraction
    src: Source | None
    bodies: dict[str, list[NumberHit]]
    stopped: bool

    def _define(self, t: str, j: int, cmd: str) -> int:
        """\\newcommand{\\x}[n][d]{body}: numbers in the body print wherever \\x is used."""
        n = len(t)
        k = _skip_sig(t, j, "*")
        k = _skip_ws(t, k, par=False)
        target = ""
        if k < n and t[k] == "{":
            inner, k = _group_text(t, k)
            target = (inner or "").strip().lstrip("\\")
        elif k < n and t[k] == "\\":
            target, k = _read_cs(t, k)
        arity = 0
        g = _skip_ws(t, k, par=False)
        if g < n and t[g] == "[":
            e = _skip_delimited(t, g, "[", "]")
            spec = t[g + 1 : e - 1].strip()
            arity = int(spec) if spec.isdigit() else 0
            k = _skip_sig(t, e, "[")
        elif cmd.endswith("DocumentCommand"):  # \NewDocumentCommand{\x}{m m}{body}
            text_spec, k2 = _group_text(t, k)
            if text_spec is not None:
                arity = len(re.findall(r"[mrRvb]", text_spec))
                k = k2
        return self._def_body(t, k, target, arity, renew=not cmd.startswith("new"))

    def _tex_define(self, t: str, j: int) -> int:
        n = len(t)
        k = _skip_ws(t, j, par=False)
        target = ""
        if k < n and t[k] == "\\":
            target, k = _read_cs(t, k)
        elif k < n:
            k += 1
        m = re.compile(r"[^{]*").match(t, k)
        params = m.group() if m else ""
        arity = len(re.findall(r"#\d", params))
        return self._def_body(t, m.end() if m else k, target, arity, renew=True)

    def _def_body(self, t: str, k: int, target: str, arity: int, renew: bool) -> int:
        """Read a definition's body (emitting: it prints where the macro is used), unless it
        redefines a LaTeX internal (\\arraystretch, \\thefootnote), which prints no result."""
        g = _skip_ws(t, k, par=False)
        if g >= len(t) or t[g] != "{":
            return k
        if target in self.macro_names:
            self.macro_arity[target] = arity
        if not target or (renew and _INTERNAL_TARGET.match(target)):
            return _skip_group(t, g)
        body_end = _skip_group(t, g)
        if re.search(r"\\(?:pm|textpm)(?![A-Za-z])|±", t[g:body_end]):
            self.pm_macros.add(target)
        if target in self.macro_names:
            return body_end
        self._read_body(t, g, body_end, target)
        return body_end

    def _read_body(self, t: str, g: int, body_end: int, target: str) -> None:
        """Scan a body once, keep its numbers as templates for `_body_use`, report none here."""
        mark, depth, envs = len(self.result.numbers), len(self.frames), len(self.envs_open)
        stopped = self.stopped
        self._push("group", emit=True)
        self._scan(t, g + 1, body_end - 1)
        del self.frames[depth:]
        del self.envs_open[envs:]
        self.stopped = stopped
        hits = self.result.numbers[mark:]
        del self.result.numbers[mark:]
        if hits:
            self.bodies[target] = hits
        else:
            self.bodies.pop(target, None)

    def _body_use(self, t: str, i: int, j: int, name: str) -> None:
        """Report the numbers of macro `name`'s body at its use [i, j), with this site's state."""
        if not self.emit:
            return
        assert self.src is not None
        line, col = self._line_col(i)
        tab = self._table()
        grid = tab.grid if tab is not None else None
        for h in self.bodies[name]:
            self.result.numbers.append(
                dataclasses.replace(
                    h,
                    file=self.src.file,
                    line=line,
                    col=col,
                    math=h.math or self.math,
                    envs=self._envs(),
                    cell=(tab.row, tab.col) if tab is not None else None,
                    header=grid.header(tab.row, tab.col) if grid else "",
                    row_header=grid.row_header(tab.row, tab.col) if grid else "",
                    cell_text=grid.cell_text(self.src.file, t, i, j) if grid else "",
                    context=self._context(i, j),
                    start=i,
                    end=j,
                )
            )

    def _macro_use(self, t: str, i: int, j: int, name: str) -> int:
        n = len(t)
        k = j
        options = None
        g = _skip_ws(t, k, par=False)
        if g < n and t[g] == "[":
            e = _skip_delimited(t, g, "[", "]")
            options = t[g + 1 : e - 1]
            k = e
        args: list[str] = []
        arity = self.macro_arity.get(name)
        while arity is None or len(args) < arity:
            g = _skip_ws(t, k, par=False) if arity is not None else k
            if g < n and t[g] == "{":
                e = _skip_group(t, g)
                args.append(t[g + 1 : e - 1])
                k = e
            else:
                break
        if self.emit:
            line, col = self._line_col(i)
            assert self.src is not None
            self.result.macros.append(
                MacroUse(
                    self.src.file,
                    line,
                    col,
                    name,
                    tuple(args),
                    options,
                    t[i:k],
                    self._context(i, k),
                    i,
                    k,
                )  # fmt: skip
            )
        return k
