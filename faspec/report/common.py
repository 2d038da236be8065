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
            }
        )
    return rows


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
