"""Tests of the report pieces every format shares: the example report's verdicts, the palette,
the chart chosen by a claim's shape. The stores and reports they read come from tests/helpers.py."""

from __future__ import annotations

from helpers import make_report, make_store

from faspec.report import claim_view, figures

# ---------------------------------------------------------------------------------------------


def test_the_example_report_has_every_verdict(tmp_path):
    st, results, cells = make_store(tmp_path)
    verdicts = {c["claim_id"]: c["verdict"] for c in make_report(st, results, cells)["claims"]}
    assert set(verdicts.values()) == {"pass", "fail", "inconclusive", "error", "unsourced"}, (
        verdicts
    )


def test_palette_fixed_for_known_methods_and_stable_for_others():
    assert figures.colour("bp") == figures.PALETTE["bp"]
    known = [figures.colour(m) for m in ("bp", "fa", "dfa", "frozen", "ep", "sb", "cb")]
    assert len(set(known)) == 7
    assert figures.colour("dfa_pen") == figures.colour("dfa_pen")
    assert figures.colour("dfa_pen") in figures._OTHERS


def test_chart_chosen_by_claim_shape():
    assert claim_view.shape_of({"expect": "fa > dfa"}).kind == "dots"
    s = claim_view.shape_of({"expect": "dfa.g_norm < 1e-7 by epoch 5"})
    assert (s.kind, s.by_epoch, s.constants) == ("curves", 5, {"g_norm": [1e-7]})
    assert claim_view.shape_of({"expect": "dfa.growth > 50"}).kind == "curves"  # protocol claim
    assert (
        claim_view.shape_of({"expect": "fa.deep_cos > 0", "for_each": "model.blocks"}).kind
        == "sweep"
    )
    s = claim_view.shape_of({"expect": "sb >> cb ~= dfa.cos_layers[0]", "metric": "h_norm"})
    assert [o.name for o in s.operands] == ["sb.h_norm", "cb.h_norm", "dfa.cos_layers[0]"]
    assert claim_view.shape_of({"expect": "fa >"}).operands == []  # unparsable: no figure, no crash


def test_a_run_whose_ep_free_phase_did_not_converge_is_flagged():
    from faspec.report.common import run_rows

    stalled = {
        "status": "ok",
        "log": [{"ep_converged": 1.0}, {"ep_converged": 0.25, "ep_residual": 0.031}],
    }
    converged = {"status": "ok", "log": [{"ep_converged": 1.0, "ep_residual": 1e-4}]}
    other = {"status": "ok", "log": [{"ep_converged": None, "ep_residual": None}]}
    rows = run_rows(["a", "b", "c"], {"a": stalled, "b": converged, "c": other}, {})
    assert (
        rows[0]["flag"]
        == "EP free phase not converged: 25 % of samples reached tol, ep_residual 0.031"
    )
    assert rows[1]["flag"] is None and rows[2]["flag"] is None
