"""The verify pipeline: plan → train what is missing → store → decide every claim.

No printing here (only the CLI prints); progress goes to a callback. Two verify processes on one
store cooperate through per-run file locks: a run another process is training is waited for,
not trained twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from faspec import code_id
from faspec.check.claims import SeedRun, Verdict, claim_experiments, decide
from faspec.check.family import correct_specs
from faspec.check.power import claim_power, family_size, power_text
from faspec.execute.base import Event, Executor, Job
from faspec.plan import Cell, Plan
from faspec.plan_cost import packs
from faspec.spec.model import Spec
from faspec.store import Store, Timeout


@dataclass
class SpecOutcome:
    spec: Spec
    verdicts: list[Verdict]

    @property
    def ok(self) -> bool:
        return all(v.verdict == "pass" for v in self.verdicts)


@dataclass
class TrainSummary:
    trained: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    waited: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    # (run id, error): kept from training by Ray or the environment; not stored
    faults: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    wall_s: float = 0.0


def _needs_training(
    plan: Plan, store: Store, rid: str, retry_failed: bool, keep_stale: bool
) -> bool:
    res = store.get(rid)
    if res is None or (retry_failed and res.get("status") == "failed"):
        return True
    return not keep_stale and res.get("status") != "failed" and bool(is_stale(plan, rid, res))


def is_stale(plan: Plan, rid: str, res: dict[str, Any] | None) -> list[str]:
    """What code of a stored run changed since it was trained (`faspec.code_id.changes`);
    empty when nothing did or when the run records no code identity (older stores: kept, and
    marked as of unknown code in the reports)."""
    return code_id.changes(plan.runs[rid], res) or []


def runs_to_train(
    plan: Plan, store: Store, retry_failed: bool = False, keep_stale: bool = False
) -> tuple[list[str], list[str]]:
    """(missing, cached) run ids; a run stored as failed is retried only when asked; a stale
    run (its code changed since) is trained again unless `keep_stale`."""
    missing, cached = [], []
    for rid in plan.runs:
        if _needs_training(plan, store, rid, retry_failed, keep_stale):
            missing.append(rid)
        else:
            cached.append(rid)
    return missing, cached


def train_missing(
    plan: Plan,
    store: Store,
    make_executor: Callable[[], Executor],
    progress: Callable[[Event], None] | None = None,
    retry_failed: bool = False,
    on_done: Callable[[str, dict[str, Any]], None] | None = None,
    keep_stale: bool = False,
) -> TrainSummary:
    """Train every missing (or stale, unless `keep_stale`) run once, writing each to the store
    as soon as it finishes; a run that Ray or the environment kept from training (`fault`) is
    listed, never stored."""
    t0 = time.perf_counter()
    summary = TrainSummary()
    missing, summary.cached = runs_to_train(plan, store, retry_failed, keep_stale)
    if not missing:
        return summary
    mine, elsewhere, locks = [], [], {}
    for rid in missing:
        lock = store.lock(rid)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            elsewhere.append(rid)
            continue
        if not _needs_training(plan, store, rid, retry_failed, keep_stale):  # done meanwhile
            lock.release()
            summary.cached.append(rid)
            continue
        locks[rid] = lock
        mine.append(rid)
    executor = make_executor() if mine else None
    interrupted = False
    try:
        if executor is not None:
            jobs = make_jobs(plan, mine)
            for done in executor.run(jobs, progress):
                if done.result.get("status") == "fault":  # the cluster's, not the run's
                    locks.pop(done.run_id).release()
                    summary.faults.append((done.run_id, str(done.result.get("error", ""))))
                    if on_done:
                        on_done(done.run_id, done.result)
                    continue
                store.put(done.run_id, plan.runs[done.run_id], done.result, done.checkpoint)
                locks.pop(done.run_id).release()
                summary.trained.append(done.run_id)
                if done.result.get("status") == "failed":
                    summary.failed.append(done.run_id)
                if on_done:
                    on_done(done.run_id, done.result)
        # Runs another verify holds: wait for its lock, then take what it stored (or train it).
        leftover = []
        for rid in elsewhere:
            with store.lock(rid, timeout=-1):
                if not _needs_training(plan, store, rid, False, keep_stale):
                    summary.waited.append(rid)
                else:
                    leftover.append(rid)
        if leftover:
            sub = Plan(runs={r: plan.runs[r] for r in leftover}, resources=plan.resources)
            inner = train_missing(
                sub,
                store,
                make_executor if executor is None else (lambda: executor),
                progress,
                retry_failed,
                on_done,
                keep_stale,
            )
            summary.trained += inner.trained
            summary.failed += inner.failed
            summary.faults += inner.faults
    except KeyboardInterrupt:
        interrupted = True  # no executor teardown: the CLI exits at once (see cli.verify)
        raise
    finally:
        for lock in locks.values():
            lock.release()
        if executor is not None and not interrupted:
            summary.warnings += getattr(executor, "warnings", [])
            executor.close()
    summary.wall_s = time.perf_counter() - t0
    return summary


def make_jobs(plan: Plan, run_ids: list[str], max_pack: int | None = None) -> list[Job]:
    """One job per run, except that runs which may share one batched model become packed jobs
    (`faspec.plan_cost.packs`: packable method and architecture, one `pack_key`, at most
    `pack_size` members; `max_pack` lowers that bound, 1 turns packing off)."""
    grouped, singles = packs(plan.runs, run_ids, max_pack)
    jobs = [Job(rid, plan.runs[rid], plan.resources.get(rid, {})) for rid in singles]
    for chunk in grouped:
        members = [(r, plan.runs[r]) for r in chunk]
        jobs.append(Job(chunk[0], plan.runs[chunk[0]], plan.resources.get(chunk[0], {}), members))
    return jobs


def code_marks(plan: Plan, store: Store) -> dict[str, list[str] | None]:
    """Stored runs whose code is not the installed code: run id -> what changed (stale), or
    None (the run records no code identity). Runs whose code is current are absent."""
    out: dict[str, list[str] | None] = {}
    for rid, cfg in plan.runs.items():
        res = store.get(rid)
        if res is None or res.get("status") in ("failed", "invalid"):
            continue
        changed = code_id.changes(cfg, res)
        if changed is None or changed:
            out[rid] = changed
    return out


def claim_data(
    plan: Plan,
    store: Store,
    spec: Spec,
    experiment: str,
    drop: frozenset[str] = frozenset(),
) -> dict[Any, dict[str, list[SeedRun]]]:
    """The seeds of each point and method of an experiment; runs in `drop` (stale runs not
    kept) count as not stored."""
    cache: dict[str, dict[str, Any] | None] = {}

    def get(rid: str) -> dict[str, Any] | None:
        if rid not in cache:
            cache[rid] = None if rid in drop else store.get(rid)
        return cache[rid]

    def check(point: Any, label: str, seed: int) -> dict[str, Any] | None:
        return plan.check_side.get(Cell(spec.name, experiment, point, label, seed))

    return {
        point: {
            label: [SeedRun(seed, rid, get(rid), check(point, label, seed)) for seed, rid in seeds]
            for label, seeds in by_label.items()
        }
        for point, by_label in plan.cells_of(spec.name, experiment).items()
    }


def decide_all(
    specs: Iterable[Spec], plan: Plan, store: Store, keep_stale: bool = False
) -> list[SpecOutcome]:
    """Decide every claim. A stale run (`code_marks`) counts as not stored unless
    `keep_stale`; a verdict decided on a kept stale run, or on a run that records no code
    identity, names those runs in `Verdict.code`."""
    marks = code_marks(plan, store)
    drop = frozenset() if keep_stale else frozenset(r for r, c in marks.items() if c)
    outcomes = []
    for spec in specs:
        per_exp: dict[str, Any] = {}
        verdicts = []
        for claim in spec.claims:
            needed = [claim.experiment, *claim_experiments(claim)]  # `exp:label` operands
            for name in needed:
                if name not in per_exp:
                    per_exp[name] = claim_data(plan, store, spec, name, drop)
            others = {name: per_exp[name] for name in needed[1:]}
            verdict = decide(claim, per_exp[claim.experiment], spec.stats, others)
            mine = [r for r in plan.claim_runs.get((spec.name, claim.id), []) if r in marks]
            stale = {r: code_id.describe(marks[r]) for r in mine if marks[r] and r not in drop}
            unrecorded = [r for r in mine if marks[r] is None]
            if stale:
                verdict.code["stale"] = stale
            if unrecorded:
                verdict.code["unrecorded"] = unrecorded
            verdicts.append(verdict)
        outcomes.append(SpecOutcome(spec, verdicts))
    correct_specs([(oc.spec.stats, oc.verdicts) for oc in outcomes])  # many claims, one paper
    for oc in outcomes:  # beside an inconclusive verdict: could a perfect reproduction pass?
        m = family_size(oc.spec)
        for claim, v in zip(oc.spec.claims, oc.verdicts, strict=True):
            if v.verdict == "inconclusive":
                p = claim_power(claim, oc.spec, m)
                if p.get("computed"):
                    v.power = {**p, "text": power_text(p)}
    return outcomes
