"""The BP reference a cosine is measured against, and when it is dead.

A cosine-type metric (cos_layers, deep_cos, gamma, rho, nudge and their per-layer forms,
null_*) compares a method's update with the BP gradient g_L. When ‖g_L‖ is below the protocol
floor (g_floor, 1e-7 by default: docs/metrics.md, "Degenerate reference") that gradient is
numerically meaningless, and so is the cosine: the checker treats such a value as no evidence.
Pure Python on stored results; the run's own recorded flag (`ref_degenerate`) wins, else its
g_norm is compared with the floor it was trained with.
"""

from __future__ import annotations

import math
from typing import Any

# Metrics measured against the BP reference gradient g_L: meaningless when ‖g_L‖ is below the
# protocol floor (docs/metrics.md, "Degenerate reference").
COSINE_METRICS = frozenset(
    {"cos_layers", "deep_cos", "gamma", "rho", "nudge", "rho_layers", "nudge_layers"}
)


def is_cosine_metric(metric: str) -> bool:
    """A cosine-type metric: cos_layers, deep_cos, gamma, rho, nudge (and per-layer), null_*."""
    return metric in COSINE_METRICS or (metric.startswith("null_") and metric != "null_draws")


def _final_entry(run: Any) -> dict[str, Any]:
    """The log entry a final value is read at (its epoch and g_norm): `final`, else the last log."""
    res = run.result or {}
    final = dict(res.get("final") or {})
    log = res.get("log") or []
    if log:
        final = {**log[-1], **final}
    return final


def degenerate_reference(run: Any, entry: dict[str, Any]) -> dict[str, Any] | None:
    """{run, seed, epoch, g_norm, floor} when the BP reference was degenerate at this log entry:
    its `ref_degenerate` flag, else g_norm below the run's protocol floor (g_floor scaled to its
    evaluation batch, as (b) uses it)."""
    res = run.result or {}
    thresholds = (
        ((res.get("protocol") or {}).get("thresholds") or {})
        if isinstance(res.get("protocol"), dict)
        else {}
    )
    floor = _floor_used(thresholds)
    g = entry.get("g_norm")
    flag = entry.get("ref_degenerate")
    dead = bool(flag) if _number(flag) else (_number(g) and g < floor)
    if not dead:
        return None
    return {
        "run": run.run_id,
        "seed": run.seed,
        "epoch": entry.get("epoch"),
        "g_norm": g,
        "floor": floor,
    }


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _floor_used(thresholds: dict[str, Any]) -> float:
    """The floor the run was judged with: its g_floor (the default when not recorded) scaled to
    its evaluation batch (faspec.protocol.g_floor_at), so the sentence quotes the floor used."""
    from faspec import protocol

    known = {k: v for k, v in thresholds.items() if k != "g_floor" or _number(v)}
    return protocol.g_floor_at({**protocol.defaults(), **known})
