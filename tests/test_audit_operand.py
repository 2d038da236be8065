r"""The audit backs a number only with the result it is about (docs/audit.md, issue 22).

Every case of the issue has a test: the wrong method or row, a setting no run has, a different
quantity that coincides (error = 1 − accuracy, "% of BP's wall-clock", a std or a pp gap), CONFIG
by words that name another key, the formula-constant rule on a named setting, `--strict`, and
the LaTeX reading (unterminated blocks, ``align``, macro bodies, plurals). A hypothesis property
test edits a generated table (methods × metrics, values from the store) in the ways that must
never be BACKED. The store is written by hand (no training): the spec is examples/paper's.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner
from helpers import put_finals
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from faspec.audit.allow import load_allowances
from faspec.audit.source import audit
from faspec.audit.values import claim_values
from faspec.audit.vocab import config_pattern, metric_pattern
from faspec.cli import main
from faspec.plan import build
from faspec.spec.load import load_many
from faspec.store import Store

ROOT = Path(__file__).resolve().parent.parent
TRAP = ROOT / "tests" / "data" / "trap_paper"
VALUES = json.loads((TRAP / "values.json").read_text())


def make(tmp_path, spec_yaml: str | None = None, values: dict | None = None):
    """The trap paper's spec (or `spec_yaml`) and a store holding `values` (default: its own)."""
    (tmp_path / "specs").mkdir(exist_ok=True)
    text = spec_yaml or (TRAP / "specs" / "ladder.yaml").read_text()
    (tmp_path / "specs" / "ladder.yaml").write_text(text, encoding="utf-8")
    specs = load_many([tmp_path / "specs"])
    plan = build(specs)
    store = Store(tmp_path / "results")
    put_finals(plan, store, values or VALUES)
    return specs, plan, store


def run(tmp_path, tex, specs, plan, store, strict=False):
    paper = tmp_path / "main.tex"
    paper.write_text(tex, encoding="utf-8")
    values = claim_values(specs, plan, store)
    return audit(paper, specs, plan, values, load_allowances([]), strict=strict)


def got(res):
    return [(f.text, f.status) for f in res.findings]


# ---------------------------------------------------------------------------- the wrong operand


def test_another_methods_value_is_a_mismatch_naming_both(tmp_path):
    specs, plan, store = make(tmp_path)
    res = run(tmp_path, "DFA reaches 34.5\\% test accuracy.\n", specs, plan, store)
    [f] = res.findings
    assert f.status == "MISMATCH"
    assert "claim bp-beats-fa fa test_acc mean 34.5%" in f.reason  # the value's owner
    assert "names dfa" in f.reason and "whose test_acc is 25.5" in f.reason  # what it says


def test_swapped_table_rows_are_mismatches(tmp_path):
    specs, plan, store = make(tmp_path)
    tex = (
        "\\begin{table}\\caption{Test accuracy.}\\begin{tabular}{lc}\n"
        "Method & Test accuracy \\\\ \\midrule\n"
        "BP & 0.523 \\\\\nFA & 0.255 \\\\\nDFA & 0.345 \\\\\n\\end{tabular}\\end{table}\n"
    )
    res = run(tmp_path, tex, specs, plan, store)
    assert got(res) == [("0.523", "BACKED"), ("0.255", "MISMATCH"), ("0.345", "MISMATCH")]
    assert "its row label names fa" in res.findings[1].reason


def test_a_setting_no_run_has_is_a_mismatch_and_so_is_the_result_said_at_it(tmp_path):
    specs, plan, store = make(tmp_path)
    tex = "With width $d = 8$, FA's accuracy drops to 34.5\\%.\n"
    res = run(tmp_path, tex, specs, plan, store)
    assert got(res) == [("8", "MISMATCH"), ("34.5\\%", "MISMATCH")]
    assert "model.d (runs: 16)" in res.findings[0].reason
    assert "the context names model.d = 8, its runs have 16" in res.findings[1].reason


def test_a_value_given_with_no_method_is_unsourced_with_the_candidate(tmp_path):
    specs, plan, store = make(tmp_path)
    res = run(tmp_path, "The test accuracy is 0.523.\n", specs, plan, store)
    [f] = res.findings
    assert f.status == "UNSOURCED"
    assert "value-only candidate: claim bp-beats-dfa bp test_acc mean 0.523" in f.reason
    assert "names no method" in f.reason


def test_comparators_are_not_the_subject(tmp_path):
    specs, plan, store = make(tmp_path)
    tex = (
        "FA's cosine to the backprop gradient is 0.562.\n"
        "DFA's cosine is 0.036, far below that of FA.\n"
        "Its cosine is 0.562 for FA, against 0.036 for DFA.\n"
    )
    res = run(tmp_path, tex, specs, plan, store)
    assert [s for _, s in got(res)] == ["BACKED"] * 4


# ---------------------------------------------------------------------------- another quantity


def test_error_rate_equal_to_an_accuracy_is_a_mismatch(tmp_path):
    specs, plan, store = make(tmp_path)
    tex = (
        "The test error of FA is 34.5\\%.\n"
        "\\begin{table}\\caption{Results.}\\begin{tabular}{lc}\n"
        "Method & Test error (\\%) \\\\ \\midrule FA & 34.5 \\\\\n\\end{tabular}\\end{table}\n"
    )
    res = run(tmp_path, tex, specs, plan, store)
    assert [s for _, s in got(res)] == ["MISMATCH", "MISMATCH"]
    assert all("error" in f.reason for f in res.findings)


def test_percent_of_something_else_is_not_accuracy(tmp_path):
    specs, plan, store = make(tmp_path)
    tex = (
        "FA needs 52.3\\% of BP's wall-clock time.\n"
        "BP: 52.3\\%.\n"  # a % sign alone names no metric: not BACKED
        "\\begin{table}\\caption{Cost.}\\begin{tabular}{lc}\n"
        "Method & Wall-clock (\\% of BP) \\\\ \\midrule BP & 52.3 \\\\\n\\end{tabular}\\end{table}\n"
    )
    res = run(tmp_path, tex, specs, plan, store)
    assert got(res) == [("52.3\\%", "MISMATCH"), ("52.3\\%", "UNSOURCED"), ("52.3", "MISMATCH")]
    assert "another quantity" in res.findings[0].reason


def test_a_std_or_a_gap_equal_to_a_stored_value_is_not_backed(tmp_path):
    specs, plan, store = make(tmp_path)
    tex = (
        "FA's accuracy trails its best seed by 3.1 pp.\n"  # pp: a difference; 3.1 = FA's std
        "The std of FA's accuracy is 0.345.\n"  # a std equal to a mean
        "FA's accuracy is 0.345 with a std of 0.031.\n"  # the control: both BACKED
        "FA's accuracy is 0.031.\n"  # a std printed as if it were the accuracy
        "On a single seed FA reaches 0.345 accuracy.\n"  # a per-seed value equal to the mean
    )
    res = run(tmp_path, tex, specs, plan, store)
    assert got(res) == [
        ("3.1 pp", "MISMATCH"),
        ("0.345", "MISMATCH"),
        ("0.345", "BACKED"),
        ("0.031", "BACKED"),
        ("0.031", "UNSOURCED"),
        ("0.345", "MISMATCH"),
    ]
    assert "its pp sign says it is difference" in res.findings[0].reason
    assert "says it is std, not the mean" in res.findings[1].reason
    assert "does not say it is a std" in res.findings[4].reason


# ---------------------------------------------------------------------------- CONFIG by name


def test_config_needs_the_words_of_that_setting(tmp_path):
    specs, plan, store = make(tmp_path)  # batch 64, stability_batch 128, d 16, teacher 32
    tex = (
        "A batch size of 128 would be slower.\n"
        "The student width 32 matches the teacher.\n"
        "The teacher has width 32 and the student width 16.\n"
        "We ran 5 seeds.\n"
        "Finite-difference perturbations of $10^{-3}$ probe the credit.\n"
    )
    res = run(tmp_path, tex, specs, plan, store)
    assert got(res) == [
        ("128", "MISMATCH"),
        ("32", "MISMATCH"),
        ("32", "CONFIG"),
        ("16", "CONFIG"),
        ("5", "MISMATCH"),
        ("10^{-3}", "CONFIG"),
    ]
    assert "train.batch_size (runs: 64)" in res.findings[0].reason
    assert "model.d (runs: 16)" in res.findings[1].reason
    assert res.findings[2].config == ["data.width=32"]
    assert res.findings[5].config == ["measure.rho_eps=0.001"]


def test_a_formula_constant_never_covers_a_named_setting(tmp_path):
    specs, plan, store = make(tmp_path)
    tex = "With $d = 8$ nothing changes; the loss is $\\frac{1}{2} x$ and $(1 - \\alpha)$.\n"
    res = run(tmp_path, tex, specs, plan, store)
    assert got(res) == [("8", "MISMATCH"), ("1", "ALLOWED"), ("2", "ALLOWED"), ("1", "ALLOWED")]


def test_word_forms_are_recognised():
    assert config_pattern("measure.rho_eps").search("perturbations of")
    assert config_pattern("model.blocks").search("two blocks")
    assert metric_pattern("test_acc").search("their accuracies")
    assert metric_pattern("sparsity").search("sparsities")
    assert not config_pattern("train.epochs").search("at epoch 4")  # still not the singular


# ---------------------------------------------------------------------------- --strict


def test_strict_backs_only_generated_macros(tmp_path):
    specs, plan, store = make(tmp_path)
    tex = "FA reaches 34.5\\% test accuracy (\\fsv{bp-beats-fa}{fa}{pct}\\%).\n"
    res = run(tmp_path, tex, specs, plan, store, strict=True)
    assert [(f.kind, f.status) for f in res.findings] == [
        ("number", "UNSOURCED"),
        ("macro", "BACKED"),
    ]
    assert (
        "--strict" in res.findings[0].reason and "\\fsv{bp-beats-fa}{fa}" in res.findings[0].reason
    )
    assert run(tmp_path, tex, specs, plan, store).findings[0].status == "BACKED"
    (tmp_path / "main.tex").write_text(tex)
    args = ["audit", str(tmp_path / "main.tex"), "--specs", str(tmp_path / "specs")]
    args += ["--store", str(tmp_path / "results")]
    assert CliRunner().invoke(main, args).exit_code == 0
    r = CliRunner().invoke(main, [*args, "--strict"])
    assert r.exit_code == 1 and "--strict: a typed result is never BACKED" in r.output


# ---------------------------------------------------------------------------- the LaTeX reading


def test_unterminated_blocks_exit_2_located(tmp_path):
    specs, plan, store = make(tmp_path)
    cases = {
        "Code \\verb|x = 1\nFA reaches 34.5\\% accuracy.\n": ("1:6", "\\verb| is never closed"),
        "Text.\n\\iffalse\nold 0.4\nFA 34.5\\%.\n": ("2:1", "\\iffalse is never closed"),
        "A\n\\begin{comment}\n0.4\n": ("2:1", "\\begin{comment} is never closed"),
        "A\n\\begin{verbatim}\n0.4\n": ("2:1", "\\begin{verbatim} is never closed"),
    }
    for tex, (where, message) in cases.items():
        (tmp_path / "main.tex").write_text(tex)
        args = ["audit", str(tmp_path / "main.tex"), "--specs", str(tmp_path / "specs")]
        r = CliRunner().invoke(main, [*args, "--store", str(tmp_path / "results")])
        assert r.exit_code == 2, (tex, r.output)
        assert f"main.tex:{where}: {message}" in r.output, r.output


def test_environment_names_are_not_words(tmp_path):
    specs, plan, store = make(tmp_path)
    tex = "FA's test accuracy is\n\\begin{align}\n  0.345.\n\\end{align}\n"
    res = run(tmp_path, tex, specs, plan, store)
    assert got(res) == [("0.345", "BACKED")]  # "align" no longer names the cosine


def test_macro_bodies_are_judged_where_they_are_used(tmp_path):
    specs, plan, store = make(tmp_path)
    tex = (
        "\\documentclass{article}\n\\newcommand{\\acc}{0.345}\n\\begin{document}\n"
        "FA reaches \\acc{} test accuracy; DFA reaches \\acc{} test accuracy.\n"
        "\\end{document}\n"
    )
    res = run(tmp_path, tex, specs, plan, store)
    assert [(f.line, f.col, f.text, f.status) for f in res.findings] == [
        (4, 12, "0.345", "BACKED"),
        (4, 46, "0.345", "MISMATCH"),
    ]


# ---------------------------------------------------------------------------- property


METHODS = ("bp", "fa", "dfa")
_SEEDS = st.lists(st.integers(50, 950), min_size=3, max_size=3, unique=True)


def _stats(vals: list[float]) -> tuple[float, float]:
    m = math.fsum(vals) / 3
    return m, math.sqrt(math.fsum((v - m) ** 2 for v in vals) / 2)


def _p(x: float) -> str:
    return f"{x:.3f}"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    acc=st.tuples(_SEEDS, _SEEDS, _SEEDS),
    cos=st.tuples(_SEEDS, _SEEDS, _SEEDS),
    edit=st.sampled_from(["swap", "relabel", "std", "one_minus", "other_method"]),
    row=st.integers(0, 2),
    col=st.integers(0, 1),
    data=st.data(),
)
def test_no_edit_of_a_generated_table_is_ever_backed(tmp_path, acc, cos, edit, row, col, data):
    """A table of methods × metrics printed from the store is all BACKED; after any one edit
    that makes a cell say another operand's value, that cell is never BACKED."""
    values = {
        m: {"test_acc": [v / 1000 for v in acc[k]], "deep_cos": [v / 1000 for v in cos[k]]}
        for k, m in enumerate(METHODS)
    }
    st_ = {m: {k: _stats(v) for k, v in values[m].items()} for m in METHODS}
    cell = {(m, k): _p(st_[m][k][0]) for m in METHODS for k in ("test_acc", "deep_cos")}
    # every printed mean distinct, so that an edit cannot land on the same operand's print
    assume(len(set(cell.values())) == len(cell))
    rep_acc = ", ".join(
        f"{m}: {_p(st_[m]['test_acc'][0])} ± {_p(st_[m]['test_acc'][1])}" for m in METHODS
    )
    rep_cos = ", ".join(
        f"{m}.deep_cos: {_p(st_[m]['deep_cos'][0])} ± {_p(st_[m]['deep_cos'][1])}" for m in METHODS
    )
    spec = (TRAP / "specs" / "ladder.yaml").read_text().split("claims:")[0] + (
        "claims:\n"
        f"  - {{id: acc, in: main, expect: bp > dfa, reported: {{{rep_acc}}}}}\n"
        f"  - {{id: cos, in: main, expect: fa.deep_cos > dfa.deep_cos, reported: {{{rep_cos}}}}}\n"
    )
    sub = Path(tempfile.mkdtemp(dir=tmp_path))  # one folder per example
    specs, plan, store = make(sub, spec, values)
    metric = ("test_acc", "deep_cos")[col]
    labels = {"bp": "BP", "fa": "FA", "dfa": "DFA"}
    table = {m: [cell[(m, "test_acc")], cell[(m, "deep_cos")]] for m in METHODS}
    rows = {m: labels[m] for m in METHODS}
    target = METHODS[row]
    other = data.draw(st.sampled_from([m for m in METHODS if m != target]))
    if edit == "swap":
        table[target][col], table[other][col] = table[other][col], table[target][col]
    elif edit == "relabel":
        rows[target] = labels[other]
    elif edit == "std":
        table[target][col] = _p(st_[target][metric][1])
    elif edit == "one_minus":
        table[target][col] = _p(1 - float(table[target][col]))
    else:
        table[target][col] = table[other][col]
    new = table[target][col]
    # the edited print must not happen to be the target operand's own print
    assume(rows[target] != labels[target] or new != cell[(target, metric)])
    body = "".join(f"{rows[m]} & {table[m][0]} & {table[m][1]} \\\\\n" for m in METHODS)
    tex = (
        "\\begin{table}\\caption{Test accuracy and cosine to the gradient.}\n"
        "\\begin{tabular}{lcc}\nMethod & Test accuracy & Cosine \\\\ \\midrule\n"
        f"{body}\\end{{tabular}}\\end{{table}}\n"
    )
    res = run(sub, tex, specs, plan, store)
    k = METHODS.index(target)
    edited = [f for f in res.findings if f.line == 4 + k]
    if edit == "relabel":
        assert all(f.status != "BACKED" for f in edited), (tex, [f.reason for f in edited])
    else:
        f = edited[col]
        assert f.status != "BACKED", (tex, f.reason)
        if edit == "swap":
            g = [f for f in res.findings if f.line == 4 + METHODS.index(other)][col]
            assert g.status != "BACKED", (tex, g.reason)
    untouched = [f for f in res.findings if f.line not in {4 + k, 4 + METHODS.index(other)}]
    assert all(f.status == "BACKED" for f in untouched), [(f.text, f.reason) for f in untouched]


# ---------------------------------------------------------------------------- the trap paper


def _score(*args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "audit_traps.py"), *args, "--json"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    return json.loads(r.stdout)


def test_the_trap_paper_scores_every_number_as_labelled():
    """benchmarks/audit_traps.py on tests/data/trap_paper: each number's status is the one its
    line's expect-comment gives (the paper holds the issue's traps, one or more per kind)."""
    out = _score()
    assert out["problems"] == []
    assert out["should_fail_but_pass"] == 0 and out["false_backed"] == 0
    assert out["numbers"] >= 50
    assert all(d["expected"] >= 3 for d in out["per_status"].values())


def test_a_methods_name_is_not_a_metric_word(tmp_path):
    """ "direct feedback alignment" names DFA; its "alignment" is not the cosine."""
    specs, plan, store = make(tmp_path)
    tex = "Backprop attains 52.3\\% test accuracy, direct feedback alignment only 25.5\\%.\n"
    res = run(tmp_path, tex, specs, plan, store)
    assert got(res) == [("52.3\\%", "BACKED"), ("25.5\\%", "BACKED")]


def test_a_multirow_label_and_a_metric_column_head_their_rows(tmp_path):
    specs, plan, store = make(tmp_path)
    tex = (
        "\\begin{table}\\caption{Results.}\\begin{tabular}{llc}\\toprule\n"
        "Method & Quantity & Value \\\\ \\midrule\n"
        "\\multirow{2}{*}{DFA} & Test accuracy & 0.255 \\\\\n"
        " & Cosine & 0.036 \\\\\n"
        " & Cosine & 0.562 \\\\\n"  # past the multirow's 2 rows: no method, not backed
        "\\bottomrule\\end{tabular}\\end{table}\n"
    )
    res = run(tmp_path, tex, specs, plan, store)
    assert got(res) == [("0.255", "BACKED"), ("0.036", "BACKED"), ("0.562", "UNSOURCED")]


def test_a_list_of_methods_pairs_with_a_list_of_numbers(tmp_path):
    specs, plan, store = make(tmp_path)
    tex = (
        "The accuracies of BP and FA are 0.523 and 0.345.\n"
        "BP, FA and DFA reach 52.3\\%, 34.5\\% and 25.5\\% test accuracy, respectively.\n"
        "The accuracies of FA and BP are 0.523 and 0.345.\n"  # the pairs swapped
        "BP and FA both reach 0.345 accuracy.\n"  # one number, two methods: FA, the nearest
    )
    res = run(tmp_path, tex, specs, plan, store)
    assert [s for _, s in got(res)] == ["BACKED"] * 5 + ["MISMATCH", "MISMATCH", "BACKED"]
    assert "its place in the list of methods before it names fa" in res.findings[5].reason


def test_the_held_out_papers_pass_nothing_that_should_fail():
    """The held-out trap papers (scored once when written; docs/audit.md gives their scores):
    whatever else they miss, no number that should fail CI passes it, none is wrongly BACKED."""
    for name in ("heldout.tex", "heldout2.tex"):
        out = _score(str(TRAP / name))
        assert out["should_fail_but_pass"] == 0 and out["false_backed"] == 0, out["problems"]
        assert out["agree"] >= out["numbers"] - 2, out["problems"]


def test_time_words_name_another_quantity_only_as_a_cost(tmp_path):
    specs, plan, store = make(tmp_path)
    tex = (
        "FA's accuracy at test time is 0.345.\n"  # "test time" is not a cost
        "FA's training time is 52.3\\% of BP's.\n"
    )
    res = run(tmp_path, tex, specs, plan, store)
    assert got(res) == [("0.345", "BACKED"), ("52.3\\%", "MISMATCH")]


def test_a_level_is_not_a_difference(tmp_path):
    specs, plan, store = make(tmp_path)
    tex = (
        "After pruning, FA's accuracy drops to 0.345.\n"  # a level: FA's mean
        "FA's accuracy drops by 0.345 after pruning.\n"  # a difference equal to the mean
        "BP leads FA by 17.8 pp in accuracy.\n"  # a difference no claim stores
    )
    res = run(tmp_path, tex, specs, plan, store)
    assert got(res) == [("0.345", "BACKED"), ("0.345", "MISMATCH"), ("17.8 pp", "UNSOURCED")]
