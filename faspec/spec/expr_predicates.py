"""The grammar of protocol predicates (`dfa is walked_back`, `dfa fires a+b by epoch 5`,
`dfa fires b first at epoch 4 ± 1`, `bp never fires c`), as a part of the claim parser
(faspec.spec.expr._Parser inherits it; the token stream and its helpers are the parser's).
"""

from __future__ import annotations

from typing import Any

from faspec.spec.expr_ast import DIAGNOSTICS, ExprError, Predicate
from faspec.spec.expr_tokens import describe as _describe

# how a diagnostic may be written -> its letter (the public protocol's D1/D2/D3 = a/b/d)
DIAGNOSTIC_NAMES = {"a": "a", "b": "b", "c": "c", "d": "d", "d1": "a", "d2": "b", "d3": "d"}
DIAGNOSTICS_HELP = "a, b, c, d (paper set) or D1, D2, D3 (public set: a, b, d), joined by '+'"
PREDICATE_KINDS = ("trustworthy", "walked_back", "fires", "never", "first")


class PredicateGrammar:
    """`predicate := IDENT "is" (trustworthy | walked_back) | IDENT "fires" diags [by epoch N |
    first at epoch N [± k]] | IDENT "never" "fires" [diags] [by epoch N]`, `diags := DIAG ("+"
    DIAG)*`. Uses the parser's tok / take / peek / at_kw / at_word / epoch_number / by_epoch /
    tolerance."""

    tok: Any
    peek: Any
    take: Any
    at_kw: Any
    at_word: Any
    epoch_number: Any
    by_epoch: Any
    tolerance: Any

    def diagnostics(self, after: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """`DIAG ("+" DIAG)*` -> (letters, as written)."""
        letters: list[str] = []
        written: list[str] = []
        while True:
            tok = self.tok
            if tok.kind != "ident":
                raise ExprError(
                    tok.col,
                    f"expected a diagnostic after {after!r} ({DIAGNOSTICS_HELP}), "
                    f"found {_describe(tok)}",
                )
            letter = _diagnostic(tok.text)
            if letter is None:
                hint = " (join several with '+', e.g. a+b)" if "-" in tok.text else ""
                raise ExprError(
                    tok.col,
                    f"unknown diagnostic {tok.text!r}; diagnostics are {DIAGNOSTICS_HELP}{hint}",
                )
            if letter in letters:
                raise ExprError(
                    tok.col,
                    f"diagnostic {letter} is named twice"
                    + (f" ({tok.text!r} is {letter})" if tok.text != letter else ""),
                )
            self.take()
            letters.append(letter)
            written.append(tok.text)
            if self.tok.kind != "+":
                return tuple(letters), tuple(written)
            after = "+"
            self.take()

    def predicate(self) -> Predicate:
        """`M is trustworthy|walked_back`, `M fires D [by epoch N | first at epoch N]`,
        `M never fires [D] [by epoch N]`."""
        label = self.take()
        word = self.take()
        col = label.col
        method = label.text
        if word.text == "is":
            tok = self.tok
            text = tok.text if tok.kind == "ident" else ""
            if text == "trustworthy":
                self.take()
                node = Predicate(method, "trustworthy", col=col)
            elif text in ("walked_back", "walked-back"):
                self.take()
                node = Predicate(method, "walked_back", col=col)
            elif text == "walked" and self.peek.kind == "ident" and self.peek.text == "back":
                self.take()
                self.take()
                node = Predicate(method, "walked_back", col=col)
            else:
                raise ExprError(
                    tok.col,
                    f"expected 'trustworthy' or 'walked_back' after 'is', found {_describe(tok)}",
                )
        elif word.text == "never":
            if not self.at_kw("fires"):
                raise ExprError(
                    self.tok.col, f"expected 'fires' after 'never', found {_describe(self.tok)}"
                )
            self.take()
            letters: tuple[str, ...] = ()
            written: tuple[str, ...] = ()
            if self.tok.kind == "ident" and not self.at_word("first"):
                letters, written = self.diagnostics("fires")
            if self.at_word("first"):
                raise ExprError(
                    self.tok.col,
                    "'first at epoch N' goes with 'fires' (e.g. 'dfa fires a first at epoch 8')",
                )
            node = Predicate(method, "never", letters, self.by_epoch(), col, written)
        else:  # fires
            letters, written = self.diagnostics("fires")
            if self.at_word("first"):
                self.take()
                if not self.at_word("at"):
                    raise ExprError(
                        self.tok.col,
                        f"expected 'at epoch N' after 'first', found {_describe(self.tok)}",
                    )
                self.take()
                if not self.at_kw("epoch"):
                    raise ExprError(
                        self.tok.col,
                        f"expected 'epoch' after 'first at', found {_describe(self.tok)}",
                    )
                self.take()
                epoch = self.epoch_number()
                node = Predicate(method, "first", letters, epoch, col, written, self.tolerance())
            else:
                node = Predicate(method, "fires", letters, self.by_epoch(), col, written)
        if self.tok.kind == "op":
            raise ExprError(
                self.tok.col,
                f"'{node}' is true or false per seed and cannot be compared with "
                f"{self.tok.text!r}; combine predicates with and/or/not",
            )
        return node


def _diagnostic(name: str) -> str | None:
    """The letter a diagnostic name stands for: a, b, c, d as written; D1, D2, D3 in any case."""
    if len(name) == 1:
        return name if name in DIAGNOSTICS else None
    return DIAGNOSTIC_NAMES.get(name.lower())
