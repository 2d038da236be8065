r"""Where a printed number sits in the paper: its float, section, caption and sentence.

Two uses: a claim's `where:` ("Table 1", "Sec. 4.2", "abstract", a label such as
"tab:main", or words of a caption or section title) picks the claim a printed number belongs
to when several claims report the same value; and the sentence around a number (or the caption
of its table) is searched for a stated seed count or epoch count.

Numbering follows LaTeX's reading order across ``\input`` files: tables and figures are
counted separately (starred and ``sideways``/``wrap`` variants included), sections as
``\section`` / ``\subsection`` / ``\subsubsection`` without a star, letters after
``\appendix``. A hand-numbered or custom float is not counted: its `where:` can still name its
label or caption words.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from faspec.audit.latex import Source

__all__ = ["Locator", "Location", "stated_counts", "where_matches"]

_FLOAT_ENVS = {
    "table": "table",
    "sidewaystable": "table",
    "wraptable": "table",
    "figure": "figure",
    "sidewaysfigure": "figure",
    "wrapfigure": "figure",
}
_FLOAT_RE = re.compile(r"\\begin\s*\{(" + "|".join(_FLOAT_ENVS) + r")(\*?)\}")
_FLOAT_END_RE = re.compile(r"\\end\s*\{(" + "|".join(_FLOAT_ENVS) + r")(\*?)\}")
_SECTION_RE = re.compile(r"\\(section|subsection|subsubsection)(\*?)\s*(?:\[[^\]]*\])?\s*\{")
_APPENDIX_RE = re.compile(r"\\appendix(?![A-Za-z])")
_ABSTRACT_RE = re.compile(r"\\begin\s*\{abstract\}(.*?)\\end\s*\{abstract\}", re.S)
_CAPTION_RE = re.compile(r"\\caption\s*(?:\[[^\]]*\])?\s*\{")
_LABEL_RE = re.compile(r"\\label\s*\{([^{}]*)\}")
_LEVEL = {"section": 0, "subsection": 1, "subsubsection": 2}


@dataclass
class _Float:
    kind: str  # "table" | "figure"
    start: int
    end: int
    number: int = 0
    caption: str = ""
    caption_span: tuple[int, int] = (0, 0)
    labels: tuple[str, ...] = ()


@dataclass
class _Section:
    offset: int
    number: str
    title: str
    labels: tuple[str, ...] = ()


@dataclass
class Location:
    """What a position is inside of, as far as `where:` can name it."""

    float_kind: str | None = None
    float_number: int | None = None
    caption: str = ""
    labels: tuple[str, ...] = ()
    section_number: str = ""
    section_title: str = ""
    abstract: bool = False
    in_float: bool = False


@dataclass
class _FileInfo:
    source: Source
    clean: str
    floats: list[_Float] = field(default_factory=list)  # in order of their start
    float_starts: list[int] | None = None
    mark_offsets: list[int] | None = None
    sections: list[_Section] = field(default_factory=list)
    initial: _Section | None = None
    marks: list[tuple[int, _Section]] = field(default_factory=list)  # section in force from here
    abstracts: list[tuple[int, int]] = field(default_factory=list)


def _strip_comments(text: str) -> str:
    """The text with every comment blanked out, offsets unchanged."""
    out = []
    for line in text.split("\n"):
        m = re.search(r"(?<!\\)(?:\\\\)*%", line)
        out.append(line if m is None else line[: m.end() - 1] + " " * (len(line) - m.end() + 1))
    return "\n".join(out)


_BRACE_OR_ESCAPE = re.compile(r"[\\{}]")


def _group_end(t: str, i: int, limit: int | None = None) -> int:
    """Index after the group whose '{' is at t[i-1] (i is just past the brace), or `limit`."""
    depth = 1
    n = len(t) if limit is None else min(limit, len(t))
    while depth:
        m = _BRACE_OR_ESCAPE.search(t, i, n)  # jump to the next brace or backslash
        if m is None:
            return n
        c, i = m.group(), m.end()
        if c == "\\":
            i += 1
        elif c == "{":
            depth += 1
        else:
            depth -= 1
    return min(i, n)


def _plain(s: str) -> str:
    """Readable text of a LaTeX snippet, for matching words."""
    s = re.sub(r"\\[A-Za-z]+\*?", " ", s)
    s = re.sub(r"[{}$~\\]", " ", s)
    return " ".join(s.split())


class Locator:
    """Built once per paper from `Extraction.sources`; answers `locate(file, offset)`."""

    def __init__(self, sources: list[Source]) -> None:
        self.files: dict[str, _FileInfo] = {}
        for src in sources:
            self.files.setdefault(src.file, self._scan(src))
        self._number(sources)

    def _scan(self, src: Source) -> _FileInfo:
        t = _strip_comments(src.text)
        info = _FileInfo(src, t)
        ends: dict[str, list[int]] = {}  # env -> ends of its \end{env}, found in one pass
        for m in _FLOAT_END_RE.finditer(t):
            ends.setdefault(m.group(1) + m.group(2), []).append(m.end())
        begins = list(_FLOAT_RE.finditer(t))
        for j, m in enumerate(begins):
            env = m.group(1) + m.group(2)
            at = ends.get(env, [])
            k = bisect.bisect_right(at, m.end())
            end = at[k] if k < len(at) else len(t)
            if j + 1 < len(begins):  # floats do not nest: an unclosed one ends at the next
                end = min(end, begins[j + 1].start())
            fl = _Float(_FLOAT_ENVS[m.group(1)], m.start(), end)
            body = t[m.end() : end]
            cm = _CAPTION_RE.search(body)
            if cm:
                a = m.end() + cm.end()
                b = min(_group_end(t, a, end), end + 1)
                fl.caption = _plain(t[a : b - 1])
                fl.caption_span = (a, b - 1)
            fl.labels = tuple(x.strip() for x in _LABEL_RE.findall(body))
            info.floats.append(fl)
        for m in _SECTION_RE.finditer(t):
            if m.group(2):
                continue
            b = _group_end(t, m.end(), m.end() + 2000)  # a title, not the rest of the file
            title = _plain(t[m.end() : b - 1])
            lm = re.compile(r"\s*\\label\s*\{([^{}]*)\}").match(t, b)
            sec = _Section(m.start(), m.group(1), title, (lm.group(1).strip(),) if lm else ())
            info.sections.append(sec)
        for m in _APPENDIX_RE.finditer(t):
            info.sections.append(_Section(m.start(), "appendix", ""))
        info.sections.sort(key=lambda s: s.offset)
        info.abstracts = [(m.start(), m.end()) for m in _ABSTRACT_RE.finditer(t)]
        return info

    def _number(self, sources: list[Source]) -> None:
        """Number floats and sections in reading order (inputs at the place they are read)."""
        children: dict[str, list[tuple[int, str]]] = {}
        for src in sources:
            if src.included_from is not None:
                parent, line, col = src.included_from
                pinfo = self.files.get(parent)
                if pinfo is None:
                    continue
                off = _offset(pinfo.source.text, line, col)
                children.setdefault(parent, []).append((off, src.file))
        counters = {"table": 0, "figure": 0}
        sec = [0, 0, 0]
        state = {"appendix": False, "current": None}

        def walk(file: str, seen: set[str]) -> None:
            if file in seen or file not in self.files:
                return
            seen.add(file)
            info = self.files[file]
            info.initial = state["current"]  # type: ignore[assignment]
            events: list[tuple[int, int, object]] = []
            events += [(f.start, 1, f) for f in info.floats]
            events += [(s.offset, 0, s) for s in info.sections]
            events += [(off, 2, child) for off, child in children.get(file, [])]
            for at, kind, obj in sorted(events, key=lambda e: (e[0], e[1])):
                if kind == 2:
                    walk(obj, seen)  # type: ignore[arg-type]
                    if state["current"] is not None:  # the input's last section goes on here
                        info.marks.append((at, state["current"]))  # type: ignore[arg-type]
                elif kind == 1:
                    fl: _Float = obj  # type: ignore[assignment]
                    counters[fl.kind] += 1
                    fl.number = counters[fl.kind]
                else:
                    s: _Section = obj  # type: ignore[assignment]
                    if s.number == "appendix":
                        state["appendix"] = True
                        sec[:] = [0, 0, 0]
                        continue
                    level = _LEVEL[s.number]
                    sec[level] += 1
                    for k in range(level + 1, 3):
                        sec[k] = 0
                    head = chr(ord("A") + sec[0] - 1) if state["appendix"] else str(sec[0])
                    s.number = ".".join([head] + [str(x) for x in sec[1 : level + 1]])
                    state["current"] = s
                    info.marks.append((s.offset, s))

        if sources:
            walk(sources[0].file, set())
        for info in self.files.values():  # drop the appendix markers
            info.sections = [s for s in info.sections if s.number != "appendix"]

    # ---- queries

    def locate(self, file: str, offset: int) -> Location:
        info = self.files.get(file)
        if info is None:
            return Location()
        loc = Location()
        fl = _float_at(info, offset)
        if fl is not None:
            loc.in_float = True
            loc.float_kind, loc.float_number = fl.kind, fl.number or None
            loc.caption, loc.labels = fl.caption, fl.labels
        if info.mark_offsets is None:
            info.mark_offsets = [at for at, _ in info.marks]
        k = bisect.bisect_right(info.mark_offsets, offset) - 1
        sec = info.marks[k][1] if k >= 0 else info.initial
        if sec is not None:
            loc.section_number, loc.section_title = sec.number, sec.title
            loc.labels += sec.labels
        loc.abstract = any(a <= offset < b for a, b in info.abstracts)
        return loc

    def before(self, file: str, start: int, width: int = 24) -> str:
        """The source text just before `start` (comments blanked)."""
        info = self.files.get(file)
        return "" if info is None else info.clean[max(0, start - width) : start]

    def context(self, file: str, start: int, end: int) -> str:
        """The sentence around [start, end), plus the caption when it sits in a float.

        Inside a table's body the caption alone is used (cells are no sentences)."""
        info = self.files.get(file)
        if info is None:
            return ""
        t = info.clean
        fl = _float_at(info, start)
        caption = ""
        in_caption = False
        if fl is not None and fl.caption_span != (0, 0):
            a, b = fl.caption_span
            caption = t[a:b]
            in_caption = a <= start < b
        in_tabular = fl is not None and not in_caption and fl.kind == "table"
        if in_tabular:
            return _plain(caption)
        lo, hi = fl.caption_span if in_caption and fl is not None else (0, len(t))
        s = _sentence(t, start, end, lo, hi)
        return _plain(s if in_caption or not caption else s + " " + caption)

    def parts(self, file: str, start: int, end: int) -> tuple[str, str, str, bool]:
        """(sentence before, sentence after, raw caption, in a table's body) for [start, end).

        The raw LaTeX (comments blanked) of the sentence around the number, split at it; in
        a caption, the caption's sentence; in a table's body no sentence (cells are none),
        only the caption of its float."""
        info = self.files.get(file)
        if info is None:
            return "", "", "", False
        t = info.clean
        fl = _float_at(info, start)
        caption, lo, hi = "", 0, len(t)
        if fl is not None and fl.caption_span != (0, 0):
            a, b = fl.caption_span
            caption = t[a:b]
            if a <= start < b:
                lo, hi = a, b
        if fl is not None and fl.kind == "table" and lo == 0:
            return "", "", caption, True
        a, b = _sentence_span(t, start, end, lo, hi)
        if not caption and re.search(r"\\footnote\{\s*$", t[max(0, a - 12) : a]):
            # a footnote's body is its own sentence; the sentence it hangs on stands in for
            # a caption (it may name the metric: "reaches 0.523 accuracy.\footnote{FA 0.345.}")
            host = t.rfind("\\footnote", 0, a)
            ha, _ = _sentence_span(t, max(host - 1, 0), max(host - 1, 0), lo, hi)
            caption = t[ha:host]
        return t[a:start], t[end:b], caption, False


def _float_at(info: _FileInfo, offset: int) -> _Float | None:
    """The float holding `offset` (floats do not nest; found by bisection, not a scan)."""
    if info.float_starts is None:
        info.float_starts = [f.start for f in info.floats]
    k = bisect.bisect_right(info.float_starts, offset) - 1
    if k >= 0 and offset < info.floats[k].end:
        return info.floats[k]
    return None


def _offset(text: str, line: int, col: int) -> int:
    pos = 0
    for _ in range(line - 1):
        nl = text.find("\n", pos)
        if nl < 0:
            return len(text)
        pos = nl + 1
    return pos + max(col - 1, 0)


_SENT_END = re.compile(
    r"(?<!\b[A-Z])(?<!e\.g)(?<!i\.e)(?<!etc)(?<!Fig)(?<!Tab)(?<!Sec)(?<!Eq)(?<!al)(?<!cf)(?<!vs)"
    r"[.!?](?=\s|\\footnote\b|\})|\n\s*\n"
    # a footnote's body is a scope of its own: "... 0.003.\footnote{The batch is 128.} BP ..."
    r"|\\footnote\{"
    # a display without a final period ends where the next sentence starts (a capital)
    r"|\\end\{(?:align|equation|gather|multline|eqnarray|displaymath|flalign)\*?\}(?=\s*[A-Z])"
    r"|\\\](?=\s*[A-Z])"
)


def _sentence(t: str, start: int, end: int, lo: int, hi: int, reach: int = 600) -> str:
    a, b = _sentence_span(t, start, end, lo, hi, reach)
    return t[a:b]


def _sentence_span(
    t: str, start: int, end: int, lo: int, hi: int, reach: int = 600
) -> tuple[int, int]:
    lo, hi = max(lo, start - reach), min(hi, end + reach)
    a = lo
    for m in _SENT_END.finditer(t, lo, start):
        a = m.end()
    m = _SENT_END.search(t, end, hi)
    b = m.end() if m else hi
    return a, max(b, end)


# ---------------------------------------------------------------------------------- where:

_REF_WHERE = re.compile(r"\b(table|tab\.?|figure|fig\.?)\s*~?\s*(\d+)", re.I)
_SEC_WHERE = re.compile(
    r"(?:\bsections?|\bsec\.?|§|\bappendix|\bapp\.?)\s*~?\s*([A-Z]|\d+)((?:\.\d+)*)", re.I
)


def where_matches(where: str, loc: Location) -> bool:
    """Does a claim's `where:` name the place `loc` (see the module docstring)?"""
    w = where.strip()
    if not w:
        return False
    for m in _REF_WHERE.finditer(w):
        kind = "table" if m.group(1).lower().startswith("tab") else "figure"
        if loc.float_kind == kind and loc.float_number == int(m.group(2)):
            return True
    for m in _SEC_WHERE.finditer(w):
        num = (m.group(1) + m.group(2)).upper()
        have = loc.section_number.upper()
        if have and (have == num or have.startswith(num + ".")):
            return True
    low = w.lower()
    if "abstract" in low and loc.abstract:
        return True
    if any(lab and lab in w.split() or lab == w for lab in loc.labels):
        return True
    words = _plain(low)
    if len(words) >= 4 and not _REF_WHERE.search(w) and not _SEC_WHERE.search(w):
        if words in loc.caption.lower() or (
            loc.section_title and words in loc.section_title.lower()
        ):
            return True
    return False


# ---------------------------------------------------------------------------- seed counts

_WORDS = {
    "a single": 1, "single": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
    "twenty": 20,
}  # fmt: skip
_COUNT = r"(\d+|" + "|".join(sorted(_WORDS, key=len, reverse=True)) + r")"
_ADJ = r"(?:(?:random|independent|different|training|initiali[sz]ation|runs?\s+with)\s+)?"
_SEEDS_RE = re.compile(
    r"\b" + _COUNT + r"[\s-]+" + _ADJ + r"(?:seeds?|runs?|trials?|repetitions?|restarts?)\b", re.I
)
_N_RE = re.compile(r"(?<![A-Za-z])n\s*=\s*(\d+)\b")
_EPOCHS_RE = re.compile(r"\b" + _COUNT + r"[\s-]+epochs?\b", re.I)


def _count(word: str) -> int:
    w = word.lower()
    return int(w) if w.isdigit() else _WORDS[w]


def stated_counts(context: str) -> tuple[list[int], list[int]]:
    """(seed counts, epoch counts) a sentence states: "three seeds", "5 runs", "n = 3",
    "over 10 random seeds", "a single seed", "100 epochs", "30-epoch"."""
    seeds = [_count(m.group(1)) for m in _SEEDS_RE.finditer(context)]
    seeds += [int(m.group(1)) for m in _N_RE.finditer(context)]
    epochs = [_count(m.group(1)) for m in _EPOCHS_RE.finditer(context)]
    return seeds, epochs
