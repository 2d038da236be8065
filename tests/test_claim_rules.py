"""The evidence rules of issue 13 on hand-built stores with known samples: `not` decided by
its complement, the zero-variance rule, `by epoch N` corrected over the epochs tried, the
family-wise correction, and the dead BP reference. p-values are re-computed with scipy here."""

import numpy as np
import pytest
from scipy import stats

from faspec.check import stats as S
from faspec.check.claims import SeedRun, decide
from faspec.spec.expr import ExprError, parse, push_not
from faspec.spec.model import Claim, Reported, Stats

SEEDS = [42, 123, 456, 789, 1011]


def result(final=None, log=None):
    return {"status": "ok", "final": final or {}, "log": log or []}


def runs(label, values, metric="test_acc"):
    return [
        SeedRun(s, f"{label}-{s}", result({metric: v}))
        for s, v in zip(SEEDS[: len(values)], values, strict=True)
    ]


def claim(expect, **kw):
    return Claim(id="c", expect=expect, expr=parse(expect), experiment="e", **kw)


def one(**methods):
    return {(): methods}


# ----------------------------------------------------------------------------------- not


def test_not_on_a_mean_only_fail_is_not_a_pass():
    # a mean below b by a hair, with spread: neither `a > b` nor its complement (`a < b`, the
    # one-sided test the other way) is shown with 3 seeds: both inconclusive.
    a, b = [0.40, 0.43, 0.37], [0.41, 0.44, 0.38]
    data = one(a=runs("a", a), b=runs("b", b))
    assert decide(claim("a > b"), data, Stats()).verdict == "inconclusive"
    v = decide(claim("not a > b"), data, Stats())
    assert v.verdict == "inconclusive"
    link = v.numbers["points"][0]["links"][0]
    # by hand: Welch test of H1 mean(a) - mean(b) < 0 (the complement of superiority)
    p = stats.ttest_ind(a, b, equal_var=False, alternative="less").pvalue
    assert link["op"] == "<" and link["p"] == pytest.approx(p)
    assert "not (a > b)" not in v.rule and "a" in v.rule


def test_not_passes_when_the_complement_is_shown():
    data = one(a=runs("a", [0.30, 0.31, 0.305]), b=runs("b", [0.40, 0.41, 0.39]))
    assert decide(claim("not a > b"), data, Stats()).verdict == "pass"
    assert decide(claim("not b > a"), data, Stats()).verdict == "fail"


def test_not_of_equivalence_tests_a_difference_beyond_the_margin():
    a, b = [0.30, 0.31, 0.305], [0.40, 0.41, 0.39]
    data = one(a=runs("a", a), b=runs("b", b))
    v = decide(claim("not a ~= b"), data, Stats())
    assert v.verdict == "pass"
    p = stats.ttest_ind(np.array(a) + 0.01, b, equal_var=False, alternative="less").pvalue
    assert v.numbers["points"][0]["links"][0]["p"] == pytest.approx(min(1.0, 2 * p))
    # tight samples 0.002 apart: the TOST shows equivalence, so `not ~=` fails
    tight = [0.300, 0.301, 0.299]
    close = one(a=runs("a", tight), b=runs("b", [x + 0.002 for x in tight]))
    assert decide(claim("not a ~= b"), close, Stats()).verdict == "fail"


def test_not_ge_over_seeds_is_lt():
    # not (a >= b) over seeds is a < b (>= is the strict complement of <): a below by 0.005
    data = one(a=runs("a", [0.395, 0.396, 0.394]), b=runs("b", [0.400, 0.401, 0.399]))
    v = decide(claim("not a >= b"), data, Stats())
    assert v.verdict == "pass" and "mean a - mean b < 0" in v.rule


def test_de_morgan_and_chains():
    node = push_not(parse("not (a > b > c)"))
    assert str(node) == "a < b or b < c"
    node = push_not(parse("not (a > b and c ~= d)"))
    assert str(node) == "a < b or not (c ~= d)"
    # per seed the values are numbers: the exact negation
    assert str(push_not(parse("not (a > b)"), per_seed=True)) == "a <= b"
    assert str(push_not(parse("not not a > b"))) == "a > b"
    # predicates keep their per-seed boolean `not`
    assert str(push_not(parse("not dfa is trustworthy"))) == "not dfa is trustworthy"


def test_not_over_by_epoch_is_a_located_error():
    with pytest.raises(ExprError) as e:
        push_not(parse("x > 1 and not a > b by epoch 3"))
    assert e.value.col == 14 and "every epoch" in e.value.message


def test_not_per_seed_negates_each_seed():
    data = one(a=runs("a", [0.3, 0.5, 0.3]), b=runs("b", [0.4, 0.4, 0.4]))
    assert decide(claim("not a > b", seeds="all"), data, Stats()).verdict == "fail"
    assert decide(claim("not a > b", seeds="2/3"), data, Stats()).verdict == "pass"


# ------------------------------------------------------------------------------ zero variance


def test_zero_variance_needs_a_difference_beyond_numerical_noise():
    tiny = one(a=runs("a", [0.5 + 1e-9] * 3), b=runs("b", [0.5] * 3))
    v = decide(claim("a > b"), tiny, Stats())
    assert v.verdict == "fail" or v.verdict == "inconclusive"
    assert v.verdict != "pass"
    real = one(a=runs("a", [0.5 + 1e-4] * 3), b=runs("b", [0.5] * 3))
    assert decide(claim("a > b"), real, Stats()).verdict == "pass"
    r = S.diff_test([2.0, 2.0], [2.0 - 1e-7, 2.0 - 1e-7], "greater")
    assert r.p == 1.0 and "numerical noise" in r.note


# ------------------------------------------------------------------------------- by epoch N


def logged(label, per_epoch):
    """Runs whose log holds test_acc per epoch: per_epoch[e] = the values of the seeds."""
    n = len(per_epoch[0])
    return [
        SeedRun(
            s,
            f"{label}-{s}",
            result(log=[{"epoch": e, "test_acc": vals[i]} for e, vals in enumerate(per_epoch)]),
        )
        for i, s in enumerate(SEEDS[:n])
    ]


B_EPOCHS = [[0.30, 0.31, 0.32]] * 5
# a's samples: below b at epochs 0, 1, 2, 4; above at epoch 3 with a one-sided p of ~0.02
A_EPOCHS = [[0.29, 0.30, 0.31]] * 3 + [[0.32, 0.335, 0.34]] + [[0.29, 0.30, 0.31]]


def test_by_epoch_is_corrected_over_the_epochs_tried():
    p3 = stats.ttest_ind(A_EPOCHS[3], B_EPOCHS[3], equal_var=False, alternative="greater").pvalue
    assert p3 < 0.05 and 5 * p3 >= 0.05  # passes alone, not after Holm over 5 epochs
    data = one(a=logged("a", A_EPOCHS), b=logged("b", B_EPOCHS))
    v = decide(claim("a > b by epoch 4"), data, Stats())
    assert v.verdict == "inconclusive"
    assert "Holm" in v.message and "5 epochs" in v.message and "Holm" in v.rule
    corr = v.numbers["points"][0]["epoch_correction"]
    assert corr["epochs_tried"] == 5 and corr["holm_p_by_epoch"][3] == pytest.approx(5 * p3)
    # one epoch tried: no correction to pay
    v = decide(
        claim("a > b by epoch 4"),
        one(a=logged("a", A_EPOCHS[3:4]), b=logged("b", B_EPOCHS[:1])),
        Stats(),
    )
    assert v.verdict == "pass" and v.numbers["points"][0]["epoch"] == 0


def test_holm_and_bh_match_hand_computation():
    ps = [0.01, 0.04, 0.03, 0.2]
    assert S.holm(ps) == pytest.approx([0.04, 0.09, 0.09, 0.2])
    assert S.holm_thresholds(ps, 0.05) == pytest.approx([0.05 / 4, 0.05 / 2, 0.05 / 3, 0.05])
    assert S.bh(ps) == pytest.approx(list(stats.false_discovery_control(ps)))
    assert S.bh(ps) == pytest.approx([0.04, 0.0533333, 0.0533333, 0.2])


# --------------------------------------------------------------------------- family-wise


def test_holm_turns_a_borderline_pass_into_inconclusive():
    from faspec.check.family import correct

    b = [0.30, 0.31, 0.32]
    strong = one(a=runs("a", [0.40, 0.41, 0.42]), b=runs("b", b))
    border = one(a=runs("a", [0.32, 0.335, 0.34]), b=runs("b", b))  # one-sided p ~ 0.030
    fails = one(a=runs("a", [0.20, 0.21, 0.22]), b=runs("b", b))
    vs = [decide(claim("a > b"), d, Stats()) for d in (strong, border, fails)]
    assert [v.verdict for v in vs] == ["pass", "pass", "fail"]
    p_border = stats.ttest_ind([0.32, 0.335, 0.34], b, equal_var=False, alternative="greater")
    assert vs[1].p == pytest.approx(p_border.pvalue)
    summary = correct(vs, "holm", 0.05)
    assert summary["size"] == 3  # the failed claim was tested too: it counts
    assert [v.verdict for v in vs] == ["pass", "inconclusive", "fail"]
    assert vs[1].family["threshold"] == pytest.approx(0.05 / 2)
    assert vs[1].family["adjusted_p"] == pytest.approx(2 * p_border.pvalue)
    assert "Holm" in vs[1].message and "family of 3" in vs[1].message
    # without correction the borderline claim passes
    vs = [decide(claim("a > b"), d, Stats()) for d in (strong, border, fails)]
    correct(vs, "none", 0.05)
    assert [v.verdict for v in vs] == ["pass", "pass", "fail"]
    assert vs[0].family["size"] == 3 and vs[0].family["threshold"] == 0.05


def test_claims_without_a_test_stay_outside_the_family():
    from faspec.check.family import correct

    data = one(a=runs("a", [0.40, 0.41, 0.42]), b=runs("b", [0.30, 0.31, 0.32]))
    vs = [decide(claim("a > b", seeds="all"), data, Stats()), decide(claim("a > b"), data, Stats())]
    assert vs[0].p is None and vs[1].p is not None
    assert correct(vs, "bh", 0.05)["size"] == 1
    assert "outside" in vs[0].family and vs[1].family["method"] == "bh"


# -------------------------------------------------------------------------- dead reference


def cos_runs(label, values, g_norms, floor=1e-7):
    """Runs with a final deep_cos and the g_norm of the epoch it was read at."""
    return [
        SeedRun(
            s,
            f"{label}-{s}",
            {
                "status": "ok",
                "final": {"deep_cos": v, "g_norm": g},
                "log": [{"epoch": 0, "deep_cos": v, "g_norm": g}],
                "protocol": {"thresholds": {"g_floor": floor}, "fired": {}},
            },
        )
        for s, v, g in zip(SEEDS, values, g_norms, strict=False)
    ]


def test_a_degenerate_reference_makes_a_cosine_claim_inconclusive():
    data = one(
        fa=cos_runs("fa", [0.30, 0.31, 0.32], [1e-3] * 3),
        dfa=cos_runs("dfa", [0.01, 0.0, 0.02], [1e-3, 5e-9, 1e-3]),
    )
    v = decide(claim("fa > dfa", metric="deep_cos"), data, Stats())
    assert v.verdict == "inconclusive"
    assert "degenerate BP reference" in v.message and "seed 123" in v.message
    dead = v.numbers["points"][0]["degenerate_reference"]
    assert dead == [
        {
            "method": "dfa",
            "metric": "deep_cos",
            "run": "dfa-123",
            "seed": 123,
            "epoch": 0,
            "g_norm": 5e-9,
            "floor": 1e-7,
        }
    ]
    allowed = decide(
        claim("fa > dfa", metric="deep_cos", reference="allow_degenerate"), data, Stats()
    )
    assert allowed.verdict == "pass" and "degenerate" in allowed.message
    assert allowed.numbers["points"][0]["degenerate_reference"][0]["seed"] == 123
    # accuracy is not measured against g_L: no such rule
    acc = one(fa=runs("fa", [0.4, 0.41, 0.42]), dfa=runs("dfa", [0.3, 0.31, 0.32]))
    assert decide(claim("fa > dfa"), acc, Stats()).verdict == "pass"


def test_a_degenerate_reference_quotes_the_floor_at_the_evaluation_batch():
    """At an evaluation batch of 512 the floor used is 2e-7: g_norm 1.5e-7 is dead, and the
    reported floor is the one used, not the stated 1e-7."""
    dfa = cos_runs("dfa", [0.01, 0.0, 0.02], [1e-3, 1.5e-7, 1e-3])
    for r in dfa:
        r.result["protocol"]["thresholds"].update(g_floor_batch=1024, eval_batch=512)
    data = one(fa=cos_runs("fa", [0.30, 0.31, 0.32], [1e-3] * 3), dfa=dfa)
    v = decide(claim("fa > dfa", metric="deep_cos"), data, Stats())
    assert v.verdict == "inconclusive"
    dead = v.numbers["points"][0]["degenerate_reference"]
    assert [(d["seed"], d["floor"]) for d in dead] == [(123, pytest.approx(2e-7))]
    assert "‖g_L‖ 1.5e-07 < floor 2e-07" in v.message


def test_by_epoch_skips_degenerate_epochs():
    def logged_cos(label, per_epoch, dead_from):
        return [
            SeedRun(
                s,
                f"{label}-{s}",
                {
                    "status": "ok",
                    "final": {},
                    "log": [
                        {
                            "epoch": e,
                            "deep_cos": vals[i],
                            "g_norm": 1e-9 if e >= dead_from else 1e-3,
                        }
                        for e, vals in enumerate(per_epoch)
                    ],
                },
            )
            for i, s in enumerate(SEEDS[:3])
        ]

    fa = logged_cos("fa", [[0.0, 0.01, 0.02], [0.5, 0.51, 0.52]], dead_from=1)
    dfa = logged_cos("dfa", [[0.1, 0.11, 0.12], [0.0, 0.01, 0.02]], dead_from=1)
    v = decide(claim("fa > dfa by epoch 1", metric="deep_cos"), one(fa=fa, dfa=dfa), Stats())
    # epoch 1 would pass, but its reference is dead; epoch 0 alone is tried and fails
    assert v.verdict == "fail" and v.numbers["points"][0]["epochs_checked"] == [0]


def test_degenerate_reference_marks_reported_values():
    data = one(fa=cos_runs("fa", [0.30, 0.31, 0.32], [1e-9] * 3))
    c = claim(
        "fa > 0.1",
        metric="deep_cos",
        reference="allow_degenerate",
        reported={"fa": Reported(0.31, text="0.31", decimals=2)},
    )
    v = decide(c, data, Stats())
    assert v.reported[0]["status"] == "agree" and len(v.reported[0]["degenerate_reference"]) == 3
    c.reference = "valid"
    v = decide(c, data, Stats())
    assert v.verdict == "inconclusive" and v.reported[0]["status"] == "inconclusive"


def test_a_run_of_several_specs_can_be_one_family():
    from faspec.check.family import correct_specs

    b = [0.30, 0.31, 0.32]
    border = one(a=runs("a", [0.32, 0.335, 0.34]), b=runs("b", b))  # p ~ 0.030
    strong = one(a=runs("a", [0.40, 0.41, 0.42]), b=runs("b", b))
    # two specs of one claim each: alone, each family has one member and the borderline passes
    alone = [[decide(claim("a > b"), border, Stats())], [decide(claim("a > b"), strong, Stats())]]
    correct_specs([(Stats(), alone[0]), (Stats(), alone[1])])
    assert alone[0][0].verdict == "pass" and alone[0][0].family["size"] == 1
    # `family: run`: one family of two
    # two borderline claims (p ~ 0.03 each): Holm's first level, alpha / 2, stops at once
    pooled = [[decide(claim("a > b"), border, Stats())], [decide(claim("a > b"), border, Stats())]]
    run = Stats(family="run")
    correct_specs([(run, pooled[0]), (Stats(family="run", correction="bh"), pooled[1])])
    assert pooled[0][0].family["size"] == 2 and pooled[0][0].family["method"] == "holm"
    assert pooled[0][0].verdict == "inconclusive" and pooled[0][0].family["scope"] == "run"
    assert pooled[1][0].verdict == "inconclusive"
