"""The claim grammar: precedence, chains, operands, numbers, and errors with columns."""

import pytest

from faspec.spec.expr import (
    And,
    Compare,
    Const,
    ExprError,
    Not,
    Operand,
    Or,
    comparisons,
    operands,
    parse,
    tokenize,
)


def test_simple_comparison_bare_operands():
    node = parse("fa > dfa")
    assert node == Compare(
        (Operand("fa", None, None, 0), Operand("dfa", None, None, 5)), (">",), None, 0, (3,)
    )
    assert node.operands[0].metric_or("test_acc") == "test_acc"


def test_operand_with_metric_and_layer_index():
    node = parse("fa.cos_layers[0] > 0.5")
    assert node.operands[0] == Operand("fa", "cos_layers", 0, 0)
    assert node.operands[1] == Const(0.5, 19, "0.5")


@pytest.mark.parametrize(
    "text,value",
    [
        ("1e-7", 1e-7),
        ("0.5", 0.5),
        ("-3", -3.0),
        ("1.0e-3", 1e-3),
        (".5", 0.5),
        ("+2", 2.0),
        ("3E+2", 300.0),
    ],
)
def test_numbers(text, value):
    node = parse(f"dfa.g_norm < {text}")
    assert node.operands[1].value == value
    assert node.operands[1].source == text


def test_labels_may_contain_underscore_digits_and_hyphen():
    node = parse("dfa_pen2 > dfa-pen")
    assert [o.method for o in operands(node)] == ["dfa_pen2", "dfa-pen"]


def test_negative_constant_after_operator_without_spaces():
    node = parse("fa.deep_cos>-0.5")
    assert node.ops == (">",) and node.operands[1].value == -0.5


def test_all_relations():
    for op in (">", "<", ">=", "<=", ">>", "<<", "~="):
        assert parse(f"a {op} b").ops == (op,)


def test_chain():
    node = parse("sb >> cb ~= dfa")
    assert isinstance(node, Compare)
    assert node.ops == (">>", "~=")
    assert [str(t) for t in node.operands] == ["sb", "cb", "dfa"]
    assert [(str(a), op, str(b)) for a, op, b in node.links()] == [
        ("sb", ">>", "cb"),
        ("cb", "~=", "dfa"),
    ]


def test_by_epoch_attaches_to_chain():
    node = parse("dfa.g_norm < 1e-7 by epoch 5")
    assert isinstance(node, Compare) and node.by_epoch == 5
    node = parse("a > b by epoch 3 and c < d")
    assert isinstance(node, And)
    assert node.items[0].by_epoch == 3 and node.items[1].by_epoch is None


def test_precedence_and_binds_tighter_than_or():
    node = parse("a > b or c > d and e > f")
    assert isinstance(node, Or)
    assert isinstance(node.items[0], Compare)
    assert isinstance(node.items[1], And) and len(node.items[1].items) == 2


def test_not_binds_tighter_than_and():
    node = parse("not a > b and c > d")
    assert isinstance(node, And)
    assert isinstance(node.items[0], Not)


def test_parentheses_override_precedence():
    node = parse("(a > b or c > d) and e > f")
    assert isinstance(node, And)
    assert isinstance(node.items[0], Or)
    node = parse("not (a > b and c > d)")
    assert isinstance(node, Not) and isinstance(node.item, And)


def test_flat_and_or_lists():
    node = parse("a > b and c > d and e > f")
    assert isinstance(node, And) and len(node.items) == 3
    assert len(comparisons(node)) == 3


def test_roundtrip_str():
    for text in [
        "fa > dfa",
        "sb >> cb ~= dfa",
        "dfa.g_norm < 1e-7 by epoch 5",
        "not (a > b and c > d) or e ~= f",
    ]:
        assert str(parse(str(parse(text)))) == str(parse(text))


@pytest.mark.parametrize(
    "text,col,fragment",
    [
        ("fa >", 4, "expected a method or a number"),
        ("fa dfa", 3, "expected a relation"),
        ("fa == dfa", 3, "~="),
        ("fa = dfa", 3, "~="),
        ("fa > dfa $", 9, "unexpected character"),
        ("(fa > dfa", 9, "expected ')'"),
        ("fa > dfa)", 8, "unexpected ')'"),
        ("fa.cos_layers[x] > 0", 14, "layer index"),
        ("fa.cos_layers[0 > 0", 16, "expected ']'"),
        ("fa. > 0", 4, "metric name"),
        ("fa > dfa by 5", 12, "expected 'epoch'"),
        ("fa > dfa by epoch x", 18, "epoch number"),
        ("fa > dfa by epoch 2.5", 18, "epoch number"),
        ("fa > and", 5, "keyword"),
        ("", 0, "empty"),
        ("fa > 1e-7x", 9, "malformed number"),
        ("fa > dfa fa > dfa", 9, "missing 'and'/'or'"),
        ("fa ~ dfa", 3, "unexpected character"),
        ("fa- > dfa", 2, "cannot end in '-'"),
    ],
)
def test_errors_carry_columns(text, col, fragment):
    with pytest.raises(ExprError) as info:
        parse(text)
    assert info.value.col == col, info.value.message
    assert fragment in info.value.message


def test_tokenize_marks_keywords():
    kinds = [(t.kind, t.text) for t in tokenize("not a > b by epoch 2")]
    assert kinds[0] == ("kw", "not")
    assert ("kw", "by") in kinds and ("kw", "epoch") in kinds
    assert kinds[-1][0] == "end"
