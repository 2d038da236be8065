r"""The tokenizer: small, total functions over raw LaTeX text at an index.

Each takes the text and a position and returns where the thing there ends (a control sequence,
a brace group, an optional argument, an argument signature, whitespace and comments) or what
it reads (a decimal scalar, a ``^{-7}`` exponent). None recurses and none raises: unbalanced
input ends at the end of the text, so hostile input costs time linear in its size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from faspec.audit.texnames import _DIGITS, _SIGNS, _THOUSANDS


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
