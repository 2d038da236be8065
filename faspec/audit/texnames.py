r"""The LaTeX the reader knows by name: which commands hide their arguments, which
environments are math, tables, raw text or drawings, and the notation of numbers (glue, ``\pm``,
``\times``, relations, cross references, dates, units).

Only tables and compiled patterns: no behaviour. `faspec.audit.scanner` and
`faspec.audit.numbers` read them; extending what the audit understands starts here.
"""

from __future__ import annotations

import re

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
