"""Issue 21: the decision rules at their edges, each bug fed its case, and each rule's error
rate simulated through `decide` (seeded generators: the rates are fixed numbers, and each bound
sits several binomial standard deviations above the rate the rule promises, so a change of
seed cannot flip them)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from faspec.check import stats as S
from faspec.check.claims import SeedRun, decide
from faspec.check.family import correct
from faspec.spec.expr import parse
from faspec.spec.model import Claim, MetricStats, Reported, Stats

SEEDS = list(range(1, 41))
ALPHA = 0.05


def runs(label, values, metric="test_acc"):
    return [
        SeedRun(s, f"{label}-{s}", {"status": "ok", "final": {metric: v}, "log": []})
        for s, v in zip(SEEDS, values, strict=False)
    ]


def logged(label, by_epoch, metric="test_acc"):
    """by_epoch: one list of per-seed values per epoch 0..E."""
    out = []
    for i, s in enumerate(SEEDS[: len(by_epoch[0])]):
        log = [{"epoch": e, metric: vals[i]} for e, vals in enumerate(by_epoch)]
        out.append(SeedRun(s, f"{label}-{s}", {"status": "ok", "final": {}, "log": log}))
    return out


def claim(expect, **kw):
    return Claim(id="c", expect=expect, expr=parse(expect), experiment="e", **kw)


def one(**methods):
    return {(): methods}


# ----------------------------------------------------------------------------- the 7 bugs


def test_bug1_exactly_k_of_n_with_every_seed_holding_fails_without_a_crash():
    data = one(a=runs("a", [0.5, 0.6, 0.7]), b=runs("b", [0.4, 0.5, 0.6]))
    v = decide(claim("a > b for exactly 2 of 3 seeds"), data, Stats())
    assert v.verdict == "fail" and "holds for 3 of 3 seeds, needs exactly 2" in v.message
    two = one(a=runs("a", [0.5, 0.6, 0.5]), b=runs("b", [0.4, 0.5, 0.6]))
    assert decide(claim("a > b for exactly 2 of 3 seeds"), two, Stats()).verdict == "pass"


def test_bug2_by_epoch_enters_the_family_with_its_epoch_corrected_p():
    x = [0.32, 0.33, 0.345]  # the same at each of 6 epochs: raw one-sided p ~ 0.02
    b = decide(claim("x > 0.3 by epoch 5"), one(x=logged("x", [x] * 6)), Stats())
    p_raw = stats.ttest_1samp(x, 0.3, alternative="greater").pvalue
    assert 0.0125 < p_raw < 0.025
    assert b.verdict == "inconclusive" and b.p == pytest.approx(min(1.0, 6 * p_raw))
    # claim A alone at p = 0.029: with B's raw p Holm would pass it (2 x 0.02 < 0.05 first);
    # with B's corrected p, A is the smallest and 2 x 0.029 >= 0.05: inconclusive
    a = decide(claim("a > 0.3"), one(a=runs("a", [0.31, 0.33, 0.34])), Stats())
    a.p = 0.029  # the issue's A, as a tested pass
    a.verdict = "pass"
    correct([a, b], "holm", ALPHA)
    assert a.verdict == "inconclusive" and a.family["adjusted_p"] == pytest.approx(0.058)


def test_bug3_an_honest_reproduction_is_not_called_ddof0():
    rep = Reported(0.401, 0.009, 3, "0.401 ± 0.009 (n=3)", 3, 3)
    data = one(fa=runs("fa", [0.390, 0.401, 0.412]), dfa=runs("dfa", [0.30, 0.31, 0.305]))
    v = decide(claim("fa > dfa", reported={"fa": rep}), data, Stats())
    # n = 3 against a printed n = 3 cannot show equivalence within 0.01: not a mismatch, and
    # the mean's rounding to the printed digits does not stand in for the test (fix 2)
    assert v.reported[0]["status"] == "inconclusive" and v.verdict == "inconclusive"
    assert "ddof" not in v.message


@pytest.mark.parametrize("n", [3, 5])
def test_bug3_ddof_false_fire_rate_on_honest_reproductions(n):
    # paper and reproduction: n seeds each from one N(0.4, 0.01); the paper prints its mean and
    # ddof=1 std at 3 decimals. The old rule (printed std rounds to the measured ddof=0 std,
    # not to the ddof=1 one) fired on 7-8 %; the new one never calls it a mismatch.
    rng = np.random.default_rng(21 + n)
    old = new = 0
    sims = 300
    for _ in range(sims):
        paper, ours = rng.normal(0.4, 0.01, n), rng.normal(0.4, 0.01, n)
        pm, ps = round(float(paper.mean()), 3), round(float(paper.std(ddof=1)), 3)
        std0, std1 = float(ours.std(ddof=0)), float(ours.std(ddof=1))
        old += abs(ps - std0) <= 0.0005 and abs(ps - std1) > 0.0005
        rep = Reported(pm, ps, n, f"{pm} ± {ps} (n={n})", 3, 3)
        v = decide(claim("fa > 0.3", reported={"fa": rep}), one(fa=runs("fa", ours)), Stats())
        new += v.reported[0]["status"] == "mismatch" and "ddof" in v.reported[0]["reason"]
        assert v.reported[0]["ddof0_likelihood_ratio"] < math.exp(0.5)
    assert new == 0  # <= alpha, and exactly 0: no reproduction can show the convention
    assert old / sims > 0.02  # the old rule's false fires were real (7-8 % in the issue)


def test_bug4_a_difference_of_log_scale_metrics_is_refused_with_the_fix():
    data = one(
        fa=runs("fa", [8.0, 9.0, 10.0], "h_norm"), dfa=runs("dfa", [1.0, 1.1, 0.9], "h_norm")
    )
    for expect in ("fa.h_norm - dfa.h_norm ~= 10", "fa.h_norm - dfa.h_norm ~= 0"):
        v = decide(claim(expect), data, Stats())
        assert v.verdict == "error" and "write a ratio, fa.h_norm / dfa.h_norm" in v.message
        assert "not positive" not in v.message
    assert decide(claim("fa.h_norm / dfa.h_norm ~= 9"), data, Stats()).verdict == "pass"


def test_bug5_round_off_of_identical_values_is_zero_spread():
    a, b = [0.4 + 1e-9] * 3, [0.4] * 3
    v = decide(claim("a > b"), one(a=runs("a", a), b=runs("b", b)), Stats())
    assert v.verdict != "pass" and v.numbers["points"][0]["links"][0]["p"] == 1.0
    half = decide(
        claim("a > b"), one(a=runs("a", [0.5 + 1e-9] * 3), b=runs("b", [0.5] * 3)), Stats()
    )
    assert half.verdict == v.verdict  # the same case at 0.5 decides alike
    # a real difference with zero spread still passes
    assert (
        decide(claim("a > b"), one(a=runs("a", [0.41] * 3), b=runs("b", b)), Stats()).verdict
        == "pass"
    )


def test_bug6_margins_are_inclusive_for_values_stepping_by_1e4():
    st = Stats(metrics={"test_acc": MetricStats(close=0.01, much=0.05)})
    a, b = [0.4501, 0.4502, 0.4503], [0.4001, 0.4002, 0.4003]  # gap exactly 0.05 in decimal
    assert 0.4501 - 0.4001 < 0.05  # what binary floats make of it
    data = one(a=runs("a", a), b=runs("b", b))
    assert decide(claim("a >> b", seeds="all"), data, st).verdict == "pass"
    near = one(a=runs("a", [0.4101, 0.4102, 0.4103]), b=runs("b", b))  # |a - b| exactly 0.01
    assert decide(claim("a ~= b", seeds="all"), near, st).verdict == "pass"
    # over seeds with zero spread: a gap equal to much reaches it, and its complement fails
    flat = one(a=runs("a", [0.45] * 3), b=runs("b", [0.40] * 3))
    assert decide(claim("a >> b"), flat, st).verdict == "pass"
    assert decide(claim("not (a >> b)"), flat, st).verdict == "fail"


def test_bug7_a_ratio_of_two_negative_quantities_is_a_ratio_of_magnitudes():
    sb = [-1.93e-3, -2.07e-3, -1.79e-3]
    cb = [-4.26e-4, -4.55e-4, -3.97e-4]
    data = one(sb=runs("sb", sb, "nudge"), cb=runs("cb", cb, "nudge"))
    v = decide(claim("sb.nudge / cb.nudge ~= 4.5"), data, Stats())
    assert v.verdict == "pass"
    link = v.numbers["points"][0]["links"][0]
    assert link["estimate"] == pytest.approx(
        10 ** (np.mean(np.log10(np.abs(sb))) - np.mean(np.log10(np.abs(cb))))
    )
    # seeds straddling zero: the sign is not established, which more seeds may show
    mixed = one(sb=runs("sb", sb, "nudge"), cb=runs("cb", [-4e-4, 4e-4, -4e-4], "nudge"))
    v = decide(claim("sb.nudge / cb.nudge ~= 4.5"), mixed, Stats())
    assert v.verdict == "inconclusive"
    assert "the sign of cb.nudge is not established" in v.message and "0.0004" in v.message
    zero = one(sb=runs("sb", sb, "nudge"), cb=runs("cb", [0.0] * 3, "nudge"))
    v = decide(claim("sb.nudge / cb.nudge ~= 4.5"), zero, Stats())
    assert v.verdict == "inconclusive" and "the sign of cb.nudge" in v.message


def test_a_ratio_of_opposite_signs_shown_fails_against_a_positive_constant():
    sb = [-1.93e-3, -2.07e-3, -1.79e-3]
    hurt = [3.0e-4, 3.1e-4, 2.9e-4]  # the credit hurts: a loss increase on every seed
    data = one(sb=runs("sb", sb, "nudge"), cb=runs("cb", hurt, "nudge"))
    v = decide(claim("sb.nudge / cb.nudge ~= 4.5"), data, Stats())
    assert v.verdict == "fail" and "is negative" in v.message and "cannot be ~=" in v.message
    # the same sign settles an order: a negative ratio is below 4.5, and not above it
    assert decide(claim("sb.nudge / cb.nudge < 4.5"), data, Stats()).verdict == "pass"
    assert decide(claim("sb.nudge / cb.nudge >> 4.5"), data, Stats()).verdict == "fail"
    # against a negative constant the magnitudes are tested
    v = decide(claim("sb.nudge / cb.nudge ~= -6.5"), data, Stats())
    assert v.verdict == "pass"
    link = v.numbers["points"][0]["links"][0]
    assert link["estimate"] == pytest.approx(
        10 ** (np.mean(np.log10(np.abs(sb))) - np.mean(np.log10(hurt)))
    )
    # a negative constant against same-sign operands: the ratio is positive, never ~= -4.5
    same = one(sb=runs("sb", sb, "nudge"), cb=runs("cb", [-4e-4, -4.2e-4, -3.9e-4], "nudge"))
    assert decide(claim("sb.nudge / cb.nudge ~= -4.5"), same, Stats()).verdict == "fail"
    # an order against a negative constant would flip under |.|: refused, saying how to write it
    v = decide(claim("sb.nudge / cb.nudge > -4.5"), same, Stats())
    assert v.verdict == "error" and "with `~=` only" in v.message
    # opposite means whose signs are shown although one seed straddles: still decided by sign
    mostly = [3.0e-4, 3.2e-4, 2.8e-4, 3.1e-4, 2.9e-4, 3.0e-4, -1e-6]
    data = one(sb=runs("sb", sb * 3, "nudge"), cb=runs("cb", mostly, "nudge"))
    assert decide(claim("sb.nudge / cb.nudge ~= 4.5"), data, Stats()).verdict == "fail"


@settings(max_examples=60, deadline=None)
@given(
    a=st.lists(st.floats(-1.0, 1.0).filter(lambda x: abs(x) > 1e-9), min_size=2, max_size=6),
    b=st.lists(st.floats(-1.0, 1.0).filter(lambda x: abs(x) > 1e-9), min_size=2, max_size=6),
)
def test_a_ratio_of_any_data_is_never_an_error(a, b):
    """Data alone never makes a ratio claim `error` (the default configuration: no stats)."""
    n = min(len(a), len(b))
    data = one(x=runs("x", a[:n], "nudge"), y=runs("y", b[:n], "nudge"))
    v = decide(claim("x.nudge / y.nudge ~= 4.5"), data, Stats())
    assert v.verdict in ("pass", "fail", "inconclusive"), v.message
    if v.verdict != "inconclusive" or "sign" not in v.message:
        return
    straddles = [k for k, vals in (("x", a[:n]), ("y", b[:n])) if min(vals) < 0 < max(vals)]
    assert straddles, v.message


# ------------------------------------------------------------------------------- the rules


def test_x_and_not_x_never_both_pass_the_issue_case():
    fa = [0.405, 0.4052, 0.4048, 0.4051, 0.4049]
    dfa = [0.400, 0.4002, 0.3998, 0.4001, 0.3999]
    data = one(fa=runs("fa", fa), dfa=runs("dfa", dfa))
    assert decide(claim("fa > dfa"), data, Stats()).verdict == "pass"
    assert decide(claim("not (fa > dfa)"), data, Stats()).verdict == "fail"
    # `<=` over seeds is the strict complement of `>`: shown false here
    assert decide(claim("fa <= dfa"), data, Stats()).verdict == "fail"


@pytest.mark.parametrize("expect", ["a > b", "a >> b", "a ~= b", "a >= b"])
def test_x_and_not_x_split_the_outcomes(expect):
    # true differences spread across both sides of 0, close (0.01) and much (0.05)
    st = Stats(metrics={"test_acc": MetricStats(close=0.01, much=0.05)})
    rng = np.random.default_rng(7)
    seen = set()
    for _ in range(100):
        d = rng.uniform(-0.08, 0.08)
        data = one(
            a=runs("a", rng.normal(0.4 + d, 0.003, 3)), b=runs("b", rng.normal(0.4, 0.003, 3))
        )
        x = decide(claim(expect), data, st).verdict
        nx = decide(claim(f"not ({expect})"), data, st).verdict
        assert (x, nx) in {("pass", "fail"), ("fail", "pass"), ("inconclusive", "inconclusive")}
        seen.add(x)
    assert seen == {"pass", "fail", "inconclusive"}


def _rate(expect, make, sims, seed, st=None):
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(sims):
        hits += decide(claim(expect), make(rng), st or Stats()).verdict == "pass"
    return hits / sims


# 400 draws at a true rate of 0.05: sd 0.011; a bound of 0.095 is 4 sd above alpha
SIMS, BOUND = 400, 0.095


def test_superiority_false_pass_rate_at_equal_means():
    def make(rng):
        return one(a=runs("a", rng.normal(0.4, 0.01, 3)), b=runs("b", rng.normal(0.4, 0.01, 3)))

    assert _rate("a > b", make, SIMS, 1) <= BOUND
    assert _rate("not (a > b)", make, SIMS, 2) <= BOUND


def test_or_controls_its_error():
    # two parts, both at their null: the smallest p alone passes ~2 alpha; Bonferroni within
    # the or keeps it at alpha
    def make(rng):
        return one(**{k: runs(k, rng.normal(0.4, 0.01, 3)) for k in "abcd"})

    rate = _rate("a > b or c > d", make, SIMS, 3)
    assert rate <= BOUND
    # and the old rule's rate, recomputed from the same draws' parts, was about 2 alpha
    rng = np.random.default_rng(3)
    old = 0
    for _ in range(SIMS):
        data = make(rng)
        parts = [decide(claim(e), data, Stats()).verdict for e in ("a > b", "c > d")]
        old += "pass" in parts
    assert old / SIMS > 0.07


def test_much_is_tested_one_sided_at_the_margin():
    st = Stats(metrics={"test_acc": MetricStats(close=0.01, much=0.05)})

    def make(rng):  # true gap exactly much: the old point-estimate rule passed ~half of these
        return one(a=runs("a", rng.normal(0.45, 0.01, 3)), b=runs("b", rng.normal(0.4, 0.01, 3)))

    assert _rate("a >> b", make, SIMS, 4, st) <= BOUND


def test_reported_disagree_needs_a_difference_beyond_the_margin():
    # true mean exactly at the printed value + the margin (close 0.01): "disagree" is a false
    # alarm; the old test against a zero difference fired on 40-50 %
    rng = np.random.default_rng(5)
    rep = Reported(0.40, text="0.40", decimals=2)
    mismatches = 0
    for _ in range(SIMS):
        data = one(fa=runs("fa", rng.normal(0.41, 0.005, 3)))
        v = decide(claim("fa > 0.3", reported={"fa": rep}), data, Stats())
        mismatches += v.reported[0]["status"] == "mismatch"
    assert mismatches / SIMS <= BOUND
    far = one(fa=runs("fa", [0.45, 0.451, 0.449]))
    v = decide(claim("fa > 0.3", reported={"fa": rep}), far, Stats())
    assert v.reported[0]["status"] == "mismatch" and "beyond the margin" in v.message


def test_a_printed_std_without_n_is_a_warning_on_the_verdict():
    rep = Reported(0.401, 0.009, None, "0.401 ± 0.009", 3, 3)
    data = one(fa=runs("fa", [0.400, 0.401, 0.402]))
    v = decide(claim("fa > 0.3", reported={"fa": rep}), data, Stats())
    assert "has no (n=…): its ± is not used" in v.message and v.numbers["warnings"]


def test_pooled_layers_infer_at_the_seed_level():
    # each seed has its own level (a seed effect, sd 0.03) and 4 layers around it (sd 0.01);
    # the true mean is 0.1: `x.cos_layers[*] > 0.1` is a false pass. Pooling 12 values as
    # independent passed far more often than alpha; the seed-level test keeps it.
    def make(rng):
        out = []
        for s in SEEDS[:3]:
            level = 0.1 + rng.normal(0, 0.03)
            layers = list(level + rng.normal(0, 0.01, 4))
            out.append(
                SeedRun(
                    s,
                    f"x-{s}",
                    {"status": "ok", "final": {}, "log": [{"epoch": 0, "cos_layers": layers}]},
                )
            )
        return one(x=out)

    rate = _rate("x.cos_layers[*] > 0.1", make, SIMS, 6)
    assert rate <= BOUND
    rng = np.random.default_rng(6)
    pooled = 0
    for _ in range(SIMS):
        vals = [v for r in make(rng)[()]["x"] for v in r.result["log"][0]["cos_layers"]]
        pooled += stats.ttest_1samp(vals, 0.1, alternative="greater").pvalue < ALPHA
    assert pooled / SIMS > 0.15


def test_ddof_likelihood_ratio_is_bounded_below_e_to_the_half():
    for k in (2, 3, 5, 30):
        for r in (1e-4, 0.1, 0.5, 1.0, 4.0):
            assert S.ddof_likelihood_ratio(r, k, 1.0, k) < math.exp(0.5)


def test_a_pooled_reported_value_is_tested_over_the_seeds_layer_means():
    cos = [
        [0.33, 0.15, 0.14, 0.16, 0.12],
        [0.35, 0.18, 0.13, 0.15, 0.17],
        [0.31, 0.16, 0.11, 0.17, 0.15],
    ]
    data = one(
        pen=[
            SeedRun(
                s, f"pen-{s}", {"status": "ok", "final": {}, "log": [{"epoch": 0, "cos_layers": c}]}
            )
            for s, c in zip(SEEDS, cos, strict=False)
        ]
    )
    rep = Reported(0.17, 0.02, 12, "0.17 ± 0.02 (n=12)", 2, 2, index=(1, None))
    v = decide(claim("pen.cos_layers[1:] > 0", reported={"pen.cos_layers[1:]": rep}), data, Stats())
    r = v.reported[0]
    means = np.array([row[1:] for row in cos]).mean(axis=1)
    lo = stats.ttest_1samp(means, 0.17 - 0.05, alternative="greater").pvalue
    hi = stats.ttest_1samp(means, 0.17 + 0.05, alternative="less").pvalue
    assert r["measured"]["n"] == 12 and r["tested_n"] == 3
    assert r["p_equivalence"] == pytest.approx(max(lo, hi))


def test_c13_indistinguishable_as_no_large_gap_either_way_passes_on_the_papers_numbers():
    # specs/architectures.yaml C13: no_ln DFA 0.327 ± 0.012 vs vanilla 0.306 ± 0.008 (n=3)
    no_ln, vanilla = [0.315, 0.327, 0.339], [0.298, 0.306, 0.314]
    data = one(dfa=runs("n", no_ln))
    others = {"resmlp": one(dfa=runs("r", vanilla))}
    e = "not (dfa >> resmlp:dfa) and not (dfa << resmlp:dfa)"
    v = decide(Claim(id="C13", expect=e, expr=parse(e), experiment="no_ln"), data, Stats(), others)
    hi = stats.ttest_ind(np.array(no_ln) - 0.05, vanilla, equal_var=False, alternative="less")
    assert v.verdict == "pass" and v.p == pytest.approx(hi.pvalue)
    # equivalence within close (1 pp) cannot be shown: the paper's gap is 2.1 pp
    e = "dfa ~= resmlp:dfa"
    v = decide(Claim(id="C13", expect=e, expr=parse(e), experiment="no_ln"), data, Stats(), others)
    assert v.verdict == "inconclusive"


def test_a_ratio_fails_by_its_sign_at_most_alpha_2_of_the_time_when_the_signs_agree():
    """True SB and CB nudges both negative (ratio +4.5), CB's spread large enough that its seeds
    often straddle zero: a wrong-sign `fail` needs a two-sided one-sample test showing the wrong
    sign (rate <= alpha/2 = 0.025 per draw); 600 seeded draws, bound 0.05 (4 binomial sds)."""
    rng = np.random.default_rng(21)
    wrong = inconclusive = 0
    draws = 600
    for _ in range(draws):
        sb = rng.normal(-1.93e-3, 0.14e-3, 3)
        cb = rng.normal(-4.26e-4, 6e-4, 3)
        data = one(sb=runs("sb", list(sb), "nudge"), cb=runs("cb", list(cb), "nudge"))
        v = decide(claim("sb.nudge / cb.nudge ~= 4.5"), data, Stats())
        wrong += v.verdict == "fail" and "is negative" in v.message
        inconclusive += v.verdict == "inconclusive" and "sign of cb.nudge" in v.message
    assert wrong / draws < 0.05
    assert inconclusive / draws > 0.3  # straddling seeds are common here: not established
