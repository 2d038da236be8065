r"""Every number a LaTeX paper prints, with the file, line and column that prints it.

`faspec audit` must flag each printed number that no stored result backs, so this module has two
duties that pull against each other: miss no number a reader sees (a missed number is an unchecked
claim), and report nothing a reader does not see as a number (labels, citations, lengths, column
specs, dates, hand numbering), or the CI guard drowns in noise and gets switched off.

It is one pass of a small tokenizer over the source, not regexes over the whole text:

* it follows ``\input``/``\include`` (and ``\subfile``, ``\import``, ``\subimport``) in document
  order, relative to the main file's directory, and reports each file under its own name;
* it tracks groups, environments and math mode (``$``, ``$$``, ``\(``, ``\[``, math
  environments, ``\text{..}`` inside math), table cells (``&``, ``\\``, ``\multicolumn``);
* it skips comments, ``\iffalse``, verbatim-like and drawing environments, the preamble (except
  macro bodies), and the arguments of commands that never print numbers (a table below);
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
  nothing except macro bodies: ``\newcommand{\acc}{0.401}`` is reported where it is defined.
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

import bisect
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from faspec.audit.errors import AuditInputError
from faspec.audit.grid import Grid

__all__ = [
    "KINDS",
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
MAX_INPUT_DEPTH = 64  # nested \input levels; TeX's own limit (max_in_open) is 15

# ----------------------------------------------------------------------------------------------
# Public data


@dataclass(frozen=True)
class Source:
    """One file of the paper: `file` is the name hits carry, `text` what offsets index into.

    `text` is the file's content with line ends normalised to ``\n`` and any BOM removed.
    `included_from` is ``(file, line, col)`` of the ``\\input`` that pulled it in (None for main).
    """

    file: str
    path: Path
    text: str
    included_from: tuple[str, int, int] | None = None


@dataclass(frozen=True)
class NumberHit:
    r"""A number the paper prints, as printed, with what is needed to compare it to a result.

    `value` is the signed value in the printed units (``61.5\%`` gives 61.5, ``unit="%"``;
    ``1.21\times10^7`` gives 1.21e7). The printed precision is kept: `mantissa`, `decimals`
    (digits after the point of the mantissa), `exponent` (power of ten applied to the mantissa,
    from ``\times 10^k``, ``e-4`` or a ``k``/``M`` suffix) and `resolution` (one unit of the
    last printed digit, in value units). `rounds_to(x)` then says whether a stored x prints as
    this number: 0.4013 backs 0.401 and 0.40 but not 0.41. `std` and `upper` (the second value
    of a range) carry their own decimals and resolution.

    `col` is the 1-based column of the first character of `text`: the sign or first digit, or
    the backslash of a siunitx command. `start`/`end` are offsets of `text` in the Source text.
    """

    file: str
    line: int
    col: int
    text: str
    value: float
    kind: str = "plain"
    std: float | None = None
    upper: float | None = None
    unit: str | None = None
    sign: str = ""
    mantissa: float = 0.0
    decimals: int = 0
    sig_digits: int = 1
    exponent: int = 0
    resolution: float = 1.0
    std_decimals: int | None = None
    std_resolution: float | None = None
    upper_decimals: int | None = None
    upper_resolution: float | None = None
    relation: str | None = None
    math: bool = False
    envs: tuple[str, ...] = ()
    cell: tuple[int, int] | None = None
    header: str = ""  # in a table: the raw text of the header cells above its column
    row_header: str = ""  # in a table: the raw text of its row's first cell
    context: str = ""
    start: int = 0
    end: int = 0

    def rounds_to(self, x: float, part: str = "value") -> bool:
        """True when `x`, rounded to the printed precision of `part`, is the printed number.

        `part` is "value", "std" or "upper". Percent and pp are compared as printed: pass
        100*x for a stored fraction. Ties count as backed (either rounding rule may print them).
        """
        printed = {"value": self.value, "std": self.std, "upper": self.upper}[part]
        res = {
            "value": self.resolution,
            "std": self.std_resolution,
            "upper": self.upper_resolution,
        }[part]
        if printed is None or res is None:
            return False
        slack = 1e-9 * max(abs(printed), res)
        return abs(x - printed) <= res / 2 + slack


@dataclass(frozen=True)
class MacroUse:
    r"""A use of a results macro such as ``\fsv{fa-beats-dfa}{fa}{mean}``: backed by design.

    `args` are the raw texts of its brace arguments, `options` the raw optional argument.
    """

    file: str
    line: int
    col: int
    name: str
    args: tuple[str, ...]
    options: str | None = None
    text: str = ""
    context: str = ""
    start: int = 0
    end: int = 0


@dataclass
class Extraction:
    """What one read of a paper yields: its files, its numbers and its results-macro uses."""

    sources: list[Source] = field(default_factory=list)
    numbers: list[NumberHit] = field(default_factory=list)
    macros: list[MacroUse] = field(default_factory=list)


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
    scanner = _Scanner(
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
    scanner = _Scanner(
        base_dir=base,
        display_dir=os.fspath(base_dir) if base_dir else "",
        macros=macros,
        allow_outside=allow_outside,
    )
    scanner.run_text(file, base / file, text, None)
    return scanner.result


# ----------------------------------------------------------------------------------------------
# Tables: which commands hide their arguments, which environments to skip or read as math.

# Argument signatures: '*' optional star, '[' optional [..], '(' optional (..), '<' optional <..>,
# '{' a mandatory argument (braced group or one token). Listed arguments are skipped unread;
# what follows (e.g. the text of \href, \multicolumn, \textcolor) is read normally.
_SKIP: dict[str, str] = {}


def _skip_table(sig: str, *names: str) -> None:
    for n in names:
        _SKIP[n] = sig


_skip_table("*{", "label", "ref", "eqref", "cref", "Cref", "autoref", "Autoref", "pageref")
_skip_table("*{", "nameref", "vref", "Vref", "cpageref", "Cpageref", "labelcref", "tag", "url")
_skip_table("*{", "nolinkurl", "path", "email", "doi", "orcid", "orcidlink", "hyperlink")
_skip_table("*{", "hypertarget", "index", "gls", "Gls", "glspl", "acrshort", "acrlong", "ac")
_skip_table("*{", "acp", "Ac", "acrfull", "acl", "acs", "subref", "thanks", "date", "address")
_skip_table("*{", "affiliation", "institute", "keywords", "newlength", "stepcounter", "newif")
_skip_table("*{", "refstepcounter", "value", "arabic", "roman", "Roman", "alph", "Alph")
_skip_table("*{", "linespread", "setstretch", "cline", "hhline", "ding")
_skip_table("*{", "symbol", "phantom", "hphantom", "vphantom", "geometry", "hypersetup")
_skip_table("*{", "sisetup", "lstset", "tikzset", "pgfplotsset", "usetikzlibrary", "graphicspath")
_skip_table("*{", "usepgfplotslibrary", "bibliography", "bibliographystyle", "pagenumbering")
_skip_table("*{", "pagestyle", "thispagestyle", "theoremstyle", "verbatiminput", "hspace")
_skip_table("*{", "vspace", "enlargethispage", "includeonly", "si", "unit", "ang", "icmlkeywords")
_skip_table("*{", "tikzexternalize", "usetheme", "usecolortheme", "hyphenation", "nocite")
_skip_table("*{", "titlerunning", "authorrunning", "shorttitle", "shortauthors", "runningtitle")
_skip_table("*{", "numproduct", "complexnum", "complexqty", "crefformat", "Crefformat")
# like ^ and _ in math: markers and notation (Author\textsuperscript{1}), unless a number's exponent
_skip_table("{", "textsuperscript", "textsubscript")
_skip_table("*[[{", "cite", "citep", "citet", "citealp", "citealt", "citeauthor", "citeyear")
_skip_table("*[[{", "citeyearpar", "citenum", "parencite", "Parencite", "textcite", "Textcite")
_skip_table("*[[{", "autocite", "Autocite", "footcite", "fullcite", "Cite", "Citet", "Citep")
_skip_table("*[[{", "Citealp", "Citealt", "Citeauthor", "supercite", "smartcite", "cites")
_skip_table("*{{", "crefrange", "Crefrange", "setlength", "addtolength", "settowidth")
_skip_table("*{{", "settoheight", "settodepth", "setcounter", "addtocounter", "fontsize")
_skip_table("*{{", "colorlet", "PassOptionsToPackage", "numberwithin", "counterwithin")
_skip_table("*{{", "counterwithout", "icmlauthor", "icmlaffiliation", "icmlcorrespondingauthor")
_skip_table("*{{", "DeclareMathOperator", "newacronym", "acro", "DeclareGraphicsExtensions")
_skip_table("*{{", "resizebox", "multicolumn", "crefname", "Crefname")
_skip_table("*{{{", "definecolor", "specialrule", "crefmultiformat", "Crefmultiformat")
_skip_table("[{[", "usepackage", "RequirePackage", "documentclass", "LoadClass")
_skip_table("[", "caption", "footnote", "footnotemark", "footnotetext", "item", "toprule")
_skip_table("[", "midrule", "bottomrule", "addlinespace", "linebreak", "nolinebreak", "pagebreak")
_skip_table("[", "nopagebreak", "printbibliography", "todo", "subcaption", "hyperref")
_skip_table("*{", "tnote")
_skip_table("[{", "textcolor", "colorbox", "cellcolor", "arrayrulecolor", "addbibresource")
_skip_table("[{", "includepdf", "lstinputlisting", "captionsetup", "author", "affil", "bibitem")
_skip_table("*{[", "captionof")
_skip_table("[{", "href", "color", "pagecolor")
_skip_table("[{{", "fcolorbox", "inputminted")
_skip_table("*[[{", "includegraphics")
_skip_table("[{[[", "rowcolor", "columncolor")
_skip_table("[({", "cmidrule")
_skip_table("[{{[", "multirow")
_skip_table("{[", "scalebox", "newcounter")
_skip_table("[{", "rotatebox")
_skip_table("{[[", "raisebox")
_skip_table("[[", "makebox", "framebox")
_skip_table("[[[{", "parbox")
_skip_table("[{{", "rule")
_skip_table("{", "adjustbox")
_skip_table("*{[{[", "newtheorem")
_skip_table("{[{", "newcolumntype")
_skip_table("*{[[{{", "newenvironment", "renewenvironment", "provideenvironment")
_skip_table("{{{", "NewDocumentEnvironment", "RenewDocumentEnvironment")
_skip_table("*{{{{", "titlespacing")
_skip_table("*{[{{{{[", "titleformat")

# After their skipped arguments, these read their next brace group in text (or math) mode.
_TEXT_ARG = {
    "text", "textrm", "textbf", "textit", "textsf", "texttt", "textsc", "textup", "textmd",
    "textnormal", "textsl", "emph", "mbox", "hbox", "fbox", "makebox", "framebox", "parbox",
    "intertext", "shortintertext", "footnote", "footnotetext", "caption", "captionof",
    "subcaption", "operatorname", "underline",
}  # fmt: skip
_MATH_ARG = {"ensuremath"}
_SECTIONS = {"part", "chapter", "section", "subsection", "subsubsection", "paragraph"}
_SECTIONS |= {"subparagraph"}
_SECTION_NUMBER = re.compile(r"\s*(?:\d+|[A-Z])(?:\.\d+)*\.?(?:\s|~)+(?=[A-Z\\])")

_INPUTS = {"input", "include", "subfile", "import", "subimport", "inputfrom", "subinputfrom"}
_DEFS = {
    "newcommand", "renewcommand", "providecommand", "DeclareRobustCommand",
    "NewDocumentCommand", "RenewDocumentCommand", "ProvideDocumentCommand",
    "DeclareDocumentCommand", "NewExpandableDocumentCommand", "newrobustcmd", "renewrobustcmd",
}  # fmt: skip
_TEX_DEFS = {"def", "gdef", "edef", "xdef"}
# LaTeX internals set by \renewcommand/\def: layout parameters, counter formats; never printed.
_INTERNAL_TARGET = re.compile(
    r"^(?:the.*|.*@.*|.*(?:stretch|fraction|penalty|sep|skip|width|height|indent|number|"
    r"tolerance|name|size|margin|ratio))$"
)
# TeX integer/dimen parameters assigned in place: \penalty10000, \tolerance=1000, \looseness=-1.
_TEX_PARAM = re.compile(
    r"^(?:[A-Za-z]*(?:penalty|tolerance|looseness|demerits|badness|stretch)|count\d*|vskip|hskip|"
    r"kern|mkern|mskip|parindent|parskip|baselineskip|catcode|lineskiplimit)$"
)
_TEX_PARAM_VALUE = re.compile(r"\s*=?\s*[+\-]?(?:\d+(?:\.\d*)?|\.\d+)")
# A number directly before one of these is a length: 0.82\linewidth, 2\baselineskip.
_LENGTH_REGISTER = re.compile(
    r"^(?:[A-Za-z]*(?:width|height|depth|sep|skip|indent|margin)|hsize|vsize|unitlength|fboxrule|"
    r"dimexpr|wd|ht|dp|linegoal|fill|hfill|vfill|stretch)$"
)
_LENGTH_UNITS = {"pt", "em", "ex", "cm", "mm", "bp", "pc", "dd", "cc", "sp", "mu", "px", "in"}
_LENGTH_UNITS |= {"fil", "fill", "filll", "nd", "nc"}
_LENGTH_UNITS_SPACED = _LENGTH_UNITS - {"in", "nd", "nc"}
_ORDINALS = {"st", "nd", "rd", "th"}
_MAGNITUDE = {"k": 3, "K": 3, "M": 6, "B": 9, "G": 9}
_UNITS = {
    "ms", "s", "h", "hr", "hrs", "min", "mins", "sec", "secs", "GB", "MB", "KB", "kB", "TB", "GiB",
    "MiB", "TiB", "Hz", "kHz", "MHz", "GHz", "W", "kW", "GPUh",
}  # fmt: skip

_SIUNITX = {
    "num", "SI", "qty", "numrange", "SIrange", "qtyrange", "numlist", "SIlist", "qtylist",
    "tablenum",
}  # fmt: skip

_MATH_ENVS = {
    "equation", "equation*", "align", "align*", "alignat", "alignat*", "flalign", "flalign*",
    "gather", "gather*", "multline", "multline*", "eqnarray", "eqnarray*", "displaymath", "math",
    "dmath", "dmath*", "dgroup", "dgroup*", "xalignat", "xxalignat", "IEEEeqnarray",
}  # fmt: skip
_TABLE_ENVS = {
    "tabular", "tabular*", "tabularx", "tabulary", "longtable", "longtable*", "array",
    "supertabular", "xtabular", "tblr", "longtblr", "talltblr", "NiceTabular", "NiceTabular*",
    "NiceTabularX", "NiceArray", "tabu", "longtabu",
}  # fmt: skip
# Arguments of \begin{env} that are never printed: placement, widths, column specs.
_ENV_ARGS: dict[str, str] = {
    "tabular": "[{", "tabular*": "{[{", "tabularx": "{[{", "tabulary": "{[{", "longtable": "[{",
    "longtable*": "[{", "array": "[{", "supertabular": "[{", "xtabular": "[{", "tblr": "[{",
    "longtblr": "[{", "talltblr": "[{", "NiceTabular": "[{[", "NiceTabular*": "{[{",
    "NiceTabularX": "{[{", "NiceArray": "[{[", "subarray": "{",
    "figure": "[", "figure*": "[", "table": "[", "table*": "[", "algorithm": "[",
    "algorithm*": "[", "listing": "[", "sidewaystable": "[", "sidewaysfigure": "[",
    "wrapfigure": "[{[{", "wraptable": "[{[{", "subfigure": "[{", "subtable": "[{",
    "minipage": "[[[{", "multicols": "{[", "multicols*": "{[", "adjustbox": "{",
    "itemize": "[", "enumerate": "[", "description": "[", "alignat": "{", "alignat*": "{",
    "xalignat": "{", "xxalignat": "{", "algorithmic": "[", "threeparttable": "[",
    "tablenotes": "[", "spacing": "{", "tcolorbox": "[", "mdframed": "[", "columns": "[",
    "column": "[{", "frame": "<[{{", "IEEEeqnarray": "[{", "center": "", "appendices": "",
    "resizebox": "{{", "scope": "[",
}  # fmt: skip
# Read as raw text up to \end{name}: nothing inside is LaTeX the reader sees as prose numbers.
_RAW_ENVS = {
    "verbatim", "verbatim*", "Verbatim", "Verbatim*", "BVerbatim", "LVerbatim", "lstlisting",
    "minted", "comment", "filecontents", "filecontents*", "spverbatim", "alltt", "code",
    "pycode", "sageblock", "sagesilent", "luacode", "luacode*",
}  # fmt: skip
# Skipped whole (nested begin/end counted): drawings and bibliographies.
_SKIP_ENVS = {
    "thebibliography", "tikzpicture", "pgfpicture", "axis", "semilogxaxis", "semilogyaxis",
    "loglogaxis", "groupplot", "polaraxis", "pspicture", "picture", "forest", "circuitikz",
    "tikzcd", "pgfonlayer",
}  # fmt: skip

# Glue: what may stand between the parts of one printed number (0.401 $\pm$ 0.009).
_GLUE_SPACING = {
    ",", ";", ":", "!", " ", ">", "enspace", "thinspace", "negthinspace", "quad", "qquad",
    "nobreakspace", "medspace", "thickspace", "/", "relax",
}  # fmt: skip
_GLUE_SWITCH = {
    "bf", "it", "rm", "sf", "tt", "sc", "em", "sl", "bfseries", "itshape", "mdseries", "upshape",
    "rmfamily", "sffamily", "ttfamily", "scshape", "normalfont", "tiny", "scriptsize",
    "footnotesize", "small", "normalsize", "large", "Large", "LARGE", "huge", "Huge",
    "scriptstyle", "scriptscriptstyle", "textstyle", "displaystyle", "boldmath", "unboldmath",
    "text", "textrm", "textbf", "textit", "textsf", "texttt", "textnormal", "textup", "mbox",
    "hbox", "mathbf", "mathrm", "mathit", "mathsf", "mathtt", "mathnormal", "boldsymbol", "bm",
    "pmb", "underline", "emph", "ensuremath", "mathbin", "mathrel", "mathord", "mathop",
    "scalebox", "textsuperscript", "textsubscript",
}  # fmt: skip
_GLUE_ARGS = {"color": "[{", "textcolor": "[{", "colorbox": "[{", "hspace": "*{"}
_PM_NAMES = {"pm", "textpm", "plusminus"}
_TIMES_NAMES = {"times", "texttimes", "cdot"}

_REL_NAMES = {
    "approx": "≈", "simeq": "≈", "sim": "~", "lesssim": "≲", "gtrsim": "≳", "le": "≤",
    "leq": "≤", "leqslant": "≤", "ge": "≥", "geq": "≥", "geqslant": "≥", "lt": "<", "gt": ">",
    "ll": "≪", "gg": "≫", "ne": "≠", "neq": "≠", "textasciitilde": "~", "propto": "∝",
}  # fmt: skip
_REL_CHARS = {"<": "<", ">": ">", "=": "=", "≈": "≈", "∼": "~", "≤": "≤", "≥": "≥", "≠": "≠"}
_REL_BEFORE = re.compile(
    r"(?:\\(" + "|".join(sorted(_REL_NAMES, key=len, reverse=True)) + r")(?![A-Za-z])"
    r"|([<>=≈∼≤≥≠]))(?:\s|~|\$|\{|\\[,;:! ])*$"
)
_REF_BEFORE = re.compile(
    r"(?<![\\\w])(?:(?:fig(?:ure)?s?|tab(?:le)?s?|sec(?:t|tion)?s?|eqn?s?|equations?|"
    r"app(?:endix|endices)?|thm|theorems?|lem(?:ma)?s?|cor(?:ollary|ollaries)?|"
    r"prop(?:osition)?s?|def(?:inition)?s?|alg(?:orithm)?s?|chap(?:ter)?s?|ch|parts?|lines?|"
    r"listings?|remarks?|examples?|assumptions?|conjectures?|claims?|hypothes[ie]s|footnotes?|"
    r"panels?|rows?|col(?:umn)?s?|exp(?:eriment)?s?|notes?|pages?)\.?|pp?\.|§|\\S)"
    r"(?:\s|~|\\[ ,;:]|\$|\{)*\(?$",
    re.IGNORECASE,
)
_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
_MONTH_BEFORE = re.compile(r"\b(?:" + _MONTHS + r")\.?(?:\s|~)*$")
_MONTH_AFTER = re.compile(r"(?:\s|~)+(?:of\s+)?(?:" + _MONTHS + r")\b")
_ISO_DATE = re.compile(r"(?:19|20)\d\d-[01]\d-[0-3]\d(?!\d)")
_WORD = re.compile(r"[^\W\d_][^\W_]*(?:[-/.][^\W_]+)*")
_LETTERS = re.compile(r"[A-Za-z]+")
_PP = re.compile(
    r"(?:pp|p\.\s?p\.|percentage\s+points?)(?![A-Za-z])"
    r"|\\(?:text|textrm|mathrm|mbox|textnormal)\s*\{\s*(?:pp|p\.\s?p\.)\s*\}"
)
_THOUSANDS = re.compile(r"(\{,\}|\\,|\{\\,\}|,|\u2009|\u202f)(\d{3})(?![\d])")
_SIUNITX_NUM = re.compile(
    r"^(?P<sign>[+\-\u2212])?(?P<int>\d*)(?:[.,](?P<frac>\d+))?"
    r"(?:\((?P<unc>\d+)\))?"
    r"(?:(?:\+-|\\pm|±)(?P<std>\d*(?:[.,]\d+)?))?"
    r"(?:[eEdD](?P<exp>[+\-\u2212]?\d+))?$"
)
_IF_NAME = re.compile(r"^if[A-Za-z]*$")

_DIGITS = frozenset("0123456789")
_SPACES = frozenset(" \t\u00a0\u2009\u202f~")
_SIGNS = frozenset("+-\u2212")


# ----------------------------------------------------------------------------------------------
# Low-level helpers on raw text


def _read_cs(t: str, i: int) -> tuple[str, int]:
    """The control sequence at t[i] == '\\': (name without backslash, index after it)."""
    n = len(t)
    j = i + 1
    if j < n and ("a" <= t[j] <= "z" or "A" <= t[j] <= "Z"):
        k = j
        while k < n and ("a" <= t[k] <= "z" or "A" <= t[k] <= "Z"):
            k += 1
        return t[j:k], k
    if j < n:
        return t[j], j + 1
    return "", n


def _eol(t: str, i: int) -> int:
    """Index of the newline ending the line that holds i (or len(t))."""
    j = t.find("\n", i)
    return len(t) if j < 0 else j


def _skip_ws(t: str, i: int, par: bool = True) -> int:
    """Skip spaces, single newlines and comments (a blank line stops unless `par`)."""
    n = len(t)
    newlines = 0
    while i < n:
        c = t[i]
        if c in " \t":
            i += 1
        elif c == "\n":
            newlines += 1
            if newlines > 1 and not par:
                return i
            i += 1
        elif c == "%":
            i = _eol(t, i) + 1
        else:
            break
    return min(i, n)


def _skip_group(t: str, i: int) -> int:
    """t[i] == '{': the index after its matching '}' (comments and escapes honoured)."""
    n = len(t)
    depth = 0
    while i < n:
        c = t[i]
        if c == "\\":
            i += 2
            continue
        if c == "%":
            i = _eol(t, i)
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def _skip_delimited(t: str, i: int, open_: str, close: str) -> int:
    """t[i] == open_: the index after the matching close at brace depth 0."""
    n = len(t)
    depth = 0
    while i < n:
        c = t[i]
        if c == "\\":
            i += 2
            continue
        if c == "%":
            i = _eol(t, i)
            continue
        if c == "{":
            i = _skip_group(t, i)
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def _skip_arg(t: str, i: int) -> int:
    """Skip one mandatory argument: a brace group, a control sequence or one character."""
    i = _skip_ws(t, i, par=False)
    if i >= len(t):
        return i
    if t[i] == "{":
        return _skip_group(t, i)
    if t[i] == "\\":
        return _read_cs(t, i)[1]
    return i + 1


def _skip_sig(t: str, i: int, sig: str) -> int:
    """Skip the arguments described by `sig` (see `_SKIP`), starting at i."""
    for ch in sig:
        if ch == "*":
            if i < len(t) and t[i] == "*":
                i += 1
        elif ch == "{":
            i = _skip_arg(t, i)
        else:
            close = {"[": "]", "(": ")", "<": ">"}[ch]
            j = _skip_ws(t, i, par=False)
            if j < len(t) and t[j] == ch:
                i = _skip_delimited(t, j, ch, close)
    return i


def _group_text(t: str, i: int) -> tuple[str | None, int]:
    """At a brace group (after spaces): its inner text and the index after it."""
    j = _skip_ws(t, i, par=False)
    if j < len(t) and t[j] == "{":
        k = _skip_group(t, j)
        return t[j + 1 : k - 1], k
    return None, i


def _word_letter_before(t: str, i: int) -> bool:
    """Is t[i-1] a letter of a word (not the end of a control word such as \\approx)?"""
    if i <= 0:
        return False
    c = t[i - 1]
    if c == "_":
        return True
    if not c.isalpha():
        return False
    k = i - 1
    while k > 0 and t[k - 1].isalpha() and t[k - 1].isascii():
        k -= 1
    if c.isascii() and k > 0 and t[k - 1] == "\\" and not (k > 1 and t[k - 2] == "\\"):
        return False
    return True


def _control_word_before(t: str, i: int) -> bool:
    """Does a control word (\\approx, \\le, \\quad) end right before i (spaces skipped)?"""
    k = i
    while k > 0 and t[k - 1] in " \t":
        k -= 1
    if k == 0 or not ("a" <= t[k - 1].lower() <= "z"):
        return False
    j = k
    while j > 0 and t[j - 1].isascii() and t[j - 1].isalpha():
        j -= 1
    return j > 0 and t[j - 1] == "\\"


@dataclass
class _Scalar:
    """A plain decimal as printed: digits before and after the point, glued e-exponent."""

    int_digits: str
    frac: str
    e_exp: int | None
    grouped: bool
    end: int
    version: bool = False


def _scalar(t: str, i: int, math: bool) -> _Scalar | None:
    """Read 14{,}510.25e-3 at i (no sign). None when no digit starts here."""
    n = len(t)
    j = i
    while j < n and t[j] in _DIGITS:
        j += 1
    int_digits = t[i:j]
    grouped = False
    if 1 <= len(int_digits) <= 3 and int_digits[0] != "0":
        while True:
            m = _THOUSANDS.match(t, j)
            if not m or (m.group(1) == "," and math):
                break
            int_digits += m.group(2)
            j = m.end()
            grouped = True
    frac = ""
    if j + 1 < n and t[j] == "." and t[j + 1] in _DIGITS:
        k = j + 1
        while k < n and t[k] in _DIGITS:
            k += 1
        frac = t[j + 1 : k]
        j = k
        if j + 1 < n and t[j] == "." and t[j + 1] in _DIGITS:  # 1.2.3: a version, not a number
            while j + 1 < n and t[j] == "." and t[j + 1] in _DIGITS:
                j += 1
                while j < n and t[j] in _DIGITS:
                    j += 1
            return _Scalar(int_digits, frac, None, grouped, j, version=True)
    if not int_digits and not frac:
        return None
    e_exp = None
    if j < n and t[j] in "eE":
        k = j + 1
        sgn = 1
        if k < n and t[k] in _SIGNS:
            sgn = -1 if t[k] != "+" else 1
            k += 1
        d = k
        while d < n and t[d] in _DIGITS:
            d += 1
        if d > k and d - k <= 3 and not (d < n and t[d].isalpha()):  # beyond 1e999: not a number
            e_exp = sgn * int(t[k:d])
            j = d
    return _Scalar(int_digits, frac, e_exp, grouped, j)


def _exp_arg(t: str, i: int) -> tuple[int, int] | None:
    """After '^' at i-1: the integer exponent ({-7}, 7, {{-7}}, {\\text{-}7}) and its end."""
    n = len(t)
    j = _skip_ws(t, i, par=False)
    if j < n and t[j] in _DIGITS:
        return int(t[j]), j + 1
    if j < n and t[j] in _SIGNS and j + 1 < n and t[j + 1] in _DIGITS:  # 10^-7: meant as 10^{-7}
        k = j + 1
        while k < n and t[k] in _DIGITS:
            k += 1
        return (-1 if t[j] != "+" else 1) * int(t[j + 1 : k]), k
    if j < n and t[j] == "{":
        end = _skip_group(t, j)
        inner = re.sub(r"\\[,;:! ]|\\text\{([^{}]*)\}|\\mathrm\{([^{}]*)\}|[{}\s]", r"\1\2",
                       t[j + 1 : end - 1])  # fmt: skip
        inner = inner.replace("\u2212", "-")
        if re.fullmatch(r"[+\-]?\d+", inner):
            return int(inner), end
    return None


# ----------------------------------------------------------------------------------------------
# The scanner


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


@dataclass
class _Part:
    sign: str
    mantissa: float
    decimals: int
    sig: int
    exponent: int
    sci: bool
    int_text: str
    integer: bool
    grouped: bool
    end: int
    frac_text: str = ""

    @property
    def value(self) -> float:
        """Exact decimal scaling of the printed digits (0.401 stays 0.401, not 0.40100000001)."""
        v = float(f"{self.int_text}.{self.frac_text or 0}e{self.exponent}")
        return -v if self.sign == "-" else v

    @property
    def resolution(self) -> float:
        try:
            return 10.0 ** (self.exponent - self.decimals)
        except OverflowError:  # 10^{999}: printed, but beyond a float
            return float("inf")


@dataclass
class _Parsed:
    start: int
    end: int
    head: _Part
    unit: str | None = None
    kind_hint: str | None = None  # "times" | "multiplier"
    std: _Part | None = None
    upper: _Part | None = None
    reject: bool = False


class _Scanner:
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
        self.frames: list[_Frame] = [_Frame("root", "", False, True)]
        self.envs_open: list[int] = []  # indices in `frames` of the open environment frames
        self.active: list[tuple[Path, str]] = []
        self.seen: set[Path] = set()
        self.stopped = False
        self.cond: list[str] = []
        self.suppress_end = -1
        self.src: Source | None = None
        self.lines: list[int] = []

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
                if p.is_file():
                    if base == self.base_dir:
                        disp = os.path.normpath(os.path.join(self.display_dir, cand))
                    else:
                        disp = os.path.normpath(os.path.join(os.path.dirname(self.src.file), cand))
                    key = p.resolve()
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

    def _scan(self, t: str) -> None:
        n = len(t)
        i = 0
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
            return self._skip_inline_verbatim(t, j, name)
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
            return self._skip_false(t, j)
        if name == "else" and self.cond:
            if self.cond[-1] == "true":  # \iftrue A \else B \fi: B is dead
                self.cond.pop()
                return self._skip_false(t, j, to_else=False)
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

    def _skip_inline_verbatim(self, t: str, j: int, name: str) -> int:
        n = len(t)
        if j < n and t[j] == "*":
            j += 1
        if name == "mintinline" or (name == "lstinline" and j < n and t[j] == "["):
            j = _skip_sig(t, j, "[" if name == "lstinline" else "[{")
        if j >= n:
            return n
        if t[j] == "{":
            return _skip_group(t, j)
        delim = t[j]
        k = t.find(delim, j + 1)
        return n if k < 0 else k + 1

    def _skip_false(self, t: str, i: int, to_else: bool = True) -> int:
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
        return n

    def _begin(self, t: str, i: int, j: int) -> int:
        env, k = _group_text(t, j)
        if env is None:
            return j
        env = env.strip()
        if env in _RAW_ENVS:
            m = re.compile(r"\\end\s*\{" + re.escape(env) + r"\}").search(t, k)
            return m.end() if m else len(t)
        if env in _SKIP_ENVS:
            return self._skip_env(t, k, env)
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
        return len(t)

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
        self._push("group", emit=True)
        return g + 1

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

    # ---- siunitx

    def _siunitx(self, t: str, i: int, j: int, name: str) -> int:
        k = _skip_sig(t, j, "[")
        if name in ("numrange", "SIrange", "qtyrange"):
            a, k1 = _group_text(t, k)
            b, k2 = _group_text(t, k1)
            if a is None or b is None:
                return j
            k = k2
            items = [a, b]
        else:
            a, k1 = _group_text(t, k)
            if a is None:
                return j
            k = k1
            items = [a]
        unit = None
        if name in ("SI", "SIrange", "SIlist"):
            k = _skip_sig(t, k, "[")
        if name in ("SI", "qty", "SIrange", "qtyrange", "SIlist", "qtylist"):
            u, k3 = _group_text(t, k)
            if u is not None:
                unit, k = u.strip(), k3
        parsed = []
        for item in items if name != "numlist" and name[-4:] != "list" else items[0].split(";"):
            p = self._si_number(item)
            if p is None:
                return j  # not a literal (e.g. a macro): read the arguments as text
            parsed.append(p)
        if unit is not None and re.search(r"\\percent|%", unit):
            unit = "%"
        if not self.emit:
            return k
        if name.endswith("list"):
            pos = t.index("{", _skip_sig(t, j, "[")) + 1
            for item, p in zip(items[0].split(";"), parsed, strict=True):
                off = pos + len(item) - len(item.lstrip())
                self._emit_si(t, off, off + len(item.strip()), p, None, unit)
                pos += len(item) + 1
            return k
        self._emit_si(t, i, k, parsed[0], parsed[1] if len(parsed) > 1 else None, unit)
        return k

    def _si_number(self, s: str) -> tuple[_Part, _Part | None] | None:
        compact = re.sub(r"\\[,;: !]|[\s~{}]", "", s)
        m = _SIUNITX_NUM.match(compact)
        if not m or not (m.group("int") or m.group("frac")):
            return None
        exp = int(m.group("exp").replace("\u2212", "-")) if m.group("exp") else 0
        int_d, frac = m.group("int") or "0", m.group("frac") or ""
        sign = {"-": "-", "\u2212": "-", "+": "+"}.get(m.group("sign") or "", "")
        head = _mk_part(sign, int_d, frac, exp, sci=m.group("exp") is not None)
        std = None
        if m.group("unc"):
            # 0.401(9): the uncertainty in units of the last digit, i.e. 0.009
            unc = str(Decimal(m.group("unc")).scaleb(-len(frac)))
            ui, _, uf = unc.partition(".")
            std = _mk_part("", ui, uf, exp, sci=head.sci)
        elif m.group("std"):
            sd = m.group("std").replace(",", ".")
            si, _, sf = sd.partition(".")
            std = _mk_part("", si or "0", sf, exp, sci=head.sci)
        return head, std

    def _emit_si(
        self,
        t: str,
        start: int,
        end: int,
        p: tuple[_Part, _Part | None],
        upper: tuple[_Part, _Part | None] | None,
        unit: str | None,
    ) -> None:
        head, std = p
        up = upper[0] if upper else None
        kind = "range" if up else "pm" if std else "percent" if unit == "%" else "plain"
        if kind == "plain" and head.sci:
            kind = "sci"
        parsed = _Parsed(start, end, head, unit, None, std, up)
        self._emit(t, parsed, kind)

    # ---- numbers

    def _number(self, t: str, i: int) -> int:
        n = len(t)
        if i < self.suppress_end:
            return i + 1
        c = t[i]
        math = self.math
        if c in _SIGNS:
            j = i + 1
            if t.startswith("$", j) and not t.startswith("$$", j):  # $-$0.3
                j += 1
            if math or t.startswith("$", i + 1):
                j = _skip_ws(t, j, par=False)
            if not (
                j < n and (t[j] in _DIGITS or (t[j] == "." and j + 1 < n and t[j + 1] in _DIGITS))
            ):
                return i + 1
            if not self._sign_ok(t, i, math):
                return i + 1
        elif self._attached(t, i):
            k = i
            while k < n and (t[k] in _DIGITS or t[k] == "." and k + 1 < n and t[k + 1] in _DIGITS):
                k += 1
            m = _WORD.match(t, k) if not math else None
            return m.end() if m else k
        if c in _DIGITS:
            m = _ISO_DATE.match(t, i)
            if m:
                return m.end()
        parsed = self._parse(t, i, math)
        if parsed is None:
            return i + 1
        self.suppress_end = max(self.suppress_end, parsed.end)
        if not parsed.reject and self._keep(t, parsed, math):
            self._emit(t, parsed, None)
        # go on right after the first character: the rest of the number is suppressed, but its
        # '$', braces and commands still move the mode and group state
        return i + 1

    def _sign_ok(self, t: str, i: int, math: bool) -> bool:
        """A '+'/'-' is a sign (not a hyphen, dash or binary operator) where nothing precedes it
        that could be its left operand."""
        if t[i] == "\u2212":
            return not _word_letter_before(t, i) and not (i > 0 and t[i - 1] in _DIGITS)
        k = i
        if math:
            while k > 0 and t[k - 1] in " \t\n":
                k -= 1
        if k == 0:
            return True
        p = t[k - 1]
        if p in "-\u2013":
            return False  # the end of a dash: 2--3 is a range, not 2 and -3
        if math:
            return p in "([{$&=,;:<>|!~^_" or _control_word_before(t, k)
        return p in " \t\n([{$&=,;:~/"

    def _attached(self, t: str, i: int) -> bool:
        """Digits glued to a word are part of a name: CIFAR-10, fp32, A.1, ViT-B/16, #1."""
        if i == 0:
            return False
        p = t[i - 1]
        if p == "#":
            return True
        if p in "xX" and i >= 2 and t[i - 2] in _DIGITS:
            return False  # 3x3
        if _word_letter_before(t, i):
            return True
        if p in "-/.@" and _word_letter_before(t, i - 1) and not self.math:
            return True  # CIFAR-10, ViT-B/16, A.1, AP@50
        return p in _DIGITS  # the middle of a digit run already read

    def _parse(self, t: str, s: int, math: bool) -> _Parsed | None:
        head_r = self._part(t, s, math)
        if head_r is None:
            return None
        head, e, m = head_r
        if isinstance(head, int):  # a version number 1.2.3
            return _Parsed(s, head, _mk_part("", "0", ""), reject=True)
        p = _Parsed(s, e, head)
        # a factor: 25\times, 25$\times$, 25× (not a size 3\times 3, not \times 10^k)
        if not head.sci:
            g, m2 = _glue(t, e, m)
            tm = _times_at(t, g)
            if tm is not None and tm[0] != "cdot":
                g2, _ = _glue(t, tm[1], m2)
                if not _num_start(t, g2):
                    p.unit, p.kind_hint, p.end = "×", "times", tm[1]
                    return self._tail(t, p, m2)
        unit = self._unit(t, e, m, p, head)
        if unit is None:
            return self._tail(t, p, m)
        if unit[0] == "reject":
            p.reject, p.end = True, unit[1]
            return p
        if unit[0]:
            p.unit, e, m = unit[0], unit[1], unit[2]
            p.end = e
        return self._tail(t, p, m)

    def _tail(self, t: str, p: _Parsed, m: bool) -> _Parsed:
        """After mean (+unit): an optional ± std, a closing ')' with a shared unit, or a range."""
        n = len(t)
        e = p.end
        g, m2 = _glue(t, e, m)
        if g < n and t[g] in "_^":  # $0.401_{\pm 0.009}$
            g_alt, m_alt = _glue(t, g + 1, m2)
            if _pm_at(t, g_alt, self.pm_macros) is not None:
                g, m2 = g_alt, m_alt
        paren_std = False
        if g < n and t[g] == "(":
            g3, m3 = _glue(t, g + 1, m2)
            if _pm_at(t, g3, self.pm_macros):
                paren_std, g, m2 = True, g3, m3
        pm = _pm_at(t, g, self.pm_macros)
        if pm is not None and p.upper is None:
            g2, m3 = _glue(t, pm, m2)
            if g2 < n and t[g2] == "(":  # 0.401 \pm (0.009)
                g2, m3 = _glue(t, g2 + 1, m3)
            r = self._part(t, g2, m3, signed=False)
            if r is not None and not isinstance(r[0], int):
                std, e2, m4 = r
                p.std, p.end = std, e2
                u = self._unit(t, e2, m4, p, std)
                if u is not None and u[0] not in (None, "reject"):
                    if p.unit is None:
                        p.unit = u[0]
                    p.end, m4 = u[1], u[2]
                g4, m5 = _glue(t, p.end, m4)
                if paren_std and g4 < n and t[g4] == ")":
                    p.end, m4 = g4 + 1, m5
                elif self._opened_paren(t, p.start) >= 0 and g4 < n and t[g4] == ")":
                    self._shared_suffix(t, p, g4 + 1, m5)
                return p
        if p.std is None and p.upper is None:
            d = self._dash_at(t, e, g, m2)
            if d is not None:
                g2, m3 = _glue(t, d, m2)
                r = self._part(t, g2, m3, signed=True)
                if r is not None and not isinstance(r[0], int):
                    up, e2, m4 = r
                    p.upper, p.end = up, e2
                    u = self._unit(t, e2, m4, p, up)
                    if u is not None and u[0] == "reject":
                        p.reject = True
                        p.end = u[1]
                    elif u is not None and u[0]:
                        if p.unit is None:
                            p.unit = u[0]
                        p.end = u[1]
                    else:
                        g5, m5 = _glue(t, e2, m4)
                        tm = _times_at(t, g5)
                        if tm is not None and tm[0] != "cdot" and p.kind_hint is None:
                            g6, _ = _glue(t, tm[1], m5)
                            if not _num_start(t, g6):
                                p.unit, p.kind_hint, p.end = "×", "times", tm[1]
        return p

    def _opened_paren(self, t: str, s: int) -> int:
        """Offset of a '(' that opens right before the number at s (spaces, '$', '{' between),
        or -1 when there is none."""
        k = s
        while k > 0 and (t[k - 1] in " \t{$~"):
            k -= 1
        return k - 1 if k > 0 and t[k - 1] == "(" else -1

    def _shared_suffix(self, t: str, p: _Parsed, after: int, m: bool) -> None:
        """(1.2 \\pm 0.3)\\times 10^{-3} and (61.5 \\pm 0.3)\\%: the suffix applies to both.
        `after` is just past the ')'; without a suffix the ')' stays out of the number."""
        n = len(t)
        g, m2 = _glue(t, after, m)
        tm = _times_at(t, g)
        if tm is not None:
            g2, _ = _glue(t, tm[1], m2)
            if t.startswith("10", g2) and not (g2 + 2 < n and t[g2 + 2] in _DIGITS):
                k = _skip_ws(t, g2 + 2, par=False)
                if k < n and t[k] == "^":
                    ea = _exp_arg(t, k + 1)
                    if ea is not None:
                        for part in (p.head, p.std):
                            if part is not None:
                                part.exponent += ea[0]
                                part.sci = True
                        p.end = ea[1]
                        p.start = self._opened_paren(t, p.start)
                        return
        u = self._unit(t, after, m, p, p.head)
        if u is not None and u[0] in ("%", "pp") and p.unit is None:
            p.unit, p.end = u[0], u[1]
            p.start = self._opened_paren(t, p.start)

    def _dash_at(self, t: str, e: int, g: int, m: bool) -> int | None:
        """A range dash: '--' (not '---'), '–', \\textendash, or a glued '-' between digits in
        text; the index after it."""
        n = len(t)
        if t.startswith("--", g) and not t.startswith("---", g):
            return g + 2
        if g < n and t[g] == "\u2013":
            return g + 1
        if t.startswith("\\textendash", g):
            return g + len("\\textendash")
        if not m and g == e and g + 1 < n and t[g] == "-" and t[g + 1] in _DIGITS:
            return g + 1
        return None

    def _part(
        self, t: str, i: int, math: bool, signed: bool = True
    ) -> tuple[_Part | int, int, bool] | None:
        """One value: sign, scalar, ^exponent, \\times 10^k. Returns (part, end, math) or
        (end_of_version, end, math) for 1.2.3, or None."""
        n = len(t)
        sign = ""
        j = i
        if signed and j < n and t[j] in _SIGNS:
            sign = "+" if t[j] == "+" else "-"
            j += 1
            if t.startswith("$", j) and not t.startswith("$$", j):  # $-$0.3
                j += 1
                math = not math
            if math or t[j - 1] == "$":
                j = _skip_ws(t, j, par=False)
        sc = _scalar(t, j, math)
        if sc is None:
            return None
        if sc.version:
            return sc.end, sc.end, math
        int_d = sc.int_digits or "0"
        part = _mk_part(
            sign, int_d, sc.frac, sc.e_exp or 0, sci=sc.e_exp is not None, grouped=sc.grouped,
            end=sc.end, bare_int=bool(sc.int_digits),
        )  # fmt: skip
        e = sc.end
        k = _skip_ws(t, e, par=False) if math else e
        sup = 1 if k < n and t[k] == "^" else 0
        if t.startswith("\\textsuperscript", k) and not t[k + 16 : k + 17].isalpha():
            sup = 16
        if sup:
            ea = _exp_arg(t, k + sup)
            if ea is not None:
                plain = not sc.frac and sc.e_exp is None and not sc.grouped and sc.int_digits
                if plain and sc.int_digits == "10":
                    part = _mk_part(sign, "1", "", ea[0], sci=True, end=ea[1])
                elif sc.e_exp is None and not sc.grouped and 0 <= ea[0] <= 12:
                    # 2^{10} prints 1024, 1.5^2 prints 2.25: exact in decimal
                    power = format(Decimal(f"{sc.int_digits or 0}.{sc.frac or 0}") ** ea[0], "f")
                    pi, _, pf = power.partition(".")
                    pf = pf[: len(sc.frac) * ea[0]]
                    part = _mk_part(sign, pi, pf, end=ea[1])
                e = ea[1]  # otherwise the exponent is notation, not a number
        if not part.sci:
            g, m2 = _glue(t, e, math)
            tm = _times_at(t, g)
            if tm is not None:
                g2, m3 = _glue(t, tm[1], m2)
                if t.startswith("10", g2) and not (g2 + 2 < n and t[g2 + 2] in _DIGITS):
                    k = _skip_ws(t, g2 + 2, par=False)
                    if k < n and t[k] == "^":
                        ea = _exp_arg(t, k + 1)
                        if ea is not None:
                            part.exponent += ea[0]
                            part.sci = True
                            e, math = ea[1], m3
        part.end = e
        return part, e, math

    def _unit(
        self, t: str, e: int, m: bool, p: _Parsed, part: _Part
    ) -> tuple[str, int] | tuple[str, int, bool] | None:
        """What follows a value: None, ("reject", end) for lengths/ordinals/names, or
        (unit|None, end, math)."""
        n = len(t)
        if e < n and t[e].isascii() and t[e].isalpha():
            w = _LETTERS.match(t, e)
            assert w is not None
            word, we = w.group(), w.end()
            if m:
                return None
            if word in ("x", "X"):
                if we < n and t[we] in _DIGITS:
                    return None  # 3x3: a size, two numbers
                p.kind_hint = "multiplier"
                return "×", we, m
            if word in _MAGNITUDE:
                part.exponent += _MAGNITUDE[word]
                return word, we, m
            if word == "s" and _is_year(part):  # the 1990s
                return "reject", we
            if word in _UNITS:
                return word, we, m
            return "reject", _WORD.match(t, e).end() if _WORD.match(t, e) else we  # type: ignore[union-attr]
        g, m2 = _glue(t, e, m)
        if g >= n:
            return None
        if t.startswith("\\%", g):
            return "%", g + 2, m2
        if t[g] == "\\":
            name, k = _read_cs(t, g)
            if name in ("percent", "textpercent"):
                return "%", k, m2
            if _LENGTH_REGISTER.match(name):
                return "reject", k
        if t[g] in "\\%" or t[g].isalpha():
            mm = _PP.match(t, g)
            if mm:
                return "pp", mm.end(), m2
        if t[g].isascii() and t[g].isalpha():
            w = _LETTERS.match(t, g)
            assert w is not None
            if w.group() in _LENGTH_UNITS_SPACED and g - e <= 2 and "\n" not in t[e:g]:
                return "reject", w.end()
        if t.startswith("\\text{\\%}", g) or t.startswith("\\mbox{\\%}", g):
            return "%", g + 9, m2
        return None

    def _keep(self, t: str, p: _Parsed, math: bool) -> bool:
        """Filters on context: years, dates, hand-written cross references."""
        head = p.head
        before = t[max(0, p.start - 40) : p.start]
        if _REF_BEFORE.search(before):
            return False
        plain_int = head.integer and not head.grouped and not head.sign and p.unit is None
        if plain_int and p.std is None and not head.sci and not math and self._table() is None:
            if _is_year(head) and (p.upper is None or _is_year(p.upper)) and head.mantissa != 2048:
                return False
        if plain_int and p.upper is None and p.std is None and 1 <= head.mantissa <= 31:
            if _MONTH_BEFORE.search(before) or _MONTH_AFTER.match(t, p.end):
                return False
        return True

    def _emit(self, t: str, p: _Parsed, kind: str | None) -> None:
        if not self.emit:
            return
        assert self.src is not None
        head = p.head
        end = _balance(t, p.start, p.end)
        if kind is None:
            kind = _kind(p)
        line, col = self._line_col(p.start)
        rel = _relation(t, p.start)
        tab = self._table()
        frame_math = self.math
        hit = NumberHit(
            file=self.src.file,
            line=line,
            col=col,
            text=t[p.start : end],
            value=head.value,
            kind=kind,
            std=abs(p.std.value) if p.std is not None else None,
            upper=p.upper.value if p.upper is not None else None,
            unit=p.unit,
            sign=head.sign,
            mantissa=head.mantissa,
            decimals=head.decimals,
            sig_digits=head.sig,
            exponent=head.exponent,
            resolution=head.resolution,
            std_decimals=p.std.decimals if p.std is not None else None,
            std_resolution=p.std.resolution if p.std is not None else None,
            upper_decimals=p.upper.decimals if p.upper is not None else None,
            upper_resolution=p.upper.resolution if p.upper is not None else None,
            relation=rel,
            math=frame_math,
            envs=self._envs(),
            cell=(tab.row, tab.col) if tab is not None else None,
            header=tab.grid.header(tab.row, tab.col) if tab and tab.grid else "",
            row_header=tab.grid.row_header(tab.row, tab.col) if tab and tab.grid else "",
            context=self._context(p.start, end),
            start=p.start,
            end=end,
        )
        self.result.numbers.append(hit)


def _mk_part(
    sign: str,
    int_d: str,
    frac: str,
    exp: int = 0,
    *,
    sci: bool = False,
    grouped: bool = False,
    end: int = 0,
    bare_int: bool = True,
) -> _Part:
    """A value from its printed digits: keeps decimals and significant digits for rounding."""
    if int_d.strip("0") == "":
        sig = len(frac.lstrip("0")) or 1
    else:
        sig = len((int_d + frac).lstrip("0")) or 1
    mant = float(f"{int_d}.{frac}") if frac else float(int_d)
    integer = not frac and bare_int
    return _Part(sign, mant, len(frac), sig, exp, sci, int_d, integer, grouped, end, frac)


def _is_year(p: _Part) -> bool:
    return p.integer and len(p.int_text) == 4 and 1900 <= p.mantissa <= 2099 and not p.exponent


def _kind(p: _Parsed) -> str:
    if p.upper is not None:
        return "range"
    if p.std is not None:
        return "pm"
    if p.unit == "pp":
        return "pp"
    if p.unit == "%":
        return "percent"
    if p.kind_hint in ("times", "multiplier"):
        return p.kind_hint
    if p.head.sci:
        return "sci"
    return "plain"


def _balance(t: str, s: int, e: int) -> int:
    """Extend a snippet over a directly following '$' or '}' that closes one it opened."""
    n = len(t)
    if len(re.findall(r"(?<!\\)\$", t[s:e])) % 2 == 1 and e < n and t[e] == "$":
        e += 1
    depth = low = 0
    k = s
    while k < e:
        if t[k] == "\\":
            k += 2
            continue
        if t[k] == "{":
            depth += 1
        elif t[k] == "}":
            depth -= 1
            low = min(low, depth)
        k += 1
    while depth > low and e < n and t[e] == "}":
        e += 1
        depth -= 1
    return e


def _relation(t: str, s: int) -> str | None:
    m = _REL_BEFORE.search(t[max(0, s - 24) : s])
    if not m:
        return None
    return _REL_NAMES[m.group(1)] if m.group(1) else _REL_CHARS[m.group(2)]


def _glue(t: str, i: int, math: bool) -> tuple[int, bool]:
    r"""Skip what may sit between the parts of one printed number: spaces, ~, \,, $, braces,
    font and size switches, comments; not '&', '\\' or a blank line. Returns (index, math)."""
    n = len(t)
    newlines = 0
    while i < n:
        c = t[i]
        if c in _SPACES:
            i += 1
        elif c == "\n":
            newlines += 1
            if newlines > 1:
                break
            i += 1
        elif c == "%":
            i = _eol(t, i) + 1
        elif c == "$":
            math = not math
            i += 2 if t.startswith("$$", i) else 1
        elif c in "{}":
            i += 1
        elif c == "\\":
            name, j = _read_cs(t, i)
            if name in _GLUE_SPACING or name in _GLUE_SWITCH:
                i = j
            elif name in ("(", ")"):
                math = name == "("
                i = j
            elif name in _GLUE_ARGS:
                i = _skip_sig(t, j, _GLUE_ARGS[name])
            else:
                break
        else:
            break
    return i, math


def _num_start(t: str, g: int) -> bool:
    """Does a number start at g (a digit, or a point followed by a digit)?"""
    n = len(t)
    return g < n and (t[g] in _DIGITS or (t[g] == "." and g + 1 < n and t[g + 1] in _DIGITS))


def _times_at(t: str, g: int) -> tuple[str, int] | None:
    n = len(t)
    if g >= n:
        return None
    if t[g] == "×":
        return "times", g + 1
    if t[g] == "·":
        return "cdot", g + 1
    if t[g] == "\\":
        name, k = _read_cs(t, g)
        if name in _TIMES_NAMES:
            return ("cdot" if name == "cdot" else "times"), k
    return None


def _pm_at(t: str, g: int, pm_macros: set[str]) -> int | None:
    n = len(t)
    if g >= n:
        return None
    if t[g] == "±":
        return g + 1
    if t[g] == "\\":
        name, k = _read_cs(t, g)
        if name in _PM_NAMES:
            return k
        if name in pm_macros:  # \newcommand{\std}[1]{{\scriptsize$\pm$#1}}
            k2 = _skip_ws(t, k, par=False)
            return k2 + 1 if k2 < n and t[k2] == "{" else k
    if t.startswith("+-", g) or t.startswith("+/-", g):
        return g + (2 if t.startswith("+-", g) else 3)
    return None
