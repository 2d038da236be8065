"""Deciding claims: a claim's expression x the runs of its points -> a Verdict with statistics.

The README's "How a claim is decided" is the table of rules; the modules of faspec.check make
them exact. Every verdict carries the rule applied (a sentence), a one-line message, the
numbers behind it and its p-value, so a reader can re-check it without trusting this code.

* check/links.py: one link `a op b` over seeds (t-test, TOST, `>>` gap, `>=` as not `<`; the
  complements `not` produces) or per seed; the rule as a sentence.
* check/compare.py: a chain over the runs of a point: final, `at epoch N`, `by epoch N` (the
  first epoch that passes after Holm's correction over the epochs tried), `first at epoch N ± k`
  (per seed), differences and ratios of two seed samples, seeds x layers pooled, per seed with
  `seeds: k/n` or `for [exactly] K of N seeds`; cosine-type values read where ‖g_L‖ is below the
  protocol floor make it inconclusive (unless `reference: allow_degenerate`).
* check/protocol_claims.py: protocol predicates, booleans per run from its protocol block.
* check/reported.py: `reported:` numbers: agree (rounding or TOST), disagree (a difference
  shown), or cannot tell (inconclusive).
* check/family.py: the correction over a spec's tested claims (Holm by default).

This module walks the expression: `not` is first pushed onto the comparisons as their
complements (faspec.spec.expr.push_not: `not (a > b)` is tested as `a < b` over seeds, never by flipping
a verdict); `and` takes the worst verdict (error > unsourced > fail > inconclusive > pass) and
the largest p (every part must hold); `or` of k parts passes if any part passes at alpha/k
(Bonferroni within the or: its p is k x the smallest p of the passing parts), else takes
error > unsourced > inconclusive > fail. `for_each` decides each
value of the axis and combines them with `and`; `exp:label` operands read another experiment
at its point matching the claim's `at:`. A `reported:` number that disagrees makes the claim
fail, one that cannot be told makes a pass inconclusive.
"""

from __future__ import annotations

from typing import Any

from faspec.check.base import (  # noqa: F401 - the public names of claim checking
    _AND_RANK,
    VERDICTS,
    Ctx,
    Out,
    SeedRun,
    Stop,
    Verdict,
    combine_and,
    combine_or,
    negate,
)
from faspec.check.compare import _and_fail, _eval_compare, _fail_p
from faspec.check.protocol_claims import _eval_predicates
from faspec.check.reported import _check_reported
from faspec.spec import expr as E
from faspec.spec.model import Claim, PointKey, Stats

# ------------------------------------------------------------------------------- tree walk


def _eval(node: E.Node, pdata: dict[str, list[SeedRun]], ctx: Ctx) -> Out:
    if E.only_predicates(node):
        return _eval_predicates(node, pdata, ctx)
    if isinstance(node, E.Compare):
        return _eval_compare(node, pdata, ctx)
    if isinstance(node, E.Not):  # push_not leaves `not` only over predicates, decided above
        raise TypeError(f"'not' over a comparison reached the evaluator: {node}")
    items = [_eval(i, pdata, ctx) for i in node.items]
    is_and = isinstance(node, E.And)
    v = combine_and(o.verdict for o in items) if is_and else combine_or(o.verdict for o in items)
    word = "and" if is_and else "or"
    if (is_and and v == "pass") or (not is_and and v == "fail"):
        message = "; ".join(o.message for o in items)
    else:
        message = next(o.message for o in items if o.verdict == v)
    runs = list(dict.fromkeys(r for o in items for r in o.runs))
    rule = f" {word} ".join(f"({o.rule})" for o in items)
    p = _combined_p(items, is_and, v)
    numbers: dict[str, Any] = {"op": word, "items": [o.numbers for o in items]}
    p_fail = None
    if v == "fail":  # the p of the complement: `not X` is decided by exactly these numbers
        fails = [o.p_fail for o in items if o.verdict == "fail"]
        p_fail = _fail_p(fails) if is_and else (None if None in fails else max(fails))  # type: ignore[type-var]
    if is_and and v == "fail" and ctx.per_seed is None and p_fail is not None:
        v, message, extra = _and_fail(len(items), p_fail, message, ctx, "parts")
        numbers.update(extra)
        p_fail = extra.get("p_fail")
    if is_and and ctx.per_seed is None:
        rule += f"; fails when a part's complement holds at alpha/{len(items)} (Bonferroni)"
    if not is_and and p is not None and ctx.per_seed is None:
        k = len(items)
        numbers["bonferroni"] = {"parts": k, "p": p}
        rule += f"; any part at alpha/{k} (Bonferroni within the or)"
        if v == "pass" and not p < ctx.alpha:
            v = "inconclusive"
            message = (
                f"a part passes alone, but not at alpha/{k} (Bonferroni over the {k} parts of "
                f"the or: p x {k} = {p:.3g} >= {ctx.alpha}): {message}"
            )
    return Out(v, message, rule, numbers, runs, p, p_fail)


def _combined_p(items: list[Out], is_and: bool, verdict: str) -> float | None:
    """The p of `and` (the largest: every part must hold, an intersection-union test) or of
    an `or` (k parts): k x the smallest p of its passing parts, capped at 1 (Bonferroni within
    the or: trying k ways to pass keeps the false-pass rate at alpha, where the smallest p
    alone gives about k x alpha); None when a deciding part had no test."""
    if is_and:
        ps = [o.p for o in items if o.p is not None]
        return max(ps) if ps else None
    passing = [o for o in items if o.verdict == "pass"] if verdict == "pass" else items
    if any(o.p is None for o in passing) and verdict == "pass":
        return None
    ps = [o.p for o in passing if o.p is not None]
    return min(1.0, len(items) * min(ps)) if ps else None


# ------------------------------------------------------------------------------------ decide


def _parse_seeds(spec: str | None) -> tuple[int | None, int | None] | None:
    if spec is None:
        return None
    if spec == "all":
        return (None, None)
    k, n = spec.split("/")
    return int(k), int(n)


def _select(
    claim: Claim, data: dict[PointKey, dict[str, list[SeedRun]]]
) -> list[tuple[dict[str, Any], PointKey]]:
    """The points the claim is decided at, one per value of for_each (or exactly one)."""
    keys = [k for k in data if all(dict(k).get(ax, _MISSING) == v for ax, v in claim.at.items())]
    if not keys:
        raise Stop(
            "error",
            f"no point of experiment '{claim.experiment}' matches at: {claim.at}"
            if claim.at
            else f"no points of experiment '{claim.experiment}' were given",
        )
    groups: dict[Any, list[PointKey]] = {}
    for k in keys:
        groups.setdefault(dict(k).get(claim.for_each) if claim.for_each else None, []).append(k)
    out = []
    for value, ks in groups.items():
        if len(ks) > 1:
            axes = sorted({ax for k in ks for ax, _ in k} - set(claim.at) - {claim.for_each})
            raise Stop(
                "error",
                f"the claim matches {len(ks)} points; pick one with for_each/at on {', '.join(axes)}",
            )
        label = {claim.for_each: value} if claim.for_each else {}
        out.append((label, ks[0]))
    return out


_MISSING = object()
_REPORTED_VERDICT = {"agree": "pass", "mismatch": "fail"}


def claim_experiments(claim: Claim) -> list[str]:
    """The other experiments a claim's expression reads (`exp:label` operands)."""
    node = claim.expr if claim.expr is not None else E.parse(claim.expect)
    return E.experiments(node)


def _with_others(
    claim: Claim,
    label: dict[str, Any],
    pdata: dict[str, list[SeedRun]],
    others: dict[str, dict[PointKey, dict[str, list[SeedRun]]]],
) -> dict[str, list[SeedRun]]:
    """The point's runs plus, under `exp:label`, the runs of each other experiment read at its
    one point that matches the claim's `at:` (and this point's for_each value) on the axes it has."""
    out = dict(pdata)
    fixed = {**claim.at, **label}
    for name, data in others.items():
        keys = [k for k in data if all(dict(k).get(ax, v) == v for ax, v in fixed.items())]
        if len(keys) != 1:
            axes = sorted({ax for k in keys for ax, _ in k} - set(fixed))
            raise Stop(
                "error",
                f"experiment '{name}' has {len(keys)} points matching the claim's point"
                + (f"; it sweeps {', '.join(axes)}" if axes else ""),
            )
        for lab, runs in data[keys[0]].items():
            out[f"{name}:{lab}"] = runs
    return out


def claim_metrics(points: list[dict[str, Any]], default: str) -> str:
    """The metrics a claim read, from its operands (`fa.deep_cos`, `dfa.cos_layers[3]`), or
    `protocol (a, b, d)` for a protocol claim; the spec's default metric only when neither
    says (the report must not call a claim on deep_cos a claim on test_acc)."""
    found: list[str] = []
    diags: list[str] = []
    for p in points:
        keys = list(p.get("operands") or {})
        if not p.get("protocol"):  # a per-seed claim: its values name its operands
            keys += [k for s in p.get("per_seed") or [] for k in s.get("values") or {}]
        for key in keys:
            metric = str(key).partition(".")[2].split("[")[0] or default
            if metric not in found:
                found.append(metric)
        for d in (p.get("protocol") or {}).get("diagnostics") or []:
            if d not in diags:
                diags.append(d)
    if diags and not found:
        return f"protocol ({', '.join(diags)})"
    return ", ".join(found) or default


def decide(
    claim: Claim,
    data: dict[PointKey, dict[str, list[SeedRun]]],
    stats: Stats,
    others: dict[str, dict[PointKey, dict[str, list[SeedRun]]]] | None = None,
) -> Verdict:
    """Decide one claim from its runs. Never raises for bad results: they become the verdict.
    `others`: the data of the other experiments its `exp:label` operands read, by name."""
    node = claim.expr if claim.expr is not None else E.parse(claim.expect)
    try:  # `not` is decided by testing the complement
        node = E.push_not(node, per_seed=claim.seeds is not None)
    except E.ExprError as e:
        return Verdict(claim.id, "error", claim.expect, e.message, {"points": []})
    ctx = Ctx(claim, stats, stats.alpha, stats.test == "student", _parse_seeds(claim.seeds))
    if isinstance(node, E.ForSeeds):  # `... for K of N seeds`: the sentence's `seeds: K/N`
        ctx.per_seed, ctx.exact = (node.k, node.n), node.exact
        node = node.item
    try:
        points = _select(claim, data)
    except Stop as stop:
        return Verdict(claim.id, stop.verdict, claim.expect, stop.message, {"points": []})
    results: list[dict[str, Any]] = []
    ps: list[float | None] = []
    all_runs: list[str] = []
    reported: list[dict[str, Any]] = []
    rules: list[str] = []
    for label, key in points:
        try:
            pdata = _with_others(claim, label, data[key], others or {})
        except Stop as stop:
            return Verdict(claim.id, stop.verdict, claim.expect, stop.message, {"points": []})
        out = _eval(node, pdata, ctx)
        ps.append(out.p)
        rules.append(out.rule)
        verdict, message = out.verdict, out.message
        checks = [_check_reported(k, rep, pdata, ctx) for k, rep in claim.reported.items()]
        for c in checks:
            if label:
                c["point"] = label
            all_runs += c.get("runs", [])
        as_verdict = [_REPORTED_VERDICT.get(c["status"], c["status"]) for c in checks]
        rep_verdict = combine_and(as_verdict or ["pass"])
        if _AND_RANK[rep_verdict] < _AND_RANK[verdict]:
            bad = checks[as_verdict.index(rep_verdict)]
            prefix = f"{message}; but " if verdict == "pass" else ""
            verdict = rep_verdict
            message = f"{prefix}reported {bad['method']}: {bad['reason']}"
        reported += checks
        all_runs += out.runs
        results.append({"point": dict(key), "verdict": verdict, "message": message, **out.numbers})
    warnings = list(
        dict.fromkeys(
            f"reported {c['method']}: {c['warning']}" for c in reported if c.get("warning")
        )
    )
    verdict = combine_and(r["verdict"] for r in results)
    if claim.for_each:
        if verdict == "pass":
            message = f"holds at every {claim.for_each} ({', '.join(str(p[0][claim.for_each]) for p in points)})"
        else:
            worst = next(r for r in results if r["verdict"] == verdict)
            message = f"{verdict} at {claim.for_each}={worst['point'][claim.for_each]}: {worst['message']}"
    else:
        message = results[0]["message"]
    rule = rules[0]
    if claim.for_each:
        rule = f"for each {claim.for_each} (all must pass): {rule}"
    if claim.at:
        rule = "at " + ", ".join(f"{k}={v}" for k, v in claim.at.items()) + ": " + rule
    numbers = {
        "alpha": ctx.alpha,
        "test": stats.test,
        "metric": claim_metrics(results, claim.metric),
        "seeds": (
            f"{'exactly ' if ctx.exact else ''}{ctx.per_seed[0]}/{ctx.per_seed[1]}"
            if ctx.per_seed is not None and ctx.per_seed[0] is not None
            else claim.seeds or ("every seed" if E.only_predicates(node) else "over seeds")
        ),
        "points": results,
    }
    tested = [p for p in ps if p is not None]
    p_claim = max(tested) if tested and verdict not in ("error", "unsourced") else None
    numbers["p_claim"] = p_claim
    if warnings:  # not silently ignored: on the verdict, in every report
        numbers["warnings"] = warnings
        message += " [warning: " + "; ".join(warnings) + "]"
    if numbers["seeds"] != "over seeds":  # decided seed by seed: no test, no alpha used
        for unused in ("alpha", "test", "p_claim"):
            numbers.pop(unused, None)
    return Verdict(
        claim.id,
        verdict,
        rule,
        message,
        numbers,
        list(dict.fromkeys(all_runs)),
        reported,
        p=p_claim,
    )
