"""The paper's own numbers decide the claims that encode C07, C22-C24, C28-C30 and C35 as expected.

Each run a claim reads gets a result holding the paper's values: its per-seed numbers where the
paper prints them (C07's extremes, C23, C29's seeds 1/2/5, C30's accuracies), else a sample with
exactly the printed mean and std (ddof=1). Where the paper prints a mean only (C35's sparsities,
C28's cosines), a small spread is added, far inside the claim's margins. Each claim is decided
alone at alpha, before the spec's family correction (the family's power is `faspec plan`'s
business). A claim that does not pass here cannot pass on the paper's own evidence: either its
encoding is wrong, or (as stated below, claim by claim) the paper's seeds are too few to show it.
No training: the check path only, on hand-made results.
"""

from __future__ import annotations

import dataclasses
import statistics
from pathlib import Path
from typing import Any

import pytest

from faspec.check.base import SeedRun
from faspec.check.claims import claim_experiments, decide
from faspec.check.power import claim_power, power_text
from faspec.plan import build
from faspec.spec.load import load

SPECS = Path(__file__).resolve().parents[1] / "specs"
AUDIT_SEEDS = (42, 123, 456)
TEN = tuple(range(1, 11))


def sample(mean: float, std: float, seeds: tuple[int, ...] = AUDIT_SEEDS) -> dict[int, float]:
    """Values with exactly this mean and sample std (ddof=1), one per seed."""
    n = len(seeds)
    z = [i - (n - 1) / 2 for i in range(n)]
    sz = statistics.stdev(z)
    return {s: mean + std * zi / sz for s, zi in zip(seeds, z, strict=True)}


def seeds(*xs: float, of: tuple[int, ...] = AUDIT_SEEDS) -> dict[int, float]:
    return dict(zip(of, xs, strict=True))


def rest_of_ten(given: dict[int, float], mean: float, std: float) -> dict[int, float]:
    """Seeds 1-10: the printed seeds as given, the others filled (a skewed shape, so none dips
    below the rest) so that the ten have exactly the printed mean and sample std."""
    others = [s for s in TEN if s not in given]
    k = len(others)
    rest_mean = (10 * mean - sum(given.values())) / k
    ss = 9 * std**2 - sum((x - mean) ** 2 for x in given.values()) - k * (rest_mean - mean) ** 2
    shape = [-1.0, -0.9, -0.6, -0.2, 0.3, 0.9, 1.5]
    assert k == len(shape), "seeds 1-10 with three printed"
    m = sum(shape) / k
    sd0 = (sum((x - m) ** 2 for x in shape) / k) ** 0.5
    spread = (ss / k) ** 0.5
    filled = {s: rest_mean + spread * (x - m) / sd0 for s, x in zip(others, shape, strict=True)}
    return {**given, **filled}


def pooled_layers(mean: float, std: float) -> dict[int, list[float]]:
    """Deep layers 1..4 of three seeds: 12 values with exactly this pooled mean and std."""
    flat = list(sample(mean, std, tuple(range(12))).values())
    order = [0, 5, 6, 11, 1, 4, 7, 10, 2, 3, 8, 9]  # each seed gets low, middle and high values
    vals = [flat[i] for i in order]
    return {s: vals[4 * j : 4 * j + 4] for j, s in enumerate(AUDIT_SEEDS)}


# --- the paper's numbers, by (spec, group of runs, label, depth) -> metric -> seed -> value -------
# Groups name runs, not experiments: audit_s123 reads the audit's runs, d512_L2_s125 the scan's.
P: dict[tuple[str, str, str, int | None], dict[str, dict[int, Any]]] = {
    # C07: healthy BP, EP; degenerate DFA, SB, CB. The extremes are EP and CB at seed 123.
    # C35: sparsity (means only in the paper; spread added).
    ("audit", "audit", "bp", None): {
        "growth_max": seeds(3.1, 2.8, 3.4),
        "g_norm_min": seeds(4.1e-4, 3.6e-4, 4.4e-4),
        "sparsity": seeds(0.985, 0.987, 0.989),
    },
    ("audit", "audit", "ep", None): {
        "growth_max": seeds(9.0, 11.0, 10.2),
        "g_norm_min": seeds(1.3e-4, 1.02e-4, 1.6e-4),
        "sparsity": seeds(1.0, 1.0, 1.0),
    },
    ("audit", "audit", "dfa", None): {
        "growth_max": seeds(1.2e3, 2.1e3, 1.6e3),
        "g_norm_min": seeds(4e-10, 3e-10, 5e-10),
        "sparsity": seeds(0.003, 0.004, 0.005),
    },
    ("audit", "audit", "sb", None): {
        "growth_max": seeds(8.5e2, 3.0e3, 1.1e3),
        "g_norm_min": seeds(2e-9, 1.5e-9, 2.5e-9),
        "sparsity": seeds(0.19, 0.21, 0.23),
    },
    ("audit", "audit", "cb", None): {
        "growth_max": seeds(9.0e2, 694.0, 1.2e3),
        "g_norm_min": seeds(2e-9, 4.18e-9, 1e-9),
        "sparsity": seeds(0.02, 0.03, 0.04),
    },
    # C22-C24: the 30-epoch penalized runs (lambda = 1e-2); their reference is alive (||g_L||
    # about 1e-6, C19), so the cosine-type values are read.
    ("penalty", "matched", "sb_pen", None): {
        "nudge": sample(-1.93e-3, 0.14e-3),
        "loss_decrease": seeds(0.457, 0.444, 0.439),
        "test_acc": sample(0.453, 0.003),
        "cos_layers": pooled_layers(0.322, 0.008),
    },
    ("penalty", "matched", "cb_pen", None): {
        "nudge": sample(-4.26e-4, 0.29e-4),
        "loss_decrease": seeds(0.123, 0.118, 0.124),
        "test_acc": sample(0.360, 0.004),
        "cos_layers": pooled_layers(0.679, 0.010),
    },
    ("penalty", "matched", "dfa_pen", None): {
        "nudge": sample(-4.98e-5, 0.53e-5),
        "loss_decrease": seeds(0.104, 0.088, 0.093),
        "test_acc": sample(0.360, 0.002),
        "cos_layers": pooled_layers(0.151, 0.025),
    },
    # C28: d=256 at L = 8 and 12 against the audit's frozen baseline (0.349 ± 0.003)
    ("depth_width", "d256", "frozen", None): {"test_acc": sample(0.349, 0.003)},
    ("depth_width", "d256_depth", "fa", 8): {
        "test_acc": seeds(0.386, 0.398, 0.398),
        "deep_cos": seeds(0.12, 0.13, 0.14),
    },
    ("depth_width", "d256_depth", "dfa", 8): {"test_acc": seeds(0.29, 0.30, 0.28)},
    ("depth_width", "d256_depth", "fa", 12): {
        "test_acc": seeds(0.368, 0.402, 0.403),
        "deep_cos": seeds(0.08, 0.09, 0.10),
    },
    ("depth_width", "d256_depth", "dfa", 12): {"test_acc": seeds(0.27, 0.28, 0.29)},
    # C29: d=512 L=2, seeds 1-10; seeds 1, 2, 5 as printed
    # frozen (0.349, the constant C29's claims compare with) and BP: seeds 1, 2, 5 only
    ("depth_width", "d512_L2", "frozen", None): {"test_acc": sample(0.349, 0.001, TEN)},
    ("depth_width", "d512_L2", "bp", None): {
        "test_acc": {**sample(0.607, 0.001, TEN), **seeds(0.606, 0.608, 0.607, of=(1, 2, 5))}
    },
    ("depth_width", "d512_L2", "fa", None): {
        "test_acc": rest_of_ten(seeds(0.347, 0.346, 0.341, of=(1, 2, 5)), 0.370, 0.026),
        "deep_cos": {**sample(0.48, 0.01, TEN), **seeds(0.484, 0.472, 0.492, of=(1, 2, 5))},
    },
    ("depth_width", "d512_L2", "dfa", None): {
        "test_acc": rest_of_ten(seeds(0.298, 0.297, 0.296, of=(1, 2, 5)), 0.300, 0.009),
        "deep_cos": {**sample(0.19, 0.01, TEN), **seeds(0.206, 0.179, 0.194, of=(1, 2, 5))},
    },
    # C30: CIFAR-100. DFA's ||g_L|| (9e-9) is below the floor: its cosine is read on a dead
    # reference, which its claim allows.
    ("cifar100", "audit", "bp", None): {
        "test_acc": seeds(0.319, 0.322, 0.322),
        "h_norm": seeds(190.0, 192.0, 194.0),
        "g_norm": seeds(9.0e-4, 9.5e-4, 1.0e-3),
    },
    ("cifar100", "audit", "fa", None): {
        "test_acc": seeds(0.146, 0.121, 0.131),
        "h_norm": seeds(1.0e5, 3.0e5, 7.0e5),
        "g_norm": seeds(0.8e-6, 1.0e-6, 1.2e-6),
        "deep_cos": sample(0.234, 0.015),
    },
    ("cifar100", "audit", "dfa", None): {
        "test_acc": seeds(0.088, 0.087, 0.089),
        "h_norm": seeds(1.5e8, 2.0e8, 2.5e8),
        "g_norm": seeds(8e-9, 9e-9, 1e-8),
        "deep_cos": sample(0.029, 0.001),
    },
    ("cifar100", "audit", "frozen", None): {"test_acc": seeds(0.177, 0.178, 0.1775)},
}
GROUP = {"audit_s123": "audit", "d512_L2_s125": "d512_L2", "frozen2": "audit"}

# Every claim of these ids, and its verdict on the paper's own numbers.
EXPECTED: dict[str, dict[str, str]] = {
    "audit": {
        "C07-growth-threshold-calibration": "pass",
        "C07-floor-threshold-calibration": "pass",
        "C07-extremes-s123": "pass",
        "C35-sparsity": "pass",
    },
    "penalty": {
        "C22-deep-block-nudging": "pass",
        "C22-nudging-ratios": "pass",
        "C23-training-loss-decrease": "pass",
        "C24-deep-cosine-contradicts-function": "pass",
    },
    "depth_width": {
        "C28-depth-L8": "inconclusive",  # its reported fa: the spread of the paper's own seeds is too wide for the TOST to show agreement within 0.01 (rounding no longer stands in for it)
        "C28-depth-L12": "inconclusive",  # its reported fa: the spread of the paper's own seeds is too wide for the TOST to show agreement within 0.01 (rounding no longer stands in for it)
        "C29-L2-frozen-baseline": "pass",
        "C29-L2-dfa-below-frozen-on-every-seed": "pass",
        "C29-L2-fa-below-frozen-on-3-of-10": "inconclusive",  # its reported fa: the spread of the paper's own seeds is too wide for the TOST to show agreement within 0.01 (rounding no longer stands in for it)
        "C29-L2-seeds-1-2-5": "pass",
    },
    "cifar100": {
        "C30-accuracy": "inconclusive",  # its reported fa: the spread of the paper's own seeds is too wide for the TOST to show agreement within 0.01 (rounding no longer stands in for it)
        "C30-frozen-baseline": "pass",
        "C30-below-frozen-above-chance": "pass",
        # the direction at the mean; the printed -4.7 pp (its means give -4.45) stays a comment
        "C30-margins-below-frozen": "pass",
        "C30-fa-positive-cosine": "pass",
        "C30-dfa-positive-cosine": "pass",
        "C30-scale": "pass",
    },
}
# Claims that pass alone on the paper's numbers but that a perfect reproduction at the paper's
# three seeds mostly leaves inconclusive once Holm corrects over the spec's family: the power
# `faspec plan` prints, bounded (docs/paper.md section 4 gives the figures).
UNDERPOWERED_UNDER_HOLM: dict[str, dict[str, float]] = {
    "penalty": {"C22-deep-block-nudging": 0.5, "C23-training-loss-decrease": 0.5},
}


def result(spec: str, group: str, label: str, depth: int | None, seed: int) -> dict[str, Any]:
    metrics = P.get((spec, group, label, depth)) or P.get((spec, group, label, None)) or {}
    final: dict[str, Any] = {"g_norm": 1e-6}  # a live reference unless the paper says otherwise
    for name, by_seed in metrics.items():
        final[name] = by_seed[seed]
    if "cos_layers" in final:
        final["cos_layers"] = [0.33, *final["cos_layers"]]
        final["deep_cos"] = sum(final["cos_layers"][1:]) / 4
    return {"status": "ok", "error": None, "final": final, "log": [{"epoch": 1, **final}]}


PAPER_SEEDS = [42, 123, 456]  # the seeds the paper's per-seed numbers are given for


def at_paper_seeds(spec: Any) -> Any:
    """The spec as the paper ran it: a reproduction may run more seeds than the paper (penalty's
    `matched` runs 5, for power), but the paper's numbers exist for its own 3 only."""
    exps = {
        name: dataclasses.replace(e, seeds=PAPER_SEEDS)
        if len(e.seeds) > 3 and set(PAPER_SEEDS) <= set(e.seeds)
        else e
        for name, e in spec.experiments.items()
    }
    return dataclasses.replace(spec, experiments=exps)


def decided(spec_name: str) -> dict[str, Any]:
    spec = at_paper_seeds(load(SPECS / f"{spec_name}.yaml"))
    plan = build([spec])

    def data(exp: str) -> dict[Any, dict[str, list[SeedRun]]]:
        group = GROUP.get(exp, exp)
        return {
            point: {
                label: [
                    SeedRun(
                        s, rid, result(spec_name, group, label, dict(point).get("model.blocks"), s)
                    )
                    for s, rid in cells
                ]
                for label, cells in by_label.items()
            }
            for point, by_label in plan.cells_of(spec_name, exp).items()
        }

    out = {}
    for claim in spec.claims:
        if claim.id in EXPECTED[spec_name]:
            others = {name: data(name) for name in claim_experiments(claim)}
            out[claim.id] = decide(claim, data(claim.experiment), spec.stats, others)
    return out


@pytest.mark.parametrize("spec_name", sorted(EXPECTED))
def test_the_papers_numbers_decide_its_claims(spec_name):
    verdicts = decided(spec_name)
    assert set(verdicts) == set(EXPECTED[spec_name]), "a claim id changed: update EXPECTED"
    wrong = {}
    for cid, want in EXPECTED[spec_name].items():
        v = verdicts[cid]
        if v.verdict != want:
            wrong[cid] = f"{v.verdict}, expected {want}: {v.message}"
    assert not wrong, wrong


def test_the_samples_have_the_printed_statistics():
    """The hand-made values are the paper's: means and ddof=1 stds as printed, and the counts."""
    fa = P[("depth_width", "d512_L2", "fa", None)]["test_acc"]
    dfa = P[("depth_width", "d512_L2", "dfa", None)]["test_acc"]
    for values, mean, std in ((fa, 0.370, 0.026), (dfa, 0.300, 0.009)):
        xs = [values[s] for s in TEN]
        assert statistics.mean(xs) == pytest.approx(mean, abs=1e-9)
        assert statistics.stdev(xs) == pytest.approx(std, abs=1e-9)
    assert sorted(s for s in TEN if fa[s] < 0.349) == [1, 2, 5]
    assert all(dfa[s] < 0.349 for s in TEN)
    pooled = [x for v in pooled_layers(0.151, 0.025).values() for x in v]
    assert statistics.mean(pooled) == pytest.approx(0.151)
    assert statistics.stdev(pooled) == pytest.approx(0.025)


@pytest.mark.parametrize(
    ("spec_name", "cid", "bound"),
    [(sp, c, b) for sp, by in UNDERPOWERED_UNDER_HOLM.items() for c, b in by.items()],
)
def test_what_three_seeds_leave_inconclusive_under_holm(spec_name, cid, bound):
    spec = load(SPECS / f"{spec_name}.yaml")
    claim = next(c for c in spec.claims if c.id == cid)
    p3 = claim_power(claim, at_paper_seeds(spec))  # at the paper's 3 seeds: underpowered
    assert p3["computed"] and p3["seeds"] == 3 and p3["family"] > 1
    assert p3["power"] < bound, power_text(p3)
    assert p3["seeds_for_80"] is not None and p3["seeds_for_80"] > 3
    p = claim_power(claim, spec)  # so the spec runs the seeds that reach 80 %
    assert p["seeds"] >= p3["seeds_for_80"], power_text(p)


def penalty_with_nudges(nudge: dict[str, dict[int, float]]) -> dict[str, Any]:
    saved = {k: P[("penalty", "matched", k, None)]["nudge"] for k in nudge}
    try:
        for k, v in nudge.items():
            P[("penalty", "matched", k, None)]["nudge"] = v
        return decided("penalty")
    finally:
        for k, v in saved.items():
            P[("penalty", "matched", k, None)]["nudge"] = v


def test_a_contradicting_reproduction_does_not_pass_c22():
    """DFA+pen's credit does nothing (nudge 0 on average) and CB+pen is 20x weaker than SB+pen:
    the ordering's margins let it through, the ratios catch it."""
    v = penalty_with_nudges({"cb_pen": sample(-1.0e-4, 0.29e-4), "dfa_pen": sample(0.0, 0.53e-5)})
    assert v["C22-nudging-ratios"].verdict == "fail", v["C22-nudging-ratios"].message
    assert {v[c].verdict for c in ("C22-deep-block-nudging", "C22-nudging-ratios")} != {"pass"}
    # DFA+pen's credit hurts (a positive nudge on every seed): a negative ratio cannot be ~= 39
    v = penalty_with_nudges({"dfa_pen": sample(3.0e-4, 0.53e-5)})
    r = v["C22-nudging-ratios"]
    assert r.verdict == "fail" and "is negative" in r.message, r.message


def test_the_plan_counts_the_runs_a_claim_reads_in_another_experiment():
    """C28 reads `d256:frozen` (the audit's frozen baseline): those runs count its claims."""
    plan = build([load(SPECS / "depth_width.yaml")])
    frozen = [
        rid for c, rid in plan.cells.items() if c.experiment == "d256" and c.label == "frozen"
    ]
    assert len(frozen) == 3
    for cid in ("C28-depth-L8", "C28-depth-L12"):
        assert set(frozen) <= set(plan.claim_runs[("depth_width", cid)])
    assert all(plan.claims_per_run()[rid] >= 2 for rid in frozen)
    # the L=8 claim reads L=8 runs only, not the L=12 point of its own experiment
    l8 = set(plan.claim_runs[("depth_width", "C28-depth-L8")])
    l12 = {rid for c, rid in plan.cells.items() if dict(c.point).get("model.blocks") == 12}
    assert not l8 & (l12 - set(frozen))
