"""Power per claim (issue 21): how often a perfect reproduction would pass, simulated through
decide(), in `faspec plan` and beside an inconclusive verdict."""

import json
from pathlib import Path

import numpy as np
from helpers import run_cli, write_spec
from scipy import stats

from faspec.check.power import _paper_values, claim_power, family_size, pass_rate
from faspec.spec.load import load


def _spec(tmp_path, claims, seeds=(1, 2, 3)):
    path = write_spec(
        tmp_path,
        experiments={"main": {"methods": ["bp", "frozen"]}},
        claims=claims,
        seeds=list(seeds),
    )
    return path, load(path)


def test_an_easy_claim_has_full_power_and_a_hopeless_one_none(tmp_path):
    _, spec = _spec(
        tmp_path,
        [
            {
                "id": "easy",
                "in": "main",
                "expect": "bp > frozen",
                "reported": {"bp": "0.600 ± 0.002 (n=3)", "frozen": "0.300 ± 0.002 (n=3)"},
            },
            {
                "id": "hopeless",
                "in": "main",
                "expect": "bp > frozen",
                "reported": {"bp": "0.301 ± 0.05 (n=3)", "frozen": "0.300 ± 0.05 (n=3)"},
            },
            {"id": "unstated", "in": "main", "expect": "bp > frozen"},
        ],
    )
    easy, hopeless, unstated = (claim_power(c, spec, sims=60) for c in spec.claims)
    assert family_size(spec) == 3
    assert easy["computed"] and easy["seeds"] == 3 and easy["alpha"] == 0.05 / 3
    assert easy["power"] >= 0.9 and easy["seeds_for_80"] == 3
    assert hopeless["power"] <= 0.1 and hopeless["seeds_for_80"] is None
    assert not unstated["computed"] and "no printed mean" in unstated["why"]


def test_simulated_power_matches_the_t_test_where_it_is_exact(tmp_path):
    # no reported agreement can fail (the printed precision is coarse), so the pass rate is
    # the power of a one-sided Welch test with equal variances, which a direct simulation gives
    _, spec = _spec(
        tmp_path,
        [
            {
                "id": "c",
                "in": "main",
                "expect": "bp > frozen",
                "reported": {"bp": "0.5 ± 0.02", "frozen": "0.5 ± 0.02"},
            }
        ],
    )
    c = spec.claims[0]
    paper, _ = _paper_values(c, spec.stats)
    paper[("bp", "test_acc")].mean = 0.53  # a true difference of 1.5 sd
    rate = pass_rate(c, spec.stats, paper, 4, 0.05, 400, seed=9)
    rng = np.random.default_rng(1)
    ref = np.mean(
        [
            stats.ttest_ind(
                rng.normal(0.53, 0.02, 4),
                rng.normal(0.5, 0.02, 4),
                equal_var=False,
                alternative="greater",
            ).pvalue
            < 0.05
            for _ in range(4000)
        ]
    )
    assert abs(rate - ref) < 0.1  # 400 draws: sd 0.025


def test_plan_prints_the_power_table(tmp_path):
    path, _ = _spec(
        tmp_path,
        [
            {
                "id": "easy",
                "in": "main",
                "expect": "bp > frozen",
                "reported": {"bp": "0.600 ± 0.002 (n=3)", "frozen": "0.300 ± 0.002 (n=3)"},
            }
        ],
    )
    out = run_cli(["plan", str(path), "--store", str(tmp_path / "store")], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "power t/easy: a perfect reproduction passes" in out.stdout
    assert "simulated, 100 draws through decide" in out.stdout
    js = run_cli(["plan", str(path), "--json", "--store", str(tmp_path / "store")], tmp_path)
    row = json.loads(js.stdout)["power"][0]
    assert row["claim"] == "easy" and 0 <= row["power"] <= 1
    quiet = run_cli(["plan", str(path), "--no-power", "--store", str(tmp_path / "s")], tmp_path)
    assert "power" not in quiet.stdout


def test_verify_sets_the_power_beside_an_inconclusive_verdict(tmp_path):
    # the example store's ladder runs; a claim its 3 seeds cannot decide (fa and dfa 9 pp
    # apart, spreads of 3-8 pp) but with the paper's numbers stated: the report says how often
    # a perfect reproduction would pass it
    root = Path(__file__).resolve().parents[1] / "examples" / "paper"
    text = (root / "specs" / "ladder.yaml").read_text(encoding="utf-8")
    text = text.split("claims:")[0] + (
        "claims:\n  - id: fa-far-above-dfa\n    in: main\n    expect: fa >> dfa\n"
        '    reported: {fa: "0.345 ± 0.031 (n=3)", dfa: "0.255 ± 0.077 (n=3)"}\n'
    )
    (tmp_path / "ladder.yaml").write_text(text, encoding="utf-8")
    out = run_cli(
        ["verify", "ladder.yaml", "--no-run", "--store", str(root / "results"), "--reports", "r"],
        tmp_path,
    )
    assert out.returncode == 1, out.stderr
    report = json.loads((tmp_path / "r" / "ladder-mini.json").read_text(encoding="utf-8"))
    (claim,) = report["claims"]
    assert claim["verdict"] == "inconclusive"
    assert 0 <= claim["power"]["power"] <= 1 and claim["power"]["seeds"] == 3
    md = (tmp_path / "r" / "ladder-mini.md").read_text(encoding="utf-8")
    assert "- power: a perfect reproduction passes" in md


def test_a_per_seed_list_is_simulated_at_other_seed_counts(tmp_path):
    """`reported: {bp: [.., .., ..]}` printed for 3 seeds, power searched up to more seeds: the
    list is compared as its mean ± std there (it crashed: zip of n values with 3 printed)."""
    _, spec = _spec(
        tmp_path,
        [
            {
                "id": "per_seed",
                "in": "main",
                "expect": "bp > frozen",
                "seeds": "all",
                "reported": {"bp": [0.301, 0.35, 0.25], "frozen": [0.30, 0.26, 0.33]},
            }
        ],
    )
    (claim,) = spec.claims
    p = claim_power(claim, spec, sims=20)
    assert p["computed"] and p["seeds"] == 3 and p["power"] < 0.8
    assert p["seeds_for_80"] is None or p["seeds_for_80"] > 3
