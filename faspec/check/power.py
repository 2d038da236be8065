"""How often a perfect reproduction would pass a claim: its power at the spec's seeds and
correction, and the seeds that would reach 80 %.

A claim whose spec states the paper's numbers for every operand it reads (a `reported:` mean
± std, or a per-seed list, for each method and metric of the expression) can be simulated: the
true values are the paper's means and stds, each seed draws one value per method
independently (normal; log-normal with that mean and std for log-scale metrics), and the draw
is decided by `faspec.check.claims.decide`, the code path of every verdict, `reported:`
checks included. Seeded Monte-Carlo, no closed form: chains, TOSTs of differences and the
per-seed rules have none that is exact.

The correction: a claim tested over seeds must pass at its threshold in the spec's family.
Under Holm (and BH) that threshold depends on the other claims' p-values; the power printed
is at alpha / m (m = the spec's claims tested over seeds), the threshold of a claim that has
to pass first: each draw is decided as verify decides it (`reported:` checks at the spec's
alpha, the printed n kept at any simulated n), then its p must be below alpha / m, which is exact for Bonferroni and a lower bound for Holm. Per-seed claims
(`seeds: all`, `for K of N seeds`) are outside the family and use alpha.

Costs: `sims` draws (100) at the spec's seeds, then a bisection over the seed count for 80 %
with `sims // 2` draws per step (at most SEED_CAP seeds), each step stopped as soon as its
side of 80 % is settled. Torch-free, like all of check/.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from scipy.stats import binomtest

from faspec.check.base import SeedRun
from faspec.spec import expr as E
from faspec.spec.model import Claim, Reported, Spec, Stats

SEED_CAP = 64
TARGET = 0.8


def family_size(spec: Spec) -> int:
    """Claims of the spec tested over seeds (the Holm family, before any is decided)."""
    return sum(1 for c in spec.claims if _over_seeds(c))


def _over_seeds(claim: Claim) -> bool:
    node = claim.expr if claim.expr is not None else E.parse(claim.expect)
    return claim.seeds is None and not isinstance(node, E.ForSeeds) and not E.only_predicates(node)


def _paper_values(claim: Claim, stats: Stats) -> tuple[dict[tuple[str, str], Reported], str]:
    """(label, metric) -> the printed number the simulation draws from; or the reason none."""
    node = claim.expr if claim.expr is not None else E.parse(claim.expect)
    if E.only_predicates(node):
        return {}, "a protocol claim (booleans per run): no printed numbers to draw from"
    needed: dict[tuple[str, str], Reported] = {}
    for op in E.operands(node):
        if op.experiment is not None or op.pool is not None or op.index is not None:
            return {}, f"'{op}' reads layers or another experiment: not simulated"
        metric = op.metric_or(claim.metric)
        rep = _reported_for(claim, op.method, metric)
        if rep is None:
            return {}, f"no printed mean ± std for {op.method}.{metric} in reported:"
        needed[(op.method, metric)] = rep
    for cmp in E.comparisons(node):
        if cmp.epoch_text:
            return {}, f"'{cmp}' reads epochs: not simulated"
    return needed, ""


def _reported_for(claim: Claim, label: str, metric: str) -> Reported | None:
    for key, rep in claim.reported.items():
        k_label, _, k_metric = key.partition(".")
        if k_label != label or (k_metric or claim.metric) != metric:
            continue
        if rep.index is not None or rep.epoch is not None:
            continue
        if rep.per_seed is not None and len(rep.per_seed) >= 2:
            xs = np.asarray(rep.per_seed, dtype=float)
            return Reported(float(xs.mean()), float(xs.std(ddof=1)), len(xs))
        if rep.std is not None and rep.count is None and rep.minimum is None:
            return rep
    return None


def _draw(rng: np.random.Generator, rep: Reported, n: int, log: bool) -> np.ndarray:
    sd = float(rep.std or 0.0)
    if log and rep.mean > 0:
        s2 = math.log1p((sd / rep.mean) ** 2)
        return rng.lognormal(math.log(rep.mean) - s2 / 2, math.sqrt(s2), n)
    if log and rep.mean < 0:
        return -_draw(rng, Reported(-rep.mean, sd), n, True)
    return rng.normal(rep.mean, sd, n)


def pass_rate(
    claim: Claim,
    stats: Stats,
    paper: dict[tuple[str, str], Reported],
    n: int,
    alpha: float,
    sims: int,
    seed: int = 0,
    stop_at: float | None = None,
) -> float:
    """Share of `sims` simulated perfect reproductions with n seeds that `decide` passes.
    `stop_at`: only whether the share reaches it matters; stop as soon as that is settled
    (returns 1.0 or 0.0 then)."""
    from faspec.check.claims import decide  # claims imports this module's callers only

    one = dataclasses.replace(claim, at={}, for_each=None)
    reported = {}
    for key, rep in claim.reported.items():  # the printed n is kept at any simulated n: it is
        # the n of the printed sample (reported.py), a different seed count is only a note
        if rep.per_seed is not None and len(rep.per_seed) != n:  # a per-seed list, at other n:
            xs = np.asarray(rep.per_seed, dtype=float)  # its mean ± std, as _reported_for reads it
            std = float(xs.std(ddof=1)) if xs.size >= 2 else None
            reported[key] = Reported(float(xs.mean()), std, text=rep.text)
            continue
        reported[key] = rep
    one = dataclasses.replace(one, reported=reported)
    # decided as verify decides it (reported: checks at the spec's alpha); then the claim's p
    # at its family threshold, as family.correct does for a claim that has to pass first; a
    # perfect *reproduction* is simulated, so `reported:` is checked as one even where the spec
    # checks its own source runs (stats: {reported: source})
    st = dataclasses.replace(stats, reported="reproduction")
    rng = np.random.default_rng(seed)
    labels = sorted({label for label, _ in paper})
    seeds = list(range(n))
    passed = done = 0
    for _ in range(sims):
        finals: dict[str, list[dict[str, float]]] = {lab: [{} for _ in seeds] for lab in labels}
        for (label, metric), rep in paper.items():
            values = _draw(rng, rep, n, stats.metric(metric).scale == "log")
            for i, v in enumerate(values):
                finals[label][i][metric] = float(v)
        data = {
            (): {
                lab: [
                    SeedRun(s, f"{lab}-{s}", {"status": "ok", "final": f, "log": []})
                    for s, f in zip(seeds, rows, strict=True)
                ]
                for lab, rows in finals.items()
            }
        }
        v = decide(one, data, st)
        passed += v.verdict == "pass" and (v.p is None or v.p < alpha)
        done += 1
        if stop_at is not None:
            if passed >= stop_at * sims:
                return 1.0
            if done - passed > (1 - stop_at) * sims:
                return 0.0
    return passed / sims


def claim_power(
    claim: Claim, spec: Spec, m: int | None = None, sims: int = 100, seed: int = 0
) -> dict[str, Any]:
    """The power of one claim at its experiment's seeds, and the seeds for 80 % (see module)."""
    stats = spec.stats
    paper, why = _paper_values(claim, stats)
    if not paper:
        return {"computed": False, "why": why}
    exp = spec.experiments.get(claim.experiment)
    n = len(exp.seeds) if exp is not None else 3
    node = claim.expr if claim.expr is not None else E.parse(claim.expect)
    if isinstance(node, E.ForSeeds) or (claim.seeds not in (None, "all")):
        return {"computed": False, "why": "a K-of-N per-seed count: fixed to its N seeds"}
    over = _over_seeds(claim)
    m = family_size(spec) if m is None else m
    alpha = stats.alpha / max(1, m) if over and stats.correction != "none" else stats.alpha
    power = pass_rate(claim, stats, paper, n, alpha, sims, seed)
    ci = binomtest(round(power * sims), sims).proportion_ci(0.95, "exact")
    out: dict[str, Any] = {
        "computed": True,
        "seeds": n,
        "power": power,
        "power_ci95": [float(ci.low), float(ci.high)],  # Clopper-Pearson over the draws
        "alpha": alpha,
        "family": m if over else None,
        "sims": sims,
        "method": "simulated through decide(): true values = the paper's means and stds",
    }
    out["seeds_for_80"] = (
        power >= TARGET and n or _seeds_for(claim, stats, paper, n, alpha, max(40, sims // 2), seed)
    )
    return out


def _seeds_for(
    claim: Claim,
    stats: Stats,
    paper: dict[tuple[str, str], Reported],
    n: int,
    alpha: float,
    sims: int,
    seed: int,
) -> int | None:
    """Smallest seed count in (n, SEED_CAP] with simulated power >= 80 % (bisection; power
    grows with n); None beyond SEED_CAP."""
    if pass_rate(claim, stats, paper, SEED_CAP, alpha, sims, seed + 1, TARGET) < TARGET:
        return None
    lo, hi = n, SEED_CAP  # power(lo) < 80 %, power(hi) >= 80 %
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if pass_rate(claim, stats, paper, mid, alpha, sims, seed + mid, TARGET) >= TARGET:
            hi = mid
        else:
            lo = mid
    return hi


def power_text(p: dict[str, Any]) -> str:
    """One line for the plan and the reports."""
    if not p.get("computed"):
        return f"power not computed: {p.get('why', '')}"
    fam = (
        f", alpha/{p['family']} = {p['alpha']:.3g} (Holm's first threshold)"
        if p.get("family") and p["family"] > 1
        else f", alpha {p['alpha']:.3g}"
    )
    n80 = p.get("seeds_for_80")
    reach = f"80 % at {n80} seeds" if n80 else f"80 % not reached by {SEED_CAP} seeds"
    lo, hi = p.get("power_ci95") or (p["power"], p["power"])
    return (
        f"a perfect reproduction passes {100 * p['power']:.1f} % of the time "
        f"(95 % CI {100 * lo:.0f}-{100 * hi:.0f} %) at {p['seeds']} "
        f"seeds{fam}; {reach} (simulated, {p['sims']} draws through decide)"
    )


def spec_powers(specs: list[Spec], sims: int = 100) -> list[dict[str, Any]]:
    """The power of every claim of these specs that states the paper's numbers (plan rows)."""
    rows = []
    for spec in specs:
        m = family_size(spec)
        for claim in spec.claims:
            p = claim_power(claim, spec, m, sims)
            if p.get("computed"):
                rows.append({"spec": spec.name, "claim": claim.id, **p, "text": power_text(p)})
    return rows
