r"""The parts of one printed number (`_Part`: sign, digits, decimals, exponent) and the pure
helpers that build and classify them: kind, year, balanced end, relation before it, the glue
between a mean and its ``\pm`` std, ``\times`` and ``\pm`` look-ahead.

Used by `faspec.audit.numbers`; no scanner state here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from faspec.audit.texnames import (
    _DIGITS,
    _GLUE_ARGS,
    _GLUE_SPACING,
    _GLUE_SWITCH,
    _PM_NAMES,
    _REL_BEFORE,
    _REL_CHARS,
    _REL_NAMES,
    _SPACES,
    _TIMES_NAMES,
)
from faspec.audit.textscan import _eol, _read_cs, _skip_sig, _skip_ws


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
