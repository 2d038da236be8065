"""Deciding claims from hand-built results (shape per docs/internals.md)."""

import json

import numpy as np
import pytest
from helpers import spec_text
from scipy import stats

from faspec.check.claims import SeedRun, Verdict, combine_and, combine_or, decide, negate
from faspec.spec.expr import parse
from faspec.spec.model import Claim, MetricStats, Reported, Stats

SEEDS = [42, 123, 456, 789, 1011, 1213, 1415, 1617, 1819, 2021]


def result(final=None, log=None, status="ok", error=None):
    return {
        "status": status,
        "error": error,
        "final": final or {},
        "log": log or [],
        "provenance": {
            "faspec": "0.1.0",
            "torch": "2.4",
            "device": "cpu",
            "wall_s": 1.0,
            "git": None,
            "host": "h",
        },
    }


def runs(label, values, metric="test_acc", seeds=None):
    seeds = seeds or SEEDS[: len(values)]
    return [
        SeedRun(s, f"{label}-{s}", result({metric: v})) for s, v in zip(seeds, values, strict=True)
    ]


def claim(expect, **kw):
    return Claim(id="c", expect=expect, expr=parse(expect), experiment="e", **kw)


def one(**methods):
    """data for an experiment without a sweep: {(): {label: [SeedRun]}}"""
    return {(): methods}


FA = [0.40, 0.41, 0.39]
DFA = [0.30, 0.31, 0.305]


def test_clear_order_passes_with_rule_and_numbers():
    v = decide(claim("fa > dfa"), one(fa=runs("fa", FA), dfa=runs("dfa", DFA)), Stats())
    assert isinstance(v, Verdict) and v.claim_id == "c"
    assert v.verdict == "pass"
    assert v.rule == "mean fa > mean dfa, one-sided Welch t-test, p < 0.05, n=3/3, std ddof=1"
    point = v.numbers["points"][0]
    assert point["operands"]["fa.test_acc"]["n"] == 3
    assert point["operands"]["fa.test_acc"]["values"] == FA
    assert point["links"][0]["p"] < 0.05
    assert v.runs == [f"fa-{s}" for s in SEEDS[:3]] + [f"dfa-{s}" for s in SEEDS[:3]]
    json.dumps(v.to_dict())


def test_mirror_relation():
    data = one(fa=runs("fa", FA), dfa=runs("dfa", DFA))
    assert decide(claim("dfa < fa"), data, Stats()).verdict == "pass"
    assert decide(claim("fa < dfa"), data, Stats()).verdict == "fail"


def test_identical_samples_decide_no_order():
    # equal means: neither `fa > dfa` nor its complement (fa below dfa) is shown
    v = decide(claim("fa > dfa"), one(fa=runs("fa", FA), dfa=runs("dfa", FA)), Stats())
    assert v.verdict == "inconclusive"
    assert "not even on the means" in v.message and "nor the opposite" in v.message


def test_wrong_direction_fails():
    v = decide(claim("dfa > fa"), one(fa=runs("fa", FA), dfa=runs("dfa", DFA)), Stats())
    assert v.verdict == "fail"


def test_borderline_is_inconclusive_with_seeds_needed():
    data = one(fa=runs("fa", [0.40, 0.42, 0.38]), dfa=runs("dfa", [0.39, 0.41, 0.37]))
    v = decide(claim("fa > dfa"), data, Stats())
    assert v.verdict == "inconclusive"
    link = v.numbers["points"][0]["links"][0]
    assert link["p"] >= 0.05
    n = link["seeds_needed"]
    assert isinstance(n, int) and n > 3
    assert f"about {n} seeds per method would decide it" in v.message


def test_std_ddof1_in_numbers():
    v = decide(
        claim("fa > dfa"),
        one(fa=runs("fa", [1.0, 2.0, 3.0]), dfa=runs("dfa", [0.0, 0.1, 0.2])),
        Stats(),
    )
    assert v.numbers["points"][0]["operands"]["fa.test_acc"]["std"] == 1.0


def test_n1_over_seeds_is_inconclusive_but_wrong_direction_fails():
    data = one(fa=runs("fa", [0.4]), dfa=runs("dfa", [0.3]))
    v = decide(claim("fa > dfa"), data, Stats())
    assert v.verdict == "inconclusive" and "at least 2 seeds" in v.message
    # one seed has no test either way: the wrong direction is not shown either
    assert decide(claim("fa < dfa"), data, Stats()).verdict == "inconclusive"


def test_order_with_gap_much():
    data = one(fa=runs("fa", FA), dfa=runs("dfa", DFA), bp=runs("bp", [0.42, 0.43, 0.41]))
    assert decide(claim("fa >> dfa"), data, Stats()).verdict == "pass"  # gap 0.095 >= much 0.05
    v = decide(claim("bp >> fa"), data, Stats())  # gap 0.02 < 0.05, though bp > fa holds
    assert v.verdict == "fail" and "a gap short of much 0.05" in v.message
    assert decide(claim("dfa << fa"), data, Stats()).verdict == "pass"


def test_close_passes_within_margin_with_enough_seeds():
    a = [0.400, 0.402, 0.398, 0.401, 0.399, 0.400]
    b = [0.401, 0.399, 0.400, 0.402, 0.398, 0.401]
    v = decide(claim("fa ~= dfa"), one(fa=runs("fa", a), dfa=runs("dfa", b)), Stats())
    assert v.verdict == "pass"
    assert "TOST" in v.rule and "close 0.01" in v.rule
    assert v.numbers["points"][0]["links"][0]["margin"] == {"close": 0.01}


def test_close_inconclusive_with_few_noisy_seeds():
    v = decide(
        claim("fa ~= dfa"),
        one(fa=runs("fa", [0.40, 0.41]), dfa=runs("dfa", [0.405, 0.398])),
        Stats(),
    )
    assert v.verdict == "inconclusive"
    assert "seeds" in v.message


def test_close_fails_outside_margin():
    v = decide(claim("fa ~= dfa"), one(fa=runs("fa", FA), dfa=runs("dfa", DFA)), Stats())
    assert v.verdict == "fail" and "a difference beyond close 0.01" in v.message


def test_margins_come_from_stats():
    stats = Stats(metrics={"test_acc": MetricStats(close=0.2, much=0.5)})
    data = one(fa=runs("fa", FA), dfa=runs("dfa", DFA))
    assert decide(claim("fa ~= dfa"), data, stats).verdict == "pass"
    assert decide(claim("fa >> dfa"), data, stats).verdict == "fail"


def test_constant_one_sample():
    data = one(fa=runs("fa", [0.5, 0.6, 0.55], "deep_cos"))
    v = decide(claim("fa.deep_cos > 0"), data, Stats())
    assert v.verdict == "pass" and "one-sample t-test" in v.rule
    assert decide(claim("0 < fa.deep_cos"), data, Stats()).verdict == "pass"
    assert decide(claim("fa.deep_cos > 0.9"), data, Stats()).verdict == "fail"


def test_zero_variance_decided_by_values():
    data = one(fa=runs("fa", [0.0, 0.0, 0.0], "deep_cos"))
    assert decide(claim("fa.deep_cos < 0.1"), data, Stats()).verdict == "pass"


def test_ge_over_seeds_is_the_strict_complement_of_lt_and_non_inferiority_has_its_margin():
    data = one(
        fa=runs("fa", [0.400, 0.401, 0.399, 0.400]), dfa=runs("dfa", [0.402, 0.403, 0.401, 0.402])
    )
    # fa is slightly below dfa: `fa >= dfa` over seeds is `not (fa < dfa)`, shown as fa > dfa
    v = decide(claim("fa >= dfa"), data, Stats())
    assert v.verdict == "fail" and "strict complement of <" in v.rule
    assert decide(claim("fa > dfa"), data, Stats()).verdict == "fail"
    # non-inferiority within 0.01 is written with its margin
    v = decide(claim("fa - dfa > -0.01"), data, Stats())
    assert v.verdict == "pass" and "-0.01" in v.rule


def test_chain_every_link():
    data = one(
        sb=runs("sb", [0.60, 0.61, 0.59]),
        cb=runs("cb", [0.400, 0.401, 0.399]),
        dfa=runs("dfa", [0.401, 0.400, 0.400]),
    )
    stats = Stats(metrics={"test_acc": MetricStats(close=0.01, much=0.05)})
    v = decide(claim("sb >> cb ~= dfa"), data, stats)
    assert [link["verdict"] for link in v.numbers["points"][0]["links"]] == ["pass", "pass"]
    assert v.verdict == "pass"
    v = decide(claim("sb >> cb > dfa"), data, stats)  # cb > dfa: equal means, not shown
    assert v.verdict == "inconclusive"


def test_seeds_all_paired_by_seed():
    data = one(dfa=runs("dfa", [0.30, 0.31, 0.32]), frozen=runs("frozen", [0.35, 0.36, 0.37]))
    v = decide(claim("dfa < frozen", seeds="all"), data, Stats())
    assert v.verdict == "pass"
    assert "every seed" in v.rule and v.numbers["points"][0]["held"] == 3
    data = one(dfa=runs("dfa", [0.30, 0.38, 0.32]), frozen=runs("frozen", [0.35, 0.36, 0.37]))
    v = decide(claim("dfa < frozen", seeds="all"), data, Stats())
    assert v.verdict == "fail" and "seed 123" in v.message
    assert decide(claim("dfa < frozen", seeds="2/3"), data, Stats()).verdict == "pass"
    assert decide(claim("dfa < frozen", seeds="3/3"), data, Stats()).verdict == "fail"


def test_seeds_pairing_uses_seed_values_not_order():
    dfa = runs("dfa", [0.30, 0.40], seeds=[1, 2])
    frozen = list(reversed(runs("frozen", [0.35, 0.45], seeds=[1, 2])))
    assert (
        decide(claim("dfa < frozen", seeds="all"), one(dfa=dfa, frozen=frozen), Stats()).verdict
        == "pass"
    )


def test_seeds_mode_with_one_seed_is_decided():
    assert (
        decide(
            claim("fa > dfa", seeds="all"),
            one(fa=runs("fa", [0.4]), dfa=runs("dfa", [0.3])),
            Stats(),
        ).verdict
        == "pass"
    )


def test_seeds_mode_close_and_much():
    data = one(fa=runs("fa", [0.400, 0.410]), dfa=runs("dfa", [0.405, 0.430]))
    assert decide(claim("fa ~= dfa", seeds="1/2"), data, Stats()).verdict == "pass"
    assert decide(claim("fa ~= dfa", seeds="all"), data, Stats()).verdict == "fail"
    data = one(fa=runs("fa", [0.50, 0.42]), dfa=runs("dfa", [0.40, 0.40]))
    assert decide(claim("fa >> dfa", seeds="1/2"), data, Stats()).verdict == "pass"
    assert decide(claim("fa >> dfa", seeds="all"), data, Stats()).verdict == "fail"


def test_seeds_k_n_mismatch_is_error():
    v = decide(
        claim("fa > dfa", seeds="2/5"), one(fa=runs("fa", FA), dfa=runs("dfa", DFA)), Stats()
    )
    assert v.verdict == "error" and "2/5" in v.message


def _log_runs(label, per_seed):
    """per_seed: list (one per seed) of {epoch: g_norm}; final is the last epoch."""
    out = []
    for s, series in zip(SEEDS, per_seed, strict=False):
        log = [{"epoch": e, "g_norm": g, "test_acc": 0.1} for e, g in sorted(series.items())]
        out.append(SeedRun(s, f"{label}-{s}", result({"g_norm": log[-1]["g_norm"]}, log)))
    return out


def test_by_epoch_over_seeds_records_first_epoch():
    series = [
        {0: 1e-3, 1: 1e-5, 2: 1e-9, 3: 1e-10, 10: 1e-11},
        {0: 2e-3, 1: 2e-5, 2: 3e-9, 3: 2e-10, 10: 1e-11},
        {0: 1e-3, 1: 4e-5, 2: 2e-9, 3: 1e-10, 10: 1e-11},
    ]
    v = decide(claim("dfa.g_norm < 1e-7 by epoch 5"), one(dfa=_log_runs("dfa", series)), Stats())
    assert v.verdict == "pass"
    point = v.numbers["points"][0]
    assert point["epoch"] == 2
    assert point["epochs_checked"] == [0, 1, 2, 3]  # epoch 10 > 5 is not considered
    assert "log10" in v.rule and "epoch <= 5" in v.rule
    v = decide(claim("dfa.g_norm < 1e-7 by epoch 1"), one(dfa=_log_runs("dfa", series)), Stats())
    assert v.verdict == "fail"


def test_by_epoch_per_seed():
    series = [
        {0: 1e-3, 2: 1e-9, 4: 1e-10},
        {0: 1e-3, 2: 1e-5, 4: 1e-9},
        {0: 1e-3, 2: 1e-9, 4: 1e-10},
    ]
    v = decide(
        claim("dfa.g_norm < 1e-7 by epoch 5", seeds="all"),
        one(dfa=_log_runs("dfa", series)),
        Stats(),
    )
    assert v.verdict == "pass"
    rows = v.numbers["points"][0]["per_seed"]
    assert [r["epoch"] for r in rows] == [2, 4, 2]
    v = decide(
        claim("dfa.g_norm < 1e-7 by epoch 3", seeds="all"),
        one(dfa=_log_runs("dfa", series)),
        Stats(),
    )
    assert v.verdict == "fail" and "seed 123" in v.message
    assert (
        decide(
            claim("dfa.g_norm < 1e-7 by epoch 3", seeds="2/3"),
            one(dfa=_log_runs("dfa", series)),
            Stats(),
        ).verdict
        == "pass"
    )


def test_by_epoch_without_common_logged_epoch_is_error():
    series = [{3: 1e-3, 9: 1e-9}, {3: 1e-3, 9: 1e-9}]
    v = decide(claim("dfa.g_norm < 1e-7 by epoch 2"), one(dfa=_log_runs("dfa", series)), Stats())
    assert v.verdict == "error" and "no epoch <= 2" in v.message


def test_for_each_decides_every_point():
    data = {
        (("model.blocks", 2),): {"fa": runs("fa", [0.5, 0.6, 0.55], "deep_cos")},
        (("model.blocks", 4),): {"fa": runs("fa", [0.3, 0.35, 0.32], "deep_cos")},
        (("model.blocks", 8),): {"fa": runs("fa", [0.1, 0.12, 0.11], "deep_cos")},
    }
    v = decide(claim("fa.deep_cos > 0", for_each="model.blocks"), data, Stats())
    assert v.verdict == "pass"
    assert [p["point"] for p in v.numbers["points"]] == [{"model.blocks": b} for b in (2, 4, 8)]
    assert all(p["verdict"] == "pass" for p in v.numbers["points"])
    assert v.rule.startswith("for each model.blocks")
    v = decide(claim("fa.deep_cos > 0.2", for_each="model.blocks"), data, Stats())
    assert v.verdict == "fail"
    assert "model.blocks=8" in v.message
    assert [p["verdict"] for p in v.numbers["points"]] == ["pass", "pass", "fail"]


def test_at_selects_point_and_ambiguity_is_error():
    data = {
        (("model.blocks", 2),): {"fa": runs("fa", FA), "dfa": runs("dfa", DFA)},
        (("model.blocks", 4),): {"fa": runs("fa", DFA), "dfa": runs("dfa", FA)},
    }
    assert decide(claim("fa > dfa", at={"model.blocks": 2}), data, Stats()).verdict == "pass"
    v = decide(claim("fa > dfa", at={"model.blocks": 4}), data, Stats())
    assert v.verdict == "fail" and v.rule.startswith("at model.blocks=4")
    assert decide(claim("fa > dfa"), data, Stats()).verdict == "error"
    assert decide(claim("fa > dfa", at={"model.blocks": 3}), data, Stats()).verdict == "error"


def test_log_scale_much():
    data = one(
        fa=runs("fa", [8.0, 9.0, 10.0], "h_norm"),
        dfa=runs("dfa", [200.0, 250.0, 300.0], "h_norm"),
        bp=runs("bp", [20.0, 25.0, 30.0], "h_norm"),
    )
    v = decide(claim("dfa.h_norm >> fa.h_norm"), data, Stats())
    assert v.verdict == "pass"  # ratio ~27 >= much_ratio 10
    assert v.numbers["points"][0]["links"][0]["scale"] == "log10"
    assert "geomean" in v.numbers["points"][0]["operands"]["fa.h_norm"]
    v = decide(claim("bp.h_norm >> fa.h_norm"), data, Stats())  # ratio ~2.8, short of 10
    assert v.verdict == "fail" and "gap short of much_ratio 10" in v.message
    # ratio 2.8 > close_ratio 2, but not shown beyond it with 3 seeds
    assert decide(claim("bp.h_norm ~= fa.h_norm"), data, Stats()).verdict == "inconclusive"


def test_log_scale_negative_value_is_error():
    v = decide(
        claim("dfa.g_norm < 1e-7"), one(dfa=runs("dfa", [1e-9, -1e-9, 1e-9], "g_norm")), Stats()
    )
    assert v.verdict == "error" and "not positive" in v.message and "log10" in v.message


def test_per_layer_operand():
    rs = [
        SeedRun(
            s,
            f"fa-{s}",
            result(
                {}, [{"epoch": 0, "cos_layers": [0.9, 0.1]}, {"epoch": 5, "cos_layers": [c, 0.2]}]
            ),
        )
        for s, c in zip(SEEDS, [0.6, 0.7, 0.65], strict=False)
    ]
    v = decide(claim("fa.cos_layers[0] > 0.5"), one(fa=rs), Stats())
    assert v.verdict == "pass"
    assert v.numbers["points"][0]["operands"]["fa.cos_layers[0]"]["values"] == [0.6, 0.7, 0.65]
    assert decide(claim("fa.cos_layers[5] > 0.5"), one(fa=rs), Stats()).verdict == "error"


def test_missing_result_is_unsourced():
    dfa = runs("dfa", DFA)
    dfa[1] = SeedRun(123, "dfa-123", None)
    v = decide(claim("fa > dfa"), one(fa=runs("fa", FA), dfa=dfa), Stats())
    assert v.verdict == "unsourced" and "dfa-123" in v.message
    assert "dfa-123" in v.runs


def test_failed_or_diverged_run_is_error_naming_it():
    dfa = runs("dfa", DFA)
    dfa[2] = SeedRun(
        456,
        "abc123",
        result(
            {},
            status="failed",
            error="Traceback (most recent call last):\n  ...\nRuntimeError: CUDA out of memory\n",
        ),
    )
    v = decide(claim("fa > dfa"), one(fa=runs("fa", FA), dfa=dfa), Stats())
    assert v.verdict == "error"
    assert "abc123" in v.message and "RuntimeError: CUDA out of memory" in v.message
    assert "Traceback" not in v.message
    dfa[2] = SeedRun(456, "def456", result({}, status="diverged", error="loss is NaN at epoch 3"))
    v = decide(claim("fa > dfa"), one(fa=runs("fa", FA), dfa=dfa), Stats())
    assert (
        v.verdict == "error"
        and "def456" in v.message
        and "diverged" in v.message
        and "NaN at epoch 3" in v.message
    )


def test_error_outranks_unsourced():
    dfa = runs("dfa", DFA)
    dfa[0] = SeedRun(42, "missing", None)
    dfa[1] = SeedRun(123, "broken", result({}, status="failed", error="boom"))
    assert decide(claim("fa > dfa"), one(fa=runs("fa", FA), dfa=dfa), Stats()).verdict == "error"


def test_undefined_metric_is_error_naming_metric_and_method():
    data = one(fa=runs("fa", FA), frozen=runs("frozen", [None, None, None], "deep_cos"))
    v = decide(claim("frozen.deep_cos < 0.1"), data, Stats())
    assert v.verdict == "error" and "deep_cos" in v.message and "frozen" in v.message


def test_reported_rounding_to_the_printed_number_is_no_test_with_spread():
    # mean 0.401 rounds to the printed 0.401, but 3 seeds with spread 0.01 cannot show
    # equivalence within 0.01: rounding decides only without spread (n = 1 or equal seeds)
    fa = [0.401, 0.411, 0.391]
    c = claim("fa > dfa", reported={"fa": Reported(0.401, 0.009, None, "0.401 ± 0.009", 3, 3)})
    v = decide(c, one(fa=runs("fa", fa), dfa=runs("dfa", DFA)), Stats())
    assert v.verdict == "inconclusive"
    (r,) = v.reported
    assert r["status"] == "inconclusive" and r["measured"]["n"] == 3


def test_reported_close_but_unproven_is_cannot_tell_not_agree():
    # measured 0.400 ± 0.010 (n=3) vs printed 0.401 ± 0.009: a two-sided test does not reject,
    # which the old rule took as agreement; TOST within 0.01 with 3 seeds cannot show it either
    c = claim("fa > dfa", reported={"fa": Reported(0.401, 0.009, None, "0.401 ± 0.009", 3, 3)})
    v = decide(c, one(fa=runs("fa", FA), dfa=runs("dfa", DFA)), Stats())
    assert v.verdict == "inconclusive"
    (r,) = v.reported
    assert r["status"] == "inconclusive" and r["outcome"] == "cannot tell"
    assert r["p_difference"] >= 0.05 and r["p_equivalence"] >= 0.05
    assert "cannot tell" in v.message and "seeds would decide" in v.message


def test_reported_three_std_away_with_3_seeds_is_not_agree():
    # the case: a 3-seed sample 3 std away from the printed value
    fa = [0.40, 0.41, 0.39]  # mean 0.40, std 0.01
    c = claim("fa > dfa", reported={"fa": Reported(0.43, text="0.43", decimals=2)})
    v = decide(c, one(fa=runs("fa", fa), dfa=runs("dfa", DFA)), Stats())
    (r,) = v.reported
    assert r["status"] != "agree" and v.verdict != "pass"
    # by hand: one-sided one-sample t that the mean lies below 0.43 - close (0.01), p doubled
    t = (0.40 - (0.43 - 0.01)) / (0.01 / 3**0.5)
    p = 2 * stats.t.cdf(t, 2)
    assert r["p_difference"] == pytest.approx(p)


def test_reported_equivalence_shown_agrees_and_difference_shown_mismatches():
    tight = [0.4005, 0.4015, 0.4010, 0.4000, 0.4020]  # mean 0.401, std 0.0008
    ok = claim("fa > dfa", reported={"fa": Reported(0.404, text="0.404", decimals=3)})
    data = one(fa=runs("fa", tight), dfa=runs("dfa", [0.3, 0.31, 0.305, 0.3, 0.31]))
    v = decide(ok, data, Stats())
    (r,) = v.reported
    # TOST by hand: both one-sided tests against 0.404 -+ 0.01
    x = np.asarray(tight)
    p_lo = stats.ttest_1samp(x, 0.404 - 0.01, alternative="greater").pvalue
    p_hi = stats.ttest_1samp(x, 0.404 + 0.01, alternative="less").pvalue
    assert r["p_equivalence"] == pytest.approx(max(p_lo, p_hi))
    assert r["status"] == "agree" and v.verdict == "pass"
    bad = claim("fa > dfa", reported={"fa": Reported(0.42, text="0.42", decimals=2)})
    v = decide(bad, data, Stats())
    assert v.verdict == "fail" and v.reported[0]["outcome"] == "disagrees"
    assert "differs by" in v.message


def test_reported_coarse_digits_widen_the_margin():
    coarse = claim("fa > dfa", reported={"fa": Reported(0.4, text="0.4", decimals=1)})
    data = one(fa=runs("fa", [0.43, 0.44, 0.42]), dfa=runs("dfa", DFA))
    v = decide(coarse, data, Stats())  # 0.43 rounds to 0.4 at one decimal
    assert v.verdict == "pass" and v.reported[0]["outcome"] == "agrees"


def test_reported_single_run_is_judged_by_the_margin():
    # one run has no spread: within the margin (close 0.01) agrees, outside disagrees
    data = one(fa=runs("fa", [0.40]), dfa=runs("dfa", [0.30]))
    c = claim("fa > dfa", seeds="all", reported={"fa": Reported(0.405, text="0.405", decimals=3)})
    assert decide(c, data, Stats()).reported[0]["status"] == "agree"
    c = claim("fa > dfa", seeds="all", reported={"fa": Reported(0.45, text="0.45", decimals=2)})
    v = decide(c, data, Stats())
    assert v.reported[0]["status"] == "mismatch" and v.verdict == "fail"
    assert "no spread to test" in v.reported[0]["test"]


def test_reported_seed_count_other_than_the_papers_is_a_warning_not_a_mismatch():
    c = claim("fa > dfa", reported={"fa": Reported(0.40, 0.01, 3, "0.40 ± 0.01 (n=3)", 2, 2)})
    data = one(fa=runs("fa", [0.40]), dfa=runs("dfa", [0.30]))
    v = decide(c, data, Stats())
    assert v.reported[0]["status"] == "agree" and v.verdict != "fail"
    assert "n=3" in v.message and "1 seed" in v.message and "warning" in v.message


def test_reported_std_equal_to_the_ddof0_std_of_3_seeds_is_no_evidence_of_ddof0():
    # std of [0.39, 0.40, 0.41]: ddof=1 0.0100, ddof=0 0.0082. A printed 0.0082 is as likely a
    # ddof=1 std of the paper's own 3 seeds: the likelihood ratio is below 1/alpha, no mismatch
    c = claim("fa > dfa", reported={"fa": Reported(0.400, 0.0082, 3, "0.400 ± 0.0082 (n=3)", 3, 4)})
    v = decide(c, one(fa=runs("fa", FA), dfa=runs("dfa", DFA)), Stats())
    assert v.reported[0]["status"] != "mismatch" and "ddof" not in v.message
    assert 1.0 < v.reported[0]["ddof0_likelihood_ratio"] < 1.5


def test_reported_for_a_method_only_in_reported_with_missing_runs():
    c = claim("fa > dfa", reported={"bp": Reported(0.5, text="0.5", decimals=1)})
    data = one(fa=runs("fa", FA), dfa=runs("dfa", DFA), bp=[SeedRun(42, "bp-42", None)])
    v = decide(c, data, Stats())
    assert v.verdict == "unsourced" and v.reported[0]["status"] == "unsourced"


def test_and_or_not():
    data = one(fa=runs("fa", FA), dfa=runs("dfa", DFA), bp=runs("bp", [0.41, 0.43, 0.39]))
    assert decide(claim("fa > dfa and bp > dfa"), data, Stats()).verdict == "pass"
    assert decide(claim("fa > dfa and dfa > fa"), data, Stats()).verdict == "fail"
    assert decide(claim("dfa > fa or fa > dfa"), data, Stats()).verdict == "pass"
    assert decide(claim("dfa > fa or dfa > bp"), data, Stats()).verdict == "fail"
    assert decide(claim("not dfa > fa"), data, Stats()).verdict == "pass"
    assert decide(claim("not fa > dfa"), data, Stats()).verdict == "fail"
    # inconclusive stays inconclusive under not; or with an inconclusive part and a failed part
    assert decide(claim("not bp > fa"), data, Stats()).verdict == "inconclusive"
    assert decide(claim("bp > fa or dfa > fa"), data, Stats()).verdict == "inconclusive"
    v = decide(claim("(fa > dfa or dfa > fa) and not dfa > bp"), data, Stats())
    assert v.verdict == "pass" and " and " in v.rule


def test_or_passes_despite_unsourced_part_and_is_unsourced_otherwise():
    data = one(fa=runs("fa", FA), dfa=runs("dfa", DFA), bp=[SeedRun(42, "bp-42", None)])
    assert decide(claim("fa > dfa or bp > dfa"), data, Stats()).verdict == "pass"
    assert decide(claim("dfa > fa or bp > dfa"), data, Stats()).verdict == "unsourced"
    assert decide(claim("fa > dfa and bp > dfa"), data, Stats()).verdict == "unsourced"


def test_combinators():
    assert combine_and(["pass", "inconclusive", "fail"]) == "fail"
    assert combine_and(["fail", "unsourced"]) == "unsourced"
    assert combine_and(["unsourced", "error"]) == "error"
    assert combine_or(["fail", "pass", "error"]) == "pass"
    assert combine_or(["fail", "inconclusive"]) == "inconclusive"
    assert combine_or(["fail", "error"]) == "error"
    assert [negate(v) for v in ("pass", "fail", "inconclusive", "error", "unsourced")] == [
        "fail",
        "pass",
        "inconclusive",
        "error",
        "unsourced",
    ]


def test_student_test_when_configured():
    v = decide(
        claim("fa > dfa"), one(fa=runs("fa", FA), dfa=runs("dfa", DFA)), Stats(test="student")
    )
    assert v.verdict == "pass" and "Student t-test" in v.rule


def test_alpha_from_stats():
    data = one(fa=runs("fa", [0.40, 0.43, 0.39]), dfa=runs("dfa", [0.38, 0.40, 0.37]))
    loose = decide(claim("fa > dfa"), data, Stats(alpha=0.2))
    strict = decide(claim("fa > dfa"), data, Stats(alpha=0.001))
    assert loose.verdict == "pass" and strict.verdict == "inconclusive"
    assert "p < 0.001" in strict.rule


def test_claim_from_a_loaded_spec(v1_methods):
    from faspec.spec.load import load_text

    text = spec_text(
        base={},
        experiments={"a": {"methods": ["fa", "dfa"], "seeds": [42, 123, 456]}},
        claims=[
            {"id": "x", "in": "a", "expect": "fa > dfa", "reported": {"fa": "0.400 ± 0.002 (n=3)"}}
        ],
    )
    spec = load_text(text, "t.yaml")
    fa = [0.400, 0.401, 0.399]  # equivalence within 0.01 shown against 0.400 ± 0.002 (n=3)
    v = decide(spec.claims[0], one(fa=runs("fa", fa), dfa=runs("dfa", DFA)), spec.stats)
    assert v.verdict == "pass" and v.claim_id == "x"
    assert v.reported[0]["status"] == "agree"


@pytest.mark.parametrize("expect", ["fa > dfa", "fa ~= dfa", "fa >> dfa", "fa > 0.3"])
def test_verdict_to_dict_is_json(expect):
    v = decide(claim(expect, seeds=None), one(fa=runs("fa", FA), dfa=runs("dfa", DFA)), Stats())
    d = v.to_dict()
    assert set(d) == {
        "claim_id",
        "verdict",
        "rule",
        "message",
        "numbers",
        "runs",
        "reported",
        "p",
        "family",
        "power",
        "code",  # set by verify: runs whose code is not the installed code
    }
    json.loads(json.dumps(d, allow_nan=False))
