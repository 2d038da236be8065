"""The protocol figure draws what the verdict decided: (d) against the frozen seed mean when the
claim's `thresholds.baseline` is "mean" (the default) and against the same seed when "paired";
a pending (d) says so; first firings are listed in a table, not as overlapping labels."""

from __future__ import annotations

from typing import Any

import pytest

from faspec.report.figures import _fig, colour, figure
from faspec.report.protocol_figure import frozen_by_epoch, protocol_figure

ACC = {"r1": [0.5, 0.6, 0.7, 0.8], "r2": [0.4, 0.5, 0.5, 0.6]}
FROZEN = {"f1": [0.3, 0.5, 0.6, 0.7], "f2": [0.5, 0.55, 0.62, 0.6]}


def _result(accs: list[float]) -> dict[str, Any]:
    log = [
        {"epoch": e, "test_acc": a, "growth": 1.0 + e, "g_norm": 0.1 / (1 + e)}
        for e, a in enumerate(accs)
    ]
    return {"log": log}


def _claim(baseline: str, with_frozen: bool = True) -> tuple[dict, list[dict], dict]:
    per_seed = [
        {"seed": 1, "values": {"dfa.first_a": 2, "dfa.first_d": 1, "dfa.verdict": "walked back"}},
        {"seed": 2, "values": {"dfa.first_a": 2, "dfa.verdict": "walked back"}},
    ]
    proto = {
        "diagnostics": ["a", "b", "d"],
        "thresholds": {"growth": 3.0, "g_floor": 1e-7, "margin_pp": 2.0, "baseline": baseline},
        "baseline": "frozen" if with_frozen else None,
    }
    claim = {
        "claim_id": "walked",
        "expect": "dfa is walked_back",
        "numbers": {"points": [{"protocol": proto, "per_seed": per_seed}]},
    }
    rows = [{"label": "dfa", "seed": s, "run": f"r{s}"} for s in (1, 2)]
    if with_frozen:
        rows += [{"label": "frozen", "seed": s, "run": f"f{s}"} for s in (1, 2)]
    claim["runs"] = [r["run"] for r in rows]
    results = {k: _result(v) for k, v in {**ACC, **FROZEN}.items()}
    return claim, rows, results


def _draw(claim, rows, results) -> tuple[str, list[Any]]:
    drawn: list[Any] = []

    def to_png(fig, alt):
        drawn.append(fig)
        return f'<img alt="{alt}">'

    out = protocol_figure(claim, rows, results, _fig, to_png, colour)
    assert out is not None and drawn
    return out, drawn[0].axes


def _curves(ax) -> list[list[float]]:
    return [list(ln.get_ydata()) for ln in ax.get_lines() if len(ln.get_xdata()) == 4]


@pytest.mark.parametrize("baseline", ["mean", "paired"])
def test_d_panel_plots_the_margin_the_verdict_uses(baseline):
    claim, rows, results = _claim(baseline)
    _, axes = _draw(claim, rows, results)
    d = axes[2]
    mean = [(a + b) / 2 for a, b in zip(FROZEN["f1"], FROZEN["f2"], strict=True)]
    want = []
    for s in (1, 2):
        ref = mean if baseline == "mean" else FROZEN[f"f{s}"]
        want.append([100 * (a - r) for a, r in zip(ACC[f"r{s}"], ref, strict=True)])
    got = _curves(d)
    assert len(got) == 2
    for g, w in zip(got, want, strict=True):
        assert g == pytest.approx(w)
    assert ("seed mean" if baseline == "mean" else "same seed") in d.get_title()


def test_a_pending_d_panel_says_so_instead_of_an_empty_axis():
    claim, rows, results = _claim("mean", with_frozen=False)
    _, axes = _draw(claim, rows, results)
    assert not _curves(axes[2])
    assert any("pending: no baseline" in t.get_text() for t in axes[2].texts)
    assert len(_curves(axes[0])) == 2  # (a) still drawn


def test_first_firings_are_a_table_not_labels_on_the_plot():
    claim, rows, results = _claim("mean")
    out, axes = _draw(claim, rows, results)
    assert all(not t.get_text().startswith("dfa s") for ax in axes for t in ax.texts)
    table = out.split('<table class="firsts">')[1]
    assert "<th>(a)</th><th>(b)</th><th>(d)</th>" in table
    assert "<tr><td>dfa</td><td>1</td><td>2</td><td>—</td><td>1</td></tr>" in table
    assert "<tr><td>dfa</td><td>2</td><td>2</td><td>—</td><td>—</td></tr>" in table
    # through the report's figure chooser too (what the HTML page embeds)
    page = figure(claim, results, [{**r, "point": {}, "experiment": None} for r in rows])
    assert 'class="firsts"' in page and "per-epoch protocol diagnostics of walked" in page


def test_frozen_mean_uses_only_epochs_every_frozen_run_logged():
    a = {"log": [{"epoch": 0, "test_acc": 0.2}, {"epoch": 1, "test_acc": 0.4}]}
    b = {"log": [{"epoch": 1, "test_acc": 0.6}]}
    assert frozen_by_epoch([a, b]) == pytest.approx({1: 0.5})
    assert frozen_by_epoch([None]) == {}
