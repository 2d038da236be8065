"""Protocol predicates (`dfa is walked_back`, `bp never fires b`, `dfa fires a first at epoch 4`):
a boolean per run from the protocol block it recorded, (d) folded in against the frozen-blocks
runs (their mean over the claim's seeds by default, `protocol.baseline: mean`; the run of the same
seed with `baseline: paired`); a predicate-only expression holds per seed, on every (or k) seeds.
A run's verdict text is never "trustworthy" while a diagnostic of its set is pending.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from faspec.check.base import Ctx, Out, SeedRun, Stop, _check_runs, _g, _last_line
from faspec.spec import expr as E

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
    verdict: str  # over the set: walked back | trustworthy | undecided (a diagnostic pending)
    text: str  # 'walked back (a+b)' / 'FAIL(D1+D2)' / 'trustworthy' / 'undecided (pending: d)'
    pending: list[str]
    frozen_run: str | None = None  # the frozen run(s) (d) compared with, comma-separated
    reported: tuple[str, ...] = ()  # judged but outside the verdict ((c) as a sub-mode)

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
        raise Stop(
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


def _thresholds_of(run: SeedRun, block: dict[str, Any]) -> dict[str, Any]:
    """The thresholds a run is judged with: as it stored them (an option it predates read as
    the rule it was made with), the claim's check-side options (`run.check`) over them."""
    return {**_protocol().as_stored(block.get("thresholds") or {}), **(run.check or {})}


def _verdict_of(run: SeedRun, block: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(verdict set, reported): the stored block's, or, when the claim names its check-side
    options, the set they give ((c) in or out of the verdict by its `stability_role`)."""
    P = _protocol()
    if not run.check:
        return _set_of(block), tuple(block.get("reported") or ())
    name = str(block.get("set", "paper"))
    diags = P.verdict_set({"set": name, **_thresholds_of(run, block)})
    return diags, tuple(d for d in P.SETS.get(name, P.SETS["paper"]) if d not in diags)


def _known(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _frozen_acc(run: SeedRun) -> float | None:
    acc = ((run.result or {}).get("final") or {}).get("test_acc")
    return acc if _known(acc) else None


def _proto_of(run: SeedRun, label: str, frozen: dict[int, SeedRun] | None) -> _Proto:
    """The run's protocol facts from its stored block (thresholds as the run recorded them);
    with `frozen` (the frozen-blocks runs by seed), (d): final test_acc < baseline +
    margin_pp / 100, the baseline being the frozen runs' mean final test_acc over the seeds
    (`baseline: mean`: the notes state the baseline as a seed mean, "0.349±0.003", and take
    margins against it, "Margin over frozen: BP+pen +18.3 pp, ...") or the same seed's
    (`baseline: paired`)."""
    P = _protocol()
    res = run.result or {}
    block = _block_of(run, label)
    final = res.get("final") or {}
    thresholds = _thresholds_of(run, block)
    diagnostics, reported = _verdict_of(run, block)
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
        paired = str(thresholds.get("baseline", "mean")) == "paired"
        base = [frozen[run.seed]] if paired else list(frozen.values())
        frozen_run = ", ".join(r.run_id for r in base)
        acc = final.get("test_acc")
        acc = acc if _known(acc) else None
        accs = [_frozen_acc(r) for r in base]
        facc = None if any(a is None for a in accs) else sum(accs) / len(accs)  # type: ignore[arg-type]
        margin = float(thresholds["margin_pp"])
        fired["d"] = P.fires_d(acc, facc, margin)
        if fired["d"]:
            first["d"] = P.fired_for_good(
                (e.get("epoch"), P.fires_d(e["test_acc"], facc, margin))
                for e in res.get("log") or []
                if _known(e.get("test_acc"))
            )
        values.update(
            frozen_acc=facc,
            margin_pp=None if acc is None or facc is None else P.margin_of(acc, facc),
        )
    pending = [d for d in diagnostics if fired[d] is None]
    fired_set = [d for d in diagnostics if fired[d]]
    verdict = P.decide_verdict(diagnostics, fired)
    text = P.label(str(block.get("set", "paper")), fired_set, verdict, pending)
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
        reported,
    )


def _pred_holds(p: E.Predicate, pr: _Proto) -> bool | None:
    """One predicate on one run (three-valued: None when a diagnostic it reads is pending)."""
    diags = p.needs(pr.diagnostics)
    if p.kind in ("trustworthy", "walked_back"):
        walked = _any3(pr.fired[d] for d in diags)
        return walked if p.kind == "walked_back" else _not3(walked)
    if p.kind == "first":
        return _all3(
            None
            if pr.fired[d] is None
            else bool(pr.fired[d])
            and pr.first[d] is not None
            and abs(pr.first[d] - p.epoch) <= p.tolerance  # type: ignore[operator]
            for d in diags
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


def _beside(value: float | None, threshold: float) -> str:
    """`value` to 3 significant figures, or to as many more as it takes to print it apart from
    `threshold`: 9.9996e-08 against a floor of 1e-07 must not read "1e-07 < 1e-07"."""
    if value is None:
        return _g(value)
    shown = float(_g(threshold))  # the threshold as the sentence prints it
    for digits in range(3, 18):
        text = _g(value, digits)
        if value == threshold or float(text) != shown:
            return text
    return repr(value)  # pragma: no cover


def _pp(margin: float, threshold: float) -> str:
    """A margin in pp to 2 decimals, or more where 2 would print it equal to the threshold
    (+1.996 pp against 2 must not read "+2.00 pp < 2")."""
    for decimals in range(2, 10):
        text = f"{margin:+.{decimals}f}"
        if margin == threshold or float(text) != threshold:
            return text
    return repr(margin)  # pragma: no cover


def _why(pr: _Proto, diag: str) -> str:
    """Why a diagnostic fired or not on this run: its deciding value against the threshold."""
    t, v = pr.thresholds, pr.values
    if diag == "a":
        grow = _beside(v["growth_max"], float(t["growth"]))
        return f"growth_max {grow} {'>' if pr.fired['a'] else '<='} {_g(t['growth'])}"
    if diag == "b":
        gmin = _beside(v["g_norm_min"], _protocol().g_floor_at(t))
        return f"g_norm_min {gmin} {'<' if pr.fired['b'] else '>='} {_floor_text(t)}"
    if diag == "c":
        where = "final" if str(t.get("stability_at", "final")) == "final" else "max"
        stab = _beside(v["stability"], float(t["stability"]))
        return f"stability ({where}) {stab} {'>' if pr.fired['c'] else '<='} {_g(t['stability'])}"
    m = v.get("margin_pp")
    which = "frozen (same seed)" if _paired(t) else "frozen seed mean"
    return (
        f"test_acc {_g(v.get('test_acc'))} vs {which} {_g(v.get('frozen_acc'))}: "
        f"{'n/a' if m is None else _pp(m, float(t['margin_pp']))} pp "
        f"{'<' if pr.fired['d'] else '>='} "
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
    return f"{pr.label} {pr.text}: " + ", ".join(parts) + _outside(pr, diags)


def _outside(pr: _Proto, diags: Iterable[str]) -> str:
    """' (c, outside the verdict, fires at epoch 0: stability (final) 0.98 > 0.3)' for each
    reported diagnostic (judged, not in the verdict set) that fires, when the predicates read the
    whole verdict set: a bare `never fires` or `is trustworthy` holds over the verdict set, and
    the message says what fired beside it (a predicate naming its letters, `never fires b`, gets
    no note)."""
    read = set(diags)
    if not set(pr.diagnostics) <= read:  # `never fires b`: the letters named are the claim
        return ""
    notes = [
        f" ({d}, outside the verdict, fires"
        + (f" at epoch {pr.first[d]}" if pr.first[d] is not None else "")
        + f": {_why(pr, d)})"
        for d in pr.reported
        if d not in read and pr.fired.get(d)
    ]
    return "".join(notes)


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
        text = f"{pr.label} {pr.text}" + (f": {', '.join(fired)}" if fired else "")
        return text + _outside(pr, diags)
    parts = fired + (
        [f"{', '.join(quiet)} {'does' if len(quiet) == 1 else 'do'} not fire"] if quiet else []
    )
    return f"{pr.label}: " + ", ".join(parts)


def _paired(t: dict[str, Any]) -> bool:
    return str(t.get("baseline", "mean")) == "paired"


def _floor_text(t: dict[str, Any]) -> str:
    """(b)'s floor as used: '2e-07 (g_floor 1e-07 at 1024 samples, scaled to 512)' when the
    evaluation batch differs from the one g_floor is stated for, else the floor itself."""
    used = _protocol().g_floor_at(t)
    ref, n = t.get("g_floor_batch") or 1024, t.get("eval_batch") or t.get("g_floor_batch")
    if n is None or int(n) == int(ref):
        return _g(used)
    return f"{_g(used)} (g_floor {_g(t['g_floor'])} at {int(ref)} samples, scaled to {int(n)})"


def _diag_rule(diag: str, t: dict[str, Any], baseline: str) -> str:
    if diag == "a":
        return f"(a) growth > {_g(t['growth'])} at any logged epoch"
    if diag == "b":
        return f"(b) g_norm < {_floor_text(t)} at any logged epoch"
    if diag == "c":
        at = "the final" if str(t.get("stability_at", "final")) == "final" else "any"
        role = (
            ", a sub-mode discriminator outside the verdict"
            if str(t.get("stability_role", "detector")) == "submode"
            else ""
        )
        return f"(c) stability > {_g(t['stability'])} at {at} logged epoch{role}"
    against = (
        f"final test_acc of '{baseline}' (same point and seed)"
        if _paired(t)
        else f"mean final test_acc of '{baseline}' over the seeds (same point)"
    )
    return f"(d) final test_acc < {against} + {_g(t['margin_pp'])} pp"


def _baseline_runs(
    baseline: str, pdata: dict[str, list[SeedRun]], seeds: list[int]
) -> dict[int, SeedRun]:
    """The frozen-blocks runs (d) compares with, by seed; raises Stop naming what is missing."""
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
        raise Stop("error", "the frozen-blocks baseline of (d) failed: " + "; ".join(bad))
    if missing:
        raise Stop(
            "unsourced",
            "no result for the frozen-blocks baseline that diagnostic (d) compares with: "
            + ", ".join(missing),
        )
    return {s: by_seed[s] for s in seeds}


def _eval_predicates(node: E.Node, pdata: dict[str, list[SeedRun]], ctx: Ctx) -> Out:
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
            raise Stop(
                "error",
                "the methods have different seeds, so they cannot be paired by seed: "
                + "; ".join(f"{label}: {sorted(r.seed for r in pdata[label])}" for label in labels),
            )
        need_d = {
            label: any(
                "d" in p.needs(_verdict_of(r, _block_of(r, label))[0])
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
            (label, r.seed): _proto_of(r, label, frozen if need_d[label] else None)
            for label in labels
            for r in pdata[label]
        }
        k, n = ctx.per_seed if ctx.per_seed is not None else (None, None)
        if n is not None and n != len(seeds):
            raise Stop("error", f"seeds: {k}/{n} but {len(seeds)} seeds have results")
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
                raise Stop(
                    "error",
                    f"cannot decide '{expr_text}' at seed {s}: a diagnostic it reads was not "
                    f"judged (its value is null) for {', '.join(pend)}",
                )
            rows.append(_predicate_row(s, holds, preds, labels, used, protos))
    except Stop as stop:
        return Out(stop.verdict, stop.message, expr_text, {"expr": expr_text}, runs)
    need = len(seeds) if k is None else k
    held = sum(r["holds"] for r in rows)
    ok, who = ctx.seeds_needed(held, len(seeds))
    verdict = "pass" if ok else "fail"
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
    return Out(verdict, message, rule, numbers, list(dict.fromkeys(runs)))


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
        diags = list(dict.fromkeys([*pr.diagnostics, *pr.reported, *used[label]]))
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
