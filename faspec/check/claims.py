"""Deciding claims: a claim's expression x the runs of its points -> a Verdict with statistics.

The semantics are those of DESIGN.md's table; this module is where they are made exact. Every
verdict carries the rule applied (a sentence), a one-line message and the numbers behind it,
so a reader can re-check a verdict without trusting this code.

Over seeds (default), for each link `a op b` of a chain (values on log10 for log-scale metrics):

* `a > b` / `a < b`: the means go the claimed way and a one-sided t-test (Welch by default;
  one-sample against a constant) gives p < alpha -> pass; means the claimed way but p >= alpha,
  or a group with n < 2 -> inconclusive (with a rough count of seeds that would decide it);
  means the other way (or equal) -> fail, whatever n is: the observed estimate contradicts it.
* `a >> b` / `a << b`: as `>`, and the gap between the means must reach the metric's `much`
  (for log-scale metrics: the ratio of geometric means must reach `much_ratio`); a smaller gap
  -> fail.
* `a >= b` / `a <= b`: non-inferiority: mean(a) - mean(b) > -close, one-sided test (margin 0
  when the metric has no close margin, which makes it the same test as `>`).
* `a ~= b`: equivalence within `close` (`close_ratio` on log scale): |diff| >= close -> fail;
  TOST p < alpha -> pass; otherwise inconclusive.

Per seed (`seeds: all` or `seeds: k/n`): operands are paired by seed value; a chain holds for a
seed when every link holds for it (`>` strictly, `>=` literally, `>>` with the gap,
`~=` as |a_s - b_s| <= close); the claim passes if it holds for every (or at least k) seeds,
and fails otherwise. There is no inconclusive in this mode.

`by epoch N`: values come from `result["log"]` instead of `result["final"]`. Over seeds, the
chain is decided at each epoch <= N that every involved run logged, and passes at the first
epoch where it passes (no correction for trying several epochs: keep N tight). Per seed, each
seed may hold at its own epoch. The first epoch where it held is recorded.

Protocol predicates (`dfa is walked_back`, `bp is trustworthy`, `dfa fires a+b by epoch 5`,
`dfa fires b first at epoch 4`, `bp never fires`, `bp never fires c`): each is a boolean per run,
read from what the run recorded in `result["protocol"]` under the thresholds it was trained
with (the spec's `protocol:`, which is part of the run config): `fired` and `first_epoch` per
diagnostic. (a), (b) fire for the run when they fire at any logged epoch; (c) is judged where
its window says (the final logged epoch by default). (d), which one run cannot decide, is
decided here against the frozen-blocks run of the same point and seed (label
`claim.baseline`, which the plan adds when the experiment lists none): it fires when the run's
final test_acc < the frozen run's final test_acc + margin_pp/100; its first epoch is the first
logged epoch at which the run's test_acc was below that bar (reported only when (d) fires, like
(c)'s in the final window; at epoch 0 a run is usually below it, so `fires d first at epoch N`
is rarely informative). A run is walked back when any diagnostic of its set fires, else
trustworthy. `fires D` holds when every diagnostic of D fires; `... by epoch N` when each also
first fired at a logged epoch <= N; `fires D first at epoch N` when each first fired exactly
at N; `never fires [D] [by epoch N]` when none of D (default: the set) fires (by N). A
predicate-only (sub)expression is evaluated per seed with and/or/not (runs of different labels
paired by seed value) and must hold on every seed, or at least k with `seeds: k/n`, in either
mode; mixed with comparisons, it is one part of the tree like a comparison. A diagnostic that
a run could not judge (its value null) makes the claim an error; a missing frozen run makes it
unsourced, naming it. The numbers hold, per seed and method, the fired diagnostics, their first
epochs, the verdict and the deciding values (growth_max, g_norm_min, stability, test_acc vs
frozen_acc).

Combining: `and` takes the worst verdict (error > unsourced > fail > inconclusive > pass);
`or` passes if any part passes, else takes error > unsourced > inconclusive > fail (a failed
part cannot make `or` fail while another part is undecided); `not` swaps pass and fail and
keeps inconclusive, error and unsourced. `for_each` decides each value of the axis and combines
them with `and`. Reported numbers that disagree with the measurements make the claim fail.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from faspec.check import stats as S
from faspec.spec import expr as E
from faspec.spec.model import Claim, MetricStats, PointKey, Reported, Stats

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
    """One run a claim needs: `result` is the stored result.json dict, None if not in the store."""

    seed: int
    run_id: str
    result: dict[str, Any] | None


@dataclass
class Verdict:
    claim_id: str
    verdict: str  # one of VERDICTS
    rule: str  # the rule applied, as a sentence
    message: str  # one line: why this verdict
    numbers: dict[str, Any] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)
    reported: list[dict[str, Any]] = field(default_factory=list)

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


class _Stop(Exception):
    """A comparison cannot be decided from these runs (error or unsourced)."""

    def __init__(self, verdict: str, message: str) -> None:
        super().__init__(message)
        self.verdict = verdict
        self.message = message


@dataclass
class _Out:
    verdict: str
    message: str
    rule: str
    numbers: dict[str, Any]
    runs: list[str]


@dataclass
class _Ctx:
    claim: Claim
    stats: Stats
    alpha: float
    equal_var: bool
    per_seed: tuple[int | None, int | None] | None  # (k, n): k None = all; None = over seeds

    @property
    def test_name(self) -> str:
        return "Student" if self.equal_var else "Welch"


# ------------------------------------------------------------------------------------- values


def _last_line(text: Any) -> str:
    lines = [ln.strip() for ln in str(text or "").strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "no error text"


def _check_runs(labels: list[str], pdata: dict[str, list[SeedRun]]) -> list[str]:
    """Run ids of these methods; raises _Stop for missing, failed or diverged runs."""
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
        raise _Stop("error", "; ".join(bad))
    if missing:
        raise _Stop("unsourced", "no result for " + ", ".join(missing))
    return runs


def _pick(value: Any, op: E.Operand, metric: str, where: str) -> float:
    if value is None:
        raise _Stop("error", f"{metric} is not defined for method '{op.method}' ({where})")
    if op.index is not None:
        if not isinstance(value, list):
            raise _Stop("error", f"{metric} is not a per-layer list ({where})")
        if not -len(value) <= op.index < len(value):
            raise _Stop(
                "error", f"{metric}[{op.index}] is out of range: {len(value)} layers ({where})"
            )
        value = value[op.index]
        if value is None:
            raise _Stop(
                "error", f"{metric}[{op.index}] is not defined for method '{op.method}' ({where})"
            )
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Stop("error", f"{metric} is not a number: {value!r} ({where})")
    value = float(value)
    if math.isnan(value):
        raise _Stop("error", f"{metric} of '{op.method}' is NaN ({where})")
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
    raise _Stop("error", f"run {run.run_id} ({op.method}, seed {run.seed}) has no metric {metric}")


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


@dataclass
class _Term:
    """One side of a link: a method operand (per-seed values) or a constant."""

    text: str  # as written: "fa", "dfa.g_norm", "1e-7"
    key: str  # full: "fa.test_acc"
    metric: str | None
    log: bool
    const: float | None = None
    values: dict[int, float] = field(default_factory=dict)  # seed -> raw value (final)
    epochs: dict[int, dict[int, float]] = field(default_factory=dict)  # seed -> epoch -> raw

    def tv(self, x: float) -> float:
        """Test-scale value: log10 for log-scale metrics (positive values only)."""
        if not self.log:
            return x
        if not x > 0:
            raise _Stop(
                "error",
                f"{self.key} = {x!r} is not positive; it is tested on a log10 scale "
                "(set stats.metrics.<metric>.scale: linear to compare raw values)",
            )
        return math.log10(x)


def _terms(cmp: E.Compare, pdata: dict[str, list[SeedRun]], ctx: _Ctx) -> list[_Term]:
    metric0 = next(
        (t.metric_or(ctx.claim.metric) for t in cmp.operands if isinstance(t, E.Operand)),
        ctx.claim.metric,
    )
    out: list[_Term] = []
    for t in cmp.operands:
        if isinstance(t, E.Const):
            log = ctx.stats.metric(metric0).scale == "log"
            term = _Term(str(t), str(t), None, log, const=t.value)
            term.tv(t.value)  # a non-positive constant on a log scale is an error, early
            out.append(term)
            continue
        metric = t.metric_or(ctx.claim.metric)
        term = _Term(
            str(t), t.text(ctx.claim.metric), metric, ctx.stats.metric(metric).scale == "log"
        )
        for run in pdata[t.method]:
            if cmp.by_epoch is None:
                term.values[run.seed] = _final(run, t, metric)
            else:
                term.epochs[run.seed] = _by_epoch(run, t, metric, cmp.by_epoch)
        out.append(term)
    return out


def _summary(term: _Term, raw: list[float]) -> dict[str, Any]:
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


def _show(term: _Term, raw: list[float] | None) -> str:
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


def _link_stats(left: _Term, right: _Term, ctx: _Ctx) -> MetricStats:
    metric = left.metric or right.metric or ctx.claim.metric
    return ctx.stats.metric(metric)


def _margin_text(conf: dict[str, float]) -> str:
    return ", ".join(f"{k} {_g(v)}" for k, v in conf.items())


# ----------------------------------------------------------------------------- link over seeds


def _dtest(
    a: np.ndarray | float, b: np.ndarray | float, alt: str, delta: float, equal_var: bool
) -> S.TestResult:
    """diff_test that also takes a constant on the left (by flipping the sides)."""
    if np.ndim(a) == 0:
        flip = {"greater": "less", "less": "greater"}[alt]
        return S.diff_test(b, float(a), flip, -delta, equal_var)  # type: ignore[arg-type]
    return S.diff_test(a, b, alt, delta, equal_var)  # type: ignore[arg-type]


def _sd(x: np.ndarray | float) -> float | None:
    return None if np.ndim(x) == 0 else S.mean_std(x)[1]  # type: ignore[arg-type]


def _needed_text(n: int | None, two: bool, sd_missing: bool) -> str:
    if sd_missing:
        return "a t-test needs at least 2 seeds per method"
    if n is None:
        return "the observed effect is too small to decide with fewer than 1000 seeds"
    return f"about {n} seeds{' per method' if two else ''} would decide it at the observed effect"


def _link_over_seeds(
    left: _Term,
    op: str,
    right: _Term,
    a: np.ndarray | float,
    b: np.ndarray | float,
    raw: tuple[list[float] | None, list[float] | None],
    ctx: _Ctx,
) -> dict[str, Any]:
    """Decide one link over seeds; a, b are on the test scale (arrays, or floats for constants)."""
    ms = _link_stats(left, right, ctx)
    alpha = ctx.alpha
    ma = float(np.mean(a))
    mb = float(np.mean(b))
    d = ma - mb
    shown = f"{_show(left, raw[0])} vs {_show(right, raw[1])}"
    two = np.ndim(a) > 0 and np.ndim(b) > 0
    arr_sds = [_sd(x) for x in (a, b) if np.ndim(x) > 0]
    sd_missing = any(s is None for s in arr_sds)
    out: dict[str, Any] = {
        "left": left.key,
        "op": op,
        "right": right.key,
        "diff": d,
        "scale": "log10" if ms.scale == "log" else "linear",
    }

    def needed(effect: float) -> int | None:
        if sd_missing:
            return None
        return S.seeds_needed(effect, arr_sds[0], arr_sds[1] if len(arr_sds) > 1 else None, alpha)  # type: ignore[arg-type]

    def finish(tr: S.TestResult, effect: float, ok_msg: str) -> dict[str, Any]:
        out.update(p=tr.p, test_note=tr.note)
        if tr.p is not None and tr.p < alpha:
            out.update(verdict="pass", message=f"{ok_msg}: p={_g(tr.p, 2)} < {alpha}")
        else:
            n = needed(effect)
            out["seeds_needed"] = n
            why = tr.note if tr.p is None else f"p={_g(tr.p, 2)} >= {alpha}"
            out.update(
                verdict="inconclusive",
                message=f"{ok_msg} on the means, but {why}; {_needed_text(n, two, sd_missing)}",
            )
        return out

    if op == "~=":
        c, conf = _margin(ms, "close")
        out["margin"] = conf
        if c is None:
            out.update(
                verdict="error",
                message=f"'~=' needs a close margin for {left.metric or right.metric}",
            )
            return out
        out["test"] = "TOST"
        if np.ndim(a) > 0:
            tr = S.tost(a, b, c, ctx.equal_var)  # type: ignore[arg-type]
        else:
            tr = S.tost(b, float(a), c, ctx.equal_var)  # type: ignore[arg-type]
        out["p"] = tr.p
        if abs(d) >= c:
            what = f"ratio {_g(10 ** abs(d), 3)}" if ms.scale == "log" else f"difference {_g(d, 3)}"
            out.update(
                verdict="fail", message=f"{what} is not within {_margin_text(conf)}: {shown}"
            )
            return out
        return finish(tr, c - abs(d), f"{shown} within {_margin_text(conf)}")

    sign = 1.0 if op in (">", ">=", ">>") else -1.0
    alt = "greater" if sign > 0 else "less"
    base = _MIRROR.get(op, op)
    effect = sign * d
    out["test"] = "one-sample t" if not two else f"{ctx.test_name} t"
    if base == ">=":
        c, conf = _margin(ms, "close")
        c = c or 0.0
        out["margin"] = conf
        tr = _dtest(a, b, alt, -sign * c, ctx.equal_var)
        out["p"] = tr.p
        if effect + c <= 0:
            out.update(
                verdict="fail",
                message=f"not {op} on the means (non-inferiority margin {c:.3g}): {shown}",
            )
            return out
        return finish(
            tr, effect + c, f"{_show(left, raw[0])} {op} {_show(right, raw[1])} within {c:.3g}"
        )
    tr = _dtest(a, b, alt, 0.0, ctx.equal_var)
    out["p"] = tr.p
    if effect <= 0:
        out.update(verdict="fail", message=f"not {op} on the means: {shown}")
        return out
    if base == ">>":
        m, conf = _margin(ms, "much")
        out["margin"] = conf
        if m is None:
            out.update(
                verdict="error",
                message=f"'{op}' needs a much margin for {left.metric or right.metric}",
            )
            return out
        if effect < m:
            gap = f"ratio {_g(10**effect, 3)}" if ms.scale == "log" else f"gap {_g(effect, 3)}"
            out.update(verdict="fail", message=f"{gap} is below {_margin_text(conf)}: {shown}")
            return out
    return finish(tr, effect, f"{_show(left, raw[0])} {op} {_show(right, raw[1])}")


def _holds_seed(op: str, a: float, b: float, left: _Term, right: _Term, ctx: _Ctx) -> bool:
    """One link for one seed (test scale); margins as over seeds, applied to the paired values."""
    ms = _link_stats(left, right, ctx)
    if op == "~=":
        c, _ = _margin(ms, "close")
        if c is None:
            raise _Stop("error", "'~=' needs a close margin")
        return abs(a - b) <= c
    if op in _MIRROR:
        a, b, op = b, a, _MIRROR[op]
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    m, _ = _margin(ms, "much")
    if m is None:
        raise _Stop("error", f"'{op}' needs a much margin")
    return a - b >= m and a > b


# ------------------------------------------------------------------------------------- rules


def _link_rule(left: _Term, op: str, right: _Term, ctx: _Ctx) -> str:
    """The rule of one link as a sentence, in the user's order and on the tested scale."""
    ms = _link_stats(left, right, ctx)
    log = ms.scale == "log"

    def side(t: _Term) -> str:
        if not log:
            return t.text
        return f"log10({t.text})" if t.const is not None else f"log10 {t.text}"

    def diff_margin(kind: str) -> str:  # a margin on differences of log10 values is log10(ratio)
        text = _margin_text(_margin(ms, kind)[1])
        return f"log10({text})" if log else text

    L, R = side(left), side(right)
    if ctx.per_seed is not None:
        Ls = f"{L}_s" if left.const is None else L
        Rs = f"{R}_s" if right.const is None else R
        if op == "~=":
            return f"|{Ls} - {Rs}| <= {diff_margin('close')}"
        if op in (">>", "<<"):
            hi, lo = (Ls, Rs) if op == ">>" else (Rs, Ls)
            return f"{hi} - {lo} >= {diff_margin('much')}"
        return f"{Ls} {op} {Rs}"
    mL = L if left.const is not None else f"mean {L}"
    mR = R if right.const is not None else f"mean {R}"
    two = left.const is None and right.const is None
    test = f"{ctx.test_name} t-test" if two else "one-sample t-test"
    if op == "~=":
        return (
            f"|{mL} - {mR}| < {diff_margin('close')}, TOST (two one-sided {test}s), p < {ctx.alpha}"
        )
    base = _MIRROR.get(op, op)
    if base == ">=":
        has = _margin(ms, "close")[0] is not None
        margin = f" - {diff_margin('close')} (non-inferiority)" if has else ""
        hi, lo = (mL, mR) if op == ">=" else (mR, mL)
        return f"{hi} > {lo}{margin}, one-sided {test}, p < {ctx.alpha}"
    rule = f"{mL} {op[0]} {mR}, one-sided {test}, p < {ctx.alpha}"
    if base == ">>":
        what = "ratio of geometric means" if log else "gap of the means"
        rule += f", and the {what} reaches {_margin_text(_margin(ms, 'much')[1])}"
    return rule


def _compare_rule(cmp: E.Compare, terms: list[_Term], ctx: _Ctx) -> str:
    links = [_link_rule(terms[i], op, terms[i + 1], ctx) for i, op in enumerate(cmp.ops)]
    rule = "; ".join(links)
    ns = [str(len(t.values or t.epochs)) for t in terms if t.const is None]
    if ctx.per_seed is not None:
        k, n = ctx.per_seed
        count = ns[0] if ns else "?"
        who = f"every seed s (n={count})" if k is None else f"at least {k} of {n} seeds s"
        rule = f"{rule} for {who}, paired by seed"
        if cmp.by_epoch is not None:
            rule += f", each at some logged epoch <= {cmp.by_epoch}"
        return rule
    rule += f", n={'/'.join(ns)}, std ddof=1"
    if cmp.by_epoch is not None:
        rule += f", at some logged epoch <= {cmp.by_epoch} (first such epoch reported; not corrected for trying several)"
    return rule


# ------------------------------------------------------------------------------ comparisons


def _eval_compare(cmp: E.Compare, pdata: dict[str, list[SeedRun]], ctx: _Ctx) -> _Out:
    labels = list(dict.fromkeys(t.method for t in cmp.operands if isinstance(t, E.Operand)))
    expr_text = str(cmp)
    # the ids are kept in the verdict even when _check_runs stops on a missing or failed run
    runs = [r.run_id for label in labels for r in pdata.get(label) or []]
    if not labels:
        return _Out("error", f"'{cmp}' compares only numbers", expr_text, {"expr": expr_text}, [])
    try:
        runs = _check_runs(labels, pdata)
        terms = _terms(cmp, pdata, ctx)
        rule = _compare_rule(cmp, terms, ctx)
        if ctx.per_seed is not None:
            verdict, message, numbers = _per_seed(cmp, terms, ctx)
        else:
            verdict, message, numbers = _over_seeds(cmp, terms, ctx)
    except _Stop as stop:
        return _Out(stop.verdict, stop.message, expr_text, {"expr": expr_text}, runs)
    return _Out(verdict, message, rule, {"expr": expr_text, **numbers}, runs)


def _over_seeds(cmp: E.Compare, terms: list[_Term], ctx: _Ctx) -> tuple[str, str, dict[str, Any]]:
    def at(values_of: list[dict[int, float] | None]) -> tuple[str, str, dict[str, Any]]:
        raws = [None if v is None else list(v.values()) for v in values_of]
        tvs: list[np.ndarray | float] = []
        for t, raw in zip(terms, raws, strict=True):
            tvs.append(t.tv(t.const) if raw is None else np.array([t.tv(x) for x in raw]))  # type: ignore[arg-type]
        links = [
            _link_over_seeds(
                terms[i], op, terms[i + 1], tvs[i], tvs[i + 1], (raws[i], raws[i + 1]), ctx
            )
            for i, op in enumerate(cmp.ops)
        ]
        verdict = combine_and(link["verdict"] for link in links)
        deciding = next(link for link in links if link["verdict"] == verdict)
        message = (
            deciding["message"]
            if verdict != "pass"
            else "; ".join(link["message"] for link in links)
        )
        operands = {
            t.key: _summary(t, raw) for t, raw in zip(terms, raws, strict=True) if raw is not None
        }
        for t, v in zip(terms, values_of, strict=True):
            if v is not None:
                operands[t.key]["seeds"] = list(v)
        return verdict, message, {"operands": operands, "links": links}

    if cmp.by_epoch is None:
        return at([None if t.const is not None else t.values for t in terms])

    common = _common_epochs([e for t in terms if t.const is None for e in t.epochs.values()])
    if not common:
        raise _Stop(
            "error",
            f"no epoch <= {cmp.by_epoch} is logged in every run of {cmp}",
        )
    best: tuple[str, str, dict[str, Any], int] | None = None
    for epoch in common:
        values_of = [
            None if t.const is not None else {s: ep[epoch] for s, ep in t.epochs.items()}
            for t in terms
        ]
        verdict, message, numbers = at(values_of)
        if verdict == "pass":
            numbers.update(epoch=epoch, epochs_checked=common)
            return (
                "pass",
                f"holds by epoch {epoch} (first logged epoch where it holds): {message}",
                numbers,
            )
        if best is None or _AND_RANK[verdict] > _AND_RANK[best[0]]:
            best = (verdict, message, numbers, epoch)
    assert best is not None
    verdict, message, numbers, epoch = best
    numbers.update(epoch=epoch, epochs_checked=common)
    return (
        verdict,
        f"at no logged epoch <= {cmp.by_epoch} ({_epochs_text(common)}); at epoch {epoch}: {message}",
        numbers,
    )


def _common_epochs(sets: list[dict[int, float]]) -> list[int]:
    if not sets:
        return []
    common = set(sets[0])
    for s in sets[1:]:
        common &= set(s)
    return sorted(common)


def _epochs_text(epochs: list[int]) -> str:
    if len(epochs) > 6:
        return f"epochs {epochs[0]}..{epochs[-1]}, {len(epochs)} logged"
    return "epochs " + ", ".join(map(str, epochs))


def _method_values(terms: list[_Term], vals: list[Any]) -> dict[str, float]:
    return {t.key: v for t, v in zip(terms, vals, strict=True) if t.const is None}


def _per_seed(cmp: E.Compare, terms: list[_Term], ctx: _Ctx) -> tuple[str, str, dict[str, Any]]:
    method_terms = [t for t in terms if t.const is None]
    seed_sets = [list(t.epochs if cmp.by_epoch is not None else t.values) for t in method_terms]
    seeds = seed_sets[0]
    if any(set(s) != set(seeds) for s in seed_sets[1:]):
        raise _Stop(
            "error",
            "the operands have different seeds, so they cannot be paired by seed: "
            + "; ".join(
                f"{t.key}: {sorted(s)}" for t, s in zip(method_terms, seed_sets, strict=True)
            ),
        )
    k, n = ctx.per_seed  # type: ignore[misc]
    need = len(seeds) if k is None else k
    if n is not None and n != len(seeds):
        raise _Stop("error", f"seeds: {k}/{n} but {len(seeds)} seeds have results")

    def holds_at(values: list[float]) -> bool:
        tv = [t.tv(v) for t, v in zip(terms, values, strict=True)]
        return all(
            _holds_seed(op, tv[i], tv[i + 1], terms[i], terms[i + 1], ctx)
            for i, op in enumerate(cmp.ops)
        )

    rows: list[dict[str, Any]] = []
    for seed in seeds:
        if cmp.by_epoch is None:
            vals = [t.const if t.const is not None else t.values[seed] for t in terms]
            rows.append(
                {
                    "seed": seed,
                    "holds": holds_at(vals),
                    "values": _method_values(terms, vals),
                }
            )  # type: ignore[arg-type]
            continue
        epochs = _common_epochs([t.epochs[seed] for t in method_terms])
        row: dict[str, Any] = {
            "seed": seed,
            "holds": False,
            "epoch": None,
            "epochs_checked": epochs,
        }
        for epoch in epochs:
            vals = [t.const if t.const is not None else t.epochs[seed][epoch] for t in terms]
            if holds_at(vals):  # type: ignore[arg-type]
                row.update(holds=True, epoch=epoch)
                break
        if epochs:
            vals = [
                t.const
                if t.const is not None
                else t.epochs[seed][row["epoch"] if row["holds"] else epochs[-1]]
                for t in terms
            ]
            row["values"] = _method_values(terms, vals)
        rows.append(row)
    held = sum(r["holds"] for r in rows)
    verdict = "pass" if held >= need else "fail"
    who = "every seed" if k is None else f"at least {k} of {len(seeds)} seeds"
    failing = [r for r in rows if not r["holds"]]
    if verdict == "pass":
        message = f"holds for {held} of {len(seeds)} seeds (needs {who})"
        if cmp.by_epoch is not None:
            message += "; first epochs: " + ", ".join(
                f"seed {r['seed']}: {r['epoch']}" for r in rows if r["holds"]
            )
    else:
        r = failing[0]
        at_ = "" if cmp.by_epoch is None else f", at no logged epoch <= {cmp.by_epoch}"
        vals = ", ".join(f"{kk} {_g(v)}" for kk, v in (r.get("values") or {}).items())
        message = (
            f"holds for {held} of {len(seeds)} seeds, needs {who}; fails at seed {r['seed']}{at_}"
            + (f" ({vals})" if vals else "")
        )
    numbers: dict[str, Any] = {"per_seed": rows, "held": held, "needed": need, "of": len(seeds)}
    if cmp.by_epoch is None:
        numbers["operands"] = {
            t.key: {**_summary(t, list(t.values.values())), "seeds": list(t.values)}
            for t in method_terms
        }
    return verdict, message, numbers


# ------------------------------------------------------------------------ protocol predicates


def _protocol() -> Any:
    """faspec.protocol (pure Python)."""
    from faspec import protocol

    return protocol


def _all3(values: Iterable[bool | None]) -> bool | None:
    """Three-valued `and`: a False decides; else an unknown leaves it unknown."""
    vals = list(values)
    if any(v is False for v in vals):
        return False
    return None if any(v is None for v in vals) else True


def _any3(values: Iterable[bool | None]) -> bool | None:
    """Three-valued `or`: a True decides; else an unknown leaves it unknown."""
    vals = list(values)
    if any(v is True for v in vals):
        return True
    return None if any(v is None for v in vals) else False


def _not3(value: bool | None) -> bool | None:
    return None if value is None else not value


@dataclass
class _Proto:
    """What the protocol says about one run (one label, one seed), (d) folded in when needed."""

    label: str
    seed: int
    run_id: str
    set: str
    diagnostics: tuple[str, ...]  # the set's letters
    thresholds: dict[str, Any]
    fired: dict[str, bool | None]  # a b c d; None = not judged (pending)
    first: dict[str, int | None]  # first logged epoch at which it fired (None: never)
    values: dict[str, Any]  # the deciding values
    verdict: str  # over the set; "d" pending when not needed
    text: str  # 'walked back (a+b)' / 'FAIL(D1+D2)' / 'trustworthy'
    pending: list[str]
    frozen_run: str | None = None

    def fired_by(self, diag: str, epoch: int | None) -> bool | None:
        """Fires for the run, and (with `epoch`) first fired at a logged epoch <= epoch."""
        fired = self.fired.get(diag)
        if fired is None or epoch is None or not fired:
            return fired
        first = self.first.get(diag)
        return first is not None and first <= epoch


def _block_of(run: SeedRun, label: str) -> dict[str, Any]:
    block = (run.result or {}).get("protocol")
    if not isinstance(block, dict) or not isinstance(block.get("fired"), dict):
        raise _Stop(
            "error",
            f"run {run.run_id} ({label}, seed {run.seed}) has no protocol block "
            "(result['protocol']): it was stored before runs recorded the protocol; train it again",
        )
    return block


def _set_of(block: dict[str, Any]) -> tuple[str, ...]:
    P = _protocol()
    diags = block.get("diagnostics")
    if isinstance(diags, list) and diags:
        return tuple(diags)
    return P.SETS.get(str(block.get("set")), P.SETS["paper"])


def _known(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _proto_of(run: SeedRun, label: str, frozen: SeedRun | None) -> _Proto:
    """The run's protocol facts from its stored block (thresholds as the run recorded them);
    with `frozen`, (d): final test_acc < frozen final test_acc + margin_pp / 100."""
    P = _protocol()
    res = run.result or {}
    block = _block_of(run, label)
    final = res.get("final") or {}
    thresholds = {**P.defaults(), **(block.get("thresholds") or {})}
    diagnostics = _set_of(block)
    fired = {d: block["fired"].get(d) for d in E.DIAGNOSTICS}
    first_epoch = block.get("first_epoch") or {}
    first = {d: first_epoch.get(d) if fired[d] else None for d in E.DIAGNOSTICS}
    crit = block.get("critical") or {}
    values: dict[str, Any] = {
        "growth_max": final.get("growth_max", crit.get("a")),
        "g_norm_min": final.get("g_norm_min", crit.get("b")),
        "stability": crit.get("c", final.get("stability")),
        "stability_max": final.get("stability_max"),
        "test_acc": final.get("test_acc"),
    }
    frozen_run = None
    if frozen is not None:
        frozen_run = frozen.run_id
        acc = final.get("test_acc")
        facc = ((frozen.result or {}).get("final") or {}).get("test_acc")
        acc = acc if _known(acc) else None
        facc = facc if _known(facc) else None
        margin = float(thresholds["margin_pp"])
        fired["d"] = P.fires_d(acc, facc, margin)
        if fired["d"]:
            first["d"] = next(
                (
                    e.get("epoch")
                    for e in res.get("log") or []
                    if _known(e.get("test_acc")) and P.fires_d(e["test_acc"], facc, margin)
                ),
                None,
            )
        values.update(
            frozen_acc=facc,
            margin_pp=None if acc is None or facc is None else (acc - facc) * 100.0,
        )
    pending = [d for d in diagnostics if fired[d] is None]
    fired_set = [d for d in diagnostics if fired[d]]
    verdict = "walked back" if fired_set else "trustworthy"
    text = P.label(str(block.get("set", "paper")), fired_set, verdict)
    if pending and not fired_set:
        text += f" (pending: {'+'.join(pending)})"
    return _Proto(
        label,
        run.seed,
        run.run_id,
        str(block.get("set", "paper")),
        diagnostics,
        thresholds,
        fired,
        first,
        values,
        verdict,
        text,
        pending,
        frozen_run,
    )


def _pred_holds(p: E.Predicate, pr: _Proto) -> bool | None:
    """One predicate on one run (three-valued: None when a diagnostic it reads is pending)."""
    diags = p.needs(pr.diagnostics)
    if p.kind in ("trustworthy", "walked_back"):
        walked = _any3(pr.fired[d] for d in diags)
        return walked if p.kind == "walked_back" else _not3(walked)
    if p.kind == "first":
        return _all3(
            None if pr.fired[d] is None else pr.fired[d] and pr.first[d] == p.epoch for d in diags
        )
    by = [pr.fired_by(d, p.epoch) for d in diags]
    return _all3(by) if p.kind == "fires" else _all3(_not3(x) for x in by)


def _tree3(node: E.Node, value: Any) -> bool | None:
    """A predicate-only expression on one seed, three-valued."""
    if isinstance(node, E.Predicate):
        return value(node)
    if isinstance(node, E.Not):
        return _not3(_tree3(node.item, value))
    if isinstance(node, E.And):
        return _all3(_tree3(i, value) for i in node.items)
    if isinstance(node, E.Or):
        return _any3(_tree3(i, value) for i in node.items)
    raise TypeError(f"not a predicate expression: {node}")  # pragma: no cover


_DIAG_VALUES = {
    "a": ("growth_max",),
    "b": ("g_norm_min",),
    "c": ("stability", "stability_max"),
    "d": ("test_acc", "frozen_acc", "margin_pp"),
}


def _why(pr: _Proto, diag: str) -> str:
    """Why a diagnostic fired or not on this run: its deciding value against the threshold."""
    t, v = pr.thresholds, pr.values
    if diag == "a":
        return f"growth_max {_g(v['growth_max'], 3)} {'>' if pr.fired['a'] else '<='} {_g(t['growth'])}"
    if diag == "b":
        return f"g_norm_min {_g(v['g_norm_min'], 3)} {'<' if pr.fired['b'] else '>='} {_g(t['g_floor'])}"
    if diag == "c":
        where = "final" if str(t.get("stability_at", "final")) == "final" else "max"
        return (
            f"stability ({where}) {_g(v['stability'], 3)} "
            f"{'>' if pr.fired['c'] else '<='} {_g(t['stability'])}"
        )
    m = v.get("margin_pp")
    return (
        f"test_acc {_g(v.get('test_acc'))} vs frozen {_g(v.get('frozen_acc'))}: "
        f"{'n/a' if m is None else f'{m:+.2f}'} pp {'<' if pr.fired['d'] else '>='} "
        f"{_g(t['margin_pp'])}"
    )


def _proto_detail(pr: _Proto, diags: Iterable[str]) -> str:
    """'dfa walked back (a+b): a at epoch 8 (growth_max 6.1e+03 > 50), ...'."""
    parts = []
    for d in diags:
        if pr.fired[d] is None:
            parts.append(f"{d} not judged (its value is null)")
        elif pr.fired[d]:
            at = f" first at epoch {pr.first[d]}" if pr.first[d] is not None else ""
            parts.append(f"{d} fires{at} ({_why(pr, d)})")
        else:
            parts.append(f"{d} does not fire ({_why(pr, d)})")
    return f"{pr.label} {pr.text}: " + ", ".join(parts)


def _proto_brief(pr: _Proto, diags: list[str]) -> str:
    """'bp trustworthy' / 'dfa walked back (a+b): a first at epoch 8, ...' when the predicates
    read the whole set; else what the diagnostics they read did ('bp: a, b do not fire')."""
    fired = [
        f"{d} first at epoch {pr.first[d]}" if pr.first[d] is not None else f"{d} fires"
        for d in diags
        if pr.fired[d]
    ]
    quiet = [d for d in diags if pr.fired[d] is False]
    if set(pr.diagnostics) <= set(diags):
        return f"{pr.label} {pr.text}" + (f": {', '.join(fired)}" if fired else "")
    parts = fired + (
        [f"{', '.join(quiet)} {'does' if len(quiet) == 1 else 'do'} not fire"] if quiet else []
    )
    return f"{pr.label}: " + ", ".join(parts)


def _diag_rule(diag: str, t: dict[str, Any], baseline: str) -> str:
    if diag == "a":
        return f"(a) growth > {_g(t['growth'])} at any logged epoch"
    if diag == "b":
        return f"(b) g_norm < {_g(t['g_floor'])} at any logged epoch"
    if diag == "c":
        at = "the final" if str(t.get("stability_at", "final")) == "final" else "any"
        return f"(c) stability > {_g(t['stability'])} at {at} logged epoch"
    return (
        f"(d) final test_acc < final test_acc of '{baseline}' (same point and seed) "
        f"+ {_g(t['margin_pp'])} pp"
    )


def _baseline_runs(
    baseline: str, pdata: dict[str, list[SeedRun]], seeds: list[int]
) -> dict[int, SeedRun]:
    """The frozen-blocks runs (d) compares with, by seed; raises _Stop naming what is missing."""
    by_seed = {r.seed: r for r in pdata.get(baseline) or []}
    bad: list[str] = []
    missing: list[str] = []
    for s in seeds:
        r = by_seed.get(s)
        if r is None:
            missing.append(f"'{baseline}' seed {s} (not among this point's runs)")
        elif r.result is None:
            missing.append(f"'{baseline}' seed {s} (run {r.run_id})")
        elif r.result.get("status", "ok") != "ok":
            bad.append(
                f"run {r.run_id} ({baseline}, seed {s}) {r.result.get('status')}: "
                f"{_last_line(r.result.get('error'))}"
            )
    if bad:
        raise _Stop("error", "the frozen-blocks baseline of (d) failed: " + "; ".join(bad))
    if missing:
        raise _Stop(
            "unsourced",
            "no result for the frozen-blocks baseline that diagnostic (d) compares with: "
            + ", ".join(missing),
        )
    return {s: by_seed[s] for s in seeds}


def _eval_predicates(node: E.Node, pdata: dict[str, list[SeedRun]], ctx: _Ctx) -> _Out:
    """A predicate-only (sub)expression: a boolean per seed (runs paired by seed value), which
    must hold on every seed (or at least k with `seeds: k/n`)."""
    preds = E.predicates(node)
    labels = list(dict.fromkeys(p.method for p in preds))
    expr_text = str(node)
    runs = [r.run_id for label in labels for r in pdata.get(label) or []]
    baseline = ctx.claim.baseline
    try:
        runs = _check_runs(labels, pdata)
        seeds = [r.seed for r in pdata[labels[0]]]
        if any({r.seed for r in pdata[label]} != set(seeds) for label in labels[1:]):
            raise _Stop(
                "error",
                "the methods have different seeds, so they cannot be paired by seed: "
                + "; ".join(f"{label}: {sorted(r.seed for r in pdata[label])}" for label in labels),
            )
        need_d = {
            label: any(
                "d" in p.needs(_set_of(_block_of(r, label)))
                for p in preds
                if p.method == label
                for r in pdata[label]
            )
            for label in labels
        }
        frozen: dict[int, SeedRun] = {}
        if any(need_d.values()):
            runs += [r.run_id for r in pdata.get(baseline) or [] if r.seed in seeds]
            frozen = _baseline_runs(baseline, pdata, seeds)
        protos = {
            (label, r.seed): _proto_of(r, label, frozen.get(r.seed) if need_d[label] else None)
            for label in labels
            for r in pdata[label]
        }
        k, n = ctx.per_seed if ctx.per_seed is not None else (None, None)
        if n is not None and n != len(seeds):
            raise _Stop("error", f"seeds: {k}/{n} but {len(seeds)} seeds have results")
        used = {
            label: list(
                dict.fromkeys(
                    d
                    for p in preds
                    if p.method == label
                    for d in p.needs(protos[(label, seeds[0])].diagnostics)
                )
            )
            for label in labels
        }
        rows: list[dict[str, Any]] = []
        for s in seeds:
            holds = _tree3(node, lambda p, s=s: _pred_holds(p, protos[(p.method, s)]))
            if holds is None:
                pend = [
                    f"{label} ({', '.join(d for d in used[label] if protos[(label, s)].fired[d] is None)})"
                    for label in labels
                    if any(protos[(label, s)].fired[d] is None for d in used[label])
                ]
                raise _Stop(
                    "error",
                    f"cannot decide '{expr_text}' at seed {s}: a diagnostic it reads was not "
                    f"judged (its value is null) for {', '.join(pend)}",
                )
            rows.append(_predicate_row(s, holds, preds, labels, used, protos))
    except _Stop as stop:
        return _Out(stop.verdict, stop.message, expr_text, {"expr": expr_text}, runs)
    need = len(seeds) if k is None else k
    held = sum(r["holds"] for r in rows)
    verdict = "pass" if held >= need else "fail"
    who = "every seed" if k is None else f"at least {k} of {len(seeds)} seeds"
    if verdict == "pass":
        message = f"holds for {held} of {len(seeds)} seeds (needs {who}): " + "; ".join(
            f"seed {s}: "
            + ", ".join(_proto_brief(protos[(label, s)], used[label]) for label in labels)
            for s in seeds
        )
    else:
        s = next(r["seed"] for r in rows if not r["holds"])
        message = (
            f"holds for {held} of {len(seeds)} seeds, needs {who}; fails at seed {s}: "
            + "; ".join(_proto_detail(protos[(label, s)], used[label]) for label in labels)
        )
    pr0 = protos[(labels[0], seeds[0])]
    diags_used = sorted({d for ds in used.values() for d in ds})
    rule = (
        f"{expr_text}, a protocol predicate per seed (runs paired by seed), must hold for {who} "
        f"(n={len(seeds)}); protocol set '{pr0.set}' ({'+'.join(pr0.diagnostics)}), thresholds "
        f"as the runs recorded them: "
        + "; ".join(_diag_rule(d, pr0.thresholds, baseline) for d in diags_used)
    )
    if any(p.epoch is not None and p.kind != "first" for p in preds):
        rule += "; 'fires by epoch N': fires for the run and first fired at a logged epoch <= N"
    numbers = {
        "expr": expr_text,
        "per_seed": rows,
        "held": held,
        "needed": need,
        "of": len(seeds),
        "protocol": {
            "set": pr0.set,
            "diagnostics": list(pr0.diagnostics),
            "thresholds": pr0.thresholds,
            "baseline": baseline if frozen else None,
        },
    }
    return _Out(verdict, message, rule, numbers, list(dict.fromkeys(runs)))


def _predicate_row(
    seed: int,
    holds: bool,
    preds: list[E.Predicate],
    labels: list[str],
    used: dict[str, list[str]],
    protos: dict[tuple[str, int], _Proto],
) -> dict[str, Any]:
    """One seed of a predicate claim: whether it holds, and per method what the protocol said
    (fired diagnostics, first epochs, verdict) with the deciding values."""
    values: dict[str, Any] = {}
    detail: dict[str, Any] = {}
    for label in labels:
        pr = protos[(label, seed)]
        diags = list(dict.fromkeys([*pr.diagnostics, *used[label]]))
        values[f"{label}.verdict"] = pr.text
        fired = [d for d in diags if pr.fired[d]]
        values[f"{label}.fired"] = "+".join(fired) or "none"
        for d in fired:
            if pr.first[d] is not None:
                values[f"{label}.first_{d}"] = pr.first[d]
        for d in used[label]:
            for key in _DIAG_VALUES[d]:
                if pr.values.get(key) is not None:
                    values[f"{label}.{key}"] = pr.values[key]
        detail[label] = {
            "run": pr.run_id,
            "set": pr.set,
            "verdict": pr.verdict,
            "label": pr.text,
            "fired": {d: pr.fired[d] for d in diags},
            "first_epoch": {d: pr.first[d] for d in diags},
            "values": {k: v for k, v in pr.values.items() if v is not None},
            "pending": pr.pending,
            **({"frozen_run": pr.frozen_run} if pr.frozen_run else {}),
        }
    epochs = [
        protos[(p.method, seed)].first[p.diagnostics[0]]
        for p in preds
        if p.kind in ("fires", "first") and len(p.diagnostics) == 1
    ]
    return {
        "seed": seed,
        "holds": holds,
        "epoch": epochs[0] if len(preds) == 1 and epochs else None,
        "values": values,
        "protocol": detail,
    }


# ------------------------------------------------------------------------------- tree walk


def _eval(node: E.Node, pdata: dict[str, list[SeedRun]], ctx: _Ctx) -> _Out:
    if E.only_predicates(node):
        return _eval_predicates(node, pdata, ctx)
    if isinstance(node, E.Compare):
        return _eval_compare(node, pdata, ctx)
    if isinstance(node, E.Not):
        inner = _eval(node.item, pdata, ctx)
        v = negate(inner.verdict)
        message = {
            "pass": f"the negated part does not hold: {inner.message}",
            "fail": f"the negated part holds: {inner.message}",
        }.get(v, inner.message)
        return _Out(
            v,
            message,
            f"not ({inner.rule})",
            {"op": "not", "item": inner.numbers},
            inner.runs,
        )
    items = [_eval(i, pdata, ctx) for i in node.items]
    is_and = isinstance(node, E.And)
    v = combine_and(o.verdict for o in items) if is_and else combine_or(o.verdict for o in items)
    word = "and" if is_and else "or"
    if (is_and and v == "pass") or (not is_and and v == "fail"):
        message = "; ".join(o.message for o in items)
    else:
        message = next(o.message for o in items if o.verdict == v)
    runs = list(dict.fromkeys(r for o in items for r in o.runs))
    return _Out(
        v,
        message,
        f" {word} ".join(f"({o.rule})" for o in items),
        {"op": word, "items": [o.numbers for o in items]},
        runs,
    )


# --------------------------------------------------------------------------------- reported


def _check_reported(
    key: str, rep: Reported, pdata: dict[str, list[SeedRun]], ctx: _Ctx
) -> dict[str, Any]:
    """Does the paper's number agree with the measured runs? (see module doc and schema)."""
    label, _, metric = key.partition(".")
    metric = metric or ctx.claim.metric
    entry: dict[str, Any] = {
        "method": label,
        "metric": metric,
        "reported": {"mean": rep.mean, "std": rep.std, "n": rep.n, "text": rep.text},
    }
    op = E.Operand(label, metric)
    try:
        entry["runs"] = _check_runs([label], pdata)
        raw = [_final(r, op, metric) for r in pdata[label]]
    except _Stop as stop:
        entry.update(status=stop.verdict, reason=stop.message)
        return entry
    mean, std = S.mean_std(raw)
    n = len(raw)
    std0 = float(np.std(raw, ddof=0))
    entry["measured"] = {"mean": mean, "std": std, "std_ddof0": std0, "n": n, "values": raw}
    reasons: list[str] = []
    if rep.n is not None and rep.n != n:
        reasons.append(f"the paper says n={rep.n}; {n} seed(s) measured")
    elif rep.std is not None and n < 2:
        reasons.append("the paper prints a std, which needs at least 2 seeds; 1 seed measured")
    diff = mean - rep.mean
    tol = rep.resolution() or 0.0
    ms = ctx.stats.metric(metric)
    measured = f"{_g(mean)}" + (f" ± {_g(std, 2)}" if std is not None else "") + f" (n={n})"
    if rep.std is not None and std is not None:
        tr = S.agree_from_stats(mean, std, n, rep.mean, rep.std, rep.n or n)
        entry.update(p=tr.p, test="two-sided Welch t-test from summary statistics")
        agree = (tr.p is not None and tr.p >= ctx.alpha) or abs(diff) <= tol
        if not agree:
            reasons.append(f"{rep.text} vs measured {measured}: p={_g(tr.p, 2)} < {ctx.alpha}")
        stol = rep.std_resolution() or 1e-12
        if abs(rep.std - std0) <= stol and abs(rep.std - std) > stol:
            reasons.append(
                f"the reported std {_g(rep.std)} is the ddof=0 std ({_g(std0, 3)}); with ddof=1 it is {_g(std, 3)}"
            )
    else:
        if ms.scale == "log" and ms.close_ratio is not None and mean > 0 and rep.mean > 0:
            ratio = max(mean / rep.mean, rep.mean / mean)
            agree = ratio <= ms.close_ratio or abs(diff) <= tol
            entry.update(test=f"ratio within close_ratio {ms.close_ratio} or the printed digits")
        else:
            margin = max(ms.close or 0.0, tol)
            agree = abs(diff) <= margin
            entry.update(test=f"|difference| <= {_g(margin)} (close margin or printed digits)")
        if not agree:
            reasons.append(f"{rep.text} vs measured {measured}: differs by {_g(diff, 3)}")
    entry.update(status="mismatch" if reasons else "agree", reason="; ".join(reasons))
    return entry


# ------------------------------------------------------------------------------------ decide


def _parse_seeds(spec: str | None) -> tuple[int | None, int | None] | None:
    if spec is None:
        return None
    if spec == "all":
        return (None, None)
    k, n = spec.split("/")
    return int(k), int(n)


def _select(
    claim: Claim, data: dict[PointKey, dict[str, list[SeedRun]]]
) -> list[tuple[dict[str, Any], PointKey]]:
    """The points the claim is decided at, one per value of for_each (or exactly one)."""
    keys = [k for k in data if all(dict(k).get(ax, _MISSING) == v for ax, v in claim.at.items())]
    if not keys:
        raise _Stop(
            "error",
            f"no point of experiment '{claim.experiment}' matches at: {claim.at}"
            if claim.at
            else f"no points of experiment '{claim.experiment}' were given",
        )
    groups: dict[Any, list[PointKey]] = {}
    for k in keys:
        groups.setdefault(dict(k).get(claim.for_each) if claim.for_each else None, []).append(k)
    out = []
    for value, ks in groups.items():
        if len(ks) > 1:
            axes = sorted({ax for k in ks for ax, _ in k} - set(claim.at) - {claim.for_each})
            raise _Stop(
                "error",
                f"the claim matches {len(ks)} points; pick one with for_each/at on {', '.join(axes)}",
            )
        label = {claim.for_each: value} if claim.for_each else {}
        out.append((label, ks[0]))
    return out


_MISSING = object()


def decide(claim: Claim, data: dict[PointKey, dict[str, list[SeedRun]]], stats: Stats) -> Verdict:
    """Decide one claim from its runs. Never raises for bad results: they become the verdict."""
    node = claim.expr if claim.expr is not None else E.parse(claim.expect)
    ctx = _Ctx(claim, stats, stats.alpha, stats.test == "student", _parse_seeds(claim.seeds))
    try:
        points = _select(claim, data)
    except _Stop as stop:
        return Verdict(claim.id, stop.verdict, claim.expect, stop.message, {"points": []})
    results: list[dict[str, Any]] = []
    all_runs: list[str] = []
    reported: list[dict[str, Any]] = []
    rules: list[str] = []
    for label, key in points:
        pdata = data[key]
        out = _eval(node, pdata, ctx)
        rules.append(out.rule)
        verdict, message = out.verdict, out.message
        checks = [_check_reported(k, rep, pdata, ctx) for k, rep in claim.reported.items()]
        for c in checks:
            if label:
                c["point"] = label
            all_runs += c.get("runs", [])
        rep_verdict = combine_and(
            [{"agree": "pass", "mismatch": "fail"}.get(c["status"], c["status"]) for c in checks]
            or ["pass"]
        )
        if _AND_RANK[rep_verdict] < _AND_RANK[verdict]:
            bad = next(c for c in checks if c["status"] != "agree")
            prefix = f"{message}; but " if verdict == "pass" else ""
            verdict = rep_verdict
            message = f"{prefix}reported {bad['method']}: {bad['reason']}"
        reported += checks
        all_runs += out.runs
        results.append({"point": dict(key), "verdict": verdict, "message": message, **out.numbers})
    verdict = combine_and(r["verdict"] for r in results)
    if claim.for_each:
        if verdict == "pass":
            message = f"holds at every {claim.for_each} ({', '.join(str(p[0][claim.for_each]) for p in points)})"
        else:
            worst = next(r for r in results if r["verdict"] == verdict)
            message = f"{verdict} at {claim.for_each}={worst['point'][claim.for_each]}: {worst['message']}"
    else:
        message = results[0]["message"]
    rule = rules[0]
    if claim.for_each:
        rule = f"for each {claim.for_each} (all must pass): {rule}"
    if claim.at:
        rule = "at " + ", ".join(f"{k}={v}" for k, v in claim.at.items()) + ": " + rule
    numbers = {
        "alpha": ctx.alpha,
        "test": stats.test,
        "metric": claim.metric,
        "seeds": claim.seeds or ("every seed" if E.only_predicates(node) else "over seeds"),
        "points": results,
    }
    return Verdict(
        claim.id, verdict, rule, message, numbers, list(dict.fromkeys(all_runs)), reported
    )
