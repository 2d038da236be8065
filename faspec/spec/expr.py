"""The claim expression language: a tokenizer and a recursive-descent parser into an AST.

Claims are text written by people about their own paper, and specs may come from anywhere, so
nothing is ever `eval`-ed: the grammar below is all there is.

    expr       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" expr ")" | comparison
    comparison := term (RELOP term)+ ["by" "epoch" INT]
    term       := NUMBER | operand
    operand    := IDENT ["." IDENT] ["[" INT "]"]
    RELOP      := ">" | "<" | ">=" | "<=" | ">>" | "<<" | "~="

Precedence, loosest first: `or`, `and`, `not`, then a comparison chain. `a > b > c` is a chain
(every link must hold), as in Python. `by epoch N` belongs to the whole chain before it.

Identifiers (method labels and metric names) start with a letter or `_` and continue with
letters, digits, `_` or `-` (so `dfa_pen` and `dfa-pen` are both labels). A `-` is never an
operator here, so this is unambiguous; a number after an operator may carry a sign (`a > -3`).
`and`, `or`, `not`, `by`, `epoch` are keywords and cannot be labels.

Columns (`col`) are 0-based offsets into the expression text; the loader maps them to the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

KEYWORDS = frozenset({"and", "or", "not", "by", "epoch"})
RELOPS = (">=", "<=", ">>", "<<", "~=", ">", "<")  # longest first for the tokenizer
IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_NUMBER_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


class ExprError(ValueError):
    """A syntax error in a claim expression, at 0-based column `col` of the expression."""

    def __init__(self, col: int, message: str) -> None:
        super().__init__(f"col {col}: {message}")
        self.col = col
        self.message = message


@dataclass(frozen=True)
class Operand:
    """`method[.metric][[index]]`; `metric` None means the claim's `metric:` (default test_acc)."""

    method: str
    metric: str | None = None
    index: int | None = None
    col: int = 0

    def metric_or(self, default: str) -> str:
        return self.metric if self.metric is not None else default

    def text(self, default_metric: str | None = None) -> str:
        metric = self.metric if self.metric is not None else default_metric
        out = self.method if metric is None else f"{self.method}.{metric}"
        return out if self.index is None else f"{out}[{self.index}]"

    def __str__(self) -> str:
        return self.text()


@dataclass(frozen=True)
class Const:
    value: float
    col: int = 0
    source: str = ""  # as written, for messages (`1e-7` rather than `1e-07`)

    def __str__(self) -> str:
        return self.source or repr(self.value)


Term = Operand | Const


@dataclass(frozen=True)
class Compare:
    """A chain `t0 op0 t1 op1 t2 ...`; it holds when every link `t_i op_i t_{i+1}` holds."""

    operands: tuple[Term, ...]
    ops: tuple[str, ...]
    by_epoch: int | None = None
    col: int = 0
    op_cols: tuple[int, ...] = ()

    def links(self) -> list[tuple[Term, str, Term]]:
        return [(self.operands[i], op, self.operands[i + 1]) for i, op in enumerate(self.ops)]

    def __str__(self) -> str:
        parts = [str(self.operands[0])]
        for op, term in zip(self.ops, self.operands[1:], strict=True):
            parts += [op, str(term)]
        if self.by_epoch is not None:
            parts += ["by epoch", str(self.by_epoch)]
        return " ".join(parts)


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]
    col: int = 0

    def __str__(self) -> str:
        return " and ".join(_paren(i, (Or,)) for i in self.items)


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]
    col: int = 0

    def __str__(self) -> str:
        return " or ".join(str(i) for i in self.items)


@dataclass(frozen=True)
class Not:
    item: Node
    col: int = 0

    def __str__(self) -> str:
        return "not " + _paren(self.item, (And, Or))


Node = Compare | And | Or | Not


def _paren(node: Node, kinds: tuple[type, ...]) -> str:
    return f"({node})" if isinstance(node, kinds) else str(node)


@dataclass(frozen=True)
class Token:
    kind: str  # "num", "ident", "kw", "op", "(", ")", "[", "]", ".", "end"
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


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

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
        if self.tok.kind != "end":
            hint = ""
            if self.tok.kind in ("ident", "num"):
                hint = " (missing 'and'/'or' or an operator?)"
            raise ExprError(self.tok.col, f"unexpected {_describe(self.tok)}{hint}")
        return node

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
            return Not(self.not_expr(), col)
        if self.tok.kind == "(":
            open_tok = self.take()
            node = self.or_expr()
            if self.tok.kind != ")":
                raise ExprError(
                    self.tok.col,
                    f"expected ')' to close the '(' at col {open_tok.col}, found {_describe(self.tok)}",
                )
            self.take()
            return node
        return self.comparison()

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
        if not ops:
            raise ExprError(
                self.tok.col,
                f"expected a relation (> < >= <= >> << ~=) after {self.text[col : self.tok.col].strip()!r}, "
                f"found {_describe(self.tok)}",
            )
        by_epoch = None
        if self.at_kw("by"):
            self.take()
            if not self.at_kw("epoch"):
                raise ExprError(
                    self.tok.col, f"expected 'epoch' after 'by', found {_describe(self.tok)}"
                )
            self.take()
            tok = self.tok
            if tok.kind != "num" or not re.fullmatch(r"\d+", tok.text):
                raise ExprError(
                    tok.col, f"expected an epoch number (an integer >= 0), found {_describe(tok)}"
                )
            self.take()
            by_epoch = int(tok.text)
        elif self.at_kw("epoch"):
            raise ExprError(self.tok.col, "write 'by epoch N'")
        return Compare(tuple(terms), tuple(ops), by_epoch, col, tuple(op_cols))

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
            if self.tok.kind == ".":
                self.take()
                metric = self.expect("ident", "a metric name after '.'").text
            if self.tok.kind == "[":
                self.take()
                idx = self.tok
                if idx.kind != "num" or not re.fullmatch(r"\d+", idx.text):
                    raise ExprError(
                        idx.col, f"expected a layer index (an integer >= 0), found {_describe(idx)}"
                    )
                self.take()
                index = int(idx.text)
                self.expect("]", "']'")
            return Operand(tok.text, metric, index, tok.col)
        if tok.kind == "kw":
            raise ExprError(tok.col, f"'{tok.text}' is a keyword; expected a method or a number")
        raise ExprError(tok.col, f"expected a method or a number, found {_describe(tok)}")


def _describe(tok: Token) -> str:
    return "the end of the expression" if tok.kind == "end" else repr(tok.text)


def parse(text: str) -> Node:
    """Parse a claim expression; raises ExprError with the 0-based column of the bad token."""
    return _Parser(text).parse()


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, depth first, parents before children."""
    yield node
    if isinstance(node, And | Or):
        for item in node.items:
            yield from walk(item)
    elif isinstance(node, Not):
        yield from walk(node.item)


def comparisons(node: Node) -> list[Compare]:
    return [n for n in walk(node) if isinstance(n, Compare)]


def operands(node: Node) -> list[Operand]:
    """Every method operand of the expression, in order of appearance."""
    return [t for c in comparisons(node) for t in c.operands if isinstance(t, Operand)]
