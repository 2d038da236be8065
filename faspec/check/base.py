"""What every part of claim checking shares: verdict ranks and combination, the run and
verdict records, the values a claim reads from a run, and the metric margins.

Promises: reading a value never raises anything but `Stop` (a verdict of error or unsourced
with its reason); a NaN, a missing metric or a failed run becomes that verdict, never a number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from faspec.check import stats as S
from faspec.check.ratio_sign import const_sign_of, decide_sign
from faspec.check.reference import (  # noqa: F401 - used here and re-exported
    _final_entry as _final_entry,
)
from faspec.check.reference import (
    degenerate_reference as degenerate_reference,
)
from faspec.check.reference import (
    is_cosine_metric as is_cosine_metric,
)
from faspec.spec import expr as E
from faspec.spec.model import Claim, MetricStats, Stats

VERDICTS = ("pass", "fail", "inconclusive", "error", "unsourced")
_AND_RANK = {"error": 0, "unsourced": 1, "fail": 2, "inconclusive": 3, "pass": 4}  # low = worse
_OR_RANK = {"pass": 0, "error": 1, "unsourced": 2, "inconclusive": 3, "fail": 4}  # low = wins
_MIRROR = {"<": ">", "<=": ">=", "<<": ">>"}


def combine_and(verdicts: Iterable[str]) -> str:
    """The verdict of `x and y and ...`: the worst part decides."""
    return min(verdicts, key=_AND_RANK.__getitem__)


def combine_or(verdicts: Iterable[str]) -> str:
    """The verdict of `x or y or ...`: any pass wins; else what keeps it undecided."""
    return min(verdicts, key=_OR_RANK.__getitem__)


def negate(verdict: str) -> str:
    """The verdict of `not x`: pass and fail swap; the undecided stay undecided."""
    return {"pass": "fail", "fail": "pass"}.get(verdict, verdict)


@dataclass
class SeedRun:
    """One run a claim needs: `result` is the stored result.json dict, None if not in the store.
    `check` holds the claim's check-side protocol options (`protocol.CHECK_SIDE`: baseline,
    stability_role) from its spec's normalized config: they are not in the run hash, so a run
    stored for one spec is read with another's, and win over what the stored run recorded."""

    seed: int
    run_id: str
    result: dict[str, Any] | None
    check: dict[str, Any] | None = None


@dataclass
class Verdict:
    claim_id: str
    verdict: str  # one of VERDICTS
    rule: str  # the rule applied, as a sentence
    message: str  # one line: why this verdict
    numbers: dict[str, Any] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)
    reported: list[dict[str, Any]] = field(default_factory=list)
    # the claim's p-value (None: decided without a test over seeds) and its family-wise
    # correction (faspec.check.family): method, size, threshold, adjusted p
    p: float | None = None
    family: dict[str, Any] = field(default_factory=dict)
    # how often a perfect reproduction (the paper's means and stds) would pass, for claims
    # whose spec states them: set on `inconclusive` verdicts by the verify (check/power.py)
    power: dict[str, Any] = field(default_factory=dict)
    # runs decided on whose code is not the code installed now (faspec.code_id), set by the
    # verify pipeline: {"stale": {run_id: "stale: code of method ep changed"}, "unrecorded":
    # [run_id, ...]}; empty when every run's code is the installed code
    code: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


def _g(x: float | None, digits: int = 4) -> str:
    if x is None:
        return "n/a"
    return f"{x:.{digits}g}"


class Stop(Exception):
    """A comparison cannot be decided from these runs (error or unsourced)."""

    def __init__(self, verdict: str, message: str, p: float | None = None) -> None:
        super().__init__(message)
        self.verdict = verdict
        self.message = message
        self.p = p  # a verdict the data decided without the usual test (a ratio's sign)


@dataclass
class Out:
    verdict: str
    message: str
    rule: str
    numbers: dict[str, Any]
    runs: list[str]
    p: float | None = None  # the p-value the verdict rests on; None: decided without a test
    # the p of its complement (what `fail` rests on; `not X` has p = p_fail of X and back)
    p_fail: float | None = None


@dataclass
class Ctx:
    claim: Claim
    stats: Stats
    alpha: float
    equal_var: bool
    per_seed: tuple[int | None, int | None] | None  # (k, n): k None = all; None = over seeds
    exact: bool = False  # `for exactly K of N seeds`: held == K, not >= K

    def seeds_needed(self, held: int, of: int) -> tuple[bool, str]:
        """(holds, who) of a per-seed count: every seed, at least K, or exactly K of N."""
        k = self.per_seed[0] if self.per_seed is not None else None
        if k is None:
            return held >= of, "every seed"
        if self.exact:
            return held == k, f"exactly {k} of {of} seeds"
        return held >= k, f"at least {k} of {of} seeds"

    @property
    def test_name(self) -> str:
        return "Student" if self.equal_var else "Welch"


# ------------------------------------------------------------------------------------- values


def _last_line(text: Any) -> str:
    lines = [ln.strip() for ln in str(text or "").strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "no error text"


def _check_runs(labels: list[str], pdata: dict[str, list[SeedRun]]) -> list[str]:
    """Run ids of these methods; raises Stop for missing, failed or diverged runs."""
    runs: list[str] = []
    bad: list[str] = []
    missing: list[str] = []
    for label in labels:
        lst = pdata.get(label) or []
        if not lst:
            missing.append(f"no runs of '{label}' at this point")
        for r in lst:
            runs.append(r.run_id)
            if r.result is None:
                missing.append(f"{label} seed {r.seed} (run {r.run_id})")
            elif r.result.get("status", "ok") != "ok":
                status = r.result.get("status")
                bad.append(
                    f"run {r.run_id} ({label}, seed {r.seed}) {status}: {_last_line(r.result.get('error'))}"
                )
    if bad:
        raise Stop("error", "; ".join(bad))
    if missing:
        raise Stop("unsourced", "no result for " + ", ".join(missing))
    return runs


def _pick(value: Any, op: E.Operand, metric: str, where: str) -> float:
    if value is None:
        raise Stop("error", f"{metric} is not defined for method '{op.method}' ({where})")
    if op.index is not None:
        if not isinstance(value, list):
            raise Stop("error", f"{metric} is not a per-layer list ({where})")
        if not -len(value) <= op.index < len(value):
            raise Stop(
                "error", f"{metric}[{op.index}] is out of range: {len(value)} layers ({where})"
            )
        value = value[op.index]
        if value is None:
            raise Stop(
                "error", f"{metric}[{op.index}] is not defined for method '{op.method}' ({where})"
            )
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Stop("error", f"{metric} is not a number: {value!r} ({where})")
    value = float(value)
    if math.isnan(value):
        raise Stop("error", f"{metric} of '{op.method}' is NaN ({where})")
    return value


def _final(run: SeedRun, op: E.Operand, metric: str) -> float:
    """The value at the end of training: `final`, or the last log entry for per-layer lists."""
    res = run.result or {}
    where = f"run {run.run_id}, seed {run.seed}"
    final = res.get("final") or {}
    if metric in final:
        return _pick(final[metric], op, metric, where)
    log = res.get("log") or []
    if log and metric in log[-1]:
        return _pick(log[-1][metric], op, metric, where)
    raise Stop("error", f"run {run.run_id} ({op.method}, seed {run.seed}) has no metric {metric}")


def _by_epoch(run: SeedRun, op: E.Operand, metric: str, last: int) -> dict[int, float]:
    res = run.result or {}
    out: dict[int, float] = {}
    for entry in res.get("log") or []:
        epoch = entry.get("epoch")
        if isinstance(epoch, int) and epoch <= last and metric in entry:
            out[epoch] = _pick(
                entry[metric], op, metric, f"run {run.run_id}, seed {run.seed}, epoch {epoch}"
            )
    return out


LOG_FLOOR = float(np.finfo(np.float32).tiny)  # 1.18e-38: where a log-scale 0.0 is read
LOG10_FLOOR = math.log10(LOG_FLOOR)


@dataclass
class Term:
    """One side of a link: a method operand (per-seed values) or a constant."""

    text: str  # as written: "fa", "dfa.g_norm", "1e-7"
    key: str  # full: "fa.test_acc"
    metric: str | None
    log: bool
    const: float | None = None
    values: dict[int, float] = field(default_factory=dict)  # seed -> raw value (final)
    epochs: dict[int, dict[int, float]] = field(default_factory=dict)  # seed -> epoch -> raw
    # values read against a degenerate BP reference (see degenerate_reference)
    degenerate: list[dict[str, Any]] = field(default_factory=list)
    stats: MetricStats | None = None  # margins of a ratio term (log scale); None: the metric's
    arith: tuple[str, Term, Term] | None = None  # `a - b` / `a / b`: the op and both samples
    floored: bool = False  # a measured 0.0 was floored at LOG_FLOOR on the log scale

    def tv(self, x: float) -> float:
        """Test-scale value: log10 for log-scale metrics (positive values only). A measured
        exact 0.0 (a dead ‖g‖ underflowing in float32: the paper's DFA case) is floored at
        LOG_FLOOR, float32's smallest normal: per seed that keeps the raw order (log10 is
        monotone, and no float32 normal is below it); over seeds the verdict says so."""
        if not self.log:
            return x
        if x == 0.0 and self.const is None:
            self.floored = True
            return LOG10_FLOOR
        if not x > 0:
            raise Stop(
                "error",
                f"{self.key} = {x!r} is not positive; it is tested on a log10 scale "
                "(set stats.metrics.<metric>.scale: linear to compare raw values)",
            )
        return math.log10(x)


def last_epoch(cmp: E.Compare) -> int | None:
    """The last epoch a chain read over epochs looks at: N of `by epoch N`, N + k of
    `first at epoch N ± k`; None when it reads one value per run (final or `at epoch N`)."""
    if cmp.by_epoch is not None:
        return cmp.by_epoch
    if cmp.first_epoch is not None:
        return cmp.first_epoch + cmp.tolerance
    return None


def _terms(cmp: E.Compare, pdata: dict[str, list[SeedRun]], ctx: Ctx) -> list[Term]:
    first_op = next(
        (
            t if isinstance(t, E.Operand) else t.left
            for t in cmp.operands
            if not isinstance(t, E.Const)
        ),
        None,
    )
    metric0 = first_op.metric_or(ctx.claim.metric) if first_op is not None else ctx.claim.metric
    ratio = any(isinstance(t, E.Arith) and t.op == "/" for t in cmp.operands)
    const_sign, refused = const_sign_of(cmp) if ratio else (1, None)
    if refused:
        raise Stop("error", refused)
    for t in cmp.operands:  # the loader refuses this too (located); a Claim built in code here
        if isinstance(t, E.Arith) and t.op == "-":
            m = t.left.metric_or(ctx.claim.metric)
            if ctx.stats.metric(m).scale == "log":
                raise Stop(
                    "error",
                    f"'{t}': {m} is compared on a log scale, where a difference of raw values "
                    f"means little; write a ratio, {t.left} / {t.right} (tested on log10), or "
                    f"set stats.metrics.{m}.scale: linear",
                )
    out: list[Term] = []
    for t in cmp.operands:
        if isinstance(t, E.Const):
            log = ratio or ctx.stats.metric(metric0).scale == "log"
            value = abs(t.value) if ratio and const_sign < 0 else t.value  # magnitudes, below
            term = Term(str(t), str(t), None, log, const=value)
            term.tv(value)  # a non-positive constant on a log scale is an error, early
            out.append(term)
            continue
        if isinstance(t, E.Arith):
            out.append(_arith_term(t, cmp, pdata, ctx, const_sign))
            continue
        out.append(_operand_term(t, cmp, pdata, ctx))
    return out


def _pooled_term(t: E.Operand, cmp: E.Compare, pdata: dict[str, list[SeedRun]], ctx: Ctx) -> Term:
    """`x.cos_layers[a:b]` / `[*]`: every (seed, layer) value as one sample, n = seeds x layers,
    the way a paper pools "± std over 3 seeds × 4 layers" (values treated as independent)."""
    metric = t.metric_or(ctx.claim.metric)
    term = Term(str(t), t.text(ctx.claim.metric), metric, ctx.stats.metric(metric).scale == "log")
    if last_epoch(cmp) is not None:
        raise Stop("error", f"'{t}' pools layers at one epoch: read it at the end or 'at epoch N'")
    if ctx.per_seed is not None:
        raise Stop(
            "error", f"'{t}' pools seeds and layers into one sample; it has no per-seed value"
        )
    lo, hi = t.pool  # type: ignore[misc]
    for run in pdata[t.method]:
        entry = _final_entry(run) if cmp.at_epoch is None else _log_entry(run, t, cmp.at_epoch)
        where = f"run {run.run_id}, seed {run.seed}"
        layers = entry.get(metric)
        if not isinstance(layers, list):
            raise Stop("error", f"{metric} is not a per-layer list ({where})")
        picked = list(range(len(layers)))[slice(lo, hi)]
        if not picked:
            raise Stop("error", f"{t}: no layer in range of the {len(layers)} layers ({where})")
        for i in picked:
            term.values[(run.seed, i)] = _pick(
                layers, E.Operand(t.method, metric, i), metric, where
            )  # type: ignore[index]
        if is_cosine_metric(metric):
            dead = degenerate_reference(run, entry)
            if dead is not None:
                term.degenerate.append({"method": t.method, "metric": metric, **dead})
    return term


def _operand_term(t: E.Operand, cmp: E.Compare, pdata: dict[str, list[SeedRun]], ctx: Ctx) -> Term:
    if t.pool is not None:
        return _pooled_term(t, cmp, pdata, ctx)
    metric = t.metric_or(ctx.claim.metric)
    term = Term(str(t), t.text(ctx.claim.metric), metric, ctx.stats.metric(metric).scale == "log")
    last = last_epoch(cmp)
    for run in pdata[t.method]:
        if cmp.at_epoch is not None:
            entry = _log_entry(run, t, cmp.at_epoch)
            term.values[run.seed] = _pick(
                entry.get(metric),
                t,
                metric,
                f"run {run.run_id}, seed {run.seed}, epoch {cmp.at_epoch}",
            )
            entries = [entry]
        elif last is None:
            term.values[run.seed] = _final(run, t, metric)
            entries = [_final_entry(run)]
        else:
            term.epochs[run.seed] = _by_epoch(run, t, metric, last)
            entries = [
                e
                for e in (run.result or {}).get("log") or []
                if e.get("epoch") in term.epochs[run.seed]
            ]
        if is_cosine_metric(metric):
            for entry in entries:
                dead = degenerate_reference(run, entry)
                if dead is not None:
                    term.degenerate.append({"method": t.method, "metric": metric, **dead})
    return term


def _log_entry(run: SeedRun, op: E.Operand, epoch: int) -> dict[str, Any]:
    """The log entry of epoch N. A run that ended before N (a shorter profile) gives no
    evidence either way: inconclusive; one that trained past N without logging it: error."""
    log = (run.result or {}).get("log") or []
    for entry in log:
        if entry.get("epoch") == epoch:
            return entry
    last = max((e["epoch"] for e in log if isinstance(e.get("epoch"), int)), default=None)
    if last is None or last < epoch:
        raise Stop(
            "inconclusive",
            f"run {run.run_id} ({op.method}, seed {run.seed}) ended at epoch {last}, before "
            f"epoch {epoch}: nothing to read there",
        )
    raise Stop(
        "error", f"run {run.run_id} ({op.method}, seed {run.seed}) did not log epoch {epoch}"
    )


def _arith_term(
    t: E.Arith, cmp: E.Compare, pdata: dict[str, list[SeedRun]], ctx: Ctx, const_sign: int = 1
) -> Term:
    """`a - b` / `a / b`: both samples kept (over seeds they are two samples, tested with Welch
    on the shifted means); `values` holds the per-seed differences or ratios, for per-seed
    claims (paired by seed value). A ratio is tested on log10 with the metric's close_ratio /
    much_ratio (2 and 10 where the metric has none)."""
    if last_epoch(cmp) is not None:
        raise Stop(
            "error",
            f"'{t}' is read at the end of training or 'at epoch N', not over epochs ({cmp.epoch_text})",
        )
    left = _operand_term(t.left, cmp, pdata, ctx)
    right = _operand_term(t.right, cmp, pdata, ctx)
    ms = ctx.stats.metric(left.metric or ctx.claim.metric)
    if t.op == "/":
        stats = MetricStats(
            scale="log", close_ratio=ms.close_ratio or 2.0, much_ratio=ms.much_ratio or 10.0
        )
    else:
        stats = ms
    term = Term(str(t), f"{left.key} {t.op} {right.key}", left.metric, t.op == "/", stats=stats)
    term.arith = (t.op, left, right)
    term.degenerate = left.degenerate + right.degenerate
    if t.op == "/":
        _ratio_sign(left, right, const_sign, cmp.ops, ctx.alpha)
    for seed, a in left.values.items():
        if seed in right.values:
            b = right.values[seed]
            term.values[seed] = a - b if t.op == "-" else a / b
    return term


def _ratio_sign(
    left: Term, right: Term, const_sign: int, ops: tuple[str, ...], alpha: float
) -> None:
    """A ratio is tested on log10 of its two samples: the operands' signs decide first (see
    check/ratio_sign.py). Negative operands are compared by their magnitudes, in place; a sign
    that settles the claim (a negative ratio `~= 4.5`) stops with `fail`/`pass`, and a sign not
    established with `inconclusive`."""
    d = decide_sign(
        (left.key, list(left.values.values())),
        (right.key, list(right.values.values())),
        const_sign,
        ops,
        alpha,
    )
    if d.verdict is not None:
        raise Stop(d.verdict, d.message, d.p)
    for t in (left, right):
        if t.key in d.flip:
            t.values = {k: -x for k, x in t.values.items()}
            t.key = f"|{t.key}|"


def _summary(term: Term, raw: list[float]) -> dict[str, Any]:
    mean, std = S.mean_std(raw)
    out: dict[str, Any] = {
        "metric": term.metric,
        "mean": mean,
        "std": std,
        "n": len(raw),
        "values": raw,
    }
    if term.log:
        logs = [term.tv(x) for x in raw]
        lmean, lstd = S.mean_std(logs)
        out.update(log10_mean=lmean, log10_std=lstd, geomean=10.0**lmean)
    return out


def _show(term: Term, raw: list[float] | None) -> str:
    """A side for messages: 'fa 0.401 ± 0.009' / 'dfa.g_norm 3.2e-09 (geometric mean)' / '1e-7'."""
    if term.const is not None or raw is None:
        return term.text
    if term.log:
        gm = 10.0 ** float(np.mean([term.tv(x) for x in raw]))
        return f"{term.text} {_g(gm, 3)} (geometric mean)"
    mean, std = S.mean_std(raw)
    return f"{term.text} {_g(mean)}" + (f" ± {_g(std, 2)}" if std is not None else "")


# ------------------------------------------------------------------------------------- margins


def _margin(ms: MetricStats, kind: str) -> tuple[float | None, dict[str, float]]:
    """(margin on the test scale, margin as configured) for kind 'close' or 'much'."""
    if ms.scale == "log":
        ratio = ms.close_ratio if kind == "close" else ms.much_ratio
        return (None, {}) if ratio is None else (math.log10(ratio), {f"{kind}_ratio": ratio})
    value = ms.close if kind == "close" else ms.much
    return (None, {}) if value is None else (value, {kind: value})


def _link_stats(left: Term, right: Term, ctx: Ctx) -> MetricStats:
    for t in (left, right):
        if t.stats is not None:
            return t.stats
    metric = left.metric or right.metric or ctx.claim.metric
    return ctx.stats.metric(metric)


def _margin_text(conf: dict[str, float]) -> str:
    return ", ".join(f"{k} {_g(v)}" for k, v in conf.items())
