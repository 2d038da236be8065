"""One link `a op b` of a comparison chain: its decision over seeds (a one-sided t-test, TOST
or a test against the `much` gap; `>=` is the strict complement of `<`), its decision for one
seed, and its rule as a sentence. See faspec/check/claims.py for the table of rules.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from faspec.check import stats as S
from faspec.check.base import (
    _MIRROR,
    Ctx,
    Stop,
    Term,
    _g,
    _link_stats,
    _margin,
    _margin_text,
    _show,
)
from faspec.spec import expr as E
from faspec.spec.model import MetricStats

# ----------------------------------------------------------------------------- link over seeds


def _dtest(
    a: np.ndarray | float,
    b: np.ndarray | float,
    alt: str,
    delta: float,
    equal_var: bool,
    inclusive: bool = False,
) -> S.TestResult:
    """diff_test that also takes a constant on the left (by flipping the sides)."""
    if np.ndim(a) == 0:
        flip = {"greater": "less", "less": "greater"}[alt]
        return S.diff_test(b, float(a), flip, -delta, equal_var, inclusive)  # type: ignore[arg-type]
    return S.diff_test(a, b, alt, delta, equal_var, inclusive)  # type: ignore[arg-type]


def _sd(x: np.ndarray | float) -> float | None:
    return None if np.ndim(x) == 0 else S.mean_std(x)[1]  # type: ignore[arg-type]


def _needed_text(n: int | None, two: bool, sd_missing: bool) -> str:
    if sd_missing:
        return "a t-test needs at least 2 seeds per method"
    if n is None:
        return "the observed effect is too small to decide with fewer than 1000 seeds"
    return f"about {n} seeds{' per method' if two else ''} would decide it at the observed effect"


def _link_over_seeds(
    left: Term,
    op: str,
    right: Term,
    a: np.ndarray | float,
    b: np.ndarray | float,
    raw: tuple[list[float] | None, list[float] | None],
    ctx: Ctx,
) -> dict[str, Any]:
    """Decide one link over seeds; a, b are on the test scale (arrays, or floats for constants).

    Three outcomes, one test each way: `pass` when the link's own one-sided test (or TOST)
    gives p < alpha, `fail` when the test of its complement does, `inconclusive` otherwise.
    The two tests' alternatives are disjoint, so `X` and `not X` (which swaps them) never both
    pass, and a mean on the wrong side without a test is not a `fail`."""
    ms = _link_stats(left, right, ctx)
    alpha = ctx.alpha
    ma = float(np.mean(a))
    mb = float(np.mean(b))
    d = ma - mb
    shown = f"{_show(left, raw[0])} vs {_show(right, raw[1])}"
    two = np.ndim(a) > 0 and np.ndim(b) > 0
    arr_sds = [_sd(x) for x in (a, b) if np.ndim(x) > 0]
    sd_missing = any(s is None for s in arr_sds)
    out: dict[str, Any] = {
        "left": left.key,
        "op": op,
        "right": right.key,
        "diff": d,
        "scale": "log10" if ms.scale == "log" else "linear",
    }
    negated = op.startswith("!")
    written = op[1:] if negated else op
    # over seeds `a >= b` is shown by the test that shows `not (a < b)`: superiority, the strict
    # complement of `<`, so `a > b` and `a <= b` never both pass (non-inferiority is written
    # with its margin: `a - b > -0.01`)
    base_op = _ORDER_OVER_SEEDS.get(written, written)
    if base_op == "~=" or _MIRROR.get(base_op, base_op) == ">>":
        kind = "close" if base_op == "~=" else "much"
        m, conf = _margin(ms, kind)
        out["margin"] = conf
        if m is None and (kind == "much" or base_op == "~="):
            what = f"'{op}'" if not negated else f"'not ({written})'"
            out.update(
                verdict="error",
                message=f"{what} needs a {kind} margin for {left.metric or right.metric}",
            )
            return out
        m = m or 0.0
    else:
        m, conf = 0.0, {}
    tests = _link_tests(base_op, a, b, d, m, ctx, _margin_text(conf) or _g(m, 3))
    claim_tr, comp_tr, effect, claim_text, comp_text, test_name = tests
    if negated:  # `not X`: the same two tests, roles swapped
        claim_tr, comp_tr = comp_tr, claim_tr
        effect = -effect
        claim_text, comp_text = comp_text, claim_text
    out["test"] = test_name
    out.update(p=claim_tr.p, p_complement=comp_tr.p, test_note=claim_tr.note)
    margin = ""
    if claim_tr.p is not None and claim_tr.p < alpha:
        stated = f"{_show(left, raw[0])} {written} {_show(right, raw[1])}"
        if negated:
            stated = f"not ({stated})"
        out.update(
            verdict="pass",
            message=f"{stated}, {claim_text}{margin}: p={_g(claim_tr.p, 2)} < {alpha}",
        )
        return out
    if comp_tr.p is not None and comp_tr.p < alpha:
        out.update(
            verdict="fail",
            message=f"the opposite is shown, {comp_text}{margin}: {shown}: "
            f"p={_g(comp_tr.p, 2)} < {alpha}",
        )
        return out
    n = None
    zero = claim_tr.note.startswith("zero variance")  # identical values: seeds add nothing
    if not sd_missing and not zero:
        sd_b = arr_sds[1] if len(arr_sds) > 1 else None
        n = S.seeds_needed(abs(effect), arr_sds[0], sd_b, alpha)  # type: ignore[arg-type]
    out["seeds_needed"] = n
    why = claim_tr.note if claim_tr.p is None else f"p={_g(claim_tr.p, 2)} >= {alpha}"
    side = "on the means" if effect > 0 else "not even on the means"
    other = "" if comp_tr.p is None else f", nor the opposite (p={_g(comp_tr.p, 2)})"
    need = (
        "every value is identical within its group (zero spread), so more seeds decide nothing"
        if zero
        else _needed_text(n, two, sd_missing).replace(
            "at the observed effect", "at the observed effect, one way or the other"
        )
    )
    out.update(
        verdict="inconclusive",
        message=f"{claim_text}{margin} {side}: {shown}, but {why}{other}; {need}",
    )
    return out


_ORDER_OVER_SEEDS = {">=": ">", "<=": "<"}


def _link_tests(
    op: str,
    a: np.ndarray | float,
    b: np.ndarray | float,
    d: float,
    m: float,
    ctx: Ctx,
    mt: str = "",
) -> tuple[S.TestResult, S.TestResult, float, str, str, str]:
    """(test of the claim, test of its complement, distance of the means on the claimed side,
    claim in words, complement in words, test name) for `>`, `>=`, `>>`, `~=` and mirrors.
    `>`: superiority, mean a - mean b > 0, against mean a - mean b < 0 (`>=` arrives here as
    `>`, see _ORDER_OVER_SEEDS). `>>`: the gap exceeds much, against short of much (both one-
    sided t-tests against much). `~=`: TOST within close, against a difference beyond close
    (the side the means point to, p doubled)."""
    eq = ctx.equal_var
    tname = (
        f"one-sided {ctx.test_name} t" if np.ndim(a) and np.ndim(b) else "one-sided one-sample t"
    )
    if op == "~=":
        if np.ndim(a) > 0:
            eq_tr = S.tost(a, b, m, eq)  # type: ignore[arg-type]
        else:
            eq_tr = S.tost(b, float(a), m, eq)  # type: ignore[arg-type]
        alt = "greater" if d > 0 else "less"
        beyond = _dtest(a, b, alt, m if d > 0 else -m, eq)
        if beyond.p is not None:
            beyond = S.TestResult(min(1.0, 2 * beyond.p), beyond.statistic, beyond.df, beyond.note)
        return (
            eq_tr,
            beyond,
            m - abs(d),
            f"within {mt}",
            f"a difference beyond {mt}",
            "TOST (two one-sided tests); complement: one-sided beyond the margin, p doubled",
        )
    sign = 1.0 if op in (">", ">=", ">>") else -1.0
    alt, opp = ("greater", "less") if sign > 0 else ("less", "greater")
    base = _MIRROR.get(op, op)
    shift = {">": 0.0, ">>": m}[base]
    claim_tr = _dtest(a, b, alt, sign * shift, eq, inclusive=base == ">>")
    comp_tr = _dtest(a, b, opp, sign * shift, eq)
    words = {
        ">": ("superiority", "the reverse order"),
        ">>": (f"the gap exceeds {mt}", f"a gap short of {mt}"),
    }[base]
    return claim_tr, comp_tr, sign * d - shift, words[0], words[1], tname


def _holds_seed(op: str, a: float, b: float, left: Term, right: Term, ctx: Ctx) -> bool:
    """One link for one seed (test scale); margins as over seeds, applied to the paired values.
    A complement (`!op`, from `not`) is the negation for that seed: exact, since one seed's
    values are numbers, not estimates."""
    if op.startswith("!"):
        return not _holds_seed(op[1:], a, b, left, right, ctx)
    ms = _link_stats(left, right, ctx)
    if op == "~=":
        c, _ = _margin(ms, "close")
        if c is None:
            raise Stop("error", "'~=' needs a close margin")
        return abs(a - b) <= c + _boundary_tol(a, b, c)
    if op in _MIRROR:
        a, b, op = b, a, _MIRROR[op]
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    m, _ = _margin(ms, "much")
    if m is None:
        raise Stop("error", f"'{op}' needs a much margin")
    return a - b >= m - _boundary_tol(a, b, m) and a > b


def _boundary_tol(a: float, b: float, margin: float) -> float:
    """Margins are inclusive ("reaches", "≤"): a per-seed gap equal to the margin in decimal
    (0.4501 - 0.4001 vs much 0.05, values stepping by 1e-4) must count, though binary floats
    make it 0.04999999999999999. A few float64 ulps of the numbers involved."""
    return 1e-12 * max(1.0, abs(a), abs(b), abs(margin))


# ------------------------------------------------------------------------------------- rules


def _link_rule(left: Term, op: str, right: Term, ctx: Ctx) -> str:
    """The rule of one link as a sentence, in the user's order and on the tested scale."""
    ms = _link_stats(left, right, ctx)
    if op.startswith("!") and ctx.per_seed is not None:
        return f"not ({_link_rule(left, op[1:], right, ctx)})"
    if op.startswith("!"):
        return _complement_rule(left, op, right, ms, ctx)
    log = ms.scale == "log"

    def side(t: Term) -> str:
        if not log:
            return t.text
        return f"log10({t.text})" if t.const is not None else f"log10 {t.text}"

    def diff_margin(kind: str) -> str:  # a margin on differences of log10 values is log10(ratio)
        text = _margin_text(_margin(ms, kind)[1])
        return f"log10({text})" if log else text

    L, R = side(left), side(right)
    if ctx.per_seed is not None:
        Ls = f"{L}_s" if left.const is None else L
        Rs = f"{R}_s" if right.const is None else R
        if op == "~=":
            return f"|{Ls} - {Rs}| <= {diff_margin('close')}"
        if op in (">>", "<<"):
            hi, lo = (Ls, Rs) if op == ">>" else (Rs, Ls)
            return f"{hi} - {lo} >= {diff_margin('much')}"
        return f"{Ls} {op} {Rs}"
    mL = L if left.const is not None else f"mean {L}"
    mR = R if right.const is not None else f"mean {R}"
    two = left.const is None and right.const is None
    test = f"{ctx.test_name} t-test" if two else "one-sample t-test"
    if op == "~=":
        return (
            f"|{mL} - {mR}| < {diff_margin('close')}, TOST (two one-sided {test}s), p < {ctx.alpha}"
        )
    base = _MIRROR.get(op, op)
    if base == ">=":
        hi, lo = (mL, mR) if op == ">=" else (mR, mL)
        return (
            f"{hi} > {lo} ({op} over seeds is shown as the strict complement of "
            f"{'<' if op == '>=' else '>'}), one-sided {test}, p < {ctx.alpha}"
        )
    if base == ">>":
        hi, lo = (mL, mR) if op == ">>" else (mR, mL)
        return (
            f"{hi} - {lo} > {diff_margin('much')} (the gap exceeds much), one-sided {test} "
            f"against the margin, p < {ctx.alpha}"
        )
    return f"{mL} {op[0]} {mR}, one-sided {test}, p < {ctx.alpha}"


def _arith_rule(cmp: E.Compare, terms: list[Term], ctx: Ctx) -> str:
    t = next(x for x in terms if x.arith is not None)
    c = next(x for x in terms if x.const is not None)
    kind, left, right = t.arith  # type: ignore[misc]
    ms = _link_stats(t, c, ctx)
    if kind == "/":
        what = f"log10 {left.text} - log10 {right.text} (the ratio on log scale)"
        bound = f"log10({c.text})"
        conf = ", ".join(f"log10({k} {_g(v)})" for k, v in _margin(ms, "close")[1].items())
    else:
        what = f"{left.text} - {right.text} (a difference of two seed samples)"
        bound = c.text
        conf = _margin_text(_margin(ms, "close")[1])
    op = cmp.ops[0] if terms[0].arith is not None else cmp.ops[0]
    if ctx.per_seed is not None:
        return f"{what} per seed, {op} {bound} for every seed (or k of n), paired by seed"
    test = f"{ctx.test_name} t-test of the means shifted by the constant"
    extra = f", TOST within {conf}" if op == "~=" else ""
    n = f"n={len(left.values)}/{len(right.values)}"
    return f"mean {what} {op} {bound}, {test}{extra}, p < {ctx.alpha}, {n}, std ddof=1"


def _compare_rule(cmp: E.Compare, terms: list[Term], ctx: Ctx) -> str:
    if any(t.arith is not None for t in terms):
        rule = _arith_rule(cmp, terms, ctx)
        return rule + (f", {cmp.epoch_text}" if cmp.at_epoch is not None else "")
    links = [_link_rule(terms[i], op, terms[i + 1], ctx) for i, op in enumerate(cmp.ops)]
    rule = "; ".join(links)
    pooled = [t.text for t in terms if any(isinstance(k, tuple) for k in t.values)]
    if pooled:
        rule += (
            f" ({', '.join(pooled)}: the layers averaged within each seed and the test run "
            "over seeds, n = seeds; the pooled seeds × layers mean ± std is shown as description)"
        )
    if cmp.at_epoch is not None:
        rule += f", values at logged epoch {cmp.at_epoch}"
    if cmp.first_epoch is not None:
        tol = f" ± {cmp.tolerance}" if cmp.tolerance else ""
        return (
            f"{rule}: per seed (paired by seed), the first logged epoch at which it holds is "
            f"{cmp.first_epoch}{tol}; must hold for every seed (or k of n)"
        )
    ns = [
        str(len({k[0] if isinstance(k, tuple) else k for k in (t.values or t.epochs)}))
        for t in terms
        if t.const is None
    ]
    if ctx.per_seed is not None:
        k, n = ctx.per_seed
        count = ns[0] if ns else "?"
        who = f"every seed s (n={count})" if k is None else f"at least {k} of {n} seeds s"
        rule = f"{rule} for {who}, paired by seed"
        if cmp.by_epoch is not None:
            rule += f", each at some logged epoch <= {cmp.by_epoch}"
        return rule
    rule += f", n={'/'.join(ns)}, std ddof=1"
    if cmp.by_epoch is not None:
        rule += f", at some logged epoch <= {cmp.by_epoch} (the first epoch that passes after Holm's correction over the epochs tried)"
    return rule


# The complements `not` produces (faspec.spec.expr.push_not) that have no symbol of their own:
# (claimed side of mean(a) - mean(b), margin kind, shift): H1 is sign * (mean a - mean b) > shift.
_COMPLEMENTS = {
    "!>=": (-1.0, None, 0.0),  # a below b (over seeds `>=` is `>`: its complement is `<`)
    "!<=": (+1.0, None, 0.0),  # a above b
    "!>>": (-1.0, "much", -1.0),  # a - b short of much
    "!<<": (+1.0, "much", -1.0),  # b - a short of much
}


def _complement_rule(left: Term, op: str, right: Term, ms: MetricStats, ctx: Ctx) -> str:
    """The rule of a complement link, as a sentence on the tested scale."""
    log = ms.scale == "log"
    L = left.text if left.const is not None else f"mean {'log10 ' if log else ''}{left.text}"
    R = right.text if right.const is not None else f"mean {'log10 ' if log else ''}{right.text}"
    two = left.const is None and right.const is None
    test = f"{ctx.test_name} t-test" if two else "one-sample t-test"
    if op == "!~=":
        conf = _margin_text(_margin(ms, "close")[1])
        return (
            f"|{L} - {R}| > {conf} (the complement of ~=), one-sided {test} on the side the "
            f"means point to, p doubled, p < {ctx.alpha}"
        )
    sign, kind, k = _COMPLEMENTS[op]
    rel = ">" if sign > 0 else "<"
    if kind is None:
        bound = "0"
    else:
        conf = _margin_text(_margin(ms, kind)[1]) or "0"
        bound = f"{'+' if sign * k > 0 else '-'}{conf}"
    return (
        f"{L} - {R} {rel} {bound} (the complement of {op[1:]}), one-sided {test}, p < {ctx.alpha}"
    )
