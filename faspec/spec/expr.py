"""The claim expression language: a recursive-descent parser into an AST (tokens: expr_tokens).

Claims are text written by people about their own paper, and specs may come from anywhere, so
nothing is ever `eval`-ed: the grammar below is all there is.

    expr       := or_expr ["for" ["exactly" | "at" "least"] INT "of" INT "seeds"]
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" or_expr ")" | predicate | comparison
    comparison := term (RELOP term)+ [epochs]
    epochs     := "by" "epoch" INT | "at" "epoch" INT | "first" "at" "epoch" INT [tol]
    tol        := ("±" | "+-") INT
    term       := NUMBER | operand [("-" | "/") operand]
    operand    := [IDENT ":"] IDENT ["." IDENT] ["[" layers "]"]
    layers     := INT | "*" | [INT] ":" [INT]
    RELOP      := ">" | "<" | ">=" | "<=" | ">>" | "<<" | "~="

    predicate  := IDENT "is" ("trustworthy" | "walked_back")
                | IDENT "fires" diags [("by" "epoch" INT) | ("first" "at" "epoch" INT [tol])]
                | IDENT "never" "fires" [diags] ["by" "epoch" INT]
    diags      := DIAG ("+" DIAG)*
    DIAG       := "a" | "b" | "c" | "d" | "D1" | "D2" | "D3"

Precedence, loosest first: `for K of N seeds` (on the whole expression only), `or`, `and`,
`not`, then a comparison chain or a predicate. `a > b > c` is a chain (every link must hold), as
in Python. `by epoch N` / `at epoch N` / `first at epoch N ± k` belong to the whole chain before
it. `fa - frozen` and `sb.nudge / cb.nudge` (a difference / ratio of two seed samples) are
compared with a number in a single link. `pen:fa_pen` is label `fa_pen` of experiment `pen`;
`x.cos_layers[1:]` / `[*]` pools the layers with the seeds. Limits, each a located ExprError:
MAX_LENGTH characters, MAX_DEPTH nested parentheses and `not`s, integers of MAX_INT_DIGITS.

Predicates state the paper's diagnostic protocol (docs/metrics.md) about one
method label; they are true or false per seed (faspec.check.claims decides them):

* `dfa is walked_back` / `bp is trustworthy`: some / no diagnostic of the verdict set fires
  (`walked-back` and `walked back` are accepted too);
* `dfa fires a+b`: every diagnostic named fires for the run; `... by epoch 5`: and first fired at
  a logged epoch <= 5; `... first at epoch 4`: the first logged epoch at which it fired is 4
  (for `a+b`, each of them);
* `bp never fires`: no diagnostic of the verdict set fires; `bp never fires b` names them;
  `... by epoch N`: none had fired by a logged epoch <= N.

The verdict set is the protocol set's letters less those only reported: in the paper set (c) is
by default a sub-mode discriminator outside the verdict (`protocol.stability_role: submode`), so
a bare `bp never fires` reads (a), (b), (d), and its message says when (c) fired beside it
("(c, outside the verdict, fires at epoch 0: ...)"). To say that nothing at all fires, including
(c), name the letters: `bp never fires a+b+c+d`.

Diagnostics are the letters a (scale growth), b (gradient floor), c (direction stability),
d (accuracy not clearing the frozen-blocks baseline), or the public protocol's names D1 = a,
D2 = b, D3 = d (case-insensitive), joined by `+`; the AST holds the letters.

Identifiers (method labels and metric names) start with a letter or `_` and continue with
letters, digits, `_` or `-` (so `dfa_pen` and `dfa-pen` are both labels): a `-` inside a word
belongs to it, and a difference is written with spaces (`fa - frozen`); a number after an
operator may carry a sign (`a > -3`).
`and`, `or`, `not`, `by`, `epoch`, `is`, `fires`, `never` are keywords and cannot be labels
(`trustworthy`, `walked_back`, `first`, `at` are words only where a predicate expects them).

Columns (`col`) are 0-based offsets into the expression text; the loader maps them to the file.
"""

from __future__ import annotations

import re

from faspec.spec.expr_ast import (
    COMPLEMENT as COMPLEMENT,
)
from faspec.spec.expr_ast import (
    COMPLEMENT_WITH_MARGIN as COMPLEMENT_WITH_MARGIN,
)

# the syntax tree and its walks are part of this module's interface (`E.Compare`, `E.walk`)
from faspec.spec.expr_ast import (
    DIAGNOSTICS as DIAGNOSTICS,
)
from faspec.spec.expr_ast import (
    And as And,
)
from faspec.spec.expr_ast import (
    Arith as Arith,
)
from faspec.spec.expr_ast import (
    Compare as Compare,
)
from faspec.spec.expr_ast import (
    Const as Const,
)
from faspec.spec.expr_ast import (
    ExprError as ExprError,
)
from faspec.spec.expr_ast import (
    ForSeeds as ForSeeds,
)
from faspec.spec.expr_ast import (
    Node as Node,
)
from faspec.spec.expr_ast import (
    Not as Not,
)
from faspec.spec.expr_ast import (
    Operand as Operand,
)
from faspec.spec.expr_ast import (
    Or as Or,
)
from faspec.spec.expr_ast import (
    Predicate as Predicate,
)
from faspec.spec.expr_ast import (
    Term as Term,
)
from faspec.spec.expr_ast import (
    comparisons as comparisons,
)
from faspec.spec.expr_ast import (
    experiments as experiments,
)
from faspec.spec.expr_ast import (
    only_predicates as only_predicates,
)
from faspec.spec.expr_ast import (
    operands as operands,
)
from faspec.spec.expr_ast import (
    predicates as predicates,
)
from faspec.spec.expr_ast import (
    push_not as push_not,
)
from faspec.spec.expr_ast import (
    walk as walk,
)
from faspec.spec.expr_predicates import (
    DIAGNOSTIC_NAMES as DIAGNOSTIC_NAMES,
)
from faspec.spec.expr_predicates import (
    DIAGNOSTICS_HELP as DIAGNOSTICS_HELP,
)
from faspec.spec.expr_predicates import (
    PREDICATE_KINDS as PREDICATE_KINDS,
)
from faspec.spec.expr_predicates import (
    PredicateGrammar,
)

# the tokenizer's vocabulary is part of this module's interface too (`E.KEYWORDS`, `tokenize`)
from faspec.spec.expr_tokens import IDENT_RE as IDENT_RE
from faspec.spec.expr_tokens import KEYWORDS as KEYWORDS
from faspec.spec.expr_tokens import RELOPS as RELOPS
from faspec.spec.expr_tokens import Token as Token
from faspec.spec.expr_tokens import describe as _describe
from faspec.spec.expr_tokens import tokenize as tokenize

PREDICATE_WORDS = ("is", "fires", "never")  # a label followed by one of these is a predicate
MAX_DEPTH = 64  # nesting of parentheses and `not`: deeper is an ExprError, never a RecursionError
MAX_INT_DIGITS = 6  # epoch numbers and layer indices: below a million
MAX_LENGTH = 100_000  # characters of one expression


class _Parser(PredicateGrammar):
    def __init__(self, text: str) -> None:
        if len(text) > MAX_LENGTH:
            raise ExprError(MAX_LENGTH, f"the expression is longer than {MAX_LENGTH} characters")
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    def nest(self, col: int) -> None:
        """One more level of `(` or `not`; the parser is recursive, so depth is bounded."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError(col, f"nested deeper than {MAX_DEPTH} levels of parentheses and 'not'")

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at_kw(self, word: str) -> bool:
        return self.tok.kind == "kw" and self.tok.text == word

    def expect(self, kind: str, what: str) -> Token:
        if self.tok.kind != kind:
            raise ExprError(self.tok.col, f"expected {what}, found {_describe(self.tok)}")
        return self.take()

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise ExprError(0, "empty expression")
        node = self.or_expr()
        if self.at_word("for"):
            node = self.for_seeds(node)
        if self.tok.kind != "end":
            hint = ""
            if self.tok.kind in ("ident", "num"):
                hint = " (missing 'and'/'or' or an operator?)"
            raise ExprError(self.tok.col, f"unexpected {_describe(self.tok)}{hint}")
        return node

    def for_seeds(self, node: Node) -> ForSeeds:
        """`... for [exactly | at least] K of N seeds`, after the whole expression."""
        col = self.take().col
        exact = False
        if self.at_word("exactly"):
            self.take()
            exact = True
        elif self.at_word("at") and self.peek.kind == "ident" and self.peek.text == "least":
            self.take()
            self.take()
        k_tok = self.tok
        k = self.epoch_number_as("a seed count K")
        if not self.at_word("of"):
            raise ExprError(self.tok.col, f"expected 'of N seeds', found {_describe(self.tok)}")
        self.take()
        n = self.epoch_number_as("a seed count N")
        if not (self.at_word("seeds") or self.at_word("seed")):
            raise ExprError(self.tok.col, f"expected 'seeds', found {_describe(self.tok)}")
        self.take()
        if not 1 <= k <= n:
            raise ExprError(k_tok.col, f"'for {k} of {n} seeds' needs 1 <= K <= N")
        return ForSeeds(node, k, n, exact, col)

    def epoch_number_as(self, what: str) -> int:
        tok = self.tok
        if tok.kind != "num" or not re.fullmatch(r"\d+", tok.text):
            raise ExprError(tok.col, f"expected {what} (an integer), found {_describe(tok)}")
        self.take()
        return _small_int(tok, what)

    def or_expr(self) -> Node:
        col = self.tok.col
        items = [self.and_expr()]
        while self.at_kw("or"):
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items), col)

    def and_expr(self) -> Node:
        col = self.tok.col
        items = [self.not_expr()]
        while self.at_kw("and"):
            self.take()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items), col)

    def not_expr(self) -> Node:
        if self.at_kw("not"):
            col = self.take().col
            self.nest(col)
            item = self.not_expr()
            self.depth -= 1
            return Not(item, col)
        if self.tok.kind == "(":
            open_tok = self.take()
            self.nest(open_tok.col)
            node = self.or_expr()
            self.depth -= 1
            if self.tok.kind != ")":
                raise ExprError(
                    self.tok.col,
                    f"expected ')' to close the '(' at col {open_tok.col}, found {_describe(self.tok)}",
                )
            self.take()
            return node
        if (
            self.tok.kind == "ident"
            and self.peek.kind == "kw"
            and self.peek.text in PREDICATE_WORDS
        ):
            return self.predicate()
        return self.comparison()

    @property
    def peek(self) -> Token:
        """The token after the current one (the end token when there is none)."""
        return self.tokens[min(self.i + 1, len(self.tokens) - 1)]

    def epoch_number(self) -> int:
        tok = self.tok
        if tok.kind != "num" or not re.fullmatch(r"\d+", tok.text):
            raise ExprError(
                tok.col, f"expected an epoch number (an integer >= 0), found {_describe(tok)}"
            )
        self.take()
        return _small_int(tok, "an epoch number")

    def by_epoch(self) -> int | None:
        """An optional `by epoch N`."""
        if self.at_kw("by"):
            self.take()
            if not self.at_kw("epoch"):
                raise ExprError(
                    self.tok.col, f"expected 'epoch' after 'by', found {_describe(self.tok)}"
                )
            self.take()
            return self.epoch_number()
        if self.at_kw("epoch"):
            raise ExprError(self.tok.col, "write 'by epoch N'")
        return None

    def at_word(self, word: str) -> bool:
        return self.tok.kind == "ident" and self.tok.text == word

    def comparison(self) -> Node:
        col = self.tok.col
        terms = [self.term()]
        ops: list[str] = []
        op_cols: list[int] = []
        while self.tok.kind == "op":
            op_tok = self.take()
            ops.append(op_tok.text)
            op_cols.append(op_tok.col)
            terms.append(self.term())
        if not ops and self.tok.kind == "kw" and self.tok.text in PREDICATE_WORDS:
            label = terms[0].method if isinstance(terms[0], Operand) else "dfa"
            raise ExprError(
                self.tok.col,
                f"'{self.tok.text}' follows a method label, not a metric: write "
                f"'{label} {self.tok.text} ...' ({self.text[col : self.tok.col].strip()!r} names a metric)",
            )
        if not ops:
            raise ExprError(
                self.tok.col,
                f"expected a relation (> < >= <= >> << ~=) after {self.text[col : self.tok.col].strip()!r}, "
                f"found {_describe(self.tok)}",
            )
        if any(isinstance(t, Arith) for t in terms) and len(ops) > 1:
            raise ExprError(
                col, "a difference or ratio term is compared in one link (e.g. 'fa - dfa > 0.09')"
            )
        for t, other in ((terms[0], terms[-1]), (terms[-1], terms[0])):
            if isinstance(t, Arith) and not isinstance(other, Const):
                raise ExprError(
                    t.col,
                    f"compare the {'difference' if t.op == '-' else 'ratio'} '{t}' with a number "
                    "(e.g. 'fa - dfa > 0.09', 'sb.nudge / cb.nudge ~= 4.5')",
                )
        if self.at_word("at"):
            self.take()
            if not self.at_kw("epoch"):
                raise ExprError(
                    self.tok.col, f"expected 'epoch' after 'at', found {_describe(self.tok)}"
                )
            self.take()
            return Compare(tuple(terms), tuple(ops), None, col, tuple(op_cols), self.epoch_number())
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
                    self.tok.col, f"expected 'epoch' after 'first at', found {_describe(self.tok)}"
                )
            self.take()
            epoch = self.epoch_number()
            return Compare(
                tuple(terms), tuple(ops), None, col, tuple(op_cols), None, epoch, self.tolerance()
            )
        return Compare(tuple(terms), tuple(ops), self.by_epoch(), col, tuple(op_cols))

    def layers(self) -> tuple[int | None, tuple[int | None, int | None] | None]:
        """Inside `[...]`: a layer `i`, all layers `*`, or a range `a:b` (either end optional)."""
        if self.tok.kind == "*":
            self.take()
            return None, (None, None)
        lo = self.layer_index() if self.tok.kind == "num" else None
        if self.tok.kind != ":":
            if lo is None:
                raise ExprError(
                    self.tok.col,
                    "expected a layer index (an integer >= 0), a range a:b or *, found "
                    + _describe(self.tok),
                )
            return lo, None
        self.take()
        hi = self.layer_index() if self.tok.kind == "num" else None
        return None, (lo, hi)

    def layer_index(self) -> int:
        idx = self.tok
        if not re.fullmatch(r"\d+", idx.text):
            raise ExprError(
                idx.col, f"expected a layer index (an integer >= 0), found {_describe(idx)}"
            )
        self.take()
        return _small_int(idx, "a layer index")

    def tolerance(self) -> int:
        """An optional `± k` (or `+- k`) after an epoch number: k epochs either way."""
        if self.tok.kind == "±":
            self.take()
        elif self.tok.kind == "+" and self.peek.kind == "-":
            self.take()
            self.take()
        else:
            return 0
        return self.epoch_number()

    def term(self) -> Term:
        tok = self.tok
        if tok.kind == "num":
            self.take()
            try:
                value = float(tok.text)
            except ValueError:  # pragma: no cover - the regex only admits float syntax
                raise ExprError(tok.col, f"malformed number {tok.text!r}") from None
            return Const(value, tok.col, tok.text)
        if tok.kind == "ident":
            self.take()
            metric = None
            index = None
            experiment = None
            name = tok.text
            if self.tok.kind == ":":  # `exp:label`: a method of another experiment
                self.take()
                label = self.expect("ident", "a method label after 'experiment:'")
                experiment = tok.text
                name = f"{experiment}:{label.text}"
            if self.tok.kind == ".":
                self.take()
                metric = self.expect("ident", "a metric name after '.'").text
            pool = None
            if self.tok.kind == "[":
                self.take()
                index, pool = self.layers()
                self.expect("]", "']'")
            left = Operand(name, metric, index, tok.col, pool, experiment)
            if self.tok.kind in ("-", "/"):
                op_tok = self.take()
                right = self.term()
                if not isinstance(right, Operand):
                    raise ExprError(
                        right.col,
                        f"'{op_tok.text}' takes a method operand on each side (a difference or "
                        "ratio of two seed samples), e.g. 'fa - frozen' or 'sb.nudge / cb.nudge'",
                    )
                return Arith(op_tok.text, left, right, tok.col)
            return left
        if tok.kind == "kw":
            raise ExprError(tok.col, f"'{tok.text}' is a keyword; expected a method or a number")
        raise ExprError(tok.col, f"expected a method or a number, found {_describe(tok)}")


def _small_int(tok: Token, what: str) -> int:
    """An integer token of at most MAX_INT_DIGITS digits (Python refuses to convert very long
    digit strings, and no run has a million epochs or layers)."""
    digits = tok.text.lstrip("0") or "0"
    if len(digits) > MAX_INT_DIGITS:
        raise ExprError(
            tok.col, f"{what} must be below {10**MAX_INT_DIGITS:,}, got {len(digits)} digits"
        )
    return int(digits)


def parse(text: str) -> Node:
    """Parse a claim expression; raises ExprError with the 0-based column of the bad token."""
    return _Parser(text).parse()
