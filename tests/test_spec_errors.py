"""Invalid specs: every error is located (file:line:col), readable, and hints at the fix."""

import pytest

from faspec.spec.load import SpecError, load_text

pytestmark = pytest.mark.usefixtures("v1_methods")  # conftest.py


# Specs here are written as text on purpose (not tests/helpers.spec_text): each error is
# asserted at a line:col of this text, and some inputs are YAML no dumper writes.
BASE = """\
faspec: 1
name: t
defaults:
  data: {name: teacher}
  model: {arch: resmlp, d: 16}
  train: {epochs: 2}
  seeds: [1, 2, 3]
experiments:
  audit:
    methods: [bp, fa, dfa, frozen]
  depth:
    methods: [fa, dfa]
    sweep: {model.blocks: [2, 4]}
"""
# BASE is 13 lines: `claims:` goes on line 14, a first one-line claim on line 15


def error(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_text(text, "s.yaml")
    return info.value


def claim(body: str) -> str:
    return BASE + "claims:\n  - " + body + "\n"


def check(text: str, pos: str, message: str, hint: str | None = None) -> SpecError:
    e = error(text)
    assert str(e).startswith(f"s.yaml:{pos}: "), str(e)
    assert message in e.message, str(e)
    if hint is not None:
        assert hint in e.hint, str(e)
    return e


def test_str_format():
    e = check(BASE.replace("dfa, frozen", "dfx, frozen"), "10:23", "unknown method 'dfx'")
    assert str(e) == "s.yaml:10:23: unknown method 'dfx' (hint: did you mean 'dfa'?)"
    assert (e.where.file, e.where.line, e.where.col) == ("s.yaml", 10, 23)


def test_malformed_yaml_uses_the_yaml_mark():
    check(
        "faspec: 1\nname: t\nexperiments:\n  a: {methods: [bp}\n",
        "4:19",
        "invalid YAML: expected ',' or ']'",
    )
    check(
        "faspec: 1\nname: t\nexperiments:\n  b: x: y\n",
        "4:7",
        "mapping values are not allowed",
        "quoted",
    )
    check("faspec: 1\n\tname: t\n", "2:1", "invalid YAML", "tabs")


def test_empty_and_non_mapping():
    check("", "1:1", "the file is empty", "faspec: 1")
    check("- 1\n", "1:1", "must be a mapping")


def test_duplicate_yaml_key():
    check(
        BASE + "  audit:\n    methods: [fa]\n",
        "14:3",
        "duplicate key 'audit' (first given on line 9)",
    )


def test_schema_unknown_key_located_at_key_with_suggestion():
    check(
        BASE + "    methds: [fa]\n",
        "14:5",
        "experiments.depth: unknown key 'methds'",
        "did you mean 'methods'?",
    )


def test_schema_wrong_type_is_readable():
    e = check(
        BASE.replace("train: {epochs: 2}", "train: 5"),
        "6:10",
        "defaults.train: must be a mapping (got an integer 5)",
    )
    assert "is not of type" not in str(e)  # not a jsonschema dump


def test_schema_missing_required_and_const():
    check(
        claim("{id: c, in: audit}"),
        "15:5",
        "claims[0]: missing required key 'expect'",
        "id, in, expect",
    )
    check(BASE.replace("faspec: 1", "faspec: 2"), "1:9", "faspec: 1")
    check(BASE.replace("faspec: 1\n", ""), "1:1", "missing required key 'faspec'")


def test_schema_enum_and_range():
    check(
        BASE + "stats:\n  test: welsh\n",
        "15:9",
        "'welsh' is not one of welch, student",
        "did you mean 'welch'?",
    )
    check(BASE + "stats:\n  alpha: 0.7\n", "15:10", "stats.alpha: must be < 0.5")


def test_unknown_method_suggests_closest_registered():
    check(
        BASE.replace("[bp, fa, dfa, frozen]", "[bp, {method: dfaa, as: x}]"),
        "10:28",
        "unknown method 'dfaa'",
        "did you mean 'dfa'?",
    )


def test_malformed_method_items():
    check(
        BASE.replace("[bp, fa, dfa, frozen]", "[bp, 3]"), "10:19", "a method is a registered name"
    )
    check(
        BASE.replace("[bp, fa, dfa, frozen]", "[bp, {method: dfa, as: 'x y'}]"),
        "10:37",
        "'x y' is not valid",
    )


def test_duplicate_method_labels():
    check(
        BASE.replace("[bp, fa, dfa, frozen]", "[bp, dfa, {method: dfa, penalty: 0.1}]"),
        "10:33",
        "duplicate method label 'dfa'",
        "as:",
    )


def test_keyword_label():
    check(
        BASE.replace("[bp, fa, dfa, frozen]", "[bp, {method: dfa, as: and}]"),
        "10:37",
        "'and' is a keyword",
    )


def test_unknown_metric_in_operand_points_at_the_metric():
    text = BASE + "claims:\n  - id: c\n    in: audit\n    expect: fa.deep_cosine > 0\n"
    check(text, "17:16", "unknown metric 'deep_cosine'", "did you mean 'deep_cos'?")


def test_unknown_metric_in_metric_key():
    text = (
        BASE
        + "claims:\n  - id: c\n    in: audit\n    expect: fa > dfa\n    metric: test_accuracy\n"
    )
    check(text, "18:13", "unknown metric 'test_accuracy'", "did you mean 'test_acc'?")


def test_claim_in_missing_experiment():
    text = BASE + "claims:\n  - id: c\n    in: audi\n    expect: fa > dfa\n"
    check(text, "16:9", "experiment 'audi', which does not exist", "did you mean 'audit'?")


def test_operand_method_not_in_experiment():
    text = (
        BASE
        + "claims:\n  - id: c\n    in: depth\n    expect: fa > dfa_\n    for_each: model.blocks\n"
    )
    check(text, "17:18", "method 'dfa_' is not in experiment 'depth'", "did you mean 'dfa'?")
    text = (
        BASE
        + "claims:\n  - id: c\n    in: depth\n    expect: fa > frozen\n    for_each: model.blocks\n"
    )
    check(text, "17:18", "method 'frozen' is not in experiment 'depth'", "fa, dfa")


def test_bad_claim_syntax_column_maps_into_the_file():
    # plain scalar: 'expect: ' value starts at col 13; the offending '>' is at offset 6
    check(
        BASE + "claims:\n  - id: c\n    in: audit\n    expect: fa >> > dfa\n",
        "17:19",
        "bad claim expression: expected a method or a number, found '>'",
    )
    # quoted scalar: one more column for the quote; the error is at the end of the expression
    check(
        BASE + 'claims:\n  - id: c\n    in: audit\n    expect: "fa > dfa and"\n',
        "17:26",
        "found the end of the expression",
    )
    # flow mapping
    check(
        claim("{id: c, in: audit, expect: fa >> > dfa}"), "15:38", "expected a method or a number"
    )
    # folded block scalar over two lines
    text = (
        BASE
        + "claims:\n  - id: c\n    in: audit\n    expect: >\n      fa > dfa and\n      dfa ! frozen\n"
    )
    check(text, "19:11", "unexpected character '!'")


def test_empty_sweep_list():
    check(
        BASE.replace("[2, 4]", "[]"),
        "13:27",
        "sweep axis 'model.blocks' has no values",
        "at least one value",
    )


def test_bad_sweep_axis_name():
    check(
        BASE.replace("model.blocks: [2, 4]", "blocks: [2, 4]"),
        "13:13",
        "key 'blocks' is not allowed: a sweep axis is a dotted key",
    )


@pytest.mark.parametrize(
    "seeds,pos,message,hint",
    [
        (
            "[1, 2.5, 3]",
            "7:14",
            "defaults.seeds[1]: a seed must be an integer such as 42 (got a number 2.5)",
            None,
        ),
        ("[1, 2.0, 3]", "7:14", "a seed must be an integer", None),
        ("[1, '2', 3]", "7:14", "a seed must be an integer", "remove the quotes"),
        ("[1, 2, 1]", "7:17", "defaults.seeds: 1 is repeated", None),
        ("[]", "7:10", "defaults.seeds: must not be empty", None),
    ],
)
def test_seeds_must_be_integers(seeds, pos, message, hint):
    check(BASE.replace("[1, 2, 3]", seeds), pos, message, hint)


def test_duplicate_claim_ids():
    text = (
        BASE
        + "claims:\n  - {id: c, in: audit, expect: fa > dfa}\n  - {id: c, in: audit, expect: fa < bp}\n"
    )
    check(text, "16:10", "duplicate claim id 'c' (first on line 15)")


def test_for_each_not_a_sweep_axis():
    check(
        claim("{id: c, in: depth, expect: fa > dfa, for_each: model.block}"),
        "15:52",
        "for_each: 'model.block' is not a sweep axis",
        "did you mean 'model.blocks'?",
    )
    check(
        claim("{id: c, in: audit, expect: fa > dfa, for_each: model.blocks}"),
        "15:52",
        "not a sweep axis of experiment 'audit'",
        "has no sweep",
    )


def test_swept_experiment_needs_for_each_or_at():
    check(
        claim("{id: c, in: depth, expect: fa > dfa}"),
        "15:17",
        "experiment 'depth' sweeps model.blocks (2 values)",
        "for_each: model.blocks",
    )


def test_at_value_must_be_swept():
    check(
        claim("{id: c, in: depth, expect: fa > dfa, at: {model.blocks: 3}}"),
        "15:61",
        "model.blocks = 3 is not among its values [2, 4]",
    )
    check(
        claim("{id: c, in: depth, expect: fa > dfa, at: {model.d: 3}}"),
        "15:47",
        "at: 'model.d' is not a sweep axis",
    )


def test_close_relation_needs_a_close_margin(monkeypatch):
    from faspec.train import registry

    monkeypatch.setitem(registry.SCALAR_METRICS, "energy", "a metric without default margins")
    check(
        claim("{id: c, in: audit, expect: fa.energy ~= dfa.energy}"),
        "15:42",
        "'~=' on energy, which has no close margin",
        "stats.metrics.energy.close",
    )
    check(
        claim("{id: c, in: audit, expect: fa.energy >> dfa.energy}"),
        "15:42",
        "'>>' on energy, which has no much margin",
    )
    text = (
        BASE
        + "stats:\n  metrics:\n    test_acc: {scale: log}\n"
        + "claims:\n  - {id: c, in: audit, expect: fa ~= dfa}\n"
    )
    check(text, "18:35", "no close_ratio margin")
    # with a margin in the spec it loads
    ok = (
        BASE
        + "stats:\n  metrics:\n    energy: {close: 0.1}\n"
        + "claims:\n  - {id: c, in: audit, expect: fa.energy ~= dfa.energy}\n"
    )
    assert load_text(ok, "s.yaml").stats.metric("energy").close == 0.1


def test_log_scale_constant_must_be_positive():
    check(
        claim("{id: c, in: audit, expect: dfa.g_norm > 0}"),
        "15:45",
        "the constant 0 must be positive",
        "scale: linear",
    )


def test_layer_indexing():
    check(
        claim("{id: c, in: audit, expect: 'fa.test_acc[0] > 0'}"),
        "15:33",
        "test_acc is a scalar metric and cannot be indexed",
    )
    check(
        claim("{id: c, in: audit, expect: fa.cos_layers > 0}"),
        "15:32",
        "per-layer list",
        "fa.cos_layers[0]",
    )


def test_comparing_two_constants():
    check(claim("{id: c, in: audit, expect: 1 > 0}"), "15:34", "compares two numbers")


def test_seeds_k_of_n():
    check(
        claim("{id: c, in: audit, expect: fa > dfa, seeds: 2/5}"),
        "15:49",
        "seeds: 2/5 but experiment 'audit' has 3 seeds",
        "2/3",
    )
    check(
        claim("{id: c, in: audit, expect: fa > dfa, seeds: 4/3}"),
        "15:49",
        "more seeds than there are",
    )
    check(
        claim("{id: c, in: audit, expect: fa > dfa, seeds: most}"),
        "15:49",
        "seeds must be 'all' or 'k/n'",
    )


def test_reported_errors():
    check(
        claim("{id: c, in: audit, expect: fa > dfa, reported: {fa: 40.1%}}"),
        "15:57",
        "cannot read '40.1%'",
        "0.401 ± 0.009",
    )
    check(
        claim("{id: c, in: audit, expect: fa > dfa, reported: {fx: 0.4}}"),
        "15:53",
        "method 'fx' is not in experiment 'audit'",
        "did you mean 'fa'?",
    )
    check(
        claim("{id: c, in: depth, expect: fa > dfa, for_each: model.blocks, reported: {fa: 0.4}}"),
        "15:66",
        "cannot be checked on a for_each claim",
    )


def test_stats_for_unknown_metric():
    check(
        BASE + "stats:\n  metrics:\n    test_ac: {close: 0.1}\n",
        "16:5",
        "stats for unknown metric 'test_ac'",
        "did you mean 'test_acc'?",
    )


def test_experiment_without_methods():
    check(
        BASE.replace("    methods: [bp, fa, dfa, frozen]\n", "    seeds: [1]\n"),
        "9:3",
        "experiment 'audit' has no methods",
    )


def test_run_options_checked_by_the_trainer_and_located():
    check(
        BASE.replace("arch: resmlp", "arch: resmpl"),
        "5:11",
        "model.arch: unknown architecture 'resmpl'",
        "did you mean 'resmlp'?",
    )
    check(
        BASE.replace("[bp, fa, dfa, frozen]", "[bp, {method: dfa, penallty: 0.1}]"),
        "10:33",
        "method.penallty",
        "did you mean 'penalty'?",
    )
    check(
        BASE.replace("model.blocks: [2, 4]", "model.blokcs: [2, 4]"),
        "13:13",
        "model.blokcs",
        "did you mean 'blocks'?",
    )


def test_all_errors_are_collected_in_file_order():
    e = error(
        BASE.replace("[bp, fa, dfa, frozen]", "[bp, fx, dfx]")
        + "claims:\n  - {id: c, in: audi, expect: fa > dfa}\n"
    )
    assert [str(x).split(": ")[0] for x in e.errors] == [
        "s.yaml:10:19",
        "s.yaml:10:23",
        "s.yaml:15:17",
    ]
    assert e is e.errors[0]
    assert len(e.format_all().splitlines()) == 3


def test_non_string_keys():
    check(BASE + "  yes: {}\n", "14:3", "key 'yes' is not a string", "quote it")


def test_unknown_top_level_key():
    check(BASE + "claim: []\n", "14:1", "the spec: unknown key 'claim'", "did you mean 'claims'?")


def test_alias_bomb_is_refused():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    e = error("\n".join(lines) + "\n")
    assert "expands to more than" in e.message
