"""The figure of one claim, as a self-contained base64 PNG `<img>` or an inline SVG placeholder.

The figure follows the claim's shape (`claim_view.shape_of`):

* `for_each` claims: the metric against the sweep axis, per-seed dots and the mean per method;
* `by epoch` claims and protocol claims (on `growth` or `g_norm`): per-epoch curves, log scale
  where the metric spans decades, with the claim's constants and the protocol thresholds
  (1e-7 gradient floor, 50x growth) as lines;
* every other claim (orderings, equivalences, one-sample): per-seed dots with mean ± std (ddof=1)
  per operand.

Colours are fixed per method label across every figure (`colour`). A figure never costs the
report: any failure to draw becomes a placeholder that says why. matplotlib is imported only when
a figure is drawn.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from faspec.report.claim_view import (
    THRESHOLDS,
    Operand,
    Shape,
    claim_id_of,
    curve,
    final_value,
    finite,
    label_of,
    per_seed_values,
    runs_of,
    shape_of,
    varying_axis,
)
from faspec.report.common import fmt
from faspec.report.protocol_figure import protocol_figure

PALETTE = {
    "bp": "#1f77b4",
    "fa": "#2ca02c",
    "dfa": "#d62728",
    "frozen": "#7f7f7f",
    "ep": "#9467bd",
    "sb": "#ff7f0e",
    "cb": "#8c564b",
}
_OTHERS = (
    "#17becf",
    "#bcbd22",
    "#e377c2",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#3182bd",
    "#e6550d",
    "#31a354",
    "#756bb1",
    "#636363",
    "#c51b8a",
)
LINESTYLES = ("-", "--", "-.", ":")  # operands of one method in one panel (cos_layers[0] vs [3])


def colour(label: str) -> str:
    """The colour of a method label: fixed for the known methods, a stable hash for others."""
    if label in PALETTE:
        return PALETTE[label]
    h = int(hashlib.sha256(label.encode()).hexdigest(), 16)
    return _OTHERS[h % len(_OTHERS)]


# ---------------------------------------------------------------------------------------------
# Figures


def _fig(width: float = 6.4, height: float = 3.6, ncols: int = 1) -> tuple[Any, list[Any]]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * (1 if ncols == 1 else 0.62 * ncols), height), dpi=100)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def _png(fig: Any, alt: str) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img class="plot" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def no_data(reason: str) -> str:
    """A figure placeholder (inline SVG) for a claim with nothing to draw."""
    text = html.escape(reason)
    return (
        '<svg class="plot nodata" role="img" xmlns="http://www.w3.org/2000/svg" width="640" height="70" '
        f'viewBox="0 0 640 70"><title>{text}</title><rect x="1" y="1" width="638" height="68" rx="6" '
        'fill="#f6f8fa" stroke="#d0d7de" stroke-dasharray="6 4"/>'
        f'<text x="320" y="41" text-anchor="middle" font-family="sans-serif" font-size="15" '
        f'fill="#57606a">{text}</text></svg>'
    )


def _spans_decades(values: Iterable[float], decades: float = 2.0) -> bool:
    vals = [v for v in values if finite(v)]
    if not vals or min(vals) <= 0:
        return False
    return math.log10(max(vals) / min(vals)) >= decades


def _hlines(ax: Any, metric: str, constants: dict[str, list[float]], log: bool) -> None:
    lines: dict[float, str] = {c: f"{fmt(c)}" for c in constants.get(metric, [])}
    if metric in THRESHOLDS:
        t, name = THRESHOLDS[metric]
        lines[t] = name
    for y, name in lines.items():
        if log and y <= 0:
            continue
        ax.axhline(y, color="#444", lw=1, ls="--", zorder=1)
        ax.annotate(
            name,
            xy=(1, y),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 3),
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize=8,
            color="#444",
        )


def dots_figure(
    claim: dict[str, Any],
    sh: Shape,
    rows: list[dict[str, Any]],
    results: dict[str, dict[str, Any] | None],
) -> str | None:
    """Per-seed dots with mean ± std (ddof=1) per operand."""
    groups: list[tuple[str, str, list[float]]] = []  # (name, label, values)
    labels = {o.method for o in sh.operands} | {str(r.get("label")) for r in rows}
    many = len(sh.numbers.points) > 1
    for pn in sh.numbers.points:
        where = ", ".join(f"{k}={v}" for k, v in pn.point.items())
        for key, s in pn.operands.items():
            vals = [v for _, v in per_seed_values(s)]
            if vals:
                groups.append((f"{key} @ {where}" if many else key, label_of(key, labels), vals))
    if not groups:
        for op in sh.operands:
            vals = [
                v
                for r in rows
                if r.get("label") == op.method
                if (v := final_value(results.get(r["run"]), op)) is not None
            ]
            if vals:
                groups.append((op.name, op.method, vals))
    if not groups:
        return None
    fig, (ax,) = _fig()
    allv = [v for _, _, vs in groups for v in vs]
    for i, (_name, label, vals) in enumerate(groups):
        c = colour(label)
        jitter = np.linspace(-0.12, 0.12, len(vals)) if len(vals) > 1 else np.zeros(1)
        ax.scatter(
            i + jitter,
            vals,
            color=c,
            alpha=0.75,
            s=28,
            zorder=3,
            edgecolors="white",
            linewidths=0.5,
        )
        m = float(np.mean(vals))
        sd = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
        ax.errorbar(
            [i + 0.3],
            [m],
            yerr=[sd] if len(vals) > 1 else None,
            fmt="D",
            color=c,
            ms=6,
            capsize=4,
            zorder=4,
        )
    metrics = {o.metric for o in sh.operands}
    log = _spans_decades(allv)
    if log:
        ax.set_yscale("log")
    for m in metrics or {sh.metric}:
        _hlines(ax, m, sh.constants, log)
    ax.set_xticks(range(len(groups)), [g[0] for g in groups], rotation=15 if len(groups) > 4 else 0)
    ax.set_xlim(-0.6, len(groups) - 0.3)
    ax.set_ylabel(", ".join(sorted(metrics)) or "value")
    ax.set_title(f"{claim.get('expect', '')}   (dots: seeds; ◆: mean ± std, ddof=1)", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig, f"per-seed values of {claim_id_of(claim)}")


def curves_figure(
    claim: dict[str, Any],
    sh: Shape,
    rows: list[dict[str, Any]],
    results: dict[str, dict[str, Any] | None],
) -> str | None:
    """Per-epoch curves, one line per seed and operand, one panel per metric."""
    by_metric: dict[str, list[Operand]] = {}
    for op in sh.operands:
        by_metric.setdefault(op.metric, []).append(op)
    panels = []
    for metric, ops in by_metric.items():
        lines = []
        for op in ops:
            for r in rows:
                if r.get("label") == op.method:
                    xs, ys = curve(results.get(r["run"]), op)
                    if xs:
                        lines.append((op, r.get("seed"), xs, ys))
        if lines:
            panels.append((metric, lines))
    if not panels:
        return None
    fig, axes = _fig(ncols=min(len(panels), 3))
    for ax, (metric, lines) in zip(axes, panels, strict=False):
        allv = [y for *_, ys in lines for y in ys]
        log = _spans_decades(allv + [t[0] for m, t in THRESHOLDS.items() if m == metric])
        labelled: set[str] = set()
        styles = {
            op.name: LINESTYLES[i % len(LINESTYLES)] for i, op in enumerate(by_metric[metric])
        }
        for op, _seed, xs, ys in lines:
            name = op.name
            ax.plot(
                xs,
                ys,
                color=colour(op.method),
                ls=styles[name],
                lw=1.4,
                alpha=0.85,
                marker="." if len(xs) < 30 else None,
                label=None if name in labelled else name,
            )
            labelled.add(name)
        if log:
            ax.set_yscale("log")
        _hlines(ax, metric, sh.constants, log)
        if sh.by_epoch is not None:
            ax.axvline(sh.by_epoch, color="#444", lw=1, ls=":")
            ax.annotate(
                f"by epoch {sh.by_epoch}",
                xy=(sh.by_epoch, 1),
                xycoords=("data", "axes fraction"),
                xytext=(3, -12),
                textcoords="offset points",
                fontsize=8,
                color="#444",
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, frameon=False)
    axes[0].set_title(f"{claim.get('expect', '')}   (one line per seed)", fontsize=9, loc="left")
    return _png(fig, f"per-epoch curves of {claim_id_of(claim)}")


def _axis_value(point: dict[str, Any], axis: str) -> Any:
    if axis in point:
        return point[axis]
    for k, v in point.items():  # `for_each: blocks` naming the last part of `model.blocks`
        if k.split(".")[-1] == axis.split(".")[-1]:
            return v
    return None


def _series_from_numbers(sh: Shape) -> list[tuple[str, str, str, dict[Any, list[float]]]]:
    """(operand key, method label, metric, {axis value: per-seed values}) from the verdict."""
    axis = str(sh.for_each)
    labels = {o.method for o in sh.operands}
    out: dict[str, tuple[str, str, str, dict[Any, list[float]]]] = {}
    for pn in sh.numbers.points:
        x = _axis_value(pn.point, axis)
        if x is None:
            continue
        for key, s in pn.operands.items():
            vals = [v for _, v in per_seed_values(s)]
            if vals:
                metric = str(s.get("metric") or key.split(".", 1)[-1])
                entry = out.setdefault(key, (key, label_of(key, labels), metric, {}))
                entry[3].setdefault(x, []).extend(vals)
    return list(out.values())


def _series_from_runs(
    sh: Shape, rows: list[dict[str, Any]], results: dict[str, dict[str, Any] | None]
) -> list[tuple[str, str, str, dict[Any, list[float]]]]:
    axis = str(sh.for_each)
    out = []
    for op in sh.operands:
        pts: dict[Any, list[float]] = {}
        for r in rows:
            x = _axis_value(r.get("point") or {}, axis)
            if r.get("label") != op.method or x is None:
                continue
            v = final_value(results.get(r["run"]), op)
            if v is not None:
                pts.setdefault(x, []).append(v)
        if pts:
            out.append((op.name, op.method, op.metric, pts))
    return out


def sweep_figure(
    claim: dict[str, Any],
    sh: Shape,
    rows: list[dict[str, Any]],
    results: dict[str, dict[str, Any] | None],
) -> str | None:
    """The metric against the sweep axis: per-seed dots and the mean per operand."""
    axis = str(sh.for_each)
    series = _series_from_numbers(sh) or _series_from_runs(sh, rows, results)
    if not series:
        return None
    xs_all = sorted(
        {x for *_, pts in series for x in pts},
        key=lambda x: (not finite(x), x if finite(x) else str(x)),
    )
    numeric = all(finite(x) for x in xs_all)
    pos = {x: (float(x) if numeric else float(i)) for i, x in enumerate(xs_all)}
    fig, (ax,) = _fig()
    allv = []
    for name, label, _metric, pts in series:
        c = colour(label)
        keys = [x for x in xs_all if x in pts]
        for x in keys:
            ax.scatter([pos[x]] * len(pts[x]), pts[x], color=c, alpha=0.6, s=20, zorder=3)
            allv += pts[x]
        ax.plot(
            [pos[x] for x in keys],
            [float(np.mean(pts[x])) for x in keys],
            color=c,
            lw=1.6,
            marker="D",
            ms=5,
            label=name,
            zorder=4,
        )
    if numeric and _spans_decades(xs_all, 1.0) and len(xs_all) > 2:
        ax.set_xscale("log", base=2)
    ax.set_xticks([pos[x] for x in xs_all], [str(x) for x in xs_all])
    ax.minorticks_off()
    log = _spans_decades(allv)
    if log:
        ax.set_yscale("log")
    metrics = sorted({m for _, _, m, _ in series})
    for m in metrics:
        _hlines(ax, m, sh.constants, log)
    ax.set_xlabel(axis)
    ax.set_ylabel(", ".join(metrics))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(
        f"{claim.get('expect', '')}  for each {axis}   (dots: seeds; line: mean)", fontsize=9
    )
    return _png(fig, f"{claim_id_of(claim)} across {axis}")


def figure(
    claim: dict[str, Any],
    results: dict[str, dict[str, Any] | None],
    cells: list[dict[str, Any]] | None = None,
) -> str:
    """The figure of one claim, chosen by its shape; an SVG placeholder when nothing can be drawn."""
    sh = shape_of(claim)
    rows = runs_of(claim, cells)
    if sh.for_each is None:  # decided (or run) at several sweep points: plotted along them
        sh.for_each = varying_axis(p.point for p in sh.numbers.points) or varying_axis(
            r.get("point") or {} for r in rows
        )
    try:  # a protocol claim: its diagnostics per epoch and seed, thresholds, first firings
        out = protocol_figure(claim, rows, results, _fig, _png, colour)
    except Exception as e:  # a figure must never cost the report
        return no_data(f"figure failed: {type(e).__name__}: {e}"[:120])
    if out:
        return out
    makers = {"sweep": sweep_figure, "curves": curves_figure, "dots": dots_figure}
    order = [sh.kind] + [k for k in ("dots",) if k != sh.kind]
    for kind in order:
        try:
            out = makers[kind](claim, sh, rows, results)
        except Exception as e:  # a figure must never cost the report
            return no_data(f"figure failed: {type(e).__name__}: {e}"[:120])
        if out:
            return out
    return no_data(f"no data to plot ({claim.get('verdict', '?')})")
