"""Claims about the diagnostic protocol: grammar, per-seed semantics, (d) against the frozen
baseline, and the plan adding that baseline (hand-built results, shape per docs/metrics.md)."""

from __future__ import annotations

import json

import pytest
from helpers import spec_text

from faspec import plan as planmod
from faspec.check.claims import SeedRun, decide
from faspec.spec.expr import ExprError, Predicate, parse
from faspec.spec.load import SpecError, load_text
from faspec.spec.model import Claim, Stats

SETS = {"paper": ["a", "b", "c", "d"], "public": ["a", "b", "d"]}
THRESHOLDS = {
    "growth": 50.0,
    "g_floor": 1e-7,
    "stability": 0.3,
    "stability_at": "final",
    "margin_pp": 2.0,
    # a block written today names both (one stored without them reads as detector, paired);
    # these blocks list (c) in their verdict set, so it is a detector
    "baseline": "mean",
    "stability_role": "detector",
}


def presult(
    fired: dict | None = None,
    first: dict | None = None,
    acc: float = 0.9,
    accs: list[float] | None = None,
    set_: str = "paper",
    status: str = "ok",
    thresholds: dict | None = None,
    critical: dict | None = None,
) -> dict:
    """A stored result with a protocol block as faspec.protocol.evaluate writes it."""
    fired = {"a": False, "b": False, "c": False, **(fired or {})}
    first = {"a": None, "b": None, "c": None, **(first or {})}
    accs = accs if accs is not None else [0.1, acc * 0.9, acc]
    crit = {"a": 3.0, "b": 1e-4, "c": 0.1, **(critical or {})}
    decided = [d for d in SETS[set_] if fired.get(d)]
    return {
        "status": status,
        "error": "Traceback\nRuntimeError: boom" if status == "failed" else None,
        "final": {
            "test_acc": accs[-1],
            "growth_max": crit["a"],
            "g_norm_min": crit["b"],
            "stability": crit["c"],
            "stability_max": crit["c"],
        },
        "protocol": {
            "set": set_,
            "diagnostics": SETS[set_],
            "thresholds": {**THRESHOLDS, **(thresholds or {})},
            "fired": {**fired, "d": None},
            "first_epoch": {**first, "d": None},
            "pending": ["d"],
            "verdict": "walked back" if decided else "trustworthy",
            "label": "x",
            "needs_frozen_baseline": True,
            "critical": crit,
        },
        "log": [{"epoch": e, "test_acc": a} for e, a in enumerate(accs)],
    }


def seeds_of(label: str, results: list[dict | None], seeds=(1, 2, 3)) -> list[SeedRun]:
    return [SeedRun(s, f"{label}-{s}", r) for s, r in zip(seeds, results, strict=True)]


def claim(expect: str, **kw) -> Claim:
    return Claim(id="c", expect=expect, expr=parse(expect), experiment="e", **kw)


def one(**methods) -> dict:
    return {(): methods}


FROZEN = [presult(acc=0.80), presult(acc=0.81), presult(acc=0.79)]
BP = [presult(acc=0.90), presult(acc=0.91), presult(acc=0.92)]
# DFA: (a) first at epochs 8/11/8, (b) at 4/4/3 (docs/paper.md C09), below frozen
DFA = [
    presult(
        fired={"a": True, "b": True},
        first={"a": a, "b": b},
        acc=0.78,
        accs=[0.1, 0.5, 0.85, 0.78],
        critical={"a": 6.1e3, "b": 4e-10},
    )
    for a, b in ((8, 4), (11, 4), (8, 3))
]


def data(**extra) -> dict:
    methods = {
        "bp": seeds_of("bp", BP),
        "dfa": seeds_of("dfa", DFA),
        "frozen": seeds_of("frozen", FROZEN),
    }
    methods.update(extra)
    return one(**methods)


def decided(expect: str, d: dict | None = None, **kw):
    v = decide(claim(expect, **kw), d if d is not None else data(), Stats())
    json.dumps(v.to_dict())  # always JSON-able
    return v


# --------------------------------------------------------------------------------- grammar


def test_predicate_grammar():
    assert parse("dfa is walked_back") == Predicate("dfa", "walked_back", (), None, 0)
    assert parse("bp is trustworthy").kind == "trustworthy"
    assert parse("dfa is walked back").kind == "walked_back"
    p = parse("dfa fires a+b by epoch 5")
    assert (p.kind, p.diagnostics, p.epoch) == ("fires", ("a", "b"), 5)
    p = parse("dfa fires D1+D2 first at epoch 4")
    assert (p.kind, p.diagnostics, p.epoch, p.written) == ("first", ("a", "b"), 4, ("D1", "D2"))
    assert parse("dfa fires D3").diagnostics == ("d",)
    p = parse("bp never fires")
    assert (p.kind, p.diagnostics, p.needs(("a", "b", "d"))) == ("never", (), ("a", "b", "d"))
    assert parse("bp never fires c by epoch 3").epoch == 3
    node = parse("bp never fires and not (dfa fires a or dfa.g_norm < 1e-7 by epoch 5)")
    for text in (
        "dfa is walked_back",
        "dfa fires a+b by epoch 5",
        "dfa fires D1+D2 first at epoch 4",
        "bp never fires b",
        str(node),
    ):
        assert str(parse(text)) == text


@pytest.mark.parametrize(
    "text,col,fragment",
    [
        ("dfa fires e", 10, "unknown diagnostic 'e'"),
        ("dfa fires a+e", 12, "unknown diagnostic 'e'"),
        ("dfa fires A", 10, "unknown diagnostic 'A'"),
        ("dfa fires D4", 10, "unknown diagnostic 'D4'"),
        ("dfa fires a-b", 10, "join several with '+'"),
        ("dfa fires", 9, "expected a diagnostic"),
        ("dfa fires a+", 12, "expected a diagnostic after '+'"),
        ("dfa fires a+D1", 12, "named twice"),
        ("dfa is good", 7, "expected 'trustworthy' or 'walked_back'"),
        ("dfa never a", 10, "expected 'fires' after 'never'"),
        ("dfa never fires a first at epoch 3", 18, "goes with 'fires'"),
        ("dfa fires a first epoch 3", 18, "expected 'at epoch N'"),
        ("dfa fires a by 5", 15, "expected 'epoch' after 'by'"),
        ("dfa fires a first at epoch x", 27, "expected an epoch number"),
        ("dfa fires a > 0", 12, "cannot be compared"),
        ("dfa.g_norm fires a", 11, "follows a method label"),
        ("bp > fires", 5, "keyword"),
    ],
)
def test_predicate_errors_have_columns(text, col, fragment):
    with pytest.raises(ExprError) as info:
        parse(text)
    assert info.value.col == col, info.value
    assert fragment in info.value.message


# ------------------------------------------------------------------------------ semantics


def test_trustworthy_and_walked_back_on_every_seed():
    v = decided("bp is trustworthy")
    assert v.verdict == "pass", v.message
    assert "holds for 3 of 3 seeds (needs every seed)" in v.message
    assert "protocol set 'paper' (a+b+c+d)" in v.rule and "(d) final test_acc <" in v.rule
    assert "mean final test_acc of 'frozen' over the seeds" in v.rule  # the default baseline
    row = v.numbers["points"][0]["per_seed"][0]
    assert row["holds"] is True and row["values"]["bp.verdict"] == "trustworthy"
    assert row["values"]["bp.frozen_acc"] == pytest.approx(0.80)  # mean of 0.80, 0.81, 0.79
    assert row["values"]["bp.margin_pp"] == pytest.approx(10.0)
    assert row["protocol"]["bp"]["fired"] == {"a": False, "b": False, "c": False, "d": False}
    assert row["protocol"]["bp"]["frozen_run"] == "frozen-1, frozen-2, frozen-3"
    assert "frozen-1" in v.runs and "bp-1" in v.runs
    w = decided("dfa is walked_back")
    assert w.verdict == "pass"
    row = w.numbers["points"][0]["per_seed"][0]
    assert row["values"]["dfa.verdict"] == "walked back (a+b+d)"
    assert row["values"]["dfa.first_a"] == 8 and row["values"]["dfa.first_b"] == 4
    assert row["values"]["dfa.growth_max"] == 6.1e3
    assert decided("dfa is trustworthy").verdict == "fail"
    assert decided("bp is walked_back").verdict == "fail"


def test_k_of_n_seeds():
    mixed = seeds_of("dfa", [DFA[0], DFA[1], presult(acc=0.95)])
    d = data(dfa=mixed)
    v = decided("dfa is walked_back", d)
    assert v.verdict == "fail"
    assert "holds for 2 of 3 seeds, needs every seed; fails at seed 3: dfa trustworthy" in v.message
    assert decided("dfa is walked_back", d, seeds="2/3").verdict == "pass"
    assert decided("dfa is walked_back", d, seeds="3/3").verdict == "fail"
    assert decided("dfa is walked_back", d, seeds="all").verdict == "fail"
    assert decided("dfa is walked_back", d, seeds="2/4").verdict == "error"


def test_fires_by_epoch_records_the_first_epoch():
    v = decided("dfa fires b by epoch 4")
    assert v.verdict == "pass", v.message
    rows = v.numbers["points"][0]["per_seed"]
    assert [r["epoch"] for r in rows] == [4, 4, 3]
    assert "seed 1: dfa: b first at epoch 4; seed 2" in v.message
    assert decided("dfa fires b by epoch 3").verdict == "fail"
    assert decided("dfa fires b by epoch 3", seeds="1/3").verdict == "pass"
    v = decided("dfa fires a+b by epoch 10")
    assert v.verdict == "fail"  # (a) fired at epoch 11 on seed 2
    assert "fails at seed 2" in v.message and "a fires first at epoch 11" in v.message
    assert decided("dfa fires a+b by epoch 11").verdict == "pass"
    assert decided("dfa fires a+b").verdict == "pass"
    assert decided("bp fires a").verdict == "fail"
    # a predicate without (d) reads no frozen run
    assert "frozen-1" not in decided("dfa fires a+b").runs


def test_never_fires():
    assert decided("bp never fires").verdict == "pass"
    assert decided("bp never fires a+b").verdict == "pass"
    v = decided("dfa never fires b")
    assert (
        v.verdict == "fail" and "b fires first at epoch 4 (g_norm_min 4e-10 < 1e-07)" in v.message
    )
    assert decided("dfa never fires c").verdict == "pass"
    # by epoch N: none had fired by N
    assert decided("dfa never fires a by epoch 7").verdict == "pass"
    assert decided("dfa never fires a by epoch 8").verdict == "fail"


def test_fires_first_at_epoch():
    same = seeds_of("dfa", [DFA[0], DFA[1], DFA[1]])
    assert decided("dfa fires b first at epoch 4", data(dfa=same)).verdict == "pass"
    v = decided("dfa fires b first at epoch 4")
    assert v.verdict == "fail" and "fails at seed 3" in v.message
    assert "b fires first at epoch 3" in v.message
    assert decided("dfa fires b first at epoch 4", seeds="2/3").verdict == "pass"
    assert decided("dfa fires a first at epoch 8", seeds="2/3").verdict == "pass"
    # a+b: each first fired at N
    assert decided("dfa fires a+b first at epoch 8", seeds="1/3").verdict == "fail"
    both = [presult(fired={"a": True, "b": True}, first={"a": 5, "b": 5}, acc=0.7)] * 3
    assert (
        decided("dfa fires a+b first at epoch 5", data(dfa=seeds_of("dfa", both))).verdict == "pass"
    )
    assert decided("bp fires a first at epoch 0").verdict == "fail"  # never fires


def test_d_against_the_frozen_run_of_the_same_seed():
    """`baseline: paired` (the option; the default, the seed mean, is in test_protocol_rules)."""
    paired = [
        presult(
            fired=r["protocol"]["fired"],
            first=r["protocol"]["first_epoch"],
            accs=[e["test_acc"] for e in r["log"]],
            critical=r["protocol"]["critical"],
            thresholds={"baseline": "paired"},
        )
        for r in DFA
    ]
    v = decided("dfa fires d", data(dfa=seeds_of("dfa", paired)))
    assert v.verdict == "pass", v.message
    row = v.numbers["points"][0]["per_seed"][0]
    # (d)'s first epoch: from it on every logged test_acc < frozen final + 2 pp (0.85 at
    # epoch 2 clears 0.82; 0.78 at epoch 3 does not)
    assert row["values"]["dfa.first_d"] == 3
    assert row["values"]["dfa.margin_pp"] == pytest.approx(-2.0)
    assert "frozen-1" in v.runs and row["protocol"]["dfa"]["frozen_run"] == "frozen-1"
    # per seed: bp seed 1 is 0.90 against frozen 0.80 (seed 1) -> clears; against a frozen
    # seed 1 of 0.89 it does not
    bp = [presult(acc=r["final"]["test_acc"], thresholds={"baseline": "paired"}) for r in BP]
    fz = seeds_of("frozen", [presult(acc=0.89), FROZEN[1], FROZEN[2]])
    v = decided("bp is trustworthy", data(frozen=fz, bp=seeds_of("bp", bp)))
    assert v.verdict == "fail"
    assert "fails at seed 1" in v.message and "d fires" in v.message
    assert "test_acc 0.9 vs frozen (same seed) 0.89: +1.00 pp < 2" in v.message
    assert "(same point and seed)" in v.rule
    # the margin is the one the runs recorded (measure.protocol.margin_pp)
    wide = [presult(acc=r["final"]["test_acc"], thresholds={"margin_pp": 15.0}) for r in BP]
    assert decided("bp is trustworthy", data(bp=seeds_of("bp", wide))).verdict == "fail"


def test_d_first_epoch_after_training_improves():
    # accuracy 0.85 at epoch 2 clears frozen 0.80 + 2 pp; final 0.78 does not
    r = presult(accs=[0.85, 0.9, 0.85, 0.78])
    r["log"][0]["test_acc"] = 0.85
    v = decided("dfa fires d", data(dfa=seeds_of("dfa", [r] * 3)))
    assert v.verdict == "pass"
    assert v.numbers["points"][0]["per_seed"][0]["values"]["dfa.first_d"] == 3


def test_public_set_ignores_c():
    with_c = [presult(acc=0.9, fired={"c": True}, first={"c": 0}, set_=s) for s in ("paper",) * 3]
    assert decided("bp is trustworthy", data(bp=seeds_of("bp", with_c))).verdict == "fail"
    pub = [presult(acc=0.9, fired={"c": True}, first={"c": 0}, set_="public") for _ in range(3)]
    d = data(bp=seeds_of("bp", pub))
    v = decided("bp is trustworthy", d)
    assert v.verdict == "pass", v.message
    assert "protocol set 'public' (a+b+d)" in v.rule
    assert v.numbers["points"][0]["per_seed"][0]["values"]["bp.verdict"] == "PASS"
    assert decided("bp never fires", d).verdict == "pass"
    assert decided("bp fires c", d).verdict == "pass"  # still measured, named explicitly
    assert decided("bp never fires D1+D2+D3", d).verdict == "pass"
    dfa_pub = [presult(fired={"a": True}, first={"a": 2}, set_="public", acc=0.9)] * 3
    v = decided("dfa is walked_back", data(dfa=seeds_of("dfa", dfa_pub)))
    assert v.numbers["points"][0]["per_seed"][0]["values"]["dfa.verdict"] == "FAIL(D1)"


def test_boolean_combinations_per_seed_and_with_comparisons():
    # per seed: seed 3 of dfa fires b at 3, seeds 1-2 at 4: "by 3 or a by 8" holds on 1 and 3 only
    assert decided("dfa fires b by epoch 3 or dfa fires a by epoch 8").verdict == "fail"
    assert (
        decided("dfa fires b by epoch 3 or dfa fires a by epoch 8", seeds="2/3").verdict == "pass"
    )
    assert decided("not dfa fires c").verdict == "pass"
    assert decided("bp is trustworthy and dfa is walked_back").verdict == "pass"
    assert decided("not (bp is trustworthy and dfa is walked_back)").verdict == "fail"
    # a comparison over seeds next to a predicate on every seed
    v = decided("dfa is walked_back and bp > dfa")
    assert v.verdict == "pass", v.message
    assert "one-sided Welch" in v.rule and "protocol predicate per seed" in v.rule
    assert decided("dfa is walked_back and dfa > bp").verdict == "fail"


def test_missing_failed_and_unjudged_runs():
    d = data(frozen=[])
    v = decided("bp is trustworthy", d)
    assert v.verdict == "unsourced"
    assert "frozen-blocks baseline" in v.message and "'frozen' seed 1" in v.message
    fz = seeds_of("frozen", [FROZEN[0], None, FROZEN[2]])
    v = decided("bp never fires", data(frozen=fz))
    assert v.verdict == "unsourced" and "run frozen-2" in v.message
    assert "frozen-2" in v.runs
    # without (d) the frozen run does not matter
    assert decided("bp never fires a+b+c", data(frozen=fz)).verdict == "pass"
    fz = seeds_of("frozen", [FROZEN[0], presult(status="failed"), FROZEN[2]])
    v = decided("bp is trustworthy", data(frozen=fz))
    assert (
        v.verdict == "error"
        and "run frozen-2 (frozen, seed 2) failed: RuntimeError: boom" in v.message
    )
    v = decided("dfa fires a", data(dfa=seeds_of("dfa", [DFA[0], None, DFA[2]])))
    assert v.verdict == "unsourced" and "dfa seed 2 (run dfa-2)" in v.message
    v = decided(
        "dfa fires a", data(dfa=seeds_of("dfa", [DFA[0], presult(status="failed"), DFA[2]]))
    )
    assert v.verdict == "error" and "run dfa-2" in v.message
    # a diagnostic the run could not judge (null metric) -> error naming it
    pending = [presult(fired={"c": None})] * 3
    v = decided("bp is trustworthy", data(bp=seeds_of("bp", pending)))
    assert v.verdict == "error" and "bp (c)" in v.message
    # a result stored before runs recorded the protocol
    old = [{k: v for k, v in r.items() if k != "protocol"} for r in BP]
    v = decided("bp fires a", data(bp=seeds_of("bp", old)))
    assert v.verdict == "error" and "no protocol block" in v.message
    # methods with different seeds cannot be paired
    v = decided(
        "bp is trustworthy and dfa is walked_back", data(dfa=seeds_of("dfa", DFA, (1, 2, 4)))
    )
    assert v.verdict == "error" and "paired by seed" in v.message


def test_baseline_label_from_the_claim():
    d = one(bp=seeds_of("bp", BP), fz=seeds_of("fz", FROZEN))
    assert decided("bp is trustworthy", d, baseline="fz").verdict == "pass"
    assert decided("bp is trustworthy", d).verdict == "unsourced"


# --------------------------------------------------------------------------- spec and plan

# Written as text: the located-error tests below assert `s.yaml:line:col` positions in it.
SPEC = """\
faspec: 1
name: p
defaults:
  data: {name: teacher}
  model: {arch: resmlp, d: 16, blocks: 2}
  train: {epochs: 3}
  seeds: [1, 2]
experiments:
  e:
    methods: [bp, dfa]
"""


def load_at(claims: str, spec: str = SPEC):
    """`spec` as written, with `claims` (raw YAML lines) appended: for errors located in it."""
    return load_text(spec + ("claims:\n" + claims if claims else ""), "s.yaml")


def load(
    claims: str,
    methods: tuple | list = ("bp", "dfa"),
    e: dict | None = None,
    more: dict | None = None,
    **defaults,
):
    """SPEC's experiment `e` (`methods`, plus the keys in `e`), any `more` experiments and
    `defaults` sections added, with `claims` as raw YAML lines."""
    text = spec_text(
        "p",
        base={
            "data": {"name": "teacher"},
            "model": {"arch": "resmlp", "d": 16, "blocks": 2},
            "train": {"epochs": 3},
            "seeds": [1, 2],
        },
        experiments={"e": {"methods": list(methods), **(e or {})}, **(more or {})},
        claims=claims or None,
        **defaults,
    )
    return load_text(text, "s.yaml")


def cells(plan, label: str) -> list:
    return [c for c in plan.cells if c.label == label]


def test_plan_adds_the_frozen_run_a_d_claim_needs():
    spec = load("  - {id: w, in: e, expect: dfa is walked_back}\n")
    assert spec.claims[0].baseline == "frozen"
    plan = planmod.build([spec])
    fz = cells(plan, "frozen")
    assert sorted(c.seed for c in fz) == [1, 2]
    for c in fz:
        cfg = plan.runs[plan.cells[c]]
        assert cfg["method"]["name"] == "frozen"
        bp_cfg = plan.runs[plan.cells[planmod.Cell("p", "e", (), "bp", c.seed)]]
        assert {k: v for k, v in cfg.items() if k != "method"} == {
            k: v for k, v in bp_cfg.items() if k != "method"
        }
    runs = plan.claim_runs[("p", "w")]
    assert {plan.cells[c] for c in fz} <= set(runs) and len(runs) == 4
    assert len(plan.runs) == 6
    assert set(plan.cells_of("p", "e")[()]) == {"bp", "dfa", "frozen"}


def test_plan_adds_no_frozen_run_without_d():
    plan = planmod.build([load("  - {id: f, in: e, expect: dfa fires a+b by epoch 2}\n")])
    assert not cells(plan, "frozen") and len(plan.runs) == 4
    s = load("  - {id: t, in: f, expect: bp is trustworthy}\n", more={"f": {"methods": ["bp"]}})
    plan = planmod.build([s])
    assert {c.experiment for c in cells(plan, "frozen")} == {"f"}  # only where a claim needs it


def test_plan_reuses_the_experiments_own_frozen_entry():
    plan = planmod.build(
        [load("  - {id: t, in: e, expect: bp never fires}\n", ["bp", "dfa", "frozen"])]
    )
    assert len(plan.runs) == 6 and len(cells(plan, "frozen")) == 2
    assert len(plan.claim_runs[("p", "t")]) == 4  # bp + its baseline
    fz = {"method": "frozen", "as": "fz"}
    s = load("  - {id: t, in: e, expect: bp never fires}\n", ["bp", "dfa", fz])
    assert s.claims[0].baseline == "fz"
    plan = planmod.build([s])
    assert len(plan.runs) == 6 and not cells(plan, "frozen")
    # a label `frozen` taken by another method: the baseline gets a label of its own
    s = load(
        "  - {id: t, in: e, expect: bp never fires}\n", ["bp", {"method": "dfa", "as": "frozen"}]
    )
    assert s.claims[0].baseline == "frozen_baseline"
    assert len(cells(planmod.build([s]), "frozen_baseline")) == 2


def test_public_set_in_the_spec_flows_into_the_runs():
    public = {"protocol": {"set": "public", "growth": 100}}
    s = load("  - {id: t, in: e, expect: bp never fires}\n", e=public)
    plan = planmod.build([s])
    for cfg in plan.runs.values():
        assert cfg["measure"]["protocol"]["set"] == "public"
        assert cfg["measure"]["protocol"]["growth"] == 100.0
    assert len(cells(plan, "frozen")) == 2  # public holds D3 = (d)
    # without (d) in what the claim reads, no baseline
    s = load("  - {id: t, in: e, expect: bp never fires a+b}\n", e=public)
    assert not cells(planmod.build([s]), "frozen")


def test_protocol_at_defaults_and_measure_protocol_merge():
    s = load(
        "",
        e={"measure": {"protocol": {"margin_pp": 3}}},
        protocol={"set": "public", "margin_pp": 1},
    )
    plan = planmod.build([s])
    proto = next(iter(plan.runs.values()))["measure"]["protocol"]
    assert (proto["set"], proto["margin_pp"]) == ("public", 3.0)


def test_protocol_errors_are_located():
    spec = SPEC + "    protocol: {set: public}\n    measure: {protocol: {growth: 3}}\n"
    with pytest.raises(SpecError) as info:
        load_at("", spec)
    assert str(info.value).startswith("s.yaml:11:5: the protocol is given twice")
    with pytest.raises(SpecError) as info:
        load_at("", SPEC + "    protocol: {set: privat}\n")
    assert str(info.value).startswith("s.yaml:11:") and "'privat' is not one of" in str(info.value)
    with pytest.raises(SpecError) as info:
        load_at("", SPEC + "    protocol: {growht: 3}\n")
    assert str(info.value).startswith("s.yaml:11:16:"), str(info.value)
    assert "growht" in str(info.value) and "growth" in info.value.hint


def test_claim_syntax_and_label_errors_in_the_file():
    with pytest.raises(SpecError) as info:
        load_at("  - {id: x, in: e, expect: dfa fires a+e by epoch 3}\n")
    # line 12 holds the claim; the expression starts at column 28 (1-based), 'e' is 12 further
    assert str(info.value).startswith("s.yaml:12:40: bad claim expression: unknown diagnostic 'e'")
    with pytest.raises(SpecError) as info:
        load_at("  - {id: x, in: e, expect: fa is walked_back}\n")
    assert "method 'fa' is not in experiment 'e'" in str(info.value)
    assert str(info.value).startswith("s.yaml:12:28:")
    with pytest.raises(SpecError) as info:
        load("", ["bp", {"method": "dfa", "as": "never"}])
    assert "keyword" in str(info.value)


def test_d_first_fires_when_the_run_falls_below_frozen_for_good():
    """DFA's accuracies 0.1, 0.5, 0.85, 0.78 against frozen finals 0.80/0.81/0.79 (+2 pp): it
    clears the baseline at epoch 2 and falls back at 3, so (d) fired at 3, not at 0 (chance)."""
    assert decided("dfa fires d first at epoch 3", seeds="all").verdict == "pass"
    assert decided("dfa fires d first at epoch 0", seeds="all").verdict == "fail"
