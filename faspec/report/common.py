"""What every report format shares: how a verdict, a number and a run are summarised."""

from __future__ import annotations

import math
from typing import Any

VERDICTS = ("pass", "fail", "inconclusive", "error", "unsourced")
STD_NOTE = "± is the sample standard deviation over seeds (ddof=1)."


def fmt(x: Any, digits: int = 4) -> str:
    """A number as a researcher reads it: 4 significant digits, scientific beyond 1e±4."""
    if x is None:
        return "—"
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return str(x)
    if x == 0:
        return "0"
    if abs(x) >= 1e4 or abs(x) < 1e-3:
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def counts(verdicts: list[Any]) -> dict[str, int]:
    out = {k: 0 for k in VERDICTS}
    for v in verdicts:
        out[v.verdict] = out.get(v.verdict, 0) + 1
    return out


def run_rows(
    run_ids: list[str],
    results: dict[str, dict[str, Any] | None],
    configs: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """One row per run behind a claim: hash, method, seed, status, wall time, device, version."""
    rows = []
    for rid in run_ids:
        res = results.get(rid) or {}
        cfg = configs.get(rid, {})
        prov = res.get("provenance", {})
        rows.append(
            {
                "run": rid,
                "method": cfg.get("method", {}).get("name"),
                "seed": cfg.get("seed"),
                "status": res.get("status", "missing"),
                "wall_s": prov.get("wall_s"),
                "device": prov.get("device"),
                "faspec": prov.get("faspec"),
                "flag": convergence_flag(res),
            }
        )
    return rows


def convergence_flag(result: dict[str, Any]) -> str | None:
    """A run whose relaxation did not converge says so (EP: the last logged free phase left
    samples above `method.tol`, `ep_converged` < 1); None otherwise."""
    log = result.get("log") or []
    last = log[-1] if log else {}
    frac = last.get("ep_converged")
    if frac is None or frac >= 1.0:
        return None
    res = last.get("ep_residual")
    tail = f", ep_residual {fmt(res, 3)}" if res is not None else ""
    return f"EP free phase not converged: {100 * frac:.0f} % of samples reached tol{tail}"


def _msn(d: Any) -> str:
    """`mean ± std (n=k)` of a summary dict; text as it is."""
    if not isinstance(d, dict):
        return "" if d is None else str(d)
    if d.get("text"):
        return str(d["text"])
    out = fmt(d.get("mean"))
    if d.get("std") is not None:
        out += f" ± {fmt(d['std'])}"
    return out + (f" (n={d['n']})" if d.get("n") is not None else "")


def reported_row(r: dict[str, Any]) -> dict[str, str]:
    """A `reported:` check as text: what, paper, measured, test, status, why."""
    what = str(r.get("method", "?")) + (f".{r['metric']}" if r.get("metric") else "")
    if isinstance(r.get("point"), dict) and r["point"]:
        what += " @ " + ", ".join(f"{k}={v}" for k, v in r["point"].items())
    test = str(r.get("test") or "") + (f", p={fmt(r['p'])}" if r.get("p") is not None else "")
    return {
        "what": what,
        "paper": _msn(r.get("reported")),
        "measured": _msn(r.get("measured")),
        "test": test,
        "status": str(r.get("status", "?")),
        "why": str(r.get("reason") or ""),
    }


_CORRECTION_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "no correction"}


def family_summary(verdicts: list[Any]) -> dict[str, Any]:
    """The spec's family of tested claims, from the verdicts' `family` records: method, size
    (claims decided by a test over seeds), alpha, and the smallest corrected threshold."""
    fams = [getattr(v, "family", None) or {} for v in verdicts]
    fams = [f for f in fams if f]
    if not fams:
        return {}
    first = fams[0]
    thresholds = [f["threshold"] for f in fams if f.get("threshold") is not None]
    return {
        "method": first.get("method"),
        "size": first.get("size", 0),
        "alpha": first.get("alpha"),
        "smallest_threshold": min(thresholds) if thresholds else first.get("alpha"),
    }


def family_line(verdicts: list[Any]) -> str:
    """'Family: 12 claims tested over seeds, Holm at alpha 0.05 (thresholds from 0.004167)'."""
    return family_sentence(family_summary(verdicts))


def family_sentence(s: dict[str, Any]) -> str:
    """The family line from a `family_summary` (as the JSON report stores it); '' for none."""
    if not s:
        return ""
    name = _CORRECTION_NAMES.get(str(s["method"]), str(s["method"]))
    return (
        f"Family: {s['size']} claim(s) tested over seeds, {name} at alpha {fmt(s['alpha'])} "
        f"(corrected thresholds from {fmt(s['smallest_threshold'])}); claims decided per seed "
        "or by the protocol are outside it."
    )


def family_text(v: Any) -> str:
    """One claim's place in the family: 'p 0.03, threshold 0.025 (Holm, 3 claims)' or why not."""
    f = getattr(v, "family", None) or {}
    if not f:
        return ""
    if "outside" in f:
        return f"outside the family ({f['outside']})"
    name = _CORRECTION_NAMES.get(str(f.get("method")), str(f.get("method")))
    return (
        f"p {fmt(f.get('p'))}, corrected threshold {fmt(f.get('threshold'))}, adjusted p "
        f"{fmt(f.get('adjusted_p'))} ({name}, family of {f.get('size')})"
    )


def code_text(v: Any) -> str:
    """Whether a verdict rests on runs whose code is not the installed code (faspec.code_id):
    'decided on 3 stale runs (stale: code of method ep changed: ab12…, …)', or ''."""
    code = getattr(v, "code", None) if not isinstance(v, dict) else v.get("code")
    if not code:
        return ""
    parts = []
    stale = code.get("stale") or {}
    if stale:
        whys = sorted(set(stale.values()))
        runs = ", ".join(sorted(stale)[:4]) + (", …" if len(stale) > 4 else "")
        parts.append(
            f"decided on {len(stale)} stale runs, kept by --keep-stale ({'; '.join(whys)}: {runs})"
        )
    unrecorded = code.get("unrecorded") or []
    if unrecorded:
        parts.append(
            f"{len(unrecorded)} of its runs record no code identity (stored before faspec "
            "recorded it): their code is unknown"
        )
    return "; ".join(parts)


def degenerate_values(numbers: Any) -> list[dict[str, Any]]:
    """Every value a verdict marks as read against a degenerate BP reference (‖g_L‖ below the
    protocol floor at the epoch read): {run, seed, method, metric, g_norm, floor, epoch}."""
    out: list[dict[str, Any]] = []
    if isinstance(numbers, dict):
        for k, v in numbers.items():
            if k == "degenerate_reference" and isinstance(v, list):
                out += [x for x in v if isinstance(x, dict)]
            else:
                out += degenerate_values(v)
    elif isinstance(numbers, list):
        for v in numbers:
            out += degenerate_values(v)
    return out
