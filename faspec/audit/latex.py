r"""Every number a LaTeX paper prints, with the file, line and column that prints it.

`faspec audit` must flag each printed number that no stored result backs, so this module has two
duties that pull against each other: miss no number a reader sees (a missed number is an unchecked
claim), and report nothing a reader does not see as a number (labels, citations, lengths, column
specs, dates, hand numbering), or the CI guard drowns in noise and gets switched off.

It is one pass of a small tokenizer over the source, not regexes over the whole text. This
module is the entry point (`extract`, `extract_string`); the pass is split by responsibility:
`textscan` (the tokenizer: control sequences, groups, arguments, scalars), `texnames` (the
commands and environments it knows by name), `scanner` (document structure: frames, math,
environments, tables, conditionals), `inputs` (``\input`` and its limits), `defs` (macro
definitions, results-macro uses), `numbers`, `numparts` and `siunitx` (the number reader),
`grid` (table cells and column headers), `hits`
(what it yields). pylatexenc's `LatexWalker` was measured as the structure layer and not
adopted (RecursionError at 1,000 nested groups; 2-4x slower on 1 MB): see docs/audit.md.
What the pass does:

* it follows ``\input``/``\include`` (and ``\subfile``, ``\import``, ``\subimport``) in document
  order, relative to the main file's directory, and reports each file under its own name;
* it tracks groups, environments and math mode (``$``, ``$$``, ``\(``, ``\[``, math
  environments, ``\text{..}`` inside math), table cells (``&``, ``\\``, ``\multicolumn``);
* it skips comments, ``\iffalse``, verbatim-like and drawing environments, the preamble (except
  macro bodies), and the arguments of commands that never print numbers (a table below); one
  of those blocks left open (``\verb|`` to the line's end, ``\iffalse`` without ``\fi``, a
  ``comment`` environment without its end) is an `AuditInputError`, as it stops LaTeX;
* where a number starts it reads the whole notation with a small look-ahead: sign, thousands
  groups, decimals, ``5e-4``, ``\times 10^{k}``, ``\pm`` std, ``--`` ranges, ``\%``, ``pp``,
  ``25\times``, and siunitx ``\num``/``\SI``/``\qty``; the parts it consumed (exponent, std,
  upper bound) are never reported again as numbers of their own.

Decisions (where the paper's intent has to be guessed):

* Years: a bare 4-digit integer 1900-2099 in running text is a year, not a result, except 2048
  (a layer width far more often than a year); in math, in table cells, or written with a
  thousands separator (``2{,}000``) it is a number.
* Month-name dates (``March 3``, ``3 March``), ISO dates and year ranges are not numbers.
* Cross references written by hand (``Table 2``, ``Fig.~3``, ``Eq. (4)``, ``§3``, ``p.~5``)
  are not numbers, and a section title's leading hand numbering (``\section{3 Results}``,
  ``\section{3.2 Depth}``: digits, then a space and a capital or a command) is skipped.
* Numbers glued to letters are names (``CIFAR-10``, ``fp32``, ``ResNet-18``, ``3D``,
  ``Fig.3a``) or ordinals (``2nd``) and are skipped, except ``25x`` (a multiplier), magnitudes
  ``50k``/``7B`` and a few units (``100ms``, ``3h``, ``80GB``).
* Sub- and superscripts that are not the exponent of a number (``W_1``, ``x^2``,
  ``\mathbb{R}^{256}``, ``Author\textsuperscript{1}``) are notation, not numbers; ``2^{10}``
  is 1024; ``0.401_{\pm 0.009}`` is a mean and its std. Other numbers in formulas are reported
  with ``math=True`` so that a later stage can decide about constants such as ``\frac{1}{2}``.
* ``3\times 3`` and ``3x3`` (sizes) are two plain numbers; ``25\times`` or ``25×`` followed by
  anything but a number is a factor (kind ``times``); ``25x`` is kind ``multiplier``.
* ``$-$0.3`` (a table's typeset minus) is -0.3; ``-`` is a sign only where nothing before it
  could be its left operand (``a - 4`` is 4; ``2--3`` and, in text, ``2-3`` are ranges).
* The preamble (before ``\begin{document}``, when there is a ``\documentclass``) prints
  nothing except macro bodies: ``\newcommand{\acc}{0.401}`` is reported at each use of
  ``\acc`` (with that place's cell and sentence), and not at all when it is never used.
  ``\renewcommand``/``\def`` of LaTeX internals (``\arraystretch``, ``\thefootnote``) are not.
  Text after ``\end{document}`` is ignored.
* Captions, footnotes, table headers and titles in the body are read; author blocks,
  ``\thanks``, ``\date``, short captions (``\caption[..]``) and ``\item[..]`` labels are not.
* Drawings (``tikzpicture``, pgfplots ``axis``, matplotlib's ``pgfpicture``) and
  ``thebibliography`` are skipped whole: their numbers are coordinates and references.
* Numbers written as words (``three seeds``) are not read.
* A file reached twice by ``\input`` is scanned once (its numbers have one source position);
  ``.bbl`` inputs are not followed (bibliographies print no results).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from faspec.audit.errors import AuditInputError
from faspec.audit.hits import Extraction, MacroUse, NumberHit, Source
from faspec.audit.inputs import MAX_INPUT_DEPTH
from faspec.audit.scanner import Scanner

__all__ = [
    "KINDS",
    "MAX_INPUT_DEPTH",
    "AuditInputError",
    "Extraction",
    "MacroUse",
    "NumberHit",
    "Source",
    "extract",
    "extract_numbers",
    "extract_string",
    "read_tex",
]

KINDS = ("plain", "pm", "percent", "pp", "times", "multiplier", "sci", "range")
DEFAULT_MACROS = ("fsv",)


def read_tex(path: str | os.PathLike[str]) -> list[Source]:
    r"""The files of a paper in the order LaTeX reads them, main file first.

    Follows ``\input``/``\include`` outside comments and skipped regions; a missing file or a
    cycle raises `AuditInputError` at the ``\input`` that names it.
    """
    return extract(path).sources


def extract_numbers(
    path: str | os.PathLike[str], *, macros: Iterable[str] = DEFAULT_MACROS
) -> list[NumberHit]:
    """Every number the paper at `path` prints, in document order (see the module docstring)."""
    return extract(path, macros=macros).numbers


def extract(
    path: str | os.PathLike[str],
    *,
    macros: Iterable[str] = DEFAULT_MACROS,
    allow_outside: bool = False,
) -> Extraction:
    r"""Read the paper at `path` (following inputs): its sources, numbers and macro uses.

    `macros` names the results macros (without backslash) whose uses are returned as
    `MacroUse` instead of being read as text. An ``\input`` of a file outside the main file's
    folder tree is an `AuditInputError` unless `allow_outside`.
    """
    file = os.fspath(path)
    p = Path(file)
    if not p.is_file():
        raise AuditInputError(file, 0, 0, "no such LaTeX file", hint="give the paper's main .tex")
    scanner = Scanner(
        base_dir=p.parent,
        display_dir=os.path.dirname(file),
        macros=macros,
        allow_outside=allow_outside,
    )
    scanner.run_file(file, p, None)
    return scanner.result


def extract_string(
    text: str,
    *,
    file: str = "<string>",
    base_dir: str | os.PathLike[str] | None = None,
    macros: Iterable[str] = DEFAULT_MACROS,
    allow_outside: bool = False,
) -> Extraction:
    r"""Like `extract`, on text in memory; ``\input`` resolves against `base_dir` (default cwd)."""
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    scanner = Scanner(
        base_dir=base,
        display_dir=os.fspath(base_dir) if base_dir else "",
        macros=macros,
        allow_outside=allow_outside,
    )
    scanner.run_text(file, base / file, text, None)
    return scanner.result
