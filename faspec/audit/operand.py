r"""Which claim operand a printed number is about: its method, its quantity, its settings.

A value that equals a stored value proves nothing by itself: DFA's accuracy printed in FA's
row, an error rate that equals an accuracy, a std that equals another method's mean, "52.3\%
of BP's wall-clock time". So a number the audit compares with a claim (its metric named, see
`faspec.audit.context`) is BACKED only when its context also identifies the operand:

* **the method** (`methods_named`): in a table its cell, else its row's first cell, else its
  column header, else the caption; in text the words right after it ("0.255 for DFA"), else the
  nearest method before it in its sentence (the clause's subject: "FA reaches 0.345"; a method
  named as a comparator, "than BP", "to the backprop gradient", does not count), else any later
  in the sentence. Each method label of the specs is named by the label itself (hyphens and
  underscores read as spaces) and, when the label is the registry name, by its usual names
  (`METHOD_WORDS`: "backprop", "feedback alignment", ...), longest first so that "direct
  feedback alignment" is DFA and not also FA.
* **the quantity** (`quantity_named`): a mean unless the words say otherwise: a std ("std",
  "standard deviation", "spread"), an error (1 − accuracy), a difference ("gap", "drop",
  "margin", "pp"), a per-seed value ("seed 2", "the best run"), or something else altogether
  (wall-clock time, memory, "% of"). In a table: its cell, else its column header, else its
  row header (not the caption: captions say "mean ± std" of every cell); in text the nearest
  such word in its clause.
* **the experiment point** (`settings_named`): every setting the context names next to a
  number ("$d = 8$", "width 8", "8 blocks", "batch size of 128") must be one the claim's runs
  have. A setting is named next to a number when its word (`faspec.audit.vocab.CONFIG_WORDS`)
  is right before it (optionally through "=", "of", "is") or right after it.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from faspec.audit.vocab import config_pattern, inflect, plain

__all__ = [
    "METHOD_WORDS",
    "QUANTITY_WORDS",
    "MethodVocab",
    "adjacent_keys",
    "flatten",
    "point_problems",
    "quantity_named",
    "run_configs",
    "settings_named",
]

#: registry method name -> the names a paper uses for it (besides the label itself)
METHOD_WORDS: dict[str, tuple[str, ...]] = {
    "bp": (r"bp", r"backprop(?:agation)?", r"back propagation", r"backpropagation"),
    "fa": (r"fa", r"feedback alignment"),
    "dfa": (r"dfa", r"direct feedback alignment"),
    "ep": (r"ep", r"equilibrium propagation"),
    "kp": (r"kp", r"kolen pollack"),
    "sign": (r"sign symmetry", r"sign"),
    "lf": (r"learned feedback",),
}

#: quantity -> the words that say a number is that quantity of a metric (not its mean)
QUANTITY_WORDS: dict[str, tuple[str, ...]] = {
    "mean": (r"mean", r"average", r"averaged"),
    "std": (r"std", r"standard deviation", r"sd", r"spread", r"variance", r"varies by"),
    "error": (r"(?:test |classification )?error", r"error rate"),
    "difference": (
        r"gap", r"difference", r"margin", r"advantage", r"pp", r"percentage points?",
        r"beats? \w+ by", r"(?:trails?|lags?|leads?) \w+ by",
        # "drops by 3.1" and "a drop of 3.1" are differences; "drops to 0.345" is a level
        r"(?:drop|gain|improvement|increase|decrease|loss)e?s? (?:by|of)",
        r"(?:drop|gain|improve|increase|decrease|fall|rise|grow)(?:s|ed)? by",
    ),
    "per-seed": (
        r"seed \d+", r"per seed", r"single (?:run|seed)", r"one (?:run|seed)",
        r"(?:best|worst|individual|first|last) (?:run|seed)",
    ),
    "other": (
        r"wall ?clock(?: time)?", r"run ?time",
        r"(?:training|compute|total|epoch) time", r"time per", r"seconds?", r"hours?", r"minutes?", r"speed ?up",
        r"longer", r"shorter", r"faster", r"slower",
        r"throughput", r"memory", r"% of", r"flops?", r"parameters?", r"cost",
    ),
}  # fmt: skip
#: quantities a plain (not ±) claimed mean may not be
NOT_MEAN = ("std", "error", "difference", "per-seed", "other")

_COMPARATOR = re.compile(r"(?:than|to|vs\.?|versus|against|over|like|from) (?:the )?$")
_CLAUSE_END = re.compile(r"[,;:(]")
_JOINERS = {"and", "or", "but", "while", "whereas", "vs", "vs.", "versus", "than", "with", "to"}


def _alts(words: tuple[str, ...]) -> str:
    return "|".join(inflect(w).replace(" ", r"\s*") for w in sorted(words, key=len, reverse=True))


class MethodVocab:
    """The method labels of the loaded specs and the words that name each."""

    def __init__(self, labels: dict[str, str]):
        """`labels`: method label -> registry method name."""
        self.words: dict[str, tuple[str, ...]] = {}
        for label, name in labels.items():
            own = re.escape(label.lower()).replace(r"\-", "[ ]").replace("_", "[ _]")
            self.words[label] = (own, *(METHOD_WORDS.get(name, ()) if label == name else ()))
        alts = [(w, lab) for lab, ws in self.words.items() for w in ws]
        alts.sort(key=lambda x: len(x[0]), reverse=True)  # longest first: DFA before FA
        self._groups = [lab for _, lab in alts]
        self._re = (
            re.compile(
                r"(?<![\w])(?:" + "|".join(f"({inflect(w)})" for w, _ in alts) + r")(?![\w])"
            )
            if alts
            else None
        )

    @classmethod
    def of(cls, specs: list[Any]) -> MethodVocab:
        labels: dict[str, str] = {}
        for spec in specs:
            for exp in spec.experiments.values():
                for m in exp.methods:
                    labels.setdefault(m.label, m.name)
        return cls(labels)

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, label) of every method name in the plain `text`."""
        if self._re is None or not text:
            return []
        out = []
        for m in self._re.finditer(text):
            k = m.lastindex
            if k is not None:
                out.append((m.start(), m.end(), self._groups[k - 1]))
        return out

    def named(self, text: str) -> set[str]:
        return {lab for _, _, lab in self.find(text)}

    def canon(self, text: str) -> str:
        """`text` with each method name written as its label ("direct feedback alignment" ->
        "dfa"), so that a method's name is never read as a metric word ("alignment")."""
        if self._re is None or not text:
            return text
        return self._re.sub(lambda m: plain(self._groups[(m.lastindex or 1) - 1]), text)

    def canon_context(self, ctx: Any) -> Any:
        """A `NumberContext` with every text field passed through `canon`."""
        import dataclasses

        fields = ("before", "after", "cell", "header", "row_header", "caption")
        return dataclasses.replace(ctx, **{f: self.canon(getattr(ctx, f)) for f in fields})


def methods_named(
    vocab: MethodVocab, ctx: Any, before: str = "", after: str = ""
) -> tuple[set[str], str]:
    """The method labels the number's context names, and where (see the module docstring).

    `ctx` is a `NumberContext` (plain words)."""
    if ctx.in_table:
        for text, where in (
            (ctx.cell, "its cell"),
            (ctx.row_header, "its row label"),
            (ctx.header, "its column header"),
            (ctx.caption, "the caption"),
        ):
            found = vocab.named(text)
            if found:
                return found, where
        return set(), ""
    before, after = ctx.before, ctx.after
    head = _head(after, 3)
    m = re.match(r"(?:for|of|by|from|with) (?:the )?(.*)", head)
    if m:
        found = vocab.named(m.group(1))
        if found:
            return found, "the words after it"
    paired = _respectively(vocab, before, after)
    if paired:
        return {paired}, "its place in the list of methods before it"
    subjects = [(s, lab) for s, _, lab in vocab.find(before) if not _COMPARATOR.search(before[:s])]
    subjects = [
        (s, lab) for s, lab in subjects if not before[s:].split(" ", 2)[1:2] == ["gradient"]
    ]
    if subjects:
        s = subjects[-1][0]
        return {lab for x, lab in subjects if x == s}, "the clause before it"
    found = vocab.named(after)
    if found:
        return found, "the sentence after it"
    if ctx.caption:
        found = vocab.named(ctx.caption)
        if found:
            return found, "the caption"
    return set(), ""


_NUM = r"[-+]?\d[\d.,]*(?: ?(?:%|pp))?(?: ?(?:pm|±) ?[-+]?\d[\d.]*(?: ?(?:%|pp))?)?"
_LIST_SEP = re.compile(r"\s*(?:,\s*and|,|and)\s*$")
_NEXT_NUMS = re.compile(r"(?:\s*(?:,\s*and|,|and)\s*" + _NUM + r"(?![\w.]))*")


def _respectively(vocab: MethodVocab, before: str, after: str) -> str | None:
    """In "the accuracies of BP and FA are 0.523 and 0.345", the method at the number's place
    in the list of methods before it, when the sentence lists as many numbers as methods."""
    found = vocab.find(before)
    if len(found) < 2:
        return None
    group = [found[-1]]
    for f in reversed(found[:-1]):
        if not _LIST_SEP.fullmatch(" " + before[f[1] : group[0][0]]):
            break
        group.insert(0, f)
    if len(group) < 2:
        return None
    tail = before[group[-1][1] :]
    nums = re.findall(_NUM + r"(?![\w.])", tail)
    words = [w for w in re.sub(_NUM + r"(?![\w.])", " ", tail).split() if w not in ("and", ",")]
    if len(words) > 5 or any(w in ("than", "vs", "vs.", "versus", "against") for w in words):
        return None
    nxt = _NEXT_NUMS.match(after)
    following = len(re.findall(_NUM + r"(?![\w.])", nxt.group())) if nxt else 0
    if len(nums) + 1 + following != len(group):
        return None
    return group[len(nums)][2]


def _head(after: str, n: int) -> str:
    out = []
    for tok in _CLAUSE_END.split(after, maxsplit=1)[0].split()[:n]:
        if tok in _JOINERS:
            break
        out.append(tok)
    return " ".join(out)


@cache
def _quantity_re() -> list[tuple[str, re.Pattern[str]]]:
    return [
        (q, re.compile(r"(?<![\w])(?:" + _alts(ws) + r")(?![\w])"))
        for q, ws in QUANTITY_WORDS.items()
    ]


def _quantities(text: str) -> list[tuple[int, str]]:
    out = []
    for q, pat in _quantity_re():
        out += [(m.start(), q) for m in pat.finditer(text)]
    return sorted(out)


def quantity_named(ctx: Any, unit: str | None) -> tuple[set[str], str]:
    """Which quantities (`QUANTITY_WORDS`) the number's context says it is, and where."""
    if unit == "pp":
        return {"difference"}, "its pp sign"
    if ctx.in_table:
        for text, where in (
            (ctx.cell, "its cell"),
            (ctx.header, "its column header"),
            (ctx.row_header, "its row label"),
        ):
            found = {q for _, q in _quantities(text)}
            if found:
                return found, where
        return set(), ""
    head = _head(ctx.after.replace("%", "% "), 3)
    # "52.3% of BP's time": the number's own % followed by "of"
    if unit == "%" and re.match(r"of\b", ctx.after):
        return {"other"}, "“% of”"
    found = [q for _, q in _quantities(head)]
    if found:
        return {found[0]}, "the words after it"
    clause = _CLAUSE_END.split(ctx.before)[-1]
    found_b = _quantities(clause)
    if found_b:
        return {found_b[-1][1]}, "the clause before it"
    return set(), ""


# --------------------------------------------------------------------------------- settings


def flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """A nested config as (dotted key, leaf) pairs; a list gives one pair per item."""
    out: list[tuple[str, Any]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out += flatten(v, key + ".")
        elif isinstance(v, list):
            out += [(key, x) for x in v]
        else:
            out.append((key, v))
    return out


_ADJ_BEFORE = r"(?:\s*(?:=|:=|of|is|was|at|to)\s*)?\s*$"


def adjacent_keys(keys: list[str], before: str, after: str, math: bool = False) -> list[str]:
    """Those of `keys` whose words stand right next to a number (plain `before`/`after` it).

    In math only ``name = value`` names a setting (``(1 - \\alpha)`` does not name alpha)."""
    before = before.rstrip()
    if re.search(r"(?<![\w])(?:first|last|initial|final|every|each)$", before):
        return []  # "within the first 11 epochs": a moment, not a setting
    tail = " ".join(re.split(r"[,;:(]", before)[-1].split()[-4:])
    head = " ".join(re.split(r"[,;:)]", after.lstrip(" )"), maxsplit=1)[0].split()[:3])
    out = []
    for k in keys:
        pat = config_pattern(k).pattern
        if math:
            if re.search(f"(?:{pat})" + r"\s*:?=\s*$", tail):
                out.append(k)
        elif re.search(f"(?:{pat})" + _ADJ_BEFORE, tail) or re.match(pat, head):
            out.append(k)
    return out


def settings_named(raw: str, keys: list[str]) -> list[tuple[str, float]]:
    """(key, value) of every setting among `keys` that the LaTeX `raw` names next to a number."""
    return _settings(raw, tuple(sorted(keys)))


@cache
def _settings(raw: str, keys: tuple[str, ...]) -> list[tuple[str, float]]:
    from faspec.audit.errors import AuditInputError
    from faspec.audit.latex import extract_string
    from faspec.audit.locate import Locator

    if not raw.strip() or not any(ch.isdigit() for ch in raw):
        return []
    try:
        ex = extract_string(raw)
    except AuditInputError:
        return []
    loc = Locator(ex.sources)
    out = []
    for h in ex.numbers:
        if h.std is not None or h.upper is not None or h.unit is not None:
            continue
        b, a, _, _ = loc.parts(h.file, h.start, h.end)
        for k in adjacent_keys(list(keys), plain(b), plain(a), h.math):
            out.append((k, h.value))
    return out


def run_configs(plan: Any) -> dict[str, dict[str, set[Any]]]:
    """Each run's numeric settings: run id -> dotted key -> the values it has."""
    out = {}
    for rid, cfg in plan.runs.items():
        flat: dict[str, set[Any]] = {}
        for k, v in flatten(cfg):
            if isinstance(v, int | float) and not isinstance(v, bool):
                flat.setdefault(k, set()).add(v)
        out[rid] = flat
    return out


def point_problems(
    runs: list[str], named: list[tuple[str, float]], run_cfg: dict[str, dict[str, set[Any]]]
) -> list[str]:
    """Settings the context names that the claim's runs do not have."""
    by_key: dict[str, list[float]] = {}
    for k, v in named:
        by_key.setdefault(k, []).append(v)
    out = []
    for k, said in by_key.items():
        have: set[Any] = set()
        for rid in runs:
            have |= run_cfg.get(rid, {}).get(k, set())
        nums = {float(x) for x in have if isinstance(x, int | float) and not isinstance(x, bool)}
        if not nums or any(abs(v - x) <= 1e-9 * max(1.0, abs(x)) for v in said for x in nums):
            continue
        shown = ", ".join(f"{x:g}" for x in sorted(nums))
        out.append(
            f"the context names {k} = {', '.join(f'{v:g}' for v in said)}, its runs have {shown}"
        )
    return out
