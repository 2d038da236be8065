r"""The values a paper may print for its claims, measured from the store.

One `ClaimValue` per (claim, method operand[, point]): the final value of the operand's metric
over the claim's seeds, with mean, std (ddof=1) and n, the run ids behind it and the paper's
`reported:` number when the spec types one. Both halves of the audit use it: `faspec macros`
writes these values as LaTeX macros, and `faspec audit` checks printed numbers and macro uses
against them.

Which operands a claim has: every `method[.metric][[index]]` its expression names, plus every
`reported:` key. The operand is named `label` when its metric is the claim's metric, else
`label.metric` (and `label.metric[i]` for one layer of a per-layer metric) — the same words the
spec uses. A `for_each` claim has one value per point, named `claim@value` (e.g.
`fa-deep-credit@8`); a claim id that two loaded specs share is named `spec/claim`.

The value of a run is what `verify` uses for `reported:` checks: `final[metric]`, else the last
log entry's; a run that is missing, failed or diverged, or that lacks the metric, makes the
whole value unsourced (missing) or an error, with the reason.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from faspec.spec.model import Claim, Reported, Spec
from faspec.spec.reported import parse_key
from faspec.store import Store

if TYPE_CHECKING:  # the plan imports the trainer (torch); the audit itself does not need it
    from faspec.plan import Plan

__all__ = ["ClaimValue", "claim_values", "operands"]


@dataclass
class ClaimValue:
    """One measured operand of one claim (at one point of a `for_each` claim)."""

    spec: str
    claim: str  # the claim id
    ref: str  # how macros and reports name the claim: id, `spec/id`, `id@point`
    method: str  # the operand as a macro names it: `fa`, `fa.deep_cos`, `fa.cos_layers[3]`
    label: str  # the method label
    metric: str
    index: int | None = None
    where_paper: str = ""  # the claim's `where:`
    point: dict[str, Any] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    epochs: list[int] = field(default_factory=list)  # train.epochs of its runs (distinct)
    status: str = "ok"  # "ok" | "unsourced" | "error"
    reason: str = ""
    reported: Reported | None = None

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float | None:
        return math.fsum(self.values) / len(self.values) if self.values else None

    @property
    def std(self) -> float | None:
        """Sample std (ddof=1); None below two seeds, as everywhere in faspec."""
        if len(self.values) < 2:
            return None
        m = self.mean
        assert m is not None
        return math.sqrt(math.fsum((v - m) ** 2 for v in self.values) / (len(self.values) - 1))

    def measured(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "n": self.n, "values": list(self.values)}

    def describe(self) -> str:
        """`0.4013 ± 0.0087 (n=3)`: the measurement in one phrase."""
        if self.status != "ok":
            return self.status
        s = f"{_g(self.mean)}"
        if self.std is not None:
            s += f" ± {_g(self.std, 2)}"
        return s + f" (n={self.n})"


def _g(x: float | None, digits: int = 4) -> str:
    return "—" if x is None else f"{x:.{digits}g}"


def operands(claim: Claim) -> list[tuple[str, str, str, int | None]]:
    """(name, label, metric, index) of every operand the claim names, in spec order."""
    return [(name, label, metric, index) for name, label, metric, index, _ in _operands(claim)]


def _operands(claim: Claim) -> list[tuple[str, str, str, int | None, Reported | None]]:
    out: dict[str, tuple[str, str, str, int | None, Reported | None]] = {}

    def add(label: str, metric: str | None, index: int | None, rep: Reported | None = None) -> str:
        metric = metric or claim.metric
        name = label if metric == claim.metric and index is None else f"{label}.{metric}"
        if index is not None:
            name += f"[{index}]"
        old = out.get(name)
        if old is None or (rep is not None and old[4] is None):
            out[name] = (name, label, metric, index, rep)
        return name

    def walk(node: Any) -> None:
        if dataclasses.is_dataclass(node) and not isinstance(node, type):
            if type(node).__name__ == "Operand" and isinstance(getattr(node, "method", None), str):
                add(node.method, getattr(node, "metric", None), getattr(node, "index", None))
            for f in dataclasses.fields(node):
                walk(getattr(node, f.name))
        elif isinstance(node, list | tuple):
            for x in node:
                walk(x)

    walk(claim.expr)
    for key, rep in claim.reported.items():
        label, metric, index, epoch = parse_key(key)  # `fa.cos_layers[0]`, `x.g_norm at epoch 4`
        if epoch is None and not isinstance(index, tuple):  # one final value per run
            add(label, metric or None, index, rep)
    return list(out.values())


def _run_value(result: dict[str, Any], metric: str, index: int | None) -> Any:
    final = result.get("final") or {}
    if metric in final:
        v = final[metric]
    else:
        log = result.get("log") or []
        v = log[-1].get(metric) if log else None
    if index is not None:
        v = v[index] if isinstance(v, list) and -len(v) <= index < len(v) else None
    return v


def claim_values(specs: Iterable[Spec], plan: Plan, store: Store) -> list[ClaimValue]:
    """Every operand of every claim, measured from `store` (reads each result once)."""
    specs = list(specs)
    id_count = Counter(c.id for s in specs for c in s.claims)
    cache: dict[str, dict[str, Any] | None] = {}

    def get(rid: str) -> dict[str, Any] | None:
        if rid not in cache:
            cache[rid] = store.get(rid)
        return cache[rid]

    out: list[ClaimValue] = []
    for spec in specs:
        for claim in spec.claims:
            if claim.experiment not in spec.experiments:
                continue
            cells = plan.cells_of(spec.name, claim.experiment)
            keys = [
                k for k in cells if all(dict(k).get(a, _MISSING) == v for a, v in claim.at.items())
            ]
            if claim.for_each:
                groups = [(dict(k).get(claim.for_each), k) for k in keys]
            elif len(keys) == 1:
                groups = [(None, keys[0])]
            else:
                continue  # verify reports the ambiguity; there is no one value to print
            base = claim.id if id_count[claim.id] == 1 else f"{spec.name}/{claim.id}"
            for axis_value, key in groups:
                ref = base if axis_value is None else f"{base}@{axis_value}"
                point = {} if axis_value is None else {claim.for_each: axis_value}
                for name, label, metric, index, rep in _operands(claim):
                    cv = ClaimValue(
                        spec=spec.name,
                        claim=claim.id,
                        ref=ref,
                        method=name,
                        label=label,
                        metric=metric,
                        index=index,
                        where_paper=claim.where_paper,
                        point=point,
                        reported=rep if not point else None,
                    )
                    _measure(cv, cells[key].get(label, []), get, plan)
                    out.append(cv)
    return out


_MISSING = object()


def _measure(cv: ClaimValue, seeds: list[tuple[int, str]], get: Any, plan: Plan) -> None:
    missing, bad = [], []
    epochs: list[int] = []
    for seed, rid in seeds:
        cv.runs.append(rid)
        cv.seeds.append(seed)
        e = ((plan.runs.get(rid) or {}).get("train") or {}).get("epochs")
        if isinstance(e, int) and e not in epochs:
            epochs.append(e)
        res = get(rid)
        if res is None:
            missing.append(f"{cv.label} seed {seed} (run {rid})")
            continue
        if res.get("status", "ok") != "ok":
            bad.append(f"run {rid} ({cv.label}, seed {seed}) {res.get('status')}")
            continue
        v = _run_value(res, cv.metric, cv.index)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            bad.append(f"run {rid} ({cv.label}, seed {seed}) has no value of {cv.method}")
            continue
        cv.values.append(float(v))
    cv.epochs = epochs
    if not seeds:
        cv.status, cv.reason = "unsourced", f"no runs of '{cv.label}' at this point"
    elif bad:
        cv.status, cv.reason = "error", "; ".join(bad)
    elif missing:
        cv.status, cv.reason = "unsourced", "no stored result for " + ", ".join(missing)
    if cv.status != "ok":
        cv.values = []
