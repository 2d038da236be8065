r"""What a printed number's surroundings say it is: which metric, whether percent, which setting.

A value alone proves nothing: "the largest per-block growth was 49" equals a claimed cosine
of 0.49 read as a percentage, and "fires at epoch 4" equals some run's 4. So the audit only
compares a number with a claimed value when its `NumberContext` names that value's metric, only
reads it as a percentage where the paper says so, and only calls it CONFIG when the context
names the key it equals. The words are in `faspec.audit.vocab`.

* **The context of a number.** In a table: the rest of its own cell ("Depth" of a header cell
  "Depth 4"), the header cells above its column (see `faspec.audit.grid`), its row's cells
  left of it (its label, a ``\multirow`` label above it), and the float's caption. Elsewhere (running text,
  captions, math): the sentence around it, split at the number.
* **Which metrics it names** (`NumberContext.metrics`). In a table: the metrics the rest of
  its cell names; if none, the column header's; if none, the row header's; if none, the
  caption's. In text, the first rule that finds any: the three words right after the number (up to a ``,`` ``;`` ``:`` or a joining
  word such as "and", "or", "than", "with", "to": "61.5\% test accuracy"); else the nearest
  metric word before it in the sentence ("the cosine ... is 0.562"; of "accuracy ... and
  cosine 0.49" only the cosine); else any later in the sentence; else the caption of the
  float it sits in; else its own ``%`` sign (an accuracy). Another number's ``%`` in the
  sentence names nothing.
* **Percent** (`percent_ok`). A number is read as a percentage of a stored fraction only when
  it carries ``%``/``\%``/``pp`` itself, or sits in a table cell that has ``%``, ``\%``, "pp"
  or "percent" or a column whose header has them, or in a table whose caption says "(%)",
  "[%]", "in %", "in percent" or "percentage(s)".
* **Which settings it names** (`NumberContext.config_text`). In a table: its cell, column
  header, row header and caption; elsewhere the five words either side of it in its sentence, not
  across a ``;`` or ``:`` (numbers and signs between them are not counted as words):
  ``$d = 256$``, "100 epochs", "batch size 128", "3 seeds (42, 123 and 456)". A number
  written ``name = value`` is named by `name` alone: ``ddof=1`` names no setting, however
  close "seeds" is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from faspec.audit.latex import NumberHit
from faspec.audit.locate import Locator
from faspec.audit.operand import adjacent_keys, flatten
from faspec.audit.vocab import METRIC_WORDS, config_pattern, metric_words_at, plain

__all__ = ["ConfigIndex", "NumberContext", "percent_ok"]

_JOINERS = {"and", "or", "but", "while", "whereas", "vs", "vs.", "versus", "than", "with", "to"}
_ASSIGNED = re.compile(r"(?<![\w])(\w+) ?(?:=|:=|≡) ?$")
_CAPTION_PERCENT = re.compile(r"\( ?% ?\)|\[ ?% ?\]|\bin (?:%|percent)|\bpercentages?\b")
_HEADER_PERCENT = re.compile(r"%|\bpercent|\bpp\b")


@dataclass
class NumberContext:
    """The plain-word context of one printed number (see the module docstring)."""

    before: str = ""
    after: str = ""
    cell: str = ""
    header: str = ""
    row_header: str = ""
    caption: str = ""
    in_table: bool = False
    unit: str | None = None

    @classmethod
    def of(cls, hit: NumberHit, loc: Locator) -> NumberContext:
        before, after, caption, in_table = loc.parts(hit.file, hit.start, hit.end)
        in_table = in_table or hit.cell is not None
        return cls(
            before=plain(before),
            after=plain(after),
            cell=plain(hit.cell_text),
            header=plain(hit.header),
            row_header=plain(hit.row_header),
            caption=plain(caption),
            in_table=in_table,
            unit=hit.unit,
        )

    def metrics(self, metrics: set[str]) -> tuple[set[str], str]:
        """Which of `metrics` (and of all known metrics) the context names, and where."""
        known = frozenset(METRIC_WORDS) | frozenset(metrics)

        def named(text: str) -> set[str]:
            return set().union(*(ms for _, ms in metric_words_at(text, known))) if text else set()

        if self.in_table:
            for text, where in (
                (self.cell, "its cell"),
                (self.header, "the column header"),
                (self.row_header, "the row header"),
                (self.caption, "the caption"),
            ):
                found = named(text)
                if found:
                    return found, where
        else:  # another number's % sign in the sentence names nothing
            before, after = self.before.replace("%", " "), self.after.replace("%", " ")
            head = []
            for tok in re.split(r"[,;:]", after, maxsplit=1)[0].split()[:3]:
                if tok in _JOINERS:
                    break
                head.append(tok)
            found = named(" ".join(head))
            if found:
                return found, "the words after it"
            words = metric_words_at(before, known)
            if words:
                return words[-1][1], "the sentence before it"
            for text, where in (
                (after, "the sentence after it"),
                (self.caption, "the caption"),
            ):
                found = named(text)
                if found:
                    return found, where
        if self.unit == "%":
            return named("%"), "its % sign"
        return set(), ""

    def config_text(self) -> str:
        """The words that may name a setting the number equals."""
        if self.in_table:
            return " ".join((self.cell, self.header, self.row_header, self.caption))
        bound = _ASSIGNED.search(self.before)
        if bound:  # `name = value` names `name` and nothing else (ddof=1 is not seed=1)
            return bound.group(1) + " ="
        before = _words(re.split(r"[;:]", self.before)[-1].split()[::-1])[::-1]
        after = _words(re.split(r"[;:]", self.after, maxsplit=1)[0].split())
        return " ".join(before + ["#"] + after)


def _words(tokens: list[str], n: int = 5) -> list[str]:
    """The tokens up to and including the `n`-th one with a letter (numbers and signs between
    words are kept but not counted: "3 seeds (42, 123 and 456)")."""
    out, words = [], 0
    for tok in tokens:
        if words == n:
            break
        out.append(tok)
        words += any(ch.isalpha() for ch in tok)
    return out


def percent_ok(hit: NumberHit, ctx: NumberContext) -> bool:
    """May a plain number (no % of its own) be read as a percentage? Only where a table says so."""
    if not ctx.in_table:
        return False
    return bool(
        _HEADER_PERCENT.search(ctx.cell)
        or _HEADER_PERCENT.search(ctx.header)
        or _CAPTION_PERCENT.search(ctx.caption)
    )


# --------------------------------------------------------------------------------- config


class ConfigIndex:
    """Every numeric value the specs configure, with the keys that set it.

    `match` returns the keys a number equals *and* its context names; a value match alone is
    returned separately (for the reason), never as CONFIG."""

    def __init__(self) -> None:
        self.values: dict[float, list[tuple[str, str]]] = {}  # value -> [(key, "key=value")]
        self.by_key: dict[str, set[float]] = {}  # key -> the values the runs give it

    def add(self, key: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        if not math.isfinite(value) or key.endswith("version"):
            return
        self.by_key.setdefault(key, set()).add(float(value))
        keys = self.values.setdefault(float(value), [])
        desc = f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}"
        if (key, desc) not in keys:
            keys.append((key, desc))

    @classmethod
    def build(cls, specs: list[Any], plan: Any) -> ConfigIndex:
        idx = cls()
        for cfg in plan.runs.values():
            for key, v in flatten(cfg):
                idx.add(key, v)
        for spec in specs:
            for exp in spec.experiments.values():
                idx.add("seeds (count)", len(exp.seeds))
        return idx

    def match(self, hit: NumberHit, named: str) -> tuple[list[str], list[str]]:
        """(keys equal to the number and named in `named`, keys equal by value only)."""
        if hit.std is not None:
            return [], []
        keys = self._match(hit, "value")
        if keys and hit.upper is not None:
            upper = self._match(hit, "upper")
            if not upper:
                return [], []
            keys += [k for k in upper if k not in keys]
        by_name = [d for k, d in keys if config_pattern(k).search(named)]
        return by_name, [d for _, d in keys if d not in by_name]

    def named_other(self, hit: NumberHit, ctx: NumberContext) -> list[str]:
        """Settings the words right next to the number name ("batch size of 128", "$d = 8$")
        whose runs never have the printed value: "key (runs: v1, v2)". Text only: a table's
        headers name settings too loosely ("Test accuracy" is not n_test)."""
        if ctx.in_table or hit.std is not None or hit.upper is not None or hit.unit is not None:
            return []
        out = []
        # measurement settings share their words with metrics ("a growth of 0.49")
        keys = sorted(k for k in self.by_key if not k.startswith("measure."))
        for k in adjacent_keys(keys, ctx.before, ctx.after, hit.math):
            vals = sorted(self.by_key[k])
            if hit.value in vals:
                continue
            shown = ", ".join(f"{v:g}" for v in vals[:4]) + (" …" if len(vals) > 4 else "")
            out.append(f"{k} (runs: {shown})")
        return out

    def _match(self, hit: NumberHit, part: str) -> list[tuple[str, str]]:
        printed = hit.value if part == "value" else hit.upper
        if printed is None:
            return []
        decimals = hit.decimals if part == "value" else (hit.upper_decimals or 0)
        integer_print = decimals == 0 and hit.exponent == 0
        scales = [1.0, 100.0] if hit.unit == "%" else [1.0]
        out: list[tuple[str, str]] = []
        for c, keys in self.values.items():
            for k in scales:
                x = c * k
                if x == int(x) and abs(x) < 1e15:
                    ok = printed == x
                else:
                    ok = not integer_print and hit.rounds_to(x, part)
                if ok:
                    out += keys
                    break
        return out
