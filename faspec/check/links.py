"""One link `a op b` of a comparison chain: its decision over seeds (a t-test, TOST or a
non-inferiority test with the metric's margins), its decision for one seed, and its rule as a
sentence. See faspec/check/claims.py for the table of rules.
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
    a: np.ndarray | float, b: np.ndarray | float, alt: str, delta: float, equal_var: bool
) -> S.TestResult:
    """diff_test that also takes a constant on the left (by flipping the sides)."""
    if np.ndim(a) == 0:
        flip = {"greater": "less", "less": "greater"}[alt]
        return S.diff_test(b, float(a), flip, -delta, equal_var)  # type: ignore[arg-type]
    return S.diff_test(a, b, alt, delta, equal_var)  # type: ignore[arg-type]


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
    """Decide one link over seeds; a, b are on the test scale (arrays, or floats for constants)."""
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

    def needed(effect: float) -> int | None:
        if sd_missing:
            return None
        return S.seeds_needed(effect, arr_sds[0], arr_sds[1] if len(arr_sds) > 1 else None, alpha)  # type: ignore[arg-type]

    def finish(tr: S.TestResult, effect: float, ok_msg: str) -> dict[str, Any]:
        out.update(p=tr.p, test_note=tr.note)
        if tr.p is not None and tr.p < alpha:
            out.update(verdict="pass", message=f"{ok_msg}: p={_g(tr.p, 2)} < {alpha}")
        else:
            n = needed(effect)
            out["seeds_needed"] = n
            why = tr.note if tr.p is None else f"p={_g(tr.p, 2)} >= {alpha}"
            out.update(
                verdict="inconclusive",
                message=f"{ok_msg} on the means, but {why}; {_needed_text(n, two, sd_missing)}",
            )
        return out

    if op == "~=":
        c, conf = _margin(ms, "close")
        out["margin"] = conf
        if c is None:
            out.update(
                verdict="error",
                message=f"'~=' needs a close margin for {left.metric or right.metric}",
            )
            return out
        out["test"] = "TOST"
        if np.ndim(a) > 0:
            tr = S.tost(a, b, c, ctx.equal_var)  # type: ignore[arg-type]
        else:
            tr = S.tost(b, float(a), c, ctx.equal_var)  # type: ignore[arg-type]
        out["p"] = tr.p
        if abs(d) >= c:
            what = f"ratio {_g(10 ** abs(d), 3)}" if ms.scale == "log" else f"difference {_g(d, 3)}"
            out.update(
                verdict="fail", message=f"{what} is not within {_margin_text(conf)}: {shown}"
            )
            return out
        return finish(tr, c - abs(d), f"{shown} within {_margin_text(conf)}")

    if op.startswith("!"):
        return _complement_over_seeds(op, a, b, d, ms, shown, out, finish, ctx)
    sign = 1.0 if op in (">", ">=", ">>") else -1.0
    alt = "greater" if sign > 0 else "less"
    base = _MIRROR.get(op, op)
    effect = sign * d
    out["test"] = "one-sample t" if not two else f"{ctx.test_name} t"
    if base == ">=":
        c, conf = _margin(ms, "close")
        c = c or 0.0
        out["margin"] = conf
        tr = _dtest(a, b, alt, -sign * c, ctx.equal_var)
        out["p"] = tr.p
        if effect + c <= 0:
            out.update(
                verdict="fail",
                message=f"not {op} on the means (non-inferiority margin {c:.3g}): {shown}",
            )
            return out
        return finish(
            tr, effect + c, f"{_show(left, raw[0])} {op} {_show(right, raw[1])} within {c:.3g}"
        )
    tr = _dtest(a, b, alt, 0.0, ctx.equal_var)
    out["p"] = tr.p
    if effect <= 0:
        out.update(verdict="fail", message=f"not {op} on the means: {shown}")
        return out
    if base == ">>":
        m, conf = _margin(ms, "much")
        out["margin"] = conf
        if m is None:
            out.update(
                verdict="error",
                message=f"'{op}' needs a much margin for {left.metric or right.metric}",
            )
            return out
        if effect < m:
            gap = f"ratio {_g(10**effect, 3)}" if ms.scale == "log" else f"gap {_g(effect, 3)}"
            out.update(verdict="fail", message=f"{gap} is below {_margin_text(conf)}: {shown}")
            return out
    return finish(tr, effect, f"{_show(left, raw[0])} {op} {_show(right, raw[1])}")


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
        return abs(a - b) <= c
    if op in _MIRROR:
        a, b, op = b, a, _MIRROR[op]
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    m, _ = _margin(ms, "much")
    if m is None:
        raise Stop("error", f"'{op}' needs a much margin")
    return a - b >= m and a > b


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
        has = _margin(ms, "close")[0] is not None
        margin = f" - {diff_margin('close')} (non-inferiority)" if has else ""
        hi, lo = (mL, mR) if op == ">=" else (mR, mL)
        return f"{hi} > {lo}{margin}, one-sided {test}, p < {ctx.alpha}"
    rule = f"{mL} {op[0]} {mR}, one-sided {test}, p < {ctx.alpha}"
    if base == ">>":
        what = "ratio of geometric means" if log else "gap of the means"
        rule += f", and the {what} reaches {_margin_text(_margin(ms, 'much')[1])}"
    return rule


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
            f" ({', '.join(pooled)}: seeds × layers pooled into one sample, each value counted "
            "as an observation, as a pooled ± std is)"
        )
    if cmp.at_epoch is not None:
        rule += f", values at logged epoch {cmp.at_epoch}"
    if cmp.first_epoch is not None:
        tol = f" ± {cmp.tolerance}" if cmp.tolerance else ""
        return (
            f"{rule}: per seed (paired by seed), the first logged epoch at which it holds is "
            f"{cmp.first_epoch}{tol}; must hold for every seed (or k of n)"
        )
    ns = [str(len(t.values or t.epochs)) for t in terms if t.const is None]
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
    "!>=": (-1.0, "close", +1.0),  # a below b by more than close
    "!<=": (+1.0, "close", +1.0),  # a above b by more than close
    "!>>": (-1.0, "much", -1.0),  # a - b short of much
    "!<<": (+1.0, "much", -1.0),  # b - a short of much
}


def _complement_over_seeds(
    op: str,
    a: np.ndarray | float,
    b: np.ndarray | float,
    d: float,
    ms: MetricStats,
    shown: str,
    out: dict[str, Any],
    finish: Any,
    ctx: Ctx,
) -> dict[str, Any]:
    """`not (a op b)` decided by testing the complement, with its own one-sided test.

    `!~=` (the difference lies outside +/- close) is the union of two one-sided tests; the side
    the means point to is tested and its p doubled (Bonferroni over the two sides), so the test
    keeps its level whichever side the data pick.
    """
    if op == "!~=":
        c, conf = _margin(ms, "close")
        out["margin"] = conf
        if c is None:
            out.update(verdict="error", message="'not (a ~= b)' needs a close margin")
            return out
        out["test"] = "one-sided t beyond the close margin (p doubled: either side)"
        if abs(d) <= c:
            out.update(
                verdict="fail",
                message=f"not shown to differ: the difference {_g(d, 3)} is within "
                f"{_margin_text(conf)}: {shown}",
            )
            return out
        alt = "greater" if d > 0 else "less"
        tr = _dtest(a, b, alt, c if d > 0 else -c, ctx.equal_var)
        if tr.p is not None:
            tr = S.TestResult(min(1.0, 2 * tr.p), tr.statistic, tr.df, tr.note)
        return finish(tr, abs(d) - c, f"{shown} differ by more than {_margin_text(conf)}")
    sign, kind, k = _COMPLEMENTS[op]
    m, conf = _margin(ms, kind)
    if m is None:
        if kind == "much":
            out.update(verdict="error", message=f"'not ({op[1:]})' needs a much margin")
            return out
        m, conf = 0.0, {}
    shift = k * m
    out["margin"] = conf
    out["test"] = f"one-sided {ctx.test_name} t" if np.ndim(a) and np.ndim(b) else "one-sample t"
    alt = "greater" if sign > 0 else "less"
    tr = _dtest(a, b, alt, sign * shift, ctx.equal_var)
    out["p"] = tr.p
    effect = sign * d - shift
    what = f"not ({op[1:]})" + (f" beyond {_margin_text(conf)}" if conf else "")
    if effect <= 0:
        out.update(verdict="fail", message=f"{what} does not hold on the means: {shown}")
        return out
    return finish(tr, effect, f"{what}: {shown}")


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
    conf = _margin_text(_margin(ms, kind)[1]) or "0"
    rel = ">" if sign > 0 else "<"
    bound = f"{'+' if sign * k > 0 else '-'}{conf}"
    return (
        f"{L} - {R} {rel} {bound} (the complement of {op[1:]}), one-sided {test}, p < {ctx.alpha}"
    )
