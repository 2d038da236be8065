"""Many claims, one paper: the family-wise correction of a spec's verdicts.

A spec with 15 claims tested at alpha 0.05 each expects false passes. After every claim of a
spec is decided, the claims decided by a test over seeds (their `Verdict.p` is set: comparison
claims, whatever their verdict) form the family; claims decided without a test (per-seed
counts, protocol predicates) and claims that could not be decided (error, unsourced) are not
in it. `stats: {correction: ...}` picks the procedure:

* `holm` (the default): Holm's step-down, the family-wise error rate at alpha under any
  dependence between claims (they share runs);
* `bh`: Benjamini-Hochberg, the false discovery rate at alpha (assumes positive dependence);
* `none`: each claim at alpha alone.

`stats: {family: spec}` (the default) makes each spec its own family; `family: run` pools the
tested claims of every spec of one `faspec verify` run that says so into one family (a paper
split over several specs is still one paper), corrected with the strictest correction and
alpha among them (holm over bh over none). A pass whose p does not survive the correction
becomes `inconclusive`, naming the family size and the corrected threshold. Every verdict records `family`: method, size, alpha, its
threshold and adjusted p (those outside the family record the size and why they are outside).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from faspec.check import stats as S
from faspec.check.base import Verdict
from faspec.spec.model import Stats

CORRECTIONS = ("holm", "bh", "none")
DEFAULT_CORRECTION = "holm"


def _g(x: float) -> str:
    return f"{x:.3g}"


def correct(verdicts: Sequence[Verdict], method: str, alpha: float) -> dict[str, Any]:
    """Apply the correction to `verdicts` in place; returns the family summary
    {method, size, alpha, smallest threshold} that reports print on top."""
    if method not in CORRECTIONS:
        raise ValueError(f"unknown correction {method!r}; one of {', '.join(CORRECTIONS)}")
    members = [v for v in verdicts if v.p is not None]
    ps = [float(v.p) for v in members]  # type: ignore[arg-type]
    m = len(members)
    if method == "holm":
        adjusted, thresholds = S.holm(ps), S.holm_thresholds(ps, alpha)
    elif method == "bh":
        adjusted, thresholds = S.bh(ps), S.bh_thresholds(ps, alpha)
    else:
        adjusted, thresholds = ps, [alpha] * m
    name = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "no correction"}[method]
    for v, p, adj, thr in zip(members, ps, adjusted, thresholds, strict=True):
        v.family = {
            "method": method,
            "size": m,
            "alpha": alpha,
            "p": p,
            "adjusted_p": adj,
            "threshold": thr,
        }
        if v.verdict == "pass" and not adj < alpha:
            v.verdict = "inconclusive"
            v.message = (
                f"passes at alpha {alpha} alone (p={_g(p)}), but not after {name} over the "
                f"family of {m} tested claims (adjusted p={_g(adj)} >= {alpha}; its threshold "
                f"is {_g(thr)}): {v.message}"
            )
            v.rule += f"; {name} over the spec's {m} tested claims, adjusted p < {alpha}"
        elif m > 1 and method != "none":
            v.rule += f"; {name} over the spec's {m} tested claims, adjusted p < {alpha}"
    for v in verdicts:
        if v.p is None:
            v.family = {
                "method": method,
                "size": m,
                "alpha": alpha,
                "outside": "decided without a test over seeds"
                if v.verdict not in ("error", "unsourced")
                else f"not tested ({v.verdict})",
            }
    return {
        "method": method,
        "size": m,
        "alpha": alpha,
        "smallest_threshold": min(thresholds) if thresholds else alpha,
    }


def correct_specs(decided: Sequence[tuple[Stats, Sequence[Verdict]]]) -> None:
    """Correct the verdicts of a run of several specs: each spec alone (`family: spec`), and
    the specs with `family: run` pooled into one family."""
    pooled: list[Verdict] = []
    methods: list[str] = []
    alphas: list[float] = []
    for stats, verdicts in decided:
        if stats.family == "run":
            pooled += verdicts
            methods.append(stats.correction)
            alphas.append(stats.alpha)
        else:
            correct(verdicts, stats.correction, stats.alpha)
    if pooled:
        method = next(m for m in CORRECTIONS if m in methods)  # the strictest asked for
        correct(pooled, method, min(alphas))
        for v in pooled:
            v.family["scope"] = "run"
