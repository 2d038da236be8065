"""From specs to the exact set of training runs they need, each named by a content hash.

A run is identified by the sha256 of the canonical JSON of its *normalized* config (every default
filled in, every component's version included). Two claims, experiments or specs that need the same
training run therefore share one folder in the store and one training job; a default or a
component version that changes gives a new hash, so a stale result is never reused silently.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from faspec.spec.model import Claim, Experiment, PointKey, Spec, Where
from faspec.store import Store
from faspec.train import ConfigError, hash_view, normalize_config

HASH_CHARS = 16


class PlanError(Exception):
    """A spec whose runs cannot be built (an option the trainer rejects), located in the spec."""

    def __init__(self, where: Where, message: str, hint: str = "") -> None:
        self.where, self.message, self.hint = where, message, hint
        super().__init__(f"{where}: {message}" + (f" (hint: {hint})" if hint else ""))


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def run_hash(config: dict[str, Any]) -> str:
    """The run id: sha256 of the canonical JSON of what identifies the result (see hash_view)."""
    return hashlib.sha256(canonical_json(hash_view(config)).encode()).hexdigest()[:HASH_CHARS]


@dataclass(frozen=True)
class Cell:
    """Where a run sits in a spec: the coordinates a claim uses to find its seeds."""

    spec: str
    experiment: str
    point: PointKey
    label: str
    seed: int


@dataclass
class Plan:
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    cells: dict[Cell, str] = field(default_factory=dict)
    claim_runs: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    cells_total: int = 0  # before deduplication

    def claims_per_run(self) -> dict[str, int]:
        counts = {rid: 0 for rid in self.runs}
        for rids in self.claim_runs.values():
            for rid in set(rids):
                counts[rid] += 1
        return counts

    def cells_of(
        self, spec: str, experiment: str
    ) -> dict[PointKey, dict[str, list[tuple[int, str]]]]:
        """Runs of one experiment, by point and method label: the shape claims are decided on."""
        out: dict[PointKey, dict[str, list[tuple[int, str]]]] = {}
        for cell, rid in self.cells.items():
            if cell.spec == spec and cell.experiment == experiment:
                out.setdefault(cell.point, {}).setdefault(cell.label, []).append((cell.seed, rid))
        for by_label in out.values():
            for seeds in by_label.values():
                seeds.sort()
        return out


def operand_methods(expr: Any) -> set[str]:
    """Method labels a claim expression names (walks the AST without knowing its classes)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if dataclasses.is_dataclass(node):
            m = getattr(node, "method", None)
            if isinstance(m, str):
                found.add(m)
            for f in dataclasses.fields(node):
                walk(getattr(node, f.name))
        elif isinstance(node, (list, tuple)):
            for x in node:
                walk(x)

    walk(expr)
    return found


def run_config(
    exp_point_config: dict[str, Any], method: str, options: dict[str, Any], seed: int
) -> dict[str, Any]:
    """The raw (un-normalized) config of one run: a point's sections, one method, one seed."""
    cfg = copy.deepcopy({k: v for k, v in exp_point_config.items() if k != "method"})
    method_section = {"name": method, **options, **exp_point_config.get("method", {})}
    cfg["method"] = method_section
    cfg["seed"] = seed
    return cfg


def _claim_points(claim: Claim, exp: Experiment) -> list[PointKey]:
    keys = []
    for p in exp.points:
        d = dict(p.key)
        if all(d.get(k) == v for k, v in claim.at.items()):
            keys.append(p.key)
    return keys


def add_spec(plan: Plan, spec: Spec) -> None:
    for exp in spec.experiments.values():
        for point in exp.points:
            for entry in exp.methods:
                for seed in exp.seeds:
                    raw = run_config(point.config, entry.name, entry.options, seed)
                    try:
                        cfg = normalize_config(raw)
                    except ConfigError as e:
                        raise PlanError(
                            exp.where,
                            f"experiment {exp.name!r}, method {entry.label!r}: {e.path}: {e.message}",
                            e.hint,
                        ) from e
                    rid = run_hash(cfg)
                    plan.runs[rid] = cfg
                    plan.cells[Cell(spec.name, exp.name, point.key, entry.label, seed)] = rid
                    plan.cells_total += 1
                    if exp.resources:
                        plan.resources[rid] = dict(exp.resources)
    for claim in spec.claims:
        exp = spec.experiments[claim.experiment]
        labels = operand_methods(claim.expr) | set(claim.reported)
        points = set(_claim_points(claim, exp))
        rids = [
            rid
            for cell, rid in plan.cells.items()
            if cell.spec == spec.name
            and cell.experiment == exp.name
            and cell.point in points
            and cell.label in labels
        ]
        plan.claim_runs[(spec.name, claim.id)] = sorted(set(rids))


def build(specs: Iterable[Spec]) -> Plan:
    plan = Plan()
    for spec in specs:
        add_spec(plan, spec)
    return plan


@dataclass
class RunStatus:
    run_id: str
    state: str  # "cached" | "missing" | "failed"
    reason: str


def status(plan: Plan, store: Store) -> list[RunStatus]:
    """Cached or missing, and why: a missing run whose config differs from a stored one only by
    a component version or a default is reported as such, so a user sees why a cache missed."""
    stored_configs: list[dict[str, Any]] | None = None
    out = []
    for rid, cfg in plan.runs.items():
        res = store.get(rid)
        if res is not None:
            state = "failed" if res.get("status") == "failed" else "cached"
            out.append(RunStatus(rid, state, "stored" if state == "cached" else "stored as failed"))
            continue
        if stored_configs is None:
            stored_configs = [c for c in (store.config(r) for r in store.run_ids()) if c]
        out.append(RunStatus(rid, "missing", _why_missing(cfg, stored_configs)))
    return out


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _why_missing(cfg: dict[str, Any], stored: list[dict[str, Any]]) -> str:
    if not stored:
        return "not in store"
    flat = _flatten(cfg)
    best: list[str] | None = None
    for other in stored:
        of = _flatten(other)
        diff = sorted(k for k in set(flat) | set(of) if flat.get(k) != of.get(k))
        if best is None or len(diff) < len(best):
            best = diff
    if best and len(best) <= 3:
        return "differs from a stored run in " + ", ".join(best)
    return "not in store"
