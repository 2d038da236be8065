"""A comparison chain over the runs of one point: every link over seeds, or per seed (paired
by seed value), at the end of training or at some logged epoch <= N (`by epoch N`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from faspec.check import stats as S
from faspec.check.base import (
    _AND_RANK,
    LOG_FLOOR,
    Ctx,
    Out,
    SeedRun,
    Stop,
    Term,
    _check_runs,
    _g,
    _summary,
    _terms,
    combine_and,
    last_epoch,
)
from faspec.check.links import _compare_rule, _holds_seed, _link_over_seeds
from faspec.spec import expr as E

# ------------------------------------------------------------------------------ comparisons


def _eval_compare(cmp: E.Compare, pdata: dict[str, list[SeedRun]], ctx: Ctx) -> Out:
    labels = list(dict.fromkeys(op.method for op in E.operands(cmp)))
    expr_text = str(cmp)
    # the ids are kept in the verdict even when _check_runs stops on a missing or failed run
    runs = [r.run_id for label in labels for r in pdata.get(label) or []]
    if not labels:
        return Out("error", f"'{cmp}' compares only numbers", expr_text, {"expr": expr_text}, [])
    try:
        runs = _check_runs(labels, pdata)
        if cmp.first_epoch is not None and ctx.per_seed is None:
            ctx = replace(ctx, per_seed=(None, None))  # a first epoch is a fact about each run
        terms = _terms(cmp, pdata, ctx)
        rule = _compare_rule(cmp, terms, ctx)
        dead = [d for t in terms for d in t.degenerate]
        allowed = ctx.claim.reference == "allow_degenerate"
        if dead and not allowed and (last_epoch(cmp) is None or ctx.per_seed is not None):
            return _dead_reference(cmp, dead, rule, runs)
        if ctx.per_seed is not None:
            verdict, message, numbers = _per_seed(cmp, terms, ctx)
        else:
            verdict, message, numbers = _over_seeds(cmp, terms, ctx)
    except Stop as stop:
        return Out(stop.verdict, stop.message, expr_text, {"expr": expr_text}, runs, stop.p)
    p = None if ctx.per_seed is not None else numbers.get("p_claim", _chain_p(numbers))
    if dead:
        numbers["degenerate_reference"] = dead
        if allowed:
            message += f" [{len(dead)} value(s) read against a degenerate BP reference, allowed]"
    return Out(
        verdict, message, rule, {"expr": expr_text, **numbers}, runs, p, numbers.get("p_fail")
    )


def _fail_p(ps: list[float | None]) -> float | None:
    """The smallest p of the failing parts' complements (None: a part failed without a test)."""
    return None if not ps or any(p is None for p in ps) else min(ps)  # type: ignore[type-var]


def _and_fail(
    k: int, p_min: float, message: str, ctx: Ctx, what: str
) -> tuple[str, str, dict[str, Any]]:
    """A chain or `and` of k parts fails when one part's complement is shown: the `or` of the
    k complements, Bonferroni as every `or` (k x the smallest p < alpha), so `not X` (that
    `or`) passes exactly when X fails. Otherwise inconclusive."""
    p = min(1.0, k * p_min)
    numbers = {"bonferroni_fail": {"parts": k, "p": p}}
    if p < ctx.alpha:
        return "fail", message, {**numbers, "p_fail": p}
    return (
        "inconclusive",
        f"a part fails alone, but not at alpha/{k} (Bonferroni over the {k} {what}' "
        f"complements: p x {k} = {p:.3g} >= {ctx.alpha}): {message}",
        numbers,
    )


def _dead_text(dead: list[dict[str, Any]]) -> str:
    d = dead[0]
    more = f" and {len(dead) - 1} more" if len(dead) > 1 else ""
    return (
        f"{d['method']} seed {d['seed']} at epoch {d['epoch']}: ‖g_L‖ {_g(d['g_norm'], 3)} < "
        f"floor {_g(d['floor'])}{more}"
    )


def _dead_reference(cmp: E.Compare, dead: list[dict[str, Any]], rule: str, runs: list[str]) -> Out:
    """A cosine-type value read where ‖g_L‖ is below the protocol floor: the BP reference it is
    measured against is numerically meaningless, so the comparison is not evidence."""
    metric = dead[0]["metric"]
    message = (
        f"degenerate BP reference: {metric} is measured against a gradient below the protocol "
        f"floor ({_dead_text(dead)}); read it at an earlier epoch ('by epoch N') or state "
        "`reference: allow_degenerate`"
    )
    return Out(
        "inconclusive",
        message,
        rule + "; cosine-type values need ‖g_L‖ >= the protocol floor at the epoch read",
        {"expr": str(cmp), "degenerate_reference": dead},
        runs,
    )


def _over_seeds(cmp: E.Compare, terms: list[Term], ctx: Ctx) -> tuple[str, str, dict[str, Any]]:
    def at(values_of: list[dict[int, float] | None]) -> tuple[str, str, dict[str, Any]]:
        raws = [None if v is None else list(v.values()) for v in values_of]
        tvs: list[np.ndarray | float] = []
        for t, v, raw in zip(terms, values_of, raws, strict=True):
            if raw is None:
                tvs.append(t.tv(t.const))  # type: ignore[arg-type]
            elif _is_pooled(v):  # the seed is the unit of replication: layers averaged in it
                tvs.append(np.array(list(_seed_means(t, v).values())))  # type: ignore[arg-type]
            else:
                tvs.append(np.array([t.tv(x) for x in raw]))
        links = [
            _link_over_seeds(
                terms[i], op, terms[i + 1], tvs[i], tvs[i + 1], (raws[i], raws[i + 1]), ctx
            )
            for i, op in enumerate(cmp.ops)
        ]
        verdict = combine_and(link["verdict"] for link in links)
        deciding = next(link for link in links if link["verdict"] == verdict)
        message = (
            deciding["message"]
            if verdict != "pass"
            else "; ".join(link["message"] for link in links)
        )
        p_fail = _fail_p([link.get("p_complement") for link in links if link["verdict"] == "fail"])
        bonferroni: dict[str, Any] = {}
        if verdict == "fail" and len(links) > 1 and p_fail is not None:
            verdict, message, bonferroni = _and_fail(len(links), p_fail, message, ctx, "links")
        elif verdict == "fail":
            bonferroni["p_fail"] = p_fail
        floored = [t.key for t in terms if t.floored]
        if floored:  # decided, but on a floored value: said with the verdict
            message += (
                f" [{', '.join(floored)}: a value of exactly 0 is read as {_g(LOG_FLOOR, 3)} "
                "(float32's smallest normal) on the log scale]"
            )
        operands = {
            t.key: _summary(t, raw) for t, raw in zip(terms, raws, strict=True) if raw is not None
        }
        for t, v in zip(terms, values_of, strict=True):
            if v is not None:
                operands[t.key]["seeds"] = list(v)
                if _is_pooled(v):
                    means = _seed_means(t, v)
                    operands[t.key]["seed_means"] = {
                        s: (10**x if t.log else x) for s, x in means.items()
                    }
                    operands[t.key]["tested_n"] = len(means)
        return verdict, message, {"operands": operands, "links": links, **bonferroni}

    if any(t.arith is not None for t in terms):
        return _arith_over_seeds(cmp, terms, ctx)
    if cmp.by_epoch is None:
        return at([None if t.const is not None else t.values for t in terms])

    common = _common_epochs([e for t in terms if t.const is None for e in t.epochs.values()])
    if not common:
        raise Stop(
            "error",
            f"no epoch <= {cmp.by_epoch} is logged in every run of {cmp}",
        )
    dead = [d for t in terms for d in t.degenerate]
    if dead and ctx.claim.reference != "allow_degenerate":
        dead_epochs = {d["epoch"] for d in dead}
        common = [e for e in common if e not in dead_epochs]
        if not common:
            raise Stop(
                "inconclusive",
                f"degenerate BP reference at every epoch <= {cmp.by_epoch} logged "
                f"({_dead_text(dead)}); state `reference: allow_degenerate` to read them anyway",
            )
    tried = []
    for epoch in common:
        values_of = [
            None if t.const is not None else {s: ep[epoch] for s, ep in t.epochs.items()}
            for t in terms
        ]
        tried.append((epoch, *at(values_of)))
    return _first_epoch(cmp, tried, common, ctx)


def _is_pooled(values: dict[Any, float] | None) -> bool:
    return bool(values) and all(isinstance(k, tuple) for k in values)  # type: ignore[union-attr]


def _seed_means(t: Term, values: dict[Any, float]) -> dict[int, float]:
    """Seeds x layers (`cos_layers[*]`) -> one value per seed: the mean of its layers on the
    test scale. Layers of one run are not independent replications; the seeds are, so the
    test is over seeds (n = seeds) and the pooled mean ± std stays a description."""
    by_seed: dict[int, list[float]] = {}
    for (seed, _layer), x in values.items():
        by_seed.setdefault(seed, []).append(t.tv(x))
    return {s: float(np.mean(xs)) for s, xs in by_seed.items()}


def _chain_p(numbers: dict[str, Any]) -> float:
    """The p of a chain at one epoch: the largest p of its links (every link must hold, an
    intersection-union test); 1.0 where a link has none."""
    ps = [link.get("p") for link in numbers.get("links", [])]
    return max((1.0 if p is None else float(p)) for p in ps) if ps else 1.0


def _first_epoch(
    cmp: E.Compare,
    tried: list[tuple[int, str, str, dict[str, Any]]],
    common: list[int],
    ctx: Ctx,
) -> tuple[str, str, dict[str, Any]]:
    """`by epoch N` over seeds: the first epoch that passes after Holm's correction over the
    epochs tried (m = every epoch <= N logged by every run), so trying several epochs keeps
    the claim's false-pass rate at alpha."""
    alpha = ctx.alpha
    ps = [_chain_p(numbers) for _, _, _, numbers in tried]
    adjusted = S.holm(ps)
    m = len(tried)
    correction = {
        "epochs_tried": m,
        "method": "holm",
        "p_by_epoch": {e: p for (e, *_), p in zip(tried, ps, strict=True)},
        "holm_p_by_epoch": {e: p for (e, *_), p in zip(tried, adjusted, strict=True)},
    }
    for (epoch, verdict, message, numbers), adj in zip(tried, adjusted, strict=True):
        if verdict == "pass" and adj < alpha:
            numbers.update(epoch=epoch, epochs_checked=common, epoch_correction=correction)
            numbers["p_claim"] = adj
            return (
                "pass",
                f"holds by epoch {epoch} (first logged epoch where it holds; Holm over {m} "
                f"epochs tried, adjusted p={_g(adj, 2)} < {alpha}): {message}",
                numbers,
            )
    passed = [
        (e, msg, nums, adj)
        for (e, v, msg, nums), adj in zip(tried, adjusted, strict=True)
        if v == "pass"
    ]
    if passed:
        epoch, message, numbers, adj = passed[0]
        numbers.update(epoch=epoch, epochs_checked=common, epoch_correction=correction)
        numbers["p_claim"] = adj  # the family sees the epoch-corrected p, never the raw one
        return (
            "inconclusive",
            f"holds at epoch {epoch} at alpha {alpha}, but not after Holm's correction over "
            f"the {m} epochs tried (adjusted p={_g(adj, 2)} >= {alpha}); a tighter N or more "
            f"seeds would decide it: {message}",
            numbers,
        )
    best = max(tried, key=lambda x: _AND_RANK[x[1]])
    epoch, verdict, message, numbers = best
    numbers.update(epoch=epoch, epochs_checked=common, epoch_correction=correction)
    numbers["p_claim"] = min(adjusted)
    return (
        verdict,
        f"at no logged epoch <= {cmp.by_epoch} ({_epochs_text(common)}); at epoch {epoch}: {message}",
        numbers,
    )


def _common_epochs(sets: list[dict[int, float]]) -> list[int]:
    if not sets:
        return []
    common = set(sets[0])
    for s in sets[1:]:
        common &= set(s)
    return sorted(common)


def _epochs_text(epochs: list[int]) -> str:
    if len(epochs) > 6:
        return f"epochs {epochs[0]}..{epochs[-1]}, {len(epochs)} logged"
    return "epochs " + ", ".join(map(str, epochs))


def _method_values(terms: list[Term], vals: list[Any]) -> dict[str, float]:
    return {t.key: v for t, v in zip(terms, vals, strict=True) if t.const is None}


def _per_seed(cmp: E.Compare, terms: list[Term], ctx: Ctx) -> tuple[str, str, dict[str, Any]]:
    method_terms = [t for t in terms if t.const is None]
    over_epochs = last_epoch(cmp) is not None
    seed_sets = [list(t.epochs if over_epochs else t.values) for t in method_terms]
    seeds = seed_sets[0]
    if any(set(s) != set(seeds) for s in seed_sets[1:]):
        raise Stop(
            "error",
            "the operands have different seeds, so they cannot be paired by seed: "
            + "; ".join(
                f"{t.key}: {sorted(s)}" for t, s in zip(method_terms, seed_sets, strict=True)
            ),
        )
    k, n = ctx.per_seed  # type: ignore[misc]
    need = len(seeds) if k is None else k
    if n is not None and n != len(seeds):
        raise Stop("error", f"seeds: {k}/{n} but {len(seeds)} seeds have results")

    def holds_at(values: list[float]) -> bool:
        tv = [t.tv(v) for t, v in zip(terms, values, strict=True)]
        return all(
            _holds_seed(op, tv[i], tv[i + 1], terms[i], terms[i + 1], ctx)
            for i, op in enumerate(cmp.ops)
        )

    rows: list[dict[str, Any]] = []
    for seed in seeds:
        if not over_epochs:
            vals = [t.const if t.const is not None else t.values[seed] for t in terms]
            rows.append(
                {
                    "seed": seed,
                    "holds": holds_at(vals),
                    "values": _method_values(terms, vals),
                }
            )  # type: ignore[arg-type]
            continue
        epochs = _common_epochs([t.epochs[seed] for t in method_terms])
        row: dict[str, Any] = {
            "seed": seed,
            "holds": False,
            "epoch": None,
            "epochs_checked": epochs,
        }
        for epoch in epochs:
            vals = [t.const if t.const is not None else t.epochs[seed][epoch] for t in terms]
            if holds_at(vals):  # type: ignore[arg-type]
                row.update(holds=True, epoch=epoch)
                break
        if cmp.first_epoch is not None:  # first at epoch N ± k: the first epoch it holds
            first = row["epoch"]
            row.update(
                first_epoch=first,
                holds=first is not None and abs(first - cmp.first_epoch) <= cmp.tolerance,
            )
        if cmp.negated:  # `not (... by epoch N)` per seed: the exact negation for this seed
            row["holds"] = not row["holds"]
        if epochs:
            shown_at = row["epoch"] if row["epoch"] is not None else epochs[-1]
            vals = [t.const if t.const is not None else t.epochs[seed][shown_at] for t in terms]
            row["values"] = _method_values(terms, vals)
        rows.append(row)
    held = sum(r["holds"] for r in rows)
    ok, who = ctx.seeds_needed(held, len(seeds))
    verdict = "pass" if ok else "fail"
    failing = [r for r in rows if not r["holds"]]
    if verdict == "pass":
        message = f"holds for {held} of {len(seeds)} seeds (needs {who})"
        if over_epochs:
            message += "; first epochs: " + ", ".join(
                f"seed {r['seed']}: {r['epoch']}" for r in rows if r["holds"]
            )
    elif not failing:  # `exactly K of N` with more than K seeds holding: none to name
        message = f"holds for {held} of {len(seeds)} seeds, needs {who}"
    else:
        r = failing[0]
        if cmp.first_epoch is not None:
            first = r.get("first_epoch")
            at_ = (
                f", first held at epoch {first}, not {cmp.epoch_text.replace('first at ', '')}"
                if first is not None
                else f", at no logged epoch <= {last_epoch(cmp)}"
            )
        else:
            at_ = "" if not over_epochs else f", at no logged epoch <= {cmp.by_epoch}"
        vals = ", ".join(f"{kk} {_g(v)}" for kk, v in (r.get("values") or {}).items())
        message = (
            f"holds for {held} of {len(seeds)} seeds, needs {who}; fails at seed {r['seed']}{at_}"
            + (f" ({vals})" if vals else "")
        )
    numbers: dict[str, Any] = {"per_seed": rows, "held": held, "needed": need, "of": len(seeds)}
    if not over_epochs:
        numbers["operands"] = {
            t.key: {**_summary(t, list(t.values.values())), "seeds": list(t.values)}
            for t in method_terms
        }
    return verdict, message, numbers


_FLIP = {">": "<", "<": ">", ">=": "<=", "<=": ">=", ">>": "<<", "<<": ">>", "~=": "~="}


def _flip(op: str) -> str:
    """The relation seen from the other side (`c < a - b` is `a - b > c`), complements too."""
    return "!" + _FLIP[op[1:]] if op.startswith("!") else _FLIP[op]


def _arith_over_seeds(
    cmp: E.Compare, terms: list[Term], ctx: Ctx
) -> tuple[str, str, dict[str, Any]]:
    """`a - b op c` over seeds: a difference of two seed samples, tested as `(a - c) op b` —
    Welch's test (or TOST) of mean(a) - mean(b) against c, since shifting a sample by a
    constant moves its mean and leaves its variance. `a / b op c`: the same on log10 values
    (log a - log b against log c), margins close_ratio / much_ratio."""
    arith_first = terms[0].arith is not None
    t, c = (terms[0], terms[1]) if arith_first else (terms[1], terms[0])
    op = cmp.ops[0] if arith_first else _flip(cmp.ops[0])
    assert t.arith is not None and c.const is not None
    kind, left, right = t.arith
    ratio = kind == "/"
    a = np.array([t.tv(x) if ratio else x for x in left.values.values()])
    b = np.array([t.tv(x) if ratio else x for x in right.values.values()])
    cval = t.tv(c.const) if ratio else c.const
    lt = Term(f"({t.text})", t.key, t.metric, ratio, stats=t.stats)
    rt = Term(c.text, c.key, None, ratio, stats=t.stats)
    link = _link_over_seeds(lt, op, rt, a - cval, b, (None, None), ctx)
    estimate = float(a.mean() - b.mean())
    shown = f"{_g(10**estimate, 3)} (ratio of geometric means)" if ratio else _g(estimate, 4)
    link.update(left=t.key, right=c.text, estimate=10**estimate if ratio else estimate)
    link["message"] = f"{t.text} = {shown} vs {c.text}: {link['message']}"
    operands = {
        x.key: {**_summary(x, list(x.values.values())), "seeds": list(x.values)}
        for x in (left, right)
    }
    return link["verdict"], link["message"], {"operands": operands, "links": [link]}
