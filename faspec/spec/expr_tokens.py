"""The claim expression tokenizer: text -> `Token`s with 0-based columns, or a located ExprError.

Promise: `tokenize` never evaluates anything and runs in linear time (the number pattern uses
possessive quantifiers, so a long run of digits never backtracks); it ends the list with an
`end` token. What it reads: the relations RELOPS (longest first), parentheses, brackets, `.`,
numbers (a sign or a leading `.` only where a term may start), `+` (joins diagnostics), `-` `/`
`±` `:` `*`, and identifiers (IDENT_RE; a `-` inside a word belongs to it; KEYWORDS become `kw`
tokens). `=` / `!=` and any other character are errors at their column. The grammar itself is
in faspec.spec.expr.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from faspec.spec.expr_ast import ExprError

KEYWORDS = frozenset({"and", "or", "not", "by", "epoch", "is", "fires", "never"})
RELOPS = (">=", "<=", ">>", "<<", "~=", ">", "<")  # longest first for the tokenizer
IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# possessive quantifiers: a long run of digits never backtracks
_NUMBER_RE = re.compile(r"[-+]?(?:\d++(?:\.\d*+)?|\.\d++)(?:[eE][-+]?\d++)?")


@dataclass(frozen=True)
class Token:
    kind: str  # "num", "ident", "kw", "op", "(", ")", "[", "]", ".", "+", "end"
    text: str
    col: int


def tokenize(text: str) -> list[Token]:
    """Split an expression into tokens; an unknown character is an ExprError at its column."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        op = next((o for o in RELOPS if text.startswith(o, i)), None)
        if op is not None:
            tokens.append(Token("op", op, i))
            i += len(op)
            continue
        if ch == "=" or text.startswith("!=", i):
            raise ExprError(
                i,
                "'=' is not a relation here; use '~=' (equal within the metric's close margin)",
            )
        if ch in "()[].":
            # A '.' directly followed by a digit starts a number such as `.5`.
            if ch == "." and i + 1 < n and text[i + 1].isdigit() and _number_may_start(tokens):
                pass
            else:
                tokens.append(Token(ch, ch, i))
                i += 1
                continue
        if ch.isdigit() or ch in "+-." and _number_may_start(tokens):
            m = _NUMBER_RE.match(text, i)
            if m is None or m.end() == i:
                raise ExprError(i, f"unexpected {ch!r}")
            end = m.end()
            if end < n and (text[end].isalpha() or text[end] == "_"):
                raise ExprError(end, f"malformed number {text[i : end + 1]!r}")
            tokens.append(Token("num", m.group(), i))
            i = end
            continue
        if ch == "+":  # joins diagnostics (`a+b`); a sign where a number may start is handled above
            tokens.append(Token("+", "+", i))
            i += 1
            continue
        if ch in "-/±:*":  # a difference or ratio of two operands; ± a tolerance in epochs
            tokens.append(Token(ch, ch, i))
            i += 1
            continue
        m = IDENT_RE.match(text, i)
        if m is not None:
            word = m.group()
            if word.endswith("-"):
                raise ExprError(i + len(word) - 1, f"an identifier cannot end in '-': {word!r}")
            tokens.append(Token("kw" if word in KEYWORDS else "ident", word, i))
            i = m.end()
            continue
        raise ExprError(i, f"unexpected character {ch!r}")
    tokens.append(Token("end", "", n))
    return tokens


def _number_may_start(tokens: list[Token]) -> bool:
    """A sign or leading '.' starts a number only where a term is expected (after an operator)."""
    return not tokens or tokens[-1].kind in ("op", "(", "kw")


def describe(tok: Token) -> str:
    """A token as an error message names it."""
    return "the end of the expression" if tok.kind == "end" else repr(tok.text)
