"""`stats: {reported: source}`: a paper checking its own store. The printed numbers were computed
from the stored runs, so each must be the stored mean (and ddof=1 std) rounded to its printed
digits, with the printed seed count; there is no reproduction test and no `inconclusive`."""

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from faspec.check.claims import SeedRun, decide
from faspec.spec.expr import parse
from faspec.spec.model import Claim, Stats
from faspec.spec.reported import parse_reported

SOURCE = Stats(reported="source")


def runs(label, values):
    return [
        SeedRun(s, f"{label}-{s}", {"status": "ok", "final": {"test_acc": float(v)}, "log": []})
        for s, v in enumerate(values, start=1)
    ]


def decide_printed(values, printed, stats=SOURCE):
    c = Claim(
        id="c",
        expect="fa > 0",
        expr=parse("fa > 0"),
        experiment="e",
        reported={"fa": parse_reported(printed)},
    )
    v = decide(c, {(): {"fa": runs("fa", values)}}, stats)
    return v, v.reported[0]


def printed_of(values, decimals, n=True):
    m, s = float(np.mean(values)), float(np.std(values, ddof=1))
    text = f"{m:.{decimals}f} ± {s:.{decimals}f}"
    return text + (f" (n={len(values)})" if n else "")


accuracies = st.lists(st.floats(0.05, 0.95, allow_nan=False), min_size=2, max_size=6).filter(
    lambda xs: np.std(xs, ddof=1) > 1e-3
)


@settings(max_examples=200, deadline=None)
@given(accuracies, st.integers(2, 4))
def test_the_stored_values_rounded_to_their_digits_agree(values, decimals):
    _, rep = decide_printed(values, printed_of(values, decimals))
    assert rep["status"] == "agree", rep


@settings(max_examples=200, deadline=None)
@given(accuracies, st.integers(2, 4), st.sampled_from([-1, 1]))
def test_a_mean_off_by_one_printed_unit_is_a_mismatch(values, decimals, sign):
    m, s = float(np.mean(values)), float(np.std(values, ddof=1))
    wrong = round(m, decimals) + sign * 10.0**-decimals
    # a mean exactly half-way (0.375 at 2 decimals) rounds either way: both printings are right
    assume(abs(m - wrong) > 0.5 * 10.0**-decimals * (1 + 1e-6))
    v, rep = decide_printed(values, f"{wrong:.{decimals}f} ± {s:.{decimals}f} (n={len(values)})")
    assert rep["status"] == "mismatch", rep
    assert "does not round to" in rep["reason"]
    assert v.verdict == "fail"


def test_a_std_printed_with_ddof0_is_a_mismatch_naming_ddof1():
    values = [0.390, 0.401, 0.412]
    s0 = float(np.std(values))  # ddof=0: 0.00898, printed 0.009; ddof=1 gives 0.011
    _, rep = decide_printed(values, f"0.401 ± {s0:.3f} (n=3)")
    assert rep["status"] == "mismatch"
    assert "std (ddof=1)" in rep["reason"]


def test_a_printed_seed_count_other_than_the_stores_is_a_mismatch():
    values = [0.390, 0.401, 0.412]
    _, rep = decide_printed(values, printed_of(values, 3).replace("(n=3)", "(n=5)"))
    assert rep["status"] == "mismatch"
    assert "the paper says n=5; 3 seed(s) stored" in rep["reason"]


def test_the_default_is_a_reproduction_which_cannot_agree_on_rounding_alone():
    """The same honest numbers under the default mode: n=3 with this spread decides nothing
    within the 0.01 margin (that is what `source` is for)."""
    values = [0.390, 0.401, 0.412]
    _, rep = decide_printed(values, printed_of(values, 3), Stats())
    assert rep["status"] == "inconclusive"
    _, rep = decide_printed(values, printed_of(values, 3))
    assert rep["status"] == "agree", rep


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=12).filter(lambda t: t not in ("reproduction", "source")))
def test_an_unknown_reported_mode_is_a_located_error(mode):
    import pytest
    import yaml

    from faspec.spec.load import SpecError, load_text

    text = (
        "faspec: 1\nname: t\nstats:\n  reported: "
        + yaml.safe_dump(mode, default_style='"').strip()
        + "\nexperiments:\n  main: {methods: [bp]}\n"
    )
    with pytest.raises(SpecError) as info:
        load_text(text, "s.yaml")
    assert str(info.value).startswith("s.yaml:4:"), str(info.value)
    assert "reproduction" in str(info.value) and "source" in str(info.value)
