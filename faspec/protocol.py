"""The paper's diagnostic protocol: which diagnostics fire, when, and the run's verdict.

Pure Python on plain numbers (no torch): the same functions decide a run while it trains
(`faspec.train.tracker.Tracker`), re-decide a stored result with other thresholds, fold in the
frozen-blocks baseline that only the check side has (diagnostic (d)), and compute the threshold
values at which verdicts would flip (`sensitivity`). See docs/metrics.md.

Diagnostics (docs/metrics.md), each against a threshold of `measure.protocol`:

* (a) scale growth:        ``growth    >  protocol.growth``     (default 50)
* (b) reference validity:  ``g_norm    <  protocol.g_floor``    (default 1e-7)
* (c) direction stability: ``stability >  protocol.stability``  (default 0.30)
* (d) depth utility:       ``(test_acc - frozen_acc)·100 < protocol.margin_pp`` (default 2 pp)

A diagnostic *fires for a run* when it fires at **any logged epoch** (the protocol monitors
training: a run that blew up at epoch 8 is walked back even if a later epoch looks calmer), so
the per-epoch flags `fired_a`... are cumulative ("has fired by this epoch") and the final value is
"fired during the run". (d) needs another run (the frozen baseline of the same setting), so a run
cannot decide it: its block lists "d" under `pending`, its verdict covers the diagnostics it
decides, and `with_baseline` folds (d) in once the check side has the frozen accuracy.

Sets: ``paper`` = (a), (b), (c), (d); ``public`` = the later public protocol, D1 = (a),
D2 = (b), D3 = (d), without (c) (stability is still logged, it only leaves the verdict). In the
paper set (c) is by default a sub-mode discriminator (`stability_role: submode`): it is judged and
reported, but the verdict is over (a), (b), (d), because the notes say it "only separates sub-modes
(drift vs noise)"; `stability_role: detector` makes it walk a run back on its own.

(d) compares with the frozen-blocks baseline's seed mean by default (`baseline: mean`: the notes
give the baseline as one number over the seeds, "0.349±0.003", and compare with it in
"Margin over frozen: BP+pen +18.3 pp, ..."), or seed by seed (`baseline: paired`).

A verdict is never "trustworthy" while a diagnostic of its set is pending or null: it is
"undecided" then (labels say which: "undecided (pending: d)").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from faspec.registry import Option

PROTOCOL_OPTIONS: dict[str, Option] = {
    "set": Option(
        str,
        "paper",
        "diagnostic set: 'paper' = a, b, c, d; 'public' = D1 (a), D2 (b), D3 (d), no (c)",
        choices=("paper", "public"),
    ),
    "growth": Option(
        float, 50.0, "(a) fires when max_l ||h_{l+1}||/||h_l|| exceeds this", minimum=0.0
    ),
    "g_floor": Option(
        float,
        1e-7,
        "(b) fires when median ||g_L|| falls below this (stated for g_floor_batch samples)",
        minimum=0.0,
    ),
    "g_floor_batch": Option(
        int,
        1024,
        "the evaluation batch N that g_floor is stated for; g is a batch-mean gradient, so on "
        "N' samples the floor used is g_floor*N/N'",
        minimum=1,
    ),
    "stability": Option(float, 0.30, "(c) fires when cross-batch stability exceeds this"),
    "stability_at": Option(
        str,
        "final",
        "(c) is judged at the last logged epoch ('final') or at any logged epoch ('any')",
        choices=("final", "any"),
    ),
    "margin_pp": Option(
        float, 2.0, "(d) fires unless test_acc clears the frozen baseline by this many pp"
    ),
    "baseline": Option(
        str,
        "mean",
        "(d) compares each run with the frozen-blocks runs' mean over the claim's seeds ('mean', "
        "the notes' rule) or with the frozen run of its own seed ('paired')",
        choices=("mean", "paired"),
        in_hash=False,  # decided on the check side: choosing it retrains nothing
    ),
    "stability_role": Option(
        str,
        "submode",
        "paper set: (c) is reported as a sub-mode discriminator outside the verdict ('submode', "
        "the notes' reading) or walks a run back like (a), (b), (d) ('detector')",
        choices=("submode", "detector"),
        in_hash=False,  # how the check side reads the verdict: choosing it retrains nothing
    ),
}

SETS: dict[str, tuple[str, ...]] = {"paper": ("a", "b", "c", "d"), "public": ("a", "b", "d")}
PUBLIC_NAMES = {"a": "D1", "b": "D2", "d": "D3"}
RUN_DECIDED = ("a", "b", "c")  # what one run decides on its own; (d) needs the frozen run
# Options only the check side reads (how a verdict is formed from what the run measured): left out
# of the run hash, and taken from the claim's spec, not from the stored run, when it is decided.
CHECK_SIDE = tuple(k for k, o in PROTOCOL_OPTIONS.items() if not o.in_hash)

# diagnostic -> (metric in the log entry, threshold option, "above" | "below")
RULES: dict[str, tuple[str, str, str]] = {
    "a": ("growth", "growth", "above"),
    "b": ("g_norm", "g_floor", "below"),
    "c": ("stability", "stability", "above"),
}
# diagnostic -> its extreme over the logged epochs (stored in result["final"])
EXTREMES = {"a": "growth_max", "b": "g_norm_min", "c": "stability_max"}
THRESHOLD_KEYS = (
    "growth",
    "g_floor",
    "g_floor_batch",
    "eval_batch",
    "stability",
    "stability_at",
    "margin_pp",
    "baseline",
    "stability_role",
)


def g_floor_at(protocol: Mapping[str, Any]) -> float:
    """(b)'s floor on the batch the run measured: g_floor·g_floor_batch/eval_batch, because
    ‖g_L‖ of the batch-mean CE scales as 1/N. Without `eval_batch` (results stored before it
    was recorded) the batch is taken to be g_floor_batch: the floor as stated."""
    floor = float(protocol["g_floor"])
    ref = protocol.get("g_floor_batch") or 1024
    n = protocol.get("eval_batch") or ref
    return floor * float(ref) / float(n)


def verdict_set(protocol: Mapping[str, Any]) -> tuple[str, ...]:
    """The diagnostics a verdict is over: the set's letters, without (c) when it is a sub-mode
    discriminator (`stability_role: submode`, the default). Results stored before the option
    existed read as 'detector' (what they were judged with)."""
    diags = SETS[str(protocol.get("set", "paper"))]
    if str(protocol.get("stability_role", "detector")) == "submode":
        diags = tuple(d for d in diags if d != "c")
    return diags


# What a result stored before an option existed was judged with: (c) walked a run back on its own,
# and (d) compared each run with the frozen run of its seed.
STORED_BEFORE = {"stability_role": "detector", "baseline": "paired"}


def as_stored(thresholds: Mapping[str, Any]) -> dict[str, Any]:
    """Stored thresholds completed with the defaults, an option the result predates read as the
    rule it was made with (`STORED_BEFORE`), not as today's default: an old result is judged by
    the rule it was judged with when it was stored."""
    return {**defaults(), **STORED_BEFORE, **dict(thresholds)}


def window(diag: str, protocol: Mapping[str, Any]) -> str:
    """'any' (fires for the run if it fires at any logged epoch: (a), (b), and (c) with
    stability_at 'any') or 'final' (judged at the last logged epoch: (c) by default)."""
    return str(protocol.get("stability_at", "final")) if diag == "c" else "any"


def defaults() -> dict[str, Any]:
    """The protocol options with their default values."""
    return {k: o.default for k, o in PROTOCOL_OPTIONS.items()}


def fires(diag: str, value: float | None, protocol: Mapping[str, Any]) -> bool | None:
    """Does diagnostic `diag` (a, b or c) fire on this value? None when the value is null."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    _, key, side = RULES[diag]
    thr = g_floor_at(protocol) if diag == "b" else float(protocol[key])
    return value > thr if side == "above" else value < thr


def margin_of(test_acc: float, frozen_acc: float) -> float:
    """The run's margin over the frozen baseline in pp, rounded to 1e-9 pp: accuracies are
    multiples of 1/N, and a seed mean (0.30, 0.30, 0.45 -> 0.35000000000000003) must not turn an
    exact +2 pp into +1.9999999999999996 pp, which would fire "clears ... by at least 2 pp"."""
    return round((test_acc - frozen_acc) * 100.0, 9)


def fires_d(test_acc: float | None, frozen_acc: float | None, margin_pp: float) -> bool | None:
    """(d): fires unless the run clears the frozen baseline by at least `margin_pp` points
    (compared at 1e-9 pp, `margin_of`)."""
    if test_acc is None or frozen_acc is None:
        return None
    return margin_of(test_acc, frozen_acc) < margin_pp


def fired_for_good(epochs: Iterable[tuple[Any, bool | None]]) -> Any:
    """The first logged epoch from which a diagnostic fires at every later logged epoch (None if
    it does not fire at the last one). For (d), decided on final accuracies, this is the epoch
    at which the run fell below the frozen baseline for good: a run that cleared the baseline at
    epoch 2 and fell back at epoch 3 fired (d) at 3, not at 0 where every run starts at chance."""
    first = None
    for epoch, fires in epochs:
        if fires is None:
            continue
        if not fires:
            first = None
        elif first is None:
            first = epoch
    return first


def label(set_name: str, fired: Iterable[str], verdict: str, pending: Iterable[str] = ()) -> str:
    """Human verdict: 'trustworthy' / 'walked back (a+b)' (paper), 'PASS' / 'FAIL(D1+D2)', and
    'undecided (pending: d)' while a diagnostic of the set is not decided (never 'trustworthy'
    or 'PASS' then)."""
    fired = sorted(fired)
    if verdict == "undecided":
        pending = list(pending)
        return f"undecided (pending: {'+'.join(pending)})" if pending else verdict
    if set_name == "public":
        return "PASS" if not fired else "FAIL(" + "+".join(PUBLIC_NAMES[d] for d in fired) + ")"
    return verdict if not fired else f"{verdict} ({'+'.join(fired)})"


def _known(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def extremes(log: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """growth_max, g_norm_min, stability_max over the logged epochs (nulls skipped)."""
    out: dict[str, float | None] = {}
    for diag, name in EXTREMES.items():
        metric, _, side = RULES[diag]
        vals = [e.get(metric) for e in log if _known(e.get(metric))]
        out[name] = (max(vals) if side == "above" else min(vals)) if vals else None
    return out


def judge(
    diag: str, log: Sequence[Mapping[str, Any]], protocol: Mapping[str, Any]
) -> tuple[bool | None, int | None, float | None]:
    """(fired, first logged epoch at which it fired, critical value) of one run-decided
    diagnostic. The critical value is what the verdict compares with the threshold — the
    extreme over the logged epochs in the 'any' window, the last value in the 'final' one — so
    it is also the threshold at which this diagnostic would flip. In the 'final' window the
    first epoch is the one from which it fires at every later logged epoch ("for good", as for
    (d): not epoch 0 when it fired at initialisation, calmed down and fired again), reported
    only when the diagnostic fires at the end."""
    metric, _, side = RULES[diag]
    flags = [(e.get("epoch"), fires(diag, e.get(metric), protocol)) for e in log]
    first = next((ep for ep, f in flags if f), None)
    if window(diag, protocol) == "final":
        last = log[-1].get(metric) if log else None
        fired = fires(diag, last, protocol)
        return fired, fired_for_good(flags) if fired else None, last if _known(last) else None
    vals = [e.get(metric) for e in log if _known(e.get(metric))]
    if not vals:
        return None, None, None
    crit = max(vals) if side == "above" else min(vals)
    return fires(diag, crit, protocol), first, crit


def decide_verdict(diags: Sequence[str], fired: Mapping[str, bool | None]) -> str:
    """'walked back' if a diagnostic of the set fired; else 'undecided' if one of the set is
    not decided (None: (d) without the frozen run, a null value) — an undecided diagnostic is
    not one that did not fire; else 'trustworthy'."""
    if any(fired.get(d) for d in diags):
        return "walked back"
    if any(fired.get(d) is None for d in diags):
        return "undecided"
    return "trustworthy"


def evaluate(log: Sequence[Mapping[str, Any]], protocol: Mapping[str, Any]) -> dict[str, Any]:
    """The protocol block of one run from its log (list of entries with `epoch` and metrics).

    Returns ``{"set", "diagnostics" (the verdict's), "reported" (judged, outside the verdict:
    (c) as a sub-mode discriminator), "thresholds", "fired", "first_epoch", "pending",
    "verdict" (trustworthy | walked back | undecided), "label", "needs_frozen_baseline",
    "critical", "g_floor_used"}``; see docs/metrics.md. The verdict is 'undecided' while a
    diagnostic of the set is pending: with the paper and public sets (d) always is, until
    `with_baseline` folds in the frozen run. Thresholds that lack `stability_role` or
    `baseline` (a stored result's, from before they existed) read as `as_stored` says.
    """
    proto = as_stored(protocol)
    set_name = proto["set"]
    diags = verdict_set(proto)
    fired: dict[str, bool | None] = {}
    first: dict[str, int | None] = {}
    critical: dict[str, float | None] = {}
    for diag in RUN_DECIDED:
        fired[diag], first[diag], critical[diag] = judge(diag, log, proto)
    fired["d"], first["d"] = None, None
    pending = [d for d in diags if fired[d] is None]
    decided_fired = [d for d in diags if fired[d]]
    verdict = decide_verdict(diags, fired)
    return {
        "set": set_name,
        "diagnostics": list(diags),
        "reported": [d for d in SETS[set_name] if d not in diags],
        "thresholds": {k: proto.get(k) for k in THRESHOLD_KEYS},
        "g_floor_used": g_floor_at(proto),
        "fired": fired,
        "first_epoch": first,
        "pending": pending,
        "verdict": verdict,
        "label": label(set_name, decided_fired, verdict, pending),
        "needs_frozen_baseline": "d" in diags,
        "critical": critical,
    }


def with_baseline(
    block: Mapping[str, Any], test_acc: float | None, frozen_acc: float | None
) -> dict[str, Any]:
    """Fold (d) into a run's protocol block, given its final accuracy and the frozen-blocks
    accuracy of the same setting (the check side decides which frozen value by
    `thresholds.baseline`: the seed mean by default, or the same seed, and says so). Returns a new block; `pending` loses "d" once decided."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in block.items()}
    if "d" not in out["diagnostics"]:
        return out
    d = fires_d(test_acc, frozen_acc, float(out["thresholds"]["margin_pp"]))
    out["fired"]["d"] = d
    if d is not None:
        out["pending"] = [p for p in out["pending"] if p != "d"]
        out["margin_pp"] = margin_of(test_acc, frozen_acc)  # type: ignore[arg-type]
    decided_fired = [x for x in out["diagnostics"] if out["fired"].get(x)]
    out["verdict"] = decide_verdict(out["diagnostics"], out["fired"])
    out["label"] = label(out["set"], decided_fired, out["verdict"], out["pending"])
    return out


def sensitivity(
    results: Sequence[Mapping[str, Any]],
    protocol: Mapping[str, Any] | None = None,
    frozen_acc: float | Sequence[float | None] | None = None,
) -> dict[str, Any]:
    """Where each run's verdict would flip if one threshold moved (the others held).

    `results` are result dicts (with `final` holding growth_max, g_norm_min, stability_max,
    test_acc, and optionally `protocol`); `protocol` defaults to the first result's stored
    thresholds, else the defaults. `frozen_acc` (one value, or one per result) lets (d) take part.

    Per run: the value each diagnostic is decided on (`critical`), whether it fires at the
    current thresholds, and `flip[x]`: the threshold of x at which the run's verdict flips —
    that critical value when x alone decides the verdict (nothing else fires), else None (moving
    x changes nothing). Per diagnostic: the sorted flip points and the count walked back now.
    A run's verdict is 'undecided' (never 'trustworthy') while a diagnostic of the verdict set
    has no value: (d) without `frozen_acc`, (c) null as a detector. Flip points of (b) are in
    g_floor's units; `threshold_used` is the floor at the runs' evaluation batch.
    """
    if protocol is None:
        stored = next((r.get("protocol") for r in results if r.get("protocol")), None)
        protocol = (
            as_stored({"set": stored["set"], **stored["thresholds"]})
            if stored is not None
            else defaults()
        )
    proto = {**defaults(), **dict(protocol)}
    diags = verdict_set(proto)
    if frozen_acc is None or isinstance(frozen_acc, int | float):
        frozen = [frozen_acc] * len(results)
    else:
        frozen = list(frozen_acc)
        if len(frozen) != len(results):
            raise ValueError(f"{len(frozen)} frozen accuracies for {len(results)} results")
    runs = []
    for i, (res, fz) in enumerate(zip(results, frozen, strict=True)):
        final = res.get("final") or {}
        crit: dict[str, float | None] = {d: final.get(EXTREMES[d]) for d in RUN_DECIDED}
        if window("c", proto) == "final":
            crit["c"] = final.get("stability")
        acc = final.get("test_acc")
        crit["d"] = margin_of(acc, fz) if acc is not None and fz is not None else None
        fire = {d: fires(d, crit[d], proto) for d in RUN_DECIDED}
        fire["d"] = None if crit["d"] is None else crit["d"] < float(proto["margin_pp"])
        flip: dict[str, float | None] = {}
        for d in diags:
            others = any(fire[o] for o in diags if o != d)
            flip[d] = None if others or crit[d] is None else crit[d]
            if d == "b" and flip[d] is not None:  # in g_floor's units (the stated batch)
                flip[d] *= float(proto["g_floor"]) / g_floor_at(proto)
        pending = [d for d in diags if fire[d] is None]
        verdict = decide_verdict(diags, fire)
        runs.append(
            {
                "index": i,
                "run_id": res.get("run_id"),
                "verdict": verdict,
                "label": label(proto["set"], [d for d in diags if fire[d]], verdict, pending),
                "pending": pending,
                "critical": {d: crit[d] for d in diags},
                "fires": {d: fire[d] for d in diags},
                "flip": flip,
            }
        )
    keys = {"a": "growth", "b": "g_floor", "c": "stability", "d": "margin_pp"}
    per_diag = {}
    for d in diags:
        side = "below" if d in ("b", "d") else "above"
        per_diag[d] = {
            "threshold": proto[keys[d]],
            "threshold_used": g_floor_at(proto) if d == "b" else proto[keys[d]],
            "option": keys[d],
            "fires_when": f"value {'<' if side == 'below' else '>'} threshold",
            "flips": sorted({r["flip"][d] for r in runs if r["flip"][d] is not None}),
            "firing": sum(1 for r in runs if r["fires"][d]),
        }
    return {
        "set": proto["set"],
        "thresholds": {k: proto.get(k) for k in THRESHOLD_KEYS},
        "walked_back": sum(1 for r in runs if r["verdict"] == "walked back"),
        "undecided": sum(1 for r in runs if r["verdict"] == "undecided"),
        "n": len(runs),
        "runs": runs,
        "diagnostics": per_diag,
    }


def schedule(spec: Any, epochs: int) -> list[int] | str:
    """Normalize a `measure.epochs` value to "all" or a sorted list that holds 0 and `epochs`.

    ``{"dense": n, "every": k}`` means epochs 0..n, then every k-th epoch (k, 2k, ...), and the
    last. Lists are validated by the config; this is the compact form's expansion.
    """
    if spec == "all":
        return "all"
    if isinstance(spec, dict):
        dense, every = int(spec.get("dense", 0)), spec.get("every")
        out = set(range(min(dense, epochs) + 1))
        if every:
            out |= set(range(0, epochs + 1, int(every)))
        return sorted(out | {0, epochs})
    return sorted(set(spec) | {0, epochs})
