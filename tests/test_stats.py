"""The statistics layer: ddof=1, one-sided Welch, one-sample, TOST, degenerate cases, seeds_needed."""

import math

import pytest
from scipy import stats as st

from faspec.check.stats import (
    agree_from_stats,
    diff_test,
    mean_std,
    one_sample,
    seeds_needed,
    tost,
    welch,
)


def test_std_is_ddof1():
    assert mean_std([1, 2, 3]) == (2.0, 1.0)


def test_std_undefined_for_one_value():
    assert mean_std([0.4]) == (0.4, None)


def test_mean_std_empty_raises():
    with pytest.raises(ValueError):
        mean_std([])


def test_welch_matches_scipy_one_sided():
    a, b = [0.40, 0.41, 0.39, 0.42], [0.30, 0.33, 0.29]
    res = welch(a, b, "greater")
    ref = st.ttest_ind(a, b, equal_var=False, alternative="greater")
    assert res.p == pytest.approx(ref.pvalue)
    assert res.statistic == pytest.approx(ref.statistic)
    assert welch(a, b, "less").p == pytest.approx(1 - ref.pvalue)


def test_student_when_equal_var():
    a, b = [1.0, 2.0, 3.0], [0.0, 0.5, 0.7, 0.1]
    res = diff_test(a, b, "greater", equal_var=True)
    assert res.p == pytest.approx(st.ttest_ind(a, b, equal_var=True, alternative="greater").pvalue)


def test_one_sample_matches_scipy():
    a = [0.1, 0.2, 0.15]
    assert one_sample(a, 0.0, "greater").p == pytest.approx(
        st.ttest_1samp(a, 0.0, alternative="greater").pvalue
    )


def test_diff_test_delta_shifts_the_null():
    a, b = [1.0, 1.1, 0.9], [0.5, 0.6, 0.4]
    # mean diff 0.5; H1: diff > 0.4 is weaker evidence than diff > 0
    assert diff_test(a, b, "greater", 0.4).p > diff_test(a, b, "greater", 0.0).p
    assert diff_test(a, b, "greater", 0.6).p > 0.5


def test_n1_cannot_test():
    res = welch([0.4], [0.3, 0.31], "greater")
    assert res.p is None and "at least 2 seeds" in res.note
    assert one_sample([0.4], 0.0).p is None


def test_zero_variance_decided_by_values():
    res = welch([0.5, 0.5, 0.5], [0.3, 0.3], "greater")
    assert res.p == 0.0 and "zero variance" in res.note
    assert welch([0.5, 0.5], [0.5, 0.5], "greater").p == 1.0
    assert welch([0.3, 0.3], [0.5, 0.5], "greater").p == 1.0
    assert one_sample([0.0, 0.0, 0.0], 0.1, "less").p == 0.0


def test_one_group_zero_variance_still_a_t_test():
    res = welch([0.5, 0.5, 0.5], [0.3, 0.32, 0.31], "greater")
    assert res.p is not None and 0 < res.p < 0.05 and res.note == ""


def test_tost_equivalent_within_margin():
    a = [0.400, 0.402, 0.398, 0.401, 0.399]
    b = [0.401, 0.399, 0.400, 0.402, 0.398]
    res = tost(a, b, 0.01)
    assert res.p is not None and res.p < 0.05
    # p is the larger of the two one-sided p-values
    lo = diff_test(a, b, "greater", -0.01).p
    hi = diff_test(a, b, "less", 0.01).p
    assert res.p == pytest.approx(max(lo, hi))


def test_tost_not_equivalent_with_noise():
    res = tost([0.40, 0.43, 0.37], [0.41, 0.38, 0.44], 0.01)
    assert res.p > 0.05


def test_tost_one_sample_and_degenerate():
    assert tost([0.0, 0.0], 0.0, 0.05).p == 0.0
    assert tost([0.1, 0.1], 0.0, 0.05).p == 1.0
    assert tost([0.1], 0.0, 0.05).p is None
    with pytest.raises(ValueError):
        tost([1, 2], [1, 2], 0.0)


def test_seeds_needed_reaches_significance():
    a, b = [0.40, 0.42, 0.38], [0.39, 0.41, 0.37]
    ma, sa = mean_std(a)
    mb, sb = mean_std(b)
    n = seeds_needed(ma - mb, sa, sb, 0.05)
    assert n is not None and n > 3
    # with n seeds of the same mean and std the Welch t statistic reaches the one-sided critical value
    t = (ma - mb) / math.sqrt((sa**2 + sb**2) / n)
    df = (sa**2 + sb**2) ** 2 * (n - 1) / (sa**4 + sb**4)
    assert t >= st.t.ppf(0.95, df)
    t_prev = (ma - mb) / math.sqrt((sa**2 + sb**2) / (n - 1))
    df_prev = (sa**2 + sb**2) ** 2 * (n - 2) / (sa**4 + sb**4)
    assert t_prev < st.t.ppf(0.95, df_prev)


def test_seeds_needed_edge_cases():
    assert seeds_needed(0.0, 0.1, 0.1) is None
    assert seeds_needed(-0.1, 0.1, 0.1) is None
    assert seeds_needed(0.1, 0.0, 0.0) == 2
    assert seeds_needed(1e-6, 1.0, 1.0, cap=50) is None
    assert seeds_needed(0.1, 0.1) is not None  # one-sample


def test_agree_from_stats():
    assert agree_from_stats(0.40, 0.01, 3, 0.401, 0.009, 3).p > 0.5
    assert agree_from_stats(0.40, 0.01, 3, 0.60, 0.009, 3).p < 0.01
    assert agree_from_stats(0.40, 0.01, 1, 0.40, 0.01, 3).p is None
