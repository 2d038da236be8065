"""Every report shows the family (size, correction, corrected thresholds) and marks values read
against a degenerate BP reference: markdown, terminal, JSON and JUnit, from decided verdicts."""

import json
from pathlib import Path

from faspec.check.claims import SeedRun, decide
from faspec.check.family import correct
from faspec.report import json_report, junit, markdown, terminal
from faspec.spec.expr import parse
from faspec.spec.model import Claim, Spec, Stats

SEEDS = [42, 123, 456]


def runs(label, values, metric="test_acc", g=1e-3):
    return [
        SeedRun(
            s,
            f"{label}-{s}",
            {"status": "ok", "final": {metric: v, "g_norm": g}, "log": [], "provenance": {}},
        )
        for s, v in zip(SEEDS, values, strict=True)
    ]


def decided():
    claims = [
        Claim(id="strong", expect="a > b", expr=parse("a > b"), experiment="e"),
        Claim(id="border", expect="c > b", expr=parse("c > b"), experiment="e"),
        Claim(
            id="cos",
            expect="d.deep_cos < 0",
            expr=parse("d.deep_cos < 0"),
            experiment="e",
            reference="allow_degenerate",
        ),
    ]
    data = {
        (): {
            "a": runs("a", [0.40, 0.41, 0.42]),
            "b": runs("b", [0.30, 0.31, 0.32]),
            "c": runs("c", [0.32, 0.335, 0.34]),
            "d": runs("d", [0.2, 0.21, 0.22], "deep_cos", g=1e-9),
        }
    }
    verdicts = [decide(c, data, Stats()) for c in claims]
    correct(verdicts, "holm", 0.05)
    spec = Spec(
        name="t", title="T", path=Path("t.yaml"), experiments={}, claims=claims, stats=Stats()
    )
    return spec, verdicts


def test_markdown_and_terminal_show_the_family_and_the_dead_reference():
    spec, verdicts = decided()
    assert [v.verdict for v in verdicts] == ["pass", "inconclusive", "fail"]
    md = markdown.render(spec, verdicts, {}, {}, {})
    assert "Family: 3 claim(s) tested over seeds, Holm at alpha 0.05" in md
    assert "corrected threshold 0.025" in md  # the borderline claim's Holm level (rank 2 of 3)
    assert "**degenerate reference**: d seed 42" in md
    lines = "\n".join(terminal.lines(spec, verdicts))
    assert "Family: 3 claim(s)" in lines and "[degenerate reference]" in lines


def test_json_and_junit_carry_the_family_and_the_marks():
    spec, verdicts = decided()
    report = json_report.build(spec, verdicts, {}, {}, {})
    assert report["family"]["size"] == 3 and report["family"]["method"] == "holm"
    by_id = {c["claim_id"]: c for c in report["claims"]}
    assert by_id["border"]["family"]["threshold"] == 0.025
    assert len(by_id["cos"]["degenerate_reference"]) == 3
    xml = junit.render([json.loads(json.dumps(report, default=str))])
    assert "family: holm over 3 tested claim(s)" in xml and "degenerate reference: d seed" in xml
