"""`reported:` checks: does a number the paper prints agree with the measured runs?"""

from __future__ import annotations

from typing import Any

import numpy as np

from faspec.check import stats as S
from faspec.check.base import Ctx, SeedRun, Stop, _check_runs, _final, _g
from faspec.spec import expr as E
from faspec.spec.model import Reported

# --------------------------------------------------------------------------------- reported


def _check_reported(
    key: str, rep: Reported, pdata: dict[str, list[SeedRun]], ctx: Ctx
) -> dict[str, Any]:
    """Does the paper's number agree with the measured runs? (see module doc and schema)."""
    label, _, metric = key.partition(".")
    metric = metric or ctx.claim.metric
    entry: dict[str, Any] = {
        "method": label,
        "metric": metric,
        "reported": {"mean": rep.mean, "std": rep.std, "n": rep.n, "text": rep.text},
    }
    op = E.Operand(label, metric)
    try:
        entry["runs"] = _check_runs([label], pdata)
        raw = [_final(r, op, metric) for r in pdata[label]]
    except Stop as stop:
        entry.update(status=stop.verdict, reason=stop.message)
        return entry
    mean, std = S.mean_std(raw)
    n = len(raw)
    std0 = float(np.std(raw, ddof=0))
    entry["measured"] = {"mean": mean, "std": std, "std_ddof0": std0, "n": n, "values": raw}
    reasons: list[str] = []
    if rep.n is not None and rep.n != n:
        reasons.append(f"the paper says n={rep.n}; {n} seed(s) measured")
    elif rep.std is not None and n < 2:
        reasons.append("the paper prints a std, which needs at least 2 seeds; 1 seed measured")
    diff = mean - rep.mean
    tol = rep.resolution() or 0.0
    ms = ctx.stats.metric(metric)
    measured = f"{_g(mean)}" + (f" ± {_g(std, 2)}" if std is not None else "") + f" (n={n})"
    if rep.std is not None and std is not None:
        tr = S.agree_from_stats(mean, std, n, rep.mean, rep.std, rep.n or n)
        entry.update(p=tr.p, test="two-sided Welch t-test from summary statistics")
        agree = (tr.p is not None and tr.p >= ctx.alpha) or abs(diff) <= tol
        if not agree:
            reasons.append(f"{rep.text} vs measured {measured}: p={_g(tr.p, 2)} < {ctx.alpha}")
        stol = rep.std_resolution() or 1e-12
        if abs(rep.std - std0) <= stol and abs(rep.std - std) > stol:
            reasons.append(
                f"the reported std {_g(rep.std)} is the ddof=0 std ({_g(std0, 3)}); with ddof=1 it is {_g(std, 3)}"
            )
    else:
        if ms.scale == "log" and ms.close_ratio is not None and mean > 0 and rep.mean > 0:
            ratio = max(mean / rep.mean, rep.mean / mean)
            agree = ratio <= ms.close_ratio or abs(diff) <= tol
            entry.update(test=f"ratio within close_ratio {ms.close_ratio} or the printed digits")
        else:
            margin = max(ms.close or 0.0, tol)
            agree = abs(diff) <= margin
            entry.update(test=f"|difference| <= {_g(margin)} (close margin or printed digits)")
        if not agree:
            reasons.append(f"{rep.text} vs measured {measured}: differs by {_g(diff, 3)}")
    entry.update(status="mismatch" if reasons else "agree", reason="; ".join(reasons))
    return entry
