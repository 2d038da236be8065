"""The statistics behind claim verdicts, on top of scipy.stats (no hand-written distributions).

Conventions, fixed here so that every table and verdict agrees:

* std is the sample standard deviation, ddof=1; it is None for n < 2 (undefined, not 0).
* Tests return `TestResult.p = None` when they cannot be computed (a group with n < 2): the
  caller reports "cannot test" (inconclusive) instead of inventing a p-value.
* Zero standard error (every value of every group identical, up to float64 round-off of the
  mean: a standard error below ROUNDOFF_REL = 1e-12 of the values) is decided by the values: the
  difference, if strictly on the claimed side by more than numerical noise (NOISE_REL = 1e-6
  relative to the largest value compared: about 8 float32 ulps, with no absolute floor, so
  exact 0.0 against 5e-7 is a real difference), gives p = 0.0,
  otherwise p = 1.0 (against a margin the boundary is inclusive: a gap equal to the margin
  reaches it). scipy would
  return NaN there, and a claim such as `frozen.deep_cos < 0.1` on runs that all give exactly
  0.0 is settled by the data, not undecidable.
* `b` may be a float constant instead of a sample: the test is then one-sample (ttest_1samp).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats as st

Alternative = Literal["greater", "less", "two-sided"]
Sample = Sequence[float] | np.ndarray


@dataclass
class TestResult:
    """Outcome of a test. `p` None: not computable (see `note`)."""

    p: float | None
    statistic: float | None = None
    df: float | None = None
    note: str = ""

    def to_dict(self) -> dict[str, float | str | None]:
        return {"p": self.p, "statistic": self.statistic, "df": self.df, "note": self.note}


def mean_std(values: Sample) -> tuple[float, float | None]:
    """Mean and sample std (ddof=1); std None when n < 2, because one seed says nothing of spread."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        raise ValueError("mean_std of an empty sample")
    mean = float(arr.mean())
    std = float(arr.std(ddof=1)) if arr.size >= 2 else None
    return mean, std


def _var(arr: np.ndarray) -> float:
    return float(arr.var(ddof=1)) if arr.size >= 2 else 0.0


def diff_test(
    a: Sample,
    b: Sample | float,
    alternative: Alternative,
    delta: float = 0.0,
    equal_var: bool = False,
    inclusive: bool = False,
) -> TestResult:
    """Test H1: mean(a) - mean(b) {>, <, !=} delta.

    `inclusive`: with zero spread a difference equal to `delta` holds (a margin that is
    "reached": `>>`, TOST); the complements leave it out, so a claim and its complement never
    both hold at the boundary.

    Two samples: Welch's t-test (Student's with `equal_var`), by shifting `a` by `delta`, which
    leaves its variance unchanged. A constant `b`: one-sample t-test of `a` against `b + delta`.
    `delta` is how margins enter: TOST and non-inferiority are diff tests against +/- margin.
    """
    x = np.asarray(a, dtype=float)
    one_sample = np.ndim(b) == 0
    y = None if one_sample else np.asarray(b, dtype=float)
    if x.size < 2 or (y is not None and y.size < 2):
        sizes = f"n={x.size}" if y is None else f"n={x.size}/{y.size}"
        return TestResult(
            None, note=f"cannot test with {sizes}: a t-test needs at least 2 seeds per group"
        )
    if y is None:
        se2 = _var(x) / x.size
        d = float(x.mean()) - float(b) - delta  # type: ignore[arg-type]
    else:
        se2 = _var(x) / x.size + _var(y) / y.size
        d = float(x.mean()) - float(y.mean()) - delta
    ref = max(abs(float(x.mean())), 0.0 if y is None else abs(float(y.mean())), abs(delta))
    if math.sqrt(se2) <= ROUNDOFF_REL * ref or se2 == 0.0:
        return _zero_variance(d, alternative, ref, margin=inclusive)
    # From the samples' summary statistics: the same t-tests as scipy's ttest_1samp / ttest_ind
    # (equal to the last digit), without their per-call input handling, which costs 20x as much
    # and dominates the power simulations (check/power.py) that call this thousands of times.
    if y is None:
        df = float(x.size - 1)
        t = d / math.sqrt(se2)
        p = {
            "greater": st.t.sf(t, df),
            "less": st.t.cdf(t, df),
            "two-sided": 2 * st.t.sf(abs(t), df),
        }[alternative]
        return TestResult(float(min(1.0, p)), float(t), df)
    va, vb, n1, n2 = _var(x), _var(y), x.size, y.size
    if equal_var:
        df = float(n1 + n2 - 2)
    else:
        df = (va / n1 + vb / n2) ** 2 / ((va / n1) ** 2 / (n1 - 1) + (vb / n2) ** 2 / (n2 - 1))
    res = st.ttest_ind_from_stats(
        float(x.mean()) - delta,
        math.sqrt(va),
        n1,
        float(y.mean()),
        math.sqrt(vb),
        n2,
        equal_var=equal_var,
        alternative=alternative,
    )
    return TestResult(float(res.pvalue), float(res.statistic), float(df))


# Runs store float32 computations: a few ulps of float32 (eps 1.2e-7) relative to the values,
# purely relative: a dead gradient's 0.0 against 5e-7 is a difference, not rounding.
NOISE_REL = 1e-6
# A standard error this small relative to the values is float64 round-off of the mean of
# identical values (0.4 + 1e-9 three times has a variance of 5e-33), not spread: zero spread.
ROUNDOFF_REL = 1e-12


def numerical_noise(scale: float) -> float:
    """The largest difference that seed-constant values can show by rounding alone."""
    return NOISE_REL * abs(scale)


def _zero_variance(
    d: float, alternative: Alternative, scale: float, margin: bool = False
) -> TestResult:
    """Every value identical within each group: the difference decides, p = 0 or 1, but only a
    difference larger than numerical noise (NOISE_REL x the largest |value|) counts as shown.
    Against a margin (`margin`: `d` is the distance to it) the boundary is inclusive, as the
    README's "reaches" / "within" say: a gap equal to `much` up to noise reaches it."""
    noise = numerical_noise(scale)
    if margin:
        holds = {"greater": d >= -noise, "less": d <= noise, "two-sided": abs(d) > noise}[
            alternative
        ]
    else:
        holds = {"greater": d > noise, "less": d < -noise, "two-sided": abs(d) > noise}[alternative]
    note = "zero variance: decided by the values"
    if not holds and abs(d) <= noise and d != 0:
        note += f" (a difference of {d:.3g} is within numerical noise {noise:.2g})"
    return TestResult(0.0 if holds else 1.0, note=note)


def welch(a: Sample, b: Sample, alternative: Alternative = "greater") -> TestResult:
    """One-sided (by default) Welch t-test of mean(a) vs mean(b)."""
    return diff_test(a, b, alternative)


def one_sample(a: Sample, value: float, alternative: Alternative = "greater") -> TestResult:
    """One-sample t-test of mean(a) against a constant."""
    return diff_test(a, value, alternative)


def tost(a: Sample, b: Sample | float, margin: float, equal_var: bool = False) -> TestResult:
    """Equivalence: |mean(a) - mean(b)| < margin by two one-sided tests; p = the larger p.

    Both `mean(a) - mean(b) > -margin` and `< +margin` must be significant, so the larger of
    the two p-values is the TOST p-value. `b` may be a constant (one-sample TOST).
    """
    if margin <= 0:
        raise ValueError("TOST needs a positive margin")
    lo = diff_test(a, b, "greater", -margin, equal_var, inclusive=True)
    hi = diff_test(a, b, "less", margin, equal_var, inclusive=True)
    if lo.p is None or hi.p is None:
        return TestResult(None, note=lo.note or hi.note)
    worst = lo if lo.p >= hi.p else hi
    note = "zero variance: decided by the values" if lo.note or hi.note else ""
    return TestResult(max(lo.p, hi.p), worst.statistic, worst.df, note)


def seeds_needed(
    effect: float,
    sd_a: float,
    sd_b: float | None = None,
    alpha: float = 0.05,
    cap: int = 1000,
) -> int | None:
    """Rough seeds per group for the observed effect to reach p < alpha (one-sided).

    Assumes the means and stds observed now stay as they are with more seeds, and finds the
    smallest n at which the t statistic reaches the critical value (Welch df for two equal
    groups; n-1 for one sample). That is a ~50%-power estimate, meant for the `inconclusive`
    message ("about 8 seeds would decide it"), not a power analysis. `effect` is the distance
    on the claimed side (mean difference for an order, margin - |difference| for TOST);
    `sd_b` None means a one-sample test. Returns None if the effect is not on the claimed side
    or more than `cap` seeds would be needed.
    """
    if not effect > 0 or not math.isfinite(effect):
        return None
    va = sd_a**2
    vb = 0.0 if sd_b is None else sd_b**2
    if va + vb == 0.0:
        return 2
    for lo, hi in ((2, min(cap, 64)), (65, cap)):  # the usual answer is small: look there first
        if lo > hi:
            break
        ns = np.arange(lo, hi + 1, dtype=float)  # every n at once: one vectorized ppf call
        df = ns - 1.0 if sd_b is None else (va + vb) ** 2 * (ns - 1) / (va**2 + vb**2)
        t = effect / np.sqrt((va + vb) / ns)
        ok = np.nonzero(t >= st.t.ppf(1 - alpha, df))[0]
        if ok.size:
            return int(ns[ok[0]])
    return None


def agree_from_stats(
    mean1: float,
    std1: float,
    n1: int,
    mean2: float,
    std2: float,
    n2: int,
) -> TestResult:
    """Two-sided Welch test from summary statistics (a measured vs a printed mean ± std).

    Needs n >= 2 on both sides and some spread; p None otherwise (the caller falls back to the
    metric's close margin or the printed digits).
    """
    if n1 < 2 or n2 < 2:
        return TestResult(None, note="a summary-statistics test needs n >= 2 on both sides")
    if std1 == 0 and std2 == 0:
        return TestResult(
            0.0 if mean1 != mean2 else 1.0, note="zero variance: decided by the values"
        )
    res = st.ttest_ind_from_stats(mean1, std1, n1, mean2, std2, n2, equal_var=False)
    return TestResult(float(res.pvalue), float(res.statistic))


def diff_test_from_stats(
    mean1: float,
    std1: float,
    n1: int,
    mean2: float,
    std2: float,
    n2: int,
    alternative: Alternative,
    delta: float = 0.0,
    inclusive: bool = False,
) -> TestResult:
    """Welch test of H1: mean1 - mean2 {>, <, !=} delta from summary statistics (a measured
    sample against a printed mean ± std with its n); zero spread is decided by the values."""
    if n1 < 2 or n2 < 2:
        return TestResult(None, note="a summary-statistics test needs n >= 2 on both sides")
    d = mean1 - mean2 - delta
    if std1 == 0 and std2 == 0:
        scale = max(abs(mean1), abs(mean2), abs(delta))
        return _zero_variance(d, alternative, scale, margin=inclusive)
    res = st.ttest_ind_from_stats(
        mean1 - delta, std1, n1, mean2, std2, n2, equal_var=False, alternative=alternative
    )
    return TestResult(float(res.pvalue), float(res.statistic))


def tost_from_stats(
    mean1: float, std1: float, n1: int, mean2: float, std2: float, n2: int, margin: float
) -> TestResult:
    """Equivalence within `margin` from summary statistics: the larger of two one-sided p."""
    lo = diff_test_from_stats(mean1, std1, n1, mean2, std2, n2, "greater", -margin, True)
    hi = diff_test_from_stats(mean1, std1, n1, mean2, std2, n2, "less", margin, True)
    if lo.p is None or hi.p is None:
        return TestResult(None, note=lo.note or hi.note)
    return lo if lo.p >= hi.p else hi


def ddof_likelihood_ratio(printed_std: float, printed_n: int, std: float, n: int) -> float:
    """How much more likely a printed std is as a ddof=0 std than as a ddof=1 std, given a
    measured sample std (ddof=1) of n values from the same distribution.

    Under ddof=1 the ratio r = printed^2 / std^2 of two independent variance estimates is
    F(printed_n - 1, n - 1); under ddof=0 the printed variance is (k-1)/k of a ddof=1 one,
    so r * k / (k - 1) is F (k = printed_n). The likelihood ratio of the two is bounded by
    (k/(k-1))^((k-1)/2) < e^0.5: an independent reproduction never tells the conventions
    apart (evidence at alpha would need a ratio of 1/alpha)."""
    k = int(printed_n)
    if k < 2 or n < 2 or not (printed_std > 0 and std > 0):
        return 1.0
    c = k / (k - 1)
    r = (printed_std / std) ** 2
    f1 = st.f.pdf(r, k - 1, n - 1)
    f0 = c * st.f.pdf(r * c, k - 1, n - 1)
    if not f1 > 0:
        return math.inf if f0 > 0 else 1.0
    return float(f0 / f1)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error rate, any dependence).

    Sorted ascending p_(1) <= ... <= p_(m): adj_(i) = max over j <= i of min(1, (m-j+1) p_(j)),
    returned in the input order. H_i is rejected at level alpha when adj_i < alpha.
    """
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    out = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def holm_thresholds(pvalues: Sequence[float], alpha: float) -> list[float]:
    """The level each p is compared with in Holm's procedure: alpha / (m - rank), rank 0-based
    in ascending order (the step-down stops at the first p above its level)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    out = [alpha] * m
    for rank, i in enumerate(order):
        out[i] = alpha / (m - rank)
    return out


def bh(pvalues: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (false discovery rate), by scipy."""
    if not pvalues:
        return []
    return [float(x) for x in st.false_discovery_control(np.asarray(pvalues, dtype=float))]


def bh_thresholds(pvalues: Sequence[float], alpha: float) -> list[float]:
    """The level of each p in the BH step-up: rank/m x alpha (1-based rank, ascending)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    out = [alpha] * m
    for rank, i in enumerate(order):
        out[i] = alpha * (rank + 1) / m
    return out
