r"""The audit's sourcing: each printed number BACKED, MISMATCH, CONFIG, ALLOWED or UNSOURCED.

Stores are written by hand (no training): each test says which values the runs hold, writes a
LaTeX fixture, and asserts the status (and the reason's key facts) of every number. A number is
only compared with a claim whose metric its context names (docs/audit.md), so the fixtures say
"accuracy" where the claim's metric is test_acc (tests/test_audit_context.py covers the rule).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner
from helpers import spec_text

from faspec.audit.allow import load_allowances
from faspec.audit.locate import Locator, stated_counts, where_matches
from faspec.audit.report import github, junit, table
from faspec.audit.source import audit
from faspec.audit.values import claim_values
from faspec.cli import main
from faspec.plan import build
from faspec.spec.load import load_many
from faspec.store import Store


def paper_spec(claims: str) -> str:
    """bp/fa/dfa at the paper's sizes (never trained here: the store is written by hand) and
    `claims` as raw YAML lines, as a paper's spec writes them."""
    return spec_text(
        "paper",
        title="fixture",
        base={},
        data={"name": "teacher", "seed": 0},
        model={"arch": "resmlp", "d": 256, "blocks": 4},
        train={"epochs": 100, "batch_size": 128, "lr": 1.0e-3, "weight_decay": 0.01},
        seeds=[42, 123, 456],
        experiments={"audit": {"methods": ["bp", "fa", "dfa"]}},
        claims=claims,
    )


CLAIM_609 = """\
  - id: fa-beats-dfa
    where: "Table 1"
    in: audit
    expect: fa > dfa
    reported: {fa: 0.609 ± 0.004, dfa: 0.306 ± 0.008}
"""


def make(tmp_path, claims: str, values: dict[str, list[float]], missing: tuple[str, ...] = ()):
    """Spec + plan + a store whose runs of each method hold `values` (one per seed)."""
    (tmp_path / "specs").mkdir(exist_ok=True)
    (tmp_path / "specs" / "paper.yaml").write_text(paper_spec(claims), encoding="utf-8")
    specs = load_many([tmp_path / "specs"])
    plan = build(specs)
    store = Store(tmp_path / "results")
    put(plan, store, values, missing)
    return specs, plan, store


def put(plan, store, values, missing=()):
    seeds = sorted({c.seed for c in plan.cells})
    for cell, rid in plan.cells.items():
        if cell.label in missing or cell.label not in values:
            continue
        v = values[cell.label][seeds.index(cell.seed)]
        result = {
            "status": "ok",
            "error": None,
            "final": {"test_acc": v, "deep_cos": v / 2},
            "log": [{"epoch": 0, "test_acc": 0.1}, {"epoch": 100, "test_acc": v}],
            "provenance": {},
        }
        store.put(rid, plan.runs[rid], result)


def run(tmp_path, tex, specs, plan, store, allow=None):
    paper = tmp_path / "main.tex"
    paper.write_text(tex, encoding="utf-8")
    files = [] if allow is None else [allow]
    return audit(paper, specs, plan, claim_values(specs, plan, store), load_allowances(files))


def statuses(res):
    return [(f.line, f.text, f.status) for f in res.findings]


# ---------------------------------------------------------------------------------------------
# Claimed numbers


def test_mismatch_names_both_values_the_claim_and_the_runs(tmp_path):
    specs, plan, store = make(
        tmp_path, CLAIM_609, {"fa": [0.584, 0.585, 0.586], "dfa": [0.30, 0.31, 0.308]}
    )
    res = run(tmp_path, "FA reaches $0.609 \\pm 0.004$ accuracy on CIFAR-10.\n", specs, plan, store)
    [f] = res.findings
    assert f.status == "MISMATCH"
    assert "printed 0.609 ± 0.004" in f.reason and "measured 0.585 ± 0.001" in f.reason
    assert "fa-beats-dfa" in f.reason
    runs = plan.claim_runs[("paper", "fa-beats-dfa")]
    fa_runs = [r for c, r in plan.cells.items() if c.label == "fa"]
    assert set(f.runs) == set(fa_runs) and set(fa_runs) <= set(runs)
    assert all(r in f.reason for r in fa_runs)
    assert (f.line, f.col, f.claim, f.method) == (1, 13, "fa-beats-dfa", "fa")
    assert f.measured["n"] == 3 and f.measured["mean"] == pytest.approx(0.585)
    assert not res.ok


def test_backed_when_the_store_rounds_to_the_printed_digits(tmp_path):
    claims = CLAIM_609.replace("0.609 ± 0.004", "0.401 ± 0.009")
    specs, plan, store = make(tmp_path, claims, {"fa": [0.392, 0.4013, 0.4106], "dfa": [0.3] * 3})
    tex = (
        "FA accuracy: 0.401 $\\pm$ 0.009.\n"  # mean 0.4013, std 0.0093: both round to the print
        "FA accuracy: 0.40.\n"  # coarser print of the same claim: 0.4013 rounds to 0.40
        "FA: 40.1\\% accuracy.\n"  # percent (a % sign alone names no metric)
        "FA accuracy: 0.41.\n"  # not the claimed value at its digits: nothing backs it
        "FA accuracy: 0.401 $\\pm$ 0.008.\n"  # std 0.0093 does not print as 0.008
    )
    res = run(tmp_path, tex, specs, plan, store)
    assert [f.status for f in res.findings] == [
        "BACKED",
        "BACKED",
        "BACKED",
        "UNSOURCED",
        "MISMATCH",
    ]
    assert "nearest claimed value: fa-beats-dfa fa mean 0.401" in res.findings[3].reason
    assert "printed 0.401 ± 0.008" in res.findings[4].reason


def test_rounding_is_honoured_both_ways(tmp_path):
    claims = CLAIM_609.replace("0.609 ± 0.004", "0.40")
    specs, plan, store = make(tmp_path, claims, {"fa": [0.409, 0.41, 0.411], "dfa": [0.3] * 3})
    res = run(tmp_path, "FA accuracy: 0.40 and 0.401.\n", specs, plan, store)
    # 0.41 does not print as 0.40; 0.401 is not the value the spec types (0.40) at its digits
    assert [(f.text, f.status) for f in res.findings] == [
        ("0.40", "MISMATCH"),
        ("0.401", "UNSOURCED"),
    ]
    assert "printed 0.40, measured 0.41 ± 0.001 (n=3)" in res.findings[0].reason


def test_where_prefers_the_claim_of_the_table_the_number_sits_in(tmp_path):
    claims = """\
  - id: in-table-1
    where: "Table 1"
    in: audit
    expect: fa > dfa
    reported: {fa: 0.500}
  - id: in-table-2
    where: "Tab. 2"
    in: audit
    expect: bp > dfa
    reported: {bp: 0.500}
"""
    specs, plan, store = make(
        tmp_path, claims, {"fa": [0.5, 0.5, 0.5], "bp": [0.45, 0.45, 0.45], "dfa": [0.1] * 3}
    )
    tex = (
        "\\begin{table}\\caption{One: FA.}\\begin{tabular}{c} Acc. \\\\ 0.500 \\\\ \\end{tabular}\\end{table}\n"
        "\\begin{table}\\caption{Two: BP.}\\begin{tabular}{c} Acc. \\\\ 0.500 \\\\ \\end{tabular}\\end{table}\n"
        "In the text, FA's accuracy is 0.500.\n"
    )
    res = run(tmp_path, tex, specs, plan, store)
    assert [(f.status, f.claim) for f in res.findings] == [
        ("BACKED", "in-table-1"),
        ("MISMATCH", "in-table-2"),
        ("BACKED", "in-table-1"),  # no place named: any backed claim
    ]


def test_seed_and_epoch_counts_stated_around_a_claimed_number(tmp_path):
    claims = CLAIM_609.replace("0.609 ± 0.004", "0.401")
    specs, plan, store = make(tmp_path, claims, {"fa": [0.40, 0.401, 0.402], "dfa": [0.3] * 3})
    tex = (
        "Over three seeds FA reaches 0.401 accuracy. With a single seed FA's accuracy is 0.401.\n"
        "After 30 epochs FA's accuracy is 0.401. After 100 epochs FA reaches 0.401 ($n=3$) acc.\n"
        "\\begin{table}\\caption{FA accuracy, mean over five random seeds.}\n"
        "\\begin{tabular}{c} 0.401 \\\\ \\end{tabular}\\end{table}\n"
    )
    res = run(tmp_path, tex, specs, plan, store)
    got = [(f.line, f.text, f.status) for f in res.findings if f.claim]
    assert got == [
        (1, "0.401", "BACKED"),
        (1, "0.401", "MISMATCH"),
        (2, "0.401", "MISMATCH"),
        (2, "0.401", "BACKED"),
        (4, "0.401", "MISMATCH"),
    ]
    reasons = [f.reason for f in res.findings if f.status == "MISMATCH" and f.claim]
    assert "states 1 seed(s) but 3 were measured" in reasons[0]
    [thirty] = [f for f in res.findings if f.text == "30"]  # a named setting no run has
    assert thirty.status == "MISMATCH" and "train.epochs (runs: 100)" in thirty.reason
    assert "states 30 epoch(s) but the runs trained 100" in reasons[1]
    assert "states 5 seed(s)" in reasons[2]


def test_claimed_number_without_stored_runs_is_unsourced(tmp_path):
    specs, plan, store = make(tmp_path, CLAIM_609, {"dfa": [0.3] * 3}, missing=("fa",))
    res = run(tmp_path, "FA accuracy: $0.609 \\pm 0.004$.\n", specs, plan, store)
    [f] = res.findings
    assert f.status == "UNSOURCED" and "no stored result for fa seed 42" in f.reason


# ---------------------------------------------------------------------------------------------
# Config, allowances, unsourced


def test_config_allowed_and_unsourced(tmp_path):
    specs, plan, store = make(tmp_path, CLAIM_609, {"fa": [0.609] * 3, "dfa": [0.306] * 3})
    allow = tmp_path / "audit.yaml"
    allow.write_text("- value: 0.05\n  reason: significance level\n- value: 7\n  reason: unused\n")
    tex = (
        "We train for 100 epochs at width $d=256$ with 4 blocks, weight decay $10^{-2}$,\n"
        "learning rate 1e-3 and 3 seeds (42, 123 and 456).\n"
        "The loss is $\\frac{1}{2}\\|x\\|^2$, $p < 0.05$, and 0.73 comes from nowhere.\n"
    )
    res = run(tmp_path, tex, specs, plan, store, allow)
    got = [(f.text, f.status) for f in res.findings]
    assert got == [
        ("100", "CONFIG"),
        ("256", "CONFIG"),
        ("4", "CONFIG"),
        ("10^{-2}", "CONFIG"),
        ("1e-3", "CONFIG"),
        ("3", "CONFIG"),
        ("42", "CONFIG"),
        ("123", "CONFIG"),
        ("456", "CONFIG"),
        ("1", "ALLOWED"),
        ("2", "ALLOWED"),
        ("0.05", "ALLOWED"),
        ("0.73", "UNSOURCED"),
    ]
    by = {f.text: f for f in res.findings}
    assert by["100"].config[0] == "train.epochs=100"
    assert by["256"].config == ["model.d=256"]
    assert "seeds (count)=3" in by["3"].config
    assert by["1"].reason.startswith("formula constant")
    assert by["0.05"].reason == "significance level"
    assert [a.reason for a in res.unused_allowances] == ["unused"]
    assert not res.ok


def test_an_allowance_cannot_hide_a_mismatch(tmp_path):
    specs, plan, store = make(tmp_path, CLAIM_609, {"fa": [0.585] * 3, "dfa": [0.306] * 3})
    allow = tmp_path / "audit.yaml"
    allow.write_text("- value: 0.609\n  reason: trust me\n")
    res = run(tmp_path, "FA accuracy: 0.609.\n", specs, plan, store, allow)
    assert [f.status for f in res.findings] == ["MISMATCH"]


# ---------------------------------------------------------------------------------------------
# Outputs and the CLI


def test_table_github_junit_json_and_exit_codes(tmp_path, monkeypatch):
    specs, plan, store = make(
        tmp_path, CLAIM_609, {"fa": [0.584, 0.585, 0.586], "dfa": [0.30, 0.306, 0.312]}
    )
    tex = "DFA acc: $0.306 \\pm 0.006$. FA acc: $0.609 \\pm 0.004$, 100 epochs, and 0.73.\n"
    res = run(tmp_path, tex, specs, plan, store)
    t = table(res)
    assert "main.tex:1:11" in t and "BACKED" in t and "MISMATCH" in t and "UNSOURCED" in t
    assert t.rstrip().endswith("— FAILED")
    gh = github(res, root=str(tmp_path)).splitlines()
    assert gh[0].startswith("::error file=main.tex,line=1,col=")
    assert "title=faspec audit%3A MISMATCH::0.609 ± 0.004: printed" in gh[0]
    assert len([x for x in gh if x.startswith("::error")]) == 2
    suites = ET.fromstring(junit(res))
    cases = suites.findall(".//testcase")
    assert len(cases) == 4
    assert [c.find("failure").get("type") for c in cases if c.find("failure") is not None] == [
        "mismatch",
        "unsourced",
    ]

    monkeypatch.chdir(tmp_path)  # specs/ and results/ are found here by default
    r = CliRunner().invoke(main, ["audit", "main.tex"])
    assert r.exit_code == 1, r.output
    assert "MISMATCH" in r.output
    r = CliRunner().invoke(main, ["audit", "main.tex", "--report-only", "--format", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["counts"]["MISMATCH"] == 1 and data["counts"]["UNSOURCED"] == 1
    assert data["findings"][1]["runs"] and data["findings"][1]["measured"]["n"] == 3
    r = CliRunner().invoke(main, ["audit", "main.tex", "--problems"])
    assert "BACKED" not in r.output.split("audit of")[0]
    r = CliRunner().invoke(main, ["audit", "nope.tex"])
    assert r.exit_code == 2 and "no such LaTeX file" in r.output
    (tmp_path / "bad.yaml").write_text("- value: 1\n")
    r = CliRunner().invoke(main, ["audit", "main.tex", "--allow", "bad.yaml"])
    assert r.exit_code == 2 and "bad.yaml:1:3: allowance without a reason" in r.output


def test_clean_paper_exits_zero(tmp_path, monkeypatch):
    specs, plan, store = make(tmp_path, CLAIM_609, {"fa": [0.605, 0.609, 0.613], "dfa": [0.3] * 3})
    (tmp_path / "paper").mkdir()
    (tmp_path / "paper" / "main.tex").write_text(
        "FA accuracy: $0.609 \\pm 0.004$ after 100 epochs.\n"
    )
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["audit", "paper/main.tex", "--specs", "specs"])
    assert r.exit_code == 0, r.output
    assert "1 backed, 1 config" in r.output


# ---------------------------------------------------------------------------------------------
# Places and counts


def test_locator_numbers_floats_and_sections_across_inputs(tmp_path):
    from faspec.audit.latex import extract

    (tmp_path / "sec").mkdir()
    (tmp_path / "main.tex").write_text(
        "\\begin{abstract} A 0.5. \\end{abstract}\n"
        "\\section{Intro}\n\\begin{figure}\\caption{F}\\end{figure}\n"
        "\\input{sec/res}\n"
        "\\begin{table}\\caption{Last table}\\label{tab:last} 0.7 \\end{table}\n"
        "\\appendix\\section{Extra} 0.8\n"
    )
    (tmp_path / "sec" / "res.tex").write_text(
        "\\section{Results}\\label{sec:res}\n\\subsection{Depth} 0.6\n"
        "% \\begin{table} commented out \\end{table}\n"
        "\\begin{table*}\\caption{Depth sweep, over 3 seeds.} 0.65 \\end{table*}\n"
    )
    ex = extract(tmp_path / "main.tex")
    loc = Locator(ex.sources)
    places = {h.text: loc.locate(h.file, h.start) for h in ex.numbers}
    assert places["0.5"].abstract
    assert (places["0.6"].section_number, places["0.6"].section_title) == ("2.1", "Depth")
    assert places["0.65"].float_kind == "table" and places["0.65"].float_number == 1
    assert places["0.7"].float_number == 2 and "tab:last" in places["0.7"].labels
    assert places["0.7"].section_number == "2.1"
    assert places["0.8"].section_number == "A"
    assert where_matches("Table 2", places["0.7"]) and not where_matches("Table 1", places["0.7"])
    assert where_matches("tab:last", places["0.7"])
    assert where_matches("Sec. 2", places["0.6"]) and where_matches("§2.1", places["0.6"])
    assert not where_matches("Sec. 2.2", places["0.6"])
    assert where_matches("abstract", places["0.5"])
    assert where_matches("depth sweep", places["0.65"])
    assert where_matches("Appendix A", places["0.8"])
    h = next(h for h in ex.numbers if h.text == "0.65")
    assert "over 3 seeds" in loc.context(h.file, h.start, h.end)


def test_stated_counts():
    assert stated_counts("mean over three seeds") == ([3], [])
    assert stated_counts("a single seed, 10 random seeds, 5-seed, n = 4") == ([1, 10, 5, 4], [])
    assert stated_counts("after 100 epochs (30-epoch warm-up)") == ([], [100, 30])
    assert stated_counts("the three methods; epoch 5; seeds: 42") == ([], [])
