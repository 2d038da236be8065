"""The claim language's syntax tree: what faspec.spec.expr parses a claim into, the walks the
loader and the checker use, and `push_not`, which turns `not` into the complements the checker
tests. Plain frozen dataclasses; no parsing here (faspec/spec/expr.py has the grammar)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

DIAGNOSTICS = ("a", "b", "c", "d")


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
    # `[a:b]` / `[*]` on a per-layer metric: the layers pooled with the seeds into one sample
    pool: tuple[int | None, int | None] | None = None
    # `exp:label`: the runs of another experiment of the spec (then `method` is "exp:label")
    experiment: str | None = None

    @property
    def label(self) -> str:
        """The method label within its experiment (`fa_pen` of `pen:fa_pen`)."""
        return self.method.partition(":")[2] if self.experiment else self.method

    def metric_or(self, default: str) -> str:
        return self.metric if self.metric is not None else default

    def text(self, default_metric: str | None = None) -> str:
        metric = self.metric if self.metric is not None else default_metric
        out = self.method if metric is None else f"{self.method}.{metric}"
        if self.pool is not None:
            lo, hi = self.pool
            inner = (
                "*"
                if lo is None and hi is None
                else f"{'' if lo is None else lo}:{'' if hi is None else hi}"
            )
            return f"{out}[{inner}]"
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


@dataclass(frozen=True)
class Arith:
    """`a - b` (a difference of two seed samples) or `a / b` (a ratio, tested on log10)."""

    op: str  # "-" or "/"
    left: Operand
    right: Operand
    col: int = 0

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right}"


Term = Operand | Const | Arith


@dataclass(frozen=True)
class Compare:
    """A chain `t0 op0 t1 op1 t2 ...`; it holds when every link `t_i op_i t_{i+1}` holds."""

    operands: tuple[Term, ...]
    ops: tuple[str, ...]
    by_epoch: int | None = None
    col: int = 0
    op_cols: tuple[int, ...] = ()
    at_epoch: int | None = None  # `at epoch N`: values read at logged epoch N exactly
    first_epoch: int | None = None  # `first at epoch N [± k]`: per seed, first epoch it holds
    tolerance: int = 0  # the k of `± k`
    negated: bool = False  # per seed: `not (chain by epoch N)`, the exact negation per seed

    @property
    def epoch_text(self) -> str:
        if self.by_epoch is not None:
            return f"by epoch {self.by_epoch}"
        if self.at_epoch is not None:
            return f"at epoch {self.at_epoch}"
        if self.first_epoch is not None:
            tol = f" ± {self.tolerance}" if self.tolerance else ""
            return f"first at epoch {self.first_epoch}{tol}"
        return ""

    def links(self) -> list[tuple[Term, str, Term]]:
        return [(self.operands[i], op, self.operands[i + 1]) for i, op in enumerate(self.ops)]

    def __str__(self) -> str:
        if self.negated:
            return f"not ({replace(self, negated=False)})"
        if len(self.ops) == 1 and self.ops[0].startswith("!"):  # a complement made by push_not
            inner = Compare(self.operands, (self.ops[0][1:],), self.by_epoch)
            return f"not ({inner})"
        parts = [str(self.operands[0])]
        for op, term in zip(self.ops, self.operands[1:], strict=True):
            parts += [op, str(term)]
        if self.epoch_text:
            parts.append(self.epoch_text)
        return " ".join(parts)


@dataclass(frozen=True)
class Predicate:
    """A protocol predicate about one method label, true or false per seed.

    `kind`: "trustworthy", "walked_back", "fires" (`fires D [by epoch N]`), "never"
    (`never fires [D] [by epoch N]`) or "first" (`fires D first at epoch N`). `diagnostics`
    holds letters (a, b, c, d); empty means the runs' verdict set (trustworthy, walked_back,
    `never fires` without D): the protocol set less a diagnostic only reported ((c) as a
    sub-mode discriminator). `epoch` is N of `by epoch N` / `first at epoch N`.
    `written` keeps the diagnostics as the user wrote them (`D1+D2`), for messages.
    """

    method: str
    kind: str
    diagnostics: tuple[str, ...] = ()
    epoch: int | None = None
    col: int = 0
    written: tuple[str, ...] = ()
    tolerance: int = 0  # `first at epoch N ± k`

    def needs(self, protocol_set: Iterable[str]) -> tuple[str, ...]:
        """The diagnostics this predicate reads, given the runs' verdict set (its letters)."""
        return self.diagnostics or tuple(protocol_set)

    def __str__(self) -> str:
        diags = "+".join(self.written or self.diagnostics)
        if self.kind in ("trustworthy", "walked_back"):
            return f"{self.method} is {self.kind}"
        if self.kind == "first":
            tol = f" ± {self.tolerance}" if self.tolerance else ""
            return f"{self.method} fires {diags} first at epoch {self.epoch}{tol}"
        head = (
            f"{self.method} fires {diags}" if self.kind == "fires" else f"{self.method} never fires"
        )
        if self.kind == "never" and diags:
            head += f" {diags}"
        return head if self.epoch is None else f"{head} by epoch {self.epoch}"


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


@dataclass(frozen=True)
class ForSeeds:
    """`EXPR for [exactly | at least] K of N seeds`: the claim is decided per seed (paired by
    seed value) and holds when it holds on at least (exactly) K of the N seeds; the same as
    the claim field `seeds: K/N`, said in the sentence. Only at the top of an expression."""

    item: Node
    k: int
    n: int
    exact: bool = False
    col: int = 0

    def __str__(self) -> str:
        how = "exactly " if self.exact else ""
        return f"{self.item} for {how}{self.k} of {self.n} seeds"


Node = Compare | Predicate | And | Or | Not | ForSeeds


def _paren(node: Node, kinds: tuple[type, ...]) -> str:
    return f"({node})" if isinstance(node, kinds) else str(node)


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, depth first, parents before children."""
    yield node
    if isinstance(node, And | Or):
        for item in node.items:
            yield from walk(item)
    elif isinstance(node, Not | ForSeeds):
        yield from walk(node.item)


def comparisons(node: Node) -> list[Compare]:
    return [n for n in walk(node) if isinstance(n, Compare)]


def experiments(node: Node) -> list[str]:
    """The other experiments the expression reads (`exp:label` operands), in order."""
    return list(dict.fromkeys(op.experiment for op in operands(node) if op.experiment))


def predicates(node: Node) -> list[Predicate]:
    """Every protocol predicate of the expression, in order of appearance."""
    return [n for n in walk(node) if isinstance(n, Predicate)]


def only_predicates(node: Node) -> bool:
    """True when every leaf of the (sub)expression is a protocol predicate (no comparison)."""
    return not comparisons(node)


def operands(node: Node) -> list[Operand]:
    """Every method operand of the expression, in order of appearance."""
    out: list[Operand] = []
    for c in comparisons(node):
        for t in c.operands:
            if isinstance(t, Operand):
                out.append(t)
            elif isinstance(t, Arith):
                out += [t.left, t.right]
    return out


# The complement of each relation, as `not` decides it (faspec/check/links.py tests each):
# `not (a > b)` is `a <= b` and so on; `!>=`, `!<=`, `!>>`, `!<<`, `!~=` are complements the
# language has no symbol for (`a` below `b` by more than the close margin; a gap short of the
# much margin; a difference beyond the close margin). They exist only after push_not.
COMPLEMENT = {
    ">": "<=",
    "<": ">=",
    "<=": ">",
    ">=": "<",
    ">>": "!>>",
    "<<": "!<<",
    "~=": "!~=",
}
# `>=`/`<=` keep a complement of their own (`!>=`): over seeds check/links.py shows `a >= b` as
# `not (a < b)` and its complement as `a < b`; per seed `!>=` is the exact negation.
COMPLEMENT_WITH_MARGIN = {">=": "!>=", "<=": "!<="}
# Over seeds `>` promises superiority (mean a - mean b > 0 shown by a one-sided test), so its
# complement "a is not above b" is shown only by the one-sided test the other way: `a < b`.
# (`a <= b` over seeds is the strict complement of `a > b`: the two never both pass.) Per
# seed the values are numbers and `<=` is the exact negation.
STRICT_COMPLEMENT = {">": "<", "<": ">"}


def push_not(node: Node, margins: bool = True, per_seed: bool = False) -> Node:
    """The expression with every `not` moved onto comparisons and replaced by the complement.

    `not (a > b)` becomes the link `a < b` over seeds (the one-sided test the other way; per
    seed the exact `a <= b`), tested as such, never by flipping the verdict of `a > b`; `not (x and y)` is `not x or not y`, `not (x or y)` is `not x and not y`; a chain
    `not (a > b > c)` is `not (a > b) or not (b > c)`. A `not` over a predicate-only part stays:
    predicates are exact booleans per seed. `not` over `by epoch N` / `first at epoch N`:
    decided per seed (`per_seed`, or `... for K of N seeds` on top) it is the exact negation
    for each seed (`not (x < lo by epoch 100)`: x never fell below lo, every epoch through 100);
    over seeds it is an ExprError (a statement about every epoch, which no test here makes).
    Recursive, bounded by the parser's nesting limit (MAX_DEPTH).
    """

    def neg(n: Node) -> Node:
        if only_predicates(n):
            return n.item if isinstance(n, Not) else Not(n, getattr(n, "col", 0))
        if isinstance(n, Not):
            return pos(n.item)
        if isinstance(n, And):
            return Or(tuple(neg(i) for i in n.items), n.col)
        if isinstance(n, Or):
            return And(tuple(neg(i) for i in n.items), n.col)
        assert isinstance(n, Compare)
        if n.epoch_text and n.at_epoch is None and per_seed:
            return replace(n, negated=not n.negated)
        if n.epoch_text and n.at_epoch is None:
            raise ExprError(
                n.col,
                f"'not' cannot negate '{n}': its complement would be a statement about every "
                "epoch, which the language does not test; state the opposite directly",
            )
        links = []
        for i, (left, op, right) in enumerate(n.links()):
            if op.startswith("!"):
                new = op[1:]
            elif op in STRICT_COMPLEMENT and not per_seed:
                new = STRICT_COMPLEMENT[op]
            else:
                new = (COMPLEMENT_WITH_MARGIN.get(op) if margins else None) or COMPLEMENT[op]
            oc = n.op_cols[i] if i < len(n.op_cols) else n.col
            links.append(Compare((left, right), (new,), None, n.col, (oc,), n.at_epoch))
        return links[0] if len(links) == 1 else Or(tuple(links), n.col)

    def pos(n: Node) -> Node:
        if isinstance(n, Not):
            return neg(n.item)
        if isinstance(n, And | Or) and not only_predicates(n):
            return type(n)(tuple(pos(i) for i in n.items), n.col)
        return n

    if isinstance(node, ForSeeds):
        per_seed = True
        return ForSeeds(pos(node.item), node.k, node.n, node.exact, node.col)
    return pos(node)
