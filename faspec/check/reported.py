"""`reported:` checks: does a number the paper prints agree with the measured runs?

Three outcomes, never "agrees" for want of evidence (statuses `agree`, `mismatch`,
`inconclusive`; the claim becomes pass / fail / inconclusive accordingly):

* **agree**: equivalence is shown: TOST within the reproduction margin, p < alpha. The margin is
  the metric's `close` (`close_ratio` on log-scale metrics, tested on log10), or half a unit of
  the printed last digit where that is wider. Rounding to the printed digits decides alone only
  where there is no spread to test (one run, or every seed equal). Against a printed mean ± std with its n the TOST
  is a two-sample Welch TOST from summary statistics; otherwise one-sample against the number.
* **mismatch**: a difference beyond the reproduction margin is shown: a one-sided test that
  the measured mean lies beyond the margin, on the side it lies (p doubled), gives p < alpha.
  A seed count other than the paper's n is no evidence that a number disagrees: a `warning`
  (shown with the claim); the printed n is the n of the printed sample in the two-sample test.
  A pooled key (`cos_layers[*]`) counts seeds, the unit of replication. The printed std's convention (ddof 0 or 1)
  is never a mismatch: the measured std estimates the paper's only up to chance, and the
  likelihood ratio of the two conventions (the printed and the measured variances are
  independent estimates of one variance, their ratio F-distributed) never exceeds
  (k/(k-1))^((k-1)/2) < e^0.5 = 1.65 at any k: no reproduction can show it at alpha (it
  would need a ratio of 1/alpha). The ratio is recorded (`ddof0_likelihood_ratio`).
* A printed `±` without `(n=…)` has no seed count to use its std with: the entry carries a
  `warning` saying so (shown with the claim), and the test is one-sample.
* **inconclusive** (cannot tell): neither, with the seeds that would decide it at the observed
  effect (p >= alpha either way).

One run (n = 1, a single-seed experiment) has no spread to test: like a per-seed value, it
agrees within the reproduction margin and disagrees outside it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.stats import t as t_dist

from faspec.check import stats as S
from faspec.check.base import (
    Ctx,
    SeedRun,
    Stop,
    _check_runs,
    _final,
    _final_entry,
    _g,
    _log_entry,
    _pick,
    degenerate_reference,
    is_cosine_metric,
)
from faspec.spec import expr as E
from faspec.spec.model import Reported

# --------------------------------------------------------------------------------- reported


def _check_reported(
    key: str, rep: Reported, pdata: dict[str, list[SeedRun]], ctx: Ctx
) -> dict[str, Any]:
    """Does the paper's number agree with the measured runs? (see module doc and schema)."""
    label, metric = _label_metric(key, ctx)
    entry: dict[str, Any] = {
        "method": label,
        "metric": E.Operand(
            label,
            metric,
            None if isinstance(rep.index, tuple) else rep.index,
            pool=rep.index if isinstance(rep.index, tuple) else None,
        )
        .text()
        .partition(".")[2],
        "reported": {"mean": rep.mean, "std": rep.std, "n": rep.n, "text": rep.text},
    }
    if rep.epoch is not None:
        entry["epoch"] = rep.epoch
    pool = rep.index if isinstance(rep.index, tuple) else None
    op = E.Operand(label, metric, None if pool else rep.index, pool=pool)
    try:
        entry["runs"] = _check_runs([label], pdata)
        runs = pdata[label]
        where = [_entry_at(r, rep.epoch) for r in runs]
        if pool is not None:  # seeds x layers as one sample, the way the paper pooled them
            raw, seeds = _pooled(runs, where, op, metric)
        else:
            raw = [_value(r, op, metric, rep.epoch) for r in runs]
            seeds = [r.seed for r in runs]
        below = None
        if rep.below is not None:
            entry["runs"] += _check_runs([rep.below], pdata)
            by_seed = {
                r.seed: _value(r, E.Operand(rep.below, metric, rep.index), metric, rep.epoch)
                for r in pdata[rep.below]
            }
            below = [by_seed.get(s) for s in seeds]
    except Stop as stop:
        entry.update(status=stop.verdict, reason=stop.message)
        return entry
    entry["measured"] = _measured(raw)
    entry["measured"]["seeds"] = seeds
    if is_cosine_metric(metric):
        dead = [
            {"method": label, "metric": metric, **d}
            for r, e in zip(runs, where, strict=True)
            if (d := degenerate_reference(r, e)) is not None
        ]
        if dead:
            entry["degenerate_reference"] = dead
            if ctx.claim.reference != "allow_degenerate":
                entry.update(
                    status="inconclusive",
                    outcome="cannot tell",
                    reason=f"degenerate BP reference: ‖g_L‖ {_g(dead[0]['g_norm'], 3)} < floor "
                    f"{_g(dead[0]['floor'])} (seed {dead[0]['seed']}) where {metric} is read",
                )
                return entry
    log = ctx.stats.metric(metric).scale == "log"
    if rep.per_seed is not None or rep.minimum is not None:
        entry.update(_per_value(rep, raw, seeds, ctx, log, metric))
    elif rep.count is not None:
        entry.update(_count_below(rep, raw, below, seeds))
    else:
        seed_keys = [k[0] for k in seeds] if pool is not None else None
        entry.update(_decide(rep, raw, ctx, log, metric, seed_keys))
    return entry


def _pooled(
    runs: list[SeedRun], entries: list[dict[str, Any]], op: E.Operand, metric: str
) -> tuple[list[float], list[Any]]:
    raw: list[float] = []
    keys: list[Any] = []
    for run, entry in zip(runs, entries, strict=True):
        layers = entry.get(metric)
        where = f"run {run.run_id}, seed {run.seed}"
        if not isinstance(layers, list):
            raise Stop("error", f"{metric} is not a per-layer list ({where})")
        for i in list(range(len(layers)))[slice(*op.pool)]:  # type: ignore[misc]
            raw.append(_pick(layers, E.Operand(op.method, metric, i), metric, where))
            keys.append([run.seed, i])
    if not raw:
        raise Stop("error", f"{op}: no layer in that range")
    return raw, keys


def _label_metric(key: str, ctx: Ctx) -> tuple[str, str]:
    from faspec.spec.reported import parse_key  # the key grammar lives with the spec

    label, metric, _, _ = parse_key(key)
    return label, metric or ctx.claim.metric


def _entry_at(run: SeedRun, epoch: int | None) -> dict[str, Any]:
    if epoch is None:
        return _final_entry(run)
    return _log_entry(run, E.Operand("reported"), epoch)


def _value(run: SeedRun, op: E.Operand, metric: str, epoch: int | None) -> float:
    """The value a reported number is compared with; a first-firing epoch that is null (the
    diagnostic never fired) is infinite: later than any printed epoch, so it disagrees."""
    if metric.startswith("first_fire_"):
        entry = _entry_at(run, epoch)
        if entry.get(metric) is None and metric in entry:
            return math.inf
    if epoch is None:
        return _final(run, op, metric)
    entry = _entry_at(run, epoch)
    return _pick(entry.get(metric), op, metric, f"run {run.run_id}, seed {run.seed}, epoch {epoch}")


def _margin_of(rep: Reported, ctx: Ctx, metric: str, log: bool) -> tuple[float, str]:
    """The reproduction margin of one printed value: close (close_ratio on log scale) or half
    a unit of the printed last digit, the wider."""
    ms = ctx.stats.metric(metric)
    tol = rep.resolution() or 0.0
    if log:
        return max(ms.close_ratio or 1.0, 1.0), f"ratio {_g(max(ms.close_ratio or 1.0, 1.0), 3)}"
    margin = max(ms.close or 0.0, tol)
    return margin, _g(margin)


def _close(x: float, printed: float, rep: Reported, margin: float, log: bool) -> bool:
    tol = rep.resolution() or 0.0
    if abs(x - printed) <= tol * (1 + 1e-9):
        return True
    if log:
        return x > 0 and printed > 0 and max(x / printed, printed / x) <= margin
    return abs(x - printed) <= margin


def _per_value(
    rep: Reported, raw: list[float], seeds: list[int], ctx: Ctx, log: bool, metric: str
) -> dict[str, Any]:
    """Per-seed values (in the experiment's seed order) or the min/max over seeds: each single
    run's value agrees within the reproduction margin; one run has no spread to test, so the
    margin is the whole rule."""
    margin, conf = _margin_of(rep, ctx, metric, log)
    if rep.per_seed is not None:
        pairs = [(f"seed {s}", x, p) for s, x, p in zip(seeds, raw, rep.per_seed, strict=True)]
    else:
        pairs = [("min", min(raw), rep.minimum), ("max", max(raw), rep.maximum)]
    off = [(w, x, p) for w, x, p in pairs if not _close(x, p, rep, margin, log)]  # type: ignore[arg-type]
    out: dict[str, Any] = {
        "test": f"each value within {conf} (the metric's close margin or the printed digits)",
        "margin": margin,
        "per_value": [{"what": w, "measured": x, "paper": p} for w, x, p in pairs],
    }
    if off:
        w, x, p = off[0]
        out.update(
            status="mismatch",
            outcome="disagrees",
            reason=f"{rep.text} vs measured {[_g(v) for v in raw]}: {w} {_g(x)} vs {_g(p)} "
            f"is outside {conf}",
        )
    else:
        out.update(status="agree", outcome="agrees", reason="")
    return out


def _count_below(
    rep: Reported, raw: list[float], below: list[float | None] | None, seeds: list[int]
) -> dict[str, Any]:
    """`{below: frozen, count: "n/N"}`: n of the N seeds are below that method at the same seed."""
    assert rep.count is not None and below is not None
    if any(b is None for b in below):
        missing = [s for s, b in zip(seeds, below, strict=True) if b is None]
        return {"status": "error", "reason": f"no '{rep.below}' run for seeds {missing}"}
    n = sum(1 for x, b in zip(raw, below, strict=True) if x < b)  # type: ignore[operator]
    k, of = rep.count
    out: dict[str, Any] = {"test": f"count of seeds below {rep.below}", "count": n}
    if n == k and of == len(raw):
        out.update(status="agree", outcome="agrees", reason="")
    else:
        out.update(
            status="mismatch",
            outcome="disagrees",
            reason=f"the paper says {k}/{of} seeds below {rep.below}; measured {n}/{len(raw)}",
        )
    return out


def _measured(raw: list[float]) -> dict[str, Any]:
    if not all(math.isfinite(x) for x in raw):  # a never-fired first epoch (inf): no mean
        return {"mean": None, "std": None, "n": len(raw), "values": raw}
    mean, std = S.mean_std(raw)
    std0 = float(np.std(raw, ddof=0))
    return {"mean": mean, "std": std, "std_ddof0": std0, "n": len(raw), "values": raw}


def _decide(
    rep: Reported,
    raw: list[float],
    ctx: Ctx,
    log: bool,
    metric: str,
    seed_of: list[Any] | None = None,
) -> dict[str, Any]:
    """status (agree / mismatch / inconclusive), reason, and the tests behind them.
    `seed_of`: the seed of each pooled (seed, layer) value: the tests then run on the seeds'
    layer means (n = seeds, the unit of replication), one-sample against the printed mean (a
    pooled ± describes layers too); the pooled mean and n are what the paper's text compares."""
    mean, std = S.mean_std(raw)
    n = len(raw)
    seeds = len(dict.fromkeys(seed_of)) if seed_of is not None else n
    out: dict[str, Any] = {}
    pooled = f" seeds, {n} values" if seed_of is not None else ""
    measured = (
        f"{_g(mean)}" + (f" ± {_g(std, 2)}" if std is not None else "") + f" (n={seeds}{pooled})"
    )
    if ctx.stats.reported == "source":
        return _check_source(out, rep, mean, std, seeds, measured)
    notes: list[str] = []
    # a seed count other than the paper's is no evidence that a number disagrees: a note; the
    # printed n is used only as the n of the printed sample in the two-sample test
    if rep.n is not None and rep.n != seeds:
        notes.append(f"the paper says n={rep.n}; {seeds} seed(s) measured")
    elif rep.std is not None and seeds < 2:
        notes.append("the paper prints a std, which needs at least 2 seeds; 1 seed measured")
    if rep.std is not None and std is not None and std > 0 and rep.std > 0:
        # the printed std's convention: recorded, never a mismatch (see the module doc)
        out["ddof0_likelihood_ratio"] = S.ddof_likelihood_ratio(rep.std, rep.n or n, std, n)
    if rep.std is not None and rep.n is None:
        notes.append(f"'{rep.text}' has no (n=…): its ± is not used; write '… (n=k)'")
    if notes:
        out["warning"] = "; ".join(notes)
    tol = rep.resolution() or 0.0
    # rounding to the printed digits decides only where there is no spread to test (one seed,
    # or every seed equal): with n >= 2 the printed precision widens the TOST's margin instead
    flat = std is None or std <= S.numerical_noise(max(abs(x) for x in raw))
    if flat and abs(mean - rep.mean) <= tol * (1 + 1e-9):
        out.update(
            test=f"the measured mean rounds to the printed {rep.text} (±{_g(tol)})",
            outcome="agrees",
        )
        return _status(out, "agree", "")
    ms = ctx.stats.metric(metric)
    if log:
        if not (mean > 0 and rep.mean > 0 and all(x > 0 for x in raw)):
            out["outcome"] = "cannot tell"
            return _status(out, "inconclusive", "a log-scale value is not positive")
        xs = _per_seed_means(np.log10(np.asarray(raw, dtype=float)), seed_of)
        ref = math.log10(rep.mean)
        rmargin = math.log10(ms.close_ratio) if ms.close_ratio else 0.0
        dmargin = math.log10((rep.mean + tol) / rep.mean) if tol else 0.0
        margin = max(rmargin, dmargin)
        scale = "log10"
        conf = f"ratio {_g(10**margin, 3)}"
    else:
        xs = _per_seed_means(np.asarray(raw, dtype=float), seed_of)
        ref = rep.mean
        margin = max(ms.close or 0.0, tol)
        scale = "linear"
        conf = f"{_g(margin)}"
    d = float(xs.mean()) - ref
    if seed_of is not None:
        out["tested_n"] = n = len(xs)
    out.update(margin=margin, scale=scale)
    if margin <= 0:
        out["outcome"] = "cannot tell"
        return _status(out, "inconclusive", f"{metric} has no close margin")
    if n == 1:  # one run: no spread to test; as a per-seed value, the margin is the whole rule
        out["test"] = f"one run: within the reproduction margin {conf} (no spread to test)"
        if abs(d) <= margin:
            out["outcome"] = "agrees"
            return _status(out, "agree", "")
        out["outcome"] = "disagrees"
        what = f"ratio {_g(10 ** abs(d), 3)}" if log else f"differs by {_g(d, 3)}"
        return _status(
            out, "mismatch", f"{rep.text} vs measured {measured}: {what}, outside {conf}"
        )
    two_sample = (
        rep.std is not None and rep.n is not None and rep.n >= 2 and n >= 2 and seed_of is None
    )
    if two_sample:
        sd_rep = rep.std if not log else None
        if log:  # a printed std of a log-scale metric is not on the log10 scale: one-sample
            two_sample = False
    # "disagree" is a difference beyond the reproduction margin, shown: a one-sided test that
    # |mean - printed| > margin on the side the mean lies, p doubled (either side could have
    # been picked), never a test against a zero difference
    alt = "greater" if d > 0 else "less"
    shift = margin if d > 0 else -margin
    if two_sample:
        sx = float(np.std(xs, ddof=1))
        eq = S.tost_from_stats(float(xs.mean()), sx, n, ref, sd_rep, rep.n, margin)  # type: ignore[arg-type]
        df = S.diff_test_from_stats(float(xs.mean()), sx, n, ref, sd_rep, rep.n, alt, shift)  # type: ignore[arg-type]
        test = "Welch TOST, and a one-sided Welch test beyond the margin, from summary statistics"
    else:
        eq = S.tost(xs, ref, margin) if n >= 2 else S.TestResult(None, note="1 seed")
        df = S.diff_test(xs, ref, alt, shift) if n >= 2 else S.TestResult(None, note="1 seed")
        test = (
            "one-sample TOST, and a one-sided t-test beyond the margin, against the printed number"
        )
    if df.p is not None:
        df = S.TestResult(min(1.0, 2 * df.p), df.statistic, df.df, df.note)
    out.update(
        test=f"{test}, margin {conf}",
        p=eq.p,
        p_equivalence=eq.p,
        p_difference=df.p,
    )
    alpha = ctx.alpha
    shown = f"{rep.text} vs measured {measured}"
    if eq.p is not None and eq.p < alpha:
        out["outcome"] = "agrees"
        return _status(out, "agree", "")
    if df.p is not None and df.p < alpha:
        out["outcome"] = "disagrees"
        what = f"ratio {_g(10 ** abs(d), 3)}" if log else f"differs by {_g(d, 3)}"
        return _status(
            out,
            "mismatch",
            f"{shown}: {what}, shown beyond the margin {conf}: p={_g(df.p, 2)} < {alpha}",
        )
    sd = float(np.std(xs, ddof=1)) if n >= 2 else None
    effect = margin - abs(d) if abs(d) < margin else abs(d) - margin
    need = None if sd is None else S.seeds_needed(effect, sd, None, alpha)
    printed_limit = ""
    if two_sample and rep.std and rep.n:  # with endless seeds here, the printed sample's own
        # standard error remains: when it alone leaves p >= alpha, no seed count decides it
        se_printed = rep.std / math.sqrt(rep.n)
        if float(t_dist.sf(effect / se_printed, rep.n - 1)) >= alpha:
            need = None
            printed_limit = (
                f"; no seed count here decides it: the printed sample (n={rep.n}) alone is too "
                f"uncertain for the margin {conf}"
            )
    out.update(outcome="cannot tell", seeds_needed=need)
    if sd is None:
        why = "1 seed measured: no spread to test agreement with"
    else:
        why = (
            f"neither equivalence within {conf} (TOST p={_g(eq.p, 2)}) nor a difference "
            f"beyond it (p={_g(df.p, 2)}) is shown at alpha {alpha}"
        )
    hint = (
        f"; about {need} seeds would decide it"
        if need
        else "; a test needs at least 2 seeds"
        if sd is None
        else printed_limit
    )
    return _status(out, "inconclusive", f"{shown}: cannot tell: {why}{hint}")


def _per_seed_means(xs: np.ndarray, seed_of: list[Any] | None) -> np.ndarray:
    if seed_of is None:
        return xs
    order = list(dict.fromkeys(seed_of))
    return np.array([xs[[s == k for s in seed_of]].mean() for k in order])


def _status(out: dict[str, Any], status: str, why: str) -> dict[str, Any]:
    out.update(status=status, reason=why)
    return out


def _check_source(
    out: dict[str, Any],
    rep: Reported,
    mean: float,
    std: float | None,
    seeds: int,
    measured: str,
) -> dict[str, Any]:
    """`stats: {reported: source}`: the runs are the ones the printed number was computed from
    (a paper checking its own store), so there is nothing to infer: the printed mean (and std,
    ddof=1) must be the measured one rounded to the printed digits, and a printed (n=k) the seed
    count. A number printed without known digits must match to 1e-9 relative."""
    problems: list[str] = []
    tol = _rounding_tol(rep.resolution(), rep.mean)
    if abs(mean - rep.mean) > tol:
        problems.append(f"the mean {_g(mean)} does not round to {_g(rep.mean)} (±{_g(tol)})")
    if rep.std is not None:
        stol = _rounding_tol(rep.std_resolution(), rep.std)
        if std is None:
            problems.append(f"the paper prints a std, which needs 2 seeds; {seeds} measured")
        elif abs(std - rep.std) > stol:
            problems.append(
                f"the std (ddof=1) {_g(std)} does not round to {_g(rep.std)} (±{_g(stol)})"
            )
    if rep.n is not None and rep.n != seeds:
        problems.append(f"the paper says n={rep.n}; {seeds} seed(s) stored")
    out["test"] = "source: the printed digits of the stored runs (stats: {reported: source})"
    if problems:
        out["outcome"] = "disagrees"
        return _status(out, "mismatch", f"{rep.text} vs stored {measured}: " + "; ".join(problems))
    out["outcome"] = "agrees"
    return _status(out, "agree", "")


def _rounding_tol(resolution: float | None, printed: float) -> float:
    """How far a value may lie from its printed form: half a unit of the last printed digit (up
    to float round-off), or 1e-9 relative where the digits are unknown."""
    if resolution is not None:
        return resolution * (1 + 1e-9)
    return 1e-9 * max(1.0, abs(printed))
