r"""Generated values macros: names, digits, and the round trip store -> macros -> paper -> audit."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from helpers import spec_text

from faspec.audit.macros import format_number, parse_values, render
from faspec.audit.values import claim_values
from faspec.cli import main
from faspec.plan import build
from faspec.spec.load import load_many
from faspec.store import Store

CLAIMS = [
    {
        "id": "fa-beats-dfa",
        "where": "Table 1",
        "in": "audit",
        "expect": "fa > dfa and fa.deep_cos > 0",
        "reported": {"fa": "0.401 ± 0.009", "dfa.deep_cos": 0.02},
    },
    {"id": "fa-deep", "in": "depth", "expect": "fa.deep_cos > 0", "for_each": "model.blocks"},
    {"id": "shared", "in": "audit", "expect": "bp > dfa", "reported": {"bp.test_acc": 0.91}},
]


def macro_spec(name: str) -> str:
    """bp/fa/dfa in `audit`, fa over depth 2 and 4, three seeds; claims with reported numbers."""
    return spec_text(
        name,
        title="fixture",
        base={},
        data={"name": "teacher", "seed": 0},
        model={"arch": "resmlp", "d": 32, "blocks": 2},
        train={"epochs": 3},
        seeds=[1, 2, 3],
        experiments={
            "audit": {"methods": ["bp", "fa", "dfa"]},
            "depth": {"methods": ["fa"], "sweep": {"model.blocks": [2, 4]}},
        },
        claims=CLAIMS,
    )


VALUES = {"bp": [0.9, 0.91, 0.92], "fa": [0.392, 0.4013, 0.4106], "dfa": [0.3, 0.31, 0.33]}


def setup(tmp_path, names=("paper",), values=VALUES):
    d = tmp_path / "specs"
    d.mkdir(parents=True, exist_ok=True)
    for n in names:
        (d / f"{n}.yaml").write_text(macro_spec(n), encoding="utf-8")
    specs = load_many([d])
    plan = build(specs)
    store = Store(tmp_path / "results")
    write_store(plan, store, values)
    return specs, plan, store


def write_store(plan, store, values, only_label=None, only_seed=None):
    for cell, rid in plan.cells.items():
        if only_label and (cell.label != only_label or cell.seed != only_seed):
            continue
        v = values[cell.label][[1, 2, 3].index(cell.seed)]
        blocks = plan.runs[rid]["model"]["blocks"]
        final = {"test_acc": v, "deep_cos": round(v / blocks, 6), "g_norm": 1.234e-9 * cell.seed}
        result = {"status": "ok", "final": final, "log": [{"epoch": 3, **final}]}
        store.put(rid, plan.runs[rid], result)


def test_names_fields_and_digits(tmp_path):
    specs, plan, store = setup(tmp_path)
    values = claim_values(specs, plan, store)
    names = [(cv.ref, cv.method) for cv in values]
    assert names == [
        ("fa-beats-dfa", "fa"),
        ("fa-beats-dfa", "dfa"),
        ("fa-beats-dfa", "fa.deep_cos"),
        ("fa-beats-dfa", "dfa.deep_cos"),
        ("fa-deep@2", "fa.deep_cos"),
        ("fa-deep@4", "fa.deep_cos"),
        ("shared", "bp"),
        ("shared", "dfa"),
    ]
    text = render(values)
    entries = parse_values(text)
    assert entries[("fa-beats-dfa", "fa", "mean")].text == "0.401"  # the spec's digits
    assert entries[("fa-beats-dfa", "fa", "std")].text == "0.009"
    assert entries[("fa-beats-dfa", "fa", "n")].text == "3"
    assert entries[("fa-beats-dfa", "fa", "pm")].text == "\\ensuremath{0.401 \\pm 0.009}"
    assert entries[("fa-beats-dfa", "fa", "pct")].text == "40.1"
    assert entries[("fa-beats-dfa", "fa", "pctpm")].text == "\\ensuremath{40.1 \\pm 0.9}"
    assert entries[("fa-beats-dfa", "dfa.deep_cos", "mean")].text == "0.16"  # typed 0.02: 2 places
    assert entries[("shared", "bp", "mean")].text == "0.91"  # `bp.test_acc` is `bp`, typed 0.91
    assert entries[("shared", "dfa", "mean")].text == "0.313"  # --decimals default 3
    assert entries[("fa-deep@4", "fa.deep_cos", "mean")].text == "0.100"
    assert "\\DeclareRobustCommand{\\fsv}[3]" in text and text.startswith("% faspec-values:")
    assert "\\@nameuse{fsv@#1@#2@#3}" in text
    assert render(values) == text  # deterministic

    # two specs sharing claim ids: spec/claim
    specs, plan, store = setup(tmp_path / "two", names=("a", "b"))
    refs = {cv.ref for cv in claim_values(specs, plan, store)}
    assert {"a/fa-beats-dfa", "b/fa-beats-dfa", "a/fa-deep@2", "b/shared"} <= refs


def test_format_number():
    assert format_number(0.4013, 3) == "0.401"
    assert format_number(1.234e-9, 3) == "1.23\\times 10^{-9}"
    assert format_number(9.999e-9, 3) == "1.00\\times 10^{-8}"
    assert format_number(1234.5, -2) == "1200"
    assert format_number(-0.0004, 3) == "-4.00\\times 10^{-4}"
    assert format_number(-0.00004, 1) == "-4.00\\times 10^{-5}"
    assert format_number(0.0, 2) == "0.00"


def test_round_trip_macros_paper_audit(tmp_path, monkeypatch):
    specs, plan, store = setup(tmp_path)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    r = runner.invoke(main, ["macros", "specs", "-o", "paper/faspec_values.tex"])
    assert r.exit_code == 0, r.output
    paper = tmp_path / "paper" / "main.tex"
    paper.write_text(
        "\\documentclass{article}\n\\input{faspec_values}\n\\begin{document}\n"
        "FA reaches \\fsv{fa-beats-dfa}{fa}{pm} (\\fsv{fa-beats-dfa}{fa}{pct}\\%) over\n"
        "\\fsv{fa-beats-dfa}{fa}{n} seeds; BP \\fsv{shared}{bp}{mean}; at 4 blocks\n"
        "\\fsv{fa-deep@4}{fa.deep_cos}{mean}.\n"
        "\\end{document}\n"
    )
    args = ["audit", "paper/main.tex", "--specs", "specs", "--store", "results"]
    r = runner.invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "1 number(s), 5 macro use(s): 5 backed, 1 config" in r.output

    # one stored result changes: the macro that prints it is stale
    changed = dict(VALUES, fa=[0.392, 0.4613, 0.4106])
    write_store(plan, store, changed, only_label="fa", only_seed=2)
    r = runner.invoke(main, args)
    assert r.exit_code == 1, r.output
    bad = [ln for ln in r.output.splitlines() if "MISMATCH" in ln]
    assert len(bad) == 3  # pm and pct of fa-beats-dfa, and fa-deep@4 (deep_cos of the same run)
    assert bad[0].startswith("paper/main.tex:4:12")
    assert (
        "faspec_values.tex:" in bad[0] and "prints 0.401 ± 0.009 but the store now gives" in bad[0]
    )
    assert "regenerate with faspec macros" in bad[0]
    rid = next(r for c, r in plan.cells.items() if c.label == "fa" and c.seed == 2 and c.experiment == "audit")  # fmt: skip
    assert rid in bad[0]

    # regenerating fixes it
    r = runner.invoke(main, ["macros", "specs", "-o", "paper/faspec_values.tex"])
    assert runner.invoke(main, args).exit_code == 0


def test_macro_uses_that_resolve_to_nothing(tmp_path, monkeypatch):
    specs, plan, store = setup(tmp_path)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    runner.invoke(main, ["macros", "specs", "-o", "faspec_values.tex"])
    (tmp_path / "main.tex").write_text(
        "\\input{faspec_values}\n"
        "\\fsv{fa-beats-dfb}{fa}{mean} \\fsv{fa-beats-dfa}{sb}{mean}\n"
        "\\fsv{fa-beats-dfa}{fa}{median} \\fsv{fa-beats-dfa}{fa}\n"
        "With one seed, \\fsv{fa-beats-dfa}{fa}{mean}.\n"
    )
    r = runner.invoke(main, ["audit", "main.tex", "--format", "json"])
    assert r.exit_code == 1
    import json

    got = [(f["status"], f["reason"]) for f in json.loads(r.output)["findings"]]
    assert got[0] == (
        "UNSOURCED",
        "no claim 'fa-beats-dfb' in the specs (did you mean fa-beats-dfa?)",
    )
    assert got[1][0] == "UNSOURCED" and "has no operand 'sb'" in got[1][1]
    assert got[2][0] == "UNSOURCED" and "unknown field 'median' (did you mean mean?)" in got[2][1]
    assert got[3][0] == "UNSOURCED" and "needs three arguments" in got[3][1]
    assert got[4][0] == "MISMATCH" and "states 1 seed(s) but 3 were measured" in got[4][1]


def test_missing_runs_are_left_out_and_flagged(tmp_path, monkeypatch):
    specs, plan, store = setup(tmp_path)
    monkeypatch.chdir(tmp_path)
    rid = next(r for c, r in plan.cells.items() if c.label == "bp" and c.seed == 1)
    (tmp_path / "results" / rid / "result.json").unlink()
    runner = CliRunner()
    r = runner.invoke(main, ["macros", "specs", "-o", "faspec_values.tex"])
    assert r.exit_code == 0 and "warning: shared bp: unsourced" in r.output
    assert runner.invoke(main, ["macros", "specs", "--strict"]).exit_code == 1
    text = (tmp_path / "faspec_values.tex").read_text()
    assert "{shared}{bp}" not in text and "% shared (paper): bp: unsourced" in text
    (tmp_path / "main.tex").write_text("\\input{faspec_values}\nBP: \\fsv{shared}{bp}{mean}.\n")
    r = runner.invoke(main, ["audit", "main.tex"])
    assert r.exit_code == 1 and "UNSOURCED" in r.output and f"run {rid}" in r.output


@pytest.mark.parametrize("fld", ["mean", "std", "pm", "pct", "pctstd", "pctpm", "n"])
def test_every_field_backs_itself(tmp_path, fld):
    from faspec.audit.macro_use import stale as _stale

    specs, plan, store = setup(tmp_path)
    values = claim_values(specs, plan, store)
    entries = parse_values(render(values))
    for cv in values:
        e = entries.get((cv.ref, cv.method, fld))
        if e is not None:
            assert not _stale(e, cv, fld), (cv.ref, cv.method, fld, e.text)
