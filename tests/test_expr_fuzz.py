"""Hostile input to the claim grammar: every string is accepted or refused with faspec's own
located error (ExprError with a column; SpecError at file:line:col when loaded from a spec),
never another exception, and in bounded time (hypothesis deadlines; sizes well past the
stated limits)."""

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faspec.spec import expr as E
from faspec.spec.load import SpecError, load_text, parse_reported

WORDS = [
    "fa", "dfa", "bp", "frozen", "fa.deep_cos", "dfa.cos_layers[0]", "x_y-z", "and", "or",
    "not", "by", "epoch", "is", "fires", "never", "first", "at", "trustworthy", "walked_back",
    "walked", "back", "a", "b", "c", "d", "D1", "d2", "a+b", ">", "<", ">=", "<=", ">>", "<<",
    "~=", "=", "!=", "(", ")", "[", "]", ".", "+", "-", "0", "3", "-3", ".5", "1e-7", "1e999",
    "99999999999999999999999", "9" * 5000, "nan", "inf", "\n", "\t", "±", "é", "∞", "'", '"',
    ":", "*", "/", "+-", "for", "exactly", "least", "of", "seeds", "pen:fa", "x.cos_layers[1:]",
    "x.cos_layers[*]", "fa - frozen", "sb.nudge / cb.nudge", "at epoch 3", "first at epoch 4 ± 1",
    "for 2 of 3 seeds",
]  # fmt: skip

token_soup = st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join)
glued_soup = st.lists(st.sampled_from(WORDS), max_size=40).map("".join)


def check_parse(text: str) -> None:
    start = time.perf_counter()
    try:
        node = E.parse(text)
    except E.ExprError as e:
        assert 0 <= e.col <= max(len(text), E.MAX_LENGTH) and e.message
    else:
        # accepted: it prints back to an expression that parses to the same text
        assert str(E.parse(str(node))) == str(node)
        try:
            E.push_not(node)
        except E.ExprError as e:
            assert 0 <= e.col <= len(text) and "not" in e.message
    assert time.perf_counter() - start < 1.0


@settings(max_examples=400, deadline=1000)
@given(token_soup)
def test_token_soup_is_accepted_or_a_located_error(text):
    check_parse(text)


@settings(max_examples=300, deadline=1000)
@given(glued_soup)
def test_glued_tokens_are_accepted_or_a_located_error(text):
    check_parse(text)


@settings(max_examples=300, deadline=1000)
@given(st.text(max_size=200))
def test_any_text_is_accepted_or_a_located_error(text):
    check_parse(text)


@settings(max_examples=60, deadline=2000)
@given(st.integers(min_value=0, max_value=3000), st.sampled_from(["(", "not ", "not ("]))
def test_nesting_is_bounded_with_a_located_error(depth, opener):
    closer = ")" * opener.count("(")
    text = opener * depth + "fa > dfa" + closer * depth
    levels = depth * (opener.count("not") + opener.count("("))
    if levels <= E.MAX_DEPTH:
        E.parse(text)
    else:
        with pytest.raises(E.ExprError) as e:
            E.parse(text)
        assert "nested deeper" in e.value.message
        assert e.value.col < len(opener) * depth and text[e.value.col] in "(n"


@pytest.mark.parametrize(
    "text, col, words",
    [
        ("fa > dfa by epoch " + "9" * 5000, 18, "epoch number must be below"),
        ("fa.cos_layers[" + "1" * 5000 + "] > 0", 14, "layer index must be below"),
        ("x" * (E.MAX_LENGTH + 1), E.MAX_LENGTH, "longer than"),
    ],
)
def test_huge_numbers_and_lengths_are_located_errors(text, col, words):
    with pytest.raises(E.ExprError) as e:
        E.parse(text)
    assert e.value.col == col and words in e.value.message


def test_long_and_chains_parse_and_load_in_linear_time(spec_text):
    times = {}
    for n in (500, 4000):
        expr = " and ".join("fa > dfa" for _ in range(n))
        start = time.perf_counter()
        load_text(spec_text(f"'{expr}'"), "t.yaml")
        times[n] = time.perf_counter() - start
    # 8x the links: a quadratic parse would take 64x the time; allow 24x for a busy machine
    assert times[4000] < 5.0 and times[4000] < 24 * max(times[500], 0.03)


@settings(max_examples=300, deadline=1000)
@given(
    st.one_of(
        st.text(max_size=100),
        st.lists(
            st.sampled_from(
                ["0.4", " ", "±", "+-", "(n=3)", "(", "n", "=", "e5", "9" * 400, "nan", ")", "-"]
            ),
            max_size=20,
        ).map("".join),
    )
)
def test_reported_strings_are_read_or_refused(text):
    start = time.perf_counter()
    try:
        rep = parse_reported(text)
    except ValueError as e:
        assert str(e)
    else:
        assert rep.mean == rep.mean and abs(rep.mean) != float("inf")
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize(
    "value",
    [
        "1" + " " * 4000 + "x",
        "1" * 5000 + "x",
        "0.4 ± 0.1 (n=" + "9" * 5000 + ")",
        "0.4" + " " * 4000,
    ],
)
def test_reported_pattern_is_linear(value):
    start = time.perf_counter()
    try:
        parse_reported(value)
    except ValueError:
        pass
    assert time.perf_counter() - start < 0.1


@pytest.mark.parametrize(
    "value, words",
    [
        (float("nan"), "not a finite number"),
        (float("inf"), "not a finite number"),
        ({"mean": 0.4, "std": float("nan")}, "std is nan"),
        ({"mean": 10**400}, "cannot read"),
        ({"mean": 0.4, "n": 10**30}, "not a seed count"),
        ("0.4 (n=" + "9" * 5000 + ")", "not a seed count"),
    ],
)
def test_reported_non_finite_and_huge_values_are_refused(value, words):
    with pytest.raises(ValueError) as e:
        parse_reported(value)
    assert words in str(e.value)


# ------------------------------------------------------------------------- through the loader


@pytest.fixture
def spec_text(monkeypatch):
    import faspec.train  # noqa: F401  (registers the built-in methods)
    from faspec.train import registry
    from faspec.train.registry import Component

    for name in ("bp", "fa", "dfa", "frozen"):
        if name not in registry.METHODS:
            monkeypatch.setitem(registry.METHODS, name, Component(name, 1, lambda **kw: None))

    def make(expect: str, extra: str = "") -> str:
        # text on purpose (not tests/helpers.spec_text): the expression is pasted unquoted, as
        # hostile YAML, and errors are located at line:col in this text
        return (
            "faspec: 1\nname: t\n"
            "defaults: {data: {name: teacher}, model: {arch: resmlp, d: 16}, train: {epochs: 2}, "
            "seeds: [1, 2, 3]}\n"
            "experiments:\n  audit: {methods: [bp, fa, dfa, frozen]}\n"
            f"claims:\n  - id: x\n    in: audit\n    expect: {expect}\n{extra}"
        )

    return make


@settings(
    max_examples=80, deadline=3000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(token_soup)
def test_loaded_claims_fail_only_with_located_spec_errors(spec_text, text):
    quoted = "'" + text.replace("'", "''").replace("\n", " ") + "'"
    try:
        load_text(spec_text(quoted), "t.yaml")
    except SpecError as e:
        for err in e.errors if hasattr(e, "errors") else [e]:
            where = err.where
            assert where.file == "t.yaml" and where.line >= 1 and where.col >= 1


@pytest.mark.parametrize(
    "extra, words",
    [
        ("    seeds: " + "9" * 5000 + "/3\n", "seeds must be"),
        ("    seeds: '2/3\\n'\n", "seeds must be"),
        ("    reported: {fa: .nan}\n", "not a finite number"),
        ("    reported: {fa: '0.4 ± .inf'}\n", "cannot read"),
        ("stats: {alpha: .nan}\n", "alpha"),
        ("stats: {metrics: {test_acc: {close: .inf}}}\n", "finite"),
    ],
)
def test_hostile_claim_fields_are_located_errors(spec_text, extra, words):
    with pytest.raises(SpecError) as e:
        load_text(spec_text("fa > dfa", extra), "t.yaml")
    text = str(e.value) + "".join(str(x) for x in getattr(e.value, "errors", []))
    assert words in text and "t.yaml:" in text


def test_claim_id_ending_in_a_newline_is_refused(spec_text):
    text = spec_text("fa > dfa").replace("  - id: x\n", '  - id: "x\\n"\n')
    with pytest.raises(SpecError) as e:
        load_text(text, "t.yaml")
    assert "t.yaml:" in str(e.value)
