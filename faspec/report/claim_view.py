"""What a claim is about and what its verdict holds, read for display (HTML page and figures).

`shape_of` parses a claim's `expect` with the spec's own grammar into its operands (method,
metric, layer index), the constants it compares against, an epoch bound and a sweep axis.
`read_numbers` reads a verdict's `numbers` generically: operand summaries ({mean, n, ...}), the
statistical tests (`links`), per-seed rows and every other field as (name, value) pairs, so a
field that check/claims.py adds later is shown without a change here. `final_value` and `curve`
read a stored result's final metrics and per-epoch log. Nothing here draws or writes HTML.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from faspec.report.common import fmt
from faspec.spec.expr import Arith, Const, ExprError, comparisons, parse

# Protocol thresholds drawn on curves of these metrics (docs/paper.md, protocol (a) and (b)):
# per-block growth above 50x, a gradient at h_L below 1e-7.
THRESHOLDS = {"g_norm": (1e-7, "1e-7 floor"), "growth": (50.0, "50× growth")}


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
        terms = [
            x for t in comp.operands for x in ((t.left, t.right) if isinstance(t, Arith) else (t,))
        ]
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


def claim_id_of(claim: dict[str, Any]) -> str:
    return str(claim.get("claim_id") or "?")


def finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _pick(entry: dict[str, Any], op: Operand) -> float | None:
    v = entry.get(op.metric)
    if op.index is not None:
        v = v[op.index] if isinstance(v, list) and -len(v) <= op.index < len(v) else None
    return float(v) if finite(v) else None


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
        if y is not None and finite(entry.get("epoch")):
            xs.append(float(entry["epoch"]))
            ys.append(y)
    return xs, ys


def runs_of(claim: dict[str, Any], cells: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
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


def per_seed_values(s: dict[str, Any]) -> list[tuple[Any, float]]:
    """(seed, value) pairs of an operand summary (seed None when the summary has no seeds)."""
    vals = s.get("values", s.get("per_seed"))
    if isinstance(vals, dict):
        return [(k, float(v)) for k, v in vals.items() if finite(v)]
    if isinstance(vals, list):
        seeds = s.get("seeds") if isinstance(s.get("seeds"), list) else [None] * len(vals)
        return [(sd, float(v)) for sd, v in zip(seeds, vals, strict=False) if finite(v)]
    return []


def label_of(key: str, labels: Iterable[str]) -> str:
    """Which method an operand key (`fa.test_acc`, `dfa.cos_layers[0]`) is about."""
    parts = [p for p in key.replace("[", ".").replace("]", "").split(".") if p]
    for p in parts:
        if p in labels:
            return p
    return parts[0] if parts else key


def varying_axis(points: Iterable[dict[str, Any]]) -> str | None:
    """The first axis whose value differs between these sweep points."""
    values: dict[str, set[str]] = {}
    for p in points:
        for k, v in p.items():
            values.setdefault(k, set()).add(json.dumps(v, sort_keys=True, default=str))
    return next((k for k, vs in values.items() if len(vs) > 1), None)
