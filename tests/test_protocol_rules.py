"""The protocol as the paper's notes apply it, decided from a constructed store: (d) against the
frozen baseline's seed mean (or paired by seed), (c) as a sub-mode discriminator, never
"trustworthy" while a diagnostic is pending, and sentences that quote the threshold used.

Each run is a result.json written to a real `Store` with the protocol block that
`faspec.protocol.evaluate` computes from its log (as the trainer's tracker does), then read back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import config, run_id
from hypothesis import example, given, settings
from hypothesis import strategies as st

from faspec import protocol as P
from faspec.check.claims import SeedRun, decide
from faspec.spec.expr import parse
from faspec.spec.model import Claim, Stats
from faspec.store import Store

SEEDS = (42, 123, 456)


def stored_result(
    acc: float,
    *,
    growth: float = 3.0,
    g: float = 1e-4,
    stab: float = 0.1,
    eval_batch: int = 1024,
    **protocol: Any,
) -> dict[str, Any]:
    """A run's result: a three-entry log ending at `acc`, the protocol block evaluated from it."""
    log = [
        {"epoch": e, "test_acc": a, "growth": growth, "g_norm": g, "stability": stab}
        for e, a in enumerate([0.1, acc * 0.9, acc])
    ]
    proto = {**P.defaults(), **protocol, "eval_batch": eval_batch}
    block = P.evaluate(log, proto)
    final = {
        "test_acc": acc,
        "stability": stab,
        **P.extremes(log),
    }
    return {"status": "ok", "error": None, "final": final, "log": log, "protocol": block}


def store_of(tmp_path: Path, runs: dict[str, list[dict[str, Any]]]) -> dict[str, list[SeedRun]]:
    """Write each label's results (one per seed) to a Store and read them back as SeedRuns."""
    st = Store(tmp_path / "store")
    out: dict[str, list[SeedRun]] = {}
    for label, results in runs.items():
        for seed, res in zip(SEEDS, results, strict=True):
            cfg = config("frozen" if label == "frozen" else "dfa", seed)
            cfg["method"]["tag"] = label  # one run id per label
            rid = run_id(cfg)
            st.put(rid, cfg, res)
            out.setdefault(label, []).append(SeedRun(seed, rid, st.get(rid)))
    return out


def decided(expect: str, runs: dict[str, list[SeedRun]], **kw: Any):
    c = Claim(id="c", expect=expect, expr=parse(expect), experiment="e", **kw)
    v = decide(c, {(): runs}, Stats())
    json.dumps(v.to_dict())
    return v


# --------------------------------------------------------------------------- (d): the baseline


@pytest.mark.parametrize(("baseline", "held"), [(None, 2), ("mean", 2), ("paired", 1)])
def test_d_against_the_frozen_seed_mean_by_default(tmp_path, baseline, held):
    """Frozen 0.30/0.30/0.45 (mean 0.35), DFA 0.33/0.33/0.40: against the mean + 2 pp (0.37)
    (d) fires on seeds 42 and 123 (2 of 3); paired by seed only on 456 (0.40 < 0.47)."""
    opt = {} if baseline is None else {"baseline": baseline}
    runs = store_of(
        tmp_path,
        {
            "dfa": [stored_result(a, **opt) for a in (0.33, 0.33, 0.40)],
            "frozen": [stored_result(a) for a in (0.30, 0.30, 0.45)],
        },
    )
    v = decided("dfa fires d", runs, seeds="1/3")
    assert v.verdict == "pass", v.message
    pt = v.numbers["points"][0]
    assert pt["held"] == held
    rows = pt["per_seed"]
    fired = [r["holds"] for r in rows]
    assert fired == ([True, True, False] if held == 2 else [False, False, True])
    frozen = [r["values"]["dfa.frozen_acc"] for r in rows]
    if held == 2:
        assert frozen == pytest.approx([0.35] * 3)
        assert "mean final test_acc of 'frozen' over the seeds" in v.rule
        assert "vs frozen seed mean 0.35" in decided("dfa fires d", runs).message
    else:
        assert frozen == pytest.approx([0.30, 0.30, 0.45])
        assert "(same point and seed)" in v.rule
    assert decided("dfa fires d", runs, seeds=f"{held}/3").verdict == "pass"
    assert decided("dfa fires d", runs, seeds=f"{held + 1}/3").verdict == "fail"


def test_baseline_option_is_checked_and_recorded():
    from faspec.train import ConfigError, normalize_config

    cfg = normalize_config({})
    assert cfg["measure"]["protocol"]["baseline"] == "mean"
    assert cfg["measure"]["protocol"]["stability_role"] == "submode"
    assert P.evaluate([], cfg["measure"]["protocol"])["thresholds"]["baseline"] == "mean"
    for key, bad, hint in (("baseline", "pared", "paired"), ("stability_role", "detect", "")):
        with pytest.raises(ConfigError) as err:
            normalize_config({"measure": {"protocol": {key: bad}}})
        assert err.value.path == f"measure.protocol.{key}" and hint in err.value.hint


# ----------------------------------------------------------------------------- (c): its role


def test_c_is_a_submode_discriminator_by_default(tmp_path):
    """BP at stability 0.98 (the embedded task's common mode): (c) fires, but in the paper set
    it only tells sub-modes apart, so BP stays trustworthy; as a detector it walks BP back."""
    frozen = [stored_result(a) for a in (0.30, 0.31, 0.29)]
    runs = store_of(
        tmp_path,
        {
            "bp": [stored_result(0.60, stab=0.98) for _ in SEEDS],
            "bpdet": [stored_result(0.60, stab=0.98, stability_role="detector") for _ in SEEDS],
            "frozen": frozen,
        },
    )
    v = decided("bp is trustworthy", runs)
    assert v.verdict == "pass", v.message
    assert "protocol set 'paper' (a+b+d)" in v.rule
    row = v.numbers["points"][0]["per_seed"][0]
    assert row["protocol"]["bp"]["fired"]["c"] is True  # measured and reported
    assert decided("bp fires c", runs).verdict == "pass"  # named explicitly, still decided
    det = decided("bpdet is trustworthy", runs)
    assert det.verdict == "fail" and "c fires" in det.message
    assert "(a+b+c+d)" in det.rule
    assert decided("bpdet is walked_back", runs).verdict == "pass"


# ------------------------------------------------------- never "trustworthy" while pending


def test_pending_d_is_never_reported_trustworthy(tmp_path):
    """A claim that reads (a) and (b) only folds in no frozen run: (d) stays pending, and the
    run's verdict text says so instead of 'trustworthy'."""
    runs = store_of(tmp_path, {"bp": [stored_result(0.6) for _ in SEEDS]})
    v = decided("bp never fires a+b", runs)
    assert v.verdict == "pass", v.message
    row = v.numbers["points"][0]["per_seed"][0]
    assert row["values"]["bp.verdict"] == "undecided (pending: d)"
    assert row["protocol"]["bp"]["verdict"] == "undecided"
    assert row["protocol"]["bp"]["pending"] == ["d"]
    assert "trustworthy" not in json.dumps(row)
    block = runs["bp"][0].result["protocol"]  # type: ignore[index]
    assert block["verdict"] == "undecided" and block["label"] == "undecided (pending: d)"
    s = P.sensitivity([r.result for r in runs["bp"]])  # type: ignore[misc]
    assert [r["verdict"] for r in s["runs"]] == ["undecided"] * 3
    assert all("trustworthy" not in r["label"] for r in s["runs"])
    # (c) null as a detector: pending too
    null_c = stored_result(0.6, stab=None, stability_role="detector")  # type: ignore[arg-type]
    assert null_c["protocol"]["label"] == "undecided (pending: c+d)"
    pub = stored_result(0.6, set="public")
    assert pub["protocol"]["label"] == "undecided (pending: d)"  # not PASS
    assert P.with_baseline(pub["protocol"], 0.6, 0.3)["label"] == "PASS"


# --------------------------------------------------------- sentences quote the floor used


def test_b_sentences_quote_the_batch_scaled_floor(tmp_path):
    """At an evaluation batch of 512 the floor used is 2e-7: a g_norm_min of 1.5e-7 fires (b),
    and the sentence says '< 2e-07', not the false '< 1e-07'."""
    runs = store_of(
        tmp_path,
        {
            "dfa": [stored_result(0.6, g=1.5e-7, eval_batch=512) for _ in SEEDS],
            "bp": [stored_result(0.6, g=3e-7, eval_batch=512) for _ in SEEDS],
        },
    )
    v = decided("dfa never fires b", runs)
    assert v.verdict == "fail"
    assert "g_norm_min 1.5e-07 < 2e-07 (g_floor 1e-07 at 1024 samples, scaled to 512)" in v.message
    assert "< 1e-07" not in v.message.replace("g_floor 1e-07", "")
    assert "(b) g_norm < 2e-07 (g_floor 1e-07 at 1024 samples, scaled to 512)" in v.rule
    ok = decided("bp fires b", runs)
    assert ok.verdict == "fail" and "g_norm_min 3e-07 >= 2e-07" in ok.message
    same = store_of(tmp_path / "n1024", {"dfa": [stored_result(0.6, g=5e-8) for _ in SEEDS]})
    assert "g_norm_min 5e-08 < 1e-07" in decided("dfa never fires b", same).message


# ------------------------------------------------------------- (d) and (b) at the boundary


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=9000), min_size=3, max_size=3),
    st.sampled_from(["mean", "paired"]),
)
@example([3000, 3000, 4500], "mean")  # mean 0.35000000000000003: +2 pp read as 1.9999999
def test_d_at_exactly_the_margin_does_not_fire(frozen_e4, baseline):
    """ "clears ... by at least 2 pp": a run exactly 2 pp above its baseline (accuracies on a
    1e-4 grid, the mean of three as float arithmetic gives it) does not fire; 1e-4 less does."""
    frozen = [k * 1e-4 for k in frozen_e4]
    base = sum(frozen) / len(frozen) if baseline == "mean" else frozen[0]
    base_e4 = sum(frozen_e4) / 3 if baseline == "mean" else frozen_e4[0]
    at = (base_e4 + 200) * 1e-4  # the run's accuracy: the baseline + 2 pp, computed apart
    assert P.fires_d(at, base, 2.0) is False
    assert P.fires_d(at - 1e-4, base, 2.0) is True
    res = {"final": {"growth_max": 3.0, "g_norm_min": 1e-3, "stability": 0.1, "test_acc": at}}
    s = P.sensitivity([res], {**P.defaults(), "baseline": baseline}, frozen_acc=base)
    assert s["runs"][0]["fires"]["d"] is False
    assert s["runs"][0]["verdict"] == "trustworthy"


@pytest.mark.parametrize("baseline", ["mean", "paired"])
def test_d_at_plus_2pp_in_a_claim(tmp_path, baseline):
    """Frozen 0.30/0.30/0.45 (mean 0.35000000000000003 in floats), DFA 0.37 (mean) or frozen
    + 0.02 (paired): (d) does not fire, and the sentence prints no false inequality."""
    frozen = (0.30, 0.30, 0.45)
    dfa = (0.37,) * 3 if baseline == "mean" else (0.32, 0.32, 0.47)
    runs = store_of(
        tmp_path,
        {
            "frozen": [stored_result(a, baseline=baseline) for a in frozen],
            "dfa": [stored_result(a, baseline=baseline) for a in dfa],
        },
    )
    v = decided("dfa never fires d", runs)
    assert v.verdict == "pass", v.message
    under = store_of(
        tmp_path / "under",
        {
            "frozen": [stored_result(a, baseline=baseline) for a in frozen],
            "dfa": [stored_result(a - 1e-4, baseline=baseline) for a in dfa],
        },
    )
    v = decided("dfa never fires d", under)
    assert v.verdict == "fail"
    assert "+1.99 pp < 2" in v.message, v.message


def test_sentences_never_print_a_false_inequality(tmp_path):
    """(b) at 3 significant figures would print 9.9996e-08 as "1e-07 < 1e-07": more digits."""
    runs = store_of(tmp_path, {"dfa": [stored_result(0.5, g=9.9996e-8) for _ in SEEDS]})
    v = decided("dfa never fires b", runs)
    assert v.verdict == "fail"
    assert "g_norm_min 9.9996e-08 < 1e-07" in v.message, v.message
    assert "1e-07 < 1e-07" not in v.message


# ------------------------------------------------------- results stored before the options


def _as_before_the_options(res: dict[str, Any]) -> dict[str, Any]:
    """A result as stored before `stability_role` and `baseline` existed: its thresholds lack
    them and its block judged (c) as a detector."""
    old = json.loads(json.dumps(res))
    for key in ("stability_role", "baseline"):
        old["protocol"]["thresholds"].pop(key)
    old["protocol"]["diagnostics"] = ["a", "b", "c", "d"]
    old["protocol"]["reported"] = []
    return old


def test_old_results_are_judged_by_the_rule_they_were_made_with(tmp_path):
    """(c) walks the run back (detector) and (d) is paired by seed, as when they were stored:
    frozen 0.30/0.30/0.45, DFA 0.33/0.33/0.40 is 1 of 3 paired (2 of 3 against the mean)."""
    log = [{"epoch": 0, "growth": 3, "g_norm": 1e-3, "stability": 0.9}]
    old = {k: v for k, v in P.defaults().items() if k not in P.STORED_BEFORE}
    assert P.evaluate(log, old)["verdict"] == "walked back"
    assert P.evaluate(log, old)["diagnostics"] == ["a", "b", "c", "d"]
    res = {"final": {"growth_max": 3, "g_norm_min": 1e-3, "stability": 0.9, "test_acc": 0.9}}
    res["protocol"] = {"set": "paper", "diagnostics": ["a", "b", "c", "d"], "thresholds": old}
    s = P.sensitivity([res], frozen_acc=0.5)
    assert s["runs"][0]["label"] == "walked back (c)"
    runs = store_of(
        tmp_path,
        {
            "frozen": [_as_before_the_options(stored_result(a)) for a in (0.30, 0.30, 0.45)],
            "dfa": [_as_before_the_options(stored_result(a)) for a in (0.33, 0.33, 0.40)],
            "bp": [_as_before_the_options(stored_result(0.9, stab=0.98)) for _ in SEEDS],
        },
    )
    v = decided("dfa never fires d", runs, seeds="1/3")
    assert v.verdict == "pass" and v.numbers["points"][0]["held"] == 2, v.message  # 456 fires
    assert "(same point and seed)" in v.rule
    v = decided("bp is trustworthy", runs)
    assert v.verdict == "fail" and "walked back (c)" in v.message, v.message


# ---------------------------------------------- a bare `never fires` reads the verdict set


@pytest.mark.parametrize("role", ["submode", "detector"])
def test_bare_never_fires_reads_the_verdict_set_and_says_what_fired_outside(tmp_path, role):
    """BP with (c) firing (stability 0.98): as a sub-mode, `bp never fires` and `bp is
    trustworthy` hold over (a), (b), (d) and their message names (c) outside the verdict; naming
    every letter (`a+b+c+d`) fails. As a detector (c) is in the verdict: all three fail."""
    runs = store_of(
        tmp_path,
        {
            "frozen": [stored_result(0.3, stability_role=role) for _ in SEEDS],
            "bp": [stored_result(0.9, stab=0.98, stability_role=role) for _ in SEEDS],
        },
    )
    bare, trust = decided("bp never fires", runs), decided("bp is trustworthy", runs)
    every = decided("bp never fires a+b+c+d", runs)
    assert every.verdict == "fail"
    assert "c fires first at epoch 0 (stability (final) 0.98 > 0.3)" in every.message
    if role == "submode":
        for v in (bare, trust):
            assert v.verdict == "pass", v.message
            assert "bp trustworthy (c, outside the verdict, fires at epoch 0: " in v.message
            assert "stability (final) 0.98 > 0.3)" in v.message
    else:
        assert bare.verdict == trust.verdict == "fail"
        assert "walked back (c)" in bare.message and "outside the verdict" not in bare.message
    quiet = store_of(
        tmp_path / "quiet",
        {
            "frozen": [stored_result(0.3, stability_role=role) for _ in SEEDS],
            "bp": [stored_result(0.9, stab=0.1, stability_role=role) for _ in SEEDS],
        },
    )
    named = decided("bp never fires b", runs)  # letters named: the claim is about them only
    assert named.verdict == "pass" and "outside the verdict" not in named.message
    v = decided("bp never fires", quiet)
    assert v.verdict == "pass" and "outside the verdict" not in v.message
    assert decided("bp never fires a+b+c+d", quiet).verdict == "pass"
