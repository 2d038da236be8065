r"""Following ``\input``/``\include``: reading each file once, in reading order, as its own
`Source`, and refusing what must not be read.

A missing file, a cycle, a chain nested more than `MAX_INPUT_DEPTH` deep (TeX itself stops at
15 open files) and a file outside the paper's folder tree (unless `allow_outside`) are
`AuditInputError`s located at the ``\input`` that names them: never a RecursionError.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from faspec.audit.errors import AuditInputError
from faspec.audit.hits import Extraction, Source
from faspec.audit.textscan import _group_text, _skip_sig, _skip_ws

MAX_INPUT_DEPTH = 64  # nested \input levels; TeX's own limit (max_in_open) is 15


class InputReader:
    """Mixin of `Scanner`: the file-level half of the pass.

    It reads and sets the scanner's state declared here and calls its `_scan` and `_line_col`."""

    base_dir: Path
    root: Path
    display_dir: str
    allow_outside: bool
    active: list[tuple[Path, str]]
    seen: set[Path]
    src: Source | None
    lines: list[int]
    suppress_end: int
    result: Extraction

    # ---- files

    def run_file(self, file: str, path: Path, included_from: tuple[str, int, int] | None) -> None:
        try:
            raw = path.read_bytes()
        except OSError as e:
            where = included_from or (file, 0, 0)
            raise AuditInputError(*where, f"cannot read {file}: {e.strerror}") from e
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        self.run_text(file, path, text, included_from)

    def run_text(
        self, file: str, path: Path, text: str, included_from: tuple[str, int, int] | None
    ) -> None:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if text.startswith("\ufeff"):
            text = text[1:]
        src = Source(file, path, text, included_from)
        key = path.resolve()
        self.result.sources.append(src)
        self.seen.add(key)
        if included_from is None and re.search(r"(?m)^[^%\n]*\\documentclass", text):
            self.frames[0].emit = False  # the preamble prints nothing but macro bodies
        self.active.append((key, file))
        saved = (self.src, self.lines, self.suppress_end)
        self.src = src
        self.lines = [0] + [m.end() for m in re.finditer("\n", text)]
        self.suppress_end = -1
        try:
            self._scan(text)
        finally:
            self.active.pop()
            self.src, self.lines, self.suppress_end = saved

    def _input(self, t: str, i: int, j: int, name: str) -> int:
        n = len(t)
        if name in ("import", "subimport", "inputfrom", "subinputfrom"):
            k = _skip_sig(t, j, "*")
            d, k = _group_text(t, k)
            f, k = _group_text(t, k)
            if d is not None and f is not None:
                self._include(f, name, i, rel_dir=d.strip())
                return k
            return j
        arg, k = _group_text(t, j)
        if arg is None and name == "input":  # TeX syntax: \input file
            g = _skip_ws(t, j, par=False)
            m = re.compile(r"[^\s{}%\\]+").match(t, g)
            if not m:
                return j
            arg, k = m.group(), m.end()
        if arg is None:
            return j
        if arg.strip().startswith("\\"):  # \input{\macro}: cannot resolve statically
            return k
        self._include(arg, name, i)
        return min(k, n)

    def _include(self, name: str, cmd: str, at: int, rel_dir: str = "") -> None:
        assert self.src is not None
        line, col = self._line_col(at)
        name = name.strip()
        if not name or name.endswith(".bbl"):
            return
        here = (self.src.file, line, col)
        if name.startswith("|"):
            raise AuditInputError(*here, f"\\{cmd} of a shell command is not supported: {name}")
        rel = os.path.join(rel_dir, name) if rel_dir else name
        if cmd == "include" or rel.endswith(".tex"):
            cands = [rel if rel.endswith(".tex") else rel + ".tex"]
        else:
            cands = [rel + ".tex", rel]
        bases = [self.base_dir]
        if cmd in ("subimport", "subinputfrom"):
            bases = [self.src.path.parent]
        elif self.src.path.parent.resolve() != self.base_dir.resolve():
            bases.append(self.src.path.parent)
        for base in bases:
            for cand in cands:
                p = base / cand
                key = _probe(p)
                if key is not None:
                    if base == self.base_dir:
                        disp = os.path.normpath(os.path.join(self.display_dir, cand))
                    else:
                        disp = os.path.normpath(os.path.join(os.path.dirname(self.src.file), cand))
                    if key in (k for k, _ in self.active):
                        chain = " -> ".join([f for _, f in self.active] + [disp])
                        raise AuditInputError(
                            *here, f"\\{cmd} cycle: {disp} is already being read ({chain})"
                        )
                    if key in self.seen:
                        return
                    self._check_reach(key, disp, cmd, here)
                    self.run_file(disp.replace(os.sep, "/"), p, here)
                    return
        looked = ", ".join(str(b / c) for b in bases for c in cands)
        raise AuditInputError(
            *here,
            f"\\{cmd}{{{name}}}: file not found (looked for {looked})",
            hint="paths are relative to the main file's directory",
        )

    def _check_reach(self, key: Path, disp: str, cmd: str, here: tuple[str, int, int]) -> None:
        """Refuse an input outside the paper's folder tree (unless allowed) or nested deeper
        than `MAX_INPUT_DEPTH` (TeX itself stops at 15 open files): located errors, never a
        RecursionError."""
        if len(self.active) >= MAX_INPUT_DEPTH:
            raise AuditInputError(
                *here,
                f"\\{cmd}{{{disp}}}: inputs nested more than {MAX_INPUT_DEPTH} deep "
                "(TeX itself stops at 15 open files)",
            )
        if not self.allow_outside and not key.is_relative_to(self.root):
            raise AuditInputError(
                *here,
                f"\\{cmd}{{{disp}}}: {key} is outside the paper's folder {self.root}",
                hint="pass --allow-outside-inputs to read files outside it",
            )


def _probe(p: Path) -> Path | None:
    """The resolved path when `p` is a readable file; None for anything the OS refuses to
    look up (a name too long, a NUL byte, a symlink loop): the caller reports "not found"."""
    try:
        return p.resolve() if p.is_file() else None
    except (OSError, ValueError, RuntimeError):
        return None
