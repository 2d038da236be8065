"""The HTML report (`reports/<spec>.html`) and the index over every report of a folder.

One self-contained file per spec: no script, no stylesheet or font from the network, every figure a
base64 PNG `<img>` (or an inline `<svg>` placeholder when a claim has no data to draw). Input is
the JSON report (`json_report.build`), the stored results (per-epoch logs for curves) and,
optionally, the spec's cells (`cells_for(plan, spec_name)`: which method label, seed and sweep
point each run is), which the JSON report does not carry.

The figure follows the claim's shape:

* `for_each` claims: the metric against the sweep axis, per-seed dots and the mean per method;
* `by epoch` claims and protocol claims (on `growth` or `g_norm`): per-epoch curves, log scale
  where the metric spans decades, with the claim's constants and the protocol thresholds
  (1e-7 gradient floor, 50x growth) as lines;
* every other claim (orderings, equivalences, one-sample): per-seed dots with mean ± std (ddof=1)
  per operand.

Colours are fixed per method label across every figure (`colour`).
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faspec.report.common import STD_NOTE, VERDICTS, fmt, reported_row

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
# Protocol thresholds drawn on curves of these metrics (DOMAIN.md: (a) growth > 50, (b) g < 1e-7).
THRESHOLDS = {"g_norm": (1e-7, "1e-7 floor"), "growth": (50.0, "50× growth")}
LINESTYLES = ("-", "--", "-.", ":")  # operands of one method in one panel (cos_layers[0] vs [3])
BADGE = {
    "pass": "#1a7f37",
    "fail": "#cf222e",
    "inconclusive": "#9a6700",
    "error": "#8250df",
    "unsourced": "#0969da",
}


def colour(label: str) -> str:
    """The colour of a method label: fixed for the known methods, a stable hash for others."""
    if label in PALETTE:
        return PALETTE[label]
    h = int(hashlib.sha256(label.encode()).hexdigest(), 16)
    return _OTHERS[h % len(_OTHERS)]


def cells_for(plan: Any, spec_name: str) -> list[dict[str, Any]]:
    """The cells of one spec as plain rows: experiment, method label, seed, sweep point, run."""
    return [
        {
            "experiment": c.experiment,
            "label": c.label,
            "seed": c.seed,
            "point": dict(c.point),
            "run": rid,
        }
        for c, rid in plan.cells.items()
        if c.spec == spec_name
    ]


# ---------------------------------------------------------------------------------------------
# What a claim is about: its operands, constants, epoch bound, sweep axis


@dataclass
class Operand:
    method: str
    metric: str
    index: int | None = None

    @property
    def name(self) -> str:
        out = f"{self.method}.{self.metric}"
        return out if self.index is None else f"{out}[{self.index}]"


@dataclass
class Shape:
    operands: list[Operand] = field(default_factory=list)
    constants: dict[str, list[float]] = field(default_factory=dict)  # metric -> constants
    by_epoch: int | None = None
    for_each: str | None = None
    metric: str = "test_acc"  # the claim's default metric
    numbers: Numbers = field(default_factory=lambda: Numbers())

    @property
    def kind(self) -> str:
        if self.for_each:
            return "sweep"
        if self.by_epoch is not None or any(o.metric in THRESHOLDS for o in self.operands):
            return "curves"
        return "dots"


def shape_of(claim: dict[str, Any]) -> Shape:
    """Parse the claim's `expect` (with the spec's own grammar); an unparsable one has no operands."""
    from faspec.spec.expr import Const, ExprError, comparisons, parse

    nums = read_numbers(claim.get("numbers"))
    default_metric = str(claim.get("metric") or nums.settings.get("metric") or "test_acc")
    sh = Shape(for_each=claim.get("for_each") or None, metric=default_metric, numbers=nums)
    try:
        node = parse(str(claim.get("expect") or ""))
    except ExprError:
        return sh
    seen: set[str] = set()
    for comp in comparisons(node):
        if comp.by_epoch is not None:
            sh.by_epoch = comp.by_epoch if sh.by_epoch is None else max(sh.by_epoch, comp.by_epoch)
        metrics = []
        # a difference or ratio term (`fa - frozen`) plots both of its operands
        terms = [x for y in comp.operands for x in getattr(y, "left", None) and (y.left, y.right) or (y,)]
        for t in terms:
            if isinstance(t, Const):
                continue
            op = Operand(t.method, t.metric_or(default_metric), t.index)
            metrics.append(op.metric)
            if op.name not in seen:
                seen.add(op.name)
                sh.operands.append(op)
        for t in comp.operands:
            if isinstance(t, Const):
                for m in metrics or [default_metric]:
                    sh.constants.setdefault(m, []).append(t.value)
    return sh


# ---------------------------------------------------------------------------------------------
# Values from results


def _cid(claim: dict[str, Any]) -> str:
    return str(claim.get("claim_id") or "?")


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _pick(entry: dict[str, Any], op: Operand) -> float | None:
    v = entry.get(op.metric)
    if op.index is not None:
        v = v[op.index] if isinstance(v, list) and -len(v) <= op.index < len(v) else None
    return float(v) if _finite(v) else None


def final_value(result: dict[str, Any] | None, op: Operand) -> float | None:
    """The operand's value at the end of a run: `final`, else the last logged epoch."""
    if not result:
        return None
    v = _pick(result.get("final") or {}, op)
    if v is None and result.get("log"):
        v = _pick(result["log"][-1], op)
    return v


def curve(result: dict[str, Any] | None, op: Operand) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for entry in (result or {}).get("log") or []:
        y = _pick(entry, op)
        if y is not None and _finite(entry.get("epoch")):
            xs.append(float(entry["epoch"]))
            ys.append(y)
    return xs, ys


def _runs_by_label(
    claim: dict[str, Any], cells: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """The claim's runs as rows {run, label, seed, point}; from the cells when given, else from the
    report's run details (the method name then stands for the label)."""
    runs = list(claim.get("runs") or [])
    if cells:
        exp = claim.get("experiment")
        wanted = set(runs)
        rows = [c for c in cells if c["run"] in wanted and (exp is None or c["experiment"] == exp)]
        if rows:
            return rows
    return [
        {"run": r.get("run"), "label": r.get("method"), "seed": r.get("seed"), "point": {}}
        for r in claim.get("run_details") or []
    ]


def _is_summary(d: Any) -> bool:
    return isinstance(d, dict) and "mean" in d and "n" in d


@dataclass
class PointNumbers:
    """The numbers of one decided point: operand summaries, tests (links), per-seed rows, the rest."""

    point: dict[str, Any] = field(default_factory=dict)
    verdict: str | None = None
    message: str | None = None
    operands: dict[str, dict[str, Any]] = field(default_factory=dict)
    links: list[dict[str, Any]] = field(default_factory=list)
    per_seed: list[dict[str, Any]] = field(default_factory=list)
    other: list[tuple[str, Any]] = field(default_factory=list)


@dataclass
class Numbers:
    """A verdict's `numbers`, as the report reads them: the settings (test, alpha, metric, seeds)
    and one entry per decided point (several for `for_each`). The shape is check/claims.py's
    (`{alpha, test, metric, seeds, points: [{point, verdict, message, operands, links, per_seed,
    items...}]}`); any other dict is read as one point, its {mean, n} dicts as operands."""

    settings: dict[str, Any] = field(default_factory=dict)
    points: list[PointNumbers] = field(default_factory=list)

    @property
    def axis(self) -> str | None:
        """The sweep axis when the claim was decided at several points (for_each)."""
        if len(self.points) < 2:
            return None
        values: dict[str, set[str]] = {}
        for p in self.points:
            for k, v in p.point.items():
                values.setdefault(k, set()).add(json.dumps(v, sort_keys=True, default=str))
        return next((k for k, vs in values.items() if len(vs) > 1), None)


_SETTINGS = ("test", "alpha", "metric", "seeds")


def read_numbers(numbers: Any) -> Numbers:
    out = Numbers()
    if not isinstance(numbers, dict):
        return out
    points = numbers.get("points")
    if isinstance(points, list):
        out.settings = {k: numbers[k] for k in _SETTINGS if k in numbers}
        rest = {k: v for k, v in numbers.items() if k not in _SETTINGS and k != "points"}
        for p in points:
            if isinstance(p, dict):
                pn = PointNumbers(
                    point=p.get("point") if isinstance(p.get("point"), dict) else {},
                    verdict=p.get("verdict"),
                    message=p.get("message"),
                )
                _walk(p, pn, "", top=True)
                out.points.append(pn)
        if rest:
            pn = out.points[0] if out.points else PointNumbers()
            _walk(rest, pn, "")
            if not out.points:
                out.points.append(pn)
    elif numbers:
        out.settings = {
            k: numbers[k] for k in _SETTINGS if isinstance(numbers.get(k), int | float | str)
        }
        pn = PointNumbers()
        _walk({k: v for k, v in numbers.items() if k not in out.settings}, pn, "")
        out.points.append(pn)
    return out


def _walk(d: dict[str, Any], pn: PointNumbers, prefix: str, top: bool = False) -> None:
    for k, v in d.items():
        if top and k in ("point", "verdict", "message"):
            continue
        if k in ("expr", "op") and isinstance(v, str):
            continue  # and/or/not structure and the comparison text: shown by the rule
        if k == "operands" and isinstance(v, dict):
            for key, s in v.items():
                if _is_summary(s):
                    pn.operands.setdefault(str(key), s)
        elif k == "links" and isinstance(v, list):
            pn.links += [x for x in v if isinstance(x, dict)]
        elif k == "per_seed" and isinstance(v, list) and all(isinstance(x, dict) for x in v):
            pn.per_seed += v
        elif _is_summary(v):
            pn.operands.setdefault(prefix + str(k), v)
        elif isinstance(v, dict):
            _walk(v, pn, f"{prefix}{k}.")
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for x in v:
                _walk(x, pn, prefix if k in ("items",) else f"{prefix}{k}.")
        elif isinstance(v, list):
            if v:
                pn.other.append((prefix + str(k), ", ".join(fmt(x) for x in v)))
        elif v is not None and v != "":
            pn.other.append((prefix + str(k), v))


def _per_seed(s: dict[str, Any]) -> list[tuple[Any, float]]:
    """(seed, value) pairs of an operand summary (seed None when the summary has no seeds)."""
    vals = s.get("values", s.get("per_seed"))
    if isinstance(vals, dict):
        return [(k, float(v)) for k, v in vals.items() if _finite(v)]
    if isinstance(vals, list):
        seeds = s.get("seeds") if isinstance(s.get("seeds"), list) else [None] * len(vals)
        return [(sd, float(v)) for sd, v in zip(seeds, vals, strict=False) if _finite(v)]
    return []


def _label_of(key: str, labels: Iterable[str]) -> str:
    """Which method an operand key (`fa.test_acc`, `dfa.cos_layers[0]`) is about."""
    parts = [p for p in key.replace("[", ".").replace("]", "").split(".") if p]
    for p in parts:
        if p in labels:
            return p
    return parts[0] if parts else key


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
    vals = [v for v in values if _finite(v)]
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
    import numpy as np

    groups: list[tuple[str, str, list[float]]] = []  # (name, label, values)
    labels = {o.method for o in sh.operands} | {str(r.get("label")) for r in rows}
    many = len(sh.numbers.points) > 1
    for pn in sh.numbers.points:
        where = ", ".join(f"{k}={v}" for k, v in pn.point.items())
        for key, s in pn.operands.items():
            vals = [v for _, v in _per_seed(s)]
            if vals:
                groups.append((f"{key} @ {where}" if many else key, _label_of(key, labels), vals))
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
    return _png(fig, f"per-seed values of {_cid(claim)}")


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
    return _png(fig, f"per-epoch curves of {_cid(claim)}")


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
            vals = [v for _, v in _per_seed(s)]
            if vals:
                metric = str(s.get("metric") or key.split(".", 1)[-1])
                entry = out.setdefault(key, (key, _label_of(key, labels), metric, {}))
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
    import numpy as np

    axis = str(sh.for_each)
    series = _series_from_numbers(sh) or _series_from_runs(sh, rows, results)
    if not series:
        return None
    xs_all = sorted(
        {x for *_, pts in series for x in pts},
        key=lambda x: (not _finite(x), x if _finite(x) else str(x)),
    )
    numeric = all(_finite(x) for x in xs_all)
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
    return _png(fig, f"{_cid(claim)} across {axis}")


def _varying_axis(points: Iterable[dict[str, Any]]) -> str | None:
    """The first axis whose value differs between these sweep points."""
    values: dict[str, set[str]] = {}
    for p in points:
        for k, v in p.items():
            values.setdefault(k, set()).add(json.dumps(v, sort_keys=True, default=str))
    return next((k for k, vs in values.items() if len(vs) > 1), None)


def figure(
    claim: dict[str, Any],
    results: dict[str, dict[str, Any] | None],
    cells: list[dict[str, Any]] | None = None,
) -> str:
    """The figure of one claim, chosen by its shape; an SVG placeholder when nothing can be drawn."""
    sh = shape_of(claim)
    rows = _runs_by_label(claim, cells)
    if sh.for_each is None:  # decided (or run) at several sweep points: plotted along them
        sh.for_each = _varying_axis(p.point for p in sh.numbers.points) or _varying_axis(
            r.get("point") or {} for r in rows
        )
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


# ---------------------------------------------------------------------------------------------
# Pages

CSS = (
    """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;
 padding:0 1em;color:#1f2328;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #d0d7de}
code{background:#f6f8fa;padding:.1em .3em;border-radius:4px;font-size:90%}
table{border-collapse:collapse;margin:.6em 0;font-size:90%} th,td{border:1px solid #d0d7de;padding:.25em .6em;
 text-align:left;vertical-align:top} th{background:#f6f8fa}
.badge{display:inline-block;color:#fff;font-weight:600;font-size:80%;padding:.15em .6em;border-radius:1em;
 letter-spacing:.03em}
"""
    + "".join(f".verdict-{k}{{background:{c}}}" for k, c in BADGE.items())
    + """
.meta{color:#57606a;font-size:90%} .profile{background:#fff8c5;border:1px solid #d4a72c;padding:.6em;
 font-weight:600} .claim{margin-bottom:2.5em} dl{display:grid;grid-template-columns:max-content auto;
 gap:.2em 1em} dt{font-weight:600;color:#57606a} dd{margin:0} img.plot,svg.plot{max-width:100%;display:block;
 margin:.8em 0} .no{color:#cf222e;font-weight:600} details{margin:.5em 0}
"""
)


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def badge(verdict: str, claim_id: str | None = None) -> str:
    v = verdict if verdict in VERDICTS else "error"
    attr = f' data-claim="{_e(claim_id)}"' if claim_id is not None else ""
    return f'<span class="badge verdict-{v}" data-verdict="{_e(verdict)}"{attr}>{_e(verdict.upper())}</span>'


def _anchor(claim_id: str) -> str:
    return "claim-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in claim_id)


def _page(title: str, body: list[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
            *body,
            "</body></html>",
            "",
        ]
    )


def _counts_line(counts: dict[str, int]) -> str:
    return " ".join(f"{badge(k)}&nbsp;{n}" for k, n in counts.items() if n)


def _table(cls: str, head: list[str], rows: list[list[str]]) -> list[str]:
    """A table; cells are already HTML."""
    out = [f'<table class="{cls}"><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows]
    return out + ["</table>"]


def _point_html(pn: PointNumbers) -> list[str]:
    out: list[str] = []
    if pn.operands:
        rows = []
        for key, s in pn.operands.items():
            seeds = ", ".join(
                f"{sd}: {fmt(v)}" if sd is not None else fmt(v) for sd, v in _per_seed(s)
            )
            mean = fmt(s.get("mean"))
            if s.get("geomean") is not None:
                mean += f" (geometric {fmt(s['geomean'])})"
            rows.append(
                [
                    f"<code>{_e(key)}</code>",
                    _e(mean),
                    _e(fmt(s.get("std"))),
                    _e(s.get("n")),
                    _e(seeds),
                ]
            )
        out += _table("stats", ["operand", "mean", "std (ddof=1)", "n", "per seed"], rows)
    if pn.links:
        rows = []
        for lk in pn.links:
            margin = lk.get("margin")
            margin = (
                ", ".join(f"{k} {fmt(v)}" for k, v in margin.items())
                if isinstance(margin, dict)
                else fmt(margin)
            )
            note = str(lk.get("message") or "")
            if lk.get("seeds_needed"):
                note += f" (about {lk['seeds_needed']} seeds would decide)"
            if lk.get("test_note"):
                note += f" [{lk['test_note']}]"
            diff = fmt(lk.get("diff")) + (
                f" ({lk['scale']})" if lk.get("scale") not in (None, "linear") else ""
            )
            rows.append(
                [
                    f"<code>{_e(lk.get('left'))} {_e(lk.get('op'))} {_e(lk.get('right'))}</code>",
                    _e(lk.get("test")),
                    _e(fmt(lk.get("p"))),
                    _e(diff),
                    _e(margin),
                    badge(str(lk["verdict"])) if lk.get("verdict") else "",
                    _e(note),
                ]
            )
        out += _table(
            "tests", ["comparison", "test", "p", "difference", "margin", "verdict", "why"], rows
        )
    if pn.per_seed:
        rows = []
        for r in pn.per_seed:
            vals = r.get("values") if isinstance(r.get("values"), dict) else {}
            rows.append(
                [
                    _e(r.get("seed")),
                    "yes" if r.get("holds") else '<span class="no">no</span>',
                    _e(fmt(r.get("epoch"))),
                    _e(", ".join(f"{k} {fmt(v)}" for k, v in vals.items())),
                ]
            )
        out += _table("per-seed", ["seed", "holds", "epoch", "values"], rows)
    if pn.other:
        out.append(
            '<p class="meta">' + " · ".join(f"{_e(k)}: {_e(fmt(v))}" for k, v in pn.other) + "</p>"
        )
    return out


def _numbers_html(numbers: Any) -> list[str]:
    nums = read_numbers(numbers)
    out = []
    if nums.settings:
        parts = [f"{k} {fmt(v)}" for k, v in nums.settings.items()] + ["std ddof=1"]
        out.append(f'<p class="settings">statistics: {_e(" · ".join(parts))}</p>')
    many = len(nums.points) > 1
    for pn in nums.points:
        if many or pn.point:
            where = ", ".join(f"{k} = {v}" for k, v in pn.point.items()) or "point"
            head = f"<h3>{_e(where)}"
            if pn.verdict:
                head += f" {badge(pn.verdict)}"
            out.append(head + "</h3>")
            if many and pn.message:
                out.append(f"<p>{_e(pn.message)}</p>")
        out += _point_html(pn)
    return out


def _claim_section(
    claim: dict[str, Any],
    results: dict[str, dict[str, Any] | None],
    cells: list[dict[str, Any]] | None,
) -> list[str]:
    cid = _cid(claim)
    verdict = str(claim.get("verdict") or "error")
    out = [
        f'<section class="claim" id="{_anchor(cid)}" data-claim="{_e(cid)}">',
        f"<h2>{badge(verdict, cid)} <code>{_e(cid)}</code></h2>",
        "<dl>",
        f"<dt>expect</dt><dd><code>{_e(claim.get('expect'))}</code></dd>",
    ]
    if claim.get("where"):
        out.append(f"<dt>where</dt><dd>{_e(claim['where'])}</dd>")
    if claim.get("experiment"):
        out.append(f"<dt>experiment</dt><dd><code>{_e(claim['experiment'])}</code></dd>")
    if claim.get("for_each"):
        out.append(f"<dt>for each</dt><dd><code>{_e(claim['for_each'])}</code></dd>")
    out += [
        f"<dt>rule</dt><dd>{_e(claim.get('rule'))}</dd>",
        f"<dt>why</dt><dd>{_e(claim.get('message'))}</dd>",
        "</dl>",
    ]
    out += _numbers_html(claim.get("numbers"))
    reported = [reported_row(r) for r in claim.get("reported") or [] if isinstance(r, dict)]
    if reported:
        rows = [
            [
                f"<code>{_e(r['what'])}</code>",
                _e(r["paper"]),
                _e(r["measured"]),
                _e(r["test"]),
                "yes"
                if r["status"] == "agree"
                else f'<span class="no">{_e(r["status"].upper())}</span>',
                _e(r["why"]),
            ]
            for r in reported
        ]
        out += _table("reported", ["reported", "paper", "measured", "test", "agrees", "why"], rows)
    out.append(f'<figure data-claim="{_e(cid)}">{figure(claim, results, cells)}</figure>')
    runs = claim.get("run_details") or []
    if runs:
        out.append(f"<details><summary>{len(runs)} run{'s' if len(runs) != 1 else ''}</summary>")
        rows = [
            [
                f"<code>{_e(r.get('run'))}</code>",
                _e(r.get("method")),
                _e(r.get("seed")),
                _e(r.get("status")),
                _e(fmt(r.get("wall_s"), 3)),
                _e(r.get("device")),
                _e(r.get("faspec")),
            ]
            for r in runs
        ]
        out += _table(
            "runs", ["run", "method", "seed", "status", "wall s", "device", "faspec"], rows
        )
        out.append("</details>")
    out.append("</section>")
    return out


def render(
    report: dict[str, Any],
    results: dict[str, dict[str, Any] | None],
    cells: list[dict[str, Any]] | None = None,
) -> str:
    """The HTML page of one verified spec, from its JSON report and the stored results."""
    name, title = report.get("spec", "?"), report.get("title") or ""
    claims = report.get("claims") or []
    body = [f"<h1>{_e(name)}{': ' + _e(title) if title else ''}</h1>"]
    if report.get("profile"):
        body.append(
            f'<p class="profile">PROFILE <code>{_e(report["profile"])}</code>: tiny sizes, not the '
            "paper's setting. These verdicts say the pipeline runs, not that the paper's claims hold.</p>"
        )
    body += [
        f'<p class="meta">spec <code>{_e(report.get("path"))}</code> · store <code>{_e(report.get("store"))}'
        f"</code> · faspec {_e(report.get('faspec'))} · {_e(report.get('generated'))} · "
        '<a href="index.html">all reports</a></p>',
        f'<p class="counts">{_counts_line(report.get("counts") or {})}</p>',
        f"<p>{_e(report.get('std') or STD_NOTE)}</p>",
        '<table class="summary"><tr><th>claim</th><th>where</th><th>expect</th><th>verdict</th><th>why</th></tr>',
    ]
    for c in claims:
        cid = _cid(c)
        body.append(
            f'<tr><td><a href="#{_anchor(cid)}"><code>{_e(cid)}</code></a></td><td>{_e(c.get("where"))}</td>'
            f"<td><code>{_e(c.get('expect'))}</code></td><td>{badge(str(c.get('verdict')))}</td>"
            f"<td>{_e(c.get('message'))}</td></tr>"
        )
    body.append("</table>")
    for c in claims:
        body += _claim_section(c, results, cells)
    return _page(f"faspec: {name}", body)


def load_reports(reports_dir: str | Path) -> list[dict[str, Any]]:
    """Every JSON report of a folder (files that are not faspec reports are skipped), by spec name."""
    out = []
    for p in sorted(Path(reports_dir).glob("*.json")):
        try:
            d = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(d, dict) and "spec" in d and isinstance(d.get("claims"), list):
            out.append(d)
    return sorted(out, key=lambda d: str(d["spec"]))


def render_index(reports_dir: str | Path) -> str:
    """The index page over every verified spec whose JSON report lies in `reports_dir`."""
    reports = load_reports(reports_dir)
    body = [
        "<h1>faspec reports</h1>",
        f'<p class="meta">{len(reports)} spec{"s" if len(reports) != 1 else ""} · '
        f"{_e(STD_NOTE)}</p>",
        '<table class="index"><tr><th>spec</th><th>title</th><th>verdicts</th><th>claims</th>'
        "<th>generated</th></tr>",
    ]
    for r in reports:
        name = str(r["spec"])
        link = f"{name}.html"
        exists = (Path(reports_dir) / link).is_file()
        spec_cell = (
            f'<a href="{_e(link)}"><code>{_e(name)}</code></a>'
            if exists
            else f"<code>{_e(name)}</code>"
        )
        claims = "<br>".join(
            f'<a href="{_e(link)}#{_anchor(_cid(c))}" title="{_e(c.get("expect"))}">'
            f"{badge(str(c.get('verdict')), _cid(c))}</a> <code>{_e(_cid(c))}</code>"
            for c in r["claims"]
        )
        profile = f" <b>[PROFILE {_e(r['profile'])}]</b>" if r.get("profile") else ""
        body.append(
            f"<tr><td>{spec_cell}{profile}</td><td>{_e(r.get('title'))}</td>"
            f"<td>{_counts_line(r.get('counts') or {})}</td><td>{claims}</td>"
            f"<td>{_e(r.get('generated'))}</td></tr>"
        )
    body.append("</table>")
    return _page("faspec reports", body)
