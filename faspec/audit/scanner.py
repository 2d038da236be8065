r"""The document structure: one pass over each file, in the order LaTeX reads it.

`Scanner` keeps a stack of frames (groups, environments, math mode, table cells), follows
``\input`` (`faspec.audit.inputs`), reads definitions (`faspec.audit.defs`), skips what prints no number (comments, dead conditionals,
verbatim, drawings, the preamble except macro bodies, the arguments listed in
`faspec.audit.texnames`), and hands every digit or sign to the number reader
(`faspec.audit.numbers`, `faspec.audit.siunitx`). Every question about the state (math? in a table?
which environments are open?) is answered in O(1) from the innermost frame, so the pass is
linear in the text however deep it nests.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from faspec.audit.defs import DefinitionReader
from faspec.audit.errors import AuditInputError
from faspec.audit.grid import Grid
from faspec.audit.hits import Extraction, NumberHit, Source
from faspec.audit.inputs import InputReader
from faspec.audit.numbers import NumberReader
from faspec.audit.siunitx import SiunitxReader
from faspec.audit.texnames import (
    _DEFS,
    _DIGITS,
    _ENV_ARGS,
    _IF_NAME,
    _INPUTS,
    _MATH_ARG,
    _MATH_ENVS,
    _RAW_ENVS,
    _SECTION_NUMBER,
    _SECTIONS,
    _SIGNS,
    _SIUNITX,
    _SKIP,
    _SKIP_ENVS,
    _TABLE_ENVS,
    _TEX_DEFS,
    _TEX_PARAM,
    _TEX_PARAM_VALUE,
    _TEXT_ARG,
    _WORD,
)
from faspec.audit.textscan import (
    _eol,
    _group_text,
    _read_cs,
    _skip_arg,
    _skip_group,
    _skip_sig,
    _skip_ws,
)


@dataclass
class _Frame:
    kind: str  # "root" | "group" | "env"
    name: str
    math: bool
    emit: bool
    table: bool = False
    row: int = 0
    col: int = 0
    span: int = 1
    # O(1) answers however deep the nesting (a hostile \frac{ 100,000 deep): the table frame
    # that owns this frame's cells (None outside a table or under another environment), and
    # the nearest enclosing environment frame (a linked list, so a push copies nothing).
    tab: _Frame | None = None
    env_up: _Frame | None = None
    env_parent: _Frame | None = None  # for an environment frame: the one around it
    grid: Grid | None = None  # for a table frame: its cells, for column headers


class Scanner(InputReader, DefinitionReader, SiunitxReader, NumberReader):
    """One read of a paper: `run_file` the main file, then take `result`."""

    def __init__(
        self,
        base_dir: Path,
        display_dir: str,
        macros: Iterable[str],
        allow_outside: bool = False,
    ):
        self.base_dir = base_dir
        self.root = base_dir.resolve()
        self.allow_outside = allow_outside
        self.display_dir = display_dir
        self.macro_names = set(macros)
        self.macro_arity: dict[str, int] = {}
        self.pm_macros: set[str] = set()
        self.result = Extraction()
        self.bodies: dict[str, list[NumberHit]] = {}  # macro -> its body's numbers (defs)
        self.frames: list[_Frame] = [_Frame("root", "", False, True)]
        self.envs_open: list[int] = []  # indices in `frames` of the open environment frames
        self.active: list[tuple[Path, str]] = []
        self.seen: set[Path] = set()
        self.stopped = False
        self.cond: list[str] = []
        self.suppress_end = -1
        self.src: Source | None = None
        self.lines: list[int] = []

    # ---- positions

    def _line_col(self, offset: int) -> tuple[int, int]:
        k = bisect.bisect_right(self.lines, offset) - 1
        return k + 1, offset - self.lines[k] + 1

    def _context(self, start: int, end: int) -> str:
        assert self.src is not None
        t = self.src.text
        ls = t.rfind("\n", 0, start) + 1
        le = _eol(t, start)
        end = min(end, le)
        room = max(0, 60 - (end - start)) // 2
        return t[max(ls, start - room) : min(le, end + room)].strip()

    # ---- frames

    @property
    def math(self) -> bool:
        return self.frames[-1].math

    @property
    def emit(self) -> bool:
        return self.frames[-1].emit and not self.stopped

    def _push(self, kind: str, name: str = "", math: bool | None = None, emit: bool | None = None):
        top = self.frames[-1]
        f = _Frame(
            kind,
            name,
            top.math if math is None else math,
            top.emit if emit is None else emit,
            table=name in _TABLE_ENVS and kind == "env",
        )
        if kind == "env":
            f.tab = f if f.table else None
            f.env_up, f.env_parent = f, top.env_up
            self.envs_open.append(len(self.frames))
        else:
            f.tab, f.env_up = top.tab, top.env_up
        self.frames.append(f)

    def _pop_group(self) -> None:
        if len(self.frames) > 1 and self.frames[-1].kind == "group":
            self.frames.pop()

    def _pop_env(self, name: str) -> None:
        """Close the innermost open environment `name` (searching at most 32 levels: LaTeX
        itself stops at a mismatched \\end, so deeper searches only serve hostile input)."""
        opened = self.envs_open
        for back in range(1, min(len(opened), 32) + 1):
            k = opened[-back]
            if self.frames[k].name == name:
                del self.frames[k:]
                del opened[-back:]
                return

    def _table(self) -> _Frame | None:
        return self.frames[-1].tab

    def _envs(self) -> tuple[str, ...]:
        """The open environments, outermost first (the innermost 16 when nested deeper)."""
        out: list[str] = []
        f = self.frames[-1].env_up
        while f is not None and len(out) < 16:
            if f.name != "document":
                out.append(f.name)
            f = f.env_parent
        return tuple(reversed(out))

    # ---- the pass

    def _scan(self, t: str, i: int = 0, n: int | None = None) -> None:
        n = len(t) if n is None else n
        while i < n and not self.stopped:
            c = t[i]
            if c == "%":
                i = _eol(t, i)
            elif c == "\\":
                i = self._command(t, i)
            elif c == "{":
                self._push("group")
                i += 1
            elif c == "}":
                self._pop_group()
                i += 1
            elif c == "$":
                self.frames[-1].math = not self.frames[-1].math
                i += 2 if t.startswith("$$", i) else 1
            elif c == "&":
                f = self.frames[-1]
                if f.table and f.grid is not None:
                    f.grid.close_cell(self.src.file, t, i, f.row, f.col, f.span)
                    f.col += f.span
                    f.span = 1
                    f.grid.open_cell(self.src.file, i + 1)
                i += 1
            elif c in "^_" and self.math:
                i = self._skip_script(t, i + 1)
            elif c == "#":
                i += 2  # a macro parameter (#1) is not a number
            elif c in _DIGITS or (c == "." and i + 1 < n and t[i + 1] in _DIGITS) or c in _SIGNS:
                i = self._number(t, i)
            elif c in "xX" and 0 < i < n - 1 and t[i - 1] in _DIGITS and t[i + 1] in _DIGITS:
                i += 1  # the x of a size such as 3x3
            elif not self.math and (c.isalpha()):
                m = _WORD.match(t, i)
                i = m.end() if m else i + 1
            else:
                i += 1

    def _skip_script(self, t: str, i: int) -> int:
        """A sub/superscript not attached to a number is notation (W_1, x^2): skip it."""
        j = _skip_ws(t, i, par=False)
        if j >= len(t):
            return j
        if t[j] == "{":
            return _skip_group(t, j)
        if t[j] == "\\":
            return _read_cs(t, j)[1]
        if t[j] in _DIGITS:
            while j < len(t) and t[j] in _DIGITS:
                j += 1
            return j
        return j + 1

    # ---- commands

    def _command(self, t: str, i: int) -> int:
        name, j = _read_cs(t, i)
        n = len(t)
        if name == "\\" or name == "tabularnewline" or name == "cr":
            f = self.frames[-1]
            k = _skip_sig(t, j, "*[")
            if f.table and f.grid is not None:
                f.grid.close_cell(self.src.file, t, i, f.row, f.col, f.span)
                f.row += 1
                f.col = 0
                f.span = 1
                f.grid.open_cell(self.src.file, k)
            return k
        if name in ("midrule", "hline") and self.frames[-1].grid is not None:
            self.frames[-1].grid.rule(self.frames[-1].row)
        if name in ("(", "["):
            self.frames[-1].math = True
            return j
        if name in (")", "]"):
            self.frames[-1].math = False
            return j
        if name in ("verb", "lstinline", "mintinline"):
            return self._skip_inline_verbatim(t, i, j, name)
        if name == "begin":
            return self._begin(t, i, j)
        if name == "end":
            env, k = _group_text(t, j)
            if env is not None:
                env = env.strip()
                if env == "document" and self.frames[0].kind == "root":
                    self.stopped = True
                self._pop_env(env)
                return k
            return j
        if name == "endinput":
            return n
        if name == "iffalse":
            return self._skip_false(t, j, at=i)
        if name == "else" and self.cond:
            if self.cond[-1] == "true":  # \iftrue A \else B \fi: B is dead
                self.cond.pop()
                return self._skip_false(t, j, to_else=False, at=i)
            return j
        if name == "fi":
            if self.cond:
                self.cond.pop()
            return j
        if _IF_NAME.match(name) and name != "ifthenelse":
            self.cond.append("true" if name == "iftrue" else "unknown")
            return j
        if name in _INPUTS:
            return self._input(t, i, j, name)
        if name in _DEFS:
            return self._define(t, j, name)
        if name in _TEX_DEFS:
            return self._tex_define(t, j)
        if name == "let":
            k = _skip_arg(t, j)
            k = _skip_ws(t, k, par=False)
            if k < n and t[k] == "=":
                k += 1
            return _skip_arg(t, k)
        if name in self.macro_names:
            return self._macro_use(t, i, j, name)
        if name in self.bodies:
            self._body_use(t, i, j, name)
        if name in _SIUNITX:
            return self._siunitx(t, i, j, name)
        if name in _SECTIONS:
            k = _skip_sig(t, j, "*[")
            g = _skip_ws(t, k, par=False)
            if g < n and t[g] == "{":
                self._push("group", math=False)
                m = _SECTION_NUMBER.match(t, g + 1)
                if m:
                    self.suppress_end = max(self.suppress_end, m.end())
                return g + 1
            return k
        if name == "multicolumn" and self.frames[-1].table:
            arg, _ = _group_text(t, j)
            if arg is not None and arg.strip().isdigit():
                self.frames[-1].span = max(1, int(arg.strip()))
        if name in _SKIP:
            j = _skip_sig(t, j, _SKIP[name])
        elif _TEX_PARAM.match(name):
            m = _TEX_PARAM_VALUE.match(t, j)
            if m:
                j = m.end()
        if name in _TEXT_ARG or name in _MATH_ARG:
            g = _skip_ws(t, j, par=False)
            if g < n and t[g] == "{":
                self._push("group", math=name in _MATH_ARG)
                return g + 1
        return j

    def _unterminated(self, at: int, what: str, hint: str) -> AuditInputError:
        """LaTeX stops at an unterminated verbatim, conditional or comment block, and so does
        the audit: reading on would hide the rest of the file (every number in it unchecked)."""
        assert self.src is not None
        line, col = self._line_col(at)
        return AuditInputError(self.src.file, line, col, f"{what} is never closed", hint=hint)

    def _skip_inline_verbatim(self, t: str, i: int, j: int, name: str) -> int:
        n = len(t)
        if j < n and t[j] == "*":
            j += 1
        if name == "mintinline" or (name == "lstinline" and j < n and t[j] == "["):
            j = _skip_sig(t, j, "[" if name == "lstinline" else "[{")
        if j >= n:
            return n
        if t[j] == "{":
            k = _skip_group(t, j)
            if k >= n and not t.endswith("}"):
                raise self._unterminated(i, f"\\{name}{{", "close its argument")
            return k
        delim = t[j]
        k = t.find(delim, j + 1)
        eol = t.find("\n", j + 1)
        if k < 0 or (name == "verb" and 0 <= eol < k):
            raise self._unterminated(
                i, f"\\{name}{delim}", f"end it with {delim} on the same line, as LaTeX requires"
            )
        return k + 1

    def _skip_false(self, t: str, i: int, to_else: bool = True, at: int = -1) -> int:
        """Skip a dead conditional branch up to its \\fi (or, from \\iffalse, its \\else)."""
        n = len(t)
        depth = 1
        while i < n:
            c = t[i]
            if c == "%":
                i = _eol(t, i)
                continue
            if c != "\\":
                i += 1
                continue
            name, j = _read_cs(t, i)
            if _IF_NAME.match(name) and name != "ifthenelse":
                depth += 1
            elif name == "fi":
                depth -= 1
                if depth == 0:
                    return j
            elif name == "else" and depth == 1 and to_else:
                self.cond.append("else")
                return j
            i = j
        raise self._unterminated(
            at if at >= 0 else i, "\\iffalse" if to_else else "this \\else", "add its \\fi"
        )

    def _begin(self, t: str, i: int, j: int) -> int:
        env, k = _group_text(t, j)
        if env is None:
            return j
        env = env.strip()
        if env in _RAW_ENVS:
            m = re.compile(r"\\end\s*\{" + re.escape(env) + r"\}").search(t, k)
            if m is None:
                raise self._unterminated(i, f"\\begin{{{env}}}", f"add \\end{{{env}}}")
            return m.end()
        if env in _SKIP_ENVS:
            end = self._skip_env(t, k, env)
            if end < 0:
                raise self._unterminated(i, f"\\begin{{{env}}}", f"add \\end{{{env}}}")
            return end
        if env == "document":
            self._push("env", env, math=False, emit=True)
            return k
        k = _skip_sig(t, k, _ENV_ARGS.get(env, ""))
        self._push("env", env, math=True if env in _MATH_ENVS else None)
        if self.frames[-1].table:
            self.frames[-1].grid = Grid(self.src.file, k)
        return k

    def _skip_env(self, t: str, i: int, env: str) -> int:
        pat = re.compile(r"\\(begin|end)\s*\{" + re.escape(env) + r"\}|%[^\n]*")
        depth = 1
        for m in pat.finditer(t, i):
            if m.group(1) == "begin":
                depth += 1
            elif m.group(1) == "end":
                depth -= 1
                if depth == 0:
                    return m.end()
        return -1
