"""From specs to the exact set of training runs they need, each named by a content hash.

A run is identified by the sha256 of the canonical JSON of its *normalized* config (every default
filled in, every component's version included). Two claims, experiments or specs that need the same
training run therefore share one folder in the store and one training job; a default or a
component version that changes gives a new hash, so a stale result is never reused silently.

A claim about the protocol that needs diagnostic (d) (accuracy against the frozen-blocks
baseline: `dfa fires d`, or `is trustworthy` / `is walked_back` / `never fires` under a set that
holds (d)) needs the frozen run of each of its points and seeds. When the experiment lists no
plain `frozen` entry, the plan adds one (method frozen, the point's config, the experiment's
seeds, label `claim.baseline`: `frozen`) to the experiment's cells and to the claim's runs;
an experiment that lists it already shares its runs (same config, same hash).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from faspec import code_id
from faspec.config import (  # the run id is the config's identity: defined beside hash_view
    ConfigError,
    normalize_config,
    reseed,
    run_hash,
    seedless_key,
)
from faspec.protocol import CHECK_SIDE
from faspec.protocol import SETS as PROTOCOL_SETS
from faspec.protocol import defaults as protocol_defaults
from faspec.results import flatten
from faspec.spec import expr as E
from faspec.spec.model import Claim, Experiment, PointKey, Spec, Where
from faspec.store import Store


class PlanError(Exception):
    """A spec whose runs cannot be built (an option the trainer rejects), located in the spec."""

    def __init__(self, where: Where, message: str, hint: str = "") -> None:
        self.where, self.message, self.hint = where, message, hint
        super().__init__(f"{where}: {message}" + (f" (hint: {hint})" if hint else ""))


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
    # per cell, the protocol options only the check side reads (not in the run hash, so two
    # cells that share a run may differ in them): what its claim is decided with
    check_side: dict[Cell, dict[str, Any]] = field(default_factory=dict)

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


def _add_cell(
    plan: Plan,
    spec: Spec,
    exp: Experiment,
    point_key: PointKey,
    point_config: dict[str, Any],
    label: str,
    method: str,
    options: dict[str, Any],
    seed: int,
    why: str = "",
) -> str:
    raw = run_config(point_config, method, options, seed)
    # The loader normalized this (point, method) while validating it; only the seed differs.
    # A run the loader never saw (the frozen baseline of (d)) is normalized here.
    pre = spec.normalized.get(seedless_key(raw))
    try:
        cfg = reseed(pre, seed) if pre is not None else normalize_config(raw)
    except ConfigError as e:
        raise PlanError(
            exp.where,
            f"experiment {exp.name!r}, method {label!r}{why}: {e.path}: {e.message}",
            e.hint,
        ) from e
    rid = run_hash(cfg)
    plan.runs[rid] = cfg
    cell = Cell(spec.name, exp.name, point_key, label, seed)
    plan.cells[cell] = rid
    proto = (cfg.get("measure") or {}).get("protocol") or {}
    plan.check_side[cell] = {k: proto[k] for k in CHECK_SIDE if k in proto}
    plan.cells_total += 1
    if exp.resources:
        plan.resources[rid] = dict(exp.resources)
    return rid


def protocol_set(point_config: dict[str, Any]) -> tuple[str, ...]:
    """The diagnostics of the protocol set a point's runs are judged by (its measure.protocol)."""
    measure = point_config.get("measure") or {}
    proto = measure.get("protocol") if isinstance(measure, dict) else None
    default = protocol_defaults()["set"]
    name = proto.get("set", default) if isinstance(proto, dict) else default
    return PROTOCOL_SETS.get(name, PROTOCOL_SETS[default])


def needs_baseline(claim: Claim, diagnostics: tuple[str, ...]) -> bool:
    """Does the claim read diagnostic (d), given the protocol set of its runs?"""
    return any("d" in p.needs(diagnostics) for p in E.predicates(claim.expr))


def _add_baseline(
    plan: Plan, spec: Spec, exp: Experiment, claim: Claim, points: set[PointKey]
) -> bool:
    """Add the frozen-blocks runs that (d) needs at the claim's points (see the module doc);
    True when the claim needs them."""
    needed = False
    for point in exp.points:
        if point.key not in points or not needs_baseline(claim, protocol_set(point.config)):
            continue
        needed = True
        for seed in exp.seeds:
            if Cell(spec.name, exp.name, point.key, claim.baseline, seed) in plan.cells:
                continue
            _add_cell(
                plan,
                spec,
                exp,
                point.key,
                point.config,
                claim.baseline,
                "frozen",
                {},
                seed,
                f" (the frozen-blocks baseline that claim {claim.id!r} needs for diagnostic (d))",
            )
    return needed


def add_spec(plan: Plan, spec: Spec) -> None:
    for exp in spec.experiments.values():
        for point in exp.points:
            for entry in exp.methods:
                for seed in exp.seeds:
                    _add_cell(
                        plan,
                        spec,
                        exp,
                        point.key,
                        point.config,
                        entry.label,
                        entry.name,
                        entry.options,
                        seed,
                    )
    for claim in spec.claims:
        exp = spec.experiments[claim.experiment]
        labels = operand_methods(claim.expr) | set(claim.reported)
        points = set(_claim_points(claim, exp))
        if _add_baseline(plan, spec, exp, claim, points):
            labels.add(claim.baseline)
        rids = [
            rid
            for cell, rid in plan.cells.items()
            if cell.spec == spec.name
            and cell.experiment == exp.name
            and cell.point in points
            and cell.label in labels
        ]
        rids += _other_experiment_runs(plan, spec.name, claim)
        plan.claim_runs[(spec.name, claim.id)] = sorted(set(rids))


def _other_experiment_runs(plan: Plan, spec: str, claim: Claim) -> list[str]:
    """Runs a claim reads through `exp:label` operands: that experiment's runs of that label at
    the points matching the claim's `at:` on the axes they have (as the check reads them)."""
    node = claim.expr if claim.expr is not None else E.parse(claim.expect)
    wanted = {(op.experiment, op.label) for op in E.operands(node) if op.experiment is not None}
    return [
        rid
        for cell, rid in plan.cells.items()
        if cell.spec == spec
        and (cell.experiment, cell.label) in wanted
        and all(dict(cell.point).get(ax, v) == v for ax, v in claim.at.items())
    ]


def build(specs: Iterable[Spec]) -> Plan:
    plan = Plan()
    for spec in specs:
        add_spec(plan, spec)
    return plan


@dataclass
class RunStatus:
    run_id: str
    state: str  # "cached" | "missing" | "failed" | "stale"
    reason: str


def status(plan: Plan, store: Store) -> list[RunStatus]:
    """Cached, stale or missing, and why: a stored run whose code differs from the code now
    installed is `stale` (`faspec.code_id`: verify trains it again unless --keep-stale); a
    missing run whose config differs from a stored one only by a component version or a
    default is reported as such, so a user sees why a cache missed."""
    stored_configs: list[dict[str, Any]] | None = None
    out = []
    for rid, cfg in plan.runs.items():
        res = store.get(rid)
        if res is not None:
            state = "failed" if res.get("status") == "failed" else "cached"
            reason = "stored" if state == "cached" else "stored as failed"
            changed = code_id.changes(cfg, res) if state == "cached" else []
            if changed:
                state, reason = "stale", code_id.describe(changed)
            elif changed is None:
                reason = f"stored; {code_id.describe(None)}"
            out.append(RunStatus(rid, state, reason))
            continue
        if stored_configs is None:
            stored_configs = [c for c in (store.config(r) for r in store.run_ids()) if c]
        out.append(RunStatus(rid, "missing", _why_missing(cfg, stored_configs)))
    return out


def _why_missing(cfg: dict[str, Any], stored: list[dict[str, Any]]) -> str:
    if not stored:
        return "not in store"
    flat = flatten(cfg)
    best: list[str] | None = None
    for other in stored:
        of = flatten(other)
        diff = sorted(k for k in set(flat) | set(of) if flat.get(k) != of.get(k))
        if best is None or len(diff) < len(best):
            best = diff
    if best and len(best) <= 3:
        return "differs from a stored run in " + ", ".join(best)
    return "not in store"
